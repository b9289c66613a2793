#include "coordinator/coordinator_service.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/caller.h"
#include "common/grpc_status.h"
#include "coordinator/scan_audit.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

bool IsFinal(v1::ScanState s) {
  return s == v1::SUCCEEDED || s == v1::FAILED || s == v1::CANCELLED || s == v1::DEGRADED;
}

// "ipv4:127.0.0.1:50412" -> "ipv4:127.0.0.1": streams are counted per client
// address, whatever its source ports.
std::string PeerAddress(const std::string& peer) {
  const size_t colon = peer.rfind(':');
  const size_t first = peer.find(':');
  return colon != std::string::npos && colon != first ? peer.substr(0, colon) : peer;
}

// The caller as the manager knows it (the gate resolved it).
ScanCaller ScanCallerOf(const grpc::ServerContext& ctx) {
  Caller c = CallerOf(ctx);
  return ScanCaller::Of(std::move(c.identity), c.role);
}

// The identity a worker is bound to: "" without TLS (nobody is
// authenticated, so nothing is bound).
std::string BindingIdentity(const grpc::ServerContext& ctx) {
  Caller c = CallerOf(ctx);
  return c.authenticated ? c.identity : "";
}

// Decrements on scope exit.
class ScopeExit {
 public:
  explicit ScopeExit(std::function<void()> fn) : fn_(std::move(fn)) {}
  ~ScopeExit() { fn_(); }
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;

 private:
  std::function<void()> fn_;
};

void AuditAs(const AuditHooks& hooks, const grpc::ServerContext& ctx, AuditEntry entry) {
  if (hooks.auditor == nullptr) return;
  const Caller caller = hooks.caller_of(ctx);
  entry.identity = caller.identity;
  entry.role = std::string(RoleName(caller.role));
  hooks.auditor->Record(std::move(entry));
}

}  // namespace

void CoordinatorService::Audit(const grpc::ServerContext& ctx, AuditEntry entry) {
  AuditAs(audit_, ctx, std::move(entry));
}

grpc::Status CoordinatorService::StartScan(grpc::ServerContext* ctx,
                                           const v1::StartScanRequest* req, v1::Scan* resp) {
  absl::StatusOr<v1::Scan> scan = manager_.StartScan(*req, "", ScanCallerOf(*ctx));
  Audit(*ctx, StartScanAudit(*req, scan, ""));
  return ReplyWith(std::move(scan), resp);
}

grpc::Status CoordinatorService::GetScan(grpc::ServerContext*, const v1::GetScanRequest* req,
                                         v1::Scan* resp) {
  return ReplyWith(manager_.GetScan(req->id()), resp);
}

grpc::Status CoordinatorService::ListScans(grpc::ServerContext*, const v1::ListScansRequest* req,
                                           v1::ListScansResponse* resp) {
  return ReplyWith(manager_.ListScans(*req), resp);
}

grpc::Status CoordinatorService::CancelScan(grpc::ServerContext* ctx,
                                            const v1::CancelScanRequest* req, v1::Scan* resp) {
  absl::StatusOr<v1::Scan> scan = manager_.CancelScan(req->id(), ScanCallerOf(*ctx));
  Audit(*ctx, CancelScanAudit(*req, scan));
  return ReplyWith(std::move(scan), resp);
}

grpc::Status CoordinatorService::ListAudit(grpc::ServerContext*, const v1::ListAuditRequest* req,
                                           v1::ListAuditResponse* resp) {
  return ServeListAudit(audit_.auditor, *req, resp);
}

StreamStats CoordinatorService::stream_stats() {
  absl::MutexLock lock(&mu_);
  return stats_;
}

bool CoordinatorService::AdmitFindings(const std::string& peer) {
  absl::MutexLock lock(&mu_);
  int& mine = findings_by_peer_[peer];
  if (mine >= limits_.findings_streams_per_peer ||
      stats_.findings_streams >= limits_.findings_streams) {
    if (mine == 0) findings_by_peer_.erase(peer);
    return false;
  }
  ++mine;
  ++stats_.findings_streams;
  return true;
}

void CoordinatorService::ReleaseFindings(const std::string& peer) {
  absl::MutexLock lock(&mu_);
  if (--findings_by_peer_[peer] <= 0) findings_by_peer_.erase(peer);
  --stats_.findings_streams;
}

void CoordinatorService::Held(int64_t delta) {
  absl::MutexLock lock(&mu_);
  stats_.findings_held = static_cast<uint64_t>(static_cast<int64_t>(stats_.findings_held) + delta);
  stats_.findings_held_peak = std::max(stats_.findings_held_peak, stats_.findings_held);
  if (delta > 0) ++stats_.findings_pages;
}

grpc::Status CoordinatorService::WatchScan(grpc::ServerContext* ctx,
                                           const v1::WatchScanRequest* req,
                                           grpc::ServerWriter<v1::Scan>* writer) {
  {
    absl::MutexLock lock(&mu_);
    if (stats_.watchers >= limits_.watchers) {
      return grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("too many WatchScan streams (", limits_.watchers, "); try again later"));
    }
    ++stats_.watchers;
  }
  ScopeExit release([this] {
    absl::MutexLock lock(&mu_);
    --stats_.watchers;
  });
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
  const std::string peer = PeerAddress(ctx->peer());
  if (!AdmitFindings(peer)) {
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("too many ListFindings streams (at most ", limits_.findings_streams_per_peer,
                     " per client, ", limits_.findings_streams, " in all); try again later"));
  }
  ScopeExit release([this, &peer] { ReleaseFindings(peer); });
  // A page at a time (keyset pagination): the manager's lock is held only
  // while a page is read, never across network writes, and a client that
  // stops reading holds one page.
  std::optional<ExposureKey> after;
  for (;;) {
    auto page =
        manager_.FindingsPage(req->scan_id(), after ? &*after : nullptr, limits_.findings_page);
    if (!page.ok()) return ToGrpcStatus(page.status());
    if (page->empty()) return grpc::Status::OK;
    const int64_t n = static_cast<int64_t>(page->size());
    Held(n);
    ScopeExit unheld([this, n] { Held(-n); });
    after = ExposureKey(page->back().ip(), page->back().port(), page->back().transport());
    for (const v1::Finding& f : *page) {
      if (ctx->IsCancelled() || !writer->Write(f)) return grpc::Status::CANCELLED;
    }
    if (page->size() < limits_.findings_page) return grpc::Status::OK;
  }
}

grpc::Status CoordinatorService::DiffScan(grpc::ServerContext*, const v1::DiffScanRequest* req,
                                          v1::ScanDiff* resp) {
  return ReplyWith(manager_.DiffScan(req->id(), req->base_id()), resp);
}

grpc::Status CoordinatorService::ListWorkers(grpc::ServerContext*, const v1::ListWorkersRequest*,
                                             v1::ListWorkersResponse* resp) {
  for (v1::WorkerInfo& w : manager_.ListWorkers()) *resp->add_workers() = std::move(w);
  return grpc::Status::OK;
}

void ShardService::Audit(const grpc::ServerContext& ctx, AuditEntry entry) {
  AuditAs(audit_, ctx, std::move(entry));
}

absl::Status ShardService::AuditRefusal(const grpc::ServerContext& ctx, const char* method,
                                        const std::string& worker_id, absl::Status status) {
  if (absl::IsPermissionDenied(status) || absl::IsUnauthenticated(status) ||
      absl::IsInvalidArgument(status)) {
    Audit(ctx, WorkerRefusalAudit(method, worker_id, status));
  }
  return status;
}

grpc::Status ShardService::RegisterWorker(grpc::ServerContext* ctx,
                                          const v1::RegisterWorkerRequest* req,
                                          v1::RegisterWorkerResponse* resp) {
  absl::StatusOr<v1::RegisterWorkerResponse> r =
      manager_.RegisterWorker(*req, BindingIdentity(*ctx));
  Audit(*ctx, RegisterWorkerAudit(*req, r));
  return ReplyWith(std::move(r), resp);
}

grpc::Status ShardService::LeaseShard(grpc::ServerContext* ctx, const v1::LeaseShardRequest* req,
                                      v1::LeaseShardResponse* resp) {
  uint64_t version = manager_.version();
  const std::string identity = BindingIdentity(*ctx);
  auto lease = manager_.LeaseShard(*req, identity);
  if (lease.ok() && !lease->has_shard()) {
    if (waiters_.fetch_add(1) < max_waiters_) {
      const absl::Time deadline = absl::Now() + long_poll_;
      while (lease.ok() && !lease->has_shard() && absl::Now() < deadline && !ctx->IsCancelled()) {
        version = manager_.WaitForChange(version, deadline - absl::Now());
        lease = manager_.LeaseShard(*req, identity);
      }
    }
    waiters_.fetch_sub(1);
  }
  if (!lease.ok()) {
    AuditRefusal(*ctx, "/goalkeeper.v1.ShardService/LeaseShard", req->worker_id(), lease.status())
        .IgnoreError();
  }
  return ReplyWith(std::move(lease), resp);
}

grpc::Status ShardService::Heartbeat(grpc::ServerContext* ctx, const v1::HeartbeatRequest* req,
                                     v1::HeartbeatResponse* resp) {
  absl::StatusOr<v1::HeartbeatResponse> r = manager_.Heartbeat(*req, BindingIdentity(*ctx));
  if (!r.ok()) {
    AuditRefusal(*ctx, "/goalkeeper.v1.ShardService/Heartbeat", req->worker_id(), r.status())
        .IgnoreError();
  }
  return ReplyWith(std::move(r), resp);
}

grpc::Status ShardService::ReportFindings(grpc::ServerContext* ctx,
                                          const v1::ReportFindingsRequest* req,
                                          v1::ReportFindingsResponse*) {
  return ToGrpcStatus(AuditRefusal(*ctx, "/goalkeeper.v1.ShardService/ReportFindings",
                                   req->worker_id(),
                                   manager_.ReportFindings(*req, BindingIdentity(*ctx))));
}

grpc::Status ShardService::CompleteShard(grpc::ServerContext* ctx,
                                         const v1::CompleteShardRequest* req,
                                         v1::CompleteShardResponse*) {
  return ToGrpcStatus(AuditRefusal(*ctx, "/goalkeeper.v1.ShardService/CompleteShard",
                                   req->worker_id(),
                                   manager_.CompleteShard(*req, BindingIdentity(*ctx))));
}

}  // namespace goalkeeper
