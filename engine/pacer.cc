#include "engine/pacer.h"

#include <algorithm>

namespace goalkeeper {

void Pacer::SetRate(double rate_per_second) {
  absl::MutexLock lock(&mu_);
  const double r = rate_per_second > 0 ? rate_per_second : 0;
  rate_.store(r, std::memory_order_relaxed);
  interval_ =
      r > 0 ? std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1 / r))
            : Clock::duration::zero();
  horizon_.store(std::max<Clock::duration>(2 * interval_, std::chrono::milliseconds(50)).count(),
                 std::memory_order_relaxed);
  // Turns handed out at the old rate keep their time; new ones start from
  // now (Start spaces them at the new rate).
  next_ticket_ = Clock::time_point{};
}

Pacer::Clock::time_point Pacer::Ticket(Clock::time_point now) {
  if (unlimited()) return now;
  absl::MutexLock lock(&mu_);
  next_ticket_ = std::max(next_ticket_, now);
  const Clock::time_point t = next_ticket_;
  next_ticket_ += interval_;
  AheadLocked(t);
  return t;
}

Pacer::Clock::time_point Pacer::EarliestLocked(Clock::time_point t) const {
  return started_ ? std::max(t, last_start_ + interval_) : t;
}

void Pacer::RecordLocked(Clock::time_point t) {
  last_start_ = t;
  started_ = true;
  AheadLocked(t);
}

void Pacer::AheadLocked(Clock::time_point t) {
  if (t.time_since_epoch().count() > ahead_until_.load(std::memory_order_relaxed)) {
    ahead_until_.store(t.time_since_epoch().count(), std::memory_order_relaxed);
  }
}

Pacer::Clock::time_point Pacer::Start(Pacer* scan, Pacer* node, Clock::time_point now) {
  if (scan != nullptr && scan->unlimited()) scan = nullptr;
  if (node != nullptr && node->unlimited()) node = nullptr;
  if (scan == node) node = nullptr;  // one pacer in both roles counts once
  Clock::time_point t = now;
  if (scan != nullptr && node != nullptr) {
    absl::MutexLock scan_lock(&scan->mu_);
    absl::MutexLock node_lock(&node->mu_);
    t = node->EarliestLocked(scan->EarliestLocked(t));
    scan->RecordLocked(t);
    node->RecordLocked(t);
  } else if (Pacer* p = scan != nullptr ? scan : node; p != nullptr) {
    absl::MutexLock lock(&p->mu_);
    t = p->EarliestLocked(t);
    p->RecordLocked(t);
  }
  return t;
}

}  // namespace goalkeeper
