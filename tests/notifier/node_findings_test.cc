// The notifier's side of node findings, with a real SQLite file, a fake clock
// and fake channels: each finding is stored once (a duplicate notifies no
// more, other content under a known id is ALREADY_EXISTS and stores nothing),
// one email per node per batch goes to ops.emails only, one Telegram summary
// per batch names each node; each kind renders its fields; stage mode marks
// them; without ops.emails findings are kept and not mailed; bad batches name
// the field.
#include "notifier/node_findings.h"

#include <unistd.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/sqlite.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "notifier/node_finding_render.h"
#include "notifier/outbox_sender.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr int64_t kT = 1'800'000'000'000;  // 2027-01-15T08:00:00Z

class FakeMailer : public Mailer {
 public:
  absl::Status Send(const EmailMessage& m) override {
    sent.push_back(m);
    return absl::OkStatus();
  }
  std::vector<EmailMessage> sent;
};

class FakeTelegram : public TelegramSender {
 public:
  TelegramResult Send(const std::string& chat, const std::string& html) override {
    sent.push_back({chat, html});
    return {absl::OkStatus(), std::nullopt};
  }
  std::vector<std::pair<std::string, std::string>> sent;
};

v1::NodeFindingDelivery BruteForce(const std::string& node, const std::string& id,
                                   const std::string& source, uint64_t hits = 42) {
  v1::NodeFindingDelivery d;
  d.set_node(node);
  d.set_id(id);
  d.set_received_unix_ms(kT);
  v1::NodeFinding* f = d.mutable_finding();
  f->set_id(id);
  f->set_observed_unix_ms(kT);
  v1::BruteForceSource* b = f->mutable_brute_force();
  b->set_rule("tftp");
  b->set_source(source);
  b->set_hits_in_window(hits);
  b->set_first_seen_unix_ms(kT - 125'000);
  b->set_last_seen_unix_ms(kT - 5'000);
  v1::ProtoPort* p = b->add_ports();
  p->set_protocol("udp");
  p->set_port(69);
  b->add_ports()->set_protocol("icmp");
  return d;
}

v1::NodeFindingDelivery Listener(const std::string& node, const std::string& id, bool appeared) {
  v1::NodeFindingDelivery d;
  d.set_node(node);
  d.set_id(id);
  v1::NodeFinding* f = d.mutable_finding();
  f->set_id(id);
  f->set_observed_unix_ms(kT);
  v1::Listener* l = appeared ? f->mutable_listener_appeared() : f->mutable_listener_gone();
  l->set_protocol("tcp");
  l->set_address("0.0.0.0");
  l->set_port(6379);
  return d;
}

v1::NodeFindingDelivery Silence(const std::string& node, bool silent) {
  v1::NodeFindingDelivery d;
  d.set_node(node);
  d.set_id(absl::StrCat("coordinator/", silent ? "silent/" : "returned/", kT - 600'000));
  v1::NodeFinding* f = d.mutable_finding();
  f->set_id(d.id());
  f->set_observed_unix_ms(kT);
  v1::AgentSilence* s = silent ? f->mutable_agent_silent() : f->mutable_agent_returned();
  s->set_last_report_unix_ms(kT - 600'000);
  s->set_silent_since_unix_ms(kT - 420'000);
  s->set_heartbeat_seconds(60);
  s->set_silence_after_intervals(3);
  if (!silent) s->set_returned_unix_ms(kT);
  return d;
}

v1::NodeFindingBatch Batch(std::vector<v1::NodeFindingDelivery> findings) {
  v1::NodeFindingBatch b;
  for (auto& f : findings) *b.add_findings() = std::move(f);
  return b;
}

class NodeFindingsTest : public ::testing::Test {
 protected:
  NodeFindingsTest() : clock_(absl::FromUnixMillis(kT)) {
    db_ = ::testing::TempDir() + "/node-findings-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) unlink((db_ + suffix).c_str());
    config_.mode = NotifierMode::kProd;
    config_.ops_emails = {"noc@ops.example", "oncall@ops.example"};
    config_.ops_telegram_chat_id = "-100123";
    auto s = NotificationStore::Open(db_);
    EXPECT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }

  absl::StatusOr<v1::DeliverNodeFindingsResponse> Receive(const v1::NodeFindingBatch& b) {
    return NodeFindingReceiver(config_, *store_, clock_).Receive(b);
  }
  std::vector<OutboxItem> Pending(Channel c) {
    auto items = store_->ListOutbox(OutboxState::kPending);
    EXPECT_TRUE(items.ok()) << items.status();
    std::vector<OutboxItem> out;
    for (OutboxItem& it : *items) {
      if (it.channel == c) out.push_back(std::move(it));
    }
    return out;
  }

  std::string db_;
  FakeClock clock_;
  NotifierConfig config_;
  std::unique_ptr<NotificationStore> store_;
};

TEST_F(NodeFindingsTest, OneEmailPerNodeToTheOperatorsOnlyAndOneTelegramSummaryPerBatch) {
  auto r = Receive(
      Batch({BruteForce("node-a", "bf-1", "192.0.2.7"), Silence("node-b", true),
             BruteForce("node-a", "bf-2", "2001:db8::/64"), Listener("node-a", "ls-1", true)}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stored(), 4u);
  EXPECT_EQ(r->duplicates(), 0u);
  std::vector<OutboxItem> mail = Pending(Channel::kEmail);
  ASSERT_EQ(mail.size(), 2u);
  for (const OutboxItem& m : mail) {
    EXPECT_THAT(m.to, ElementsAre("noc@ops.example", "oncall@ops.example"));
    EXPECT_TRUE(m.cc.empty());
  }
  const OutboxItem& a = mail[0].subject.find("node-a") != std::string::npos ? mail[0] : mail[1];
  const OutboxItem& b = &a == &mail[0] ? mail[1] : mail[0];
  EXPECT_EQ(a.subject, "Goalkeeper node node-a: 2 brute-force sources, 1 listener appeared");
  EXPECT_EQ(b.subject, "Goalkeeper node node-b: agent silent");
  EXPECT_THAT(a.body, HasSubstr("192.0.2.7"));
  EXPECT_THAT(a.body, HasSubstr("2001:db8::/64"));
  EXPECT_THAT(a.body, HasSubstr("Listener appeared: tcp 0.0.0.0 port 6379"));
  std::vector<OutboxItem> tg = Pending(Channel::kTelegram);
  ASSERT_EQ(tg.size(), 1u);
  EXPECT_THAT(tg[0].to, ElementsAre("-100123"));
  EXPECT_THAT(tg[0].body, HasSubstr("4 findings on 2 nodes"));
  EXPECT_THAT(tg[0].body, HasSubstr("node-a: 2 brute-force sources, 1 listener appeared"));
  EXPECT_THAT(tg[0].body, HasSubstr("node-b: agent silent"));
  EXPECT_THAT(tg[0].body, Not(HasSubstr("[stage]")));

  // The outbox sender mails them once.
  FakeMailer mailer;
  FakeTelegram telegram;
  OutboxSender sender(config_, *store_, mailer, telegram, clock_);
  EXPECT_EQ(sender.Tick(), 3);
  EXPECT_EQ(sender.Tick(), 0);
  ASSERT_EQ(mailer.sent.size(), 2u);
  EXPECT_EQ(telegram.sent.size(), 1u);
  auto stored = store_->LoadNodeFindings();
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->size(), 4u);
}

TEST_F(NodeFindingsTest, TheSameFindingsAgainAreDuplicatesAndOnlyNewOnesAreMailed) {
  const v1::NodeFindingBatch first = Batch({BruteForce("node-a", "bf-1", "192.0.2.7")});
  ASSERT_TRUE(Receive(first).ok());
  // The coordinator crashed before marking them and sends them again.
  auto again = Receive(first);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->stored(), 0u);
  EXPECT_EQ(again->duplicates(), 1u);
  EXPECT_EQ(Pending(Channel::kEmail).size(), 1u);
  EXPECT_EQ(Pending(Channel::kTelegram).size(), 1u);
  // Resent within a larger batch: only the new finding gets a mail.
  auto more = Receive(Batch(
      {BruteForce("node-a", "bf-1", "192.0.2.7"), BruteForce("node-a", "bf-2", "192.0.2.8")}));
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_EQ(more->stored(), 1u);
  EXPECT_EQ(more->duplicates(), 1u);
  std::vector<OutboxItem> mail = Pending(Channel::kEmail);
  ASSERT_EQ(mail.size(), 2u);
  const OutboxItem& second =
      mail[0].body.find("192.0.2.8") != std::string::npos ? mail[0] : mail[1];
  EXPECT_THAT(second.body, Not(HasSubstr("192.0.2.7")));
  EXPECT_EQ(second.subject, "Goalkeeper node node-a: 1 brute-force source");
  // The receive time is not content: the same finding received later is a duplicate.
  v1::NodeFindingDelivery later = BruteForce("node-a", "bf-1", "192.0.2.7");
  later.set_received_unix_ms(kT + 1000);
  later.mutable_finding()->clear_id();  // finding.id may be left to the delivery's id
  auto dup = Receive(Batch({later}));
  ASSERT_TRUE(dup.ok()) << dup.status();
  EXPECT_EQ(dup->duplicates(), 1u);
}

TEST_F(NodeFindingsTest, OtherContentUnderAKnownIdIsAlreadyExistsAndTheBatchStoresNothing) {
  ASSERT_TRUE(Receive(Batch({BruteForce("node-a", "bf-1", "192.0.2.7", 42)})).ok());
  auto r = Receive(Batch(
      {BruteForce("node-a", "bf-9", "192.0.2.9"), BruteForce("node-a", "bf-1", "192.0.2.7", 43)}));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists) << r.status();
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("findings[1]: node 'node-a' finding 'bf-1'"));
  auto stored = store_->LoadNodeFindings();
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ(stored->at(0).finding().brute_force().hits_in_window(), 42u);
  EXPECT_EQ(Pending(Channel::kEmail).size(), 1u);
  // The same id on another node is another finding.
  auto other = Receive(Batch({BruteForce("node-b", "bf-1", "192.0.2.7", 43)}));
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->stored(), 1u);
}

TEST_F(NodeFindingsTest, EachKindRendersItsFields) {
  const v1::NodeFindingDelivery bf = BruteForce("node-a", "bf-1", "192.0.2.7");
  const v1::NodeFindingDelivery up = Listener("node-a", "ls-1", true);
  const v1::NodeFindingDelivery gone = Listener("node-a", "ls-2", false);
  const v1::NodeFindingDelivery silent = Silence("node-a", true);
  const v1::NodeFindingDelivery back = Silence("node-a", false);
  NodeFindingEmail m = RenderNodeFindingsEmail(
      "node-a", {&bf.finding(), &up.finding(), &gone.finding(), &silent.finding(), &back.finding()},
      false);
  EXPECT_EQ(m.subject,
            "Goalkeeper node node-a: agent silent, agent back, 1 brute-force source, 1 listener "
            "appeared, 1 listener gone");
  EXPECT_THAT(m.body,
              AllOf(HasSubstr("* Brute-force source 192.0.2.7 (rule tftp)\n"),
                    HasSubstr("    Node: node-a\n"), HasSubstr("    Rule: tftp\n"),
                    HasSubstr("    Source: 192.0.2.7\n"), HasSubstr("    Hits in window: 42\n"),
                    HasSubstr("    First seen: 2027-01-15T07:57:55Z\n"),
                    HasSubstr("    Last seen: 2027-01-15T07:59:55Z\n"),
                    HasSubstr("    Ports and protocols: udp/69, icmp\n"),
                    HasSubstr("What to do: block the source 192.0.2.7"),
                    HasSubstr("check the service it tried (udp/69, icmp)")));
  EXPECT_THAT(m.body,
              AllOf(HasSubstr("* Listener appeared: tcp 0.0.0.0 port 6379\n"),
                    HasSubstr("* Listener gone: tcp 0.0.0.0 port 6379\n"),
                    HasSubstr("    Protocol: tcp\n    Address: 0.0.0.0\n    Port: 6379\n"),
                    HasSubstr("listeners.allowed_ports"), HasSubstr("It no longer listens")));
  EXPECT_THAT(m.body, AllOf(HasSubstr("* Node agent silent\n"),
                            HasSubstr("    Last report: 2027-01-15T07:50:00Z\n"),
                            HasSubstr("    Silent since: 2027-01-15T07:53:00Z (no report for 3 "
                                      "intervals of 60 s)\n"),
                            HasSubstr("checks (the firewall log, the listening sockets) are not "
                                      "running")));
  EXPECT_THAT(m.body, AllOf(HasSubstr("* Node agent back\n"),
                            HasSubstr("    Back since: 2027-01-15T08:00:00Z\n")));
  EXPECT_THAT(m.body, HasSubstr("(finding coordinator/silent/1799999400000)"));
  EXPECT_EQ(Rfc3339Utc(0), "unknown");
}

TEST_F(NodeFindingsTest, StageModeMarksTheMailAndTheSummaryAndStillMailsOnlyTheOperators) {
  config_.mode = NotifierMode::kStage;
  ASSERT_TRUE(Receive(Batch({Silence("node-a", false)})).ok());
  std::vector<OutboxItem> mail = Pending(Channel::kEmail);
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(mail[0].subject, "[stage] Goalkeeper node node-a: agent back");
  EXPECT_THAT(mail[0].to, ElementsAre("noc@ops.example", "oncall@ops.example"));
  EXPECT_TRUE(mail[0].cc.empty());
  std::vector<OutboxItem> tg = Pending(Channel::kTelegram);
  ASSERT_EQ(tg.size(), 1u);
  EXPECT_THAT(tg[0].body, StartsWith("<b>Goalkeeper [stage]</b> node checks: 1 finding on 1 node"));
}

TEST_F(NodeFindingsTest, WithoutOperatorEmailsFindingsAreStoredAndNotMailed) {
  config_.ops_emails.clear();
  auto r = Receive(Batch({BruteForce("node-a", "bf-1", "192.0.2.7")}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stored(), 1u);
  EXPECT_TRUE(Pending(Channel::kEmail).empty());
  EXPECT_EQ(Pending(Channel::kTelegram).size(), 1u);
  auto stored = store_->LoadNodeFindings();
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ(stored->at(0).id(), "bf-1");
  // Received again: still one, still a duplicate (kept, not lost).
  auto again = Receive(Batch({BruteForce("node-a", "bf-1", "192.0.2.7")}));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->duplicates(), 1u);
}

TEST_F(NodeFindingsTest, TheTelegramSummaryStaysBoundedForManyNodes) {
  std::vector<v1::NodeFindingDelivery> many;
  for (int i = 0; i < 300; ++i) {
    many.push_back(BruteForce(absl::StrCat("node-", i), "bf-1", "192.0.2.7"));
  }
  const v1::NodeFindingBatch batch = Batch(many);
  std::vector<size_t> all;
  for (size_t i = 0; i < many.size(); ++i) all.push_back(i);
  std::vector<std::string> parts = RenderNodeFindingsTelegram(batch, all, false);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_THAT(parts[0], HasSubstr("300 findings on 300 nodes"));
  EXPECT_THAT(parts[0], HasSubstr("node-19: 1 brute-force source"));
  EXPECT_THAT(parts[0], Not(HasSubstr("node-20:")));
  EXPECT_THAT(parts[0], HasSubstr("… and 280 more nodes"));
}

TEST_F(NodeFindingsTest, ADatabaseOfThePreviousSchemaGainsNodeFindingsAndKeepsItsReports) {
  v1::ScanReport report;
  report.set_scan_id("old-scan");
  ASSERT_TRUE(store_->InsertReport(report, clock_.Now()).ok());
  store_.reset();
  {
    // The previous version's file (schema 2): no node_findings table.
    auto raw = SqliteDb::Open(db_);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)->Exec("DROP TABLE node_findings; PRAGMA user_version = 2").ok());
  }
  auto s = NotificationStore::Open(db_);
  ASSERT_TRUE(s.ok()) << s.status();
  store_ = *std::move(s);
  auto dup = store_->InsertReport(report, clock_.Now());
  ASSERT_TRUE(dup.ok()) << dup.status();
  EXPECT_FALSE(*dup) << "the report is still there";
  auto r = Receive(Batch({BruteForce("node-a", "bf-1", "192.0.2.7")}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stored(), 1u);
}

TEST_F(NodeFindingsTest, BadBatchesNameTheFieldAndStoreNothing) {
  struct Case {
    std::function<void(v1::NodeFindingBatch&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](v1::NodeFindingBatch& b) { b.clear_findings(); }, "findings: the batch is empty"},
      {[](v1::NodeFindingBatch& b) { b.mutable_findings(0)->set_node("bad node"); },
       "findings[0].node: 'bad node' (8 bytes) must be 1-253 bytes"},
      {[](v1::NodeFindingBatch& b) { b.mutable_findings(1)->set_id(""); },
       "findings[1].id: must not be empty"},
      {[](v1::NodeFindingBatch& b) { b.mutable_findings(1)->mutable_finding()->set_id("x"); },
       "findings[1].finding.id: 'x' differs from id 'bf-2'"},
      {[](v1::NodeFindingBatch& b) {
         b.mutable_findings(1)->set_id("bf-1");
         b.mutable_findings(1)->mutable_finding()->clear_id();
       },
       "findings[1].id: 'bf-1' of node 'node-a' is given twice"},
      {[](v1::NodeFindingBatch& b) {
         b.mutable_findings(1)->mutable_finding()->mutable_brute_force()->set_source("<b>x");
       },
       "findings[1].finding.brute_force.source: '<b>x'"},
      {[](v1::NodeFindingBatch& b) {
         b.mutable_findings(0)
             ->mutable_finding()
             ->mutable_brute_force()
             ->mutable_ports(0)
             ->set_port(70000);
       },
       "findings[0].finding.brute_force.ports[0].port: 70000 is not a port"},
      {[](v1::NodeFindingBatch& b) {
         b.mutable_findings(2)->mutable_finding()->mutable_listener_appeared()->set_protocol(
             "sctp");
       },
       "findings[2].finding.listener_appeared.protocol: 'sctp' is not tcp or udp"},
      {[](v1::NodeFindingBatch& b) { b.mutable_findings(2)->mutable_finding()->clear_kind(); },
       "findings[2].finding: has no kind"},
      {[](v1::NodeFindingBatch& b) {
         for (int i = 0; i < 500; ++i) *b.add_findings() = b.findings(0);
       },
       "findings: 503 in one batch, at most 500"},
  };
  for (const Case& c : cases) {
    v1::NodeFindingBatch b =
        Batch({BruteForce("node-a", "bf-1", "192.0.2.7"), BruteForce("node-a", "bf-2", "192.0.2.8"),
               Listener("node-a", "ls-1", true)});
    c.edit(b);
    auto r = Receive(b);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(std::string(r.status().message()), StartsWith(c.message));
  }
  auto stored = store_->LoadNodeFindings();
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->empty());
  EXPECT_TRUE(Pending(Channel::kEmail).empty());
}

}  // namespace
}  // namespace goalkeeper
