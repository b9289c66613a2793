#include "coordinator/scan_store.h"

#include "absl/strings/str_cat.h"
#include "common/audit_log.h"
#include "common/evidence_check.h"
#include "common/services.h"
#include "common/status_macros.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

// Schema version 1: the tables of Goalkeeper before schema versions (an
// unmarked database of that version is adopted; IF NOT EXISTS throughout).
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE IF NOT EXISTS scans (
  id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  state INTEGER NOT NULL,
  inventory TEXT NOT NULL,
  scope TEXT NOT NULL,
  spec BLOB NOT NULL,
  probes_total INTEGER NOT NULL,
  next_index INTEGER NOT NULL DEFAULT 0,
  probes_done INTEGER NOT NULL DEFAULT 0,
  shards_done INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  started_ms INTEGER NOT NULL DEFAULT 0,
  finished_ms INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS scans_by_scope ON scans (scope, seq);
CREATE INDEX IF NOT EXISTS scans_by_state ON scans (state);
CREATE TABLE IF NOT EXISTS shards (
  scan_id TEXT NOT NULL,
  begin_index INTEGER NOT NULL,
  end_index INTEGER NOT NULL,
  state INTEGER NOT NULL,
  lease_id TEXT NOT NULL DEFAULT '',
  worker TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (scan_id, begin_index));
CREATE TABLE IF NOT EXISTS findings (
  scan_id TEXT NOT NULL,
  ip TEXT NOT NULL,
  port INTEGER NOT NULL,
  state INTEGER NOT NULL,
  rtt_us INTEGER NOT NULL,
  found_ms INTEGER NOT NULL,
  PRIMARY KEY (scan_id, ip, port));
CREATE TABLE IF NOT EXISTS exposures (
  scope TEXT NOT NULL,
  ip TEXT NOT NULL,
  port INTEGER NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  PRIMARY KEY (scope, ip, port));
CREATE TABLE IF NOT EXISTS reports (
  scan_id TEXT PRIMARY KEY,
  payload BLOB NOT NULL,
  delivered INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  delivered_ms INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS schedule_runs (
  name TEXT PRIMARY KEY,
  last_fire_ms INTEGER NOT NULL,
  first_seen_ms INTEGER NOT NULL);
)sql";

// Version 2: a queued report's exposures as rows, read in pages when it is
// delivered (the report itself keeps only its header); `meta` holds the
// write probe used to find out whether a full disk has space again.
constexpr char kSchemaV2[] = R"sql(
CREATE TABLE report_exposures (
  scan_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  ip TEXT NOT NULL,
  port INTEGER NOT NULL,
  status INTEGER NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  PRIMARY KEY (scan_id, n));
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL);
)sql";

// Version 3: registered workers (name, SHA-256 of their token), so a
// restarted coordinator lists them by name and accepts their tokens.
constexpr char kSchemaV3[] = R"sql(
CREATE TABLE workers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  registered_ms INTEGER NOT NULL);
)sql";

// Version 4: node checks (coordinator/node_store.h). Each node agent's
// latest report and silence state; its findings, one row per (node, id) so a
// retried report is stored once, with the serialized NodeFinding as payload
// and `delivered` set once the notifier has it.
constexpr char kSchemaV4[] = R"sql(
CREATE TABLE nodes (
  name TEXT PRIMARY KEY,
  agent_version TEXT NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_report_ms INTEGER NOT NULL,
  interval_seconds INTEGER NOT NULL,
  silent INTEGER NOT NULL DEFAULT 0,
  silent_since_ms INTEGER NOT NULL DEFAULT 0);
CREATE TABLE node_findings (
  node TEXT NOT NULL,
  id TEXT NOT NULL,
  kind INTEGER NOT NULL,
  subject TEXT NOT NULL,
  payload BLOB NOT NULL,
  observed_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  delivered INTEGER NOT NULL DEFAULT 0,
  delivered_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (node, id));
CREATE INDEX node_findings_undelivered ON node_findings (delivered, received_ms);
)sql";

// Version 5: the identity (peer certificate or bearer token) a worker
// registered with and a node first reported with; later calls for the same
// worker id or node name must come from it. '' = not bound (stored before).
constexpr char kSchemaV5[] = R"sql(
ALTER TABLE workers ADD COLUMN identity TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN identity TEXT NOT NULL DEFAULT '';
)sql";

// Version 7 (issue 12, trust12): confirmation before notifying. One row per
// change (new or closed) of a scan whose main shards are done: its probe
// index, whether a confirmation shard probed it (done) and saw it open.
constexpr char kSchemaConfirmations[] = R"sql(
CREATE TABLE IF NOT EXISTS confirmations (
  scan_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  ip TEXT NOT NULL,
  port INTEGER NOT NULL,
  change INTEGER NOT NULL,
  done INTEGER NOT NULL DEFAULT 0,
  seen_open INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (scan_id, idx));
)sql";

// Version 8 (issue 12): findings, exposures, report rows and confirmations
// keyed by (ip, port, transport), with what the probe saw: the service that
// answered ('' = the catalogue's name of the port), whether a probe verified
// it, and its evidence (a serialized goalkeeper.v1.Evidence, empty = none).
// Rows of earlier versions are TCP (transport 0) without a probe.
constexpr char kSchemaV8[] = R"sql(
CREATE TABLE findings_v8 (
  scan_id TEXT NOT NULL,
  ip TEXT NOT NULL,
  port INTEGER NOT NULL,
  transport INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL,
  rtt_us INTEGER NOT NULL,
  found_ms INTEGER NOT NULL,
  service TEXT NOT NULL DEFAULT '',
  verified INTEGER NOT NULL DEFAULT 0,
  evidence BLOB NOT NULL DEFAULT x'',
  PRIMARY KEY (scan_id, ip, port, transport));
INSERT INTO findings_v8 (scan_id, ip, port, state, rtt_us, found_ms)
  SELECT scan_id, ip, port, state, rtt_us, found_ms FROM findings;
DROP TABLE findings;
ALTER TABLE findings_v8 RENAME TO findings;
CREATE TABLE exposures_v8 (
  scope TEXT NOT NULL,
  ip TEXT NOT NULL,
  port INTEGER NOT NULL,
  transport INTEGER NOT NULL DEFAULT 0,
  first_seen_ms INTEGER NOT NULL,
  service TEXT NOT NULL DEFAULT '',
  verified INTEGER NOT NULL DEFAULT 0,
  evidence BLOB NOT NULL DEFAULT x'',
  PRIMARY KEY (scope, ip, port, transport));
INSERT INTO exposures_v8 (scope, ip, port, first_seen_ms)
  SELECT scope, ip, port, first_seen_ms FROM exposures;
DROP TABLE exposures;
ALTER TABLE exposures_v8 RENAME TO exposures;
ALTER TABLE report_exposures ADD COLUMN transport INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report_exposures ADD COLUMN service TEXT NOT NULL DEFAULT '';
ALTER TABLE report_exposures ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report_exposures ADD COLUMN evidence BLOB NOT NULL DEFAULT x'';
ALTER TABLE confirmations ADD COLUMN transport INTEGER NOT NULL DEFAULT 0;
)sql";

// A stored detail as the API shows it (m: a Finding or an Exposure, its port
// set): the service named (the probe's when verified, else the catalogue's),
// the transport, and the evidence parsed back.
template <typename Message>
void FillDetail(Message& m, int transport, const std::string& service, bool verified,
                const std::string& evidence) {
  const auto t = static_cast<v1::Transport>(transport);
  m.set_transport(t);
  m.set_service(ExposureServiceName(m.port(), t, verified, service));
  m.set_verified(verified);
  if (!evidence.empty()) m.mutable_evidence()->ParseFromString(evidence);
}

}  // namespace

const SqliteSchema& CoordinatorSchema() {
  static const SqliteSchema* schema = new SqliteSchema{
      0x474B4331,  // "GKC1"
      "coordinator",
      {"scans", "shards", "findings", "exposures", "reports", "schedule_runs", "report_exposures",
       "meta", "workers", "nodes", "node_findings", "audit", "confirmations"},
      // Version 6: the audit trail (common/audit_log.h).
      {kSchemaV1, kSchemaV2, kSchemaV3, kSchemaV4, kSchemaV5, kAuditSchemaSql,
       kSchemaConfirmations, kSchemaV8}};
  return *schema;
}

namespace {

// Columns 0-6 of a findings or exposures row: ip, port, transport, time,
// service, verified, evidence.
ExposureKey ReadKey(const SqliteStatement& r) {
  return ExposureKey(r.Text(0), static_cast<uint32_t>(r.Int(1)), static_cast<int>(r.Int(2)));
}
ExposureInfo ReadInfo(const SqliteStatement& r) {
  return ExposureInfo(r.Int(3), ExposureDetail{r.Text(4), r.Int(5) != 0, r.Text(6)});
}

constexpr char kScanColumns[] =
    "spec, state, probes_total, next_index, probes_done, shards_done, created_ms, started_ms, "
    "finished_ms, error, scope, seq";

absl::StatusOr<ScanRow> ReadScan(SqliteStatement& st) {
  ScanRow row;
  if (!row.scan.ParseFromString(st.Text(0))) {
    return absl::DataLossError("scan spec in the database does not parse");
  }
  row.scan.set_state(static_cast<v1::ScanState>(st.Int(1)));
  row.scan.set_probes_total(static_cast<uint64_t>(st.Int(2)));
  row.next_index = static_cast<uint64_t>(st.Int(3));
  row.scan.set_probes_done(static_cast<uint64_t>(st.Int(4)));
  row.scan.set_shards_done(static_cast<uint64_t>(st.Int(5)));
  row.scan.set_created_unix_ms(st.Int(6));
  row.scan.set_started_unix_ms(st.Int(7));
  row.scan.set_finished_unix_ms(st.Int(8));
  row.scan.set_error(st.Text(9));
  row.scope = st.Text(10);
  row.seq = st.Int(11);
  return row;
}

int64_t I64(uint64_t v) { return static_cast<int64_t>(v); }

}  // namespace

absl::StatusOr<std::unique_ptr<ScanStore>> ScanStore::Open(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path, CoordinatorSchema()));
  return std::unique_ptr<ScanStore>(new ScanStore(std::move(db), path));
}

absl::Status ScanStore::Begin() {
  if (!refusal_.ok()) return refusal_;
  if (in_txn_) return absl::OkStatus();
  RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  in_txn_ = true;
  txn_started_ = absl::Now();
  return absl::OkStatus();
}

absl::Status ScanStore::Commit() {
  if (!in_txn_) return absl::OkStatus();
  absl::Status s = db_->Exec("COMMIT");
  if (s.ok()) {
    in_txn_ = false;
    return s;
  }
  Abandon(s);
  return refusal_;
}

void ScanStore::Abandon(const absl::Status& cause) {
  if (!in_txn_ || !refusal_.ok()) return;
  const bool full = db_->LastErrorCode() == SQLITE_FULL;
  in_txn_ = false;
  if (db_->InTransaction()) db_->Exec("ROLLBACK").IgnoreError();
  refusal_ = absl::UnavailableError(
      full ? absl::StrCat("database disk is full: ", path_,
                          "; writes are refused until space returns")
           : absl::StrCat("database write failed: ", path_, ": ", cause.message(),
                          "; writes are refused until a write succeeds"));
}

absl::Status ScanStore::Guard(absl::Status s) {
  if (!s.ok()) Abandon(s);
  return refusal_.ok() ? s : refusal_;
}

absl::StatusOr<uint64_t> ScanStore::Guard(absl::StatusOr<uint64_t> s) {
  if (!s.ok()) Abandon(s.status());
  if (!refusal_.ok()) return refusal_;
  return s;
}

absl::Status ScanStore::TryResume() {
  if (refusal_.ok()) return absl::OkStatus();
  absl::Status s = db_->Exec(
      absl::StrCat("BEGIN IMMEDIATE; INSERT INTO meta (key, value) VALUES ('write_probe', ",
                   absl::ToUnixMillis(absl::Now()),
                   ") ON CONFLICT(key) DO UPDATE SET value = excluded.value; COMMIT"));
  if (!s.ok()) {
    if (db_->InTransaction()) db_->Exec("ROLLBACK").IgnoreError();
    return s;
  }
  refusal_ = absl::OkStatus();
  return s;
}

absl::Status ScanStore::CommitIfOlderThan(absl::Duration age) {
  if (in_txn_ && absl::Now() - txn_started_ >= age) return Commit();
  return absl::OkStatus();
}

absl::Status ScanStore::InsertScan(const v1::Scan& scan, const std::string& scope, int64_t seq) {
  return Guard([&]() -> absl::Status {
    RETURN_IF_ERROR(Begin());
    v1::Scan spec = scan;  // progress lives in columns
    ASSIGN_OR_RETURN(SqliteStatement * st,
                     db_->Cached("INSERT INTO scans (id, seq, state, inventory, scope, spec, "
                                 "probes_total, created_ms, started_ms) "
                                 "VALUES (?,?,?,?,?,?,?,?,?)"));
    st->Bind(1, scan.id()).Bind(2, seq).Bind(3, int64_t{scan.state()}).Bind(4, scan.inventory());
    st->Bind(5, scope).BindBlob(6, spec.SerializeAsString()).Bind(7, I64(scan.probes_total()));
    st->Bind(8, scan.created_unix_ms()).Bind(9, scan.started_unix_ms());
    return st->Run();
  }());
}

absl::Status ScanStore::SetScanState(const std::string& id, v1::ScanState state, int64_t now_ms,
                                     const std::string& error) {
  return Guard([&]() -> absl::Status {
    RETURN_IF_ERROR(Begin());
    const bool final_state = state == v1::SUCCEEDED || state == v1::FAILED ||
                             state == v1::CANCELLED || state == v1::DEGRADED;
    ASSIGN_OR_RETURN(SqliteStatement * st,
                     db_->Cached("UPDATE scans SET state = ?1, error = ?2, "
                                 "finished_ms = CASE WHEN ?3 THEN ?4 ELSE finished_ms END, "
                                 "started_ms = CASE WHEN ?1 = 2 AND started_ms = 0 THEN ?4 "
                                 "ELSE started_ms END WHERE id = ?5"));
    st->Bind(1, int64_t{state}).Bind(2, error).Bind(3, int64_t{final_state}).Bind(4, now_ms);
    st->Bind(5, id);
    RETURN_IF_ERROR(st->Run());
    if (final_state) {
      // Shards of an ended scan are never leased again.
      ASSIGN_OR_RETURN(SqliteStatement * del,
                       db_->Cached("DELETE FROM shards WHERE scan_id = ? AND state != 2"));
      del->Bind(1, id);
      RETURN_IF_ERROR(del->Run());
    }
    return absl::OkStatus();
  }());
}

absl::StatusOr<std::vector<ScanRow>> ScanStore::QueryScans(
    const std::string& where_sql, const std::function<void(SqliteStatement&)>& bind) {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached(absl::StrCat("SELECT ", kScanColumns, " FROM scans ", where_sql)));
  bind(*st);
  std::vector<ScanRow> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    ASSIGN_OR_RETURN(ScanRow scan, ReadScan(*st));
    out.push_back(std::move(scan));
  }
  st->Reset();
  return out;
}

absl::StatusOr<std::optional<ScanRow>> ScanStore::LoadScan(const std::string& id) {
  ASSIGN_OR_RETURN(std::vector<ScanRow> rows,
                   QueryScans("WHERE id = ?", [&](SqliteStatement& st) { st.Bind(1, id); }));
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

absl::StatusOr<std::vector<ScanRow>> ScanStore::ListScans(uint32_t limit,
                                                          const std::string& inventory,
                                                          int64_t before_seq, uint32_t max_specs) {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached(absl::StrCat("SELECT ", kScanColumns,
                                            " FROM scans WHERE (?1 = '' OR inventory = ?1) AND "
                                            "(?2 = 0 OR seq < ?2) ORDER BY seq DESC LIMIT ?3")));
  st->Bind(1, inventory).Bind(2, before_seq).Bind(3, int64_t{limit});
  std::vector<ScanRow> out;
  // Summarized row by row: a page never holds every scan's whole target list.
  auto truncate = [max_specs](google::protobuf::RepeatedPtrField<std::string>* specs) {
    if (static_cast<uint32_t>(specs->size()) > max_specs) {
      specs->DeleteSubrange(static_cast<int>(max_specs),
                            specs->size() - static_cast<int>(max_specs));
    }
  };
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    absl::StatusOr<ScanRow> scan = ReadScan(*st);
    if (!scan.ok()) {
      st->Reset();
      return scan.status();
    }
    v1::TargetSpec* targets = scan->scan.mutable_targets();
    scan->scan.set_target_include_count(static_cast<uint32_t>(targets->include_size()));
    scan->scan.set_target_exclude_count(static_cast<uint32_t>(targets->exclude_size()));
    truncate(targets->mutable_include());
    truncate(targets->mutable_exclude());
    out.push_back(*std::move(scan));
  }
  st->Reset();
  return out;
}

absl::StatusOr<std::vector<ScanRow>> ScanStore::LoadScansInState(v1::ScanState state) {
  return QueryScans("WHERE state = ? ORDER BY seq",
                    [&](SqliteStatement& st) { st.Bind(1, int64_t{state}); });
}

absl::StatusOr<int64_t> ScanStore::MaxSeq() {
  ASSIGN_OR_RETURN(SqliteStatement * st, db_->Cached("SELECT COALESCE(MAX(seq), 0) FROM scans"));
  ASSIGN_OR_RETURN(bool row, st->Step());
  int64_t v = row ? st->Int(0) : 0;
  st->Reset();
  return v;
}

absl::StatusOr<std::map<v1::ScanState, uint64_t>> ScanStore::CountScansByState() {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT state, COUNT(*) FROM scans GROUP BY state"));
  std::map<v1::ScanState, uint64_t> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out[static_cast<v1::ScanState>(st->Int(0))] = static_cast<uint64_t>(st->Int(1));
  }
  st->Reset();
  return out;
}

absl::StatusOr<std::vector<ShardRow>> ScanStore::LoadOpenShards(const std::string& scan_id) {
  ASSIGN_OR_RETURN(
      SqliteStatement * st,
      db_->Cached("SELECT begin_index, end_index, state, lease_id, worker, attempts "
                  "FROM shards WHERE scan_id = ? AND state != 2 ORDER BY begin_index"));
  st->Bind(1, scan_id);
  std::vector<ShardRow> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    ShardRow s;
    s.scan_id = scan_id;
    s.begin = static_cast<uint64_t>(st->Int(0));
    s.end = static_cast<uint64_t>(st->Int(1));
    s.state = static_cast<ShardState>(st->Int(2));
    s.lease_id = st->Text(3);
    s.worker_id = st->Text(4);
    s.attempts = static_cast<uint32_t>(st->Int(5));
    out.push_back(std::move(s));
  }
  st->Reset();
  return out;
}

absl::Status ScanStore::LeaseNewShard(const ShardRow& shard) {
  return Guard([&]() -> absl::Status {
    RETURN_IF_ERROR(Begin());
    ASSIGN_OR_RETURN(SqliteStatement * ins,
                     db_->Cached("INSERT INTO shards (scan_id, begin_index, end_index, state, "
                                 "lease_id, worker, attempts) VALUES (?,?,?,1,?,?,?)"));
    ins->Bind(1, shard.scan_id).Bind(2, I64(shard.begin)).Bind(3, I64(shard.end));
    ins->Bind(4, shard.lease_id).Bind(5, shard.worker_id).Bind(6, int64_t{shard.attempts});
    RETURN_IF_ERROR(ins->Run());
    ASSIGN_OR_RETURN(SqliteStatement * upd,
                     db_->Cached("UPDATE scans SET next_index = ? WHERE id = ?"));
    upd->Bind(1, I64(shard.end)).Bind(2, shard.scan_id);
    RETURN_IF_ERROR(upd->Run());
    return absl::OkStatus();
  }());
}

absl::Status ScanStore::LeaseShardAgain(const ShardRow& shard) {
  return Guard([&]() -> absl::Status {
    RETURN_IF_ERROR(Begin());
    ASSIGN_OR_RETURN(SqliteStatement * st,
                     db_->Cached("UPDATE shards SET state = 1, lease_id = ?, worker = ?, "
                                 "attempts = ? WHERE scan_id = ? AND begin_index = ?"));
    st->Bind(1, shard.lease_id).Bind(2, shard.worker_id).Bind(3, int64_t{shard.attempts});
    st->Bind(4, shard.scan_id).Bind(5, I64(shard.begin));
    return st->Run();
  }());
}

absl::Status ScanStore::ReleaseShard(const std::string& scan_id, uint64_t begin,
                                     uint32_t attempts) {
  return Guard([&]() -> absl::Status {
    RETURN_IF_ERROR(Begin());
    ASSIGN_OR_RETURN(SqliteStatement * st,
                     db_->Cached("UPDATE shards SET state = 0, lease_id = '', worker = '', "
                                 "attempts = ? WHERE scan_id = ? AND begin_index = ?"));
    st->Bind(1, int64_t{attempts}).Bind(2, scan_id).Bind(3, I64(begin));
    return st->Run();
  }());
}

absl::Status ScanStore::CompleteShard(const std::string& scan_id, uint64_t begin, uint64_t end) {
  return Guard([&]() -> absl::Status {
    RETURN_IF_ERROR(Begin());
    ASSIGN_OR_RETURN(SqliteStatement * st,
                     db_->Cached("UPDATE shards SET state = 2 WHERE scan_id = ? AND "
                                 "begin_index = ? AND state != 2"));
    st->Bind(1, scan_id).Bind(2, I64(begin));
    RETURN_IF_ERROR(st->Run());
    if (db_->Changes() == 1) {
      ASSIGN_OR_RETURN(SqliteStatement * upd,
                       db_->Cached("UPDATE scans SET probes_done = probes_done + ?, "
                                   "shards_done = shards_done + 1 WHERE id = ?"));
      upd->Bind(1, I64(end - begin)).Bind(2, scan_id);
      RETURN_IF_ERROR(upd->Run());
    }
    return absl::OkStatus();
  }());
}

absl::StatusOr<uint64_t> ScanStore::InsertFindings(const std::string& scan_id,
                                                   const std::vector<v1::ProbeResult>& results,
                                                   int64_t now_ms) {
  return Guard([&]() -> absl::StatusOr<uint64_t> {
    RETURN_IF_ERROR(Begin());
    ASSIGN_OR_RETURN(SqliteStatement * st,
                     db_->Cached("INSERT OR IGNORE INTO findings (scan_id, ip, port, transport, "
                                 "state, rtt_us, found_ms, service, verified, evidence) "
                                 "VALUES (?,?,?,?,?,?,?,?,?,?)"));
    uint64_t inserted = 0;
    for (const v1::ProbeResult& r : results) {
      st->Bind(1, scan_id).Bind(2, r.ip()).Bind(3, int64_t{r.port()});
      st->Bind(4, int64_t{r.transport()}).Bind(5, int64_t{r.state()});
      st->Bind(6, int64_t{r.rtt_us()}).Bind(7, now_ms);
      st->Bind(8, r.verified() ? r.service() : std::string()).Bind(9, int64_t{r.verified()});
      st->BindBlob(10, r.has_evidence() ? r.evidence().SerializeAsString() : std::string());
      RETURN_IF_ERROR(st->Run());
      inserted += static_cast<uint64_t>(db_->Changes());
    }
    return inserted;
  }());
}

absl::Status ScanStore::ForEachFinding(const std::string& scan_id,
                                       const std::function<void(const v1::Finding&)>& fn) {
  // Not cached: a caller may run another query from inside `fn`.
  ASSIGN_OR_RETURN(SqliteStatement st,
                   db_->Prepare("SELECT ip, port, state, rtt_us, found_ms, transport, service, "
                                "verified, evidence FROM findings "
                                "WHERE scan_id = ? ORDER BY ip, port, transport"));
  st.Bind(1, scan_id);
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    v1::Finding f;
    f.set_scan_id(scan_id);
    f.set_ip(st.Text(0));
    f.set_port(static_cast<uint32_t>(st.Int(1)));
    f.set_state(static_cast<v1::ProbeState>(st.Int(2)));
    f.set_rtt_us(static_cast<uint32_t>(st.Int(3)));
    f.set_found_unix_ms(st.Int(4));
    FillDetail(f, static_cast<int>(st.Int(5)), st.Text(6), st.Int(7) != 0, st.Text(8));
    fn(f);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Finding>> ScanStore::FindingsPage(const std::string& scan_id,
                                                                 const ExposureKey* after,
                                                                 uint32_t limit) {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT ip, port, state, rtt_us, found_ms, transport, service, "
                               "verified, evidence FROM findings "
                               "WHERE scan_id = ?1 AND (?2 = 0 OR (ip, port, transport) > (?3, ?4, ?6)) "
                               "ORDER BY ip, port, transport LIMIT ?5"));
  st->Bind(1, scan_id).Bind(2, int64_t{after != nullptr});
  st->Bind(3, after != nullptr ? after->ip : std::string());
  st->Bind(4, int64_t{after != nullptr ? after->port : 0}).Bind(5, int64_t{limit});
  st->Bind(6, int64_t{after != nullptr ? after->transport : 0});
  std::vector<v1::Finding> out;
  RETURN_IF_ERROR(st->ForEachRow([&](const SqliteStatement& r) -> absl::Status {
    v1::Finding& f = out.emplace_back();
    f.set_scan_id(scan_id);
    f.set_ip(r.Text(0));
    f.set_port(static_cast<uint32_t>(r.Int(1)));
    f.set_state(static_cast<v1::ProbeState>(r.Int(2)));
    f.set_rtt_us(static_cast<uint32_t>(r.Int(3)));
    f.set_found_unix_ms(r.Int(4));
    FillDetail(f, static_cast<int>(r.Int(5)), r.Text(6), r.Int(7) != 0, r.Text(8));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<ExposureMap> ScanStore::OpenPairs(const std::string& scan_id) {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT ip, port, transport, found_ms, service, verified, "
                               "evidence FROM findings WHERE scan_id = ? "
                               "ORDER BY ip, port, transport"));
  st->Bind(1, scan_id);
  ExposureMap out;
  RETURN_IF_ERROR(st->ForEachRow([&](const SqliteStatement& r) -> absl::Status {
    out.emplace_hint(out.end(), ReadKey(r), ReadInfo(r));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<uint64_t> ScanStore::CountFindings(const std::string& scan_id) {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT COUNT(*) FROM findings WHERE scan_id = ?"));
  st->Bind(1, scan_id);
  ASSIGN_OR_RETURN(bool row, st->Step());
  uint64_t n = row ? static_cast<uint64_t>(st->Int(0)) : 0;
  st->Reset();
  return n;
}

absl::StatusOr<std::optional<std::string>> ScanStore::PreviousSucceeded(const std::string& scope,
                                                                        int64_t seq) {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT id FROM scans WHERE scope = ? AND seq < ? AND state = ? "
                               "ORDER BY seq DESC LIMIT 1"));
  st->Bind(1, scope).Bind(2, seq).Bind(3, int64_t{v1::SUCCEEDED});
  ASSIGN_OR_RETURN(bool row, st->Step());
  std::optional<std::string> id;
  if (row) id = st->Text(0);
  st->Reset();
  return id;
}

absl::StatusOr<ExposureMap> ScanStore::Exposures(const std::string& scope) {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT ip, port, transport, first_seen_ms, service, verified, "
                               "evidence FROM exposures WHERE scope = ?"));
  st->Bind(1, scope);
  ExposureMap out;
  RETURN_IF_ERROR(st->ForEachRow([&](const SqliteStatement& r) -> absl::Status {
    out[ReadKey(r)] = ReadInfo(r);
    return absl::OkStatus();
  }));
  return out;
}

absl::Status ScanStore::FinishScanWithReport(const std::string& id, int64_t now_ms,
                                             const std::string& scope, const v1::ScanReport& header,
                                             const std::vector<ExposureDelta>& diff,
                                             v1::ScanState state,
                                             const std::vector<ExposureDelta>& kept) {
  return Guard([&]() -> absl::Status {
    RETURN_IF_ERROR(Begin());
    RETURN_IF_ERROR(SetScanState(id, state, now_ms, ""));
    ASSIGN_OR_RETURN(SqliteStatement * del, db_->Cached("DELETE FROM exposures WHERE scope = ?"));
    del->Bind(1, scope);
    RETURN_IF_ERROR(del->Run());
    ASSIGN_OR_RETURN(SqliteStatement * ins,
                     db_->Cached("INSERT INTO exposures (scope, ip, port, transport, "
                                 "first_seen_ms, service, verified, evidence) "
                                 "VALUES (?,?,?,?,?,?,?,?)"));
    ASSIGN_OR_RETURN(SqliteStatement * exp,
                     db_->Cached("INSERT OR IGNORE INTO report_exposures (scan_id, n, ip, port, "
                                 "status, first_seen_ms, transport, service, verified, evidence) "
                                 "VALUES (?,?,?,?,?,?,?,?,?,?)"));
    auto keep = [&](const ExposureDelta& d) {
      ins->Bind(1, scope).Bind(2, d.key.ip).Bind(3, int64_t{d.key.port});
      ins->Bind(4, int64_t{d.key.transport}).Bind(5, d.first_seen_ms);
      ins->Bind(6, d.detail.service).Bind(7, int64_t{d.detail.verified});
      ins->BindBlob(8, d.detail.evidence);
      return ins->Run();
    };
    for (const ExposureDelta& d : kept) RETURN_IF_ERROR(keep(d));
    int64_t n = 0;
    for (const ExposureDelta& d : diff) {
      if (d.change != ExposureChange::kClosed) RETURN_IF_ERROR(keep(d));
      const v1::ExposureStatus status = d.change == ExposureChange::kNew      ? v1::NEW
                                        : d.change == ExposureChange::kClosed ? v1::CLOSED
                                                                              : v1::STILL_OPEN;
      exp->Bind(1, id).Bind(2, n++).Bind(3, d.key.ip).Bind(4, int64_t{d.key.port});
      exp->Bind(5, int64_t{status}).Bind(6, d.first_seen_ms).Bind(7, int64_t{d.key.transport});
      exp->Bind(8, d.detail.service).Bind(9, int64_t{d.detail.verified});
      exp->BindBlob(10, d.detail.evidence);
      RETURN_IF_ERROR(exp->Run());
    }
    v1::ScanReport stored = header;
    stored.clear_exposures();
    stored.set_exposure_count(diff.size());
    ASSIGN_OR_RETURN(SqliteStatement * rep,
                     db_->Cached("INSERT OR IGNORE INTO reports (scan_id, payload) VALUES (?,?)"));
    rep->Bind(1, id).BindBlob(2, stored.SerializeAsString());
    RETURN_IF_ERROR(rep->Run());
    return absl::OkStatus();
  }());
}

absl::Status ScanStore::InsertConfirmations(const std::string& scan_id,
                                            const std::vector<ConfirmationRow>& rows) {
  return Guard([&]() -> absl::Status {
    RETURN_IF_ERROR(Begin());
    ASSIGN_OR_RETURN(SqliteStatement * st,
                     db_->Cached("INSERT OR IGNORE INTO confirmations (scan_id, idx, ip, port, "
                                 "change, done, seen_open, transport) VALUES (?,?,?,?,?,?,?,?)"));
    for (const ConfirmationRow& r : rows) {
      st->Bind(1, scan_id).Bind(2, I64(r.index)).Bind(3, r.ip).Bind(4, int64_t{r.port});
      st->Bind(5, int64_t{r.closed ? 1 : 0}).Bind(6, int64_t{r.done}).Bind(7, int64_t{r.seen_open});
      st->Bind(8, int64_t{r.transport});
      RETURN_IF_ERROR(st->Run());
    }
    return absl::OkStatus();
  }());
}

absl::StatusOr<std::vector<ConfirmationRow>> ScanStore::LoadConfirmations(
    const std::string& scan_id) {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT idx, ip, port, change, done, seen_open, transport "
                               "FROM confirmations WHERE scan_id = ? ORDER BY idx"));
  st->Bind(1, scan_id);
  std::vector<ConfirmationRow> out;
  RETURN_IF_ERROR(st->ForEachRow([&](const SqliteStatement& r) -> absl::Status {
    out.push_back({static_cast<uint64_t>(r.Int(0)), r.Text(1), static_cast<uint32_t>(r.Int(2)),
                   r.Int(3) != 0, r.Int(4) != 0, r.Int(5) != 0, static_cast<int>(r.Int(6))});
    return absl::OkStatus();
  }));
  return out;
}

absl::Status ScanStore::UpdateConfirmation(const std::string& scan_id, uint64_t index, bool done,
                                           bool seen_open) {
  return Guard([&]() -> absl::Status {
    RETURN_IF_ERROR(Begin());
    ASSIGN_OR_RETURN(SqliteStatement * st,
                     db_->Cached("UPDATE confirmations SET done = MAX(done, ?1), "
                                 "seen_open = MAX(seen_open, ?2) WHERE scan_id = ?3 AND idx = ?4"));
    st->Bind(1, int64_t{done}).Bind(2, int64_t{seen_open}).Bind(3, scan_id).Bind(4, I64(index));
    return st->Run();
  }());
}

absl::Status ScanStore::SetScanSpec(const std::string& id, const v1::Scan& scan) {
  return Guard([&]() -> absl::Status {
    RETURN_IF_ERROR(Begin());
    ASSIGN_OR_RETURN(SqliteStatement * st, db_->Cached("UPDATE scans SET spec = ? WHERE id = ?"));
    st->BindBlob(1, scan.SerializeAsString()).Bind(2, id);
    return st->Run();
  }());
}

absl::StatusOr<std::vector<v1::Exposure>> ScanStore::ReportExposures(const std::string& scan_id,
                                                                     uint64_t offset,
                                                                     uint32_t limit) {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT ip, port, status, first_seen_ms, transport, service, "
                               "verified, evidence FROM report_exposures "
                               "WHERE scan_id = ? AND n >= ? ORDER BY n LIMIT ?"));
  st->Bind(1, scan_id).Bind(2, I64(offset)).Bind(3, int64_t{limit});
  std::vector<v1::Exposure> out;
  RETURN_IF_ERROR(st->ForEachRow([&](const SqliteStatement& r) -> absl::Status {
    v1::Exposure& e = out.emplace_back();
    e.set_ip(r.Text(0));
    e.set_port(static_cast<uint32_t>(r.Int(1)));
    e.set_status(static_cast<v1::ExposureStatus>(r.Int(2)));
    e.set_first_seen_unix_ms(r.Int(3));
    FillDetail(e, static_cast<int>(r.Int(4)), r.Text(5), r.Int(6) != 0, r.Text(7));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<ReportRow>> ScanStore::DueReports(int64_t now_ms, uint32_t limit) {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT scan_id, payload, attempts, next_attempt_ms FROM reports "
                               "WHERE delivered = 0 AND next_attempt_ms <= ? "
                               "ORDER BY next_attempt_ms LIMIT ?"));
  st->Bind(1, now_ms).Bind(2, int64_t{limit});
  std::vector<ReportRow> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    ReportRow r;
    r.scan_id = st->Text(0);
    if (!r.report.ParseFromString(st->Text(1))) {
      st->Reset();
      return absl::DataLossError(absl::StrCat("report of scan ", r.scan_id, " does not parse"));
    }
    r.attempts = static_cast<uint32_t>(st->Int(2));
    r.next_attempt_ms = st->Int(3);
    out.push_back(std::move(r));
  }
  st->Reset();
  return out;
}

absl::Status ScanStore::MarkReportDelivered(const std::string& scan_id, int64_t now_ms) {
  return Guard([&]() -> absl::Status {
    RETURN_IF_ERROR(Begin());
    ASSIGN_OR_RETURN(SqliteStatement * st,
                     db_->Cached("UPDATE reports SET delivered = 1, delivered_ms = ?, "
                                 "last_error = '' WHERE scan_id = ?"));
    st->Bind(1, now_ms).Bind(2, scan_id);
    return st->Run();
  }());
}

absl::Status ScanStore::MarkReportFailed(const std::string& scan_id, uint32_t attempts,
                                         int64_t next_attempt_ms, const std::string& error) {
  return Guard([&]() -> absl::Status {
    RETURN_IF_ERROR(Begin());
    ASSIGN_OR_RETURN(SqliteStatement * st,
                     db_->Cached("UPDATE reports SET attempts = ?, next_attempt_ms = ?, "
                                 "last_error = ? WHERE scan_id = ?"));
    st->Bind(1, int64_t{attempts}).Bind(2, next_attempt_ms).Bind(3, error).Bind(4, scan_id);
    return st->Run();
  }());
}

absl::StatusOr<uint64_t> ScanStore::CountPendingReports() {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT COUNT(*) FROM reports WHERE delivered = 0"));
  ASSIGN_OR_RETURN(bool row, st->Step());
  uint64_t n = row ? static_cast<uint64_t>(st->Int(0)) : 0;
  st->Reset();
  return n;
}

absl::StatusOr<int64_t> ScanStore::OldestPendingReportMs() {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT COALESCE(MIN(s.finished_ms), 0) FROM reports r "
                               "JOIN scans s ON s.id = r.scan_id WHERE r.delivered = 0"));
  ASSIGN_OR_RETURN(bool row, st->Step());
  const int64_t ms = row ? st->Int(0) : 0;
  st->Reset();
  return ms;
}

absl::StatusOr<std::map<std::string, std::pair<int64_t, int64_t>>> ScanStore::LoadScheduleRuns() {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT name, last_fire_ms, first_seen_ms FROM schedule_runs"));
  std::map<std::string, std::pair<int64_t, int64_t>> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out[st->Text(0)] = {st->Int(1), st->Int(2)};
  }
  st->Reset();
  return out;
}

absl::Status ScanStore::SaveScheduleRun(const std::string& name, int64_t last_fire_ms,
                                        int64_t first_seen_ms) {
  return Guard([&]() -> absl::Status {
    RETURN_IF_ERROR(Begin());
    ASSIGN_OR_RETURN(SqliteStatement * st,
                     db_->Cached("INSERT INTO schedule_runs (name, last_fire_ms, first_seen_ms) "
                                 "VALUES (?,?,?) ON CONFLICT(name) DO UPDATE SET "
                                 "last_fire_ms = excluded.last_fire_ms"));
    st->Bind(1, name).Bind(2, last_fire_ms).Bind(3, first_seen_ms);
    return st->Run();
  }());
}

absl::StatusOr<std::vector<WorkerRow>> ScanStore::LoadWorkers() {
  ASSIGN_OR_RETURN(
      SqliteStatement * st,
      db_->Cached("SELECT id, name, token_hash, registered_ms, identity FROM workers"));
  std::vector<WorkerRow> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out.push_back({st->Text(0), st->Text(1), st->Text(2), st->Int(3), st->Text(4)});
  }
  st->Reset();
  return out;
}

absl::Status ScanStore::SaveWorker(const WorkerRow& worker) {
  RETURN_IF_ERROR(Begin());
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("INSERT OR REPLACE INTO workers (id, name, token_hash, "
                               "registered_ms, identity) VALUES (?,?,?,?,?)"));
  st->Bind(1, worker.id).Bind(2, worker.name).Bind(3, worker.token_hash);
  st->Bind(4, worker.registered_ms).Bind(5, worker.identity);
  return st->Run();
}

absl::Status ScanStore::DeleteWorker(const std::string& id) {
  RETURN_IF_ERROR(Begin());
  ASSIGN_OR_RETURN(SqliteStatement * st, db_->Cached("DELETE FROM workers WHERE id = ?"));
  st->Bind(1, id);
  return st->Run();
}

}  // namespace goalkeeper
