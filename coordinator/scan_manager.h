// The coordinator's core: scans, their shards and leases, findings, diffs and
// reports. gRPC-free: the service adapters in coordinator_service.h translate.
//
// A scan's probes are the seeded permutation of its (address, port) pairs;
// a shard is an index range [begin, end) of it, cut when a worker asks for
// work, sized so one takes about `lease.shard_seconds`. A lease has a
// deadline that heartbeats extend; an expired lease returns its shard to the
// queue. Findings are idempotent per (scan, address, port). A shard is done
// only when its worker completes it, after every finding was acknowledged,
// so a worker or coordinator killed at any point loses nothing.
//
// Canaries (config `canaries:`): when a scan ends, each canary whose pair is
// in its probe space is compared with what the scan found (Scan.canaries).
// One missed => the scan ends DEGRADED instead of SUCCEEDED: its report has
// degraded = true, the missed canaries and no CLOSED exposure (the scope's
// exposures keep those pairs, unconfirmed). DEGRADED is a finished state; a
// diff's default base is the previous SUCCEEDED scan, never a DEGRADED one.
//
// Confirmation before notifying: when the main shards of a scan are done,
// every change of its diff (new, and closed unless the scan is degraded)
// whose pair is in the scan's probe space is probed again: confirmation
// shards (Shard.confirm_indices, at most 256 indices each) leased before any
// other work, each to a worker other than the one that probed those indices
// while another live worker exists (any worker after
// lease.confirm_wait_seconds, 2 s by default). The
// change list and what each re-probe saw are stored (table confirmations),
// so a restarted coordinator resumes the confirmation. A new pair not open
// again and a closed pair open again are flaps: not in the report (a flapped
// closed pair stays an exposure of the scope), counted in Scan.flaps and
// listed in ScanReport.flaps; the others are confirmed (Scan.confirmations).
//
// Fairness: LeaseShard serves the running scans that have work round-robin
// (in creation order, starting after the scan served last), so a scan started
// while others run gets a shard within one round of leases, whatever their
// size. A rate-capped scan whose budget is taken (see below) is skipped, and
// a worker that already holds a lease of a capped scan gets work of another
// scan first: its share of that scan is already in use.
//
// Rate budget: a profile's `rate` is a ceiling for the whole scan. Each
// worker holding leases of a capped scan has a share of it (Shard.profile.rate,
// then HeartbeatResponse.scan_rates), one budget for all its leases of the
// scan; the sum of the shares never exceeds the rate. A share counts as
// max(its target, the rate each of its leases was granted or last
// acknowledged with): a lowered share counts at its old value until the
// worker acknowledges it (HeartbeatRequest.applied_rates, for the leases the
// heartbeat lists) or the leases granted before it end. A worker asking for
// a capped scan it holds no share of reserves one: the shares are rebalanced
// to rate / holders (the others are lowered; their workers hear it in their
// next heartbeat) and it gets the lease once its fair share is free,
// meanwhile work of another scan or retry_after. A reservation lapses after
// `lease.ttl_seconds` without a lease; a share is released when its worker
// holds no lease of the scan (completed, handed back, expired), and the
// freed budget raises the others. A worker that keeps leasing the scan
// (pipelining) keeps its share. A capped scan has at most
// rate x shard_seconds / 256 holders, so a share fills a minimum shard, and a
// capped scan's shard is share x `lease.shard_seconds` probes (the measured
// rate sizes uncapped scans only). After a coordinator restart the holders
// of recovered leases share the rate evenly until their next heartbeats.
//
// Trust: RegisterWorker gives each worker a random token (only its SHA-256
// is kept, in memory and in the store, so a restarted coordinator knows its
// workers by name and accepts their tokens). Every worker call carries the
// id and the token: an unknown id is Unauthenticated (register again), a
// wrong token PermissionDenied; a lease is honoured only for the worker it
// was issued to; a live worker's id cannot be registered again without its
// token (AlreadyExists). A finding is accepted only when its pair's index
// in the scan's permutation lies in the lease's [begin, end).
//
// The addresses of an inventory with an `openstack` block are fetched through
// an InventorySource when its scan starts, and stored with the scan as plain
// targets: a restart resumes the scan over the same addresses, never fetching
// again.
//
//   ScanManager m(config, *store, clock, inventory_source.get());
//   RETURN_IF_ERROR(m.Recover());
//   ASSIGN_OR_RETURN(v1::Scan s, m.StartScan(request, /*schedule=*/""));
//
// Thread-safety: thread-safe; one mutex serializes state and the store.
#ifndef GOALKEEPER_COORDINATOR_SCAN_MANAGER_H_
#define GOALKEEPER_COORDINATOR_SCAN_MANAGER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/ports.h"
#include "common/role.h"
#include "common/targets.h"
#include "coordinator/config.h"
#include "coordinator/inventory_source.h"
#include "coordinator/scan_store.h"
#include "goalkeeper/v1/coordinator.pb.h"

namespace goalkeeper {

class ProbeSpace;

// Point-in-time numbers for /metrics.
struct ManagerStats {
  std::map<goalkeeper::v1::ScanState, uint64_t> scans_by_state;
  // Shards waiting for a worker: those queued again (handed back, expired)
  // plus the ones still to be cut from the scans' unleased remainder, at the
  // size the next lease would get (an estimate: sizes adapt to the workers).
  uint64_t shards_pending = 0;
  uint64_t probes_pending = 0;  // probes of running scans not leased yet
  uint64_t shards_leased = 0;
  uint64_t shards_done = 0;        // of running scans
  uint64_t probes_done_total = 0;  // since start, all scans
  uint64_t workers = 0;
  uint64_t findings_total = 0;  // since start
  uint64_t reports_pending = 0;
  // When the scan of the oldest undelivered report ended (none: InfinitePast).
  absl::Time oldest_pending_report = absl::InfinitePast();
};

// What the manager reports as it happens, for /metrics (the coordinator's
// Prometheus counters and histograms). Called with the manager's mutex held:
// an implementation only counts, and never calls back into the manager.
class ManagerEvents {
 public:
  virtual ~ManagerEvents() = default;
  virtual void LeaseGranted() {}
  // A lease ended with its shard done, `held` after it was granted.
  virtual void ShardCompleted(absl::Duration held) { (void)held; }
  virtual void ShardHandedBack() {}
  virtual void LeaseExpired() {}
  // The scan ended in `state` (SUCCEEDED, FAILED, CANCELLED); `ran` is the time
  // from its first lease (zero when it never started).
  virtual void ScanEnded(goalkeeper::v1::ScanState state, absl::Duration ran) {
    (void)state;
    (void)ran;
  }
};

// Who asks (the auth gate resolved it, common/caller.h): the scan's
// started_by, the role whose scope (auth.roles) bounds an ad-hoc scan, and
// whether it may cancel another identity's scan. The scheduler's scans have
// no role scope.
struct ScanCaller {
  std::string identity = "scheduler";
  Role role = Role::kAdmin;
  bool scheduler = true;

  static ScanCaller Scheduler() { return {}; }
  static ScanCaller Of(std::string identity, Role role) {
    return {std::move(identity), role, false};
  }
};

class ScanManager {
 public:
  // `inventories` (may be null when no inventory has an `openstack` block)
  // must outlive the manager.
  ScanManager(const CoordinatorConfig& config, ScanStore& store, const Clock& clock,
              InventorySource* inventories = nullptr);
  ScanManager(const ScanManager&) = delete;
  ScanManager& operator=(const ScanManager&) = delete;

  // Loads running scans and their open shards. Leases held before a restart
  // stay valid and get a fresh deadline, so their workers can finish.
  absl::Status Recover();

  // ---- Operators ----
  // InvalidArgument names the problem: "targets: 10.9.0.0-10.9.255.255 is
  // outside allowed_ranges", "inventory 'qa' is not configured".
  // For an inventory with `openstack`, its addresses are fetched first
  // (without holding the mutex) and merged with its static targets; the
  // exclusions apply to both. Errors: Unavailable when the API fails
  // ("inventory 'cloud': openstack: neutron ports: HTTP 503"),
  // InvalidArgument for an address outside allowed_ranges that is not
  // excluded ("inventories.cloud: openstack address 203.0.113.9 is outside
  // allowed_ranges"), FailedPrecondition when nothing is left to scan
  // ("inventory 'cloud' has no addresses: openstack returned none"),
  // InvalidArgument for more pairs than limits.max_probes_per_scan.
  // Role scope (caller not the scheduler; common/auth_config.h): the
  // targets must lie inside the role's allowed_ranges and the pairs within
  // its max_probes_per_scan (InvalidArgument naming the key), the rate is
  // capped to its max_rate, and each identity may start scans_per_hour
  // (a token bucket: ResourceExhausted "... retry in N s").
  absl::StatusOr<goalkeeper::v1::Scan> StartScan(
      const goalkeeper::v1::StartScanRequest& req, const std::string& schedule,
      const ScanCaller& caller = ScanCaller::Scheduler());
  absl::StatusOr<goalkeeper::v1::Scan> GetScan(const std::string& id);
  // The first `limit` scans (newest first), as ListScans summaries.
  absl::StatusOr<std::vector<goalkeeper::v1::Scan>> ListScans(uint32_t limit,
                                                              const std::string& inventory);
  // One page (AIP-158; see ListScansRequest): summaries keep the first 3
  // target specs of each list and count them all. InvalidArgument for a
  // page token that was not issued for this inventory.
  absl::StatusOr<goalkeeper::v1::ListScansResponse> ListScans(
      const goalkeeper::v1::ListScansRequest& req);
  // PermissionDenied when the caller is below admin and did not start it.
  absl::StatusOr<goalkeeper::v1::Scan> CancelScan(
      const std::string& id, const ScanCaller& caller = ScanCaller::Scheduler());
  absl::Status ForEachFinding(const std::string& scan_id,
                              const std::function<void(const goalkeeper::v1::Finding&)>& fn);
  // At most `limit` findings after `after` in (ip, port) order (null = the
  // first page; NotFound for an unknown scan). Streams call it page by page,
  // never holding the lock across a network write.
  absl::StatusOr<std::vector<goalkeeper::v1::Finding>> FindingsPage(const std::string& scan_id,
                                                                    const ExposureKey* after,
                                                                    uint32_t limit);
  absl::StatusOr<goalkeeper::v1::ScanDiff> DiffScan(const std::string& id,
                                                    const std::string& base_id);
  std::vector<goalkeeper::v1::WorkerInfo> ListWorkers();
  // Blocks until something changed after `version` or `timeout` passed;
  // returns the current version.
  uint64_t WaitForChange(uint64_t version, absl::Duration timeout);
  uint64_t version();
  // True when a scan started by `schedule` is PENDING or RUNNING.
  bool ScheduleRunning(const std::string& schedule);

  // ---- Workers ----
  // Every call but RegisterWorker authenticates the worker (id and token, see
  // the header comment). AlreadyExists when a live worker has this id and the
  // request lacks its token.
  // `identity` is the caller's (the gate's; "" = not checked, no TLS): a
  // worker id is bound to the identity that registered it, and every call
  // for it from another identity, registering again included, is
  // PermissionDenied "worker W is registered to <identity>".
  absl::StatusOr<goalkeeper::v1::RegisterWorkerResponse> RegisterWorker(
      const goalkeeper::v1::RegisterWorkerRequest& req, const std::string& identity = "");
  absl::StatusOr<goalkeeper::v1::LeaseShardResponse> LeaseShard(
      const goalkeeper::v1::LeaseShardRequest& req, const std::string& identity = "");
  // Extends the listed leases of the worker and the ones granted within the
  // last ttl (which the worker may not know of yet), cancels listed leases it
  // does not hold, takes its applied rates and answers its current shares.
  absl::StatusOr<goalkeeper::v1::HeartbeatResponse> Heartbeat(
      const goalkeeper::v1::HeartbeatRequest& req, const std::string& identity = "");
  // InvalidArgument naming the pair when a result lies outside the scan or
  // outside the lease's slice; nothing of the batch is stored then.
  absl::Status ReportFindings(const goalkeeper::v1::ReportFindingsRequest& req,
                              const std::string& identity = "");
  absl::Status CompleteShard(const goalkeeper::v1::CompleteShardRequest& req,
                             const std::string& identity = "");

  // Expires leases, rate reservations and silent workers. Call about once a second.
  void Tick();
  // Commits pending writes (see ScanStore: group commit). Call every ~100 ms.
  // While writes are refused (a full disk), also tries once a second whether
  // they work again, and then reloads the state from the database.
  void Flush();
  // True while the database refuses writes (readiness is NOT_SERVING then).
  bool WritesRefused();

  // ---- Report delivery and schedules (persisted through the store) ----
  absl::StatusOr<std::vector<ReportRow>> DueReports(uint32_t limit);
  // Exposures [offset, offset + limit) of a queued report.
  absl::StatusOr<std::vector<goalkeeper::v1::Exposure>> ReportExposures(const std::string& scan_id,
                                                                        uint64_t offset,
                                                                        uint32_t limit);
  absl::Status ReportDelivered(const std::string& scan_id);
  absl::Status ReportFailed(const std::string& scan_id, uint32_t attempts, absl::Time next_attempt,
                            const std::string& error);
  absl::StatusOr<std::map<std::string, std::pair<int64_t, int64_t>>> ScheduleRuns();
  absl::Status SaveScheduleRun(const std::string& name, absl::Time last_fire,
                               absl::Time first_seen);
  ManagerStats Stats();
  // The observer of leases, shards and scan ends (null: none). Set it before
  // any other thread calls the manager; it must outlive the manager.
  void SetEvents(ManagerEvents* events) { events_ = events != nullptr ? events : &no_events_; }

 private:
  struct Lease {
    std::string scan_id;
    uint64_t begin = 0;
    uint64_t end = 0;
    uint32_t attempts = 0;
    std::string worker_id;
    absl::Time deadline;
    absl::Time leased_at;
    // Capped scans: the most the worker may apply to the scan for this lease
    // (granted, or lowered by an acknowledgement).
    double rate = 0;
    // A confirmation lease: exactly these indices (sorted; begin == end).
    std::vector<uint64_t> confirm;
    std::string avoid;  // the worker it preferably avoids
  };
  // Changes of a scan to probe again (at most kMaxConfirmShard indices).
  struct ConfirmShard {
    std::vector<uint64_t> indices;  // sorted
    std::string avoid;              // "" = any worker
    absl::Time since;               // queued (the wait before `avoid` may take it)
    uint32_t attempts = 0;
  };
  // A worker's part of a capped scan's rate.
  struct RateShare {
    double target = 0;          // what the worker must apply (announced to it)
    absl::Time reserved_until;  // a share without leases (a reservation) lapses then
  };
  struct PendingShard {
    uint64_t begin = 0;
    uint64_t end = 0;
    uint32_t attempts = 0;
  };
  struct LiveScan {
    goalkeeper::v1::Scan scan;
    std::string scope;
    int64_t seq = 0;
    uint64_t next_index = 0;
    TargetSet targets;
    PortSet ports;
    std::vector<uint16_t> udp_ports;  // of the profile's UDP services
    std::deque<PendingShard> pending;
    std::map<std::string, Lease> leases;      // by lease id
    double probes_per_lease_second = 0;       // moving average over completed shards
    std::map<std::string, RateShare> shares;  // by worker; rate-capped scans only
    std::shared_ptr<const ProbeSpace> space;  // built for the first findings
    // Confirmation (see the header): started once the main shards are done.
    bool confirming = false;
    std::deque<ConfirmShard> confirm_pending;
    // Completed main shards: begin -> (end, worker); who probed an index
    // (in memory: after a restart, unknown).
    std::map<uint64_t, std::pair<uint64_t, std::string>> completed_by;
  };
  struct Worker {
    std::string name;
    uint32_t concurrency = 0;
    absl::Time connected;
    absl::Time last_seen;
    uint64_t probes_done = 0;
    std::string token_hash;  // SHA-256 of its token, hex
    std::string identity;    // the caller that registered it; "" = not bound
  };
  // scans_per_hour of one identity: a token bucket.
  struct ScanBudget {
    double tokens = 0;
    absl::Time updated;
  };

  // The registered worker `id` when `token` is its token and `identity`
  // the one it registered with (and marks it seen); Unauthenticated for an
  // unknown id, PermissionDenied for a wrong token or identity.
  absl::StatusOr<Worker*> Authenticate(const std::string& id, const std::string& token,
                                       const std::string& identity)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes one scan of the caller's scans_per_hour; ResourceExhausted with
  // the wait when none is left.
  absl::Status TakeScanBudget(const ScanCaller& caller, uint32_t per_hour)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The lease `lease_id` when `worker_id` holds it: null when no live scan
  // has it; PermissionDenied naming both when another worker does.
  absl::StatusOr<std::pair<LiveScan*, Lease*>> HeldLease(const std::string& lease_id,
                                                         const std::string& worker_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Cuts or re-leases a shard of `scan` for the worker, with its rate share
  // (0 for an uncapped scan).
  absl::StatusOr<goalkeeper::v1::LeaseShardResponse> Grant(LiveScan& scan,
                                                           const std::string& worker_id,
                                                           double rate)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The worker's share of capped `scan` when it may lease now; otherwise
  // reserves (or keeps reserving) one and returns nullopt.
  std::optional<double> Reserve(LiveScan& scan, const std::string& worker_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Lowers shares above rate / holders and raises the others from the free
  // budget; true when a share was raised.
  bool Rebalance(LiveScan& scan) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What the worker's share counts against the budget (see the header).
  double Counted(const LiveScan& scan, const std::string& worker_id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HoldsLease(const LiveScan& scan, const std::string& worker_id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After one of the worker's leases of `scan` ended: releases its share
  // when it holds no other.
  void LeaseEnded(LiveScan& scan, const std::string& worker_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `rate` is the worker's share of a capped scan, 0 for an uncapped one.
  uint64_t ShardSize(const LiveScan& scan, double rate) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MaybeFinish(LiveScan& scan) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fills scan.scan.canaries: each configured canary whose pair is in the
  // scan's probe space, seen OPEN when `open` (the scan's findings) has it,
  // else CLOSED; missed when that is not what the config expects.
  absl::Status CheckCanaries(LiveScan& scan, const ExposureMap& open)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The index of a pair in the scan's probe space (built), if it is one.
  static std::optional<uint64_t> IndexOfKey(const LiveScan& scan, const ExposureKey& key);
  // Builds the scan's probe space if not yet built.
  absl::Status EnsureSpace(LiveScan& scan) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How long a confirmation shard waits for a worker other than the one
  // that found its changes (lease.confirm_wait_seconds).
  absl::Duration ConfirmWait() const {
    return absl::Seconds(config_.lease.confirm_wait_seconds);
  }
  // Queues confirmation shards for the rows not done, grouped by the worker
  // that probed them in the main phase (the one each shard avoids).
  void QueueConfirmations(LiveScan& scan, const std::vector<ConfirmationRow>& rows)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A confirmation shard of some scan the worker may take now, granted; or
  // nullopt when none is.
  absl::StatusOr<std::optional<goalkeeper::v1::LeaseShardResponse>> GrantConfirmation(
      const std::string& worker_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FailScan(LiveScan& scan, const std::string& error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<goalkeeper::v1::Scan> Snapshot(const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Changed() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t NowMs() const;
  // Checks a commit: on failure writes are refused until Flush resumes them.
  void Durable(absl::Status s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commits now; the error (writes refused) goes back to the caller.
  absl::Status CommitNow() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rebuilds live_ and lease_scan_ from the store (Recover; after a resume).
  absl::Status RecoverLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The addresses of an `openstack` inventory, checked: Unavailable on an
  // API failure, InvalidArgument naming an address outside allowed_ranges
  // (excluded ones are left out, unchecked).
  absl::StatusOr<std::vector<std::string>> FetchInventory(const std::string& name,
                                                          const InventoryConfig& inventory);

  const CoordinatorConfig& config_;
  const Clock& clock_;
  InventorySource* const inventories_;
  ManagerEvents no_events_;
  ManagerEvents* events_ = &no_events_;
  TargetSet allowed_;
  std::map<Role, TargetSet> role_allowed_;  // auth.roles.*.allowed_ranges
  absl::Mutex mu_;
  absl::CondVar changed_;
  ScanStore& store_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, LiveScan> live_ ABSL_GUARDED_BY(mu_);           // PENDING/RUNNING
  std::map<std::string, std::string> lease_scan_ ABSL_GUARDED_BY(mu_);  // lease -> scan
  std::map<std::string, Worker> workers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ScanBudget> scan_budgets_ ABSL_GUARDED_BY(mu_);  // by identity
  int64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t probes_done_total_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t findings_total_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t last_served_seq_ ABSL_GUARDED_BY(mu_) = 0;  // round-robin cursor of LeaseShard
  bool writes_refused_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_resume_try_ ABSL_GUARDED_BY(mu_);
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_SCAN_MANAGER_H_
