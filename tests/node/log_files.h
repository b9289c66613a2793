// Real files for the node tests: a temporary directory, appends through the
// file's own descriptor (as a logger does), rotation by rename and by
// copytruncate, gzip'd rotations.
//
//   TempDir dir;
//   AppendTo(dir.path() + "/app.log", "line 1\n");
//   RotateByRename(dir.path() + "/app.log");  // app.log -> app.log.1
//
// Thread-safety: plain functions; TempDir is owned by one test.
#ifndef GOALKEEPER_TESTS_NODE_LOG_FILES_H_
#define GOALKEEPER_TESTS_NODE_LOG_FILES_H_

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/testing/files.h"

namespace goalkeeper::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/gk_node_XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(absl::StrCat("rm -rf '", path_, "'").c_str()); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// O_APPEND write, the way a logger writes.
inline void AppendTo(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) std::abort();
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w <= 0) std::abort();
    done += static_cast<size_t>(w);
  }
  ::close(fd);
}

inline void WriteGzip(const std::string& path, const std::string& bytes) {
  gzFile gz = gzopen(path.c_str(), "wb");
  if (gz == nullptr) std::abort();
  if (!bytes.empty() && gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())) <= 0) {
    std::abort();
  }
  gzclose(gz);
}

// base.N -> base.N+1 for every N (highest first), then base -> base.1.
// With gzip_second, base.1 becomes base.2.gz (compressed, a new inode).
inline void RotateByRename(const std::string& base, bool gzip_second = false) {
  int top = 0;
  while (::access(absl::StrCat(base, ".", top + 1).c_str(), F_OK) == 0 ||
         ::access(absl::StrCat(base, ".", top + 1, ".gz").c_str(), F_OK) == 0) {
    ++top;
  }
  for (int n = top; n >= 1; --n) {
    const std::string plain = absl::StrCat(base, ".", n);
    const std::string gz = absl::StrCat(plain, ".gz");
    if (::access(gz.c_str(), F_OK) == 0) {
      std::rename(gz.c_str(), absl::StrCat(base, ".", n + 1, ".gz").c_str());
    } else if (n == 1 && gzip_second) {
      WriteGzip(absl::StrCat(base, ".2.gz"), ReadFile(plain));
      ::unlink(plain.c_str());
    } else {
      std::rename(plain.c_str(), absl::StrCat(base, ".", n + 1).c_str());
    }
  }
  std::rename(base.c_str(), absl::StrCat(base, ".1").c_str());
}

// logrotate's copytruncate: copy to base.1 (after shifting), truncate base.
inline void RotateByCopyTruncate(const std::string& base) {
  const std::string content = ReadFile(base);
  const std::string tmp = base + ".copying";
  WriteFile(tmp, content);
  RotateByRename(base);                                         // moves base itself to base.1 ...
  std::rename(absl::StrCat(base, ".1").c_str(), base.c_str());  // ... so put it back
  std::rename(tmp.c_str(), absl::StrCat(base, ".1").c_str());
  if (::truncate(base.c_str(), 0) != 0) std::abort();
}

// Sets the file's mtime `seconds_ago` seconds into the past.
inline void AgeFile(const std::string& path, int seconds_ago) {
  struct timespec ts[2];
  ::clock_gettime(CLOCK_REALTIME, &ts[0]);
  ts[0].tv_sec -= seconds_ago;
  ts[1] = ts[0];
  ::utimensat(AT_FDCWD, path.c_str(), ts, 0);
}

}  // namespace goalkeeper::testing

#endif  // GOALKEEPER_TESTS_NODE_LOG_FILES_H_
