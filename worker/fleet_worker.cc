#include "worker/fleet_worker.h"

#include <chrono>
#include <deque>
#include <functional>
#include <list>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_channel.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "goalkeeper/v1/coordinator.grpc.pb.h"
#include "worker/proto_convert.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED || code == grpc::StatusCode::ABORTED ||
         code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNKNOWN;
}

// Calls `rpc(ctx)` until it succeeds, fails permanently, `give_up` passes, or
// `stop` is notified (when given). Backoff doubles from 50 ms to 1 s, with
// jitter, so a restarted coordinator gets its workers back within a second.
template <typename Rpc>
grpc::Status CallWithRetry(const char* what, Rpc rpc, const absl::Notification* stop,
                           absl::Duration give_up) {
  const absl::Time end = absl::Now() + give_up;
  absl::Duration backoff = absl::Milliseconds(50);
  thread_local absl::BitGen jitter;
  bool warned = false;
  for (;;) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status s = rpc(ctx);
    if (s.ok() || !Retryable(s.error_code())) {
      if (warned && s.ok()) MakeLogger("worker")->info("coordinator reachable again");
      return s;
    }
    if (!warned) {
      MakeLogger("worker")->warn("{} failed, retrying: {}", what, s.error_message());
      warned = true;
    }
    if (absl::Now() + backoff > end) return s;
    const absl::Duration wait = backoff * absl::Uniform(jitter, 0.8, 1.2);
    if (stop != nullptr) {
      if (stop->WaitForNotificationWithTimeout(wait)) return s;
    } else {
      absl::SleepFor(wait);
    }
    backoff = std::min(backoff * 2, absl::Seconds(1));
  }
}

// Sends open ports of one lease in acknowledged batches; blocks the engine
// when a batch is already waiting (flow control).
class FindingUploader : public ResultSink {
 public:
  // `on_failure` runs (on the sender thread) when the coordinator refuses the
  // findings for good: the shard should stop.
  FindingUploader(v1::ShardService::Stub& stub, std::string worker_id, std::string worker_token,
                  std::string lease_id, size_t batch_size, std::function<void()> on_failure)
      : stub_(stub),
        worker_id_(std::move(worker_id)),
        worker_token_(std::move(worker_token)),
        lease_id_(std::move(lease_id)),
        batch_size_(batch_size),
        on_failure_(std::move(on_failure)),
        sender_([this] { SendLoop(); }) {}
  ~FindingUploader() override { Finish().IgnoreError(); }

  void OnResult(const ProbeResult& r) override {
    if (r.state != ProbeState::kOpen) return;
    absl::MutexLock lock(&mu_);
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return queue_.size() < 2 * batch_size_ || !status_.ok();
    };
    mu_.Await(absl::Condition(&room));
    if (!status_.ok()) return;
    queue_.push_back(ToProto(r));
  }

  // Flushes what is queued and stops the sender; the first permanent error.
  absl::Status Finish() {
    {
      absl::MutexLock lock(&mu_);
      finishing_ = true;
    }
    if (sender_.joinable()) sender_.join();
    absl::MutexLock lock(&mu_);
    return status_;
  }

  uint64_t sent() {
    absl::MutexLock lock(&mu_);
    return sent_;
  }

 private:
  void SendLoop() {
    for (;;) {
      v1::ReportFindingsRequest req;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return !queue_.empty() || finishing_;
        };
        mu_.Await(absl::Condition(&ready));
        if (queue_.empty()) return;  // finishing and flushed
        while (!queue_.empty() && static_cast<size_t>(req.results_size()) < batch_size_) {
          *req.add_results() = std::move(queue_.front());
          queue_.pop_front();
        }
      }
      req.set_worker_id(worker_id_);
      req.set_worker_token(worker_token_);
      req.set_lease_id(lease_id_);
      v1::ReportFindingsResponse resp;
      grpc::Status s = CallWithRetry(
          "ReportFindings",
          [&](grpc::ClientContext& ctx) { return stub_.ReportFindings(&ctx, req, &resp); },
          nullptr, absl::Minutes(10));
      if (!s.ok()) {
        {
          absl::MutexLock lock(&mu_);
          status_ = FromGrpcStatus(s);
          queue_.clear();
        }
        on_failure_();
        return;
      }
      absl::MutexLock lock(&mu_);
      sent_ += static_cast<uint64_t>(req.results_size());
    }
  }

  v1::ShardService::Stub& stub_;
  const std::string worker_id_;
  const std::string worker_token_;
  const std::string lease_id_;
  const size_t batch_size_;
  const std::function<void()> on_failure_;
  absl::Mutex mu_;
  std::deque<v1::ProbeResult> queue_ ABSL_GUARDED_BY(mu_);
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  uint64_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread sender_;  // last: starts after the members it uses
};

}  // namespace

// A shard is pipelined: while one shard's last probes wait for their
// deadlines, the next one is leased and its probes already run in the same
// engine (ScanSlice), so a worker never idles between shards. Each shard has
// a finisher thread that waits for its slice, flushes its findings and
// completes (or hands back) its lease; one heartbeat thread extends every
// lease the worker holds.
class FleetWorker::Impl {
 public:
  explicit Impl(FleetWorkerOptions options)
      : options_(std::move(options)),
        stub_(v1::ShardService::NewStub(MakeChannel(
            options_.coordinator, ChannelOptions{.fast_reconnect = true}))) {
    absl::BitGen gen;
    worker_id_ = absl::StrFormat("%s-%06x", options_.name.empty() ? "worker" : options_.name,
                                 absl::Uniform<uint32_t>(gen, 0u, 1u << 24));
  }

  absl::Status Run() {
    auto log = MakeLogger("worker");
    if (!Register()) return absl::OkStatus();  // stopped before registering
    log->info("worker registered id={} coordinator={}", worker_id_, options_.coordinator);
    absl::Notification run_done;
    std::thread heartbeat([&] { HeartbeatLoop(run_done); });
    while (!stop_.HasBeenNotified()) {
      ReapFinished();
      if (!WantsWork()) {
        stop_.WaitForNotificationWithTimeout(absl::Milliseconds(10));
        continue;
      }
      v1::LeaseShardRequest req;
      req.set_worker_id(worker_id_);
      req.set_worker_token(worker_token_);
      v1::LeaseShardResponse resp;
      grpc::Status s = CallWithRetry(
          "LeaseShard", [&](grpc::ClientContext& ctx) { return stub_->LeaseShard(&ctx, req, &resp); },
          &stop_, absl::InfiniteDuration());
      if (s.ok() && resp.has_shard() && stop_.HasBeenNotified()) {
        Complete(resp.shard(), 0, /*handed_back=*/true);  // leased while stopping
        break;
      }
      if (stop_.HasBeenNotified()) break;
      if (!s.ok()) {
        log->error("LeaseShard failed: {}", s.error_message());
        stop_.WaitForNotificationWithTimeout(absl::Seconds(1));
        continue;
      }
      if (!resp.has_shard()) {
        stop_.WaitForNotificationWithTimeout(
            absl::Milliseconds(std::max<uint32_t>(resp.retry_after_ms(), 50)));
        continue;
      }
      StartShard(resp.shard());
    }
    // Stopping: no new probes; what is in flight ends, findings are flushed
    // and every lease is completed or handed back by its finisher.
    CancelAll();
    if (engine_ != nullptr) StopEngine();
    std::list<std::unique_ptr<ActiveShard>> left;
    {
      absl::MutexLock lock(&mu_);
      left.swap(active_);
    }
    for (auto& a : left) a->finisher.join();
    run_done.Notify();
    heartbeat.join();
    log->info("worker stopped id={}", worker_id_);
    return absl::OkStatus();
  }

  void Stop() { if (!stop_.HasBeenNotified()) stop_.Notify(); }

 private:
  // Leases held at once, at most. The worker leases only when its engine is
  // about to run out of probes to start, so it never hoards; but each shard
  // ends with a tail of up to timeout x (retries + 1) in which it still holds
  // its lease, so with small shards (8192 probes at first) several tails
  // overlap. A low cap (3 was tried) starves the engine during them.
  static constexpr size_t kMaxShards = 16;

  struct ActiveShard {
    v1::Shard shard;
    std::unique_ptr<FindingUploader> uploader;
    std::shared_ptr<ScanSlice> slice;
    std::atomic<bool> lease_lost{false};
    uint64_t heartbeat_reported = 0;  // probes told to the coordinator (heartbeat thread)
    absl::Notification finished;      // the lease was completed, handed back or lost
    std::thread finisher;
  };

  bool Register() {
    v1::RegisterWorkerRequest req;
    req.set_name(options_.name);
    req.set_worker_id(worker_id_);
    req.set_concurrency(static_cast<uint32_t>(options_.concurrency));
    req.set_worker_token(worker_token_);
    v1::RegisterWorkerResponse resp;
    while (!stop_.HasBeenNotified()) {
      grpc::Status s = CallWithRetry(
          "RegisterWorker",
          [&](grpc::ClientContext& ctx) { return stub_->RegisterWorker(&ctx, req, &resp); },
          &stop_, absl::InfiniteDuration());
      if (s.ok()) {
        worker_token_ = resp.worker_token();
        if (resp.heartbeat_interval_ms() > 0) heartbeat_ = absl::Milliseconds(resp.heartbeat_interval_ms());
        return true;
      }
      if (!stop_.HasBeenNotified()) {
        MakeLogger("worker")->error("RegisterWorker refused: {}", s.error_message());
        stop_.WaitForNotificationWithTimeout(absl::Seconds(5));
      }
    }
    return false;
  }

  // True when the worker should lease: it holds no shard, or the engine is
  // about to run out of probes to start (every slot busy with the tail of the
  // current shards) and the prefetch bound allows one more.
  bool WantsWork() {
    {
      absl::MutexLock lock(&mu_);
      if (active_.empty()) return true;
      if (active_.size() >= kMaxShards) return false;
    }
    return engine_ != nullptr && engine_->remaining() < options_.concurrency;
  }

  // Joins the finishers of shards whose lease is settled.
  void ReapFinished() {
    std::list<std::unique_ptr<ActiveShard>> done;
    {
      absl::MutexLock lock(&mu_);
      for (auto it = active_.begin(); it != active_.end();) {
        if ((*it)->finished.HasBeenNotified()) {
          done.splice(done.end(), active_, it++);
        } else {
          ++it;
        }
      }
    }
    for (auto& a : done) a->finisher.join();
  }

  void CancelAll() {
    absl::MutexLock lock(&mu_);
    for (auto& a : active_) a->slice->Cancel();
  }

  EngineOptions OptionsFor(const v1::Shard& shard) const {
    EngineOptions eo;
    eo.concurrency = options_.concurrency;
    eo.threads = options_.threads;
    eo.timeout = std::chrono::milliseconds(shard.profile().timeout_ms() > 0 ? shard.profile().timeout_ms() : 500);
    eo.retries = shard.profile().retries();
    eo.rate = shard.profile().rate();
    if (options_.max_rate > 0 && (eo.rate <= 0 || eo.rate > options_.max_rate)) {
      eo.rate = options_.max_rate;
    }
    return eo;
  }

  static bool SameOptions(const EngineOptions& a, const EngineOptions& b) {
    return a.concurrency == b.concurrency && a.threads == b.threads && a.timeout == b.timeout &&
           a.retries == b.retries && a.rate == b.rate;
  }

  // Lets the running engine finish its slices and joins its threads.
  void StopEngine() {
    engine_->CloseInput();
    absl::Status s = engine_->Wait();
    if (!s.ok()) MakeLogger("worker")->error("scan engine failed: {}", s.message());
    engine_.reset();
  }

  void StartShard(const v1::Shard& shard) {
    auto log = MakeLogger("worker");
    auto space = ProbeSpaceFromProto(shard.targets(), shard.profile().ports(), shard.slice().seed());
    const uint64_t begin = shard.slice().begin();
    const uint64_t end = shard.slice().end();
    if (!space.ok() || end > space->size() || begin > end) {
      log->error("shard is not scannable lease={} scan={}: {}", shard.lease_id(), shard.scan_id(),
                 space.ok() ? "slice outside the probe space" : space.status().message());
      Complete(shard, 0, /*handed_back=*/true);
      stop_.WaitForNotificationWithTimeout(absl::Seconds(5));
      return;
    }
    // One engine runs shards of one profile; another profile (or an engine
    // that failed) waits for the current shards to end.
    const EngineOptions eo = OptionsFor(shard);
    if (engine_ != nullptr && (!SameOptions(eo, engine_options_) || engine_->cancelled())) {
      StopEngine();
    }
    if (engine_ == nullptr) {
      auto engine = std::make_unique<ScanEngine>(eo);
      if (absl::Status s = engine->Start(); !s.ok()) {
        log->error("cannot start the scan engine lease={}: {}", shard.lease_id(), s.message());
        Complete(shard, 0, /*handed_back=*/true);
        stop_.WaitForNotificationWithTimeout(absl::Seconds(5));
        return;
      }
      engine_ = std::move(engine);
      engine_options_ = eo;
    }
    auto a = std::make_unique<ActiveShard>();
    ActiveShard* raw = a.get();
    a->shard = shard;
    // The callback runs only after results arrived, so after `slice` is set.
    a->uploader = std::make_unique<FindingUploader>(*stub_, worker_id_, worker_token_,
                                                    shard.lease_id(),
                                                    options_.batch_size,
                                                    [raw] { raw->slice->Cancel(); });
    a->slice = std::make_shared<ScanSlice>(
        std::make_shared<const ProbeSpace>(*std::move(space)), begin, end, *a->uploader);
    log->info("shard start scan={} lease={} slice=[{}, {}) probes={}", shard.scan_id(),
              shard.lease_id(), begin, end, end - begin);
    {
      absl::MutexLock lock(&mu_);
      active_.push_back(std::move(a));
    }
    engine_->Submit(raw->slice);
    raw->finisher = std::thread([this, raw] { FinishShard(*raw); });
  }

  // Waits for the shard's probes, flushes its findings, then completes the
  // lease (every probe reported) or hands it back (cancelled or stopping).
  void FinishShard(ActiveShard& a) {
    auto log = MakeLogger("worker");
    a.slice->WaitDone();
    const absl::Status upload = a.uploader->Finish();
    const v1::Shard& shard = a.shard;
    if (!upload.ok()) {
      log->warn("findings not accepted lease={}: {}; the shard will be redone elsewhere",
                shard.lease_id(), upload.message());
    } else if (!a.lease_lost.load()) {
      const bool finished = a.slice->reported() == a.slice->size();
      Complete(shard, finished ? a.slice->size() : 0, /*handed_back=*/!finished);
      log->info("shard {} scan={} lease={} probes={} open={}", finished ? "done" : "handed back",
                shard.scan_id(), shard.lease_id(), a.slice->reported(), a.slice->open());
    }
    a.finished.Notify();
  }

  // Extends every lease held, every heartbeat interval, and reports probes
  // done since the previous beat. A lease the coordinator says is gone stops
  // its shard. On Stop, cancels the shards so they are handed back.
  void HeartbeatLoop(absl::Notification& run_done) {
    auto log = MakeLogger("worker");
    absl::Time next = absl::Now() + heartbeat_;
    bool stopping = false;
    while (!run_done.WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
      if (stop_.HasBeenNotified() && !stopping) {
        stopping = true;
        log->info("stopping: handing back the shards in progress");
        CancelAll();
      }
      if (absl::Now() < next) continue;
      next = absl::Now() + heartbeat_;
      v1::HeartbeatRequest req;
      req.set_worker_id(worker_id_);
      req.set_worker_token(worker_token_);
      std::vector<std::pair<ActiveShard*, uint64_t>> beats;
      uint64_t delta = 0;
      {
        absl::MutexLock lock(&mu_);
        for (auto& a : active_) {
          if (a->finished.HasBeenNotified()) continue;
          const uint64_t reported = a->slice->reported();
          delta += reported - a->heartbeat_reported;
          beats.emplace_back(a.get(), reported);
          req.add_lease_ids(a->shard.lease_id());
        }
      }
      if (beats.empty()) continue;
      req.set_probes_done(delta);
      v1::HeartbeatResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      grpc::Status s = stub_->Heartbeat(&ctx, req, &resp);
      if (!s.ok()) {
        log->warn("heartbeat failed: {}", s.error_message());  // the lease outlives a blip
        continue;
      }
      absl::MutexLock lock(&mu_);
      for (auto& [a, reported] : beats) a->heartbeat_reported = reported;
      for (const std::string& id : resp.cancelled_lease_ids()) {
        for (auto& a : active_) {
          if (a->shard.lease_id() != id || a->finished.HasBeenNotified()) continue;
          log->warn("lease lost lease={} scan={}: stopping the shard", id, a->shard.scan_id());
          a->lease_lost.store(true);
          a->slice->Cancel();
        }
      }
    }
  }

  void Complete(const v1::Shard& shard, uint64_t probes, bool handed_back) {
    v1::CompleteShardRequest req;
    req.set_worker_id(worker_id_);
    req.set_worker_token(worker_token_);
    req.set_lease_id(shard.lease_id());
    req.set_probes_done(probes);
    req.set_handed_back(handed_back);
    v1::CompleteShardResponse resp;
    // While stopping, give the coordinator a bounded time: if it is away, the
    // lease simply expires and the shard is redone elsewhere.
    grpc::Status s = CallWithRetry(
        "CompleteShard",
        [&](grpc::ClientContext& ctx) { return stub_->CompleteShard(&ctx, req, &resp); }, nullptr,
        stop_.HasBeenNotified() ? absl::Seconds(20) : absl::Minutes(10));
    if (!s.ok()) {
      MakeLogger("worker")->warn("CompleteShard failed lease={}: {}", shard.lease_id(),
                                 s.error_message());
    }
  }

  FleetWorkerOptions options_;
  std::unique_ptr<v1::ShardService::Stub> stub_;
  std::string worker_id_;
  std::string worker_token_;  // from RegisterWorker; set before any other call
  absl::Duration heartbeat_ = absl::Seconds(5);
  absl::Notification stop_;
  // Used by the Run thread only.
  std::unique_ptr<ScanEngine> engine_;
  EngineOptions engine_options_;
  absl::Mutex mu_;
  std::list<std::unique_ptr<ActiveShard>> active_ ABSL_GUARDED_BY(mu_);
};

FleetWorker::FleetWorker(FleetWorkerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
FleetWorker::~FleetWorker() = default;
absl::Status FleetWorker::Run() { return impl_->Run(); }
void FleetWorker::Stop() { impl_->Stop(); }

}  // namespace goalkeeper
