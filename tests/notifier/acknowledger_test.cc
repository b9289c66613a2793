// Acknowledge on the notifier's real store: each call, stored or refused, is
// exactly one entry of the notifier's audit trail (in the same database
// file) with the caller, IP:PORT, until and reason.
#include "notifier/acknowledger.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::testing::HasSubstr;

class AcknowledgerTest : public ::testing::Test {
 protected:
  AcknowledgerTest() : clock_(absl::FromUnixSeconds(1'800'000'000)) {
    db_ = ::testing::TempDir() + "/ack-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) unlink((db_ + suffix).c_str());
    auto store = NotificationStore::Open(db_);
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto log = SqliteAuditLog::Open(db_, NotifierSchema());
    EXPECT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    auditor_ = std::make_unique<Auditor>(*log_, clock_, "notifier");
    acks_ = std::make_unique<Acknowledger>(*store_, clock_, auth_, auditor_.get());
  }

  std::vector<AuditEntry> Entries() {
    auto page = log_->List({});
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->entries : std::vector<AuditEntry>{};
  }

  static v1::AcknowledgeRequest Request(const std::string& ip, uint32_t port, int64_t until_ms) {
    v1::AcknowledgeRequest req;
    req.set_ip(ip);
    req.set_port(port);
    req.set_until_unix_ms(until_ms);
    req.set_reason("maintenance window, ticket OPS-1");
    return req;
  }

  FakeClock clock_;
  AuthConfig auth_;  // the defaults: admin's max_acknowledge
  std::string db_;
  std::unique_ptr<NotificationStore> store_;
  std::unique_ptr<SqliteAuditLog> log_;
  std::unique_ptr<Auditor> auditor_;
  std::unique_ptr<Acknowledger> acks_;
  const Caller admin_{"spiffe://goalkeeper/admin", Role::kAdmin, true};
};

TEST_F(AcknowledgerTest, AnAcknowledgementIsStoredAndIsOneEntry) {
  const int64_t until = 1'800'086'400'000;  // a day later
  ASSERT_TRUE(acks_->Acknowledge(admin_, Request("127.0.0.5", 5432, until)).ok());
  auto acked = store_->IsAcknowledged("127.0.0.5", 5432, clock_.Now());
  ASSERT_TRUE(acked.ok());
  EXPECT_TRUE(*acked);
  std::vector<AuditEntry> entries = Entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].identity, "spiffe://goalkeeper/admin");
  EXPECT_EQ(entries[0].role, "admin");
  EXPECT_EQ(entries[0].method, kAcknowledgeMethod);
  EXPECT_EQ(entries[0].code, 0);
  EXPECT_EQ(entries[0].target, "127.0.0.5:5432");
  EXPECT_EQ(entries[0].at_unix_ms, 1'800'000'000'000);
  nlohmann::json d = nlohmann::json::parse(entries[0].detail_json);
  EXPECT_EQ(d["until_unix_ms"], until);
  EXPECT_EQ(d["until"], "2027-01-16T08:00:00Z");
  EXPECT_EQ(d["reason"], "maintenance window, ticket OPS-1");
  EXPECT_FALSE(d.contains("message"));
}

TEST_F(AcknowledgerTest, RefusalsAreOneEntryEachNamingTheValue) {
  const Caller op{"token:ci", Role::kOperator, true};
  absl::Status port = acks_->Acknowledge(op, Request("127.0.0.5", 70000, 1'900'000'000'000));
  EXPECT_EQ(port.message(), "'127.0.0.5:70000' is not an address and port");
  // Identical refusals within a second are folded (common/audit_log.h).
  clock_.Advance(absl::Seconds(1));
  absl::Status past = acks_->Acknowledge(op, Request("127.0.0.6", 22, 1'000));
  EXPECT_EQ(past.message(), "until_unix_ms: 1000 is not in the future");
  clock_.Advance(absl::Seconds(1));
  v1::AcknowledgeRequest long_reason = Request("127.0.0.7", 22, 1'900'000'000'000);
  long_reason.set_reason(std::string(5000, 'x'));
  EXPECT_EQ(acks_->Acknowledge(op, long_reason).message(), "reason: 5000 bytes (at most 500)");
  std::vector<AuditEntry> entries = Entries();  // newest first
  ASSERT_EQ(entries.size(), 3u);
  for (const AuditEntry& e : entries) {
    EXPECT_EQ(e.identity, "token:ci");
    EXPECT_EQ(e.code, static_cast<int>(absl::StatusCode::kInvalidArgument));
    EXPECT_EQ(e.repeated, 0u);
  }
  EXPECT_EQ(entries[2].target, "127.0.0.5:70000");
  EXPECT_THAT(entries[1].detail_json, HasSubstr("not in the future"));
  EXPECT_LT(entries[0].detail_json.size(), 1500u) << "the reason is cut";
  auto acked = store_->IsAcknowledged("127.0.0.6", 22, clock_.Now());
  ASSERT_TRUE(acked.ok());
  EXPECT_FALSE(*acked);
}

// A notifier database of the previous schema (version 3, no audit table)
// opens, keeps its acknowledgements and gains the audit trail.
TEST(NotifierAuditMigrationTest, AVersion3DatabaseKeepsItsDataAndGainsTheAuditTable) {
  const std::string db = ::testing::TempDir() + "/ack-migrate-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((db + suffix).c_str());
  SqliteSchema v3 = NotifierSchema();
  v3.migrations.resize(3);
  {
    auto raw = SqliteDb::Open(db, v3);
    ASSERT_TRUE(raw.ok()) << raw.status();
    ASSERT_TRUE((*raw)
                    ->Exec("INSERT INTO acknowledgements (ip, port, until_ms, reason) "
                           "VALUES ('127.0.0.9', 22, 9000000000000, 'old')")
                    .ok());
  }
  auto store = NotificationStore::Open(db);
  ASSERT_TRUE(store.ok()) << store.status();
  auto acked = (*store)->IsAcknowledged("127.0.0.9", 22, absl::FromUnixSeconds(1'800'000'000));
  ASSERT_TRUE(acked.ok());
  EXPECT_TRUE(*acked);
  auto log = SqliteAuditLog::Open(db, NotifierSchema());
  ASSERT_TRUE(log.ok()) << log.status();
  AuditEntry e;
  e.identity = "x";
  ASSERT_TRUE((*log)->Append(e).ok());
  auto raw = SqliteDb::Open(db);
  ASSERT_TRUE(raw.ok());
  auto st = (*raw)->Prepare("PRAGMA user_version");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(*st->Step());
  EXPECT_EQ(st->Int(0), static_cast<int64_t>(NotifierSchema().migrations.size()));
  EXPECT_FALSE((*raw)->Exec("DELETE FROM audit").ok()) << "the triggers came with it";
}

}  // namespace
}  // namespace goalkeeper

namespace goalkeeper {
namespace {

// auth.roles.admin.max_acknowledge bounds `until`; the refusal is audited.
TEST(AcknowledgerLimitTest, AnAcknowledgementPastTheRolesLimitIsRefusedAndAudited) {
  const std::string db = ::testing::TempDir() + "/ack-limit-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((db + suffix).c_str());
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  auto store = NotificationStore::Open(db);
  ASSERT_TRUE(store.ok()) << store.status();
  auto log = SqliteAuditLog::Open(db, NotifierSchema());
  ASSERT_TRUE(log.ok()) << log.status();
  Auditor auditor(**log, clock, "notifier");
  AuthConfig auth;
  auth.roles[Role::kAdmin].max_acknowledge = absl::Hours(24 * 90);
  Acknowledger acks(**store, clock, auth, &auditor);
  const Caller admin{"spiffe://goalkeeper/admin", Role::kAdmin, true};
  v1::AcknowledgeRequest req;
  req.set_ip("127.0.0.5");
  req.set_port(22);
  req.set_reason("forever");
  req.set_until_unix_ms(absl::ToUnixMillis(clock.Now() + absl::Hours(24 * 365 * 8000)));
  absl::Status s = acks.Acknowledge(admin, req);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("max_acknowledge"));
  auto page = (*log)->List({});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->entries[0].code, static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(page->entries[0].detail_json, HasSubstr("max_acknowledge"));
  auto acked = (*store)->IsAcknowledged("127.0.0.5", 22, clock.Now());
  ASSERT_TRUE(acked.ok());
  EXPECT_FALSE(*acked);
}

}  // namespace
}  // namespace goalkeeper
