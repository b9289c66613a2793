// `--version` on every binary and every command, as real processes: one line
// "NAME VERSION" on stdout (the project version from CMake), nothing on
// stderr, exit 0; no config, database or coordinator is touched.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace goalkeeper {
namespace {

using ::goalkeeper::testing::RunResult;

void ExpectVersion(const std::vector<std::string>& argv, const std::string& name) {
  RunResult r = ::goalkeeper::testing::Run(argv, std::chrono::seconds(30));
  std::string cmd;
  for (const std::string& a : argv) cmd += " " + a;
  EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.err;
  EXPECT_EQ(r.out, name + " " + GOALKEEPER_EXPECTED_VERSION + "\n") << cmd;
  EXPECT_EQ(r.err, "") << cmd;
}

TEST(VersionTest, EveryBinaryPrintsItsNameAndTheProjectVersion) {
  ExpectVersion({GOALKEEPER_COORDINATOR_BIN, "--version"}, "goalkeeper-coordinator");
  ExpectVersion({GOALKEEPER_NOTIFIER_BIN, "--version"}, "goalkeeper-notifier");
  ExpectVersion({GOALKEEPER_WORKER_BIN, "--version"}, "goalkeeper-worker");
  ExpectVersion({GOALKEEPER_CTL_BIN, "--version"}, "goalkeeperctl");
}

// Flags that would otherwise be checked or used (a config file that does not
// exist, an unreachable coordinator) do not matter: --version ends it first.
TEST(VersionTest, EveryCommandAcceptsVersionBeforeDoingAnything) {
  ExpectVersion({GOALKEEPER_COORDINATOR_BIN, "--config", "/nonexistent.yaml", "--version"},
                "goalkeeper-coordinator");
  ExpectVersion({GOALKEEPER_NOTIFIER_BIN, "--db", "/nonexistent/x.db", "--version"},
                "goalkeeper-notifier");
  ExpectVersion({GOALKEEPER_WORKER_BIN, "run", "--coordinator", "127.0.0.1:1", "--version"},
                "goalkeeper-worker");
  ExpectVersion({GOALKEEPER_WORKER_BIN, "scan", "--version"}, "goalkeeper-worker");
  ExpectVersion({GOALKEEPER_CTL_BIN, "--coordinator", "127.0.0.1:1", "--version"}, "goalkeeperctl");
  ExpectVersion({GOALKEEPER_CTL_BIN, "--coordinator", "127.0.0.1:1", "scan", "start", "--version"},
                "goalkeeperctl");
  ExpectVersion({GOALKEEPER_CTL_BIN, "workers", "list", "--version"}, "goalkeeperctl");
}

TEST(VersionTest, VersionGivenTwiceIsAUsageError) {
  RunResult r = ::goalkeeper::testing::Run({GOALKEEPER_COORDINATOR_BIN, "--version", "--version"},
                                           std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: --version given twice\n");
}

}  // namespace
}  // namespace goalkeeper
