// Forwards node findings (the agents' brute-force sources and listeners, the
// registry's agent_silent / agent_returned) from the coordinator's store to
// the notifier, durably and exactly once, the way ReportDeliverer forwards
// scan reports: a finding is stored (NodeRegistry, before the agent's
// acknowledgement) before it is sent, sent in batches of at most kBatch,
// oldest first, retried with exponential backoff until the notifier
// acknowledges the batch, and marked delivered only then. The notifier
// deduplicates by (node, id) and content, so a crash between its
// acknowledgement and our mark repeats nothing for the operators.
//
// A batch the notifier refuses for its content (ALREADY_EXISTS: another
// finding under a known (node, id); INVALID_ARGUMENT) is sent again one
// finding at a time, so that only the refused finding waits (logged at error
// level, retried with its own backoff so that it stays visible) and every
// other finding goes through.
//
//   NodeFindingDeliverer d(registry, sender.get(), clock);
//   d.Tick();   // from the coordinator's node delivery thread, every second
//
// Runs on a thread of its own (coordinator_server.cc): a notifier that never
// answers delays only node findings, never leases or reports.
//
// Thread-safety: Tick is called from one thread; the counters are read from
// any.
#ifndef GOALKEEPER_COORDINATOR_NODE_FINDING_DELIVERER_H_
#define GOALKEEPER_COORDINATOR_NODE_FINDING_DELIVERER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/tls_config.h"
#include "coordinator/node_registry.h"
#include "goalkeeper/v1/notifier.pb.h"

namespace goalkeeper {

// The seam to the notifier.
class NodeFindingSender {
 public:
  virtual ~NodeFindingSender() = default;
  // The notifier's answer once the whole batch is stored there.
  virtual absl::StatusOr<goalkeeper::v1::DeliverNodeFindingsResponse> Send(
      const goalkeeper::v1::NodeFindingBatch& batch) = 0;
  // Cancels a Send in flight and fails later ones (at shutdown). Thread-safe.
  virtual void Shutdown() {}
};

// Sends over gRPC to goalkeeper.v1.Notifier at `address` (30 s deadline),
// with the coordinator's own certificate (`tls`, common/grpc_channel.h).
std::unique_ptr<NodeFindingSender> MakeGrpcNodeFindingSender(const std::string& address,
                                                             const TlsConfig& tls);

class NodeFindingDeliverer {
 public:
  // `sender` may be null: findings then stay undelivered (ListNodes counts
  // them as open) until a notifier is configured.
  NodeFindingDeliverer(NodeRegistry& registry, NodeFindingSender* sender, const Clock& clock)
      : registry_(registry), sender_(sender), clock_(clock) {}
  NodeFindingDeliverer(const NodeFindingDeliverer&) = delete;
  NodeFindingDeliverer& operator=(const NodeFindingDeliverer&) = delete;

  // Sends the due undelivered findings (one batch, or one at a time after a
  // refused batch); returns how many the notifier acknowledged.
  int Tick();

  // Backoff after `attempts` failures: 1 s, 2 s, 4 s ... capped at 5 minutes.
  static absl::Duration Backoff(uint32_t attempts);

  // Findings per batch (the notifier takes up to 500; each is at most a few
  // KiB, so a batch stays far under gRPC's 4 MiB).
  static constexpr uint32_t kBatch = 100;

  // Since start (readable from any thread, for /metrics): batches the
  // notifier acknowledged / that failed, and findings delivered.
  uint64_t delivered_attempts() const { return delivered_attempts_.load(); }
  uint64_t failed_attempts() const { return failed_attempts_.load(); }
  uint64_t delivered_findings() const { return delivered_findings_.load(); }

 private:
  using Key = std::pair<std::string, std::string>;  // node, id
  struct Held {
    uint32_t attempts = 0;
    absl::Time next_attempt;
  };

  // Sends `rows` as one batch; marks them delivered once acknowledged.
  absl::Status SendBatch(const std::vector<NodeFindingRow>& rows);
  // A finding the notifier refused alone: waits with its own backoff.
  void Hold(const NodeFindingRow& row, const absl::Status& error, absl::Time now);

  NodeRegistry& registry_;
  NodeFindingSender* sender_;
  const Clock& clock_;
  // After a failure that was not about content (the notifier down): when
  // the next batch may go, and how many attempts failed in a row.
  uint32_t attempts_ = 0;
  absl::Time next_attempt_ = absl::InfinitePast();
  std::map<Key, Held> held_;
  std::atomic<uint64_t> delivered_attempts_{0};
  std::atomic<uint64_t> failed_attempts_{0};
  std::atomic<uint64_t> delivered_findings_{0};
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_NODE_FINDING_DELIVERER_H_
