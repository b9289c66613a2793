#include "coordinator/node_service.h"

#include "common/grpc_status.h"

namespace goalkeeper {

namespace v1 = goalkeeper::v1;

grpc::Status NodeService::ReportNode(grpc::ServerContext*, const v1::NodeReport* req,
                                     v1::NodeReportAck* resp) {
  return ReplyWith(registry_.Report(*req), resp);
}

grpc::Status NodeService::ListNodes(grpc::ServerContext*, const v1::ListNodesRequest*,
                                    v1::ListNodesResponse* resp) {
  return ReplyWith(registry_.ListNodes(), resp);
}

}  // namespace goalkeeper
