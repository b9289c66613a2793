#include "worker/fleet_worker.h"

#include <chrono>
#include <deque>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
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
  FindingUploader(v1::ShardService::Stub& stub, std::string worker_id, std::string lease_id,
                  size_t batch_size, ScanEngine& engine)
      : stub_(stub),
        worker_id_(std::move(worker_id)),
        lease_id_(std::move(lease_id)),
        batch_size_(batch_size),
        engine_(engine),
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
      req.set_lease_id(lease_id_);
      v1::ReportFindingsResponse resp;
      grpc::Status s = CallWithRetry(
          "ReportFindings",
          [&](grpc::ClientContext& ctx) { return stub_.ReportFindings(&ctx, req, &resp); },
          nullptr, absl::Minutes(10));
      absl::MutexLock lock(&mu_);
      if (!s.ok()) {
        status_ = FromGrpcStatus(s);
        queue_.clear();
        engine_.Cancel();
        return;
      }
      sent_ += static_cast<uint64_t>(req.results_size());
    }
  }

  v1::ShardService::Stub& stub_;
  const std::string worker_id_;
  const std::string lease_id_;
  const size_t batch_size_;
  ScanEngine& engine_;
  absl::Mutex mu_;
  std::deque<v1::ProbeResult> queue_ ABSL_GUARDED_BY(mu_);
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  uint64_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread sender_;  // last: starts after the members it uses
};

// Reconnect quickly when the coordinator comes back (gRPC's default backoff
// starts at 1 s and grows to 2 minutes).
grpc::ChannelArguments ChannelArgs() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return args;
}

}  // namespace

class FleetWorker::Impl {
 public:
  explicit Impl(FleetWorkerOptions options)
      : options_(std::move(options)),
        stub_(v1::ShardService::NewStub(grpc::CreateCustomChannel(
            options_.coordinator, grpc::InsecureChannelCredentials(), ChannelArgs()))) {
    absl::BitGen gen;
    worker_id_ = absl::StrFormat("%s-%06x", options_.name.empty() ? "worker" : options_.name,
                                 absl::Uniform<uint32_t>(gen, 0u, 1u << 24));
  }

  absl::Status Run() {
    auto log = MakeLogger("worker");
    if (!Register()) return absl::OkStatus();  // stopped before registering
    log->info("worker registered id={} coordinator={}", worker_id_, options_.coordinator);
    while (!stop_.HasBeenNotified()) {
      v1::LeaseShardRequest req;
      req.set_worker_id(worker_id_);
      v1::LeaseShardResponse resp;
      grpc::Status s = CallWithRetry(
          "LeaseShard", [&](grpc::ClientContext& ctx) { return stub_->LeaseShard(&ctx, req, &resp); },
          &stop_, absl::InfiniteDuration());
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
      RunShard(resp.shard());
    }
    log->info("worker stopped id={}", worker_id_);
    return absl::OkStatus();
  }

  void Stop() { if (!stop_.HasBeenNotified()) stop_.Notify(); }

 private:
  bool Register() {
    v1::RegisterWorkerRequest req;
    req.set_name(options_.name);
    req.set_worker_id(worker_id_);
    req.set_concurrency(static_cast<uint32_t>(options_.concurrency));
    v1::RegisterWorkerResponse resp;
    while (!stop_.HasBeenNotified()) {
      grpc::Status s = CallWithRetry(
          "RegisterWorker",
          [&](grpc::ClientContext& ctx) { return stub_->RegisterWorker(&ctx, req, &resp); },
          &stop_, absl::InfiniteDuration());
      if (s.ok()) {
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

  void RunShard(const v1::Shard& shard) {
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
    EngineOptions eo;
    eo.concurrency = options_.concurrency;
    eo.threads = options_.threads;
    eo.timeout = std::chrono::milliseconds(shard.profile().timeout_ms() > 0 ? shard.profile().timeout_ms() : 500);
    eo.retries = shard.profile().retries();
    eo.rate = shard.profile().rate();
    if (options_.max_rate > 0 && (eo.rate <= 0 || eo.rate > options_.max_rate)) {
      eo.rate = options_.max_rate;
    }
    ScanEngine engine(eo);
    log->info("shard start scan={} lease={} slice=[{}, {}) probes={}", shard.scan_id(),
              shard.lease_id(), begin, end, end - begin);

    std::atomic<bool> lease_lost{false};
    absl::Notification shard_done;
    std::thread heartbeat([&] {
      uint64_t reported = 0;
      absl::Time next = absl::Now() + heartbeat_;
      while (!shard_done.HasBeenNotified()) {
        if (stop_.HasBeenNotified() && !engine.cancelled()) {
          log->info("stopping: handing back lease={}", shard.lease_id());
          engine.Cancel();
        }
        if (absl::Now() < next) {
          shard_done.WaitForNotificationWithTimeout(absl::Milliseconds(100));
          continue;
        }
        next = absl::Now() + heartbeat_;
        v1::HeartbeatRequest req;
        req.set_worker_id(worker_id_);
        req.add_lease_ids(shard.lease_id());
        const uint64_t done = engine.counters().done.load();
        req.set_probes_done(done - reported);
        v1::HeartbeatResponse resp;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        grpc::Status s = stub_->Heartbeat(&ctx, req, &resp);
        if (!s.ok()) {
          log->warn("heartbeat failed: {}", s.error_message());  // the lease outlives a blip
          continue;
        }
        reported = done;
        for (const std::string& id : resp.cancelled_lease_ids()) {
          if (id == shard.lease_id()) {
            log->warn("lease lost lease={} scan={}: stopping the shard", id, shard.scan_id());
            lease_lost.store(true);
            engine.Cancel();
          }
        }
      }
    });

    absl::Status run;
    absl::Status upload;
    {
      FindingUploader uploader(*stub_, worker_id_, shard.lease_id(), options_.batch_size, engine);
      run = engine.Run(*space, begin, end, uploader);
      upload = uploader.Finish();
    }
    shard_done.Notify();
    heartbeat.join();

    if (!upload.ok()) {
      log->warn("findings not accepted lease={}: {}; the shard will be redone elsewhere",
                shard.lease_id(), upload.message());
      return;
    }
    if (lease_lost.load()) return;
    const bool finished = run.ok() && !engine.cancelled();
    if (!run.ok()) log->error("scan engine failed lease={}: {}", shard.lease_id(), run.message());
    Complete(shard, finished ? end - begin : 0, /*handed_back=*/!finished);
    log->info("shard {} scan={} lease={} probes={} open={}", finished ? "done" : "handed back",
              shard.scan_id(), shard.lease_id(), engine.counters().done.load(),
              engine.counters().open.load());
  }

  void Complete(const v1::Shard& shard, uint64_t probes, bool handed_back) {
    v1::CompleteShardRequest req;
    req.set_worker_id(worker_id_);
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
  absl::Duration heartbeat_ = absl::Seconds(5);
  absl::Notification stop_;
};

FleetWorker::FleetWorker(FleetWorkerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
FleetWorker::~FleetWorker() = default;
absl::Status FleetWorker::Run() { return impl_->Run(); }
void FleetWorker::Stop() { impl_->Stop(); }

}  // namespace goalkeeper
