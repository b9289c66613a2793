// Fuzzes the Telegram Bot API client's reading of sendMessage answers
// (notifier/telegram.h): the body is the input (JSON or not), the HTTP
// status and a Retry-After header come from its first byte, answered by a
// fake HttpClient.
//
// Checks: no crash or exception; an error always has a message that never
// holds the bot token; a retry_after is set only on RESOURCE_EXHAUSTED and
// lies in [0, 1 day].
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "common/http_client.h"
#include "notifier/telegram.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

constexpr char kToken[] = "123456:fuzz-bot-token-9f1e";
constexpr int kStatuses[8] = {200, 200, 200, 400, 401, 429, 429, 502};

class FuzzHttpClient : public HttpClient {
 public:
  FuzzHttpClient(int status, bool retry_after, std::string body)
      : status_(status), retry_after_(retry_after), body_(std::move(body)) {}
  absl::StatusOr<HttpResponse> Send(const HttpRequest&) override {
    HttpResponse resp;
    resp.status = status_;
    if (retry_after_) resp.headers.push_back({"Retry-After", body_.substr(0, 12)});
    resp.body = body_;
    return resp;
  }

 private:
  int status_;
  bool retry_after_;
  std::string body_;
};

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace goalkeeper;
  if (size == 0) return 0;
  const uint8_t first = data[0];
  const std::string body(FuzzText(data + 1, size - 1));
  FuzzHttpClient http(kStatuses[first & 7], (first & 8) != 0, body);
  auto sender = MakeTelegramBotSender("http://127.0.0.1:9", kToken, http);
  const TelegramResult r = sender->Send("-100123", "hello");
  if (!r.status.ok()) {
    FUZZ_CHECK(!r.status.message().empty());
    if (body.find(kToken) == std::string::npos) {
      FUZZ_CHECK(!absl::StrContains(r.status.message(), kToken));
    }
  }
  if (r.retry_after.has_value()) {
    FUZZ_CHECK(r.status.code() == absl::StatusCode::kResourceExhausted);
    FUZZ_CHECK(*r.retry_after >= absl::ZeroDuration() && *r.retry_after <= absl::Hours(24));
  }
  return 0;
}
