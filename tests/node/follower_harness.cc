// A test helper process for the kill -9 tests: follows DIR/app.log* (or,
// with --source journal, the kernel messages of the journal files in DIR)
// and appends every delivered line to OUT, exactly once across SIGKILLs.
//
//   follower_harness --dir DIR --state STATE_DIR --out OUT [--exit-when-idle-ms N]
//                    [--source files|journal]
//
// Ordering (why the union of outputs holds every line exactly once): the
// output is part of the checkpoint. Each step polls a batch of lines, then
// Commit()s the follower's positions *with* the blob "L\n<batch>" (L = OUT's
// length before the batch: a redo record) in one atomic rename, and only
// then appends the batch to OUT and fsyncs it. On start the blob of the last
// checkpoint is replayed: OUT is truncated to L and the batch appended again.
// A kill before the rename leaves the previous checkpoint: OUT is cut back to
// what it held then, and the batch's lines, not yet covered by a checkpoint,
// are read again. A kill after the rename leaves positions past the batch
// and the batch in the blob: the replay writes it (again, idempotently).
// Either way OUT = every line up to the checkpointed positions, once.
//
// Thread-safety: a single-threaded program.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "node/journal_follower.h"
#include "node/log_follower.h"

namespace {

void Die(const std::string& what) {
  std::fprintf(stderr, "follower_harness: %s\n", what.c_str());
  std::exit(1);
}

void WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w <= 0) Die(absl::StrCat("write: ", std::strerror(errno)));
    done += static_cast<size_t>(w);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, state, out;
  std::string source = "files";
  int64_t idle_exit_ms = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const std::string v = argv[i + 1];
    if (k == "--dir") {
      dir = v;
    } else if (k == "--state") {
      state = v;
    } else if (k == "--out") {
      out = v;
    } else if (k == "--source") {
      source = v;
    } else if (k == "--exit-when-idle-ms") {
      if (!absl::SimpleAtoi(v, &idle_exit_ms)) Die("bad --exit-when-idle-ms " + v);
    } else {
      Die("unknown flag " + k);
    }
  }
  if (dir.empty() || state.empty() || out.empty()) Die("--dir, --state and --out are required");

  if (source != "files" && source != "journal") Die("--source is files or journal, got " + source);

  goalkeeper::SystemClock clock;
  // One of the two followers, behind the three calls the loop needs.
  std::unique_ptr<goalkeeper::node::LogFollower> files;
  std::unique_ptr<goalkeeper::node::JournalFollower> journal;
  if (source == "files") {
    goalkeeper::node::LogFollowerOptions o;
    o.globs = {dir + "/app.log*"};
    o.checkpoint_path = state + "/follower.ckpt";
    o.rotation_grace = absl::Milliseconds(100);
    o.retry_interval = absl::Milliseconds(20);
    o.rescan_interval = absl::Milliseconds(50);
    absl::StatusOr<std::unique_ptr<goalkeeper::node::LogFollower>> f =
        goalkeeper::node::LogFollower::Open(o, clock);
    if (!f.ok()) Die(std::string(f.status().message()));
    files = *std::move(f);
  } else {
    goalkeeper::node::JournalFollowerOptions o;
    o.directories = {dir};
    o.checkpoint_path = state + "/journal.ckpt";
    o.rescan_interval = absl::Milliseconds(20);
    o.max_entries_per_poll = 50;  // several polls and commits per batch
    absl::StatusOr<std::unique_ptr<goalkeeper::node::JournalFollower>> f =
        goalkeeper::node::JournalFollower::Open(o, clock);
    if (!f.ok()) Die(std::string(f.status().message()));
    journal = *std::move(f);
  }
  auto poll = [&](std::string& lines) {
    if (files != nullptr) {
      files->Poll([&](const goalkeeper::node::LogLine& l) {
        absl::StrAppend(&lines, l.text, "\n");
        return true;
      });
    } else {
      journal->Poll([&](const goalkeeper::node::JournalLine& l) {
        absl::StrAppend(&lines, l.message, "\n");
        return true;
      });
    }
  };
  auto commit = [&](absl::string_view blob) {
    return files != nullptr ? files->Commit(blob) : journal->Commit(blob);
  };

  const int fd = ::open(out.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) Die(absl::StrCat("open ", out, ": ", std::strerror(errno)));
  // Replay the redo record of the last checkpoint.
  const std::string& blob = files != nullptr ? files->restored_blob() : journal->restored_blob();
  uint64_t len = 0;
  std::string batch;
  if (!blob.empty()) {
    const size_t nl = blob.find('\n');
    if (nl == std::string::npos || !absl::SimpleAtoi(blob.substr(0, nl), &len)) {
      Die("bad blob in the checkpoint");
    }
    batch = blob.substr(nl + 1);
  }
  if (::ftruncate(fd, static_cast<off_t>(len)) != 0) Die("ftruncate");
  ::lseek(fd, 0, SEEK_END);
  WriteAll(fd, batch);
  ::fsync(fd);

  absl::Time last_line = absl::Now();
  for (;;) {
    std::string lines;
    poll(lines);
    if (!lines.empty()) {
      last_line = absl::Now();
      const off_t size = ::lseek(fd, 0, SEEK_END);
      absl::StatusOr<uint64_t> seq = commit(absl::StrCat(size, "\n", lines));
      if (!seq.ok()) Die(std::string(seq.status().message()));
      WriteAll(fd, lines);
      ::fsync(fd);
    } else if (idle_exit_ms > 0 && absl::Now() - last_line > absl::Milliseconds(idle_exit_ms)) {
      return 0;
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
}
