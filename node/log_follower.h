// Follows log files given by globs incrementally and hands complete lines to
// a callback, with a checkpoint that makes a restart neither re-report nor
// miss a line. Bytes in, no parsing of what the lines say.
//
//   LogFollowerOptions o;
//   o.globs = {"/var/log/kern.log"};
//   o.checkpoint_path = "/var/lib/goalkeeper/tftp.ckpt";
//   o.catch_up_max_age = absl::Minutes(10);          // the rule's window
//   ASSIGN_OR_RETURN(std::unique_ptr<LogFollower> f, LogFollower::Open(o, clock));
//   State st = State::Parse(f->restored_blob());   // aggregator + pending findings
//   RETURN_IF_ERROR(spool.AppendBatch(st.pending, f->restored_seq()).status());  // redo
//   for (;;) {
//     f->Poll([&](const LogLine& l) { st.aggregator.Add(parse(l.text)); return true; });
//     st.pending = st.aggregator.TakeFindings();
//     ASSIGN_OR_RETURN(uint64_t seq, f->Commit(st.Serialize()));  // positions + state, atomic
//     RETURN_IF_ERROR(spool.AppendBatch(st.pending, seq).status());  // no-op if done
//     sleep(o.poll_interval);
//   }
// Exactly once: the findings of a batch are in the checkpoint before they are
// spooled, and the spool stores a batch seq at most once, so a kill between
// the two replays them without duplicates (tests/node/follower_harness.cc
// does the same with a file).
//
// Streams. Each glob match is a stream named by its live path; a match that
// looks like a rotation of another name (`NAME.N` or `NAME.N.gz`, N digits)
// belongs to the stream NAME, whether or not NAME itself exists. The rotated
// files of a stream are found in its directory (`kern.log.1`,
// `kern.log.2.gz`, ...; higher N is older), not through the glob.
//
// Position and identity. A stream's position is (st_dev, st_ino, offset) of
// the file being read plus a hash of its first kFollowerHeadBytes bytes (of
// the decompressed bytes for .gz). The offset always sits just after a
// delivered line's newline, so a partial last line is re-read and delivered
// once its newline arrives (never lost, never delivered twice).
//
// Rotation by rename (kern.log -> kern.log.1, a new kern.log): the open old
// file is read to its end, and kept until it has not grown for
// `rotation_grace` (writers such as rsyslog keep writing to it until told to
// reopen); a still-unterminated last line of a finished old file is then
// delivered as it is (counted in `unterminated_lines`): it will never be
// completed. What comes next is decided when a file is finished, from the
// directory as it is then: the sibling after it (found by inode, or by its
// first bytes once compressed), not necessarily the live file, since it may
// have been rotated several times meanwhile.
// Rotation by copytruncate (same inode, size below our read position, its
// first bytes changed, or a new NAME.1 starting with its first bytes): the
// copy is read from our offset to its end, then the live file from 0; with
// no copy the live file restarts at 0 (`truncations` counts both).
//
// Restart. Open() reads the checkpoint and finds each stream's file among
// the live file and its rotated siblings by inode (its first bytes must
// match: inode numbers are reused), else by its first bytes (a rotation that
// was compressed since, or the copy of a file copytruncated while we were
// down), resumes it at its offset, then reads every newer file from 0. A
// file from which nothing was taken yet is checkpointed as the end of the
// file before it (an empty file has no first bytes to be found by). A stream
// without an entry catches up: the follower offers its rotated files oldest
// first and the decision is made by mtime (documented choice): a file whose
// mtime is older than now - catch_up_max_age holds only older lines and is
// skipped (the live file is then started at its end); the others are read
// entirely and the caller drops the lines outside its window by their own
// timestamps. A checkpointed file that can no longer be found (deleted while
// the agent was down) counts in `checkpoint_lost`; the files newer than its
// recorded mtime are then read from 0.
//
// Bad input is never fatal: a line longer than max_line_bytes is skipped
// (`overlong_lines`); NUL bytes at the start of a line (the padding a crash
// leaves in a log) are dropped (`nul_bytes_dropped`); other binary bytes are
// passed through for the parser to refuse. Files that vanish or cannot be
// read count in `open_errors`/`read_errors` and are retried every
// `retry_interval`.
//
// Thread-safety: not thread-safe; one thread calls Poll and Commit (no
// threads inside, time comes from the Clock).
#ifndef GOALKEEPER_NODE_LOG_FOLLOWER_H_
#define GOALKEEPER_NODE_LOG_FOLLOWER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "node/follower_checkpoint.h"
#include "node/literal_scan.h"

namespace goalkeeper::node {

struct LogFollowerOptions {
  std::vector<std::string> globs;  // "/var/log/kern.log*", "/var/log/syslog"
  // The checkpoint file (its directory must exist and be writable); written
  // as PATH.tmp + fsync + rename + fsync of the directory.
  std::string checkpoint_path;
  absl::Duration catch_up_max_age = absl::Hours(1);
  absl::Duration rotation_grace = absl::Seconds(2);
  absl::Duration retry_interval = absl::Seconds(10);       // unreadable or vanished files
  absl::Duration rescan_interval = absl::Seconds(10);      // globs expanded again
  absl::Duration poll_interval = absl::Milliseconds(500);  // for the caller's loop
  size_t max_line_bytes = 64 * 1024;
  size_t max_bytes_per_poll = 8 << 20;  // bounds one Poll's work
  // When set, only lines holding this literal are handed to the callback
  // (a literal-prefix rule's prefix: FirewallRule::RequiredLiteral); the
  // others are skipped unseen, found at memory speed (node/literal_scan.h),
  // and counted in filtered_lines/filtered_bytes, not in lines/bytes, nor
  // checked for NULs. Positions, checkpoints and rotation are the same as
  // without it. Must not hold '\n'.
  std::string line_literal;
};

// One complete line, without its newline. Valid during the callback only.
struct LogLine {
  absl::string_view text;
  absl::string_view stream;  // the live path: "/var/log/kern.log"
  absl::string_view file;    // the file it came from: "/var/log/kern.log.1"
  uint64_t end_offset = 0;   // just past its newline in that file
};

// Returns true when the line was taken; false stops this Poll and the same
// line is offered again by the next one (back-pressure, e.g. a full spool).
using LineCallback = std::function<bool(const LogLine&)>;

struct LogFollowerStats {
  uint64_t lines = 0;
  uint64_t bytes = 0;               // bytes of delivered lines
  uint64_t overlong_lines = 0;      // skipped
  uint64_t nul_bytes_dropped = 0;   // leading NULs removed from lines
  uint64_t unterminated_lines = 0;  // last line of a finished file, delivered
  uint64_t rename_rotations = 0;
  uint64_t truncations = 0;            // copytruncate or replaced in place
  uint64_t rotated_files_read = 0;     // catch-up and rotations met on restart
  uint64_t rotated_files_skipped = 0;  // older than catch_up_max_age
  uint64_t checkpoint_lost = 0;
  uint64_t open_errors = 0;
  uint64_t read_errors = 0;
  uint64_t commits = 0;
  uint64_t filtered_lines = 0;  // skipped for want of line_literal
  uint64_t filtered_bytes = 0;  // their bytes, newlines not counted
};

struct PollResult {
  uint64_t lines = 0;     // delivered
  uint64_t filtered = 0;  // skipped for want of line_literal (read all the same)
  bool more = false;      // stopped by max_bytes_per_poll or the callback: poll again now
};

class LogFollower {
 public:
  // Reads the checkpoint (a missing file is a first start; a damaged one is
  // FailedPrecondition naming it, so that an operator decides) and expands
  // the globs. InvalidArgument for empty globs or checkpoint path.
  static absl::StatusOr<std::unique_ptr<LogFollower>> Open(const LogFollowerOptions& options,
                                                           const Clock& clock);
  ~LogFollower();
  LogFollower(const LogFollower&) = delete;
  LogFollower& operator=(const LogFollower&) = delete;

  // The caller's blob of the checkpoint read by Open ("" on a first start).
  const std::string& restored_blob() const { return restored_blob_; }
  uint64_t restored_seq() const { return restored_seq_; }

  // One step: reads what is new in every stream, handles rotations, and
  // calls `on_line` for each complete line in file order per stream.
  PollResult Poll(const LineCallback& on_line);

  // Records that every line delivered so far has been processed, with the
  // caller's state after them, atomically. Returns the checkpoint's seq.
  absl::StatusOr<uint64_t> Commit(absl::string_view blob);

  const LogFollowerStats& stats() const { return stats_; }
  // The live paths being followed.
  std::vector<std::string> Streams() const;

  // Internal (defined in log_follower.cc).
  struct Stream;
  struct Candidate;

 private:
  LogFollower(const LogFollowerOptions& options, const Clock& clock);
  void Rescan(bool initial);
  void PollStream(Stream& s, const LineCallback& on_line, PollResult& result, size_t& budget);
  void HandleTruncation(Stream& s);
  bool NewCopy(Stream& s);
  void QueueAfter(Stream& s, const FollowerCheckpointEntry& done);
  static FollowerCheckpointEntry EntryOf(const Stream& s, const Candidate& c);

  LogFollowerOptions options_;
  std::optional<LiteralScanner> literal_;  // from options_.line_literal
  const Clock& clock_;
  std::map<std::string, std::unique_ptr<Stream>> streams_;
  // Entries of the checkpoint for streams not (yet) matched by a glob: kept
  // so that a file missing for a while resumes where it was.
  std::map<std::string, FollowerCheckpointEntry> dormant_;
  std::string restored_blob_;
  uint64_t restored_seq_ = 0;
  uint64_t seq_ = 0;
  absl::Time next_rescan_;
  LogFollowerStats stats_;
};

}  // namespace goalkeeper::node

#endif  // GOALKEEPER_NODE_LOG_FOLLOWER_H_
