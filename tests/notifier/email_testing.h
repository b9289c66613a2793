// Helpers shared by the email tests (email_render_test.cc,
// smtp_mailer_test.cc, eml_writer_test.cc): a temporary folder, the local
// fake servers (tests/fakes/*.py), and parsers for what a real mail reader
// would see (headers unfolded, RFC 2047 words and quoted-printable decoded).
//
// Thread-safety: for one test thread.
#ifndef GOALKEEPER_TESTS_NOTIFIER_EMAIL_TESTING_H_
#define GOALKEEPER_TESTS_NOTIFIER_EMAIL_TESTING_H_

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "notifier/mailer.h"
#include "tests/testing/files.h"
#include "tests/testing/loopback.h"
#include "tests/testing/subprocess.h"

namespace goalkeeper::email_testing {

using ::goalkeeper::testing::ClosedPort;
using ::goalkeeper::testing::Subprocess;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

inline constexpr char kPython[] = "/usr/bin/python3";  // Debian's, which has aiosmtpd
inline constexpr char kOpenssl[] = "/usr/bin/openssl";

inline std::string FakePath(absl::string_view name) {
  return absl::StrCat(GOALKEEPER_SOURCE_DIR, "/tests/fakes/", name);
}

using ::goalkeeper::testing::ReadFile;

class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TEST_TMPDIR");
    std::string tmpl = absl::StrCat(base != nullptr ? base : "/tmp", "/gk_mailer_XXXXXX");
    path_ = mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(absl::string_view name) const { return absl::StrCat(path_, "/", name); }

 private:
  std::string path_;
};

// The PORT of a "listening PORT\n" line, or 0. (Hand-written parsing: GCC 12
// with -fsanitize=address warns inside the standard regular-expression code.)
inline int ListeningPort(absl::string_view log) {
  size_t at = log.find("listening ");
  if (at == absl::string_view::npos) return 0;
  absl::string_view rest = log.substr(at + 10);
  size_t nl = rest.find('\n');
  int port = 0;
  if (nl == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(0, nl), &port)) return 0;
  return port;
}

// "<32 hex digits@goalkeeper>".
inline bool IsGeneratedId(absl::string_view id) {
  if (id.size() != 1 + 32 + 12 || id.front() != '<' || !absl::EndsWith(id, "@goalkeeper>")) {
    return false;
  }
  for (char c : id.substr(1, 32)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The payloads of the "=?UTF-8?B?...?=" words in `value`, base64-decoded,
// and what lies between them.
struct Words {
  std::vector<std::string> decoded;
  std::vector<std::string> between;  // between.size() == decoded.size() + 1
};

inline Words SplitWords(absl::string_view value) {
  Words w;
  size_t i = 0;
  while (i < value.size()) {
    size_t start = value.find("=?UTF-8?B?", i);
    size_t end = start == absl::string_view::npos ? start : value.find("?=", start + 10);
    if (end == absl::string_view::npos) break;
    w.between.push_back(std::string(value.substr(i, start - i)));
    std::string decoded;
    EXPECT_TRUE(absl::Base64Unescape(value.substr(start + 10, end - start - 10), &decoded));
    w.decoded.push_back(decoded);
    i = end + 2;
  }
  w.between.push_back(std::string(value.substr(std::min(i, value.size()))));
  return w;
}

// A fake server started with StartLogged; its "listening PORT" line is read
// from the log.
struct Fake {
  std::optional<Subprocess> process;
  int port = 0;
  std::string log;
};

inline Fake StartFake(const std::string& script, std::vector<std::string> args,
                      const std::string& log_path) {
  std::vector<std::string> argv = {kPython, script};
  argv.insert(argv.end(), args.begin(), args.end());
  Fake f;
  f.process.emplace(Subprocess::StartLogged(argv, log_path));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    f.log = ReadFile(log_path);
    if (int port = ListeningPort(f.log); port > 0) {
      f.port = port;
      return f;
    }
    if (f.process->Exited()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "fake did not start: " << f.log;
  return f;
}

// Files in `dir` ending with `suffix`, sorted.
inline std::vector<std::string> Files(const std::string& dir, absl::string_view suffix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string p = e.path().string();
    if (absl::EndsWith(p, suffix)) out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// --- Parsing helpers for what a real reader would see. ----------------------

struct Parsed {
  std::string header_block;                         // raw, CRLF
  std::multimap<std::string, std::string> headers;  // lower-case name → unfolded value
  std::string body;                                 // raw, CRLF
};

inline Parsed Parse(const std::string& raw) {
  Parsed p;
  size_t sep = raw.find("\r\n\r\n");
  p.header_block = raw.substr(0, sep == std::string::npos ? raw.size() : sep + 2);
  p.body = sep == std::string::npos ? "" : raw.substr(sep + 4);
  std::string name;
  std::string value;
  auto flush = [&] {
    if (!name.empty()) p.headers.emplace(absl::AsciiStrToLower(name), value);
    name.clear();
    value.clear();
  };
  for (absl::string_view line : absl::StrSplit(p.header_block, "\r\n", absl::SkipEmpty())) {
    if (line[0] == ' ' || line[0] == '\t') {
      value += std::string(line);  // unfold: drop the CRLF, keep the space
      continue;
    }
    flush();
    size_t colon = line.find(':');
    name = std::string(line.substr(0, colon));
    value = std::string(absl::StripLeadingAsciiWhitespace(line.substr(colon + 1)));
  }
  flush();
  return p;
}

inline std::string Header(const Parsed& p, const std::string& name) {
  auto it = p.headers.find(name);
  return it == p.headers.end() ? "<absent>" : it->second;
}

// Decodes a value made of RFC 2047 "=?UTF-8?B?...?=" words (whitespace
// between two words is dropped, as RFC 2047 says); other text is kept.
inline std::string DecodeWords(const std::string& value) {
  Words w = SplitWords(value);
  std::string out = w.between[0];
  for (size_t k = 0; k < w.decoded.size(); ++k) {
    out += w.decoded[k];
    const std::string& gap = w.between[k + 1];
    bool word_follows = k + 1 < w.decoded.size();
    if (!(word_follows && absl::StripAsciiWhitespace(gap).empty())) out += gap;
  }
  return out;
}

// Quoted-printable → text with '\n' line ends.
inline std::string DecodeQp(const std::string& qp) {
  std::string out;
  for (size_t i = 0; i < qp.size(); ++i) {
    if (qp[i] == '=' && qp.compare(i + 1, 2, "\r\n") == 0) {
      i += 2;
    } else if (qp[i] == '=' && i + 2 < qp.size()) {
      out += static_cast<char>(std::stoi(qp.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (qp[i] == '\r' && i + 1 < qp.size() && qp[i + 1] == '\n') {
      out += '\n';
      ++i;
    } else {
      out += qp[i];
    }
  }
  return out;
}

inline void ExpectCrlfOnly(const std::string& raw) {
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n') {
      ASSERT_TRUE(i > 0 && raw[i - 1] == '\r') << "bare LF at " << i;
    }
    if (raw[i] == '\r') {
      ASSERT_TRUE(i + 1 < raw.size() && raw[i + 1] == '\n') << "bare CR at " << i;
    }
  }
}

inline size_t LongestLine(const std::string& raw) {
  size_t longest = 0;
  for (absl::string_view line : absl::StrSplit(raw, "\r\n")) {
    longest = std::max(longest, line.size());
  }
  return longest;
}

inline absl::Time Nov22() {
  return absl::FromCivil(absl::CivilSecond(2026, 11, 22, 6, 0, 0), absl::UTCTimeZone());
}

inline EmailMessage Sample() {
  EmailMessage m;
  m.from = "goalkeeper@example.net";
  m.to = {"owner@example.com", "second@example.com"};
  m.cc = {"ops@example.net"};
  m.subject = "Exposed services on 203.0.113.7";
  m.text_body = "Hello,\n\nport 22 is open.\n";
  m.message_id = "<report-1@goalkeeper>";
  m.date = Nov22();
  return m;
}

}  // namespace goalkeeper::email_testing

#endif  // GOALKEEPER_TESTS_NOTIFIER_EMAIL_TESTING_H_
