// The coordinator's core against a real SQLite file and a fake clock.
#include "coordinator/scan_manager.h"

#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "coordinator/inventory_source.h"
#include "coordinator/report_deliverer.h"
#include "coordinator/schedule_runner.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Answers Fetch from a map the test sets, and counts the calls.
class FakeInventorySource : public InventorySource {
 public:
  absl::StatusOr<std::vector<std::string>> Fetch(const std::string& inventory) override {
    absl::MutexLock lock(&mu_);
    ++calls_[inventory];
    auto it = answers_.find(inventory);
    if (it == answers_.end()) return absl::NotFoundError("no answer set");
    return it->second;
  }
  void Set(const std::string& inventory, absl::StatusOr<std::vector<std::string>> answer) {
    absl::MutexLock lock(&mu_);
    answers_.insert_or_assign(inventory, std::move(answer));
  }
  int calls(const std::string& inventory) {
    absl::MutexLock lock(&mu_);
    return calls_[inventory];
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, absl::StatusOr<std::vector<std::string>>> answers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> calls_ ABSL_GUARDED_BY(mu_);
};

class ScanManagerTest : public ::testing::Test {
 protected:
  ScanManagerTest() : clock_(absl::FromUnixSeconds(1'800'000'000)) {
    db_ = ::testing::TempDir() + "/manager-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    unlink(db_.c_str());
    config_.allowed_ranges = {"127.80.0.0/16"};
    config_.inventories["lab"].targets = {"127.80.0.0/24"};
    config_.profiles["lab"] = ProfileConfig{"22,80", 300, 1, 1000};
    config_.lease = {10, 2, 5};
    Open();
  }

  void Open() {
    manager_.reset();
    store_.reset();
    auto s = ScanStore::Open(db_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    manager_ = std::make_unique<ScanManager>(config_, *store_, clock_, &source_);
    ASSERT_TRUE(manager_->Recover().ok());
  }

  v1::Scan Start(const std::string& targets, const std::string& ports = "22,80") {
    v1::StartScanRequest req;
    req.mutable_targets()->add_include(targets);
    req.mutable_ports()->set_spec(ports);
    req.set_profile("lab");
    auto scan = manager_->StartScan(req, "");
    EXPECT_TRUE(scan.ok()) << scan.status();
    return *scan;
  }

  v1::Shard Lease(const std::string& worker) {
    auto r = manager_->LeaseShard(worker);
    EXPECT_TRUE(r.ok()) << r.status();
    return r->shard();
  }

  absl::Status Report(const v1::Shard& shard, const std::string& worker,
                      const std::vector<std::pair<std::string, uint32_t>>& open) {
    v1::ReportFindingsRequest req;
    req.set_worker_id(worker);
    req.set_lease_id(shard.lease_id());
    for (const auto& [ip, port] : open) {
      v1::ProbeResult* r = req.add_results();
      r->set_ip(ip);
      r->set_port(port);
      r->set_state(v1::PROBE_STATE_OPEN);
    }
    return manager_->ReportFindings(req);
  }

  absl::Status Complete(const v1::Shard& shard, const std::string& worker, bool handed_back = false) {
    v1::CompleteShardRequest req;
    req.set_worker_id(worker);
    req.set_lease_id(shard.lease_id());
    req.set_handed_back(handed_back);
    return manager_->CompleteShard(req);
  }

  // Leases and completes every shard as `worker`, reporting `open`.
  void RunToEnd(const std::string& worker,
                const std::vector<std::pair<std::string, uint32_t>>& open) {
    for (int i = 0; i < 1000; ++i) {
      v1::Shard shard = Lease(worker);
      if (shard.lease_id().empty()) return;
      ASSERT_TRUE(Report(shard, worker, open).ok());
      ASSERT_TRUE(Complete(shard, worker).ok());
    }
  }

  std::set<std::string> Findings(const std::string& id) {
    std::set<std::string> out;
    EXPECT_TRUE(manager_
                    ->ForEachFinding(id, [&](const v1::Finding& f) {
                      out.insert(f.ip() + ":" + std::to_string(f.port()));
                    })
                    .ok());
    return out;
  }

  // An inventory "cloud" whose addresses come from OpenStack (the fake).
  void AddCloud(std::vector<std::string> targets, std::vector<std::string> exclude) {
    InventoryConfig& cloud = config_.inventories["cloud"];
    cloud.targets = std::move(targets);
    cloud.exclude = std::move(exclude);
    cloud.openstack = OpenStackInventoryConfig{};
    Open();
  }

  absl::StatusOr<v1::Scan> StartInventory(const std::string& inventory) {
    v1::StartScanRequest req;
    req.set_inventory(inventory);
    req.set_profile("lab");
    return manager_->StartScan(req, "");
  }

  FakeClock clock_;
  FakeInventorySource source_;
  CoordinatorConfig config_;
  std::string db_;
  std::unique_ptr<ScanStore> store_;
  std::unique_ptr<ScanManager> manager_;
};

TEST_F(ScanManagerTest, ShardsCoverThePermutationExactlyOnceAndTheScanSucceeds) {
  v1::Scan scan = Start("127.80.0.0/24");
  EXPECT_EQ(scan.state(), v1::PENDING);
  EXPECT_EQ(scan.probes_total(), 512u);
  uint64_t next = 0;
  for (;;) {
    v1::Shard shard = Lease("w1");
    if (shard.lease_id().empty()) break;
    EXPECT_EQ(shard.slice().begin(), next);
    EXPECT_GT(shard.slice().end(), shard.slice().begin());
    EXPECT_EQ(shard.slice().seed(), scan.seed());
    next = shard.slice().end();
    ASSERT_TRUE(Complete(shard, "w1").ok());
  }
  EXPECT_EQ(next, 512u);
  auto done = manager_->GetScan(scan.id());
  EXPECT_EQ(done->state(), v1::SUCCEEDED);
  EXPECT_EQ(done->probes_done(), 512u);
}

TEST_F(ScanManagerTest, ExpiredLeaseGoesToAnotherWorkerAndFindingsStayUnique) {
  v1::Scan scan = Start("127.80.0.0/24");
  v1::Shard lost = Lease("w1");
  ASSERT_TRUE(Report(lost, "w1", {{"127.80.0.9", 22}}).ok());
  clock_.Advance(absl::Seconds(11));  // past the 10 s lease
  manager_->Tick();
  // The lost worker's late findings are refused: its lease is gone.
  EXPECT_EQ(Report(lost, "w1", {{"127.80.0.10", 22}}).code(), absl::StatusCode::kFailedPrecondition);
  v1::Shard again = Lease("w2");
  EXPECT_EQ(again.slice().begin(), lost.slice().begin());
  EXPECT_EQ(again.slice().end(), lost.slice().end());
  ASSERT_TRUE(Report(again, "w2", {{"127.80.0.9", 22}}).ok());  // found again: idempotent
  ASSERT_TRUE(Complete(again, "w2").ok());
  ASSERT_TRUE(Complete(lost, "w1").ok());  // stale: ignored
  RunToEnd("w2", {});
  auto done = manager_->GetScan(scan.id());
  EXPECT_EQ(done->state(), v1::SUCCEEDED);
  EXPECT_EQ(done->probes_done(), 512u);
  EXPECT_EQ(done->findings(), 1u);
  EXPECT_EQ(Findings(scan.id()), std::set<std::string>{"127.80.0.9:22"});
}

TEST_F(ScanManagerTest, AcknowledgedFindingsAreCommittedBeforeTheAnswer) {
  // A worker told "stored" completes its shard, maybe with a restarted
  // coordinator: what a crash right after the answer would leave on disk
  // (what a second connection reads) must already hold the findings.
  v1::Scan scan = Start("127.80.0.0/24");
  v1::Shard shard = Lease("w1");
  ASSERT_TRUE(Report(shard, "w1", {{"127.80.0.9", 22}, {"127.80.0.10", 80}}).ok());
  auto reader = ScanStore::Open(db_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto count = (*reader)->CountFindings(scan.id());
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 2u);
}

TEST_F(ScanManagerTest, HeartbeatsKeepLeasesAndReportLostOnes) {
  Start("127.80.0.0/24");
  v1::Shard shard = Lease("w1");
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Seconds(6));
    v1::HeartbeatRequest hb;
    hb.set_worker_id("w1");
    hb.add_lease_ids(shard.lease_id());
    hb.add_lease_ids("l-unknown");
    auto resp = manager_->Heartbeat(hb);
    ASSERT_TRUE(resp.ok());
    EXPECT_THAT(std::vector<std::string>(resp->cancelled_lease_ids().begin(),
                                         resp->cancelled_lease_ids().end()),
                ::testing::ElementsAre("l-unknown"));
    manager_->Tick();
  }
  EXPECT_TRUE(Report(shard, "w1", {{"127.80.0.1", 80}}).ok()) << "30 s later the lease still holds";
}

TEST_F(ScanManagerTest, WorkerProbesCountEachCompletedProbeOnceWhateverTheHeartbeatsSaid) {
  Start("127.80.0.0/24");
  v1::Shard shard = Lease("w1");
  v1::HeartbeatRequest hb;
  hb.set_worker_id("w1");
  hb.add_lease_ids(shard.lease_id());
  hb.set_probes_done(7);
  ASSERT_TRUE(manager_->Heartbeat(hb).ok());
  ASSERT_TRUE(Complete(shard, "w1").ok());
  std::vector<v1::WorkerInfo> workers = manager_->ListWorkers();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].probes_done(), shard.slice().end() - shard.slice().begin());
}

TEST_F(ScanManagerTest, RejectsFindingsOutsideTheScan) {
  Start("127.80.0.0/24");
  v1::Shard shard = Lease("w1");
  absl::Status s = Report(shard, "w1", {{"127.80.1.1", 22}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("127.80.1.1:22 is not part of scan"));
  EXPECT_EQ(Report(shard, "w1", {{"127.80.0.1", 443}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Report(shard, "w1", {{"not-an-ip", 22}}).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ScanManagerTest, HandedBackShardIsLeasedNextWithoutCountingAsAFailure) {
  Start("127.80.0.0/24");
  v1::Shard shard = Lease("w1");
  ASSERT_TRUE(Complete(shard, "w1", /*handed_back=*/true).ok());
  v1::Shard next = Lease("w2");
  EXPECT_EQ(next.slice().begin(), shard.slice().begin());
  EXPECT_NE(next.lease_id(), shard.lease_id());
}

TEST_F(ScanManagerTest, RestartKeepsLeasesProgressAndFindings) {
  v1::Scan scan = Start("127.80.0.0/18");  // 32,768 probes: several shards
  v1::Shard a = Lease("w1");
  ASSERT_TRUE(Report(a, "w1", {{"127.80.0.5", 80}}).ok());
  ASSERT_TRUE(Complete(a, "w1").ok());
  v1::Shard b = Lease("w1");
  ASSERT_TRUE(Report(b, "w1", {{"127.80.0.6", 80}}).ok());
  Open();  // a new coordinator process on the same database
  // The lease held across the restart still works.
  ASSERT_TRUE(Report(b, "w1", {{"127.80.0.7", 22}}).ok());
  ASSERT_TRUE(Complete(b, "w1").ok());
  RunToEnd("w1", {});
  auto done = manager_->GetScan(scan.id());
  EXPECT_EQ(done->state(), v1::SUCCEEDED);
  EXPECT_EQ(done->probes_done(), 32768u);
  EXPECT_EQ(Findings(scan.id()),
            (std::set<std::string>{"127.80.0.5:80", "127.80.0.6:80", "127.80.0.7:22"}));
}

TEST_F(ScanManagerTest, CancelEndsTheScanAndItsLeases) {
  v1::Scan scan = Start("127.80.0.0/24");
  v1::Shard shard = Lease("w1");
  auto cancelled = manager_->CancelScan(scan.id());
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->state(), v1::CANCELLED);
  v1::HeartbeatRequest hb;
  hb.set_worker_id("w1");
  hb.add_lease_ids(shard.lease_id());
  EXPECT_EQ(manager_->Heartbeat(hb)->cancelled_lease_ids_size(), 1);
  EXPECT_TRUE(Lease("w1").lease_id().empty());
  EXPECT_EQ(manager_->CancelScan(scan.id()).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(manager_->CancelScan("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ScanManagerTest, RefusesTargetsOutsideAllowedRangesAndUnknownNames) {
  v1::StartScanRequest req;
  req.mutable_targets()->add_include("127.80.0.0/15");
  req.mutable_ports()->set_spec("22");
  auto s = manager_->StartScan(req, "");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(), "targets: 127.81.0.0-127.81.255.255 is outside allowed_ranges");
  v1::StartScanRequest inv;
  inv.set_inventory("qa");
  EXPECT_EQ(manager_->StartScan(inv, "").status().message(), "inventory 'qa' is not configured");
  v1::StartScanRequest prof;
  prof.set_inventory("lab");
  prof.set_profile("fast");
  EXPECT_EQ(manager_->StartScan(prof, "").status().message(), "profile 'fast' is not configured");
}

TEST_F(ScanManagerTest, RateCapIsSplitAcrossWorkersHoldingShards) {
  Start("127.80.0.0/18");  // several shards
  EXPECT_DOUBLE_EQ(Lease("w1").profile().rate(), 1000);
  EXPECT_DOUBLE_EQ(Lease("w2").profile().rate(), 500);
}

TEST_F(ScanManagerTest, ReportComparesWithThePreviousScanOfTheInventory) {
  v1::StartScanRequest req;
  req.set_inventory("lab");
  req.set_profile("lab");
  auto first = manager_->StartScan(req, "");
  RunToEnd("w1", {{"127.80.0.1", 22}, {"127.80.0.2", 80}});
  const absl::Time first_seen = clock_.Now();
  clock_.Advance(absl::Hours(24));
  auto second = manager_->StartScan(req, "");
  RunToEnd("w1", {{"127.80.0.2", 80}, {"127.80.0.3", 22}});

  auto due = manager_->DueReports(10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  const v1::ScanReport& report = (*due)[0].scan_id == second->id() ? (*due)[0].report : (*due)[1].report;
  EXPECT_EQ(report.base_scan_id(), first->id());
  EXPECT_EQ(report.exposure_count(), 3u);
  auto exposures = manager_->ReportExposures(second->id(), 0, 100);
  ASSERT_TRUE(exposures.ok()) << exposures.status();
  std::map<std::string, v1::Exposure> by_key;
  for (const v1::Exposure& e : *exposures) by_key[e.ip() + ":" + std::to_string(e.port())] = e;
  ASSERT_EQ(by_key.size(), 3u);
  EXPECT_EQ(by_key["127.80.0.3:22"].status(), v1::NEW);
  EXPECT_EQ(by_key["127.80.0.3:22"].service(), "SSH");
  EXPECT_EQ(by_key["127.80.0.2:80"].status(), v1::STILL_OPEN);
  EXPECT_EQ(by_key["127.80.0.2:80"].first_seen_unix_ms(), absl::ToUnixMillis(first_seen));
  EXPECT_EQ(by_key["127.80.0.1:22"].status(), v1::CLOSED);

  auto diff = manager_->DiffScan(second->id(), "");
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->new_open_size(), 1);
  EXPECT_EQ(diff->still_open_size(), 1);
  EXPECT_EQ(diff->closed_size(), 1);
}

class FakeSender : public ReportSender {
 public:
  absl::Status Send(const v1::ScanReport& header, const NextPage& next) override {
    ++calls;
    if (fail) return absl::UnavailableError("notifier down");
    v1::ScanReport whole = header;
    for (;;) {
      auto page = next();
      if (!page.ok()) return page.status();
      if (page->empty()) break;
      ++pages;
      for (v1::Exposure& e : *page) *whole.add_exposures() = std::move(e);
    }
    delivered.push_back(header.scan_id());
    reports.push_back(std::move(whole));
    return absl::OkStatus();
  }
  bool fail = true;
  int calls = 0;
  int pages = 0;
  std::vector<std::string> delivered;
  std::vector<v1::ScanReport> reports;
};

TEST_F(ScanManagerTest, ReportsAreRetriedWithBackoffAndDeliveredOnceAcrossRestarts) {
  v1::Scan scan = Start("127.80.0.0/28", "22");
  RunToEnd("w1", {});
  FakeSender sender;
  {
    ReportDeliverer d(*manager_, &sender, clock_);
    EXPECT_EQ(d.Tick(), 0);
    EXPECT_EQ(sender.calls, 1);
    EXPECT_EQ(d.Tick(), 0);
    EXPECT_EQ(sender.calls, 1) << "backoff: not due yet";
    clock_.Advance(absl::Seconds(1));
    d.Tick();
    EXPECT_EQ(sender.calls, 2);
    clock_.Advance(absl::Seconds(1));
    d.Tick();
    EXPECT_EQ(sender.calls, 2) << "second backoff is 2 s";
  }
  Open();  // restart: the pending report is still there
  sender.fail = false;
  clock_.Advance(absl::Seconds(5));
  ReportDeliverer d(*manager_, &sender, clock_);
  EXPECT_EQ(d.Tick(), 1);
  EXPECT_EQ(sender.delivered, std::vector<std::string>{scan.id()});
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(d.Tick(), 0);
  Open();
  ReportDeliverer again(*manager_, &sender, clock_);
  EXPECT_EQ(again.Tick(), 0);
  EXPECT_EQ(sender.delivered.size(), 1u) << "never repeated";
  EXPECT_EQ(ReportDeliverer::Backoff(1), absl::Seconds(1));
  EXPECT_EQ(ReportDeliverer::Backoff(4), absl::Seconds(8));
  EXPECT_EQ(ReportDeliverer::Backoff(30), absl::Minutes(5));
}

TEST_F(ScanManagerTest, ScheduleFiresOnceRecordsItAndNeverOverlaps) {
  config_.schedules = {{"lab-hourly", "0 * * * *", "UTC", "lab", "lab"}};
  Open();
  auto scheduler = Scheduler::Create(config_.schedules);
  ASSERT_TRUE(scheduler.ok()) << scheduler.status();
  // 1'800'000'000 is 2027-01-15 08:00:00 UTC; start just after the hour.
  clock_.Set(absl::FromUnixSeconds(1'800'000'000) + absl::Minutes(1));
  ScheduleRunner runner(*scheduler, *manager_, clock_);
  EXPECT_EQ(runner.Tick(), 0) << "first seen now: no retroactive run";
  clock_.Advance(absl::Minutes(59));  // 09:00
  EXPECT_EQ(runner.Tick(), 1);
  EXPECT_EQ(runner.Tick(), 0) << "the same fire time runs once";
  clock_.Advance(absl::Hours(1));  // 10:00, but the 09:00 scan still runs
  EXPECT_EQ(runner.Tick(), 0);
  EXPECT_TRUE(manager_->ScheduleRunning("lab-hourly"));
  RunToEnd("w1", {});
  clock_.Advance(absl::Hours(3));  // 13:00; 11:00 and 12:00 were missed (not running)
  Open();                          // and the coordinator restarted meanwhile
  ScheduleRunner after(*scheduler, *manager_, clock_);
  EXPECT_EQ(after.Tick(), 1) << "missed runs run once on start";
  EXPECT_EQ(after.Tick(), 0);
  auto scans = manager_->ListScans(10, "lab");
  ASSERT_TRUE(scans.ok());
  EXPECT_EQ(scans->size(), 2u);
  EXPECT_EQ((*scans)[0].schedule(), "lab-hourly");
}

// --- Inventories with an `openstack` block ---------------------------------

TEST_F(ScanManagerTest, OpenStackAddressesAreMergedWithStaticTargetsAndExclusions) {
  AddCloud({"127.80.1.0/30"}, {"127.80.0.9"});
  source_.Set("cloud", std::vector<std::string>{"127.80.0.7", "127.80.0.9", "127.80.1.1"});
  absl::StatusOr<v1::Scan> scan = StartInventory("cloud");
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_EQ(source_.calls("cloud"), 1);
  // 127.80.1.0-3 and 127.80.0.7 (127.80.1.1 twice counts once, .0.9 is
  // excluded), on ports 22 and 80.
  EXPECT_EQ(scan->probes_total(), 10u);
  EXPECT_EQ(scan->inventory(), "cloud");
  EXPECT_THAT(scan->targets().include(), ElementsAre("127.80.1.0/30", "127.80.0.7", "127.80.1.1"));
  EXPECT_THAT(scan->targets().exclude(), ElementsAre("127.80.0.9"));
  // The static-only inventory never asks the source.
  ASSERT_TRUE(StartInventory("lab").ok());
  EXPECT_EQ(source_.calls("lab"), 0);
}

TEST_F(ScanManagerTest, OpenStackAddressOutsideAllowedRangesIsRefusedByName) {
  AddCloud({}, {"10.0.0.0/8"});
  source_.Set("cloud", std::vector<std::string>{"127.80.0.7", "10.1.2.3", "203.0.113.9"});
  absl::StatusOr<v1::Scan> scan = StartInventory("cloud");
  EXPECT_EQ(scan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scan.status().message(),
            "inventories.cloud: openstack address 203.0.113.9 is outside allowed_ranges");
  // 10.1.2.3 is outside too, but excluded: not scanned, so not refused.
  source_.Set("cloud", std::vector<std::string>{"127.80.0.7", "10.1.2.3"});
  scan = StartInventory("cloud");
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_EQ(scan->probes_total(), 2u);
  auto scans = manager_->ListScans(10, "cloud");
  ASSERT_TRUE(scans.ok());
  EXPECT_EQ(scans->size(), 1u) << "the refused scan is not stored";
}

TEST_F(ScanManagerTest, OpenStackFailureIsUnavailableAndNamesTheApi) {
  AddCloud({}, {});
  source_.Set("cloud", absl::UnavailableError("neutron ports: HTTP 503"));
  absl::StatusOr<v1::Scan> scan = StartInventory("cloud");
  EXPECT_EQ(scan.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(scan.status().message(), "inventory 'cloud': openstack: neutron ports: HTTP 503");
  source_.Set("cloud", absl::UnauthenticatedError(
                           "keystone: 401 Unauthorized (check the username and password)"));
  scan = StartInventory("cloud");
  EXPECT_EQ(scan.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(scan.status().message(), HasSubstr("keystone: 401 Unauthorized"));
  source_.Set("cloud", std::vector<std::string>{"127.80.0.7", "127.80.0.0/24"});
  scan = StartInventory("cloud");
  EXPECT_EQ(scan.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(scan.status().message(),
            "inventory 'cloud': openstack returned '127.80.0.0/24', which is not an IP address");
  auto scans = manager_->ListScans(10, "cloud");
  ASSERT_TRUE(scans.ok());
  EXPECT_TRUE(scans->empty());
}

TEST_F(ScanManagerTest, OpenStackInventoryWithNoAddressesIsAClearError) {
  AddCloud({}, {"127.80.0.7"});
  source_.Set("cloud", std::vector<std::string>{});
  absl::StatusOr<v1::Scan> scan = StartInventory("cloud");
  EXPECT_EQ(scan.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(scan.status().message(),
            "inventory 'cloud' has no addresses: openstack returned none outside the exclusions");
  source_.Set("cloud", std::vector<std::string>{"127.80.0.7"});  // excluded
  EXPECT_EQ(StartInventory("cloud").status().code(), absl::StatusCode::kFailedPrecondition);
  // With static targets, no OpenStack addresses is fine.
  AddCloud({"127.80.2.1"}, {});
  source_.Set("cloud", std::vector<std::string>{});
  scan = StartInventory("cloud");
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_EQ(scan->probes_total(), 2u);
}

TEST_F(ScanManagerTest, RestartResumesTheFetchedAddressesWithoutFetchingAgain) {
  AddCloud({}, {});
  source_.Set("cloud", std::vector<std::string>{"127.80.0.7", "127.80.3.3"});
  absl::StatusOr<v1::Scan> scan = StartInventory("cloud");
  ASSERT_TRUE(scan.ok()) << scan.status();
  v1::Shard shard = Lease("w1");
  // OpenStack changes meanwhile, and the coordinator restarts.
  source_.Set("cloud", std::vector<std::string>{"127.80.9.9"});
  Open();
  EXPECT_EQ(source_.calls("cloud"), 1) << "recovery must not fetch again";
  auto recovered = manager_->GetScan(scan->id());
  ASSERT_TRUE(recovered.ok());
  EXPECT_EQ(recovered->probes_total(), 4u);
  EXPECT_THAT(recovered->targets().include(), ElementsAre("127.80.0.7", "127.80.3.3"));
  // The same target set: the old addresses are still part of the scan, the new one is not.
  EXPECT_EQ(Report(shard, "w1", {{"127.80.9.9", 22}}).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(Report(shard, "w1", {{"127.80.3.3", 80}}).ok());
  ASSERT_TRUE(Complete(shard, "w1").ok());
  RunToEnd("w1", {});
  EXPECT_EQ(manager_->GetScan(scan->id())->state(), v1::SUCCEEDED);
  EXPECT_EQ(Findings(scan->id()), (std::set<std::string>{"127.80.3.3:80"}));
  EXPECT_EQ(source_.calls("cloud"), 1);
}

TEST_F(ScanManagerTest, ScheduledRunRetriesAFailedFetchWithBackoff) {
  config_.schedules = {{"cloud-hourly", "0 * * * *", "UTC", "cloud", "lab"}};
  AddCloud({}, {});
  auto scheduler = Scheduler::Create(config_.schedules);
  ASSERT_TRUE(scheduler.ok()) << scheduler.status();
  clock_.Set(absl::FromUnixSeconds(1'800'000'000) + absl::Minutes(1));  // 08:01
  ScheduleRunner runner(*scheduler, *manager_, clock_);
  EXPECT_EQ(runner.Tick(), 0);
  source_.Set("cloud", absl::UnavailableError("keystone: HTTP 503"));
  clock_.Advance(absl::Minutes(59));  // 09:00: fires, the fetch fails
  EXPECT_EQ(runner.Tick(), 0);
  EXPECT_EQ(source_.calls("cloud"), 1);
  EXPECT_EQ(runner.Tick(), 0);
  EXPECT_EQ(source_.calls("cloud"), 1) << "waits out the backoff";
  clock_.Advance(ScheduleRunner::kFirstRetry);
  EXPECT_EQ(runner.Tick(), 0);
  EXPECT_EQ(source_.calls("cloud"), 2) << "tried again after the first backoff";
  clock_.Advance(ScheduleRunner::kFirstRetry);
  EXPECT_EQ(runner.Tick(), 0);
  EXPECT_EQ(source_.calls("cloud"), 2) << "the backoff doubled";
  // A restart meanwhile: the run was never recorded, so it is still due.
  Open();
  ScheduleRunner after(*scheduler, *manager_, clock_);
  source_.Set("cloud", std::vector<std::string>{"127.80.0.7"});
  EXPECT_EQ(after.Tick(), 1);
  EXPECT_EQ(source_.calls("cloud"), 3);
  EXPECT_EQ(after.Tick(), 0) << "the 09:00 run is recorded once it started";
  auto scans = manager_->ListScans(10, "cloud");
  ASSERT_TRUE(scans.ok());
  ASSERT_EQ(scans->size(), 1u);
  EXPECT_EQ((*scans)[0].schedule(), "cloud-hourly");
}

TEST_F(ScanManagerTest, ScheduledRunRefusedForGoodIsNotRetried) {
  config_.schedules = {{"cloud-hourly", "0 * * * *", "UTC", "cloud", "lab"}};
  AddCloud({}, {});
  auto scheduler = Scheduler::Create(config_.schedules);
  ASSERT_TRUE(scheduler.ok()) << scheduler.status();
  clock_.Set(absl::FromUnixSeconds(1'800'000'000) + absl::Minutes(1));
  ScheduleRunner runner(*scheduler, *manager_, clock_);
  EXPECT_EQ(runner.Tick(), 0);
  source_.Set("cloud", std::vector<std::string>{"203.0.113.9"});  // outside allowed_ranges
  clock_.Advance(absl::Minutes(59));
  EXPECT_EQ(runner.Tick(), 0);
  clock_.Advance(absl::Minutes(30));
  EXPECT_EQ(runner.Tick(), 0);
  EXPECT_EQ(source_.calls("cloud"), 1) << "refused: counts as the 09:00 run";
}

}  // namespace
}  // namespace goalkeeper
