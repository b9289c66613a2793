// The notifier's report store: idempotency by content (same scan id, same
// content: duplicate; other content: ALREADY_EXISTS, the first kept), and
// adoption of an unmarked database of the previous version.
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "notifier/notification_store.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::testing::HasSubstr;

class ReportReceivingTest : public ::testing::Test {
 protected:
  ReportReceivingTest() {
    db_ = ::testing::TempDir() + "/receiving-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) unlink((db_ + suffix).c_str());
    Open();
  }
  void Open() {
    store_.reset();
    auto s = NotificationStore::Open(db_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }
  static v1::ScanReport Report(const std::string& id, int exposures) {
    v1::ScanReport r;
    r.set_scan_id(id);
    r.set_inventory("prod");
    for (int i = 0; i < exposures; ++i) {
      v1::Exposure* e = r.add_exposures();
      e->set_ip("198.51.100." + std::to_string(i + 1));
      e->set_port(6379);
      e->set_service("Redis");
      e->set_status(v1::NEW);
    }
    return r;
  }
  std::string db_;
  std::unique_ptr<NotificationStore> store_;
  const absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
};

TEST_F(ReportReceivingTest, SameContentIsADuplicateOtherContentIsAlreadyExists) {
  v1::ScanReport first = Report("s1", 3);
  auto fresh = store_->InsertReport(first, now_);
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(*fresh);
  // The same content, exposures in another order: a duplicate.
  v1::ScanReport reordered = first;
  reordered.mutable_exposures()->SwapElements(0, 2);
  auto again = store_->InsertReport(reordered, now_);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(*again);
  // Other content under the same scan id: refused, the first kept.
  v1::ScanReport forged = Report("s1", 1);
  auto refused = store_->InsertReport(forged, now_);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(refused.status().message(), HasSubstr("'s1'"));
  EXPECT_THAT(refused.status().message(), HasSubstr("the first is kept"));
  v1::ScanReport other_field = first;
  other_field.set_base_scan_id("s0");
  EXPECT_EQ(store_->InsertReport(other_field, now_).status().code(),
            absl::StatusCode::kAlreadyExists);
  auto stored = store_->StoredExposures("s1");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, 3u);
  auto next = store_->NextReport(now_);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->exposures_size(), 3);
}

TEST_F(ReportReceivingTest, DigestIgnoresOrderAndTheStreamingCountOnly) {
  v1::ScanReport a = Report("s1", 2);
  v1::ScanReport b = a;
  b.mutable_exposures()->SwapElements(0, 1);
  b.set_exposure_count(2);
  EXPECT_EQ(ReportDigest(a), ReportDigest(b));
  b.mutable_exposures(0)->set_first_seen_unix_ms(5);
  EXPECT_NE(ReportDigest(a), ReportDigest(b));
  EXPECT_EQ(ReportDigest(a).size(), 64u);
}

TEST_F(ReportReceivingTest, UnmarkedDatabaseOfThePreviousVersionIsAdoptedWithItsReports) {
  v1::ScanReport first = Report("old-scan", 2);
  ASSERT_TRUE(store_->InsertReport(first, now_).ok());
  store_.reset();
  {
    // The previous version's file: no digest column, unmarked.
    auto raw = SqliteDb::Open(db_);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)
                    ->Exec("ALTER TABLE reports DROP COLUMN digest; "
                           "PRAGMA application_id = 0; PRAGMA user_version = 0")
                    .ok());
  }
  Open();
  auto dup = store_->InsertReport(first, now_);
  ASSERT_TRUE(dup.ok()) << dup.status();
  EXPECT_FALSE(*dup) << "the digest of a report stored before digests is computed";
  EXPECT_EQ(store_->InsertReport(Report("old-scan", 1), now_).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(ReportReceivingTest, ACoordinatorDatabaseIsNotANotifierDatabase) {
  store_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((db_ + suffix).c_str());
  {
    auto raw = SqliteDb::Open(db_);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)->Exec("PRAGMA application_id = 1196114737").ok());  // "GKC1"
  }
  auto s = NotificationStore::Open(db_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr(db_));
  EXPECT_THAT(s.status().message(), HasSubstr("another application"));
}

}  // namespace
}  // namespace goalkeeper
