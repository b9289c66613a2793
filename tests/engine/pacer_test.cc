#include "engine/pacer.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

using std::chrono::milliseconds;
using Tp = Pacer::Clock::time_point;

TEST(PacerTest, TicketsAreSpacedByTheInterval) {
  Pacer pacer(100);  // 10 ms apart
  Tp t0{milliseconds(1000)};
  EXPECT_EQ(pacer.Ticket(t0), t0);
  EXPECT_EQ(pacer.Ticket(t0), t0 + milliseconds(10));
  EXPECT_EQ(pacer.Ticket(t0), t0 + milliseconds(20));
}

TEST(PacerTest, GivesNoBurstCreditAfterIdling) {
  Pacer pacer(100);
  Tp t0{milliseconds(1000)};
  pacer.Ticket(t0);
  EXPECT_EQ(Pacer::Start(&pacer, nullptr, t0), t0);
  Tp later = t0 + milliseconds(5000);
  EXPECT_EQ(pacer.Ticket(later), later);
  EXPECT_EQ(pacer.Ticket(later), later + milliseconds(10));
  EXPECT_EQ(Pacer::Start(&pacer, nullptr, later), later);
  EXPECT_EQ(Pacer::Start(&pacer, nullptr, later), later + milliseconds(10));
}

TEST(PacerTest, ZeroMeansUnlimited) {
  Pacer pacer(0);
  Tp t0{milliseconds(1)};
  EXPECT_TRUE(pacer.unlimited());
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(pacer.Ticket(t0), t0);
    EXPECT_EQ(Pacer::Start(&pacer, &pacer, t0), t0);
  }
}

// Start times honour both pacers: the slower one sets the pace, and each
// pacer's starts are at least its interval apart.
TEST(PacerTest, StartWaitsForBothPacers) {
  Pacer scan(100);   // 10 ms
  Pacer node(1000);  // 1 ms
  Tp t0{milliseconds(1000)};
  EXPECT_EQ(Pacer::Start(&scan, &node, t0), t0);
  EXPECT_EQ(Pacer::Start(&scan, &node, t0), t0 + milliseconds(10));
  // Another scan without a cap of its own waits only for the node.
  EXPECT_EQ(Pacer::Start(nullptr, &node, t0), t0 + milliseconds(11));
}

// A slow scan's turn lies far ahead, but it is a ticket, not a start: the
// node's pace is not held by it.
TEST(PacerTest, ASlowScanDoesNotHoldTheNode) {
  Pacer slow(1);
  Pacer node(1000);
  Tp t0{milliseconds(1000)};
  EXPECT_EQ(slow.Ticket(t0), t0);
  EXPECT_EQ(slow.Ticket(t0), t0 + milliseconds(1000));
  EXPECT_EQ(Pacer::Start(&slow, &node, t0), t0);
  EXPECT_EQ(Pacer::Start(nullptr, &node, t0), t0 + milliseconds(1));
}

TEST(PacerTest, ALowerRateAppliesAtOnce) {
  Pacer pacer(1000);
  Tp t0{milliseconds(1000)};
  EXPECT_EQ(Pacer::Start(&pacer, nullptr, t0), t0);
  pacer.SetRate(10);
  EXPECT_EQ(pacer.rate(), 10);
  EXPECT_EQ(Pacer::Start(&pacer, nullptr, t0), t0 + milliseconds(100));
  EXPECT_EQ(pacer.Ticket(t0), t0);
  EXPECT_EQ(pacer.Ticket(t0), t0 + milliseconds(100));
}

// Many threads taking starts from one shared pacer: no window of a second
// holds more than `rate` starts.
TEST(PacerTest, SharedByThreadsAnyWindowHoldsAtMostRateStarts) {
  Pacer pacer(1000);
  Tp t0{milliseconds(1)};
  std::vector<std::vector<Tp>> starts(4);
  std::vector<std::thread> threads;
  for (auto& out : starts) {
    threads.emplace_back([&pacer, &out, t0] {
      for (int i = 0; i < 1250; ++i) out.push_back(Pacer::Start(&pacer, nullptr, t0));
    });
  }
  for (auto& t : threads) t.join();
  int in_first_second = 0;
  for (const auto& out : starts) {
    for (Tp t : out) in_first_second += t < t0 + milliseconds(1000) ? 1 : 0;
  }
  EXPECT_EQ(in_first_second, 1000);
}

}  // namespace
}  // namespace goalkeeper
