// JournalFollower over real journal files written by the test (journal
// export format piped into systemd-journal-remote, no journald running):
// kernel entries only, their realtime kept, restarts from the checkpoint
// (also across kill -9 of tests/node/follower_harness.cc), rotation, a
// vacuumed cursor, damaged files, missing and machine-id directories.
//
// systemd-journal-remote keeps the trusted fields (_TRANSPORT, _BOOT_ID,
// __REALTIME_TIMESTAMP, ...) of the export stream it is given, so entries
// carry _TRANSPORT=kernel exactly as journald writes them.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/firewall_line.h"
#include "node/follower_checkpoint.h"
#include "node/journal_follower.h"
#include "tests/node/log_files.h"
#include "tests/testing/subprocess.h"

namespace goalkeeper::node {
namespace {

using ::goalkeeper::testing::ReadFile;
using ::goalkeeper::testing::Subprocess;
using ::goalkeeper::testing::TempDir;
using ::goalkeeper::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kBase = int64_t{1700000000} * 1000000;  // 2023-11-14T22:13:20Z in µs
constexpr char kMachineId[] = "4f1d3c2b5a6978800112233445566778";

struct Entry {
  int64_t realtime_usec;
  std::string message;
  std::string transport = "kernel";
};

// A kernel firewall message as the LOG target writes it (the journal has no
// "[uptime]" stamp: that is the syslog daemon's rendering).
std::string Tftp(int n, absl::string_view src = "192.0.2.23") {
  return absl::StrCat(
      "IPTables-TFTP-Rejected: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=",
      src, " DST=198.51.100.1 LEN=45 TOS=0x00 PREC=0x00 TTL=64 ID=", n,
      " DF PROTO=UDP SPT=40000 DPT=69 LEN=25");
}

std::string ExportOf(const std::vector<Entry>& entries) {
  std::string out;
  for (const Entry& e : entries) {
    absl::StrAppend(&out, "__REALTIME_TIMESTAMP=", e.realtime_usec, "\n",
                    "__MONOTONIC_TIMESTAMP=", e.realtime_usec - kBase + int64_t{100000} * 1000000,
                    "\n", "_BOOT_ID=0123456789abcdef0123456789abcdef\n", "_MACHINE_ID=", kMachineId,
                    "\n", "_HOSTNAME=node-1\n", "_TRANSPORT=", e.transport, "\n",
                    e.transport == "kernel" ? "SYSLOG_IDENTIFIER=kernel\nPRIORITY=4\n"
                                            : "SYSLOG_IDENTIFIER=sshd\nPRIORITY=6\n");
    // Binary field form (name, newline, 64-bit little-endian length, data):
    // exact bytes whatever they are.
    std::string len(8, '\0');
    uint64_t n = e.message.size();
    for (int i = 0; i < 8; ++i) {
      len[static_cast<size_t>(i)] = static_cast<char>(n & 0xff);
      n >>= 8;
    }
    absl::StrAppend(&out, "MESSAGE\n", len, e.message, "\n\n");
  }
  return out;
}

// Appends the entries to the journal file at `path` (created if missing).
void WriteJournal(const std::string& path, const std::vector<Entry>& entries) {
  const std::string cmd =
      absl::StrCat("/lib/systemd/systemd-journal-remote --output='", path, "' - 2>/dev/null");
  FILE* p = ::popen(cmd.c_str(), "w");
  ASSERT_NE(p, nullptr);
  const std::string bytes = ExportOf(entries);
  ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), p), bytes.size());
  ASSERT_EQ(::pclose(p), 0) << cmd;
}

std::vector<Entry> Kernel(int from, int to, int64_t step_usec = 1000000) {
  std::vector<Entry> out;
  for (int i = from; i <= to; ++i) out.push_back({kBase + i * step_usec, Tftp(i)});
  return out;
}

std::vector<std::string> Messages(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(Tftp(i));
  return out;
}

class JournalFollowerTest : public ::testing::Test {
 protected:
  JournalFollowerTest() : clock_(absl::FromUnixMicros(kBase + 600 * int64_t{1000000})) {
    journal_dir_ = dir_.path() + "/journal";
    ::mkdir(journal_dir_.c_str(), 0755);
    options_.directories = {journal_dir_};
    options_.checkpoint_path = dir_.path() + "/journal.ckpt";
    options_.catch_up_max_age = absl::Hours(1);
    options_.rescan_interval = absl::ZeroDuration();
  }

  std::unique_ptr<JournalFollower> OpenFollower() {
    absl::StatusOr<std::unique_ptr<JournalFollower>> f = JournalFollower::Open(options_, clock_);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? *std::move(f) : nullptr;
  }

  // Polls until nothing more comes (bounded), returning the messages.
  std::vector<std::string> Drain(JournalFollower& f, std::vector<int64_t>* times = nullptr) {
    std::vector<std::string> got;
    for (int i = 0; i < 1000; ++i) {
      PollResult r = f.Poll([&](const JournalLine& l) {
        got.emplace_back(l.message);
        if (times != nullptr) times->push_back(l.realtime_usec);
        EXPECT_FALSE(l.cursor.empty());
        return true;
      });
      if (!r.more) return got;
    }
    ADD_FAILURE() << "Poll still says more after 1000 calls";
    return got;
  }

  TempDir dir_;
  std::string journal_dir_;
  FakeClock clock_;
  JournalFollowerOptions options_;
};

TEST_F(JournalFollowerTest, DeliversOnlyKernelEntriesWithTheirRealtime) {
  const std::string v6 =
      "IPTables-TFTP-Rejected: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:86:dd "
      "SRC=2001:0db8:0000:0000:0000:0000:0000:0023 DST=2001:0db8:0000:0000:0000:0000:0000:0001 "
      "LEN=65 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=40001 DPT=69 LEN=25";
  const std::string nft =
      "nft tftp drop: IN=ens3 OUT= SRC=203.0.113.9 DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 "
      "TTL=52 ID=1 DF PROTO=TCP SPT=51515 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0";
  WriteJournal(journal_dir_ + "/system.journal",
               {{kBase + 1000001, Tftp(1)},
                {kBase + 2000002, "Accepted publickey for root from 192.0.2.1", "syslog"},
                {kBase + 3000003, v6},
                {kBase + 4000004, Tftp(99), "stdout"},
                {kBase + 5000005, nft}});
  std::unique_ptr<JournalFollower> f = OpenFollower();
  ASSERT_NE(f, nullptr);
  std::vector<int64_t> times;
  std::vector<std::string> got = Drain(*f, &times);
  ASSERT_THAT(got, ElementsAre(Tftp(1), v6, nft));
  EXPECT_THAT(times, ElementsAre(kBase + 1000001, kBase + 3000003, kBase + 5000005));

  struct Want {
    const char* src;
    const char* dst;
    const char* proto;
    uint16_t dpt;
  };
  const Want want[] = {{"192.0.2.23", "198.51.100.1", "UDP", 69},
                       {"2001:db8::23", "2001:db8::1", "UDP", 69},
                       {"203.0.113.9", "198.51.100.1", "TCP", 22}};
  for (size_t i = 0; i < got.size(); ++i) {
    FirewallLine line;
    ASSERT_EQ(ParseFirewallMessage(got[i], times[i], &line), FirewallLineStatus::kOk) << got[i];
    EXPECT_EQ(line.src.ToString(), want[i].src);
    EXPECT_EQ(line.dst.ToString(), want[i].dst);
    EXPECT_EQ(line.proto, want[i].proto);
    EXPECT_EQ(line.dpt, want[i].dpt);
    EXPECT_EQ(line.time, absl::FromUnixMicros(times[i]));
  }
  EXPECT_EQ(f->stats().entries, 3u);
  EXPECT_EQ(f->stats().files, 1u);
}

TEST_F(JournalFollowerTest, FirstStartCatchesUpFromNowMinusMaxAge) {
  clock_.Set(absl::FromUnixMicros(kBase) + absl::Hours(3));
  WriteJournal(journal_dir_ + "/system.journal",
               {{kBase, Tftp(1)},
                {kBase + 3600000000LL, Tftp(2)},
                {kBase + 2 * 3600000000LL + 1, Tftp(3)},
                {kBase + 2 * 3600000000LL + 1800000000LL, Tftp(4)}});
  std::unique_ptr<JournalFollower> f = OpenFollower();
  ASSERT_NE(f, nullptr);
  EXPECT_THAT(Drain(*f), ElementsAre(Tftp(3), Tftp(4)));
}

TEST_F(JournalFollowerTest, FollowsEntriesAppendedToAnOpenFile) {
  const std::string file = journal_dir_ + "/system.journal";
  WriteJournal(file, Kernel(1, 3));
  std::unique_ptr<JournalFollower> f = OpenFollower();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(Drain(*f), Messages(1, 3));
  EXPECT_THAT(Drain(*f), IsEmpty());
  WriteJournal(file, Kernel(4, 6));
  EXPECT_EQ(Drain(*f), Messages(4, 6));
  EXPECT_EQ(f->stats().reopens, 0u);
}

TEST_F(JournalFollowerTest, RestartFromTheCheckpointNeitherRepeatsNorMisses) {
  const std::string file = journal_dir_ + "/system.journal";
  WriteJournal(file, Kernel(1, 4));
  {
    std::unique_ptr<JournalFollower> f = OpenFollower();
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->restored_blob(), "");
    EXPECT_EQ(Drain(*f), Messages(1, 4));
    ASSERT_EQ(*f->Commit("state after 4"), 1u);
    WriteJournal(file, Kernel(5, 6));
    EXPECT_EQ(Drain(*f), Messages(5, 6));  // delivered, never committed
  }
  WriteJournal(file, Kernel(7, 8));
  {
    std::unique_ptr<JournalFollower> f = OpenFollower();
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->restored_blob(), "state after 4");
    EXPECT_EQ(f->restored_seq(), 1u);
    EXPECT_EQ(Drain(*f), Messages(5, 8));
    ASSERT_EQ(*f->Commit("state after 8"), 2u);
  }
  std::unique_ptr<JournalFollower> f = OpenFollower();
  ASSERT_NE(f, nullptr);
  EXPECT_THAT(Drain(*f), IsEmpty());
  EXPECT_EQ(f->stats().cursor_lost, 0u);
}

TEST_F(JournalFollowerTest, ACommitBeforeAnyEntryResumesAtTheCatchUpPoint) {
  {
    std::unique_ptr<JournalFollower> f = OpenFollower();
    ASSERT_NE(f, nullptr);
    EXPECT_THAT(Drain(*f), IsEmpty());
    ASSERT_TRUE(f->Commit("empty").ok());
  }
  // Written while the agent was down, just after the first start's catch-up
  // point (now - 1 h then), 80 minutes before the restart's "now".
  clock_.Advance(absl::Minutes(30));
  WriteJournal(journal_dir_ + "/system.journal", {{kBase - 3000000000LL + 1, Tftp(0)}});
  WriteJournal(journal_dir_ + "/system.journal", Kernel(1, 2));
  std::unique_ptr<JournalFollower> f = OpenFollower();
  ASSERT_NE(f, nullptr);
  EXPECT_THAT(Drain(*f), ElementsAre(Tftp(0), Tftp(1), Tftp(2)));
}

TEST_F(JournalFollowerTest, ARefusedEntryIsOfferedAgain) {
  WriteJournal(journal_dir_ + "/system.journal", Kernel(1, 3));
  std::unique_ptr<JournalFollower> f = OpenFollower();
  ASSERT_NE(f, nullptr);
  std::vector<std::string> got;
  PollResult r = f->Poll([&](const JournalLine& l) {
    if (got.size() == 1) return false;
    got.emplace_back(l.message);
    return true;
  });
  EXPECT_EQ(r.lines, 1u);
  EXPECT_TRUE(r.more);
  ASSERT_TRUE(f->Commit("1").ok());
  std::vector<std::string> rest = Drain(*f);
  EXPECT_EQ(rest, Messages(2, 3));
}

TEST_F(JournalFollowerTest, BoundsEntriesPerPollAndSkipsOverlongMessages) {
  options_.max_entries_per_poll = 2;
  options_.max_message_bytes = 300;
  std::vector<Entry> entries = Kernel(1, 5);
  entries.insert(entries.begin() + 2, {kBase + 2500000, Tftp(100) + std::string(400, 'x')});
  entries.push_back({kBase + 9000000, Tftp(101) + std::string(1 << 20, 'y')});  // 1 MiB
  entries.push_back({kBase + 9500000, Tftp(6)});
  WriteJournal(journal_dir_ + "/system.journal", entries);
  std::unique_ptr<JournalFollower> f = OpenFollower();
  ASSERT_NE(f, nullptr);
  std::vector<std::string> got;
  PollResult r = f->Poll([&](const JournalLine& l) {
    got.emplace_back(l.message);
    return true;
  });
  EXPECT_EQ(r.lines, 2u);
  EXPECT_TRUE(r.more);
  std::vector<std::string> rest = Drain(*f);
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got, Messages(1, 6));
  EXPECT_EQ(f->stats().overlong_entries, 2u);
}

// journald's rotation: system.journal archived as system@...journal, a new
// system.journal started; both are read once, in order.
TEST_F(JournalFollowerTest, SurvivesRotationIntoArchivedFiles) {
  const std::string live = journal_dir_ + "/system.journal";
  WriteJournal(live, Kernel(1, 3));
  std::unique_ptr<JournalFollower> f = OpenFollower();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(Drain(*f), Messages(1, 2 + 1));
  WriteJournal(live, Kernel(4, 5));  // written just before the rotation, not read yet
  const std::string archived =
      journal_dir_ +
      "/system@5db572c50336411d917b7ac3491c9b34-0000000000000001-00060a24181e4000.journal";
  ASSERT_EQ(::rename(live.c_str(), archived.c_str()), 0);
  WriteJournal(live, Kernel(6, 8));
  EXPECT_EQ(Drain(*f), Messages(4, 8));
  EXPECT_EQ(f->stats().files, 2u);
  EXPECT_GE(f->stats().reopens, 1u);
  ASSERT_TRUE(f->Commit("x").ok());
  // A second rotation while the agent is down.
  f.reset();
  ASSERT_EQ(::rename(live.c_str(), (journal_dir_ + "/system@2.journal").c_str()), 0);
  WriteJournal(live, Kernel(9, 10));
  f = OpenFollower();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(Drain(*f), Messages(9, 10));
  EXPECT_EQ(f->stats().files, 3u);
  EXPECT_EQ(f->stats().cursor_lost, 0u);
}

TEST_F(JournalFollowerTest, AVacuumedCursorFallsBackToItsTimeAndIsCounted) {
  const std::string archived = journal_dir_ + "/system@1.journal";
  const std::string live = journal_dir_ + "/system.journal";
  WriteJournal(archived, Kernel(1, 3));
  {
    std::unique_ptr<JournalFollower> f = OpenFollower();
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(Drain(*f), Messages(1, 3));
    ASSERT_TRUE(f->Commit("at 3").ok());
  }
  // The archive holding the checkpointed entry is vacuumed; the live file
  // has entries from before and after that entry's time.
  ASSERT_EQ(::unlink(archived.c_str()), 0);
  WriteJournal(live, {{kBase + 2 * 1000000, Tftp(20)},
                      {kBase + 3 * 1000000, Tftp(30)},
                      {kBase + 3 * 1000000 + 1, Tftp(31)},
                      {kBase + 4 * 1000000, Tftp(4)}});
  std::unique_ptr<JournalFollower> f = OpenFollower();
  ASSERT_NE(f, nullptr);
  EXPECT_THAT(Drain(*f), ElementsAre(Tftp(31), Tftp(4)));
  EXPECT_EQ(f->stats().cursor_lost, 1u);
  ASSERT_TRUE(f->Commit("at 4").ok());
  // The new cursor is good again.
  f = OpenFollower();
  ASSERT_NE(f, nullptr);
  EXPECT_THAT(Drain(*f), IsEmpty());
  EXPECT_EQ(f->stats().cursor_lost, 0u);
}

TEST_F(JournalFollowerTest, MissingAndEmptyDirectoriesAreFineAndWatched) {
  const std::string missing = dir_.path() + "/run/log/journal";
  options_.directories = {missing, journal_dir_};  // journal_dir_ exists, empty
  std::unique_ptr<JournalFollower> f = OpenFollower();
  ASSERT_NE(f, nullptr);
  EXPECT_THAT(Drain(*f), IsEmpty());
  EXPECT_THAT(f->Files(), IsEmpty());
  ASSERT_EQ(::system(absl::StrCat("mkdir -p '", missing, "'").c_str()), 0);
  WriteJournal(missing + "/system.journal", Kernel(1, 2));
  EXPECT_EQ(Drain(*f), Messages(1, 2));
  EXPECT_THAT(f->Files(), ElementsAre(missing + "/system.journal"));
}

// The host layout: <dir>/<machine-id>/system.journal in the persistent and
// the volatile directory; both are read, interleaved by time. Other
// subdirectories and user journals are not looked at.
TEST_F(JournalFollowerTest, ReadsMachineIdSubdirectoriesOfEveryDirectory) {
  const std::string persistent = journal_dir_ + "/" + kMachineId;
  const std::string volatile_dir = dir_.path() + "/run";
  const std::string volatile_sub = volatile_dir + "/" + kMachineId;
  ASSERT_EQ(::system(absl::StrCat("mkdir -p '", persistent, "' '", volatile_sub, "' '",
                                  journal_dir_, "/not-a-machine-id'")
                         .c_str()),
            0);
  options_.directories = {journal_dir_, volatile_dir};
  WriteJournal(persistent + "/system.journal", {{kBase + 1, Tftp(1)}, {kBase + 3, Tftp(3)}});
  WriteJournal(volatile_sub + "/system.journal", {{kBase + 2, Tftp(2)}, {kBase + 4, Tftp(4)}});
  WriteJournal(journal_dir_ + "/not-a-machine-id/system.journal", {{kBase + 5, Tftp(5)}});
  WriteJournal(persistent + "/user-1000.journal", {{kBase + 6, Tftp(6)}});
  std::unique_ptr<JournalFollower> f = OpenFollower();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(Drain(*f), Messages(1, 4));
  EXPECT_THAT(f->Files(),
              ElementsAre(persistent + "/system.journal", volatile_sub + "/system.journal"));
}

// Damaged files: random bytes, a truncated file, garbage appended, the tail
// of the used part overwritten (a crash mid-write). Never a crash or a
// stuck Poll; what libsystemd can read is read, refused files are counted.
TEST_F(JournalFollowerTest, SurvivesCorruptJournalFiles) {
  const std::string good = journal_dir_ + "/system.journal";
  WriteJournal(good, Kernel(1, 3));
  // Random bytes.
  std::mt19937 rng(7);
  std::string noise(200000, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  WriteFile(journal_dir_ + "/system@random.journal", noise);
  // A file cut after its first 64 KiB.
  const std::string cut = journal_dir_ + "/system@cut.journal";
  WriteJournal(cut, Kernel(10, 12));
  ASSERT_EQ(::truncate(cut.c_str(), 64 << 10), 0);
  // Garbage after the end of a good file.
  // (journald's name for a file it found damaged; journal-remote writes
  // only *.journal).
  const std::string appended = journal_dir_ + "/system@appended.journal~";
  WriteJournal(journal_dir_ + "/appended.journal", Kernel(20, 22));
  ASSERT_EQ(::rename((journal_dir_ + "/appended.journal").c_str(), appended.c_str()), 0);
  ::goalkeeper::testing::AppendTo(appended, noise);
  // The header says nothing.
  WriteFile(journal_dir_ + "/system@empty.journal", "");
  std::unique_ptr<JournalFollower> f = OpenFollower();
  ASSERT_NE(f, nullptr);
  std::vector<std::string> got = Drain(*f);
  // The good file and the one with garbage appended are read whole.
  std::vector<std::string> want = Messages(1, 3);
  for (const std::string& m : Messages(20, 22)) want.push_back(m);
  for (const std::string& m : want) {
    EXPECT_EQ(std::count(got.begin(), got.end(), m), 1) << m;
  }
  for (const std::string& m : got) {
    FirewallLine line;
    EXPECT_EQ(ParseFirewallMessage(m, kBase, &line), FirewallLineStatus::kOk) << m;
  }
  // Refused by libsystemd as a whole: the random bytes, the empty file and
  // the truncated one (its header promises more bytes than the file has).
  EXPECT_EQ(f->stats().bad_files, 3u);
  EXPECT_EQ(f->stats().files, 2u);
  const uint64_t bad = f->stats().bad_files;
  // Refused files are not retried (nor counted again) while unchanged.
  EXPECT_THAT(Drain(*f), IsEmpty());
  EXPECT_EQ(f->stats().bad_files, bad);
  WriteJournal(good, Kernel(30, 30));
  EXPECT_EQ(Drain(*f), Messages(30, 30));
}

TEST_F(JournalFollowerTest, ADamagedCheckpointIsRefusedNamingIt) {
  WriteFile(options_.checkpoint_path, "goalkeeper-follower-checkpoint v1\nseq x\n");
  absl::StatusOr<std::unique_ptr<JournalFollower>> f = JournalFollower::Open(options_, clock_);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(f.status().message(), HasSubstr(options_.checkpoint_path));
  // A file follower's checkpoint is not a journal position.
  FollowerCheckpoint cp;
  cp.seq = 3;
  WriteFile(options_.checkpoint_path, SerializeFollowerCheckpoint(cp));
  f = JournalFollower::Open(options_, clock_);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(f.status().message(), HasSubstr("no journal position"));
}

TEST(FollowerCheckpointTest, RoundTripsAJournalPosition) {
  FollowerCheckpoint cp;
  cp.seq = 9;
  cp.journal = JournalPosition{"s=5db5;i=1;b=0123;m=3e8;t=60a24181e4000;x=3ef7", kBase};
  cp.blob = "state";
  const std::string bytes = SerializeFollowerCheckpoint(cp);
  EXPECT_THAT(bytes, HasSubstr(absl::StrCat("\njournal ", kBase, " 733d")));
  absl::StatusOr<FollowerCheckpoint> back = ParseFollowerCheckpoint(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, cp);
  cp.journal = JournalPosition{"", -5};
  back = ParseFollowerCheckpoint(SerializeFollowerCheckpoint(cp));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, cp);
  EXPECT_THAT(ParseFollowerCheckpoint(
                  "goalkeeper-follower-checkpoint v1\nseq 1\njournal 5 XY\nblob 0\n\nend 0\n")
                  .status()
                  .message(),
              HasSubstr("checkpoint line 3: cursor is not '-' or 1..1024 bytes in lowercase hex"));
}

// The journal harness killed with SIGKILL at random points while batches of
// entries are appended and the journal rotates: its output holds every
// kernel message exactly once, in order.
TEST(JournalKillTest, EveryEntryExactlyOnceAcrossKillNineAndRotations) {
  TempDir tmp;
  const std::string logs = tmp.path() + "/journal";
  const std::string state = tmp.path() + "/state";
  ASSERT_EQ(::mkdir(logs.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(state.c_str(), 0755), 0);
  const std::string out = tmp.path() + "/out.txt";
  const std::string live = logs + "/system.journal";
  const std::vector<std::string> argv = {GOALKEEPER_FOLLOWER_HARNESS_BIN,
                                         "--dir",
                                         logs,
                                         "--state",
                                         state,
                                         "--out",
                                         out,
                                         "--source",
                                         "journal"};
  std::mt19937 rng(20261201);
  std::string expected;
  int written = 0;
  int kills = 0;
  int rotations = 0;
  const int64_t start_usec = absl::ToUnixMicros(absl::Now());
  auto harness = std::make_unique<Subprocess>(Subprocess::StartLogged(argv, tmp.path() + "/h.log"));
  for (int batch = 1; batch <= 60; ++batch) {
    std::vector<Entry> entries;
    const int n = 1 + static_cast<int>(rng() % 120);
    for (int i = 0; i < n; ++i) {
      ++written;
      entries.push_back({start_usec + written, Tftp(written)});
      absl::StrAppend(&expected, Tftp(written), "\n");
      if (rng() % 5 == 0) {
        entries.push_back({start_usec + written, "Accepted password for x", "syslog"});
      }
    }
    WriteJournal(live, entries);
    if (batch % 12 == 0) {
      ASSERT_EQ(::rename(live.c_str(), absl::StrCat(logs, "/system@", batch, ".journal").c_str()),
                0);
      ++rotations;
    }
    if (rng() % 2 == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 30));
      harness->Signal(SIGKILL);
      harness->Wait(std::chrono::seconds(10));
      ++kills;
      harness = std::make_unique<Subprocess>(Subprocess::StartLogged(argv, tmp.path() + "/h.log"));
    }
  }
  harness->Signal(SIGKILL);
  harness->Wait(std::chrono::seconds(10));
  std::vector<std::string> last = argv;
  last.push_back("--exit-when-idle-ms");
  last.push_back("1500");
  Subprocess final_run = Subprocess::StartLogged(last, tmp.path() + "/h.log");
  ::goalkeeper::testing::RunResult r = final_run.Wait(std::chrono::seconds(120));
  ASSERT_EQ(r.exit_code, 0) << ReadFile(tmp.path() + "/h.log");
  EXPECT_GE(kills, 15);
  EXPECT_EQ(rotations, 5);
  const std::string got = ReadFile(out);
  if (got != expected) {
    std::vector<std::string> g = absl::StrSplit(got, '\n');
    std::vector<std::string> e = absl::StrSplit(expected, '\n');
    size_t i = 0;
    while (i < g.size() && i < e.size() && g[i] == e[i]) ++i;
    FAIL() << "output differs at line " << i << ": got '" << (i < g.size() ? g[i] : "<end>")
           << "', expected '" << (i < e.size() ? e[i] : "<end>") << "' (" << g.size() << " vs "
           << e.size() << " lines, " << kills << " kills)";
  }
}

}  // namespace
}  // namespace goalkeeper::node
