#include "common/flags.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/version.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

// A parser with one flag of each kind, as a binary would set it up.
class FlagParserTest : public ::testing::Test {
 protected:
  FlagParserTest() {
    flags_.AddString("output", &output_, "PATH", "where to write results");
    flags_.AddList("targets", &targets_, "SPEC[,SPEC...]", "what to scan");
    flags_.AddUint("timeout-ms", &timeout_ms_, 1, 600000, "per-probe deadline");
    flags_.AddDouble("rate", &rate_, 0.5, 100, "probes per second");
    flags_.AddBool("verbose", &verbose_, "log every probe");
  }

  absl::Status Parse(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    return flags_.Parse(static_cast<int>(argv.size()), argv.data());
  }

  // The error message of parsing args, or "ok".
  std::string Error(const std::vector<std::string>& args) {
    absl::Status s = Parse(args);
    if (s.ok()) return "ok";
    EXPECT_EQ(s.code(), kInvalid);
    return std::string(s.message());
  }

  FlagParser flags_{"goalkeeper-worker scan"};
  std::string output_ = "default.jsonl";
  std::vector<std::string> targets_;
  uint64_t timeout_ms_ = 500;
  double rate_ = 10;
  bool verbose_ = false;
};

TEST_F(FlagParserTest, AcceptsNoArguments) {
  EXPECT_TRUE(Parse({}).ok());
  EXPECT_EQ(output_, "default.jsonl");
  EXPECT_EQ(timeout_ms_, 500u);
  EXPECT_FALSE(verbose_);
  EXPECT_THAT(flags_.positional(), IsEmpty());
}

TEST_F(FlagParserTest, TakesValueFromNextArgument) {
  ASSERT_TRUE(Parse({"--output", "out.jsonl", "--timeout-ms", "250", "--rate", "2.5"}).ok());
  EXPECT_EQ(output_, "out.jsonl");
  EXPECT_EQ(timeout_ms_, 250u);
  EXPECT_DOUBLE_EQ(rate_, 2.5);
}

TEST_F(FlagParserTest, TakesValueAfterEquals) {
  ASSERT_TRUE(Parse({"--output=out.jsonl", "--timeout-ms=250", "--rate=0.5"}).ok());
  EXPECT_EQ(output_, "out.jsonl");
  EXPECT_EQ(timeout_ms_, 250u);
  EXPECT_DOUBLE_EQ(rate_, 0.5);
}

TEST_F(FlagParserTest, SplitsOnlyAtTheFirstEquals) {
  ASSERT_TRUE(Parse({"--output=a=b"}).ok());
  EXPECT_EQ(output_, "a=b");
}

TEST_F(FlagParserTest, AcceptsEmptyValueAfterEquals) {
  ASSERT_TRUE(Parse({"--output="}).ok());
  EXPECT_EQ(output_, "");
}

// One rule for every flag: a scalar given twice is a usage error naming it
// (it used to keep the last value silently); lists accumulate.
TEST_F(FlagParserTest, RejectsARepeatedScalarFlagNamingIt) {
  EXPECT_EQ(Error({"--output", "a", "--output=b"}), "--output given twice");
  EXPECT_EQ(Error({"--timeout-ms=5", "--timeout-ms", "5"}), "--timeout-ms given twice");
  EXPECT_EQ(Error({"--rate", "1", "--rate", "2"}), "--rate given twice");
  EXPECT_EQ(Error({"--verbose", "--verbose=false"}), "--verbose given twice");
}

TEST_F(FlagParserTest, JoinedListAccumulatesEveryOccurrenceWithCommas) {
  std::string ports = "default";
  flags_.AddJoinedList("ports", &ports, "SPEC", "ports");
  ASSERT_TRUE(Parse({"--ports", "80", "--ports=databases", "--ports", "8000-8010"}).ok());
  EXPECT_EQ(ports, "80,databases,8000-8010");
}

TEST_F(FlagParserTest, JoinedListGivenOnceReplacesTheDefault) {
  std::string ports = "default";
  flags_.AddJoinedList("ports", &ports, "SPEC", "ports");
  ASSERT_TRUE(Parse({"--ports", "443"}).ok());
  EXPECT_EQ(ports, "443");
}

TEST_F(FlagParserTest, BoolFlagTakesNoValue) {
  ASSERT_TRUE(Parse({"--verbose", "scan.txt"}).ok());
  EXPECT_TRUE(verbose_);
  // The next argument is not consumed as the bool's value.
  EXPECT_THAT(flags_.positional(), ElementsAre("scan.txt"));
}

TEST_F(FlagParserTest, BoolFlagAcceptsTrueAndFalse) {
  ASSERT_TRUE(Parse({"--verbose=true"}).ok());
  EXPECT_TRUE(verbose_);
  ASSERT_TRUE(Parse({"--verbose=false"}).ok());
  EXPECT_FALSE(verbose_);
}

TEST_F(FlagParserTest, RejectsOtherBoolValues) {
  EXPECT_EQ(Error({"--verbose=yes"}), "--verbose: 'yes' is not true or false");
  EXPECT_EQ(Error({"--verbose=1"}), "--verbose: '1' is not true or false");
  EXPECT_EQ(Error({"--verbose=TRUE"}), "--verbose: 'TRUE' is not true or false");
}

TEST_F(FlagParserTest, RejectsUnknownFlagNamingIt) {
  EXPECT_EQ(Error({"--bogus"}), "unknown flag --bogus");
  EXPECT_EQ(Error({"--bogus=1"}), "unknown flag --bogus");
  EXPECT_EQ(Error({"--targets", "10.0.0.1", "--verbos"}), "unknown flag --verbos");
  // Flag names are exact: no prefixes, no case folding.
  EXPECT_EQ(Error({"--Verbose"}), "unknown flag --Verbose");
  EXPECT_EQ(Error({"--timeout"}), "unknown flag --timeout");
}

TEST_F(FlagParserTest, RejectsSingleDashArguments) {
  EXPECT_EQ(Error({"-v"}), "unknown flag '-v'");
  EXPECT_EQ(Error({"-"}), "unknown flag '-'");
  EXPECT_EQ(Error({"-verbose"}), "unknown flag '-verbose'");
}

TEST_F(FlagParserTest, RejectsMissingValue) {
  EXPECT_EQ(Error({"--targets"}), "--targets needs a value");
  EXPECT_EQ(Error({"--verbose", "--timeout-ms"}), "--timeout-ms needs a value");
  EXPECT_EQ(Error({"--rate"}), "--rate needs a value");
}

TEST_F(FlagParserTest, RejectsNonNumericUint) {
  EXPECT_EQ(Error({"--timeout-ms", "abc"}), "--timeout-ms: 'abc' is not a whole number");
  EXPECT_EQ(Error({"--timeout-ms=1.5"}), "--timeout-ms: '1.5' is not a whole number");
  EXPECT_EQ(Error({"--timeout-ms="}), "--timeout-ms: '' is not a whole number");
  EXPECT_EQ(Error({"--timeout-ms=12ms"}), "--timeout-ms: '12ms' is not a whole number");
  EXPECT_EQ(Error({"--timeout-ms=0x10"}), "--timeout-ms: '0x10' is not a whole number");
}

TEST_F(FlagParserTest, RejectsSignedUint) {
  EXPECT_EQ(Error({"--timeout-ms=-5"}), "--timeout-ms: '-5' is not a whole number");
  EXPECT_EQ(Error({"--timeout-ms", "-5"}), "--timeout-ms: '-5' is not a whole number");
  EXPECT_EQ(Error({"--timeout-ms=+5"}), "--timeout-ms: '+5' is not a whole number");
  EXPECT_EQ(timeout_ms_, 500u);
}

TEST_F(FlagParserTest, RejectsUintOutOfRange) {
  EXPECT_EQ(Error({"--timeout-ms=0"}), "--timeout-ms: '0' is out of range [1, 600000]");
  EXPECT_EQ(Error({"--timeout-ms=600001"}), "--timeout-ms: '600001' is out of range [1, 600000]");
  // Beyond 64 bits is not a number at all.
  EXPECT_EQ(Error({"--timeout-ms=18446744073709551616"}),
            "--timeout-ms: '18446744073709551616' is not a whole number");
  EXPECT_EQ(timeout_ms_, 500u);
}

TEST_F(FlagParserTest, AcceptsUintBounds) {
  ASSERT_TRUE(Parse({"--timeout-ms=1"}).ok());
  EXPECT_EQ(timeout_ms_, 1u);
  ASSERT_TRUE(Parse({"--timeout-ms=600000"}).ok());
  EXPECT_EQ(timeout_ms_, 600000u);
}

TEST_F(FlagParserTest, RejectsNonNumericDouble) {
  EXPECT_EQ(Error({"--rate", "fast"}), "--rate: 'fast' is not a number");
  EXPECT_EQ(Error({"--rate="}), "--rate: '' is not a number");
  EXPECT_EQ(Error({"--rate=nan"}), "--rate: 'nan' is not a number");
  EXPECT_EQ(Error({"--rate=inf"}), "--rate: 'inf' is not a number");
}

TEST_F(FlagParserTest, RejectsDoubleOutOfRange) {
  EXPECT_EQ(Error({"--rate=1000"}), "--rate: '1000' is out of range [0.5, 100]");
  EXPECT_EQ(Error({"--rate=0.25"}), "--rate: '0.25' is out of range [0.5, 100]");
  EXPECT_EQ(Error({"--rate=-1"}), "--rate: '-1' is out of range [0.5, 100]");
  EXPECT_DOUBLE_EQ(rate_, 10);
}

TEST_F(FlagParserTest, TruncatesLongValuesInMessages) {
  const std::string value(100000, 'x');
  std::string message = Error({"--timeout-ms=" + value});
  EXPECT_EQ(message, "--timeout-ms: '" + std::string(128, 'x') + "...' is not a whole number");
}

TEST_F(FlagParserTest, AppendsEveryOccurrenceOfAListFlag) {
  ASSERT_TRUE(Parse({"--targets", "10.0.0.1", "--targets=10.0.0.2", "--targets", "a,b"}).ok());
  EXPECT_THAT(targets_, ElementsAre("10.0.0.1", "10.0.0.2", "a,b"));
}

TEST_F(FlagParserTest, CollectsPositionalArgumentsInOrder) {
  ASSERT_TRUE(Parse({"scan", "--verbose", "a.txt", "--output", "o", "b.txt", ""}).ok());
  EXPECT_THAT(flags_.positional(), ElementsAre("scan", "a.txt", "b.txt", ""));
  EXPECT_EQ(output_, "o");
}

TEST_F(FlagParserTest, DoubleDashEndsFlags) {
  ASSERT_TRUE(Parse({"--verbose", "--", "--targets", "-x", "--", "--bogus"}).ok());
  EXPECT_TRUE(verbose_);
  EXPECT_THAT(targets_, IsEmpty());
  EXPECT_THAT(flags_.positional(), ElementsAre("--targets", "-x", "--", "--bogus"));
}

TEST_F(FlagParserTest, DoubleDashAtTheEndIsAccepted) {
  ASSERT_TRUE(Parse({"a", "--"}).ok());
  EXPECT_THAT(flags_.positional(), ElementsAre("a"));
}

TEST_F(FlagParserTest, WasSetReportsFlagsGiven) {
  ASSERT_TRUE(Parse({"--timeout-ms=500", "--verbose=false"}).ok());
  EXPECT_TRUE(flags_.WasSet("timeout-ms"));
  EXPECT_TRUE(flags_.WasSet("verbose"));
  EXPECT_FALSE(flags_.WasSet("rate"));
  EXPECT_FALSE(flags_.WasSet("targets"));
  EXPECT_FALSE(flags_.WasSet("bogus"));
}

TEST_F(FlagParserTest, StopsAtTheFirstError) {
  EXPECT_EQ(Error({"--output=a", "--timeout-ms=abc", "--output=b", "--bogus"}),
            "--timeout-ms: 'abc' is not a whole number");
  EXPECT_EQ(output_, "a");
  EXPECT_FALSE(flags_.WasSet("timeout-ms"));
}

TEST_F(FlagParserTest, UsageListsFlagsInOrderWithValueNamesAndHelp) {
  std::string usage = flags_.Usage();
  EXPECT_THAT(usage, HasSubstr("usage: goalkeeper-worker scan [flags]\n"));
  EXPECT_THAT(usage, HasSubstr("--output PATH"));
  EXPECT_THAT(usage, HasSubstr("--targets SPEC[,SPEC...]"));
  EXPECT_THAT(usage, HasSubstr("--timeout-ms N"));
  EXPECT_THAT(usage, HasSubstr("per-probe deadline"));
  EXPECT_THAT(usage, HasSubstr("--verbose "));
  EXPECT_THAT(usage, Not(HasSubstr("--verbose N")));
  const size_t output = usage.find("--output");
  const size_t targets = usage.find("--targets");
  const size_t timeout = usage.find("--timeout-ms");
  const size_t rate = usage.find("--rate");
  const size_t verbose = usage.find("--verbose");
  EXPECT_LT(output, targets);
  EXPECT_LT(targets, timeout);
  EXPECT_LT(timeout, rate);
  EXPECT_LT(rate, verbose);
}

// Runs ParseForMain on args; returns its result and what it printed.
struct MainRun {
  std::optional<int> rc;
  std::string out;
  std::string err;
};
MainRun ParseMain(FlagParser& flags, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  char* out_buf = nullptr;
  char* err_buf = nullptr;
  size_t out_len = 0;
  size_t err_len = 0;
  std::FILE* out = open_memstream(&out_buf, &out_len);
  std::FILE* err = open_memstream(&err_buf, &err_len);
  MainRun r;
  r.rc = flags.ParseForMain(static_cast<int>(argv.size()), argv.data(), out, err);
  std::fclose(out);
  std::fclose(err);
  r.out.assign(out_buf, out_len);
  r.err.assign(err_buf, err_len);
  std::free(out_buf);
  std::free(err_buf);
  return r;
}

TEST(ParseForMainTest, GoesOnWithGoodFlags) {
  FlagParser flags("goalkeeper-notifier");
  DaemonFlags daemon;
  daemon.Add(flags, "0.0.0.0:7071");
  MainRun r = ParseMain(flags, {"--listen", "127.0.0.1:9", "--db=x.db"});
  EXPECT_FALSE(r.rc.has_value());
  EXPECT_EQ(r.out + r.err, "");
  struct {
    std::string listen = "file-listen";
    std::string db = "file.db";
    std::string metrics_listen = "file-metrics";
  } config;
  daemon.ApplyTo(flags, config);
  EXPECT_EQ(config.listen, "127.0.0.1:9");
  EXPECT_EQ(config.db, "x.db");
  EXPECT_EQ(config.metrics_listen, "file-metrics") << "not given: the file's value stays";
}

TEST(ParseForMainTest, HelpPrintsUsageAndExitsZero) {
  FlagParser flags("goalkeeper-coordinator");
  DaemonFlags daemon;
  daemon.Add(flags, "0.0.0.0:7070");
  MainRun r = ParseMain(flags, {"--help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("usage: goalkeeper-coordinator"));
  EXPECT_THAT(r.out, HasSubstr("default 0.0.0.0:7070"));
  EXPECT_EQ(r.err, "");
}

// Every command has --version: the binary's name (the command's first word)
// and the project version from CMake, exit 0.
TEST(ParseForMainTest, VersionPrintsTheBinaryAndTheProjectVersionAndExitsZero) {
  FlagParser flags("goalkeeper-worker run");
  std::string coordinator;
  flags.AddString("coordinator", &coordinator, "HOST:PORT", "coordinator address");
  MainRun r = ParseMain(flags, {"--coordinator", "x:1", "--version"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, absl::StrCat("goalkeeper-worker ", GOALKEEPER_EXPECTED_VERSION, "\n"));
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(flags.program(), "goalkeeper-worker");
  EXPECT_TRUE(flags.version_requested());
  EXPECT_EQ(Version(), GOALKEEPER_EXPECTED_VERSION);
  EXPECT_EQ(VersionLine("goalkeeperctl"), absl::StrCat("goalkeeperctl ", Version()));
}

TEST(ParseForMainTest, VersionFollowsTheFlagRulesAndIsInTheUsage) {
  FlagParser twice("goalkeeper-notifier");
  MainRun r = ParseMain(twice, {"--version", "--version"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "error: --version given twice\n");
  EXPECT_EQ(r.out, "");
  FlagParser valued("goalkeeper-notifier");
  EXPECT_EQ(ParseMain(valued, {"--version=yes"}).err,
            "error: --version: 'yes' is not true or false\n");
  FlagParser off("goalkeeper-notifier");
  MainRun go_on = ParseMain(off, {"--version=false"});
  EXPECT_FALSE(go_on.rc.has_value());
  EXPECT_EQ(go_on.out, "");
  FlagParser usage("goalkeeper-coordinator");
  EXPECT_THAT(usage.Usage(), HasSubstr("--version "));
  EXPECT_FALSE(usage.version_requested());
}

TEST(ParseForMainTest, BadFlagOrStrayArgumentIsOneLineAndExitTwo) {
  FlagParser flags("goalkeeper-notifier");
  DaemonFlags daemon;
  daemon.Add(flags, "0.0.0.0:7071");
  MainRun bad = ParseMain(flags, {"--lisen", "x"});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_THAT(bad.err, HasSubstr("--lisen"));
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1);
  FlagParser flags2("goalkeeper-notifier");
  DaemonFlags daemon2;
  daemon2.Add(flags2, "0.0.0.0:7071");
  MainRun stray = ParseMain(flags2, {"--db", "a.db", "extra"});
  EXPECT_EQ(stray.rc, 2);
  EXPECT_EQ(stray.err, "error: unexpected argument 'extra'\n");
}

TEST(ParseForMainTest, DaemonAddressOutsideThePortRangeIsExitTwoNamingIt) {
  for (const char* flag : {"--listen", "--metrics-listen"}) {
    FlagParser flags("goalkeeper-coordinator");
    DaemonFlags daemon;
    daemon.Add(flags, "0.0.0.0:7070");
    MainRun r = ParseMain(flags, {flag, "127.0.0.1:82606"});
    EXPECT_EQ(r.rc, 2) << flag;
    EXPECT_EQ(r.err, absl::StrCat("error: ", flag,
                                  ": '127.0.0.1:82606': port 82606 is outside 0-65535\n"));
  }
  FlagParser flags("goalkeeper-notifier");
  DaemonFlags daemon;
  daemon.Add(flags, "0.0.0.0:7071");
  MainRun r = ParseMain(flags, {"--listen=localhost"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "error: --listen: 'localhost': missing ':PORT'\n");
}

TEST(ParseForMainTest, DaemonListenPortZeroAndEmptyMetricsAreAccepted) {
  FlagParser flags("goalkeeper-notifier");
  DaemonFlags daemon;
  daemon.Add(flags, "0.0.0.0:7071");
  MainRun r = ParseMain(flags, {"--listen", "[::1]:0", "--metrics-listen="});
  EXPECT_FALSE(r.rc.has_value()) << r.err;
  EXPECT_EQ(daemon.listen, "[::1]:0");
  EXPECT_EQ(daemon.metrics_listen, "");
}

TEST(FlagParserHostPortTest, DialAddressNeedsAPortFrom1) {
  FlagParser flags("goalkeeper-coordinator");
  std::string notifier = "unset";
  flags.AddHostPort("notifier", &notifier, PortRule::kDial, true, "notifier address");
  std::vector<const char*> argv = {"--notifier", "127.0.0.1:0"};
  absl::Status s = flags.Parse(2, argv.data());
  EXPECT_EQ(s.message(),
            "--notifier: '127.0.0.1:0': port 0 is outside 1-65535 (0 only for a listen address)");
  EXPECT_EQ(notifier, "unset");
  std::vector<const char*> empty = {"--notifier="};
  EXPECT_TRUE(flags.Parse(1, empty.data()).ok());
  EXPECT_EQ(notifier, "");
}

}  // namespace
}  // namespace goalkeeper

namespace goalkeeper {
namespace {

TEST(DaemonFlagsTest, EmptyDbIsRefusedNamingTheFlag) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--db", ""}, std::vector<std::string>{"--db="}}) {
    FlagParser flags("goalkeeper-notifier");
    DaemonFlags daemon;
    daemon.Add(flags, "0.0.0.0:7071");
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    ASSERT_TRUE(flags.Parse(static_cast<int>(argv.size()), argv.data()).ok());
    absl::Status s = daemon.Check(flags);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()), ::testing::StartsWith("--db: "));
  }
  FlagParser flags("goalkeeper-notifier");
  DaemonFlags daemon;
  daemon.Add(flags, "0.0.0.0:7071");
  const char* ok[] = {"--db", "x.db"};
  ASSERT_TRUE(flags.Parse(2, ok).ok());
  EXPECT_TRUE(daemon.Check(flags).ok());
}

}  // namespace
}  // namespace goalkeeper
