// `goalkeeperctl audit list` and `goalkeeperctl ack` against a real
// coordinator and a real notifier process on loopback: scans started and
// cancelled show up in the coordinator's trail (and its log), an
// acknowledgement and a refused one in the notifier's; usage errors name
// the value and exit 2, an unreachable server exits 1. The servers run
// plaintext here, so every caller is "insecure" (admin).
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "goalkeeper/v1/notifier.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_certs.h"

namespace goalkeeper {
namespace {

using ::goalkeeper::testing::ReadFile;
using ::goalkeeper::testing::RunResult;
using ::goalkeeper::testing::Subprocess;
using ::goalkeeper::testing::TestCerts;
using ::goalkeeper::testing::WriteFile;
using ::testing::HasSubstr;

constexpr char kCoordinator[] = GOALKEEPER_COORDINATOR_BIN;
constexpr char kNotifier[] = GOALKEEPER_NOTIFIER_BIN;
constexpr char kCtl[] = GOALKEEPER_CTL_BIN;

// A daemon logging to a file; waits for "<what> listening grpc=".
class Daemon {
 public:
  Daemon(const std::vector<std::string>& argv, std::string log, const std::string& what)
      : log_(std::move(log)) {
    process_.emplace(Subprocess::StartLogged(argv, log_));
    const std::string needle = what + " listening grpc=127.0.0.1:";
    for (int i = 0; i < 400; ++i) {
      std::string text = ReadFile(log_);
      if (size_t at = text.find(needle); at != std::string::npos) {
        port_ = std::stoi(text.substr(at + needle.size()));
        return;
      }
      if (process_->Exited()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error(what + " did not start:\n" + ReadFile(log_));
  }
  ~Daemon() {
    process_->Signal(SIGTERM);
    process_->Wait(std::chrono::seconds(10));
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  std::string log() const { return ReadFile(log_); }

 private:
  std::string log_;
  std::optional<Subprocess> process_;
  int port_ = 0;
};

class AuditCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/audit-cli-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::system(("rm -rf " + dir_ + " && mkdir -p " + dir_ + "/outbox").c_str());
    WriteFile(dir_ + "/coordinator.yaml",
              absl::StrCat("db: ", dir_, "/coordinator.db\nmetrics_listen: \"\"\n",
                           "allowed_ranges: [127.83.0.0/16]\n",
                           "profiles:\n  lab: {ports: \"22,80\", timeout_ms: 300, retries: 1}\n",
                           "lease: {ttl_seconds: 5, heartbeat_seconds: 1, shard_seconds: 1}\n"));
    WriteFile(dir_ + "/notifier.yaml",
              absl::StrCat("db: ", dir_, "/notifier.db\nmetrics_listen: \"\"\n",
                           "ops: {emails: [noc@ops.example]}\n", "email: {outbox_dir: ", dir_,
                           "/outbox}\n"));
    coordinator_.emplace(
        std::vector<std::string>{kCoordinator, "--config", dir_ + "/coordinator.yaml", "--listen",
                                 "127.0.0.1:0", "--insecure", "--health-listen", ""},
        dir_ + "/coordinator.log", "coordinator");
    notifier_.emplace(
        std::vector<std::string>{kNotifier, "--config", dir_ + "/notifier.yaml", "--listen",
                                 "127.0.0.1:0", "--insecure", "--health-listen", ""},
        dir_ + "/notifier.log", "notifier");
  }

  RunResult Ctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {kCtl, "--insecure", "--coordinator", coordinator_->address()};
    argv.insert(argv.end(), args.begin(), args.end());
    return goalkeeper::testing::Run(argv, std::chrono::seconds(30));
  }

  // The entries of `audit list ... --output json`.
  nlohmann::json Audit(std::vector<std::string> args) {
    args.insert(args.begin(), {"audit", "list", "--output", "json"});
    RunResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    EXPECT_FALSE(j.contains("next_page_token"));
    return j.is_object() && j.contains("entries") ? j["entries"] : nlohmann::json::array();
  }

  std::string dir_;
  std::optional<Daemon> coordinator_;
  std::optional<Daemon> notifier_;
};

TEST_F(AuditCliTest, ScansStartedAndCancelledAreListedNewestFirst) {
  RunResult start = Ctl({"scan", "start", "--targets", "127.83.0.0/30", "--ports", "22"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  const std::string id = start.out.substr(0, start.out.find('\n'));
  RunResult cancel = Ctl({"scan", "cancel", id});
  ASSERT_EQ(cancel.exit_code, 0) << cancel.err;
  RunResult refused = Ctl({"scan", "start", "--targets", "10.0.0.0/8", "--ports", "22"});
  ASSERT_EQ(refused.exit_code, 2);

  nlohmann::json all = Audit({});
  ASSERT_EQ(all.size(), 3u) << all.dump();
  EXPECT_EQ(all[0]["method"], "/goalkeeper.v1.Coordinator/StartScan");
  EXPECT_EQ(all[0]["code"], 3);  // INVALID_ARGUMENT
  EXPECT_EQ(all[1]["method"], "/goalkeeper.v1.Coordinator/CancelScan");
  EXPECT_EQ(all[1]["target"], id);
  EXPECT_EQ(all[2]["target"], id);
  EXPECT_EQ(all[2]["identity"], "insecure");
  EXPECT_EQ(all[2]["role"], "admin");
  nlohmann::json detail = nlohmann::json::parse(all[2]["detail_json"].get<std::string>());
  EXPECT_EQ(detail["targets"], nlohmann::json::array({"127.83.0.0/30"}));
  EXPECT_EQ(detail["ports"], "22");

  EXPECT_EQ(Audit({"--method", "CancelScan"}).size(), 1u);
  EXPECT_EQ(Audit({"--identity", "insecure", "--since", "1h"}).size(), 3u);
  EXPECT_EQ(Audit({"--identity", "spiffe://goalkeeper/nobody"}).size(), 0u);
  nlohmann::json one = Audit({"--limit", "1"});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["id"], all[0]["id"]);

  RunResult table = Ctl({"audit", "list"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("IDENTITY"));
  EXPECT_THAT(table.out, HasSubstr("CancelScan"));
  EXPECT_THAT(table.out, HasSubstr("INVALID_ARGUMENT"));
  // One log line per entry.
  const std::string log = coordinator_->log();
  EXPECT_THAT(log, HasSubstr(absl::StrCat("audit: id=2 identity=insecure role=admin "
                                          "method=/goalkeeper.v1.Coordinator/CancelScan code=OK "
                                          "target=",
                                          id)));
}

TEST_F(AuditCliTest, AnAcknowledgementIsInTheNotifiersTrail) {
  RunResult ack = Ctl({"ack", "127.0.0.5", "5432", "--for", "7d", "--reason", "ticket OPS-7",
                       "--notifier", notifier_->address()});
  ASSERT_EQ(ack.exit_code, 0) << ack.err;
  EXPECT_THAT(ack.out, HasSubstr("acknowledged 127.0.0.5:5432 until "));
  RunResult bad = Ctl({"ack", "not-an-ip", "22", "--for", "1h", "--reason", "x", "--notifier",
                       notifier_->address()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("'not-an-ip:22' is not an address and port"));

  nlohmann::json entries = Audit({"--notifier", notifier_->address()});
  ASSERT_EQ(entries.size(), 2u) << entries.dump();
  EXPECT_EQ(entries[1]["method"], "/goalkeeper.v1.Notifier/Acknowledge");
  EXPECT_EQ(entries[1]["target"], "127.0.0.5:5432");
  EXPECT_EQ(entries[1]["identity"], "insecure");
  EXPECT_EQ(entries[1]["code"], 0);
  nlohmann::json detail = nlohmann::json::parse(entries[1]["detail_json"].get<std::string>());
  EXPECT_EQ(detail["reason"], "ticket OPS-7");
  const int64_t until = detail["until_unix_ms"];
  const int64_t week_ms = int64_t{7} * 24 * 3600 * 1000;
  // int64 fields are strings in proto JSON.
  EXPECT_GT(until, std::stoll(entries[1]["at_unix_ms"].get<std::string>()) + week_ms - 60000);
  EXPECT_EQ(entries[0]["code"], 3);
  EXPECT_EQ(entries[0]["target"], "not-an-ip:22");
  EXPECT_EQ(Audit({}).size(), 0u) << "the coordinator's trail is its own";
  EXPECT_THAT(notifier_->log(), HasSubstr("audit: id=1 identity=insecure role=admin "
                                          "method=/goalkeeper.v1.Notifier/Acknowledge code=OK "
                                          "target=127.0.0.5:5432"));
}

TEST_F(AuditCliTest, ARefusedReportIsInTheNotifiersTrail) {
  auto stub = goalkeeper::v1::Notifier::NewStub(
      grpc::CreateChannel(notifier_->address(), grpc::InsecureChannelCredentials()));
  goalkeeper::v1::ScanReport report;
  report.set_scan_id("20261201-120000-f0f0f1");  // well formed: the exposure is refused
  goalkeeper::v1::Exposure* e = report.add_exposures();
  e->set_ip("not-an-ip");
  e->set_port(22);
  goalkeeper::v1::DeliverReportResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ASSERT_EQ(stub->DeliverReport(&ctx, report, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  nlohmann::json entries = Audit({"--notifier", notifier_->address(), "--method", "DeliverReport"});
  ASSERT_EQ(entries.size(), 1u) << entries.dump();
  EXPECT_EQ(entries[0]["target"], "20261201-120000-f0f0f1");
  EXPECT_EQ(entries[0]["code"], 3);
  EXPECT_THAT(entries[0]["detail_json"].get<std::string>(), HasSubstr("not-an-ip"));
}

TEST_F(AuditCliTest, BadUsageNamesTheValueAndExits2) {
  const std::string notifier = notifier_->address();
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"ack", "127.0.0.5", "0", "--for", "1h", "--reason", "r", "--notifier", notifier},
       "error: PORT: '0' is not a port (1-65535, /tcp or /udp)"},
      {{"ack", "127.0.0.5", "53/quic", "--for", "1h", "--reason", "r", "--notifier", notifier},
       "error: PORT: '53/quic' is not a port (1-65535, /tcp or /udp)"},
      {{"ack", "127.0.0.5", "22", "--for", "5x", "--reason", "r", "--notifier", notifier},
       "error: --for: '5x' is not a duration (like 90s, 30m, 12h, 7d)"},
      {{"ack", "127.0.0.5", "22", "--for", "99999999999999999999w", "--reason", "r", "--notifier",
        notifier},
       "error: --for: '99999999999999999999w' is not a duration"},
      {{"ack", "127.0.0.5", "22", "--reason", "r", "--notifier", notifier},
       "error: --for DURATION is required"},
      {{"ack", "127.0.0.5", "22", "--for", "1h", "--notifier", notifier},
       "error: --reason TEXT is required"},
      {{"ack", "127.0.0.5", "22", "--for", "1h", "--reason", "r"},
       "error: --notifier HOST:PORT is required"},
      {{"ack", "127.0.0.5", "--for", "1h", "--reason", "r", "--notifier", notifier},
       "error: expected IP PORT"},
      {{"audit", "list", "--since", "yesterday"},
       "error: --since: 'yesterday' is not a duration (like 90s, 30m, 12h, 7d)"},
      {{"audit", "list", "--output", "yaml"}, "error: --output: 'yaml' is not table or json"},
      {{"audit", "list", "--notifier", "127.0.0.1:0"}, "error: --notifier: "},
  };
  for (const Case& c : cases) {
    RunResult r = Ctl(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << " " << c.args[1] << ": " << r.err;
    EXPECT_THAT(r.err.substr(0, r.err.find('\n')), HasSubstr(c.error));
  }
  RunResult usage = Ctl({"--help"});
  EXPECT_THAT(usage.out, HasSubstr("audit list [--since DURATION]"));
  EXPECT_THAT(usage.out, HasSubstr("ack IP PORT[/udp] --for DURATION --reason TEXT --notifier"));
}

TEST_F(AuditCliTest, AnUnreachableNotifierExits1NamingIt) {
  // A port nothing listens on: the notifier's own, after it stopped.
  const std::string address = notifier_->address();
  notifier_.reset();
  RunResult r = Ctl({"audit", "list", "--notifier", address});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("error: notifier ", address, " is unreachable")));
}

// With mutual TLS and the authorization gate: entries carry the identity of
// the client certificate, and a call the gate refuses is an entry too.
TEST(AuditTlsTest, EntriesCarryTheCertificatesIdentityAndTheGatesRefusals) {
  const std::string dir = ::testing::TempDir() + "/audit-tls-" + std::to_string(getpid());
  std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str());
  const TestCerts& certs = TestCerts::Get();
  WriteFile(dir + "/coordinator.yaml",
            absl::StrCat("db: ", dir, "/coordinator.db\nmetrics_listen: \"\"\n",
                         "allowed_ranges: [127.83.0.0/16]\n",
                         "profiles:\n  lab: {ports: \"22\", timeout_ms: 300, retries: 1}\n",
                         certs.DaemonYaml("coordinator")));
  Daemon coordinator(
      {kCoordinator, "--config", dir + "/coordinator.yaml", "--listen", "127.0.0.1:0"},
      dir + "/coordinator.log", "coordinator");
  auto ctl = [&](const std::string& who, std::vector<std::string> args) {
    std::vector<std::string> argv = {kCtl, "--coordinator", coordinator.address()};
    for (const std::string& f : certs.Flags(who)) argv.push_back(f);
    argv.insert(argv.end(), args.begin(), args.end());
    return goalkeeper::testing::Run(argv, std::chrono::seconds(30));
  };
  RunResult denied =
      ctl("viewer", {"scan", "start", "--targets", "127.83.0.0/30", "--ports", "22"});
  EXPECT_NE(denied.exit_code, 0);
  EXPECT_THAT(denied.err, HasSubstr("needs role operator"));
  RunResult started =
      ctl("operator", {"scan", "start", "--targets", "127.83.0.0/30", "--ports", "22"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  RunResult listed = ctl("viewer", {"audit", "list", "--output", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  nlohmann::json j = nlohmann::json::parse(listed.out, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("entries")) << listed.out;
  nlohmann::json entries = j["entries"];
  ASSERT_EQ(entries.size(), 2u) << entries.dump();
  EXPECT_EQ(entries[0]["identity"], "spiffe://goalkeeper/operator");
  EXPECT_EQ(entries[0]["role"], "operator");
  EXPECT_EQ(entries[0]["code"], 0);
  EXPECT_EQ(entries[1]["identity"], "spiffe://goalkeeper/viewer");
  EXPECT_EQ(entries[1]["method"], "/goalkeeper.v1.Coordinator/StartScan");
  EXPECT_EQ(entries[1]["code"], 7);  // PERMISSION_DENIED, from the gate
  EXPECT_THAT(entries[1]["detail_json"].get<std::string>(), HasSubstr("needs role operator"));
}

}  // namespace
}  // namespace goalkeeper
