// A local durable spool of the node agent's findings not yet acknowledged by
// the coordinator: records of bytes with increasing ids, appended durably,
// acknowledged by id, replayed in order after a restart.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Spool> spool, Spool::Open({.path = dir + "/spool.db"}));
//   ASSIGN_OR_RETURN(int64_t id, spool->Append(finding.SerializeAsString()));
//   ASSIGN_OR_RETURN(std::vector<SpoolRecord> todo, spool->Pending(100));
//   ... send, then: RETURN_IF_ERROR(spool->Ack(id));
//
// Storage (a documented choice): one SQLite database (common/sqlite.h,
// application_id "GKS1") in WAL mode with synchronous=FULL, so an Append
// that returned is on disk (fsync of the WAL) and a kill -9 or a torn last
// write loses nothing that was acknowledged to the caller: SQLite's WAL
// frames carry checksums, and a cut last transaction is rolled back on open.
//
// Bounds: max_records and max_bytes (sum of the records' sizes). An Append
// past either is ResourceExhausted naming the spool and both limits; the
// caller keeps its input (the log follower's callback returns false) until
// acknowledgements make room.
//
// Exactly-once from a checkpoint: AppendBatch(records, batch_seq) stores the
// batch and batch_seq in one transaction and is a no-op for a batch_seq not
// above the last one stored, so a caller that records its batch in its own
// checkpoint before spooling it can replay it after a crash without
// duplicates (see LogFollower::Commit). Several checkpointed callers share
// one spool by giving each its own key: AppendBatch(records, seq, key) keeps
// a batch seq per key (a follower whose checkpoint was deleted starts again
// at seq 1: SetBatchSeq(key, 0) first). AppendWithState(records, key, state)
// stores records together with a caller's state blob (read back by State),
// for callers without a checkpoint file (the listener scan's previous set).
//
// Epoch: a random 63-bit number chosen when the spool file is created and
// kept for its life, so "epoch-id" names a record uniquely even across a
// spool deleted and created again (the node agent's finding ids).
//
// Thread-safety: not thread-safe; one thread uses a Spool.
#ifndef GOALKEEPER_NODE_SPOOL_H_
#define GOALKEEPER_NODE_SPOOL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/sqlite.h"

namespace goalkeeper::node {

struct SpoolOptions {
  std::string path;  // the database file; its directory must exist
  int64_t max_records = 100000;
  int64_t max_bytes = int64_t{64} << 20;
};

struct SpoolRecord {
  int64_t id = 0;
  std::string data;
};

class Spool {
 public:
  // Opens or creates the spool; FailedPrecondition for a database that is
  // not a spool (names the file), InvalidArgument for bad limits.
  static absl::StatusOr<std::unique_ptr<Spool>> Open(const SpoolOptions& options);
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Durably stores one record; returns its id (greater than every earlier one).
  absl::StatusOr<int64_t> Append(absl::string_view record);
  // Stores all records and batch_seq atomically; returns their ids, or an
  // empty vector when batch_seq <= last_batch_seq() (already stored).
  absl::StatusOr<std::vector<int64_t>> AppendBatch(const std::vector<std::string>& records,
                                                   int64_t batch_seq);
  // The same with the batch seq of `key` ("" is the seq above).
  absl::StatusOr<std::vector<int64_t>> AppendBatch(const std::vector<std::string>& records,
                                                   int64_t batch_seq, absl::string_view key);
  // The last batch seq stored for `key` (0 when none).
  absl::StatusOr<int64_t> LastBatchSeq(absl::string_view key);
  absl::Status SetBatchSeq(absl::string_view key, int64_t batch_seq);
  // Stores the records and sets the state of `key`, atomically (always; no
  // seq). Full: ResourceExhausted, nothing stored.
  absl::StatusOr<std::vector<int64_t>> AppendWithState(const std::vector<std::string>& records,
                                                       absl::string_view key,
                                                       absl::string_view state);
  // The state last stored for `key`, nullopt when none.
  absl::StatusOr<std::optional<std::string>> State(absl::string_view key);
  // Removes a record; acknowledging an unknown or already acknowledged id is
  // OK (acks may be repeated after a reconnect).
  absl::Status Ack(int64_t id);
  // Unacknowledged records in id order, after `after_id`, at most `limit`
  // (0 = all).
  absl::StatusOr<std::vector<SpoolRecord>> Pending(size_t limit = 0, int64_t after_id = 0);

  int64_t records() const { return records_; }
  int64_t bytes() const { return bytes_; }
  int64_t last_batch_seq() const { return last_batch_seq_; }
  uint64_t epoch() const { return epoch_; }
  const SpoolOptions& options() const { return options_; }

 private:
  Spool(SpoolOptions options, std::unique_ptr<SqliteDb> db)
      : options_(std::move(options)), db_(std::move(db)) {}
  absl::Status CheckRoom(int64_t add_records, int64_t add_bytes) const;
  absl::StatusOr<int64_t> Insert(absl::string_view record);
  // Inserts `records` and runs `also` (more writes) in one transaction,
  // within the bounds; the counts change only once it is committed.
  absl::StatusOr<std::vector<int64_t>> InsertAll(const std::vector<std::string>& records,
                                                 const std::function<absl::Status()>& also);

  SpoolOptions options_;
  std::unique_ptr<SqliteDb> db_;
  int64_t records_ = 0;
  int64_t bytes_ = 0;
  int64_t last_batch_seq_ = 0;
  uint64_t epoch_ = 0;
};

}  // namespace goalkeeper::node

#endif  // GOALKEEPER_NODE_SPOOL_H_
