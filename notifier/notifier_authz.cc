#include "notifier/notifier_authz.h"

#include "absl/strings/str_cat.h"
#include "goalkeeper/v1/notifier.grpc.pb.h"

namespace goalkeeper {

MethodTable NotifierMethodTable() {
  return {
      {"/goalkeeper.v1.Notifier/DeliverReport", Role::kCoordinator},
      {"/goalkeeper.v1.Notifier/DeliverReportStream", Role::kCoordinator},
      {"/goalkeeper.v1.Notifier/DeliverNodeFindings", Role::kCoordinator},
      {"/goalkeeper.v1.Notifier/Acknowledge", Role::kAdmin},
      {"/goalkeeper.v1.Notifier/ListAudit", Role::kViewer},
  };
}

std::vector<const google::protobuf::ServiceDescriptor*> NotifierServices() {
  return {goalkeeper::v1::ScanReport::descriptor()->file()->FindServiceByName("Notifier")};
}

std::set<std::string> NotifierStreamingMethods() { return StreamingMethods(NotifierServices()); }

absl::Status CheckAcknowledgeUntil(const AuthConfig& auth, Role role, absl::Time now,
                                   absl::Time until) {
  const absl::Duration most = ScopeOf(auth, role).max_acknowledge;
  if (most == absl::ZeroDuration() || until - now <= most) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "acknowledging until ", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", until, absl::UTCTimeZone()),
      " is longer than auth.roles.", RoleName(role), ".max_acknowledge (", FormatAuthDuration(most),
      ")"));
}

}  // namespace goalkeeper
