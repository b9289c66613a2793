#include "coordinator/schedule_runner.h"

#include <algorithm>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "common/caller.h"
#include "common/logging.h"
#include "coordinator/scan_audit.h"

namespace goalkeeper {

int ScheduleRunner::Tick() {
  if (scheduler_.specs().empty()) return 0;
  auto log = MakeLogger("coordinator");
  auto runs = manager_.ScheduleRuns();
  if (!runs.ok()) {
    log->error("cannot read schedule runs: {}", runs.status().message());
    return 0;
  }
  const absl::Time now = clock_.Now();
  std::map<std::string, ScheduleState> state;
  for (const ScheduleSpec& spec : scheduler_.specs()) {
    ScheduleState& st = state[spec.name];
    auto it = runs->find(spec.name);
    if (it == runs->end()) {
      st.first_seen = now;
      manager_.SaveScheduleRun(spec.name, absl::FromUnixMillis(-1), now).IgnoreError();
    } else {
      st.first_seen = absl::FromUnixMillis(it->second.second);
      if (it->second.first >= 0) st.last_fire = absl::FromUnixMillis(it->second.first);
    }
    st.running = manager_.ScheduleRunning(spec.name);
  }
  int started = 0;
  for (const ScheduleDecision& d : scheduler_.Evaluate(now, state)) {
    const ScheduleSpec* spec = nullptr;
    for (const ScheduleSpec& s : scheduler_.specs()) {
      if (s.name == d.name) spec = &s;
    }
    if (spec == nullptr) continue;
    auto retry = retry_.find(d.name);
    if (retry != retry_.end() && now < retry->second.at) continue;  // backing off
    if (d.start) {
      goalkeeper::v1::StartScanRequest req;
      req.set_inventory(spec->inventory);
      req.set_profile(spec->profile);
      auto scan = manager_.StartScan(req, spec->name);
      // A passing failure is retried (below) and audited once it ends.
      if (audit_ != nullptr && !absl::IsUnavailable(scan.status())) {
        AuditEntry e = StartScanAudit(req, scan, spec->name);
        e.identity = kSchedulerIdentity;
        e.role = std::string(RoleName(Role::kCoordinator));
        audit_->Record(std::move(e));
      }
      if (scan.ok()) {
        ++started;
        log->info("schedule fired name={} fire_time={} missed={} scan={}", d.name,
                  absl::FormatTime(d.fire_time), d.missed, scan->id());
      } else if (absl::IsUnavailable(scan.status())) {
        // Passing (the inventory's API): not recorded, tried again later.
        const absl::Duration backoff =
            retry == retry_.end() ? kFirstRetry : std::min(retry->second.backoff * 2, kMaxRetry);
        retry_[d.name] = {now + backoff, backoff};
        log->error(
            "schedule fired name={} fire_time={} but the scan could not start: {}; "
            "retrying in {}",
            d.name, absl::FormatTime(d.fire_time), scan.status().message(),
            absl::FormatDuration(backoff));
        continue;
      } else {
        log->error("schedule fired name={} but the scan was refused: {}", d.name,
                   scan.status().message());
      }
    } else {
      log->warn("schedule skipped name={} fire_time={}: its previous scan is still running",
                d.name, absl::FormatTime(d.fire_time));
    }
    retry_.erase(d.name);
    auto it = runs->find(d.name);
    absl::Time first_seen = it == runs->end() ? now : absl::FromUnixMillis(it->second.second);
    if (absl::Status s = manager_.SaveScheduleRun(d.name, d.fire_time, first_seen); !s.ok()) {
      log->error("cannot save schedule run name={}: {}", d.name, s.message());
    }
  }
  return started;
}

}  // namespace goalkeeper
