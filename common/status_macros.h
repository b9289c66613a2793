// Early-return helpers for absl::Status / absl::StatusOr (Abseil 20220623 has
// none of its own).
//
//   RETURN_IF_ERROR(DoThing());
//   ASSIGN_OR_RETURN(TargetSet targets, TargetSet::Parse(specs, {}));
#ifndef GOALKEEPER_COMMON_STATUS_MACROS_H_
#define GOALKEEPER_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define GK_STATUS_CONCAT_INNER_(a, b) a##b
#define GK_STATUS_CONCAT_(a, b) GK_STATUS_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status gk_status_ = (expr);                \
    if (!gk_status_.ok()) return gk_status_;           \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  GK_ASSIGN_OR_RETURN_IMPL_(GK_STATUS_CONCAT_(gk_statusor_, __LINE__), lhs, expr)

#define GK_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) return statusor.status();        \
  lhs = std::move(statusor).value()

#endif  // GOALKEEPER_COMMON_STATUS_MACROS_H_
