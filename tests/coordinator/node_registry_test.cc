// The NodeRegistry over a real NodeStore file with a FakeClock: silence is
// raised once after 3 heartbeat intervals and cleared (with a message) when
// the node reports again, retried reports are stored once, bounds name the
// field, state survives reopening, and a v3 database migrates to v4.
#include "coordinator/node_registry.h"

#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "coordinator/scan_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kStart = 1'800'000'000;

v1::NodeFinding BruteForce(const std::string& id, const std::string& source) {
  v1::NodeFinding f;
  f.set_id(id);
  f.set_observed_unix_ms(kStart * 1000);
  v1::BruteForceSource* b = f.mutable_brute_force();
  b->set_rule("tftp");
  b->set_source(source);
  b->set_hits_in_window(42);
  b->set_first_seen_unix_ms(kStart * 1000 - 60000);
  b->set_last_seen_unix_ms(kStart * 1000);
  v1::ProtoPort* p = b->add_ports();
  p->set_protocol("udp");
  p->set_port(69);
  b->add_ports()->set_protocol("icmp");
  return f;
}

v1::NodeFinding Listener(const std::string& id, bool appeared, uint32_t port) {
  v1::NodeFinding f;
  f.set_id(id);
  v1::Listener* l = appeared ? f.mutable_listener_appeared() : f.mutable_listener_gone();
  l->set_protocol("tcp");
  l->set_address("0.0.0.0");
  l->set_port(port);
  return f;
}

v1::NodeReport Heartbeat(const std::string& node, uint32_t seconds = 60) {
  v1::NodeReport r;
  r.set_node(node);
  r.set_agent_version("goalkeeper-worker 1.4.0");
  r.set_heartbeat_seconds(seconds);
  return r;
}

class NodeRegistryTest : public ::testing::Test {
 protected:
  NodeRegistryTest() : clock_(absl::FromUnixSeconds(kStart)) {
    db_ = ::testing::TempDir() + "/nodes-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) unlink((db_ + suffix).c_str());
    Open();
  }

  void Open(NodesConfig config = {}) {
    registry_.reset();
    store_.reset();
    auto s = NodeStore::Open(db_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    registry_ = std::make_unique<NodeRegistry>(*store_, clock_, config);
    ASSERT_TRUE(registry_->Load().ok());
  }

  v1::NodeInfo Node(const std::string& name) {
    auto list = registry_->ListNodes();
    EXPECT_TRUE(list.ok()) << list.status();
    for (const v1::NodeInfo& n : list->nodes()) {
      if (n.name() == name) return n;
    }
    ADD_FAILURE() << "no node " << name;
    return {};
  }

  // The kinds of the node's stored findings, oldest first.
  std::vector<std::string> Kinds(const std::string& node) {
    auto rows = store_->LoadFindings(node);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::string> out;
    for (const NodeFindingRow& r : *rows) {
      out.push_back(NodeFindingKindName(static_cast<NodeFindingKind>(r.finding.kind_case())));
    }
    return out;
  }

  std::string db_;
  FakeClock clock_;
  std::unique_ptr<NodeStore> store_;
  std::unique_ptr<NodeRegistry> registry_;
};

TEST_F(NodeRegistryTest, SilenceIsRaisedOnceAfterThreeIntervalsAndClearedWhenTheNodeReturns) {
  ASSERT_TRUE(registry_->Report(Heartbeat("node-a")).ok());
  ASSERT_TRUE(registry_->Report(Heartbeat("node-b")).ok());
  clock_.Advance(absl::Seconds(180));  // exactly 3 intervals: not yet
  ASSERT_TRUE(registry_->Report(Heartbeat("node-b")).ok());
  EXPECT_EQ(*registry_->CheckSilence(), 0);
  EXPECT_FALSE(Node("node-a").silent());

  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(*registry_->CheckSilence(), 1);
  v1::NodeInfo a = Node("node-a");
  EXPECT_TRUE(a.silent());
  EXPECT_EQ(a.silent_since_unix_ms(), (kStart + 181) * 1000);
  EXPECT_EQ(a.last_report_unix_ms(), kStart * 1000);
  EXPECT_FALSE(Node("node-b").silent());

  // Staying silent raises nothing more.
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(absl::Minutes(10));
    ASSERT_TRUE(registry_->Report(Heartbeat("node-b")).ok());
    EXPECT_EQ(*registry_->CheckSilence(), 0);
  }
  EXPECT_THAT(Kinds("node-a"), ElementsAre("agent_silent"));
  auto rows = store_->LoadFindings("node-a");
  ASSERT_TRUE(rows.ok());
  const v1::AgentSilence& silent = (*rows)[0].finding.agent_silent();
  EXPECT_EQ(silent.last_report_unix_ms(), kStart * 1000);
  EXPECT_EQ(silent.heartbeat_seconds(), 60u);
  EXPECT_EQ(silent.silence_after_intervals(), 3u);

  // It returns: cleared, with an agent_returned finding.
  ASSERT_TRUE(registry_->Report(Heartbeat("node-a")).ok());
  a = Node("node-a");
  EXPECT_FALSE(a.silent());
  EXPECT_EQ(a.silent_since_unix_ms(), 0);
  EXPECT_EQ(a.open_findings(), 2u);
  EXPECT_THAT(Kinds("node-a"), ElementsAre("agent_silent", "agent_returned"));
  rows = store_->LoadFindings("node-a");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[1].finding.agent_returned().returned_unix_ms(),
            absl::ToUnixMillis(clock_.Now()));
  EXPECT_EQ((*rows)[1].finding.agent_returned().silent_since_unix_ms(), (kStart + 181) * 1000);
  EXPECT_EQ(*registry_->CheckSilence(), 0);

  // A second silence is a second alarm.
  clock_.Advance(absl::Seconds(181));
  ASSERT_TRUE(registry_->Report(Heartbeat("node-b")).ok());
  EXPECT_EQ(*registry_->CheckSilence(), 1);
  EXPECT_THAT(Kinds("node-a"), ElementsAre("agent_silent", "agent_returned", "agent_silent"));
  auto gauges = registry_->Gauges();
  ASSERT_EQ(gauges.size(), 2u);
  EXPECT_EQ(gauges[0].name, "node-a");
  EXPECT_TRUE(gauges[0].silent);
  EXPECT_FALSE(gauges[1].silent);
}

TEST_F(NodeRegistryTest, SilenceFollowsTheIntervalOfTheLastReportAndTheConfiguredCount) {
  Open(NodesConfig{1});
  ASSERT_TRUE(registry_->Report(Heartbeat("n", 600)).ok());
  clock_.Advance(absl::Seconds(300));
  ASSERT_TRUE(registry_->Report(Heartbeat("n", 10)).ok());  // now promises 10 s
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(*registry_->CheckSilence(), 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(*registry_->CheckSilence(), 1);
}

TEST_F(NodeRegistryTest, ARetriedReportIsAcknowledgedAgainAndStoredOnce) {
  v1::NodeReport r = Heartbeat("node-a");
  *r.add_findings() = BruteForce("bf-1", "192.0.2.23");
  *r.add_findings() = Listener("ls-1", true, 2049);
  auto ack = registry_->Report(r);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_THAT(ack->stored_ids(), ElementsAre("bf-1", "ls-1"));
  clock_.Advance(absl::Seconds(5));
  // The same report again (its ack was lost), plus one new finding.
  *r.add_findings() = Listener("ls-2", false, 2049);
  ack = registry_->Report(r);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_THAT(ack->stored_ids(), ElementsAre("bf-1", "ls-1", "ls-2"));
  EXPECT_THAT(Kinds("node-a"), ElementsAre("brute_force", "listener_appeared", "listener_gone"));
  auto rows = store_->LoadFindings("node-a");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].received_ms, kStart * 1000) << "the first copy is kept";
  EXPECT_EQ((*rows)[0].finding.brute_force().ports(0).port(), 69u);
  EXPECT_FALSE((*rows)[0].finding.brute_force().ports(1).has_port());
  EXPECT_EQ(Node("node-a").open_findings(), 3u);
  // The same id on another node is another finding.
  v1::NodeReport other = Heartbeat("node-b");
  *other.add_findings() = BruteForce("bf-1", "192.0.2.23");
  ASSERT_TRUE(registry_->Report(other).ok());
  EXPECT_EQ(Node("node-b").open_findings(), 1u);
  // Delivered findings are no longer open.
  ASSERT_TRUE(store_->MarkDelivered("node-a", "bf-1", kStart * 1000).ok());
  EXPECT_EQ(Node("node-a").open_findings(), 2u);
  auto due = store_->Undelivered(10);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 3u);
  EXPECT_EQ((*due)[0].finding.id(), "ls-1");
  EXPECT_EQ((*due)[2].node, "node-b");
  due = store_->Undelivered(1);
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(due->size(), 1u);
}

TEST_F(NodeRegistryTest, OutOfBoundsReportsNameTheFieldAndStoreNothing) {
  struct Case {
    std::function<void(v1::NodeReport&)> mutate;
    std::string error;
  };
  const std::string long_name(254, 'a');
  const std::vector<Case> cases = {
      {[](v1::NodeReport& r) { r.set_node(""); }, "node: must not be empty"},
      {[&](v1::NodeReport& r) { r.set_node(long_name); }, "node: 'aaaa"},
      {[](v1::NodeReport& r) { r.set_node("a b"); }, "node: 'a b' (3 bytes) must be 1-253 bytes"},
      {[](v1::NodeReport& r) { r.set_agent_version(std::string(65, 'v')); },
       "agent_version: 'vvvv"},
      {[](v1::NodeReport& r) { r.set_agent_version("1.0\x1b[31m"); },
       "agent_version: '1.0\\x1b[31m' (8 bytes) must be at most 64 bytes of printable ASCII"},
      {[](v1::NodeReport& r) { r.set_heartbeat_seconds(0); },
       "heartbeat_seconds: 0 is not 1..86400"},
      {[](v1::NodeReport& r) { r.set_heartbeat_seconds(86401); },
       "heartbeat_seconds: 86401 is not 1..86400"},
      {[](v1::NodeReport& r) { r.add_findings()->set_id("x"); },
       "findings[0]: has no kind (brute_force, listener_appeared or listener_gone)"},
      {[](v1::NodeReport& r) { *r.add_findings() = BruteForce("", "192.0.2.1"); },
       "findings[0].id: must not be empty"},
      {[](v1::NodeReport& r) { *r.add_findings() = BruteForce("a/b", "192.0.2.1"); },
       "findings[0].id: 'a/b' (3 bytes) must be 1-128 bytes"},
      {[](v1::NodeReport& r) { *r.add_findings() = BruteForce(std::string(129, 'i'), "x"); },
       "findings[0].id: 'iiii"},
      {[](v1::NodeReport& r) {
         *r.add_findings() = BruteForce("a", "192.0.2.1");
         *r.add_findings() = BruteForce("a", "192.0.2.2");
       },
       "findings[1].id: 'a' is given twice in the report"},
      {[](v1::NodeReport& r) { *r.add_findings() = BruteForce("a", std::string(65, '1')); },
       "findings[0].brute_force.source: '1111"},
      {[](v1::NodeReport& r) { *r.add_findings() = BruteForce("a", "192.0.2.1\n"); },
       "findings[0].brute_force.source: '192.0.2.1\\x0a'"},
      {[](v1::NodeReport& r) {
         v1::NodeFinding f = BruteForce("a", "192.0.2.1");
         f.mutable_brute_force()->set_rule("");
         *r.add_findings() = f;
       },
       "findings[0].brute_force.rule: must not be empty"},
      {[](v1::NodeReport& r) {
         v1::NodeFinding f = BruteForce("a", "192.0.2.1");
         f.mutable_brute_force()->set_hits_in_window(0);
         *r.add_findings() = f;
       },
       "findings[0].brute_force.hits_in_window: must be at least 1"},
      {[](v1::NodeReport& r) {
         v1::NodeFinding f = BruteForce("a", "192.0.2.1");
         for (int i = 0; i < 64; ++i) f.mutable_brute_force()->add_ports()->set_protocol("tcp");
         *r.add_findings() = f;
       },
       "findings[0].brute_force.ports: 66 ports, at most 64"},
      {[](v1::NodeReport& r) {
         v1::NodeFinding f = BruteForce("a", "192.0.2.1");
         f.mutable_brute_force()->mutable_ports(0)->set_port(70000);
         *r.add_findings() = f;
       },
       "findings[0].brute_force.ports[0].port: 70000 is not a port (1-65535)"},
      {[](v1::NodeReport& r) {
         v1::NodeFinding f = BruteForce("a", "192.0.2.1");
         f.mutable_brute_force()->set_first_seen_unix_ms(kStart * 1000 + 1);
         *r.add_findings() = f;
       },
       "findings[0].brute_force.first_seen_unix_ms: 1800000000001 is after last_seen_unix_ms"},
      {[](v1::NodeReport& r) { *r.add_findings() = Listener("l", true, 0); },
       "findings[0].listener_appeared.port: 0 is not a port (1-65535)"},
      {[](v1::NodeReport& r) {
         v1::NodeFinding f = Listener("l", false, 22);
         f.mutable_listener_gone()->set_protocol("sctp");
         *r.add_findings() = f;
       },
       "findings[0].listener_gone.protocol: 'sctp' is not tcp or udp"},
      {[](v1::NodeReport& r) {
         v1::NodeFinding* f = r.add_findings();
         f->set_id("s");
         f->mutable_agent_silent();
       },
       "findings[0]: agent_silent is raised by the coordinator, never reported"},
  };
  for (const Case& c : cases) {
    v1::NodeReport r = Heartbeat("node-a");
    c.mutate(r);
    auto ack = registry_->Report(r);
    ASSERT_FALSE(ack.ok()) << c.error;
    EXPECT_EQ(ack.status().code(), absl::StatusCode::kInvalidArgument) << ack.status();
    EXPECT_THAT(std::string(ack.status().message()), HasSubstr(c.error));
  }
  // Too many findings: send them in several reports.
  v1::NodeReport big = Heartbeat("node-a");
  for (int i = 0; i < 501; ++i) *big.add_findings() = Listener(absl::StrCat("l", i), true, 22);
  auto ack = registry_->Report(big);
  EXPECT_EQ(ack.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ack.status().message(),
            "findings: 501 in one report, at most 500: send them in several reports");
  big.mutable_findings()->RemoveLast();
  EXPECT_TRUE(registry_->Report(big).ok()) << "500 is within bounds";
  auto list = registry_->ListNodes();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->nodes_size(), 1) << "no refused report stored a node";
  EXPECT_EQ(list->nodes(0).open_findings(), 500u);
}

TEST_F(NodeRegistryTest, NodesAndFindingsSurviveReopeningAndSilenceRestartsItsClock) {
  v1::NodeReport r = Heartbeat("node-a");
  *r.add_findings() = BruteForce("bf-1", "2001:db8:1:2::/64");
  ASSERT_TRUE(registry_->Report(r).ok());
  ASSERT_TRUE(registry_->Report(Heartbeat("node-b")).ok());
  clock_.Advance(absl::Seconds(181));
  ASSERT_TRUE(registry_->Report(Heartbeat("node-b")).ok());
  ASSERT_EQ(*registry_->CheckSilence(), 1);  // node-a

  // The coordinator is down for an hour.
  clock_.Advance(absl::Hours(1));
  Open();
  v1::NodeInfo a = Node("node-a");
  EXPECT_TRUE(a.silent());
  EXPECT_EQ(a.first_seen_unix_ms(), kStart * 1000);
  EXPECT_EQ(a.open_findings(), 2u);
  EXPECT_EQ(a.agent_version(), "goalkeeper-worker 1.4.0");
  v1::NodeInfo b = Node("node-b");
  EXPECT_FALSE(b.silent());
  // node-b gets 3 intervals from the restart, not from its last report.
  EXPECT_EQ(*registry_->CheckSilence(), 0);
  clock_.Advance(absl::Seconds(180));
  EXPECT_EQ(*registry_->CheckSilence(), 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(*registry_->CheckSilence(), 1);
  // The retried finding of before the restart is not stored again.
  ASSERT_TRUE(registry_->Report(r).ok());
  EXPECT_THAT(Kinds("node-a"), ElementsAre("brute_force", "agent_silent", "agent_returned"));
}

// The node store has its own connection: its write waits for the
// ScanStore's open group transaction to commit, then succeeds (no BUSY).
TEST(NodeStoreConnectionTest, AWriteWaitsForTheScanStoresOpenGroupTransaction) {
  const std::string db = ::testing::TempDir() + "/nodes-busy-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((db + suffix).c_str());
  auto scans = ScanStore::Open(db);
  ASSERT_TRUE(scans.ok()) << scans.status();
  auto nodes = NodeStore::Open(db);
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  v1::Scan scan;
  scan.set_id("scan-1");
  ASSERT_TRUE((*scans)->InsertScan(scan, "scope", 1).ok());  // the group stays open
  std::atomic<bool> done{false};
  absl::Status written;
  std::thread writer([&] {
    written = (*nodes)->RecordReport(NodeRow{"node-a", "v", 1, 1, 60, false, 0, ""}, {}).status();
    done = true;
  });
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_FALSE(done.load()) << "waits for the write lock";
  ASSERT_TRUE((*scans)->Commit().ok());
  writer.join();
  EXPECT_TRUE(written.ok()) << written;
  auto loaded = (*nodes)->LoadNodes();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->size(), 1u);
  auto kept = (*scans)->LoadScan("scan-1");
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->has_value());
}

TEST(NodeStoreMigrationTest, AVersion3DatabaseMigratesToVersion4KeepingItsScans) {
  const std::string db = ::testing::TempDir() + "/nodes-v3-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((db + suffix).c_str());
  {
    auto store = ScanStore::Open(db);
    ASSERT_TRUE(store.ok()) << store.status();
    v1::Scan scan;
    scan.set_id("scan-v3");
    scan.set_state(v1::SUCCEEDED);
    ASSERT_TRUE((*store)->InsertScan(scan, "scope", 1).ok());
    ASSERT_TRUE((*store)->Commit().ok());
  }
  {
    // What version 3 wrote: no node tables.
    auto raw = SqliteDb::Open(db);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)
                    ->Exec("DROP TABLE node_findings; DROP TABLE nodes; "
                           "ALTER TABLE workers DROP COLUMN identity; DROP TABLE audit; "
                           "DROP TABLE confirmations; "
                           "ALTER TABLE report_exposures DROP COLUMN transport; "
                           "ALTER TABLE report_exposures DROP COLUMN service; "
                           "ALTER TABLE report_exposures DROP COLUMN verified; "
                           "ALTER TABLE report_exposures DROP COLUMN evidence; "
                           "PRAGMA user_version = 3")
                    .ok());
  }
  auto nodes = NodeStore::Open(db);
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  NodeRow row{"node-a", "v", 1, 2, 60, false, 0, ""};
  ASSERT_TRUE((*nodes)->RecordReport(row, {}).ok());
  auto loaded = (*nodes)->LoadNodes();
  ASSERT_TRUE(loaded.ok());
  EXPECT_THAT(*loaded, ElementsAre(row));
  auto raw = SqliteDb::Open(db);
  ASSERT_TRUE(raw.ok());
  auto st = (*raw)->Prepare("PRAGMA user_version");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(*st->Step());
  EXPECT_EQ(st->Int(0), 8);  // v4: nodes, v5: bindings, v6: audit, v7: confirmations, v8: transport
  auto app = (*raw)->Prepare("PRAGMA application_id");
  ASSERT_TRUE(app.ok());
  ASSERT_TRUE(*app->Step());
  EXPECT_EQ(app->Int(0), 0x474B4331);
  auto store = ScanStore::Open(db);
  ASSERT_TRUE(store.ok()) << store.status();
  auto scan = (*store)->LoadScan("scan-v3");
  ASSERT_TRUE(scan.ok());
  EXPECT_TRUE(scan->has_value()) << "the v3 scans are kept";
}

}  // namespace
}  // namespace goalkeeper
