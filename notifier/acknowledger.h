// Acknowledge, gRPC-free: an operator accepts an exposure (IP:PORT, with its
// transport: TCP unless the request says UDP; audited as IP:PORT/udp) until a
// time, with a reason; the notifier sends nothing about it until then. Each
// call, stored or refused, is one entry of the notifier's audit trail
// (common/audit_log.h): target IP:PORT, detail until, reason and the
// message of a refusal.
//
//   Acknowledger acks(store, clock, &auditor);
//   absl::Status s = acks.Acknowledge(CallerOf(*ctx), *req);
//
// Checks (InvalidArgument naming the value): an address and a port 1-65535,
// `until` in the future and within the caller role's max_acknowledge
// (notifier/notifier_authz.h), a reason of at most kMaxReasonBytes.
//
// Thread-safety: thread-safe (the store and the Auditor are).
#ifndef GOALKEEPER_NOTIFIER_ACKNOWLEDGER_H_
#define GOALKEEPER_NOTIFIER_ACKNOWLEDGER_H_

#include "absl/status/status.h"
#include "common/audit_log.h"
#include "common/auth_config.h"
#include "common/caller.h"
#include "common/clock.h"
#include "goalkeeper/v1/notifier.pb.h"
#include "notifier/notification_store.h"
#include "notifier/report_check.h"

namespace goalkeeper {

inline constexpr char kAcknowledgeMethod[] = "/goalkeeper.v1.Notifier/Acknowledge";

class Acknowledger {
 public:
  static constexpr size_t kMaxReasonBytes = kMaxAcknowledgeReason;  // notifier/report_check.h

  // `auth` and `audit` (null: not audited) must outlive it.
  Acknowledger(NotificationStore& store, const Clock& clock, const AuthConfig& auth, Auditor* audit)
      : store_(store), clock_(clock), auth_(auth), audit_(audit) {}

  absl::Status Acknowledge(const Caller& caller, const goalkeeper::v1::AcknowledgeRequest& req);

 private:
  absl::Status Check(const Caller& caller, const goalkeeper::v1::AcknowledgeRequest& req) const;

  NotificationStore& store_;
  const Clock& clock_;
  const AuthConfig& auth_;
  Auditor* const audit_;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_ACKNOWLEDGER_H_
