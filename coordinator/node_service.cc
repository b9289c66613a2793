#include "coordinator/node_service.h"

#include "common/caller.h"
#include "common/grpc_status.h"

namespace goalkeeper {

namespace v1 = goalkeeper::v1;

grpc::Status NodeService::ReportNode(grpc::ServerContext* ctx, const v1::NodeReport* req,
                                     v1::NodeReportAck* resp) {
  // A node is bound to the first (authenticated) identity that reports it.
  const Caller caller = CallerOf(*ctx);
  return ReplyWith(registry_.Report(*req, caller.authenticated ? caller.identity : ""), resp);
}

grpc::Status NodeService::ListNodes(grpc::ServerContext*, const v1::ListNodesRequest*,
                                    v1::ListNodesResponse* resp) {
  return ReplyWith(registry_.ListNodes(), resp);
}

}  // namespace goalkeeper
