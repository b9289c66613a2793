#include "worker/fleet_worker.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <list>
#include <map>
#include <thread>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "engine/pacer.h"
#include "engine/scan_engine.h"
#include "goalkeeper/v1/coordinator.pb.h"
#include "worker/proto_convert.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

bool Retryable(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded ||
         code == absl::StatusCode::kResourceExhausted || code == absl::StatusCode::kAborted ||
         code == absl::StatusCode::kInternal || code == absl::StatusCode::kUnknown;
}

// The coordinator does not know this worker (it restarted without it, or
// the token is not the one it holds): register again, then retry.
bool UnknownWorker(const absl::Status& s) {
  return s.code() == absl::StatusCode::kNotFound || s.code() == absl::StatusCode::kUnauthenticated;
}

// The call did not reach the coordinator (or got no answer in time).
bool Unreachable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded;
}

const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace

// A shard is pipelined: while one shard's last probes wait for their
// deadlines, the next one is leased and its probes already run in the same
// engine (ScanSlice), so a worker never idles between shards.
class FleetWorker::Impl {
 public:
  Impl(FleetWorkerOptions options, std::unique_ptr<CoordinatorClient> client)
      : options_(std::move(options)),
        client_(client != nullptr ? std::move(client)
                                  : NewGrpcCoordinatorClient(options_.coordinator, options_.tls)),
        clock_(options_.clock != nullptr ? options_.clock : &system_clock_),
        node_pacer_(std::make_shared<Pacer>(options_.max_rate)) {
    absl::BitGen gen;
    worker_id_ = absl::StrFormat("%s-%06x", options_.name.empty() ? "worker" : options_.name,
                                 absl::Uniform<uint32_t>(gen, 0u, 1u << 24));
  }

  absl::Status Run() {
    auto log = MakeLogger("worker");
    if (!Register()) return absl::OkStatus();  // stopped before registering
    log->info("worker registered id={} coordinator={}", worker_id_, options_.coordinator);
    std::thread heartbeat([this] { HeartbeatLoop(); });
    std::thread reporter([this] { ReportLoop(); });
    while (!stop_.HasBeenNotified()) {
      if (!WantsWork()) {
        stop_.WaitForNotificationWithTimeout(absl::Milliseconds(10));
        continue;
      }
      v1::LeaseShardRequest req;
      req.set_worker_id(worker_id_);
      absl::StatusOr<v1::LeaseShardResponse> resp = Call(
          "LeaseShard",
          [&] {
            req.set_worker_token(Token());
            return client_->Lease(req);
          },
          &stop_, absl::InfiniteDuration());
      if (resp.ok() && resp->has_shard() && stop_.HasBeenNotified()) {
        Complete(resp->shard().lease_id(), 0, /*handed_back=*/true);  // leased while stopping
        shards_handed_back_.fetch_add(1);
        break;
      }
      if (stop_.HasBeenNotified()) break;
      if (!resp.ok()) {
        log->error("LeaseShard failed: {}", resp.status().message());
        stop_.WaitForNotificationWithTimeout(absl::Seconds(1));
        continue;
      }
      if (!resp->has_shard()) {
        stop_.WaitForNotificationWithTimeout(
            absl::Milliseconds(std::max<uint32_t>(resp->retry_after_ms(), 50)));
        continue;
      }
      StartShard(resp->shard());
    }
    // Stopping: no new probes; what is in flight ends, the findings are
    // flushed and every lease is completed or handed back by the reporter.
    CancelAll();
    if (engine_ != nullptr) StopEngine();
    {
      absl::MutexLock lock(&mu_);
      reporter_exit_ = true;
    }
    reporter.join();
    run_done_.Notify();
    heartbeat.join();
    log->info("worker stopped id={}", worker_id_);
    return absl::OkStatus();
  }

  void Stop() {
    if (!stop_.HasBeenNotified()) stop_.Notify();
  }

  FleetWorkerStats Stats() {
    FleetWorkerStats s;
    s.probes = probe_counters_;
    s.shards_completed = shards_completed_.load();
    s.shards_handed_back = shards_handed_back_.load();
    s.leases_lost = leases_lost_.load();
    absl::MutexLock lock(&mu_);
    double scans = 0;
    bool uncapped = false;
    for (const auto& [scan_id, pacer] : scan_pacers_) {
      if (pacer->rate() > 0) {
        scans += pacer->rate();
      } else {
        uncapped = true;
      }
    }
    // The node's cap bounds the sum of the scans' shares; an uncapped scan
    // leaves only the node's.
    const double node = node_pacer_->rate();
    if (uncapped || scan_pacers_.empty()) scans = 0;
    s.applied_rate = node > 0 && (scans <= 0 || scans > node) ? node : scans;
    return s;
  }

 private:
  // Leases held at once, at most. The worker leases only when its engine is
  // about to run out of probes to start, so it never hoards; but each shard
  // ends with a tail of up to timeout x (retries + 1) in which it still holds
  // its lease, so with small shards (8192 probes at first) several tails
  // overlap. A low cap (3 was tried) starves the engine during them.
  static constexpr size_t kMaxShards = 16;
  // A rate-bound scan is topped up when less than this much of its work is
  // left at its pace.
  static constexpr double kPacedLeadSeconds = 1.0;

  // One lease from LeaseShard to its settlement. It is the result sink of
  // its slice. The fields below `shard` are guarded by Impl::mu_.
  struct ActiveShard : public ResultSink {
    ActiveShard(Impl& w, v1::Shard s) : worker(w), shard(std::move(s)) {}
    void OnResult(const ProbeResult& r) override { worker.Enqueue(*this, r); }

    Impl& worker;
    const v1::Shard shard;
    std::shared_ptr<ScanSlice> slice;   // null until started
    bool unstartable = false;           // no slice will come: hand it back
    bool lease_lost = false;            // the coordinator says it is gone
    bool upload_failed = false;         // findings refused for good
    bool settling = false;              // the reporter is completing it
    std::deque<v1::ProbeResult> queue;  // open ports not sent yet
    size_t in_flight = 0;               // findings of the batch being sent
    uint64_t heartbeat_reported = 0;    // probes told to the coordinator
  };

  // Calls `fn` until it succeeds, fails permanently, `give_up` passes, or
  // `stop` is notified (when given). Backoff doubles from 50 ms to 1 s, with
  // jitter, so a restarted coordinator gets its workers back within a
  // second. A coordinator that does not know the worker gets it registered
  // again (once per call) when `reregister`.
  template <typename Fn>
  auto Call(const char* what, Fn fn, const absl::Notification* stop, absl::Duration give_up,
            bool reregister = true) -> decltype(fn()) {
    const absl::Time end = clock_->Now() + give_up;
    absl::Duration backoff = absl::Milliseconds(50);
    thread_local absl::BitGen jitter;
    bool warned = false;
    bool registered_again = false;
    for (;;) {
      auto result = fn();
      const absl::Status& s = StatusOf(result);
      NoteReachability(s);
      if (s.ok()) {
        if (warned) MakeLogger("worker")->info("coordinator reachable again");
        return result;
      }
      if (reregister && !registered_again && UnknownWorker(s)) {
        MakeLogger("worker")->warn(
            "{}: the coordinator does not know this worker ({}); "
            "registering again",
            what, s.message());
        registered_again = true;
        if (Register()) continue;
        return result;
      }
      if (!Retryable(s.code())) return result;
      if (!warned) {
        MakeLogger("worker")->warn("{} failed, retrying: {}", what, s.message());
        warned = true;
      }
      if (clock_->Now() + backoff > end) return result;
      const absl::Duration wait = backoff * absl::Uniform(jitter, 0.8, 1.2);
      if (stop != nullptr) {
        if (stop->WaitForNotificationWithTimeout(wait)) return result;
      } else {
        absl::SleepFor(wait);
      }
      backoff = std::min(backoff * 2, absl::Seconds(1));
    }
  }

  std::string Token() {
    absl::MutexLock lock(&mu_);
    return token_;
  }

  // Tells options_.on_reachable when a call's outcome changes what is known:
  // reachable after any success (every call but Register needs the worker to
  // be registered, and a success only follows registration), unreachable
  // after a transport failure. Other errors were answers: no change.
  void NoteReachability(const absl::Status& s) {
    if (!options_.on_reachable) return;
    int now;
    if (s.ok()) {
      now = 1;
    } else if (Unreachable(s)) {
      now = 0;
    } else {
      return;
    }
    absl::MutexLock lock(&reachable_mu_);
    if (reachable_ == now) return;
    reachable_ = now;
    options_.on_reachable(now == 1);  // under the lock: changes are told in order
  }

  // Registers (again, after a coordinator restart: with the id and token of
  // the first registration). False when stopped first.
  bool Register() {
    absl::MutexLock one_at_a_time(&register_mu_);
    v1::RegisterWorkerRequest req;
    req.set_name(options_.name);
    req.set_worker_id(worker_id_);
    req.set_concurrency(static_cast<uint32_t>(options_.concurrency));
    while (!stop_.HasBeenNotified()) {
      absl::StatusOr<v1::RegisterWorkerResponse> resp = Call(
          "RegisterWorker",
          [&] {
            req.set_worker_token(Token());
            return client_->Register(req);
          },
          &stop_, absl::InfiniteDuration(), /*reregister=*/false);
      if (resp.ok()) {
        absl::MutexLock lock(&mu_);
        if (!resp->worker_token().empty()) token_ = resp->worker_token();
        if (resp->heartbeat_interval_ms() > 0) {
          heartbeat_ = absl::Milliseconds(resp->heartbeat_interval_ms());
        }
        return true;
      }
      if (!stop_.HasBeenNotified()) {
        MakeLogger("worker")->error("RegisterWorker refused: {}", resp.status().message());
        stop_.WaitForNotificationWithTimeout(absl::Seconds(5));
      }
    }
    return false;
  }

  // True when the worker should lease: it holds no shard, or the engine is
  // about to run out of probes to start (every slot busy with the tail of the
  // current shards) and the prefetch bound allows one more. A rate-bound
  // scan with over a second of probes left at its pace needs no more: its
  // slots idle because of its rate, not for want of work.
  bool WantsWork() {
    {
      absl::MutexLock lock(&mu_);
      if (active_.empty()) return true;
      if (active_.size() >= kMaxShards) return false;
      std::map<std::string, uint64_t> left;  // scan -> probes not started
      for (const auto& a : active_) {
        if (a->slice != nullptr) left[a->shard.scan_id()] += a->slice->remaining();
      }
      bool running_low = false;
      for (const auto& [scan_id, probes] : left) {
        auto it = scan_pacers_.find(scan_id);
        double rate = it != scan_pacers_.end() ? it->second->rate() : 0;
        if (node_pacer_->rate() > 0 && (rate <= 0 || rate > node_pacer_->rate())) {
          rate = node_pacer_->rate();
        }
        if (rate <= 0 || static_cast<double>(probes) < rate * kPacedLeadSeconds) {
          running_low = true;
        }
      }
      if (!left.empty() && !running_low) return false;
    }
    return engine_ != nullptr && engine_->remaining() < options_.concurrency;
  }

  void CancelAll() {
    absl::MutexLock lock(&mu_);
    cancel_all_ = true;
    for (auto& a : active_) {
      if (a->slice != nullptr) a->slice->Cancel();
    }
  }

  // Engines differ only in what the probes of a slice need (deadline,
  // retries); rates are pacers, which change without a new engine.
  EngineOptions OptionsFor(const v1::Shard& shard) const {
    EngineOptions eo;
    eo.concurrency = options_.concurrency;
    eo.threads = options_.threads;
    eo.timeout = std::chrono::milliseconds(
        shard.profile().timeout_ms() > 0 ? shard.profile().timeout_ms() : 500);
    eo.retries = shard.profile().retries();
    eo.pacer = node_pacer_;
    eo.counters = probe_counters_;  // lifetime totals across engines
    return eo;
  }

  static bool SameOptions(const EngineOptions& a, const EngineOptions& b) {
    return a.concurrency == b.concurrency && a.threads == b.threads && a.timeout == b.timeout &&
           a.retries == b.retries;
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
    auto owned = std::make_unique<ActiveShard>(*this, shard);
    ActiveShard* a = owned.get();
    std::shared_ptr<Pacer> pacer;
    {
      // Heartbeated from now on, before anything that may block.
      absl::MutexLock lock(&mu_);
      active_.push_back(std::move(owned));
      std::shared_ptr<Pacer>& p = scan_pacers_[shard.scan_id()];
      if (p == nullptr) {
        p = std::make_shared<Pacer>(shard.profile().rate());
      } else if (p->rate() != shard.profile().rate()) {
        p->SetRate(shard.profile().rate());  // the coordinator's latest word
      }
      pacer = p;
    }
    // The profile's UDP services are pairs of the space as the coordinator
    // numbers it.
    auto space = ProbeSpaceFromProfile(shard.targets(), shard.profile(), shard.slice().seed());
    const uint64_t begin = shard.slice().begin();
    const uint64_t end = shard.slice().end();
    // A confirmation shard: exactly its indices of the same space.
    const std::vector<uint64_t> confirm(shard.confirm_indices().begin(),
                                        shard.confirm_indices().end());
    bool confirm_ok = true;
    for (uint64_t i : confirm) confirm_ok = confirm_ok && space.ok() && i < space->size();
    if (!space.ok() || end > space->size() || begin > end || !confirm_ok) {
      log->error("shard is not scannable lease={} scan={}: {}", shard.lease_id(), shard.scan_id(),
                 !space.ok()   ? space.status().message()
                 : !confirm_ok ? "a confirm index outside the probe space"
                               : "slice outside the probe space");
      MarkUnstartable(*a);
      stop_.WaitForNotificationWithTimeout(absl::Seconds(5));
      return;
    }
    // Another deadline or retry count (or an engine that failed) waits for
    // the current shards to end; the new lease is heartbeated meanwhile.
    const EngineOptions eo = OptionsFor(shard);
    if (engine_ != nullptr && (!SameOptions(eo, engine_->options()) || engine_->cancelled())) {
      StopEngine();
    }
    if (engine_ == nullptr) {
      auto engine = std::make_unique<ScanEngine>(eo);
      if (absl::Status s = engine->Start(); !s.ok()) {
        log->error("cannot start the scan engine lease={}: {}", shard.lease_id(), s.message());
        MarkUnstartable(*a);
        stop_.WaitForNotificationWithTimeout(absl::Seconds(5));
        return;
      }
      engine_ = std::move(engine);
    }
    ProbeOptions probes;
    probes.mode = ProbeModeFromProto(shard.profile().probes());
    probes.timeout = options_.probe_timeout;
    probes.udp = options_.udp_probe;
    auto shared_space = std::make_shared<const ProbeSpace>(*std::move(space));
    auto slice = confirm.empty()
                     ? std::make_shared<ScanSlice>(shared_space, begin, end, *a, pacer, probes)
                     : std::make_shared<ScanSlice>(shared_space, confirm, *a, pacer, probes);
    if (confirm.empty()) {
      log->info(
          "shard start scan={} lease={} slice=[{}, {}) probes={} rate={} probe_mode={} udp={}",
          shard.scan_id(), shard.lease_id(), begin, end, end - begin, pacer->rate(),
          ProbeModeName(probes.mode), shard.profile().udp_services_size());
    } else {
      log->info("confirmation shard start scan={} lease={} probes={} rate={} probe_mode={}",
                shard.scan_id(), shard.lease_id(), confirm.size(), pacer->rate(),
                ProbeModeName(probes.mode));
    }
    {
      absl::MutexLock lock(&mu_);
      a->slice = slice;
      if (a->lease_lost || cancel_all_) slice->Cancel();
    }
    engine_->Submit(slice);
  }

  void MarkUnstartable(ActiveShard& a) {
    absl::MutexLock lock(&mu_);
    a.unstartable = true;
  }

  // The engine's result callback: queues open ports for the reporter and
  // blocks while too many wait (flow control).
  void Enqueue(ActiveShard& a, const ProbeResult& r) {
    if (r.state != ProbeState::kOpen) return;
    v1::ProbeResult m = ToProto(r);
    absl::MutexLock lock(&mu_);
    auto room = [this, &a]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return queued_ < 2 * options_.batch_size || a.upload_failed || a.lease_lost;
    };
    mu_.Await(absl::Condition(&room));
    if (a.upload_failed || a.lease_lost) return;
    a.queue.push_back(std::move(m));
    ++queued_;
  }

  // True when nothing more will happen to the shard but its settlement.
  static bool Settleable(const ActiveShard& a) {
    if (a.settling || !a.queue.empty() || a.in_flight > 0) return false;
    return a.unstartable || (a.slice != nullptr && a.slice->done());
  }

  // The reporter: sends the findings of every shard, oldest shard first, and
  // settles the shards whose probes are all done, so a shard is completed
  // only after all of its findings were acknowledged.
  void ReportLoop() {
    for (;;) {
      ActiveShard* send = nullptr;
      ActiveShard* settle = nullptr;
      v1::ReportFindingsRequest req;
      {
        absl::MutexLock lock(&mu_);
        for (auto& a : active_) {
          if (!a->queue.empty() && a->in_flight == 0) {
            send = a.get();
            break;
          }
        }
        if (send == nullptr) {
          for (auto& a : active_) {
            if (Settleable(*a)) {
              settle = a.get();
              settle->settling = true;
              break;
            }
          }
        }
        if (send == nullptr && settle == nullptr) {
          if (reporter_exit_ && active_.empty()) return;
          // Slices end on engine threads without a signal: poll for them.
          auto queued = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return queued_ > 0; };
          mu_.AwaitWithTimeout(absl::Condition(&queued), absl::Milliseconds(20));
          continue;
        }
        if (send != nullptr) {
          while (!send->queue.empty() &&
                 static_cast<size_t>(req.results_size()) < options_.batch_size) {
            *req.add_results() = std::move(send->queue.front());
            send->queue.pop_front();
          }
          send->in_flight = static_cast<size_t>(req.results_size());
          queued_ -= send->in_flight;
          req.set_worker_id(worker_id_);
          req.set_lease_id(send->shard.lease_id());
        }
      }
      if (send != nullptr) {
        SendBatch(*send, req);
      } else {
        Settle(*settle);
      }
    }
  }

  void SendBatch(ActiveShard& a, v1::ReportFindingsRequest& req) {
    absl::Status s = Call(
        "ReportFindings",
        [&] {
          req.set_worker_token(Token());
          return client_->ReportFindings(req);
        },
        nullptr, absl::Minutes(10));
    absl::MutexLock lock(&mu_);
    a.in_flight = 0;
    if (!s.ok() && !a.upload_failed) {
      MakeLogger("worker")->warn(
          "findings not accepted lease={}: {}; the shard will be redone "
          "elsewhere",
          a.shard.lease_id(), s.message());
      a.upload_failed = true;
      queued_ -= a.queue.size();
      a.queue.clear();
      if (a.slice != nullptr) a.slice->Cancel();
    }
  }

  // Completes the lease (every probe reported and every finding stored) or
  // hands it back (cancelled, stopping, unstartable), then forgets it.
  void Settle(ActiveShard& a) {
    auto log = MakeLogger("worker");
    bool lost, failed;
    {
      absl::MutexLock lock(&mu_);
      lost = a.lease_lost;
      failed = a.upload_failed;
    }
    const v1::Shard& shard = a.shard;
    if (lost) {
      log->info("shard dropped scan={} lease={}: the lease was lost", shard.scan_id(),
                shard.lease_id());
    } else if (!failed) {
      const bool finished = a.slice != nullptr && a.slice->reported() == a.slice->size();
      Complete(shard.lease_id(), finished ? a.slice->size() : 0, /*handed_back=*/!finished);
      (finished ? shards_completed_ : shards_handed_back_).fetch_add(1);
      log->info("shard {} scan={} lease={} probes={} open={}", finished ? "done" : "handed back",
                shard.scan_id(), shard.lease_id(), a.slice != nullptr ? a.slice->reported() : 0,
                a.slice != nullptr ? a.slice->open() : 0);
    }
    const std::string scan_id = shard.scan_id();  // `a` is deleted below
    absl::MutexLock lock(&mu_);
    bool scan_held = false;
    for (auto it = active_.begin(); it != active_.end();) {
      if (it->get() == &a) {
        it = active_.erase(it);
      } else {
        scan_held = scan_held || (*it)->shard.scan_id() == scan_id;
        ++it;
      }
    }
    if (!scan_held) scan_pacers_.erase(scan_id);
  }

  // Extends every lease held, every heartbeat interval. On Stop, cancels the
  // shards so they are handed back.
  void HeartbeatLoop() {
    absl::Time next = clock_->Now() + HeartbeatInterval();
    bool stopping = false;
    while (!run_done_.WaitForNotificationWithTimeout(absl::Milliseconds(10))) {
      if (stop_.HasBeenNotified() && !stopping) {
        stopping = true;
        MakeLogger("worker")->info("stopping: handing back the shards in progress");
        CancelAll();
      }
      if (clock_->Now() < next) continue;
      next = clock_->Now() + HeartbeatInterval();
      Beat();
    }
  }

  absl::Duration HeartbeatInterval() {
    absl::MutexLock lock(&mu_);
    return heartbeat_;
  }

  // One heartbeat: every lease held (from the moment LeaseShard returned
  // it), the probes done since the last beat and the rates applied. The
  // answer stops lost leases and sets the scans' rates.
  void Beat() {
    auto log = MakeLogger("worker");
    v1::HeartbeatRequest req;
    req.set_worker_id(worker_id_);
    std::map<std::string, uint64_t> reported;  // lease id -> probes reported
    uint64_t delta = 0;
    {
      absl::MutexLock lock(&mu_);
      req.set_worker_token(token_);
      for (auto& a : active_) {
        if (a->lease_lost) continue;
        const uint64_t r = a->slice != nullptr ? a->slice->reported() : 0;
        delta += r - std::min(r, a->heartbeat_reported);
        reported[a->shard.lease_id()] = r;
        req.add_lease_ids(a->shard.lease_id());
      }
      for (const auto& [scan_id, pacer] : scan_pacers_) {
        if (pacer->rate() <= 0) continue;
        v1::ScanRate* applied = req.add_applied_rates();
        applied->set_scan_id(scan_id);
        applied->set_rate(pacer->rate());
      }
    }
    if (reported.empty()) return;
    req.set_probes_done(delta);
    absl::StatusOr<v1::HeartbeatResponse> resp = client_->Heartbeat(req);
    NoteReachability(resp.status());
    if (!resp.ok()) {
      if (UnknownWorker(resp.status())) {
        log->warn("heartbeat: the coordinator does not know this worker ({}); registering again",
                  resp.status().message());
        Register();
      } else {
        log->warn("heartbeat failed: {}", resp.status().message());  // the lease outlives a blip
      }
      return;
    }
    absl::MutexLock lock(&mu_);
    for (auto& a : active_) {
      auto it = reported.find(a->shard.lease_id());
      if (it != reported.end()) a->heartbeat_reported = it->second;
    }
    for (const std::string& id : resp->cancelled_lease_ids()) {
      for (auto& a : active_) {
        if (a->shard.lease_id() != id || a->lease_lost) continue;
        log->warn("lease lost lease={} scan={}: stopping the shard", id, a->shard.scan_id());
        a->lease_lost = true;
        leases_lost_.fetch_add(1);
        queued_ -= a->queue.size();
        a->queue.clear();
        if (a->slice != nullptr) a->slice->Cancel();
      }
    }
    for (const v1::ScanRate& r : resp->scan_rates()) {
      auto it = scan_pacers_.find(r.scan_id());
      if (it == scan_pacers_.end() || it->second->rate() == r.rate()) continue;
      log->info("rate applied scan={} rate={} was={}", r.scan_id(), r.rate(), it->second->rate());
      it->second->SetRate(r.rate());
    }
  }

  void Complete(const std::string& lease_id, uint64_t probes, bool handed_back) {
    v1::CompleteShardRequest req;
    req.set_worker_id(worker_id_);
    req.set_lease_id(lease_id);
    req.set_probes_done(probes);
    req.set_handed_back(handed_back);
    // While stopping, give the coordinator a bounded time: if it is away, the
    // lease simply expires and the shard is redone elsewhere.
    absl::Status s = Call(
        "CompleteShard",
        [&] {
          req.set_worker_token(Token());
          return client_->Complete(req);
        },
        nullptr, stop_.HasBeenNotified() ? absl::Seconds(20) : absl::Minutes(10));
    if (!s.ok()) {
      MakeLogger("worker")->warn("CompleteShard failed lease={}: {}", lease_id, s.message());
    }
  }

  const FleetWorkerOptions options_;
  const std::unique_ptr<CoordinatorClient> client_;
  SystemClock system_clock_;
  const Clock* const clock_;
  const std::shared_ptr<Pacer> node_pacer_;  // --max-rate, across every scan
  std::string worker_id_;
  absl::Notification stop_;
  absl::Notification run_done_;                       // the reporter is done: the heartbeat may end
  absl::Mutex register_mu_;                           // one registration at a time
  absl::Mutex reachable_mu_;                          // orders the on_reachable calls
  int reachable_ ABSL_GUARDED_BY(reachable_mu_) = 0;  // as last told; not until registered
  // Used by the Run thread only.
  std::unique_ptr<ScanEngine> engine_;
  // For Stats (any thread).
  const std::shared_ptr<ScanCounters> probe_counters_ = std::make_shared<ScanCounters>();
  std::atomic<uint64_t> shards_completed_{0};
  std::atomic<uint64_t> shards_handed_back_{0};
  std::atomic<uint64_t> leases_lost_{0};

  absl::Mutex mu_;
  std::string token_ ABSL_GUARDED_BY(mu_);
  absl::Duration heartbeat_ ABSL_GUARDED_BY(mu_) = absl::Seconds(5);
  std::list<std::unique_ptr<ActiveShard>> active_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<Pacer>> scan_pacers_ ABSL_GUARDED_BY(mu_);
  size_t queued_ ABSL_GUARDED_BY(mu_) = 0;  // findings waiting in every shard's queue
  bool cancel_all_ ABSL_GUARDED_BY(mu_) = false;
  bool reporter_exit_ ABSL_GUARDED_BY(mu_) = false;
};

FleetWorker::FleetWorker(FleetWorkerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options), nullptr)) {}
FleetWorker::FleetWorker(FleetWorkerOptions options, std::unique_ptr<CoordinatorClient> client)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(client))) {}
FleetWorker::~FleetWorker() = default;
absl::Status FleetWorker::Run() { return impl_->Run(); }
void FleetWorker::Stop() { impl_->Stop(); }
FleetWorkerStats FleetWorker::Stats() { return impl_->Stats(); }

}  // namespace goalkeeper
