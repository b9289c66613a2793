// The follower as a real process killed with SIGKILL at random points while
// a writer appends (lines split across writes) and rotates by rename (with
// gzip'd older rotations) and by copytruncate: after restarts, the output of
// tests/node/follower_harness.cc holds every written line exactly once, in
// order.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/node/log_files.h"
#include "tests/testing/subprocess.h"

namespace goalkeeper::node {
namespace {

using ::goalkeeper::testing::AppendTo;
using ::goalkeeper::testing::ReadFile;
using ::goalkeeper::testing::RotateByCopyTruncate;
using ::goalkeeper::testing::RotateByRename;
using ::goalkeeper::testing::Subprocess;
using ::goalkeeper::testing::TempDir;

TEST(FollowerKillTest, EveryLineExactlyOnceAcrossKillNineAndRotations) {
  TempDir tmp;
  const std::string logs = tmp.path() + "/logs";
  const std::string state = tmp.path() + "/state";
  ASSERT_EQ(::mkdir(logs.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(state.c_str(), 0755), 0);
  const std::string out = tmp.path() + "/out.txt";
  const std::string log = logs + "/app.log";
  const std::vector<std::string> argv = {
      GOALKEEPER_FOLLOWER_HARNESS_BIN, "--dir", logs, "--state", state, "--out", out};
  std::mt19937 rng(20261201);
  std::string expected;
  int written = 0;
  int kills = 0;
  int renames = 0;
  int truncates = 0;
  int chunks = 0;
  const auto start = std::chrono::steady_clock::now();
  auto harness = std::make_unique<Subprocess>(Subprocess::StartLogged(argv, tmp.path() + "/h.log"));
  auto next_kill = start + std::chrono::milliseconds(20 + rng() % 60);
  while (written < 6000) {
    // A few lines, sometimes the last one cut in two writes.
    const int n = 1 + static_cast<int>(rng() % 25);
    std::string chunk;
    for (int i = 0; i < n; ++i) {
      ++written;
      absl::StrAppend(&chunk, "line ", written, " ", std::string(rng() % 80, 'p'), "\n");
    }
    expected += chunk;
    if (rng() % 4 == 0) {
      const size_t cut = chunk.size() - 1 - rng() % 5;
      AppendTo(log, chunk.substr(0, cut));
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 4));
      AppendTo(log, chunk.substr(cut));
    } else {
      AppendTo(log, chunk);
    }
    // Every 35th chunk a rotation: by rename, by rename with the older one
    // gzip'd, by copytruncate, in turn.
    ++chunks;
    if (chunks % 35 == 0) {
      const int kind = (chunks / 35) % 3;
      if (kind == 2) {
        RotateByCopyTruncate(log);
        ++truncates;
      } else {
        RotateByRename(log, /*gzip_second=*/kind == 1);
        ++renames;
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
    if (std::chrono::steady_clock::now() >= next_kill) {
      harness->Signal(SIGKILL);
      harness->Wait(std::chrono::seconds(10));
      ++kills;
      if (rng() % 3 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 50));
      harness = std::make_unique<Subprocess>(Subprocess::StartLogged(argv, tmp.path() + "/h.log"));
      next_kill = std::chrono::steady_clock::now() + std::chrono::milliseconds(5 + rng() % 60);
    }
  }
  harness->Signal(SIGKILL);
  harness->Wait(std::chrono::seconds(10));
  // A last life that reads what is left and exits once idle.
  std::vector<std::string> last = argv;
  last.push_back("--exit-when-idle-ms");
  last.push_back("1500");
  Subprocess final_run = Subprocess::StartLogged(last, tmp.path() + "/h.log");
  ::goalkeeper::testing::RunResult r = final_run.Wait(std::chrono::seconds(120));
  ASSERT_EQ(r.exit_code, 0) << ReadFile(tmp.path() + "/h.log");
  EXPECT_GE(kills, 10);
  EXPECT_GE(renames, 3);
  EXPECT_GE(truncates, 3);
  const std::string got = ReadFile(out);
  if (got != expected) {
    // Name the first line that differs rather than printing megabytes.
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
