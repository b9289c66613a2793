// RenderMessage, SmtpMailer against a real SMTP server (tests/fakes/
// smtp_server.py on aiosmtpd, 127.0.0.1 only) and OutboxMailer.
#include "notifier/mailer.h"

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/files.h"
#include "tests/testing/loopback.h"
#include "tests/testing/subprocess.h"

namespace goalkeeper {
namespace {

using ::goalkeeper::testing::ClosedPort;
using ::goalkeeper::testing::Subprocess;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPython[] = "/usr/bin/python3";  // Debian's, which has aiosmtpd
constexpr char kOpenssl[] = "/usr/bin/openssl";

std::string FakePath(absl::string_view name) {
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
int ListeningPort(absl::string_view log) {
  size_t at = log.find("listening ");
  if (at == absl::string_view::npos) return 0;
  absl::string_view rest = log.substr(at + 10);
  size_t nl = rest.find('\n');
  int port = 0;
  if (nl == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(0, nl), &port)) return 0;
  return port;
}

// "<32 hex digits@goalkeeper>".
bool IsGeneratedId(absl::string_view id) {
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

Words SplitWords(absl::string_view value) {
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

Fake StartFake(const std::string& script, std::vector<std::string> args,
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
std::vector<std::string> Files(const std::string& dir, absl::string_view suffix) {
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
  std::string header_block;                              // raw, CRLF
  std::multimap<std::string, std::string> headers;       // lower-case name → unfolded value
  std::string body;                                      // raw, CRLF
};

Parsed Parse(const std::string& raw) {
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

std::string Header(const Parsed& p, const std::string& name) {
  auto it = p.headers.find(name);
  return it == p.headers.end() ? "<absent>" : it->second;
}

// Decodes a value made of RFC 2047 "=?UTF-8?B?...?=" words (whitespace
// between two words is dropped, as RFC 2047 says); other text is kept.
std::string DecodeWords(const std::string& value) {
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
std::string DecodeQp(const std::string& qp) {
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

void ExpectCrlfOnly(const std::string& raw) {
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n') {
      ASSERT_TRUE(i > 0 && raw[i - 1] == '\r') << "bare LF at " << i;
    }
    if (raw[i] == '\r') {
      ASSERT_TRUE(i + 1 < raw.size() && raw[i + 1] == '\n') << "bare CR at " << i;
    }
  }
}

size_t LongestLine(const std::string& raw) {
  size_t longest = 0;
  for (absl::string_view line : absl::StrSplit(raw, "\r\n")) longest = std::max(longest, line.size());
  return longest;
}

absl::Time Nov22() {
  return absl::FromCivil(absl::CivilSecond(2026, 11, 22, 6, 0, 0), absl::UTCTimeZone());
}

EmailMessage Sample() {
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

// --- RenderMessage ------------------------------------------------------------

TEST(RenderMessageTest, WritesEveryHeaderWithCrlfLineEnds) {
  std::string raw = RenderMessage(Sample());
  ExpectCrlfOnly(raw);
  Parsed p = Parse(raw);
  EXPECT_EQ(Header(p, "date"), "Sun, 22 Nov 2026 06:00:00 +0000");
  EXPECT_EQ(Header(p, "from"), "goalkeeper@example.net");
  EXPECT_EQ(Header(p, "to"), "owner@example.com, second@example.com");
  EXPECT_EQ(Header(p, "cc"), "ops@example.net");
  EXPECT_EQ(Header(p, "subject"), "Exposed services on 203.0.113.7");
  EXPECT_EQ(Header(p, "message-id"), "<report-1@goalkeeper>");
  EXPECT_EQ(Header(p, "mime-version"), "1.0");
  EXPECT_EQ(Header(p, "content-type"), "text/plain; charset=UTF-8");
  EXPECT_EQ(Header(p, "content-transfer-encoding"), "quoted-printable");
  EXPECT_EQ(DecodeQp(p.body), "Hello,\n\nport 22 is open.\n");
}

TEST(RenderMessageTest, OmitsCcWhenEmptyAndKeepsDisplayNames) {
  EmailMessage m = Sample();
  m.cc.clear();
  m.from = "Goalkeeper <goalkeeper@example.net>";
  m.to = {"John Q. Public <john@example.com>", "Jörg Müller <jorg@example.de>"};
  Parsed p = Parse(RenderMessage(m));
  EXPECT_EQ(Header(p, "cc"), "<absent>");
  EXPECT_EQ(Header(p, "from"), "Goalkeeper <goalkeeper@example.net>");
  std::string to = Header(p, "to");
  EXPECT_THAT(to, HasSubstr("\"John Q. Public\" <john@example.com>,"));
  EXPECT_THAT(to, HasSubstr("=?UTF-8?B?"));
  EXPECT_THAT(DecodeWords(to), HasSubstr("Jörg Müller <jorg@example.de>"));
}

TEST(RenderMessageTest, GeneratesMessageIdWhenEmpty) {
  EmailMessage m = Sample();
  m.message_id.clear();
  std::string a = Header(Parse(RenderMessage(m)), "message-id");
  std::string b = Header(Parse(RenderMessage(m)), "message-id");
  EXPECT_TRUE(IsGeneratedId(a)) << a;
  EXPECT_NE(a, b);
}

TEST(RenderMessageTest, BracketsAMessageIdGivenWithout) {
  EmailMessage m = Sample();
  m.message_id = "abc@host";
  EXPECT_EQ(Header(Parse(RenderMessage(m)), "message-id"), "<abc@host>");
}

TEST(RenderMessageTest, UnsetDateMeansNow) {
  EmailMessage m = Sample();
  m.date = absl::Time();
  std::string date = Header(Parse(RenderMessage(m)), "date");
  int64_t year = absl::ToCivilYear(absl::Now(), absl::UTCTimeZone()).year();
  EXPECT_THAT(date, HasSubstr(absl::StrCat(" ", year, " "))) << date;
}

TEST(RenderMessageTest, EncodesNonAsciiSubjectAsUtf8EncodedWords) {
  EmailMessage m = Sample();
  m.subject = "Открытые сервисы: 3 новых — проверьте, пожалуйста, как можно скорее 🚨";
  std::string raw = RenderMessage(m);
  ExpectCrlfOnly(raw);
  Parsed p = Parse(raw);
  EXPECT_THAT(p.header_block, HasSubstr("Subject: =?UTF-8?B?"));
  EXPECT_EQ(DecodeWords(Header(p, "subject")), m.subject);
  EXPECT_LT(LongestLine(p.header_block), 78u);
}

TEST(RenderMessageTest, EncodedWordsNeverSplitACharacter) {
  EmailMessage m = Sample();
  m.subject = std::string(200, 'x') + "é" + std::string(40, 'y');  // forces encoding
  for (int shift = 0; shift < 50; ++shift) {
    m.subject.insert(0, "é");
    Parsed p = Parse(RenderMessage(m));
    // Each word decodes to valid UTF-8 on its own.
    std::string subject = Header(p, "subject");
    for (const std::string& decoded : SplitWords(subject).decoded) {
      ASSERT_FALSE(decoded.empty());
      unsigned char first = static_cast<unsigned char>(decoded[0]);
      unsigned char last = static_cast<unsigned char>(decoded.back());
      EXPECT_NE(first & 0xc0, 0x80) << "word starts mid-character";
      EXPECT_LT(last, 0xc0) << "word ends with a lead byte";
    }
    ASSERT_EQ(DecodeWords(subject), m.subject);
  }
}

TEST(RenderMessageTest, FoldsLongAsciiSubject) {
  EmailMessage m = Sample();
  std::vector<std::string> words;
  for (int i = 0; i < 60; ++i) words.push_back(absl::StrCat("host", i, ".example.com"));
  m.subject = absl::StrJoin(words, " ");
  Parsed p = Parse(RenderMessage(m));
  EXPECT_LT(LongestLine(p.header_block), 78u);
  EXPECT_EQ(Header(p, "subject"), m.subject);  // unfolding gives it back
}

TEST(RenderMessageTest, HugeUnbreakableSubjectStaysUnder998) {
  EmailMessage m = Sample();
  m.subject = std::string(3000, 'A');
  std::string raw = RenderMessage(m);
  EXPECT_LE(LongestLine(raw), 998u);
  EXPECT_EQ(DecodeWords(Header(Parse(raw), "subject")), m.subject);
}

TEST(RenderMessageTest, HeaderInjectionIsImpossible) {
  EmailMessage m = Sample();
  m.subject = "Hi\r\nBcc: victim@example.org\r\n\r\nfake body";
  m.to = {"owner@example.com\r\nBcc: victim2@example.org"};
  m.from = "goalkeeper@example.net\nX-Evil: 1";
  m.message_id = "<a@b>\r\nX-Evil: 2";
  std::string raw = RenderMessage(m);
  ExpectCrlfOnly(raw);
  Parsed p = Parse(raw);
  EXPECT_EQ(p.headers.count("bcc"), 0u);
  EXPECT_EQ(p.headers.count("x-evil"), 0u);
  for (absl::string_view line : absl::StrSplit(p.header_block, "\r\n", absl::SkipEmpty())) {
    bool known = false;
    for (absl::string_view name : {"Date", "From", "To", "Cc", "Subject", "Message-ID",
                                   "Auto-Submitted", "MIME-Version", "Content-Type",
                                   "Content-Transfer-Encoding"}) {
      known = known || absl::StartsWith(line, absl::StrCat(name, ": "));
    }
    EXPECT_TRUE(line[0] == ' ' || known) << line;
  }
  EXPECT_EQ(DecodeQp(p.body), "Hello,\n\nport 22 is open.\n");
}

TEST(RenderMessageTest, QuotedPrintableKeepsAnyLineSafe) {
  EmailMessage m = Sample();
  m.text_body = absl::StrCat(std::string(2000, 'x'), "\n", "a=b trailing space \n",
                             "tab\t\n", ".leading dot\n", "Ünïcödé ✓ ", std::string(300, 'y'),
                             "\nno newline at end");
  std::string raw = RenderMessage(m);
  ExpectCrlfOnly(raw);
  EXPECT_LE(LongestLine(raw), 76u);
  Parsed p = Parse(raw);
  EXPECT_EQ(DecodeQp(p.body), m.text_body + "\n");
  // Trailing whitespace is encoded (it would be stripped in transit).
  for (absl::string_view line : absl::StrSplit(p.body, "\r\n")) {
    EXPECT_FALSE(absl::EndsWith(line, " ") || absl::EndsWith(line, "\t")) << line;
  }
}

TEST(RenderMessageTest, CrlfInTheBodyIsNormalised) {
  EmailMessage m = Sample();
  m.text_body = "one\r\ntwo\nthree\r\n";
  std::string raw = RenderMessage(m);
  ExpectCrlfOnly(raw);
  EXPECT_EQ(DecodeQp(Parse(raw).body), "one\ntwo\nthree\n");
}

TEST(RenderMessageTest, HtmlBodyMakesMultipartAlternative) {
  EmailMessage m = Sample();
  m.html_body = "<p>port <b>22</b> is open = bad</p>\n";
  std::string raw = RenderMessage(m);
  ExpectCrlfOnly(raw);
  Parsed p = Parse(raw);
  std::string ct = Header(p, "content-type");
  constexpr absl::string_view kPrefix = "multipart/alternative; boundary=\"";
  ASSERT_TRUE(absl::StartsWith(ct, kPrefix) && absl::EndsWith(ct, "\"")) << ct;
  std::string boundary = ct.substr(kPrefix.size(), ct.size() - kPrefix.size() - 1);
  ASSERT_FALSE(boundary.empty());
  std::vector<std::string> sections = absl::StrSplit(p.body, absl::StrCat("--", boundary));
  ASSERT_EQ(sections.size(), 4u);  // preamble, text, html, "--" epilogue
  EXPECT_EQ(sections[3], "--\r\n");
  Parsed text = Parse(sections[1].substr(2));  // skip the CRLF after the delimiter
  Parsed html = Parse(sections[2].substr(2));
  EXPECT_EQ(Header(text, "content-type"), "text/plain; charset=UTF-8");
  EXPECT_EQ(Header(html, "content-type"), "text/html; charset=UTF-8");
  // The CRLF before a delimiter belongs to the delimiter.
  EXPECT_EQ(DecodeQp(text.body.substr(0, text.body.size() - 2)), m.text_body);
  EXPECT_EQ(DecodeQp(html.body.substr(0, html.body.size() - 2)), m.html_body);
}

// --- SmtpMailer against a real server ----------------------------------------

// A self-signed CA and a server certificate for 127.0.0.1, made once.
struct Pki {
  std::string ca;
  std::string cert;
  std::string key;
};

class SmtpMailerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_dir_ = new TempDir();
    const TempDir& d = *pki_dir_;
    {
      std::ofstream ext(d / "ext.cnf");
      ext << "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n";
    }
    std::vector<std::vector<std::string>> cmds = {
        {kOpenssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", d / "ca.key", "-out", d / "ca.pem", "-days", "2", "-subj",
         "/CN=Goalkeeper Test CA"},
        {kOpenssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", d / "server.key", "-out", d / "server.csr", "-subj", "/CN=localhost"},
        {kOpenssl, "x509", "-req", "-in", d / "server.csr", "-CA", d / "ca.pem", "-CAkey",
         d / "ca.key", "-CAcreateserial", "-out", d / "server.pem", "-days", "2", "-extfile",
         d / "ext.cnf"},
    };
    for (const auto& cmd : cmds) {
      testing::RunResult r = testing::Run(cmd, std::chrono::seconds(60));
      ASSERT_EQ(r.exit_code, 0) << cmd[1] << ": " << r.err;
    }
    pki_ = {d / "ca.pem", d / "server.pem", d / "server.key"};
  }
  static void TearDownTestSuite() {
    delete pki_dir_;
    pki_dir_ = nullptr;
  }

  // Starts smtp_server.py with --maildir plus `args`.
  Fake StartSmtp(std::vector<std::string> args) {
    args.insert(args.begin(), {"--maildir", maildir()});
    return StartFake(FakePath("smtp_server.py"), std::move(args), dir_ / "smtp.log");
  }
  std::vector<std::string> TlsArgs() const {
    return {"--starttls", "--cert", pki_.cert, "--key", pki_.key};
  }
  std::string maildir() const { return dir_ / "maildir"; }
  std::vector<nlohmann::json> Stored() const {
    std::vector<nlohmann::json> out;
    for (const std::string& f : Files(maildir(), ".json")) {
      out.push_back(nlohmann::json::parse(ReadFile(f)));
    }
    return out;
  }
  std::string StoredRaw(size_t i) const { return ReadFile(Files(maildir(), ".eml").at(i)); }
  static SmtpConfig Plain(int port) {
    SmtpConfig c;
    c.url = absl::StrCat("smtp://127.0.0.1:", port);
    c.require_starttls = false;
    c.timeout = absl::Seconds(20);
    return c;
  }
  static SmtpConfig Tls(int port) {
    SmtpConfig c = Plain(port);
    c.require_starttls = true;
    c.ca_file = pki_.ca;
    c.username = "alice";
    c.password = "correct-horse-battery";
    return c;
  }

  TempDir dir_;
  static TempDir* pki_dir_;
  static Pki pki_;
};

TempDir* SmtpMailerTest::pki_dir_ = nullptr;
Pki SmtpMailerTest::pki_;

TEST_F(SmtpMailerTest, DeliversOverPlainSmtp) {
  Fake smtp = StartSmtp({});
  ASSERT_GT(smtp.port, 0);
  EmailMessage m = Sample();
  m.subject = "Открытые порты: 3 — €";
  std::string long_line(2000, 'L');
  m.text_body = absl::StrCat("Hello,\n", long_line, "\n.a line starting with a dot\n",
                             "Grüße ✓\n");
  ASSERT_TRUE(MakeSmtpMailer(Plain(smtp.port))->Send(m).ok());

  std::vector<nlohmann::json> stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  const nlohmann::json& s = stored[0];
  EXPECT_EQ(s["mail_from"], "goalkeeper@example.net");
  EXPECT_THAT(s["rcpt_tos"].get<std::vector<std::string>>(),
              ElementsAre("owner@example.com", "second@example.com", "ops@example.net"));
  EXPECT_EQ(s["subject"], m.subject);
  EXPECT_EQ(s["message_id"], "<report-1@goalkeeper>");
  EXPECT_EQ(s["date"], "Sun, 22 Nov 2026 06:00:00 +0000");
  EXPECT_EQ(s["to"], "owner@example.com, second@example.com");
  EXPECT_EQ(s["cc"], "ops@example.net");
  EXPECT_EQ(s["text"], m.text_body);
  EXPECT_EQ(s["tls"], false);
  EXPECT_TRUE(s["defects"].empty()) << s.dump();

  std::string raw = StoredRaw(0);
  ExpectCrlfOnly(raw);
  EXPECT_THAT(raw, HasSubstr("\r\nMIME-Version: 1.0\r\n"));
  EXPECT_THAT(raw, HasSubstr("\r\nSubject: =?UTF-8?B?"));
  EXPECT_LE(LongestLine(raw), 998u);
}

TEST_F(SmtpMailerTest, GeneratedMessageIdReachesTheServer) {
  Fake smtp = StartSmtp({});
  EmailMessage m = Sample();
  m.message_id.clear();
  ASSERT_TRUE(MakeSmtpMailer(Plain(smtp.port))->Send(m).ok());
  std::vector<nlohmann::json> stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_TRUE(IsGeneratedId(stored[0]["message_id"].get<std::string>()));
}

TEST_F(SmtpMailerTest, HtmlAlternativeArrivesIntact) {
  Fake smtp = StartSmtp({});
  EmailMessage m = Sample();
  m.html_body = "<html><body><p>Port <b>22</b> is open.</p></body></html>\n";
  ASSERT_TRUE(MakeSmtpMailer(Plain(smtp.port))->Send(m).ok());
  std::vector<nlohmann::json> stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0]["content_type"], "multipart/alternative");
  EXPECT_EQ(stored[0]["text"], m.text_body);
  EXPECT_EQ(stored[0]["html"], m.html_body);
}

TEST_F(SmtpMailerTest, StartTlsWithAuthSucceeds) {
  std::vector<std::string> args = TlsArgs();
  args.insert(args.end(), {"--require-starttls", "--auth", "alice:correct-horse-battery"});
  Fake smtp = StartSmtp(args);
  absl::Status s = MakeSmtpMailer(Tls(smtp.port))->Send(Sample());
  ASSERT_TRUE(s.ok()) << s << "\n" << ReadFile(dir_ / "smtp.log");
  std::vector<nlohmann::json> stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0]["tls"], true);
  EXPECT_EQ(stored[0]["auth_user"], "alice");
}

TEST_F(SmtpMailerTest, WrongPasswordIsPermissionDeniedWithoutThePassword) {
  std::vector<std::string> args = TlsArgs();
  args.insert(args.end(), {"--require-starttls", "--auth", "alice:correct-horse-battery"});
  Fake smtp = StartSmtp(args);
  SmtpConfig c = Tls(smtp.port);
  c.password = "wrong-password-1234";
  absl::Status s = MakeSmtpMailer(c)->Send(Sample());
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_THAT(s.message(), Not(HasSubstr("wrong-password-1234")));
  EXPECT_THAT(s.message(), Not(HasSubstr("correct-horse")));
  EXPECT_THAT(s.message(), HasSubstr("alice"));
  EXPECT_THAT(s.message(), HasSubstr("535"));
  EXPECT_TRUE(Stored().empty());
}

TEST_F(SmtpMailerTest, RefusesPlainTextWhenServerOffersNoStartTls) {
  Fake smtp = StartSmtp({"--auth", "alice:correct-horse-battery"});
  SmtpConfig c = Tls(smtp.port);  // require_starttls = true
  absl::Status s = MakeSmtpMailer(c)->Send(Sample());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("STARTTLS"));
  EXPECT_THAT(s.message(), Not(HasSubstr(c.password)));
  EXPECT_TRUE(Stored().empty());
}

TEST_F(SmtpMailerTest, UntrustedCertificateIsRefused) {
  std::vector<std::string> args = TlsArgs();
  args.push_back("--require-starttls");
  Fake smtp = StartSmtp(args);
  SmtpConfig c = Tls(smtp.port);
  c.ca_file = "/etc/ssl/certs/ca-certificates.crt";  // the system store does not know our CA
  c.username.clear();
  absl::Status s = MakeSmtpMailer(c)->Send(Sample());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_TRUE(Stored().empty());
}

TEST_F(SmtpMailerTest, ServerRequiringStartTlsRefusesAPlainClient) {
  std::vector<std::string> args = TlsArgs();
  args.push_back("--require-starttls");
  Fake smtp = StartSmtp(args);
  absl::Status s = MakeSmtpMailer(Plain(smtp.port))->Send(Sample());
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_THAT(s.message(), HasSubstr("530"));
  EXPECT_TRUE(Stored().empty());
}

TEST_F(SmtpMailerTest, RejectedRecipientDoesNotStopTheOthers) {
  Fake smtp = StartSmtp({"--reject-rcpt", "second@example.com"});
  absl::Status s = MakeSmtpMailer(Plain(smtp.port))->Send(Sample());
  ASSERT_TRUE(s.ok()) << s;
  std::vector<nlohmann::json> stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_THAT(stored[0]["rcpt_tos"].get<std::vector<std::string>>(),
              ElementsAre("owner@example.com", "ops@example.net"));
}

TEST_F(SmtpMailerTest, EveryRecipientRejectedIsInvalidArgument) {
  Fake smtp = StartSmtp({"--reject-rcpt", "owner@example.com"});
  EmailMessage m = Sample();
  m.to = {"owner@example.com"};
  m.cc.clear();
  absl::Status s = MakeSmtpMailer(Plain(smtp.port))->Send(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr("every recipient was rejected"));
  EXPECT_THAT(s.message(), HasSubstr("550 5.1.1 <owner@example.com>"));
  EXPECT_TRUE(Stored().empty());
}

TEST_F(SmtpMailerTest, EveryRecipientRejectedButOneOnlyForNowIsUnavailable) {
  Fake smtp = StartSmtp({"--tempfail-rcpt", "owner@example.com", "--reject-rcpt",
                         "second@example.com"});
  EmailMessage m = Sample();
  m.cc.clear();
  absl::Status s = MakeSmtpMailer(Plain(smtp.port))->Send(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_TRUE(Stored().empty());
}

TEST_F(SmtpMailerTest, TemporarilyRejectedRecipientIsUnavailable) {
  Fake smtp = StartSmtp({"--tempfail-rcpt", "owner@example.com"});
  EmailMessage m = Sample();
  m.to = {"owner@example.com"};
  m.cc.clear();
  absl::Status s = MakeSmtpMailer(Plain(smtp.port))->Send(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(s.message(), HasSubstr("450"));
}

TEST_F(SmtpMailerTest, ServerDownIsUnavailable) {
  ClosedPort closed("127.0.0.1");
  absl::Status s = MakeSmtpMailer(Plain(closed.port()))->Send(Sample());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("127.0.0.1:", closed.port())));
}

TEST_F(SmtpMailerTest, DownFlagLeavesNothingListening) {
  Fake smtp = StartSmtp({"--down"});
  ASSERT_GT(smtp.port, 0);
  absl::Status s = MakeSmtpMailer(Plain(smtp.port))->Send(Sample());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
}

TEST_F(SmtpMailerTest, Greeting421IsUnavailableAndALaterTrySucceeds) {
  Fake smtp = StartSmtp({"--fail-first", "1"});
  std::unique_ptr<Mailer> mailer = MakeSmtpMailer(Plain(smtp.port));
  absl::Status first = mailer->Send(Sample());
  EXPECT_EQ(first.code(), absl::StatusCode::kUnavailable) << first;
  EXPECT_THAT(first.message(), HasSubstr("421"));
  EXPECT_TRUE(mailer->Send(Sample()).ok());
  EXPECT_EQ(Stored().size(), 1u);
}

TEST_F(SmtpMailerTest, SilentServerTimesOutAsUnavailable) {
  Fake smtp = StartSmtp({"--hang"});
  SmtpConfig c = Plain(smtp.port);
  c.timeout = absl::Seconds(1);
  auto start = std::chrono::steady_clock::now();
  absl::Status s = MakeSmtpMailer(c)->Send(Sample());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(SmtpMailerTest, ImplicitTlsSmtps) {
  Fake smtp = StartSmtp({"--implicit-tls", "--cert", pki_.cert, "--key", pki_.key, "--auth",
                         "alice:correct-horse-battery"});
  SmtpConfig c = Tls(smtp.port);
  c.url = absl::StrCat("smtps://127.0.0.1:", smtp.port);
  absl::Status s = MakeSmtpMailer(c)->Send(Sample());
  ASSERT_TRUE(s.ok()) << s << "\n" << ReadFile(dir_ / "smtp.log");
  std::vector<nlohmann::json> stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0]["tls"], true);
  EXPECT_EQ(stored[0]["auth_user"], "alice");
}

TEST_F(SmtpMailerTest, RejectsAddressesThatCouldInjectCommands) {
  Fake smtp = StartSmtp({});
  std::unique_ptr<Mailer> mailer = MakeSmtpMailer(Plain(smtp.port));
  EmailMessage m = Sample();
  m.to = {"owner@example.com>\r\nRCPT TO:<victim@example.org"};
  EXPECT_EQ(mailer->Send(m).code(), absl::StatusCode::kInvalidArgument);
  m = Sample();
  m.from = "not an address";
  EXPECT_EQ(mailer->Send(m).code(), absl::StatusCode::kInvalidArgument);
  m = Sample();
  m.to.clear();
  m.cc.clear();
  EXPECT_EQ(mailer->Send(m).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Stored().empty());
}

TEST_F(SmtpMailerTest, RefusesOtherUrlSchemes) {
  SmtpConfig c = Plain(25);
  c.url = "http://127.0.0.1:1/";
  EXPECT_EQ(MakeSmtpMailer(c)->Send(Sample()).code(), absl::StatusCode::kFailedPrecondition);
}

// --- OutboxMailer ---------------------------------------------------------------

TEST(OutboxMailerTest, WritesParseableEmlFilesNamedByMessageId) {
  TempDir tmp;
  std::string dir = tmp / "spool/outbox";  // created on first use
  EmailMessage m = Sample();
  m.subject = "Übersicht ✓";
  ASSERT_TRUE(MakeOutboxMailer(dir)->Send(m).ok());
  std::vector<std::string> files = Files(dir, "");
  ASSERT_THAT(files, ElementsAre(dir + "/report-1@goalkeeper.eml"));
  std::string raw = ReadFile(files[0]);
  ExpectCrlfOnly(raw);
  // Python's email package (a real reader) agrees.
  testing::RunResult r = testing::Run(
      {kPython, "-c",
       "import email, email.policy, sys\n"
       "m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)\n"
       "assert not m.defects, m.defects\n"
       "sys.stdout.write(m['subject'] + '|' + m['message-id'] + '|' +\n"
       "                 m.get_body(('plain',)).get_content().replace('\\r\\n', '\\n'))\n",
       files[0]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Übersicht ✓|<report-1@goalkeeper>|" + m.text_body);
}

TEST(OutboxMailerTest, SameMessageIdTwiceLeavesOneFile) {
  TempDir tmp;
  std::unique_ptr<Mailer> outbox = MakeOutboxMailer(tmp.path());
  EmailMessage m = Sample();
  ASSERT_TRUE(outbox->Send(m).ok());
  m.text_body = "second version\n";
  ASSERT_TRUE(outbox->Send(m).ok());
  std::vector<std::string> files = Files(tmp.path(), "");
  ASSERT_EQ(files.size(), 1u) << absl::StrJoin(files, ", ");
  EXPECT_EQ(DecodeQp(Parse(ReadFile(files[0])).body), "second version\n");
  m.message_id = "<report-2@goalkeeper>";
  ASSERT_TRUE(outbox->Send(m).ok());
  EXPECT_EQ(Files(tmp.path(), ".eml").size(), 2u);
}

TEST(OutboxMailerTest, GeneratesAMessageIdWhenEmpty) {
  TempDir tmp;
  EmailMessage m = Sample();
  m.message_id.clear();
  ASSERT_TRUE(MakeOutboxMailer(tmp.path())->Send(m).ok());
  std::vector<std::string> files = Files(tmp.path(), "");
  ASSERT_EQ(files.size(), 1u);
  std::string name = std::filesystem::path(files[0]).filename().string();
  EXPECT_TRUE(absl::EndsWith(name, ".eml") &&
              IsGeneratedId(absl::StrCat("<", name.substr(0, name.size() - 4), ">")))
      << files[0];
  std::string id = Header(Parse(ReadFile(files[0])), "message-id");
  EXPECT_TRUE(absl::EndsWith(files[0], "/" + id.substr(1, id.size() - 2) + ".eml"));
}

TEST(OutboxMailerTest, MessageIdCannotEscapeTheFolder) {
  TempDir tmp;
  std::string dir = tmp / "out";
  EmailMessage m = Sample();
  m.message_id = "<../../escape/..@x>";
  ASSERT_TRUE(MakeOutboxMailer(dir)->Send(m).ok());
  std::vector<std::string> files = Files(dir, ".eml");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(Files(tmp.path(), "").size(), 1u);  // only "out"
  EXPECT_EQ(std::filesystem::path(files[0]).parent_path().string(), dir);
  m.message_id = std::string(500, 'x');
  EXPECT_EQ(MakeOutboxMailer(dir)->Send(m).code(), absl::StatusCode::kInvalidArgument);
}

TEST(OutboxMailerTest, UnwritableFolderIsAnError) {
  TempDir tmp;
  std::string file = tmp / "plain-file";
  std::ofstream(file) << "x";
  absl::Status s = MakeOutboxMailer(file + "/sub")->Send(Sample());
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("plain-file"));
}

}  // namespace
}  // namespace goalkeeper
