// The least role each RPC of the notifier needs: the table the auth gate
// (common/authz.h) checks every call against. Every method of Notifier is
// here (a test walks the proto descriptor), so a new RPC cannot be served
// without a role. Reports come only from the coordinator's identity.
// Acknowledge is bounded by the caller role's auth.roles.<role>.max_acknowledge.
//
//   RETURN_IF_ERROR(CheckAcknowledgeUntil(config.auth, caller.role, now, until));
//   auto gate = std::make_shared<AuthGate>(policy, NotifierMethodTable(),
//                                          NotifierStreamingMethods(), on_denied);
//
// Thread-safety: pure functions.
#ifndef GOALKEEPER_NOTIFIER_NOTIFIER_AUTHZ_H_
#define GOALKEEPER_NOTIFIER_NOTIFIER_AUTHZ_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/auth_config.h"
#include "common/authz.h"

namespace goalkeeper {

MethodTable NotifierMethodTable();
// The notifier's services, from the generated descriptors.
std::vector<const google::protobuf::ServiceDescriptor*> NotifierServices();
// The streaming methods of Notifier (each takes a stream slot).
std::set<std::string> NotifierStreamingMethods();

// InvalidArgument when `until` lies further from `now` than the role's
// max_acknowledge: "acknowledging until 2027-...Z is longer than
// auth.roles.admin.max_acknowledge (90d)". No limit configured: OK.
absl::Status CheckAcknowledgeUntil(const AuthConfig& auth, Role role, absl::Time now,
                                   absl::Time until);

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_NOTIFIER_AUTHZ_H_
