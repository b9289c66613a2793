// gRPC adapters over the ScanManager: goalkeeper.v1.Coordinator (operators)
// and goalkeeper.v1.ShardService (workers). They translate messages and
// statuses and hold no logic of their own.
//
// Synchronous gRPC services: WatchScan blocks on the manager's change
// condition variable, which the synchronous API makes straightforward; the
// lease benchmark (docs/benchmarks.md) shows the throughput is sufficient.
// Each open stream holds a server thread, so streams are bounded
// (StreamLimits): ListFindings per client address and overall, WatchScan
// overall; beyond, RESOURCE_EXHAUSTED. ListFindings reads the store one page
// at a time as the client consumes it, so a client that stops reading holds
// one page, never the scan's findings.
//
// Audit (common/audit_grpc.h): StartScan, CancelScan and RegisterWorker
// leave one entry each whatever their outcome (coordinator/scan_audit.h);
// the other worker calls one when refused (PERMISSION_DENIED,
// UNAUTHENTICATED, INVALID_ARGUMENT). ListAudit serves the trail.
//
// Thread-safety: thread-safe (the manager is).
#ifndef GOALKEEPER_COORDINATOR_COORDINATOR_SERVICE_H_
#define GOALKEEPER_COORDINATOR_COORDINATOR_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/audit_grpc.h"
#include "coordinator/scan_manager.h"
#include "goalkeeper/v1/coordinator.grpc.pb.h"

namespace goalkeeper {

struct StreamLimits {
  int findings_streams_per_peer = 4;  // concurrent ListFindings per client address
  int findings_streams = 32;          // concurrent ListFindings in all
  int watchers = 64;                  // concurrent WatchScan in all
  uint32_t findings_page = 1000;      // findings read from the store at a time
};

// What the streams hold now, for /metrics and tests.
struct StreamStats {
  int findings_streams = 0;
  int watchers = 0;
  uint64_t findings_held = 0;       // findings read from the store, not yet written
  uint64_t findings_held_peak = 0;  // the most at any time since start
  uint64_t findings_pages = 0;      // pages read from the store since start
};

class CoordinatorService final : public goalkeeper::v1::Coordinator::Service {
 public:
  explicit CoordinatorService(ScanManager& manager, StreamLimits limits = {}, AuditHooks audit = {})
      : manager_(manager), limits_(limits), audit_(std::move(audit)) {}
  StreamStats stream_stats();

  grpc::Status StartScan(grpc::ServerContext* ctx, const goalkeeper::v1::StartScanRequest* req,
                         goalkeeper::v1::Scan* resp) override;
  grpc::Status GetScan(grpc::ServerContext* ctx, const goalkeeper::v1::GetScanRequest* req,
                       goalkeeper::v1::Scan* resp) override;
  grpc::Status ListScans(grpc::ServerContext* ctx, const goalkeeper::v1::ListScansRequest* req,
                         goalkeeper::v1::ListScansResponse* resp) override;
  grpc::Status CancelScan(grpc::ServerContext* ctx, const goalkeeper::v1::CancelScanRequest* req,
                          goalkeeper::v1::Scan* resp) override;
  grpc::Status WatchScan(grpc::ServerContext* ctx, const goalkeeper::v1::WatchScanRequest* req,
                         grpc::ServerWriter<goalkeeper::v1::Scan>* writer) override;
  grpc::Status ListFindings(grpc::ServerContext* ctx,
                            const goalkeeper::v1::ListFindingsRequest* req,
                            grpc::ServerWriter<goalkeeper::v1::Finding>* writer) override;
  grpc::Status DiffScan(grpc::ServerContext* ctx, const goalkeeper::v1::DiffScanRequest* req,
                        goalkeeper::v1::ScanDiff* resp) override;
  grpc::Status ListWorkers(grpc::ServerContext* ctx, const goalkeeper::v1::ListWorkersRequest* req,
                           goalkeeper::v1::ListWorkersResponse* resp) override;
  grpc::Status ListAudit(grpc::ServerContext* ctx, const goalkeeper::v1::ListAuditRequest* req,
                         goalkeeper::v1::ListAuditResponse* resp) override;

 private:
  // Writes `entry` with the caller's identity and role (no auditor: nothing).
  void Audit(const grpc::ServerContext& ctx, AuditEntry entry);
  // Counts a stream in; false (nothing counted) when a limit is reached.
  bool AdmitFindings(const std::string& peer);
  void ReleaseFindings(const std::string& peer);
  void Held(int64_t delta);

  ScanManager& manager_;
  const StreamLimits limits_;
  const AuditHooks audit_;
  absl::Mutex mu_;
  std::map<std::string, int> findings_by_peer_ ABSL_GUARDED_BY(mu_);
  StreamStats stats_ ABSL_GUARDED_BY(mu_);
};

class ShardService final : public goalkeeper::v1::ShardService::Service {
 public:
  // LeaseShard long-polls: with no work, up to `max_waiters` callers wait up
  // to `long_poll` for some (a scan starts, a lease expires), so a new scan
  // starts at once without every idle worker polling fast.
  explicit ShardService(ScanManager& manager, absl::Duration long_poll = absl::Seconds(2),
                        int max_waiters = 64, AuditHooks audit = {})
      : manager_(manager),
        long_poll_(long_poll),
        max_waiters_(max_waiters),
        audit_(std::move(audit)) {}

  grpc::Status RegisterWorker(grpc::ServerContext* ctx,
                              const goalkeeper::v1::RegisterWorkerRequest* req,
                              goalkeeper::v1::RegisterWorkerResponse* resp) override;
  grpc::Status LeaseShard(grpc::ServerContext* ctx, const goalkeeper::v1::LeaseShardRequest* req,
                          goalkeeper::v1::LeaseShardResponse* resp) override;
  grpc::Status Heartbeat(grpc::ServerContext* ctx, const goalkeeper::v1::HeartbeatRequest* req,
                         goalkeeper::v1::HeartbeatResponse* resp) override;
  grpc::Status ReportFindings(grpc::ServerContext* ctx,
                              const goalkeeper::v1::ReportFindingsRequest* req,
                              goalkeeper::v1::ReportFindingsResponse* resp) override;
  grpc::Status CompleteShard(grpc::ServerContext* ctx,
                             const goalkeeper::v1::CompleteShardRequest* req,
                             goalkeeper::v1::CompleteShardResponse* resp) override;

 private:
  void Audit(const grpc::ServerContext& ctx, AuditEntry entry);
  // Audits a refused worker call (see the file comment); returns `status`.
  absl::Status AuditRefusal(const grpc::ServerContext& ctx, const char* method,
                            const std::string& worker_id, absl::Status status);

  ScanManager& manager_;
  const absl::Duration long_poll_;
  const int max_waiters_;
  const AuditHooks audit_;
  std::atomic<int> waiters_{0};
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_COORDINATOR_SERVICE_H_
