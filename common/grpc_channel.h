// The one place that builds gRPC channels (clients) and server credentials,
// so transport security is configured in a single file. Every client of the
// fleet (goalkeeperctl, workers, node agents, the coordinator's report
// sender) dials through MakeChannel; every server listens with
// MakeServerCredentials.
//
//   std::shared_ptr<grpc::Channel> ch = MakeChannel("coordinator:7070", ChannelOptions{});
//   auto stub = goalkeeper::v1::ShardService::NewStub(ch);
//
// Today both are plaintext; the fleet-security issue adds TLS here.
//
// Thread-safety: thread-safe (no shared state).
#ifndef GOALKEEPER_COMMON_GRPC_CHANNEL_H_
#define GOALKEEPER_COMMON_GRPC_CHANNEL_H_

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

namespace goalkeeper {

struct ChannelOptions {
  // Reconnect within about a second when the server comes back (gRPC's
  // default backoff starts at 1 s and grows to 2 minutes). For long-lived
  // daemons (workers); a one-shot CLI keeps gRPC's defaults.
  bool fast_reconnect = false;
  // Largest message accepted from the server; 0 = gRPC's default (4 MiB).
  int max_receive_bytes = 0;
};

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const ChannelOptions& options);

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials();

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_GRPC_CHANNEL_H_
