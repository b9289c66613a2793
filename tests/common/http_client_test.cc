// common/http_client: CurlHttpClient against the local fake
// (tests/fakes/owner_apis.py, started as a real process), RetryingHttpClient
// with a scripted HttpClient and a fake sleep, UrlOrigin and LoadSecret.
//
// curl_global_init runs once for the whole binary (tests/testing/curl_environment.h).
#include "common/http_client.h"

#include <curl/curl.h>
#include <stdlib.h>

#include <chrono>
#include <deque>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/curl_environment.h"
#include "tests/testing/loopback.h"
#include "tests/testing/subprocess.h"

namespace goalkeeper {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Request and policy builders (designated initializers that skip members
// trip GCC's -Wmissing-field-initializers).
HttpRequest Request(std::string method, std::string url, std::string body = "") {
  HttpRequest req;
  req.method = std::move(method);
  req.url = std::move(url);
  req.body = std::move(body);
  return req;
}
HttpRequest Get(std::string url) { return Request("GET", std::move(url)); }
RetryPolicy Policy(int max_attempts, absl::Duration initial_backoff = absl::Milliseconds(500),
                   absl::Duration max_backoff = absl::Seconds(10),
                   absl::Duration max_retry_after = absl::Seconds(60)) {
  RetryPolicy p;
  p.max_attempts = max_attempts;
  p.initial_backoff = initial_backoff;
  p.max_backoff = max_backoff;
  p.max_retry_after = max_retry_after;
  return p;
}

// The owner-APIs fake as a child process on 127.0.0.1, port picked by the kernel.
class Fake {
 public:
  Fake()
      : proc_(testing::Subprocess::Start(
            {"/usr/bin/python3", GOALKEEPER_SOURCE_DIR "/tests/fakes/owner_apis.py"})) {
    const std::string out = proc_.ReadStdoutUntil("\n", std::chrono::seconds(20));
    absl::string_view line = absl::StripAsciiWhitespace(out);
    if (!absl::ConsumePrefix(&line, "listening ") || !absl::SimpleAtoi(line, &port_)) {
      ADD_FAILURE() << "fake did not start: " << out << proc_.err_so_far();
    }
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }
  int port() const { return port_; }
  void Control(const std::string& json) {
    auto http = MakeCurlHttpClient({});
    HttpRequest req = Request("POST", url() + "/_control", json);
    absl::StatusOr<HttpResponse> resp = http->Send(req);
    ASSERT_TRUE(resp.ok()) << resp.status();
    ASSERT_EQ(resp->status, 200) << resp->body;
  }

 private:
  testing::Subprocess proc_;
  int port_ = 0;
};

// ---- CurlHttpClient ------------------------------------------------------

TEST(CurlHttpClientTest, GetReturnsStatusHeadersAndBody) {
  Fake fake;
  auto http = MakeCurlHttpClient({});
  HttpRequest req = Get(fake.url() + "/_echo?x=1");
  req.headers.push_back({"X-Test", "yes"});
  absl::StatusOr<HttpResponse> resp = http->Send(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->Header("content-type"), "application/json");
  EXPECT_EQ(resp->Header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(resp->Header("X-Absent"), "");
  nlohmann::json echo = nlohmann::json::parse(resp->body);
  EXPECT_EQ(echo["method"], "GET");
  EXPECT_EQ(echo["path"], "/_echo?x=1");
  EXPECT_EQ(echo["headers"]["x-test"], "yes");
}

TEST(CurlHttpClientTest, PostAndCustomMethodsSendTheBody) {
  Fake fake;
  auto http = MakeCurlHttpClient({});
  for (const std::string method : {"POST", "PUT"}) {
    HttpRequest req = Request(method, fake.url() + "/_echo", R"({"a":1})");
    req.headers.push_back({"Content-Type", "application/json"});
    absl::StatusOr<HttpResponse> resp = http->Send(req);
    ASSERT_TRUE(resp.ok()) << resp.status();
    nlohmann::json echo = nlohmann::json::parse(resp->body);
    EXPECT_EQ(echo["method"], method);
    EXPECT_EQ(echo["body"], R"({"a":1})");
    EXPECT_EQ(echo["headers"]["content-type"], "application/json");
    EXPECT_FALSE(echo["headers"].contains("expect"));
  }
}

TEST(CurlHttpClientTest, DoesNotFollowRedirects) {
  Fake fake;
  auto http = MakeCurlHttpClient({});
  absl::StatusOr<HttpResponse> resp = http->Send(Get(fake.url() + "/_redirect"));
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 302);
  EXPECT_EQ(resp->Header("Location"), fake.url() + "/_echo");
}

TEST(CurlHttpClientTest, SlowAnswerIsDeadlineExceededNamingOnlyTheOrigin) {
  Fake fake;
  fake.Control(R"({"slow_ms": 3000, "slow_path": "/_echo"})");
  auto http = MakeCurlHttpClient({});
  HttpRequest req = Get(fake.url() + "/_echo?token=SECRET");
  req.timeout = absl::Milliseconds(300);
  absl::StatusOr<HttpResponse> resp = http->Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(resp.status())) << resp.status();
  EXPECT_TRUE(absl::StartsWith(resp.status().message(), fake.url() + ": timed out"))
      << resp.status();
  EXPECT_THAT(std::string(resp.status().message()), Not(HasSubstr("SECRET")));
  EXPECT_THAT(std::string(resp.status().message()), Not(HasSubstr("_echo")));
}

TEST(CurlHttpClientTest, RefusedConnectionIsUnavailableNamingOnlyTheOrigin) {
  testing::ClosedPort closed("127.0.0.1");
  auto http = MakeCurlHttpClient({});
  const std::string origin = absl::StrCat("http://127.0.0.1:", closed.port());
  HttpRequest req = Get(absl::StrCat("http://user:PASSWORD@127.0.0.1:", closed.port(),
                                     "/botSECRET/sendMessage?key=SECRET"));
  req.headers.push_back({"Authorization", "Token HEADERSECRET"});
  absl::StatusOr<HttpResponse> resp = http->Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_TRUE(absl::IsUnavailable(resp.status())) << resp.status();
  const std::string msg(resp.status().message());
  EXPECT_TRUE(absl::StartsWith(msg, origin + ": ")) << msg;
  EXPECT_THAT(msg, Not(HasSubstr("SECRET")));
  EXPECT_THAT(msg, Not(HasSubstr("PASSWORD")));
  EXPECT_THAT(msg, Not(HasSubstr("sendMessage")));
}

TEST(CurlHttpClientTest, TlsToAPlainServerFails) {
  Fake fake;
  auto http = MakeCurlHttpClient({});
  absl::StatusOr<HttpResponse> resp =
      http->Send(Get(absl::StrCat("https://127.0.0.1:", fake.port(), "/_echo")));
  ASSERT_FALSE(resp.ok());
  EXPECT_TRUE(absl::IsUnavailable(resp.status())) << resp.status();
  EXPECT_TRUE(absl::StartsWith(resp.status().message(),
                               absl::StrCat("https://127.0.0.1:", fake.port(), ": ")));
}

TEST(CurlHttpClientTest, ResponseOver64MiBIsAnError) {
  Fake fake;
  auto http = MakeCurlHttpClient({});
  const size_t too_big = (size_t{64} << 20) + 1;
  for (const std::string length : {"1", "0"}) {  // with and without Content-Length
    absl::StatusOr<HttpResponse> resp =
        http->Send(Get(absl::StrCat(fake.url(), "/_big?bytes=", too_big, "&length=", length)));
    ASSERT_FALSE(resp.ok()) << "length=" << length;
    EXPECT_TRUE(absl::IsResourceExhausted(resp.status())) << resp.status();
    EXPECT_EQ(resp.status().message(), fake.url() + ": response larger than 64 MiB");
  }
  absl::StatusOr<HttpResponse> ok = http->Send(Get(fake.url() + "/_big?bytes=100000"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->body.size(), 100000u);
}

TEST(CurlHttpClientTest, RejectsHeaderInjection) {
  auto http = MakeCurlHttpClient({});
  HttpRequest req = Get("http://127.0.0.1:9/x");
  req.headers.push_back({"X-Evil", "a\r\nX-Injected: b"});
  absl::StatusOr<HttpResponse> resp = http->Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(resp.status())) << resp.status();
  EXPECT_THAT(std::string(resp.status().message()), Not(HasSubstr("Injected")));
}

TEST(UrlEncodeTest, KeepsUnreservedAndPercentEncodesTheRest) {
  EXPECT_EQ(UrlEncode("aZ09-_.~"), "aZ09-_.~");
  EXPECT_EQ(UrlEncode("a b/c?d=e&f"), "a%20b%2Fc%3Fd%3De%26f");
  EXPECT_EQ(UrlEncode("\xc3\xa9\n"), "%C3%A9%0A");
  EXPECT_EQ(UrlEncode(""), "");
}

TEST(UrlOriginTest, KeepsSchemeHostAndPortOnly) {
  EXPECT_EQ(UrlOrigin("https://api.telegram.org/bot123:ABC/sendMessage"),
            "https://api.telegram.org:443");
  EXPECT_EQ(UrlOrigin("http://Neutron:9696/v2.0/ports?fixed_ips=x"), "http://neutron:9696");
  EXPECT_EQ(UrlOrigin("http://user:pw@host/x"), "http://host:80");
  EXPECT_EQ(UrlOrigin("https://[2001:db8::1]:8443/x"), "https://[2001:db8::1]:8443");
  EXPECT_EQ(UrlOrigin("https://[2001:db8::1]"), "https://[2001:db8::1]:443");
  EXPECT_EQ(UrlOrigin("smtps://mail.example.com:465"), "smtps://mail.example.com:465");
  EXPECT_EQ(UrlOrigin("keystone:5000/v3"), "(invalid URL)");
  EXPECT_EQ(UrlOrigin("http://host:12ab/secret"), "(invalid URL)");
  EXPECT_EQ(UrlOrigin(""), "(invalid URL)");
}

// ---- RetryingHttpClient --------------------------------------------------

// Answers from a script, one entry per request.
class ScriptedHttpClient : public HttpClient {
 public:
  void Add(absl::StatusOr<HttpResponse> r) { script_.push_back(std::move(r)); }
  void AddStatus(int status, std::string retry_after = "") {
    HttpResponse r;
    r.status = status;
    r.body = absl::StrCat("answer ", script_.size());
    if (!retry_after.empty()) r.headers.push_back({"retry-after", retry_after});
    script_.push_back(std::move(r));
  }
  absl::StatusOr<HttpResponse> Send(const HttpRequest&) override {
    ++calls_;
    if (script_.empty()) return absl::InternalError("script exhausted");
    absl::StatusOr<HttpResponse> r = std::move(script_.front());
    script_.pop_front();
    return r;
  }
  int calls() const { return calls_; }

 private:
  std::deque<absl::StatusOr<HttpResponse>> script_;
  int calls_ = 0;
};

class RetryingHttpClientTest : public ::testing::Test {
 protected:
  RetryingHttpClient Client(RetryPolicy policy = RetryPolicy()) {
    return RetryingHttpClient(inner_, policy, [this](absl::Duration d) { sleeps_.push_back(d); });
  }
  ScriptedHttpClient inner_;
  std::vector<absl::Duration> sleeps_;
};

TEST_F(RetryingHttpClientTest, RetriesServerErrorsWithExponentialBackoff) {
  inner_.AddStatus(500);
  inner_.AddStatus(503);
  inner_.AddStatus(502);
  inner_.AddStatus(200);
  RetryingHttpClient http = Client(Policy(4));
  absl::StatusOr<HttpResponse> resp = http.Send(Get("http://x:1/"));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(inner_.calls(), 4);
  EXPECT_THAT(sleeps_, ElementsAre(absl::Milliseconds(500), absl::Seconds(1), absl::Seconds(2)));
}

TEST_F(RetryingHttpClientTest, BackoffIsCappedByMaxBackoff) {
  for (int i = 0; i < 5; ++i) inner_.AddStatus(500);
  RetryingHttpClient http = Client(Policy(5, absl::Seconds(4), absl::Seconds(10)));
  absl::StatusOr<HttpResponse> resp = http.Send(Get("http://x:1/"));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 500);  // the last response, after max_attempts
  EXPECT_EQ(resp->body, "answer 4");
  EXPECT_EQ(inner_.calls(), 5);
  EXPECT_THAT(sleeps_, ElementsAre(absl::Seconds(4), absl::Seconds(8), absl::Seconds(10),
                                   absl::Seconds(10)));
}

TEST_F(RetryingHttpClientTest, RetriesTransportErrorsAndReturnsTheLastError) {
  inner_.Add(absl::UnavailableError("http://x:1: connection refused"));
  inner_.Add(absl::DeadlineExceededError("http://x:1: timed out"));
  inner_.Add(absl::UnavailableError("http://x:1: reset"));
  RetryingHttpClient http = Client(Policy(3));
  absl::StatusOr<HttpResponse> resp = http.Send(Get("http://x:1/"));
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status(), absl::UnavailableError("http://x:1: reset"));
  EXPECT_EQ(inner_.calls(), 3);
  EXPECT_EQ(sleeps_.size(), 2u);
}

TEST_F(RetryingHttpClientTest, DoesNotRetryClientErrorsOrBadRequests) {
  inner_.AddStatus(404);
  inner_.Add(absl::InvalidArgumentError("bad url"));
  RetryingHttpClient http = Client();
  absl::StatusOr<HttpResponse> first = http.Send(Get("http://x:1/"));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, 404);
  EXPECT_TRUE(absl::IsInvalidArgument(http.Send(Get("http://x:1/")).status()));
  EXPECT_EQ(inner_.calls(), 2);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(RetryingHttpClientTest, HonoursRetryAfterCappedByMaxRetryAfter) {
  inner_.AddStatus(429, "7");
  inner_.AddStatus(503, "3600");
  inner_.AddStatus(429, "Wed, 21 Oct 2015 07:28:00 GMT");  // not seconds: backoff
  inner_.AddStatus(200);
  RetryingHttpClient http =
      Client(Policy(4, absl::Milliseconds(100), absl::Seconds(10), absl::Seconds(60)));
  absl::StatusOr<HttpResponse> resp = http.Send(Get("http://x:1/"));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 200);
  EXPECT_THAT(sleeps_, ElementsAre(absl::Seconds(7), absl::Seconds(60), absl::Milliseconds(400)));
}

TEST(RetryingHttpClientFakeTest, RateLimitedRequestsSucceedAfterRetryAfter) {
  Fake fake;
  fake.Control(R"({"rate_limit": 2, "retry_after": 3})");
  auto curl = MakeCurlHttpClient({});
  std::vector<absl::Duration> sleeps;
  RetryingHttpClient http(*curl, Policy(3), [&](absl::Duration d) { sleeps.push_back(d); });
  absl::StatusOr<HttpResponse> resp = http.Send(Get(fake.url() + "/_echo"));
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 200);
  EXPECT_THAT(sleeps, ElementsAre(absl::Seconds(3), absl::Seconds(3)));
}

// ---- LoadSecret ----------------------------------------------------------

std::string WriteTemp(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "/gk_secret_" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(LoadSecretTest, ReadsFileAndTrimsTrailingNewline) {
  EXPECT_EQ(*LoadSecret(WriteTemp("lf", "s3cret\n"), nullptr), "s3cret");
  EXPECT_EQ(*LoadSecret(WriteTemp("crlf", "s3cret\r\n"), nullptr), "s3cret");
  EXPECT_EQ(*LoadSecret(WriteTemp("none", "s3 cret"), nullptr), "s3 cret");
}

TEST(LoadSecretTest, FileWinsOverEnvironment) {
  setenv("GOALKEEPER_TEST_SECRET_A", "from-env", 1);
  EXPECT_EQ(*LoadSecret(WriteTemp("wins", "from-file\n"), "GOALKEEPER_TEST_SECRET_A"), "from-file");
  EXPECT_EQ(*LoadSecret("", "GOALKEEPER_TEST_SECRET_A"), "from-env");
  unsetenv("GOALKEEPER_TEST_SECRET_A");
}

TEST(LoadSecretTest, ErrorsNameTheFileOrVariableNeverTheValue) {
  absl::StatusOr<std::string> missing = LoadSecret("/nonexistent-gk/x", "IGNORED");
  EXPECT_EQ(missing.status().message(),
            "cannot read secret file '/nonexistent-gk/x': No such file or directory");
  EXPECT_TRUE(absl::IsNotFound(missing.status()));

  absl::StatusOr<std::string> dir = LoadSecret(::testing::TempDir(), nullptr);
  EXPECT_THAT(std::string(dir.status().message()), HasSubstr("Is a directory"));

  absl::StatusOr<std::string> empty = LoadSecret(WriteTemp("empty", "\n"), nullptr);
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("is empty"));

  unsetenv("GOALKEEPER_TEST_SECRET_B");
  EXPECT_EQ(LoadSecret("", "GOALKEEPER_TEST_SECRET_B").status().message(),
            "GOALKEEPER_TEST_SECRET_B is not set");
  setenv("GOALKEEPER_TEST_SECRET_B", "", 1);
  EXPECT_EQ(LoadSecret("", "GOALKEEPER_TEST_SECRET_B").status().message(),
            "GOALKEEPER_TEST_SECRET_B is empty");
  unsetenv("GOALKEEPER_TEST_SECRET_B");
}

}  // namespace
}  // namespace goalkeeper
