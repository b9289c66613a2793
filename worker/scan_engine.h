// The TCP connect scan engine: probes a slice of a ProbeSpace with bounded
// in-flight connects, a per-probe deadline, retries for unanswered probes and
// an optional global rate cap, on one io_context per thread.
//
//   EngineOptions opt;  opt.concurrency = 4096;  opt.timeout = 300ms;
//   ScanEngine engine(opt);
//   absl::Status s = engine.Run(space, 0, space.size(), sink);
//
// Thread-safety: Run() is called once, from one thread. Cancel() and
// counters() may be called from any thread while Run() is in progress.
// ResultSink::OnResult is called concurrently from the engine's threads.
#ifndef GOALKEEPER_WORKER_SCAN_ENGINE_H_
#define GOALKEEPER_WORKER_SCAN_ENGINE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "worker/probe_space.h"

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
  uint32_t rtt_us = 0;  // connect round trip (open, closed); 0 otherwise
  uint64_t index = 0;   // position in the probe permutation
};

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  // Called once per probed pair, from engine threads, possibly concurrently.
  virtual void OnResult(const ProbeResult& result) = 0;
};

struct EngineOptions {
  uint64_t concurrency = 4096;  // probes in flight, across all threads
  std::chrono::milliseconds timeout{500};
  uint32_t retries = 1;         // extra attempts for unanswered probes
  double rate = 0;              // probes (attempts) per second; 0 = no cap
  unsigned threads = 0;         // 0 = one per core
};

// Live counters, readable from any thread while the engine runs.
struct ScanCounters {
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> open{0};
  std::atomic<uint64_t> closed{0};
  std::atomic<uint64_t> filtered{0};
  std::atomic<uint64_t> unreachable{0};
  std::atomic<uint64_t> attempts{0};      // connects started, retries included
  std::atomic<uint64_t> local_errors{0};  // EMFILE/EADDRNOTAVAIL..., retried
};

class ScanEngine {
 public:
  explicit ScanEngine(EngineOptions options);
  ScanEngine(const ScanEngine&) = delete;
  ScanEngine& operator=(const ScanEngine&) = delete;
  ~ScanEngine();

  // Probes indices [begin, end) of `space` and blocks until every probe has a
  // result or Cancel() was called (then in-flight probes finish and no new
  // ones start). Fails only when the engine cannot run at all.
  absl::Status Run(const ProbeSpace& space, uint64_t begin, uint64_t end,
                   ResultSink& sink);
  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  const ScanCounters& counters() const { return counters_; }
  const EngineOptions& options() const { return options_; }

 private:
  class ThreadScanner;

  EngineOptions options_;
  ScanCounters counters_;
  std::atomic<bool> cancelled_{false};
};

// Raises RLIMIT_NOFILE's soft limit to the hard limit and returns the largest
// concurrency that fits the descriptor budget (reserving `reserve` for
// everything else), at most `requested`.
uint64_t FitConcurrencyToFdBudget(uint64_t requested, uint64_t reserve,
                                  uint64_t* fd_limit_out);

}  // namespace goalkeeper

#endif  // GOALKEEPER_WORKER_SCAN_ENGINE_H_
