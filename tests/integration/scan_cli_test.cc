// `goalkeeper-worker scan` as a real process: exit codes, error lines,
// output formats and signals. Traffic goes only to 127.0.0.0/8.
#include <signal.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/loopback.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_certs.h"

namespace goalkeeper {
namespace {

using ::goalkeeper::testing::OpenPort;
using ::goalkeeper::testing::RunResult;
using ::goalkeeper::testing::Subprocess;
using ::goalkeeper::testing::WithTls;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kBin[] = GOALKEEPER_WORKER_BIN;

RunResult Scan(std::vector<std::string> args) {
  args.insert(args.begin(), {kBin, "scan"});
  return ::goalkeeper::testing::Run(args);
}

std::vector<std::string> Lines(const std::string& s) {
  return absl::StrSplit(s, '\n', absl::SkipEmpty());
}

struct BadUsageCase {
  std::vector<std::string> args;
  std::string error;  // the whole stderr line
};

class ScanCliBadUsageTest : public ::testing::TestWithParam<BadUsageCase> {};

TEST_P(ScanCliBadUsageTest, ExitsTwoWithOneLineNamingTheBadValue) {
  RunResult r = Scan(GetParam().args);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: " + GetParam().error + "\n");
  EXPECT_EQ(r.out, "");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ScanCliBadUsageTest,
    ::testing::Values(
        BadUsageCase{{"--targets", "10.0.0.300/24", "--ports", "80"},
                     "--targets: '10.0.0.300/24' is not an IPv4/IPv6 address, range or CIDR"},
        BadUsageCase{{"--targets", "127.0.0.1", "--ports", "70000"},
                     "--ports: '70000' is not a port (1-65535), range or named set"},
        BadUsageCase{{"--targets", "127.0.0.0/33", "--ports", "80"},
                     "--targets: '127.0.0.0/33': prefix length /33 exceeds 32 bits"},
        BadUsageCase{{"--targets", "127.0.0.9-127.0.0.1", "--ports", "80"},
                     "--targets: '127.0.0.9-127.0.0.1': range end is before its start"},
        BadUsageCase{{"--targets", "127.0.0.0/24", "--exclude", "127.0.0.0/23", "--ports", "80"},
                     "--targets: the exclusions remove every target address"},
        BadUsageCase{{"--targets", "127.0.0.0/24", "--exclude", "127.0.0.x", "--ports", "80"},
                     "--exclude: '127.0.0.x' is not an IPv4/IPv6 address, range or CIDR"},
        BadUsageCase{{"--targets", "127.0.0.1", "--ports", "80", "--timeout-ms", "abc"},
                     "--timeout-ms: 'abc' is not a whole number"},
        BadUsageCase{{"--targets", "127.0.0.1", "--ports", "80", "--output", "xml"},
                     "--output: 'xml' is not jsonl or text"},
        BadUsageCase{{"--targets", "127.0.0.1", "--ports", "80", "--bogus"},
                     "unknown flag --bogus"},
        BadUsageCase{{"--ports", "80"}, "--targets is required"},
        BadUsageCase{{"--targets", "127.0.0.1"}, "--ports is required"},
        BadUsageCase{{"--targets", "@/nonexistent/targets.txt", "--ports", "80"},
                     "--targets: cannot read target file '/nonexistent/targets.txt'"},
        BadUsageCase{{"--targets", "127.0.0.0/8", "--ports", "databases"},
                     "the scan has 285212672 probes (16777216 addresses x 17 ports), more "
                     "than --max-probes 268435456; raise --max-probes to run it"},
        BadUsageCase{{"--targets", "127.1.0.0/16", "--allowed", "127.1.0.0/17", "--ports", "80"},
                     "--targets: 127.1.128.0-127.1.255.255 is outside the --allowed ranges"},
        // A scalar flag given twice is an error (it used to keep the last one).
        BadUsageCase{{"--targets", "127.0.0.1", "--ports", "80", "--timeout-ms", "100",
                      "--timeout-ms", "200"},
                     "--timeout-ms given twice"},
        BadUsageCase{
            {"--targets", "127.0.0.1", "--ports", "80", "--output", "text", "--output", "jsonl"},
            "--output given twice"},
        // --exclude and --allowed accumulate: the second --allowed range counts.
        BadUsageCase{{"--targets", "127.1.0.0/16", "--allowed", "127.1.0.0/17", "--allowed",
                      "127.1.128.0/18", "--ports", "80"},
                     "--targets: 127.1.192.0-127.1.255.255 is outside the --allowed ranges"},
        BadUsageCase{{"--targets", "127.0.0.1", "--ports", "80", "--probes", "most"},
                     "--probes: 'most' is not none, verify or all"},
        BadUsageCase{{"--targets", "127.0.0.1", "--ports", "80", "--probe-timeout", "2 parsecs"},
                     "--probe-timeout: '2 parsecs' is not a duration from 1ms to 60s (e.g. 2s)"},
        BadUsageCase{{"--targets", "127.0.0.1", "--ports", "80", "--probe-timeout", "0s"},
                     "--probe-timeout: '0s' is not a duration from 1ms to 60s (e.g. 2s)"},
        BadUsageCase{{"--targets", "127.0.0.1", "--ports", "80", "--dns-name", "a b.example"},
                     "--dns-name: 'a b.example' is not a DNS name (letters, digits, '-', '.')"},
        BadUsageCase{{"--targets", "127.0.0.1", "--ports", "80", "--snmp-community-file",
                      "/nonexistent/community"},
                     "--snmp-community-file: '/nonexistent/community' cannot be read"},
        // The community is a secret-ish string: the message gives its size only.
        BadUsageCase{{"--targets", "127.0.0.1", "--ports", "80", "--snmp-community", "s3cret pw"},
                     "--snmp-community: the community must be 1-64 printable characters "
                     "without spaces (9 bytes given)"},
        BadUsageCase{{"--targets", "127.0.0.1", "--ports", "80", "--udp", "dns,bogus"},
                     "--udp: unknown UDP service \"bogus\" (known: dns, ntp, ntp-version, "
                     "ntp-client, ssdp, snmp, memcached, cldap, portmap, netbios, mdns, mssql, "
                     "ubiquiti, all)"},
        // A target file that never ends stops at the line cap.
        BadUsageCase{{"--targets", "@/dev/zero", "--ports", "80"},
                     "--targets: target file '/dev/zero': line 1 is longer than 65536 bytes"}));

// Repeated --ports are a union (they used to keep the last one only), and
// repeated --exclude accumulate.
TEST(ScanCliTest, RepeatedPortsAndExcludesAccumulate) {
  auto a = OpenPort::Start("127.32.3.1");
  auto b = OpenPort::Start("127.32.3.1");
  RunResult r = Scan({"--targets", "127.32.3.0/30", "--exclude", "127.32.3.0", "--exclude",
                      "127.32.3.3", "--ports", std::to_string(a->port()), "--ports",
                      std::to_string(b->port()), "--timeout-ms", "300"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("scan done probes=4 open=2"));
  EXPECT_THAT(r.out, HasSubstr("\"port\":" + std::to_string(a->port()) + ","));
  EXPECT_THAT(r.out, HasSubstr("\"port\":" + std::to_string(b->port()) + ","));
}

TEST(ScanCliTest, PrintsOneJsonLinePerOpenPortAndASummary) {
  auto a = OpenPort::Start("127.32.0.5");
  auto b = OpenPort::Start("127.32.0.77", a->port());
  RunResult r = Scan({"--targets", "127.32.0.0/25", "--ports", "1-3," + std::to_string(a->port()),
                      "--timeout-ms", "300"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> lines;
  for (const std::string& l : Lines(r.out)) lines.insert(l);
  const std::string p = std::to_string(a->port());
  EXPECT_EQ(lines.size(), 2u) << r.out;
  for (const char* ip : {"127.32.0.5", "127.32.0.77"}) {
    bool found = false;
    for (const std::string& l : lines) {
      if (l.rfind(std::string("{\"ip\":\"") + ip + "\",\"port\":" + p +
                      ",\"state\":\"open\",\"rtt_us\":",
                  0) == 0) {
        found = true;
      }
    }
    EXPECT_TRUE(found) << ip << " missing in " << r.out;
  }
  EXPECT_THAT(r.err, HasSubstr("scan done probes=512 open=2 closed=510 filtered=0 unreachable=0"));
}

TEST(ScanCliTest, AllStatesPrintsEveryProbeAsText) {
  auto a = OpenPort::Start("127.32.1.1");
  RunResult r = Scan({"--targets", "127.32.1.0/30", "--ports", std::to_string(a->port()) + ",1",
                      "--all-states", "--output", "text", "--seed", "42"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  EXPECT_EQ(lines.size(), 8u);
  int open = 0;
  for (const std::string& l : lines) {
    if (l.find(" open ") != std::string::npos) {
      ++open;
      EXPECT_THAT(l, StartsWith("127.32.1.1:" + std::to_string(a->port()) + " open "));
    } else {
      EXPECT_THAT(l, HasSubstr(" closed"));
    }
  }
  EXPECT_EQ(open, 1);
  EXPECT_THAT(r.err, HasSubstr("seed=42"));
}

TEST(ScanCliTest, ReadsTargetsFromAFile) {
  auto a = OpenPort::Start("127.32.2.3");
  std::string path = ::testing::TempDir() + "/targets.txt";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("# lab\n127.32.2.0/30   # first block\n\n127.32.2.9\n", f);
  std::fclose(f);
  RunResult r = Scan(
      {"--targets", "@" + path, "--exclude", "127.32.2.0", "--ports", std::to_string(a->port())});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("probes=4 open=1"));
  EXPECT_THAT(r.out, HasSubstr("\"ip\":\"127.32.2.3\""));
}

TEST(ScanCliTest, BadLineInTargetFileNamesFileAndLine) {
  std::string path = ::testing::TempDir() + "/bad_targets.txt";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("127.0.0.1\n127.0.0.1/40\n", f);
  std::fclose(f);
  RunResult r = Scan({"--targets", "@" + path, "--ports", "80"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: --targets: " + path +
                       ":2: '127.0.0.1/40': prefix length /40 exceeds 32 bits\n");
}

TEST(ScanCliTest, SigtermFinishesInFlightProbesAndExits130) {
  // A /16 at 200 probes/s would take minutes; SIGTERM ends it early.
  Subprocess p = Subprocess::Start({kBin, "scan", "--targets", "127.33.0.0/16", "--ports", "9",
                                    "--rate", "200", "--all-states"});
  p.ReadStdoutUntil("closed", std::chrono::seconds(10));
  p.Signal(SIGTERM);
  RunResult r = p.Wait(std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_FALSE(r.timed_out);
  EXPECT_THAT(r.err, HasSubstr("scan interrupted"));
  EXPECT_GT(Lines(r.out).size(), 0u);
}

TEST(ScanCliTest, HelpListsFlagsAndExitsZero) {
  RunResult r = Scan({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--targets"));
  EXPECT_THAT(r.out, HasSubstr("--max-probes"));
  for (const char* flag : {"--probes", "--udp", "--probe-timeout", "--dns-name", "--snmp-community",
                           "--snmp-community-file"}) {
    EXPECT_THAT(r.out, HasSubstr(flag));
  }
}

TEST(ScanCliTest, UdpServicesAreProbedOnTheirPortsAndRefusalIsClosed) {
  // Nothing listens on 127.32.2.2: the kernel refuses each UDP request.
  RunResult r = Scan({"--targets", "127.32.2.2", "--ports", "1", "--udp", "dns,snmp",
                      "--all-states", "--timeout-ms", "300"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("{\"ip\":\"127.32.2.2\",\"port\":53,\"state\":\"closed\""));
  EXPECT_THAT(r.out, HasSubstr("\"transport\":\"udp\",\"service\":\"DNS\",\"verified\":false}"));
  EXPECT_THAT(r.out, HasSubstr("{\"ip\":\"127.32.2.2\",\"port\":161,\"state\":\"closed\""));
  EXPECT_THAT(r.err, HasSubstr("scan done probes=3 open=0 closed=3"));
}

TEST(ScanCliTest, ProbeFlagsRunAndTheCommunityIsNeverLogged) {
  auto a = OpenPort::Start("127.32.2.1");
  RunResult r = Scan({"--targets", "127.32.2.1", "--ports", std::to_string(a->port()), "--probes",
                      "all", "--probe-timeout", "300ms", "--snmp-community", "Zq7-private"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"transport\":\"tcp\""));
  EXPECT_THAT(r.err, HasSubstr("probe_mode=all"));
  EXPECT_THAT(r.err, HasSubstr("probe_timeout_ms=300"));
  EXPECT_EQ(r.err.find("Zq7-private"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("Zq7-private"), std::string::npos) << r.out;
}

TEST(WorkerCliTest, UnknownCommandExitsTwo) {
  RunResult r = ::goalkeeper::testing::Run({kBin, "frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: unknown command 'frobnicate'\n"));
}

TEST(WorkerCliTest, RunCoordinatorPortOutsideTheRangeExitsTwoNamingIt) {
  RunResult r = ::goalkeeper::testing::Run(
      WithTls({kBin, "run", "--coordinator", "127.0.0.1:82606"}, "worker"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: --coordinator: '127.0.0.1:82606': port 82606 is outside 1-65535\n");
  r = ::goalkeeper::testing::Run(WithTls({kBin, "run", "--coordinator=localhost:-1"}, "worker"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: --coordinator: 'localhost:-1': port -1 is outside 1-65535\n");
}

// --health-listen is checked like every address flag (exit 2), and one that
// cannot be bound (a second worker on the same node port) exits 1 naming it.
TEST(WorkerCliTest, RunHealthListenIsCheckedAndAnAddressInUseExitsOne) {
  RunResult r = ::goalkeeper::testing::Run(
      WithTls({kBin, "run", "--coordinator", "127.0.0.1:1", "--health-listen", "127.0.0.1:70720"},
              "worker"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: --health-listen: '127.0.0.1:70720': port 70720 is outside 0-65535\n");
  auto taken = OpenPort::Start("127.0.0.1");
  const std::string address = "127.0.0.1:" + std::to_string(taken->port());
  r = ::goalkeeper::testing::Run(
      WithTls({kBin, "run", "--coordinator", "127.0.0.1:1", "--health-listen", address}, "worker"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("error: --health-listen: cannot listen on '" + address + "'\n"));
}

}  // namespace
}  // namespace goalkeeper
