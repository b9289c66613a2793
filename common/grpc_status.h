// absl::Status <-> grpc::Status, used only in service adapters and clients.
//
//   return ToGrpcStatus(manager.CancelScan(id).status());
//   return ReplyWith(manager.GetScan(id), resp);
//
// Thread-safety: stateless functions.
#ifndef GOALKEEPER_COMMON_GRPC_STATUS_H_
#define GOALKEEPER_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace goalkeeper {

inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

inline absl::Status FromGrpcStatus(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

// Assigns a StatusOr's value to *out and returns OK, or returns its status:
//   return ReplyWith(manager_.GetScan(req->id()), resp);
template <typename T, typename Out>
grpc::Status ReplyWith(absl::StatusOr<T> result, Out* out) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *out = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_GRPC_STATUS_H_
