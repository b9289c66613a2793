#include "common/authz.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/deadline_check.h"
#include "common/grpc_server_metrics.h"  // GrpcCodeName
#include "common/logging.h"
#include "common/status_macros.h"

namespace goalkeeper {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

// Methods every authenticated peer may call: health checks and reflection.
bool IsPublicMethod(absl::string_view method) {
  return absl::StartsWith(method, "/grpc.health.v1.Health/") ||
         absl::StartsWith(method, "/grpc.reflection.v1alpha.ServerReflection/") ||
         absl::StartsWith(method, "/grpc.reflection.v1.ServerReflection/");
}

// Compares in time independent of where the strings differ.
bool SecretEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<unsigned char>(
        diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  return diff == 0;
}

std::string Str(grpc::string_ref s) { return std::string(s.data(), s.size()); }

std::string FirstProperty(const grpc::AuthContext& auth, const char* name) {
  std::vector<grpc::string_ref> values = auth.FindPropertyValues(name);
  return values.empty() ? "" : Str(values.front());
}

// Records the identity and slot of a call when its metadata arrives, and
// gives the slot back when the call is destroyed (ended in any way).
class StreamSlotInterceptor final : public grpc::experimental::Interceptor {
 public:
  StreamSlotInterceptor(ServerRpcInfo* info, StreamSlots* slots) : info_(info), slots_(slots) {}
  ~StreamSlotInterceptor() override {
    if (holds_slot_) slots_->Release(identity_);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (!seen_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      seen_ = true;
      grpc::ServerContextBase* context = info_->server_context();
      std::shared_ptr<const grpc::AuthContext> auth =
          context != nullptr ? context->auth_context() : nullptr;
      if (auth != nullptr && FirstProperty(*auth, kStreamSlotProperty) == "1") {
        identity_ = FirstProperty(*auth, kIdentityProperty);
        holds_slot_ = true;
      }
    }
    methods->Proceed();
  }

 private:
  ServerRpcInfo* const info_;
  StreamSlots* const slots_;
  bool seen_ = false;
  bool holds_slot_ = false;
  std::string identity_;
};

class StreamSlotFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit StreamSlotFactory(StreamSlots* slots) : slots_(slots) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new StreamSlotInterceptor(info, slots_);
  }

 private:
  StreamSlots* const slots_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const AuthPolicy>> AuthPolicy::Create(const AuthConfig& config) {
  std::vector<Token> tokens;
  for (size_t i = 0; i < config.tokens.size(); ++i) {
    const TokenRule& rule = config.tokens[i];
    ASSIGN_OR_RETURN(std::string secret,
                     ReadAuthTokenFile(rule.file, absl::StrCat("auth.tokens[", i, "].file")));
    for (const Token& t : tokens) {
      if (SecretEquals(t.secret, secret)) {
        return absl::InvalidArgumentError(absl::StrCat("auth.tokens[", i, "].file: the token in '",
                                                       rule.file, "' is also token '", t.name,
                                                       "'s: give each its own"));
      }
    }
    tokens.push_back({rule.name, std::move(secret), rule.role});
  }
  return std::shared_ptr<const AuthPolicy>(new AuthPolicy(config, std::move(tokens)));
}

absl::StatusOr<Caller> AuthPolicy::Resolve(absl::string_view bearer,
                                           absl::string_view peer_identity) const {
  Caller caller;
  caller.authenticated = true;
  if (!bearer.empty()) {
    const Token* found = nullptr;
    for (const Token& t : tokens_) {
      if (SecretEquals(t.secret, bearer)) found = &t;
    }
    if (found == nullptr) return absl::UnauthenticatedError("bearer token not recognised");
    caller.identity = absl::StrCat("token:", found->name);
    caller.role = found->role;
    return caller;
  }
  if (peer_identity.empty()) {
    return absl::UnauthenticatedError(
        "the client certificate names no identity (no SAN URI, DNS name or common name)");
  }
  caller.identity = std::string(peer_identity);
  std::optional<Role> role = MatchIdentity(config_.identities, peer_identity);
  if (!role) {
    return absl::PermissionDeniedError(
        absl::StrCat(caller.identity, " has no role (add it to auth.identities)"));
  }
  caller.role = *role;
  return caller;
}

StreamSlots& StreamSlots::Global() {
  static auto* slots = new StreamSlots();
  return *slots;
}

bool StreamSlots::TryAcquire(const std::string& identity, uint32_t limit) {
  absl::MutexLock lock(&mu_);
  uint32_t& held = held_[identity];
  if (held >= limit) {
    if (held == 0) held_.erase(identity);
    return false;
  }
  ++held;
  return true;
}

void StreamSlots::Release(const std::string& identity) {
  absl::MutexLock lock(&mu_);
  auto it = held_.find(identity);
  if (it == held_.end()) return;
  if (--it->second == 0) held_.erase(it);
}

uint32_t StreamSlots::Held(const std::string& identity) {
  absl::MutexLock lock(&mu_);
  auto it = held_.find(identity);
  return it == held_.end() ? 0 : it->second;
}

AuthGate::AuthGate(std::shared_ptr<const AuthPolicy> policy, MethodTable table,
                   std::set<std::string> streaming, DeniedFn denied, StreamSlots* slots)
    : policy_(std::move(policy)),
      table_(std::move(table)),
      streaming_(std::move(streaming)),
      denied_(std::move(denied)),
      slots_(slots) {}

grpc::Status AuthGate::Deny(const std::string& identity, const std::string& method,
                            grpc::StatusCode code, std::string message) const {
  if (denied_) denied_(DeniedCall{identity, method, code, message});
  return grpc::Status(code, std::move(message));
}

grpc::Status AuthGate::Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                               OutputMetadata* consumed_auth_metadata, OutputMetadata*) {
  std::string method;
  std::string bearer;
  bool has_authorization = false;
  for (const auto& [key, value] : auth_metadata) {
    if (key == ":path") {
      method = Str(value);
    } else if (key == "authorization") {
      has_authorization = true;
      absl::string_view v(value.data(), value.size());
      if (absl::StartsWith(v, "Bearer ")) bearer = std::string(v.substr(7));
      consumed_auth_metadata->insert({Str(key), Str(value)});
    }
  }
  const std::string peer = PeerIdentity(*context);
  if (IsPublicMethod(method)) return grpc::Status::OK;
  if (has_authorization && bearer.empty()) {
    return Deny(peer, method, grpc::StatusCode::UNAUTHENTICATED,
                "the authorization header is not 'Bearer <token>'");
  }
  absl::StatusOr<Caller> caller = policy_->Resolve(bearer, peer);
  if (!caller.ok()) {
    return Deny(peer, method, static_cast<grpc::StatusCode>(caller.status().code()),
                std::string(caller.status().message()));
  }
  auto rule = table_.find(method);
  if (rule == table_.end()) {
    return Deny(caller->identity, method, grpc::StatusCode::PERMISSION_DENIED,
                absl::StrCat(method.empty() ? "(no method)" : method,
                             " is not in this server's method table: refused"));
  }
  if (!RoleAllows(caller->role, rule->second)) {
    return Deny(caller->identity, method, grpc::StatusCode::PERMISSION_DENIED,
                absl::StrCat(method, " needs role ", RoleName(rule->second), "; ", caller->identity,
                             " has ", RoleName(caller->role)));
  }
  // A unary call must carry a deadline (a client that never gives up would
  // hold a handler thread); streams are bounded per identity instead.
  if (streaming_.count(method) == 0) {
    if (absl::Status s = RequireDeadline(auth_metadata); !s.ok()) {
      return Deny(caller->identity, method, grpc::StatusCode::INVALID_ARGUMENT,
                  std::string(s.message()));
    }
  }
  if (streaming_.count(method) > 0) {
    const uint32_t limit = policy_->config().max_streams_per_identity;
    if (!slots_->TryAcquire(caller->identity, limit)) {
      return Deny(caller->identity, method, grpc::StatusCode::RESOURCE_EXHAUSTED,
                  absl::StrCat(caller->identity, " has ", limit,
                               " streams open (auth.max_streams_per_identity); close one or "
                               "try again later"));
    }
    context->AddProperty(kStreamSlotProperty, "1");
  }
  context->AddProperty(kIdentityProperty, caller->identity);
  context->AddProperty(kRoleProperty, std::string(RoleName(caller->role)));
  return grpc::Status::OK;
}

absl::StatusOr<std::shared_ptr<AuthGate>> MakeServerGate(const AuthConfig& auth, MethodTable table,
                                                         std::set<std::string> streaming,
                                                         absl::string_view component,
                                                         DeniedFn also) {
  ASSIGN_OR_RETURN(std::shared_ptr<const AuthPolicy> policy, AuthPolicy::Create(auth));
  auto log = MakeLogger(std::string(component));
  DeniedFn denied = [log, also = std::move(also)](const DeniedCall& d) {
    log->warn("denied: identity={} method={} code={} message={}",
              d.identity.empty() ? "(none)" : d.identity, d.method, GrpcCodeName(d.code),
              d.message);
    if (also) also(d);
  };
  return std::make_shared<AuthGate>(std::move(policy), std::move(table), std::move(streaming),
                                    std::move(denied));
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> StreamSlotInterceptorFactory(
    StreamSlots* slots) {
  return std::make_unique<StreamSlotFactory>(slots);
}

std::vector<std::string> MethodsOf(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services) {
  std::vector<std::string> out;
  for (const google::protobuf::ServiceDescriptor* s : services) {
    if (s == nullptr) std::abort();  // a service name that is not in the proto
    for (int i = 0; i < s->method_count(); ++i) {
      out.push_back(absl::StrCat("/", s->full_name(), "/", s->method(i)->name()));
    }
  }
  return out;
}

std::set<std::string> StreamingMethods(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services) {
  std::set<std::string> out;
  for (const google::protobuf::ServiceDescriptor* s : services) {
    if (s == nullptr) std::abort();  // a service name that is not in the proto
    for (int i = 0; i < s->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* m = s->method(i);
      if (m->client_streaming() || m->server_streaming()) {
        out.insert(absl::StrCat("/", s->full_name(), "/", m->name()));
      }
    }
  }
  return out;
}

}  // namespace goalkeeper
