// Decides which scan schedules are due. Pure logic: the caller persists the
// last fire time of each schedule and says which schedules have a scan still
// running; the Scheduler never touches a store, a clock or a thread.
//
// Rules:
// - A schedule fires at each time its cron expression names in its zone.
// - A run missed while the coordinator was down runs once on start: if one or
//   more fire times fell in (last_fire, now], the schedule is due now, once
//   (not once per missed time).
// - A schedule never overlaps itself: while its previous scan runs, a due
//   fire is skipped (reported as skipped) and the schedule waits for its
//   next fire time after `now`.
// - A schedule that has never fired (no last_fire) first fires at the first
//   cron time after it was first seen (`first_seen`), not retroactively.
//
//   ASSIGN_OR_RETURN(Scheduler s, Scheduler::Create({{"prod-daily", "0 3 * * *",
//                                                     "Europe/Bucharest", "prod", "default"}}));
//   std::vector<ScheduleDecision> d = s.Evaluate(now, state);
//
// A schedule missing from the state map counts as first seen at `now`.
// `missed` is counted by stepping through the fire times, so its cost grows
// with the number of missed times (about 150 ns each).
//
// Thread-safety: immutable after construction; Evaluate is const.
#ifndef GOALKEEPER_COORDINATOR_SCHEDULER_H_
#define GOALKEEPER_COORDINATOR_SCHEDULER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coordinator/cron.h"

namespace goalkeeper {

struct ScheduleSpec {
  std::string name;
  std::string cron;      // see cron.h
  std::string timezone;  // IANA name, e.g. "Europe/Bucharest"; "" = UTC
  std::string inventory;
  std::string profile;

  friend bool operator==(const ScheduleSpec&, const ScheduleSpec&) = default;
};

struct ScheduleState {
  std::optional<absl::Time> last_fire;  // the fire time last acted on
  absl::Time first_seen;                // when the coordinator first knew it
  bool running = false;                 // a scan started by it is still running
};

struct ScheduleDecision {
  std::string name;
  absl::Time fire_time;  // the (latest) cron time being acted on
  bool start = false;    // true: start a scan now; false: skipped (overlap)
  int missed = 0;        // fire times in (last_fire, now] beyond the latest
};

class Scheduler {
 public:
  // Parses every cron expression and loads every time zone; errors name the
  // schedule: "schedules[prod-daily].cron: ...".
  static absl::StatusOr<Scheduler> Create(std::vector<ScheduleSpec> specs);

  // Decisions for the schedules due at `now` (fire time in (last_fire, now]).
  // The caller records fire_time as the new last_fire for every decision,
  // started or skipped.
  std::vector<ScheduleDecision> Evaluate(absl::Time now,
                                         const std::map<std::string, ScheduleState>& state) const;

  // The next time any schedule fires after `now` (for sleeping), if any.
  std::optional<absl::Time> NextWakeup(absl::Time now,
                                       const std::map<std::string, ScheduleState>& state) const;

  const std::vector<ScheduleSpec>& specs() const { return specs_; }

 private:
  struct Entry {
    CronSchedule cron;
    absl::TimeZone tz;
  };
  std::vector<ScheduleSpec> specs_;
  std::vector<Entry> entries_;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_SCHEDULER_H_
