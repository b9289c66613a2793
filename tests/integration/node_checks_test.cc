// Node checks through a real coordinator process on loopback: a node
// report acknowledged and then the coordinator killed (-9) keeps its
// findings after the restart (and a retried report stores nothing twice); a
// node that stops reporting becomes silent (ListNodes, `goalkeeperctl nodes
// list`, /metrics) and its return clears it; NodeService is in the health
// service. Every call is mutual TLS (tests/testing/test_certs.h): reports as
// the node agent, reads as the admin. Traffic goes only to 127.0.0.1.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "goalkeeper/v1/node.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_certs.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::goalkeeper::testing::ReadFile;
using ::goalkeeper::testing::RunResult;
using ::goalkeeper::testing::Subprocess;
using ::goalkeeper::testing::WriteFile;
using ::testing::HasSubstr;

constexpr char kCoordinator[] = GOALKEEPER_COORDINATOR_BIN;
constexpr char kCtl[] = GOALKEEPER_CTL_BIN;

// The coordinator as a process logging to a file; reads its ports from
// "coordinator listening grpc=127.0.0.1:P metrics=127.0.0.1:M".
class Coordinator {
 public:
  Coordinator(const std::string& config, std::string log) : log_(std::move(log)) {
    const size_t before = ReadFile(log_).size();
    process_.emplace(Subprocess::StartLogged(
        {kCoordinator, "--config", config, "--listen", "127.0.0.1:0"}, log_));
    const std::string needle = "coordinator listening grpc=127.0.0.1:";
    for (int i = 0; i < 400; ++i) {
      const std::string text = ReadFile(log_).substr(before);
      if (size_t at = text.find(needle); at != std::string::npos) {
        port_ = std::stoi(text.substr(at + needle.size()));
        const std::string m = "metrics=127.0.0.1:";
        if (size_t mat = text.find(m, at); mat != std::string::npos) {
          metrics_port_ = std::stoi(text.substr(mat + m.size()));
        }
        channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
        return;
      }
      if (process_->Exited()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("coordinator did not start:\n" + ReadFile(log_));
  }
  ~Coordinator() { Kill(); }
  void Kill() {
    if (!process_) return;
    process_->Signal(SIGKILL);
    process_->Wait(std::chrono::seconds(10));
    process_.reset();
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  grpc::Status Report(const v1::NodeReport& r, v1::NodeReportAck* ack) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return v1::NodeService::NewStub(channel_)->ReportNode(&ctx, r, ack);
  }
  v1::ListNodesResponse List() {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ListNodesResponse resp;
    grpc::Status s = v1::NodeService::NewStub(channel_)->ListNodes(&ctx, {}, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }
  std::string Metrics() const {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(metrics_port_));
    addr.sin_addr.s_addr = htonl(0x7f000001);
    std::string body;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      const std::string req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
      if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
        char buf[4096];
        for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) {
          body.append(buf, static_cast<size_t>(n));
        }
      }
    }
    close(fd);
    return body;
  }

 private:
  std::string log_;
  std::optional<Subprocess> process_;
  int port_ = 0;
  int metrics_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

class NodeChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/node-checks-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::system(("rm -rf " + dir_ + " && mkdir -p " + dir_).c_str());
    config_ = dir_ + "/coordinator.yaml";
    WriteFile(config_,
              absl::StrCat("db: ", dir_, "/coordinator.db\n", "metrics_listen: 127.0.0.1:0\n",
                           "nodes: {silence_after_intervals: 2}\n",
                           ::goalkeeper::testing::TestCerts::Get().DaemonYaml("coordinator")));
  }
  std::unique_ptr<Coordinator> Start() {
    return std::make_unique<Coordinator>(config_, dir_ + "/coordinator.log");
  }

  static v1::NodeReport Report(const std::string& node, uint32_t heartbeat) {
    v1::NodeReport r;
    r.set_node(node);
    r.set_agent_version("it");
    r.set_heartbeat_seconds(heartbeat);
    return r;
  }

  std::string dir_;
  std::string config_;
};

TEST_F(NodeChecksTest, AcknowledgedFindingsSurviveAKill9AndARetryStoresNothingTwice) {
  auto coordinator = Start();
  v1::NodeReport r = Report("node-a", 3600);
  for (int i = 0; i < 3; ++i) {
    v1::NodeFinding* f = r.add_findings();
    f->set_id(absl::StrCat("bf-", i));
    v1::BruteForceSource* b = f->mutable_brute_force();
    b->set_rule("tftp");
    b->set_source(absl::StrCat("192.0.2.", i + 1));
    b->set_hits_in_window(10 + static_cast<uint64_t>(i));
    v1::ProtoPort* p = b->add_ports();
    p->set_protocol("udp");
    p->set_port(69);
  }
  v1::NodeReportAck ack;
  grpc::Status s = coordinator->Report(r, &ack);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(ack.stored_ids_size(), 3);
  coordinator->Kill();  // right after the acknowledgement

  coordinator = Start();
  v1::ListNodesResponse list = coordinator->List();
  ASSERT_EQ(list.nodes_size(), 1);
  EXPECT_EQ(list.nodes(0).name(), "node-a");
  EXPECT_EQ(list.nodes(0).open_findings(), 3u);
  // The agent did not see the ack and retries, with one more finding.
  v1::NodeFinding* f = r.add_findings();
  f->set_id("ls-1");
  f->mutable_listener_appeared()->set_protocol("tcp");
  f->mutable_listener_appeared()->set_address("::");
  f->mutable_listener_appeared()->set_port(6379);
  s = coordinator->Report(r, &ack);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ack.stored_ids_size(), 4);
  EXPECT_EQ(coordinator->List().nodes(0).open_findings(), 4u);

  RunResult ctl = goalkeeper::testing::Run(goalkeeper::testing::WithTls(
      {kCtl, "--coordinator", coordinator->address(), "nodes", "list", "--output", "json"},
      "admin"));
  ASSERT_EQ(ctl.exit_code, 0) << ctl.err;
  EXPECT_THAT(ctl.out, HasSubstr("\"name\":\"node-a\""));
  EXPECT_THAT(ctl.out, HasSubstr("\"open_findings\":\"4\""));
  EXPECT_THAT(ctl.out, HasSubstr("\"heartbeat_seconds\":3600"));

  // NodeService is reported by the health service.
  auto health = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(coordinator->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckRequest req;
  req.set_service("goalkeeper.v1.NodeService");
  grpc::health::v1::HealthCheckResponse resp;
  ASSERT_TRUE(health->Check(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(NodeChecksTest, ASilentNodeIsRaisedOnceShownAndClearedWhenItReturns) {
  auto coordinator = Start();
  v1::NodeReportAck ack;
  ASSERT_TRUE(coordinator->Report(Report("node-quiet", 1), &ack).ok());
  // Another node keeps reporting every 500 ms while node-quiet is silent
  // (2 intervals of 1 s, checked every second).
  bool silent = false;
  for (int i = 0; i < 20 && !silent; ++i) {
    ASSERT_TRUE(coordinator->Report(Report("node-busy", 1), &ack).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const v1::ListNodesResponse list = coordinator->List();
    for (const v1::NodeInfo& n : list.nodes()) {
      if (n.name() == "node-quiet") silent = n.silent();
      if (n.name() == "node-busy") {
        EXPECT_FALSE(n.silent());
      }
    }
  }
  ASSERT_TRUE(silent) << ReadFile(dir_ + "/coordinator.log");
  ASSERT_TRUE(coordinator->Report(Report("node-busy", 1), &ack).ok());
  RunResult ctl = goalkeeper::testing::Run(goalkeeper::testing::WithTls(
      {kCtl, "--coordinator", coordinator->address(), "nodes", "list"}, "admin"));
  ASSERT_EQ(ctl.exit_code, 0) << ctl.err;
  EXPECT_THAT(ctl.out, ::testing::ContainsRegex("node-quiet +[-0-9]+ [:0-9]+ +1s silent +1  it"))
      << ctl.out;
  EXPECT_THAT(ctl.out, ::testing::ContainsRegex("node-busy +[-0-9]+ [:0-9]+ +1s ok +0  it"));

  std::string body;
  for (int i = 0; i < 40; ++i) {
    body = coordinator->Metrics();
    if (body.find("goalkeeper_nodes_silent 1") != std::string::npos) break;
    ASSERT_TRUE(coordinator->Report(Report("node-busy", 1), &ack).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_THAT(body, HasSubstr("goalkeeper_nodes_silent 1")) << body;
  EXPECT_THAT(body,
              HasSubstr("goalkeeper_node_last_check_timestamp_seconds{node=\"node-quiet\"} "));
  EXPECT_THAT(body, HasSubstr("goalkeeper_node_last_check_timestamp_seconds{node=\"node-busy\"} "));

  // It returns: cleared at once; a second finding (agent_returned).
  ASSERT_TRUE(coordinator->Report(Report("node-quiet", 1), &ack).ok());
  const v1::ListNodesResponse after = coordinator->List();
  ASSERT_EQ(after.nodes_size(), 2);
  for (const v1::NodeInfo& n : after.nodes()) {
    if (n.name() != "node-quiet") continue;
    EXPECT_FALSE(n.silent());
    EXPECT_EQ(n.open_findings(), 2u);
  }
  EXPECT_THAT(ReadFile(dir_ + "/coordinator.log"), HasSubstr("node agents silent raised=1"));
}

}  // namespace
}  // namespace goalkeeper
