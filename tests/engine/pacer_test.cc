#include "engine/rate_limiter.h"

#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

using std::chrono::milliseconds;

TEST(RateLimiterTest, SpacesStartsByTheInterval) {
  RateLimiter limiter(100);  // 10 ms apart
  RateLimiter::Clock::time_point t0{milliseconds(1000)};
  EXPECT_EQ(limiter.Reserve(t0), t0);
  EXPECT_EQ(limiter.Reserve(t0), t0 + milliseconds(10));
  EXPECT_EQ(limiter.Reserve(t0), t0 + milliseconds(20));
}

TEST(RateLimiterTest, GivesNoBurstCreditAfterIdling) {
  RateLimiter limiter(100);
  RateLimiter::Clock::time_point t0{milliseconds(1000)};
  limiter.Reserve(t0);
  RateLimiter::Clock::time_point later = t0 + milliseconds(5000);
  EXPECT_EQ(limiter.Reserve(later), later);
  EXPECT_EQ(limiter.Reserve(later), later + milliseconds(10));
}

TEST(RateLimiterTest, AnyWindowHoldsAtMostRateStarts) {
  RateLimiter limiter(1000);
  RateLimiter::Clock::time_point t0{milliseconds(1)};
  int in_first_second = 0;
  for (int i = 0; i < 5000; ++i) {
    if (limiter.Reserve(t0) < t0 + milliseconds(1000)) ++in_first_second;
  }
  EXPECT_EQ(in_first_second, 1000);
}

TEST(RateLimiterTest, ZeroMeansUnlimited) {
  RateLimiter limiter(0);
  RateLimiter::Clock::time_point t0{milliseconds(1)};
  EXPECT_TRUE(limiter.unlimited());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.Reserve(t0), t0);
}

}  // namespace
}  // namespace goalkeeper
