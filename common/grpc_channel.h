// The one place that builds gRPC channels (clients) and server credentials,
// so transport security is configured in a single file. Every client of the
// fleet (goalkeeperctl, workers, node agents, the coordinator's report
// sender) dials through MakeChannel; every server listens with
// MakeServerCredentials.
//
//   ChannelOptions options;
//   options.tls = config.tls;   // checked at start: RequireTlsMaterial, CheckTlsFiles
//   (common/tls.h) std::shared_ptr<grpc::Channel> ch = MakeChannel("coordinator:7070", options);
//   auto stub = goalkeeper::v1::ShardService::NewStub(ch);
//
//   auto creds = MakeServerCredentials(config.tls, gate);   // gate: common/authz.h
//
// TLS (the default): mutual TLS with the files of a TlsConfig, through
// gRPC's FileWatcherCertificateProvider, which re-reads the CA, the
// certificate and the key every `refresh_seconds`: a rotated certificate or
// CA is used by the next handshake, with no restart (swap the files together,
// e.g. by renaming a directory, as Kubernetes does with a Secret's `..data`
// symlink: they are read one by one). A client verifies the server's
// certificate against the CA and the dialled host (or tls.server_name) and
// presents its own certificate when it has one; a server verifies the
// client's certificate (see MakeServerCredentials), then runs the gate (a
// grpc::AuthMetadataProcessor: the one place calls are authorised). A
// TlsConfig with no files and not `insecure` verifies servers against the
// system's CAs (never plaintext). `insecure`: plaintext, no gate.
//
// Thread-safety: thread-safe.
#ifndef GOALKEEPER_COMMON_GRPC_CHANNEL_H_
#define GOALKEEPER_COMMON_GRPC_CHANNEL_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/auth_metadata_processor.h>

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "common/tls_config.h"

namespace goalkeeper {

struct ChannelOptions {
  // Reconnect within about a second when the server comes back (gRPC's
  // default backoff starts at 1 s and grows to 2 minutes). For long-lived
  // daemons (workers); a one-shot CLI keeps gRPC's defaults.
  bool fast_reconnect = false;
  // Largest message accepted from the server; 0 = gRPC's default (4 MiB).
  int max_receive_bytes = 0;
  // Transport security (see above).
  TlsConfig tls;
  // Sent with every call as `authorization: Bearer <token>` (TLS only; never
  // logged). "" = none.
  std::string bearer_token;
};

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const ChannelOptions& options);

// TLS server credentials, or plaintext with tls.insecure (no gate). Without
// a gate (null) a client certificate from the CA is required at the
// handshake and every such peer passes. With a gate a presented certificate
// must verify, but a client may instead bring a bearer token: a call with
// neither is refused UNAUTHENTICATED before the gate runs ("no client
// certificate and no bearer token: ..."), except grpc.health.v1 and server
// reflection (public); the gate then checks the token or the certificate's
// identity.
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(
    const TlsConfig& tls, std::shared_ptr<grpc::AuthMetadataProcessor> gate);

// Logs, once per process and address, "--insecure: plaintext gRPC on ADDR,
// no client is authenticated or authorised" (a server) or "--insecure:
// plaintext gRPC to ADDR, the server is not authenticated" (a client).
void WarnInsecure(absl::string_view address, bool server);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_GRPC_CHANNEL_H_
