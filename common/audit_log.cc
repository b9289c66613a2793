#include "common/audit_log.h"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace goalkeeper {

const char kAuditSchemaSql[] = R"sql(
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY,
  at_unix_ms INTEGER NOT NULL,
  identity TEXT NOT NULL,
  role TEXT NOT NULL,
  method TEXT NOT NULL,
  code INTEGER NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL,
  repeated INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS audit_by_identity ON audit (identity, id);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at_unix_ms);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: DELETE refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_reuse BEFORE INSERT ON audit
WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: an id is never reused'); END;
)sql";

namespace {

constexpr char kTokenVersion[] = "a1";
constexpr size_t kMaxMessageBytes = 1024;

// FNV-1a, 64 bits: stable across processes and builds (a token issued before
// a restart stays valid), unlike absl::Hash.
uint64_t Fnv1a(absl::string_view bytes, uint64_t h = 1469598103934665603ull) {
  for (char ch : bytes) {
    h ^= static_cast<unsigned char>(ch);
    h *= 1099511628211ull;
  }
  return h;
}

std::string FilterFingerprint(const AuditFilter& f) {
  uint64_t h = Fnv1a(absl::StrCat(f.since_unix_ms));
  h = Fnv1a("\x1f", h);
  h = Fnv1a(f.identity, h);
  h = Fnv1a("\x1f", h);
  h = Fnv1a(f.method, h);
  return absl::StrCat(absl::Hex(h, absl::kZeroPad16));
}

absl::Status TooLong(absl::string_view field, size_t size, size_t max) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", size, " bytes (at most ", max, ")"));
}

// A log field: as is when it is plain, else quoted with C escapes.
std::string LogValue(absl::string_view v) {
  if (v.empty()) return "\"\"";
  for (char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= ' ' || c == '"' || c == '\\' || c == '=' || c >= 0x7f) {
      return absl::StrCat("\"", absl::CEscape(v), "\"");
    }
  }
  return std::string(v);
}

}  // namespace

absl::StatusOr<int64_t> CheckAuditFilter(const AuditFilter& filter) {
  if (filter.since_unix_ms < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("since_unix_ms: ", filter.since_unix_ms, " is negative"));
  }
  if (filter.limit > kAuditMaxLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: ", filter.limit, " is more than ", kAuditMaxLimit));
  }
  if (filter.identity.size() > kAuditMaxFilterBytes) {
    return TooLong("identity", filter.identity.size(), kAuditMaxFilterBytes);
  }
  if (filter.method.size() > kAuditMaxFilterBytes) {
    return TooLong("method", filter.method.size(), kAuditMaxFilterBytes);
  }
  if (filter.page_token.empty()) return std::numeric_limits<int64_t>::max();
  if (filter.page_token.size() > kAuditMaxTokenBytes) {
    return TooLong("page_token", filter.page_token.size(), kAuditMaxTokenBytes);
  }
  const absl::Status bad = absl::InvalidArgumentError("page_token: not a token this server issued");
  std::string raw;
  if (!absl::WebSafeBase64Unescape(filter.page_token, &raw)) return bad;
  std::vector<absl::string_view> parts = absl::StrSplit(raw, ':');
  int64_t before = 0;
  if (parts.size() != 3 || parts[0] != kTokenVersion || !absl::SimpleAtoi(parts[1], &before) ||
      before <= 0) {
    return bad;
  }
  if (parts[2] != FilterFingerprint(filter)) {
    return absl::InvalidArgumentError(
        "page_token: issued for another since_unix_ms/identity/method");
  }
  return before;
}

std::string AuditPageToken(const AuditFilter& filter, int64_t last_id) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(kTokenVersion, ":", last_id, ":", FilterFingerprint(filter)));
}

bool AuditMethodMatches(absl::string_view method, absl::string_view filter) {
  if (filter.empty() || method == filter) return true;
  if (filter.find('/') != absl::string_view::npos) return false;
  return method.size() > filter.size() && method.substr(method.size() - filter.size()) == filter &&
         method[method.size() - filter.size() - 1] == '/';
}

absl::StatusOr<std::unique_ptr<SqliteAuditLog>> SqliteAuditLog::Open(const std::string& path,
                                                                     const SqliteSchema& schema) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path, schema));
  return std::unique_ptr<SqliteAuditLog>(new SqliteAuditLog(std::move(db), path));
}

absl::StatusOr<int64_t> SqliteAuditLog::Append(const AuditEntry& e) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<SqliteStatement*> st = db_->Cached(
      "INSERT INTO audit (at_unix_ms, identity, role, method, code, target, detail, repeated) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  absl::Status s = st.status();
  if (s.ok()) {
    (*st)
        ->Bind(1, e.at_unix_ms)
        .Bind(2, e.identity)
        .Bind(3, e.role)
        .Bind(4, e.method)
        .Bind(5, static_cast<int64_t>(e.code))
        .Bind(6, e.target)
        .Bind(7, e.detail_json)
        .Bind(8, static_cast<int64_t>(e.repeated));
    s = (*st)->Run();
  }
  if (!s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("audit log ", path_, ": cannot append: ", s.message()));
  }
  return sqlite3_last_insert_rowid(db_->handle());
}

absl::StatusOr<AuditPage> SqliteAuditLog::List(const AuditFilter& filter) {
  ASSIGN_OR_RETURN(const int64_t before, CheckAuditFilter(filter));
  const uint32_t limit = filter.limit == 0 ? kAuditDefaultLimit : filter.limit;
  absl::MutexLock lock(&mu_);
  // The method: exact, or its last path part ("StartScan" matches
  // "/goalkeeper.v1.Coordinator/StartScan"); substr keeps it free of LIKE
  // and GLOB metacharacters.
  ASSIGN_OR_RETURN(
      SqliteStatement * st,
      db_->Cached("SELECT id, at_unix_ms, identity, role, method, code, target, detail, repeated "
                  "FROM audit WHERE id < ?1 AND at_unix_ms >= ?2 AND (?3 = '' OR identity = ?3) "
                  "AND (?4 = '' OR method = ?4 OR (instr(?4, '/') = 0 AND "
                  "substr(method, -length(?4) - 1) = '/' || ?4)) "
                  "ORDER BY id DESC LIMIT ?5"));
  st->Bind(1, before)
      .Bind(2, filter.since_unix_ms)
      .Bind(3, filter.identity)
      .Bind(4, filter.method)
      .Bind(5, static_cast<int64_t>(limit) + 1);
  AuditPage page;
  RETURN_IF_ERROR(st->ForEachRow([&](const SqliteStatement& r) {
    AuditEntry& e = page.entries.emplace_back();
    e.id = r.Int(0);
    e.at_unix_ms = r.Int(1);
    e.identity = r.Text(2);
    e.role = r.Text(3);
    e.method = r.Text(4);
    e.code = static_cast<int>(r.Int(5));
    e.target = r.Text(6);
    e.detail_json = r.Text(7);
    e.repeated = static_cast<uint32_t>(r.Int(8));
    return absl::OkStatus();
  }));
  if (page.entries.size() > limit) {
    page.entries.pop_back();
    page.next_page_token = AuditPageToken(filter, page.entries.back().id);
  }
  return page;
}

Auditor::Auditor(AuditLog& log, const Clock& clock, std::string logger)
    : log_(log), clock_(clock), logger_(std::move(logger)) {}

void Auditor::Record(AuditEntry entry) {
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  if (entry.at_unix_ms == 0) entry.at_unix_ms = now_ms;
  absl::MutexLock lock(&mu_);
  Key key{entry.identity, entry.method, entry.code};
  // Other keys' closed windows first; this key's folded refusals, if its
  // window has closed, ride on this entry (below).
  FlushLocked(now_ms, false, entry.code == 0 ? nullptr : &key);
  if (entry.code == 0) {
    Write(entry);
    return;
  }
  auto it = windows_.find(key);
  if (it == windows_.end()) {
    if (windows_.size() >= kMaxFloodKeys) {
      Write(entry);  // too many distinct refusals to track: each is written
      return;
    }
    it = windows_.emplace(std::move(key), Window{}).first;
  }
  Window& w = it->second;
  if (entry.at_unix_ms < w.open_until_ms) {
    ++w.folded;
    w.newest = std::move(entry);
    return;
  }
  entry.repeated = w.folded;  // earlier ones of a closed window not flushed yet
  w.folded = 0;
  w.open_until_ms = entry.at_unix_ms + 1000;
  Write(entry);
}

void Auditor::RecordDenied(const std::string& identity, const std::string& method,
                           absl::StatusCode code, const std::string& message) {
  AuditEntry e;
  e.identity = identity;
  e.method = method;
  e.code = static_cast<int>(code);
  nlohmann::json detail = {{"message", message.substr(0, kMaxMessageBytes)}};
  e.detail_json = detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  Record(std::move(e));
}

void Auditor::Flush(bool all) {
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  absl::MutexLock lock(&mu_);
  FlushLocked(now_ms, all, nullptr);
}

void Auditor::FlushLocked(int64_t now_ms, bool all, const Key* skip) {
  for (auto it = windows_.begin(); it != windows_.end();) {
    if (skip != nullptr && it->first == *skip) {
      ++it;
      continue;
    }
    Window& w = it->second;
    if (w.folded > 0 && (all || now_ms >= w.open_until_ms)) {
      AuditEntry e = std::move(w.newest);
      e.repeated = w.folded - 1;
      w.folded = 0;
      w.open_until_ms = now_ms + 1000;  // still at most one entry a second
      Write(e);
    }
    if (w.folded == 0 && now_ms >= w.open_until_ms) {
      it = windows_.erase(it);
    } else {
      ++it;
    }
  }
}

absl::StatusOr<AuditPage> Auditor::List(const AuditFilter& filter) {
  Flush();
  return log_.List(filter);
}

uint64_t Auditor::write_failures() {
  absl::MutexLock lock(&mu_);
  return write_failures_;
}

void Auditor::Write(const AuditEntry& entry) {
  auto log = MakeLogger(logger_);
  absl::StatusOr<int64_t> id = log_.Append(entry);
  const std::string repeated = entry.repeated > 0 ? absl::StrCat(" repeated=", entry.repeated) : "";
  const std::string code = absl::StatusCodeToString(static_cast<absl::StatusCode>(entry.code));
  if (!id.ok()) {
    ++write_failures_;
    log->error("audit: NOT STORED ({}) identity={} role={} method={} code={} target={}{}",
               id.status().message(), LogValue(entry.identity), LogValue(entry.role),
               LogValue(entry.method), code, LogValue(entry.target), repeated);
    return;
  }
  log->info("audit: id={} identity={} role={} method={} code={} target={}{}", *id,
            LogValue(entry.identity), LogValue(entry.role), LogValue(entry.method), code,
            LogValue(entry.target), repeated);
}

}  // namespace goalkeeper
