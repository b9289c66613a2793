// What the outbox holds: one row per notification, stored before it is sent
// (notifier/notification_store.h) and sent by notifier/outbox_sender.h. Its
// key is the idempotency key ("email:<scan>:<owner>", "telegram:<scan>:0")
// and, through MessageIdFor, the email's Message-ID, so a resent email is
// recognisably the same message.
//
//   OutboxItem it{.key = "email:s1:fleio:7", .channel = Channel::kEmail, ...};
//   std::string id = MessageIdFor(it.key);   // "<1f0c...@goalkeeper>", stable
//   ChannelName(Channel::kTelegram);          // "telegram" (stored in SQLite)
//
// Thread-safety: plain data and pure functions.
#ifndef GOALKEEPER_NOTIFIER_OUTBOX_H_
#define GOALKEEPER_NOTIFIER_OUTBOX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace goalkeeper {

// How a notification is delivered. Stored in the outbox by its stable name
// (ChannelName), the same text the notifier has always written, so existing
// databases read unchanged.
enum class Channel { kEmail, kTelegram };
inline constexpr Channel kAllChannels[] = {Channel::kEmail, Channel::kTelegram};

// "email" or "telegram": the stored name, also used in keys, logs and metrics.
absl::string_view ChannelName(Channel channel);
// The channel named `name` (as ChannelName writes it); nullopt otherwise.
std::optional<Channel> ParseChannel(absl::string_view name);

// Stored as integers (the outbox's state column).
enum class OutboxState : int { kPending = 0, kSent = 1, kDead = 2 };

struct OutboxItem {
  std::string key;  // idempotency key, e.g. "email:<scan>:<owner>"
  std::string scan_id;
  Channel channel = Channel::kEmail;
  std::vector<std::string> to;  // emails, or one chat id
  std::vector<std::string> cc;
  std::string subject;
  std::string body;
  uint32_t attempts = 0;
  absl::Time created;
  absl::Time next_attempt;
  std::string last_error;
};

// A stable Message-ID for an outbox key (same key, same id).
std::string MessageIdFor(const std::string& key);

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_OUTBOX_H_
