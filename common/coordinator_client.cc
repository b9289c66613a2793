#include "common/coordinator_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/grpc_channel.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "goalkeeper/v1/coordinator.grpc.pb.h"
#include "goalkeeper/v1/node.grpc.pb.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

// A restarted coordinator is reached again within about a second.
ChannelOptions FastReconnect(const TlsConfig& tls) {
  ChannelOptions options;
  options.fast_reconnect = true;
  options.tls = tls;
  return options;
}

// A stub whose channel is dialled afresh once every call has failed with
// UNAVAILABLE or DEADLINE_EXCEEDED for kRedialAfter: a gRPC 1.51 TLS channel
// whose first connections failed (the coordinator not up yet) can go on
// failing its handshakes for good, while a new channel connects at once
// (grpc/grpc#33593; seen with node agents started beside the coordinator).
template <typename Service>
class RedialingStub {
 public:
  static constexpr absl::Duration kRedialAfter = absl::Seconds(5);

  RedialingStub(std::string address, ChannelOptions options)
      : address_(std::move(address)), options_(std::move(options)), stub_(Dial()) {}

  // One unary call with a deadline; the server's (or the transport's) status.
  template <typename Req, typename Resp>
  absl::StatusOr<Resp> Call(grpc::Status (Service::Stub::*rpc)(grpc::ClientContext*, const Req&,
                                                               Resp*),
                            const Req& req, absl::Duration deadline) {
    std::shared_ptr<typename Service::Stub> stub;
    {
      absl::MutexLock lock(&mu_);
      stub = stub_;
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
    Resp resp;
    grpc::Status s = ((*stub).*rpc)(&ctx, req, &resp);
    Record(s, stub);
    if (!s.ok()) return FromGrpcStatus(s);
    return resp;
  }

 private:
  std::shared_ptr<typename Service::Stub> Dial() {
    return Service::NewStub(MakeChannel(address_, options_));
  }

  void Record(const grpc::Status& s, const std::shared_ptr<typename Service::Stub>& used) {
    const bool unreachable = s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                             s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    absl::MutexLock lock(&mu_);
    if (used != stub_) return;  // another call already dialled afresh
    if (!unreachable) {
      failing_since_ = absl::InfiniteFuture();
      return;
    }
    absl::Time now = absl::Now();
    if (failing_since_ == absl::InfiniteFuture()) failing_since_ = now;
    if (now - failing_since_ < kRedialAfter) return;
    MakeLogger("client")->warn("no answer from {} for {} s ({}): dialling it afresh", address_,
                               absl::ToInt64Seconds(now - failing_since_),
                               EscapeLogText(s.error_message()));
    stub_ = Dial();
    failing_since_ = absl::InfiniteFuture();
  }

  const std::string address_;
  const ChannelOptions options_;
  absl::Mutex mu_;
  std::shared_ptr<typename Service::Stub> stub_ ABSL_GUARDED_BY(mu_);
  absl::Time failing_since_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
};

class GrpcCoordinatorClient : public CoordinatorClient {
 public:
  GrpcCoordinatorClient(const std::string& address, const TlsConfig& tls, absl::Duration deadline)
      : stub_(address, FastReconnect(tls)), deadline_(deadline) {}

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
    return stub_.Call(rpc, req, deadline);
  }

  RedialingStub<v1::ShardService> stub_;
  const absl::Duration deadline_;
};

class GrpcNodeReportClient : public NodeReportClient {
 public:
  GrpcNodeReportClient(const std::string& address, const TlsConfig& tls, absl::Duration deadline)
      : stub_(address, FastReconnect(tls)), deadline_(deadline) {}

  absl::StatusOr<v1::NodeReportAck> Report(const v1::NodeReport& report) override {
    return stub_.Call(&v1::NodeService::Stub::ReportNode, report, deadline_);
  }

 private:
  RedialingStub<v1::NodeService> stub_;
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
