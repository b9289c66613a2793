// SqliteDb::Open(path, schema): marking, migrations, adoption of unmarked
// databases of an earlier version, and refusal of foreign or newer files.
#include "common/sqlite.h"

#include <unistd.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

using ::testing::HasSubstr;

const SqliteSchema& Schema() {
  static const SqliteSchema* s = new SqliteSchema{
      0x54455354,
      "test",
      {"items", "extras"},
      {"CREATE TABLE IF NOT EXISTS items (k TEXT PRIMARY KEY)",
       "CREATE TABLE extras (k TEXT PRIMARY KEY); INSERT INTO items VALUES ('migrated')"}};
  return *s;
}

class SqliteSchemaTest : public ::testing::Test {
 protected:
  SqliteSchemaTest() {
    path_ = ::testing::TempDir() + "/sqlite-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    Remove();
  }
  ~SqliteSchemaTest() override { Remove(); }
  void Remove() {
    for (const char* suffix : {"", "-wal", "-shm"}) unlink((path_ + suffix).c_str());
  }
  // Runs SQL on the file with a plain connection (another application).
  void Raw(const std::string& sql) {
    auto db = SqliteDb::Open(path_);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec(sql).ok()) << sql;
  }
  int64_t Pragma(SqliteDb& db, const std::string& name) {
    auto st = db.Prepare("PRAGMA " + name);
    EXPECT_TRUE(st.ok());
    EXPECT_TRUE(*st->Step());
    return st->Int(0);
  }
  std::string path_;
};

TEST_F(SqliteSchemaTest, NewDatabaseIsMarkedAndAtTheLatestVersion) {
  auto db = SqliteDb::Open(path_, Schema());
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(Pragma(**db, "application_id"), 0x54455354);
  EXPECT_EQ(Pragma(**db, "user_version"), 2);
  auto mode = (*db)->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok() && *mode->Step());
  EXPECT_EQ(mode->Text(0), "wal");
  db->reset();
  // Opening again runs no migration (the second would fail: extras exists).
  auto again = SqliteDb::Open(path_, Schema());
  ASSERT_TRUE(again.ok()) << again.status();
  auto st = (*again)->Prepare("SELECT COUNT(*) FROM items");
  ASSERT_TRUE(st.ok() && *st->Step());
  EXPECT_EQ(st->Int(0), 1);
}

TEST_F(SqliteSchemaTest, UnmarkedDatabaseOfAnEarlierVersionIsAdoptedAndMigrated) {
  Raw("CREATE TABLE items (k TEXT PRIMARY KEY); INSERT INTO items VALUES ('old')");
  auto db = SqliteDb::Open(path_, Schema());
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(Pragma(**db, "application_id"), 0x54455354);
  EXPECT_EQ(Pragma(**db, "user_version"), 2);
  auto st = (*db)->Prepare("SELECT k FROM items ORDER BY k");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(*st->Step());
  EXPECT_EQ(st->Text(0), "migrated");
  ASSERT_TRUE(*st->Step());
  EXPECT_EQ(st->Text(0), "old") << "existing rows are kept";
}

TEST_F(SqliteSchemaTest, OlderMarkedVersionRunsOnlyTheMissingMigrations) {
  Raw("CREATE TABLE items (k TEXT PRIMARY KEY); PRAGMA application_id = 1413829460; "
      "PRAGMA user_version = 1");
  auto db = SqliteDb::Open(path_, Schema());
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(Pragma(**db, "user_version"), 2);
  auto st = (*db)->Prepare("SELECT COUNT(*) FROM extras");
  EXPECT_TRUE(st.ok()) << "migration 2 ran";
}

TEST_F(SqliteSchemaTest, AnotherApplicationsIdIsRefusedNamingTheFile) {
  Raw("PRAGMA application_id = 1; CREATE TABLE items (k TEXT)");
  auto db = SqliteDb::Open(path_, Schema());
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(db.status().message(), HasSubstr(path_));
  EXPECT_THAT(db.status().message(), HasSubstr("another application"));
}

TEST_F(SqliteSchemaTest, UnmarkedFileWithForeignTablesIsRefusedAndLeftUntouched) {
  Raw("CREATE TABLE invoices (id INTEGER PRIMARY KEY)");
  auto db = SqliteDb::Open(path_, Schema());
  ASSERT_FALSE(db.ok());
  EXPECT_THAT(db.status().message(), HasSubstr("'invoices'"));
  EXPECT_THAT(db.status().message(), HasSubstr(path_));
  auto raw = SqliteDb::Open(path_);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(Pragma(**raw, "application_id"), 0);
  EXPECT_FALSE((*raw)->Prepare("SELECT * FROM items").ok()) << "none of our tables added";
}

TEST_F(SqliteSchemaTest, NewerSchemaVersionIsRefused) {
  Raw("PRAGMA application_id = 1413829460; PRAGMA user_version = 3");
  auto db = SqliteDb::Open(path_, Schema());
  ASSERT_FALSE(db.ok());
  EXPECT_THAT(db.status().message(), HasSubstr("schema version 3, newer"));
  EXPECT_THAT(db.status().message(), HasSubstr(path_));
}

TEST_F(SqliteSchemaTest, AFileThatIsNotADatabaseIsRefused) {
  std::ofstream(path_) << "this is a text file, not SQLite, and it is long enough to have a "
                          "header of one hundred bytes: padding padding padding padding.\n";
  auto db = SqliteDb::Open(path_, Schema());
  ASSERT_FALSE(db.ok());
  EXPECT_THAT(db.status().message(), HasSubstr(path_));
}

TEST_F(SqliteSchemaTest, ForEachRowVisitsEveryRowInOrderAndResets) {
  auto db = SqliteDb::Open(path_, Schema());
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->Exec("INSERT INTO items VALUES ('b'), ('a'), ('c')").ok());
  auto st = (*db)->Cached("SELECT k FROM items ORDER BY k");
  ASSERT_TRUE(st.ok());
  for (int round = 0; round < 2; ++round) {  // reset: the second round sees the same rows
    std::string seen;
    ASSERT_TRUE((*st)
                    ->ForEachRow([&](const SqliteStatement& r) {
                      seen += r.Text(0);
                      return absl::OkStatus();
                    })
                    .ok());
    EXPECT_EQ(seen, "abcmigrated") << "round " << round;
  }
}

TEST_F(SqliteSchemaTest, ForEachRowStopsAtTheFirstErrorAndResets) {
  auto db = SqliteDb::Open(path_, Schema());
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->Exec("INSERT INTO items VALUES ('a'), ('b'), ('c')").ok());
  auto st = (*db)->Cached("SELECT k FROM items ORDER BY k");
  ASSERT_TRUE(st.ok());
  int calls = 0;
  absl::Status s = (*st)->ForEachRow([&](const SqliteStatement& r) {
    ++calls;
    return r.Text(0) == "b" ? absl::DataLossError("row b is bad") : absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(calls, 2);
  // Reset after the error: the statement starts from the first row again.
  std::string first;
  ASSERT_TRUE((*st)
                  ->ForEachRow([&](const SqliteStatement& r) {
                    if (first.empty()) first = r.Text(0);
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(first, "a");
}

}  // namespace
}  // namespace goalkeeper
