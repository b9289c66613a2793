// Fuzzes CronSchedule::Parse and, for expressions that parse, checks Next()
// from fixed times in UTC and in America/New_York (across both DST
// transitions): the result is strictly after the input time, its local time
// matches the fields (or it ends a DST gap that holds a matching time), and
// within a day of the input no earlier matching time was passed over.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "coordinator/cron.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {

// Reads the parsed fields (the fuzzer's only friend access) and matches a
// civil minute against them without going through CronSchedule's own code.
class CronScheduleTestPeer {
 public:
  static bool Matches(const CronSchedule& cron, absl::CivilMinute m) {
    if (!cron.minutes_[static_cast<size_t>(m.minute())] ||
        !cron.hours_[static_cast<size_t>(m.hour())] ||
        !cron.months_[static_cast<size_t>(m.month())]) {
      return false;
    }
    int weekday = 0;  // Sunday = 0
    for (absl::CivilDay d = absl::CivilDay(m); absl::GetWeekday(d) != absl::Weekday::sunday; --d) {
      ++weekday;
    }
    const bool dom = cron.days_of_month_[static_cast<size_t>(m.day())];
    const bool dow = cron.days_of_week_[static_cast<size_t>(weekday)];
    return cron.dom_restricted_ && cron.dow_restricted_ ? dom || dow : dom && dow;
  }
};

}  // namespace goalkeeper

namespace {

using goalkeeper::CronSchedule;
using goalkeeper::CronScheduleTestPeer;

void Check(bool ok, const char* what, const CronSchedule& cron, absl::Time after,
           absl::TimeZone tz) {
  if (ok) return;
  std::fprintf(stderr, "cron_fuzzer: %s: '%s' after %s in %s\n", what, cron.text().c_str(),
               absl::FormatTime(after, absl::UTCTimeZone()).c_str(), tz.name().c_str());
  std::abort();
}

// The instant a civil minute fires at, per cron.h's DST rules.
absl::Time FireInstant(absl::CivilMinute m, absl::TimeZone tz) {
  const absl::TimeZone::TimeInfo info = tz.At(absl::CivilSecond(m));
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

void CheckNext(const CronSchedule& cron, absl::Time after, absl::TimeZone tz) {
  const std::optional<absl::Time> next = cron.Next(after, tz);
  if (!next.has_value()) return;
  Check(*next > after, "Next is not after the input time", cron, after, tz);
  Check(*next <= after + absl::Hours(24 * (5 * 366 + 1)), "Next is beyond the 5-year horizon",
        cron, after, tz);

  // The fire time's own local minute matches, or it is the end of a DST gap
  // holding a matching minute that does not exist.
  const absl::CivilMinute local(tz.At(*next).cs);
  bool explained = CronScheduleTestPeer::Matches(cron, local) && FireInstant(local, tz) == *next;
  const absl::CivilMinute before(tz.At(*next - absl::Seconds(1)).cs);
  for (absl::CivilMinute m = before + 1; !explained && m < local && m - before < 2 * 24 * 60; ++m) {
    explained = CronScheduleTestPeer::Matches(cron, m) && FireInstant(m, tz) == *next;
  }
  Check(explained, "Next does not match the fields", cron, after, tz);

  // Nothing matching was skipped between `after` and the result.
  const absl::CivilMinute from(tz.At(after).cs);
  if (local - from <= 24 * 60) {
    for (absl::CivilMinute m = from; m <= local; ++m) {
      if (!CronScheduleTestPeer::Matches(cron, m)) continue;
      const absl::Time when = FireInstant(m, tz);
      Check(when <= after || when >= *next, "Next skipped an earlier fire time", cron, after, tz);
    }
  }

  const std::optional<absl::Time> then = cron.Next(*next, tz);
  Check(!then.has_value() || *then > *next, "Next of a fire time is not after it", cron, after, tz);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const absl::TimeZone* const kNewYork = [] {
    auto* tz = new absl::TimeZone;
    if (!absl::LoadTimeZone("America/New_York", tz)) {
      std::fprintf(stderr, "cron_fuzzer: tzdata for America/New_York is not installed\n");
      std::abort();
    }
    return tz;
  }();
  static const absl::Time kTimes[] = {
      Utc(2026, 3, 8, 6, 59, 30),    // New York, just before the spring-forward gap
      Utc(2026, 11, 1, 5, 45, 0),    // New York, first 01:45 (EDT)
      Utc(2026, 11, 1, 6, 10, 0),    // New York, second 01:10 (EST)
      Utc(2028, 2, 28, 23, 59, 59),  // before a leap day
      Utc(2099, 12, 31, 23, 59, 0),  // before a non-leap century year
  };

  const absl::string_view expr = goalkeeper::FuzzText(data, size);
  absl::StatusOr<CronSchedule> cron = CronSchedule::Parse(expr);
  if (!cron.ok()) {
    if (cron.status().code() != absl::StatusCode::kInvalidArgument ||
        !absl::StartsWith(cron.status().message(), "cron '")) {
      std::fprintf(stderr, "cron_fuzzer: unexpected error: %s\n",
                   cron.status().ToString().c_str());
      std::abort();
    }
    return 0;
  }
  if (cron->text() != expr) {
    std::fprintf(stderr, "cron_fuzzer: text() is not the input\n");
    std::abort();
  }
  for (absl::Time after : kTimes) {
    CheckNext(*cron, after, absl::UTCTimeZone());
    CheckNext(*cron, after, *kNewYork);
  }
  return 0;
}
