#include "common/caller.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace goalkeeper {
namespace {

std::string FirstValue(const grpc::AuthContext& auth, const char* property) {
  std::vector<grpc::string_ref> values = auth.FindPropertyValues(property);
  if (values.empty()) return "";
  return std::string(values.front().data(), values.front().size());
}

struct Recorded {
  const void* owner = nullptr;
  Caller caller;
};

struct Registry {
  absl::Mutex mu;
  absl::flat_hash_map<const grpc::ServerContextBase*, Recorded> calls ABSL_GUARDED_BY(mu);
};

Registry& Calls() {
  static auto* registry = new Registry();
  return *registry;
}

}  // namespace

void RecordCaller(const grpc::ServerContextBase* call, const void* owner, Caller caller) {
  Registry& r = Calls();
  absl::MutexLock lock(&r.mu);
  r.calls[call] = Recorded{owner, std::move(caller)};
}

void ForgetCaller(const grpc::ServerContextBase* call, const void* owner) {
  Registry& r = Calls();
  absl::MutexLock lock(&r.mu);
  auto it = r.calls.find(call);
  if (it != r.calls.end() && it->second.owner == owner) r.calls.erase(it);
}

size_t RecordedCallers() {
  Registry& r = Calls();
  absl::MutexLock lock(&r.mu);
  return r.calls.size();
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
  {
    Registry& r = Calls();
    absl::MutexLock lock(&r.mu);
    auto it = r.calls.find(&context);
    if (it != r.calls.end()) return it->second.caller;
  }
  caller.authenticated = true;
  caller.identity = PeerIdentity(*auth);
  if (caller.identity.empty()) caller.identity = "anonymous";
  caller.role = Role::kNone;
  return caller;
}

}  // namespace goalkeeper
