// Durable node-check state in the coordinator's database (schema v4, see
// coordinator/scan_store.cc): each node agent's latest report and silence
// state, and the findings of every node, one row per (node, id).
//
// It has a connection of its own to the coordinator's file (WAL allows it;
// the busy timeout waits out the ScanManager's group commit), and commits
// every call before returning: a report is acknowledged only once stored, so
// a coordinator killed (-9) right after the acknowledgement still has it.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<NodeStore> store, NodeStore::Open(path));
//   ASSIGN_OR_RETURN(uint64_t added, store->RecordReport(node, findings));
//
// A write that fails (full disk, I/O error) is rolled back whole and returned
// as UNAVAILABLE naming the file: the agent keeps its spool and retries.
//
// Thread-safety: not thread-safe; the NodeRegistry serializes all calls.
#ifndef GOALKEEPER_COORDINATOR_NODE_STORE_H_
#define GOALKEEPER_COORDINATOR_NODE_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/sqlite.h"
#include "goalkeeper/v1/node.pb.h"

namespace goalkeeper {

// The kinds of node finding, as stored (values are the proto's oneof field
// numbers, so they never change meaning).
enum class NodeFindingKind : int {
  kBruteForce = 3,
  kListenerAppeared = 4,
  kListenerGone = 5,
  kAgentSilent = 6,
  kAgentReturned = 7,
};
// "brute_force", "listener_appeared", ..., "agent_returned".
const char* NodeFindingKindName(NodeFindingKind kind);

struct NodeRow {
  std::string name;
  std::string agent_version;
  int64_t first_seen_ms = 0;
  int64_t last_report_ms = 0;
  uint32_t interval_seconds = 0;  // the heartbeat the agent promised
  bool silent = false;
  int64_t silent_since_ms = 0;  // 0 unless silent
  std::string identity;         // the caller that first reported it; "" = not bound

  friend bool operator==(const NodeRow&, const NodeRow&) = default;
};

struct NodeFindingRow {
  std::string node;
  goalkeeper::v1::NodeFinding finding;  // id, observed time and payload
  int64_t received_ms = 0;
  bool delivered = false;
};

class NodeStore {
 public:
  static absl::StatusOr<std::unique_ptr<NodeStore>> Open(const std::string& path);
  NodeStore(const NodeStore&) = delete;
  NodeStore& operator=(const NodeStore&) = delete;

  absl::StatusOr<std::vector<NodeRow>> LoadNodes();

  // In one transaction: inserts or replaces the node's row and inserts each
  // finding whose (node, id) is not stored yet (a stored one is left as it
  // is). Returns how many findings were new.
  absl::StatusOr<uint64_t> RecordReport(const NodeRow& node,
                                        const std::vector<NodeFindingRow>& findings);

  // Oldest received first, of one node ("" = every node).
  absl::StatusOr<std::vector<NodeFindingRow>> LoadFindings(const std::string& node);
  // At most `limit` undelivered findings of every node, oldest received
  // first (what the forwarding to the notifier will send).
  absl::StatusOr<std::vector<NodeFindingRow>> Undelivered(uint32_t limit);
  // Undelivered findings per node (nodes with none are absent).
  absl::StatusOr<std::map<std::string, uint64_t>> CountUndelivered();
  // The notifier has the finding (for the forwarding step).
  absl::Status MarkDelivered(const std::string& node, const std::string& id, int64_t now_ms);
  // The same for many findings (their node and finding.id), in one transaction.
  absl::Status MarkDelivered(const std::vector<NodeFindingRow>& findings, int64_t now_ms);

  const std::string& path() const { return path_; }

 private:
  NodeStore(std::unique_ptr<SqliteDb> db, std::string path)
      : db_(std::move(db)), path_(std::move(path)) {}
  // Runs `body` in a transaction and commits it; any failure rolls it back
  // and is UNAVAILABLE naming the file.
  absl::Status InTransaction(const std::function<absl::Status()>& body);
  // The rows of a bound SELECT node, payload, received_ms, delivered; resets it.
  absl::StatusOr<std::vector<NodeFindingRow>> ReadFindings(SqliteStatement& st);

  std::unique_ptr<SqliteDb> db_;
  const std::string path_;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_NODE_STORE_H_
