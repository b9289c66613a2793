#include "common/role.h"

#include "absl/strings/str_cat.h"

namespace goalkeeper {

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kNone:
      return "none";
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
    case Role::kWorker:
      return "worker";
    case Role::kNodeAgent:
      return "node-agent";
    case Role::kCoordinator:
      return "coordinator";
  }
  return "none";
}

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  for (Role r : {Role::kViewer, Role::kOperator, Role::kAdmin, Role::kWorker, Role::kNodeAgent,
                 Role::kCoordinator}) {
    if (RoleName(r) == name) return r;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "role '", name, "' is not viewer, operator, admin, worker, node-agent or coordinator"));
}

bool RoleAllows(Role have, Role need) {
  if (need == Role::kNone) return true;
  bool have_operator_role = have >= Role::kViewer && have <= Role::kAdmin;
  bool need_operator_role = need >= Role::kViewer && need <= Role::kAdmin;
  if (have_operator_role && need_operator_role) return have >= need;
  return have == need;
}

}  // namespace goalkeeper
