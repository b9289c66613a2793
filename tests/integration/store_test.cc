// The coordinator's and the notifier's stores and their operator-facing
// edges as real processes on loopback: a 200k-exposure report (over gRPC's
// 4 MiB limit) delivered from a coordinator to a notifier, idempotency by
// content and broken report streams, a notifier that never answers while
// leases must expire, a full disk (a small tmpfs), `scan list` over scans of
// 60k targets, `--db ""` and foreign database files. Every gRPC link is
// mutual TLS (tests/testing/test_certs.h). Traffic goes only to 127.0.0.0/8.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_channel.h"
#include "coordinator/report_deliverer.h"
#include "coordinator/scan_manager.h"
#include "coordinator/scan_store.h"
#include "gmock/gmock.h"
#include "goalkeeper/v1/coordinator.grpc.pb.h"
#include "goalkeeper/v1/notifier.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "notifier/notification_store.h"
#include "tests/coordinator/confirmation_helper.h"
#include "tests/testing/files.h"
#include "tests/testing/loopback.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_certs.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::goalkeeper::testing::ReadFile;
using ::goalkeeper::testing::RunResult;
using ::goalkeeper::testing::Subprocess;
using ::goalkeeper::testing::TestCerts;
using ::goalkeeper::testing::WithTls;
using ::goalkeeper::testing::WriteFile;
using ::testing::HasSubstr;

constexpr char kCoordinator[] = GOALKEEPER_COORDINATOR_BIN;
constexpr char kNotifier[] = GOALKEEPER_NOTIFIER_BIN;
constexpr char kCtl[] = GOALKEEPER_CTL_BIN;

// One of our daemons, logging to a file; waits for "<what> listening grpc=".
class Daemon {
 public:
  Daemon(std::vector<std::string> argv, std::string log, const std::string& what)
      : log_(std::move(log)) {
    const size_t before = ReadFile(log_).size();
    process_.emplace(Subprocess::StartLogged(argv, log_));
    const std::string needle = what + " listening grpc=127.0.0.1:";
    for (int i = 0; i < 400; ++i) {
      std::string text = ReadFile(log_).substr(before);
      if (size_t at = text.find(needle); at != std::string::npos) {
        port_ = std::stoi(text.substr(at + needle.size()));
        return;
      }
      if (process_->Exited()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error(what + " did not start:\n" + ReadFile(log_));
  }
  ~Daemon() { Kill(); }
  void Kill() {
    if (!process_) return;
    process_->Signal(SIGKILL);
    process_->Wait(std::chrono::seconds(10));
    process_.reset();
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  std::string log() const { return ReadFile(log_); }
  // Waits until the log holds `text`; false after `seconds`.
  bool WaitForLog(const std::string& text, int seconds) const {
    for (int i = 0; i < seconds * 20; ++i) {
      if (log().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  std::string log_;
  std::optional<Subprocess> process_;
  int port_ = 0;
};

// Channel options for identity `name` (mutual TLS, tests/testing/test_certs.h).
ChannelOptions As(const std::string& name) {
  ChannelOptions options;
  options.tls = TestCerts::Get().Tls(name);
  return options;
}

// A context with the deadline every call of ours carries.
void Deadline(grpc::ClientContext& ctx, int seconds = 30) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/store-it-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::system(("rm -rf " + dir_ + " && mkdir -p " + dir_ + "/outbox").c_str());
  }

  std::string CoordinatorConfig(const std::string& db, int ttl_seconds = 2) {
    const std::string path = dir_ + "/coordinator.yaml";
    WriteFile(path, absl::StrCat("db: ", db, "\nmetrics_listen: \"\"\n",
                                 TestCerts::Get().DaemonYaml("coordinator"),
                                 "allowed_ranges: [127.81.0.0/16]\n",
                                 "profiles:\n  lab: {ports: \"22,80,443,5432\", timeout_ms: 300, "
                                 "retries: 1}\n",
                                 "lease: {ttl_seconds: ", ttl_seconds,
                                 ", heartbeat_seconds: 1, shard_seconds: 1}\n"));
    return path;
  }

  std::unique_ptr<Daemon> StartCoordinator(const std::string& db, const std::string& notifier = "",
                                           int ttl_seconds = 2) {
    std::vector<std::string> argv = {kCoordinator, "--config", CoordinatorConfig(db, ttl_seconds),
                                     "--listen", "127.0.0.1:0"};
    if (!notifier.empty()) {
      argv.push_back("--notifier");
      argv.push_back(notifier);
    }
    return std::make_unique<Daemon>(argv, dir_ + "/coordinator.log", "coordinator");
  }

  std::string NotifierConfig(const std::string& db) {
    const std::string path = dir_ + "/notifier.yaml";
    WriteFile(path, absl::StrCat("db: ", db, "\nmetrics_listen: \"\"\n",
                                 TestCerts::Get().DaemonYaml("notifier"),
                                 "ops: {emails: [noc@ops.example]}\n", "email: {outbox_dir: ", dir_,
                                 "/outbox}\n"));
    return path;
  }

  std::unique_ptr<Daemon> StartNotifier() {
    NotifierConfig(dir_ + "/notifier.db");
    return std::make_unique<Daemon>(
        std::vector<std::string>{kNotifier, "--config", dir_ + "/notifier.yaml", "--listen",
                                 "127.0.0.1:0"},
        dir_ + "/notifier.log", "notifier");
  }

  // A coordinator database holding one ended scan of 127.81.0.0/16 whose
  // report (queued, not delivered) has `findings` NEW exposures.
  std::string PrepareCoordinatorDb(uint32_t findings) {
    const std::string db = dir_ + "/coordinator.db";
    goalkeeper::CoordinatorConfig config;
    config.allowed_ranges = {"127.81.0.0/16"};
    config.profiles["lab"] = ProfileConfig{"22,80,443,5432", 300, 1, 0, "verify", {}};
    config.lease = {10, 2, 5, 2};
    FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
    auto store = ScanStore::Open(db);
    EXPECT_TRUE(store.ok()) << store.status();
    ScanManager manager(config, **store, clock);
    EXPECT_TRUE(manager.Recover().ok());
    v1::StartScanRequest req;
    req.mutable_targets()->add_include("127.81.0.0/16");
    req.set_profile("lab");
    auto scan = manager.StartScan(req, "");
    EXPECT_TRUE(scan.ok()) << scan.status();
    static constexpr uint32_t kPorts[] = {22, 80, 443, 5432};
    std::vector<v1::ProbeResult> results;
    for (uint32_t i = 0; i < findings; ++i) {
      v1::ProbeResult& r = results.emplace_back();
      r.set_ip(absl::StrCat("127.81.", (i / 4) / 256, ".", (i / 4) % 256));
      r.set_port(kPorts[i % 4]);
      r.set_state(v1::PROBE_STATE_OPEN);
    }
    EXPECT_TRUE((*store)->InsertFindings(scan->id(), results, 1).ok());
    EXPECT_TRUE((*store)->Commit().ok());
    v1::RegisterWorkerRequest reg;
    reg.set_worker_id("w1");
    auto registered = manager.RegisterWorker(reg);
    EXPECT_TRUE(registered.ok()) << registered.status();
    v1::LeaseShardRequest lease_req;
    lease_req.set_worker_id("w1");
    lease_req.set_worker_token(registered->worker_token());
    std::set<std::pair<std::string, uint32_t>> open;  // the pairs the scan found
    for (const v1::ProbeResult& r : results) open.insert({r.ip(), r.port()});
    for (int i = 0; i < 10000; ++i) {
      auto lease = manager.LeaseShard(lease_req);
      if (!lease.ok() || !lease->has_shard()) break;
      if (lease->shard().confirm_indices_size() > 0) {
        // Confirmation (issue 12): the pairs are as the scan found them.
        v1::ReportFindingsRequest rf;
        rf.set_worker_id("w1");
        rf.set_worker_token(registered->worker_token());
        rf.set_lease_id(lease->shard().lease_id());
        for (const v1::ProbeResult& r : StableConfirmation(lease->shard(), open)) {
          *rf.add_results() = r;
        }
        EXPECT_TRUE(manager.ReportFindings(rf).ok());
      }
      v1::CompleteShardRequest done;
      done.set_worker_id("w1");
      done.set_worker_token(registered->worker_token());
      done.set_lease_id(lease->shard().lease_id());
      EXPECT_TRUE(manager.CompleteShard(done).ok());
    }
    EXPECT_EQ(manager.GetScan(scan->id())->state(), v1::SUCCEEDED);
    scan_id_ = scan->id();
    return db;
  }

  std::optional<uint64_t> NotifierStored(const std::string& scan_id) {
    auto store = NotificationStore::Open(dir_ + "/notifier.db");
    EXPECT_TRUE(store.ok()) << store.status();
    auto n = (*store)->StoredExposures(scan_id);
    EXPECT_TRUE(n.ok()) << n.status();
    return *n;
  }

  RunResult Ctl(const std::string& address, std::vector<std::string> args) {
    args.insert(args.begin(), {kCtl, "--coordinator", address});
    return ::goalkeeper::testing::Run(WithTls(args, "admin"), std::chrono::seconds(120));
  }

  std::string dir_;
  std::string scan_id_;
};

TEST_F(StoreTest, ACoordinatorDeliversA200kExposureReportToARealNotifier) {
  const std::string db = PrepareCoordinatorDb(200000);
  auto notifier = StartNotifier();
  auto coordinator = StartCoordinator(db, notifier->address());
  ASSERT_TRUE(coordinator->WaitForLog("report delivered scan=" + scan_id_, 120))
      << coordinator->log();
  EXPECT_THAT(coordinator->log(), HasSubstr("exposures=200000"));
  EXPECT_THAT(notifier->log(), HasSubstr("report received scan=" + scan_id_ + " exposures=200000"));
  EXPECT_EQ(NotifierStored(scan_id_), std::optional<uint64_t>(200000));
}

TEST_F(StoreTest, TheNotifierStoresAStreamOnlyWhenCompleteAndChecksContent) {
  auto notifier = StartNotifier();
  // Reports come from the coordinator's identity.
  auto stub = v1::Notifier::NewStub(MakeChannel(notifier->address(), As("coordinator")));
  auto batch = [](int from, int n) {
    v1::ReportChunk c;
    for (int i = from; i < from + n; ++i) {
      v1::Exposure* e = c.mutable_exposures()->add_exposures();
      e->set_ip(absl::StrCat("127.81.", i / 256, ".", i % 256));
      e->set_port(22);
      e->set_status(v1::NEW);
    }
    return c;
  };
  auto header = [](const std::string& id, uint64_t count) {
    v1::ReportChunk c;
    c.mutable_header()->set_scan_id(id);
    c.mutable_header()->set_exposure_count(count);
    return c;
  };
  {
    // Broken mid-way: nothing stored.
    grpc::ClientContext ctx;
    v1::DeliverReportResponse resp;
    auto w = stub->DeliverReportStream(&ctx, &resp);
    ASSERT_TRUE(w->Write(header("broken", 1000)));
    ASSERT_TRUE(w->Write(batch(0, 500)));
    ctx.TryCancel();
    EXPECT_FALSE(w->Finish().ok());
  }
  {
    // Ended early: INVALID_ARGUMENT, nothing stored.
    grpc::ClientContext ctx;
    v1::DeliverReportResponse resp;
    auto w = stub->DeliverReportStream(&ctx, &resp);
    ASSERT_TRUE(w->Write(header("20261201-100000-00000a", 1000)));
    ASSERT_TRUE(w->Write(batch(0, 500)));
    w->WritesDone();
    grpc::Status s = w->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("500 of 1000"));
  }
  auto send = [&](const std::string& id, int n) {
    grpc::ClientContext ctx;
    v1::DeliverReportResponse resp;
    auto w = stub->DeliverReportStream(&ctx, &resp);
    EXPECT_TRUE(w->Write(header(id, static_cast<uint64_t>(n))));
    for (int i = 0; i < n; i += 1000) EXPECT_TRUE(w->Write(batch(i, std::min(1000, n - i))));
    w->WritesDone();
    grpc::Status s = w->Finish();
    return std::make_pair(s, resp.duplicate());
  };
  auto [first, dup1] = send("20261201-100000-00000b", 3000);
  EXPECT_TRUE(first.ok()) << first.error_message();
  EXPECT_FALSE(dup1);
  auto [again, dup2] = send("20261201-100000-00000b", 3000);
  EXPECT_TRUE(again.ok()) << again.error_message();
  EXPECT_TRUE(dup2) << "same id, same content: a duplicate";
  auto [other, dup3] = send("20261201-100000-00000b", 2000);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::ALREADY_EXISTS) << other.error_message();
  // The unary call shares the rule.
  v1::ScanReport unary;
  unary.set_scan_id("20261201-100000-00000b");
  grpc::ClientContext ctx;
  Deadline(ctx);
  v1::DeliverReportResponse resp;
  EXPECT_EQ(stub->DeliverReport(&ctx, unary, &resp).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(notifier->log(), HasSubstr("report refused scan=20261201-100000-00000b"));
  notifier->Kill();
  EXPECT_EQ(NotifierStored("broken"), std::nullopt);
  EXPECT_EQ(NotifierStored("20261201-100000-00000a"), std::nullopt);
  EXPECT_EQ(NotifierStored("20261201-100000-00000b"), std::optional<uint64_t>(3000))
      << "the first is kept";
}

TEST_F(StoreTest, ANotifierThatNeverAnswersDoesNotHoldUpLeaseExpiry) {
  const std::string db = PrepareCoordinatorDb(10);  // a report to deliver at once
  // Accepts TCP (the kernel's backlog) and never answers.
  const int black_hole = ::goalkeeper::testing::BindTcp("127.0.0.1", 0);
  ASSERT_GE(black_hole, 0);
  ASSERT_EQ(listen(black_hole, 64), 0);
  const std::string hole = absl::StrCat("127.0.0.1:", ::goalkeeper::testing::LocalPort(black_hole));
  auto coordinator = StartCoordinator(db, hole);
  auto ops = v1::Coordinator::NewStub(MakeChannel(coordinator->address(), As("admin")));
  auto shards = v1::ShardService::NewStub(MakeChannel(coordinator->address(), As("worker")));
  v1::StartScanRequest start;
  start.mutable_targets()->add_include("127.81.0.0/24");
  start.set_profile("lab");
  v1::Scan scan;
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    ASSERT_TRUE(ops->StartScan(&ctx, start, &scan).ok());
  }
  v1::RegisterWorkerRequest reg;
  reg.set_name("silent");
  reg.set_worker_id("silent-worker");
  v1::RegisterWorkerResponse registered;
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    ASSERT_TRUE(shards->RegisterWorker(&ctx, reg, &registered).ok());
  }
  v1::LeaseShardRequest lease_req;
  lease_req.set_worker_id(registered.worker_id());
  lease_req.set_worker_token(registered.worker_token());
  v1::LeaseShardResponse lease;
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    ASSERT_TRUE(shards->LeaseShard(&ctx, lease_req, &lease).ok());
  }
  ASSERT_TRUE(lease.has_shard());
  // The worker goes silent; its 2 s lease must expire although a report
  // delivery to the black hole waits for its 30 s deadline meanwhile.
  ASSERT_TRUE(coordinator->WaitForLog("lease expired scan=" + scan.id(), 25)) << coordinator->log();
  EXPECT_THAT(coordinator->log(), ::testing::Not(HasSubstr("report delivery failed")))
      << "the delivery was still waiting on the notifier when the lease expired";
  close(black_hole);
}

TEST_F(StoreTest, ScanListFollowsPagesOverScansOf60kTargets) {
  auto coordinator = StartCoordinator(dir_ + "/coordinator.db");
  auto ops = v1::Coordinator::NewStub(MakeChannel(coordinator->address(), As("admin")));
  v1::StartScanRequest start;
  for (int i = 0; i < 60000; ++i) {
    start.mutable_targets()->add_include(absl::StrCat("127.81.", i / 256, ".", i % 256));
  }
  start.set_profile("lab");
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::Scan scan;
    grpc::Status s = ops->StartScan(&ctx, start, &scan);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ids.push_back(scan.id());
  }
  RunResult table = Ctl(coordinator->address(), {"scan", "list", "--limit", "0"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  for (const std::string& id : ids) EXPECT_THAT(table.out, HasSubstr(id));
  RunResult json = Ctl(coordinator->address(), {"scan", "list", "--output", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(Count(json.out, "\"target_include_count\":60000"), 6u) << json.out.substr(0, 2000);
  RunResult two = Ctl(coordinator->address(), {"scan", "list", "--limit", "2"});
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_EQ(Count(two.out, "\n"), 3u) << "a header and two scans:\n" << two.out;
}

TEST_F(StoreTest, EmptyDbFlagIsRefusedByBothDaemons) {
  for (const char* bin : {kCoordinator, kNotifier}) {
    RunResult r = ::goalkeeper::testing::Run(
        WithTls({bin, "--db", "", "--listen", "127.0.0.1:0"},
                bin == std::string(kNotifier) ? "notifier" : "coordinator"),
        std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 2) << bin << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("--db"));
    EXPECT_EQ(Count(r.err, "\n"), 1u) << r.err;
  }
}

TEST_F(StoreTest, ForeignDatabaseFilesAreRefusedByBothDaemons) {
  const std::string foreign = dir_ + "/someone-else.db";
  {
    auto raw = SqliteDb::Open(foreign);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)->Exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY)").ok());
  }
  for (const std::string& config : {CoordinatorConfig(foreign), NotifierConfig(foreign)}) {
    const char* bin = config == dir_ + "/notifier.yaml" ? kNotifier : kCoordinator;
    RunResult r = ::goalkeeper::testing::Run({bin, "--config", config, "--listen", "127.0.0.1:0"},
                                             std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 1) << bin << ": " << r.out << r.err;
    EXPECT_THAT(r.out + r.err, HasSubstr(foreign));
    EXPECT_THAT(r.out + r.err, HasSubstr("'invoices'"));
  }
  auto raw = SqliteDb::Open(foreign);
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE((*raw)->Prepare("SELECT * FROM scans").ok()) << "none of our tables added";
  EXPECT_FALSE((*raw)->Prepare("SELECT * FROM outbox").ok());
}

// A small tmpfs for the coordinator's database, unmounted at the end.
class TmpfsDir {
 public:
  TmpfsDir(const std::string& path, const std::string& size) : path_(path) {
    std::system(("mkdir -p " + path_).c_str());
    mounted_ = mount("tmpfs", path_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~TmpfsDir() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  // Writes a file until the filesystem is full.
  void Fill() {
    const int fd = open((path_ + "/filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::string block(4096, 'x');
    while (write(fd, block.data(), block.size()) > 0) {
    }
    while (write(fd, block.data(), 1) > 0) {
    }
    close(fd);
  }
  void Free() { unlink((path_ + "/filler").c_str()); }

 private:
  std::string path_;
  bool mounted_ = false;
};

grpc::health::v1::HealthCheckResponse::ServingStatus Health(const std::string& address) {
  auto stub = grpc::health::v1::Health::NewStub(MakeChannel(address, As("admin")));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  if (!stub->Check(&ctx, req, &resp).ok()) return grpc::health::v1::HealthCheckResponse::UNKNOWN;
  return resp.status();
}

bool WaitForHealth(const std::string& address,
                   grpc::health::v1::HealthCheckResponse::ServingStatus want, int seconds) {
  for (int i = 0; i < seconds * 10; ++i) {
    if (Health(address) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST_F(StoreTest, AFullDiskRefusesWritesKeepsReadsAndHealthAndResumesLosingNothing) {
  using HealthResponse = grpc::health::v1::HealthCheckResponse;
  TmpfsDir disk(dir_ + "/disk", "2m");
  ASSERT_TRUE(disk.mounted()) << "mounting a tmpfs needs root";
  const std::string db = dir_ + "/disk/coordinator.db";
  auto coordinator = StartCoordinator(db, "", /*ttl_seconds=*/60);
  const std::string at = coordinator->address();
  auto start = [&](const std::string& target) {
    return Ctl(at, {"scan", "start", "--targets", target, "--ports", "22", "--output", "json"});
  };
  RunResult a = start("127.81.1.1");  // one probe: one shard
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_TRUE(WaitForHealth(at, HealthResponse::SERVING, 10));
  // A worker (the ShardService by hand) holds the scan's one shard.
  auto shards = v1::ShardService::NewStub(MakeChannel(at, As("worker")));
  v1::RegisterWorkerRequest reg;
  reg.set_worker_id("w-disk");
  v1::RegisterWorkerResponse worker;
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    ASSERT_TRUE(shards->RegisterWorker(&ctx, reg, &worker).ok());
  }
  v1::LeaseShardRequest lease_req;
  lease_req.set_worker_id(worker.worker_id());
  lease_req.set_worker_token(worker.worker_token());
  v1::LeaseShardResponse lease;
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    ASSERT_TRUE(shards->LeaseShard(&ctx, lease_req, &lease).ok());
  }
  ASSERT_TRUE(lease.has_shard());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the lease's group commit
  v1::ReportFindingsRequest findings;
  findings.set_worker_id(worker.worker_id());
  findings.set_worker_token(worker.worker_token());
  findings.set_lease_id(lease.shard().lease_id());
  v1::ProbeResult* open = findings.add_results();
  open->set_ip("127.81.1.1");
  open->set_port(22);
  open->set_state(v1::PROBE_STATE_OPEN);
  auto report = [&] {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::ReportFindingsResponse resp;
    return shards->ReportFindings(&ctx, findings, &resp);
  };

  disk.Fill();
  grpc::Status unstored = report();
  EXPECT_FALSE(unstored.ok()) << "findings that cannot be committed are not acknowledged";
  EXPECT_THAT(unstored.error_message(), HasSubstr(db));
  for (int i = 0; i < 3; ++i) {
    RunResult refused = start("127.81.2." + std::to_string(i + 1));
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_THAT(refused.err, HasSubstr("database disk is full: " + db)) << refused.err;
  }
  EXPECT_TRUE(WaitForHealth(at, HealthResponse::NOT_SERVING, 10)) << "not ready while full";
  RunResult list = Ctl(at, {"scan", "list"});
  EXPECT_EQ(list.exit_code, 0) << "reads go on: " << list.err;
  EXPECT_EQ(Count(list.out, "\n"), 2u) << "a header and the one acknowledged scan:\n" << list.out;
  EXPECT_EQ(Count(coordinator->log(), "cannot commit to the database"), 1u) << "logged once";

  disk.Free();
  ASSERT_TRUE(WaitForHealth(at, HealthResponse::SERVING, 30)) << coordinator->log();
  EXPECT_THAT(coordinator->log(), HasSubstr("database writes resumed"));
  grpc::Status stored = report();  // the worker sends them again
  ASSERT_TRUE(stored.ok()) << stored.error_message();
  RunResult b = start("127.81.3.1");
  ASSERT_EQ(b.exit_code, 0) << b.err;

  // After a restart: exactly what was acknowledged.
  coordinator->Kill();
  coordinator = StartCoordinator(db);
  RunResult after = Ctl(coordinator->address(), {"scan", "list", "--output", "json"});
  const size_t id_at = a.out.find("\"id\":\"") + 6;
  const std::string id_a = a.out.substr(id_at, a.out.find('"', id_at) - id_at);
  RunResult found = Ctl(coordinator->address(), {"scan", "findings", id_a});
  EXPECT_EQ(found.exit_code, 0) << found.err;
  EXPECT_THAT(found.out, HasSubstr("127.81.1.1")) << "the acknowledged finding survived";
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(Count(after.out, "\"id\""), 2u) << after.out;
  EXPECT_THAT(after.out, HasSubstr("127.81.1.1"));
  EXPECT_THAT(after.out, HasSubstr("127.81.3.1"));
  EXPECT_THAT(after.out, ::testing::Not(HasSubstr("127.81.2.")));
}

}  // namespace
}  // namespace goalkeeper
