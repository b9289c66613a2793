// The operator service over a real gRPC channel on loopback (in-process
// server): ListFindings streams read the store page by page and are bounded
// per client and overall; WatchScan streams are bounded.
#include "coordinator/coordinator_service.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/server_util.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

class CoordinatorServiceTest : public ::testing::Test {
 protected:
  CoordinatorServiceTest() : clock_(absl::FromUnixSeconds(1'800'000'000)) {
    db_ = ::testing::TempDir() + "/service-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) unlink((db_ + suffix).c_str());
    config_.allowed_ranges = {"127.80.0.0/16"};
    config_.profiles["lab"] = ProfileConfig{"22,80,443,5432", 300, 1, 0, "verify", {}};
    config_.lease = {10, 2, 5, 2};
    auto s = ScanStore::Open(db_);
    EXPECT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    manager_ = std::make_unique<ScanManager>(config_, *store_, clock_);
    EXPECT_TRUE(manager_->Recover().ok());
  }
  ~CoordinatorServiceTest() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  void Serve(StreamLimits limits) {
    service_ = std::make_unique<CoordinatorService>(*manager_, limits);
    int port = 0;
    server_ = StartGrpcServer("127.0.0.1:0", {service_.get()}, &port, kCoordinatorMaxReceiveBytes);
    ASSERT_NE(server_, nullptr);
    // Plaintext on purpose: this tests the adapter's stream bounds, and the
    // client's HTTP/2 window is set with channel arguments that MakeChannel
    // (the one place TLS channels are built) does not take.
    // A client's receive window as a small one would be (no BDP growth), so
    // that a client that stops reading really stops the stream.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024);
    stub_ = v1::Coordinator::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials(), args));
  }

  // A scan of 127.80.0.0/16 with `n` open findings stored.
  std::string ScanWithFindings(uint32_t n) {
    v1::StartScanRequest req;
    req.mutable_targets()->add_include("127.80.0.0/16");
    req.set_profile("lab");
    auto scan = manager_->StartScan(req, "");
    EXPECT_TRUE(scan.ok()) << scan.status();
    static constexpr uint32_t kPorts[] = {22, 80, 443, 5432};
    std::vector<v1::ProbeResult> results;
    for (uint32_t i = 0; i < n; ++i) {
      v1::ProbeResult& r = results.emplace_back();
      r.set_ip(absl::StrCat("127.80.", (i / 4) / 256, ".", (i / 4) % 256));
      r.set_port(kPorts[i % 4]);
      r.set_state(v1::PROBE_STATE_OPEN);
    }
    EXPECT_TRUE(store_->InsertFindings(scan->id(), results, 1).ok());
    EXPECT_TRUE(store_->Commit().ok());
    return scan->id();
  }

  // Waits until the streams' page reads stop changing (the server blocks on
  // a client that does not read).
  StreamStats Settled() {
    StreamStats last = service_->stream_stats();
    for (int stable = 0; stable < 5;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      StreamStats now = service_->stream_stats();
      stable = now.findings_pages == last.findings_pages ? stable + 1 : 0;
      last = now;
    }
    return last;
  }

  FakeClock clock_;
  CoordinatorConfig config_;
  std::string db_;
  std::unique_ptr<ScanStore> store_;
  std::unique_ptr<ScanManager> manager_;
  std::unique_ptr<CoordinatorService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

TEST_F(CoordinatorServiceTest, AReadingClientGetsEveryFindingPageByPage) {
  const std::string id = ScanWithFindings(100000);
  Serve(StreamLimits{});
  grpc::ClientContext ctx;
  v1::ListFindingsRequest req;
  req.set_scan_id(id);
  auto reader = stub_->ListFindings(&ctx, req);
  v1::Finding f;
  int n = 0;
  while (reader->Read(&f)) ++n;
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(n, 100000);
  const StreamStats stats = service_->stream_stats();
  EXPECT_EQ(stats.findings_pages, 100u);
  EXPECT_LE(stats.findings_held_peak, 1000u) << "one page at a time";
  EXPECT_EQ(stats.findings_streams, 0);
}

TEST_F(CoordinatorServiceTest, ClientsThatStopReadingHoldOnePageAndExtraStreamsAreRefused) {
  const std::string id = ScanWithFindings(100000);
  StreamLimits limits;
  limits.findings_streams_per_peer = 2;
  Serve(limits);
  v1::ListFindingsRequest req;
  req.set_scan_id(id);
  grpc::ClientContext stalled_ctx[2];
  std::unique_ptr<grpc::ClientReader<v1::Finding>> stalled[2];
  for (int i = 0; i < 2; ++i) {
    stalled[i] = stub_->ListFindings(&stalled_ctx[i], req);
    v1::Finding f;
    ASSERT_TRUE(stalled[i]->Read(&f));  // then stop reading
  }
  const StreamStats stats = Settled();
  EXPECT_EQ(stats.findings_streams, 2) << "both still blocked on their clients";
  EXPECT_LE(stats.findings_held, 2000u);
  EXPECT_LE(stats.findings_held_peak, 2000u) << "never the scan's 100k findings";
  EXPECT_LT(stats.findings_pages, 200u) << "neither stream read everything";

  grpc::ClientContext third_ctx;
  auto third = stub_->ListFindings(&third_ctx, req);
  v1::Finding f;
  EXPECT_FALSE(third->Read(&f));
  grpc::Status s = third->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();

  for (int i = 0; i < 2; ++i) stalled_ctx[i].TryCancel();
  for (int i = 0; i < 2; ++i) stalled[i]->Finish().IgnoreError();
  for (int i = 0; i < 100 && service_->stream_stats().findings_streams > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(service_->stream_stats().findings_streams, 0);
  EXPECT_EQ(service_->stream_stats().findings_held, 0u) << "released when the clients left";
  grpc::ClientContext again_ctx;
  auto again = stub_->ListFindings(&again_ctx, req);
  int n = 0;
  while (again->Read(&f)) ++n;
  EXPECT_TRUE(again->Finish().ok());
  EXPECT_EQ(n, 100000);
}

TEST_F(CoordinatorServiceTest, StreamsAreBoundedOverall) {
  const std::string id = ScanWithFindings(100000);
  StreamLimits limits;
  limits.findings_streams = 1;
  Serve(limits);
  v1::ListFindingsRequest req;
  req.set_scan_id(id);
  grpc::ClientContext first_ctx;
  auto first = stub_->ListFindings(&first_ctx, req);
  v1::Finding f;
  ASSERT_TRUE(first->Read(&f));
  grpc::ClientContext second_ctx;
  auto second = stub_->ListFindings(&second_ctx, req);
  EXPECT_FALSE(second->Read(&f));
  EXPECT_EQ(second->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  first_ctx.TryCancel();
  first->Finish().IgnoreError();
}

TEST_F(CoordinatorServiceTest, WatchersAreBounded) {
  const std::string id = ScanWithFindings(1);  // stays PENDING: watchers stay open
  StreamLimits limits;
  limits.watchers = 1;
  Serve(limits);
  v1::WatchScanRequest req;
  req.set_id(id);
  grpc::ClientContext first_ctx;
  auto first = stub_->WatchScan(&first_ctx, req);
  v1::Scan scan;
  ASSERT_TRUE(first->Read(&scan));
  EXPECT_EQ(scan.id(), id);
  grpc::ClientContext second_ctx;
  auto second = stub_->WatchScan(&second_ctx, req);
  EXPECT_FALSE(second->Read(&scan));
  EXPECT_EQ(second->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  first_ctx.TryCancel();
  first->Finish().IgnoreError();
  for (int i = 0; i < 100 && service_->stream_stats().watchers > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(service_->stream_stats().watchers, 0);
}

}  // namespace
}  // namespace goalkeeper
