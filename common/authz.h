// Who may do what: the one gate every call of a TLS server passes before its
// handler runs. gRPC C++ server interceptors cannot refuse a call, so the
// gate is the server credentials' AuthMetadataProcessor (installed by
// MakeServerCredentials, common/grpc_channel.h). Per call:
//   1. `authorization: Bearer <t>`, if sent, must be a configured token
//      (UNAUTHENTICATED "bearer token not recognised"; the token is never
//      printed); the caller is then "token:<name>" with the token's role.
//      Otherwise the caller is the peer certificate's identity (PeerIdentity).
//   2. The identity's role is the first matching auth.identities rule; none
//      is PERMISSION_DENIED "<identity> has no role (add it to auth.identities)".
//   3. The method must be in the component's table with a role the caller's
//      allows (RoleAllows): PERMISSION_DENIED "<method> needs role <need>;
//      <identity> has <have>". A method not in the table is refused (fail
//      closed); grpc.health.v1 and server reflection are open to every
//      authenticated peer.
//   4. A streaming method takes one of the identity's stream slots
//      (auth.max_streams_per_identity): RESOURCE_EXHAUSTED naming the
//      identity and the limit.
// The gate reports every refusal to its DeniedCall callback (the audit). Its
// interceptor (CallerInterceptorFactory; StartGrpcServer installs it with
// the gate) resolves the caller of each admitted call again, records it for
// CallerOf, removes the bearer token from what the handler sees, and gives
// the stream slot back when the call ends. The gate writes nothing into the
// AuthContext: gRPC gives the processor the connection's, shared by every
// call on it (properties added per call raced with the other calls' reads
// and piled up for the connection's life).
//
//   ASSIGN_OR_RETURN(auto policy, AuthPolicy::Create(config.auth));
//   auto gate = std::make_shared<AuthGate>(policy, CoordinatorMethodTable(),
//                                          CoordinatorStreamingMethods(),
//                                          [](const DeniedCall& d) { ... });
//   auto creds = MakeServerCredentials(config.tls, gate);
//
// Thread-safety: AuthPolicy is immutable; AuthGate and StreamSlots are
// thread-safe (Process runs on gRPC's threads).
#ifndef GOALKEEPER_COMMON_AUTHZ_H_
#define GOALKEEPER_COMMON_AUTHZ_H_

#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/support/server_interceptor.h>

#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/auth_config.h"
#include "common/caller.h"

namespace goalkeeper {

// "/goalkeeper.v1.Coordinator/StartScan" -> the least role that may call it.
using MethodTable = std::map<std::string, Role>;

// Identities, tokens and scopes, with the token files read (at start).
class AuthPolicy {
 public:
  // Reads every token file (trimmed); errors name the file and the key,
  // never the token: "auth.tokens[0].file: token file '/x' is empty".
  static absl::StatusOr<std::shared_ptr<const AuthPolicy>> Create(const AuthConfig& config);

  // The caller of a call presenting `bearer` (the token, "" = none) over a
  // connection whose certificate proves `peer_identity`.
  // UNAUTHENTICATED for an unknown token or no identity at all,
  // PERMISSION_DENIED for an identity with no role.
  absl::StatusOr<Caller> Resolve(absl::string_view bearer, absl::string_view peer_identity) const;

  const AuthConfig& config() const { return config_; }

 private:
  struct Token {
    std::string name;
    std::string secret;
    Role role;
  };
  AuthPolicy(AuthConfig config, std::vector<Token> tokens)
      : config_(std::move(config)), tokens_(std::move(tokens)) {}

  AuthConfig config_;
  std::vector<Token> tokens_;
};

// Concurrent streaming calls per identity, for every server of the process.
class StreamSlots {
 public:
  static StreamSlots& Global();
  // Takes a slot unless `identity` holds `limit` already.
  bool TryAcquire(const std::string& identity, uint32_t limit);
  void Release(const std::string& identity);
  uint32_t Held(const std::string& identity);

 private:
  absl::Mutex mu_;
  std::map<std::string, uint32_t> held_ ABSL_GUARDED_BY(mu_);
};

// A call the gate refused.
struct DeniedCall {
  std::string identity;  // "" when the peer proved none
  std::string method;
  grpc::StatusCode code = grpc::StatusCode::PERMISSION_DENIED;
  std::string message;
};
using DeniedFn = std::function<void(const DeniedCall&)>;

class AuthGate final : public grpc::AuthMetadataProcessor {
 public:
  // `streaming`: the table's methods that take a stream slot (see
  // StreamingMethods). `slots` must outlive the gate.
  AuthGate(std::shared_ptr<const AuthPolicy> policy, MethodTable table,
           std::set<std::string> streaming, DeniedFn denied = nullptr,
           StreamSlots* slots = &StreamSlots::Global());

  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

  // The caller of a call with `metadata` (its `authorization`, if any) on a
  // connection with `context` (its certificate's identity), as in 1. and 2.
  absl::StatusOr<Caller> Resolve(const InputMetadata& metadata,
                                 const grpc::AuthContext& context) const;
  // Whether an admitted call of `method` holds a stream slot.
  bool TakesStreamSlot(absl::string_view method) const;
  StreamSlots* slots() const { return slots_; }

 private:
  grpc::Status Deny(const std::string& identity, const std::string& method, grpc::StatusCode code,
                    std::string message) const;

  const std::shared_ptr<const AuthPolicy> policy_;
  const MethodTable table_;
  const std::set<std::string> streaming_;
  const DeniedFn denied_;
  StreamSlots* const slots_;
};

// The gate of a component's server: the policy of `auth` (its token files
// are read now: errors name the key and the file), every refusal logged as
// one line on the `component` logger ("denied: identity=... method=...
// code=PermissionDenied message=...") and then passed to `also` (the audit;
// may be null).
absl::StatusOr<std::shared_ptr<AuthGate>> MakeServerGate(const AuthConfig& auth, MethodTable table,
                                                         std::set<std::string> streaming,
                                                         absl::string_view component,
                                                         DeniedFn also = nullptr);

// The gate's per-call interceptor (see above; StartGrpcServer installs it in
// every server with a gate).
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> CallerInterceptorFactory(
    std::shared_ptr<const AuthGate> gate);

// "/pkg.Service/Method" of every method of the services.
// A null service (not found by name) is an impossible state: it aborts.
std::vector<std::string> MethodsOf(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services);
// The client-, server- or bidi-streaming ones.
std::set<std::string> StreamingMethods(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_AUTHZ_H_
