// grpc.health.v1.Health for our servers: "" (the whole server, readiness)
// and every registered service name are SERVING until Shutdown(), then
// NOT_SERVING, and NOT_SERVING while degraded. "liveness" (always known) is
// SERVING while the process serves, degraded or not, and NOT_SERVING after
// Shutdown(): Kubernetes restarts a pod on liveness, and a full disk is no
// reason to.
// Our own implementation (not grpc's default one) so that reflection lists
// it and grpcurl can call it; Kubernetes gRPC probes call Check.
//
//   HealthService health({"goalkeeper.v1.Coordinator"});
//   builder.RegisterService(&health);
//   ...
//   health.SetDegraded(true);   // "" NOT_SERVING, "liveness" still SERVING
//   health.Shutdown();   // before server->Shutdown(), so probes fail first
//
// Thread-safety: thread-safe.
#ifndef GOALKEEPER_COMMON_HEALTH_SERVICE_H_
#define GOALKEEPER_COMMON_HEALTH_SERVICE_H_

#include <atomic>
#include <set>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"

namespace goalkeeper {

class HealthService final : public grpc::health::v1::Health::Service {
 public:
  // The name of the liveness check ("service: liveness" in a pod's probe).
  static constexpr char kLiveness[] = "liveness";

  explicit HealthService(std::set<std::string> services) : services_(std::move(services)) {}

  grpc::Status Check(grpc::ServerContext* ctx, const grpc::health::v1::HealthCheckRequest* req,
                     grpc::health::v1::HealthCheckResponse* resp) override;
  grpc::Status Watch(grpc::ServerContext* ctx, const grpc::health::v1::HealthCheckRequest* req,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;
  void Shutdown() { serving_.store(false); }
  // Not ready while `degraded` (e.g. the database refuses writes): NOT_SERVING
  // until cleared; the server keeps answering meanwhile.
  void SetDegraded(bool degraded) { degraded_.store(degraded); }

 private:
  // The status of a known `service` ("", "liveness" or a registered name).
  grpc::health::v1::HealthCheckResponse::ServingStatus StatusOf(const std::string& service) const;
  bool Known(const std::string& service) const {
    return service.empty() || service == kLiveness || services_.count(service) > 0;
  }
  const std::set<std::string> services_;
  std::atomic<bool> serving_{true};
  std::atomic<bool> degraded_{false};
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_HEALTH_SERVICE_H_
