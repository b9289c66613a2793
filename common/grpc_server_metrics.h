// Per-method gRPC server metrics for every server the process builds, with
// the names and labels of the grpc-ecosystem interceptors (so the usual gRPC
// dashboards and alerts apply):
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//   grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method} (histogram)
// grpc_code is the status code's CamelCase name ("OK", "NotFound",
// "Unavailable"); the handling time runs from the call's start to its status
// (for a stream: the end of the whole call).
//
// One server interceptor does it; StartGrpcServer (common/server_util.h)
// installs it in every server, and StartMetrics serves these families:
//
//   builder.experimental().SetInterceptorCreators(
//       GrpcServerMetrics::Global().InterceptorFactories());
//   exposer.RegisterCollectable(GrpcServerMetrics::Global().registry());
//
// Thread-safety: thread-safe (prometheus-cpp families and atomic metrics).
#ifndef GOALKEEPER_COMMON_GRPC_SERVER_METRICS_H_
#define GOALKEEPER_COMMON_GRPC_SERVER_METRICS_H_

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace goalkeeper {

class GrpcServerMetrics {
 public:
  // The process-wide instance (metrics are per process, servers many).
  static GrpcServerMetrics& Global();

  GrpcServerMetrics();
  GrpcServerMetrics(const GrpcServerMetrics&) = delete;
  GrpcServerMetrics& operator=(const GrpcServerMetrics&) = delete;

  // A fresh list holding one factory of this metrics' interceptor (the
  // builder takes ownership of the list).
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
  InterceptorFactories();
  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  // What the interceptor records: a call of `method` ("/pkg.Service/Method")
  // started / ended with `code` after `seconds`.
  void Started(absl::string_view type, absl::string_view method);
  void Handled(absl::string_view type, absl::string_view method, grpc::StatusCode code,
               double seconds);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& seconds_;
};

// "OK", "Cancelled", "InvalidArgument", ... (the grpc-ecosystem spelling).
absl::string_view GrpcCodeName(grpc::StatusCode code);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_GRPC_SERVER_METRICS_H_
