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
