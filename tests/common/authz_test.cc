// The gate's decisions without a network: a fake AuthContext carries the
// peer certificate's properties and a metadata multimap the call's :path and
// authorization, and Process is called directly.
#include "common/authz.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace goalkeeper {
namespace {

using ::testing::HasSubstr;

class FakeIterator : public grpc::AuthPropertyIterator {
 public:
  FakeIterator() : grpc::AuthPropertyIterator() {}
};

// Properties in a multimap, as a TLS connection's AuthContext has them.
class FakeAuthContext final : public grpc::AuthContext {
 public:
  explicit FakeAuthContext(std::multimap<std::string, std::string> props)
      : props_(std::move(props)) {}
  bool IsPeerAuthenticated() const override { return true; }
  std::vector<grpc::string_ref> GetPeerIdentity() const override { return {}; }
  std::string GetPeerIdentityPropertyName() const override { return ""; }
  std::vector<grpc::string_ref> FindPropertyValues(const std::string& name) const override {
    std::vector<grpc::string_ref> out;
    auto [lo, hi] = props_.equal_range(name);
    for (auto it = lo; it != hi; ++it) out.emplace_back(it->second);
    return out;
  }
  grpc::AuthPropertyIterator begin() const override { return FakeIterator(); }
  grpc::AuthPropertyIterator end() const override { return FakeIterator(); }
  void AddProperty(const std::string& key, const grpc::string_ref& value) override {
    props_.emplace(key, std::string(value.data(), value.size()));
  }
  bool SetPeerIdentityPropertyName(const std::string&) override { return true; }

  size_t size() const { return props_.size(); }

 private:
  std::multimap<std::string, std::string> props_;
};

FakeAuthContext Peer(const std::string& uri) {
  std::multimap<std::string, std::string> props = {{"transport_security_type", "tls"}};
  if (!uri.empty()) props.emplace("peer_uri", uri);
  return FakeAuthContext(props);
}

std::string WriteFile(const std::string& name, const std::string& content) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
  std::ofstream(path) << content;
  return path;
}

const MethodTable kTable = {
    {"/goalkeeper.v1.Coordinator/GetScan", Role::kViewer},
    {"/goalkeeper.v1.Coordinator/StartScan", Role::kOperator},
    {"/goalkeeper.v1.Coordinator/WatchScan", Role::kViewer},
    {"/goalkeeper.v1.ShardService/LeaseShard", Role::kWorker},
};

class AuthGateTest : public ::testing::Test {
 protected:
  AuthGateTest() {
    AuthConfig config;
    config.max_streams_per_identity = 2;
    config.tokens.push_back({"ci", WriteFile("ci-token", "  s3cret-token\n"), Role::kOperator});
    auto policy = AuthPolicy::Create(config);
    EXPECT_TRUE(policy.ok()) << policy.status();
    gate_ = std::make_unique<AuthGate>(
        *policy, kTable, std::set<std::string>{"/goalkeeper.v1.Coordinator/WatchScan"},
        [this](const DeniedCall& d) { denied_.push_back(d); }, &slots_);
  }

  // A call as a gRPC client sends it; `deadline` false: without grpc-timeout.
  grpc::Status Call(FakeAuthContext& auth, const std::string& method,
                    const std::string& authorization = "", bool deadline = true) {
    std::multimap<grpc::string_ref, grpc::string_ref> md;
    md.emplace(":path", method);
    if (deadline) md.emplace("grpc-timeout", "9999866u");
    if (!authorization.empty()) md.emplace("authorization", authorization);
    md.emplace("user-agent", "test");
    consumed_.clear();
    std::multimap<std::string, std::string> response;
    return gate_->Process(md, &auth, &consumed_, &response);
  }

  // The caller the gate's interceptor records for a call with `authorization`.
  std::string CallerIdentity(const FakeAuthContext& auth, const std::string& authorization = "") {
    std::multimap<grpc::string_ref, grpc::string_ref> md;
    if (!authorization.empty()) md.emplace("authorization", authorization);
    absl::StatusOr<Caller> c = gate_->Resolve(md, auth);
    if (!c.ok()) return std::string(c.status().message());
    return absl::StrCat(c->identity, " ", RoleName(c->role));
  }

  StreamSlots slots_;
  std::vector<DeniedCall> denied_;
  std::multimap<std::string, std::string> consumed_;
  std::unique_ptr<AuthGate> gate_;
};

TEST_F(AuthGateTest, LetsARoleCallWhatItsRoleAllowsAndSetsTheCaller) {
  FakeAuthContext auth = Peer("spiffe://goalkeeper/operator");
  grpc::Status s = Call(auth, "/goalkeeper.v1.Coordinator/StartScan");
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(CallerIdentity(auth), "spiffe://goalkeeper/operator operator");
  // The connection's AuthContext is shared by its calls: never written.
  EXPECT_EQ(auth.size(), 2u);  // its own two properties: nothing added
  FakeAuthContext viewer_call = Peer("spiffe://goalkeeper/admin");
  EXPECT_TRUE(Call(viewer_call, "/goalkeeper.v1.Coordinator/GetScan").ok());
  EXPECT_TRUE(denied_.empty());
}

TEST_F(AuthGateTest, AUnaryCallWithoutADeadlineIsRefusedAStreamIsNot) {
  FakeAuthContext auth = Peer("spiffe://goalkeeper/admin");
  grpc::Status s = Call(auth, "/goalkeeper.v1.Coordinator/GetScan", "", /*deadline=*/false);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("a deadline is required"));
  ASSERT_EQ(denied_.size(), 1u);
  EXPECT_EQ(denied_[0].code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(auth.size(), 2u);  // its own two properties: nothing added
  FakeAuthContext watch = Peer("spiffe://goalkeeper/admin");
  EXPECT_TRUE(Call(watch, "/goalkeeper.v1.Coordinator/WatchScan", "", /*deadline=*/false).ok());
}

TEST_F(AuthGateTest, RefusesAMissingRoleNamingTheMethodAndBothRoles) {
  FakeAuthContext auth = Peer("spiffe://goalkeeper/viewer");
  grpc::Status s = Call(auth, "/goalkeeper.v1.Coordinator/StartScan");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(),
            "/goalkeeper.v1.Coordinator/StartScan needs role operator; "
            "spiffe://goalkeeper/viewer has viewer");
  ASSERT_EQ(denied_.size(), 1u);
  EXPECT_EQ(denied_[0].identity, "spiffe://goalkeeper/viewer");
  EXPECT_EQ(denied_[0].method, "/goalkeeper.v1.Coordinator/StartScan");
  EXPECT_EQ(denied_[0].code, grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(auth.size(), 2u);  // its own two properties: nothing added
}

TEST_F(AuthGateTest, FleetRolesDoNotIncludeOperatorRoles) {
  FakeAuthContext worker = Peer("spiffe://goalkeeper/worker-7");
  EXPECT_EQ(Call(worker, "/goalkeeper.v1.Coordinator/GetScan").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Call(worker, "/goalkeeper.v1.ShardService/LeaseShard").ok());
  FakeAuthContext admin = Peer("spiffe://goalkeeper/admin");
  grpc::Status s = Call(admin, "/goalkeeper.v1.ShardService/LeaseShard");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(),
              HasSubstr("needs role worker; spiffe://goalkeeper/admin has admin"));
}

TEST_F(AuthGateTest, AnIdentityWithoutARuleHasNoRole) {
  FakeAuthContext auth = Peer("spiffe://other/thing");
  grpc::Status s = Call(auth, "/goalkeeper.v1.Coordinator/GetScan");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(), "spiffe://other/thing has no role (add it to auth.identities)");
  ASSERT_EQ(denied_.size(), 1u);
}

TEST_F(AuthGateTest, AMethodNotInTheTableIsRefusedButHealthIsOpen) {
  FakeAuthContext auth = Peer("spiffe://goalkeeper/admin");
  grpc::Status s = Call(auth, "/goalkeeper.v1.Coordinator/Shutdown");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("/goalkeeper.v1.Coordinator/Shutdown is not in"));
  FakeAuthContext nobody = Peer("spiffe://other/thing");
  EXPECT_TRUE(Call(nobody, "/grpc.health.v1.Health/Check").ok());
  EXPECT_TRUE(Call(nobody, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo").ok());
}

TEST_F(AuthGateTest, ABearerTokenGivesItsIdentity) {
  FakeAuthContext auth = Peer("spiffe://goalkeeper/viewer");
  grpc::Status s = Call(auth, "/goalkeeper.v1.Coordinator/StartScan", "Bearer s3cret-token");
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(CallerIdentity(auth, "Bearer s3cret-token"), "token:ci operator");
  EXPECT_EQ(CallerIdentity(auth, "Bearer other"), "bearer token not recognised");
  EXPECT_EQ(CallerIdentity(auth, "Basic x"), "the authorization header is not 'Bearer <token>'");
  EXPECT_EQ(auth.size(), 2u);  // its own two properties: nothing added
  // (The interceptor takes the header out of what the handler sees:
  // AuthzTlsTest.HandlersSeeTheirOwnCallersCallerAndNoToken.)
}

TEST_F(AuthGateTest, AnUnknownBearerTokenIsUnauthenticatedWithoutPrintingIt) {
  FakeAuthContext auth = Peer("spiffe://goalkeeper/admin");
  grpc::Status s = Call(auth, "/goalkeeper.v1.Coordinator/GetScan", "Bearer guessed-token");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "bearer token not recognised");
  ASSERT_EQ(denied_.size(), 1u);
  EXPECT_EQ(denied_[0].message.find("guessed"), std::string::npos);
  FakeAuthContext basic = Peer("spiffe://goalkeeper/admin");
  EXPECT_EQ(Call(basic, "/goalkeeper.v1.Coordinator/GetScan", "Basic YWRtaW4=").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthGateTest, APeerWithoutIdentityIsUnauthenticated) {
  FakeAuthContext auth = Peer("");
  EXPECT_EQ(Call(auth, "/goalkeeper.v1.Coordinator/GetScan").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthGateTest, BoundsStreamsPerIdentityAndFreesASlotWhenReleased) {
  for (int i = 0; i < 2; ++i) {
    FakeAuthContext auth = Peer("spiffe://goalkeeper/viewer");
    EXPECT_TRUE(Call(auth, "/goalkeeper.v1.Coordinator/WatchScan").ok());
    EXPECT_TRUE(gate_->TakesStreamSlot("/goalkeeper.v1.Coordinator/WatchScan"));
  }
  FakeAuthContext third = Peer("spiffe://goalkeeper/viewer");
  grpc::Status s = Call(third, "/goalkeeper.v1.Coordinator/WatchScan");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("spiffe://goalkeeper/viewer has 2 streams open "
                                           "(auth.max_streams_per_identity)"));
  // Another identity has its own slots; unary calls take none.
  FakeAuthContext other = Peer("spiffe://goalkeeper/admin");
  EXPECT_TRUE(Call(other, "/goalkeeper.v1.Coordinator/WatchScan").ok());
  FakeAuthContext unary = Peer("spiffe://goalkeeper/viewer");
  EXPECT_TRUE(Call(unary, "/goalkeeper.v1.Coordinator/GetScan").ok());
  EXPECT_FALSE(gate_->TakesStreamSlot("/goalkeeper.v1.Coordinator/GetScan"));
  EXPECT_FALSE(gate_->TakesStreamSlot("/grpc.health.v1.Health/Watch"));
  slots_.Release("spiffe://goalkeeper/viewer");
  FakeAuthContext again = Peer("spiffe://goalkeeper/viewer");
  EXPECT_TRUE(Call(again, "/goalkeeper.v1.Coordinator/WatchScan").ok());
  EXPECT_EQ(slots_.Held("spiffe://goalkeeper/viewer"), 2u);
}

TEST(AuthPolicyTest, AMissingOrEmptyTokenFileIsAnErrorNamingTheFile) {
  AuthConfig config;
  config.tokens.push_back({"ci", "/nonexistent/ci-token", Role::kOperator});
  auto policy = AuthPolicy::Create(config);
  ASSERT_FALSE(policy.ok());
  EXPECT_THAT(policy.status().message(),
              HasSubstr("auth.tokens[0].file: cannot read token file '/nonexistent/ci-token'"));
  config.tokens[0].file = WriteFile("empty-token", " \n\t\n");
  policy = AuthPolicy::Create(config);
  ASSERT_FALSE(policy.ok());
  EXPECT_THAT(policy.status().message(), HasSubstr("' is empty"));
}

TEST(AuthPolicyTest, TwoTokensWithTheSameSecretAreRefused) {
  AuthConfig config;
  config.tokens.push_back({"a", WriteFile("tok-a", "same\n"), Role::kViewer});
  config.tokens.push_back({"b", WriteFile("tok-b", "same"), Role::kAdmin});
  auto policy = AuthPolicy::Create(config);
  ASSERT_FALSE(policy.ok());
  EXPECT_THAT(policy.status().message(), HasSubstr("is also token 'a's"));
  EXPECT_EQ(policy.status().message().find("same"), std::string::npos);
}

TEST(AuthPolicyTest, FirstMatchingRuleWinsWithPrefixMatches) {
  std::vector<IdentityRule> rules = {{"spiffe://goalkeeper/worker-bad", Role::kViewer},
                                     {"spiffe://goalkeeper/worker*", Role::kWorker}};
  EXPECT_EQ(MatchIdentity(rules, "spiffe://goalkeeper/worker-bad"), Role::kViewer);
  EXPECT_EQ(MatchIdentity(rules, "spiffe://goalkeeper/worker-2"), Role::kWorker);
  EXPECT_EQ(MatchIdentity(rules, "spiffe://goalkeeper/worke"), std::nullopt);
  EXPECT_EQ(MatchIdentity(DefaultIdentityRules(), "spiffe://goalkeeper/node-agent-n1"),
            Role::kNodeAgent);
  EXPECT_EQ(MatchIdentity(DefaultIdentityRules(), "spiffe://goalkeeper/coordinator"),
            Role::kCoordinator);
}

}  // namespace
}  // namespace goalkeeper
