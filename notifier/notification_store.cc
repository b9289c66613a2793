#include "notifier/notification_store.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <openssl/sha.h>

#include <algorithm>
#include <tuple>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/audit_log.h"
#include "common/status_macros.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

// Version 1: the tables before schema versions (an unmarked database of that
// version is adopted).
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE IF NOT EXISTS reports (
  scan_id TEXT PRIMARY KEY,
  payload BLOB NOT NULL,
  received_ms INTEGER NOT NULL,
  processed INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS exposures (
  owner_key TEXT NOT NULL,
  ip TEXT NOT NULL,
  port INTEGER NOT NULL,
  first_notified_ms INTEGER NOT NULL,
  last_notified_ms INTEGER NOT NULL,
  open INTEGER NOT NULL,
  PRIMARY KEY (owner_key, ip, port));
CREATE TABLE IF NOT EXISTS outbox (
  key TEXT PRIMARY KEY,
  scan_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  recipients TEXT NOT NULL,
  cc TEXT NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  state INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  done_ms INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_ms);
CREATE TABLE IF NOT EXISTS acknowledgements (
  ip TEXT NOT NULL,
  port INTEGER NOT NULL,
  until_ms INTEGER NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (ip, port));
)sql";

// Version 2: each report's content digest, for idempotency by content
// ('' for reports stored before: computed from the payload when needed).
constexpr char kSchemaV2[] = "ALTER TABLE reports ADD COLUMN digest TEXT NOT NULL DEFAULT ''";

// Version 3: node findings from the coordinator, one row per (node, id),
// with the SHA-256 of their content (NodeFindingDigest) for idempotency.
constexpr char kSchemaV3[] = R"sql(
CREATE TABLE IF NOT EXISTS node_findings (
  node TEXT NOT NULL,
  id TEXT NOT NULL,
  kind INTEGER NOT NULL,
  digest TEXT NOT NULL,
  payload BLOB NOT NULL,
  received_ms INTEGER NOT NULL,
  PRIMARY KEY (node, id));
)sql";

// Version 5: exposures and acknowledgements keyed by (ip, port, transport)
// (0 = TCP, 1 = UDP: goalkeeper.v1.Transport); every row before is TCP.
constexpr char kSchemaV5[] = R"sql(
CREATE TABLE exposures_v5 (
  owner_key TEXT NOT NULL,
  ip TEXT NOT NULL,
  port INTEGER NOT NULL,
  transport INTEGER NOT NULL DEFAULT 0,
  first_notified_ms INTEGER NOT NULL,
  last_notified_ms INTEGER NOT NULL,
  open INTEGER NOT NULL,
  PRIMARY KEY (owner_key, ip, port, transport));
INSERT INTO exposures_v5 (owner_key, ip, port, transport, first_notified_ms, last_notified_ms,
  open) SELECT owner_key, ip, port, 0, first_notified_ms, last_notified_ms, open FROM exposures;
DROP TABLE exposures;
ALTER TABLE exposures_v5 RENAME TO exposures;
CREATE TABLE acknowledgements_v5 (
  ip TEXT NOT NULL,
  port INTEGER NOT NULL,
  transport INTEGER NOT NULL DEFAULT 0,
  until_ms INTEGER NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (ip, port, transport));
INSERT INTO acknowledgements_v5 (ip, port, transport, until_ms, reason)
  SELECT ip, port, 0, until_ms, reason FROM acknowledgements;
DROP TABLE acknowledgements;
ALTER TABLE acknowledgements_v5 RENAME TO acknowledgements;
)sql";

int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }
absl::Time FromMs(int64_t ms) { return absl::FromUnixMillis(ms); }

std::vector<std::string> SplitList(const std::string& s) {
  return absl::StrSplit(s, ',', absl::SkipEmpty());
}

// The stored channel name of outbox row `key`; an unknown one (written by a
// newer notifier) is DataLoss naming it.
absl::StatusOr<Channel> StoredChannel(const std::string& key, const std::string& name) {
  std::optional<Channel> c = ParseChannel(name);
  if (!c) {
    return absl::DataLossError(
        absl::StrCat("outbox row '", key, "' has an unknown channel '", name, "'"));
  }
  return *c;
}

}  // namespace

const SqliteSchema& NotifierSchema() {
  static const SqliteSchema* schema = new SqliteSchema{
      0x474B4E31,  // "GKN1"
      "notifier",
      {"reports", "exposures", "outbox", "acknowledgements", "node_findings", "audit"},
      // Version 4: the audit trail (common/audit_log.h).
      {kSchemaV1, kSchemaV2, kSchemaV3, kAuditSchemaSql, kSchemaV5}};
  return *schema;
}

std::string ReportDigest(const v1::ScanReport& report) {
  v1::ScanReport canonical = report;
  canonical.clear_exposure_count();
  std::sort(canonical.mutable_exposures()->begin(), canonical.mutable_exposures()->end(),
            [](const v1::Exposure& a, const v1::Exposure& b) {
              // transport last: the order of reports from before UDP is kept.
              return std::forward_as_tuple(a.ip(), a.port(), a.status(), a.first_seen_unix_ms(),
                                           a.service(), a.transport()) <
                     std::forward_as_tuple(b.ip(), b.port(), b.status(), b.first_seen_unix_ms(),
                                           b.service(), b.transport());
            });
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.SetSerializationDeterministic(true);
    canonical.SerializeToCodedStream(&out);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

absl::StatusOr<std::unique_ptr<NotificationStore>> NotificationStore::Open(
    const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path, NotifierSchema()));
  return std::unique_ptr<NotificationStore>(new NotificationStore(std::move(db)));
}

absl::StatusOr<bool> NotificationStore::InsertReport(const v1::ScanReport& report, absl::Time now) {
  const std::string digest = ReportDigest(report);  // outside the lock: CPU only
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("INSERT OR IGNORE INTO reports (scan_id, payload, received_ms, "
                               "digest) VALUES (?,?,?,?)"));
  st->Bind(1, report.scan_id()).BindBlob(2, report.SerializeAsString()).Bind(3, Ms(now));
  st->Bind(4, digest);
  RETURN_IF_ERROR(st->Run());
  if (db_->Changes() == 1) return true;
  ASSIGN_OR_RETURN(SqliteStatement * old,
                   db_->Cached("SELECT digest, payload FROM reports WHERE scan_id = ?"));
  old->Bind(1, report.scan_id());
  ASSIGN_OR_RETURN(bool row, old->Step());
  std::string stored = row ? old->Text(0) : std::string();
  if (row && stored.empty()) {  // stored before digests were kept
    v1::ScanReport first;
    if (first.ParseFromString(old->Text(1))) stored = ReportDigest(first);
  }
  old->Reset();
  if (stored == digest) return false;
  return absl::AlreadyExistsError(absl::StrCat(
      "report of scan '", report.scan_id(), "' was already received with other content (sha256 ",
      stored.substr(0, 16), ", this one ", digest.substr(0, 16), "); the first is kept"));
}

absl::StatusOr<NodeFindingsResult> NotificationStore::InsertNodeFindings(
    const std::vector<StoredNodeFinding>& findings,
    const std::function<std::vector<OutboxItem>(const std::vector<size_t>& fresh)>& notify,
    absl::Time now) {
  absl::MutexLock lock(&mu_);
  SqliteTransaction txn(*db_);
  RETURN_IF_ERROR(txn.begin_status());
  ASSIGN_OR_RETURN(SqliteStatement * ins,
                   db_->Cached("INSERT OR IGNORE INTO node_findings (node, id, kind, digest, "
                               "payload, received_ms) VALUES (?,?,?,?,?,?)"));
  ASSIGN_OR_RETURN(SqliteStatement * old,
                   db_->Cached("SELECT digest FROM node_findings WHERE node = ? AND id = ?"));
  NodeFindingsResult result;
  for (size_t i = 0; i < findings.size(); ++i) {
    const StoredNodeFinding& f = findings[i];
    ins->Bind(1, f.delivery->node()).Bind(2, f.delivery->id());
    ins->Bind(3, int64_t{f.delivery->finding().kind_case()}).Bind(4, f.digest);
    ins->BindBlob(5, f.delivery->SerializeAsString()).Bind(6, Ms(now));
    RETURN_IF_ERROR(ins->Run());
    if (db_->Changes() == 1) {
      result.fresh.push_back(i);
      continue;
    }
    old->Bind(1, f.delivery->node()).Bind(2, f.delivery->id());
    ASSIGN_OR_RETURN(bool row, old->Step());
    const std::string stored = row ? old->Text(0) : std::string();
    old->Reset();
    if (stored != f.digest) {
      return absl::AlreadyExistsError(
          absl::StrCat("findings[", i, "]: node '", f.delivery->node(), "' finding '",
                       f.delivery->id(), "' was already received with other content (sha256 ",
                       stored.substr(0, 16), ", this one ", f.digest.substr(0, 16),
                       "); the first is kept, nothing of this batch "
                       "was stored"));
    }
    ++result.duplicates;
  }
  if (!result.fresh.empty()) {
    ASSIGN_OR_RETURN(SqliteStatement * out,
                     db_->Cached("INSERT OR IGNORE INTO outbox (key, scan_id, channel, "
                                 "recipients, cc, subject, body, created_ms, next_attempt_ms) "
                                 "VALUES (?,?,?,?,?,?,?,?,?)"));
    for (const OutboxItem& it : notify(result.fresh)) {
      out->Bind(1, it.key).Bind(2, it.scan_id).Bind(3, ChannelName(it.channel));
      out->Bind(4, absl::StrJoin(it.to, ",")).Bind(5, absl::StrJoin(it.cc, ","));
      out->Bind(6, it.subject).Bind(7, it.body).Bind(8, Ms(now)).Bind(9, Ms(now));
      RETURN_IF_ERROR(out->Run());
      ++result.queued;
    }
  }
  RETURN_IF_ERROR(txn.Commit());
  return result;
}

absl::StatusOr<std::vector<goalkeeper::v1::NodeFindingDelivery>>
NotificationStore::LoadNodeFindings() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT payload FROM node_findings ORDER BY received_ms, rowid"));
  std::vector<goalkeeper::v1::NodeFindingDelivery> out;
  RETURN_IF_ERROR(st->ForEachRow([&](const SqliteStatement& r) -> absl::Status {
    if (!out.emplace_back().ParseFromString(r.Text(0))) {
      return absl::DataLossError("a stored node finding does not parse");
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::optional<uint64_t>> NotificationStore::StoredExposures(
    const std::string& scan_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT payload FROM reports WHERE scan_id = ?"));
  st->Bind(1, scan_id);
  ASSIGN_OR_RETURN(bool row, st->Step());
  std::optional<uint64_t> out;
  if (row) {
    v1::ScanReport r;
    if (!r.ParseFromString(st->Text(0))) {
      st->Reset();
      return absl::DataLossError(
          absl::StrCat("stored report of scan '", scan_id, "' does not parse"));
    }
    out = static_cast<uint64_t>(r.exposures_size());
  }
  st->Reset();
  return out;
}

absl::StatusOr<std::optional<v1::ScanReport>> NotificationStore::NextReport(absl::Time now) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT payload FROM reports WHERE processed = 0 AND "
                               "next_attempt_ms <= ? ORDER BY received_ms LIMIT 1"));
  st->Bind(1, Ms(now));
  ASSIGN_OR_RETURN(bool row, st->Step());
  std::optional<v1::ScanReport> out;
  if (row) {
    v1::ScanReport r;
    if (!r.ParseFromString(st->Text(0))) {
      st->Reset();
      return absl::DataLossError("a stored report does not parse");
    }
    out = std::move(r);
  }
  st->Reset();
  return out;
}

absl::Status NotificationStore::ReportFailed(const std::string& scan_id, absl::Time next_attempt,
                                             const std::string& error) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("UPDATE reports SET attempts = attempts + 1, next_attempt_ms = ?, "
                               "last_error = ? WHERE scan_id = ?"));
  st->Bind(1, Ms(next_attempt)).Bind(2, error).Bind(3, scan_id);
  return st->Run();
}

absl::Status NotificationStore::CompleteReport(const std::string& scan_id,
                                               const std::vector<ExposureUpdate>& updates,
                                               const std::vector<OutboxItem>& items,
                                               absl::Time now) {
  absl::MutexLock lock(&mu_);
  SqliteTransaction txn(*db_);
  RETURN_IF_ERROR(txn.begin_status());
  ASSIGN_OR_RETURN(
      SqliteStatement * up,
      db_->Cached("INSERT INTO exposures (owner_key, ip, port, first_notified_ms, "
                  "last_notified_ms, open, transport) VALUES (?1,?2,?3,?4,?4,?5,?7) "
                  "ON CONFLICT(owner_key, ip, port, transport) DO UPDATE SET open = ?5, "
                  "last_notified_ms = CASE WHEN ?6 THEN ?4 ELSE last_notified_ms END"));
  for (const ExposureUpdate& u : updates) {
    up->Bind(1, u.owner_key).Bind(2, u.ip).Bind(3, int64_t{u.port});
    up->Bind(4, u.notified ? Ms(now) : int64_t{0}).Bind(5, int64_t{u.open});
    up->Bind(6, int64_t{u.notified}).Bind(7, int64_t{u.transport});
    RETURN_IF_ERROR(up->Run());
  }
  ASSIGN_OR_RETURN(SqliteStatement * ins,
                   db_->Cached("INSERT OR IGNORE INTO outbox (key, scan_id, channel, recipients, "
                               "cc, subject, body, created_ms, next_attempt_ms) "
                               "VALUES (?,?,?,?,?,?,?,?,?)"));
  for (const OutboxItem& it : items) {
    ins->Bind(1, it.key).Bind(2, it.scan_id).Bind(3, ChannelName(it.channel));
    ins->Bind(4, absl::StrJoin(it.to, ",")).Bind(5, absl::StrJoin(it.cc, ","));
    ins->Bind(6, it.subject).Bind(7, it.body).Bind(8, Ms(now)).Bind(9, Ms(now));
    RETURN_IF_ERROR(ins->Run());
  }
  ASSIGN_OR_RETURN(
      SqliteStatement * done,
      db_->Cached("UPDATE reports SET processed = 1, last_error = '' WHERE scan_id = ?"));
  done->Bind(1, scan_id);
  RETURN_IF_ERROR(done->Run());
  return txn.Commit();
}

absl::StatusOr<std::optional<ExposureState>> NotificationStore::GetExposure(
    const std::string& owner_key, const std::string& ip, uint32_t port, v1::Transport transport) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT first_notified_ms, last_notified_ms, open FROM exposures "
                               "WHERE owner_key = ? AND ip = ? AND port = ? AND transport = ?"));
  st->Bind(1, owner_key).Bind(2, ip).Bind(3, int64_t{port}).Bind(4, int64_t{transport});
  ASSIGN_OR_RETURN(bool row, st->Step());
  std::optional<ExposureState> out;
  if (row) out = ExposureState{FromMs(st->Int(0)), FromMs(st->Int(1)), st->Int(2) != 0};
  st->Reset();
  return out;
}

absl::StatusOr<std::vector<OutboxItem>> NotificationStore::DueOutbox(absl::Time now, int limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT key, scan_id, channel, recipients, cc, subject, body, "
                               "attempts, created_ms, next_attempt_ms, last_error FROM outbox "
                               "WHERE state = 0 AND next_attempt_ms <= ? "
                               "ORDER BY next_attempt_ms, key LIMIT ?"));
  st->Bind(1, Ms(now)).Bind(2, int64_t{limit});
  std::vector<OutboxItem> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    OutboxItem it;
    it.key = st->Text(0);
    it.scan_id = st->Text(1);
    absl::StatusOr<Channel> channel = StoredChannel(it.key, st->Text(2));
    if (!channel.ok()) {
      st->Reset();
      return channel.status();
    }
    it.channel = *channel;
    it.to = SplitList(st->Text(3));
    it.cc = SplitList(st->Text(4));
    it.subject = st->Text(5);
    it.body = st->Text(6);
    it.attempts = static_cast<uint32_t>(st->Int(7));
    it.created = FromMs(st->Int(8));
    it.next_attempt = FromMs(st->Int(9));
    it.last_error = st->Text(10);
    out.push_back(std::move(it));
  }
  st->Reset();
  return out;
}

absl::Status NotificationStore::MarkSent(const std::string& key, absl::Time now) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("UPDATE outbox SET state = 1, done_ms = ?, attempts = attempts + 1, "
                               "last_error = '' WHERE key = ?"));
  st->Bind(1, Ms(now)).Bind(2, key);
  return st->Run();
}

absl::Status NotificationStore::MarkRetry(const std::string& key, uint32_t attempts,
                                          absl::Time next_attempt, const std::string& error) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement * st,
      db_->Cached("UPDATE outbox SET attempts = ?, next_attempt_ms = ?, last_error = ? "
                  "WHERE key = ?"));
  st->Bind(1, int64_t{attempts}).Bind(2, Ms(next_attempt)).Bind(3, error).Bind(4, key);
  return st->Run();
}

absl::Status NotificationStore::MarkDead(const std::string& key, const std::string& error,
                                         absl::Time now) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("UPDATE outbox SET state = 2, done_ms = ?, last_error = ? "
                               "WHERE key = ?"));
  st->Bind(1, Ms(now)).Bind(2, error).Bind(3, key);
  return st->Run();
}

absl::StatusOr<bool> NotificationStore::Enqueue(const OutboxItem& it) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement * ins,
                   db_->Cached("INSERT OR IGNORE INTO outbox (key, scan_id, channel, recipients, "
                               "cc, subject, body, created_ms, next_attempt_ms) "
                               "VALUES (?,?,?,?,?,?,?,?,?)"));
  ins->Bind(1, it.key).Bind(2, it.scan_id).Bind(3, ChannelName(it.channel));
  ins->Bind(4, absl::StrJoin(it.to, ",")).Bind(5, absl::StrJoin(it.cc, ","));
  ins->Bind(6, it.subject).Bind(7, it.body).Bind(8, Ms(it.created)).Bind(9, Ms(it.next_attempt));
  RETURN_IF_ERROR(ins->Run());
  return db_->Changes() == 1;
}

absl::StatusOr<std::map<Channel, std::map<OutboxState, uint64_t>>>
NotificationStore::CountOutbox() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement * st,
      db_->Cached("SELECT channel, state, COUNT(*) FROM outbox GROUP BY channel, state"));
  std::map<Channel, std::map<OutboxState, uint64_t>> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    std::optional<Channel> channel = ParseChannel(st->Text(0));
    if (!channel) continue;
    out[*channel][static_cast<OutboxState>(st->Int(1))] = static_cast<uint64_t>(st->Int(2));
  }
  st->Reset();
  return out;
}

absl::StatusOr<std::map<Channel, absl::Time>> NotificationStore::OldestPendingOutbox() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT channel, MIN(created_ms) FROM outbox WHERE state = 0 "
                               "GROUP BY channel"));
  std::map<Channel, absl::Time> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    std::optional<Channel> channel = ParseChannel(st->Text(0));
    if (channel) out[*channel] = absl::FromUnixMillis(st->Int(1));
  }
  st->Reset();
  return out;
}

absl::StatusOr<std::vector<OutboxItem>> NotificationStore::ListOutbox(OutboxState state) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement st,
                   db_->Prepare("SELECT key, scan_id, channel, recipients, cc, subject, body, "
                                "attempts, last_error FROM outbox WHERE state = ? ORDER BY key"));
  st.Bind(1, int64_t{static_cast<int>(state)});
  std::vector<OutboxItem> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    OutboxItem it;
    it.key = st.Text(0);
    it.scan_id = st.Text(1);
    ASSIGN_OR_RETURN(it.channel, StoredChannel(it.key, st.Text(2)));
    it.to = SplitList(st.Text(3));
    it.cc = SplitList(st.Text(4));
    it.subject = st.Text(5);
    it.body = st.Text(6);
    it.attempts = static_cast<uint32_t>(st.Int(7));
    it.last_error = st.Text(8);
    out.push_back(std::move(it));
  }
  return out;
}

absl::Status NotificationStore::Acknowledge(const std::string& ip, uint32_t port, absl::Time until,
                                            const std::string& reason, v1::Transport transport) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("INSERT INTO acknowledgements (ip, port, until_ms, reason, "
                               "transport) VALUES (?,?,?,?,?) ON CONFLICT(ip, port, transport) "
                               "DO UPDATE SET until_ms = excluded.until_ms, "
                               "reason = excluded.reason"));
  st->Bind(1, ip).Bind(2, int64_t{port}).Bind(3, Ms(until)).Bind(4, reason);
  st->Bind(5, int64_t{transport});
  return st->Run();
}

absl::StatusOr<bool> NotificationStore::IsAcknowledged(const std::string& ip, uint32_t port,
                                                       absl::Time now, v1::Transport transport) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT 1 FROM acknowledgements WHERE ip = ? AND port = ? AND "
                               "transport = ? AND until_ms > ?"));
  st->Bind(1, ip).Bind(2, int64_t{port}).Bind(3, int64_t{transport}).Bind(4, Ms(now));
  ASSIGN_OR_RETURN(bool row, st->Step());
  st->Reset();
  return row;
}

}  // namespace goalkeeper
