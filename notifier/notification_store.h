// The notifier's durable state in SQLite (WAL): received reports, the
// notification state of each (owner, ip, port), the outbox of notifications
// (each stored before it is sent, keyed by an idempotency key), dead
// letters, and acknowledged exposures. Each method is one transaction.
// The file is marked as the notifier's (application_id "GKN1", numbered
// schema with migrations: common/sqlite.h); another application's file or a
// newer schema is refused, naming the file.
//
//   ASSIGN_OR_RETURN(auto store, NotificationStore::Open(path));
//   ASSIGN_OR_RETURN(bool fresh, store->InsertReport(report, now));
//
// Thread-safety: thread-safe (one mutex around the connection).
#ifndef GOALKEEPER_NOTIFIER_NOTIFICATION_STORE_H_
#define GOALKEEPER_NOTIFIER_NOTIFICATION_STORE_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/sqlite.h"
#include "goalkeeper/v1/node.pb.h"
#include "goalkeeper/v1/notifier.pb.h"
#include "notifier/outbox.h"

namespace goalkeeper {

struct ExposureState {
  absl::Time first_notified;
  absl::Time last_notified;
  bool open = true;
};

struct ExposureUpdate {
  std::string owner_key;
  std::string ip;
  uint32_t port = 0;
  bool open = true;
  bool notified = false;  // sets last_notified (and first_notified if new)
  goalkeeper::v1::Transport transport = goalkeeper::v1::TRANSPORT_TCP;
};

// The notifier database's schema (application id, tables, migrations up to
// user_version 5: exposures and acknowledgements keyed by (ip, port,
// transport), rows from before as TCP), shared by its connections (NotificationStore, the audit
// trail's SqliteAuditLog).
const SqliteSchema& NotifierSchema();

// SHA-256 (hex) of a report's canonical content: its fields with the
// exposures sorted (their order carries no meaning) and exposure_count
// (a streaming detail) left out.
std::string ReportDigest(const goalkeeper::v1::ScanReport& report);

// A node finding to store (InsertNodeFindings) and its content digest
// (notifier/node_findings.h's NodeFindingDigest).
struct StoredNodeFinding {
  const goalkeeper::v1::NodeFindingDelivery* delivery;
  std::string digest;
};

struct NodeFindingsResult {
  std::vector<size_t> fresh;  // indexes of the findings stored for the first time
  uint32_t duplicates = 0;    // stored before with the same content
  uint32_t queued = 0;        // outbox items queued
};

class NotificationStore {
 public:
  static absl::StatusOr<std::unique_ptr<NotificationStore>> Open(const std::string& path);

  // Stores the report unless its scan id is already known; returns whether it
  // was new. A known scan id with the same content (ReportDigest) is a
  // duplicate (false); with other content, AlreadyExists naming the scan and
  // both digests, and the first report is kept.
  absl::StatusOr<bool> InsertReport(const goalkeeper::v1::ScanReport& report, absl::Time now);
  // How many exposures the stored report of `scan_id` has (nullopt: none stored).
  absl::StatusOr<std::optional<uint64_t>> StoredExposures(const std::string& scan_id);
  // The oldest unprocessed report due for (another) processing attempt.
  absl::StatusOr<std::optional<goalkeeper::v1::ScanReport>> NextReport(absl::Time now);
  absl::Status ReportFailed(const std::string& scan_id, absl::Time next_attempt,
                            const std::string& error);
  // Marks the report processed, applies the exposure updates and queues the
  // notifications, all in one transaction (an item whose key exists is kept).
  absl::Status CompleteReport(const std::string& scan_id,
                              const std::vector<ExposureUpdate>& updates,
                              const std::vector<OutboxItem>& items, absl::Time now);

  // In one transaction: stores each finding unless its (node, id) is known,
  // then queues `notify(fresh)`'s items (called only if some are fresh; an
  // item whose key exists is kept). A known (node, id) with the same digest
  // is a duplicate; with another digest, AlreadyExists naming the index, the
  // node, the id and both digests, and nothing of the batch is stored.
  absl::StatusOr<NodeFindingsResult> InsertNodeFindings(
      const std::vector<StoredNodeFinding>& findings,
      const std::function<std::vector<OutboxItem>(const std::vector<size_t>& fresh)>& notify,
      absl::Time now);
  // Every stored node finding, oldest first.
  absl::StatusOr<std::vector<goalkeeper::v1::NodeFindingDelivery>> LoadNodeFindings();

  // The (owner, ip, port, transport) state; TCP when no transport is given.
  absl::StatusOr<std::optional<ExposureState>> GetExposure(
      const std::string& owner_key, const std::string& ip, uint32_t port,
      goalkeeper::v1::Transport transport = goalkeeper::v1::TRANSPORT_TCP);

  // Pending items due by `now`, oldest first. A row whose channel this build
  // does not know is DataLoss naming its key and channel.
  absl::StatusOr<std::vector<OutboxItem>> DueOutbox(absl::Time now, int limit);
  absl::Status MarkSent(const std::string& key, absl::Time now);
  absl::Status MarkRetry(const std::string& key, uint32_t attempts, absl::Time next_attempt,
                         const std::string& error);
  absl::Status MarkDead(const std::string& key, const std::string& error, absl::Time now);
  // Inserts one item (e.g. a dead-letter notice); false if the key exists.
  absl::StatusOr<bool> Enqueue(const OutboxItem& item);
  // channel -> state -> count (rows of a channel this build does not know are left out).
  absl::StatusOr<std::map<Channel, std::map<OutboxState, uint64_t>>> CountOutbox();
  // channel -> when its oldest pending item was queued (channels with none
  // pending are left out).
  absl::StatusOr<std::map<Channel, absl::Time>> OldestPendingOutbox();
  absl::StatusOr<std::vector<OutboxItem>> ListOutbox(OutboxState state);

  // Keyed by (ip, port, transport); TCP when no transport is given.
  absl::Status Acknowledge(const std::string& ip, uint32_t port, absl::Time until,
                           const std::string& reason,
                           goalkeeper::v1::Transport transport = goalkeeper::v1::TRANSPORT_TCP);
  absl::StatusOr<bool> IsAcknowledged(
      const std::string& ip, uint32_t port, absl::Time now,
      goalkeeper::v1::Transport transport = goalkeeper::v1::TRANSPORT_TCP);

 private:
  explicit NotificationStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_NOTIFICATION_STORE_H_
