#include "common/authz.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
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

// Records a call's caller when its metadata has passed the gate (for
// CallerOf), takes the bearer token out of what the handler sees, and gives
// the call's stream slot back when the call is destroyed (ended in any way).
class CallerInterceptor final : public grpc::experimental::Interceptor {
 public:
  CallerInterceptor(ServerRpcInfo* info, std::shared_ptr<const AuthGate> gate)
      : info_(info), gate_(std::move(gate)) {}
  ~CallerInterceptor() override {
    if (recorded_) ForgetCaller(info_->server_context(), this);
    if (holds_slot_) gate_->slots()->Release(identity_);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (!seen_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      seen_ = true;
      grpc::ServerContextBase* context = info_->server_context();
      std::multimap<grpc::string_ref, grpc::string_ref>* md = methods->GetRecvInitialMetadata();
      std::shared_ptr<const grpc::AuthContext> auth =
          context != nullptr ? context->auth_context() : nullptr;
      if (md != nullptr && auth != nullptr) {
        absl::StatusOr<Caller> caller = gate_->Resolve(*md, *auth);
        md->erase("authorization");  // the gate's business, not the handler's
        if (caller.ok()) {
          identity_ = caller->identity;
          holds_slot_ = gate_->TakesStreamSlot(info_->method());
          RecordCaller(context, this, *std::move(caller));
          recorded_ = true;
        }
      }
    }
    methods->Proceed();
  }

 private:
  ServerRpcInfo* const info_;
  const std::shared_ptr<const AuthGate> gate_;
  bool seen_ = false;
  bool recorded_ = false;
  bool holds_slot_ = false;
  std::string identity_;
};

class CallerInterceptorFactoryImpl final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallerInterceptorFactoryImpl(std::shared_ptr<const AuthGate> gate)
      : gate_(std::move(gate)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new CallerInterceptor(info, gate_);
  }

 private:
  const std::shared_ptr<const AuthGate> gate_;
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
                               OutputMetadata*, OutputMetadata*) {
  std::string method;
  if (auto it = auth_metadata.find(":path"); it != auth_metadata.end()) method = Str(it->second);
  const std::string peer = PeerIdentity(*context);
  if (IsPublicMethod(method)) return grpc::Status::OK;
  absl::StatusOr<Caller> caller = Resolve(auth_metadata, *context);
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
  }
  // Nothing is written to `context`: it is the connection's, shared by all
  // of its calls (the interceptor records the caller per call).
  return grpc::Status::OK;
}

absl::StatusOr<Caller> AuthGate::Resolve(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const grpc::AuthContext& context) const {
  std::string bearer;
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    absl::string_view v(it->second.data(), it->second.size());
    if (!absl::ConsumePrefix(&v, "Bearer ") || v.empty()) {
      return absl::UnauthenticatedError("the authorization header is not 'Bearer <token>'");
    }
    bearer = std::string(v);
  }
  return policy_->Resolve(bearer, PeerIdentity(context));
}

bool AuthGate::TakesStreamSlot(absl::string_view method) const {
  return !IsPublicMethod(method) && streaming_.count(std::string(method)) > 0;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> CallerInterceptorFactory(
    std::shared_ptr<const AuthGate> gate) {
  return std::make_unique<CallerInterceptorFactoryImpl>(std::move(gate));
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
