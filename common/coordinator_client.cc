#include "common/coordinator_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "common/grpc_channel.h"
#include "common/grpc_status.h"
#include "goalkeeper/v1/coordinator.grpc.pb.h"
#include "goalkeeper/v1/node.grpc.pb.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

// One unary call with a deadline; the server's (or the transport's) status.
template <typename Stub, typename Req, typename Resp>
absl::StatusOr<Resp> CallOnce(Stub& stub,
                              grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Req&, Resp*),
                              const Req& req, absl::Duration deadline) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
  Resp resp;
  grpc::Status s = (stub.*rpc)(&ctx, req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  return resp;
}

// A restarted coordinator is reached again within about a second.
ChannelOptions FastReconnect(const TlsConfig& tls) {
  ChannelOptions options;
  options.fast_reconnect = true;
  options.tls = tls;
  return options;
}

class GrpcCoordinatorClient : public CoordinatorClient {
 public:
  GrpcCoordinatorClient(const std::string& address, const TlsConfig& tls, absl::Duration deadline)
      : stub_(v1::ShardService::NewStub(MakeChannel(address, FastReconnect(tls)))),
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
    return CallOnce(*stub_, rpc, req, deadline);
  }

  const std::unique_ptr<v1::ShardService::Stub> stub_;
  const absl::Duration deadline_;
};

class GrpcNodeReportClient : public NodeReportClient {
 public:
  GrpcNodeReportClient(const std::string& address, const TlsConfig& tls, absl::Duration deadline)
      : stub_(v1::NodeService::NewStub(MakeChannel(address, FastReconnect(tls)))),
        deadline_(deadline) {}

  absl::StatusOr<v1::NodeReportAck> Report(const v1::NodeReport& report) override {
    return CallOnce(*stub_, &v1::NodeService::Stub::ReportNode, report, deadline_);
  }

 private:
  const std::unique_ptr<v1::NodeService::Stub> stub_;
  const absl::Duration deadline_;
};

}  // namespace

std::unique_ptr<NodeReportClient> NewGrpcNodeReportClient(const std::string& address,
                                                          const TlsConfig& tls,
                                                          absl::Duration deadline) {
  return std::make_unique<GrpcNodeReportClient>(address, tls, deadline);
}

std::unique_ptr<CoordinatorClient> NewGrpcCoordinatorClient(const std::string& address,
                                                            const TlsConfig& tls,
                                                            absl::Duration deadline) {
  return std::make_unique<GrpcCoordinatorClient>(address, tls, deadline);
}

}  // namespace goalkeeper
