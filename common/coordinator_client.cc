#include "common/coordinator_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "common/grpc_channel.h"
#include "common/grpc_status.h"
#include "goalkeeper/v1/coordinator.grpc.pb.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

class GrpcCoordinatorClient : public CoordinatorClient {
 public:
  GrpcCoordinatorClient(const std::string& address, absl::Duration deadline)
      : stub_(v1::ShardService::NewStub(
            MakeChannel(address, ChannelOptions{.fast_reconnect = true}))),
        deadline_(deadline) {}

  absl::StatusOr<v1::RegisterWorkerResponse> Register(
      const v1::RegisterWorkerRequest& req) override {
    return Call(&v1::ShardService::Stub::RegisterWorker, req, deadline_);
  }
  absl::StatusOr<v1::LeaseShardResponse> Lease(const v1::LeaseShardRequest& req) override {
    return Call(&v1::ShardService::Stub::LeaseShard, req, deadline_);
  }
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& req) override {
    return Call(&v1::ShardService::Stub::Heartbeat, req, deadline_ / 2);
  }
  absl::Status ReportFindings(const v1::ReportFindingsRequest& req) override {
    return Call(&v1::ShardService::Stub::ReportFindings, req, deadline_).status();
  }
  absl::Status Complete(const v1::CompleteShardRequest& req) override {
    return Call(&v1::ShardService::Stub::CompleteShard, req, deadline_).status();
  }

 private:
  template <typename Req, typename Resp>
  absl::StatusOr<Resp> Call(grpc::Status (v1::ShardService::Stub::*rpc)(grpc::ClientContext*,
                                                                        const Req&, Resp*),
                            const Req& req, absl::Duration deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
    Resp resp;
    grpc::Status s = (stub_.get()->*rpc)(&ctx, req, &resp);
    if (!s.ok()) return FromGrpcStatus(s);
    return resp;
  }

  const std::unique_ptr<v1::ShardService::Stub> stub_;
  const absl::Duration deadline_;
};

}  // namespace

std::unique_ptr<CoordinatorClient> NewGrpcCoordinatorClient(const std::string& address,
                                                            absl::Duration deadline) {
  return std::make_unique<GrpcCoordinatorClient>(address, deadline);
}

}  // namespace goalkeeper
