// The operators' notifications of node findings (node.proto), as text: one
// email per node per delivered batch, listing each finding with what to do,
// and one Telegram summary per batch naming each node and its counts. Times
// are UTC RFC 3339 ("2026-12-01T15:04:05Z").
//
//   NodeFindingEmail m = RenderNodeFindingsEmail("node-a", {&f1, &f2}, /*stage=*/false);
//   // m.subject: "Goalkeeper node node-a: 2 brute-force sources"
//   std::vector<std::string> parts = RenderNodeFindingsTelegram(batch, {0, 1}, false);
//
// What each finding says: a brute-force source: node, rule, source, hits in
// the window, first and last seen, the ports and protocols, and what to do
// (block the source, check the service); a listener that appeared or went:
// node, protocol, address, port; an agent gone silent: node, last report,
// since when, and that its checks are not running; an agent back: node, back
// since. The mode's stage marker ("[stage] ") starts the subject and the
// summary's title, as for scan reports.
//
// Every string in a finding was bounded and limited to a safe character set
// by the receiver (notifier/node_findings.h), so nothing needs escaping in
// the email; the Telegram text is escaped for its HTML parse mode and split
// into at most kMaxTelegramSummaryParts messages.
//
// Thread-safety: pure functions.
#ifndef GOALKEEPER_NOTIFIER_NODE_FINDING_RENDER_H_
#define GOALKEEPER_NOTIFIER_NODE_FINDING_RENDER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "goalkeeper/v1/node.pb.h"
#include "goalkeeper/v1/notifier.pb.h"

namespace goalkeeper {

// Nodes the Telegram summary lists by name; the rest are counted.
inline constexpr size_t kNodeSummaryNodes = 20;

struct NodeFindingEmail {
  std::string subject;
  std::string body;
};

// `findings` are one node's, in the order received (at least one).
NodeFindingEmail RenderNodeFindingsEmail(
    const std::string& node, const std::vector<const goalkeeper::v1::NodeFinding*>& findings,
    bool stage);

// The summary of `batch.findings(i)` for each i in `which` (the newly stored).
std::vector<std::string> RenderNodeFindingsTelegram(const goalkeeper::v1::NodeFindingBatch& batch,
                                                    const std::vector<size_t>& which, bool stage);

// "2026-12-01T15:04:05Z"; "unknown" for 0 or less.
std::string Rfc3339Utc(int64_t unix_ms);

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_NODE_FINDING_RENDER_H_
