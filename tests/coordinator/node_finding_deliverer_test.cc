// The NodeFindingDeliverer over a real NodeStore file (through the
// NodeRegistry) with a FakeClock and a fake notifier: every finding is
// delivered once, in bounded batches, oldest first; a failure is retried with
// exponential backoff; a finding is marked delivered only after the
// notifier's acknowledgement (ListNodes' open_findings then drops to 0); a
// batch refused for one finding's content delivers the others.
#include "coordinator/node_finding_deliverer.h"

#include <unistd.h>

#include <deque>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::testing::ElementsAre;

constexpr int64_t kStart = 1'800'000'000;

// Records each batch; answers with the queued statuses (OK once they run out),
// and at each call reads how many findings the store still has undelivered.
class FakeSender : public NodeFindingSender {
 public:
  explicit FakeSender(NodeStore& store) : store_(store) {}
  absl::StatusOr<v1::DeliverNodeFindingsResponse> Send(const v1::NodeFindingBatch& batch) override {
    batches.push_back(batch);
    auto open = store_.CountUndelivered();
    uint64_t n = 0;
    for (const auto& [node, c] : *open) n += c;
    undelivered_at_send.push_back(n);
    for (const v1::NodeFindingDelivery& d : batch.findings()) {
      if (refuse.count(d.id()) > 0) return absl::AlreadyExistsError("other content: " + d.id());
    }
    if (!answers.empty()) {
      absl::Status s = answers.front();
      answers.pop_front();
      if (!s.ok()) return s;
    }
    v1::DeliverNodeFindingsResponse r;
    r.set_stored(static_cast<uint32_t>(batch.findings_size()));
    return r;
  }
  std::deque<absl::Status> answers;
  std::set<std::string> refuse;  // ids answered ALREADY_EXISTS
  std::vector<v1::NodeFindingBatch> batches;
  std::vector<uint64_t> undelivered_at_send;

 private:
  NodeStore& store_;
};

v1::NodeReport Report(const std::string& node, int findings, int first = 0) {
  v1::NodeReport r;
  r.set_node(node);
  r.set_agent_version("test");
  r.set_heartbeat_seconds(60);
  for (int i = first; i < first + findings; ++i) {
    v1::NodeFinding* f = r.add_findings();
    f->set_id(absl::StrCat("bf-", i));
    f->set_observed_unix_ms(kStart * 1000);
    v1::BruteForceSource* b = f->mutable_brute_force();
    b->set_rule("tftp");
    b->set_source(absl::StrCat("192.0.2.", i % 250 + 1));
    b->set_hits_in_window(20);
    v1::ProtoPort* p = b->add_ports();
    p->set_protocol("udp");
    p->set_port(69);
  }
  return r;
}

class NodeFindingDelivererTest : public ::testing::Test {
 protected:
  NodeFindingDelivererTest() : clock_(absl::FromUnixSeconds(kStart)) {
    db_ = ::testing::TempDir() + "/node-delivery-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) unlink((db_ + suffix).c_str());
    auto s = NodeStore::Open(db_);
    EXPECT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    registry_ = std::make_unique<NodeRegistry>(*store_, clock_, NodesConfig{});
    EXPECT_TRUE(registry_->Load().ok());
    sender_ = std::make_unique<FakeSender>(*store_);
    deliverer_ = std::make_unique<NodeFindingDeliverer>(*registry_, sender_.get(), clock_);
  }

  uint64_t Open(const std::string& node) {
    auto list = registry_->ListNodes();
    EXPECT_TRUE(list.ok());
    for (const v1::NodeInfo& n : list->nodes()) {
      if (n.name() == node) return n.open_findings();
    }
    ADD_FAILURE() << "no node " << node;
    return 0;
  }

  std::string db_;
  FakeClock clock_;
  std::unique_ptr<NodeStore> store_;
  std::unique_ptr<NodeRegistry> registry_;
  std::unique_ptr<FakeSender> sender_;
  std::unique_ptr<NodeFindingDeliverer> deliverer_;
};

TEST_F(NodeFindingDelivererTest, DeliversEveryFindingOnceInBoundedBatchesAndThenNothing) {
  ASSERT_TRUE(registry_->Report(Report("node-a", 150)).ok());
  ASSERT_TRUE(registry_->Report(Report("node-b", 2)).ok());
  EXPECT_EQ(Open("node-a"), 150u);
  EXPECT_EQ(deliverer_->Tick(), 100);
  EXPECT_EQ(deliverer_->Tick(), 52);
  EXPECT_EQ(deliverer_->Tick(), 0);
  clock_.Advance(absl::Minutes(10));
  EXPECT_EQ(deliverer_->Tick(), 0);
  ASSERT_EQ(sender_->batches.size(), 2u);
  EXPECT_EQ(sender_->batches[0].findings_size(), 100);
  std::set<std::pair<std::string, std::string>> seen;
  for (const v1::NodeFindingBatch& b : sender_->batches) {
    for (const v1::NodeFindingDelivery& d : b.findings()) {
      EXPECT_EQ(d.id(), d.finding().id());
      EXPECT_EQ(d.received_unix_ms(), kStart * 1000);
      EXPECT_TRUE(d.finding().has_brute_force());
      EXPECT_TRUE(seen.insert({d.node(), d.id()}).second) << "twice: " << d.id();
    }
  }
  EXPECT_EQ(seen.size(), 152u);
  // Oldest first: node-a's findings came first.
  EXPECT_EQ(sender_->batches[0].findings(0).node(), "node-a");
  EXPECT_EQ(sender_->batches[1].findings(51).node(), "node-b");
  EXPECT_EQ(Open("node-a"), 0u);
  EXPECT_EQ(Open("node-b"), 0u);
  EXPECT_EQ(deliverer_->delivered_attempts(), 2u);
  EXPECT_EQ(deliverer_->delivered_findings(), 152u);
  EXPECT_EQ(*registry_->CountUndelivered(), 0u);
}

TEST_F(NodeFindingDelivererTest, MarksDeliveredOnlyAfterTheAcknowledgementAndRetriesWithBackoff) {
  ASSERT_TRUE(registry_->Report(Report("node-a", 3)).ok());
  for (int i = 0; i < 4; ++i) sender_->answers.push_back(absl::UnavailableError("connect failed"));
  // Attempt 1 fails at once; then 1 s, 2 s, 4 s of backoff.
  EXPECT_EQ(deliverer_->Tick(), 0);
  EXPECT_EQ(Open("node-a"), 3u);
  EXPECT_EQ(sender_->batches.size(), 1u);
  EXPECT_EQ(deliverer_->Tick(), 0);  // not due yet
  EXPECT_EQ(sender_->batches.size(), 1u);
  clock_.Advance(absl::Milliseconds(999));
  EXPECT_EQ(deliverer_->Tick(), 0);
  EXPECT_EQ(sender_->batches.size(), 1u);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(deliverer_->Tick(), 0);  // attempt 2 fails
  EXPECT_EQ(sender_->batches.size(), 2u);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(deliverer_->Tick(), 0);  // 2 s not over
  EXPECT_EQ(sender_->batches.size(), 2u);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(deliverer_->Tick(), 0);  // attempt 3 fails
  clock_.Advance(absl::Seconds(4));
  EXPECT_EQ(deliverer_->Tick(), 0);  // attempt 4 fails
  EXPECT_EQ(Open("node-a"), 3u);
  EXPECT_EQ(deliverer_->failed_attempts(), 4u);
  clock_.Advance(absl::Seconds(8));
  EXPECT_EQ(deliverer_->Tick(), 3);  // acknowledged
  EXPECT_EQ(Open("node-a"), 0u);
  // Every attempt saw all three still undelivered in the store.
  EXPECT_THAT(sender_->undelivered_at_send, ElementsAre(3u, 3u, 3u, 3u, 3u));
  EXPECT_EQ(NodeFindingDeliverer::Backoff(1), absl::Seconds(1));
  EXPECT_EQ(NodeFindingDeliverer::Backoff(4), absl::Seconds(8));
  EXPECT_EQ(NodeFindingDeliverer::Backoff(30), absl::Minutes(5));
}

TEST_F(NodeFindingDelivererTest, SilenceAndReturnAreForwardedLikeAgentFindings) {
  ASSERT_TRUE(registry_->Report(Report("node-q", 0)).ok());
  clock_.Advance(absl::Seconds(181));
  ASSERT_EQ(*registry_->CheckSilence(), 1);
  EXPECT_EQ(deliverer_->Tick(), 1);
  ASSERT_TRUE(registry_->Report(Report("node-q", 0)).ok());
  EXPECT_EQ(deliverer_->Tick(), 1);
  ASSERT_EQ(sender_->batches.size(), 2u);
  const v1::NodeFindingDelivery& silent = sender_->batches[0].findings(0);
  EXPECT_EQ(silent.node(), "node-q");
  EXPECT_TRUE(silent.finding().has_agent_silent());
  EXPECT_EQ(silent.id(), absl::StrCat("coordinator/silent/", kStart * 1000));
  EXPECT_TRUE(sender_->batches[1].findings(0).finding().has_agent_returned());
  EXPECT_EQ(Open("node-q"), 0u);
}

TEST_F(NodeFindingDelivererTest, ABatchRefusedForOneFindingDeliversTheOthersAndHoldsThatOne) {
  ASSERT_TRUE(registry_->Report(Report("node-a", 5)).ok());
  sender_->refuse = {"bf-2"};
  EXPECT_EQ(deliverer_->Tick(), 4);
  EXPECT_EQ(Open("node-a"), 1u);
  // 1 batch of 5, then 5 alone.
  EXPECT_EQ(sender_->batches.size(), 6u);
  // bf-2 waits for its own backoff; new findings go on meanwhile.
  ASSERT_TRUE(registry_->Report(Report("node-a", 2, 10)).ok());
  EXPECT_EQ(deliverer_->Tick(), 2);
  ASSERT_EQ(sender_->batches.size(), 7u);
  EXPECT_EQ(sender_->batches[6].findings_size(), 2);
  EXPECT_EQ(sender_->batches[6].findings(0).id(), "bf-10");
  EXPECT_EQ(deliverer_->Tick(), 0);
  EXPECT_EQ(sender_->batches.size(), 7u);
  // Retried after its backoff; once the notifier takes it, it is delivered.
  clock_.Advance(absl::Seconds(1));
  sender_->refuse.clear();
  EXPECT_EQ(deliverer_->Tick(), 1);
  EXPECT_EQ(Open("node-a"), 0u);
}

TEST_F(NodeFindingDelivererTest, WithoutANotifierFindingsStayOpen) {
  NodeFindingDeliverer none(*registry_, nullptr, clock_);
  ASSERT_TRUE(registry_->Report(Report("node-a", 2)).ok());
  EXPECT_EQ(none.Tick(), 0);
  EXPECT_EQ(Open("node-a"), 2u);
}

}  // namespace
}  // namespace goalkeeper
