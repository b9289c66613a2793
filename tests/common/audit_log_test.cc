// The audit trail's store and recorder: SqliteAuditLog on real database
// files (pages, filters, bounds, the triggers that keep it append-only) and
// the Auditor's flood bound and log lines with a fake clock and log.
#include "common/audit_log.h"

#include <unistd.h>

#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"
#include "tests/testing/fake_audit_log.h"

namespace goalkeeper {
namespace {

using ::goalkeeper::testing::FakeAuditLog;
using ::testing::HasSubstr;

// A component's schema with the audit table as its second version.
const SqliteSchema& TestSchema() {
  static const SqliteSchema* schema =
      new SqliteSchema{0x474B5431,
                       "test",
                       {"things", "audit"},
                       {"CREATE TABLE IF NOT EXISTS things (k TEXT PRIMARY KEY)", kAuditSchemaSql}};
  return *schema;
}

std::string TempDb(const std::string& name) {
  std::string path = ::testing::TempDir() + "/audit-" + std::to_string(getpid()) + "-" + name +
                     "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((path + suffix).c_str());
  return path;
}

AuditEntry Entry(int64_t at_ms, const std::string& identity, const std::string& method,
                 int code = 0, const std::string& target = "t") {
  AuditEntry e;
  e.at_unix_ms = at_ms;
  e.identity = identity;
  e.role = "operator";
  e.method = method;
  e.code = code;
  e.target = target;
  e.detail_json = R"({"k":"v"})";
  return e;
}

// A filter (designated initializers would leave GCC warning of the others).
AuditFilter Q(std::string identity = "", std::string method = "", int64_t since = 0,
              uint32_t limit = 0, std::string token = "") {
  AuditFilter f;
  f.identity = std::move(identity);
  f.method = std::move(method);
  f.since_unix_ms = since;
  f.limit = limit;
  f.page_token = std::move(token);
  return f;
}

constexpr char kStart[] = "/goalkeeper.v1.Coordinator/StartScan";
constexpr char kCancel[] = "/goalkeeper.v1.Coordinator/CancelScan";

class SqliteAuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = TempDb("sqlite");
    auto log = SqliteAuditLog::Open(path_, TestSchema());
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
  }
  std::string path_;
  std::unique_ptr<SqliteAuditLog> log_;
};

TEST_F(SqliteAuditLogTest, AppendsAndReadsBackEveryFieldNewestFirst) {
  AuditEntry a = Entry(1000, "spiffe://goalkeeper/operator", kStart, 0, "scan-1");
  a.repeated = 3;
  auto id_a = log_->Append(a);
  ASSERT_TRUE(id_a.ok()) << id_a.status();
  auto id_b = log_->Append(Entry(2000, "token:ci", kCancel, 7, "scan-1"));
  ASSERT_TRUE(id_b.ok());
  EXPECT_GT(*id_b, *id_a);
  auto page = log_->List({});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->entries.size(), 2u);
  EXPECT_EQ(page->entries[0].identity, "token:ci");
  EXPECT_EQ(page->entries[0].code, 7);
  a.id = *id_a;
  EXPECT_EQ(page->entries[1], a);
  EXPECT_EQ(page->next_page_token, "");
}

TEST_F(SqliteAuditLogTest, KeysetPagesCoverEveryEntryOnceEvenWhileEntriesAreAppended) {
  for (int i = 0; i < 120; ++i) ASSERT_TRUE(log_->Append(Entry(i, "a", kStart)).ok());
  AuditFilter f;
  f.limit = 50;
  std::vector<int64_t> ids;
  std::vector<size_t> sizes;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 10);
    auto page = log_->List(f);
    ASSERT_TRUE(page.ok()) << page.status();
    sizes.push_back(page->entries.size());
    for (const AuditEntry& e : page->entries) ids.push_back(e.id);
    // New entries never shift the pages being read (keyset, not offset).
    ASSERT_TRUE(log_->Append(Entry(1000, "a", kStart)).ok());
    if (page->next_page_token.empty()) break;
    f.page_token = page->next_page_token;
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{50, 50, 20}));
  ASSERT_EQ(ids.size(), 120u);
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_LT(ids[i], ids[i - 1]);
  EXPECT_EQ(ids.back(), 1);
}

TEST_F(SqliteAuditLogTest, FiltersByIdentityMethodAndTime) {
  ASSERT_TRUE(log_->Append(Entry(1000, "alice", kStart)).ok());
  ASSERT_TRUE(log_->Append(Entry(2000, "bob", kStart)).ok());
  ASSERT_TRUE(log_->Append(Entry(3000, "alice", kCancel)).ok());
  ASSERT_TRUE(log_->Append(Entry(4000, "alice", "/goalkeeper.v1.Other/XStartScan")).ok());
  auto count = [&](AuditFilter f) {
    auto page = log_->List(f);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->entries.size() : 0;
  };
  EXPECT_EQ(count(Q("alice", "", 0, 0, "")), 3u);
  EXPECT_EQ(count(Q("", "StartScan", 0, 0, "")), 2u) << "the last part matches, not a suffix";
  EXPECT_EQ(count(Q("", kStart, 0, 0, "")), 2u);
  EXPECT_EQ(count(Q("", "Coordinator/StartScan", 0, 0, "")), 0u) << "a '/' means the full name";
  EXPECT_EQ(count(Q("", "", 2000, 0, "")), 3u);
  EXPECT_EQ(count(Q("alice", "CancelScan", 2000, 0, "")), 1u);
  // Metacharacters of LIKE and GLOB are plain text.
  EXPECT_EQ(count(Q("%", "", 0, 0, "")), 0u);
  EXPECT_EQ(count(Q("", "%", 0, 0, "")), 0u);
  EXPECT_EQ(count(Q("", "*", 0, 0, "")), 0u);
}

TEST_F(SqliteAuditLogTest, BoundsAndBadTokensAreInvalidArgumentNamingTheField) {
  ASSERT_TRUE(log_->Append(Entry(1, "a", kStart)).ok());
  auto error = [&](AuditFilter f) {
    auto page = log_->List(f);
    EXPECT_TRUE(absl::IsInvalidArgument(page.status())) << page.status();
    return std::string(page.status().message());
  };
  EXPECT_EQ(error(Q("", "", 0, 1001, "")), "limit: 1001 is more than 1000");
  EXPECT_EQ(error(Q("", "", -5, 0, "")), "since_unix_ms: -5 is negative");
  EXPECT_EQ(error(Q(std::string(1025, 'x'), "", 0, 0, "")), "identity: 1025 bytes (at most 1024)");
  EXPECT_EQ(error(Q("", std::string(2000, 'x'), 0, 0, "")), "method: 2000 bytes (at most 1024)");
  EXPECT_EQ(error(Q("", "", 0, 0, std::string(300, 'A'))), "page_token: 300 bytes (at most 256)");
  EXPECT_EQ(error(Q("", "", 0, 0, "not a token")), "page_token: not a token this server issued");
  EXPECT_EQ(error(Q("", "", 0, 0, "YTE6MDpmZg")), "page_token: not a token this server issued");
  const std::string token = AuditPageToken(Q("a", "", 0, 0, ""), 5);
  EXPECT_EQ(error(Q("b", "", 0, 0, token)),
            "page_token: issued for another since_unix_ms/identity/method");
  auto page = log_->List(Q("a", "", 0, 1000, token));
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->entries.size(), 1u);
}

TEST_F(SqliteAuditLogTest, TriggersRefuseUpdateDeleteAndReplace) {
  ASSERT_TRUE(log_->Append(Entry(1, "alice", kStart, 0, "scan-1")).ok());
  auto raw = SqliteDb::Open(path_);
  ASSERT_TRUE(raw.ok());
  absl::Status update = (*raw)->Exec("UPDATE audit SET identity = 'mallory'");
  EXPECT_THAT(update.message(), HasSubstr("append-only: UPDATE refused"));
  absl::Status update_repeated = (*raw)->Exec("UPDATE audit SET repeated = repeated + 1");
  EXPECT_FALSE(update_repeated.ok());
  absl::Status del = (*raw)->Exec("DELETE FROM audit");
  EXPECT_THAT(del.message(), HasSubstr("append-only: DELETE refused"));
  absl::Status replace = (*raw)->Exec(
      "INSERT OR REPLACE INTO audit (id, at_unix_ms, identity, role, method, code, target, detail) "
      "VALUES (1, 1, 'mallory', '', 'x', 0, '', '{}')");
  EXPECT_THAT(replace.message(), HasSubstr("an id is never reused"));
  auto page = log_->List({});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->entries[0].identity, "alice");
  EXPECT_EQ(page->entries[0].repeated, 0u);
  // Appending still works after the refusals.
  EXPECT_TRUE((*raw)
                  ->Exec("INSERT INTO audit (at_unix_ms, identity, role, method, code, target, "
                         "detail) VALUES (2, 'bob', '', 'x', 0, '', '{}')")
                  .ok());
}

// ---- Auditor ----

class AuditorTest : public ::testing::Test {
 protected:
  AuditorTest() : clock_(absl::FromUnixMillis(1'800'000'000'000)), auditor_(log_, clock_, kLog) {
    auto logger = MakeLogger(kLog);
    logger->sinks().push_back(std::make_shared<spdlog::sinks::ostream_sink_mt>(lines_));
  }
  ~AuditorTest() override { MakeLogger(kLog)->sinks().pop_back(); }
  void Deny(const std::string& identity = "spiffe://goalkeeper/viewer",
            absl::StatusCode code = absl::StatusCode::kPermissionDenied) {
    auditor_.RecordDenied(identity, kStart, code, "needs role operator");
  }
  static constexpr char kLog[] = "audit-test";
  FakeClock clock_;
  FakeAuditLog log_;
  Auditor auditor_;
  std::ostringstream lines_;
};

TEST_F(AuditorTest, AChangeIsOneEntryAndOneLogLine) {
  AuditEntry e = Entry(0, "spiffe://goalkeeper/operator", kStart, 0, "scan-7");
  auditor_.Record(e);
  auditor_.Record(e);  // changes are never folded
  std::vector<AuditEntry> entries = log_.entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].at_unix_ms, 1'800'000'000'000) << "the time comes from the clock";
  EXPECT_EQ(entries[0].target, "scan-7");
  EXPECT_THAT(lines_.str(),
              HasSubstr("audit: id=1 identity=spiffe://goalkeeper/operator role=operator "
                        "method=/goalkeeper.v1.Coordinator/StartScan code=OK target=scan-7"));
}

TEST_F(AuditorTest, AFloodOfIdenticalRefusalsIsOneEntryASecondAndNoneIsUncounted) {
  for (int i = 0; i < 100; ++i) Deny();
  std::vector<AuditEntry> entries = log_.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].repeated, 0u);
  EXPECT_EQ(entries[0].code, static_cast<int>(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(entries[0].role, "");
  EXPECT_EQ(entries[0].detail_json, R"({"message":"needs role operator"})");
  auditor_.Flush();  // the window is still open: nothing yet
  EXPECT_EQ(log_.entries().size(), 1u);
  clock_.Advance(absl::Seconds(1));
  auditor_.Flush();
  entries = log_.entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].repeated + 1, 99u) << "the 99 folded calls are one entry";
  EXPECT_THAT(lines_.str(), HasSubstr("repeated=98"));
  // The flush opened a new window: a refusal within it is folded too.
  Deny();
  EXPECT_EQ(log_.entries().size(), 2u);
  clock_.Advance(absl::Seconds(1));
  Deny();  // after the window: written, carrying the one folded before it
  entries = log_.entries();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[2].repeated, 1u);
  uint64_t calls = 0;
  for (const AuditEntry& e : entries) calls += e.repeated + 1;
  EXPECT_EQ(calls, 102u);
}

TEST_F(AuditorTest, RefusalsOfOtherIdentitiesOrCodesAreNotFoldedTogether) {
  Deny("a");
  Deny("b");
  Deny("a", absl::StatusCode::kResourceExhausted);
  Deny("a");
  EXPECT_EQ(log_.entries().size(), 3u);
  auditor_.Flush(/*all=*/true);  // at shutdown, open windows too
  std::vector<AuditEntry> entries = log_.entries();
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[3].identity, "a");
  EXPECT_EQ(entries[3].repeated, 0u);
}

TEST_F(AuditorTest, ListFlushesClosedWindowsFirst) {
  Deny();
  Deny();
  clock_.Advance(absl::Seconds(2));
  auto page = auditor_.List({});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 2u);
  EXPECT_EQ(page->entries[0].repeated, 0u);  // the folded one, newest first
}

TEST_F(AuditorTest, AFailedWriteIsLoggedAndCounted) {
  log_.set_fail(true);
  auditor_.Record(Entry(0, "alice", kCancel, 0, "scan-9"));
  EXPECT_EQ(auditor_.write_failures(), 1u);
  EXPECT_THAT(lines_.str(), HasSubstr("audit: NOT STORED (fake audit log: disk full) "
                                      "identity=alice"));
}

TEST_F(AuditorTest, LogValuesThatCouldForgeFieldsAreQuoted) {
  auditor_.Record(Entry(0, "evil role=admin", kCancel, 0, "a\nb"));
  EXPECT_THAT(lines_.str(), HasSubstr(R"(identity="evil role=admin" role=operator)"));
  EXPECT_THAT(lines_.str(), HasSubstr(R"(target="a\nb")"));
}

}  // namespace
}  // namespace goalkeeper
