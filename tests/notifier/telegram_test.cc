// Telegram: escaping, splitting, and the Bot API sender against a fake
// HttpClient and against a real fake Bot API (tests/fakes/telegram_api.py,
// 127.0.0.1 only) through the curl HttpClient.
#include "notifier/telegram.h"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/http_client.h"
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

constexpr char kToken[] = "123456:AAE-secret_Token";

size_t CodePoints(absl::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

bool ValidUtf8(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

// Every '<' in `part` closes with '>' before the next '<', every '>' has its
// '<', and every '&' starts a whole "&name;".
void ExpectWholeTagsAndEntities(absl::string_view part) {
  bool in_tag = false;
  for (size_t i = 0; i < part.size(); ++i) {
    if (part[i] == '<') {
      ASSERT_FALSE(in_tag) << part;
      in_tag = true;
    } else if (part[i] == '>') {
      ASSERT_TRUE(in_tag) << "tag cut at the start of: " << part;
      in_tag = false;
    } else if (part[i] == '&' && !in_tag) {
      absl::string_view rest = part.substr(i);
      ASSERT_TRUE(absl::StartsWith(rest, "&amp;") || absl::StartsWith(rest, "&lt;") ||
                  absl::StartsWith(rest, "&gt;") || absl::StartsWith(rest, "&quot;"))
          << "entity cut in: " << part;
    }
  }
  EXPECT_FALSE(in_tag) << "tag cut at the end of: " << part;
}

// --- EscapeTelegramHtml ---------------------------------------------------------

TEST(EscapeTelegramHtmlTest, EscapesMarkupCharacters) {
  EXPECT_EQ(EscapeTelegramHtml("a < b && c > \"d\""),
            "a &lt; b &amp;&amp; c &gt; &quot;d&quot;");
  EXPECT_EQ(EscapeTelegramHtml("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;");
  EXPECT_EQ(EscapeTelegramHtml("plain текст 🚨 'quote'"), "plain текст 🚨 'quote'");
  EXPECT_EQ(EscapeTelegramHtml("&amp;"), "&amp;amp;");
  EXPECT_EQ(EscapeTelegramHtml(""), "");
}

// --- SplitTelegramMessage -------------------------------------------------------

TEST(SplitTelegramMessageTest, EmptyAndBlankInputGiveNoParts) {
  EXPECT_TRUE(SplitTelegramMessage("").empty());
  EXPECT_TRUE(SplitTelegramMessage("\n \n\t\n").empty());
}

TEST(SplitTelegramMessageTest, ShortMessageIsOnePart) {
  EXPECT_THAT(SplitTelegramMessage("<b>3 new exposures</b>\n203.0.113.7:22 ssh"),
              ElementsAre("<b>3 new exposures</b>\n203.0.113.7:22 ssh"));
}

TEST(SplitTelegramMessageTest, SplitsALongReportAtLineBoundaries) {
  std::vector<std::string> lines;
  for (int i = 0; i < 2000; ++i) {
    lines.push_back(absl::StrCat("<b>203.0.113.", i % 256, "</b>:", 1000 + i, " ",
                                 EscapeTelegramHtml("<ssh> & \"co\""), " — открыт"));
  }
  std::string report = absl::StrJoin(lines, "\n");
  std::vector<std::string> parts = SplitTelegramMessage(report);
  ASSERT_GT(parts.size(), 10u);
  for (size_t i = 0; i < parts.size(); ++i) {
    EXPECT_LE(CodePoints(parts[i]), 4096u);
    // Packed: the next line (< 80 characters) did not fit.
    if (i + 1 < parts.size()) {
      EXPECT_GT(CodePoints(parts[i]), 4096u - 80u);
    }
    ExpectWholeTagsAndEntities(parts[i]);
  }
  EXPECT_EQ(absl::StrJoin(parts, "\n"), report);
}

TEST(SplitTelegramMessageTest, CountsCodePointsNotBytes) {
  std::string cyrillic;
  for (int i = 0; i < 4096; ++i) cyrillic += "я";  // 8192 bytes
  EXPECT_THAT(SplitTelegramMessage(cyrillic), ElementsAre(cyrillic));
  std::string emoji;
  for (int i = 0; i < 4096; ++i) emoji += "🚨";  // 16384 bytes
  EXPECT_EQ(SplitTelegramMessage(emoji).size(), 1u);
  std::vector<std::string> parts = SplitTelegramMessage(emoji + "🚨");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(CodePoints(parts[0]), 4096u);
  EXPECT_EQ(parts[1], "🚨");
}

TEST(SplitTelegramMessageTest, LineExactlyAtTheLimitFitsAndTheNextStartsANewPart) {
  std::string a(10, 'a');
  std::string b(10, 'b');
  EXPECT_THAT(SplitTelegramMessage(a + "\n" + b, 10), ElementsAre(a, b));
  EXPECT_THAT(SplitTelegramMessage(a + "\n" + b, 21), ElementsAre(a + "\n" + b));
  EXPECT_THAT(SplitTelegramMessage(a + "\n" + b, 20), ElementsAre(a, b));
}

TEST(SplitTelegramMessageTest, LongLineIsCutNeverInsideATagOrAnEntity) {
  std::string line;
  for (int i = 0; i < 200; ++i) {
    line += absl::StrCat("<a href=\"https://example.com/", i, "\">x", i, "</a>&amp;&lt;я");
  }
  for (size_t limit : {40u, 41u, 45u, 57u, 100u, 4096u}) {
    std::vector<std::string> parts = SplitTelegramMessage(line, limit);
    std::string joined;
    for (const std::string& p : parts) {
      EXPECT_LE(CodePoints(p), limit);
      ASSERT_TRUE(ValidUtf8(p));
      ExpectWholeTagsAndEntities(p);
      joined += p;
    }
    EXPECT_EQ(joined, line) << "limit " << limit;  // no space in the line: cut pieces are contiguous
  }
}

TEST(SplitTelegramMessageTest, LongLinePrefersToCutAfterASpace) {
  EXPECT_THAT(SplitTelegramMessage("aaaa bbbb cccc", 7), ElementsAre("aaaa ", "bbbb ", "cccc"));
  // No space in the second half of the window: cut at the limit.
  EXPECT_THAT(SplitTelegramMessage("a bbbbbbbbbb", 6), ElementsAre("a bbbb", "bbbbbb"));
}

TEST(SplitTelegramMessageTest, MultibyteCharactersAreNeverSplit) {
  std::string line;
  for (int i = 0; i < 5000; ++i) line += i % 3 == 0 ? "я" : (i % 3 == 1 ? "🚨" : "x");
  std::vector<std::string> parts = SplitTelegramMessage("head\n" + line + "\ntail");
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[0], "head");
  EXPECT_EQ(CodePoints(parts[1]), 4096u);
  EXPECT_EQ(CodePoints(parts[2]), 5000u - 4096u);
  EXPECT_EQ(parts[3], "tail");
  EXPECT_TRUE(ValidUtf8(parts[1]) && ValidUtf8(parts[2]));
  EXPECT_EQ(parts[1] + parts[2], line);
}

TEST(SplitTelegramMessageTest, WhitespaceOnlyPartsAreDropped) {
  EXPECT_THAT(SplitTelegramMessage("abc\n\n\ndef", 3), ElementsAre("abc", "def"));
}

TEST(SplitTelegramMessageTest, TagLongerThanTheLimitIsStillBounded) {
  std::vector<std::string> parts = SplitTelegramMessage("<a href=\"xxxxxxxxxx\">y</a>", 5);
  for (const std::string& p : parts) EXPECT_LE(CodePoints(p), 5u);
  EXPECT_EQ(absl::StrJoin(parts, ""), "<a href=\"xxxxxxxxxx\">y</a>");
}

TEST(SplitTelegramMessageTest, BareAngleBracketsAndAmpersandsArePlainText) {
  std::vector<std::string> parts = SplitTelegramMessage("a<b c&d e>f", 3);
  for (const std::string& p : parts) EXPECT_LE(CodePoints(p), 3u);
  EXPECT_EQ(absl::StrJoin(parts, ""), "a<b c&d e>f");
}

// --- Bot sender with a fake HttpClient ---------------------------------------------

class FakeHttp : public HttpClient {
 public:
  absl::StatusOr<HttpResponse> Send(const HttpRequest& req) override {
    requests.push_back(req);
    return next;
  }
  std::vector<HttpRequest> requests;
  absl::StatusOr<HttpResponse> next = HttpResponse{200, {}, R"({"ok":true,"result":{}})"};
};

HttpResponse Reply(int status, std::string body,
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(TelegramBotSenderTest, PostsJsonToTheBotUrl) {
  FakeHttp http;
  std::unique_ptr<TelegramSender> tg =
      MakeTelegramBotSender("https://api.telegram.example/", kToken, http);
  ASSERT_TRUE(tg->Send("-100123", "<b>3 new</b>").status.ok());
  ASSERT_TRUE(tg->Send("@goalkeeper_alerts", "x").status.ok());
  ASSERT_EQ(http.requests.size(), 2u);
  const HttpRequest& req = http.requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, absl::StrCat("https://api.telegram.example/bot", kToken, "/sendMessage"));
  EXPECT_THAT(req.headers, ::testing::Contains(std::pair<std::string, std::string>(
                               "Content-Type", "application/json")));
  nlohmann::json body = nlohmann::json::parse(req.body);
  EXPECT_EQ(body, nlohmann::json::parse(R"({"chat_id":-100123,"text":"<b>3 new</b>",
      "parse_mode":"HTML","link_preview_options":{"is_disabled":true}})"));
  EXPECT_TRUE(body["chat_id"].is_number_integer());
  nlohmann::json second = nlohmann::json::parse(http.requests[1].body);
  EXPECT_EQ(second["chat_id"], "@goalkeeper_alerts");
}

TEST(TelegramBotSenderTest, ChatIdIsNumericOnlyWhenItIsAnInteger) {
  FakeHttp http;
  std::unique_ptr<TelegramSender> tg = MakeTelegramBotSender("http://x", kToken, http);
  for (const char* id : {"12345", "-1001234567890", "+5", "12a", "99999999999999999999", "- 1"}) {
    ASSERT_TRUE(tg->Send(id, "x").status.ok());
  }
  std::vector<std::string> kinds;
  for (const HttpRequest& r : http.requests) {
    kinds.push_back(nlohmann::json::parse(r.body)["chat_id"].is_number_integer() ? "int" : "str");
  }
  EXPECT_THAT(kinds, ElementsAre("int", "int", "str", "str", "str", "str"));
}

TEST(TelegramBotSenderTest, InvalidUtf8IsReplacedNotThrown) {
  FakeHttp http;
  std::unique_ptr<TelegramSender> tg = MakeTelegramBotSender("http://x", kToken, http);
  EXPECT_TRUE(tg->Send("1", std::string("bad \xff\xfe utf8")).status.ok());
  ASSERT_EQ(http.requests.size(), 1u);
  EXPECT_THAT(nlohmann::json::parse(http.requests[0].body)["text"].get<std::string>(),
              HasSubstr("\xEF\xBF\xBD"));
}

TEST(TelegramBotSenderTest, RefusesEmptyChatOrTextWithoutARequest) {
  FakeHttp http;
  std::unique_ptr<TelegramSender> tg = MakeTelegramBotSender("http://x", kToken, http);
  EXPECT_EQ(tg->Send("", "x").status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tg->Send("1", " \n").status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(http.requests.empty());
}

TEST(TelegramBotSenderTest, MapsApiErrors) {
  FakeHttp http;
  std::unique_ptr<TelegramSender> tg = MakeTelegramBotSender("http://x", kToken, http);
  http.next = Reply(400, R"({"ok":false,"error_code":400,"description":"Bad Request: chat not found"})");
  TelegramResult r = tg->Send("1", "x");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status.message(), "telegram sendMessage: HTTP 400: Bad Request: chat not found");
  EXPECT_FALSE(r.retry_after.has_value());

  http.next = Reply(429, R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 35","parameters":{"retry_after":35}})");
  r = tg->Send("1", "x");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status.message(), HasSubstr("HTTP 429"));
  EXPECT_EQ(r.retry_after, absl::Seconds(35));

  http.next = Reply(429, "not json", {{"retry-after", "7"}});
  r = tg->Send("1", "x");
  EXPECT_EQ(r.retry_after, absl::Seconds(7));

  http.next = Reply(429, "{}");
  EXPECT_TRUE(tg->Send("1", "x").retry_after.has_value());

  http.next = Reply(502, "<html>Bad Gateway</html>");
  r = tg->Send("1", "x");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(r.status.message(), "telegram sendMessage: HTTP 502: no description");

  http.next = Reply(401, R"({"ok":false,"error_code":401,"description":"Unauthorized"})");
  EXPECT_EQ(tg->Send("1", "x").status.code(), absl::StatusCode::kPermissionDenied);

  http.next = Reply(200, R"({"ok":false,"error_code":403,"description":"Forbidden: bot was kicked"})");
  r = tg->Send("1", "x");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status.message(), "telegram sendMessage: HTTP 403: Forbidden: bot was kicked");
}

TEST(TelegramBotSenderTest, TokenNeverAppearsInErrors) {
  FakeHttp http;
  std::unique_ptr<TelegramSender> tg = MakeTelegramBotSender("http://x", kToken, http);
  http.next = absl::UnavailableError(absl::StrCat("http://x/bot", kToken, "/sendMessage: reset"));
  TelegramResult r = tg->Send("1", "x");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status.message(), Not(HasSubstr(kToken)));
  http.next = Reply(400, absl::StrCat(R"({"ok":false,"description":"bad token )", kToken, "\"}"));
  r = tg->Send("1", "x");
  EXPECT_THAT(r.status.message(), Not(HasSubstr(kToken)));
}

TEST(TelegramLogSenderTest, AlwaysSucceeds) {
  EXPECT_TRUE(MakeLogTelegramSender()->Send("-100123", "<b>hi</b>\nthere").status.ok());
}

// --- Bot sender against the fake Bot API over real HTTP -------------------------------

using ::goalkeeper::testing::ReadFile;

class TelegramApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = getenv("TEST_TMPDIR");
    std::string tmpl = absl::StrCat(base != nullptr ? base : "/tmp", "/gk_telegram_XXXXXX");
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    http_ = MakeCurlHttpClient({});
  }
  void TearDown() override {
    fake_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Starts telegram_api.py with --token kToken --messages FILE plus `args`.
  void Start(std::vector<std::string> args = {}) {
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     absl::StrCat(GOALKEEPER_SOURCE_DIR,
                                                  "/tests/fakes/telegram_api.py"),
                                     "--token", kToken, "--messages", messages_file()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string log = dir_ + "/telegram.log";
    fake_.emplace(Subprocess::StartLogged(argv, log));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      std::string text = ReadFile(log);
      size_t at = text.find("listening ");
      size_t nl = at == std::string::npos ? at : text.find('\n', at);
      int port = 0;
      if (nl != std::string::npos && absl::SimpleAtoi(text.substr(at + 10, nl - at - 10), &port)) {
        api_url_ = absl::StrCat("http://127.0.0.1:", port);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL() << "telegram_api.py did not start: " << ReadFile(log);
  }
  std::string messages_file() const { return dir_ + "/messages.jsonl"; }
  std::vector<nlohmann::json> Received() const {
    std::vector<nlohmann::json> out;
    for (absl::string_view line :
         absl::StrSplit(ReadFile(messages_file()), '\n', absl::SkipEmpty())) {
      out.push_back(nlohmann::json::parse(line));
    }
    return out;
  }
  std::unique_ptr<TelegramSender> Sender(const std::string& token = kToken) {
    return MakeTelegramBotSender(api_url_, token, *http_);
  }

  std::string dir_;
  std::string api_url_;
  std::unique_ptr<HttpClient> http_;
  std::optional<Subprocess> fake_;
};

TEST_F(TelegramApiTest, MessageArrivesWithTheRightJson) {
  Start();
  std::string text = "<b>3 new exposures</b>\n" + EscapeTelegramHtml("203.0.113.7:22 <ssh> & co");
  TelegramResult r = Sender()->Send("-100123", text);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_TRUE(Sender()->Send("@goalkeeper", "второе 🚨").status.ok());
  std::vector<nlohmann::json> got = Received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], nlohmann::json({{"chat_id", -100123},
                                    {"text", text},
                                    {"parse_mode", "HTML"},
                                    {"link_preview_options", {{"is_disabled", true}}}}));
  EXPECT_EQ(got[1]["chat_id"], "@goalkeeper");
  EXPECT_EQ(got[1]["text"], "второе 🚨");
}

TEST_F(TelegramApiTest, EveryPartOfASplitReportIsAccepted) {
  Start();
  std::vector<std::string> lines = {"<b>Goalkeeper report</b>"};
  for (int i = 0; i < 600; ++i) {
    lines.push_back(absl::StrCat("<code>198.51.100.", i % 256, ":", 1024 + i, "</code> ",
                                 EscapeTelegramHtml("owner <unknown> & \"friends\""), " — порт"));
  }
  lines.push_back(absl::StrCat("<i>", std::string(9000, 'z'), "</i>"));  // one over-long line
  std::vector<std::string> parts = SplitTelegramMessage(absl::StrJoin(lines, "\n"));
  ASSERT_GT(parts.size(), 3u);
  std::unique_ptr<TelegramSender> tg = Sender();
  for (const std::string& part : parts) {
    TelegramResult r = tg->Send("-100123", part);
    // The over-long line's <i> spans parts: the API refuses those (see the
    // header: keep tags within a line).
    if (absl::StrContains(part, "zzzz")) continue;
    EXPECT_TRUE(r.status.ok()) << r.status;
  }
  EXPECT_GE(Received().size(), parts.size() - 3);
}

TEST_F(TelegramApiTest, RateLimitSurfacesRetryAfter) {
  Start({"--rate-limit", "1:35"});
  std::unique_ptr<TelegramSender> tg = Sender();
  TelegramResult r = tg->Send("-100123", "hello");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kResourceExhausted) << r.status;
  EXPECT_EQ(r.status.message(), "telegram sendMessage: HTTP 429: Too Many Requests: retry after 35");
  EXPECT_EQ(r.retry_after, absl::Seconds(35));
  EXPECT_TRUE(Received().empty());
  r = tg->Send("-100123", "hello");
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_FALSE(r.retry_after.has_value());
  EXPECT_EQ(Received().size(), 1u);
}

TEST_F(TelegramApiTest, ChatNotFoundDescriptionIsSurfaced) {
  Start({"--unknown-chat", "-100999"});
  TelegramResult r = Sender()->Send("-100999", "hello");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status.message(), "telegram sendMessage: HTTP 400: Bad Request: chat not found");
}

TEST_F(TelegramApiTest, UnbalancedHtmlIsRefusedWithTheApiDescription) {
  Start();
  TelegramResult r = Sender()->Send("-100123", "<b>bold");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status.message(), HasSubstr("HTTP 400: Bad Request: Can't parse entities"));
}

TEST_F(TelegramApiTest, ServerErrorIsUnavailable) {
  Start({"--fail-500", "1"});
  TelegramResult r = Sender()->Send("-100123", "hello");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status.message(), HasSubstr("HTTP 500"));
}

TEST_F(TelegramApiTest, TokenIsNeverInErrors) {
  Start();
  const std::string wrong = "999999:WRONG-token_value";
  TelegramResult r = Sender(wrong)->Send("-100123", "hello");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status.message(), "telegram sendMessage: HTTP 401: Unauthorized");
  EXPECT_THAT(r.status.message(), Not(HasSubstr("WRONG")));
  EXPECT_THAT(r.status.message(), Not(HasSubstr("/bot")));

  ClosedPort closed("127.0.0.1");
  api_url_ = absl::StrCat("http://127.0.0.1:", closed.port());
  r = Sender()->Send("-100123", "hello");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status.message(), Not(HasSubstr(kToken)));
  EXPECT_THAT(r.status.message(), Not(HasSubstr("/bot")));
}

}  // namespace
}  // namespace goalkeeper
