// Checks of a delivered ScanReport's contents against what the coordinator
// produces, before the notifier stores it: every value that a report carries
// into an owner's email or the operators' Telegram summary is held to the
// coordinator's own formats, so a forged or corrupted report cannot put free
// text (a phishing line, a fake "reply to" address, HTML, control bytes) in
// front of a customer. Errors are INVALID_ARGUMENT naming the field and
// quoting the value (common/node_finding_check.h's QuoteFieldValue):
//
//   RETURN_IF_ERROR(CheckScanReport(report));
//   // "exposures[3].service: 'Redis\r\nBcc: x' (17 bytes) is not the coordinator's name for
//   //  port 6379 ('Redis', or 'tcp/6379')"
//
// What the coordinator produces (coordinator/scan_manager.cc, scan_store.cc):
// - scan_id, base_scan_id: "YYYYMMDD-HHMMSS-hhhhhh" (UTC time, 6 lower-case
//   hex digits); base_scan_id may be empty;
// - inventory: "" (ad-hoc) or a configured inventory name: 1-64 ASCII
//   letters, digits, '_', '-', '.';
// - exposures: ip in canonical text form (IpAddress::ToString), port
//   1-65535, service = ServiceName(port) (the catalogue's name or
//   "tcp/PORT"; "tcp/PORT" is also accepted for a catalogue port and ""
//   for none, so a coordinator with an older catalogue is not refused),
//   status NEW, STILL_OPEN or CLOSED;
// - times: 0 or Unix milliseconds up to the year 9999.
// Node findings have their own checks (notifier/node_findings.h, with
// common/node_finding_check.h); nothing a client sends becomes an email
// header in either path (tests/notifier/report_check_test.cc).
//
// Thread-safety: pure functions.
#ifndef GOALKEEPER_NOTIFIER_REPORT_CHECK_H_
#define GOALKEEPER_NOTIFIER_REPORT_CHECK_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "goalkeeper/v1/notifier.pb.h"

namespace goalkeeper {

// Longest acknowledgement reason, in bytes.
inline constexpr size_t kMaxAcknowledgeReason = 500;

// True for "YYYYMMDD-HHMMSS-hhhhhh" (the coordinator's scan ids).
bool IsCoordinatorScanId(absl::string_view id);

// scan_id, base_scan_id, inventory and the two times (not the exposures).
absl::Status CheckReportHeader(const goalkeeper::v1::ScanReport& report);

// One exposure; `field` names it in errors ("exposures[3]").
absl::Status CheckExposure(absl::string_view field, const goalkeeper::v1::Exposure& e);

// The header and every exposure.
absl::Status CheckScanReport(const goalkeeper::v1::ScanReport& report);

// An acknowledgement's reason: at most kMaxAcknowledgeReason bytes of UTF-8
// without control characters (it is shown by goalkeeperctl and audited).
absl::Status CheckAcknowledgeReason(absl::string_view reason);

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_REPORT_CHECK_H_
