// The notifier's method table covers every RPC of its proto service, and an
// acknowledgement longer than the role's max_acknowledge is refused naming
// the limit.
#include "notifier/notifier_authz.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

using ::testing::HasSubstr;

TEST(NotifierMethodTableTest, EveryRpcOfTheNotifierHasARole) {
  const MethodTable table = NotifierMethodTable();
  const std::vector<std::string> methods = MethodsOf(NotifierServices());
  EXPECT_GE(methods.size(), 4u);
  for (const std::string& m : methods) {
    EXPECT_EQ(table.count(m), 1u) << m << " has no role in NotifierMethodTable()";
  }
  EXPECT_EQ(table.at("/goalkeeper.v1.Notifier/DeliverReport"), Role::kCoordinator);
  EXPECT_EQ(table.at("/goalkeeper.v1.Notifier/DeliverReportStream"), Role::kCoordinator);
  EXPECT_EQ(table.at("/goalkeeper.v1.Notifier/DeliverNodeFindings"), Role::kCoordinator);
  EXPECT_EQ(table.at("/goalkeeper.v1.Notifier/Acknowledge"), Role::kAdmin);
  EXPECT_EQ(NotifierStreamingMethods(),
            std::set<std::string>{"/goalkeeper.v1.Notifier/DeliverReportStream"});
}

TEST(AcknowledgeLimitTest, RefusesAnAcknowledgementPastTheRolesLimitNamingIt) {
  AuthConfig auth;
  auth.roles[Role::kAdmin].max_acknowledge = absl::Hours(24 * 90);
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  EXPECT_TRUE(CheckAcknowledgeUntil(auth, Role::kAdmin, now, now + absl::Hours(24 * 90)).ok());
  absl::Status s =
      CheckAcknowledgeUntil(auth, Role::kAdmin, now, absl::FromUnixSeconds(253402300799));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "acknowledging until 9999-12-31T23:59:59Z is longer than "
            "auth.roles.admin.max_acknowledge (90d)");
  // No limit configured for a role: none applies.
  EXPECT_TRUE(CheckAcknowledgeUntil(AuthConfig{}, Role::kAdmin, now, now + absl::Hours(1e6)).ok());
}

}  // namespace
}  // namespace goalkeeper
