// A thin RAII layer over the SQLite C API: a connection opened in WAL mode,
// prepared statements with typed binds, and transactions.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
//   RETURN_IF_ERROR(db->Exec("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY)"));
//   ASSIGN_OR_RETURN(SqliteStatement st, db->Prepare("INSERT INTO t VALUES (?)"));
//   st.Bind(1, "key");
//   RETURN_IF_ERROR(st.Run());
//
// Durability: WAL with synchronous=NORMAL. A committed transaction survives
// the process being killed (-9); the last transactions before a power loss
// may be lost (SQLite's documented NORMAL trade-off).
//
// Schemas: SqliteDb::Open(path, schema) marks a database as ours (PRAGMA
// application_id, one id per kind of database) and numbers its schema (PRAGMA
// user_version), running the missing migrations in order in one transaction.
// It refuses a file of another application (another application_id, or an
// unmarked file holding tables that are not ours) and a schema newer than
// this build knows, naming the file; an unmarked database of an earlier
// Goalkeeper (our tables, id 0) is adopted and migrated.
//
// Thread-safety: a SqliteDb and its statements are used by one thread at a
// time (the owner serializes with its own mutex).
#ifndef GOALKEEPER_COMMON_SQLITE_H_
#define GOALKEEPER_COMMON_SQLITE_H_

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace goalkeeper {

class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  SqliteStatement(SqliteStatement&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  SqliteStatement& operator=(SqliteStatement&& o) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  ~SqliteStatement();

  // Binds are 1-based, as in SQLite.
  SqliteStatement& Bind(int index, int64_t v);
  SqliteStatement& Bind(int index, double v);
  SqliteStatement& Bind(int index, absl::string_view v);
  SqliteStatement& BindBlob(int index, absl::string_view v);
  SqliteStatement& BindNull(int index);

  // Steps once: true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Steps to completion (for statements returning no rows) and resets.
  absl::Status Run();
  // Calls `row` on every row, then resets; the first error (a failed step or
  // one `row` returns) ends the loop and is returned, after the reset.
  //   RETURN_IF_ERROR(st->ForEachRow([&](const SqliteStatement& r) {
  //     ids.push_back(r.Int(0));
  //     return absl::OkStatus();
  //   }));
  absl::Status ForEachRow(absl::FunctionRef<absl::Status(const SqliteStatement&)> row);
  void Reset();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) const;
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// What a kind of database looks like, for SqliteDb::Open(path, schema).
//
//   SqliteSchema s{0x474B4331, "coordinator", {"scans", "shards"}, {kV1, kV2}};
struct SqliteSchema {
  int32_t application_id = 0;  // PRAGMA application_id of this kind
  std::string kind;            // for errors: "coordinator"
  // Every table any version has created: an unmarked database holding only
  // these is an earlier Goalkeeper's, adopted rather than refused.
  std::vector<std::string> tables;
  // migrations[i] takes the schema from version i to i + 1 (version 0 is an
  // empty or unmarked database, so migrations[0] uses IF NOT EXISTS).
  std::vector<std::string> migrations;
};

class SqliteDb {
 public:
  // Opens (creating) the database file in WAL mode with a busy timeout.
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path);
  // The same, checking and migrating the schema first (see the file comment).
  // FailedPrecondition names the file for a foreign or newer database:
  // "database 'x.db' belongs to another application (application_id
  // 0x12345678, not the goalkeeper coordinator's 0x474b4331)".
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path,
                                                        const SqliteSchema& schema);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  absl::Status Exec(absl::string_view sql);
  absl::StatusOr<SqliteStatement> Prepare(absl::string_view sql);
  // A statement prepared once per connection and reset for reuse.
  absl::StatusOr<SqliteStatement*> Cached(absl::string_view sql);
  int64_t Changes() const { return sqlite3_changes64(db_); }
  // Whether a transaction is open (SQLite may roll one back by itself after
  // an I/O error or a full disk).
  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }
  // The primary result code of the last failed call (SQLITE_FULL, ...).
  int LastErrorCode() const { return sqlite3_errcode(db_) & 0xff; }
  sqlite3* handle() { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  static absl::StatusOr<std::unique_ptr<SqliteDb>> OpenRaw(const std::string& path);
  absl::StatusOr<int64_t> PragmaInt(absl::string_view pragma);
  absl::Status Migrate(const std::string& path, const SqliteSchema& schema);
  sqlite3* db_;
  std::map<std::string, std::unique_ptr<SqliteStatement>, std::less<>> cache_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless Commit().
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDb& db);
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  const absl::Status& begin_status() const { return begin_; }
  absl::Status Commit();

 private:
  SqliteDb& db_;
  absl::Status begin_;
  bool done_ = false;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_SQLITE_H_
