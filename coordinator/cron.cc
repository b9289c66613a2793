#include "coordinator/cron.h"

#include <bitset>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"

namespace goalkeeper {
namespace {

// How far ahead Next() looks before giving up (cron.h: "within the next 5 years").
constexpr int kHorizonYears = 5;

// Values above this are out of range for every field; parsing stops
// accumulating digits here so huge numbers cannot overflow.
constexpr int kNumberCap = 1000;

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kWeekdayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct Field {
  const char* name;  // as used in error messages
  int min;
  int max;
  const char* const* names;  // names[i] is the value first_name_value + i
  int name_count;
  int first_name_value;
  const char* name_kind;  // "month name (jan-dec)"
};

constexpr Field kMinute = {"minute", 0, 59, nullptr, 0, 0, nullptr};
constexpr Field kHour = {"hour", 0, 23, nullptr, 0, 0, nullptr};
constexpr Field kDayOfMonth = {"day of month", 1, 31, nullptr, 0, 0, nullptr};
constexpr Field kMonth = {"month", 1, 12, kMonthNames, 12, 1, "month name (jan-dec)"};
// 7 is Sunday as well as 0; bit 7 is folded onto bit 0 after parsing.
constexpr Field kDayOfWeek = {"day of week", 0, 7, kWeekdayNames, 7, 0, "day name (sun-sat)"};

struct Macro {
  const char* name;
  const char* expansion;
};
constexpr Macro kMacros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

// Text quoted in an error: escaped so control bytes stay readable, and
// shortened so a huge input does not make a huge message.
std::string Shown(absl::string_view text) {
  constexpr size_t kMaxShown = 64;
  std::string shown = absl::CHexEscape(text.substr(0, kMaxShown));
  if (text.size() > kMaxShown) shown += "...";
  return shown;
}

// Builds "cron 'EXPR': FIELD: DETAIL" errors.
class ErrorFactory {
 public:
  explicit ErrorFactory(absl::string_view expr)
      : prefix_(absl::StrCat("cron '", Shown(expr), "': ")) {}

  absl::Status Expr(absl::string_view detail) const {
    return absl::InvalidArgumentError(absl::StrCat(prefix_, detail));
  }
  absl::Status InField(const Field& field, absl::string_view detail) const {
    return Expr(absl::StrCat(field.name, ": ", detail));
  }

 private:
  std::string prefix_;
};

bool AllDigits(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Parses a decimal number, saturating at kNumberCap.
int ParseDigits(absl::string_view text) {
  int value = 0;
  for (char c : text) {
    value = value * 10 + (c - '0');
    if (value > kNumberCap) return kNumberCap + 1;
  }
  return value;
}

// Parses one value of a field: a number or (month, day of week) a name.
// `element` is the list element the value is part of, for errors.
absl::Status ParseValue(const ErrorFactory& err, const Field& field, absl::string_view element,
                        absl::string_view text, int* value) {
  if (AllDigits(text)) {
    *value = ParseDigits(text);
    if (*value < field.min || *value > field.max) {
      return err.InField(field, absl::StrCat("'", Shown(text), "' is out of range ", field.min,
                                             "-", field.max));
    }
    return absl::OkStatus();
  }
  for (int i = 0; i < field.name_count; ++i) {
    if (absl::EqualsIgnoreCase(text, field.names[i])) {
      *value = field.first_name_value + i;
      return absl::OkStatus();
    }
  }
  if (text.empty()) {
    return err.InField(field, absl::StrCat("'", Shown(element), "' is missing a value"));
  }
  return err.InField(field, absl::StrCat("'", Shown(text), "' is not a number",
                                         field.name_kind == nullptr ? "" : " or a ",
                                         field.name_kind == nullptr ? "" : field.name_kind));
}

// Parses one list element: '*', 'a', 'a-b', each optionally with '/step'.
// 'a/step' means 'a-max/step', as in most cron implementations.
absl::Status ParseElement(const ErrorFactory& err, const Field& field, absl::string_view element,
                          std::vector<bool>* bits) {
  if (element.empty()) return err.InField(field, "a list element is empty");
  absl::string_view base = element;
  int step = 1;
  bool has_step = false;
  if (size_t slash = element.find('/'); slash != absl::string_view::npos) {
    has_step = true;
    base = element.substr(0, slash);
    absl::string_view step_text = element.substr(slash + 1);
    const int max_step = field.max - field.min + 1;
    if (!AllDigits(step_text)) {
      return err.InField(field, absl::StrCat("'", Shown(element), "': step '", Shown(step_text),
                                             "' is not a number"));
    }
    step = ParseDigits(step_text);
    if (step < 1 || step > max_step) {
      return err.InField(field, absl::StrCat("'", Shown(element), "': step '", Shown(step_text),
                                             "' is out of range 1-", max_step));
    }
  }
  int lo = field.min;
  int hi = field.max;
  if (base != "*") {
    if (size_t dash = base.find('-'); dash != absl::string_view::npos) {
      absl::Status s = ParseValue(err, field, element, base.substr(0, dash), &lo);
      if (!s.ok()) return s;
      s = ParseValue(err, field, element, base.substr(dash + 1), &hi);
      if (!s.ok()) return s;
      if (lo > hi) {
        return err.InField(field, absl::StrCat("'", Shown(base), "' is a reversed range (", lo,
                                               " > ", hi, ")"));
      }
    } else {
      absl::Status s = ParseValue(err, field, element, base, &lo);
      if (!s.ok()) return s;
      hi = has_step ? field.max : lo;
    }
  }
  for (int v = lo; v <= hi; v += step) (*bits)[static_cast<size_t>(v)] = true;
  return absl::OkStatus();
}

// Parses a whole field into bits indexed by value (size field.max + 1).
absl::Status ParseField(const ErrorFactory& err, const Field& field, absl::string_view text,
                        std::vector<bool>* bits) {
  bits->assign(static_cast<size_t>(field.max) + 1, false);
  for (absl::string_view element : absl::StrSplit(text, ',')) {
    absl::Status s = ParseElement(err, field, element, bits);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

template <size_t N>
void CopyBits(const std::vector<bool>& from, std::bitset<N>* to) {
  for (size_t i = 0; i < N && i < from.size(); ++i) to->set(i, from[i]);
}

// Sunday = 0 ... Saturday = 6.
int WeekdayIndex(absl::CivilDay day) {
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::sunday:
      return 0;
    case absl::Weekday::monday:
      return 1;
    case absl::Weekday::tuesday:
      return 2;
    case absl::Weekday::wednesday:
      return 3;
    case absl::Weekday::thursday:
      return 4;
    case absl::Weekday::friday:
      return 5;
    case absl::Weekday::saturday:
      return 6;
  }
  return 0;
}

}  // namespace

absl::StatusOr<CronSchedule> CronSchedule::Parse(absl::string_view expr) {
  const ErrorFactory err(expr);
  std::vector<absl::string_view> fields =
      absl::StrSplit(expr, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (fields.size() == 1 && absl::StartsWith(fields[0], "@")) {
    for (const Macro& macro : kMacros) {
      if (absl::EqualsIgnoreCase(fields[0], macro.name)) {
        absl::StatusOr<CronSchedule> expanded = Parse(macro.expansion);
        if (expanded.ok()) expanded->text_ = std::string(expr);
        return expanded;
      }
    }
    return err.Expr(absl::StrCat("unknown macro '", Shown(fields[0]),
                                 "' (known: @yearly, @annually, @monthly, @weekly, @daily, "
                                 "@midnight, @hourly)"));
  }
  if (fields.size() != 5) {
    return err.Expr(absl::StrCat("expected 5 fields or a @macro, got ", fields.size()));
  }

  CronSchedule cron;
  cron.text_ = std::string(expr);
  std::vector<bool> bits;
  absl::Status s = ParseField(err, kMinute, fields[0], &bits);
  if (!s.ok()) return s;
  CopyBits(bits, &cron.minutes_);
  s = ParseField(err, kHour, fields[1], &bits);
  if (!s.ok()) return s;
  CopyBits(bits, &cron.hours_);
  s = ParseField(err, kDayOfMonth, fields[2], &bits);
  if (!s.ok()) return s;
  CopyBits(bits, &cron.days_of_month_);
  s = ParseField(err, kMonth, fields[3], &bits);
  if (!s.ok()) return s;
  CopyBits(bits, &cron.months_);
  s = ParseField(err, kDayOfWeek, fields[4], &bits);
  if (!s.ok()) return s;
  if (bits[7]) bits[0] = true;
  CopyBits(bits, &cron.days_of_week_);
  // As in Vixie cron, a day field counts as unrestricted when it starts with
  // '*' ('*' or '*/n'); only when both are restricted do they combine by OR.
  cron.dom_restricted_ = !absl::StartsWith(fields[2], "*");
  cron.dow_restricted_ = !absl::StartsWith(fields[4], "*");
  return cron;
}

bool CronSchedule::DayMatches(absl::CivilDay day) const {
  const bool dom = days_of_month_[static_cast<size_t>(day.day())];
  const bool dow = days_of_week_[static_cast<size_t>(WeekdayIndex(day))];
  if (dom_restricted_ && dow_restricted_) return dom || dow;
  return dom && dow;
}

std::optional<absl::CivilMinute> CronSchedule::NextMatch(absl::CivilMinute from,
                                                         absl::CivilMinute last) const {
  absl::CivilMinute t = from;
  // Each step either returns or moves t to the start of the next month, day,
  // hour or matching minute, so the loop runs at most a few thousand times
  // over the 5-year horizon.
  while (t <= last) {
    if (!months_[static_cast<size_t>(t.month())]) {
      t = absl::CivilMinute(absl::CivilMonth(t) + 1);
      continue;
    }
    if (!DayMatches(absl::CivilDay(t))) {
      t = absl::CivilMinute(absl::CivilDay(t) + 1);
      continue;
    }
    if (!hours_[static_cast<size_t>(t.hour())]) {
      t = absl::CivilMinute(absl::CivilHour(t) + 1);
      continue;
    }
    int minute = t.minute();
    while (minute < 60 && !minutes_[static_cast<size_t>(minute)]) ++minute;
    if (minute == 60) {
      t = absl::CivilMinute(absl::CivilHour(t) + 1);
      continue;
    }
    t += minute - t.minute();
    return t <= last ? std::optional<absl::CivilMinute>(t) : std::nullopt;
  }
  return std::nullopt;
}

std::optional<absl::Time> CronSchedule::Next(absl::Time after, absl::TimeZone tz) const {
  // There is no first fire time after the infinite past, and none after the
  // infinite future.
  if (after == absl::InfiniteFuture() || after == absl::InfinitePast()) return std::nullopt;
  const absl::CivilMinute now(tz.At(after).cs);
  const absl::CivilMinute last(now.year() + kHorizonYears, now.month(), now.day(), now.hour(),
                               now.minute());
  // Civil minutes map to absolute times in order (a skipped minute maps to
  // the end of its gap, a repeated one to its first occurrence), so the first
  // matching minute that maps past `after` is the answer. Minutes at or
  // before `now` cannot map past `after`; a few after it can still map
  // before it when `after` is in the second pass of a repeated hour.
  for (std::optional<absl::CivilMinute> m = NextMatch(now + 1, last); m.has_value();
       m = NextMatch(*m + 1, last)) {
    const absl::TimeZone::TimeInfo info = tz.At(absl::CivilSecond(*m));
    const absl::Time when = info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
    if (when > after) return when;
  }
  return std::nullopt;
}

}  // namespace goalkeeper
