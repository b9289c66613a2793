#include "common/health_service.h"

#include "absl/time/clock.h"

namespace goalkeeper {

using grpc::health::v1::HealthCheckResponse;

grpc::Status HealthService::Check(grpc::ServerContext*,
                                  const grpc::health::v1::HealthCheckRequest* req,
                                  HealthCheckResponse* resp) {
  if (!Known(req->service())) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service '" + req->service() + "'");
  }
  resp->set_status(StatusOf(req->service()));
  return grpc::Status::OK;
}

HealthCheckResponse::ServingStatus HealthService::StatusOf(const std::string& service) const {
  const bool serving =
      service == kLiveness ? serving_.load() : serving_.load() && !degraded_.load();
  return serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

grpc::Status HealthService::Watch(grpc::ServerContext* ctx,
                                  const grpc::health::v1::HealthCheckRequest* req,
                                  grpc::ServerWriter<HealthCheckResponse>* writer) {
  HealthCheckResponse::ServingStatus last = HealthCheckResponse::UNKNOWN;
  while (!ctx->IsCancelled()) {
    HealthCheckResponse resp;
    resp.set_status(Known(req->service()) ? StatusOf(req->service())
                                          : HealthCheckResponse::SERVICE_UNKNOWN);
    if (resp.status() != last) {
      if (!writer->Write(resp)) break;
      last = resp.status();
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  return grpc::Status::OK;
}

}  // namespace goalkeeper
