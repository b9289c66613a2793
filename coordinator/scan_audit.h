// What the coordinator writes to its audit trail (common/audit_log.h) for
// the calls that change something: the entry of a StartScan (an operator's
// or a schedule's), a CancelScan and a RegisterWorker, from the request and
// its outcome. The adapters and the ScheduleRunner fill in who called.
//
//   AuditEntry e = StartScanAudit(req, scan, /*schedule=*/"");
//   e.identity = caller.identity;
//   auditor->Record(std::move(e));
//
// Details are bounded: at most kAuditedSpecs target specs per list (with
// the totals), strings cut at 256 bytes (a million-line target list
// makes a small entry).
//
// Thread-safety: pure functions.
#ifndef GOALKEEPER_COORDINATOR_SCAN_AUDIT_H_
#define GOALKEEPER_COORDINATOR_SCAN_AUDIT_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/audit_log.h"
#include "goalkeeper/v1/coordinator.pb.h"

namespace goalkeeper {

inline constexpr char kStartScanMethod[] = "/goalkeeper.v1.Coordinator/StartScan";
inline constexpr char kCancelScanMethod[] = "/goalkeeper.v1.Coordinator/CancelScan";
inline constexpr char kRegisterWorkerMethod[] = "/goalkeeper.v1.ShardService/RegisterWorker";
inline constexpr char kSchedulerIdentity[] = "scheduler";
inline constexpr int kAuditedSpecs = 32;

// target: the scan id ("" when refused);
// detail: inventory, targets (+ targets_total), exclude (+ exclude_total),
// ports, profile, schedule, and the outcome (state, or the error message).
AuditEntry StartScanAudit(const goalkeeper::v1::StartScanRequest& req,
                          const absl::StatusOr<goalkeeper::v1::Scan>& scan,
                          const std::string& schedule);
// target: the scan id; detail: the state it ended in, or the error message.
AuditEntry CancelScanAudit(const goalkeeper::v1::CancelScanRequest& req,
                           const absl::StatusOr<goalkeeper::v1::Scan>& scan);
// target: the worker id; detail: name, concurrency, re-registration, message.
AuditEntry RegisterWorkerAudit(const goalkeeper::v1::RegisterWorkerRequest& req,
                               const absl::StatusOr<goalkeeper::v1::RegisterWorkerResponse>& resp);
// A refused worker call (LeaseShard, Heartbeat, ...): target the worker id,
// detail the message.
AuditEntry WorkerRefusalAudit(const std::string& method, const std::string& worker_id,
                              const absl::Status& status);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_SCAN_AUDIT_H_
