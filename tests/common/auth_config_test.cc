// The `auth:` block: strict reading (errors name the line and the key) and
// the printed form reading back the same.
#include "common/auth_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/status_macros.h"

namespace goalkeeper {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<AuthConfig> Parse(const std::string& text) {
  StrictYamlParser yaml("c.yaml");
  ASSIGN_OR_RETURN(YamlField root, yaml.LoadDocument(text));
  AuthConfig config;
  RETURN_IF_ERROR(yaml.ForEachEntry(root, {"auth"}, [&](const std::string&, const YamlField& f) {
    return ParseAuthConfig(yaml, f, &config);
  }));
  return config;
}

TEST(AuthConfigTest, ReadsTheDesignsExample) {
  auto c = Parse(R"(auth:
  identities:
    - {match: "spiffe://goalkeeper/worker*", role: worker}
    - {match: "spiffe://goalkeeper/admin", role: admin}
  tokens:
    - {name: ci, file: /run/secrets/goalkeeper/ci-token, role: operator}
  max_streams_per_identity: 3
  roles:
    operator:
      allowed_ranges: [10.0.0.0/8]
      max_probes_per_scan: 1000000
      max_rate: 5000
      scans_per_hour: 20
    admin:
      max_acknowledge: 90d
)");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->identities.size(), 2u);
  EXPECT_EQ(c->identities[0].match, "spiffe://goalkeeper/worker*");
  EXPECT_EQ(c->identities[1].role, Role::kAdmin);
  ASSERT_EQ(c->tokens.size(), 1u);
  EXPECT_EQ(c->tokens[0].role, Role::kOperator);
  EXPECT_EQ(c->max_streams_per_identity, 3u);
  const RoleScope& op = ScopeOf(*c, Role::kOperator);
  EXPECT_EQ(op.allowed_ranges, std::vector<std::string>{"10.0.0.0/8"});
  EXPECT_EQ(op.max_probes_per_scan, 1000000u);
  EXPECT_EQ(op.max_rate, 5000);
  EXPECT_EQ(op.scans_per_hour, 20u);
  EXPECT_EQ(ScopeOf(*c, Role::kAdmin).max_acknowledge, absl::Hours(24 * 90));
  EXPECT_EQ(ScopeOf(*c, Role::kViewer), RoleScope{});

  auto again = Parse(FormatAuthConfig(*c));
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << FormatAuthConfig(*c);
  EXPECT_EQ(*again, *c);
}

TEST(AuthConfigTest, DefaultsMapTheDevIdentitiesToTheirRoles) {
  auto c = Parse("auth: {}\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->identities, DefaultIdentityRules());
  EXPECT_EQ(c->identities.size(), 6u);
  EXPECT_EQ(c->max_streams_per_identity, 8u);
  auto again = Parse(FormatAuthConfig(AuthConfig{}));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, AuthConfig{});
}

TEST(AuthConfigTest, ErrorsNameTheLineAndTheKey) {
  struct Case {
    std::string yaml;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"auth:\n  identities:\n    - {match: x, role: root}\n",
            "c.yaml:3: auth.identities[0].role: role 'root' is not viewer"},
           {"auth:\n  identities:\n    - {match: \"a*b\", role: admin}\n",
            "auth.identities[0].match: expected an identity, or a prefix ending in '*'"},
           {"auth:\n  identities:\n    - {match: \"*\", role: admin}\n",
            "auth.identities[0].match: expected an identity"},
           {"auth:\n  identities:\n    - {role: admin}\n", "missing key 'match'"},
           {"auth:\n  tokens:\n    - {name: ci, role: admin}\n", "missing key 'file'"},
           {"auth:\n  tokens:\n    - {name: ci, file: /a, role: admin}\n"
            "    - {name: ci, file: /b, role: admin}\n",
            "c.yaml:4: auth.tokens[1].name: token name 'ci' is used twice"},
           {"auth:\n  tokens:\n    - {name: \"c i\", file: /a, role: admin}\n",
            "auth.tokens[0].name: expected a name of 1..64"},
           {"auth:\n  max_streams_per_identity: 0\n", "auth.max_streams_per_identity"},
           {"auth:\n  roles:\n    worker: {}\n", "unknown key 'worker'"},
           {"auth:\n  roles:\n    operator: {allowed_ranges: [10.0.0.300/8]}\n",
            "auth.roles.operator.allowed_ranges"},
           {"auth:\n  roles:\n    operator: {allowed_ranges: []}\n",
            "an empty list would refuse every scan"},
           {"auth:\n  roles:\n    admin: {max_acknowledge: forever}\n",
            "auth.roles.admin.max_acknowledge: expected a duration such as 90d"},
           {"auth:\n  roles:\n    admin: {scans_per_hour: -1}\n",
            "auth.roles.admin.scans_per_hour"},
           {"auth:\n  role: {}\n", "unknown key 'role'"},
       }) {
    auto parsed = Parse(c.yaml);
    ASSERT_FALSE(parsed.ok()) << c.yaml;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.error)) << c.yaml;
  }
}

TEST(AuthConfigTest, ReadsDurationsInDaysOrAbslForm) {
  EXPECT_EQ(ParseAuthDuration("90d"), absl::Hours(24 * 90));
  EXPECT_EQ(ParseAuthDuration("36h"), absl::Hours(36));
  EXPECT_EQ(ParseAuthDuration("0d"), std::nullopt);
  EXPECT_EQ(ParseAuthDuration("d"), std::nullopt);
  EXPECT_EQ(ParseAuthDuration("inf"), std::nullopt);
  EXPECT_EQ(FormatAuthDuration(absl::Hours(48)), "2d");
  EXPECT_EQ(FormatAuthDuration(absl::Hours(36)), "36h");
}

}  // namespace
}  // namespace goalkeeper
