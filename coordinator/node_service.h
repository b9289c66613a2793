// goalkeeper.v1.NodeService: the gRPC adapter over the NodeRegistry (node
// agents report, operators list nodes). It translates statuses and holds no
// logic of its own.
//
//   NodeService service(registry);
//   StartGrpcServer(listen, {&service, ...}, &port);
//
// Thread-safety: thread-safe (the registry is).
#ifndef GOALKEEPER_COORDINATOR_NODE_SERVICE_H_
#define GOALKEEPER_COORDINATOR_NODE_SERVICE_H_

#include "coordinator/node_registry.h"
#include "goalkeeper/v1/node.grpc.pb.h"

namespace goalkeeper {

class NodeService final : public goalkeeper::v1::NodeService::Service {
 public:
  explicit NodeService(NodeRegistry& registry) : registry_(registry) {}

  grpc::Status ReportNode(grpc::ServerContext* ctx, const goalkeeper::v1::NodeReport* req,
                          goalkeeper::v1::NodeReportAck* resp) override;
  grpc::Status ListNodes(grpc::ServerContext* ctx, const goalkeeper::v1::ListNodesRequest* req,
                         goalkeeper::v1::ListNodesResponse* resp) override;

 private:
  NodeRegistry& registry_;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_NODE_SERVICE_H_
