#include "common/caller.h"

#include "absl/strings/str_cat.h"

namespace goalkeeper {
namespace {

std::string FirstValue(const grpc::AuthContext& auth, const char* property) {
  std::vector<grpc::string_ref> values = auth.FindPropertyValues(property);
  if (values.empty()) return "";
  return std::string(values.front().data(), values.front().size());
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kNone:
      return "none";
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
    case Role::kWorker:
      return "worker";
    case Role::kNodeAgent:
      return "node-agent";
    case Role::kCoordinator:
      return "coordinator";
  }
  return "none";
}

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  for (Role r : {Role::kViewer, Role::kOperator, Role::kAdmin, Role::kWorker, Role::kNodeAgent,
                 Role::kCoordinator}) {
    if (RoleName(r) == name) return r;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "role '", name, "' is not viewer, operator, admin, worker, node-agent or coordinator"));
}

bool RoleAllows(Role have, Role need) {
  if (need == Role::kNone) return true;
  bool have_operator_role = have >= Role::kViewer && have <= Role::kAdmin;
  bool need_operator_role = need >= Role::kViewer && need <= Role::kAdmin;
  if (have_operator_role && need_operator_role) return have >= need;
  return have == need;
}

std::string PeerIdentity(const grpc::AuthContext& auth) {
  std::string uri = FirstValue(auth, "peer_uri");
  if (!uri.empty()) return uri;
  std::string dns = FirstValue(auth, "peer_dns");
  if (!dns.empty()) return dns;
  std::string cn = FirstValue(auth, "x509_common_name");
  if (!cn.empty()) return absl::StrCat("CN=", cn);
  return "";
}

Caller CallerOf(const grpc::ServerContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  Caller caller;
  if (auth == nullptr || FirstValue(*auth, "transport_security_type") != "tls") {
    caller.identity = "insecure";
    caller.role = Role::kAdmin;
    caller.authenticated = false;
    return caller;
  }
  caller.authenticated = true;
  caller.identity = FirstValue(*auth, kIdentityProperty);
  if (caller.identity.empty()) caller.identity = PeerIdentity(*auth);
  if (caller.identity.empty()) caller.identity = "anonymous";
  absl::StatusOr<Role> role = ParseRole(FirstValue(*auth, kRoleProperty));
  caller.role = role.ok() ? *role : Role::kNone;
  return caller;
}

}  // namespace goalkeeper
