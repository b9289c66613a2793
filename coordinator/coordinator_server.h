// Runs the coordinator process: the store, the ScanManager, the NodeRegistry,
// the gRPC server (Coordinator, ShardService, NodeService, grpc.health.v1,
// reflection), /metrics, and the housekeeping loop (lease expiry, node
// silence, schedules, report delivery), until SIGTERM or SIGINT.
//
//   CoordinatorConfig config = ...;   // file + flags
//   return RunCoordinator(config);    // exit code
//
// It logs "coordinator listening grpc=HOST:PORT metrics=HOST:PORT" once the
// ports are bound (port 0 picks a free port; tests read the line).
#ifndef GOALKEEPER_COORDINATOR_COORDINATOR_SERVER_H_
#define GOALKEEPER_COORDINATOR_COORDINATOR_SERVER_H_

#include "coordinator/config.h"

namespace goalkeeper {

// Returns 0 after a clean shutdown, 1 when it cannot start.
int RunCoordinator(const CoordinatorConfig& config);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_COORDINATOR_SERVER_H_
