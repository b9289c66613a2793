// Telegram delivery: the Bot API's sendMessage with HTML parse mode, text
// escaped, split at line boundaries into messages under 4096 characters, and
// flood control (429 with parameters.retry_after) reported back so the
// outbox waits that long. With no token configured, messages go to the log.
//
//   std::unique_ptr<TelegramSender> tg = MakeTelegramBotSender(api_url, token, http);
//   TelegramResult r = tg->Send("-100123", "<b>3 new exposures</b>");
//
// Thread-safety: implementations are thread-safe.
#ifndef GOALKEEPER_NOTIFIER_TELEGRAM_H_
#define GOALKEEPER_NOTIFIER_TELEGRAM_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/http_client.h"

namespace goalkeeper {

// Escapes <, > and & (and " for attributes) for parse_mode HTML.
std::string EscapeTelegramHtml(absl::string_view text);

// Splits `html` at '\n' boundaries into parts of at most `limit` characters
// (UTF-8 code points, as Telegram counts). A single line longer than the
// limit is cut at the limit, never inside a tag or an entity (&amp;).
std::vector<std::string> SplitTelegramMessage(absl::string_view html, size_t limit = 4096);

struct TelegramResult {
  absl::Status status;
  std::optional<absl::Duration> retry_after;  // set on 429
};

class TelegramSender {
 public:
  virtual ~TelegramSender() = default;
  // Sends one message (already split and escaped). Errors never contain the
  // token: "telegram sendMessage: HTTP 400: Bad Request: chat not found".
  virtual TelegramResult Send(const std::string& chat_id, const std::string& html) = 0;
};

// POST {api_url}/bot{token}/sendMessage, JSON body with chat_id, text,
// parse_mode "HTML" and link previews disabled.
std::unique_ptr<TelegramSender> MakeTelegramBotSender(std::string api_url, std::string token,
                                                      HttpClient& http);
// Logs each message (info level) instead of sending it.
std::unique_ptr<TelegramSender> MakeLogTelegramSender();

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_TELEGRAM_H_
