#include "coordinator/node_store.h"

#include <functional>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "coordinator/scan_store.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

// A short human key of the finding, for queries and logs.
std::string Subject(const v1::NodeFinding& f) {
  switch (f.kind_case()) {
    case v1::NodeFinding::kBruteForce:
      return absl::StrCat(f.brute_force().rule(), " ", f.brute_force().source());
    case v1::NodeFinding::kListenerAppeared:
    case v1::NodeFinding::kListenerGone: {
      const v1::Listener& l = f.kind_case() == v1::NodeFinding::kListenerAppeared
                                  ? f.listener_appeared()
                                  : f.listener_gone();
      return absl::StrCat(l.protocol(), " ", l.address(), " ", l.port());
    }
    default:
      return "";
  }
}

}  // namespace

const char* NodeFindingKindName(NodeFindingKind kind) {
  switch (kind) {
    case NodeFindingKind::kBruteForce:
      return "brute_force";
    case NodeFindingKind::kListenerAppeared:
      return "listener_appeared";
    case NodeFindingKind::kListenerGone:
      return "listener_gone";
    case NodeFindingKind::kAgentSilent:
      return "agent_silent";
    case NodeFindingKind::kAgentReturned:
      return "agent_returned";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<NodeStore>> NodeStore::Open(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path, CoordinatorSchema()));
  return std::unique_ptr<NodeStore>(new NodeStore(std::move(db), path));
}

absl::Status NodeStore::InTransaction(const std::function<absl::Status()>& body) {
  absl::Status s = db_->Exec("BEGIN IMMEDIATE");
  if (s.ok()) {
    s = body();
    if (s.ok()) s = db_->Exec("COMMIT");
  }
  if (s.ok()) return s;
  if (db_->InTransaction()) db_->Exec("ROLLBACK").IgnoreError();
  return absl::UnavailableError(
      absl::StrCat("node store write failed: ", path_, ": ", s.message()));
}

absl::StatusOr<std::vector<NodeRow>> NodeStore::LoadNodes() {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT name, agent_version, first_seen_ms, last_report_ms, "
                               "interval_seconds, silent, silent_since_ms, identity FROM nodes "
                               "ORDER BY name"));
  std::vector<NodeRow> out;
  RETURN_IF_ERROR(st->ForEachRow([&](const SqliteStatement& r) -> absl::Status {
    NodeRow& n = out.emplace_back();
    n.name = r.Text(0);
    n.agent_version = r.Text(1);
    n.first_seen_ms = r.Int(2);
    n.last_report_ms = r.Int(3);
    n.interval_seconds = static_cast<uint32_t>(r.Int(4));
    n.silent = r.Int(5) != 0;
    n.silent_since_ms = r.Int(6);
    n.identity = r.Text(7);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<uint64_t> NodeStore::RecordReport(const NodeRow& node,
                                                 const std::vector<NodeFindingRow>& findings) {
  uint64_t added = 0;
  const absl::Status s = InTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(SqliteStatement * up,
                     db_->Cached("INSERT OR REPLACE INTO nodes (name, agent_version, "
                                 "first_seen_ms, last_report_ms, interval_seconds, silent, "
                                 "silent_since_ms, identity) VALUES (?,?,?,?,?,?,?,?)"));
    up->Bind(1, node.name).Bind(2, node.agent_version).Bind(3, node.first_seen_ms);
    up->Bind(4, node.last_report_ms).Bind(5, int64_t{node.interval_seconds});
    up->Bind(6, int64_t{node.silent}).Bind(7, node.silent_since_ms).Bind(8, node.identity);
    RETURN_IF_ERROR(up->Run());
    ASSIGN_OR_RETURN(SqliteStatement * ins,
                     db_->Cached("INSERT OR IGNORE INTO node_findings (node, id, kind, subject, "
                                 "payload, observed_ms, received_ms) VALUES (?,?,?,?,?,?,?)"));
    for (const NodeFindingRow& f : findings) {
      ins->Bind(1, f.node).Bind(2, f.finding.id()).Bind(3, int64_t{f.finding.kind_case()});
      ins->Bind(4, Subject(f.finding)).BindBlob(5, f.finding.SerializeAsString());
      ins->Bind(6, f.finding.observed_unix_ms()).Bind(7, f.received_ms);
      RETURN_IF_ERROR(ins->Run());
      added += static_cast<uint64_t>(db_->Changes());
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return added;
}

absl::StatusOr<std::vector<NodeFindingRow>> NodeStore::LoadFindings(const std::string& node) {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT node, payload, received_ms, delivered FROM node_findings "
                               "WHERE (?1 = '' OR node = ?1) ORDER BY received_ms, rowid"));
  st->Bind(1, node);
  return ReadFindings(*st);
}

absl::StatusOr<std::vector<NodeFindingRow>> NodeStore::Undelivered(uint32_t limit) {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT node, payload, received_ms, delivered FROM node_findings "
                               "WHERE delivered = 0 ORDER BY received_ms, rowid LIMIT ?"));
  st->Bind(1, int64_t{limit});
  return ReadFindings(*st);
}

absl::StatusOr<std::vector<NodeFindingRow>> NodeStore::ReadFindings(SqliteStatement& statement) {
  SqliteStatement* st = &statement;
  std::vector<NodeFindingRow> out;
  RETURN_IF_ERROR(st->ForEachRow([&](const SqliteStatement& r) -> absl::Status {
    NodeFindingRow& f = out.emplace_back();
    f.node = r.Text(0);
    if (!f.finding.ParseFromString(r.Text(1))) {
      return absl::DataLossError(
          absl::StrCat("a finding of node '", f.node, "' in ", path_, " does not parse"));
    }
    f.received_ms = r.Int(2);
    f.delivered = r.Int(3) != 0;
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::map<std::string, uint64_t>> NodeStore::CountUndelivered() {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT node, COUNT(*) FROM node_findings WHERE delivered = 0 "
                               "GROUP BY node"));
  std::map<std::string, uint64_t> out;
  RETURN_IF_ERROR(st->ForEachRow([&](const SqliteStatement& r) -> absl::Status {
    out[r.Text(0)] = static_cast<uint64_t>(r.Int(1));
    return absl::OkStatus();
  }));
  return out;
}

absl::Status NodeStore::MarkDelivered(const std::string& node, const std::string& id,
                                      int64_t now_ms) {
  return InTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(SqliteStatement * st,
                     db_->Cached("UPDATE node_findings SET delivered = 1, delivered_ms = ? "
                                 "WHERE node = ? AND id = ?"));
    st->Bind(1, now_ms).Bind(2, node).Bind(3, id);
    return st->Run();
  });
}

absl::Status NodeStore::MarkDelivered(const std::vector<NodeFindingRow>& findings, int64_t now_ms) {
  return InTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(SqliteStatement * st,
                     db_->Cached("UPDATE node_findings SET delivered = 1, delivered_ms = ? "
                                 "WHERE node = ? AND id = ?"));
    for (const NodeFindingRow& f : findings) {
      st->Bind(1, now_ms).Bind(2, f.node).Bind(3, f.finding.id());
      RETURN_IF_ERROR(st->Run());
    }
    return absl::OkStatus();
  });
}

}  // namespace goalkeeper
