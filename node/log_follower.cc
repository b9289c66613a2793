#include "node/log_follower.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace goalkeeper::node {
namespace {

constexpr size_t kChunk = 64 * 1024;
// First bytes enough to tell two log files apart (a line and its timestamp).
constexpr uint64_t kMinPrefixMatch = 16;

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

absl::Time FromNs(int64_t ns) { return absl::FromUnixNanos(ns); }

std::string ErrnoText(int err) { return std::strerror(err); }

// If `name` is `stem.N` or `stem.N.gz` (N digits), sets stem/N/gz.
bool SplitRotation(absl::string_view name, std::string& stem, uint64_t& n, bool& gz) {
  gz = absl::EndsWith(name, ".gz");
  if (gz) name.remove_suffix(3);
  const size_t dot = name.rfind('.');
  if (dot == absl::string_view::npos || dot == 0 || dot + 1 == name.size()) return false;
  absl::string_view digits = name.substr(dot + 1);
  if (digits.size() > 9) return false;
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  if (!absl::SimpleAtoi(digits, &n)) return false;
  stem = std::string(name.substr(0, dot));
  return true;
}

void SplitDir(const std::string& path, std::string& dir, std::string& name) {
  const size_t slash = path.rfind('/');
  // assign(count, char), not operator=(const char*): GCC 12 at -O3 warns
  // (-Wrestrict, a known false positive) on the literal assignment here.
  if (slash == std::string::npos) {
    dir.assign(1, '.');
    name = path;
  } else {
    if (slash == 0) {
      dir.assign(1, '/');
    } else {
      dir = path.substr(0, slash);
    }
    name = path.substr(slash + 1);
  }
}

// An open file being read: plain (pread at our own position) or gzip'd
// (zlib, sequential; the offset counts decompressed bytes).
class Source {
 public:
  static absl::StatusOr<std::unique_ptr<Source>> Open(const std::string& path, bool gz) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      const int err = errno;
      return absl::Status(
          err == ENOENT ? absl::StatusCode::kNotFound : absl::StatusCode::kPermissionDenied,
          absl::StrCat("open '", path, "': ", ErrnoText(err)));
    }
    std::unique_ptr<Source> s(new Source(path, fd, gz));
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat("'", path, "' is not a regular file"));
    }
    s->dev_ = static_cast<uint64_t>(st.st_dev);
    s->ino_ = static_cast<uint64_t>(st.st_ino);
    if (gz) {
      // The head first, through a reader of its own, then the main reader
      // from the start (dup'd descriptors share the file offset).
      gzFile h = gzdopen(::dup(fd), "rb");
      if (h != nullptr) {
        s->head_.resize(kFollowerHeadBytes);
        const int n = gzread(h, s->head_.data(), static_cast<unsigned>(kFollowerHeadBytes));
        s->head_.resize(n > 0 ? static_cast<size_t>(n) : 0);
        gzclose(h);
      }
      ::lseek(fd, 0, SEEK_SET);
      s->gz_ = gzdopen(::dup(fd), "rb");
      if (s->gz_ == nullptr) {
        return absl::InternalError(absl::StrCat("gzdopen '", path, "' failed"));
      }
    } else {
      s->RefreshHead();
    }
    return s;
  }

  ~Source() {
    if (gz_ != nullptr) gzclose(gz_);
    ::close(fd_);
  }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  // Reads up to n bytes at the current position; 0 at the end.
  absl::StatusOr<size_t> Read(char* buf, size_t n) {
    if (gz_ != nullptr) {
      const int r = gzread(gz_, buf, static_cast<unsigned>(n));
      if (r < 0) {
        int zerr = 0;
        const char* msg = gzerror(gz_, &zerr);
        return absl::DataLossError(absl::StrCat("gzread '", path_, "': ", msg));
      }
      pos_ += static_cast<uint64_t>(r);
      return static_cast<size_t>(r);
    }
    const ssize_t r = ::pread(fd_, buf, n, static_cast<off_t>(pos_));
    if (r < 0)
      return absl::UnavailableError(absl::StrCat("read '", path_, "': ", ErrnoText(errno)));
    pos_ += static_cast<uint64_t>(r);
    return static_cast<size_t>(r);
  }

  absl::Status Seek(uint64_t offset) {
    if (gz_ != nullptr) {
      if (gzseek(gz_, static_cast<z_off_t>(offset), SEEK_SET) < 0) {
        return absl::DataLossError(absl::StrCat("'", path_, "' is shorter than ", offset));
      }
    }
    pos_ = offset;
    return absl::OkStatus();
  }

  // Rereads the first bytes of a plain file; false when they no longer start
  // with the ones known (the file was truncated or replaced in place).
  bool RefreshHead() { return gz_ != nullptr || Same(); }
  void ResetHead() {
    head_.clear();
    RefreshHead();
  }
  bool HeadMatches(uint64_t len, uint64_t hash) const {
    return head_.size() >= len && Fnv1a64(absl::string_view(head_).substr(0, len)) == hash;
  }

  bool Stat(struct stat& st) const { return ::fstat(fd_, &st) == 0; }
  const std::string& path() const { return path_; }
  const std::string& head() const { return head_; }
  uint64_t dev() const { return dev_; }
  uint64_t ino() const { return ino_; }
  bool gz() const { return gz_ != nullptr; }

 private:
  Source(std::string path, int fd, bool gz) : path_(std::move(path)), fd_(fd) { (void)gz; }
  bool Same() {
    std::string now(kFollowerHeadBytes, '\0');
    const ssize_t r = ::pread(fd_, now.data(), now.size(), 0);
    now.resize(r > 0 ? static_cast<size_t>(r) : 0);
    if (now.size() < head_.size() || now.compare(0, head_.size(), head_) != 0) return false;
    head_ = std::move(now);
    return true;
  }

  std::string path_;
  int fd_;
  gzFile gz_ = nullptr;
  uint64_t pos_ = 0;
  uint64_t dev_ = 0;
  uint64_t ino_ = 0;
  std::string head_;
};

}  // namespace

struct LogFollower::Candidate {
  std::unique_ptr<Source> src;
  uint64_t start = 0;  // offset to begin at
  bool live = false;   // opened through the stream's live path
  int64_t mtime_ns = 0;
};

using Candidate = LogFollower::Candidate;

struct LogFollower::Stream {
  std::string base;
  std::deque<Candidate> queue;  // front: the file being read; then newer ones
  bool started = false;         // front seeked to its start
  bool seen_eof = false;        // front reached its end at least once
  // The inode of NAME.1 (or NAME.1.gz) when last looked at: a new one while
  // the live file kept its inode is a copytruncate's copy (see NewCopy).
  uint64_t first_sibling_ino = 0;
  uint64_t consumed = 0;  // end of the last delivered line in front
  uint64_t read_pos = 0;  // bytes read from front
  std::string buf;        // the unprocessed bytes ending at read_pos
  bool skipping = false;  // inside an overlong line
  absl::Time last_growth = absl::InfinitePast();
  absl::Time retry_at = absl::InfinitePast();
  bool has_finished = false;
  FollowerCheckpointEntry finished;  // the last file read to its end
};

namespace {

// The rotated siblings of `base` (NAME.N, NAME.N.gz), oldest (highest N)
// first.
std::vector<std::pair<std::string, bool>> ListSiblings(const std::string& base) {
  std::string dir, name;
  SplitDir(base, dir, name);
  std::vector<std::tuple<uint64_t, bool, std::string>> found;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return {};
  while (struct dirent* e = ::readdir(d)) {
    std::string stem;
    uint64_t n = 0;
    bool gz = false;
    if (SplitRotation(e->d_name, stem, n, gz) && stem == name) {
      found.emplace_back(
          n, gz, dir == "/" ? absl::StrCat("/", e->d_name) : absl::StrCat(dir, "/", e->d_name));
    }
  }
  ::closedir(d);
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) > std::get<0>(b);
    return std::get<1>(a) < std::get<1>(b);  // plain before gz
  });
  std::vector<std::pair<std::string, bool>> out;
  for (auto& [n, gz, path] : found) out.emplace_back(std::move(path), gz);
  return out;
}

Candidate MakeCandidate(std::unique_ptr<Source> src, bool live) {
  Candidate c;
  struct stat st;
  if (src->Stat(st)) c.mtime_ns = MtimeNs(st);
  c.src = std::move(src);
  c.live = live;
  return c;
}

// The (path, inode) of each sibling and of the live file, to tell whether
// the directory changed while a snapshot was taken.
std::vector<std::pair<std::string, uint64_t>> Listing(const std::string& base) {
  std::vector<std::pair<std::string, uint64_t>> out;
  struct stat st;
  out.emplace_back(base, ::stat(base.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0);
  for (const auto& [path, gz] : ListSiblings(base)) {
    out.emplace_back(path, ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0);
  }
  return out;
}

// The live file (opened first, so a rotation meanwhile shows as a sibling
// we then drop as a duplicate) and its siblings, oldest first, live last.
// Taken again while a rotation moves files under it.
std::vector<Candidate> Snapshot(const std::string& base, LogFollowerStats& stats) {
  std::vector<Candidate> out;
  for (int attempt = 0; attempt < 20; ++attempt) {
    out.clear();
    const std::vector<std::pair<std::string, uint64_t>> before = Listing(base);
    absl::StatusOr<std::unique_ptr<Source>> live = Source::Open(base, false);
    if (!live.ok() && live.status().code() != absl::StatusCode::kNotFound) ++stats.open_errors;
    std::set<std::pair<uint64_t, uint64_t>> ids;
    if (live.ok()) ids.insert({(*live)->dev(), (*live)->ino()});
    std::vector<std::pair<std::string, uint64_t>> opened;
    opened.emplace_back(base, live.ok() ? (*live)->ino() : 0);
    for (const auto& [path, gz] : ListSiblings(base)) {
      absl::StatusOr<std::unique_ptr<Source>> s = Source::Open(path, gz);
      if (!s.ok()) {
        if (s.status().code() != absl::StatusCode::kNotFound) ++stats.open_errors;
        opened.emplace_back(path, 0);
        continue;
      }
      opened.emplace_back(path, (*s)->ino());
      if (!ids.insert({(*s)->dev(), (*s)->ino()}).second) continue;
      out.push_back(MakeCandidate(*std::move(s), false));
    }
    // A rotation being compressed exists twice (NAME.1 and NAME.2.gz, the
    // latter perhaps still being written) for a moment: the same first bytes
    // mean the same content; keep the plain file.
    std::set<std::string> plain_heads;
    for (const Candidate& c : out) {
      if (!c.src->gz() && c.src->head().size() == kFollowerHeadBytes) {
        plain_heads.insert(c.src->head());
      }
    }
    std::erase_if(out, [&](const Candidate& c) {
      return c.src->gz() && plain_heads.count(c.src->head()) != 0;
    });
    if (live.ok()) out.push_back(MakeCandidate(*std::move(live), true));
    if (opened == before && Listing(base) == before) break;
  }
  return out;
}

// Where the file a checkpoint entry describes is among `cands`, oldest
// first; -1 when it is gone.
//  1. The same inode with the same first bytes (an inode number may have
//     been reused by a new file, hence the bytes).
//  2. The same inode with other first bytes: truncated in place since
//     (copytruncate); its copy is the sibling that starts with our bytes.
//  3. Else the same first bytes (compressed since). A head shorter than
//     kMinPrefixMatch (less than a log line) must be the candidate's whole
//     head, so that a few bytes never pick a longer, other file.
int Locate(const std::vector<Candidate>& cands, const FollowerCheckpointEntry& e) {
  bool truncated = false;
  for (size_t i = 0; i < cands.size(); ++i) {
    const Source& src = *cands[i].src;
    if (src.dev() == e.dev && src.ino() == e.ino) {
      if (src.HeadMatches(e.head_len, e.head_hash)) return static_cast<int>(i);
      truncated = true;
    }
  }
  if (e.head_len == 0) return -1;
  for (size_t j = cands.size(); j-- > 0;) {
    const Source& src = *cands[j].src;
    if (src.dev() == e.dev && src.ino() == e.ino) continue;
    struct stat st;
    const bool long_enough =
        src.gz() || (src.Stat(st) && static_cast<uint64_t>(st.st_size) >= e.offset);
    const bool whole = e.head_len >= kMinPrefixMatch || src.head().size() == e.head_len;
    if (src.HeadMatches(e.head_len, e.head_hash) && long_enough && (truncated || whole)) {
      return static_cast<int>(j);
    }
  }
  return -1;
}

}  // namespace

LogFollower::LogFollower(const LogFollowerOptions& options, const Clock& clock)
    : options_(options), clock_(clock) {}

LogFollower::~LogFollower() = default;

absl::StatusOr<std::unique_ptr<LogFollower>> LogFollower::Open(const LogFollowerOptions& options,
                                                               const Clock& clock) {
  if (options.globs.empty()) return absl::InvalidArgumentError("log follower: no globs given");
  if (options.checkpoint_path.empty()) {
    return absl::InvalidArgumentError("log follower: no checkpoint path given");
  }
  if (options.max_line_bytes == 0 || options.max_bytes_per_poll == 0) {
    return absl::InvalidArgumentError("log follower: max_line_bytes and max_bytes_per_poll > 0");
  }
  std::unique_ptr<LogFollower> f(new LogFollower(options, clock));
  ASSIGN_OR_RETURN(std::optional<FollowerCheckpoint> cp,
                   ReadFollowerCheckpointFile(options.checkpoint_path));
  if (cp.has_value()) {
    f->restored_blob_ = std::move(cp->blob);
    f->restored_seq_ = f->seq_ = cp->seq;
    for (FollowerCheckpointEntry& e : cp->entries) f->dormant_[e.stream] = std::move(e);
  }
  f->Rescan(/*initial=*/true);
  return f;
}

std::vector<std::string> LogFollower::Streams() const {
  std::vector<std::string> out;
  for (const auto& [base, s] : streams_) out.push_back(base);
  return out;
}

void LogFollower::Rescan(bool initial) {
  const absl::Time now = clock_.Now();
  next_rescan_ = now + options_.rescan_interval;
  std::set<std::string> bases;
  for (const std::string& pattern : options_.globs) {
    glob_t g;
    std::memset(&g, 0, sizeof(g));
    if (::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        std::string path = g.gl_pathv[i];
        std::string dir, name, stem;
        SplitDir(path, dir, name);
        uint64_t n = 0;
        bool gz = false;
        if (SplitRotation(name, stem, n, gz)) {
          path = dir == "/" ? absl::StrCat("/", stem) : absl::StrCat(dir, "/", stem);
        } else if (absl::EndsWith(name, ".gz")) {
          continue;  // a compressed file that is no rotation cannot be followed
        }
        bases.insert(std::move(path));
      }
    }
    ::globfree(&g);
  }
  for (const std::string& base : bases) {
    if (streams_.count(base) != 0) continue;
    auto s = std::make_unique<Stream>();
    s->base = base;
    std::vector<Candidate> cands = Snapshot(base, stats_);
    auto dormant = dormant_.find(base);
    if (dormant != dormant_.end()) {
      const FollowerCheckpointEntry e = dormant->second;
      dormant_.erase(dormant);
      int idx = Locate(cands, e);
      if (idx >= 0 && cands[static_cast<size_t>(idx)].live) {
        // Copytruncated while we were down, perhaps refilled to look the
        // same: the oldest copy made after the checkpoint that starts with
        // our bytes and holds more than we consumed has the lines we lack.
        for (int j = 0; j < idx; ++j) {
          const Candidate& c = cands[static_cast<size_t>(j)];
          struct stat st;
          const bool longer =
              c.src->gz() || (c.src->Stat(st) && static_cast<uint64_t>(st.st_size) > e.offset);
          if (c.mtime_ns > e.mtime_ns && c.src->HeadMatches(e.head_len, e.head_hash) && longer) {
            idx = j;
            ++stats_.truncations;
            break;
          }
        }
      }
      if (idx >= 0) {
        for (size_t i = static_cast<size_t>(idx); i < cands.size(); ++i) {
          if (i == static_cast<size_t>(idx)) cands[i].start = e.offset;
          s->queue.push_back(std::move(cands[i]));
        }
      } else {
        ++stats_.checkpoint_lost;
        for (Candidate& c : cands) {
          if (c.mtime_ns > e.mtime_ns) s->queue.push_back(std::move(c));
        }
      }
    } else if (initial) {
      const absl::Time cutoff = now - options_.catch_up_max_age;
      for (Candidate& c : cands) {
        const bool recent = FromNs(c.mtime_ns) >= cutoff;
        if (!c.live) {
          if (!recent) {
            ++stats_.rotated_files_skipped;
            continue;
          }
        } else if (!recent) {
          struct stat st;
          if (c.src->Stat(st)) c.start = static_cast<uint64_t>(st.st_size);
        }
        s->queue.push_back(std::move(c));
      }
    } else {
      // A stream that appeared while running: all of it is new.
      for (Candidate& c : cands) s->queue.push_back(std::move(c));
    }
    streams_.emplace(base, std::move(s));
  }
}

PollResult LogFollower::Poll(const LineCallback& on_line) {
  if (clock_.Now() >= next_rescan_) Rescan(/*initial=*/false);
  PollResult result;
  size_t budget = options_.max_bytes_per_poll;
  for (auto& [base, s] : streams_) {
    PollStream(*s, on_line, result, budget);
    if (budget == 0) {
      result.more = true;
      break;
    }
  }
  return result;
}

namespace {

// Delivers the complete lines in s.buf; false when the callback refused one
// (it stays in buf, before everything else).
bool Deliver(LogFollower::Stream& s, const Candidate& c, size_t max_line,
             const LineCallback& on_line, LogFollowerStats& stats, PollResult& result) {
  size_t pos = 0;
  const uint64_t base = s.read_pos - s.buf.size();  // file offset of buf[0]
  bool ok = true;
  for (;;) {
    const size_t nl = s.buf.find('\n', pos);
    if (s.skipping) {
      if (nl == std::string::npos) {
        pos = s.buf.size();
        break;
      }
      s.skipping = false;
      ++stats.overlong_lines;
      pos = nl + 1;
      s.consumed = base + pos;
      continue;
    }
    if (nl == std::string::npos) {
      if (s.buf.size() - pos > max_line) {
        s.skipping = true;
        pos = s.buf.size();
      }
      break;
    }
    absl::string_view line(s.buf.data() + pos, nl - pos);
    if (line.size() > max_line) {
      ++stats.overlong_lines;
    } else {
      size_t nuls = 0;
      while (nuls < line.size() && line[nuls] == '\0') ++nuls;
      line.remove_prefix(nuls);
      LogLine l{line, s.base, c.src->path(), base + nl + 1};
      if (!on_line(l)) {
        ok = false;
        break;
      }
      stats.nul_bytes_dropped += nuls;
      ++stats.lines;
      stats.bytes += line.size();
      ++result.lines;
    }
    pos = nl + 1;
    s.consumed = base + pos;
  }
  s.buf.erase(0, pos);
  return ok;
}

}  // namespace

void LogFollower::PollStream(Stream& s, const LineCallback& on_line, PollResult& result,
                             size_t& budget) {
  const absl::Time now = clock_.Now();
  char chunk[kChunk];
  for (int guard = 0; guard < 64; ++guard) {
    if (s.queue.empty()) {
      if (now < s.retry_at) return;
      if (s.has_finished) {
        QueueAfter(s, s.finished);
      } else {
        absl::StatusOr<std::unique_ptr<Source>> src = Source::Open(s.base, false);
        if (src.ok()) s.queue.push_back(MakeCandidate(*std::move(src), true));
      }
      if (s.queue.empty()) {
        ++stats_.open_errors;
        s.retry_at = now + options_.retry_interval;
        return;
      }
    }
    Candidate& c = s.queue.front();
    if (!s.started) {
      if (!c.live) ++stats_.rotated_files_read;
      if (c.live) {
        // The copies made before we start are not news (see NewCopy).
        struct stat st;
        s.first_sibling_ino = 0;
        for (const char* suffix : {".1", ".1.gz"}) {
          if (s.first_sibling_ino == 0 && ::lstat((s.base + suffix).c_str(), &st) == 0) {
            s.first_sibling_ino = static_cast<uint64_t>(st.st_ino);
          }
        }
      }
      s.started = true;
      s.seen_eof = false;
      s.skipping = false;
      s.buf.clear();
      s.last_growth = absl::InfinitePast();
      if (!c.src->Seek(c.start).ok()) {
        ++stats_.read_errors;
        c.start = 0;
        (void)c.src->Seek(0);
      }
      s.consumed = s.read_pos = c.start;
    }
    if (c.live) {
      // Truncated or rewritten in place since the last read: seen before
      // reading on, so no byte of the new content is taken for the old.
      struct stat fst;
      const bool shrunk = c.src->Stat(fst) && static_cast<uint64_t>(fst.st_size) < s.read_pos;
      if (shrunk || !c.src->RefreshHead() || NewCopy(s)) {
        HandleTruncation(s);
        continue;
      }
    }
    // Lines a callback refused last time wait in buf: they come first, even
    // when the file has not grown since.
    if (!s.buf.empty() && !s.skipping &&
        !Deliver(s, c, options_.max_line_bytes, on_line, stats_, result)) {
      result.more = true;
      return;
    }
    bool eof = false;
    while (budget > 0) {
      const size_t want = std::min(budget, sizeof(chunk));
      absl::StatusOr<size_t> n = c.src->Read(chunk, want);
      if (!n.ok()) {
        ++stats_.read_errors;
        if (c.live) return;  // retried next Poll
        eof = true;          // a damaged rotation: what could be read was read
        break;
      }
      if (*n == 0) {
        eof = true;
        break;
      }
      budget -= *n;
      s.read_pos += *n;
      if (s.seen_eof) s.last_growth = now;
      if (s.skipping) {
        s.buf.assign(chunk, *n);
      } else {
        s.buf.append(chunk, *n);
      }
      if (!Deliver(s, c, options_.max_line_bytes, on_line, stats_, result)) {
        result.more = true;
        return;
      }
    }
    if (!eof) return;  // out of budget
    s.seen_eof = true;
    if (c.live) {
      struct stat st;
      const bool same = ::stat(s.base.c_str(), &st) == 0 &&
                        static_cast<uint64_t>(st.st_dev) == c.src->dev() &&
                        static_cast<uint64_t>(st.st_ino) == c.src->ino();
      if (same) return;  // caught up; wait for more
      // Renamed away (or deleted): finish it, then the files that came
      // after it (see QueueAfter).
      ++stats_.rename_rotations;
      c.live = false;
      s.last_growth = now;
    }
    struct stat fst;
    absl::Time changed = s.last_growth;
    if (c.src->Stat(fst)) changed = std::max(changed, FromNs(MtimeNs(fst)));
    if (now - changed < options_.rotation_grace) return;
    // Finished: a last line without its newline will never be completed.
    if (s.skipping) {
      ++stats_.overlong_lines;
      s.skipping = false;
      s.consumed = s.read_pos;
    } else if (!s.buf.empty()) {
      absl::string_view line = s.buf;
      if (line.size() > options_.max_line_bytes) {
        ++stats_.overlong_lines;
      } else {
        LogLine l{line, s.base, c.src->path(), s.read_pos};
        if (!on_line(l)) {
          result.more = true;
          return;
        }
        ++stats_.lines;
        ++stats_.unterminated_lines;
        stats_.bytes += line.size();
        ++result.lines;
      }
      s.consumed = s.read_pos;
    }
    s.buf.clear();
    // An empty file has nothing to be recognised by: the file before it
    // stays the reference for what comes next (QueueAfter skips empty ones).
    if (s.consumed > 0 || !s.has_finished) {
      s.finished = EntryOf(s, c);
      s.has_finished = true;
    }
    s.queue.pop_front();
    s.started = false;
    // What comes next is decided now, not when the queue was built: the
    // files may have been rotated again (a copytruncate's new copy holds
    // lines the live file no longer has).
    s.queue.clear();
    QueueAfter(s, s.finished);
  }
  result.more = true;  // many files finished in one go: more may be ready
}

// After a file is finished, the files that came after it, oldest first:
// there may have been several rotations since it was renamed away (kern.log
// renamed, a new kern.log written and renamed again before we looked), so
// the next file is the sibling after it, not necessarily the live one.
void LogFollower::QueueAfter(Stream& s, const FollowerCheckpointEntry& done) {
  std::vector<Candidate> cands = Snapshot(s.base, stats_);
  const int idx = Locate(cands, done);
  for (size_t i = 0; i < cands.size(); ++i) {
    const bool same = cands[i].src->dev() == done.dev && cands[i].src->ino() == done.ino &&
                      cands[i].src->HeadMatches(done.head_len, done.head_hash);
    const bool newer =
        idx >= 0 ? static_cast<int>(i) > idx : cands[i].mtime_ns >= done.mtime_ns && !same;
    // A rotated file without a byte has nothing to give.
    const bool empty = !cands[i].live && cands[i].src->head().empty();
    if (newer && !empty) s.queue.push_back(std::move(cands[i]));
  }
}

FollowerCheckpointEntry LogFollower::EntryOf(const Stream& s, const Candidate& c) {
  FollowerCheckpointEntry e;
  e.stream = s.base;
  e.dev = c.src->dev();
  e.ino = c.src->ino();
  e.offset = s.started ? s.consumed : c.start;
  const std::string& head = c.src->head();
  e.head_len = head.size();
  e.head_hash = Fnv1a64(absl::string_view(head).substr(0, e.head_len));
  struct stat st;
  e.mtime_ns = c.src->Stat(st) ? MtimeNs(st) : c.mtime_ns;
  return e;
}

// A copytruncate can empty the live file and have it refilled and emptied
// again between two polls, leaving its size and first bytes as they were: a
// new NAME.1 that starts with the live file's first bytes and holds more
// than was consumed tells.
bool LogFollower::NewCopy(Stream& s) {
  const Candidate& live = s.queue.front();
  uint64_t ino = 0;
  std::string path;
  bool gz = false;
  struct stat st;
  for (const char* suffix : {".1", ".1.gz"}) {
    if (::lstat((s.base + suffix).c_str(), &st) == 0) {
      ino = static_cast<uint64_t>(st.st_ino);
      path = s.base + suffix;
      gz = absl::EndsWith(suffix, ".gz");
      break;
    }
  }
  if (ino == s.first_sibling_ino) return false;
  s.first_sibling_ino = ino;
  if (ino == 0 || ino == live.src->ino()) return false;
  absl::StatusOr<std::unique_ptr<Source>> copy = Source::Open(path, gz);
  if (!copy.ok()) return false;
  const std::string& head = live.src->head();
  const bool starts_like_ours = (*copy)->head().compare(0, head.size(), head) == 0;
  const bool longer = gz || ((*copy)->Stat(st) && static_cast<uint64_t>(st.st_size) > s.consumed);
  return starts_like_ours && longer;
}

void LogFollower::HandleTruncation(Stream& s) {
  ++stats_.truncations;
  Candidate& live = s.queue.front();
  const std::string old_head = live.src->head();
  const uint64_t consumed = s.consumed;
  std::unique_ptr<Source> copy;
  {
    std::vector<std::pair<std::string, bool>> siblings = ListSiblings(s.base);
    // With nothing known of the file, only the newest sibling can be its copy.
    if (old_head.empty() && siblings.size() > 1)
      siblings.erase(siblings.begin(), siblings.end() - 1);
    for (auto it = siblings.rbegin(); it != siblings.rend() && copy == nullptr; ++it) {
      absl::StatusOr<std::unique_ptr<Source>> src = Source::Open(it->first, it->second);
      if (!src.ok()) continue;
      const Source& cand = **src;
      if (cand.dev() == live.src->dev() && cand.ino() == live.src->ino()) continue;
      struct stat st;
      const bool long_enough =
          cand.gz() || (cand.Stat(st) && static_cast<uint64_t>(st.st_size) >= consumed);
      if (cand.head().size() >= old_head.size() &&
          cand.head().compare(0, old_head.size(), old_head) == 0 && long_enough) {
        copy = *std::move(src);
      }
    }
  }
  live.src->ResetHead();
  live.start = 0;
  s.started = false;
  s.buf.clear();
  s.skipping = false;
  if (copy != nullptr) {
    Candidate c = MakeCandidate(std::move(copy), false);
    c.start = consumed;
    s.queue.push_front(std::move(c));
  }
}

absl::StatusOr<uint64_t> LogFollower::Commit(absl::string_view blob) {
  FollowerCheckpoint cp;
  cp.seq = seq_ + 1;
  for (const auto& [base, s] : streams_) {
    // Nothing taken yet from the front file: the end of the file before it
    // says the same and identifies it better (an empty file has no first
    // bytes to be recognised by, and may be copytruncated before a restart).
    const bool front_untouched =
        !s->queue.empty() && (s->started ? s->consumed : s->queue.front().start) == 0;
    if (!s->queue.empty() && !(front_untouched && s->has_finished)) {
      cp.entries.push_back(EntryOf(*s, s->queue.front()));
    } else if (s->has_finished) {
      cp.entries.push_back(s->finished);
    }
  }
  for (const auto& [base, e] : dormant_) cp.entries.push_back(e);
  cp.blob = std::string(blob);
  RETURN_IF_ERROR(WriteFileAtomically(options_.checkpoint_path, SerializeFollowerCheckpoint(cp)));
  seq_ = cp.seq;
  ++stats_.commits;
  return seq_;
}

}  // namespace goalkeeper::node
