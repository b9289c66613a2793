// `goalkeeper-worker node` as a real process against a real coordinator on
// loopback: a log that grows during the test yields a brute-force finding in
// the coordinator's store (and ListNodes, `goalkeeperctl nodes list`);
// kill -9 of the agent, again and again, while a writer appends and rotates
// (by rename, gzip'd, and by copytruncate) neither counts a line twice nor
// misses one (sources with exactly `threshold` hits are each found exactly
// once, sources with threshold-1 never); a killed agent goes silent and
// comes back. The agent, goalkeeperctl and the test's own channel reach the
// coordinator over mutual TLS (tests/testing/test_certs.h). Traffic goes
// only to 127.0.0.1.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "goalkeeper/v1/node.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/node/log_files.h"
#include "tests/testing/files.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_certs.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::goalkeeper::testing::AppendTo;
using ::goalkeeper::testing::ReadFile;
using ::goalkeeper::testing::RunResult;
using ::goalkeeper::testing::Subprocess;
using ::goalkeeper::testing::TestCerts;
using ::goalkeeper::testing::WithTls;
using ::goalkeeper::testing::WriteFile;
using ::testing::HasSubstr;

constexpr char kCoordinatorBin[] = GOALKEEPER_COORDINATOR_BIN;
constexpr char kWorkerBin[] = GOALKEEPER_WORKER_BIN;
constexpr char kCtlBin[] = GOALKEEPER_CTL_BIN;
constexpr char kNode[] = "node-it";

void SleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// A firewall line stamped now (RFC 3339, UTC).
std::string Hit(const std::string& src, int id) {
  return absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E6S+00:00", absl::Now(), absl::UTCTimeZone()),
      " node-1 kernel: [81234.567890] IPTables-TFTP-Rejected: IN=eth0 OUT= SRC=", src,
      " DST=198.51.100.1 LEN=45 TOS=0x00 PREC=0x00 TTL=64 ID=", id,
      " PROTO=UDP SPT=40000 DPT=69 LEN=25\n");
}

std::string Noise(int n) {
  return absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E6S+00:00", absl::Now(), absl::UTCTimeZone()),
      " node-1 systemd[1]: Started session ", n, " of user ops.\n");
}

class Coordinator {
 public:
  Coordinator(const std::string& config, std::string log) : log_(std::move(log)) {
    const size_t before = ReadFile(log_).size();
    process_.emplace(Subprocess::StartLogged(
        {kCoordinatorBin, "--config", config, "--listen", "127.0.0.1:0"}, log_));
    const std::string needle = "coordinator listening grpc=127.0.0.1:";
    for (int i = 0; i < 400; ++i) {
      const std::string text = ReadFile(log_).substr(before);
      if (size_t at = text.find(needle); at != std::string::npos) {
        port_ = std::stoi(text.substr(at + needle.size()));
        channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
        return;
      }
      if (process_->Exited()) break;
      SleepMs(50);
    }
    throw std::runtime_error("coordinator did not start:\n" + ReadFile(log_));
  }
  ~Coordinator() {
    process_->Signal(SIGKILL);
    process_->Wait(std::chrono::seconds(10));
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  std::optional<v1::NodeInfo> Node(const std::string& name) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ListNodesResponse resp;
    grpc::Status s = v1::NodeService::NewStub(channel_)->ListNodes(&ctx, {}, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const v1::NodeInfo& n : resp.nodes()) {
      if (n.name() == name) return n;
    }
    return std::nullopt;
  }

 private:
  std::string log_;
  std::optional<Subprocess> process_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// The node findings the coordinator stored (read from its database file).
std::vector<v1::NodeFinding> StoredFindings(const std::string& db_path) {
  std::vector<v1::NodeFinding> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return out;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT payload FROM node_findings WHERE node = ?", -1, &st,
                         nullptr) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, kNode, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
      v1::NodeFinding f;
      const void* p = sqlite3_column_blob(st, 0);
      const int n = sqlite3_column_bytes(st, 0);
      if (p != nullptr && f.ParseFromArray(p, n)) out.push_back(f);
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

std::map<std::string, int> BruteForceCounts(const std::vector<v1::NodeFinding>& fs) {
  std::map<std::string, int> out;
  for (const v1::NodeFinding& f : fs) {
    if (f.has_brute_force()) ++out[f.brute_force().source()];
  }
  return out;
}

class NodeAgentProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/node-agent-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(std::system(("rm -rf " + dir_ + " && mkdir -p " + dir_ + "/log " + dir_ +
                           "/proc/net " + dir_ + "/ckpt")
                              .c_str()),
              0);
    log_ = dir_ + "/log/kern.log";
    AppendTo(log_, "");
    const std::string header =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n";
    WriteFile(dir_ + "/proc/net/tcp",
              header +
                  "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000   "
                  "  0        0 18311 1 0000000000000000 100 0 0 10 0\n");
    WriteFile(dir_ + "/proc/net/tcp6", header);
    WriteFile(dir_ + "/coordinator.yaml",
              absl::StrCat("db: ", dir_, "/coordinator.db\n", "metrics_listen: 127.0.0.1:0\n",
                           "nodes: {silence_after_intervals: 2}\n",
                           TestCerts::Get().DaemonYaml("coordinator")));
  }

  void WriteAgentConfig(int threshold) {
    WriteFile(dir_ + "/node.yaml",
              absl::StrCat("checkpoint_dir: ", dir_, "/ckpt\n", "heartbeat_interval: 1s\n",
                           "rules:\n", "  - name: tftp\n", "    sources: [", log_, "]\n",
                           "    prefix: \"IPTables-TFTP-Rejected: \"\n", "    proto: udp\n",
                           "    ports: [69]\n", "    window: 1h\n", "    threshold: ", threshold,
                           "\n", "    quiet: 7d\n", "listeners:\n", "  interval: 1s\n"));
  }

  std::unique_ptr<Coordinator> StartCoordinator() {
    return std::make_unique<Coordinator>(dir_ + "/coordinator.yaml", dir_ + "/coordinator.log");
  }

  Subprocess StartAgent(const Coordinator& c) {
    return Subprocess::StartLogged(
        WithTls({kWorkerBin, "node", "--coordinator", c.address(), "--config", dir_ + "/node.yaml",
                 "--node-name", kNode, "--proc-root", dir_ + "/proc"},
                "node-agent"),
        dir_ + "/agent.log");
  }

  // Waits (up to `seconds`) for `done`.
  template <typename Fn>
  bool WaitFor(int seconds, Fn done) {
    for (int i = 0; i < seconds * 10; ++i) {
      if (done()) return true;
      SleepMs(100);
    }
    return done();
  }

  std::string dir_;
  std::string log_;
};

TEST_F(NodeAgentProcessTest, AGrowingLogYieldsABruteForceFindingInTheCoordinatorsStore) {
  WriteAgentConfig(5);
  auto coordinator = StartCoordinator();
  Subprocess agent = StartAgent(*coordinator);
  ASSERT_TRUE(WaitFor(20, [&] { return coordinator->Node(kNode).has_value(); }))
      << ReadFile(dir_ + "/agent.log");
  // The listener on 0.0.0.0:8080 of the fixture.
  ASSERT_TRUE(WaitFor(20, [&] {
    for (const v1::NodeFinding& f : StoredFindings(dir_ + "/coordinator.db")) {
      if (f.has_listener_appeared() && f.listener_appeared().port() == 8080) return true;
    }
    return false;
  })) << ReadFile(dir_ + "/agent.log");
  // The log grows: four hits, noise, then the fifth.
  for (int i = 0; i < 4; ++i) {
    AppendTo(log_, Hit("192.0.2.50", i) + Noise(i));
    SleepMs(150);
  }
  SleepMs(1500);
  EXPECT_EQ(BruteForceCounts(StoredFindings(dir_ + "/coordinator.db")).count("192.0.2.50"), 0u);
  AppendTo(log_, Hit("192.0.2.50", 5));
  ASSERT_TRUE(WaitFor(20, [&] {
    return BruteForceCounts(StoredFindings(dir_ + "/coordinator.db")).count("192.0.2.50") > 0;
  })) << ReadFile(dir_ + "/agent.log");
  for (const v1::NodeFinding& f : StoredFindings(dir_ + "/coordinator.db")) {
    if (!f.has_brute_force()) continue;
    EXPECT_EQ(f.brute_force().rule(), "tftp");
    EXPECT_EQ(f.brute_force().hits_in_window(), 5u);
    ASSERT_EQ(f.brute_force().ports_size(), 1);
    EXPECT_EQ(f.brute_force().ports(0).protocol(), "udp");
    EXPECT_EQ(f.brute_force().ports(0).port(), 69u);
  }
  std::optional<v1::NodeInfo> info = coordinator->Node(kNode);
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->silent());
  EXPECT_EQ(info->heartbeat_seconds(), 1u);
  EXPECT_GE(info->open_findings(), 2u);
  RunResult ctl = goalkeeper::testing::Run(
      WithTls({kCtlBin, "--coordinator", coordinator->address(), "nodes", "list"}, "admin"));
  ASSERT_EQ(ctl.exit_code, 0) << ctl.err;
  EXPECT_THAT(ctl.out, HasSubstr(kNode));

  agent.Signal(SIGTERM);
  RunResult r = agent.Wait(std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 0) << ReadFile(dir_ + "/agent.log");
  EXPECT_THAT(ReadFile(dir_ + "/agent.log"), HasSubstr("node agent stopped"));
}

TEST_F(NodeAgentProcessTest, KillNineMidFileAndMidRotationCountsEveryLineExactlyOnce) {
  constexpr int kThreshold = 4;
  constexpr int kSources = 24;  // of each kind
  WriteAgentConfig(kThreshold);
  auto coordinator = StartCoordinator();
  // The lines: every "good" source exactly kThreshold hits, every "bad" one
  // kThreshold-1, shuffled, with noise between.
  std::vector<std::string> lines;
  std::set<std::string> good;
  for (int s = 0; s < kSources; ++s) {
    const std::string g = absl::StrCat("198.51.100.", s + 1);
    const std::string b = absl::StrCat("203.0.113.", s + 1);
    good.insert(g);
    for (int i = 0; i < kThreshold; ++i) lines.push_back(g);
    for (int i = 0; i < kThreshold - 1; ++i) lines.push_back(b);
  }
  std::mt19937 rng(20261201);
  std::shuffle(lines.begin(), lines.end(), rng);

  std::optional<Subprocess> agent(StartAgent(*coordinator));
  int kills = 0;
  std::uniform_int_distribution<int> pause(100, 600);
  size_t next = 0;
  int rotations = 0;
  int renames = 0;
  while (next < lines.size()) {
    // A burst of lines (through the file's own descriptor, as a logger).
    std::string burst;
    for (int k = 0; k < 6 && next < lines.size(); ++k, ++next) {
      burst += Hit(lines[next], static_cast<int>(next));
      for (int n = 0; n < 20; ++n) burst += Noise(static_cast<int>(next * 100 + n));
    }
    // A partial last line now and then, completed by the next burst.
    if (next % 4 == 0 && next < lines.size()) {
      const std::string h = Hit(lines[next], static_cast<int>(next));
      ++next;
      AppendTo(log_, burst + h.substr(0, h.size() / 2));
      SleepMs(pause(rng) / 4);
      AppendTo(log_, h.substr(h.size() / 2));
    } else {
      AppendTo(log_, burst);
    }
    const int event = static_cast<int>(next / 6) % 5;
    if (event == 1) {
      // Every other rename also compresses the previous rotation (.2.gz).
      goalkeeper::testing::RotateByRename(log_, /*gzip_second=*/renames++ % 2 == 1);
      AppendTo(log_, Noise(-1));
      ++rotations;
    } else if (event == 3) {
      goalkeeper::testing::RotateByCopyTruncate(log_);
      ++rotations;
    }
    SleepMs(pause(rng));
    // Kill -9: sometimes right after a rotation, sometimes mid-file.
    if (next % 12 < 6 || event == 1) {
      agent->Signal(SIGKILL);
      agent->Wait(std::chrono::seconds(10));
      ++kills;
      agent.emplace(StartAgent(*coordinator));
    }
  }
  EXPECT_GE(kills, 10);
  EXPECT_GE(rotations, 8);
  // Let the last agent catch up, then stay quiet a while: nothing more comes.
  ASSERT_TRUE(WaitFor(60, [&] {
    return BruteForceCounts(StoredFindings(dir_ + "/coordinator.db")).size() >= good.size();
  })) << ReadFile(dir_ + "/agent.log");
  SleepMs(4000);
  std::map<std::string, int> counts = BruteForceCounts(StoredFindings(dir_ + "/coordinator.db"));
  for (const std::string& g : good) {
    EXPECT_EQ(counts[g], 1) << g << " must be found exactly once";
  }
  for (const auto& [src, n] : counts) {
    EXPECT_TRUE(good.count(src)) << src << " has threshold-1 hits and was found " << n
                                 << " times: a line was counted twice";
  }
  agent->Signal(SIGTERM);
  EXPECT_EQ(agent->Wait(std::chrono::seconds(20)).exit_code, 0);
}

TEST_F(NodeAgentProcessTest, AKilledAgentGoesSilentAndReturns) {
  WriteAgentConfig(10);
  auto coordinator = StartCoordinator();
  std::optional<Subprocess> agent(StartAgent(*coordinator));
  ASSERT_TRUE(WaitFor(20, [&] {
    std::optional<v1::NodeInfo> n = coordinator->Node(kNode);
    return n.has_value() && !n->silent();
  })) << ReadFile(dir_ + "/agent.log");
  agent->Signal(SIGKILL);
  agent->Wait(std::chrono::seconds(10));
  // Two intervals of 1 s, checked every second.
  ASSERT_TRUE(WaitFor(20, [&] {
    std::optional<v1::NodeInfo> n = coordinator->Node(kNode);
    return n.has_value() && n->silent();
  })) << ReadFile(dir_ + "/coordinator.log");
  RunResult ctl = goalkeeper::testing::Run(
      WithTls({kCtlBin, "--coordinator", coordinator->address(), "nodes", "list"}, "admin"));
  ASSERT_EQ(ctl.exit_code, 0) << ctl.err;
  EXPECT_THAT(ctl.out, ::testing::ContainsRegex(std::string(kNode) + " .* silent"));
  agent.emplace(StartAgent(*coordinator));
  ASSERT_TRUE(WaitFor(20, [&] {
    std::optional<v1::NodeInfo> n = coordinator->Node(kNode);
    return n.has_value() && !n->silent();
  })) << ReadFile(dir_ + "/agent.log");
  std::vector<v1::NodeFinding> fs = StoredFindings(dir_ + "/coordinator.db");
  EXPECT_TRUE(std::any_of(fs.begin(), fs.end(),
                          [](const v1::NodeFinding& f) { return f.has_agent_silent(); }));
  EXPECT_TRUE(std::any_of(fs.begin(), fs.end(),
                          [](const v1::NodeFinding& f) { return f.has_agent_returned(); }));
  agent->Signal(SIGTERM);
  EXPECT_EQ(agent->Wait(std::chrono::seconds(20)).exit_code, 0);
}

// A second agent on the same checkpoint directory (the pod replacing another
// one's during a node-pool relabel) waits until the first has exited, then
// takes over; told to stop while waiting, it exits 0.
TEST_F(NodeAgentProcessTest, ASecondAgentWaitsForTheFirstToReleaseTheCheckpointDir) {
  WriteAgentConfig(10);
  auto coordinator = StartCoordinator();
  Subprocess first = StartAgent(*coordinator);
  ASSERT_TRUE(WaitFor(20, [&] { return coordinator->Node(kNode).has_value(); }))
      << ReadFile(dir_ + "/agent.log");
  Subprocess waiting = Subprocess::StartLogged(
      WithTls({kWorkerBin, "node", "--coordinator", coordinator->address(), "--config",
               dir_ + "/node.yaml", "--node-name", kNode, "--proc-root", dir_ + "/proc"},
              "node-agent"),
      dir_ + "/second.log");
  ASSERT_TRUE(WaitFor(20, [&] {
    return absl::StrContains(ReadFile(dir_ + "/second.log"),
                             "is in use by another agent (pid " + std::to_string(first.pid()));
  })) << ReadFile(dir_ + "/second.log");
  SleepMs(1500);
  EXPECT_FALSE(waiting.Exited());
  EXPECT_FALSE(absl::StrContains(ReadFile(dir_ + "/second.log"), "node agent started"));
  first.Signal(SIGTERM);
  EXPECT_EQ(first.Wait(std::chrono::seconds(20)).exit_code, 0);
  ASSERT_TRUE(WaitFor(20, [&] {
    return absl::StrContains(ReadFile(dir_ + "/second.log"), "node agent started");
  })) << ReadFile(dir_ + "/second.log");
  Subprocess third = Subprocess::StartLogged(
      WithTls({kWorkerBin, "node", "--coordinator", coordinator->address(), "--config",
               dir_ + "/node.yaml", "--node-name", kNode, "--proc-root", dir_ + "/proc"},
              "node-agent"),
      dir_ + "/third.log");
  ASSERT_TRUE(WaitFor(20, [&] {
    return absl::StrContains(ReadFile(dir_ + "/third.log"), "is in use by another agent");
  })) << ReadFile(dir_ + "/third.log");
  third.Signal(SIGTERM);
  EXPECT_EQ(third.Wait(std::chrono::seconds(20)).exit_code, 0);
  EXPECT_TRUE(absl::StrContains(ReadFile(dir_ + "/third.log"), "stopped before it started"));
  waiting.Signal(SIGTERM);
  EXPECT_EQ(waiting.Wait(std::chrono::seconds(20)).exit_code, 0);
}

TEST_F(NodeAgentProcessTest, BadFlagsAndConfigsExitTwoWithOneLineNamingTheValue) {
  WriteAgentConfig(5);
  const std::string cfg = dir_ + "/node.yaml";
  struct Case {
    std::vector<std::string> args;
    std::string error;
  } cases[] = {
      {{"--config", cfg}, "error: --coordinator is required (or set GOALKEEPER_COORDINATOR)\n"},
      {{"--coordinator", "127.0.0.1:70000", "--config", cfg}, "error: --coordinator: "},
      {{"--coordinator", "127.0.0.1:1", "--config", dir_ + "/none.yaml"},
       "error: --config: cannot read config file '" + dir_ + "/none.yaml'"},
      {{"--coordinator", "127.0.0.1:1", "--config", cfg, "--node-labels", "role"},
       "error: --node-labels: 'role' is not key=value (in 'role')\n"},
      {{"--coordinator", "127.0.0.1:1", "--config", cfg, "--node-name", "a b"},
       "error: --node-name: 'a b' is not 1..253 bytes of [A-Za-z0-9._-]"},
      {{"--coordinator", "127.0.0.1:1", "--config", cfg, "--threshold", "3"},
       "error: unknown flag --threshold"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = WithTls({kWorkerBin, "node"}, "node-agent");
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    RunResult r = goalkeeper::testing::Run(argv);
    EXPECT_EQ(r.exit_code, 2) << c.error;
    EXPECT_THAT(r.err, ::testing::StartsWith(c.error));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  WriteFile(cfg, "rules:\n  - {name: x, sources: [journal], prefix: p, window: ten}\n");
  RunResult r = goalkeeper::testing::Run(
      WithTls({kWorkerBin, "node", "--coordinator", "127.0.0.1:1", "--config", cfg}, "node-agent"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: " + cfg +
                       ":2: rules[0].window: expected a duration 1s..7d (e.g. 10m), got 'ten'\n");
  // Nothing was created.
  EXPECT_EQ(ReadFile(dir_ + "/ckpt/spool.db"), "");
}

TEST_F(NodeAgentProcessTest, CheckConfigPrintsThisNodesPolicyAndTouchesNothing) {
  WriteFile(dir_ + "/node.yaml",
            absl::StrCat("checkpoint_dir: ", dir_, "/fresh\n",
                         "listeners:\n  allowed_ports: [22]\n  node_policies:\n"
                         "    - {selector: {role: web}, allowed_ports: [22, 443]}\n"));
  ::setenv("NODE_NAME", "node-from-env", 1);
  ::setenv("NODE_LABELS", "role=web,zone=a", 1);
  RunResult r =
      goalkeeper::testing::Run(WithTls({kWorkerBin, "node", "--check-config", "--coordinator",
                                        "127.0.0.1:1", "--config", dir_ + "/node.yaml"},
                                       "node-agent"));
  ::unsetenv("NODE_NAME");
  ::unsetenv("NODE_LABELS");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("node-name: \"node-from-env\"\n"));
  EXPECT_THAT(r.out, HasSubstr("node-labels: \"role=web,zone=a\"\n"));
  EXPECT_THAT(r.out, HasSubstr("  allowed_ports: [22, 443]\n"));
  EXPECT_THAT(r.out, HasSubstr("    sources: [\"/var/log/kern.log\"]\n"));
  struct stat st;
  EXPECT_NE(::stat((dir_ + "/fresh").c_str(), &st), 0) << "--check-config created the directory";
}

}  // namespace
}  // namespace goalkeeper
