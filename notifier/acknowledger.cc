#include "notifier/acknowledger.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/ip_address.h"
#include "notifier/notifier_authz.h"
#include "notifier/report_check.h"

namespace goalkeeper {

namespace v1 = goalkeeper::v1;

absl::Status Acknowledger::Check(const Caller& caller, const v1::AcknowledgeRequest& req) const {
  if (!IpAddress::Parse(req.ip()) || req.port() == 0 || req.port() > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", req.ip().substr(0, 64), ":", req.port(), "' is not an address and port"));
  }
  if (req.transport() != v1::TRANSPORT_TCP && req.transport() != v1::TRANSPORT_UDP) {
    return absl::InvalidArgumentError(absl::StrCat("transport: ", static_cast<int>(req.transport()),
                                                   " is not TCP (0) or UDP (1)"));
  }
  if (absl::FromUnixMillis(req.until_unix_ms()) <= clock_.Now()) {
    return absl::InvalidArgumentError(
        absl::StrCat("until_unix_ms: ", req.until_unix_ms(), " is not in the future"));
  }
  if (absl::Status bounded = CheckAcknowledgeUntil(auth_, caller.role, clock_.Now(),
                                                   absl::FromUnixMillis(req.until_unix_ms()));
      !bounded.ok()) {
    return bounded;
  }
  // At most kMaxAcknowledgeReason bytes of UTF-8 without control characters.
  return CheckAcknowledgeReason(req.reason());
}

absl::Status Acknowledger::Acknowledge(const Caller& caller, const v1::AcknowledgeRequest& req) {
  absl::Status s = Check(caller, req);
  if (s.ok()) {
    s = store_.Acknowledge(req.ip(), req.port(), absl::FromUnixMillis(req.until_unix_ms()),
                           req.reason(), req.transport());
  }
  if (audit_ != nullptr) {
    AuditEntry e;
    e.identity = caller.identity;
    e.role = std::string(RoleName(caller.role));
    e.method = kAcknowledgeMethod;
    e.code = static_cast<int>(s.code());
    e.target = absl::StrCat(req.ip().substr(0, 64), ":", req.port(),
                            req.transport() == v1::TRANSPORT_UDP ? "/udp" : "");
    nlohmann::json detail = {
        {"until_unix_ms", req.until_unix_ms()},
        {"until", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(req.until_unix_ms()),
                                   absl::UTCTimeZone())},
        {"reason", req.reason().substr(0, kMaxReasonBytes)}};
    if (!s.ok()) detail["message"] = std::string(s.message());
    e.detail_json = detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    audit_->Record(std::move(e));
  }
  return s;
}

}  // namespace goalkeeper
