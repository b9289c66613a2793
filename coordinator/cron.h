// Cron expressions for scan schedules, evaluated in a time zone.
//
// Five fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12
// or jan-dec), day of week (0-7 or sun-sat; 0 and 7 are Sunday). Each field
// is '*', a number, a range 'a-b', a list 'a,b,c', and any of those with a
// step '/n' ('*/15', '1-30/2'). Macros: @yearly (@annually), @monthly,
// @weekly, @daily (@midnight), @hourly. As in Vixie cron, when both day of
// month and day of week are restricted (not starting with '*'), a day
// matches if either matches; '*/2' in a day field counts as unrestricted.
// 'a/n' means a to the field's maximum in steps of n.
//
// Daylight-saving transitions: a local time that does not exist (skipped by
// a spring-forward) fires at the first instant after the gap; a local time
// that occurs twice (fall-back) fires once, at its first occurrence.
//
//   ASSIGN_OR_RETURN(CronSchedule daily, CronSchedule::Parse("0 3 * * *"));
//   absl::TimeZone tz;  absl::LoadTimeZone("Europe/Bucharest", &tz);
//   absl::Time next = daily.Next(absl::Now(), tz);   // next 03:00 local
//
// Thread-safety: immutable after Parse; safe to share.
#ifndef GOALKEEPER_COORDINATOR_CRON_H_
#define GOALKEEPER_COORDINATOR_CRON_H_

#include <bitset>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace goalkeeper {

class CronSchedule {
 public:
  // Errors are InvalidArgument naming the field and the bad text:
  // "cron '61 * * * *': minute: '61' is out of range 0-59".
  static absl::StatusOr<CronSchedule> Parse(absl::string_view expr);

  // The first fire time strictly after `after`, or nullopt if there is none
  // within the next 5 years (e.g. "0 0 31 2 *").
  std::optional<absl::Time> Next(absl::Time after, absl::TimeZone tz) const;

  const std::string& text() const { return text_; }

 private:
  friend class CronScheduleTestPeer;  // the fuzzer checks results against the fields
  CronSchedule() = default;

  bool DayMatches(absl::CivilDay day) const;
  // The first civil minute >= `from` and <= `last` that matches every field.
  std::optional<absl::CivilMinute> NextMatch(absl::CivilMinute from, absl::CivilMinute last) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // 1-31
  std::bitset<13> months_;         // 1-12
  std::bitset<7> days_of_week_;    // 0-6, Sunday = 0
  bool dom_restricted_ = false;
  bool dow_restricted_ = false;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_CRON_H_
