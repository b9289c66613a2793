// Receives node findings from the coordinator (Notifier.DeliverNodeFindings)
// without gRPC: checks the batch's bounds, stores each finding once, and in
// the same transaction queues the operators' notifications in the outbox
// (notifier/outbox_sender.h sends them): one email per node of the batch to
// ops.emails, and one Telegram summary of the batch to ops.telegram_chat_id
// (notifier/node_finding_render.h). Node findings are about our own
// machines: they never go to customers and never through the owner
// resolver. `mode: stage` marks them "[stage]" as it marks the operators'
// scan mails.
//
// Exactly once: a finding is keyed by (node, id), the coordinator's stable
// id. The same finding again (same content: NodeFindingDigest) is counted as
// a duplicate and notified no more, so a coordinator that crashed between
// our acknowledgement and its mark repeats nothing; another finding under a
// known key is ALREADY_EXISTS and the batch stores nothing. Notifications
// are queued only for findings stored now, under keys derived from the first
// of them, so a batch resent with new findings mails only the new ones.
//
// Without ops.emails (possible only in a configuration built in code: the
// config file requires it) findings are stored and Telegram-summarised, and
// one warning per batch says they were not mailed.
//
//   NodeFindingReceiver receiver(config, store, clock);
//   ASSIGN_OR_RETURN(v1::DeliverNodeFindingsResponse r, receiver.Receive(batch));
//
// Thread-safety: thread-safe (the store is; the rest is const).
#ifndef GOALKEEPER_NOTIFIER_NODE_FINDINGS_H_
#define GOALKEEPER_NOTIFIER_NODE_FINDINGS_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "goalkeeper/v1/notifier.pb.h"
#include "notifier/config.h"
#include "notifier/notification_store.h"

namespace goalkeeper {

// The bounds notifier.proto documents for NodeFindingBatch.
struct NodeFindingBounds {
  size_t max_findings = 500;
  size_t max_node = 253;
  size_t max_id = 128;
  size_t max_rule = 64;
  size_t max_address = 64;  // sources and listener addresses
  size_t max_protocol = 16;
  size_t max_ports = 64;
};

// OK, or INVALID_ARGUMENT naming the field and the value
// ("findings[2].finding.brute_force.source: 'a b' (3 bytes) must be ...").
absl::Status ValidateNodeFindingBatch(const goalkeeper::v1::NodeFindingBatch& batch,
                                      const NodeFindingBounds& bounds = {});

// SHA-256 (hex) of the finding's content: its NodeFinding with the id set to
// the delivery's id, serialized deterministically (the coordinator's receive
// time is not content).
std::string NodeFindingDigest(const goalkeeper::v1::NodeFindingDelivery& delivery);

class NodeFindingReceiver {
 public:
  NodeFindingReceiver(const NotifierConfig& config, NotificationStore& store, const Clock& clock)
      : config_(config), store_(store), clock_(clock) {}

  // Validates, stores and queues; acknowledged (OK) only once committed.
  absl::StatusOr<goalkeeper::v1::DeliverNodeFindingsResponse> Receive(
      const goalkeeper::v1::NodeFindingBatch& batch);

 private:
  const NotifierConfig& config_;
  NotificationStore& store_;
  const Clock& clock_;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_NODE_FINDINGS_H_
