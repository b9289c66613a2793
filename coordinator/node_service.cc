#include "coordinator/node_service.h"

#include "common/grpc_status.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

template <typename T, typename Out>
grpc::Status Reply(absl::StatusOr<T> result, Out* out) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *out = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status NodeService::ReportNode(grpc::ServerContext*, const v1::NodeReport* req,
                                     v1::NodeReportAck* resp) {
  return Reply(registry_.Report(*req), resp);
}

grpc::Status NodeService::ListNodes(grpc::ServerContext*, const v1::ListNodesRequest*,
                                    v1::ListNodesResponse* resp) {
  return Reply(registry_.ListNodes(), resp);
}

}  // namespace goalkeeper
