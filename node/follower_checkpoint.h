// The followers' checkpoint file: where each followed file was read up to
// (LogFollower) or the journal position (JournalFollower), plus the caller's
// opaque state, in one atomically replaced file.
//
//   FollowerCheckpoint cp;
//   cp.seq = 7;
//   cp.entries.push_back({"/var/log/kern.log", dev, ino, offset, 256, hash, mtime_ns});
//   cp.blob = aggregator_state;
//   std::string bytes = SerializeFollowerCheckpoint(cp);
//   absl::StatusOr<FollowerCheckpoint> back = ParseFollowerCheckpoint(bytes);
//
// Format (text, one record a line, the blob raw):
//   goalkeeper-follower-checkpoint v1
//   seq 7
//   journal <realtime_usec> <hex of the cursor, or "-" for none>   (optional)
//   entry <hex of the stream path> <dev> <ino> <offset> <head_len> <head_hash hex> <mtime_ns>
//   blob <length>
//   <length raw bytes>
//   end <FNV-1a 64 of every byte before "end", 16 hex digits>
// The parser is strict (every field, the order, the checksum, no trailing
// bytes) and bounded, so a damaged or foreign file is refused with an
// InvalidArgument that names the line and the bad value, never misread.
//
// WriteFileAtomically / ReadFollowerCheckpointFile do the file I/O for both
// followers (PATH.tmp + fsync + rename + fsync of the directory).
//
// Thread-safety: pure functions, safe from any thread (the file functions
// too, for different paths).
#ifndef GOALKEEPER_NODE_FOLLOWER_CHECKPOINT_H_
#define GOALKEEPER_NODE_FOLLOWER_CHECKPOINT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace goalkeeper::node {

// How many leading bytes of a file identify it (with the inode) across
// restarts and tell a copytruncate or a replaced file apart.
inline constexpr size_t kFollowerHeadBytes = 256;
// Bounds of the parser (a checkpoint far larger is not ours).
inline constexpr size_t kMaxCheckpointEntries = 100000;
inline constexpr size_t kMaxCheckpointPath = 4096;
inline constexpr size_t kMaxCheckpointBlob = size_t{256} << 20;
inline constexpr size_t kMaxJournalCursor = 1024;

// FNV-1a 64 of the bytes (stable across builds and runs, unlike absl::Hash).
uint64_t Fnv1a64(absl::string_view bytes, uint64_t seed = 0xcbf29ce484222325ULL);

// Where one followed stream (a live path and its rotations) stood.
struct FollowerCheckpointEntry {
  std::string stream;      // the live path: "/var/log/kern.log"
  uint64_t dev = 0;        // st_dev of the file being read
  uint64_t ino = 0;        // st_ino of the file being read
  uint64_t offset = 0;     // bytes consumed (end of the last delivered line)
  uint64_t head_len = 0;   // <= kFollowerHeadBytes (may exceed offset)
  uint64_t head_hash = 0;  // Fnv1a64 of the first head_len bytes
  int64_t mtime_ns = 0;    // the file's mtime when checkpointed
  bool operator==(const FollowerCheckpointEntry&) const = default;
};

// Where a JournalFollower stood: the cursor of the last entry consumed
// ("" when none was yet) and its realtime (with no cursor: just before the
// point where reading started), to fall back on when the cursor is gone.
struct JournalPosition {
  std::string cursor;  // sd_journal_get_cursor(): "s=...;i=...;b=...;m=...;t=...;x=..."
  int64_t realtime_usec = 0;
  bool operator==(const JournalPosition&) const = default;
};

struct FollowerCheckpoint {
  uint64_t seq = 0;  // 1 for the first commit, +1 for each
  std::optional<JournalPosition> journal;
  std::vector<FollowerCheckpointEntry> entries;
  std::string blob;  // the caller's state, opaque
  bool operator==(const FollowerCheckpoint&) const = default;
};

std::string SerializeFollowerCheckpoint(const FollowerCheckpoint& checkpoint);
// InvalidArgument "checkpoint line 3: 'entry x' ..." for anything not
// produced by SerializeFollowerCheckpoint.
absl::StatusOr<FollowerCheckpoint> ParseFollowerCheckpoint(absl::string_view bytes);

// Replaces `path` with `bytes`: PATH.tmp, fsync, rename, fsync of the
// directory. Unavailable naming the file and the errno text on failure.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes);

// Reads and parses the checkpoint at `path`: nullopt when it does not exist
// (a first start), FailedPrecondition "checkpoint 'PATH' is damaged: ..."
// when it does not parse (an operator decides), Unavailable when unreadable.
absl::StatusOr<std::optional<FollowerCheckpoint>> ReadFollowerCheckpointFile(
    const std::string& path);

}  // namespace goalkeeper::node

#endif  // GOALKEEPER_NODE_FOLLOWER_CHECKPOINT_H_
