// An in-memory CoordinatorClient for worker tests: hands out the shards a
// test queued, records every call, and answers heartbeats with the lost
// leases and scan rates a test set.
//
//   auto fake = std::make_unique<FakeCoordinatorClient>();
//   FakeCoordinatorClient* coordinator = fake.get();
//   coordinator->AddShard(shard);
//   FleetWorker worker(options, std::move(fake));
//   ... coordinator->heartbeats(), coordinator->completed() ...
//
// Thread-safety: thread-safe.
#ifndef GOALKEEPER_TESTS_TESTING_FAKE_COORDINATOR_CLIENT_H_
#define GOALKEEPER_TESTS_TESTING_FAKE_COORDINATOR_CLIENT_H_

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/coordinator_client.h"

namespace goalkeeper::testing {

class FakeCoordinatorClient : public CoordinatorClient {
 public:
  static constexpr char kToken[] = "token-1";

  explicit FakeCoordinatorClient(uint32_t heartbeat_interval_ms = 1000)
      : heartbeat_interval_ms_(heartbeat_interval_ms) {}

  // --- set up by the test ---
  void AddShard(goalkeeper::v1::Shard shard) {
    absl::MutexLock lock(&mu_);
    shards_.push_back(std::move(shard));
  }
  // Sent in every later heartbeat answer (scan_rates).
  void SetScanRate(const std::string& scan_id, double rate) {
    absl::MutexLock lock(&mu_);
    rates_[scan_id] = rate;
  }
  // The next Lease call fails with `status` (say, NOT_FOUND: an unknown
  // worker after a coordinator restart).
  void FailNextLease(absl::Status status) {
    absl::MutexLock lock(&mu_);
    lease_failure_ = std::move(status);
  }
  // Reported lost in the next heartbeat answer that names it.
  void LoseLease(const std::string& lease_id) {
    absl::MutexLock lock(&mu_);
    lost_.push_back(lease_id);
  }

  // --- what the worker did ---
  int leased() const {
    absl::MutexLock lock(&mu_);
    return leased_;
  }
  std::vector<goalkeeper::v1::RegisterWorkerRequest> registrations() const {
    absl::MutexLock lock(&mu_);
    return registrations_;
  }
  std::vector<goalkeeper::v1::HeartbeatRequest> heartbeats() const {
    absl::MutexLock lock(&mu_);
    return heartbeats_;
  }
  std::vector<goalkeeper::v1::CompleteShardRequest> completed() const {
    absl::MutexLock lock(&mu_);
    return completed_;
  }
  std::vector<goalkeeper::v1::ReportFindingsRequest> reports() const {
    absl::MutexLock lock(&mu_);
    return reports_;
  }
  // "report LEASE" and "complete LEASE", in the order the calls came.
  std::vector<std::string> events() const {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  // Calls that carried a token other than kToken (registration excepted).
  int bad_tokens() const {
    absl::MutexLock lock(&mu_);
    return bad_tokens_;
  }
  // Polls `done` until it holds or `timeout` (real time) passes.
  static bool Eventually(const std::function<bool()>& done,
                         absl::Duration timeout = absl::Seconds(30)) {
    const absl::Time end = absl::Now() + timeout;
    while (!done()) {
      if (absl::Now() > end) return false;
      absl::SleepFor(absl::Milliseconds(2));
    }
    return true;
  }

  // --- CoordinatorClient ---
  absl::StatusOr<goalkeeper::v1::RegisterWorkerResponse> Register(
      const goalkeeper::v1::RegisterWorkerRequest& req) override {
    absl::MutexLock lock(&mu_);
    registrations_.push_back(req);
    goalkeeper::v1::RegisterWorkerResponse resp;
    resp.set_worker_id(req.worker_id());
    resp.set_heartbeat_interval_ms(heartbeat_interval_ms_);
    resp.set_worker_token(kToken);
    return resp;
  }
  absl::StatusOr<goalkeeper::v1::LeaseShardResponse> Lease(
      const goalkeeper::v1::LeaseShardRequest& req) override {
    absl::MutexLock lock(&mu_);
    CheckToken(req.worker_token());
    if (!lease_failure_.ok()) {
      absl::Status s = std::move(lease_failure_);
      lease_failure_ = absl::OkStatus();
      return s;
    }
    goalkeeper::v1::LeaseShardResponse resp;
    if (shards_.empty()) {
      resp.set_retry_after_ms(50);
      return resp;
    }
    *resp.mutable_shard() = std::move(shards_.front());
    shards_.pop_front();
    ++leased_;
    return resp;
  }
  absl::StatusOr<goalkeeper::v1::HeartbeatResponse> Heartbeat(
      const goalkeeper::v1::HeartbeatRequest& req) override {
    absl::MutexLock lock(&mu_);
    CheckToken(req.worker_token());
    heartbeats_.push_back(req);
    goalkeeper::v1::HeartbeatResponse resp;
    for (const std::string& id : req.lease_ids()) {
      for (const std::string& lost : lost_) {
        if (id == lost) resp.add_cancelled_lease_ids(id);
      }
    }
    for (const auto& [scan_id, rate] : rates_) {
      goalkeeper::v1::ScanRate* r = resp.add_scan_rates();
      r->set_scan_id(scan_id);
      r->set_rate(rate);
    }
    return resp;
  }
  absl::Status ReportFindings(const goalkeeper::v1::ReportFindingsRequest& req) override {
    absl::MutexLock lock(&mu_);
    CheckToken(req.worker_token());
    reports_.push_back(req);
    events_.push_back("report " + req.lease_id());
    return absl::OkStatus();
  }
  absl::Status Complete(const goalkeeper::v1::CompleteShardRequest& req) override {
    absl::MutexLock lock(&mu_);
    CheckToken(req.worker_token());
    completed_.push_back(req);
    events_.push_back("complete " + req.lease_id());
    return absl::OkStatus();
  }

 private:
  void CheckToken(const std::string& token) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (token != kToken) ++bad_tokens_;
  }

  const uint32_t heartbeat_interval_ms_;
  mutable absl::Mutex mu_;
  std::deque<goalkeeper::v1::Shard> shards_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, double> rates_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> lost_ ABSL_GUARDED_BY(mu_);
  absl::Status lease_failure_ ABSL_GUARDED_BY(mu_);
  std::vector<goalkeeper::v1::RegisterWorkerRequest> registrations_ ABSL_GUARDED_BY(mu_);
  int leased_ ABSL_GUARDED_BY(mu_) = 0;
  int bad_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<goalkeeper::v1::HeartbeatRequest> heartbeats_ ABSL_GUARDED_BY(mu_);
  std::vector<goalkeeper::v1::CompleteShardRequest> completed_ ABSL_GUARDED_BY(mu_);
  std::vector<goalkeeper::v1::ReportFindingsRequest> reports_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

}  // namespace goalkeeper::testing

#endif  // GOALKEEPER_TESTS_TESTING_FAKE_COORDINATOR_CLIENT_H_
