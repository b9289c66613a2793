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
// Thread-safety: thread-safe.
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

// The identity a peer certificate proves (see above); "" without one.
std::string PeerIdentity(const grpc::AuthContext& auth);

// The caller of a call on a server: what the gate's interceptor recorded for
// this call; with no TLS (--insecure) {"insecure", kAdmin, false}; a TLS call
// the gate did not see (a server without a gate) is its certificate's
// identity with kNone.
Caller CallerOf(const grpc::ServerContext& context);

// The callers of the calls in flight on this process's servers, by call
// (common/authz.h's interceptor: recorded when a call's metadata has passed
// the gate, forgotten when the call ends). Per call, not in the AuthContext:
// gRPC shares one AuthContext among every call of a connection, so a
// property added there would be seen by the connection's other calls and
// written while they read it. `owner` makes a forget of an earlier call on
// a reused ServerContext a no-op.
void RecordCaller(const grpc::ServerContextBase* call, const void* owner, Caller caller);
void ForgetCaller(const grpc::ServerContextBase* call, const void* owner);
size_t RecordedCallers();  // calls in flight with a recorded caller (tests)

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_CALLER_H_
