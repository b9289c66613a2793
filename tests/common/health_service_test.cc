// HealthService over a real in-process gRPC server on loopback: readiness
// (""), liveness ("liveness") and registered names through Check and Watch.
#include "common/health_service.h"

#include <chrono>
#include <memory>
#include <string>

#include "common/grpc_channel.h"
#include "common/server_util.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// The health port is plaintext by design (Kubernetes' probes).
ChannelOptions Plaintext() {
  ChannelOptions options;
  options.tls.insecure = true;
  return options;
}

class HealthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int port = 0;
    server_ = StartGrpcServer("127.0.0.1:0", {&health_}, &port);
    ASSERT_NE(server_, nullptr);
    stub_ = grpc::health::v1::Health::NewStub(
        MakeChannel("127.0.0.1:" + std::to_string(port), Plaintext()));
  }
  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    }
  }

  // The status Check answers for `service`, or UNKNOWN with the RPC's error
  // code in *code.
  HealthCheckResponse::ServingStatus Check(const std::string& service,
                                           grpc::StatusCode* code = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    HealthCheckRequest req;
    req.set_service(service);
    HealthCheckResponse resp;
    grpc::Status s = stub_->Check(&ctx, req, &resp);
    if (code != nullptr) *code = s.error_code();
    return s.ok() ? resp.status() : HealthCheckResponse::UNKNOWN;
  }

  // The first status Watch streams for `service`.
  HealthCheckResponse::ServingStatus FirstWatched(const std::string& service) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    HealthCheckRequest req;
    req.set_service(service);
    auto reader = stub_->Watch(&ctx, req);
    HealthCheckResponse resp;
    HealthCheckResponse::ServingStatus got =
        reader->Read(&resp) ? resp.status() : HealthCheckResponse::UNKNOWN;
    ctx.TryCancel();
    reader->Finish().IgnoreError();
    return got;
  }

  HealthService health_{{"goalkeeper.v1.Coordinator"}};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
};

TEST_F(HealthServiceTest, EverythingServesUntilShutdown) {
  EXPECT_EQ(Check(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(HealthService::kLiveness), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check("goalkeeper.v1.Coordinator"), HealthCheckResponse::SERVING);
  health_.Shutdown();
  EXPECT_EQ(Check(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check("liveness"), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check("goalkeeper.v1.Coordinator"), HealthCheckResponse::NOT_SERVING);
}

TEST_F(HealthServiceTest, DegradedIsNotReadyButStillLive) {
  health_.SetDegraded(true);
  EXPECT_EQ(Check(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check("goalkeeper.v1.Coordinator"), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check("liveness"), HealthCheckResponse::SERVING);
  EXPECT_EQ(FirstWatched(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(FirstWatched("liveness"), HealthCheckResponse::SERVING);
  health_.SetDegraded(false);
  EXPECT_EQ(Check(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(FirstWatched(""), HealthCheckResponse::SERVING);
  health_.SetDegraded(true);
  health_.Shutdown();
  EXPECT_EQ(Check("liveness"), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(FirstWatched("liveness"), HealthCheckResponse::NOT_SERVING);
}

TEST_F(HealthServiceTest, AnUnknownNameIsNotFoundAndWatchedAsServiceUnknown) {
  grpc::StatusCode code = grpc::StatusCode::OK;
  EXPECT_EQ(Check("Liveness", &code), HealthCheckResponse::UNKNOWN);
  EXPECT_EQ(code, grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(FirstWatched("goalkeeper.v1.Notifier"), HealthCheckResponse::SERVICE_UNKNOWN);
}

}  // namespace
}  // namespace goalkeeper
