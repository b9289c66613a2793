// RenderMessage: the RFC 5322 text of a message, checked as a mail reader
// would parse it.
#include "notifier/email_render.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "notifier/email_render.h"
#include "tests/notifier/email_testing.h"

namespace goalkeeper::email_testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

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
    for (absl::string_view name :
         {"Date", "From", "To", "Cc", "Subject", "Message-ID", "Auto-Submitted", "MIME-Version",
          "Content-Type", "Content-Transfer-Encoding"}) {
      known = known || absl::StartsWith(line, absl::StrCat(name, ": "));
    }
    EXPECT_TRUE(line[0] == ' ' || known) << line;
  }
  EXPECT_EQ(DecodeQp(p.body), "Hello,\n\nport 22 is open.\n");
}

TEST(RenderMessageTest, QuotedPrintableKeepsAnyLineSafe) {
  EmailMessage m = Sample();
  m.text_body =
      absl::StrCat(std::string(2000, 'x'), "\n", "a=b trailing space \n", "tab\t\n",
                   ".leading dot\n", "Ünïcödé ✓ ", std::string(300, 'y'), "\nno newline at end");
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

}  // namespace
}  // namespace goalkeeper::email_testing
