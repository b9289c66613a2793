// The Clock seam: components ask it for the time instead of the system, so
// tests can move time by hand.
//
//   SystemClock clock;                  // production
//   FakeClock fake(absl::FromUnixSeconds(1700000000));
//   fake.Advance(absl::Hours(25));      // tests
//
// Thread-safety: both implementations are thread-safe.
#ifndef GOALKEEPER_COMMON_CLOCK_H_
#define GOALKEEPER_COMMON_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace goalkeeper {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class SystemClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_CLOCK_H_
