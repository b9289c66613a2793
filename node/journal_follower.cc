#include "node/journal_follower.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace goalkeeper::node {

struct JournalFollower::Handle {
  sd_journal* j = nullptr;
  ~Handle() {
    if (j != nullptr) sd_journal_close(j);
  }
};

namespace {

constexpr absl::string_view kMessageField = "MESSAGE=";
constexpr const char* kKernelMatch = "_TRANSPORT=kernel";

// A file name that may hold system-journal entries.
bool IsJournalFile(absl::string_view name) {
  if (name.empty() || name[0] == '.' || absl::StartsWith(name, "user-")) return false;
  return absl::EndsWith(name, ".journal") || absl::EndsWith(name, ".journal~");
}

// A machine-id subdirectory name: 32 lowercase hex digits.
bool IsMachineIdDir(absl::string_view name) {
  if (name.size() != 32) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

struct Found {
  JournalFollower::FileId id;
  uint64_t size = 0;
};

// Appends the journal files of `dir` (and of its machine-id subdirectories
// when `depth` is 0). A directory that cannot be opened holds none.
void ScanDirectory(const std::string& dir, int depth, std::vector<Found>& out) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  const int dfd = ::dirfd(d);
  while (struct dirent* e = ::readdir(d)) {
    const absl::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::fstatat(dfd, e->d_name, &st, 0) != 0) continue;
    const std::string path =
        absl::StrCat(dir, dir.size() > 0 && dir.back() == '/' ? "" : "/", name);
    if (S_ISDIR(st.st_mode)) {
      if (depth == 0 && IsMachineIdDir(name)) ScanDirectory(path, depth + 1, out);
    } else if (S_ISREG(st.st_mode) && IsJournalFile(name)) {
      out.push_back({{path, static_cast<uint64_t>(st.st_ino)}, static_cast<uint64_t>(st.st_size)});
    }
  }
  ::closedir(d);
}

// Opens the files as one journal with the kernel match. Null when
// libsystemd refuses (the errno is in *err).
std::unique_ptr<JournalFollower::Handle> OpenFiles(const std::vector<std::string>& paths,
                                                   size_t max_message_bytes, int* err) {
  std::vector<const char*> argv;
  argv.reserve(paths.size() + 1);
  for (const std::string& p : paths) argv.push_back(p.c_str());
  argv.push_back(nullptr);
  auto h = std::make_unique<JournalFollower::Handle>();
  int r = sd_journal_open_files(&h->j, argv.data(), 0);
  if (r < 0) {
    h->j = nullptr;
    *err = -r;
    return nullptr;
  }
  r = sd_journal_add_match(h->j, kKernelMatch, 0);
  if (r < 0) {
    *err = -r;
    return nullptr;
  }
  // One byte more than allowed, so that an overlong message is seen as one
  // without libsystemd decompressing all of it.
  sd_journal_set_data_threshold(h->j, max_message_bytes + kMessageField.size() + 1);
  return h;
}

// The cursor of the current entry, or nullopt.
std::optional<std::string> CursorOf(sd_journal* j) {
  char* c = nullptr;
  if (sd_journal_get_cursor(j, &c) < 0 || c == nullptr) return std::nullopt;
  std::string s(c);
  std::free(c);
  if (s.empty() || s.size() > kMaxJournalCursor) return std::nullopt;
  return s;
}

}  // namespace

JournalFollower::JournalFollower(const JournalFollowerOptions& options, const Clock& clock)
    : options_(options), clock_(clock) {}

JournalFollower::~JournalFollower() = default;

absl::StatusOr<std::unique_ptr<JournalFollower>> JournalFollower::Open(
    const JournalFollowerOptions& options, const Clock& clock) {
  if (options.directories.empty()) {
    return absl::InvalidArgumentError("journal follower: no directories given");
  }
  if (options.checkpoint_path.empty()) {
    return absl::InvalidArgumentError("journal follower: no checkpoint path given");
  }
  if (options.max_entries_per_poll == 0 || options.max_message_bytes == 0) {
    return absl::InvalidArgumentError(
        "journal follower: max_entries_per_poll and max_message_bytes must be > 0");
  }
  std::unique_ptr<JournalFollower> f(new JournalFollower(options, clock));
  ASSIGN_OR_RETURN(std::optional<FollowerCheckpoint> cp,
                   ReadFollowerCheckpointFile(options.checkpoint_path));
  if (cp.has_value()) {
    if (!cp->journal.has_value()) {
      return absl::FailedPreconditionError(
          absl::StrCat("checkpoint '", options.checkpoint_path,
                       "' has no journal position (is it a log file follower's?)"));
    }
    f->pos_ = std::move(*cp->journal);
    f->restored_blob_ = std::move(cp->blob);
    f->restored_seq_ = f->seq_ = cp->seq;
  } else {
    f->pos_.realtime_usec = absl::ToUnixMicros(clock.Now() - options.catch_up_max_age) - 1;
  }
  f->Rescan(/*force=*/true);
  return f;
}

std::vector<std::string> JournalFollower::Files() const {
  std::vector<std::string> out;
  for (const FileId& id : files_) out.push_back(id.path);
  return out;
}

void JournalFollower::Rescan(bool force) {
  next_rescan_ = clock_.Now() + options_.rescan_interval;
  std::vector<Found> found;
  for (const std::string& dir : options_.directories) ScanDirectory(dir, 0, found);
  // Forget refusals of files that are gone; a refused file that changed
  // (grown, replaced) is tried again.
  std::erase_if(bad_, [&](const std::pair<FileId, uint64_t>& b) {
    return std::none_of(found.begin(), found.end(),
                        [&](const Found& x) { return x.id == b.first && x.size == b.second; });
  });
  std::vector<FileId> considered;
  for (Found& x : found) {
    const bool refused = std::any_of(bad_.begin(), bad_.end(), [&](const auto& b) {
      return b.first == x.id && b.second == x.size;
    });
    if (!refused) considered.push_back(std::move(x.id));
  }
  std::sort(considered.begin(), considered.end());
  considered.erase(std::unique(considered.begin(), considered.end()), considered.end());
  if (!force && considered == files_ && !need_reopen_) return;
  Reopen(std::move(considered));
}

void JournalFollower::Reopen(std::vector<FileId> files) {
  if (journal_ != nullptr) ++stats_.reopens;
  journal_.reset();
  on_untaken_ = false;
  need_reopen_ = false;
  // Each file alone first: libsystemd refuses the whole set for one bad file.
  std::vector<FileId> good;
  for (FileId& id : files) {
    int err = 0;
    if (OpenFiles({id.path}, options_.max_message_bytes, &err) != nullptr) {
      good.push_back(std::move(id));
      continue;
    }
    struct stat st;
    const uint64_t size = ::stat(id.path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    if (err != ENOENT) {
      ++stats_.bad_files;
      bad_.emplace_back(std::move(id), size);
    }
  }
  files_ = std::move(good);
  stats_.files = 0;
  if (files_.empty()) return;
  std::vector<std::string> paths;
  for (const FileId& id : files_) paths.push_back(id.path);
  int err = 0;
  journal_ = OpenFiles(paths, options_.max_message_bytes, &err);
  if (journal_ == nullptr) {
    // Changed between the two opens: try again at the next Poll.
    ++stats_.read_errors;
    need_reopen_ = true;
    return;
  }
  stats_.files = files_.size();
  Position();
}

void JournalFollower::Position() {
  sd_journal* j = journal_->j;
  if (!pos_.cursor.empty()) {
    if (sd_journal_seek_cursor(j, pos_.cursor.c_str()) >= 0 && sd_journal_next(j) > 0 &&
        sd_journal_test_cursor(j, pos_.cursor.c_str()) > 0) {
      return;  // on the last consumed entry: the next Poll moves past it
    }
    // Gone (vacuumed) or not one of these files' cursors: go by its time,
    // and only once (later re-opens go by the time too).
    ++stats_.cursor_lost;
    pos_.cursor.clear();
  }
  const int64_t after = pos_.realtime_usec < 0 ? 0 : pos_.realtime_usec + 1;
  if (sd_journal_seek_realtime_usec(j, static_cast<uint64_t>(after)) < 0) {
    sd_journal_seek_head(j);
  }
}

PollResult JournalFollower::Poll(const JournalCallback& on_line) {
  PollResult result;
  if (clock_.Now() >= next_rescan_ || need_reopen_) Rescan(/*force=*/need_reopen_);
  if (journal_ == nullptr) return result;
  sd_journal* j = journal_->j;
  size_t budget = options_.max_entries_per_poll;
  while (budget > 0) {
    if (!on_untaken_) {
      const int r = sd_journal_next(j);
      if (r < 0) {
        ++stats_.read_errors;
        need_reopen_ = true;
        break;
      }
      if (r == 0) break;
    }
    on_untaken_ = false;
    --budget;
    std::optional<std::string> cursor = CursorOf(j);
    uint64_t rt = 0;
    if (!cursor.has_value() || sd_journal_get_realtime_usec(j, &rt) < 0 ||
        rt > static_cast<uint64_t>(INT64_MAX)) {
      ++stats_.unreadable_entries;  // no position to record: read past it
      continue;
    }
    const void* data = nullptr;
    size_t len = 0;
    const int r = sd_journal_get_data(j, "MESSAGE", &data, &len);
    const JournalPosition here{*cursor, static_cast<int64_t>(rt)};
    if (r < 0 || len < kMessageField.size()) {
      ++stats_.unreadable_entries;
      pos_ = here;
      continue;
    }
    const absl::string_view message(static_cast<const char*>(data) + kMessageField.size(),
                                    len - kMessageField.size());
    if (message.size() > options_.max_message_bytes) {
      ++stats_.overlong_entries;
      pos_ = here;
      continue;
    }
    if (!on_line(JournalLine{message, here.realtime_usec, here.cursor})) {
      on_untaken_ = true;
      result.more = true;
      return result;
    }
    pos_ = here;
    ++stats_.entries;
    stats_.bytes += message.size();
    ++result.lines;
  }
  if (budget == 0) result.more = true;
  return result;
}

absl::StatusOr<uint64_t> JournalFollower::Commit(absl::string_view blob) {
  FollowerCheckpoint cp;
  cp.seq = seq_ + 1;
  cp.journal = pos_;
  cp.blob = std::string(blob);
  RETURN_IF_ERROR(WriteFileAtomically(options_.checkpoint_path, SerializeFollowerCheckpoint(cp)));
  seq_ = cp.seq;
  ++stats_.commits;
  return seq_;
}

}  // namespace goalkeeper::node
