// --check-config of every daemon as a real process: exit 0 with the
// effective configuration as YAML that the binary reads back to the same
// output; exit 2 with one line naming the bad value; secrets (files and
// environment variables) never printed; no database created, no port bound,
// nothing dialed. Every binary is given its TLS identity (--tls-dir, from
// tests/testing/test_certs.h), as a start needs one. Traffic only to
// 127.0.0.0/8.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"
#include "tests/testing/loopback.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_certs.h"

namespace goalkeeper {
namespace {

using ::goalkeeper::testing::OpenPort;
using ::goalkeeper::testing::ReadFile;
using ::goalkeeper::testing::RunResult;
using ::goalkeeper::testing::WriteFile;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kCoordinator[] = GOALKEEPER_COORDINATOR_BIN;
constexpr char kNotifier[] = GOALKEEPER_NOTIFIER_BIN;
constexpr char kWorker[] = GOALKEEPER_WORKER_BIN;

// What every secret file and variable of these tests holds.
constexpr char kMarker[] = "MARKER-c4f1-SECRET";

constexpr const char* kSecretVars[] = {"GOALKEEPER_SMTP_PASSWORD", "GOALKEEPER_TELEGRAM_TOKEN",
                                       "GOALKEEPER_OPENSTACK_PASSWORD", "GOALKEEPER_FLEIO_TOKEN",
                                       "GOALKEEPER_COORDINATOR"};

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

RunResult Exec(std::vector<std::string> argv) { return ::goalkeeper::testing::Run(argv); }

// The --tls-dir flags of the identity `bin` runs as.
std::vector<std::string> TlsOf(const std::string& bin) {
  const char* name = bin == kCoordinator ? "coordinator" : bin == kNotifier ? "notifier" : "worker";
  return ::goalkeeper::testing::TestCerts::Get().Flags(name);
}

// `argv` with the TLS flags of its binary (argv[0]) appended.
std::vector<std::string> WithTlsOf(std::vector<std::string> argv) {
  ::goalkeeper::testing::AddArgs(argv, TlsOf(argv[0]));
  return argv;
}

// Exit 2, nothing on stdout, one "error: ..." line holding `what`.
void ExpectUsageError(const RunResult& r, const std::string& what) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, StartsWith("error: "));
  EXPECT_THAT(r.err, HasSubstr(what));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.back(), '\n');
}

class CheckConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* var : kSecretVars) unsetenv(var);
    dir_ = ::testing::TempDir() + "/check-config-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(std::system(("rm -rf '" + dir_ + "' && mkdir -p '" + dir_ + "'").c_str()), 0);
  }
  void TearDown() override {
    for (const char* var : kSecretVars) unsetenv(var);
  }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    WriteFile(path, text);
    return path;
  }

  // A fixture of tests/fixtures/<component>/ with its /run/secrets/NAME
  // files replaced by files in dir_ holding the marker.
  std::string FixtureWithSecrets(const std::string& component, const std::string& name) {
    std::string text =
        ReadFile(absl::StrCat(GOALKEEPER_SOURCE_DIR "/tests/fixtures/", component, "/", name));
    EXPECT_FALSE(text.empty());
    for (const char* secret : {"smtp", "telegram", "openstack", "fleio"}) {
      Write(absl::StrCat("secret-", secret), absl::StrCat(kMarker, "-", secret, "\n"));
    }
    absl::StrReplaceAll({{"/run/secrets/", dir_ + "/secret-"}}, &text);
    return Write(component + "-" + name, text);
  }

  // Runs `bin --check-config args... --tls-dir DIR`; expects exit 0, no
  // stderr, and that the printed configuration (its tls: block included),
  // given back as --config with no flags but the file's, prints the very
  // same text.
  RunResult ExpectValid(const std::string& bin, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {bin, "--check-config"};
    argv.insert(argv.end(), args.begin(), args.end());
    ::goalkeeper::testing::AddArgs(argv, TlsOf(bin));
    RunResult r = Exec(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_THAT(r.out, Not(HasSubstr(kMarker)));
    const std::string printed = Write("printed.yaml", r.out);
    RunResult again = Exec({bin, "--check-config", "--config", printed});
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(again.out, r.out);
    return r;
  }

  std::string dir_;
};

// --- goalkeeper-coordinator --------------------------------------------------

TEST_F(CheckConfigTest, CoordinatorPrintsTheExampleFixtureWithoutItsPassword) {
  const std::string config = FixtureWithSecrets("coordinator", "example.yaml");
  RunResult r = ExpectValid(kCoordinator, {"--config", config});
  EXPECT_THAT(r.out, StartsWith("# goalkeeper-coordinator --check-config"));
  EXPECT_THAT(r.out, HasSubstr("\nlisten: \"0.0.0.0:7070\"\n"));
  EXPECT_THAT(r.out, HasSubstr("\nlimits:\n  max_probes_per_scan: 4294967296\n"));
  EXPECT_THAT(r.out, HasSubstr("\nnodes:\n  silence_after_intervals: 3  #"));
  EXPECT_THAT(r.out, HasSubstr("      password_file: \"" + dir_ + "/secret-openstack\"\n"));
  EXPECT_THAT(r.out, HasSubstr("# Secrets (checked; values never shown):\n"
                               "#   inventories.cloud.openstack.password_file: the file '" +
                               dir_ + "/secret-openstack'\n"));
}

TEST_F(CheckConfigTest, CoordinatorPrintsTheBlockStyleFixture) {
  RunResult r = ExpectValid(kCoordinator, {"--config", GOALKEEPER_SOURCE_DIR
                                           "/tests/fixtures/coordinator/block_style.yaml"});
  EXPECT_THAT(r.out, HasSubstr("\n  \"office\":\n    targets: [\"10.1.0.0/16\"]\n"));
}

TEST_F(CheckConfigTest, CoordinatorAppliesTheFlagsOverTheFileAsAStartDoes) {
  RunResult r = ExpectValid(
      kCoordinator,
      {"--config", GOALKEEPER_SOURCE_DIR "/tests/fixtures/coordinator/block_style.yaml", "--listen",
       "127.0.0.1:7777", "--db", dir_ + "/flag.db", "--metrics-listen", "127.0.0.1:9999",
       "--notifier", "", "--allowed", "172.16.0.0/12, 10.1.0.0/16", "--allowed", "192.0.2.0/25"});
  EXPECT_THAT(r.out, HasSubstr("\nlisten: \"127.0.0.1:7777\"\n"));
  EXPECT_THAT(r.out, HasSubstr("\ndb: \"" + dir_ + "/flag.db\"\n"));
  EXPECT_THAT(r.out, HasSubstr("\nmetrics_listen: \"127.0.0.1:9999\"\n"));
  EXPECT_THAT(r.out, HasSubstr("\nnotifier:\n  address: \"\""));
  EXPECT_THAT(r.out, HasSubstr("\nallowed_ranges: [\"10.0.0.0/8\", \"192.0.2.0/24\", "
                               "\"2001:db8::/32\", \"172.16.0.0/12\", \"10.1.0.0/16\", "
                               "\"192.0.2.0/25\"]\n"));
  EXPECT_FALSE(Exists(dir_ + "/flag.db"));
}

TEST_F(CheckConfigTest, CoordinatorNamesTheVariableOfAPasswordFromTheEnvironment) {
  const std::string config = Write(
      "c.yaml",
      "allowed_ranges: [127.0.0.0/8]\n"
      "inventories:\n  cloud:\n    openstack: {auth_url: \"http://127.0.0.1:1\", username: u, "
      "project_name: p}\n");
  setenv("GOALKEEPER_OPENSTACK_PASSWORD", kMarker, 1);
  RunResult r = ExpectValid(kCoordinator, {"--config", config});
  EXPECT_THAT(r.out, HasSubstr("# password_file: unset: the password is read from "
                               "$GOALKEEPER_OPENSTACK_PASSWORD\n"));
  EXPECT_THAT(r.out, HasSubstr("#   inventories.cloud.openstack.password_file: unset: from "
                               "$GOALKEEPER_OPENSTACK_PASSWORD (set)\n"));

  unsetenv("GOALKEEPER_OPENSTACK_PASSWORD");
  ExpectUsageError(Exec(WithTlsOf({kCoordinator, "--check-config", "--config", config})),
                   "inventories.cloud.openstack.password_file: not set, and "
                   "GOALKEEPER_OPENSTACK_PASSWORD is not set");
}

struct BadCase {
  std::string name;
  std::string config;  // "" = no --config
  std::vector<std::string> args;
  std::string error;  // a part of the one error line
};

class CoordinatorCheckConfigBadTest : public CheckConfigTest,
                                      public ::testing::WithParamInterface<BadCase> {};

TEST_P(CoordinatorCheckConfigBadTest, ExitsTwoNamingTheBadValue) {
  std::vector<std::string> argv = WithTlsOf({kCoordinator, "--check-config"});
  if (!GetParam().config.empty()) {
    argv.push_back("--config");
    argv.push_back(Write("coordinator.yaml", GetParam().config));
  }
  argv.insert(argv.end(), GetParam().args.begin(), GetParam().args.end());
  ExpectUsageError(Exec(argv), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CoordinatorCheckConfigBadTest,
    ::testing::Values(
        BadCase{"MalformedCidr",
                "allowed_ranges: [10.0.0.0/8, 10.0.0.0/33]\n",
                {},
                "allowed_ranges: '10.0.0.0/33': prefix length /33 exceeds 32 bits"},
        BadCase{"UnknownKey", "alowed_ranges: [10.0.0.0/8]\n", {}, "unknown key 'alowed_ranges'"},
        BadCase{"MissingSecretFile",
                "allowed_ranges: [127.0.0.0/8]\ninventories:\n  cloud:\n    openstack: "
                "{auth_url: \"http://127.0.0.1:1\", username: u, project_name: p, "
                "password_file: /nonexistent/openstack-password}\n",
                {},
                "inventories.cloud.openstack.password_file: cannot read secret file "
                "'/nonexistent/openstack-password'"},
        BadCase{"OutsideAllowed",
                "allowed_ranges: [10.0.0.0/8]\ninventories: {a: {targets: "
                "[11.0.0.0/24]}}\n",
                {},
                "11.0.0.0-11.0.0.255 is outside allowed_ranges"},
        BadCase{"MissingConfigFile",
                "",
                {"--config", "/nonexistent/coordinator.yaml"},
                "cannot read config file '/nonexistent/coordinator.yaml'"},
        BadCase{"BadListenFlag", "", {"--listen", "0.0.0.0:70000"}, "--listen: '0.0.0.0:70000'"},
        BadCase{"BadAllowedFlag", "", {"--allowed", "10.0.0.300"}, "--allowed: '10.0.0.300'"},
        BadCase{"EmptyDbFlag", "", {"--db", ""}, "--db: the path is empty"},
        BadCase{"UnknownFlag", "", {"--bogus"}, "unknown flag --bogus"}),
    [](const ::testing::TestParamInfo<BadCase>& p) { return p.param.name; });

TEST_F(CheckConfigTest, CoordinatorCreatesNoDatabaseBindsNoPortAndDialsNothing) {
  // The gRPC and metrics ports are taken (without SO_REUSEPORT, so no
  // server can bind them); the notifier address counts connections.
  auto grpc_port = OpenPort::Start("127.0.0.1");
  auto metrics_port = OpenPort::Start("127.0.0.1");
  auto notifier = OpenPort::Start("127.0.0.1");
  auto args = [&](const std::string& db) {
    return std::vector<std::string>{"--listen",
                                    absl::StrCat("127.0.0.1:", grpc_port->port()),
                                    "--metrics-listen",
                                    absl::StrCat("127.0.0.1:", metrics_port->port()),
                                    "--notifier",
                                    absl::StrCat("127.0.0.1:", notifier->port()),
                                    "--db",
                                    db,
                                    "--health-listen",
                                    ""};
  };
  std::vector<std::string> check = WithTlsOf({kCoordinator, "--check-config"});
  for (const std::string& a : args(dir_ + "/checked.db")) check.push_back(a);
  RunResult r = Exec(check);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(Exists(dir_ + "/checked.db"));
  EXPECT_FALSE(Exists(dir_ + "/checked.db-wal"));
  EXPECT_EQ(notifier->accepted(), 0);
  EXPECT_EQ(grpc_port->accepted(), 0);

  // The same flags without --check-config: a real start creates the
  // database and fails on the taken port (so the checks above can fail).
  std::vector<std::string> start = WithTlsOf({kCoordinator});
  for (const std::string& a : args(dir_ + "/started.db")) start.push_back(a);
  RunResult started = Exec(start);
  EXPECT_EQ(started.exit_code, 1) << started.err;
  EXPECT_THAT(started.err, HasSubstr("cannot listen"));
  EXPECT_TRUE(Exists(dir_ + "/started.db"));
}

// --- goalkeeper-notifier -----------------------------------------------------

TEST_F(CheckConfigTest, NotifierPrintsTheExampleFixtureWithoutItsSecrets) {
  const std::string config = FixtureWithSecrets("notifier", "example.yaml");
  RunResult r = ExpectValid(kNotifier, {"--config", config});
  EXPECT_THAT(r.out, StartsWith("# goalkeeper-notifier --check-config"));
  EXPECT_THAT(r.out, HasSubstr("\nmode: stage\n"));
  EXPECT_THAT(r.out, HasSubstr("  password_file: \"" + dir_ + "/secret-smtp\"\n"));
  EXPECT_THAT(r.out, HasSubstr("#   email.password_file: the file '" + dir_ +
                               "/secret-smtp'\n"
                               "#   telegram.token_file: the file '" +
                               dir_ +
                               "/secret-telegram'\n"
                               "#   owners.openstack.password_file: the file '" +
                               dir_ +
                               "/secret-openstack'\n"
                               "#   owners.fleio.token_file: the file '" +
                               dir_ + "/secret-fleio'\n"));
}

TEST_F(CheckConfigTest, NotifierPrintsTheBlockStyleFixture) {
  RunResult r = ExpectValid(
      kNotifier, {"--config", GOALKEEPER_SOURCE_DIR "/tests/fixtures/notifier/block_style.yaml"});
  EXPECT_THAT(r.out, HasSubstr("\nmode: prod\n"));
  EXPECT_THAT(r.out, HasSubstr("  emails: [\"noc@example.net\", \"soc@example.net\"]\n"));
  EXPECT_THAT(r.out, HasSubstr("#   telegram.token_file: unset, and $GOALKEEPER_TELEGRAM_TOKEN "
                               "is not set: Telegram summaries go to the log\n"));
}

TEST_F(CheckConfigTest, NotifierNeverPrintsSecretsFromTheEnvironment) {
  const std::string config =
      Write("n.yaml",
            "ops: {emails: [noc@example.net]}\n"
            "email: {smtp_url: \"smtp://127.0.0.1:2525\", username: gk}\n"
            "owners:\n"
            "  openstack: {auth_url: \"http://127.0.0.1:1\", username: u, project_name: p}\n"
            "  fleio: {url: \"http://127.0.0.1:2\"}\n");
  for (const char* var : {"GOALKEEPER_SMTP_PASSWORD", "GOALKEEPER_TELEGRAM_TOKEN",
                          "GOALKEEPER_OPENSTACK_PASSWORD", "GOALKEEPER_FLEIO_TOKEN"}) {
    setenv(var, absl::StrCat(kMarker, "-", var).c_str(), 1);
  }
  RunResult r = ExpectValid(kNotifier, {"--config", config});
  for (const char* var : {"GOALKEEPER_SMTP_PASSWORD", "GOALKEEPER_TELEGRAM_TOKEN",
                          "GOALKEEPER_OPENSTACK_PASSWORD", "GOALKEEPER_FLEIO_TOKEN"}) {
    EXPECT_THAT(r.out, HasSubstr(absl::StrCat("unset: from $", var, " (set)\n")));
  }
  unsetenv("GOALKEEPER_SMTP_PASSWORD");
  ExpectUsageError(Exec(WithTlsOf({kNotifier, "--check-config", "--config", config})),
                   "email.password_file: not set, and GOALKEEPER_SMTP_PASSWORD is not set");
}

class NotifierCheckConfigBadTest : public CheckConfigTest,
                                   public ::testing::WithParamInterface<BadCase> {};

TEST_P(NotifierCheckConfigBadTest, ExitsTwoNamingTheBadValue) {
  std::vector<std::string> argv = WithTlsOf({kNotifier, "--check-config"});
  if (!GetParam().config.empty()) {
    argv.push_back("--config");
    argv.push_back(Write("notifier.yaml", GetParam().config));
  }
  argv.insert(argv.end(), GetParam().args.begin(), GetParam().args.end());
  ExpectUsageError(Exec(argv), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NotifierCheckConfigBadTest,
    ::testing::Values(
        BadCase{"MalformedCidr",
                "ops: {emails: [noc@example.net]}\nowners:\n  static:\n    - {cidr: "
                "198.51.100.0/33, name: X, emails: [sec@x.example]}\n",
                {},
                "owners.static[0].cidr: '198.51.100.0/33': prefix length /33 exceeds 32 bits"},
        BadCase{"UnknownKey",
                "ops: {emails: [noc@example.net]}\nmdoe: prod\n",
                {},
                "unknown key 'mdoe'"},
        BadCase{"MissingSecretFile",
                "ops: {emails: [noc@example.net]}\nemail: {smtp_url: \"smtp://127.0.0.1:2525\", "
                "username: gk, password_file: /nonexistent/smtp-password}\n",
                {},
                "email.password_file: cannot read secret file '/nonexistent/smtp-password'"},
        BadCase{"MissingOptionalSecretFile",
                "ops: {emails: [noc@example.net]}\ntelegram: {token_file: /nonexistent/tg}\n",
                {},
                "telegram.token_file: cannot read secret file '/nonexistent/tg'"},
        BadCase{"NoOpsEmails", "mode: prod\n", {}, "mode prod needs at least one address"},
        BadCase{"BadMetricsFlag",
                "ops: {emails: [noc@example.net]}\n",
                {"--metrics-listen", "nohost"},
                "--metrics-listen: 'nohost'"},
        BadCase{"UnknownFlag", "", {"--bogus"}, "unknown flag --bogus"}),
    [](const ::testing::TestParamInfo<BadCase>& p) { return p.param.name; });

TEST_F(CheckConfigTest, NotifierCreatesNoDatabaseNoOutboxAndBindsNoPort) {
  auto grpc_port = OpenPort::Start("127.0.0.1");
  const std::string config =
      Write("n.yaml", absl::StrCat("ops: {emails: [noc@example.net]}\nmetrics_listen: \"\"\n",
                                   "email: {outbox_dir: \"", dir_, "/outbox\"}\n"));
  auto args = [&](const std::string& db) {
    return std::vector<std::string>{
        "--config", config, "--listen",        absl::StrCat("127.0.0.1:", grpc_port->port()),
        "--db",     db,     "--health-listen", ""};
  };
  std::vector<std::string> check = WithTlsOf({kNotifier, "--check-config"});
  for (const std::string& a : args(dir_ + "/checked.db")) check.push_back(a);
  RunResult r = Exec(check);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(Exists(dir_ + "/checked.db"));
  EXPECT_FALSE(Exists(dir_ + "/outbox"));
  EXPECT_EQ(grpc_port->accepted(), 0);

  std::vector<std::string> start = WithTlsOf({kNotifier});
  for (const std::string& a : args(dir_ + "/started.db")) start.push_back(a);
  RunResult started = Exec(start);
  EXPECT_EQ(started.exit_code, 1) << started.err;
  EXPECT_TRUE(Exists(dir_ + "/started.db"));
}

// --- goalkeeper-worker run ---------------------------------------------------

TEST_F(CheckConfigTest, WorkerPrintsItsEffectiveSettingsAndDialsNothing) {
  auto coordinator = OpenPort::Start("127.0.0.1");
  const std::string address = absl::StrCat("127.0.0.1:", coordinator->port());
  RunResult r =
      Exec(WithTlsOf({kWorker, "run", "--check-config", "--coordinator", address, "--name", "w-1",
                      "--concurrency", "100", "--threads", "2", "--max-rate", "1500.5",
                      "--metrics-listen", "127.0.0.1:9999", "--health-listen", ""}));
  const std::string tls = ::goalkeeper::testing::TestCerts::Get().Dir("worker");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "# goalkeeper-worker run --check-config: the effective settings\n"
            "coordinator: \"" +
                address +
                "\"\n"
                "name: \"w-1\"\n"
                "concurrency: 100\n"
                "threads: 2  # 0 = one per core\n"
                "max-rate: 1500.5  # probes/s, 0 = none\n"
                "probe-timeout: \"2s\"\n"
                "dns-name: \"goalkeeper-probe.invalid.\"\n"
                "snmp-community: \"public\"\n"
                "metrics-listen: \"127.0.0.1:9999\"  # \"\" = off\n"
                "health-listen: \"\"  # \"\" = off\n"
                "insecure: false\n"
                "tls-ca-file: \"" +
                tls +
                "/ca.crt\"\n"
                "tls-cert-file: \"" +
                tls +
                "/tls.crt\"\n"
                "tls-key-file: \"" +
                tls +
                "/tls.key\"\n"
                "tls-server-name: \"\"  # \"\" = the coordinator's host\n");
  EXPECT_EQ(coordinator->accepted(), 0);
}

TEST_F(CheckConfigTest, WorkerTakesTheCoordinatorFromTheEnvironmentAndShowsDefaults) {
  setenv("GOALKEEPER_COORDINATOR", "127.0.0.1:7070", 1);
  RunResult r =
      Exec(WithTlsOf({kWorker, "run", "--check-config", "--name", "w", "--concurrency", "64"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\ncoordinator: \"127.0.0.1:7070\"\n"));
  EXPECT_THAT(r.out, HasSubstr("\nthreads: 0 "));
  EXPECT_THAT(r.out, HasSubstr("\nmax-rate: 2000 "));
  EXPECT_THAT(r.out, HasSubstr("\nmetrics-listen: \"0.0.0.0:9466\" "));
  EXPECT_THAT(r.out, HasSubstr("\nhealth-listen: \"0.0.0.0:7072\" "));
}

struct WorkerBadCase {
  std::string name;
  std::vector<std::string> args;
  std::string error;
};

class WorkerCheckConfigBadTest : public CheckConfigTest,
                                 public ::testing::WithParamInterface<WorkerBadCase> {};

TEST_P(WorkerCheckConfigBadTest, ExitsTwoNamingTheBadValue) {
  std::vector<std::string> argv = WithTlsOf({kWorker, "run", "--check-config"});
  argv.insert(argv.end(), GetParam().args.begin(), GetParam().args.end());
  ExpectUsageError(Exec(argv), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, WorkerCheckConfigBadTest,
    ::testing::Values(
        WorkerBadCase{"NoCoordinator", {}, "--coordinator is required"},
        WorkerBadCase{"CoordinatorPortZero",
                      {"--coordinator", "127.0.0.1:0"},
                      "--coordinator: '127.0.0.1:0'"},
        WorkerBadCase{
            "CoordinatorNoPort", {"--coordinator", "127.0.0.1"}, "--coordinator: '127.0.0.1'"},
        WorkerBadCase{"ConcurrencyZero",
                      {"--coordinator", "127.0.0.1:7070", "--concurrency", "0"},
                      "--concurrency: '0' is out of range"},
        WorkerBadCase{"ThreadsTooMany",
                      {"--coordinator", "127.0.0.1:7070", "--threads", "999"},
                      "--threads: '999' is out of range"},
        WorkerBadCase{"NegativeRate",
                      {"--coordinator", "127.0.0.1:7070", "--max-rate", "-1"},
                      "--max-rate: '-1' is out of range"},
        WorkerBadCase{"NameTooLong",
                      {"--coordinator", "127.0.0.1:7070", "--name", std::string(300, 'n')},
                      "--name: 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...' is longer than 256 bytes"},
        WorkerBadCase{
            "UnknownFlag", {"--coordinator", "127.0.0.1:7070", "--bogus"}, "unknown flag --bogus"}),
    [](const ::testing::TestParamInfo<WorkerBadCase>& p) { return p.param.name; });

}  // namespace
}  // namespace goalkeeper
