#include "common/sqlite.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace goalkeeper {
namespace {

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(absl::StrCat("sqlite: ", what, ": ", sqlite3_errmsg(db)));
}

}  // namespace

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& o) noexcept {
  if (this != &o) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = o.db_;
    stmt_ = o.stmt_;
    o.stmt_ = nullptr;
  }
  return *this;
}

SqliteStatement::~SqliteStatement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

SqliteStatement& SqliteStatement::Bind(int index, int64_t v) {
  sqlite3_bind_int64(stmt_, index, v);
  return *this;
}
SqliteStatement& SqliteStatement::Bind(int index, double v) {
  sqlite3_bind_double(stmt_, index, v);
  return *this;
}
SqliteStatement& SqliteStatement::Bind(int index, absl::string_view v) {
  sqlite3_bind_text(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
SqliteStatement& SqliteStatement::BindBlob(int index, absl::string_view v) {
  sqlite3_bind_blob(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
SqliteStatement& SqliteStatement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

absl::StatusOr<bool> SqliteStatement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  absl::Status s = SqliteError(db_, sqlite3_sql(stmt_));
  sqlite3_reset(stmt_);
  return s;
}

absl::Status SqliteStatement::Run() {
  for (;;) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
  }
  Reset();
  return absl::OkStatus();
}

absl::Status SqliteStatement::ForEachRow(
    absl::FunctionRef<absl::Status(const SqliteStatement&)> row) {
  for (;;) {
    absl::StatusOr<bool> more = Step();
    absl::Status s = more.ok() ? absl::OkStatus() : more.status();
    if (s.ok() && *more) s = row(*this);
    if (!s.ok() || !*more) {
      Reset();
      return s;
    }
  }
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string SqliteStatement::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::OpenRaw(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return absl::UnavailableError(absl::StrCat("cannot open database '", path, "': ", msg));
  }
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw));
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, OpenRaw(path));
  absl::Status s =
      db->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
  if (!s.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot use database '", path, "': ", s.message()));
  }
  return db;
}

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path,
                                                         const SqliteSchema& schema) {
  // Checked before anything is written (journal_mode=WAL would change a
  // foreign file).
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, OpenRaw(path));
  RETURN_IF_ERROR(db->Migrate(path, schema));
  db.reset();
  return Open(path);
}

absl::StatusOr<int64_t> SqliteDb::PragmaInt(absl::string_view pragma) {
  ASSIGN_OR_RETURN(SqliteStatement st, Prepare(absl::StrCat("PRAGMA ", pragma)));
  ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.Int(0) : 0;
}

absl::Status SqliteDb::Migrate(const std::string& path, const SqliteSchema& schema) {
  auto refuse = [&](absl::string_view why) {
    return absl::FailedPreconditionError(absl::StrCat("database '", path, "' ", why));
  };
  absl::StatusOr<int64_t> id = PragmaInt("application_id");
  if (!id.ok()) return refuse(absl::StrCat("cannot be read: ", id.status().message()));
  ASSIGN_OR_RETURN(int64_t version, PragmaInt("user_version"));
  const int64_t latest = static_cast<int64_t>(schema.migrations.size());
  if (*id != 0 && *id != schema.application_id) {
    return refuse(absl::StrFormat(
        "belongs to another application (application_id 0x%08x, not the goalkeeper %s's "
        "0x%08x); refusing to use it",
        static_cast<uint32_t>(*id), schema.kind, static_cast<uint32_t>(schema.application_id)));
  }
  if (*id == 0) {
    // Unmarked: empty, or an earlier Goalkeeper's (only our tables).
    ASSIGN_OR_RETURN(SqliteStatement st,
                     Prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                             "name NOT LIKE 'sqlite_%' ORDER BY name"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      const std::string table = st.Text(0);
      if (std::find(schema.tables.begin(), schema.tables.end(), table) == schema.tables.end()) {
        return refuse(absl::StrCat("holds table '", table, "', which is not the goalkeeper ",
                                   schema.kind,
                                   "'s (another application's file?); refusing "
                                   "to use it"));
      }
    }
    version = 0;  // adopted: migration 1 creates what is missing
  }
  if (version > latest) {
    return refuse(absl::StrCat("has schema version ", version, ", newer than this goalkeeper ",
                               schema.kind, "'s ", latest, "; upgrade goalkeeper"));
  }
  if (*id == schema.application_id && version == latest) return absl::OkStatus();
  SqliteTransaction txn(*this);
  RETURN_IF_ERROR(txn.begin_status());
  for (int64_t v = version; v < latest; ++v) {
    if (absl::Status s = Exec(schema.migrations[static_cast<size_t>(v)]); !s.ok()) {
      return refuse(
          absl::StrCat("cannot be migrated to schema version ", v + 1, ": ", s.message()));
    }
  }
  RETURN_IF_ERROR(Exec(absl::StrCat("PRAGMA application_id = ", schema.application_id,
                                    "; PRAGMA user_version = ", latest)));
  return txn.Commit();
}

SqliteDb::~SqliteDb() {
  cache_.clear();  // finalize statements before closing
  sqlite3_close_v2(db_);
}

absl::Status SqliteDb::Exec(absl::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    absl::Status s = absl::InternalError(absl::StrCat("sqlite: ", err != nullptr ? err : "error"));
    sqlite3_free(err);
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<SqliteStatement> SqliteDb::Prepare(absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    return SqliteError(db_, absl::StrCat("prepare '", sql, "'"));
  }
  return SqliteStatement(db_, stmt);
}

absl::StatusOr<SqliteStatement*> SqliteDb::Cached(absl::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    absl::StatusOr<SqliteStatement> st = Prepare(sql);
    if (!st.ok()) return st.status();
    it = cache_.emplace(std::string(sql), std::make_unique<SqliteStatement>(*std::move(st))).first;
  }
  it->second->Reset();
  return it->second.get();
}

SqliteTransaction::SqliteTransaction(SqliteDb& db) : db_(db), begin_(db.Exec("BEGIN IMMEDIATE")) {}

SqliteTransaction::~SqliteTransaction() {
  if (!done_ && begin_.ok()) db_.Exec("ROLLBACK").IgnoreError();
}

absl::Status SqliteTransaction::Commit() {
  if (!begin_.ok()) return begin_;
  done_ = true;
  return db_.Exec("COMMIT");
}

}  // namespace goalkeeper
