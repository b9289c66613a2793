// The worker side of ShardService as a small seam: register, lease,
// heartbeat, report findings, complete; and the node agent's side of
// NodeService (NodeReportClient). The fleet worker and the node agent talk
// to the coordinator only through them, so tests drive them with in-memory
// fakes (tests/testing/fake_coordinator_client.h, tests/node/agent_test.cc)
// and the transport lives in one place.
//
//   std::unique_ptr<CoordinatorClient> c = NewGrpcCoordinatorClient("coord:7070", tls);
//   absl::StatusOr<v1::LeaseShardResponse> r = c->Lease(req);
//
// Each call is one attempt with a deadline: retries, backoff and
// re-registration are the caller's. Errors are the server's status (or
// UNAVAILABLE / DEADLINE_EXCEEDED from the transport).
//
// Thread-safety: implementations are thread-safe.
#ifndef GOALKEEPER_COMMON_COORDINATOR_CLIENT_H_
#define GOALKEEPER_COMMON_COORDINATOR_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls_config.h"
#include "goalkeeper/v1/coordinator.pb.h"
#include "goalkeeper/v1/node.pb.h"

namespace goalkeeper {

class CoordinatorClient {
 public:
  virtual ~CoordinatorClient() = default;
  virtual absl::StatusOr<goalkeeper::v1::RegisterWorkerResponse> Register(
      const goalkeeper::v1::RegisterWorkerRequest& req) = 0;
  virtual absl::StatusOr<goalkeeper::v1::LeaseShardResponse> Lease(
      const goalkeeper::v1::LeaseShardRequest& req) = 0;
  virtual absl::StatusOr<goalkeeper::v1::HeartbeatResponse> Heartbeat(
      const goalkeeper::v1::HeartbeatRequest& req) = 0;
  virtual absl::Status ReportFindings(const goalkeeper::v1::ReportFindingsRequest& req) = 0;
  virtual absl::Status Complete(const goalkeeper::v1::CompleteShardRequest& req) = 0;
};

// The node agent's side of NodeService (node/agent.h): its reports, which
// are also its heartbeats. One attempt per call, like CoordinatorClient.
class NodeReportClient {
 public:
  virtual ~NodeReportClient() = default;
  virtual absl::StatusOr<goalkeeper::v1::NodeReportAck> Report(
      const goalkeeper::v1::NodeReport& report) = 0;
};

// A ShardService client over one channel (MakeChannel, fast reconnect, with
// `tls`: the worker's own certificate). `deadline` bounds each call;
// heartbeats get half of it.
std::unique_ptr<CoordinatorClient> NewGrpcCoordinatorClient(
    const std::string& address, const TlsConfig& tls, absl::Duration deadline = absl::Seconds(10));

// A NodeService client over one channel (MakeChannel, fast reconnect, with
// `tls`: the agent's own certificate); `deadline` bounds each call.
std::unique_ptr<NodeReportClient> NewGrpcNodeReportClient(
    const std::string& address, const TlsConfig& tls, absl::Duration deadline = absl::Seconds(10));

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_COORDINATOR_CLIENT_H_
