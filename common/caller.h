// Who is calling: the identity and role of a gRPC call's peer, as the
// authorization gate (common/authz.h) resolved them before the handler ran.
// Service adapters read it to audit, to scope a request to the caller's role
// and to bind a worker to the identity that registered it; they never check
// roles themselves (the gate did, against its method table).
//
//   Caller caller = CallerOf(*context);
//   if (caller.role < Role::kAdmin && scan.started_by != caller.identity) ...
//
// Identities: the peer certificate's first SAN URI (spiffe://goalkeeper/worker),
// else its first SAN DNS name, else "CN=<common name>"; a bearer token's
// configured name as "token:<name>"; "insecure" when the server runs with
// --insecure (no TLS: nobody is authenticated, every caller counts as admin).
//
// Thread-safety: pure functions.
#ifndef GOALKEEPER_COMMON_CALLER_H_
#define GOALKEEPER_COMMON_CALLER_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/role.h"  // Role, RoleName, ParseRole, RoleAllows

namespace goalkeeper {

struct Caller {
  std::string identity;  // see above; never empty
  Role role = Role::kNone;
  bool authenticated = false;  // false only with --insecure
};

// AuthContext properties the gate sets for the handler.
inline constexpr char kIdentityProperty[] = "goalkeeper.identity";
inline constexpr char kRoleProperty[] = "goalkeeper.role";

// The identity a peer certificate proves (see above); "" without one.
std::string PeerIdentity(const grpc::AuthContext& auth);

// The caller of a call on a server: the gate's properties; with no TLS
// (--insecure) {"insecure", kAdmin, false}; a TLS peer the gate did not see
// (it cannot happen on our servers) gets kNone.
Caller CallerOf(const grpc::ServerContext& context);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_CALLER_H_
