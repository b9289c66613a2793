#include "coordinator/coordinator_service.h"

#include "common/grpc_status.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

// Assigns a StatusOr's value to *out, or returns its status as grpc::Status.
template <typename T, typename Out>
grpc::Status Reply(absl::StatusOr<T> result, Out* out) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *out = *std::move(result);
  return grpc::Status::OK;
}

bool IsFinal(v1::ScanState s) {
  return s == v1::SUCCEEDED || s == v1::FAILED || s == v1::CANCELLED;
}

}  // namespace

grpc::Status CoordinatorService::StartScan(grpc::ServerContext*, const v1::StartScanRequest* req,
                                           v1::Scan* resp) {
  return Reply(manager_.StartScan(*req, ""), resp);
}

grpc::Status CoordinatorService::GetScan(grpc::ServerContext*, const v1::GetScanRequest* req,
                                         v1::Scan* resp) {
  return Reply(manager_.GetScan(req->id()), resp);
}

grpc::Status CoordinatorService::ListScans(grpc::ServerContext*, const v1::ListScansRequest* req,
                                           v1::ListScansResponse* resp) {
  auto scans = manager_.ListScans(req->limit(), req->inventory());
  if (!scans.ok()) return ToGrpcStatus(scans.status());
  for (v1::Scan& s : *scans) *resp->add_scans() = std::move(s);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::CancelScan(grpc::ServerContext*, const v1::CancelScanRequest* req,
                                            v1::Scan* resp) {
  return Reply(manager_.CancelScan(req->id()), resp);
}

grpc::Status CoordinatorService::WatchScan(grpc::ServerContext* ctx,
                                           const v1::WatchScanRequest* req,
                                           grpc::ServerWriter<v1::Scan>* writer) {
  // Progress at most every 250 ms per watcher and at least once a second;
  // the final state as soon as the scan ends (`scan start --wait` returns
  // then).
  uint64_t version = manager_.version();
  absl::Time last_write = absl::InfinitePast();
  for (;;) {
    auto scan = manager_.GetScan(req->id());
    if (!scan.ok()) return ToGrpcStatus(scan.status());
    const bool final = IsFinal(scan->state());
    const absl::Time now = absl::Now();
    if (final || now - last_write >= absl::Milliseconds(250)) {
      if (!writer->Write(*scan)) return grpc::Status::OK;  // the client went away
      if (final) return grpc::Status::OK;
      last_write = now;
    }
    version = manager_.WaitForChange(version, absl::Seconds(1));
    if (ctx->IsCancelled()) return grpc::Status::CANCELLED;
  }
}

grpc::Status CoordinatorService::ListFindings(grpc::ServerContext* ctx,
                                              const v1::ListFindingsRequest* req,
                                              grpc::ServerWriter<v1::Finding>* writer) {
  // Collected first: the manager's lock is never held across network writes.
  std::vector<v1::Finding> findings;
  absl::Status s = manager_.ForEachFinding(
      req->scan_id(), [&](const v1::Finding& f) { findings.push_back(f); });
  if (!s.ok()) return ToGrpcStatus(s);
  for (const v1::Finding& f : findings) {
    if (ctx->IsCancelled() || !writer->Write(f)) return grpc::Status::CANCELLED;
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::DiffScan(grpc::ServerContext*, const v1::DiffScanRequest* req,
                                          v1::ScanDiff* resp) {
  return Reply(manager_.DiffScan(req->id(), req->base_id()), resp);
}

grpc::Status CoordinatorService::ListWorkers(grpc::ServerContext*, const v1::ListWorkersRequest*,
                                             v1::ListWorkersResponse* resp) {
  for (v1::WorkerInfo& w : manager_.ListWorkers()) *resp->add_workers() = std::move(w);
  return grpc::Status::OK;
}

grpc::Status ShardService::RegisterWorker(grpc::ServerContext*,
                                          const v1::RegisterWorkerRequest* req,
                                          v1::RegisterWorkerResponse* resp) {
  return Reply(manager_.RegisterWorker(*req), resp);
}

grpc::Status ShardService::LeaseShard(grpc::ServerContext* ctx, const v1::LeaseShardRequest* req,
                                      v1::LeaseShardResponse* resp) {
  uint64_t version = manager_.version();
  auto lease = manager_.LeaseShard(*req);
  if (!lease.ok() || lease->has_shard()) return Reply(std::move(lease), resp);
  if (waiters_.fetch_add(1) < max_waiters_) {
    const absl::Time deadline = absl::Now() + long_poll_;
    while (lease.ok() && !lease->has_shard() && absl::Now() < deadline && !ctx->IsCancelled()) {
      version = manager_.WaitForChange(version, deadline - absl::Now());
      lease = manager_.LeaseShard(*req);
    }
  }
  waiters_.fetch_sub(1);
  return Reply(std::move(lease), resp);
}

grpc::Status ShardService::Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest* req,
                                     v1::HeartbeatResponse* resp) {
  return Reply(manager_.Heartbeat(*req), resp);
}

grpc::Status ShardService::ReportFindings(grpc::ServerContext*,
                                          const v1::ReportFindingsRequest* req,
                                          v1::ReportFindingsResponse*) {
  return ToGrpcStatus(manager_.ReportFindings(*req));
}

grpc::Status ShardService::CompleteShard(grpc::ServerContext*,
                                         const v1::CompleteShardRequest* req,
                                         v1::CompleteShardResponse*) {
  return ToGrpcStatus(manager_.CompleteShard(*req));
}

}  // namespace goalkeeper
