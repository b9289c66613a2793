// The node agent's loop (node/agent.h) with a fake coordinator client, a
// fake clock and real files: findings spooled once, sent and acknowledged,
// heartbeats without findings, retries with backoff that lose nothing,
// listeners appearing and going, the per-label policy, back-pressure of a
// full spool, and restarts that report nothing again.
#include "node/agent.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/node/log_files.h"

namespace goalkeeper::node {
namespace {

namespace v1 = goalkeeper::v1;
using ::goalkeeper::testing::AppendTo;
using ::goalkeeper::testing::TempDir;
using ::goalkeeper::testing::WriteFile;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const absl::Time kStart = absl::FromUnixSeconds(1796137200);  // 2026-12-01T15:00:00Z

// The coordinator: stores each id once, acknowledges every id of a report.
class FakeNodeClient : public NodeReportClient {
 public:
  absl::StatusOr<v1::NodeReportAck> Report(const v1::NodeReport& report) override {
    reports.push_back(report);
    if (fail) return absl::UnavailableError("connection refused");
    v1::NodeReportAck ack;
    for (const v1::NodeFinding& f : report.findings()) {
      if (stored.insert(f.id()).second) findings.push_back(f);
      ack.add_stored_ids(f.id());
    }
    return ack;
  }
  std::vector<v1::NodeReport> reports;
  std::vector<v1::NodeFinding> findings;  // each id once
  std::set<std::string> stored;
  bool fail = false;
};

// A firewall line of the TFTP rule at kStart + second, RFC 3339.
std::string Hit(int second, const std::string& src) {
  return absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%S.000000+00:00",
                                       kStart + absl::Seconds(second), absl::UTCTimeZone()),
                      " node-1 kernel: [81234.567890] IPTables-TFTP-Rejected: IN=eth0 OUT= "
                      "SRC=",
                      src,
                      " DST=198.51.100.1 LEN=45 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=UDP "
                      "SPT=40000 DPT=69 LEN=25\n");
}

std::string TcpRow(int slot, const std::string& addr_hex, int port) {
  return absl::StrFormat(
      "  %2d: %s:%04X %s:0000 0A 00000000:00000000 00:00000000 00000000     0        0 %d 1 "
      "0000000000000000 100 0 0 10 0\n",
      slot, addr_hex, port, std::string(addr_hex.size(), '0'), 1000 + slot);
}

constexpr char kProcHeader[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    "timeout inode\n";
constexpr char kV4Any[] = "00000000";
constexpr char kV6Any[] = "00000000000000000000000000000000";

std::vector<std::string> BruteForceSources(const std::vector<v1::NodeFinding>& fs) {
  std::vector<std::string> out;
  for (const v1::NodeFinding& f : fs) {
    if (f.has_brute_force()) out.push_back(f.brute_force().source());
  }
  return out;
}

std::vector<std::string> ListenerEvents(const std::vector<v1::NodeFinding>& fs) {
  std::vector<std::string> out;
  for (const v1::NodeFinding& f : fs) {
    if (f.has_listener_appeared()) {
      out.push_back(absl::StrCat("+", f.listener_appeared().protocol(), " ",
                                 f.listener_appeared().address(), ":",
                                 f.listener_appeared().port()));
    }
    if (f.has_listener_gone()) {
      out.push_back(absl::StrCat("-", f.listener_gone().protocol(), " ",
                                 f.listener_gone().address(), ":", f.listener_gone().port()));
    }
  }
  return out;
}

class NodeAgentTest : public ::testing::Test {
 protected:
  NodeAgentTest() : clock_(kStart) {
    log_ = dir_.path() + "/kern.log";
    ckpt_ = dir_.path() + "/ckpt";
    proc_ = dir_.path() + "/proc";
    ::mkdir(ckpt_.c_str(), 0755);
    ::mkdir(proc_.c_str(), 0755);
    ::mkdir((proc_ + "/net").c_str(), 0755);
    AppendTo(log_, "");
    SetTcp({});
    WriteFile(proc_ + "/net/tcp6", kProcHeader);
    options_.node = "node-1";
    options_.agent_version = "test";
    options_.proc_root = proc_;
    options_.config.checkpoint_dir = ckpt_;
    FirewallRuleSpec rule = DefaultFirewallRule();
    rule.name = "tftp";
    rule.sources = {log_};
    rule.threshold = 3;
    options_.config.rules = {rule};
    options_.config.listeners.interval = absl::Seconds(60);
  }

  void SetTcp(const std::vector<int>& ports_on_any) {
    std::string text = kProcHeader;
    int slot = 0;
    for (int p : ports_on_any) text += TcpRow(slot++, kV4Any, p);
    text += TcpRow(slot++, "0100007F", 5432);  // loopback: never reported
    WriteFile(proc_ + "/net/tcp", text);
  }

  std::unique_ptr<NodeAgent> Start(NodeReportClient& client) {
    absl::StatusOr<std::unique_ptr<NodeAgent>> a = NodeAgent::Create(options_, clock_, client);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *std::move(a) : nullptr;
  }

  void Step(NodeAgent& a) {
    absl::Status s = a.Step();
    ASSERT_TRUE(s.ok()) << s;
  }

  TempDir dir_;
  FakeClock clock_;
  std::string log_, ckpt_, proc_;
  NodeAgentOptions options_;
};

TEST_F(NodeAgentTest, ASourceCrossingTheThresholdIsSentOnceAndAcknowledged) {
  FakeNodeClient client;
  std::unique_ptr<NodeAgent> agent = Start(client);
  AppendTo(log_, Hit(1, "192.0.2.23") + Hit(2, "192.0.2.23") + Hit(3, "192.0.2.99") +
                     Hit(4, "192.0.2.23") + Hit(5, "192.0.2.99"));
  Step(*agent);
  ASSERT_EQ(client.reports.size(), 1u);
  const v1::NodeReport& r = client.reports[0];
  EXPECT_EQ(r.node(), "node-1");
  EXPECT_EQ(r.agent_version(), "test");
  EXPECT_EQ(r.heartbeat_seconds(), 60u);
  ASSERT_EQ(r.findings_size(), 1);
  const v1::BruteForceSource& b = r.findings(0).brute_force();
  EXPECT_EQ(b.rule(), "tftp");
  EXPECT_EQ(b.source(), "192.0.2.23");
  EXPECT_EQ(b.hits_in_window(), 3u);
  EXPECT_EQ(b.first_seen_unix_ms(), absl::ToUnixMillis(kStart + absl::Seconds(1)));
  EXPECT_EQ(b.last_seen_unix_ms(), absl::ToUnixMillis(kStart + absl::Seconds(4)));
  ASSERT_EQ(b.ports_size(), 1);
  EXPECT_EQ(b.ports(0).protocol(), "udp");
  EXPECT_EQ(b.ports(0).port(), 69u);
  EXPECT_EQ(r.findings(0).id(), agent->FindingId(1));
  EXPECT_EQ(agent->spool().records(), 0);  // acknowledged, forgotten

  // More hits of the reported source: not again; the heartbeat is not due.
  AppendTo(log_, Hit(6, "192.0.2.23") + Hit(7, "192.0.2.23"));
  clock_.Advance(absl::Seconds(1));
  Step(*agent);
  EXPECT_EQ(client.reports.size(), 1u);
  // The other source crosses: sent at once, not at the next heartbeat.
  AppendTo(log_, Hit(8, "192.0.2.99"));
  clock_.Advance(absl::Seconds(1));
  Step(*agent);
  ASSERT_EQ(client.reports.size(), 2u);
  EXPECT_THAT(BruteForceSources(client.findings), UnorderedElementsAre("192.0.2.23", "192.0.2.99"));
  EXPECT_EQ(agent->stats().hits, 8u);
}

// Two agents never share a checkpoint directory: the second is told who
// holds it, and gets it once the first is gone.
TEST_F(NodeAgentTest, ASecondAgentOnTheSameCheckpointDirIsRefusedUntilTheFirstIsGone) {
  FakeNodeClient client;
  std::unique_ptr<NodeAgent> first = Start(client);
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::unique_ptr<NodeAgent>> second = NodeAgent::Create(options_, clock_, client);
  ASSERT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
  EXPECT_THAT(second.status().message(),
              HasSubstr(absl::StrCat("is in use by another agent (pid ", getpid(), ")")));
  first.reset();
  second = NodeAgent::Create(options_, clock_, client);
  EXPECT_TRUE(second.ok()) << second.status();
}

TEST_F(NodeAgentTest, HeartbeatsEveryIntervalWithoutFindings) {
  options_.config.rules.clear();
  options_.config.heartbeat_interval = absl::Seconds(30);
  FakeNodeClient client;
  std::unique_ptr<NodeAgent> agent = Start(client);
  Step(*agent);
  ASSERT_EQ(client.reports.size(), 1u);
  EXPECT_EQ(client.reports[0].findings_size(), 0);
  EXPECT_EQ(client.reports[0].heartbeat_seconds(), 30u);
  clock_.Advance(absl::Seconds(29));
  Step(*agent);
  EXPECT_EQ(client.reports.size(), 1u);
  clock_.Advance(absl::Seconds(1));
  Step(*agent);
  EXPECT_EQ(client.reports.size(), 2u);
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(absl::Seconds(30));
    Step(*agent);
  }
  EXPECT_EQ(client.reports.size(), 12u);
}

TEST_F(NodeAgentTest, FailedReportsAreRetriedWithCappedBackoffAndTheSameIds) {
  FakeNodeClient client;
  client.fail = true;
  std::unique_ptr<NodeAgent> agent = Start(client);
  AppendTo(log_, Hit(1, "192.0.2.23") + Hit(2, "192.0.2.23") + Hit(3, "192.0.2.23"));
  Step(*agent);
  ASSERT_EQ(client.reports.size(), 1u);
  // The first retry waits at least half of kMinBackoff.
  clock_.Advance(absl::Milliseconds(499));
  Step(*agent);
  EXPECT_EQ(client.reports.size(), 1u);
  // Ten minutes of steps every 100 ms while the coordinator is down:
  // doubling waits capped at 60 s (at least 30 s with jitter) make at most
  // about 7 + 600/30 attempts, and at least 600/60.
  for (int i = 0; i < 6000; ++i) {
    clock_.Advance(absl::Milliseconds(100));
    Step(*agent);
  }
  const size_t attempts = client.reports.size();
  EXPECT_GE(attempts, 10u);
  EXPECT_LE(attempts, 28u);
  for (const v1::NodeReport& r : client.reports) {
    ASSERT_EQ(r.findings_size(), 1);
    EXPECT_EQ(r.findings(0).id(), client.reports[0].findings(0).id());
  }
  EXPECT_EQ(agent->spool().records(), 1);
  client.fail = false;
  clock_.Advance(kMaxBackoff);
  Step(*agent);
  ASSERT_EQ(client.findings.size(), 1u);
  EXPECT_EQ(client.findings[0].id(), client.reports[0].findings(0).id());
  EXPECT_EQ(agent->spool().records(), 0);
  EXPECT_EQ(agent->stats().report_failures, attempts);
}

TEST_F(NodeAgentTest, ARestartReportsNothingAgainAndSendsWhatWasNotAcknowledged) {
  SetTcp({22, 8080});
  options_.config.listeners.policy.allowed_ports = {22};
  std::string unacked_id;
  {
    FakeNodeClient client;
    std::unique_ptr<NodeAgent> agent = Start(client);
    AppendTo(log_, Hit(1, "192.0.2.23") + Hit(2, "192.0.2.23") + Hit(3, "192.0.2.23"));
    Step(*agent);
    EXPECT_THAT(BruteForceSources(client.findings), UnorderedElementsAre("192.0.2.23"));
    EXPECT_THAT(ListenerEvents(client.findings), UnorderedElementsAre("+tcp 0.0.0.0:8080"));
    // A second source crosses while the coordinator is down; then the agent stops.
    client.fail = true;
    AppendTo(log_, Hit(4, "192.0.2.24") + Hit(5, "192.0.2.24") + Hit(6, "192.0.2.24"));
    clock_.Advance(absl::Seconds(1));
    Step(*agent);
    ASSERT_EQ(client.reports.back().findings_size(), 1);
    unacked_id = client.reports.back().findings(0).id();
  }
  FakeNodeClient client;
  std::unique_ptr<NodeAgent> agent = Start(client);
  AppendTo(log_, Hit(7, "192.0.2.23"));  // the reported source: no new finding
  clock_.Advance(absl::Seconds(61));
  Step(*agent);
  ASSERT_EQ(client.reports.size(), 1u);
  ASSERT_EQ(client.findings.size(), 1u);
  EXPECT_EQ(client.findings[0].id(), unacked_id);
  EXPECT_EQ(client.findings[0].brute_force().source(), "192.0.2.24");
  clock_.Advance(absl::Seconds(61));
  Step(*agent);
  EXPECT_EQ(client.findings.size(), 1u);  // the listener set was kept too
}

TEST_F(NodeAgentTest, ListenersAreReportedWhenTheyAppearAndWhenTheyGo) {
  SetTcp({22, 8080});
  WriteFile(proc_ + "/net/tcp6", std::string(kProcHeader) + TcpRow(0, kV6Any, 6379) +
                                     TcpRow(1, "0000000000000000FFFF00000A00000A", 9000));
  options_.config.listeners.policy.allowed_ports = {22};
  FakeNodeClient client;
  std::unique_ptr<NodeAgent> agent = Start(client);
  Step(*agent);
  EXPECT_THAT(ListenerEvents(client.findings),
              UnorderedElementsAre("+tcp 0.0.0.0:8080", "+tcp :::6379", "+tcp 10.0.0.10:9000"));
  client.findings.clear();
  SetTcp({22});
  clock_.Advance(absl::Seconds(30));  // not yet the interval
  Step(*agent);
  EXPECT_TRUE(client.findings.empty());
  clock_.Advance(absl::Seconds(30));
  Step(*agent);
  EXPECT_THAT(ListenerEvents(client.findings), UnorderedElementsAre("-tcp 0.0.0.0:8080"));
  // An unreadable table skips the round: nothing "gone".
  client.findings.clear();
  ASSERT_EQ(::unlink((proc_ + "/net/tcp").c_str()), 0);
  clock_.Advance(absl::Seconds(60));
  Step(*agent);
  EXPECT_TRUE(client.findings.empty());
  EXPECT_EQ(agent->stats().listener_scan_errors, 1u);
}

TEST_F(NodeAgentTest, ManyFindingsGoInReportsOfAtMost500) {
  std::vector<int> ports;
  for (int p = 20000; p < 21200; ++p) ports.push_back(p);
  SetTcp(ports);
  FakeNodeClient client;
  std::unique_ptr<NodeAgent> agent = Start(client);
  Step(*agent);
  Step(*agent);
  Step(*agent);
  ASSERT_EQ(client.reports.size(), 3u);
  EXPECT_EQ(client.reports[0].findings_size(), kMaxFindingsPerReport);
  EXPECT_EQ(client.reports[1].findings_size(), kMaxFindingsPerReport);
  EXPECT_EQ(client.reports[2].findings_size(), 200);
  EXPECT_EQ(client.findings.size(), 1200u);
  EXPECT_EQ(agent->spool().records(), 0);
  Step(*agent);
  EXPECT_EQ(client.reports.size(), 3u);  // the rest waits for the heartbeat
}

TEST_F(NodeAgentTest, TheFirstNodePolicyMatchingTheLabelsDecides) {
  SetTcp({22, 80, 8080});
  options_.config.listeners.policy.allowed_ports = {22};
  options_.config.listeners.node_policies = {
      {.selector = {{"role", "web"}}, .allowed_ports = {22, 80}, .exclude_ports = {}},
      {.selector = {}, .allowed_ports = {22, 8080}, .exclude_ports = {}}};
  options_.labels = {{"role", "web"}, {"zone", "a"}};
  {
    FakeNodeClient client;
    std::unique_ptr<NodeAgent> agent = Start(client);
    Step(*agent);
    EXPECT_THAT(ListenerEvents(client.findings), UnorderedElementsAre("+tcp 0.0.0.0:8080"));
  }
  // Another node (another directory): the catch-all second policy.
  options_.labels = {{"role", "db"}};
  options_.config.checkpoint_dir = dir_.path();
  FakeNodeClient client;
  std::unique_ptr<NodeAgent> agent = Start(client);
  Step(*agent);
  EXPECT_THAT(ListenerEvents(client.findings), UnorderedElementsAre("+tcp 0.0.0.0:80"));
}

TEST_F(NodeAgentTest, AFullSpoolHoldsTheLogBackAndLosesNothing) {
  options_.spool.path = ckpt_ + "/spool.db";
  options_.spool.max_records = 2;
  FakeNodeClient client;
  client.fail = true;
  std::unique_ptr<NodeAgent> agent = Start(client);
  std::string lines;
  for (int src = 1; src <= 5; ++src) {
    for (int i = 0; i < 3; ++i) lines += Hit(src * 3 + i, absl::StrCat("192.0.2.", src));
  }
  AppendTo(log_, lines);
  Step(*agent);
  EXPECT_EQ(agent->spool().records(), 2);
  EXPECT_GT(agent->stats().backpressure, 0u);
  client.fail = false;
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(kMaxBackoff);
    Step(*agent);
  }
  EXPECT_THAT(
      BruteForceSources(client.findings),
      UnorderedElementsAre("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"));
  EXPECT_EQ(agent->stats().hits, 15u);  // every line counted once
}

// A LineSource whose checkpoint the test sets: the journal seam, and the
// replay of a batch committed but not spooled.
class FakeSource : public LineSource {
 public:
  struct Shared {
    std::string blob;
    uint64_t seq = 0;
    std::vector<std::pair<std::string, int64_t>> lines;  // message, realtime_usec
  };
  explicit FakeSource(Shared* shared) : shared_(shared) {}
  const std::string& restored_blob() const override { return shared_->blob; }
  uint64_t restored_seq() const override { return shared_->seq; }
  PollResult Poll(const SourceLineCallback& on_line) override {
    PollResult r;
    while (!shared_->lines.empty()) {
      const auto& [text, usec] = shared_->lines.front();
      if (!on_line(SourceLine{text, usec})) break;
      shared_->lines.erase(shared_->lines.begin());
      ++r.lines;
    }
    return r;
  }
  absl::StatusOr<uint64_t> Commit(absl::string_view blob) override {
    if (crash_after_commit) {
      shared_->blob = std::string(blob);
      shared_->seq += 1;
      return absl::InternalError("killed after the commit");
    }
    shared_->blob = std::string(blob);
    return ++shared_->seq;
  }
  bool crash_after_commit = false;

 private:
  Shared* shared_;
};

TEST_F(NodeAgentTest, JournalLinesUseTheirOwnStampAndACommittedBatchIsSpooledOnce) {
  FakeSource::Shared shared;
  bool crash = true;
  std::string opened_path;
  options_.config.rules[0].sources = {"journal"};
  options_.journal = [&](const std::string& path, absl::Duration) {
    opened_path = path;
    auto s = std::make_unique<FakeSource>(&shared);
    s->crash_after_commit = crash;
    return absl::StatusOr<std::unique_ptr<LineSource>>(std::move(s));
  };
  const std::string msg =
      "IPTables-TFTP-Rejected: IN=eth0 OUT= SRC=2001:db8::7 DST=2001:db8::1 LEN=65 TC=0 "
      "HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=40000 DPT=69 LEN=25";
  const int64_t usec = absl::ToUnixMicros(kStart - absl::Minutes(1));
  for (int i = 0; i < 3; ++i) shared.lines.push_back({msg, usec + i});
  {
    FakeNodeClient client;
    client.fail = true;
    std::unique_ptr<NodeAgent> agent = Start(client);
    EXPECT_EQ(opened_path, ckpt_ + "/rule-tftp.journal.ckpt");
    // The commit lands, then the agent "dies" before spooling.
    EXPECT_FALSE(agent->Step().ok());
    EXPECT_EQ(agent->spool().records(), 0);
  }
  ASSERT_EQ(shared.seq, 1u);
  crash = false;
  for (int restart = 0; restart < 2; ++restart) {
    FakeNodeClient client;
    std::unique_ptr<NodeAgent> agent = Start(client);
    EXPECT_EQ(agent->spool().records(), 1) << "replayed once, restart " << restart;
  }
  FakeNodeClient client;
  std::unique_ptr<NodeAgent> agent = Start(client);
  Step(*agent);
  ASSERT_EQ(client.findings.size(), 1u);
  const v1::BruteForceSource& b = client.findings[0].brute_force();
  EXPECT_EQ(b.source(), "2001:db8::7");
  EXPECT_EQ(b.first_seen_unix_ms(), absl::ToUnixMillis(kStart - absl::Minutes(1)));
}

TEST_F(NodeAgentTest, IdsOfASpoolCreatedAgainDoNotRepeatOldOnes) {
  std::string first;
  {
    FakeNodeClient client;
    std::unique_ptr<NodeAgent> agent = Start(client);
    first = agent->FindingId(1);
  }
  ASSERT_EQ(std::system(("rm -rf " + ckpt_ + " && mkdir " + ckpt_).c_str()), 0);
  FakeNodeClient client;
  std::unique_ptr<NodeAgent> agent = Start(client);
  EXPECT_NE(agent->FindingId(1), first);
  EXPECT_THAT(first, ::testing::MatchesRegex("[0-9a-f]{16}-1"));
}

// Kernel entries in the journal export format (binary MESSAGE field), for
// systemd-journal-remote, which keeps the trusted fields it is given.
std::string JournalExport(const std::vector<std::pair<int64_t, std::string>>& entries) {
  std::string out;
  for (const auto& [usec, message] : entries) {
    absl::StrAppend(&out, "__REALTIME_TIMESTAMP=", usec, "\n__MONOTONIC_TIMESTAMP=", usec / 1000,
                    "\n_BOOT_ID=0123456789abcdef0123456789abcdef\n"
                    "_MACHINE_ID=4f1d3c2b5a6978800112233445566778\n_HOSTNAME=node-1\n"
                    "_TRANSPORT=kernel\nSYSLOG_IDENTIFIER=kernel\nPRIORITY=4\nMESSAGE\n");
    uint64_t n = message.size();
    for (int i = 0; i < 8; ++i, n >>= 8) out.push_back(static_cast<char>(n & 0xff));
    absl::StrAppend(&out, message, "\n\n");
  }
  return out;
}

TEST_F(NodeAgentTest, AJournalSourceIsReadWithItsOwnStampsAndNotReportedAgainAfterARestart) {
  const std::string journal_dir = dir_.path() + "/journal";
  ASSERT_EQ(::mkdir(journal_dir.c_str(), 0755), 0);
  options_.config.journal_directories = {journal_dir};
  options_.config.rules[0].sources = {"journal"};
  const std::string msg =
      "IPTables-TFTP-Rejected: IN=eth0 OUT= SRC=2001:db8::9 DST=2001:db8::1 LEN=65 TC=0 "
      "HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=40000 DPT=69 LEN=25";
  const int64_t usec = absl::ToUnixMicros(kStart - absl::Minutes(2));
  const std::string cmd = absl::StrCat("/lib/systemd/systemd-journal-remote --output='",
                                       journal_dir, "/system.journal' - 2>/dev/null");
  FILE* p = ::popen(cmd.c_str(), "w");
  ASSERT_NE(p, nullptr);
  const std::string bytes =
      JournalExport({{usec, msg}, {usec + 1000000, msg}, {usec + 2000000, msg}});
  ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), p), bytes.size());
  ASSERT_EQ(::pclose(p), 0) << cmd;
  {
    FakeNodeClient client;
    std::unique_ptr<NodeAgent> agent = Start(client);
    Step(*agent);
    ASSERT_EQ(client.findings.size(), 1u);
    const v1::BruteForceSource& b = client.findings[0].brute_force();
    EXPECT_EQ(b.source(), "2001:db8::9");
    EXPECT_EQ(b.hits_in_window(), 3u);
    EXPECT_EQ(b.first_seen_unix_ms(), usec / 1000);
    EXPECT_EQ(b.last_seen_unix_ms(), usec / 1000 + 2000);
  }
  FakeNodeClient client;
  std::unique_ptr<NodeAgent> agent = Start(client);
  clock_.Advance(absl::Seconds(61));
  Step(*agent);
  EXPECT_TRUE(client.findings.empty());
  EXPECT_EQ(agent->stats().lines, 0u);  // the cursor was kept
}

TEST(SourceBlobTest, RoundTripsAndRefusesDamage) {
  SourceBlob b{"agg\0state", {"one", std::string("t\0wo", 4)}};
  const std::string bytes = SerializeSourceBlob(b);
  absl::StatusOr<SourceBlob> back = ParseSourceBlob(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->aggregator, b.aggregator);
  EXPECT_EQ(back->pending, b.pending);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(ParseSourceBlob(bytes.substr(0, cut)).ok()) << cut;
  }
  EXPECT_FALSE(ParseSourceBlob(bytes + "x").ok());
}

}  // namespace
}  // namespace goalkeeper::node

namespace goalkeeper::node {
namespace {

TEST(ListenerStateTest, RoundTripsAndNamesABadLine) {
  std::vector<Listener> ls = {
      {.protocol = SocketProtocol::kTcp, .address = *IpAddress::Parse("0.0.0.0"), .port = 22},
      {.protocol = SocketProtocol::kUdp, .address = *IpAddress::Parse("::"), .port = 53}};
  const std::string text = SerializeListenerState(ls);
  EXPECT_EQ(text, "tcp 0.0.0.0 22\nudp :: 53\n");
  absl::StatusOr<std::vector<Listener>> back = ParseListenerState(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, ls);
  EXPECT_EQ(ParseListenerState("tcp 0.0.0.0 70000\n").status().message(),
            "listener state: bad line 'tcp 0.0.0.0 70000'");
}

}  // namespace
}  // namespace goalkeeper::node
