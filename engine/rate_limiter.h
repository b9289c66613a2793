// A pacer: hands out start times spaced 1/rate apart, with no burst credit
// after an idle period, so a rate cap holds over any window.
//
//   RateLimiter limiter(/*rate_per_second=*/1000);
//   auto start = limiter.Reserve(Clock::now());   // wait until `start`
//
// Thread-safety: not thread-safe; each engine thread owns one.
#ifndef GOALKEEPER_ENGINE_RATE_LIMITER_H_
#define GOALKEEPER_ENGINE_RATE_LIMITER_H_

#include <chrono>

namespace goalkeeper {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // rate_per_second <= 0 means unlimited.
  explicit RateLimiter(double rate_per_second)
      : unlimited_(rate_per_second <= 0),
        interval_(unlimited_ ? Clock::duration::zero()
                             : std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(1.0 / rate_per_second))) {}

  bool unlimited() const { return unlimited_; }

  // Returns the time at which the next probe may start (>= now).
  Clock::time_point Reserve(Clock::time_point now) {
    if (unlimited_) return now;
    if (next_ < now) next_ = now;
    Clock::time_point t = next_;
    next_ += interval_;
    return t;
  }

 private:
  bool unlimited_;
  Clock::duration interval_;
  Clock::time_point next_{};
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_ENGINE_RATE_LIMITER_H_
