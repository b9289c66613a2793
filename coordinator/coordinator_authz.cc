#include "coordinator/coordinator_authz.h"

#include "goalkeeper/v1/coordinator.grpc.pb.h"
#include "goalkeeper/v1/node.grpc.pb.h"

namespace goalkeeper {

MethodTable CoordinatorMethodTable() {
  return {
      // Operators (goalkeeperctl).
      {"/goalkeeper.v1.Coordinator/GetScan", Role::kViewer},
      {"/goalkeeper.v1.Coordinator/ListScans", Role::kViewer},
      {"/goalkeeper.v1.Coordinator/WatchScan", Role::kViewer},
      {"/goalkeeper.v1.Coordinator/ListFindings", Role::kViewer},
      {"/goalkeeper.v1.Coordinator/DiffScan", Role::kViewer},
      {"/goalkeeper.v1.Coordinator/ListWorkers", Role::kViewer},
      {"/goalkeeper.v1.Coordinator/ListAudit", Role::kViewer},
      {"/goalkeeper.v1.Coordinator/StartScan", Role::kOperator},
      {"/goalkeeper.v1.Coordinator/CancelScan", Role::kOperator},
      // Scan workers.
      {"/goalkeeper.v1.ShardService/RegisterWorker", Role::kWorker},
      {"/goalkeeper.v1.ShardService/LeaseShard", Role::kWorker},
      {"/goalkeeper.v1.ShardService/Heartbeat", Role::kWorker},
      {"/goalkeeper.v1.ShardService/ReportFindings", Role::kWorker},
      {"/goalkeeper.v1.ShardService/CompleteShard", Role::kWorker},
      // Node agents, and operators listing nodes.
      {"/goalkeeper.v1.NodeService/ReportNode", Role::kNodeAgent},
      {"/goalkeeper.v1.NodeService/ListNodes", Role::kViewer},
  };
}

std::vector<const google::protobuf::ServiceDescriptor*> CoordinatorServices() {
  const google::protobuf::FileDescriptor* coordinator = goalkeeper::v1::Scan::descriptor()->file();
  const google::protobuf::FileDescriptor* node = goalkeeper::v1::NodeReport::descriptor()->file();
  return {coordinator->FindServiceByName("Coordinator"),
          coordinator->FindServiceByName("ShardService"), node->FindServiceByName("NodeService")};
}

std::set<std::string> CoordinatorStreamingMethods() {
  return StreamingMethods(CoordinatorServices());
}

}  // namespace goalkeeper
