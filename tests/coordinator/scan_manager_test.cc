// The coordinator's core against a real SQLite file and a fake clock.
#include "coordinator/scan_manager.h"

#include <unistd.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/ip_address.h"
#include "common/probe_space.h"
#include "common/scan_space.h"
#include "coordinator/inventory_source.h"
#include "coordinator/report_deliverer.h"
#include "coordinator/schedule_runner.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/coordinator/confirmation_helper.h"

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
    config_.profiles["lab"] = ProfileConfig{"22,80", 300, 1, 1000, "verify", {}};
    config_.lease = {10, 2, 5, 2};
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

  // Registers `worker` (its id and name) the first time it is used, and
  // remembers its token for the worker calls below.
  const std::string& Token(const std::string& worker) {
    auto it = tokens_.find(worker);
    if (it != tokens_.end()) return it->second;
    v1::RegisterWorkerRequest req;
    req.set_worker_id(worker);
    req.set_name(worker);
    auto r = manager_->RegisterWorker(req);
    EXPECT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->worker_token().empty());
    return tokens_[worker] = r.ok() ? r->worker_token() : "";
  }

  absl::StatusOr<v1::LeaseShardResponse> LeaseResponse(const std::string& worker) {
    v1::LeaseShardRequest req;
    req.set_worker_id(worker);
    req.set_worker_token(Token(worker));
    return manager_->LeaseShard(req);
  }

  v1::Shard Lease(const std::string& worker) {
    auto r = LeaseResponse(worker);
    EXPECT_TRUE(r.ok()) << r.status();
    return r->shard();
  }

  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(
      const std::string& worker, const std::vector<std::string>& lease_ids,
      const std::map<std::string, double>& applied = {}) {
    v1::HeartbeatRequest hb;
    hb.set_worker_id(worker);
    hb.set_worker_token(Token(worker));
    for (const std::string& id : lease_ids) hb.add_lease_ids(id);
    for (const auto& [scan, rate] : applied) {
      v1::ScanRate* r = hb.add_applied_rates();
      r->set_scan_id(scan);
      r->set_rate(rate);
    }
    return manager_->Heartbeat(hb);
  }

  absl::Status Report(const v1::Shard& shard, const std::string& worker,
                      const std::vector<std::pair<std::string, uint32_t>>& open) {
    v1::ReportFindingsRequest req;
    req.set_worker_id(worker);
    req.set_worker_token(Token(worker));
    req.set_lease_id(shard.lease_id());
    for (const auto& [ip, port] : open) {
      v1::ProbeResult* r = req.add_results();
      r->set_ip(ip);
      r->set_port(port);
      r->set_state(v1::PROBE_STATE_OPEN);
    }
    return manager_->ReportFindings(req);
  }

  absl::Status Complete(const v1::Shard& shard, const std::string& worker,
                        bool handed_back = false) {
    v1::CompleteShardRequest req;
    req.set_worker_id(worker);
    req.set_worker_token(Token(worker));
    req.set_lease_id(shard.lease_id());
    req.set_handed_back(handed_back);
    return manager_->CompleteShard(req);
  }

  // The pair at `index` of the shard's scan permutation, as (ip, port).
  static std::pair<std::string, uint32_t> PairAt(const v1::Shard& shard, uint64_t index) {
    const auto& spec = shard.targets();
    auto targets = TargetSet::Parse({spec.include().begin(), spec.include().end()},
                                    {spec.exclude().begin(), spec.exclude().end()});
    auto ports = PortSet::Parse(shard.profile().ports().spec());
    EXPECT_TRUE(targets.ok() && ports.ok());
    auto space = ProbeSpace::Create(*targets, *ports, shard.slice().seed());
    EXPECT_TRUE(space.ok()) << space.status();
    ProbeTarget t = space->At(index);
    return {t.address.ToString(), t.port};
  }

  // Leases and completes every shard as `worker`, reporting `open`.
  void RunToEnd(const std::string& worker,
                const std::vector<std::pair<std::string, uint32_t>>& open) {
    for (int i = 0; i < 1000; ++i) {
      v1::Shard shard = Lease(worker);
      if (shard.lease_id().empty()) return;
      if (shard.confirm_indices_size() > 0) {
        // Confirmation: the pairs are as the scan found them.
        std::set<std::pair<std::string, uint32_t>> seen;
        EXPECT_TRUE(manager_
                        ->ForEachFinding(shard.scan_id(),
                                         [&](const v1::Finding& f) {
                                           seen.insert({f.ip(), f.port()});
                                         })
                        .ok());
        v1::ReportFindingsRequest req;
        req.set_worker_id(worker);
        req.set_worker_token(Token(worker));
        req.set_lease_id(shard.lease_id());
        for (const v1::ProbeResult& r : StableConfirmation(shard, seen)) *req.add_results() = r;
        ASSERT_TRUE(manager_->ReportFindings(req).ok());
        ASSERT_TRUE(Complete(shard, worker).ok());
        continue;
      }
      ASSERT_TRUE(Report(shard, worker, open).ok());
      ASSERT_TRUE(Complete(shard, worker).ok());
    }
  }

  std::set<std::string> Findings(const std::string& id) {
    std::set<std::string> out;
    EXPECT_TRUE(manager_
                    ->ForEachFinding(id,
                                     [&](const v1::Finding& f) {
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
    cloud.openstack = OpenStackConfig{};
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
  std::map<std::string, std::string> tokens_;  // worker id -> token
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
  EXPECT_EQ(Report(lost, "w1", {{"127.80.0.10", 22}}).code(),
            absl::StatusCode::kFailedPrecondition);
  v1::Shard again = Lease("w2");
  EXPECT_EQ(again.slice().begin(), lost.slice().begin());
  EXPECT_EQ(again.slice().end(), lost.slice().end());
  ASSERT_TRUE(Report(again, "w2", {{"127.80.0.9", 22}}).ok());  // found again: idempotent
  ASSERT_TRUE(Complete(again, "w2").ok());
  ASSERT_TRUE(Complete(lost, "w1").ok());  // stale: ignored
  // The confirmation of 127.80.0.9:22 avoids w2 (which found it) while w1
  // lives, for a short wait.
  clock_.Advance(absl::Seconds(3));
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
    auto resp = Heartbeat("w1", {shard.lease_id(), "l-unknown"});
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
  hb.set_worker_token(Token("w1"));
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
  const auto p1 = PairAt(a, a.slice().begin());
  ASSERT_TRUE(Report(a, "w1", {p1}).ok());
  ASSERT_TRUE(Complete(a, "w1").ok());
  v1::Shard b = Lease("w1");
  const auto p2 = PairAt(b, b.slice().begin());
  const auto p3 = PairAt(b, b.slice().end() - 1);
  ASSERT_TRUE(Report(b, "w1", {p2}).ok());
  Open();  // a new coordinator process on the same database
  // The lease held across the restart still works, with the same token.
  ASSERT_TRUE(Report(b, "w1", {p3}).ok());
  ASSERT_TRUE(Complete(b, "w1").ok());
  RunToEnd("w1", {});
  auto done = manager_->GetScan(scan.id());
  EXPECT_EQ(done->state(), v1::SUCCEEDED);
  EXPECT_EQ(done->probes_done(), 32768u);
  auto key = [](const std::pair<std::string, uint32_t>& p) {
    return p.first + ":" + std::to_string(p.second);
  };
  EXPECT_EQ(Findings(scan.id()), (std::set<std::string>{key(p1), key(p2), key(p3)}));
}

TEST_F(ScanManagerTest, CancelEndsTheScanAndItsLeases) {
  v1::Scan scan = Start("127.80.0.0/24");
  v1::Shard shard = Lease("w1");
  auto cancelled = manager_->CancelScan(scan.id());
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->state(), v1::CANCELLED);
  EXPECT_EQ(Heartbeat("w1", {shard.lease_id()})->cancelled_lease_ids_size(), 1);
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

// --- Scheduling: fairness across scans, rate shares, shard sizes ----------

// A shard's slice as "[begin, end)", for counting how often each was leased.
std::string SliceKey(const v1::Shard& shard) {
  return shard.scan_id() + "[" + std::to_string(shard.slice().begin()) + "," +
         std::to_string(shard.slice().end()) + ")";
}

TEST_F(ScanManagerTest, SmallScanIsServedWithinOneRoundWhileALargeScanRuns) {
  config_.profiles["open"] = ProfileConfig{"22,80", 300, 1, 0, "verify", {}};  // no rate cap
  Open();
  auto start = [&](const std::string& targets) {
    v1::StartScanRequest req;
    req.mutable_targets()->add_include(targets);
    req.set_profile("open");
    auto scan = manager_->StartScan(req, "");
    EXPECT_TRUE(scan.ok()) << scan.status();
    return *scan;
  };
  const v1::Scan large = start("127.80.0.0/16");  // 131,072 probes: many rounds of shards
  std::map<std::string, v1::Shard> held{{"w1", Lease("w1")}, {"w2", Lease("w2")}};
  const v1::Scan small = start("127.80.9.9");  // 2 probes, started while the large one runs
  int rounds = 0;
  while (manager_->GetScan(small.id())->state() != v1::SUCCEEDED) {
    ASSERT_LT(rounds, 2) << "the small scan still waits after " << rounds << " rounds";
    ++rounds;
    clock_.Advance(absl::Seconds(5));
    // One round: each worker completes its shard and leases the next.
    for (auto& [worker, shard] : held) {
      ASSERT_TRUE(Complete(shard, worker).ok());
      shard = Lease(worker);
    }
  }
  // Leased in the first round after it started, done in the second.
  EXPECT_EQ(manager_->GetScan(large.id())->state(), v1::RUNNING);
}

TEST_F(ScanManagerTest, RateCappedScanWithItsBudgetTakenLeavesTheWorkerToAnotherScan) {
  config_.profiles["open"] = ProfileConfig{"22,80", 300, 1, 0, "verify", {}};
  Open();
  const v1::Scan capped = Start("127.80.0.0/18");  // rate 1000
  v1::Shard first = Lease("w1");
  EXPECT_EQ(first.scan_id(), capped.id());
  EXPECT_DOUBLE_EQ(first.profile().rate(), 1000);
  v1::StartScanRequest req;
  req.mutable_targets()->add_include("127.80.8.0/21");  // 4096 probes, no cap
  req.set_profile("open");
  auto other = manager_->StartScan(req, "");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(Lease("w3").scan_id(), other->id()) << "the other scan's turn";
  // The capped scan's turn, but its budget is w1's until w1 acknowledges a
  // lower share: w2 scans the other scan instead of waiting.
  EXPECT_EQ(Lease("w2").scan_id(), other->id());
  // w1 asks again: its share of the capped scan is in use by its lease, and
  // the other scan has work: that comes first.
  EXPECT_EQ(Lease("w1").scan_id(), other->id());
  // Once the other scan is all leased, w1 pipelines the capped scan, at the
  // share it has since w2 reserved its half.
  v1::Shard next;
  for (int i = 0; i < 20 && next.scan_id() != capped.id(); ++i) next = Lease("w1");
  EXPECT_EQ(next.scan_id(), capped.id());
  EXPECT_DOUBLE_EQ(next.profile().rate(), 500);
}

TEST_F(ScanManagerTest, ANewcomerGetsItsShareOnlyOnceTheReductionIsAcknowledged) {
  const v1::Scan scan = Start("127.80.0.0/18");  // rate 1000
  v1::Shard w1 = Lease("w1");
  EXPECT_DOUBLE_EQ(w1.profile().rate(), 1000);
  auto asked = LeaseResponse("w2");
  ASSERT_TRUE(asked.ok());
  EXPECT_FALSE(asked->has_shard()) << "the whole budget is w1's";
  EXPECT_GT(asked->retry_after_ms(), 0u);
  // w1 hears its new share; until it says it applies it, w1 counts at 1000.
  auto hb = Heartbeat("w1", {w1.lease_id()}, {{scan.id(), 1000}});
  ASSERT_TRUE(hb.ok());
  ASSERT_EQ(hb->scan_rates_size(), 1);
  EXPECT_EQ(hb->scan_rates(0).scan_id(), scan.id());
  EXPECT_DOUBLE_EQ(hb->scan_rates(0).rate(), 500);
  EXPECT_FALSE(Lease("w2").has_profile()) << "not acknowledged yet";
  ASSERT_TRUE(Heartbeat("w1", {w1.lease_id()}, {{scan.id(), 500}}).ok());
  v1::Shard w2 = Lease("w2");
  ASSERT_FALSE(w2.lease_id().empty());
  EXPECT_DOUBLE_EQ(w2.profile().rate(), 500);
  // A worker that never acknowledges: its old leases' rate counts until they
  // end. w3 reserves a third; w1 pipelines at its lowered share meanwhile.
  EXPECT_FALSE(LeaseResponse("w3")->has_shard());
  v1::Shard w1b = Lease("w1");
  EXPECT_DOUBLE_EQ(w1b.profile().rate(), 1000.0 / 3);
  EXPECT_FALSE(LeaseResponse("w3")->has_shard()) << "w1's first lease still counts at 500";
  ASSERT_TRUE(Complete(w1, "w1").ok());
  EXPECT_FALSE(LeaseResponse("w3")->has_shard()) << "w2 still counts at 500";
  ASSERT_TRUE(Heartbeat("w2", {w2.lease_id()}, {{scan.id(), 1000.0 / 3}}).ok());
  v1::Shard w3 = Lease("w3");
  ASSERT_FALSE(w3.lease_id().empty());
  EXPECT_DOUBLE_EQ(w3.profile().rate(), 1000.0 / 3);
  // w1 leaves (its last lease ends): the others are raised.
  ASSERT_TRUE(Complete(w1b, "w1").ok());
  hb = Heartbeat("w2", {w2.lease_id()}, {{scan.id(), 1000.0 / 3}});
  ASSERT_EQ(hb->scan_rates_size(), 1);
  EXPECT_DOUBLE_EQ(hb->scan_rates(0).rate(), 500);
}

TEST_F(ScanManagerTest, RecoveredLeasesOfACappedScanKeepTheirWorkersShares) {
  const v1::Scan scan = Start("127.80.0.0/18");
  v1::Shard shard = Lease("w1");
  Open();  // restart: w1's lease survives, and with it its share of the rate
  auto hb = Heartbeat("w1", {shard.lease_id()});
  ASSERT_TRUE(hb.ok()) << hb.status();
  ASSERT_EQ(hb->scan_rates_size(), 1);
  EXPECT_DOUBLE_EQ(hb->scan_rates(0).rate(), 1000);
  EXPECT_FALSE(LeaseResponse("w2")->has_shard()) << "the budget is still w1's";
  ASSERT_TRUE(Heartbeat("w1", {shard.lease_id()}, {{scan.id(), 500}}).ok());
  EXPECT_DOUBLE_EQ(Lease("w2").profile().rate(), 500);
}

TEST_F(ScanManagerTest, CappedShardsAreSizedFromTheShareNotFromTheMeasuredRate) {
  Start("127.80.0.0/18");  // 32,768 probes at 1000/s, shard_seconds 5
  v1::Shard a = Lease("w1");
  EXPECT_EQ(a.slice().end() - a.slice().begin(), 5000u);
  ASSERT_TRUE(Complete(a, "w1").ok());  // done at once: unpaced, it would look very fast
  clock_.Advance(absl::Milliseconds(10));
  v1::Shard b = Lease("w1");
  EXPECT_EQ(b.slice().end() - b.slice().begin(), 5000u);
  ASSERT_TRUE(Complete(b, "w1").ok());
  // Two workers: 500/s each, so 2500 probes a shard.
  v1::Shard c = Lease("w1");
  EXPECT_FALSE(LeaseResponse("w2")->has_shard());
  ASSERT_TRUE(Heartbeat("w1", {c.lease_id()}, {{c.scan_id(), 500}}).ok());
  v1::Shard d = Lease("w2");
  EXPECT_DOUBLE_EQ(d.profile().rate(), 500);
  EXPECT_EQ(d.slice().end() - d.slice().begin(), 2500u);
}

// A simulated worker on the fake clock: applies the rate it was last told
// for each scan (one budget for all its leases of the scan), heartbeats,
// pipelines up to two leases, completes what it scanned.
struct SimWorker {
  struct Held {
    v1::Shard shard;
    double done = 0;
  };
  std::string id;
  bool leaving = false;
  std::vector<Held> leases;
  std::map<std::string, double> applied;  // scan -> rate it applies now

  bool Wants() const {
    if (leaving) return false;
    if (leases.empty()) return true;
    const Held& last = leases.back();
    const double size = static_cast<double>(last.shard.slice().end() - last.shard.slice().begin());
    return leases.size() < 2 && last.done >= 0.8 * size;
  }
};

TEST_F(ScanManagerTest, RateSharesNeverSumOverTheCapAsWorkersJoinAndLeave) {
  const v1::Scan scan = Start("127.80.0.0/19");  // 16,384 probes at 1000/s
  std::vector<SimWorker> workers(3);
  for (int i = 0; i < 3; ++i) workers[i].id = "w" + std::to_string(i + 1);
  std::map<std::string, int> leased;  // slice -> times leased
  int cancelled = 0;
  std::set<std::string> got_work;
  double peak = 0;
  auto check = [&]() {
    double sum = 0;
    for (const SimWorker& w : workers) {
      if (!w.leases.empty() && w.applied.count(scan.id())) sum += w.applied.at(scan.id());
    }
    peak = std::max(peak, sum);
    ASSERT_LE(sum, 1000 * (1 + 1e-9)) << "at " << clock_.Now();
  };
  const absl::Time t0 = clock_.Now();
  const absl::Duration step = absl::Milliseconds(250);
  absl::Time next_beat = t0;
  for (int n = 0; manager_->GetScan(scan.id())->state() != v1::SUCCEEDED; ++n) {
    ASSERT_LT(n, 4000) << "the scan does not end";
    const absl::Duration elapsed = clock_.Now() - t0;
    const int active = elapsed < absl::Seconds(2) ? 1 : elapsed < absl::Seconds(5) ? 2 : 3;
    if (elapsed >= absl::Seconds(9)) workers[0].leaving = true;  // w1 leaves after its leases
    for (int i = 0; i < active; ++i) {
      SimWorker& w = workers[i];
      // Scan: the scan's budget shared by the worker's leases of it.
      for (SimWorker::Held& h : w.leases) {
        h.done += w.applied[h.shard.scan_id()] * absl::ToDoubleSeconds(step) /
                  static_cast<double>(w.leases.size());
      }
      for (auto it = w.leases.begin(); it != w.leases.end();) {
        if (it->done >= static_cast<double>(it->shard.slice().end() - it->shard.slice().begin())) {
          ASSERT_TRUE(Complete(it->shard, w.id).ok());
          it = w.leases.erase(it);
        } else {
          ++it;
        }
      }
      if (w.leases.empty()) w.applied.clear();
      if (w.Wants()) {
        auto r = LeaseResponse(w.id);
        ASSERT_TRUE(r.ok()) << r.status();
        if (r->has_shard()) {
          ++leased[SliceKey(r->shard())];
          got_work.insert(w.id);
          w.applied[r->shard().scan_id()] = r->shard().profile().rate();
          w.leases.push_back({r->shard(), 0});
        }
      }
      check();
    }
    if (clock_.Now() >= next_beat) {
      next_beat = clock_.Now() + absl::Seconds(config_.lease.heartbeat_seconds);
      for (int i = 0; i < active; ++i) {
        SimWorker& w = workers[i];
        if (w.leases.empty()) continue;
        std::vector<std::string> ids;
        for (const SimWorker::Held& h : w.leases) ids.push_back(h.shard.lease_id());
        auto hb = Heartbeat(w.id, ids, w.applied);
        ASSERT_TRUE(hb.ok()) << hb.status();
        cancelled += hb->cancelled_lease_ids_size();
        for (const v1::ScanRate& r : hb->scan_rates()) w.applied[r.scan_id()] = r.rate();
        check();
      }
    }
    clock_.Advance(step);
    manager_->Tick();
  }
  EXPECT_EQ(cancelled, 0) << "no lease was lost";
  for (const auto& [slice, times] : leased) EXPECT_EQ(times, 1) << slice << " leased twice";
  EXPECT_EQ(got_work, (std::set<std::string>{"w1", "w2", "w3"}));
  EXPECT_GT(peak, 999.0) << "the budget was used";
  auto done = manager_->GetScan(scan.id());
  EXPECT_EQ(done->probes_done(), 16384u);
}

TEST_F(ScanManagerTest, AHeartbeatExtendsLeasesGrantedSinceItWasBuilt) {
  Start("127.80.0.0/18");
  v1::Shard a = Lease("w1");
  clock_.Advance(absl::Seconds(1));
  v1::Shard b = Lease("w1");  // granted; the worker does not list it yet
  clock_.Advance(absl::Seconds(8));
  ASSERT_TRUE(Heartbeat("w1", {a.lease_id()}).ok());
  clock_.Advance(absl::Seconds(9));  // b's own deadline (10 s after its grant) passed
  manager_->Tick();
  EXPECT_TRUE(Report(a, "w1", {PairAt(a, a.slice().begin())}).ok());
  EXPECT_TRUE(Report(b, "w1", {PairAt(b, b.slice().begin())}).ok());
}

TEST_F(ScanManagerTest, ScanOverTheProbeLimitIsRefusedNamingSizeAndLimit) {
  config_.limits.max_probes_per_scan = 1000;
  Open();
  v1::StartScanRequest req;
  req.mutable_targets()->add_include("127.80.0.0/22");
  req.set_profile("lab");
  auto s = manager_->StartScan(req, "");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            "the scan has 2048 probes (1024 addresses x 2 ports), over "
            "limits.max_probes_per_scan (1000)");
  req.mutable_targets()->set_include(0, "127.80.0.0/23");  // 1024 probes
  EXPECT_EQ(manager_->StartScan(req, "").status().code(), absl::StatusCode::kInvalidArgument);
  req.mutable_targets()->set_include(0, "127.80.0.0/24");  // 512
  EXPECT_TRUE(manager_->StartScan(req, "").ok());
}

TEST_F(ScanManagerTest, DefaultProbeLimitRefusesAnAllPortsSlashSixteen) {
  config_.allowed_ranges = {"127.0.0.0/8"};
  Open();
  v1::StartScanRequest req;
  req.mutable_targets()->add_include("127.90.0.0/16");
  req.mutable_ports()->set_spec("1-65535");
  req.mutable_targets()->add_include("127.91.0.0/24");
  auto s = manager_->StartScan(req, "");  // 65,792 x 65,535 = 4.3e9 probes
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("over limits.max_probes_per_scan (4294967296)"));
}

// --- Trust: workers, tokens, leases bound to their worker ------------------

TEST_F(ScanManagerTest, LeasesAreHonouredOnlyForTheWorkerTheyWereIssuedTo) {
  const v1::Scan scan = Start("127.80.0.0/24");
  v1::Shard shard = Lease("w1");
  Token("w2");
  const auto pair = PairAt(shard, shard.slice().begin());
  absl::Status s = Report(shard, "w2", {pair});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "lease '" + shard.lease_id() + "' was issued to worker 'w1', not to worker 'w2'");
  EXPECT_EQ(Complete(shard, "w2").code(), absl::StatusCode::kPermissionDenied);
  auto hb = Heartbeat("w2", {shard.lease_id()});
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb->cancelled_lease_ids_size(), 1) << "not w2's lease: not extended";
  EXPECT_TRUE(Findings(scan.id()).empty());
  // The owner's calls still work: the lease was not taken.
  ASSERT_TRUE(Report(shard, "w1", {pair}).ok());
  ASSERT_TRUE(Complete(shard, "w1").ok());
  EXPECT_EQ(Findings(scan.id()).size(), 1u);
}

TEST_F(ScanManagerTest, WorkerCallsNeedTheWorkersToken) {
  Start("127.80.0.0/24");
  v1::Shard shard = Lease("w1");
  const std::string token = Token("w1");
  for (const std::string& bad : {std::string(), std::string("x"), Token("w2")}) {
    v1::ReportFindingsRequest report;
    report.set_worker_id("w1");
    report.set_worker_token(bad);
    report.set_lease_id(shard.lease_id());
    absl::Status s = manager_->ReportFindings(report);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << bad;
    EXPECT_EQ(s.message(), "worker 'w1': the worker token does not match its registration");
    v1::CompleteShardRequest complete;
    complete.set_worker_id("w1");
    complete.set_worker_token(bad);
    complete.set_lease_id(shard.lease_id());
    EXPECT_EQ(manager_->CompleteShard(complete).code(), absl::StatusCode::kPermissionDenied);
    v1::LeaseShardRequest lease;
    lease.set_worker_id("w1");
    lease.set_worker_token(bad);
    EXPECT_EQ(manager_->LeaseShard(lease).status().code(), absl::StatusCode::kPermissionDenied);
    v1::HeartbeatRequest hb;
    hb.set_worker_id("w1");
    hb.set_worker_token(bad);
    hb.add_lease_ids(shard.lease_id());
    EXPECT_EQ(manager_->Heartbeat(hb).status().code(), absl::StatusCode::kPermissionDenied);
  }
  v1::LeaseShardRequest unknown;
  unknown.set_worker_id("w9");
  unknown.set_worker_token(token);
  auto r = manager_->LeaseShard(unknown);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(r.status().message(), HasSubstr("worker 'w9' is not registered"));
  EXPECT_TRUE(Complete(shard, "w1").ok());
}

TEST_F(ScanManagerTest, ALiveWorkersIdCannotBeRegisteredAgainWithoutItsToken) {
  const std::string token = Token("w1");
  v1::RegisterWorkerRequest req;
  req.set_worker_id("w1");
  req.set_name("impostor");
  auto r = manager_->RegisterWorker(req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(r.status().message(), HasSubstr("worker id 'w1' is registered by a live worker"));
  req.set_worker_token("wrong");
  EXPECT_EQ(manager_->RegisterWorker(req).status().code(), absl::StatusCode::kAlreadyExists);
  ASSERT_EQ(manager_->ListWorkers().size(), 1u);
  EXPECT_EQ(manager_->ListWorkers()[0].name(), "w1") << "not renamed";
  req.set_worker_token(token);
  req.set_name("w1-renamed");
  r = manager_->RegisterWorker(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->worker_token(), token);
  EXPECT_EQ(manager_->ListWorkers()[0].name(), "w1-renamed");
  // Tokens are random, per worker.
  EXPECT_NE(Token("w2"), token);
  EXPECT_EQ(token.size(), 64u);
}

TEST_F(ScanManagerTest, WorkersKeepTheirNamesAndTokensAcrossARestart) {
  v1::RegisterWorkerRequest req;
  req.set_worker_id("node-7-a1b2c3");
  req.set_name("node-7");
  auto reg = manager_->RegisterWorker(req);
  ASSERT_TRUE(reg.ok()) << reg.status();
  tokens_["node-7-a1b2c3"] = reg->worker_token();
  Start("127.80.0.0/24");
  v1::Shard shard = Lease("node-7-a1b2c3");
  Open();  // a new coordinator process on the same database
  std::vector<v1::WorkerInfo> workers = manager_->ListWorkers();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].id(), "node-7-a1b2c3");
  EXPECT_EQ(workers[0].name(), "node-7");
  EXPECT_EQ(workers[0].leases(), 1u);
  // Its old token still works, for its lease and for registering again.
  EXPECT_TRUE(Heartbeat("node-7-a1b2c3", {shard.lease_id()})->cancelled_lease_ids().empty());
  req.set_worker_token(reg->worker_token());
  EXPECT_TRUE(manager_->RegisterWorker(req).ok());
  req.set_worker_token("");
  EXPECT_EQ(manager_->RegisterWorker(req).status().code(), absl::StatusCode::kAlreadyExists);
  // Silent for 3 ttl: it is forgotten, here and in the store.
  clock_.Advance(absl::Seconds(31));
  manager_->Tick();
  manager_->Flush();
  EXPECT_TRUE(manager_->ListWorkers().empty());
  Open();
  EXPECT_TRUE(manager_->ListWorkers().empty());
  EXPECT_TRUE(manager_->RegisterWorker(req).ok()) << "a gone worker's id is free again";
}

TEST_F(ScanManagerTest, FindingOutsideTheLeasesSliceIsRefusedAndNothingIsStored) {
  const v1::Scan scan = Start("127.80.0.0/18");  // several shards
  v1::Shard shard = Lease("w1");
  ASSERT_LT(shard.slice().end(), scan.probes_total());
  const auto inside = PairAt(shard, shard.slice().begin());
  const auto outside = PairAt(shard, shard.slice().end());  // the next shard's first pair
  absl::Status s = Report(shard, "w1", {inside, outside});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            absl::StrCat("result ", outside.first, ":", outside.second, " is outside lease '",
                         shard.lease_id(), "' of scan ", scan.id(), ": its probe index ",
                         shard.slice().end(), " is not in [", shard.slice().begin(), ", ",
                         shard.slice().end(), ")"));
  EXPECT_TRUE(Findings(scan.id()).empty()) << "the batch is refused whole";
  ASSERT_TRUE(Report(shard, "w1", {inside}).ok());
  EXPECT_EQ(Findings(scan.id()).size(), 1u);
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
  const v1::ScanReport& report =
      (*due)[0].scan_id == second->id() ? (*due)[0].report : (*due)[1].report;
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

// What /metrics counts: the events of leases, shards and scan ends, and the
// pending work and the oldest undelivered report in Stats.
struct RecordedEvents : ManagerEvents {
  void LeaseGranted() override { ++granted; }
  void ShardCompleted(absl::Duration held) override { completed.push_back(held); }
  void ShardHandedBack() override { ++handed_back; }
  void LeaseExpired() override { ++expired; }
  void ScanEnded(v1::ScanState state, absl::Duration ran) override {
    ended.push_back({state, ran});
  }
  int granted = 0, handed_back = 0, expired = 0;
  std::vector<absl::Duration> completed;
  std::vector<std::pair<v1::ScanState, absl::Duration>> ended;
};

TEST_F(ScanManagerTest, EventsAndStatsCountLeasesShardsOutcomesAndPendingWork) {
  RecordedEvents ev;
  manager_->SetEvents(&ev);
  Start("127.80.0.0/24");  // 512 probes
  ManagerStats before = manager_->Stats();
  EXPECT_EQ(before.probes_pending, 512u);
  EXPECT_GE(before.shards_pending, 1u) << "an untouched scan's work is pending";
  EXPECT_EQ(before.oldest_pending_report, absl::InfinitePast());

  v1::Shard back = Lease("w1");
  ASSERT_TRUE(Complete(back, "w1", /*handed_back=*/true).ok());
  EXPECT_EQ(ev.handed_back, 1);
  v1::Shard first = Lease("w1");
  clock_.Advance(absl::Seconds(3));
  ASSERT_TRUE(Complete(first, "w1").ok());
  ASSERT_EQ(ev.completed.size(), 1u);
  EXPECT_EQ(ev.completed[0], absl::Seconds(3)) << "from its lease to its completion";
  RunToEnd("w1", {});
  ASSERT_EQ(ev.ended.size(), 1u);
  EXPECT_EQ(ev.ended[0].first, v1::SUCCEEDED);
  EXPECT_EQ(ev.ended[0].second, absl::Seconds(3)) << "from the scan's first lease";
  EXPECT_EQ(ev.granted, 1 + static_cast<int>(ev.completed.size())) << "the handed back one too";
  ManagerStats after = manager_->Stats();
  EXPECT_EQ(after.shards_pending, 0u);
  EXPECT_EQ(after.probes_pending, 0u);
  EXPECT_EQ(after.reports_pending, 1u) << "no notifier took it";
  EXPECT_EQ(after.oldest_pending_report, absl::FromUnixMillis(absl::ToUnixMillis(clock_.Now())))
      << "the time its scan ended";

  // A shard whose lease expires 10 times fails its scan.
  v1::Scan failing = Start("127.80.0.0/24");
  for (int i = 0; i < 10; ++i) {
    ASSERT_FALSE(Lease("w2").lease_id().empty());
    clock_.Advance(absl::Seconds(11));
    manager_->Tick();
  }
  EXPECT_EQ(ev.expired, 10);
  ASSERT_EQ(ev.ended.size(), 2u);
  EXPECT_EQ(ev.ended[1].first, v1::FAILED);
  EXPECT_EQ(manager_->GetScan(failing.id())->state(), v1::FAILED);

  v1::Scan cancelled = Start("127.80.0.0/24");
  ASSERT_TRUE(manager_->CancelScan(cancelled.id()).ok());
  ASSERT_EQ(ev.ended.size(), 3u);
  EXPECT_EQ(ev.ended[2].first, v1::CANCELLED);
  EXPECT_EQ(ev.ended[2].second, absl::ZeroDuration()) << "it never started";
}

}  // namespace
}  // namespace goalkeeper

namespace goalkeeper {
namespace {

// Issue 12: a profile's UDP services are pairs of the scan (the coordinator
// numbers them as the workers do), the request may override the profile's
// probe mode and UDP services, and an unknown service is refused naming it.
TEST_F(ScanManagerTest, UdpServicesArePairsOfTheScanAndTheRequestOverridesTheProfile) {
  config_.profiles["udp"] = ProfileConfig{"22,80", 300, 1, 0, "all", {"dns", "snmp"}};
  Open();
  v1::StartScanRequest req;
  req.mutable_targets()->add_include("127.80.0.0/28");
  req.set_profile("udp");
  auto scan = manager_->StartScan(req, "");
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_EQ(scan->probes_total(), 16u * 4);  // 2 TCP + 2 UDP ports
  EXPECT_EQ(scan->profile().probes(), v1::PROBE_MODE_ALL);
  EXPECT_THAT(std::vector<std::string>(scan->profile().udp_services().begin(),
                                       scan->profile().udp_services().end()),
              ::testing::ElementsAre("dns", "snmp"));
  // The shard carries them: a worker rebuilds the same space.
  v1::Shard shard = Lease("w1");
  ASSERT_FALSE(shard.lease_id().empty());
  EXPECT_EQ(shard.profile().udp_services_size(), 2);
  auto space = ProbeSpaceFromProfile(shard.targets(), shard.profile(), shard.slice().seed());
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_EQ(space->size(), 64u);
  // A UDP finding of a pair of the scan is accepted; of a UDP port the
  // profile does not probe, refused.
  v1::ReportFindingsRequest rf;
  rf.set_worker_id("w1");
  rf.set_worker_token(Token("w1"));
  rf.set_lease_id(shard.lease_id());
  v1::ProbeResult* r = rf.add_results();
  r->set_ip("127.80.0.3");
  r->set_port(53);
  r->set_transport(v1::TRANSPORT_UDP);
  r->set_state(v1::PROBE_STATE_OPEN);
  r->set_service("DNS");
  r->set_verified(true);
  r->mutable_evidence()->set_amplification(12.5);
  const std::optional<uint64_t> index = space->IndexOf(
      {*IpAddress::Parse("127.80.0.3"), 53, probes::Transport::kUdp});
  ASSERT_TRUE(index.has_value());
  ASSERT_GE(*index, shard.slice().begin());  // one shard holds the 64 pairs
  ASSERT_LT(*index, shard.slice().end());
  absl::Status stored = manager_->ReportFindings(rf);
  EXPECT_TRUE(stored.ok()) << stored;
  r->set_port(123);  // ntp: not one of the profile's
  absl::Status s = manager_->ReportFindings(rf);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("127.80.0.3:123/udp is not part of scan"));

  // The request's mode and services win over the profile's.
  req.set_probes(v1::PROBE_MODE_NONE);
  req.add_udp_services("ntp");
  auto adhoc = manager_->StartScan(req, "");
  ASSERT_TRUE(adhoc.ok()) << adhoc.status();
  EXPECT_EQ(adhoc->profile().probes(), v1::PROBE_MODE_NONE);
  EXPECT_EQ(adhoc->probes_total(), 16u * 3);
  req.clear_udp_services();
  req.add_udp_services("quic");
  auto bad = manager_->StartScan(req, "");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("udp_services: "));
  EXPECT_THAT(bad.status().message(), HasSubstr("quic"));
}

// What a worker reports about a probe is held to the probe library's
// bounds: INVALID_ARGUMENT naming the field, nothing stored.
TEST_F(ScanManagerTest, ProbeFieldsOutOfBoundsAreRefusedNamingTheField) {
  v1::Scan scan = Start("127.80.0.1", "6379");
  v1::Shard shard = Lease("w1");
  ASSERT_FALSE(shard.lease_id().empty());
  auto report = [&](const std::function<void(v1::ProbeResult&)>& change) {
    v1::ReportFindingsRequest rf;
    rf.set_worker_id("w1");
    rf.set_worker_token(Token("w1"));
    rf.set_lease_id(shard.lease_id());
    v1::ProbeResult* r = rf.add_results();
    r->set_ip("127.80.0.1");
    r->set_port(6379);
    r->set_state(v1::PROBE_STATE_OPEN);
    r->set_service("Redis");
    r->set_verified(true);
    change(*r);
    return manager_->ReportFindings(rf);
  };
  auto refused = [&](const std::function<void(v1::ProbeResult&)>& change,
                     const std::string& message) {
    absl::Status s = report(change);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << message;
    EXPECT_THAT(s.message(), HasSubstr(message));
  };
  refused([](v1::ProbeResult& r) { r.mutable_evidence()->set_banner(std::string(200, 'a')); },
          "results[0].evidence.banner: 200 bytes, at most 128");
  refused([](v1::ProbeResult& r) { r.mutable_evidence()->set_version("7.0\r\nBcc: x"); },
          "results[0].evidence.version: ");
  refused(
      [](v1::ProbeResult& r) {
        for (int i = 0; i < 9; ++i) r.mutable_evidence()->add_facts("a=b");
      },
      "results[0].evidence.facts: 9 facts, at most 8");
  refused([](v1::ProbeResult& r) { r.mutable_evidence()->set_amplification(-1); },
          "results[0].evidence.amplification: ");
  refused([](v1::ProbeResult& r) { r.set_service("Totally Redis <script>"); },
          "results[0].service: ");
  refused([](v1::ProbeResult& r) { r.set_transport(static_cast<v1::Transport>(7)); },
          "results[0].transport: 7 is not TCP (0) or UDP (1)");
  EXPECT_EQ(manager_->GetScan(scan.id())->findings(), 0u);
  // Within bounds: stored, with its evidence.
  ASSERT_TRUE(report([](v1::ProbeResult& r) {
                r.mutable_evidence()->set_version("7.0.15");
                r.mutable_evidence()->set_auth(v1::AUTH_STATE_NOT_REQUIRED);
              }).ok());
  auto page = manager_->FindingsPage(scan.id(), nullptr, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].service(), "Redis");
  EXPECT_EQ((*page)[0].evidence().version(), "7.0.15");
}

// A pair of an earlier scan whose port this scan did not probe (another
// port set, UDP services left out) is not reported closed: it stays an
// exposure of the scope.
TEST_F(ScanManagerTest, AnExposureOnAPortThisScanDidNotProbeIsNotReportedClosed) {
  v1::StartScanRequest req;
  req.set_inventory("lab");
  req.set_profile("lab");
  req.mutable_ports()->set_spec("22,80");
  auto first = manager_->StartScan(req, "");
  ASSERT_TRUE(first.ok()) << first.status();
  RunToEnd("w1", {{"127.80.0.5", 22}, {"127.80.0.6", 80}});
  clock_.Advance(absl::Hours(1));
  req.mutable_ports()->set_spec("22");  // port 80 left out this time
  auto second = manager_->StartScan(req, "");
  ASSERT_TRUE(second.ok()) << second.status();
  RunToEnd("w1", {});
  auto done = manager_->GetScan(second->id());
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state(), v1::SUCCEEDED);
  auto exposures = store_->Exposures("lab");
  ASSERT_TRUE(exposures.ok());
  EXPECT_EQ(exposures->count({"127.80.0.6", 80}), 1u) << "kept: not probed";
  EXPECT_EQ(exposures->count({"127.80.0.5", 22}), 0u) << "closed: probed, not open";
}

}  // namespace
}  // namespace goalkeeper
