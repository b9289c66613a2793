// Durable coordinator state in SQLite (WAL): scans, shards, findings, the
// exposures seen per inventory, report deliveries and schedule runs.
//
// Group commit: writes go into one open transaction that Commit() ends; the
// ScanManager commits at once after operator actions and findings, and
// otherwise (leases, completions) every few milliseconds. Writes are applied
// in order, so a crash loses at most a suffix of recent leases and
// completions, which is always safe: a lost completion leaves its shard
// leased (it expires and is redone), a lost lease is re-cut. Findings are
// committed before they are acknowledged, because a worker that was told
// "stored" completes its shard, possibly with the restarted coordinator.
// Reports are read only after a commit.
//
// The file is marked as the coordinator's (application_id "GKC1") and its
// schema numbered (user_version) with migrations (common/sqlite.h): another
// application's file or a newer schema is refused, naming the file.
//
// Full disk (or any failed commit or write): the open transaction is rolled back and
// every later write is refused with UNAVAILABLE "database disk is full:
// PATH ..." until TryResume() finds the disk writable again; reads go on.
// Nothing refused was acknowledged, and what was rolled back is what a crash
// would have lost (see above), so the owner reloads its state from the file.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<ScanStore> store, ScanStore::Open(path));
//   RETURN_IF_ERROR(store->InsertScan(scan, scope, seq));
//
// Thread-safety: not thread-safe; the ScanManager serializes all calls.
#ifndef GOALKEEPER_COORDINATOR_SCAN_STORE_H_
#define GOALKEEPER_COORDINATOR_SCAN_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/sqlite.h"
#include "coordinator/exposure_diff.h"
#include "goalkeeper/v1/coordinator.pb.h"
#include "goalkeeper/v1/notifier.pb.h"

namespace goalkeeper {

enum class ShardState : int { kPending = 0, kLeased = 1, kDone = 2 };

struct ShardRow {
  std::string scan_id;
  uint64_t begin = 0;
  uint64_t end = 0;
  ShardState state = ShardState::kPending;
  std::string lease_id;
  std::string worker_id;
  uint32_t attempts = 0;
};

struct ScanRow {
  goalkeeper::v1::Scan scan;  // progress fields filled from columns
  std::string scope;          // diff scope: the inventory, or the ad-hoc spec
  int64_t seq = 0;            // creation order
  uint64_t next_index = 0;    // first index not yet cut into a shard
};

// A registered worker: its name and the SHA-256 of its token (never the token).
struct WorkerRow {
  std::string id;
  std::string name;
  std::string token_hash;  // lowercase hex
  int64_t registered_ms = 0;
  std::string identity;  // the caller that registered it; "" = not bound
};

// One change of a scan probed again before its report (confirmation).
struct ConfirmationRow {
  uint64_t index = 0;  // in the scan's permutation
  std::string ip;
  uint32_t port = 0;
  bool closed = false;     // the change: closed (else new)
  bool done = false;       // a confirmation shard probed it
  bool seen_open = false;  // and found it open
  int transport = 0;       // goalkeeper.v1.Transport of the pair
};

struct ReportRow {
  std::string scan_id;
  // The header (exposure_count set); exposures are read in pages with
  // ScanStore::ReportExposures. (A report stored by an earlier version
  // carries its exposures here.)
  goalkeeper::v1::ScanReport report;
  uint32_t attempts = 0;
  int64_t next_attempt_ms = 0;
};

// The coordinator database's schema (application id, tables, migrations up
// to user_version 8), shared by every connection to the file (ScanStore,
// NodeStore, the audit trail's SqliteAuditLog).
const SqliteSchema& CoordinatorSchema();

class ScanStore {
 public:
  static absl::StatusOr<std::unique_ptr<ScanStore>> Open(const std::string& path);
  ~ScanStore() { Commit().IgnoreError(); }

  // Ends the open write transaction, if any. On failure the transaction is
  // rolled back and writes are refused (see the file comment).
  absl::Status Commit();
  // Commits when the open transaction is at least `age` old.
  absl::Status CommitIfOlderThan(absl::Duration age);
  // OK while writes are accepted; else why not (UNAVAILABLE, naming the file).
  const absl::Status& refusal() const { return refusal_; }
  // While writes are refused: tries a small write; OK (and writes are
  // accepted again) when it commits.
  absl::Status TryResume();
  const std::string& path() const { return path_; }

  absl::Status InsertScan(const goalkeeper::v1::Scan& scan, const std::string& scope, int64_t seq);
  absl::Status SetScanState(const std::string& id, goalkeeper::v1::ScanState state, int64_t now_ms,
                            const std::string& error);
  absl::StatusOr<std::optional<ScanRow>> LoadScan(const std::string& id);
  // Newest first; inventory "" = all; only scans with seq < before_seq
  // (0 = no bound). Targets are summarized: at most `max_specs` specs per
  // list, with the counts in target_include_count / target_exclude_count.
  absl::StatusOr<std::vector<ScanRow>> ListScans(uint32_t limit, const std::string& inventory,
                                                 int64_t before_seq = 0,
                                                 uint32_t max_specs = UINT32_MAX);
  absl::StatusOr<std::vector<ScanRow>> LoadScansInState(goalkeeper::v1::ScanState state);
  absl::StatusOr<int64_t> MaxSeq();
  absl::StatusOr<std::map<goalkeeper::v1::ScanState, uint64_t>> CountScansByState();

  // Shards that are not done, of one scan.
  absl::StatusOr<std::vector<ShardRow>> LoadOpenShards(const std::string& scan_id);
  // Cuts [begin, end) off the scan and leases it (one transaction).
  absl::Status LeaseNewShard(const ShardRow& shard);
  // Leases an existing pending shard again.
  absl::Status LeaseShardAgain(const ShardRow& shard);
  absl::Status ReleaseShard(const std::string& scan_id, uint64_t begin, uint32_t attempts);
  // Marks the shard done and adds its probes to the scan's progress.
  absl::Status CompleteShard(const std::string& scan_id, uint64_t begin, uint64_t end);

  // Inserts open findings with what their probes saw (transport, service
  // when verified, evidence); a (scan, ip, port, transport) already stored
  // is ignored. Returns how many were new.
  absl::StatusOr<uint64_t> InsertFindings(const std::string& scan_id,
                                          const std::vector<goalkeeper::v1::ProbeResult>& results,
                                          int64_t now_ms);
  absl::Status ForEachFinding(const std::string& scan_id,
                              const std::function<void(const goalkeeper::v1::Finding&)>& fn);
  // At most `limit` findings after `after` in (ip, port, transport) order
  // (keyset pagination; `after` null = from the start).
  absl::StatusOr<std::vector<goalkeeper::v1::Finding>> FindingsPage(const std::string& scan_id,
                                                                    const ExposureKey* after,
                                                                    uint32_t limit);
  // The scan's findings as pairs -> found time and what was seen.
  absl::StatusOr<ExposureMap> OpenPairs(const std::string& scan_id);
  absl::StatusOr<uint64_t> CountFindings(const std::string& scan_id);

  // The latest SUCCEEDED scan of `scope` created before `seq`, if any.
  absl::StatusOr<std::optional<std::string>> PreviousSucceeded(const std::string& scope,
                                                               int64_t seq);
  // Pair -> first seen (ms) and what was last seen, for the scope.
  absl::StatusOr<ExposureMap> Exposures(const std::string& scope);

  // Ends a scan as SUCCEEDED: sets the exposures of its scope to those of
  // `diff` still open, and queues the report (`header` and one exposure per
  // delta, in order) for delivery, in one transaction.
  // `state` is SUCCEEDED or DEGRADED; the exposures in `kept` (a degraded
  // scan's unconfirmed closed ones) stay exposures of the scope, unreported.
  absl::Status FinishScanWithReport(const std::string& id, int64_t now_ms, const std::string& scope,
                                    const goalkeeper::v1::ScanReport& header,
                                    const std::vector<ExposureDelta>& diff,
                                    goalkeeper::v1::ScanState state = goalkeeper::v1::SUCCEEDED,
                                    const std::vector<ExposureDelta>& kept = {});
  // Replaces the stored spec of a scan (its progress fields live in columns
  // and are ignored): how the canary results of an ended scan are kept.
  absl::Status SetScanSpec(const std::string& id, const goalkeeper::v1::Scan& scan);

  // Confirmation before notifying (ScanManager): the changes of a scan to
  // probe again, kept until the scan's report is queued.
  absl::Status InsertConfirmations(const std::string& scan_id,
                                   const std::vector<ConfirmationRow>& rows);
  absl::StatusOr<std::vector<ConfirmationRow>> LoadConfirmations(const std::string& scan_id);
  // Sets done / seen_open (never clears them).
  absl::Status UpdateConfirmation(const std::string& scan_id, uint64_t index, bool done,
                                  bool seen_open);
  // Exposures [offset, offset + limit) of a queued report, in order.
  absl::StatusOr<std::vector<goalkeeper::v1::Exposure>> ReportExposures(const std::string& scan_id,
                                                                        uint64_t offset,
                                                                        uint32_t limit);

  absl::StatusOr<std::vector<ReportRow>> DueReports(int64_t now_ms, uint32_t limit);
  absl::Status MarkReportDelivered(const std::string& scan_id, int64_t now_ms);
  absl::Status MarkReportFailed(const std::string& scan_id, uint32_t attempts,
                                int64_t next_attempt_ms, const std::string& error);
  absl::StatusOr<uint64_t> CountPendingReports();
  // When the scan of the oldest undelivered report ended (Unix ms; 0: none).
  absl::StatusOr<int64_t> OldestPendingReportMs();

  // Schedule name -> (last fire ms or -1, first seen ms).
  absl::StatusOr<std::map<std::string, std::pair<int64_t, int64_t>>> LoadScheduleRuns();
  absl::Status SaveScheduleRun(const std::string& name, int64_t last_fire_ms,
                               int64_t first_seen_ms);

  // Registered workers (ScanManager::RegisterWorker), kept across restarts.
  absl::StatusOr<std::vector<WorkerRow>> LoadWorkers();
  // Inserts or replaces the worker with this id.
  absl::Status SaveWorker(const WorkerRow& worker);
  absl::Status DeleteWorker(const std::string& id);

 private:
  ScanStore(std::unique_ptr<SqliteDb> db, std::string path)
      : db_(std::move(db)), path_(std::move(path)) {}
  absl::Status Begin();
  // A write that failed inside the open transaction leaves it half done:
  // roll it all back and refuse writes (as a failed commit does).
  void Abandon(const absl::Status& cause);
  absl::Status Guard(absl::Status s);
  absl::StatusOr<uint64_t> Guard(absl::StatusOr<uint64_t> s);
  absl::StatusOr<std::vector<ScanRow>> QueryScans(
      const std::string& where_sql, const std::function<void(SqliteStatement&)>& bind);
  std::unique_ptr<SqliteDb> db_;
  const std::string path_;
  absl::Status refusal_;
  bool in_txn_ = false;
  absl::Time txn_started_;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_SCAN_STORE_H_
