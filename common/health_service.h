// grpc.health.v1.Health for our servers: "" (the whole server) and every
// registered service name are SERVING until Shutdown(), then NOT_SERVING.
// Our own implementation (not grpc's default one) so that reflection lists
// it and grpcurl can call it; Kubernetes gRPC probes call Check.
//
//   HealthService health({"goalkeeper.v1.Coordinator"});
//   builder.RegisterService(&health);
//   ...
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
  bool Serving() const { return serving_.load() && !degraded_.load(); }
  const std::set<std::string> services_;
  std::atomic<bool> serving_{true};
  std::atomic<bool> degraded_{false};
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_HEALTH_SERVICE_H_
