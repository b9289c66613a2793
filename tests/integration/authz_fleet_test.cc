// Who may do what, end to end: the real goalkeeper-coordinator with mutual
// TLS and an `auth:` block, and goalkeeperctl as viewer, operator, admin and
// a CI bearer token. A viewer cannot start scans (the refusal names the
// method and the roles, and the coordinator logs it); an operator's scans
// are limited per hour with a retry hint; a scan records who started it,
// and only an admin cancels another identity's scan.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
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
using ::goalkeeper::testing::WithTls;
using ::testing::HasSubstr;

constexpr char kCoordinator[] = GOALKEEPER_COORDINATOR_BIN;
constexpr char kCtl[] = GOALKEEPER_CTL_BIN;

// The "id" of a JSON object as goalkeeperctl prints it.
std::string JsonField(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\":\"";
  size_t at = json.find(needle);
  if (at == std::string::npos) return "";
  at += needle.size();
  return json.substr(at, json.find('"', at) - at);
}

class AuthzFleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/authz-fleet-" + std::to_string(getpid());
    std::system(("rm -rf " + dir_ + " && mkdir -p " + dir_).c_str());
    std::ofstream(dir_ + "/ci-token") << "ci-token-for-the-authz-fleet-test\n";
    std::ofstream out(dir_ + "/coordinator.yaml");
    out << "db: " << dir_ << "/coordinator.db\n"
        << "metrics_listen: 127.0.0.1:0\n"
        << "allowed_ranges: [127.81.0.0/16]\n"
        << "profiles:\n"
        << "  lab: {ports: \"22\", timeout_ms: 300, retries: 0}\n"
        << TestCerts::Get().DaemonYaml("coordinator") << "auth:\n"
        << "  tokens:\n"
        << "    - {name: ci, file: " << dir_ << "/ci-token, role: operator}\n"
        << "  roles:\n"
        << "    operator: {allowed_ranges: [127.81.1.0/24], scans_per_hour: 2, max_rate: 100}\n";
    out.close();
    const std::string log = dir_ + "/coordinator.log";
    coordinator_.emplace(Subprocess::StartLogged(
        {kCoordinator, "--config", dir_ + "/coordinator.yaml", "--listen", "127.0.0.1:0"}, log));
    for (int i = 0; i < 400 && port_ == 0; ++i) {
      const std::string text = ReadFile(log);
      const size_t at = text.find("coordinator listening grpc=127.0.0.1:");
      if (at != std::string::npos) {
        port_ = std::stoi(text.substr(at + 37));
        break;
      }
      ASSERT_FALSE(coordinator_->Exited()) << "coordinator exited:\n" << text;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_NE(port_, 0) << ReadFile(log);
  }

  void TearDown() override {
    if (coordinator_) coordinator_->Signal(SIGKILL);
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  RunResult Ctl(const std::string& who, std::vector<std::string> args) {
    args.insert(args.begin(), {kCtl, "--coordinator", address()});
    return ::goalkeeper::testing::Run(WithTls(args, who), std::chrono::seconds(60));
  }
  RunResult CtlWithToken(std::vector<std::string> args) {
    args.insert(args.begin(), {kCtl, "--coordinator", address(), "--tls-ca-file",
                               TestCerts::Get().CaFile(), "--token-file", dir_ + "/ci-token"});
    return ::goalkeeper::testing::Run(args, std::chrono::seconds(60));
  }
  std::vector<std::string> Start(const std::string& targets) {
    return {"scan", "start", "--targets", targets, "--profile", "lab", "--output", "json"};
  }

  std::string dir_;
  std::optional<Subprocess> coordinator_;
  int port_ = 0;
};

TEST_F(AuthzFleetTest, RolesScopesAndOwnershipHoldForRealClients) {
  // A viewer reads but cannot start a scan.
  RunResult viewer = Ctl("viewer", Start("127.81.1.1"));
  EXPECT_NE(viewer.exit_code, 0);
  EXPECT_THAT(viewer.err, HasSubstr("/goalkeeper.v1.Coordinator/StartScan needs role operator; "
                                    "spiffe://goalkeeper/viewer has viewer"));
  EXPECT_EQ(Ctl("viewer", {"scan", "list"}).exit_code, 0);
  EXPECT_THAT(ReadFile(dir_ + "/coordinator.log"),
              HasSubstr("denied: identity=spiffe://goalkeeper/viewer "
                        "method=/goalkeeper.v1.Coordinator/StartScan code=PermissionDenied"));

  // An operator inside its role's ranges; outside them it is refused by name.
  RunResult outside = Ctl("operator", Start("127.81.2.1"));
  EXPECT_NE(outside.exit_code, 0);
  EXPECT_THAT(outside.err, HasSubstr("outside auth.roles.operator.allowed_ranges"));
  RunResult started = Ctl("operator", Start("127.81.1.1"));
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const std::string scan = JsonField(started.out, "id");
  ASSERT_FALSE(scan.empty()) << started.out;
  RunResult got = Ctl("viewer", {"scan", "status", scan, "--output", "json"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_THAT(got.out, HasSubstr("\"started_by\":\"spiffe://goalkeeper/operator\""));
  EXPECT_THAT(started.out, HasSubstr("\"rate\":100"));  // capped to the role's max_rate

  // The CI token is its own identity (token:ci) with the operator role:
  // it may not cancel the operator's scan; an admin may.
  RunResult cancel = CtlWithToken({"scan", "cancel", scan});
  EXPECT_NE(cancel.exit_code, 0);
  EXPECT_THAT(cancel.err, HasSubstr("cancelling another identity's scan needs role admin; "
                                    "token:ci has operator"));
  RunResult by_admin = Ctl("admin", {"scan", "cancel", scan});
  EXPECT_EQ(by_admin.exit_code, 0) << by_admin.err;

  // The operator's second scan of the hour is its last.
  EXPECT_EQ(Ctl("operator", Start("127.81.1.2")).exit_code, 0);
  RunResult third = Ctl("operator", Start("127.81.1.3"));
  EXPECT_NE(third.exit_code, 0);
  EXPECT_THAT(third.err, HasSubstr("may start 2 scans per hour "
                                   "(auth.roles.operator.scans_per_hour); retry in"));
  // A worker's certificate is no operator's.
  RunResult worker = Ctl("worker", {"scan", "list"});
  EXPECT_NE(worker.exit_code, 0);
  EXPECT_THAT(worker.err, HasSubstr("/goalkeeper.v1.Coordinator/ListScans needs role viewer; "
                                    "spiffe://goalkeeper/worker has worker"));
}

}  // namespace
}  // namespace goalkeeper
