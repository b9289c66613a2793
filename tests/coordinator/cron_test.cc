#include "coordinator/cron.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone(name, &tz)) << name;
  return tz;
}

// Parses an expression the test knows is valid.
CronSchedule Must(absl::string_view expr) {
  absl::StatusOr<CronSchedule> cron = CronSchedule::Parse(expr);
  EXPECT_TRUE(cron.ok()) << expr << ": " << cron.status();
  if (!cron.ok()) return CronSchedule::Parse("* * * * *").value();
  return *cron;
}

// The error message of parsing expr, or "ok".
std::string Error(absl::string_view expr) {
  absl::StatusOr<CronSchedule> cron = CronSchedule::Parse(expr);
  if (cron.ok()) return "ok";
  EXPECT_EQ(cron.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(cron.status().message());
}

// The first n fire times strictly after `after`.
std::vector<absl::Time> Fires(absl::string_view expr, absl::Time after, int n,
                              absl::TimeZone tz = absl::UTCTimeZone()) {
  CronSchedule cron = Must(expr);
  std::vector<absl::Time> fires;
  for (int i = 0; i < n; ++i) {
    std::optional<absl::Time> next = cron.Next(after, tz);
    if (!next.has_value()) break;
    fires.push_back(*next);
    after = *next;
  }
  return fires;
}

// The first n fire times as UTC civil minutes, which read better in failures.
std::vector<absl::CivilMinute> FireMinutes(absl::string_view expr, absl::Time after, int n,
                                           absl::TimeZone tz = absl::UTCTimeZone()) {
  std::vector<absl::CivilMinute> minutes;
  for (absl::Time t : Fires(expr, after, n, tz)) {
    minutes.push_back(absl::CivilMinute(absl::ToCivilSecond(t, absl::UTCTimeZone())));
  }
  return minutes;
}

absl::CivilMinute M(int y, int mo, int d, int h, int mi) {
  return absl::CivilMinute(y, mo, d, h, mi);
}

// ---- Field forms -----------------------------------------------------------

TEST(CronTest, StarFiresEveryMinute) {
  EXPECT_THAT(FireMinutes("* * * * *", Utc(2026, 1, 10, 10, 0, 30), 3),
              ElementsAre(M(2026, 1, 10, 10, 1), M(2026, 1, 10, 10, 2), M(2026, 1, 10, 10, 3)));
}

TEST(CronTest, NumberFiresOncePerHour) {
  EXPECT_THAT(FireMinutes("5 * * * *", Utc(2026, 1, 10, 10, 0), 3),
              ElementsAre(M(2026, 1, 10, 10, 5), M(2026, 1, 10, 11, 5), M(2026, 1, 10, 12, 5)));
}

TEST(CronTest, RangeIsInclusive) {
  EXPECT_THAT(FireMinutes("10-12 * * * *", Utc(2026, 1, 10, 10, 0), 4),
              ElementsAre(M(2026, 1, 10, 10, 10), M(2026, 1, 10, 10, 11), M(2026, 1, 10, 10, 12),
                          M(2026, 1, 10, 11, 10)));
}

TEST(CronTest, ListFiresAtEachValue) {
  EXPECT_THAT(FireMinutes("59,1,30 * * * *", Utc(2026, 1, 10, 10, 0), 4),
              ElementsAre(M(2026, 1, 10, 10, 1), M(2026, 1, 10, 10, 30), M(2026, 1, 10, 10, 59),
                          M(2026, 1, 10, 11, 1)));
}

TEST(CronTest, StepOnStarStartsAtFieldMinimum) {
  EXPECT_THAT(FireMinutes("*/20 * * * *", Utc(2026, 1, 10, 10, 0), 4),
              ElementsAre(M(2026, 1, 10, 10, 20), M(2026, 1, 10, 10, 40), M(2026, 1, 10, 11, 0),
                          M(2026, 1, 10, 11, 20)));
  // Day of month starts at 1, so */10 is 1, 11, 21, 31.
  EXPECT_THAT(FireMinutes("0 0 */10 * *", Utc(2026, 1, 1, 12, 0), 4),
              ElementsAre(M(2026, 1, 11, 0, 0), M(2026, 1, 21, 0, 0), M(2026, 1, 31, 0, 0),
                          M(2026, 2, 1, 0, 0)));
}

TEST(CronTest, StepOnRangeStaysInRange) {
  EXPECT_THAT(FireMinutes("1-30/10 * * * *", Utc(2026, 1, 10, 10, 0), 4),
              ElementsAre(M(2026, 1, 10, 10, 1), M(2026, 1, 10, 10, 11), M(2026, 1, 10, 10, 21),
                          M(2026, 1, 10, 11, 1)));
}

TEST(CronTest, StepOnNumberRunsToFieldMaximum) {
  EXPECT_THAT(FireMinutes("50/5 * * * *", Utc(2026, 1, 10, 10, 0), 3),
              ElementsAre(M(2026, 1, 10, 10, 50), M(2026, 1, 10, 10, 55), M(2026, 1, 10, 11, 50)));
}

TEST(CronTest, ListElementsCanHaveSteps) {
  EXPECT_THAT(FireMinutes("0-10/5,30 * * * *", Utc(2026, 1, 10, 10, 0), 5),
              ElementsAre(M(2026, 1, 10, 10, 5), M(2026, 1, 10, 10, 10), M(2026, 1, 10, 10, 30),
                          M(2026, 1, 10, 11, 0), M(2026, 1, 10, 11, 5)));
}

TEST(CronTest, HourAndMinuteCombine) {
  EXPECT_THAT(FireMinutes("15,45 9-10 * * *", Utc(2026, 1, 10, 10, 20), 4),
              ElementsAre(M(2026, 1, 10, 10, 45), M(2026, 1, 11, 9, 15), M(2026, 1, 11, 9, 45),
                          M(2026, 1, 11, 10, 15)));
}

TEST(CronTest, ToleratesExtraWhitespaceAndTabs) {
  EXPECT_THAT(FireMinutes("  0\t3  *  * *  ", Utc(2026, 1, 10), 1),
              ElementsAre(M(2026, 1, 10, 3, 0)));
  EXPECT_EQ(Must(" 0 3 * * * ").text(), " 0 3 * * * ");
}

// ---- Names -----------------------------------------------------------------

TEST(CronTest, MonthNamesAreCaseInsensitive) {
  EXPECT_THAT(FireMinutes("0 0 1 jan,JUL *", Utc(2026, 2, 1), 3),
              ElementsAre(M(2026, 7, 1, 0, 0), M(2027, 1, 1, 0, 0), M(2027, 7, 1, 0, 0)));
  EXPECT_EQ(Fires("0 0 1 Mar-May *", Utc(2026, 1, 1), 4), Fires("0 0 1 3-5 *", Utc(2026, 1, 1), 4));
}

TEST(CronTest, WeekdayNamesAreCaseInsensitive) {
  // 2026-01-09 is a Friday.
  EXPECT_THAT(FireMinutes("0 12 * * MON-fri", Utc(2026, 1, 9, 13, 0), 3),
              ElementsAre(M(2026, 1, 12, 12, 0), M(2026, 1, 13, 12, 0), M(2026, 1, 14, 12, 0)));
  EXPECT_EQ(Fires("0 0 * * Sun,sat", Utc(2026, 1, 1), 6), Fires("0 0 * * 0,6", Utc(2026, 1, 1), 6));
}

TEST(CronTest, SevenAndZeroAreBothSunday) {
  const std::vector<absl::Time> sundays = Fires("0 0 * * 0", Utc(2026, 1, 1), 5);
  ASSERT_EQ(sundays.size(), 5u);
  EXPECT_EQ(absl::GetWeekday(absl::CivilDay(absl::ToCivilDay(sundays[0], absl::UTCTimeZone()))),
            absl::Weekday::sunday);
  EXPECT_EQ(Fires("0 0 * * 7", Utc(2026, 1, 1), 5), sundays);
  EXPECT_EQ(Fires("0 0 * * sun", Utc(2026, 1, 1), 5), sundays);
  // 5-7 is Friday through Sunday.
  EXPECT_EQ(Fires("0 0 * * 5-7", Utc(2026, 1, 1), 9), Fires("0 0 * * 0,5,6", Utc(2026, 1, 1), 9));
}

// ---- Macros ----------------------------------------------------------------

TEST(CronTest, MacrosMatchTheirExpansions) {
  const absl::Time start = Utc(2026, 5, 17, 13, 45);
  EXPECT_EQ(Fires("@yearly", start, 3), Fires("0 0 1 1 *", start, 3));
  EXPECT_EQ(Fires("@annually", start, 3), Fires("0 0 1 1 *", start, 3));
  EXPECT_EQ(Fires("@monthly", start, 3), Fires("0 0 1 * *", start, 3));
  EXPECT_EQ(Fires("@weekly", start, 3), Fires("0 0 * * 0", start, 3));
  EXPECT_EQ(Fires("@daily", start, 3), Fires("0 0 * * *", start, 3));
  EXPECT_EQ(Fires("@midnight", start, 3), Fires("0 0 * * *", start, 3));
  EXPECT_EQ(Fires("@hourly", start, 3), Fires("0 * * * *", start, 3));
  EXPECT_THAT(FireMinutes("@yearly", start, 1), ElementsAre(M(2027, 1, 1, 0, 0)));
}

TEST(CronTest, MacroKeepsItsText) {
  EXPECT_EQ(Must("@daily").text(), "@daily");
  EXPECT_EQ(Must(" @HOURLY ").text(), " @HOURLY ");
}

// ---- Day of month and day of week ------------------------------------------

TEST(CronTest, RestrictedDayOfMonthAndWeekMatchEither) {
  // The 13th, and every Friday. 2026-03-13 is a Friday; 2026-04-13 a Monday.
  EXPECT_THAT(FireMinutes("0 0 13 * fri", Utc(2026, 3, 1), 6),
              ElementsAre(M(2026, 3, 6, 0, 0), M(2026, 3, 13, 0, 0), M(2026, 3, 20, 0, 0),
                          M(2026, 3, 27, 0, 0), M(2026, 4, 3, 0, 0), M(2026, 4, 10, 0, 0)));
  EXPECT_THAT(FireMinutes("0 0 13 * fri", Utc(2026, 4, 10, 1, 0), 2),
              ElementsAre(M(2026, 4, 13, 0, 0), M(2026, 4, 17, 0, 0)));
}

TEST(CronTest, StarDayOfMonthLeavesDayOfWeekAlone) {
  EXPECT_THAT(FireMinutes("0 0 * * fri", Utc(2026, 3, 1), 2),
              ElementsAre(M(2026, 3, 6, 0, 0), M(2026, 3, 13, 0, 0)));
  EXPECT_THAT(FireMinutes("0 0 13 * *", Utc(2026, 3, 1), 2),
              ElementsAre(M(2026, 3, 13, 0, 0), M(2026, 4, 13, 0, 0)));
}

TEST(CronTest, StarWithStepDayOfMonthCombinesByAndAsInVixieCron) {
  // '*/2' starts with '*', so it does not count as restricted: odd days that
  // are also Fridays. 2026-03-13 and 2026-03-27 are odd Fridays.
  EXPECT_THAT(FireMinutes("0 0 */2 * fri", Utc(2026, 3, 1), 2),
              ElementsAre(M(2026, 3, 13, 0, 0), M(2026, 3, 27, 0, 0)));
}

TEST(CronTest, ImpossibleDateNeverFires) {
  CronSchedule cron = Must("0 0 31 2 *");
  EXPECT_EQ(cron.Next(Utc(2026, 1, 1), absl::UTCTimeZone()), std::nullopt);
  EXPECT_EQ(Must("0 0 30 2 *").Next(Utc(2026, 1, 1), absl::UTCTimeZone()), std::nullopt);
  EXPECT_EQ(Must("0 0 31 4,6,9,11 *").Next(Utc(2026, 1, 1), absl::UTCTimeZone()), std::nullopt);
}

TEST(CronTest, LeapDayFiresOnlyInLeapYears) {
  EXPECT_THAT(FireMinutes("0 0 29 2 *", Utc(2026, 1, 1), 3),
              ElementsAre(M(2028, 2, 29, 0, 0), M(2032, 2, 29, 0, 0), M(2036, 2, 29, 0, 0)));
  // 2100 is not a leap year; the next leap day after 2096 is more than the
  // 5-year horizon of Next() away.
  EXPECT_EQ(Must("0 0 29 2 *").Next(Utc(2096, 3, 1), absl::UTCTimeZone()), std::nullopt);
}

TEST(CronTest, SkipsMonthsTooShortForTheDay) {
  EXPECT_THAT(FireMinutes("0 0 31 * *", Utc(2026, 1, 31), 3),
              ElementsAre(M(2026, 3, 31, 0, 0), M(2026, 5, 31, 0, 0), M(2026, 7, 31, 0, 0)));
}

TEST(CronTest, RollsOverHourDayMonthAndYear) {
  EXPECT_THAT(FireMinutes("30 * * * *", Utc(2026, 12, 31, 23, 45), 1),
              ElementsAre(M(2027, 1, 1, 0, 30)));
  EXPECT_THAT(FireMinutes("59 23 31 12 *", Utc(2026, 12, 31, 23, 59), 1),
              ElementsAre(M(2027, 12, 31, 23, 59)));
  EXPECT_THAT(FireMinutes("0 0 1 * *", Utc(2026, 12, 15), 2),
              ElementsAre(M(2027, 1, 1, 0, 0), M(2027, 2, 1, 0, 0)));
  EXPECT_THAT(FireMinutes("0 0 * * *", Utc(2028, 2, 28, 12, 0), 2),
              ElementsAre(M(2028, 2, 29, 0, 0), M(2028, 3, 1, 0, 0)));
}

TEST(CronTest, NextIsStrictlyAfter) {
  CronSchedule cron = Must("0 3 * * *");
  const absl::TimeZone utc = absl::UTCTimeZone();
  EXPECT_THAT(cron.Next(Utc(2026, 1, 10, 3, 0), utc), Optional(Utc(2026, 1, 11, 3, 0)));
  EXPECT_THAT(cron.Next(Utc(2026, 1, 10, 3, 0) - absl::Nanoseconds(1), utc),
              Optional(Utc(2026, 1, 10, 3, 0)));
  EXPECT_THAT(cron.Next(Utc(2026, 1, 10, 3, 0) + absl::Nanoseconds(1), utc),
              Optional(Utc(2026, 1, 11, 3, 0)));
}

TEST(CronTest, InfiniteTimesHaveNoNextFire) {
  CronSchedule cron = Must("* * * * *");
  EXPECT_EQ(cron.Next(absl::InfiniteFuture(), absl::UTCTimeZone()), std::nullopt);
  EXPECT_EQ(cron.Next(absl::InfinitePast(), absl::UTCTimeZone()), std::nullopt);
}

// Compares Next() with a minute-by-minute walk over UTC for a week.
TEST(CronTest, AgreesWithMinuteByMinuteWalk) {
  struct Case {
    const char* expr;
    std::function<bool(absl::CivilMinute)> matches;
  };
  auto weekday = [](absl::CivilMinute m) { return absl::GetWeekday(absl::CivilDay(m)); };
  const std::vector<Case> cases = {
      {"*/7 9-17 * * mon-fri",
       [&](absl::CivilMinute m) {
         return m.minute() % 7 == 0 && m.hour() >= 9 && m.hour() <= 17 &&
                weekday(m) != absl::Weekday::saturday && weekday(m) != absl::Weekday::sunday;
       }},
      {"0,30 */6 1-3,28 * *",
       [](absl::CivilMinute m) {
         return (m.minute() == 0 || m.minute() == 30) && m.hour() % 6 == 0 &&
                (m.day() <= 3 || m.day() == 28);
       }},
      {"45 23 * * sun,wed",
       [&](absl::CivilMinute m) {
         return m.minute() == 45 && m.hour() == 23 &&
                (weekday(m) == absl::Weekday::sunday || weekday(m) == absl::Weekday::wednesday);
       }},
      {"5 4 1 * tue",
       [&](absl::CivilMinute m) {
         return m.minute() == 5 && m.hour() == 4 &&
                (m.day() == 1 || weekday(m) == absl::Weekday::tuesday);
       }},
  };
  const absl::TimeZone utc = absl::UTCTimeZone();
  for (const Case& c : cases) {
    CronSchedule cron = Must(c.expr);
    absl::CivilMinute start(2026, 2, 25, 0, 0);
    absl::Time after = absl::FromCivil(start, utc) - absl::Seconds(1);
    for (absl::CivilMinute m = start; m < start + 7 * 24 * 60; ++m) {
      if (!c.matches(m)) continue;
      std::optional<absl::Time> next = cron.Next(after, utc);
      ASSERT_THAT(next, Optional(absl::FromCivil(m, utc))) << c.expr << " at " << m;
      after = *next;
    }
  }
}

// ---- Time zones ------------------------------------------------------------

TEST(CronTest, FiresAtLocalTimeInBucharest) {
  const absl::TimeZone tz = Zone("Europe/Bucharest");
  // EET (UTC+2) in winter, EEST (UTC+3) in summer.
  EXPECT_THAT(FireMinutes("0 3 * * *", Utc(2026, 1, 15), 2, tz),
              ElementsAre(M(2026, 1, 15, 1, 0), M(2026, 1, 16, 1, 0)));
  EXPECT_THAT(FireMinutes("0 3 * * *", Utc(2026, 7, 14, 12, 0), 2, tz),
              ElementsAre(M(2026, 7, 15, 0, 0), M(2026, 7, 16, 0, 0)));
}

TEST(CronTest, FiresAtLocalTimeInNewYork) {
  const absl::TimeZone tz = Zone("America/New_York");
  // EST (UTC-5) in winter, EDT (UTC-4) in summer.
  EXPECT_THAT(FireMinutes("0 3 * * *", Utc(2026, 1, 15), 2, tz),
              ElementsAre(M(2026, 1, 15, 8, 0), M(2026, 1, 16, 8, 0)));
  EXPECT_THAT(FireMinutes("0 3 * * *", Utc(2026, 7, 15), 2, tz),
              ElementsAre(M(2026, 7, 15, 7, 0), M(2026, 7, 16, 7, 0)));
}

TEST(CronTest, DayBoundariesFollowTheZone) {
  // Monday 00:30 in New York is Monday 05:30 UTC; 2026-01-12 is a Monday.
  EXPECT_THAT(FireMinutes("30 0 * * mon", Utc(2026, 1, 10), 1, Zone("America/New_York")),
              ElementsAre(M(2026, 1, 12, 5, 30)));
}

TEST(CronTest, SkippedLocalTimeFiresAtEndOfGap) {
  const absl::TimeZone tz = Zone("America/New_York");
  // 2026-03-08 02:00 EST jumps to 03:00 EDT (07:00 UTC); 02:30 does not exist.
  EXPECT_THAT(FireMinutes("30 2 * * *", Utc(2026, 3, 7, 12, 0), 3, tz),
              ElementsAre(M(2026, 3, 8, 7, 0), M(2026, 3, 9, 6, 30), M(2026, 3, 10, 6, 30)));
  // Several skipped times fire once, together, at the end of the gap.
  EXPECT_THAT(FireMinutes("*/15 2 * * *", Utc(2026, 3, 7, 12, 0), 3, tz),
              ElementsAre(M(2026, 3, 8, 7, 0), M(2026, 3, 9, 6, 0), M(2026, 3, 9, 6, 15)));
  // A skipped time and the first time after the gap share that instant.
  EXPECT_THAT(FireMinutes("30 2,3 * * *", Utc(2026, 3, 8, 6, 0), 2, tz),
              ElementsAre(M(2026, 3, 8, 7, 0), M(2026, 3, 8, 7, 30)));
}

TEST(CronTest, RepeatedLocalTimeFiresOnceAtFirstOccurrence) {
  const absl::TimeZone tz = Zone("America/New_York");
  // 2026-11-01 02:00 EDT falls back to 01:00 EST; 01:30 happens at 05:30 UTC
  // (EDT) and again at 06:30 UTC (EST). Only the first fires.
  EXPECT_THAT(FireMinutes("30 1 * * *", Utc(2026, 10, 31, 12, 0), 3, tz),
              ElementsAre(M(2026, 11, 1, 5, 30), M(2026, 11, 2, 6, 30), M(2026, 11, 3, 6, 30)));
  // Asked during the second pass, the next fire is the next day.
  EXPECT_THAT(FireMinutes("30 1 * * *", Utc(2026, 11, 1, 6, 0), 1, tz),
              ElementsAre(M(2026, 11, 2, 6, 30)));
  EXPECT_THAT(FireMinutes("*/30 * * * *", Utc(2026, 11, 1, 4, 45), 4, tz),
              ElementsAre(M(2026, 11, 1, 5, 0), M(2026, 11, 1, 5, 30), M(2026, 11, 1, 7, 0),
                          M(2026, 11, 1, 7, 30)));
}

TEST(CronTest, HandlesBucharestTransitions) {
  const absl::TimeZone tz = Zone("Europe/Bucharest");
  // 2026-03-29 03:00 EET jumps to 04:00 EEST at 01:00 UTC.
  EXPECT_THAT(FireMinutes("30 3 * * *", Utc(2026, 3, 28, 12, 0), 2, tz),
              ElementsAre(M(2026, 3, 29, 1, 0), M(2026, 3, 30, 0, 30)));
  // 2026-10-25 04:00 EEST falls back to 03:00 EET at 01:00 UTC.
  EXPECT_THAT(FireMinutes("30 3 * * *", Utc(2026, 10, 24, 12, 0), 2, tz),
              ElementsAre(M(2026, 10, 25, 0, 30), M(2026, 10, 26, 1, 30)));
}

// ---- Errors ----------------------------------------------------------------

TEST(CronTest, RejectsWrongFieldCount) {
  EXPECT_EQ(Error(""), "cron '': expected 5 fields or a @macro, got 0");
  EXPECT_EQ(Error("   "), "cron '   ': expected 5 fields or a @macro, got 0");
  EXPECT_EQ(Error("x"), "cron 'x': expected 5 fields or a @macro, got 1");
  EXPECT_EQ(Error("* * * *"), "cron '* * * *': expected 5 fields or a @macro, got 4");
  EXPECT_EQ(Error("* * * * * *"), "cron '* * * * * *': expected 5 fields or a @macro, got 6");
  EXPECT_EQ(Error("@daily 5"), "cron '@daily 5': expected 5 fields or a @macro, got 2");
}

TEST(CronTest, RejectsUnknownMacro) {
  EXPECT_THAT(Error("@every5m"), HasSubstr("cron '@every5m': unknown macro '@every5m'"));
  EXPECT_THAT(Error("@"), HasSubstr("unknown macro '@'"));
}

TEST(CronTest, RejectsOutOfRangeValues) {
  EXPECT_EQ(Error("61 * * * *"), "cron '61 * * * *': minute: '61' is out of range 0-59");
  EXPECT_EQ(Error("* 24 * * *"), "cron '* 24 * * *': hour: '24' is out of range 0-23");
  EXPECT_EQ(Error("* * 0 * *"), "cron '* * 0 * *': day of month: '0' is out of range 1-31");
  EXPECT_EQ(Error("* * 32 * *"), "cron '* * 32 * *': day of month: '32' is out of range 1-31");
  EXPECT_EQ(Error("* * * 0 *"), "cron '* * * 0 *': month: '0' is out of range 1-12");
  EXPECT_EQ(Error("* * * 13 *"), "cron '* * * 13 *': month: '13' is out of range 1-12");
  EXPECT_EQ(Error("* * * * 8"), "cron '* * * * 8': day of week: '8' is out of range 0-7");
  EXPECT_EQ(Error("0-60 * * * *"), "cron '0-60 * * * *': minute: '60' is out of range 0-59");
  EXPECT_EQ(Error("1,2,77 * * * *"), "cron '1,2,77 * * * *': minute: '77' is out of range 0-59");
}

TEST(CronTest, RejectsHugeNumbersAsOutOfRange) {
  EXPECT_EQ(Error("99999999999999999999 * * * *"),
            "cron '99999999999999999999 * * * *': minute: '99999999999999999999' is out of "
            "range 0-59");
  EXPECT_EQ(Error("* * 4294967297 * *"),
            "cron '* * 4294967297 * *': day of month: '4294967297' is out of range 1-31");
  EXPECT_THAT(Error("*/99999999999999999999 * * * *"), HasSubstr("is out of range 1-60"));
}

TEST(CronTest, RejectsReversedRanges) {
  EXPECT_EQ(Error("30-10 * * * *"),
            "cron '30-10 * * * *': minute: '30-10' is a reversed range (30 > 10)");
  EXPECT_EQ(Error("* * * * fri-mon"),
            "cron '* * * * fri-mon': day of week: 'fri-mon' is a reversed range (5 > 1)");
  EXPECT_EQ(Error("* * * dec-jan *"),
            "cron '* * * dec-jan *': month: 'dec-jan' is a reversed range (12 > 1)");
}

TEST(CronTest, RejectsBadSteps) {
  EXPECT_EQ(Error("*/0 * * * *"),
            "cron '*/0 * * * *': minute: '*/0': step '0' is out of range 1-60");
  EXPECT_EQ(Error("* 1-5/0 * * *"),
            "cron '* 1-5/0 * * *': hour: '1-5/0': step '0' is out of range 1-24");
  EXPECT_EQ(Error("*/x * * * *"), "cron '*/x * * * *': minute: '*/x': step 'x' is not a number");
  EXPECT_EQ(Error("*/ * * * *"), "cron '*/ * * * *': minute: '*/': step '' is not a number");
  EXPECT_EQ(Error("*/-1 * * * *"),
            "cron '*/-1 * * * *': minute: '*/-1': step '-1' is not a number");
  EXPECT_EQ(Error("*/2/3 * * * *"),
            "cron '*/2/3 * * * *': minute: '*/2/3': step '2/3' is not a number");
  EXPECT_EQ(Error("*/61 * * * *"),
            "cron '*/61 * * * *': minute: '*/61': step '61' is out of range 1-60");
  EXPECT_EQ(Error("/5 * * * *"), "cron '/5 * * * *': minute: '/5' is missing a value");
}

TEST(CronTest, RejectsGarbage) {
  EXPECT_EQ(Error("abc * * * *"), "cron 'abc * * * *': minute: 'abc' is not a number");
  EXPECT_EQ(Error("mon * * * *"), "cron 'mon * * * *': minute: 'mon' is not a number");
  EXPECT_EQ(Error("* * * foo *"),
            "cron '* * * foo *': month: 'foo' is not a number or a month name (jan-dec)");
  EXPECT_EQ(Error("* * * * funday"),
            "cron '* * * * funday': day of week: 'funday' is not a number or a day name (sun-sat)");
  EXPECT_EQ(Error("* * * january *"),
            "cron '* * * january *': month: 'january' is not a number or a month name (jan-dec)");
  EXPECT_EQ(Error("1,,2 * * * *"), "cron '1,,2 * * * *': minute: a list element is empty");
  EXPECT_EQ(Error("1, * * * *"), "cron '1, * * * *': minute: a list element is empty");
  EXPECT_EQ(Error("-5 * * * *"), "cron '-5 * * * *': minute: '-5' is missing a value");
  EXPECT_EQ(Error("5- * * * *"), "cron '5- * * * *': minute: '5-' is missing a value");
  EXPECT_EQ(Error("1-2-3 * * * *"), "cron '1-2-3 * * * *': minute: '2-3' is not a number");
  EXPECT_EQ(Error("+5 * * * *"), "cron '+5 * * * *': minute: '+5' is not a number");
  EXPECT_EQ(Error("** * * * *"), "cron '** * * * *': minute: '**' is not a number");
  EXPECT_EQ(Error("1.5 * * * *"), "cron '1.5 * * * *': minute: '1.5' is not a number");
}

TEST(CronTest, EscapesAndShortensTextInErrors) {
  EXPECT_EQ(Error(absl::string_view("\x01 * * * *")),
            "cron '\\x01 * * * *': minute: '\\x01' is not a number");
  const std::string long_field(200, '7');
  const std::string message = Error(long_field + " * * * *");
  EXPECT_THAT(message, HasSubstr("is out of range 0-59"));
  EXPECT_LT(message.size(), 200u);
}

}  // namespace
}  // namespace goalkeeper
