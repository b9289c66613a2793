#include "node/follower_checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace goalkeeper::node {
namespace {

constexpr absl::string_view kMagic = "goalkeeper-follower-checkpoint v1";

// Quotes at most 60 bytes of a bad value, escaped, for an error message.
std::string Shown(absl::string_view v) {
  std::string s = absl::CHexEscape(v.substr(0, 60));
  if (v.size() > 60) s += "...";
  return s;
}

absl::Status Bad(int line, absl::string_view what, absl::string_view value) {
  return absl::InvalidArgumentError(
      absl::StrCat("checkpoint line ", line, ": ", what, " '", Shown(value), "'"));
}

// Plain decimal, no sign, no spaces, no leading zeros but "0", fits 64 bits.
bool ParseU64(absl::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

bool ParseI64(absl::string_view s, int64_t& out) {
  bool neg = false;
  if (!s.empty() && s[0] == '-') {
    neg = true;
    s.remove_prefix(1);
    if (s == "0") return false;  // one spelling per value
  }
  uint64_t v = 0;
  if (!ParseU64(s, v)) return false;
  if (neg) {
    if (v > uint64_t{1} << 63) return false;
    out = v == uint64_t{1} << 63 ? INT64_MIN : -static_cast<int64_t>(v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    out = static_cast<int64_t>(v);
  }
  return true;
}

bool ParseHex16(absl::string_view s, uint64_t& out) {
  if (s.size() != 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  out = v;
  return true;
}

bool ParseHexBytes(absl::string_view s, std::string& out) {
  if (s.size() % 2 != 0) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  out = absl::HexStringToBytes(s);
  return true;
}

std::string Hex16(uint64_t v) {
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i) {
    s[static_cast<size_t>(i)] = "0123456789abcdef"[v & 0xf];
    v >>= 4;
  }
  return s;
}

// Takes the next '\n'-terminated line off `rest`.
bool NextLine(absl::string_view& rest, absl::string_view& line) {
  const size_t nl = rest.find('\n');
  if (nl == absl::string_view::npos) return false;
  line = rest.substr(0, nl);
  rest.remove_prefix(nl + 1);
  return true;
}

}  // namespace

uint64_t Fnv1a64(absl::string_view bytes, uint64_t seed) {
  uint64_t h = seed;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string SerializeFollowerCheckpoint(const FollowerCheckpoint& cp) {
  std::string out = absl::StrCat(kMagic, "\nseq ", cp.seq, "\n");
  if (cp.journal.has_value()) {
    absl::StrAppend(&out, "journal ", cp.journal->realtime_usec, " ",
                    cp.journal->cursor.empty() ? "-" : absl::BytesToHexString(cp.journal->cursor),
                    "\n");
  }
  for (const FollowerCheckpointEntry& e : cp.entries) {
    absl::StrAppend(&out, "entry ", absl::BytesToHexString(e.stream), " ", e.dev, " ", e.ino, " ",
                    e.offset, " ", e.head_len, " ", Hex16(e.head_hash), " ", e.mtime_ns, "\n");
  }
  absl::StrAppend(&out, "blob ", cp.blob.size(), "\n", cp.blob, "\n");
  absl::StrAppend(&out, "end ", Hex16(Fnv1a64(out)), "\n");
  return out;
}

absl::StatusOr<FollowerCheckpoint> ParseFollowerCheckpoint(absl::string_view bytes) {
  FollowerCheckpoint cp;
  absl::string_view rest = bytes;
  absl::string_view line;
  int n = 1;
  if (!NextLine(rest, line) || line != kMagic) {
    return Bad(n, "not a goalkeeper follower checkpoint:", bytes.substr(0, bytes.find('\n')));
  }
  ++n;
  if (!NextLine(rest, line) || !absl::StartsWith(line, "seq ") ||
      !ParseU64(line.substr(4), cp.seq)) {
    return Bad(n, "expected 'seq N', got", line);
  }
  if (absl::StartsWith(rest, "journal ")) {
    ++n;
    NextLine(rest, line);
    std::vector<absl::string_view> f = absl::StrSplit(line.substr(8), ' ');
    JournalPosition j;
    if (f.size() != 2) return Bad(n, "a journal line has 2 fields, got", line);
    if (!ParseI64(f[0], j.realtime_usec)) return Bad(n, "realtime_usec is not a number:", f[0]);
    if (f[1] != "-" &&
        (f[1].empty() || f[1].size() > 2 * kMaxJournalCursor || !ParseHexBytes(f[1], j.cursor))) {
      return Bad(n, "cursor is not '-' or 1..1024 bytes in lowercase hex:", f[1]);
    }
    cp.journal = std::move(j);
  }
  for (;;) {
    ++n;
    if (!NextLine(rest, line)) return Bad(n, "missing 'blob N' line at", rest);
    if (absl::StartsWith(line, "blob ")) break;
    if (!absl::StartsWith(line, "entry ")) return Bad(n, "expected 'entry' or 'blob', got", line);
    if (cp.entries.size() >= kMaxCheckpointEntries) {
      return Bad(n, absl::StrCat("more than ", kMaxCheckpointEntries, " entries at"), line);
    }
    std::vector<absl::string_view> f = absl::StrSplit(line.substr(6), ' ');
    FollowerCheckpointEntry e;
    if (f.size() != 7) return Bad(n, "an entry has 7 fields, got", line);
    if (f[0].empty() || f[0].size() > 2 * kMaxCheckpointPath || !ParseHexBytes(f[0], e.stream)) {
      return Bad(n, "stream path is not 1..4096 bytes in lowercase hex:", f[0]);
    }
    if (!ParseU64(f[1], e.dev)) return Bad(n, "dev is not a number:", f[1]);
    if (!ParseU64(f[2], e.ino)) return Bad(n, "ino is not a number:", f[2]);
    if (!ParseU64(f[3], e.offset)) return Bad(n, "offset is not a number:", f[3]);
    if (!ParseU64(f[4], e.head_len) || e.head_len > kFollowerHeadBytes) {
      return Bad(n, absl::StrCat("head_len is not 0..", kFollowerHeadBytes, ":"), f[4]);
    }
    if (!ParseHex16(f[5], e.head_hash)) return Bad(n, "head_hash is not 16 hex digits:", f[5]);
    if (!ParseI64(f[6], e.mtime_ns)) return Bad(n, "mtime_ns is not a number:", f[6]);
    for (const FollowerCheckpointEntry& other : cp.entries) {
      if (other.stream == e.stream) return Bad(n, "stream listed twice:", e.stream);
    }
    cp.entries.push_back(std::move(e));
  }
  uint64_t blob_len = 0;
  if (!ParseU64(line.substr(5), blob_len) || blob_len > kMaxCheckpointBlob) {
    return Bad(n, "blob length is not 0..256 MiB:", line.substr(5));
  }
  if (rest.size() < blob_len + 1 || rest[blob_len] != '\n') {
    return Bad(n,
               absl::StrCat("blob of ", blob_len,
                            " bytes is cut short or not followed by a "
                            "newline; ",
                            rest.size(), " bytes left:"),
               line);
  }
  cp.blob = std::string(rest.substr(0, blob_len));
  rest.remove_prefix(blob_len + 1);
  const size_t body = bytes.size() - rest.size();
  ++n;
  uint64_t sum = 0;
  if (!NextLine(rest, line) || !absl::StartsWith(line, "end ") ||
      !ParseHex16(line.substr(4), sum)) {
    return Bad(n, "expected 'end <16 hex digits>', got", line);
  }
  if (!rest.empty()) return Bad(n + 1, "trailing bytes after 'end':", rest);
  const uint64_t want = Fnv1a64(bytes.substr(0, body));
  if (sum != want) {
    return Bad(n,
               absl::StrCat("checksum mismatch (the file says ", Hex16(sum), ", its bytes hash to ",
                            Hex16(want), "):"),
               line);
  }
  return cp;
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("checkpoint '", tmp, "': ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return absl::UnavailableError(absl::StrCat("checkpoint '", tmp, "': ", std::strerror(err)));
    }
    done += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("fsync '", tmp, "': ", std::strerror(err)));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("rename '", tmp, "' to '", path, "': ", std::strerror(errno)));
  }
  const size_t slash = path.rfind('/');
  std::string dir;
  if (slash == std::string::npos) {
    dir.assign(1, '.');
  } else if (slash == 0) {
    dir.assign(1, '/');
  } else {
    dir = path.substr(0, slash);
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<FollowerCheckpoint>> ReadFollowerCheckpointFile(
    const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<FollowerCheckpoint>();
    return absl::UnavailableError(absl::StrCat("checkpoint '", path, "': ", std::strerror(errno)));
  }
  std::string bytes;
  char chunk[64 * 1024];
  for (;;) {
    const ssize_t r = ::read(fd, chunk, sizeof(chunk));
    if (r < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return absl::UnavailableError(absl::StrCat("checkpoint '", path, "': ", std::strerror(err)));
    }
    if (r == 0) break;
    bytes.append(chunk, static_cast<size_t>(r));
    if (bytes.size() > kMaxCheckpointBlob + (size_t{64} << 20)) break;
  }
  ::close(fd);
  absl::StatusOr<FollowerCheckpoint> cp = ParseFollowerCheckpoint(bytes);
  if (!cp.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint '", path, "' is damaged: ", cp.status().message()));
  }
  return std::optional<FollowerCheckpoint>(std::move(*cp));
}

}  // namespace goalkeeper::node
