// The coordinator's node checks, without gRPC: records each node agent's
// reports (a heartbeat with findings) in the NodeStore, and raises a node's
// silence as a finding of its own. NodeService (coordinator/node_service.h)
// is its thin gRPC adapter.
//
//   NodeRegistry registry(store, clock, config.nodes);
//   RETURN_IF_ERROR(registry.Load());
//   ASSIGN_OR_RETURN(v1::NodeReportAck ack, registry.Report(report));  // agent RPC
//   registry.CheckSilence();   // housekeeping, every second
//
// Silence: a node is silent once now - last_report > silence_after_intervals
// x the heartbeat interval its agent promised in its last report. One
// `agent_silent` finding is raised when it becomes silent (never again
// while it stays silent), and one `agent_returned` finding when it reports
// again. After a coordinator restart the clock of every node restarts too
// (from max(last report, load time)): agents that could not report while
// the coordinator was down are not all called silent at once.
//
// Idempotency: a finding id already stored for the node is acknowledged
// again and not stored twice, so an agent retrying a report whose
// acknowledgement was lost changes nothing. Ids of the coordinator's own
// findings contain '/', which agent ids cannot.
//
// Bounds (NodeLimits) are checked before anything is stored: a bad field is
// INVALID_ARGUMENT naming it ("findings[2].brute_force.source: ..."), too many
// findings in one report RESOURCE_EXHAUSTED.
//
// Thread-safety: thread-safe. Store writes happen under its mutex and wait
// for the database's write lock, so a thread that another writer of the file
// needs (the coordinator's housekeeping thread, which commits the
// ScanManager's group transaction) must not call it.
#ifndef GOALKEEPER_COORDINATOR_NODE_REGISTRY_H_
#define GOALKEEPER_COORDINATOR_NODE_REGISTRY_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "coordinator/config.h"
#include "coordinator/node_store.h"
#include "goalkeeper/v1/node.pb.h"

namespace goalkeeper {

struct NodeLimits {
  size_t max_findings = 500;   // per report; more: RESOURCE_EXHAUSTED
  size_t max_node_name = 253;  // a DNS name, as Kubernetes node names are
  size_t max_agent_version = 64;
  size_t max_id = 128;
  size_t max_rule = 64;
  size_t max_address = 64;  // sources and listener addresses
  size_t max_protocol = 16;
  size_t max_ports = 64;  // per brute-force source
  uint32_t max_heartbeat_seconds = 86400;
};

// One node as /metrics shows it.
struct NodeGauge {
  std::string name;
  absl::Time last_report;
  bool silent = false;
};

class NodeRegistry {
 public:
  NodeRegistry(NodeStore& store, const Clock& clock, NodesConfig config, NodeLimits limits = {})
      : store_(store), clock_(clock), config_(config), limits_(limits) {}
  NodeRegistry(const NodeRegistry&) = delete;
  NodeRegistry& operator=(const NodeRegistry&) = delete;

  // Reads the nodes from the store; call once before anything else.
  absl::Status Load();

  // Checks the report's bounds, then stores the node's heartbeat and its new
  // findings (and an agent_returned finding if it was silent) in one
  // transaction. The ack lists every finding id of the report.
  // `identity` is the caller's (the gate's; "" = not checked, no TLS): a
  // node is bound to the first identity that reports it, and reports from
  // another are PermissionDenied "node N is reported by <identity>, not <caller>".
  absl::StatusOr<goalkeeper::v1::NodeReportAck> Report(const goalkeeper::v1::NodeReport& report,
                                                       const std::string& identity = "");

  // Marks the nodes past their deadline silent, each with one agent_silent
  // finding. Returns how many became silent now.
  absl::StatusOr<int> CheckSilence();

  // Every node by name, with its undelivered findings counted.
  absl::StatusOr<goalkeeper::v1::ListNodesResponse> ListNodes();

  std::vector<NodeGauge> Gauges();

  // For the forwarding to the notifier (coordinator/node_finding_deliverer.h):
  // at most `limit` undelivered findings, oldest received first; and marking
  // those the notifier acknowledged (NodeStore's, under this registry's lock).
  absl::StatusOr<std::vector<NodeFindingRow>> Undelivered(uint32_t limit);
  absl::Status MarkDelivered(const std::vector<NodeFindingRow>& findings);
  // Undelivered findings of every node together (for /metrics).
  absl::StatusOr<uint64_t> CountUndelivered();

  // The bounds check alone (no store): OK, INVALID_ARGUMENT or
  // RESOURCE_EXHAUSTED naming the field.
  static absl::Status Validate(const goalkeeper::v1::NodeReport& report, const NodeLimits& limits);

 private:
  absl::Time Deadline(const NodeRow& node) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  NodeStore& store_;
  const Clock& clock_;
  const NodesConfig config_;
  const NodeLimits limits_;
  absl::Mutex mu_;
  absl::Time loaded_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::map<std::string, NodeRow> nodes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_NODE_REGISTRY_H_
