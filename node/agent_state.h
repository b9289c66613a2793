// The node agent's own state formats (no proto, no I/O), so they can be
// fuzzed: the blob each rule source keeps in its follower's checkpoint, and
// the listener set kept in the spool between scans.
//
//   std::string bytes = SerializeSourceBlob({aggregator.SerializeState(), findings});
//   ASSIGN_OR_RETURN(SourceBlob back, ParseSourceBlob(bytes));
//   std::string text = SerializeListenerState(listeners);   // "tcp 0.0.0.0 22\n..."
//
// SourceBlob format: "GKB1", then little-endian u64 lengths: the aggregator
// state (length, bytes), the number of findings, each finding (length,
// bytes: a serialized goalkeeper.v1.NodeFinding without id). The parser is
// strict (no trailing bytes) and bounded by the input's size.
//
// Thread-safety: pure functions; safe from any thread.
#ifndef GOALKEEPER_NODE_AGENT_STATE_H_
#define GOALKEEPER_NODE_AGENT_STATE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/proc_net.h"

namespace goalkeeper::node {

// The blob a rule source keeps in its checkpoint: the aggregator's state and
// the findings of the last batch.
struct SourceBlob {
  std::string aggregator;
  std::vector<std::string> pending;
};
std::string SerializeSourceBlob(const SourceBlob& blob);
// InvalidArgument for anything SerializeSourceBlob did not write:
// "source blob: truncated finding at byte 40 of 52".
absl::StatusOr<SourceBlob> ParseSourceBlob(absl::string_view bytes);

// Listeners as text, one "tcp 0.0.0.0 22" a line (protocol, address, port).
std::string SerializeListenerState(const std::vector<Listener>& listeners);
// InvalidArgument naming the bad line.
absl::StatusOr<std::vector<Listener>> ParseListenerState(absl::string_view text);

}  // namespace goalkeeper::node

#endif  // GOALKEEPER_NODE_AGENT_STATE_H_
