// Runs scan schedules: asks the Scheduler what is due, starts those scans
// through the ScanManager and persists each schedule's last fire time, so a
// restart neither repeats a run nor forgets a missed one.
//
//   ScheduleRunner runner(std::move(scheduler), manager, clock);
//   runner.Tick();   // about once a second
//
// Thread-safety: Tick is called from one thread.
#ifndef GOALKEEPER_COORDINATOR_SCHEDULE_RUNNER_H_
#define GOALKEEPER_COORDINATOR_SCHEDULE_RUNNER_H_

#include "common/clock.h"
#include "coordinator/scan_manager.h"
#include "coordinator/scheduler.h"

namespace goalkeeper {

class ScheduleRunner {
 public:
  ScheduleRunner(Scheduler scheduler, ScanManager& manager, const Clock& clock)
      : scheduler_(std::move(scheduler)), manager_(manager), clock_(clock) {}

  // Returns the number of scans started.
  int Tick();

 private:
  Scheduler scheduler_;
  ScanManager& manager_;
  const Clock& clock_;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_SCHEDULE_RUNNER_H_
