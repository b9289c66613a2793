#include "common/logging.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(EscapeLogTextTest, EscapesControlCharactersAndKeepsTheRest) {
  EXPECT_EQ(EscapeLogText("scan=a\nb"), "scan=a\\nb");
  EXPECT_EQ(EscapeLogText("x\r\ty"), "x\\r\\ty");
  EXPECT_EQ(EscapeLogText(absl::string_view("\x1b[31mred\x7f\0", 10)), "\\x1b[31mred\\x7f\\x00");
  EXPECT_EQ(EscapeLogText("Bucureşti ✓ key=value"), "Bucureşti ✓ key=value");
}

// Runs `log` with stderr redirected to a file; returns what was written.
template <typename Fn>
std::string CaptureStderr(Fn&& log) {
  char path[] = "/tmp/goalkeeper-logging-test-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  log();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  unlink(path);
  return text.str();
}

TEST(MakeLoggerTest, AMessageWithAnEmbeddedNewlineIsOneLogLine) {
  auto log = MakeLogger("logging-test");
  const std::string forged = "s1\n2026-12-01T09:00:00.000+0000 I coordinator scan done scan=s2";
  const std::string out = CaptureStderr([&] {
    log->info("scan started scan={} by={}", forged, "op\r\x1b[2K");
    log->flush();
  });
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_THAT(out, HasSubstr(" I logging-test scan started scan=s1\\n2026-12-01T09:00:00.000+0000 "
                             "I coordinator scan done scan=s2 by=op\\r\\x1b[2K\n"));
  EXPECT_THAT(out, Not(HasSubstr("\x1b")));
  EXPECT_THAT(out, EndsWith("\n"));
}

TEST(MakeLoggerTest, PlainMessagesAreUnchanged) {
  auto log = MakeLogger("logging-test");
  const std::string out = CaptureStderr([&] {
    log->warn("lease expired worker={} shard={}", "w-1", 7);
    log->flush();
  });
  EXPECT_THAT(out, EndsWith(" W logging-test lease expired worker=w-1 shard=7\n"));
}

}  // namespace
}  // namespace goalkeeper
