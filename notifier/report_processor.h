// Turns a stored ScanReport into notifications: resolves owners, applies the
// noise rules per (owner, ip, port), and queues one email per owner, one
// email to the operators for NOT FOUND addresses, and one Telegram summary
// (notifier/telegram_summary.h: at most three messages), all in one transaction with the
// report marked processed, so a crash repeats nothing and loses nothing.
//
// Owner emails group exposures by the service that answered; each exposure
// gets a line of what was seen (notifier/exposure_text.h: "Redis 7.0.15
// answered without a password", or "port 27017/tcp is open; we could not
// confirm which service answers"), each group the catalogue's risk and
// advice (common/services.h). Exposures are keyed by (ip, port, transport).
// A degraded report (a canary was missed) never tells anyone that something
// closed, and leaves the stored state of what it saw closed unchanged.
//
// Noise rules: a NEW exposure (or one not open at the last notification) is
// notified; a STILL_OPEN one is reminded when the last notification is at
// least notify.repeat_interval old; a CLOSED one is told only with
// notify.notify_closed; acknowledged exposures (config or Acknowledge RPC,
// until their expiry) are never notified. One report never sends one owner
// two emails. mode: stage sends every email to ops.emails instead of owners;
// mode: prod emails owners and copies ops.emails.
//
//   ReportProcessor p(config, store, clock, resolve);
//   absl::Status s = p.Process(report);   // error: retried later
//
// Thread-safety: Process is called from one thread.
#ifndef GOALKEEPER_NOTIFIER_REPORT_PROCESSOR_H_
#define GOALKEEPER_NOTIFIER_REPORT_PROCESSOR_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "goalkeeper/v1/notifier.pb.h"
#include "notifier/config.h"
#include "notifier/notification_store.h"
#include "notifier/owner_resolver.h"

namespace goalkeeper {

// Why an exposure is in a notification.
enum class NotificationKind {
  kNew,        // new, or open again since the last notification
  kStillOpen,  // a reminder after notify.repeat_interval
  kClosed,     // closed (with notify.notify_closed)
};
// "new", "still open", "closed": as the emails say it.
absl::string_view NotificationKindText(NotificationKind kind);

// Resolves the IPs of one report (the seam over OwnerResolver and its
// OpenStack/Fleio clients, so tests can fake it).
using ResolveFn = std::function<absl::StatusOr<std::map<std::string, Owner>>(
    const std::vector<std::string>& ips, ResolutionCounts* counts)>;

class ReportProcessor {
 public:
  ReportProcessor(const NotifierConfig& config, NotificationStore& store, const Clock& clock,
                  ResolveFn resolve);

  absl::Status Process(const goalkeeper::v1::ScanReport& report);
  const ResolutionCounts& counts() const { return counts_; }

 private:
  const NotifierConfig& config_;
  NotificationStore& store_;
  const Clock& clock_;
  ResolveFn resolve_;
  ResolutionCounts counts_;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_REPORT_PROCESSOR_H_
