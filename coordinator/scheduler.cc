#include "coordinator/scheduler.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace goalkeeper {
namespace {

// A name as shown inside "schedules[...]": escaped and bounded in length.
std::string Shown(absl::string_view text) {
  constexpr size_t kMaxShown = 64;
  std::string shown = absl::CHexEscape(text.substr(0, kMaxShown));
  if (text.size() > kMaxShown) shown += "...";
  return shown;
}

// Loads an IANA zone by name; "" is UTC. Names that would make the loader
// read a file outside the zoneinfo tree, or the host's local zone, are
// refused: a schedule must mean the same on every coordinator.
bool LoadZone(const std::string& name, absl::TimeZone* tz) {
  if (name.empty()) {
    *tz = absl::UTCTimeZone();
    return true;
  }
  if (name[0] == '/' || absl::StrContains(name, "..") || name == "localtime") return false;
  return absl::LoadTimeZone(name, tz);
}

// Where a schedule's next fire is counted from: its last fire, or, if it has
// never fired, when it was first seen. A schedule with no state at all is
// treated as first seen `now`.
absl::Time CountFrom(const std::map<std::string, ScheduleState>& state, const std::string& name,
                     absl::Time now) {
  auto it = state.find(name);
  if (it == state.end()) return now;
  return it->second.last_fire.value_or(it->second.first_seen);
}

}  // namespace

absl::StatusOr<Scheduler> Scheduler::Create(std::vector<ScheduleSpec> specs) {
  Scheduler scheduler;
  std::set<std::string> names;
  for (size_t i = 0; i < specs.size(); ++i) {
    const ScheduleSpec& spec = specs[i];
    if (spec.name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("schedules[", i, "].name: is empty"));
    }
    const std::string where = absl::StrCat("schedules[", Shown(spec.name), "]");
    if (!names.insert(spec.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".name: '", Shown(spec.name), "' is used by more than one schedule"));
    }
    absl::StatusOr<CronSchedule> cron = CronSchedule::Parse(spec.cron);
    if (!cron.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".cron: ", cron.status().message()));
    }
    absl::TimeZone tz;
    if (!LoadZone(spec.timezone, &tz)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".timezone: '", Shown(spec.timezone),
                                                     "' is not a known time zone"));
    }
    scheduler.entries_.push_back(Entry{*std::move(cron), tz});
  }
  scheduler.specs_ = std::move(specs);
  return scheduler;
}

std::vector<ScheduleDecision> Scheduler::Evaluate(
    absl::Time now, const std::map<std::string, ScheduleState>& state) const {
  std::vector<ScheduleDecision> decisions;
  for (size_t i = 0; i < specs_.size(); ++i) {
    const ScheduleSpec& spec = specs_[i];
    const Entry& entry = entries_[i];
    std::optional<absl::Time> fire = entry.cron.Next(CountFrom(state, spec.name, now), entry.tz);
    if (!fire.has_value() || *fire > now) continue;
    // Walk to the latest fire time in (from, now]; the ones before it were
    // missed. The cost is one Next() per missed fire time.
    ScheduleDecision decision;
    decision.name = spec.name;
    decision.fire_time = *fire;
    while (true) {
      std::optional<absl::Time> next = entry.cron.Next(decision.fire_time, entry.tz);
      if (!next.has_value() || *next > now) break;
      decision.fire_time = *next;
      if (decision.missed < std::numeric_limits<int>::max()) ++decision.missed;
    }
    auto it = state.find(spec.name);
    decision.start = it == state.end() || !it->second.running;
    decisions.push_back(std::move(decision));
  }
  return decisions;
}

std::optional<absl::Time> Scheduler::NextWakeup(
    absl::Time now, const std::map<std::string, ScheduleState>& state) const {
  std::optional<absl::Time> earliest;
  for (size_t i = 0; i < specs_.size(); ++i) {
    // Never before its last fire (or first sighting), even if the clock went
    // back; always strictly after `now`.
    const absl::Time from = std::max(now, CountFrom(state, specs_[i].name, now));
    std::optional<absl::Time> fire = entries_[i].cron.Next(from, entries_[i].tz);
    if (fire.has_value() && (!earliest.has_value() || *fire < *earliest)) earliest = fire;
  }
  return earliest;
}

}  // namespace goalkeeper
