// Canaries (coordinator config `canaries:`) and the DEGRADED state: the
// config's checks, and ScanManager with a fake clock over a real store: a
// missed canary ends the scan DEGRADED, its report says nothing closed, the
// next diff's base skips it.
#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "coordinator/config.h"
#include "coordinator/scan_manager.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/coordinator/confirmation_helper.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kBase[] = "allowed_ranges: [10.0.0.0/8]\n";

std::string ErrorOf(const std::string& yaml) {
  absl::StatusOr<CoordinatorConfig> c = ParseCoordinatorConfig(yaml, "coordinator.yaml");
  if (c.ok()) return "<parsed without error>";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << c.status();
  return std::string(c.status().message());
}

TEST(CanaryConfigTest, ParsesCanariesWithDefaultsAndFormatsThemBack) {
  const std::string yaml = std::string(kBase) +
                           "canaries:\n"
                           "  - {address: 10.0.0.9, port: 6379}\n"
                           "  - {address: 10.0.0.10, port: 53, protocol: udp, expect: closed}\n";
  absl::StatusOr<CoordinatorConfig> c = ParseCoordinatorConfig(yaml, "coordinator.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->canaries.size(), 2u);
  EXPECT_EQ(c->canaries[0], (CanaryConfig{"10.0.0.9", 6379, "tcp", "open"}));
  EXPECT_EQ(c->canaries[1], (CanaryConfig{"10.0.0.10", 53, "udp", "closed"}));
  const std::string text = FormatCoordinatorConfig(*c);
  EXPECT_THAT(text, HasSubstr("- {address: \"10.0.0.9\", port: 6379, protocol: tcp, expect: "
                              "open}"));
  absl::StatusOr<CoordinatorConfig> again = ParseCoordinatorConfig(text, "check-config");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << text;
  EXPECT_EQ(*again, *c);
}

TEST(CanaryConfigTest, RefusesBadCanariesNamingTheValue) {
  EXPECT_THAT(ErrorOf(std::string(kBase) + "canaries: [{address: 192.0.2.1, port: 80}]\n"),
              HasSubstr("canaries[0].address: 192.0.2.1 is outside allowed_ranges"));
  EXPECT_THAT(ErrorOf(std::string(kBase) + "canaries: [{address: 10.0.0.1, port: 70000}]\n"),
              HasSubstr("70000"));
  EXPECT_THAT(ErrorOf(std::string(kBase) + "canaries: [{address: nohost, port: 80}]\n"),
              HasSubstr("'nohost' is not an IP address"));
  EXPECT_THAT(
      ErrorOf(std::string(kBase) + "canaries: [{address: 10.0.0.1, port: 80, protocol: sctp}]\n"),
      HasSubstr("expected tcp or udp, got 'sctp'"));
  EXPECT_THAT(
      ErrorOf(std::string(kBase) + "canaries: [{address: 10.0.0.1, port: 80, expect: maybe}]\n"),
      HasSubstr("expected open or closed, got 'maybe'"));
  EXPECT_THAT(ErrorOf(std::string(kBase) + "canaries: [{address: 10.0.0.1}]\n"),
              HasSubstr("missing required key 'port'"));
  EXPECT_THAT(ErrorOf(std::string(kBase) + "canaries: [{address: 10.0.0.1, port: 1, x: 2}]\n"),
              HasSubstr("unknown key 'x'"));
  std::string many = std::string(kBase) + "canaries:\n";
  for (int i = 0; i < 65; ++i) {
    many += "  - {address: 10.0.0." + std::to_string(i + 1) + ", port: 80}\n";
  }
  EXPECT_THAT(ErrorOf(many), HasSubstr("at most 64 canaries"));
}

class CanaryManagerTest : public ::testing::Test {
 protected:
  CanaryManagerTest() : clock_(absl::FromUnixSeconds(1'800'000'000)) {
    db_ = ::testing::TempDir() + "/canary-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    unlink(db_.c_str());
    config_.allowed_ranges = {"127.81.0.0/16"};
    config_.inventories["lab"].targets = {"127.81.0.0/28"};
    config_.profiles["lab"] = ProfileConfig{"22,80", 300, 1, 0, "verify", {}};
    config_.lease = {10, 2, 5, 2};
    // Expected open (and seen only when the scan finds it), expected closed,
    // and one outside every scan's pairs here.
    config_.canaries = {{"127.81.0.9", 80, "tcp", "open"},
                        {"127.81.0.10", 22, "tcp", "closed"},
                        {"127.81.1.1", 80, "tcp", "open"}};
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

  const std::string& Token(const std::string& worker) {
    auto it = tokens_.find(worker);
    if (it != tokens_.end()) return it->second;
    v1::RegisterWorkerRequest req;
    req.set_worker_id(worker);
    auto r = manager_->RegisterWorker(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return tokens_[worker] = r.ok() ? r->worker_token() : "";
  }

  // Runs a scan of the inventory to its end as one worker that finds `open`.
  v1::Scan Run(const std::vector<std::pair<std::string, uint32_t>>& open) {
    v1::StartScanRequest start;
    start.set_inventory("lab");
    start.set_profile("lab");
    auto scan = manager_->StartScan(start, "");
    EXPECT_TRUE(scan.ok()) << scan.status();
    for (int i = 0; i < 100; ++i) {
      v1::LeaseShardRequest lr;
      lr.set_worker_id("w1");
      lr.set_worker_token(Token("w1"));
      auto lease = manager_->LeaseShard(lr);
      EXPECT_TRUE(lease.ok()) << lease.status();
      if (!lease.ok() || lease->shard().lease_id().empty()) break;
      v1::ReportFindingsRequest rf;
      rf.set_worker_id("w1");
      rf.set_worker_token(Token("w1"));
      rf.set_lease_id(lease->shard().lease_id());
      if (lease->shard().confirm_indices_size() > 0) {
        // Confirmation: the pairs are as the scan found them.
        const std::set<std::pair<std::string, uint32_t>> now(open.begin(), open.end());
        for (const v1::ProbeResult& r : StableConfirmation(lease->shard(), now)) {
          *rf.add_results() = r;
        }
      } else {
        for (const auto& [ip, port] : open) {
          v1::ProbeResult* r = rf.add_results();
          r->set_ip(ip);
          r->set_port(port);
          r->set_state(v1::PROBE_STATE_OPEN);
        }
      }
      EXPECT_TRUE(manager_->ReportFindings(rf).ok());
      v1::CompleteShardRequest cr;
      cr.set_worker_id("w1");
      cr.set_worker_token(Token("w1"));
      cr.set_lease_id(lease->shard().lease_id());
      EXPECT_TRUE(manager_->CompleteShard(cr).ok());
    }
    clock_.Advance(absl::Hours(1));
    auto done = manager_->GetScan(scan->id());
    EXPECT_TRUE(done.ok()) << done.status();
    return *done;
  }

  v1::ScanReport ReportOf(const std::string& id) {
    auto due = manager_->DueReports(100);
    EXPECT_TRUE(due.ok()) << due.status();
    for (const ReportRow& r : *due) {
      if (r.scan_id == id) return r.report;
    }
    ADD_FAILURE() << "no report for " << id;
    return {};
  }

  std::map<std::string, v1::ExposureStatus> ExposuresOf(const std::string& id) {
    auto e = manager_->ReportExposures(id, 0, 1000);
    EXPECT_TRUE(e.ok()) << e.status();
    std::map<std::string, v1::ExposureStatus> out;
    for (const v1::Exposure& x : *e) out[x.ip() + ":" + std::to_string(x.port())] = x.status();
    return out;
  }

  FakeClock clock_;
  CoordinatorConfig config_;
  std::string db_;
  std::unique_ptr<ScanStore> store_;
  std::unique_ptr<ScanManager> manager_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(CanaryManagerTest, CanariesAsExpectedLeaveTheScanSucceeded) {
  v1::Scan scan = Run({{"127.81.0.9", 80}, {"127.81.0.1", 22}});
  EXPECT_EQ(scan.state(), v1::SUCCEEDED);
  ASSERT_EQ(scan.canaries_size(), 3);
  EXPECT_EQ(scan.canaries(0).seen(), v1::PROBE_STATE_OPEN);
  EXPECT_FALSE(scan.canaries(0).missed());
  EXPECT_EQ(scan.canaries(1).seen(), v1::PROBE_STATE_CLOSED);  // no finding = not open
  EXPECT_FALSE(scan.canaries(1).missed());
  // Outside the scan's pairs: not probed, never missed.
  EXPECT_EQ(scan.canaries(2).seen(), v1::PROBE_STATE_UNSPECIFIED);
  EXPECT_FALSE(scan.canaries(2).missed());
  v1::ScanReport report = ReportOf(scan.id());
  EXPECT_FALSE(report.degraded());
  EXPECT_EQ(report.missed_canaries_size(), 0);
}

TEST_F(CanaryManagerTest, AMissedCanaryDegradesTheScanAndSuppressesClosed) {
  v1::Scan first = Run({{"127.81.0.9", 80}, {"127.81.0.1", 22}, {"127.81.0.2", 80}});
  ASSERT_EQ(first.state(), v1::SUCCEEDED);
  // The canary 127.81.0.9:80 is not seen, nor is 127.81.0.2:80 (closed? the
  // run cannot tell), a closed-expected canary answers.
  v1::Scan second = Run({{"127.81.0.1", 22}, {"127.81.0.3", 22}, {"127.81.0.10", 22}});
  EXPECT_EQ(second.state(), v1::DEGRADED);
  ASSERT_EQ(second.canaries_size(), 3);
  EXPECT_TRUE(second.canaries(0).missed());
  EXPECT_EQ(second.canaries(0).seen(), v1::PROBE_STATE_CLOSED);
  EXPECT_TRUE(second.canaries(1).missed());
  EXPECT_EQ(second.canaries(1).seen(), v1::PROBE_STATE_OPEN);
  EXPECT_FALSE(second.canaries(2).missed());

  v1::ScanReport report = ReportOf(second.id());
  EXPECT_TRUE(report.degraded());
  EXPECT_THAT(report.missed_canaries(), ElementsAre("127.81.0.9:80/tcp", "127.81.0.10:22/tcp"));
  std::map<std::string, v1::ExposureStatus> exposures = ExposuresOf(second.id());
  for (const auto& [key, status] : exposures) EXPECT_NE(status, v1::CLOSED) << key;
  EXPECT_EQ(exposures["127.81.0.3:22"], v1::NEW);
  EXPECT_EQ(exposures["127.81.0.1:22"], v1::STILL_OPEN);
  EXPECT_EQ(report.exposure_count(), exposures.size());

  // The canary results survive a restart (they are stored with the scan),
  // and list summaries carry them.
  Open();
  auto again = manager_->GetScan(second.id());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->state(), v1::DEGRADED);
  ASSERT_EQ(again->canaries_size(), 3);
  EXPECT_TRUE(again->canaries(0).missed());
  auto listed = manager_->ListScans(10, "lab");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].state(), v1::DEGRADED);
  EXPECT_EQ((*listed)[0].canaries_size(), 3);
  EXPECT_EQ(manager_->Stats().scans_by_state[v1::DEGRADED], 1u);

  // The next good run compares with the last SUCCEEDED scan, never the
  // DEGRADED one: what the degraded run could not see is closed now, once.
  v1::Scan third = Run({{"127.81.0.9", 80}, {"127.81.0.1", 22}});
  ASSERT_EQ(third.state(), v1::SUCCEEDED);
  EXPECT_EQ(ReportOf(third.id()).base_scan_id(), first.id());
  auto diff = manager_->DiffScan(third.id(), "");
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->base_scan_id(), first.id());
  std::map<std::string, v1::ExposureStatus> third_exposures = ExposuresOf(third.id());
  EXPECT_EQ(third_exposures["127.81.0.2:80"], v1::CLOSED);  // kept through the degraded run
  EXPECT_EQ(third_exposures["127.81.0.3:22"], v1::CLOSED);
  EXPECT_EQ(third_exposures["127.81.0.9:80"], v1::STILL_OPEN);
}

struct EndedEvents : ManagerEvents {
  void ScanEnded(v1::ScanState state, absl::Duration) override { ended.push_back(state); }
  std::vector<v1::ScanState> ended;
};

TEST_F(CanaryManagerTest, ADegradedEndIsReportedToTheMetricsObserver) {
  EndedEvents events;
  manager_->SetEvents(&events);
  Run({});
  EXPECT_THAT(events.ended, ElementsAre(v1::DEGRADED));
  manager_->SetEvents(nullptr);
}

// Confirmation without canaries: two workers, a worker per call.
class ConfirmationTest : public CanaryManagerTest {
 protected:
  ConfirmationTest() {
    config_.canaries.clear();
    Open();
  }

  absl::StatusOr<v1::LeaseShardResponse> LeaseAs(const std::string& worker) {
    v1::LeaseShardRequest lr;
    lr.set_worker_id(worker);
    lr.set_worker_token(Token(worker));
    return manager_->LeaseShard(lr);
  }
  absl::Status ReportAs(const std::string& worker, const v1::Shard& shard,
                        const std::vector<v1::ProbeResult>& results) {
    v1::ReportFindingsRequest rf;
    rf.set_worker_id(worker);
    rf.set_worker_token(Token(worker));
    rf.set_lease_id(shard.lease_id());
    for (const v1::ProbeResult& r : results) *rf.add_results() = r;
    return manager_->ReportFindings(rf);
  }
  absl::Status CompleteAs(const std::string& worker, const v1::Shard& shard) {
    v1::CompleteShardRequest cr;
    cr.set_worker_id(worker);
    cr.set_worker_token(Token(worker));
    cr.set_lease_id(shard.lease_id());
    return manager_->CompleteShard(cr);
  }
  static v1::ProbeResult Open(const std::string& ip, uint32_t port) {
    v1::ProbeResult r;
    r.set_ip(ip);
    r.set_port(port);
    r.set_state(v1::PROBE_STATE_OPEN);
    return r;
  }
  using CanaryManagerTest::Open;
  // A heartbeat without leases: the worker is live.
  void Seen(const std::string& worker) {
    v1::HeartbeatRequest hb;
    hb.set_worker_id(worker);
    hb.set_worker_token(Token(worker));
    ASSERT_TRUE(manager_->Heartbeat(hb).ok());
  }

  // Starts a scan of the inventory and runs its main shards as `worker`,
  // which finds `open`; returns the scan id.
  std::string RunMain(const std::string& worker, const std::vector<v1::ProbeResult>& open) {
    v1::StartScanRequest start;
    start.set_inventory("lab");
    start.set_profile("lab");
    auto scan = manager_->StartScan(start, "");
    EXPECT_TRUE(scan.ok()) << scan.status();
    for (int i = 0; i < 100; ++i) {
      auto lease = LeaseAs(worker);
      EXPECT_TRUE(lease.ok());
      if (!lease.ok() || !lease->has_shard()) break;
      if (lease->shard().confirm_indices_size() > 0) {
        ADD_FAILURE() << "a confirmation shard went to the worker that found the changes";
        break;
      }
      EXPECT_TRUE(ReportAs(worker, lease->shard(), open).ok());
      EXPECT_TRUE(CompleteAs(worker, lease->shard()).ok());
    }
    return scan->id();
  }
};

TEST_F(ConfirmationTest, ChangesAreConfirmedByAnotherWorkerAndFlapsAreNotReported) {
  Token("w2");  // a second live worker
  const std::string first =
      RunMain("w1", {Open("127.81.0.1", 22), Open("127.81.0.2", 80), Open("127.81.0.3", 22)});
  // Confirmation of the first scan's three new pairs: never to w1 (it found
  // them) while w2 lives.
  auto none = LeaseAs("w1");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_shard());
  EXPECT_EQ(manager_->GetScan(first)->state(), v1::RUNNING) << "the report waits";
  auto confirm = LeaseAs("w2");
  ASSERT_TRUE(confirm.ok());
  ASSERT_EQ(confirm->shard().confirm_indices_size(), 3);
  // 127.81.0.3:22 is not open again: a flap. Only confirm indices count.
  ASSERT_TRUE(
      ReportAs("w2", confirm->shard(), {Open("127.81.0.1", 22), Open("127.81.0.2", 80)}).ok());
  const absl::Status outside = ReportAs("w2", confirm->shard(), {Open("127.81.0.4", 80)});
  EXPECT_EQ(outside.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(outside.message(), HasSubstr("is not one of its confirm_indices"));
  ASSERT_TRUE(CompleteAs("w2", confirm->shard()).ok());
  auto done = manager_->GetScan(first);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state(), v1::SUCCEEDED);
  EXPECT_EQ(done->confirmations(), 2u);
  EXPECT_EQ(done->flaps(), 1u);
  v1::ScanReport report = ReportOf(first);
  EXPECT_EQ(report.flap_count(), 1u);
  ASSERT_EQ(report.flaps_size(), 1);
  EXPECT_EQ(report.flaps(0).ip(), "127.81.0.3");
  EXPECT_EQ(report.flaps(0).status(), v1::NEW);
  std::map<std::string, v1::ExposureStatus> exposures = ExposuresOf(first);
  EXPECT_EQ(exposures.size(), 2u);
  EXPECT_EQ(exposures["127.81.0.1:22"], v1::NEW);
  EXPECT_EQ(exposures.count("127.81.0.3:22"), 0u) << "a flap is not reported as new";
  // The operators' diff says the same: the flap is not among the new pairs.
  auto diff = manager_->DiffScan(first, "");
  ASSERT_TRUE(diff.ok()) << diff.status();
  ASSERT_EQ(diff->new_open_size(), 2);
  for (const v1::DiffEntry& e : diff->new_open()) EXPECT_NE(e.ip(), "127.81.0.3");
  ASSERT_EQ(diff->flapped_new_size(), 1);
  EXPECT_EQ(diff->flapped_new(0).ip(), "127.81.0.3");
  EXPECT_EQ(diff->flapped_closed_size(), 0);

  // Second scan: 127.81.0.2:80 not found (closed?) but open again at
  // confirmation: a flap, it stays an exposure; 127.81.0.1:22 stays open.
  clock_.Advance(absl::Hours(1));
  Seen("w2");
  const std::string second = RunMain("w1", {Open("127.81.0.1", 22)});
  auto c2 = LeaseAs("w2");
  ASSERT_TRUE(c2.ok());
  ASSERT_EQ(c2->shard().confirm_indices_size(), 1);
  ASSERT_TRUE(ReportAs("w2", c2->shard(), {Open("127.81.0.2", 80)}).ok());
  ASSERT_TRUE(CompleteAs("w2", c2->shard()).ok());
  EXPECT_EQ(manager_->GetScan(second)->flaps(), 1u);
  v1::ScanReport report2 = ReportOf(second);
  ASSERT_EQ(report2.flaps_size(), 1);
  EXPECT_EQ(report2.flaps(0).status(), v1::CLOSED);
  for (const auto& [key, status] : ExposuresOf(second)) EXPECT_NE(status, v1::CLOSED) << key;
  auto diff2 = manager_->DiffScan(second, "");
  ASSERT_TRUE(diff2.ok()) << diff2.status();
  EXPECT_EQ(diff2->closed_size(), 0);
  ASSERT_EQ(diff2->flapped_closed_size(), 1);
  EXPECT_EQ(diff2->flapped_closed(0).ip(), "127.81.0.2");
  EXPECT_EQ(diff2->flapped_closed(0).port(), 80u);

  // Third scan: 127.81.0.2:80 gone and confirmed gone: closed, reported.
  clock_.Advance(absl::Hours(1));
  Seen("w2");
  const std::string third = RunMain("w1", {Open("127.81.0.1", 22)});
  auto c3 = LeaseAs("w2");
  ASSERT_TRUE(c3.ok());
  ASSERT_EQ(c3->shard().confirm_indices_size(), 1);
  ASSERT_TRUE(CompleteAs("w2", c3->shard()).ok());
  EXPECT_EQ(manager_->GetScan(third)->confirmations(), 1u);
  EXPECT_EQ(ExposuresOf(third)["127.81.0.2:80"], v1::CLOSED);
  auto diff3 = manager_->DiffScan(third, "");
  ASSERT_TRUE(diff3.ok()) << diff3.status();
  ASSERT_EQ(diff3->closed_size(), 1) << "a confirmed close is a close";
  EXPECT_EQ(diff3->closed(0).ip(), "127.81.0.2");
  EXPECT_EQ(diff3->flapped_closed_size(), 0);
}

TEST_F(ConfirmationTest, TheOnlyWorkerConfirmsAfterAShortWaitAndAnExpiredLeaseReturns) {
  Token("w2");
  const std::string id = RunMain("w1", {Open("127.81.0.5", 80)});
  // w2 takes the confirmation and vanishes: its lease expires and the
  // shard returns; w2 is forgotten, so w1 (the only worker) gets it.
  auto lost = LeaseAs("w2");
  ASSERT_TRUE(lost.ok());
  ASSERT_EQ(lost->shard().confirm_indices_size(), 1);
  for (int i = 0; i < 4; ++i) {
    clock_.Advance(absl::Seconds(11));
    Seen("w1");
    manager_->Tick();
  }
  auto again = LeaseAs("w1");
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->shard().confirm_indices_size(), 1);
  EXPECT_EQ(again->shard().confirm_indices(0), lost->shard().confirm_indices(0));
  ASSERT_TRUE(ReportAs("w1", again->shard(), {Open("127.81.0.5", 80)}).ok());
  ASSERT_TRUE(CompleteAs("w1", again->shard()).ok());
  EXPECT_EQ(manager_->GetScan(id)->state(), v1::SUCCEEDED);
  EXPECT_EQ(ExposuresOf(id)["127.81.0.5:80"], v1::NEW);
}

TEST_F(ConfirmationTest, ARestartDuringConfirmationResumesItWithWhatWasSeen) {
  Token("w2");
  const std::string id = RunMain("w1", {Open("127.81.0.6", 80), Open("127.81.0.7", 22)});
  auto c = LeaseAs("w2");
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->shard().confirm_indices_size(), 2);
  ASSERT_TRUE(ReportAs("w2", c->shard(), {Open("127.81.0.6", 80)}).ok());
  // The coordinator restarts before the shard completes: the confirmation
  // resumes (the lease is re-queued), what was already seen is kept.
  Open();
  tokens_.clear();
  EXPECT_EQ(manager_->GetScan(id)->state(), v1::RUNNING);
  EXPECT_EQ(manager_->Stats().shards_pending, 1u);
  auto again = LeaseAs("w3");
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->shard().confirm_indices_size(), 2);
  ASSERT_TRUE(CompleteAs("w3", again->shard()).ok());  // nothing open this time
  auto done = manager_->GetScan(id);
  EXPECT_EQ(done->state(), v1::SUCCEEDED);
  EXPECT_EQ(done->confirmations(), 1u);  // 127.81.0.6:80, seen before the restart
  EXPECT_EQ(done->flaps(), 1u);
  std::map<std::string, v1::ExposureStatus> exposures = ExposuresOf(id);
  EXPECT_EQ(exposures.size(), 1u);
  EXPECT_EQ(exposures["127.81.0.6:80"], v1::NEW);
}

TEST_F(CanaryManagerTest, ADegradedScanConfirmsNewPairsButNotClosedOnes) {
  Run({{"127.81.0.9", 80}, {"127.81.0.1", 22}});
  clock_.Advance(absl::Hours(1));
  // Missed canary 127.81.0.9:80 (a closed pair: not confirmed, not reported);
  // 127.81.0.4:22 new: confirmed.
  v1::Scan second = Run({{"127.81.0.1", 22}, {"127.81.0.4", 22}});
  EXPECT_EQ(second.state(), v1::DEGRADED);
  EXPECT_EQ(second.confirmations(), 1u);
  EXPECT_EQ(second.flaps(), 0u);
}

}  // namespace
}  // namespace goalkeeper
