// StartGrpcServer's message size limit on a real loopback server: a request
// over the limit ends with RESOURCE_EXHAUSTED before any handler runs, and
// the server goes on serving the next caller.
#include <chrono>
#include <memory>
#include <string>

#include "common/grpc_channel.h"
#include "common/health_service.h"
#include "common/server_util.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

grpc::Status Check(grpc::health::v1::Health::Stub& stub, const std::string& service) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  grpc::health::v1::HealthCheckResponse resp;
  return stub.Check(&ctx, req, &resp);
}

TEST(ServerLimitsTest, ARequestOverTheLimitIsResourceExhaustedAndTheServerServesOn) {
  // A registered name just under the limit: Check answers SERVING for it.
  const std::string under_limit(static_cast<size_t>(kHealthOnlyMaxReceiveBytes) - 64, 'u');
  HealthService health({under_limit});
  int port = 0;
  std::unique_ptr<grpc::Server> server =
      StartGrpcServer("127.0.0.1:0", {&health}, &port, kHealthOnlyMaxReceiveBytes);
  ASSERT_NE(server, nullptr);
  ChannelOptions options;
  options.max_receive_bytes = 16 << 20;
  options.tls.insecure = true;  // the plaintext overload
  auto stub =
      grpc::health::v1::Health::NewStub(MakeChannel("127.0.0.1:" + std::to_string(port), options));

  grpc::Status big =
      Check(*stub, std::string(static_cast<size_t>(kHealthOnlyMaxReceiveBytes) + 1, 'x'));
  EXPECT_EQ(big.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << big.error_message();
  grpc::Status under = Check(*stub, under_limit);
  EXPECT_TRUE(under.ok()) << under.error_code() << " " << under.error_message().substr(0, 200);
  EXPECT_TRUE(Check(*stub, "").ok());
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

}  // namespace
}  // namespace goalkeeper
