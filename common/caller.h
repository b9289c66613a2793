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

namespace goalkeeper {

// Operator roles are ordered: each includes the ones below it. Fleet roles
// (worker, node-agent, coordinator) include nothing else.
enum class Role {
  kNone = 0,
  kViewer = 1,        // status, findings, workers, nodes, audit
  kOperator = 2,      // + ad-hoc scans, cancel their own
  kAdmin = 3,         // + cancel any, acknowledge exposures
  kWorker = 10,       // ShardService on its own leases
  kNodeAgent = 11,    // NodeService.ReportNode
  kCoordinator = 12,  // the notifier's report deliveries
};

// "viewer", "operator", "admin", "worker", "node-agent", "coordinator"; "none".
absl::string_view RoleName(Role role);
// The inverse of RoleName (not "none"); errors name the value.
absl::StatusOr<Role> ParseRole(absl::string_view name);
// True when `have` may do what `need` allows: operator roles by order, fleet
// roles only themselves.
bool RoleAllows(Role have, Role need);

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
