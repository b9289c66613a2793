#include "node/spool.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace goalkeeper::node {
namespace {

const SqliteSchema& SpoolSchema() {
  static const SqliteSchema* schema = new SqliteSchema{0x474B5331,  // "GKS1"
                                                       "node spool",
                                                       {"records", "spool_meta", "spool_state"},
                                                       {R"sql(
        CREATE TABLE IF NOT EXISTS records (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          data BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS spool_meta (
          k TEXT PRIMARY KEY,
          v INTEGER NOT NULL);
        INSERT OR IGNORE INTO spool_meta (k, v) VALUES ('last_batch_seq', 0);
      )sql",
                                                        // v2: the epoch, a batch seq per
                                                        // key ('seq:KEY' rows), states.
                                                        R"sql(
        CREATE TABLE IF NOT EXISTS spool_state (
          k TEXT PRIMARY KEY,
          v BLOB NOT NULL);
        INSERT OR IGNORE INTO spool_meta (k, v)
          VALUES ('epoch', (random() & 9223372036854775807) | 1);
      )sql"}};
  return *schema;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Spool>> Spool::Open(const SpoolOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("spool: no path given");
  if (options.max_records <= 0 || options.max_bytes <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("spool '", options.path, "': max_records (",
                                                   options.max_records, ") and max_bytes (",
                                                   options.max_bytes, ") must be positive"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(options.path, SpoolSchema()));
  // An Append that returned is on disk: fsync the WAL at every commit.
  RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=FULL"));
  std::unique_ptr<Spool> spool(new Spool(options, std::move(db)));
  {
    ASSIGN_OR_RETURN(SqliteStatement st,
                     spool->db_->Prepare("SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) "
                                         "FROM records"));
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      spool->records_ = st.Int(0);
      spool->bytes_ = st.Int(1);
    }
  }
  {
    ASSIGN_OR_RETURN(SqliteStatement st,
                     spool->db_->Prepare("SELECT v FROM spool_meta WHERE k = 'last_batch_seq'"));
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) spool->last_batch_seq_ = st.Int(0);
  }
  {
    ASSIGN_OR_RETURN(SqliteStatement st,
                     spool->db_->Prepare("SELECT v FROM spool_meta WHERE k = 'epoch'"));
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      return absl::FailedPreconditionError(
          absl::StrCat("spool '", options.path, "' has no epoch (damaged spool_meta)"));
    }
    spool->epoch_ = static_cast<uint64_t>(st.Int(0));
  }
  return spool;
}

absl::Status Spool::CheckRoom(int64_t add_records, int64_t add_bytes) const {
  if (records_ + add_records > options_.max_records || bytes_ + add_bytes > options_.max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "spool '", options_.path, "' is full: ", records_, " records of ", bytes_,
        " bytes unacknowledged (limits ", options_.max_records, " records, ", options_.max_bytes,
        " bytes); cannot add ", add_records, " of ", add_bytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Spool::Insert(absl::string_view record) {
  ASSIGN_OR_RETURN(SqliteStatement * st, db_->Cached("INSERT INTO records (data) VALUES (?)"));
  st->BindBlob(1, record);
  RETURN_IF_ERROR(st->Run());
  return sqlite3_last_insert_rowid(db_->handle());
}

absl::StatusOr<int64_t> Spool::Append(absl::string_view record) {
  RETURN_IF_ERROR(CheckRoom(1, static_cast<int64_t>(record.size())));
  ASSIGN_OR_RETURN(int64_t id, Insert(record));
  ++records_;
  bytes_ += static_cast<int64_t>(record.size());
  return id;
}

absl::StatusOr<std::vector<int64_t>> Spool::InsertAll(const std::vector<std::string>& records,
                                                      const std::function<absl::Status()>& also) {
  int64_t add_bytes = 0;
  for (const std::string& r : records) add_bytes += static_cast<int64_t>(r.size());
  RETURN_IF_ERROR(CheckRoom(static_cast<int64_t>(records.size()), add_bytes));
  std::vector<int64_t> ids;
  SqliteTransaction tx(*db_);
  RETURN_IF_ERROR(tx.begin_status());
  for (const std::string& r : records) {
    ASSIGN_OR_RETURN(int64_t id, Insert(r));
    ids.push_back(id);
  }
  RETURN_IF_ERROR(also());
  RETURN_IF_ERROR(tx.Commit());
  records_ += static_cast<int64_t>(records.size());
  bytes_ += add_bytes;
  return ids;
}

absl::StatusOr<std::vector<int64_t>> Spool::AppendBatch(const std::vector<std::string>& records,
                                                        int64_t batch_seq) {
  if (batch_seq <= last_batch_seq_) return std::vector<int64_t>{};
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, InsertAll(records, [&]() -> absl::Status {
                     ASSIGN_OR_RETURN(SqliteStatement * st,
                                      db_->Cached("UPDATE spool_meta SET v = ? "
                                                  "WHERE k = 'last_batch_seq'"));
                     st->Bind(1, batch_seq);
                     return st->Run();
                   }));
  last_batch_seq_ = batch_seq;
  return ids;
}

absl::StatusOr<int64_t> Spool::LastBatchSeq(absl::string_view key) {
  if (key.empty()) return last_batch_seq_;
  ASSIGN_OR_RETURN(SqliteStatement * st, db_->Cached("SELECT v FROM spool_meta WHERE k = ?"));
  st->Bind(1, absl::StrCat("seq:", key));
  int64_t seq = 0;
  RETURN_IF_ERROR(st->ForEachRow([&](const SqliteStatement& r) -> absl::Status {
    seq = r.Int(0);
    return absl::OkStatus();
  }));
  return seq;
}

absl::Status Spool::SetBatchSeq(absl::string_view key, int64_t batch_seq) {
  if (key.empty()) {
    ASSIGN_OR_RETURN(SqliteStatement * st,
                     db_->Cached("UPDATE spool_meta SET v = ? WHERE k = 'last_batch_seq'"));
    st->Bind(1, batch_seq);
    RETURN_IF_ERROR(st->Run());
    last_batch_seq_ = batch_seq;
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("INSERT INTO spool_meta (k, v) VALUES (?, ?) "
                               "ON CONFLICT(k) DO UPDATE SET v = excluded.v"));
  st->Bind(1, absl::StrCat("seq:", key));
  st->Bind(2, batch_seq);
  return st->Run();
}

absl::StatusOr<std::vector<int64_t>> Spool::AppendBatch(const std::vector<std::string>& records,
                                                        int64_t batch_seq, absl::string_view key) {
  if (key.empty()) return AppendBatch(records, batch_seq);
  ASSIGN_OR_RETURN(int64_t last, LastBatchSeq(key));
  if (batch_seq <= last) return std::vector<int64_t>{};
  return InsertAll(records, [&] { return SetBatchSeq(key, batch_seq); });
}

absl::StatusOr<std::vector<int64_t>> Spool::AppendWithState(const std::vector<std::string>& records,
                                                            absl::string_view key,
                                                            absl::string_view state) {
  return InsertAll(records, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(SqliteStatement * st,
                     db_->Cached("INSERT INTO spool_state (k, v) VALUES (?, ?) "
                                 "ON CONFLICT(k) DO UPDATE SET v = excluded.v"));
    st->Bind(1, key);
    st->BindBlob(2, state);
    return st->Run();
  });
}

absl::StatusOr<std::optional<std::string>> Spool::State(absl::string_view key) {
  ASSIGN_OR_RETURN(SqliteStatement * st, db_->Cached("SELECT v FROM spool_state WHERE k = ?"));
  st->Bind(1, key);
  std::optional<std::string> out;
  RETURN_IF_ERROR(st->ForEachRow([&](const SqliteStatement& r) -> absl::Status {
    out = r.Text(0);
    return absl::OkStatus();
  }));
  return out;
}

absl::Status Spool::Ack(int64_t id) {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("DELETE FROM records WHERE id = ? RETURNING LENGTH(data)"));
  st->Bind(1, id);
  ASSIGN_OR_RETURN(bool row, st->Step());
  int64_t len = 0;
  if (row) len = st->Int(0);
  // Finish the statement so that the delete commits.
  for (bool more = row; more;) {
    ASSIGN_OR_RETURN(more, st->Step());
  }
  st->Reset();
  if (row) {
    --records_;
    bytes_ -= len;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SpoolRecord>> Spool::Pending(size_t limit, int64_t after_id) {
  ASSIGN_OR_RETURN(SqliteStatement * st,
                   db_->Cached("SELECT id, data FROM records WHERE id > ? ORDER BY id LIMIT ?"));
  st->Bind(1, after_id);
  st->Bind(2, limit == 0 ? int64_t{-1} : static_cast<int64_t>(limit));
  std::vector<SpoolRecord> out;
  RETURN_IF_ERROR(st->ForEachRow([&](const SqliteStatement& r) -> absl::Status {
    out.push_back({r.Int(0), r.Text(1)});
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace goalkeeper::node
