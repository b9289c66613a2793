// A pacer: a rate cap in probes (connect attempts) per second that several
// slices, engine threads and engines share, with a rate that may change
// while they run. A fleet worker holds one per scan (its share of the scan's
// rate, for every slice of that scan) and one for the node (--max-rate,
// across every scan); a probe waits for both.
//
//   auto scan = std::make_shared<Pacer>(300);     // this worker's share
//   auto node = std::make_shared<Pacer>(2000);    // --max-rate
//   auto turn = scan->Ticket(now);                // 1. wait until `turn`
//   auto start = Pacer::Start(scan.get(), node.get(), Clock::now());
//   ...                                           // 2. wait until `start`
//   scan->SetRate(150);                           // at once, for every slice
//
// Two steps, so that both caps hold over any window and a slow scan never
// holds the node's pace: Ticket hands out turns 1/rate apart (FIFO, so the
// waiters never herd); Start, taken when the turn has come, gives the
// earliest time at which the last start of each pacer lies 1/rate behind
// (at the current rate) and records it in both. No burst credit builds up
// while idle. A rate <= 0 means no cap. Busy() tells an engine that turns
// or starts are already handed out well ahead (more than 50 ms, or two
// intervals), so it takes no further probe of this pacer's slices for now
// and its slots serve other slices: a capped scan holds only the few slots
// its rate needs, and its untaken probes stay untaken.
//
// Thread-safety: thread-safe.
#ifndef GOALKEEPER_ENGINE_PACER_H_
#define GOALKEEPER_ENGINE_PACER_H_

#include <atomic>
#include <chrono>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace goalkeeper {

class Pacer {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Pacer(double rate_per_second) { SetRate(rate_per_second); }
  Pacer(const Pacer&) = delete;
  Pacer& operator=(const Pacer&) = delete;

  // Applies from the next Ticket/Start on (turns already handed out keep
  // their time, but Start enforces the new interval at once).
  void SetRate(double rate_per_second);
  double rate() const { return rate_.load(std::memory_order_relaxed); }
  bool unlimited() const { return rate() <= 0; }

  // Step 1: the time (>= now) at which the caller may ask Start.
  Clock::time_point Ticket(Clock::time_point now);

  // True when a turn or start is already handed out beyond the horizon.
  bool Busy(Clock::time_point now) const {
    if (unlimited()) return false;
    return ahead_until_.load(std::memory_order_relaxed) >
           (now + Clock::duration(horizon_.load(std::memory_order_relaxed)))
               .time_since_epoch()
               .count();
  }

  // Step 2: the start time (>= now) of one probe, recorded in both pacers;
  // either may be null or unlimited. `scan` is locked before `node`: a
  // pacer is always passed in the same position.
  static Clock::time_point Start(Pacer* scan, Pacer* node, Clock::time_point now);

 private:
  Clock::time_point EarliestLocked(Clock::time_point t) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordLocked(Clock::time_point t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AheadLocked(Clock::time_point t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::atomic<double> rate_{0};
  // The latest turn or start handed out, and Busy's horizon (clock ticks).
  std::atomic<Clock::rep> ahead_until_{0};
  std::atomic<Clock::rep> horizon_{0};
  mutable absl::Mutex mu_;
  Clock::duration interval_ ABSL_GUARDED_BY(mu_) = Clock::duration::zero();
  Clock::time_point next_ticket_ ABSL_GUARDED_BY(mu_){};
  Clock::time_point last_start_ ABSL_GUARDED_BY(mu_){};
  bool started_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_ENGINE_PACER_H_
