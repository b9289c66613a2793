// NodeService over a real gRPC channel on loopback (in-process server): a
// report is acknowledged with its ids, a bad one is INVALID_ARGUMENT naming
// the field, too many findings RESOURCE_EXHAUSTED, and ListNodes shows the
// node with its open findings; `goalkeeperctl nodes list` prints them.
#include "coordinator/node_service.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "cli/ctl.h"
#include "common/server_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ReadAll(std::FILE* f) {
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

class NodeServiceTest : public ::testing::Test {
 protected:
  NodeServiceTest() : clock_(absl::FromUnixSeconds(1'800'000'000)) {
    db_ = ::testing::TempDir() + "/node-service-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) unlink((db_ + suffix).c_str());
    auto s = NodeStore::Open(db_);
    EXPECT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    registry_ = std::make_unique<NodeRegistry>(*store_, clock_, NodesConfig{});
    EXPECT_TRUE(registry_->Load().ok());
    service_ = std::make_unique<NodeService>(*registry_);
    server_ = StartGrpcServer("127.0.0.1:0", {service_.get()}, &port_, kCoordinatorMaxReceiveBytes);
    EXPECT_NE(server_, nullptr);
    stub_ = v1::NodeService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials()));
  }
  ~NodeServiceTest() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  grpc::Status Report(const v1::NodeReport& r, v1::NodeReportAck* ack) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub_->ReportNode(&ctx, r, ack);
  }

  // goalkeeperctl against this server: exit code, stdout, stderr.
  std::tuple<int, std::string, std::string> Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--coordinator", absl::StrCat("127.0.0.1:", port_)});
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    const int rc = RunCtl(static_cast<int>(argv.size()), argv.data(), out, err);
    return {rc, ReadAll(out), ReadAll(err)};
  }

  static v1::NodeReport Heartbeat(const std::string& node) {
    v1::NodeReport r;
    r.set_node(node);
    r.set_agent_version("1.4.0");
    r.set_heartbeat_seconds(60);
    return r;
  }

  std::string db_;
  FakeClock clock_;
  std::unique_ptr<NodeStore> store_;
  std::unique_ptr<NodeRegistry> registry_;
  std::unique_ptr<NodeService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<v1::NodeService::Stub> stub_;
};

TEST_F(NodeServiceTest, AReportIsAcknowledgedAndListedWithItsOpenFindings) {
  v1::NodeReport r = Heartbeat("worker-3.example");
  v1::NodeFinding* f = r.add_findings();
  f->set_id("bf-0001");
  v1::BruteForceSource* b = f->mutable_brute_force();
  b->set_rule("tftp");
  b->set_source("192.0.2.23");
  b->set_hits_in_window(12);
  v1::NodeFinding* l = r.add_findings();
  l->set_id("ls-0001");
  l->mutable_listener_appeared()->set_protocol("udp");
  l->mutable_listener_appeared()->set_address("::");
  l->mutable_listener_appeared()->set_port(111);
  v1::NodeReportAck ack;
  grpc::Status s = Report(r, &ack);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(ack.stored_ids(), ElementsAre("bf-0001", "ls-0001"));
  s = Report(r, &ack);  // retried
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(Report(Heartbeat("worker-1.example"), &ack).ok());

  grpc::ClientContext ctx;
  v1::ListNodesResponse list;
  ASSERT_TRUE(stub_->ListNodes(&ctx, v1::ListNodesRequest(), &list).ok());
  ASSERT_EQ(list.nodes_size(), 2);
  EXPECT_EQ(list.nodes(0).name(), "worker-1.example");
  EXPECT_EQ(list.nodes(1).name(), "worker-3.example");
  EXPECT_EQ(list.nodes(1).open_findings(), 2u);
  EXPECT_EQ(list.nodes(1).heartbeat_seconds(), 60u);

  auto [rc, out, err] = Ctl({"nodes", "list"});
  EXPECT_EQ(rc, 0) << err;
  EXPECT_THAT(out, HasSubstr("NODE"));
  EXPECT_THAT(out, HasSubstr("OPEN FINDINGS"));
  EXPECT_THAT(out, ::testing::ContainsRegex("worker-3.example +2027-01-15 08:00:00 +60s ok +2  "
                                            "1.4.0\n"));
  std::tie(rc, out, err) = Ctl({"nodes", "list", "--output", "json"});
  EXPECT_EQ(rc, 0) << err;
  EXPECT_THAT(out, HasSubstr("\"name\":\"worker-3.example\""));
  EXPECT_THAT(out, HasSubstr("\"open_findings\":\"2\""));
  EXPECT_THAT(out, HasSubstr("\"silent\":false"));

  // Silent: the table says so.
  clock_.Advance(absl::Seconds(181));
  ASSERT_EQ(*registry_->CheckSilence(), 2);
  std::tie(rc, out, err) = Ctl({"nodes", "list"});
  EXPECT_EQ(rc, 0) << err;
  EXPECT_THAT(out,
              ::testing::ContainsRegex("worker-1.example +2027-01-15 08:00:00 +60s silent +1"));
}

TEST_F(NodeServiceTest, BadReportsAreInvalidArgumentAndTooManyFindingsResourceExhausted) {
  v1::NodeReport r = Heartbeat("node-a");
  r.set_heartbeat_seconds(0);
  v1::NodeReportAck ack;
  grpc::Status s = Report(r, &ack);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "heartbeat_seconds: 0 is not 1..86400");
  r = Heartbeat("node-a");
  r.add_findings()->set_id("has space");
  s = Report(r, &ack);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("findings[0].id: 'has space'"));
  r = Heartbeat("node-a");
  for (int i = 0; i < 501; ++i) {
    v1::NodeFinding* f = r.add_findings();
    f->set_id(absl::StrCat("l-", i));
    f->mutable_listener_gone()->set_protocol("tcp");
    f->mutable_listener_gone()->set_address("0.0.0.0");
    f->mutable_listener_gone()->set_port(22);
  }
  s = Report(r, &ack);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("findings: 501 in one report, at most 500"));
  grpc::ClientContext ctx;
  v1::ListNodesResponse list;
  ASSERT_TRUE(stub_->ListNodes(&ctx, v1::ListNodesRequest(), &list).ok());
  EXPECT_EQ(list.nodes_size(), 0);
}

}  // namespace
}  // namespace goalkeeper
