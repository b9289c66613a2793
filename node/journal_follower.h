// Follows the kernel messages (_TRANSPORT=kernel) of systemd journals kept
// in host directories mounted into the pod, with libsystemd's sd-journal
// reader, and hands each one to a callback, with a checkpoint that makes a
// restart neither re-report nor miss an entry. The same shape as
// LogFollower (node/log_follower.h), so the agent loop drives either:
//
//   JournalFollowerOptions o;                           // /var/log/journal, /run/log/journal
//   o.checkpoint_path = "/var/lib/goalkeeper/journal.ckpt";
//   o.catch_up_max_age = absl::Minutes(10);            // the rule's window
//   ASSIGN_OR_RETURN(std::unique_ptr<JournalFollower> f, JournalFollower::Open(o, clock));
//   State st = State::Parse(f->restored_blob());       // redo as with LogFollower
//   for (;;) {
//     f->Poll([&](const JournalLine& l) {
//       FirewallLine fl;
//       if (ParseFirewallMessage(l.message, l.realtime_usec, &fl) == FirewallLineStatus::kOk) ...
//       return true;
//     });
//     ASSIGN_OR_RETURN(uint64_t seq, f->Commit(st.Serialize()));  // cursor + state, atomic
//     ...
//   }
//
// Files. Each directory is scanned for `*.journal` and `*.journal~` (what
// journald renames a file it found damaged to) at its top level and in its
// machine-id subdirectories (32 hex digits: `/var/log/journal/<machine-id>/
// system@....journal`), the host's machine-id being unknown in the pod and
// irrelevant. `user-*.journal` files are left out: kernel messages are only
// written to the system journal. A directory that does not exist (a host
// with only a volatile journal) is simply empty; it is scanned again every
// `rescan_interval`. All files are opened as one sd_journal
// (sd_journal_open_files), which interleaves them in time order, so a
// single cursor is the position. A file that libsystemd refuses to open
// (random bytes, a header that does not fit the file: a truncated file) is
// left out and counted in `bad_files` (once per file, by inode and size);
// the others are read. Damage inside a file that opens (a crash mid-write,
// garbage appended) is sd-journal's to contain: the entries before it are
// read; an entry whose MESSAGE cannot be read is skipped (`unreadable_entries`).
//
// Rotation. When a rescan finds the set of files changed (journald archived
// `system.journal` to `system@...journal` and started a new one; a file was
// vacuumed), the journal is opened again over the new set and positioned
// after the last consumed entry's cursor.
//
// Position. The checkpoint holds the cursor of the last entry consumed
// (delivered or skipped) and its realtime, with the caller's blob and a seq,
// written through WriteFileAtomically (node/follower_checkpoint.h). On a
// restart (or a re-open) the journal seeks to the cursor and skips that
// entry (sd_journal_test_cursor). A cursor whose entry is gone (the file was
// vacuumed while the agent was down) counts in `cursor_lost`; reading then
// starts at the oldest entry newer than its realtime. On a first start
// reading starts at now - catch_up_max_age; a commit before any entry was
// read records that point, so a restart resumes there.
//
// Bounds: a MESSAGE longer than max_message_bytes is skipped
// (`overlong_entries`; libsystemd is told not to read more of it than that);
// one Poll consumes at most max_entries_per_poll entries (result.more).
// An error of sd_journal_next is counted (`read_errors`), ends the Poll, and
// the next Poll opens the journal again from the last cursor.
//
// Known limit: an entry that appears later with an earlier time than the
// cursor (a file copied in from elsewhere) is not read: the journal is read
// in time order from the cursor on.
//
// Thread-safety: not thread-safe; one thread calls Poll and Commit (no
// threads inside, time comes from the Clock).
#ifndef GOALKEEPER_NODE_JOURNAL_FOLLOWER_H_
#define GOALKEEPER_NODE_JOURNAL_FOLLOWER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "node/follower_checkpoint.h"
#include "node/log_follower.h"

namespace goalkeeper::node {

struct JournalFollowerOptions {
  std::vector<std::string> directories = {"/var/log/journal", "/run/log/journal"};
  // The checkpoint file (its directory must exist and be writable).
  std::string checkpoint_path;
  absl::Duration catch_up_max_age = absl::Hours(1);
  absl::Duration rescan_interval = absl::Seconds(10);      // new or vanished journal files
  absl::Duration poll_interval = absl::Milliseconds(500);  // for the caller's loop
  size_t max_entries_per_poll = 10000;
  size_t max_message_bytes = 64 * 1024;
};

// One kernel message. The views are valid during the callback only.
struct JournalLine {
  absl::string_view message;  // MESSAGE, without "MESSAGE="
  int64_t realtime_usec = 0;  // __REALTIME_TIMESTAMP
  absl::string_view cursor;
};

// Returns true when the entry was taken; false stops this Poll and the same
// entry is offered again by the next one.
using JournalCallback = std::function<bool(const JournalLine&)>;

struct JournalFollowerStats {
  uint64_t entries = 0;             // delivered
  uint64_t bytes = 0;               // of delivered messages
  uint64_t overlong_entries = 0;    // skipped
  uint64_t unreadable_entries = 0;  // no readable MESSAGE or timestamp: skipped
  uint64_t bad_files = 0;           // refused by libsystemd, left out
  uint64_t files = 0;               // open now
  uint64_t reopens = 0;             // the set of files changed (rotation, vacuum)
  uint64_t cursor_lost = 0;         // the checkpointed entry was gone
  uint64_t read_errors = 0;         // sd_journal_next failed
  uint64_t commits = 0;
};

class JournalFollower {
 public:
  // Reads the checkpoint (missing: a first start; damaged: FailedPrecondition
  // naming it) and opens the journal files found. InvalidArgument for no
  // directories, no checkpoint path or zero bounds.
  static absl::StatusOr<std::unique_ptr<JournalFollower>> Open(
      const JournalFollowerOptions& options, const Clock& clock);
  ~JournalFollower();
  JournalFollower(const JournalFollower&) = delete;
  JournalFollower& operator=(const JournalFollower&) = delete;

  const std::string& restored_blob() const { return restored_blob_; }
  uint64_t restored_seq() const { return restored_seq_; }

  // Delivers the kernel entries after the last one consumed, in time order.
  PollResult Poll(const JournalCallback& on_line);

  // Records that every entry delivered so far has been processed, with the
  // caller's state after them, atomically. Returns the checkpoint's seq.
  absl::StatusOr<uint64_t> Commit(absl::string_view blob);

  const JournalFollowerStats& stats() const { return stats_; }
  // The journal files open now.
  std::vector<std::string> Files() const;

  struct Handle;  // the sd_journal (defined in journal_follower.cc)
  // A journal file as found by a scan: path, inode, size.
  struct FileId {
    std::string path;
    uint64_t ino = 0;
    bool operator==(const FileId&) const = default;
    bool operator<(const FileId& o) const { return std::tie(path, ino) < std::tie(o.path, o.ino); }
  };

 private:
  JournalFollower(const JournalFollowerOptions& options, const Clock& clock);
  // Scans the directories; re-opens when the set changed or `force`.
  void Rescan(bool force);
  void Reopen(std::vector<FileId> files);
  // Positions the fresh handle after pos_ (or at the catch-up point).
  void Position();

  JournalFollowerOptions options_;
  const Clock& clock_;
  std::unique_ptr<Handle> journal_;
  std::vector<FileId> files_;
  // Files libsystemd refused, by (path, ino, size): not retried unchanged.
  std::vector<std::pair<FileId, uint64_t>> bad_;
  JournalPosition pos_;       // last consumed (or the starting point)
  bool on_untaken_ = false;   // the handle sits on an entry offered and refused
  bool need_reopen_ = false;  // after a read error
  std::string restored_blob_;
  uint64_t restored_seq_ = 0;
  uint64_t seq_ = 0;
  absl::Time next_rescan_;
  JournalFollowerStats stats_;
};

}  // namespace goalkeeper::node

#endif  // GOALKEEPER_NODE_JOURNAL_FOLLOWER_H_
