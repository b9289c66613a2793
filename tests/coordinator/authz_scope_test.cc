// Who may do what in the coordinator's core, without a network: every RPC
// of the proto has a role in the method table; a role's scope narrows
// StartScan (ranges, probes, rate, scans per hour with a retry hint); scans
// record who started them and only admins cancel another's; workers and
// nodes are bound to the identity that registered / first reported them,
// also across a restart.
#include <unistd.h>

#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "coordinator/coordinator_authz.h"
#include "coordinator/node_registry.h"
#include "coordinator/scan_manager.h"
#include "coordinator/scan_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::testing::HasSubstr;

constexpr char kOperator[] = "spiffe://goalkeeper/operator";
constexpr char kOperator2[] = "spiffe://goalkeeper/operator-2";
constexpr char kWorkerA[] = "spiffe://goalkeeper/worker-a";
constexpr char kWorkerB[] = "spiffe://goalkeeper/worker-b";

TEST(CoordinatorMethodTableTest, EveryRpcOfEveryServiceHasARole) {
  const MethodTable table = CoordinatorMethodTable();
  const std::vector<std::string> methods = MethodsOf(CoordinatorServices());
  EXPECT_GE(methods.size(), 15u);
  for (const std::string& m : methods) {
    EXPECT_EQ(table.count(m), 1u) << m << " has no role in CoordinatorMethodTable()";
  }
  EXPECT_EQ(table.at("/goalkeeper.v1.Coordinator/StartScan"), Role::kOperator);
  EXPECT_EQ(table.at("/goalkeeper.v1.Coordinator/CancelScan"), Role::kOperator);
  EXPECT_EQ(table.at("/goalkeeper.v1.Coordinator/ListFindings"), Role::kViewer);
  EXPECT_EQ(table.at("/goalkeeper.v1.ShardService/CompleteShard"), Role::kWorker);
  EXPECT_EQ(table.at("/goalkeeper.v1.NodeService/ReportNode"), Role::kNodeAgent);
  EXPECT_EQ(table.at("/goalkeeper.v1.NodeService/ListNodes"), Role::kViewer);
  const std::set<std::string> streaming = CoordinatorStreamingMethods();
  EXPECT_EQ(streaming, (std::set<std::string>{"/goalkeeper.v1.Coordinator/WatchScan",
                                              "/goalkeeper.v1.Coordinator/ListFindings"}));
}

TEST(CoordinatorAuthConfigTest, ReadsTheAuthBlockAndPrintsItBack) {
  auto c = ParseCoordinatorConfig(R"(allowed_ranges: [10.0.0.0/8]
auth:
  tokens:
    - {name: ci, file: /run/secrets/ci, role: operator}
  roles:
    operator: {allowed_ranges: [10.1.0.0/16], scans_per_hour: 20, max_rate: 5000}
)",
                                  "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->auth.identities, DefaultIdentityRules());
  EXPECT_EQ(ScopeOf(c->auth, Role::kOperator).scans_per_hour, 20u);
  auto again = ParseCoordinatorConfig(FormatCoordinatorConfig(*c), "printed.yaml");
  ASSERT_TRUE(again.ok()) << again.status() << FormatCoordinatorConfig(*c);
  EXPECT_EQ(*again, *c);
}

TEST(CoordinatorAuthConfigTest, ARolesRangesMustLieInsideAllowedRanges) {
  auto c = ParseCoordinatorConfig(R"(allowed_ranges: [10.0.0.0/8]
auth:
  roles:
    operator: {allowed_ranges: [10.1.0.0/16, 192.168.0.0/24]}
)",
                                  "c.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "c.yaml:3: auth.roles.operator.allowed_ranges: 192.168.0.0-192.168.0.255 is outside "
            "allowed_ranges (a role's ranges narrow them)");
}

class AuthzScopeTest : public ::testing::Test {
 protected:
  AuthzScopeTest() : clock_(absl::FromUnixSeconds(1'800'000'000)) {
    db_ = ::testing::TempDir() + "/authz-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) unlink((db_ + suffix).c_str());
    config_.allowed_ranges = {"127.80.0.0/16"};
    config_.profiles["lab"] = ProfileConfig{"22,80", 300, 1, 0, "verify", {}};
    config_.lease = {10, 2, 5, 2};
    RoleScope& op = config_.auth.roles[Role::kOperator];
    op.allowed_ranges = {"127.80.1.0/24"};
    op.max_probes_per_scan = 100;
    op.max_rate = 50;
    op.scans_per_hour = 2;
    Open();
  }

  void Open() {
    manager_.reset();
    store_.reset();
    auto s = ScanStore::Open(db_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    manager_ = std::make_unique<ScanManager>(config_, *store_, clock_);
    ASSERT_TRUE(manager_->Recover().ok());
  }

  absl::StatusOr<v1::Scan> Start(const ScanCaller& caller, const std::string& targets,
                                 const std::string& ports = "22,80") {
    v1::StartScanRequest req;
    req.mutable_targets()->add_include(targets);
    req.mutable_ports()->set_spec(ports);
    req.set_profile("lab");
    return manager_->StartScan(req, "", caller);
  }

  absl::StatusOr<v1::RegisterWorkerResponse> Register(const std::string& id,
                                                      const std::string& identity,
                                                      const std::string& token = "") {
    v1::RegisterWorkerRequest req;
    req.set_worker_id(id);
    req.set_worker_token(token);
    return manager_->RegisterWorker(req, identity);
  }

  FakeClock clock_;
  CoordinatorConfig config_;
  std::string db_;
  std::unique_ptr<ScanStore> store_;
  std::unique_ptr<ScanManager> manager_;
};

TEST_F(AuthzScopeTest, ARolesRangesNarrowTheGlobalOnes) {
  const ScanCaller op = ScanCaller::Of(kOperator, Role::kOperator);
  auto outside = Start(op, "127.80.2.0/30");
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(outside.status().message(),
            "targets: 127.80.2.0-127.80.2.3 is outside auth.roles.operator.allowed_ranges "
            "(spiffe://goalkeeper/operator has role operator)");
  EXPECT_TRUE(Start(op, "127.80.1.0/30").ok());
  // The admin role has no narrower ranges; the scheduler has no role scope.
  EXPECT_TRUE(
      Start(ScanCaller::Of("spiffe://goalkeeper/admin", Role::kAdmin), "127.80.2.0/30").ok());
  EXPECT_TRUE(Start(ScanCaller::Scheduler(), "127.80.2.0/24").ok());
}

TEST_F(AuthzScopeTest, ARolesProbeLimitIsNamedInTheRefusal) {
  auto big = Start(ScanCaller::Of(kOperator, Role::kOperator), "127.80.1.0/24");  // 512 probes
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(big.status().message(), HasSubstr("512 probes (256 addresses x 2 ports), over "
                                                "auth.roles.operator.max_probes_per_scan (100)"));
}

TEST_F(AuthzScopeTest, ARolesMaxRateCapsTheScansRate) {
  auto scan = Start(ScanCaller::Of(kOperator, Role::kOperator), "127.80.1.0/30");
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_EQ(scan->profile().rate(), 50);  // the profile has no cap; the role's applies
  config_.profiles["lab"].rate = 20;      // a lower profile rate stays
  Open();
  scan = Start(ScanCaller::Of(kOperator2, Role::kOperator), "127.80.1.0/30");
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_EQ(scan->profile().rate(), 20);
  auto admin = Start(ScanCaller::Of("spiffe://goalkeeper/admin", Role::kAdmin), "127.80.1.0/30");
  EXPECT_EQ(admin->profile().rate(), 20);
}

TEST_F(AuthzScopeTest, ScansPerHourAreATokenBucketPerIdentityWithARetryHint) {
  const ScanCaller op = ScanCaller::Of(kOperator, Role::kOperator);
  ASSERT_TRUE(Start(op, "127.80.1.1").ok());
  ASSERT_TRUE(Start(op, "127.80.1.2").ok());
  auto third = Start(op, "127.80.1.3");
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(third.status().message(),
            "spiffe://goalkeeper/operator may start 2 scans per hour "
            "(auth.roles.operator.scans_per_hour); retry in 1800 s");
  // Another identity of the same role has its own bucket.
  EXPECT_TRUE(Start(ScanCaller::Of(kOperator2, Role::kOperator), "127.80.1.3").ok());
  clock_.Advance(absl::Seconds(1200));
  third = Start(op, "127.80.1.3");
  EXPECT_THAT(third.status().message(), HasSubstr("retry in 600 s"));
  clock_.Advance(absl::Seconds(600));
  EXPECT_TRUE(Start(op, "127.80.1.3").ok());
  // Scheduled scans are not counted.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Start(ScanCaller::Scheduler(), "127.80.1.4").ok());
}

TEST_F(AuthzScopeTest, ScansRecordWhoStartedThemAndOnlyAdminsCancelAnothersScan) {
  auto mine = Start(ScanCaller::Of(kOperator, Role::kOperator), "127.80.1.1");
  ASSERT_TRUE(mine.ok()) << mine.status();
  EXPECT_EQ(mine->started_by(), kOperator);
  auto scheduled = Start(ScanCaller::Scheduler(), "127.80.1.2");
  EXPECT_EQ(scheduled->started_by(), "scheduler");

  auto other = manager_->CancelScan(mine->id(), ScanCaller::Of(kOperator2, Role::kOperator));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(other.status().message(),
            absl::StrCat("scan '", mine->id(),
                         "' was started by spiffe://goalkeeper/operator; cancelling another "
                         "identity's scan needs role admin; spiffe://goalkeeper/operator-2 has "
                         "operator"));
  EXPECT_EQ(manager_->CancelScan(scheduled->id(), ScanCaller::Of(kOperator, Role::kOperator))
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  auto own = manager_->CancelScan(mine->id(), ScanCaller::Of(kOperator, Role::kOperator));
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->state(), v1::CANCELLED);
  auto admin = manager_->CancelScan(scheduled->id(),
                                    ScanCaller::Of("spiffe://goalkeeper/admin", Role::kAdmin));
  ASSERT_TRUE(admin.ok()) << admin.status();
  // started_by survives a restart (it is stored with the scan).
  Open();
  auto again = manager_->GetScan(mine->id());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->started_by(), kOperator);
  EXPECT_EQ(manager_->CancelScan("no-such-scan", ScanCaller::Of(kOperator, Role::kOperator))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_F(AuthzScopeTest, AWorkerIsBoundToTheIdentityThatRegisteredIt) {
  auto reg = Register("w1", kWorkerA);
  ASSERT_TRUE(reg.ok()) << reg.status();
  const std::string token = reg->worker_token();
  ASSERT_TRUE(Start(ScanCaller::Scheduler(), "127.80.1.0/30").ok());

  // Another identity, even with the worker's token, cannot act for it.
  v1::LeaseShardRequest lease;
  lease.set_worker_id("w1");
  lease.set_worker_token(token);
  auto stolen = manager_->LeaseShard(lease, kWorkerB);
  ASSERT_FALSE(stolen.ok());
  EXPECT_EQ(stolen.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(stolen.status().message(), "worker w1 is registered to spiffe://goalkeeper/worker-a");
  auto own = manager_->LeaseShard(lease, kWorkerA);
  ASSERT_TRUE(own.ok()) << own.status();
  ASSERT_FALSE(own->shard().lease_id().empty());

  v1::HeartbeatRequest hb;
  hb.set_worker_id("w1");
  hb.set_worker_token(token);
  hb.add_lease_ids(own->shard().lease_id());
  EXPECT_EQ(manager_->Heartbeat(hb, kWorkerB).status().code(), absl::StatusCode::kPermissionDenied);
  v1::ReportFindingsRequest report;
  report.set_worker_id("w1");
  report.set_worker_token(token);
  report.set_lease_id(own->shard().lease_id());
  EXPECT_EQ(manager_->ReportFindings(report, kWorkerB).code(), absl::StatusCode::kPermissionDenied);
  v1::CompleteShardRequest complete;
  complete.set_worker_id("w1");
  complete.set_worker_token(token);
  complete.set_lease_id(own->shard().lease_id());
  absl::Status forged = manager_->CompleteShard(complete, kWorkerB);
  EXPECT_EQ(forged.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(forged.message(), HasSubstr("worker w1 is registered to"));

  // Re-registering (renaming) the id from another identity is refused the same way.
  auto rename = Register("w1", kWorkerB, token);
  EXPECT_EQ(rename.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(rename.status().message(), "worker w1 is registered to spiffe://goalkeeper/worker-a");

  // The binding is stored: after a restart it still holds, and the owner goes on.
  Open();
  EXPECT_EQ(manager_->Heartbeat(hb, kWorkerB).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(manager_->Heartbeat(hb, kWorkerA).ok());
  EXPECT_TRUE(manager_->CompleteShard(complete, kWorkerA).ok());
  EXPECT_TRUE(Register("w1", kWorkerA, token).ok());
}

TEST_F(AuthzScopeTest, AWorkerRegisteredWithoutIdentityIsBoundByItsNextAuthenticatedRegistration) {
  // A worker of a plaintext (--insecure) fleet, then TLS turned on.
  auto reg = Register("w1", "");
  ASSERT_TRUE(reg.ok()) << reg.status();
  ASSERT_TRUE(Register("w1", kWorkerA, reg->worker_token()).ok());
  EXPECT_EQ(Register("w1", kWorkerB, reg->worker_token()).status().code(),
            absl::StatusCode::kPermissionDenied);
}

class NodeBindingTest : public ::testing::Test {
 protected:
  NodeBindingTest() : clock_(absl::FromUnixSeconds(1'800'000'000)) {
    db_ = ::testing::TempDir() + "/authz-nodes-" + std::to_string(getpid()) + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) unlink((db_ + suffix).c_str());
    Open();
  }
  void Open() {
    registry_.reset();
    store_.reset();
    auto s = NodeStore::Open(db_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    registry_ = std::make_unique<NodeRegistry>(*store_, clock_, NodesConfig{});
    ASSERT_TRUE(registry_->Load().ok());
  }
  static v1::NodeReport Report(const std::string& node) {
    v1::NodeReport r;
    r.set_node(node);
    r.set_agent_version("goalkeeper-worker 1.4.0");
    r.set_heartbeat_seconds(60);
    return r;
  }

  FakeClock clock_;
  std::string db_;
  std::unique_ptr<NodeStore> store_;
  std::unique_ptr<NodeRegistry> registry_;
};

TEST_F(NodeBindingTest, ANodeIsBoundToTheFirstIdentityThatReportsIt) {
  ASSERT_TRUE(registry_->Report(Report("n1"), "spiffe://goalkeeper/node-agent-n1").ok());
  auto forged = registry_->Report(Report("n1"), "spiffe://goalkeeper/node-agent-n2");
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(forged.status().message(),
            "node n1 is reported by spiffe://goalkeeper/node-agent-n1, not "
            "spiffe://goalkeeper/node-agent-n2");
  ASSERT_TRUE(registry_->Report(Report("n2"), "spiffe://goalkeeper/node-agent-n2").ok());
  Open();  // stored
  EXPECT_EQ(registry_->Report(Report("n1"), "spiffe://goalkeeper/node-agent-n2").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(registry_->Report(Report("n1"), "spiffe://goalkeeper/node-agent-n1").ok());
}

}  // namespace
}  // namespace goalkeeper
