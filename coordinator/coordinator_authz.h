// The least role each RPC of the coordinator's server needs: the table the
// auth gate (common/authz.h) checks every call against. Every method of
// Coordinator, ShardService and NodeService is here (a test walks the proto
// descriptors), so a new RPC cannot be served without a role.
//
//   auto gate = std::make_shared<AuthGate>(policy, CoordinatorMethodTable(),
//                                          CoordinatorStreamingMethods(), on_denied);
//
// CancelScan is `operator` here; cancelling another identity's scan needs
// admin, which ScanManager::CancelScan checks (it depends on the scan).
//
// Thread-safety: pure functions.
#ifndef GOALKEEPER_COORDINATOR_COORDINATOR_AUTHZ_H_
#define GOALKEEPER_COORDINATOR_COORDINATOR_AUTHZ_H_

#include <set>
#include <string>
#include <vector>

#include "common/authz.h"

namespace goalkeeper {

MethodTable CoordinatorMethodTable();
// The services of the coordinator's server, from the generated descriptors.
std::vector<const google::protobuf::ServiceDescriptor*> CoordinatorServices();
// The streaming methods of those services (each takes a stream slot).
std::set<std::string> CoordinatorStreamingMethods();

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_COORDINATOR_AUTHZ_H_
