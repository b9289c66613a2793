#include "common/health_service.h"

#include "absl/time/clock.h"

namespace goalkeeper {

using grpc::health::v1::HealthCheckResponse;

grpc::Status HealthService::Check(grpc::ServerContext*,
                                  const grpc::health::v1::HealthCheckRequest* req,
                                  HealthCheckResponse* resp) {
  if (!req->service().empty() && services_.count(req->service()) == 0) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service '" + req->service() + "'");
  }
  resp->set_status(Serving() ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING);
  return grpc::Status::OK;
}

grpc::Status HealthService::Watch(grpc::ServerContext* ctx,
                                  const grpc::health::v1::HealthCheckRequest* req,
                                  grpc::ServerWriter<HealthCheckResponse>* writer) {
  HealthCheckResponse::ServingStatus last = HealthCheckResponse::UNKNOWN;
  while (!ctx->IsCancelled()) {
    HealthCheckResponse resp;
    if (!req->service().empty() && services_.count(req->service()) == 0) {
      resp.set_status(HealthCheckResponse::SERVICE_UNKNOWN);
    } else {
      resp.set_status(Serving() ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING);
    }
    if (resp.status() != last) {
      if (!writer->Write(resp)) break;
      last = resp.status();
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  return grpc::Status::OK;
}

}  // namespace goalkeeper
