// The scan engine: probes slices of ProbeSpaces with bounded in-flight
// connects, a per-probe deadline, retries for unanswered probes and optional
// rate caps (Pacer: one for the node, one per slice's scan, shared by any
// number of slices and engines), on one io_context per thread.
//
// Protocol probes (a slice's ProbeOptions, design12.md): an open TCP port
// with a probe to run keeps its connection: the engine drives a
// probes::TcpSession on it (bounded read, the probe deadline), then, when the
// answer was not that protocol, identification probes on new connections
// (each paced like any attempt, at most kMaxIdentifyConnections; in verify, a
// port that stays silent is given up after kMaxSilentConversations). A UDP pair
// is a connect()ed datagram socket sending the port's probes::UdpProbe
// request and matching answers (OPEN with evidence), ICMP refusal (CLOSED) or
// silence after the retries (FILTERED). The slot stays busy meanwhile, so
// in-flight work stays bounded. Without a probe to run, an open port is
// closed at once as before.
//
// One-shot:
//   EngineOptions opt;  opt.concurrency = 4096;  opt.timeout = 300ms;
//   ScanEngine engine(opt);
//   absl::Status s = engine.Run(space, 0, space.size(), sink);
//
// Streaming (a fleet worker feeding shard after shard, so the next shard's
// probes start while the previous one's last probes wait for their deadline):
//   RETURN_IF_ERROR(engine.Start());
//   auto slice = std::make_shared<ScanSlice>(space, begin, end, sink, scan_pacer);
//   engine.Submit(slice);          // any number, from any thread
//   slice->WaitDone();             // every probe of it has its result
//   engine.CloseInput();
//   RETURN_IF_ERROR(engine.Wait());
//
// Thread-safety: Run() or Start()/Wait() are called once, from one thread.
// Submit, CloseInput, Cancel, remaining() and counters() may be called from
// any thread. ResultSink::OnResult is called concurrently from the engine's
// threads. ScanSlice is thread-safe.
#ifndef GOALKEEPER_ENGINE_SCAN_ENGINE_H_
#define GOALKEEPER_ENGINE_SCAN_ENGINE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/probe_space.h"
#include "engine/pacer.h"
#include "probes/evidence.h"
#include "probes/tcp_probe.h"
#include "probes/udp_probe.h"

namespace goalkeeper {

enum class ProbeState : uint8_t {
  kOpen,         // the connect completed
  kClosed,       // refused (RST)
  kFiltered,     // no answer by the deadline, after every retry
  kUnreachable,  // host/net unreachable, prohibited and similar errors
};
absl::string_view ProbeStateName(ProbeState s);

struct ProbeResult {
  IpAddress address;
  uint16_t port = 0;
  ProbeState state = ProbeState::kFiltered;
  uint32_t rtt_us = 0;  // connect (UDP: first answer) round trip; 0 when none
  uint64_t index = 0;   // position in the probe permutation
  probes::Transport transport = probes::Transport::kTcp;
  // The probe that verified the service, else the port's own probe ("" when
  // it has none).
  std::string probe;
  // What the probes saw; null when no probe ran.
  std::shared_ptr<const probes::Evidence> evidence;
};

// How much a slice learns about open ports (design12.md "Modes").
enum class ProbeMode : uint8_t {
  kNone,    // TCP: connect only (UDP pairs are still probed)
  kVerify,  // the port's catalogue probe, identification when it did not match
  kAll,     // every open TCP port: its probe if any, then identification
};
absl::string_view ProbeModeName(ProbeMode m);  // "none", "verify", "all"

// Where the engine finds probes: the registries of probes/ by default; tests
// inject their own.
class ProbeCatalog {
 public:
  virtual ~ProbeCatalog() = default;
  virtual const probes::TcpProbe* TcpForPort(uint16_t port) const = 0;
  virtual std::span<const probes::TcpProbe* const> Identification() const = 0;
  // A UDP port's probes, asked one per attempt in this order (the next when
  // the previous went unanswered; retries beyond them start over), so a pair
  // gets max(retries + 1, size) attempts. Empty: the port is not probed.
  virtual std::span<const probes::UdpProbe* const> UdpForPort(uint16_t port) const = 0;
};
// probes::TcpProbeForPort, IdentificationOrder, UdpProbesForPort.
const ProbeCatalog& RegistryProbeCatalog();

// At most this many extra connections identify one open port: enough for
// every probe of IdentificationOrder() (11 today).
inline constexpr uint32_t kMaxIdentifyConnections = 12;
// In `verify`, identification of a port ends after this many of its
// conversations heard nothing until the probe timeout: a silent open port
// costs at most this many timeouts, not one per probe. (In both modes the
// server-first probes are skipped after the first such silence.)
inline constexpr uint32_t kMaxSilentConversations = 2;

struct ProbeOptions {
  ProbeMode mode = ProbeMode::kNone;
  // The deadline of one TCP probe conversation (UDP uses the scan's timeout).
  std::chrono::milliseconds timeout{2000};
  probes::UdpProbeOptions udp;
  const ProbeCatalog* catalog = nullptr;  // null: RegistryProbeCatalog(); must outlive the slice
};

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  // Called once per probed pair, from engine threads, possibly concurrently.
  virtual void OnResult(const ProbeResult& result) = 0;
};

struct ScanCounters;

struct EngineOptions {
  uint64_t concurrency = 4096;  // probes in flight, across all threads
  std::chrono::milliseconds timeout{500};
  uint32_t retries = 1;  // extra attempts for unanswered probes
  double rate = 0;       // probes (attempts) per second; 0 = no cap
  unsigned threads = 0;  // 0 = one per core
  // The node's cap, shared with other engines (a fleet worker's --max-rate);
  // when set, `rate` is ignored. Its rate may change while the engine runs.
  std::shared_ptr<Pacer> pacer;
  // Where the engine counts (null: counters of its own). A fleet worker
  // shares one across its successive engines: lifetime totals for /metrics.
  std::shared_ptr<ScanCounters> counters;
};

// Live counters, readable from any thread while the engine runs.
struct ScanCounters {
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> open{0};
  std::atomic<uint64_t> closed{0};
  std::atomic<uint64_t> filtered{0};
  std::atomic<uint64_t> unreachable{0};
  std::atomic<uint64_t> attempts{0};       // connects started, retries included
  std::atomic<uint64_t> local_errors{0};   // EMFILE/EADDRNOTAVAIL..., retried
  std::atomic<int64_t> in_flight{0};       // connects open right now
  std::atomic<uint64_t> tcp_probes{0};     // TCP probe conversations (identification included)
  std::atomic<uint64_t> verified{0};       // results whose probe verified the service
  std::atomic<uint64_t> udp_unmatched{0};  // datagrams no probe matched (ignored)
};

// Indices [begin, end) of a probe space, with their own result sink: the unit
// of work a streaming engine takes. The engine settles every index exactly
// once: reported to the sink, or dropped unreported after Cancel(). done()
// turns true when all are settled, after the last OnResult call returned.
class ScanSlice {
 public:
  // Requires begin <= end <= space->size(); `sink` must outlive the slice's
  // work (until done()). `pacer` (may be null): the cap of this slice's scan,
  // shared by every slice of it; each probe also waits for the engine's.
  // `probes`: what to learn about open ports (default: connect only).
  ScanSlice(std::shared_ptr<const ProbeSpace> space, uint64_t begin, uint64_t end, ResultSink& sink,
            std::shared_ptr<Pacer> pacer = nullptr, ProbeOptions probes = {});
  // Exactly the listed indices of `space` (each < space->size()), in order:
  // a confirmation shard (Shard.confirm_indices), each index a 1-probe slice
  // of the same space. size() is indices.size().
  ScanSlice(std::shared_ptr<const ProbeSpace> space, std::vector<uint64_t> indices,
            ResultSink& sink, std::shared_ptr<Pacer> pacer = nullptr, ProbeOptions probes = {});
  ScanSlice(const ScanSlice&) = delete;
  ScanSlice& operator=(const ScanSlice&) = delete;

  // Starts no new probe of this slice; probes already sent finish (with their
  // retries) and are reported. Idempotent.
  void Cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

  uint64_t size() const { return end_ - begin_; }
  // Probes not started yet.
  uint64_t remaining() const;
  // Probes reported to the sink so far; == size() when the slice completed.
  uint64_t reported() const;
  uint64_t open() const { return open_.load(std::memory_order_relaxed); }
  bool done() const { return done_.HasBeenNotified(); }
  void WaitDone() { done_.WaitForNotification(); }
  bool WaitDoneFor(absl::Duration d) { return done_.WaitForNotificationWithTimeout(d); }

 private:
  friend class ScanEngine;
  // Hands out the next index; false when none is left (or cancelled).
  bool Take(uint64_t* index) {
    const uint64_t i = cursor_.fetch_add(1, std::memory_order_relaxed);
    if (i >= end_) return false;
    *index = indices_.empty() ? i : indices_[i];
    return true;
  }
  void Settle(uint64_t n);

  const std::shared_ptr<const ProbeSpace> space_;
  const uint64_t begin_;
  const uint64_t end_;
  ResultSink& sink_;
  const std::shared_ptr<Pacer> pacer_;
  const ProbeOptions probes_;
  const ProbeCatalog& catalog_;
  const std::vector<uint64_t> indices_;  // empty: [begin_, end_) itself
  std::atomic<uint64_t> cursor_;
  std::atomic<uint64_t> settled_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> open_{0};
  std::atomic<bool> cancelled_{false};
  absl::Notification done_;
};

class ScanEngine {
 public:
  explicit ScanEngine(EngineOptions options);
  ScanEngine(const ScanEngine&) = delete;
  ScanEngine& operator=(const ScanEngine&) = delete;
  // Cancels and waits when still running.
  ~ScanEngine();

  // Probes indices [begin, end) of `space` and blocks until every probe has a
  // result or Cancel() was called (then in-flight probes finish and no new
  // ones start). Fails only when the engine cannot run at all.
  absl::Status Run(const ProbeSpace& space, uint64_t begin, uint64_t end, ResultSink& sink,
                   ProbeOptions probes = {});

  // Streaming: starts the threads, which wait for slices. `expected_probes`
  // bounds the slots created (a small one-shot scan needs few).
  absl::Status Start(uint64_t expected_probes = UINT64_MAX);
  // Queues a slice; its probes start as slots free up, after the slices
  // queued before it. After the engine stopped (CloseInput drained, Cancel, a
  // failure) the slice is cancelled at once.
  void Submit(std::shared_ptr<ScanSlice> slice);
  // No more slices: the threads end when the queued ones are done.
  void CloseInput();
  // Joins the threads; a failure of a thread, else OK. Every submitted slice
  // is done when it returns.
  absl::Status Wait();
  // Probes of queued slices not started yet.
  uint64_t remaining() const;

  // Stops the whole engine: no new probe of any slice starts.
  void Cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  const ScanCounters& counters() const { return *counters_; }
  const EngineOptions& options() const { return options_; }

 private:
  class ThreadScanner;

  enum class Next { kSlice, kWait, kEnd };
  // For a thread whose slice ran out: the first queued slice with work left
  // whose pacers are not busy (kSlice, in *out; busy ones are added to
  // *deferred), none yet (kWait: the thread is woken by Submit, CloseInput or
  // its sweep while slices wait for their pacers), or none ever (kEnd).
  Next NextSlice(std::shared_ptr<ScanSlice>* out,
                 std::vector<std::shared_ptr<ScanSlice>>* deferred);
  // True while the slice's or the node's pacer has handed out turns or
  // starts well ahead: taking more of its probes now would only park slots.
  bool Throttled(const ScanSlice& slice) const;
  // Called by each thread as it ends; the last one cancels what is left.
  void ThreadExited();

  EngineOptions options_;
  std::shared_ptr<Pacer> node_pacer_;       // null: no cap
  std::shared_ptr<ScanCounters> counters_;  // options_.counters, or its own
  std::atomic<bool> cancelled_{false};

  mutable absl::Mutex mu_;
  std::deque<std::shared_ptr<ScanSlice>> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = true;  // no thread runs (before Start, after the end)
  size_t running_threads_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<ThreadScanner>> scanners_;
  std::vector<std::thread> threads_;
};

// Raises RLIMIT_NOFILE's soft limit to the hard limit and returns the largest
// concurrency that fits the descriptor budget (reserving `reserve` for
// everything else), at most `requested`.
uint64_t FitConcurrencyToFdBudget(uint64_t requested, uint64_t reserve, uint64_t* fd_limit_out);

}  // namespace goalkeeper

#endif  // GOALKEEPER_ENGINE_SCAN_ENGINE_H_
