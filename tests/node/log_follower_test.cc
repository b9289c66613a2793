// LogFollower over real files in a temporary directory: growth, partial
// lines, rotation by rename and copytruncate, catch-up through .1 and .2.gz,
// overlong and binary lines, vanished files, and restarts from the
// checkpoint with no line delivered twice or missed.
#include "node/log_follower.h"

#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/follower_checkpoint.h"
#include "tests/node/log_files.h"

namespace goalkeeper::node {
namespace {

using ::goalkeeper::testing::AgeFile;
using ::goalkeeper::testing::AppendTo;
using ::goalkeeper::testing::ReadFile;
using ::goalkeeper::testing::RotateByCopyTruncate;
using ::goalkeeper::testing::RotateByRename;
using ::goalkeeper::testing::TempDir;
using ::goalkeeper::testing::WriteFile;
using ::goalkeeper::testing::WriteGzip;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Lines(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) absl::StrAppend(&out, "line ", i, "\n");
  return out;
}

std::vector<std::string> Names(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(absl::StrCat("line ", i));
  return out;
}

// Names the first differing line (gtest prints only the first 32 elements).
::testing::AssertionResult SameLines(const std::vector<std::string>& got,
                                     const std::vector<std::string>& want) {
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  if (i == got.size() && i == want.size()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "line " << i << " differs: got '" << (i < got.size() ? got[i] : "<end>") << "', want '"
         << (i < want.size() ? want[i] : "<end>") << "' (" << got.size() << " vs " << want.size()
         << " lines)";
}

class LogFollowerTest : public ::testing::Test {
 protected:
  LogFollowerTest() : clock_(absl::Now()) {
    log_ = dir_.path() + "/app.log";
    options_.globs = {dir_.path() + "/app.log*"};
    options_.checkpoint_path = dir_.path() + "/follower.ckpt";
  }

  std::unique_ptr<LogFollower> OpenFollower() {
    absl::StatusOr<std::unique_ptr<LogFollower>> f = LogFollower::Open(options_, clock_);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? *std::move(f) : nullptr;
  }

  // Polls once, returning the lines delivered.
  std::vector<std::string> PollLines(LogFollower& f) {
    std::vector<std::string> got;
    f.Poll([&](const LogLine& l) {
      got.emplace_back(l.text);
      return true;
    });
    return got;
  }

  // Polls (advancing the clock past the rotation grace) until nothing more.
  std::vector<std::string> Drain(LogFollower& f) {
    std::vector<std::string> got;
    for (int i = 0; i < 8; ++i) {
      for (std::string& l : PollLines(f)) got.push_back(std::move(l));
      clock_.Advance(options_.rotation_grace + absl::Seconds(1));
    }
    return got;
  }

  TempDir dir_;
  std::string log_;
  FakeClock clock_;
  LogFollowerOptions options_;
};

TEST_F(LogFollowerTest, DeliversLinesAsTheFileGrows) {
  AppendTo(log_, Lines(1, 3));
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_EQ(PollLines(*f), Names(1, 3));
  EXPECT_THAT(PollLines(*f), IsEmpty());
  AppendTo(log_, Lines(4, 5));
  EXPECT_EQ(PollLines(*f), Names(4, 5));
  EXPECT_EQ(f->stats().lines, 5u);
  EXPECT_THAT(f->Streams(), ElementsAre(log_));
}

TEST_F(LogFollowerTest, ReportsStreamFileAndOffsetOfEachLine) {
  AppendTo(log_, "ab\ncde\n");
  std::unique_ptr<LogFollower> f = OpenFollower();
  std::vector<uint64_t> ends;
  f->Poll([&](const LogLine& l) {
    EXPECT_EQ(l.stream, log_);
    EXPECT_EQ(l.file, log_);
    ends.push_back(l.end_offset);
    return true;
  });
  EXPECT_THAT(ends, ElementsAre(3u, 7u));
}

TEST_F(LogFollowerTest, PartialLastLineWaitsForItsNewline) {
  AppendTo(log_, "first\nsec");
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_THAT(PollLines(*f), ElementsAre("first"));
  clock_.Advance(absl::Minutes(5));
  EXPECT_THAT(PollLines(*f), IsEmpty());
  AppendTo(log_, "ond\nthi");
  EXPECT_THAT(PollLines(*f), ElementsAre("second"));
  AppendTo(log_, "rd\n");
  EXPECT_THAT(PollLines(*f), ElementsAre("third"));
}

TEST_F(LogFollowerTest, PartialLastLineSurvivesARestart) {
  AppendTo(log_, "first\nsec");
  {
    std::unique_ptr<LogFollower> f = OpenFollower();
    EXPECT_THAT(PollLines(*f), ElementsAre("first"));
    ASSERT_TRUE(f->Commit("state-1").ok());
  }
  AppendTo(log_, "ond\n");
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_EQ(f->restored_blob(), "state-1");
  EXPECT_EQ(f->restored_seq(), 1u);
  EXPECT_THAT(PollLines(*f), ElementsAre("second"));
}

TEST_F(LogFollowerTest, RenameRotationFinishesTheOldFileThenReadsTheNewOne) {
  AppendTo(log_, Lines(1, 3));
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_EQ(PollLines(*f), Names(1, 3));
  AppendTo(log_, Lines(4, 4));
  RotateByRename(log_);
  AppendTo(log_, Lines(6, 6));            // the new file
  AppendTo(log_ + ".1", "line 5\nlate");  // a writer still on the old one
  // The old file first, and kept for the grace after its last write.
  EXPECT_EQ(PollLines(*f), Names(4, 5));
  EXPECT_THAT(PollLines(*f), IsEmpty());
  clock_.Advance(options_.rotation_grace + absl::Seconds(1));
  // Its unterminated last line will never be completed: delivered as is.
  EXPECT_THAT(PollLines(*f), ElementsAre("late", "line 6"));
  EXPECT_EQ(f->stats().rename_rotations, 1u);
  EXPECT_EQ(f->stats().unterminated_lines, 1u);
  AppendTo(log_, Lines(7, 7));
  EXPECT_EQ(PollLines(*f), Names(7, 7));
}

TEST_F(LogFollowerTest, RenameRotationsWhileLinesAreWrittenLoseAndRepeatNothing) {
  std::vector<std::string> got;
  std::unique_ptr<LogFollower> f = OpenFollower();
  std::mt19937 rng(7);
  int written = 0;
  for (int round = 0; round < 40; ++round) {
    const int n = static_cast<int>(rng() % 20) + 1;
    AppendTo(log_, Lines(written + 1, written + n));
    written += n;
    if (rng() % 3 == 0) RotateByRename(log_, /*gzip_second=*/rng() % 2 == 0);
    if (rng() % 2 == 0) {
      for (std::string& l : PollLines(*f)) got.push_back(std::move(l));
    }
    if (rng() % 2 == 0) clock_.Advance(options_.rotation_grace + absl::Seconds(1));
  }
  for (std::string& l : Drain(*f)) got.push_back(std::move(l));
  EXPECT_TRUE(SameLines(got, Names(1, written)));
  EXPECT_GE(f->stats().rename_rotations + f->stats().rotated_files_read, 5u);
}

TEST_F(LogFollowerTest, CopytruncateReadsTheRestFromTheCopyThenTheFileFromZero) {
  AppendTo(log_, Lines(1, 3));
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_EQ(PollLines(*f), Names(1, 3));
  AppendTo(log_, Lines(4, 5));  // not yet read when the copy is made
  const struct stat before = [&] {
    struct stat st;
    ::stat(log_.c_str(), &st);
    return st;
  }();
  RotateByCopyTruncate(log_);
  struct stat after;
  ASSERT_EQ(::stat(log_.c_str(), &after), 0);
  ASSERT_EQ(before.st_ino, after.st_ino);  // really in place
  AppendTo(log_, Lines(6, 6));
  EXPECT_EQ(Drain(*f), Names(4, 6));
  EXPECT_EQ(f->stats().truncations, 1u);
}

TEST_F(LogFollowerTest, TruncationWithoutACopyRestartsAtZero) {
  AppendTo(log_, Lines(1, 3));
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_EQ(PollLines(*f), Names(1, 3));
  ASSERT_EQ(::truncate(log_.c_str(), 0), 0);
  AppendTo(log_, "x\n");
  EXPECT_THAT(Drain(*f), ElementsAre("x"));
  EXPECT_EQ(f->stats().truncations, 1u);
}

TEST_F(LogFollowerTest, FileRewrittenInPlacePastTheOffsetIsSeenByItsFirstBytes) {
  AppendTo(log_, Lines(1, 2));
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_EQ(PollLines(*f), Names(1, 2));
  // Truncated and refilled beyond our offset between two polls.
  ASSERT_EQ(::truncate(log_.c_str(), 0), 0);
  AppendTo(log_, "a different first line\nand another\n");
  EXPECT_THAT(Drain(*f), ElementsAre("a different first line", "and another"));
  EXPECT_EQ(f->stats().truncations, 1u);
}

TEST_F(LogFollowerTest, CatchesUpThroughRotatedFilesOldestFirst) {
  WriteGzip(log_ + ".3.gz", Lines(1, 2));
  WriteGzip(log_ + ".2.gz", Lines(3, 4));
  AppendTo(log_ + ".1", Lines(5, 6));
  AppendTo(log_, Lines(7, 8));
  AppendTo(dir_.path() + "/other.log", "not matched\n");
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_EQ(Drain(*f), Names(1, 8));
  EXPECT_EQ(f->stats().rotated_files_read, 3u);
  EXPECT_THAT(f->Streams(), ElementsAre(log_));  // the rotations belong to app.log
}

TEST_F(LogFollowerTest, DamagedGzipRotationIsReadAsFarAsItGoesAndCounted) {
  WriteGzip(log_ + ".2.gz", Lines(1, 400));
  std::string gz = ReadFile(log_ + ".2.gz");
  WriteFile(log_ + ".2.gz", gz.substr(0, gz.size() / 2) + std::string(64, '\xee'));
  AppendTo(log_ + ".1", Lines(401, 402));
  AppendTo(log_, Lines(403, 403));
  std::unique_ptr<LogFollower> f = OpenFollower();
  std::vector<std::string> got = Drain(*f);
  EXPECT_GE(f->stats().read_errors, 1u);
  ASSERT_GE(got.size(), 3u);
  // At most what came before the damage (zlib may give none of it), then
  // every later file whole.
  for (size_t i = 0; i + 3 < got.size(); ++i) {
    EXPECT_TRUE(absl::StartsWith(absl::StrCat("line ", i + 1), got[i])) << got[i];
  }
  EXPECT_EQ(std::vector<std::string>(got.end() - 3, got.end()), Names(401, 403));
}

TEST_F(LogFollowerTest, RotationBeingCompressedIsReadOnce) {
  // logrotate writes NAME.2.gz before it removes NAME.1: both exist a while.
  const std::string content = Lines(1, 60);
  AppendTo(log_ + ".1", content);
  WriteGzip(log_ + ".2.gz", content);
  AppendTo(log_, Lines(61, 61));
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_TRUE(SameLines(Drain(*f), Names(1, 61)));
}

TEST_F(LogFollowerTest, CatchUpSkipsFilesOlderThanTheMaxAge) {
  options_.catch_up_max_age = absl::Hours(1);
  WriteGzip(log_ + ".2.gz", Lines(1, 2));
  AgeFile(log_ + ".2.gz", 3 * 3600);
  AppendTo(log_ + ".1", Lines(3, 4));
  AgeFile(log_ + ".1", 1800);
  AppendTo(log_, Lines(5, 6));
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_EQ(Drain(*f), Names(3, 6));
  EXPECT_EQ(f->stats().rotated_files_skipped, 1u);
  EXPECT_EQ(f->stats().rotated_files_read, 1u);
}

TEST_F(LogFollowerTest, OldLiveFileWithoutCheckpointStartsAtItsEnd) {
  AppendTo(log_, Lines(1, 3));
  AgeFile(log_, 2 * 3600);
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_THAT(PollLines(*f), IsEmpty());
  AppendTo(log_, Lines(4, 4));
  EXPECT_EQ(PollLines(*f), Names(4, 4));
}

TEST_F(LogFollowerTest, FollowsAPlainPathAndFindsItsRotationsInTheDirectory) {
  options_.globs = {log_};
  AppendTo(log_ + ".1", Lines(1, 1));
  AppendTo(log_, Lines(2, 2));
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_EQ(Drain(*f), Names(1, 2));
}

TEST_F(LogFollowerTest, SkipsAndCountsAOneMebibyteLine) {
  options_.max_bytes_per_poll = 100 * 1024;  // the long line spans many polls
  AppendTo(log_, "before\n" + std::string(1 << 20, 'x') + "\nafter\n");
  std::unique_ptr<LogFollower> f = OpenFollower();
  std::vector<std::string> got;
  for (int i = 0; i < 20; ++i) {
    for (std::string& l : PollLines(*f)) got.push_back(std::move(l));
  }
  EXPECT_THAT(got, ElementsAre("before", "after"));
  EXPECT_EQ(f->stats().overlong_lines, 1u);
}

TEST_F(LogFollowerTest, OverlongLineInterruptedByARestartIsStillSkipped) {
  options_.max_bytes_per_poll = 100 * 1024;
  AppendTo(log_, "before\n" + std::string(300 * 1024, 'y'));
  {
    std::unique_ptr<LogFollower> f = OpenFollower();
    for (int i = 0; i < 5; ++i) PollLines(*f);
    ASSERT_TRUE(f->Commit("").ok());
  }
  AppendTo(log_, "\nafter\n");
  std::unique_ptr<LogFollower> f = OpenFollower();
  std::vector<std::string> got;
  for (int i = 0; i < 10; ++i) {
    for (std::string& l : PollLines(*f)) got.push_back(std::move(l));
  }
  EXPECT_THAT(got, ElementsAre("after"));
  EXPECT_EQ(f->stats().overlong_lines, 1u);
}

TEST_F(LogFollowerTest, PassesBinaryBytesAndDropsLeadingNulPadding) {
  AppendTo(log_, std::string("\0\0\0\0ok\n", 7) + std::string("a\x01\xff\0b\n", 6) + "\n");
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_THAT(PollLines(*f), ElementsAre("ok", std::string("a\x01\xff\0b", 5), ""));
  EXPECT_EQ(f->stats().nul_bytes_dropped, 4u);
}

TEST_F(LogFollowerTest, RestartInTheMiddleOfAFileResumesAfterTheLastTakenLine) {
  AppendTo(log_, Lines(1, 100));
  {
    std::unique_ptr<LogFollower> f = OpenFollower();
    int taken = 0;
    const PollResult r = f->Poll([&](const LogLine&) { return ++taken <= 40; });
    EXPECT_EQ(r.lines, 40u);
    EXPECT_TRUE(r.more);
    ASSERT_TRUE(f->Commit("forty").ok());
  }
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_EQ(f->restored_blob(), "forty");
  EXPECT_EQ(PollLines(*f), Names(41, 100));
}

TEST_F(LogFollowerTest, LinesDeliveredAfterTheLastCommitAreDeliveredAgain) {
  AppendTo(log_, Lines(1, 10));
  {
    std::unique_ptr<LogFollower> f = OpenFollower();
    EXPECT_EQ(PollLines(*f), Names(1, 10));
    ASSERT_TRUE(f->Commit("ten").ok());
    AppendTo(log_, Lines(11, 12));
    EXPECT_EQ(PollLines(*f), Names(11, 12));  // processed, never committed
  }
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_EQ(f->restored_blob(), "ten");
  EXPECT_EQ(PollLines(*f), Names(11, 12));
}

TEST_F(LogFollowerTest, RestartInTheMiddleOfARotationFinishesTheOldFileFirst) {
  AppendTo(log_, Lines(1, 5));
  {
    std::unique_ptr<LogFollower> f = OpenFollower();
    int taken = 0;
    f->Poll([&](const LogLine&) { return ++taken <= 3; });
    ASSERT_TRUE(f->Commit("").ok());
  }
  RotateByRename(log_);
  AppendTo(log_, Lines(6, 7));
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_EQ(Drain(*f), Names(4, 7));
  EXPECT_EQ(f->stats().checkpoint_lost, 0u);
}

TEST_F(LogFollowerTest, RestartFindsACheckpointedFileCompressedSinceByItsFirstBytes) {
  AppendTo(log_, Lines(1, 50));  // more than kFollowerHeadBytes
  {
    std::unique_ptr<LogFollower> f = OpenFollower();
    int taken = 0;
    f->Poll([&](const LogLine&) { return ++taken <= 30; });
    ASSERT_TRUE(f->Commit("").ok());
  }
  RotateByRename(log_);
  AppendTo(log_, Lines(51, 52));
  RotateByRename(log_, /*gzip_second=*/true);  // app.log.1 -> app.log.2.gz
  AppendTo(log_, Lines(53, 53));
  ASSERT_EQ(::access((log_ + ".2.gz").c_str(), F_OK), 0);
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_EQ(Drain(*f), Names(31, 53));
  EXPECT_EQ(f->stats().checkpoint_lost, 0u);
}

TEST_F(LogFollowerTest, RestartAfterACopytruncateWhileDownReadsTheCopyFromTheOffset) {
  AppendTo(log_, Lines(1, 40));
  {
    std::unique_ptr<LogFollower> f = OpenFollower();
    int taken = 0;
    f->Poll([&](const LogLine&) { return ++taken <= 20; });
    ASSERT_TRUE(f->Commit("").ok());
  }
  RotateByCopyTruncate(log_);
  AppendTo(log_, Lines(41, 42));
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_EQ(Drain(*f), Names(21, 42));
}

TEST_F(LogFollowerTest, RandomRestartsAndRotationsDeliverEveryLineExactlyOnce) {
  std::mt19937 rng(11);
  std::vector<std::string> committed;  // what a caller that commits would keep
  int written = 0;
  std::string blob;
  for (int life = 0; life < 25; ++life) {
    std::unique_ptr<LogFollower> f = OpenFollower();
    // The caller's state is the number of lines it has taken.
    ASSERT_EQ(f->restored_blob(), blob);
    committed.resize(blob.empty() ? 0 : std::stoul(blob));
    std::vector<std::string> taken = committed;
    for (int step = 0; step < 6; ++step) {
      const int n = static_cast<int>(rng() % 15);
      AppendTo(log_, Lines(written + 1, written + n));
      written += n;
      const int r = static_cast<int>(rng() % 6);
      if (r == 0) RotateByRename(log_, rng() % 2 == 0);
      if (r == 1) RotateByCopyTruncate(log_);
      for (std::string& l : PollLines(*f)) taken.push_back(std::move(l));
      if (rng() % 2 == 0) clock_.Advance(options_.rotation_grace + absl::Seconds(1));
      if (rng() % 2 == 0) {
        blob = std::to_string(taken.size());
        ASSERT_TRUE(f->Commit(blob).ok());
        committed = taken;
      }
    }
  }
  std::unique_ptr<LogFollower> f = OpenFollower();
  committed.resize(blob.empty() ? 0 : std::stoul(blob));
  for (std::string& l : Drain(*f)) committed.push_back(std::move(l));
  EXPECT_TRUE(SameLines(committed, Names(1, written)));
}

TEST_F(LogFollowerTest, VanishedAndUnreadableFilesAreCountedAndRetried) {
  options_.globs = {log_};
  options_.retry_interval = absl::Seconds(10);
  ASSERT_EQ(::mkdir(log_.c_str(), 0755), 0);  // not a file: cannot be followed
  std::unique_ptr<LogFollower> f = OpenFollower();
  ASSERT_THAT(f->Streams(), ElementsAre(log_));
  EXPECT_THAT(PollLines(*f), IsEmpty());
  const uint64_t errors = f->stats().open_errors;
  EXPECT_GE(errors, 1u);
  ASSERT_EQ(::rmdir(log_.c_str()), 0);
  AppendTo(log_, Lines(1, 1));
  EXPECT_THAT(PollLines(*f), IsEmpty());  // not before the retry interval
  clock_.Advance(absl::Seconds(11));
  EXPECT_EQ(PollLines(*f), Names(1, 1));
  ASSERT_EQ(::unlink(log_.c_str()), 0);  // vanishes
  clock_.Advance(absl::Seconds(11));
  EXPECT_THAT(Drain(*f), IsEmpty());
  EXPECT_GT(f->stats().open_errors, errors);
  AppendTo(log_, Lines(2, 2));
  clock_.Advance(absl::Seconds(11));
  EXPECT_EQ(Drain(*f), Names(2, 2));
}

TEST_F(LogFollowerTest, FileAppearingLaterIsReadFromItsStart) {
  options_.rescan_interval = absl::Seconds(10);
  std::unique_ptr<LogFollower> f = OpenFollower();
  EXPECT_THAT(f->Streams(), IsEmpty());
  AppendTo(log_, Lines(1, 2));
  clock_.Advance(absl::Seconds(11));
  EXPECT_EQ(PollLines(*f), Names(1, 2));
}

TEST_F(LogFollowerTest, ALineRefusedByTheCallbackComesAgainWithoutTheFileGrowing) {
  AppendTo(log_, Lines(1, 5));
  std::unique_ptr<LogFollower> f = OpenFollower();
  std::vector<std::string> got;
  // Back-pressure: two lines taken, the third refused.
  PollResult r = f->Poll([&](const LogLine& l) {
    if (got.size() == 2) return false;
    got.emplace_back(l.text);
    return true;
  });
  EXPECT_TRUE(r.more);
  EXPECT_EQ(got, Names(1, 2));
  // Nothing was appended since: the refused line and the rest still come.
  EXPECT_EQ(PollLines(*f), Names(3, 5));
  EXPECT_THAT(PollLines(*f), IsEmpty());
  // A partial last line waiting in the buffer is not delivered early.
  AppendTo(log_, "line 6\nline 7 part");
  got.clear();
  f->Poll([&](const LogLine&) { return false; });
  EXPECT_EQ(PollLines(*f), Names(6, 6));
  AppendTo(log_, "\n");
  EXPECT_THAT(PollLines(*f), ElementsAre("line 7 part"));
}

TEST_F(LogFollowerTest, DamagedCheckpointIsRefusedNamingTheFile) {
  WriteFile(options_.checkpoint_path, "goalkeeper-follower-checkpoint v1\nseq x\n");
  absl::StatusOr<std::unique_ptr<LogFollower>> f = LogFollower::Open(options_, clock_);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(f.status().message(), HasSubstr(options_.checkpoint_path));
  EXPECT_THAT(f.status().message(), HasSubstr("line 2"));
}

TEST_F(LogFollowerTest, CommitWritesTheCheckpointAtomically) {
  AppendTo(log_, Lines(1, 2));
  std::unique_ptr<LogFollower> f = OpenFollower();
  PollLines(*f);
  ASSERT_TRUE(f->Commit(std::string("blob\0with\nbytes", 15)).ok());
  absl::StatusOr<uint64_t> seq = f->Commit(std::string("blob\0with\nbytes", 15));
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 2u);
  EXPECT_NE(::access((options_.checkpoint_path + ".tmp").c_str(), F_OK), 0);
  absl::StatusOr<FollowerCheckpoint> cp =
      ParseFollowerCheckpoint(ReadFile(options_.checkpoint_path));
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->seq, 2u);
  EXPECT_EQ(cp->blob, std::string("blob\0with\nbytes", 15));
  ASSERT_EQ(cp->entries.size(), 1u);
  struct stat st;
  ASSERT_EQ(::stat(log_.c_str(), &st), 0);
  EXPECT_EQ(cp->entries[0].stream, log_);
  EXPECT_EQ(cp->entries[0].ino, static_cast<uint64_t>(st.st_ino));
  EXPECT_EQ(cp->entries[0].offset, 14u);
  EXPECT_EQ(cp->entries[0].head_len, 14u);
}

TEST_F(LogFollowerTest, RejectsEmptyOptions) {
  options_.globs.clear();
  EXPECT_EQ(LogFollower::Open(options_, clock_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FollowerCheckpointTest, RoundTrips) {
  FollowerCheckpoint cp;
  cp.seq = 42;
  cp.entries.push_back(
      {"/var/log/kern.log", 2049, 1234567, 999, 256, 0xdeadbeef12345678ULL, 1700000000123456789});
  cp.entries.push_back({std::string("/odd\npath \0x", 12), 0, 0, 0, 0, 0, -5});
  cp.blob = std::string("\0\n\xff", 3);
  absl::StatusOr<FollowerCheckpoint> back =
      ParseFollowerCheckpoint(SerializeFollowerCheckpoint(cp));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, cp);
}

TEST(FollowerCheckpointTest, RefusesDamageWithTheLineAndTheValue) {
  FollowerCheckpoint cp;
  cp.seq = 1;
  cp.entries.push_back({"/a", 1, 2, 30, 10, 7, 0});
  const std::string good = SerializeFollowerCheckpoint(cp);
  std::string flipped = good;
  flipped[flipped.find(" 30 ") + 1] = '4';
  EXPECT_THAT(ParseFollowerCheckpoint(flipped).status().message(), HasSubstr("checksum"));
  EXPECT_THAT(ParseFollowerCheckpoint(good.substr(0, good.size() - 3)).status().message(),
              HasSubstr("end"));
  EXPECT_THAT(ParseFollowerCheckpoint(good + "x").status().message(), HasSubstr("trailing"));
  EXPECT_THAT(ParseFollowerCheckpoint("hello\n").status().message(),
              HasSubstr("not a goalkeeper follower checkpoint: 'hello'"));
  std::string bad_head = good;
  bad_head.replace(bad_head.find(" 10 "), 4, " 257 ");
  EXPECT_THAT(ParseFollowerCheckpoint(bad_head).status().message(), HasSubstr("line 3: head_len"));
}

TEST(FollowerCheckpointTest, FuzzSeedsAreValidCheckpoints) {
  for (const char* name : {"empty", "two_streams", "binary_blob"}) {
    const std::string bytes = ReadFile(absl::StrCat(
        GOALKEEPER_SOURCE_DIR, "/tests/fuzz/corpus/follower_checkpoint_fuzzer/", name));
    ASSERT_FALSE(bytes.empty()) << name;
    absl::StatusOr<FollowerCheckpoint> cp = ParseFollowerCheckpoint(bytes);
    ASSERT_TRUE(cp.ok()) << name << ": " << cp.status();
    EXPECT_EQ(SerializeFollowerCheckpoint(*cp), bytes) << name;
  }
}

}  // namespace
}  // namespace goalkeeper::node
