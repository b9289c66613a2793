// Spool over real SQLite files: order, acks, bounds, batches replayed
// without duplicates, a process killed with SIGKILL while appending, and a
// torn last write.
#include "node/spool.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/node/log_files.h"

namespace goalkeeper::node {
namespace {

using ::goalkeeper::testing::TempDir;
using ::testing::HasSubstr;

std::unique_ptr<Spool> OpenSpool(const SpoolOptions& o) {
  absl::StatusOr<std::unique_ptr<Spool>> s = Spool::Open(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

std::vector<int64_t> Ids(const std::vector<SpoolRecord>& records) {
  std::vector<int64_t> out;
  for (const SpoolRecord& r : records) out.push_back(r.id);
  return out;
}

class SpoolTest : public ::testing::Test {
 protected:
  SpoolTest() { options_.path = dir_.path() + "/spool.db"; }
  TempDir dir_;
  SpoolOptions options_;
};

TEST_F(SpoolTest, ReplaysUnacknowledgedRecordsInOrderAfterReopening) {
  std::vector<int64_t> ids;
  {
    std::unique_ptr<Spool> s = OpenSpool(options_);
    for (const char* r : {"one", "two", "three"}) {
      absl::StatusOr<int64_t> id = s->Append(r);
      ASSERT_TRUE(id.ok()) << id.status();
      ids.push_back(*id);
    }
    EXPECT_LT(ids[0], ids[1]);
    EXPECT_LT(ids[1], ids[2]);
    ASSERT_TRUE(s->Ack(ids[1]).ok());
  }
  std::unique_ptr<Spool> s = OpenSpool(options_);
  EXPECT_EQ(s->records(), 2);
  EXPECT_EQ(s->bytes(), 8);
  absl::StatusOr<std::vector<SpoolRecord>> pending = s->Pending();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].data, "one");
  EXPECT_EQ((*pending)[1].data, "three");
  EXPECT_EQ(Ids(*s->Pending(1)), std::vector<int64_t>{ids[0]});
  EXPECT_EQ(Ids(*s->Pending(0, ids[0])), std::vector<int64_t>{ids[2]});
  // A new record gets an id above every earlier one, even acknowledged ones.
  ASSERT_TRUE(s->Ack(ids[2]).ok());
  absl::StatusOr<int64_t> next = s->Append("four");
  ASSERT_TRUE(next.ok());
  EXPECT_GT(*next, ids[2]);
}

TEST_F(SpoolTest, KeepsBinaryRecordsIntact) {
  std::unique_ptr<Spool> s = OpenSpool(options_);
  const std::string rec("\0\xff\n\x01zz", 6);
  ASSERT_TRUE(s->Append(rec).ok());
  EXPECT_EQ((*s->Pending())[0].data, rec);
}

TEST_F(SpoolTest, AckIsIdempotent) {
  std::unique_ptr<Spool> s = OpenSpool(options_);
  const int64_t id = *s->Append("x");
  EXPECT_TRUE(s->Ack(id).ok());
  EXPECT_TRUE(s->Ack(id).ok());
  EXPECT_TRUE(s->Ack(12345).ok());
  EXPECT_EQ(s->records(), 0);
  EXPECT_EQ(s->bytes(), 0);
}

TEST_F(SpoolTest, FullSpoolRefusesWithAClearErrorUntilAcksMakeRoom) {
  options_.max_records = 3;
  options_.max_bytes = 1000;
  std::unique_ptr<Spool> s = OpenSpool(options_);
  const int64_t first = *s->Append("a");
  ASSERT_TRUE(s->Append("b").ok());
  ASSERT_TRUE(s->Append("c").ok());
  absl::StatusOr<int64_t> full = s->Append("d");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(full.status().message(), HasSubstr(options_.path));
  EXPECT_THAT(full.status().message(), HasSubstr("is full: 3 records"));
  EXPECT_THAT(full.status().message(), HasSubstr("limits 3 records, 1000 bytes"));
  ASSERT_TRUE(s->Ack(first).ok());
  EXPECT_TRUE(s->Append("d").ok());
}

TEST_F(SpoolTest, ByteBoundCountsTheRecordsSizes) {
  options_.max_bytes = 10;
  std::unique_ptr<Spool> s = OpenSpool(options_);
  ASSERT_TRUE(s->Append("123456").ok());
  absl::StatusOr<int64_t> over = s->Append("12345");
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(over.status().message(), HasSubstr("cannot add 1 of 5 bytes"));
  EXPECT_TRUE(s->Append("1234").ok());
  EXPECT_EQ(s->bytes(), 10);
}

TEST_F(SpoolTest, BatchIsStoredOnceWhateverTheReplays) {
  std::unique_ptr<Spool> s = OpenSpool(options_);
  absl::StatusOr<std::vector<int64_t>> ids = s->AppendBatch({"a", "b"}, 1);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 2u);
  EXPECT_TRUE(s->AppendBatch({"a", "b"}, 1)->empty());
  s.reset();
  s = OpenSpool(options_);
  EXPECT_EQ(s->last_batch_seq(), 1);
  EXPECT_TRUE(s->AppendBatch({"a", "b"}, 1)->empty());
  EXPECT_EQ(s->AppendBatch({"c"}, 2)->size(), 1u);
  EXPECT_EQ(s->records(), 3);
}

TEST_F(SpoolTest, BatchOverTheBoundStoresNothing) {
  options_.max_records = 2;
  std::unique_ptr<Spool> s = OpenSpool(options_);
  EXPECT_EQ(s->AppendBatch({"a", "b", "c"}, 1).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s->records(), 0);
  EXPECT_EQ(s->last_batch_seq(), 0);
}

TEST_F(SpoolTest, RefusesADatabaseOfAnotherKind) {
  {
    absl::StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open(options_.path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("CREATE TABLE scans (id INTEGER)").ok());
  }
  absl::StatusOr<std::unique_ptr<Spool>> s = Spool::Open(options_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr(options_.path));
}

TEST_F(SpoolTest, RejectsBadLimits) {
  options_.max_bytes = 0;
  EXPECT_EQ(Spool::Open(options_).status().code(), absl::StatusCode::kInvalidArgument);
}

// A child appends "rec-N" and reports each id once Append has returned; it
// is killed with SIGKILL. Returns the ids it reported.
std::vector<int64_t> AppendInChildThenKill(const SpoolOptions& options, int stop_after,
                                           std::chrono::milliseconds run_for) {
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    absl::StatusOr<std::unique_ptr<Spool>> s = Spool::Open(options);
    if (!s.ok()) ::_exit(2);
    for (int i = 0; stop_after < 0 || i < stop_after; ++i) {
      absl::StatusOr<int64_t> id = (*s)->Append(absl::StrCat("rec-", i));
      if (!id.ok()) ::_exit(3);
      if (::write(fds[1], &*id, sizeof(int64_t)) != sizeof(int64_t)) ::_exit(4);
    }
    ::pause();  // killed here, the spool still open
    ::_exit(0);
  }
  ::close(fds[1]);
  std::this_thread::sleep_for(run_for);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "child exited " << WEXITSTATUS(status);
  std::vector<int64_t> ids;
  int64_t id;
  while (::read(fds[0], &id, sizeof(id)) == sizeof(id)) ids.push_back(id);
  ::close(fds[0]);
  return ids;
}

TEST_F(SpoolTest, KillNineDuringAppendsLosesNoAcknowledgedAppend) {
  for (int round = 0; round < 3; ++round) {
    const int64_t before = OpenSpool(options_)->records();
    const std::vector<int64_t> reported =
        AppendInChildThenKill(options_, -1, std::chrono::milliseconds(150 + 70 * round));
    ASSERT_FALSE(reported.empty());
    std::unique_ptr<Spool> s = OpenSpool(options_);
    absl::StatusOr<std::vector<SpoolRecord>> pending = s->Pending();
    ASSERT_TRUE(pending.ok()) << pending.status();
    // Every reported append is there, in order, intact; at most one more
    // (committed, killed before it could report).
    ASSERT_GE(static_cast<int64_t>(pending->size()),
              before + static_cast<int64_t>(reported.size()));
    ASSERT_LE(static_cast<int64_t>(pending->size()),
              before + static_cast<int64_t>(reported.size()) + 1);
    for (size_t i = 0; i < reported.size(); ++i) {
      const SpoolRecord& r = (*pending)[static_cast<size_t>(before) + i];
      EXPECT_EQ(r.id, reported[i]);
      EXPECT_EQ(r.data, absl::StrCat("rec-", i));
    }
    EXPECT_EQ(s->records(), static_cast<int64_t>(pending->size()));
  }
}

TEST_F(SpoolTest, TornLastWriteDropsOnlyTheLastRecord) {
  const std::vector<int64_t> reported =
      AppendInChildThenKill(options_, 50, std::chrono::milliseconds(1500));
  ASSERT_EQ(reported.size(), 50u);
  const std::string wal = options_.path + "-wal";
  struct stat st;
  ASSERT_EQ(::stat(wal.c_str(), &st), 0) << "the killed writer left its WAL";
  ASSERT_GT(st.st_size, 200);
  // The last write cut short, as by a crash in the middle of it.
  ASSERT_EQ(::truncate(wal.c_str(), st.st_size - 100), 0);
  std::unique_ptr<Spool> s = OpenSpool(options_);
  absl::StatusOr<std::vector<SpoolRecord>> pending = s->Pending();
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 49u);
  for (size_t i = 0; i < pending->size(); ++i) {
    EXPECT_EQ((*pending)[i].id, reported[i]);
    EXPECT_EQ((*pending)[i].data, absl::StrCat("rec-", i));
  }
  EXPECT_TRUE(s->Append("after").ok());
}

TEST_F(SpoolTest, BatchSeqsPerKeyAreIndependentAndSurviveReopening) {
  {
    std::unique_ptr<Spool> s = OpenSpool(options_);
    absl::StatusOr<std::vector<int64_t>> a = s->AppendBatch({"a1"}, 5, "rule:a:files");
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->size(), 1u);
    // Another key's seq 1 is not "already stored".
    absl::StatusOr<std::vector<int64_t>> b = s->AppendBatch({"b1", "b2"}, 1, "rule:b:files");
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(b->size(), 2u);
    EXPECT_EQ(s->last_batch_seq(), 0);  // the key-less seq is untouched
  }
  std::unique_ptr<Spool> s = OpenSpool(options_);
  EXPECT_EQ(*s->LastBatchSeq("rule:a:files"), 5);
  EXPECT_EQ(*s->LastBatchSeq("rule:b:files"), 1);
  EXPECT_EQ(*s->LastBatchSeq("rule:c:files"), 0);
  // A replay of either batch stores nothing.
  EXPECT_TRUE(s->AppendBatch({"a1"}, 5, "rule:a:files")->empty());
  EXPECT_TRUE(s->AppendBatch({"b1", "b2"}, 1, "rule:b:files")->empty());
  EXPECT_EQ(s->records(), 3);
  // A checkpoint started again: its seqs count after SetBatchSeq.
  ASSERT_TRUE(s->SetBatchSeq("rule:a:files", 0).ok());
  EXPECT_EQ(s->AppendBatch({"a2"}, 1, "rule:a:files")->size(), 1u);
  EXPECT_EQ(s->records(), 4);
}

TEST_F(SpoolTest, AStateIsStoredWithItsRecordsAtomicallyAndRefusedWhenFull) {
  options_.max_records = 3;
  {
    std::unique_ptr<Spool> s = OpenSpool(options_);
    EXPECT_FALSE(s->State("listeners")->has_value());
    ASSERT_TRUE(s->AppendWithState({"x", "y"}, "listeners", std::string("tcp\0 22", 8)).ok());
    // Full: neither the records nor the state change.
    absl::StatusOr<std::vector<int64_t>> full = s->AppendWithState({"z", "w"}, "listeners", "B");
    EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  }
  std::unique_ptr<Spool> s = OpenSpool(options_);
  EXPECT_EQ(s->records(), 2);
  EXPECT_EQ(**s->State("listeners"), std::string("tcp\0 22", 8));
}

TEST_F(SpoolTest, AVersion1SpoolIsMigratedKeepingItsRecords) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(options_.path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "PRAGMA application_id = 1196118833;"  // "GKS1"
                         "CREATE TABLE records (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                         "data BLOB NOT NULL);"
                         "CREATE TABLE spool_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
                         "INSERT INTO spool_meta VALUES ('last_batch_seq', 7);"
                         "INSERT INTO records (data) VALUES ('old');"
                         "PRAGMA user_version = 1;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  std::unique_ptr<Spool> s = OpenSpool(options_);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->last_batch_seq(), 7);
  EXPECT_NE(s->epoch(), 0u);
  absl::StatusOr<std::vector<SpoolRecord>> pending = s->Pending();
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].data, "old");
  EXPECT_TRUE(s->AppendWithState({"new"}, "k", "state").ok());
}

TEST_F(SpoolTest, TheEpochIsKeptForTheFilesLifeAndNewForANewFile) {
  uint64_t first = 0;
  {
    std::unique_ptr<Spool> s = OpenSpool(options_);
    first = s->epoch();
    EXPECT_NE(first, 0u);
  }
  EXPECT_EQ(OpenSpool(options_)->epoch(), first);
  ASSERT_EQ(std::system(("rm -f " + options_.path + "*").c_str()), 0);
  EXPECT_NE(OpenSpool(options_)->epoch(), first);
}

}  // namespace
}  // namespace goalkeeper::node
