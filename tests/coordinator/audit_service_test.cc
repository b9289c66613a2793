// The coordinator's audit trail through its real gRPC adapters (in-process
// server on loopback): every call that changes something leaves exactly one
// entry with the caller's identity and role and what it did; a refusal is
// one entry with its code; reads leave none; ListAudit pages and bounds. The
// caller comes from test metadata (AuditHooks::caller_of) in place of the
// TLS gate's properties.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/server_util.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/scan_audit.h"
#include "coordinator/schedule_runner.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_audit_log.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::goalkeeper::testing::FakeAuditLog;
using ::testing::HasSubstr;

// The caller a test names in metadata: x-test-identity, x-test-role.
Caller TestCaller(const grpc::ServerContext& ctx) {
  Caller c{"anonymous", Role::kNone, true};
  for (const auto& [key, value] : ctx.client_metadata()) {
    if (key == "x-test-identity") c.identity = std::string(value.data(), value.size());
    if (key == "x-test-role") {
      auto role = ParseRole(absl::string_view(value.data(), value.size()));
      if (role.ok()) c.role = *role;
    }
  }
  return c;
}

class AuditServiceTest : public ::testing::Test {
 protected:
  AuditServiceTest()
      : clock_(absl::FromUnixSeconds(1'800'000'000)), auditor_(log_, clock_, "coordinator") {
    db_ = ::testing::TempDir() + "/audit-service-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) unlink((db_ + suffix).c_str());
    config_.allowed_ranges = {"127.82.0.0/16"};
    config_.profiles["lab"] = ProfileConfig{"22,80,443,5432", 300, 1, 0, "verify", {}};
    config_.inventories["lab"] = InventoryConfig{{"127.82.1.0/30"}, {}, std::nullopt};
    config_.lease = {10, 2, 5, 2};
    auto s = ScanStore::Open(db_);
    EXPECT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    manager_ = std::make_unique<ScanManager>(config_, *store_, clock_);
    EXPECT_TRUE(manager_->Recover().ok());
    AuditHooks hooks{&auditor_, TestCaller};
    coordinator_ = std::make_unique<CoordinatorService>(*manager_, StreamLimits{}, hooks);
    shards_ = std::make_unique<ShardService>(*manager_, absl::Milliseconds(10), 4, hooks);
    int port = 0;
    server_ = StartGrpcServer("127.0.0.1:0", {coordinator_.get(), shards_.get()}, &port);
    EXPECT_NE(server_, nullptr);
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    stub_ = v1::Coordinator::NewStub(channel);
    shard_stub_ = v1::ShardService::NewStub(channel);
  }
  ~AuditServiceTest() override { server_->Shutdown(std::chrono::system_clock::now()); }

  static void As(grpc::ClientContext& ctx, const std::string& identity, const std::string& role) {
    ctx.AddMetadata("x-test-identity", identity);
    ctx.AddMetadata("x-test-role", role);
  }

  absl::StatusOr<v1::Scan> StartScan(const std::string& target, const std::string& identity) {
    v1::StartScanRequest req;
    req.mutable_targets()->add_include(target);
    req.mutable_targets()->add_exclude("127.82.0.3");
    req.mutable_ports()->set_spec("22,5432");
    req.set_profile("lab");
    grpc::ClientContext ctx;
    As(ctx, identity, "operator");
    v1::Scan scan;
    grpc::Status s = stub_->StartScan(&ctx, req, &scan);
    if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), "");
    return scan;
  }

  FakeClock clock_;
  FakeAuditLog log_;
  Auditor auditor_;
  CoordinatorConfig config_;
  std::string db_;
  std::unique_ptr<ScanStore> store_;
  std::unique_ptr<ScanManager> manager_;
  std::unique_ptr<CoordinatorService> coordinator_;
  std::unique_ptr<ShardService> shards_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
  std::unique_ptr<v1::ShardService::Stub> shard_stub_;
};

TEST_F(AuditServiceTest, StartScanIsOneEntryWithTargetsPortsProfileAndScanId) {
  auto scan = StartScan("127.82.0.0/24", "spiffe://goalkeeper/operator");
  ASSERT_TRUE(scan.ok()) << scan.status();
  std::vector<AuditEntry> entries = log_.entries();
  ASSERT_EQ(entries.size(), 1u);
  const AuditEntry& e = entries[0];
  EXPECT_EQ(e.identity, "spiffe://goalkeeper/operator");
  EXPECT_EQ(e.role, "operator");
  EXPECT_EQ(e.method, kStartScanMethod);
  EXPECT_EQ(e.code, 0);
  EXPECT_EQ(e.target, scan->id());
  EXPECT_EQ(e.at_unix_ms, 1'800'000'000'000);
  nlohmann::json d = nlohmann::json::parse(e.detail_json);
  EXPECT_EQ(d["targets"], nlohmann::json::array({"127.82.0.0/24"}));
  EXPECT_EQ(d["targets_total"], 1);
  EXPECT_EQ(d["exclude"], nlohmann::json::array({"127.82.0.3"}));
  EXPECT_EQ(d["ports"], "22,5432");
  EXPECT_EQ(d["profile"], "lab");
  EXPECT_EQ(d["state"], v1::ScanState_Name(scan->state()));
  EXPECT_FALSE(d.contains("message"));
}

TEST_F(AuditServiceTest, ARefusedStartScanIsOneEntryWithItsCodeAndMessage) {
  auto scan = StartScan("10.0.0.0/8", "token:ci");
  EXPECT_TRUE(absl::IsInvalidArgument(scan.status()));
  std::vector<AuditEntry> entries = log_.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].identity, "token:ci");
  EXPECT_EQ(entries[0].code, static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(entries[0].target, "");
  nlohmann::json d = nlohmann::json::parse(entries[0].detail_json);
  EXPECT_THAT(d["message"].get<std::string>(), HasSubstr("outside allowed_ranges"));
  EXPECT_EQ(d["targets"], nlohmann::json::array({"10.0.0.0/8"}));
}

TEST_F(AuditServiceTest, AHugeTargetListMakesASmallEntry) {
  v1::StartScanRequest req;
  for (int i = 0; i < 5000; ++i) {
    req.mutable_targets()->add_include(absl::StrCat("127.82.", i / 256 % 256, ".", i % 256));
  }
  req.set_profile("lab");
  AuditEntry e = StartScanAudit(req, absl::InvalidArgumentError("too many"), "");
  nlohmann::json d = nlohmann::json::parse(e.detail_json);
  EXPECT_EQ(d["targets"].size(), static_cast<size_t>(kAuditedSpecs));
  EXPECT_EQ(d["targets_total"], 5000);
  EXPECT_LT(e.detail_json.size(), 2000u);
}

TEST_F(AuditServiceTest, CancelScanIsOneEntryAndReadsLeaveNone) {
  auto scan = StartScan("127.82.0.0/24", "spiffe://goalkeeper/operator");
  ASSERT_TRUE(scan.ok());
  {
    grpc::ClientContext ctx;
    As(ctx, "spiffe://goalkeeper/viewer", "viewer");
    v1::GetScanRequest req;
    req.set_id(scan->id());
    v1::Scan got;
    ASSERT_TRUE(stub_->GetScan(&ctx, req, &got).ok());
  }
  {
    grpc::ClientContext ctx;
    As(ctx, "spiffe://goalkeeper/viewer", "viewer");
    v1::ListWorkersResponse workers;
    ASSERT_TRUE(stub_->ListWorkers(&ctx, v1::ListWorkersRequest(), &workers).ok());
  }
  {
    grpc::ClientContext ctx;
    As(ctx, "spiffe://goalkeeper/admin", "admin");
    v1::CancelScanRequest req;
    req.set_id(scan->id());
    v1::Scan cancelled;
    ASSERT_TRUE(stub_->CancelScan(&ctx, req, &cancelled).ok());
  }
  std::vector<AuditEntry> entries = log_.entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].identity, "spiffe://goalkeeper/admin");
  EXPECT_EQ(entries[1].role, "admin");
  EXPECT_EQ(entries[1].method, kCancelScanMethod);
  EXPECT_EQ(entries[1].target, scan->id());
  EXPECT_EQ(nlohmann::json::parse(entries[1].detail_json)["state"], "CANCELLED");
  // An unknown scan: refused, and audited.
  grpc::ClientContext ctx;
  As(ctx, "spiffe://goalkeeper/admin", "admin");
  v1::CancelScanRequest req;
  req.set_id("no-such-scan");
  v1::Scan none;
  EXPECT_EQ(stub_->CancelScan(&ctx, req, &none).error_code(), grpc::StatusCode::NOT_FOUND);
  entries = log_.entries();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[2].target, "no-such-scan");
  EXPECT_EQ(entries[2].code, static_cast<int>(absl::StatusCode::kNotFound));
}

TEST_F(AuditServiceTest, RegisterWorkerIsOneEntryAndAWrongTokenIsARefusalEntry) {
  v1::RegisterWorkerRequest reg;
  reg.set_name("w1");
  reg.set_concurrency(8);
  reg.set_worker_id("worker-1");
  v1::RegisterWorkerResponse registered;
  {
    grpc::ClientContext ctx;
    As(ctx, "spiffe://goalkeeper/worker-1", "worker");
    ASSERT_TRUE(shard_stub_->RegisterWorker(&ctx, reg, &registered).ok());
  }
  std::vector<AuditEntry> entries = log_.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].identity, "spiffe://goalkeeper/worker-1");
  EXPECT_EQ(entries[0].role, "worker");
  EXPECT_EQ(entries[0].method, kRegisterWorkerMethod);
  EXPECT_EQ(entries[0].target, "worker-1");
  nlohmann::json d = nlohmann::json::parse(entries[0].detail_json);
  EXPECT_EQ(d["name"], "w1");
  EXPECT_EQ(d["concurrency"], 8);
  EXPECT_EQ(d["reregistration"], false);
  EXPECT_EQ(entries[0].detail_json.find(registered.worker_token()), std::string::npos)
      << "the token is never audited";
  // Another client leasing with a wrong token: refused, one entry.
  v1::LeaseShardRequest lease;
  lease.set_worker_id("worker-1");
  lease.set_worker_token("forged");
  grpc::ClientContext ctx;
  As(ctx, "spiffe://goalkeeper/worker-2", "worker");
  v1::LeaseShardResponse leased;
  EXPECT_EQ(shard_stub_->LeaseShard(&ctx, lease, &leased).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  entries = log_.entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].identity, "spiffe://goalkeeper/worker-2");
  EXPECT_EQ(entries[1].method, "/goalkeeper.v1.ShardService/LeaseShard");
  EXPECT_EQ(entries[1].target, "worker-1");
  EXPECT_EQ(entries[1].code, static_cast<int>(absl::StatusCode::kPermissionDenied));
}

TEST_F(AuditServiceTest, AScheduledScanIsOneEntryOfTheScheduler) {
  auto scheduler = Scheduler::Create({{"lab-minutely", "* * * * *", "", "lab", "lab"}});
  ASSERT_TRUE(scheduler.ok()) << scheduler.status();
  ScheduleRunner runner(*std::move(scheduler), *manager_, clock_, &auditor_);
  EXPECT_EQ(runner.Tick(), 0);  // first seen: nothing due yet
  clock_.Advance(absl::Minutes(1));
  ASSERT_EQ(runner.Tick(), 1);
  std::vector<AuditEntry> entries = log_.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].identity, "scheduler");
  EXPECT_EQ(entries[0].role, "coordinator");
  EXPECT_EQ(entries[0].method, kStartScanMethod);
  EXPECT_FALSE(entries[0].target.empty());
  nlohmann::json d = nlohmann::json::parse(entries[0].detail_json);
  EXPECT_EQ(d["schedule"], "lab-minutely");
  EXPECT_EQ(d["inventory"], "lab");
  EXPECT_EQ(d["ports"], "22,80,443,5432") << "the profile's ports";
}

TEST_F(AuditServiceTest, ListAuditPagesAndNamesTheFieldOutOfBounds) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(StartScan("127.82.0.0/24", "alice").ok());
  v1::ListAuditRequest req;
  req.set_limit(2);
  v1::ListAuditResponse page;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ListAudit(&ctx, req, &page).ok());
  }
  ASSERT_EQ(page.entries_size(), 2);
  EXPECT_EQ(page.entries(0).id(), 3);
  EXPECT_EQ(page.entries(0).identity(), "alice");
  EXPECT_EQ(page.entries(0).method(), kStartScanMethod);
  ASSERT_FALSE(page.next_page_token().empty());
  req.set_page_token(page.next_page_token());
  v1::ListAuditResponse rest;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ListAudit(&ctx, req, &rest).ok());
  }
  ASSERT_EQ(rest.entries_size(), 1);
  EXPECT_EQ(rest.entries(0).id(), 1);
  EXPECT_EQ(rest.next_page_token(), "");
  req.set_limit(5000);
  grpc::ClientContext ctx;
  grpc::Status s = stub_->ListAudit(&ctx, req, &rest);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "limit: 5000 is more than 1000");
  EXPECT_EQ(log_.entries().size(), 3u) << "ListAudit itself is a read";
}

}  // namespace
}  // namespace goalkeeper

namespace goalkeeper {
namespace {

// A coordinator database of an earlier schema (version 4, no audit table)
// opens, keeps its data and gains the audit trail with its triggers.
TEST(CoordinatorAuditMigrationTest, AVersion4DatabaseKeepsItsDataAndGainsTheAuditTable) {
  const std::string db =
      ::testing::TempDir() + "/audit-migrate-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((db + suffix).c_str());
  SqliteSchema v4 = CoordinatorSchema();
  v4.migrations.resize(4);
  {
    auto raw = SqliteDb::Open(db, v4);
    ASSERT_TRUE(raw.ok()) << raw.status();
    ASSERT_TRUE((*raw)->Exec("INSERT INTO workers VALUES ('worker-old', 'old', 'abcd', 1)").ok());
  }
  auto log = SqliteAuditLog::Open(db, CoordinatorSchema());
  ASSERT_TRUE(log.ok()) << log.status();
  AuditEntry e;
  e.identity = "scheduler";
  ASSERT_TRUE((*log)->Append(e).ok());
  auto store = ScanStore::Open(db);
  ASSERT_TRUE(store.ok()) << store.status();
  auto workers = (*store)->LoadWorkers();
  ASSERT_TRUE(workers.ok());
  ASSERT_EQ(workers->size(), 1u);
  EXPECT_EQ((*workers)[0].id, "worker-old");
  auto raw = SqliteDb::Open(db);
  ASSERT_TRUE(raw.ok());
  auto st = (*raw)->Prepare("PRAGMA user_version");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(*st->Step());
  EXPECT_EQ(st->Int(0), 8);  // confirmations and the transport keys (issue 12) came after it
  EXPECT_FALSE((*raw)->Exec("UPDATE audit SET identity = 'x'").ok());
}

}  // namespace
}  // namespace goalkeeper
