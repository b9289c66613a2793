// The roles of the fleet's callers (who may do what), apart from gRPC so
// config readers (common/auth_config.h) and their fuzz targets can use them.
//
//   ASSIGN_OR_RETURN(Role r, ParseRole("operator"));
//   RoleAllows(Role::kAdmin, Role::kOperator);  // true: admin includes operator
//
// Thread-safety: pure functions.
#ifndef GOALKEEPER_COMMON_ROLE_H_
#define GOALKEEPER_COMMON_ROLE_H_

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

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_ROLE_H_
