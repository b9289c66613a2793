// The audit trail, gRPC-free: who changed what (scans started and cancelled,
// workers registered, exposures acknowledged) and every refusal, one entry
// each, newest first in keyset pages.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<SqliteAuditLog> log,
//                    SqliteAuditLog::Open(path, CoordinatorSchema()));
//   Auditor audit(*log, clock, "coordinator");
//   audit.Record({.identity = caller.identity, .role = "operator",
//                 .method = "/goalkeeper.v1.Coordinator/StartScan", .target = scan_id});
//   audit.RecordDenied("spiffe://goalkeeper/viewer", "/goalkeeper.v1.Coordinator/StartScan",
//                      absl::StatusCode::kPermissionDenied, "needs role operator");
//
// Storage: table `audit` in a component's own database (kAuditSchemaSql is
// one migration of the coordinator's and of the notifier's schema). SQLite
// triggers refuse UPDATE and DELETE and an INSERT that reuses an id, so the
// application (and anyone using the sqlite3 shell without dropping the
// triggers first) can only append. It is not tamper-proof against someone
// who may write the file: ship the log lines elsewhere for that.
//
// Floods: a refusal (code != OK) is folded into the previous entry's window
// when an identical one (same identity, method and code) was written less
// than a second ago; the folded calls are counted and written as one entry
// with `repeated` when the window closes (the next such refusal after it, or
// Flush()). So a client hammering a refused call writes at most one entry
// per second, and no refusal goes uncounted. Changes (code OK) are never
// folded.
//
// Log: every entry written is also one line on the component's logger:
//   audit: id=7 identity=spiffe://goalkeeper/admin role=admin
//          method=/goalkeeper.v1.Notifier/Acknowledge code=OK target=10.0.0.5:5432
//
// Thread-safety: SqliteAuditLog and Auditor are thread-safe (a mutex each).
#ifndef GOALKEEPER_COMMON_AUDIT_LOG_H_
#define GOALKEEPER_COMMON_AUDIT_LOG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/sqlite.h"

namespace goalkeeper {

struct AuditEntry {
  int64_t id = 0;  // assigned by Append (increasing)
  int64_t at_unix_ms = 0;
  std::string identity;
  std::string role;    // "" when not known (a refusal before the role was resolved)
  std::string method;  // "/goalkeeper.v1.Coordinator/StartScan"
  int code = 0;        // absl::StatusCode == grpc::StatusCode numbers
  std::string target;  // scan id, worker id, IP:PORT
  std::string detail_json = "{}";
  uint32_t repeated = 0;  // identical refusals folded in (see the file comment)

  friend bool operator==(const AuditEntry&, const AuditEntry&) = default;
};

// Bounds of a query (beyond them InvalidArgument naming the field).
inline constexpr uint32_t kAuditDefaultLimit = 50;
inline constexpr uint32_t kAuditMaxLimit = 1000;
inline constexpr size_t kAuditMaxFilterBytes = 1024;  // identity, method
inline constexpr size_t kAuditMaxTokenBytes = 256;

struct AuditFilter {
  int64_t since_unix_ms = 0;  // entries at or after; 0 = all
  std::string identity;       // exact; "" = all
  std::string method;         // full "/pkg.Service/Method" or "Method"; "" = all
  uint32_t limit = 0;         // 0 = kAuditDefaultLimit
  std::string page_token;     // from the previous page; "" = the newest
};

struct AuditPage {
  std::vector<AuditEntry> entries;  // newest first
  std::string next_page_token;      // "" = no more
};

// Where entries go. Implementations: SqliteAuditLog; tests' FakeAuditLog.
class AuditLog {
 public:
  virtual ~AuditLog() = default;
  // Stores the entry (its id is ignored) and returns its id.
  virtual absl::StatusOr<int64_t> Append(const AuditEntry& entry) = 0;
  // One page; InvalidArgument names the field out of bounds or a bad token.
  virtual absl::StatusOr<AuditPage> List(const AuditFilter& filter) = 0;
};

// Checks a filter's bounds and decodes its page token: the id the page
// starts below (INT64_MAX for the first page). InvalidArgument names the
// field: "limit: 5000 is more than 1000", "page_token: not a token this
// server issued", "page_token: issued for another since/identity/method".
absl::StatusOr<int64_t> CheckAuditFilter(const AuditFilter& filter);
// The token of the page after one ending with entry `last_id`.
std::string AuditPageToken(const AuditFilter& filter, int64_t last_id);
// Whether `method` (a full method name) matches a filter's method.
bool AuditMethodMatches(absl::string_view method, absl::string_view filter);

// The migration that adds the `audit` table with its triggers to a schema.
// Frozen: a change is a new migration.
extern const char kAuditSchemaSql[];

class SqliteAuditLog final : public AuditLog {
 public:
  // A connection of its own to the database at `path`, whose schema (the
  // component's; it must contain kAuditSchemaSql) is checked and migrated.
  static absl::StatusOr<std::unique_ptr<SqliteAuditLog>> Open(const std::string& path,
                                                              const SqliteSchema& schema);
  SqliteAuditLog(const SqliteAuditLog&) = delete;
  SqliteAuditLog& operator=(const SqliteAuditLog&) = delete;

  // UNAVAILABLE naming the file when the write fails.
  absl::StatusOr<int64_t> Append(const AuditEntry& entry) override;
  absl::StatusOr<AuditPage> List(const AuditFilter& filter) override;

 private:
  SqliteAuditLog(std::unique_ptr<SqliteDb> db, std::string path)
      : db_(std::move(db)), path_(std::move(path)) {}
  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  const std::string path_;
};

// Records entries into an AuditLog: the time from the clock, the flood
// bound, one log line each. A failed write is logged (never fails the call
// being audited: what it records has happened) and counted.
class Auditor {
 public:
  // Keys (identity, method, code) tracked for the flood bound; beyond this
  // many, refusals of new keys are written unfolded.
  static constexpr size_t kMaxFloodKeys = 4096;

  Auditor(AuditLog& log, const Clock& clock, std::string logger);
  Auditor(const Auditor&) = delete;
  Auditor& operator=(const Auditor&) = delete;

  // Records one call; at_unix_ms is set from the clock when 0. A refusal
  // (code != 0) is subject to the flood bound.
  void Record(AuditEntry entry);
  // A call refused before its handler ran (the authorization gate's
  // DeniedCall callback) or by the handler: Record with role "" and
  // detail {"message": message}.
  void RecordDenied(const std::string& identity, const std::string& method, absl::StatusCode code,
                    const std::string& message);
  // Writes the folded refusals whose window has closed (all of them with
  // `all`, at shutdown). Call about once a second.
  void Flush(bool all = false);
  // Flushes, then reads a page (what ListAudit serves).
  absl::StatusOr<AuditPage> List(const AuditFilter& filter);

  uint64_t write_failures();

 private:
  using Key = std::tuple<std::string, std::string, int>;
  struct Window {
    int64_t open_until_ms = 0;  // refusals before this are folded
    uint32_t folded = 0;
    AuditEntry newest;  // the newest folded refusal
  };
  void Write(const AuditEntry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes closed windows' folded refusals (all with `all`), except `skip`'s.
  void FlushLocked(int64_t now_ms, bool all, const Key* skip) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  AuditLog& log_;
  const Clock& clock_;
  const std::string logger_;
  absl::Mutex mu_;
  std::map<Key, Window> windows_ ABSL_GUARDED_BY(mu_);
  uint64_t write_failures_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_AUDIT_LOG_H_
