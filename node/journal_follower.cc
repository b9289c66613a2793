#include "node/journal_follower.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
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
// Repaired copies are CHECKPOINT.repair-INO-N.journal.
constexpr absl::string_view kRepairInfix = ".repair-";

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

// Opens the descriptors as one journal with the kernel match. On success
// the journal owns them (sd_journal_close closes them); on failure they are
// closed here. Null when libsystemd refuses.
std::unique_ptr<JournalFollower::Handle> OpenFds(std::vector<int> fds, size_t max_message_bytes) {
  auto h = std::make_unique<JournalFollower::Handle>();
  if (fds.empty() ||
      sd_journal_open_files_fd(&h->j, fds.data(), static_cast<unsigned>(fds.size()), 0) < 0) {
    h->j = nullptr;
    for (int fd : fds) ::close(fd);
    return nullptr;
  }
  if (sd_journal_add_match(h->j, kKernelMatch, 0) < 0) return nullptr;
  // One byte more than allowed, so that an overlong message is seen as one
  // without libsystemd decompressing all of it.
  sd_journal_set_data_threshold(h->j, max_message_bytes + kMessageField.size() + 1);
  return h;
}

// Whether libsystemd accepts the file open at `fd` on its own (fd stays ours).
bool Accepted(int fd) {
  const int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return d >= 0 && OpenFds({d}, 1) != nullptr;
}

// The bytes a journal file's header says it has (header_size + arena_size,
// little-endian at offsets 88 and 96 behind the "LPKSHHRH" signature), or 0
// when the first bytes are no journal header.
uint64_t HeaderSays(int fd) {
  unsigned char h[104];
  if (::pread(fd, h, sizeof(h), 0) != static_cast<ssize_t>(sizeof(h))) return 0;
  if (std::memcmp(h, "LPKSHHRH", 8) != 0) return 0;
  auto le64 = [&](size_t at) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v |= uint64_t{h[at + i]} << (8 * i);
    return v;
  };
  const uint64_t header = le64(88);
  const uint64_t arena = le64(96);
  if (header < sizeof(h) || arena > (uint64_t{1} << 40)) return 0;
  return header + arena;
}

// A truncated journal file (shorter than its header says, which libsystemd
// refuses whole) copied to `copy_path` and extended with zeros (sparse) to
// the size its header says: libsystemd then reads the entries before the
// cut. (The copy needs a name: libsystemd refuses a file with no link.)
// -1 when that is not possible.
int RepairedCopy(int fd, uint64_t size, const std::string& copy_path, uint64_t max_bytes) {
  const uint64_t need = HeaderSays(fd);
  if (need == 0 || size >= need || need > max_bytes) return -1;
  ::unlink(copy_path.c_str());
  const int out = ::open(copy_path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (out < 0) return -1;
  char buf[64 * 1024];
  uint64_t done = 0;
  bool ok = true;
  while (ok && done < size) {
    const ssize_t r = ::pread(fd, buf, sizeof(buf), static_cast<off_t>(done));
    if (r <= 0) break;
    ok = ::write(out, buf, static_cast<size_t>(r)) == r;
    done += static_cast<uint64_t>(r);
  }
  if (!ok || ::ftruncate(out, static_cast<off_t>(need)) != 0) {
    ::close(out);
    ::unlink(copy_path.c_str());
    return -1;
  }
  return out;
}

// SIGBUS guard. libsystemd reads journal files through mmap; a file cut
// shorter while mapped (by someone else: journald never does) makes the
// next read of a page past its new end raise SIGBUS, which kills the
// process. The handler maps a page of zeros over the faulting page (what
// journald itself does for its own files), so the read sees zeros, which
// libsystemd takes for a damaged object; the follower notices the count
// change and opens the journal again. Other SIGBUS causes re-raise.
std::atomic<uint64_t> g_sigbus_faults{0};
uintptr_t g_page_size = 4096;
struct sigaction g_previous_sigbus;

void OnSigbus(int sig, siginfo_t* info, void* context) {
  if (info != nullptr && info->si_code == BUS_ADRERR && info->si_addr != nullptr) {
    const uintptr_t page = reinterpret_cast<uintptr_t>(info->si_addr) & ~(g_page_size - 1);
    void* p = ::mmap(reinterpret_cast<void*>(page), g_page_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != MAP_FAILED) {
      g_sigbus_faults.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  if ((g_previous_sigbus.sa_flags & SA_SIGINFO) != 0 && g_previous_sigbus.sa_sigaction != nullptr) {
    g_previous_sigbus.sa_sigaction(sig, info, context);
    return;
  }
  ::signal(SIGBUS, SIG_DFL);
  ::raise(SIGBUS);
}

void InstallSigbusGuard() {
  static std::once_flag once;
  std::call_once(once, [] {
    const long page = ::sysconf(_SC_PAGESIZE);
    if (page > 0) g_page_size = static_cast<uintptr_t>(page);
    struct sigaction sa;
    std::memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = OnSigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, &g_previous_sigbus);
  });
}

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
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

JournalFollower::~JournalFollower() {
  journal_.reset();
  for (const Repaired& r : repaired_) {
    ::close(r.fd);
    ::unlink(r.path.c_str());
  }
}

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
  if (options.guard_sigbus) InstallSigbusGuard();
  std::unique_ptr<JournalFollower> f(new JournalFollower(options, clock));
  f->sigbus_seen_ = g_sigbus_faults.load(std::memory_order_relaxed);
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
  // Repaired copies left by a process that was killed.
  const std::string dir = DirOf(options.checkpoint_path);
  const std::string stale = absl::StrCat(
      options.checkpoint_path.substr(options.checkpoint_path.rfind('/') + 1), kRepairInfix);
  if (DIR* d = ::opendir(dir.c_str())) {
    while (struct dirent* e = ::readdir(d)) {
      if (absl::StartsWith(e->d_name, stale)) ::unlinkat(::dirfd(d), e->d_name, 0);
    }
    ::closedir(d);
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
  std::erase_if(repaired_, [&](const Repaired& r) {
    const bool gone = std::none_of(found.begin(), found.end(), [&](const Found& x) {
      return x.id == r.id && x.size == r.size;
    });
    if (gone) {
      ::close(r.fd);
      ::unlink(r.path.c_str());
    }
    return gone;
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
  std::vector<int> fds;
  for (FileId& id : files) {
    const int fd = ::open(id.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      // Gone since the scan: the next one tells. Unreadable (permissions:
      // the pod lacks the journal's group): counted, and left alone until
      // it changes, like a refused file.
      if (errno != ENOENT) {
        ++stats_.open_errors;
        struct stat st;
        if (::stat(id.path.c_str(), &st) == 0) {
          bad_.emplace_back(std::move(id), static_cast<uint64_t>(st.st_size));
        }
      }
      continue;
    }
    struct stat st;
    const uint64_t size = ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    auto repaired = std::find_if(repaired_.begin(), repaired_.end(),
                                 [&](const Repaired& r) { return r.id == id && r.size == size; });
    if (repaired != repaired_.end()) {
      ::close(fd);
      const int d = ::fcntl(repaired->fd, F_DUPFD_CLOEXEC, 0);
      if (d < 0) continue;
      fds.push_back(d);
      good.push_back(std::move(id));
      continue;
    }
    if (Accepted(fd)) {
      fds.push_back(fd);
      good.push_back(std::move(id));
      continue;
    }
    // Unique in the process (two followers of one path overlap in tests).
    static std::atomic<uint64_t> serial{0};
    const std::string copy_path = absl::StrCat(options_.checkpoint_path, kRepairInfix, id.ino, "-",
                                               serial.fetch_add(1) + 1, ".journal");
    const int copy = RepairedCopy(fd, size, copy_path, options_.max_repair_bytes);
    ::close(fd);
    if (copy >= 0 && Accepted(copy)) {
      ++stats_.repaired_files;
      const int d = ::fcntl(copy, F_DUPFD_CLOEXEC, 0);
      repaired_.push_back({id, size, copy, copy_path});
      if (d < 0) continue;
      fds.push_back(d);
      good.push_back(std::move(id));
      continue;
    }
    if (copy >= 0) {
      ::close(copy);
      ::unlink(copy_path.c_str());
    }
    ++stats_.bad_files;
    bad_.emplace_back(std::move(id), size);
  }
  files_ = std::move(good);
  stats_.files = 0;
  if (files_.empty()) return;
  journal_ = OpenFds(std::move(fds), options_.max_message_bytes);
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
  const uint64_t faults = g_sigbus_faults.load(std::memory_order_relaxed);
  if (faults != sigbus_seen_) {
    // A file shrank under our mapping (this follower's or another's):
    // check every file again.
    stats_.sigbus_faults += faults - sigbus_seen_;
    sigbus_seen_ = faults;
    need_reopen_ = true;
  }
  if (clock_.Now() >= next_rescan_ || need_reopen_) Rescan(/*force=*/need_reopen_);
  if (journal_ == nullptr) return result;
  sd_journal* j = journal_->j;
  size_t budget = options_.max_entries_per_poll;
  while (budget > 0) {
    const uint64_t faults_before = g_sigbus_faults.load(std::memory_order_relaxed);
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
    if (g_sigbus_faults.load(std::memory_order_relaxed) != faults_before) {
      // Read (partly) from a page of zeros: not delivered; the next Poll
      // opens the journal again and re-reads from the last cursor.
      result.more = true;
      break;
    }
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
