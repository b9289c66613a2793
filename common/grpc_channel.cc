#include "common/grpc_channel.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"

namespace goalkeeper {
namespace {

unsigned RefreshSeconds(const TlsConfig& tls) {
  return tls.refresh_seconds > 0 ? static_cast<unsigned>(tls.refresh_seconds) : 10u;
}

std::shared_ptr<grpc::ChannelCredentials> TlsChannelCredentials(const TlsConfig& tls) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  const bool identity = !tls.cert_file.empty() && !tls.key_file.empty();
  if (!tls.ca_file.empty() || identity) {
    options.set_certificate_provider(
        std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
            identity ? tls.key_file : "", identity ? tls.cert_file : "", tls.ca_file,
            RefreshSeconds(tls)));
    if (!tls.ca_file.empty()) options.watch_root_certs();
    if (identity) options.watch_identity_key_cert_pairs();
  }
  // The server's certificate must name the dialled host (or server_name).
  options.set_verify_server_certs(true);
  options.set_certificate_verifier(
      std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

// With a gate, a client may come with a bearer token instead of a
// certificate (goalkeeperctl --token-file), so the handshake only requests
// one (a certificate that is presented must still verify). This runs first
// and refuses a call that brings neither, except the public health and
// reflection services; then the gate decides.
class CertificateOrToken final : public grpc::AuthMetadataProcessor {
 public:
  explicit CertificateOrToken(std::shared_ptr<grpc::AuthMetadataProcessor> gate)
      : gate_(std::move(gate)) {}

  bool IsBlocking() const override { return gate_->IsBlocking(); }

  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override {
    const bool certificate = !context->FindPropertyValues("x509_pem_cert").empty();
    if (!certificate && auth_metadata.find("authorization") == auth_metadata.end() &&
        !IsPublic(auth_metadata)) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "no client certificate and no bearer token: give --tls-dir (or "
                          "--tls-cert-file and --tls-key-file) or --token-file");
    }
    return gate_->Process(auth_metadata, context, consumed_auth_metadata, response_metadata);
  }

 private:
  static bool IsPublic(const InputMetadata& metadata) {
    auto path = metadata.find(":path");
    if (path == metadata.end()) return false;
    const absl::string_view p(path->second.data(), path->second.size());
    return absl::StartsWith(p, "/grpc.health.v1.Health/") ||
           absl::StartsWith(p, "/grpc.reflection.v1alpha.ServerReflection/") ||
           absl::StartsWith(p, "/grpc.reflection.v1.ServerReflection/");
  }

  const std::shared_ptr<grpc::AuthMetadataProcessor> gate_;
};

}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const ChannelOptions& options) {
  grpc::ChannelArguments args;
  if (options.fast_reconnect) {
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  }
  if (options.max_receive_bytes > 0) args.SetMaxReceiveMessageSize(options.max_receive_bytes);
  if (options.tls.insecure) {
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  if (!options.tls.server_name.empty()) args.SetSslTargetNameOverride(options.tls.server_name);
  std::shared_ptr<grpc::ChannelCredentials> creds = TlsChannelCredentials(options.tls);
  if (!options.bearer_token.empty()) {
    creds = grpc::CompositeChannelCredentials(creds,
                                              grpc::AccessTokenCredentials(options.bearer_token));
  }
  return grpc::CreateCustomChannel(address, creds, args);
}

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(
    const TlsConfig& tls, std::shared_ptr<grpc::AuthMetadataProcessor> gate) {
  if (tls.insecure) return grpc::InsecureServerCredentials();
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      tls.key_file, tls.cert_file, tls.ca_file, RefreshSeconds(tls));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  // Without a gate nothing could check a bearer token: a client certificate
  // is required at the handshake. With one, a token may stand in for it
  // (CertificateOrToken).
  options.set_cert_request_type(gate == nullptr
                                    ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                    : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  std::shared_ptr<grpc::ServerCredentials> creds =
      grpc::experimental::TlsServerCredentials(options);
  if (gate != nullptr) {
    creds->SetAuthMetadataProcessor(std::make_shared<CertificateOrToken>(std::move(gate)));
  }
  return creds;
}

void WarnInsecure(absl::string_view address, bool server) {
  static absl::Mutex mu(absl::kConstInit);
  static std::set<std::string>* warned ABSL_GUARDED_BY(mu) = new std::set<std::string>();
  {
    absl::MutexLock lock(&mu);
    if (!warned->insert(std::string(server ? "s:" : "c:") + std::string(address)).second) return;
  }
  if (server) {
    MakeLogger("tls")->warn(
        "--insecure: plaintext gRPC on {}, no client is authenticated or authorised", address);
  } else {
    MakeLogger("tls")->warn("--insecure: plaintext gRPC to {}, the server is not authenticated",
                            address);
  }
}

}  // namespace goalkeeper
