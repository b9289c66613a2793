#include "coordinator/scheduler.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::SizeIs;

using State = std::map<std::string, ScheduleState>;

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

ScheduleSpec Spec(std::string name, std::string cron, std::string timezone = "") {
  return ScheduleSpec{std::move(name), std::move(cron), std::move(timezone), "inventory",
                      "profile"};
}

Scheduler Must(std::vector<ScheduleSpec> specs) {
  absl::StatusOr<Scheduler> s = Scheduler::Create(std::move(specs));
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) return Scheduler::Create({}).value();
  return *std::move(s);
}

// The error message of creating a scheduler from specs, or "ok".
std::string Error(std::vector<ScheduleSpec> specs) {
  absl::StatusOr<Scheduler> s = Scheduler::Create(std::move(specs));
  if (s.ok()) return "ok";
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(s.status().message());
}

ScheduleState LastFire(absl::Time last_fire, bool running = false) {
  ScheduleState st;
  st.last_fire = last_fire;
  st.first_seen = last_fire - absl::Hours(24 * 30);
  st.running = running;
  return st;
}

ScheduleState FirstSeen(absl::Time first_seen) {
  ScheduleState st;
  st.first_seen = first_seen;
  return st;
}

// ---- Create ----------------------------------------------------------------

TEST(SchedulerTest, CreateKeepsSpecsInOrder) {
  Scheduler s = Must({Spec("b", "@daily", "Europe/Bucharest"), Spec("a", "@hourly")});
  ASSERT_THAT(s.specs(), SizeIs(2));
  EXPECT_EQ(s.specs()[0].name, "b");
  EXPECT_EQ(s.specs()[0].timezone, "Europe/Bucharest");
  EXPECT_EQ(s.specs()[0].inventory, "inventory");
  EXPECT_EQ(s.specs()[1].name, "a");
}

TEST(SchedulerTest, RejectsUnknownTimeZone) {
  EXPECT_EQ(Error({Spec("prod-daily", "0 3 * * *", "Mars/Base")}),
            "schedules[prod-daily].timezone: 'Mars/Base' is not a known time zone");
}

TEST(SchedulerTest, RejectsZoneNamesThatAreFilePaths) {
  EXPECT_EQ(Error({Spec("x", "@daily", "/usr/share/zoneinfo/UTC")}),
            "schedules[x].timezone: '/usr/share/zoneinfo/UTC' is not a known time zone");
  EXPECT_EQ(Error({Spec("x", "@daily", "../zoneinfo/UTC")}),
            "schedules[x].timezone: '../zoneinfo/UTC' is not a known time zone");
  EXPECT_EQ(Error({Spec("x", "@daily", "localtime")}),
            "schedules[x].timezone: 'localtime' is not a known time zone");
}

TEST(SchedulerTest, RejectsBadCronNamingTheSchedule) {
  EXPECT_EQ(Error({Spec("ok", "@daily"), Spec("prod-daily", "61 * * * *")}),
            "schedules[prod-daily].cron: cron '61 * * * *': minute: '61' is out of range 0-59");
  EXPECT_EQ(Error({Spec("short", "* * *")}),
            "schedules[short].cron: cron '* * *': expected 5 fields or a @macro, got 3");
}

TEST(SchedulerTest, RejectsDuplicateNames) {
  EXPECT_EQ(
      Error({Spec("nightly", "@daily"), Spec("other", "@hourly"), Spec("nightly", "@weekly")}),
      "schedules[nightly].name: 'nightly' is used by more than one schedule");
}

TEST(SchedulerTest, RejectsEmptyName) {
  EXPECT_EQ(Error({Spec("a", "@daily"), Spec("", "@daily")}), "schedules[1].name: is empty");
}

TEST(SchedulerTest, EmptyTimeZoneIsUtc) {
  Scheduler s = Must({Spec("utc", "0 3 * * *", ""), Spec("explicit", "0 3 * * *", "UTC")});
  const State state = {{"utc", FirstSeen(Utc(2026, 1, 1))},
                       {"explicit", FirstSeen(Utc(2026, 1, 1))}};
  EXPECT_THAT(s.NextWakeup(Utc(2026, 1, 1), state), Optional(Utc(2026, 1, 1, 3, 0)));
  EXPECT_THAT(s.Evaluate(Utc(2026, 1, 1, 3, 0), state), SizeIs(2));
}

// ---- Evaluate --------------------------------------------------------------

TEST(SchedulerTest, DueExactlyAtFireTimeNotBefore) {
  Scheduler s = Must({Spec("hourly", "0 * * * *")});
  const State state = {{"hourly", LastFire(Utc(2026, 1, 10, 10, 0))}};
  EXPECT_THAT(s.Evaluate(Utc(2026, 1, 10, 11, 0) - absl::Nanoseconds(1), state), IsEmpty());
  std::vector<ScheduleDecision> d = s.Evaluate(Utc(2026, 1, 10, 11, 0), state);
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_EQ(d[0].name, "hourly");
  EXPECT_EQ(d[0].fire_time, Utc(2026, 1, 10, 11, 0));
  EXPECT_TRUE(d[0].start);
  EXPECT_EQ(d[0].missed, 0);
}

TEST(SchedulerTest, NotDueAgainOnceFireTimeIsRecorded) {
  Scheduler s = Must({Spec("hourly", "0 * * * *")});
  const State state = {{"hourly", LastFire(Utc(2026, 1, 10, 11, 0))}};
  EXPECT_THAT(s.Evaluate(Utc(2026, 1, 10, 11, 0), state), IsEmpty());
  EXPECT_THAT(s.Evaluate(Utc(2026, 1, 10, 11, 59, 59), state), IsEmpty());
}

TEST(SchedulerTest, RunsMissedFiresOnceAtTheLatest) {
  Scheduler s = Must({Spec("hourly", "0 * * * *")});
  // Down from just after 10:00 until 15:00: 11:00-15:00 all fell due.
  const State state = {{"hourly", LastFire(Utc(2026, 1, 10, 10, 0))}};
  std::vector<ScheduleDecision> d = s.Evaluate(Utc(2026, 1, 10, 15, 0), state);
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_EQ(d[0].fire_time, Utc(2026, 1, 10, 15, 0));
  EXPECT_TRUE(d[0].start);
  EXPECT_EQ(d[0].missed, 4);
  // Coming back at 15:30 changes nothing: 15:00 is still the latest.
  d = s.Evaluate(Utc(2026, 1, 10, 15, 30), state);
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_EQ(d[0].fire_time, Utc(2026, 1, 10, 15, 0));
  EXPECT_EQ(d[0].missed, 4);
}

TEST(SchedulerTest, CountsADayOfMissedHourlyFires) {
  Scheduler s = Must({Spec("hourly", "0 * * * *")});
  const State state = {{"hourly", LastFire(Utc(2026, 1, 9, 10, 0))}};
  std::vector<ScheduleDecision> d = s.Evaluate(Utc(2026, 1, 10, 10, 30), state);
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_EQ(d[0].fire_time, Utc(2026, 1, 10, 10, 0));
  EXPECT_EQ(d[0].missed, 23);
}

TEST(SchedulerTest, CountsAMonthOfMissedMinutelyFires) {
  Scheduler s = Must({Spec("minutely", "* * * * *")});
  const State state = {{"minutely", LastFire(Utc(2026, 1, 1))}};
  std::vector<ScheduleDecision> d = s.Evaluate(Utc(2026, 1, 31), state);
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_EQ(d[0].fire_time, Utc(2026, 1, 31));
  EXPECT_EQ(d[0].missed, 30 * 24 * 60 - 1);
}

TEST(SchedulerTest, NeverFiredScheduleDoesNotFireRetroactively) {
  Scheduler s = Must({Spec("hourly", "0 * * * *")});
  // First seen at 10:20: the 10:00 fire is before it and does not count.
  const State state = {{"hourly", FirstSeen(Utc(2026, 1, 10, 10, 20))}};
  EXPECT_THAT(s.Evaluate(Utc(2026, 1, 10, 10, 59), state), IsEmpty());
  std::vector<ScheduleDecision> d = s.Evaluate(Utc(2026, 1, 10, 11, 0), state);
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_EQ(d[0].fire_time, Utc(2026, 1, 10, 11, 0));
  EXPECT_EQ(d[0].missed, 0);
}

TEST(SchedulerTest, NeverFiredScheduleSeenAtAFireTimeWaitsForTheNext) {
  Scheduler s = Must({Spec("hourly", "0 * * * *")});
  const State state = {{"hourly", FirstSeen(Utc(2026, 1, 10, 10, 0))}};
  EXPECT_THAT(s.Evaluate(Utc(2026, 1, 10, 10, 0), state), IsEmpty());
  EXPECT_THAT(s.Evaluate(Utc(2026, 1, 10, 11, 0), state), SizeIs(1));
}

TEST(SchedulerTest, NeverFiredScheduleCatchesUpFromFirstSeen) {
  Scheduler s = Must({Spec("hourly", "0 * * * *")});
  const State state = {{"hourly", FirstSeen(Utc(2026, 1, 10, 10, 20))}};
  std::vector<ScheduleDecision> d = s.Evaluate(Utc(2026, 1, 10, 13, 5), state);
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_EQ(d[0].fire_time, Utc(2026, 1, 10, 13, 0));
  EXPECT_EQ(d[0].missed, 2);  // 11:00 and 12:00
}

TEST(SchedulerTest, ScheduleWithoutStateIsTreatedAsFirstSeenNow) {
  Scheduler s = Must({Spec("hourly", "0 * * * *")});
  EXPECT_THAT(s.Evaluate(Utc(2026, 1, 10, 11, 0), {}), IsEmpty());
  EXPECT_THAT(s.NextWakeup(Utc(2026, 1, 10, 11, 0), {}), Optional(Utc(2026, 1, 10, 12, 0)));
}

TEST(SchedulerTest, SkipsDueFireWhileStillRunning) {
  Scheduler s = Must({Spec("hourly", "0 * * * *")});
  State state = {{"hourly", LastFire(Utc(2026, 1, 10, 10, 0), /*running=*/true)}};
  std::vector<ScheduleDecision> d = s.Evaluate(Utc(2026, 1, 10, 11, 0), state);
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_EQ(d[0].fire_time, Utc(2026, 1, 10, 11, 0));
  EXPECT_FALSE(d[0].start);
  EXPECT_EQ(d[0].missed, 0);
  // The caller records the skipped fire; the schedule waits for 12:00.
  state["hourly"].last_fire = d[0].fire_time;
  EXPECT_THAT(s.Evaluate(Utc(2026, 1, 10, 11, 30), state), IsEmpty());
  EXPECT_THAT(s.NextWakeup(Utc(2026, 1, 10, 11, 30), state), Optional(Utc(2026, 1, 10, 12, 0)));
  state["hourly"].running = false;
  d = s.Evaluate(Utc(2026, 1, 10, 12, 0), state);
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_TRUE(d[0].start);
}

TEST(SchedulerTest, SkipsMissedFiresWhileStillRunning) {
  Scheduler s = Must({Spec("hourly", "0 * * * *")});
  const State state = {{"hourly", LastFire(Utc(2026, 1, 10, 10, 0), /*running=*/true)}};
  std::vector<ScheduleDecision> d = s.Evaluate(Utc(2026, 1, 10, 13, 0), state);
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_FALSE(d[0].start);
  EXPECT_EQ(d[0].fire_time, Utc(2026, 1, 10, 13, 0));
  EXPECT_EQ(d[0].missed, 2);
}

TEST(SchedulerTest, ImpossibleScheduleIsNeverDue) {
  Scheduler s = Must({Spec("never", "0 0 31 2 *")});
  const State state = {{"never", FirstSeen(Utc(2026, 1, 1))}};
  EXPECT_THAT(s.Evaluate(Utc(2030, 1, 1), state), IsEmpty());
  EXPECT_EQ(s.NextWakeup(Utc(2026, 1, 1), state), std::nullopt);
}

TEST(SchedulerTest, DecisionsFollowSpecOrder) {
  Scheduler s = Must({Spec("z", "0 * * * *"), Spec("a", "*/30 * * * *"), Spec("m", "@daily")});
  const absl::Time last = Utc(2026, 1, 9, 23, 0);
  const State state = {{"z", LastFire(last)}, {"a", LastFire(last)}, {"m", LastFire(last)}};
  std::vector<ScheduleDecision> d = s.Evaluate(Utc(2026, 1, 10), state);
  ASSERT_THAT(d, SizeIs(3));
  EXPECT_EQ(d[0].name, "z");
  EXPECT_EQ(d[1].name, "a");
  EXPECT_EQ(d[1].missed, 1);  // 23:30
  EXPECT_EQ(d[2].name, "m");
}

TEST(SchedulerTest, MissedRunAcrossFallBackCountsEachInstantOnce) {
  // 01:30 and 02:30 New York time; on 2026-11-01 01:30 repeats but fires once.
  Scheduler s = Must({Spec("ny", "30 1,2 * * *", "America/New_York")});
  const State state = {{"ny", LastFire(Utc(2026, 11, 1, 4, 0))}};
  std::vector<ScheduleDecision> d = s.Evaluate(Utc(2026, 11, 1, 12, 0), state);
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_EQ(d[0].fire_time, Utc(2026, 11, 1, 7, 30));  // 02:30 EST
  EXPECT_EQ(d[0].missed, 1);                           // 01:30 EDT
}

// ---- NextWakeup ------------------------------------------------------------

TEST(SchedulerTest, NextWakeupIsEarliestAcrossSchedules) {
  Scheduler s =
      Must({Spec("daily-ny", "0 3 * * *", "America/New_York"),
            Spec("daily-buc", "0 3 * * *", "Europe/Bucharest"), Spec("hourly", "0 * * * *")});
  const absl::Time now = Utc(2026, 1, 10, 0, 30);
  const State state = {{"daily-ny", LastFire(Utc(2026, 1, 9, 8, 0))},
                       {"daily-buc", LastFire(Utc(2026, 1, 9, 1, 0))},
                       {"hourly", LastFire(Utc(2026, 1, 10, 0, 0))}};
  EXPECT_THAT(s.NextWakeup(now, state), Optional(Utc(2026, 1, 10, 1, 0)));
  Scheduler daily_only = Must({Spec("daily-ny", "0 3 * * *", "America/New_York"),
                               Spec("daily-buc", "0 3 * * *", "Europe/Bucharest")});
  EXPECT_THAT(daily_only.NextWakeup(now, state), Optional(Utc(2026, 1, 10, 1, 0)));
  EXPECT_THAT(daily_only.NextWakeup(Utc(2026, 1, 10, 1, 0), state),
              Optional(Utc(2026, 1, 10, 8, 0)));
}

TEST(SchedulerTest, NextWakeupIsStrictlyAfterNow) {
  Scheduler s = Must({Spec("hourly", "0 * * * *")});
  const State state = {{"hourly", LastFire(Utc(2026, 1, 10, 9, 0))}};
  EXPECT_THAT(s.NextWakeup(Utc(2026, 1, 10, 10, 0), state), Optional(Utc(2026, 1, 10, 11, 0)));
}

TEST(SchedulerTest, NextWakeupWaitsPastAFutureLastFire) {
  // The clock went back: 12:00 was already acted on, so the next is 13:00.
  Scheduler s = Must({Spec("hourly", "0 * * * *")});
  const State state = {{"hourly", LastFire(Utc(2026, 1, 10, 12, 0))}};
  EXPECT_THAT(s.Evaluate(Utc(2026, 1, 10, 12, 0) - absl::Minutes(30), state), IsEmpty());
  EXPECT_THAT(s.NextWakeup(Utc(2026, 1, 10, 11, 30), state), Optional(Utc(2026, 1, 10, 13, 0)));
}

TEST(SchedulerTest, NextWakeupWithoutSchedulesIsNone) {
  Scheduler s = Must({});
  EXPECT_EQ(s.NextWakeup(Utc(2026, 1, 1), {}), std::nullopt);
  EXPECT_THAT(s.Evaluate(Utc(2026, 1, 1), {}), IsEmpty());
}

// Drives the scheduler the way the coordinator does, waking at each
// NextWakeup and recording every decision, over two days in three zones.
TEST(SchedulerTest, SchedulesInSeveralZonesFireAtTheirLocalTimes) {
  Scheduler s = Must({Spec("buc", "0 3 * * *", "Europe/Bucharest"),
                      Spec("ny", "0 3 * * *", "America/New_York"), Spec("utc", "0 3 * * *", ""),
                      Spec("tokyo", "0 3 * * *", "Asia/Tokyo")});
  const absl::Time start = Utc(2026, 6, 30, 23, 0);
  State state;
  for (const char* name : {"buc", "ny", "utc", "tokyo"}) state[name] = FirstSeen(start);
  std::vector<std::pair<std::string, absl::Time>> fired;
  absl::Time now = start;
  while (true) {
    std::optional<absl::Time> wake = s.NextWakeup(now, state);
    ASSERT_TRUE(wake.has_value());
    if (*wake >= Utc(2026, 7, 3)) break;
    now = *wake;
    for (const ScheduleDecision& d : s.Evaluate(now, state)) {
      EXPECT_TRUE(d.start);
      EXPECT_EQ(d.missed, 0);
      EXPECT_EQ(d.fire_time, now);
      fired.emplace_back(d.name, d.fire_time);
      state[d.name].last_fire = d.fire_time;
    }
  }
  using P = std::pair<std::string, absl::Time>;
  // Summer: Tokyo UTC+9, Bucharest UTC+3, New York UTC-4.
  EXPECT_THAT(fired,
              ElementsAre(P("buc", Utc(2026, 7, 1, 0, 0)), P("utc", Utc(2026, 7, 1, 3, 0)),
                          P("ny", Utc(2026, 7, 1, 7, 0)), P("tokyo", Utc(2026, 7, 1, 18, 0)),
                          P("buc", Utc(2026, 7, 2, 0, 0)), P("utc", Utc(2026, 7, 2, 3, 0)),
                          P("ny", Utc(2026, 7, 2, 7, 0)), P("tokyo", Utc(2026, 7, 2, 18, 0))));
}

}  // namespace
}  // namespace goalkeeper
