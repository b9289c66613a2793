#include "common/server_util.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>

#include "absl/strings/str_cat.h"
#include "common/authz.h"  // AuthGate, CallerInterceptorFactory
#include "common/grpc_channel.h"
#include "common/grpc_server_metrics.h"
#include "common/process_metrics.h"

namespace goalkeeper {

sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

int WaitForStopSignal(const sigset_t& signals) {
  int sig = 0;
  sigwait(&signals, &sig);
  return sig;
}

std::string HostOf(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

namespace {

std::unique_ptr<grpc::Server> StartServer(const std::string& listen,
                                          const std::vector<grpc::Service*>& services, int* port,
                                          const std::shared_ptr<grpc::ServerCredentials>& creds,
                                          std::shared_ptr<const AuthGate> gate,
                                          int max_receive_bytes) {
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Without this, gRPC sets SO_REUSEPORT and a second process on the same
  // port would silently share the traffic.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  *port = 0;
  builder.AddListeningPort(listen, creds, port);
  for (grpc::Service* s : services) builder.RegisterService(s);
  builder.SetMaxReceiveMessageSize(max_receive_bytes);
  // Per-method request counts and latencies (common/grpc_server_metrics.h).
  auto interceptors = GrpcServerMetrics::Global().InterceptorFactories();
  // Who each call is (CallerOf) and the stream slots the gate handed out.
  if (gate != nullptr) interceptors.push_back(CallerInterceptorFactory(std::move(gate)));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *port == 0) {
    *port = 0;
    return nullptr;
  }
  return server;
}

}  // namespace

std::unique_ptr<grpc::Server> StartGrpcServer(const std::string& listen,
                                              const std::vector<grpc::Service*>& services,
                                              int* port, int max_receive_bytes) {
  return StartServer(listen, services, port, grpc::InsecureServerCredentials(), nullptr,
                     max_receive_bytes);
}

std::unique_ptr<grpc::Server> StartGrpcServer(const std::string& listen,
                                              const std::vector<grpc::Service*>& services,
                                              int* port, const TlsConfig& tls,
                                              std::shared_ptr<grpc::AuthMetadataProcessor> gate,
                                              int max_receive_bytes) {
  std::shared_ptr<const AuthGate> auth_gate = std::dynamic_pointer_cast<AuthGate>(gate);
  std::unique_ptr<grpc::Server> server =
      StartServer(listen, services, port, MakeServerCredentials(tls, std::move(gate)),
                  std::move(auth_gate), max_receive_bytes);
  if (server != nullptr && tls.insecure) {
    WarnInsecure(absl::StrCat(HostOf(listen), ":", *port), /*server=*/true);
  }
  return server;
}

absl::StatusOr<std::unique_ptr<prometheus::Exposer>> StartMetrics(
    const std::string& listen, const std::shared_ptr<prometheus::Registry>& registry,
    absl::string_view component, std::string* address) {
  *address = "off";
  if (listen.empty()) return nullptr;
  AddBuildInfo(*registry, component);
  try {
    auto exposer = std::make_unique<prometheus::Exposer>(listen);
    exposer->RegisterCollectable(registry);
    exposer->RegisterCollectable(GrpcServerMetrics::Global().registry());
    exposer->RegisterCollectable(ProcessCollector());
    auto ports = exposer->GetListeningPorts();
    *address = absl::StrCat(HostOf(listen), ":", ports.empty() ? 0 : ports.front());
    return exposer;
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on '", listen, "': ", e.what()));
  }
}

}  // namespace goalkeeper
