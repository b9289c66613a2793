// Runs scan schedules: asks the Scheduler what is due, starts those scans
// through the ScanManager and persists each schedule's last fire time, so a
// restart neither repeats a run nor forgets a missed one.
//
// A run the manager refuses (a bad target, no addresses) is logged and
// counts as done. A run that cannot start for a passing reason (Unavailable:
// the OpenStack API of its inventory failed) is not recorded and is tried
// again after a backoff (1 minute, doubling up to 15), until it starts or the
// next fire time replaces it; a restart meanwhile runs it once on start.
// Each run started or refused is one audit entry (identity "scheduler",
// coordinator/scan_audit.h) when an Auditor is given; a run retried for a
// passing reason is audited when it starts.
//
//   ScheduleRunner runner(std::move(scheduler), manager, clock);
//   runner.Tick();   // about once a second
//
// Thread-safety: Tick is called from one thread. It may block on an
// inventory's API (ScanManager::StartScan), so it should not share a thread
// with lease expiry.
#ifndef GOALKEEPER_COORDINATOR_SCHEDULE_RUNNER_H_
#define GOALKEEPER_COORDINATOR_SCHEDULE_RUNNER_H_

#include <map>
#include <string>

#include "absl/time/time.h"
#include "common/audit_log.h"
#include "common/clock.h"
#include "coordinator/scan_manager.h"
#include "coordinator/scheduler.h"

namespace goalkeeper {

class ScheduleRunner {
 public:
  static constexpr absl::Duration kFirstRetry = absl::Minutes(1);
  static constexpr absl::Duration kMaxRetry = absl::Minutes(15);

  // `audit` (null: none) must outlive the runner.
  ScheduleRunner(Scheduler scheduler, ScanManager& manager, const Clock& clock,
                 Auditor* audit = nullptr)
      : scheduler_(std::move(scheduler)), manager_(manager), clock_(clock), audit_(audit) {}

  // Returns the number of scans started.
  int Tick();

 private:
  struct Retry {
    absl::Time at;           // not before this
    absl::Duration backoff;  // the wait that led to `at`
  };

  Scheduler scheduler_;
  ScanManager& manager_;
  const Clock& clock_;
  Auditor* const audit_;
  std::map<std::string, Retry> retry_;  // schedules whose run waits to be tried again
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_SCHEDULE_RUNNER_H_
