// What every Goalkeeper server process does the same way: take SIGTERM and
// SIGINT synchronously, start a gRPC server (with reflection, and without
// SO_REUSEPORT so a second process on the same port fails loudly), and serve
// Prometheus /metrics.
//
//   sigset_t stop = BlockStopSignals();   // before starting any thread
//   int port = 0;
//   auto server = StartGrpcServer(config.listen, {&service, &health}, &port);
//   std::string metrics_at;
//   auto exposer = StartMetrics(config.metrics_listen, registry, "coordinator", &metrics_at);
//   int sig = WaitForStopSignal(stop);
//
// Thread-safety: call from main's thread.
#ifndef GOALKEEPER_COMMON_SERVER_UTIL_H_
#define GOALKEEPER_COMMON_SERVER_UTIL_H_

#include <grpcpp/grpcpp.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tls_config.h"

namespace goalkeeper {

// Blocks SIGTERM and SIGINT in the calling thread; threads started later
// inherit the mask, so only WaitForStopSignal sees them.
sigset_t BlockStopSignals();
// Waits for one of them; returns its number.
int WaitForStopSignal(const sigset_t& signals);

// "host" of "host:port" (for log lines).
std::string HostOf(const std::string& address);

// Starts a gRPC server on `listen` with the services and server reflection,
// counting and timing every call (common/grpc_server_metrics.h), with
// MakeServerCredentials(tls, gate) (common/grpc_channel.h): mutual TLS, or
// plaintext with tls.insecure (logged once as a warning).
// Returns null (and *port 0) when the address cannot be bound.
std::unique_ptr<grpc::Server> StartGrpcServer(const std::string& listen,
                                              const std::vector<grpc::Service*>& services,
                                              int* port, const TlsConfig& tls,
                                              std::shared_ptr<grpc::AuthMetadataProcessor> gate);

// The same in plaintext, without a warning: for what is plaintext by design
// (the grpc.health.v1 ports of Kubernetes' probes) and in-process tests.
std::unique_ptr<grpc::Server> StartGrpcServer(const std::string& listen,
                                              const std::vector<grpc::Service*>& services,
                                              int* port);

// Serves `registry` on `listen` ("" = off: returns null and "off"), with
// what every daemon exposes: goalkeeper_build_info{component} (added to
// `registry`), the process metrics and the gRPC server metrics.
// *address is "host:port" as bound. Errors name the address.
absl::StatusOr<std::unique_ptr<prometheus::Exposer>> StartMetrics(
    const std::string& listen, const std::shared_ptr<prometheus::Registry>& registry,
    absl::string_view component, std::string* address);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_SERVER_UTIL_H_
