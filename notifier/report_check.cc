#include "notifier/report_check.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/evidence_check.h"
#include "common/ip_address.h"
#include "common/node_finding_check.h"
#include "common/services.h"
#include "common/status_macros.h"
#include "common/utf8.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

// The coordinator's inventory names (coordinator/config.cc).
constexpr size_t kMaxInventoryName = 64;
// 9999-12-31T23:59:59.999Z.
constexpr int64_t kMaxUnixMs = 253'402'300'799'999;

absl::Status CheckTime(absl::string_view field, int64_t unix_ms) {
  if (unix_ms < 0 || unix_ms > kMaxUnixMs) {
    return FieldError(field,
                      absl::StrCat(unix_ms, " is not Unix milliseconds between 1970 and 9999"));
  }
  return absl::OkStatus();
}

absl::Status CheckScanId(absl::string_view field, absl::string_view id) {
  if (!IsCoordinatorScanId(id)) {
    return FieldError(field, absl::StrCat(QuoteFieldValue(id), " (", id.size(),
                                          " bytes) is not a coordinator scan id "
                                          "(YYYYMMDD-HHMMSS-hhhhhh)"));
  }
  return absl::OkStatus();
}

constexpr int kMaxMissedCanaries = 64;
constexpr int kMaxFlaps = 1000;

absl::Status CheckIpPort(absl::string_view field, absl::string_view ip_text, uint32_t port) {
  std::optional<IpAddress> ip = IpAddress::Parse(ip_text);
  if (!ip.has_value() || ip->ToString() != ip_text) {
    return FieldError(
        absl::StrCat(field, ".ip"),
        absl::StrCat(QuoteFieldValue(ip_text), " is not an IP address in canonical form"));
  }
  if (port < 1 || port > 65535) {
    return FieldError(absl::StrCat(field, ".port"), absl::StrCat(port, " is not a port (1-65535)"));
  }
  return absl::OkStatus();
}

// "ip:port/tcp" or "ip:port/udp" (ip canonical; IPv6 without brackets, the
// port after the last ':').
absl::Status CheckCanary(absl::string_view field, absl::string_view v) {
  const absl::Status bad =
      FieldError(field, absl::StrCat(QuoteFieldValue(v), " is not IP:PORT/tcp or IP:PORT/udp"));
  const size_t slash = v.rfind('/');
  const size_t colon = v.rfind(':');
  if (slash == absl::string_view::npos || colon == absl::string_view::npos || colon > slash) {
    return bad;
  }
  const absl::string_view proto = v.substr(slash + 1);
  if (proto != "tcp" && proto != "udp") return bad;
  const absl::string_view port_text = v.substr(colon + 1, slash - colon - 1);
  if (port_text.empty() || port_text.size() > 5) return bad;
  uint32_t port = 0;
  for (char c : port_text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return bad;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port_text[0] == '0' || !CheckIpPort(field, v.substr(0, colon), port).ok()) return bad;
  return absl::OkStatus();
}

absl::Status CheckTrust(const v1::ScanReport& report) {
  if (report.missed_canaries_size() > kMaxMissedCanaries) {
    return FieldError("missed_canaries", absl::StrCat(report.missed_canaries_size(),
                                                      " entries, at most ", kMaxMissedCanaries));
  }
  if (report.missed_canaries_size() > 0 && !report.degraded()) {
    return FieldError("missed_canaries",
                      absl::StrCat(report.missed_canaries_size(),
                                   " missed canaries in a report that is not degraded"));
  }
  for (int i = 0; i < report.missed_canaries_size(); ++i) {
    RETURN_IF_ERROR(
        CheckCanary(absl::StrCat("missed_canaries[", i, "]"), report.missed_canaries(i)));
  }
  if (report.flaps_size() > kMaxFlaps) {
    return FieldError("flaps", absl::StrCat(report.flaps_size(), " entries, at most ", kMaxFlaps));
  }
  if (report.flap_count() < static_cast<uint64_t>(report.flaps_size())) {
    return FieldError("flap_count", absl::StrCat(report.flap_count(), " is less than the ",
                                                 report.flaps_size(), " flaps listed"));
  }
  for (int i = 0; i < report.flaps_size(); ++i) {
    const std::string field = absl::StrCat("flaps[", i, "]");
    const v1::Flap& f = report.flaps(i);
    RETURN_IF_ERROR(CheckIpPort(field, f.ip(), f.port()));
    RETURN_IF_ERROR(CheckTransport(absl::StrCat(field, ".transport"), f.transport()));
    if (f.status() != v1::NEW && f.status() != v1::CLOSED) {
      return FieldError(absl::StrCat(field, ".status"),
                        absl::StrCat(static_cast<int>(f.status()), " is not NEW or CLOSED"));
    }
  }
  return absl::OkStatus();
}

bool IsLowerHex(char c) {
  return absl::ascii_isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
}

}  // namespace

bool IsCoordinatorScanId(absl::string_view id) {
  // 8 digits, '-', 6 digits, '-', 6 lower-case hex digits.
  if (id.size() != 22 || id[8] != '-' || id[15] != '-') return false;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 15) continue;
    const bool ok =
        i < 15 ? absl::ascii_isdigit(static_cast<unsigned char>(id[i])) : IsLowerHex(id[i]);
    if (!ok) return false;
  }
  return true;
}

absl::Status CheckReportHeader(const v1::ScanReport& report) {
  RETURN_IF_ERROR(CheckScanId("scan_id", report.scan_id()));
  if (!report.base_scan_id().empty()) {
    RETURN_IF_ERROR(CheckScanId("base_scan_id", report.base_scan_id()));
  }
  if (!report.inventory().empty()) {
    RETURN_IF_ERROR(CheckFieldToken("inventory", report.inventory(), kMaxInventoryName, "_-."));
  }
  RETURN_IF_ERROR(CheckTime("started_unix_ms", report.started_unix_ms()));
  RETURN_IF_ERROR(CheckTime("finished_unix_ms", report.finished_unix_ms()));
  return CheckTrust(report);
}

absl::Status CheckExposure(absl::string_view field, const v1::Exposure& e) {
  RETURN_IF_ERROR(CheckIpPort(field, e.ip(), e.port()));
  RETURN_IF_ERROR(CheckTransport(absl::StrCat(field, ".transport"), e.transport()));
  const uint16_t port = static_cast<uint16_t>(e.port());
  const bool udp = e.transport() == v1::TRANSPORT_UDP;
  const std::string name = ServiceName(port, udp ? IpProtocol::kUdp : IpProtocol::kTcp);
  const std::string generic = absl::StrCat(udp ? "udp/" : "tcp/", port);
  if (e.verified()) {
    // What answered, which may differ from the port's catalogue name.
    if (e.service().size() > kMaxEvidenceService || !IsProbeService(e.service())) {
      return FieldError(absl::StrCat(field, ".service"),
                        absl::StrCat(QuoteFieldValue(e.service()), " (", e.service().size(),
                                     " bytes) is not a service a probe names"));
    }
  } else if (!e.service().empty() && e.service() != name && e.service() != generic) {
    return FieldError(
        absl::StrCat(field, ".service"),
        absl::StrCat(QuoteFieldValue(e.service()), " (", e.service().size(),
                     " bytes) is not the coordinator's name for port ", port, " ('", name,
                     name == generic ? "" : absl::StrCat("', or '", generic), "')"));
  }
  if (e.status() != v1::NEW && e.status() != v1::STILL_OPEN && e.status() != v1::CLOSED) {
    return FieldError(
        absl::StrCat(field, ".status"),
        absl::StrCat(static_cast<int>(e.status()), " is not NEW, STILL_OPEN or CLOSED"));
  }
  RETURN_IF_ERROR(CheckEvidence(absl::StrCat(field, ".evidence"), e.evidence()));
  return CheckTime(absl::StrCat(field, ".first_seen_unix_ms"), e.first_seen_unix_ms());
}

absl::Status CheckScanReport(const v1::ScanReport& report) {
  RETURN_IF_ERROR(CheckReportHeader(report));
  for (int i = 0; i < report.exposures_size(); ++i) {
    RETURN_IF_ERROR(CheckExposure(absl::StrCat("exposures[", i, "]"), report.exposures(i)));
  }
  return absl::OkStatus();
}

absl::Status CheckAcknowledgeReason(absl::string_view reason) {
  if (reason.size() > kMaxAcknowledgeReason) {
    return FieldError("reason",
                      absl::StrCat(reason.size(), " bytes (at most ", kMaxAcknowledgeReason, ")"));
  }
  for (size_t i = 0; i < reason.size();) {
    const size_t n = Utf8SequenceLength(reason, i);
    const unsigned char c = static_cast<unsigned char>(reason[i]);
    if ((n == 1 && (c < 0x20 || c >= 0x7f)) ||
        (n == 2 && c == 0xc2 && static_cast<unsigned char>(reason[i + 1]) < 0xa0)) {
      return FieldError("reason", absl::StrCat(QuoteFieldValue(reason),
                                               " holds a control character or invalid UTF-8"));
    }
    i += n;
  }
  return absl::OkStatus();
}

}  // namespace goalkeeper
