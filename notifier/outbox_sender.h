// Sends what the outbox holds: each due notification goes out once through
// its channel (email via the Mailer, Telegram via the TelegramSender), is
// marked sent only after the channel accepted it, and on failure waits with
// exponential backoff (10 s doubling to 10 minutes; Telegram's retry_after
// when given). A notification still unsent notify.give_up_after after it was
// queued moves to the dead letters, and the operators are told (a log line
// at error level, and an email and a Telegram message to them unless the
// dead notification was itself for them).
//
// Exactly once: the outbox key is the idempotency key (one row per
// notification) and the email's Message-ID; a crash between the channel's
// acceptance and the mark can repeat that one message with the same
// Message-ID (at-least-once at that instant), never lose it.
//
//   OutboxSender sender(config, store, *mailer, *telegram, clock);
//   sender.Tick();   // every second
//
// Thread-safety: Tick is called from one thread.
#ifndef GOALKEEPER_NOTIFIER_OUTBOX_SENDER_H_
#define GOALKEEPER_NOTIFIER_OUTBOX_SENDER_H_

#include <cstdint>
#include <map>
#include <string>

#include "common/clock.h"
#include "notifier/config.h"
#include "notifier/mailer.h"
#include "notifier/notification_store.h"
#include "notifier/outbox.h"
#include "notifier/telegram.h"

namespace goalkeeper {

struct SenderCounts {
  std::map<Channel, uint64_t> sent;
  std::map<Channel, uint64_t> failed;  // attempts that failed
  std::map<Channel, uint64_t> dead;
  // Failures whose answer said when to retry (Telegram's 429 retry_after),
  // retried then rather than after the backoff.
  std::map<Channel, uint64_t> rate_limited;
};

class OutboxSender {
 public:
  OutboxSender(const NotifierConfig& config, NotificationStore& store, Mailer& mailer,
               TelegramSender& telegram, const Clock& clock);

  // Attempts every due notification once; returns how many were sent.
  int Tick();
  static absl::Duration Backoff(uint32_t attempts);
  const SenderCounts& counts() const { return counts_; }

 private:
  absl::Status SendOne(const OutboxItem& item, std::optional<absl::Duration>* retry_after);
  void DeadLetter(const OutboxItem& item, absl::Time now);

  const NotifierConfig& config_;
  NotificationStore& store_;
  Mailer& mailer_;
  TelegramSender& telegram_;
  const Clock& clock_;
  SenderCounts counts_;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_OUTBOX_SENDER_H_
