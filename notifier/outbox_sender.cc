#include "notifier/outbox_sender.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "notifier/outbox.h"

namespace goalkeeper {

OutboxSender::OutboxSender(const NotifierConfig& config, NotificationStore& store, Mailer& mailer,
                           TelegramSender& telegram, const Clock& clock)
    : config_(config), store_(store), mailer_(mailer), telegram_(telegram), clock_(clock) {}

absl::Duration OutboxSender::Backoff(uint32_t attempts) {
  const uint32_t shift = std::min<uint32_t>(attempts > 0 ? attempts - 1 : 0, 16);
  return std::min(absl::Seconds(10) * (int64_t{1} << shift), absl::Minutes(10));
}

absl::Status OutboxSender::SendOne(const OutboxItem& item,
                                   std::optional<absl::Duration>* retry_after) {
  switch (item.channel) {
    case Channel::kEmail: {
      EmailMessage m;
      m.from = config_.email_from;
      m.to = item.to;
      m.cc = item.cc;
      m.subject = item.subject;
      m.text_body = item.body;
      m.message_id = MessageIdFor(item.key);
      m.date = clock_.Now();
      return mailer_.Send(m);
    }
    case Channel::kTelegram: {
      TelegramResult r = telegram_.Send(item.to.empty() ? "" : item.to.front(), item.body);
      *retry_after = r.retry_after;
      return r.status;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown channel ", static_cast<int>(item.channel)));
}

void OutboxSender::DeadLetter(const OutboxItem& item, absl::Time now) {
  auto log = MakeLogger("notifier");
  log->error("notification given up key={} channel={} to={} attempts={} last_error={}", item.key,
             ChannelName(item.channel), absl::StrJoin(item.to, ","), item.attempts,
             item.last_error);
  store_.MarkDead(item.key, item.last_error, now).IgnoreError();
  ++counts_.dead[item.channel];
  const bool for_ops_email = item.channel == Channel::kEmail && item.to == config_.ops_emails;
  const bool for_ops_chat = item.channel == Channel::kTelegram;
  const std::string text = absl::StrCat(
      "A notification could not be delivered for ", absl::FormatDuration(now - item.created),
      " and was given up.\nkey: ", item.key, "\nchannel: ", ChannelName(item.channel),
      "\nrecipients: ", absl::StrJoin(item.to, ", "), "\nsubject: ", item.subject,
      "\nlast error: ", item.last_error, "\n");
  if (!for_ops_email && !config_.ops_emails.empty()) {
    OutboxItem notice;
    notice.key = absl::StrCat("dead:email:", item.key);
    notice.scan_id = item.scan_id;
    notice.channel = Channel::kEmail;
    notice.to = config_.ops_emails;
    notice.subject = "Goalkeeper: a notification was given up";
    notice.body = text;
    notice.created = now;
    notice.next_attempt = now;
    store_.Enqueue(notice).IgnoreError();
  }
  if (!for_ops_chat) {
    OutboxItem notice;
    notice.key = absl::StrCat("dead:telegram:", item.key);
    notice.scan_id = item.scan_id;
    notice.channel = Channel::kTelegram;
    notice.to = {config_.ops_telegram_chat_id};
    notice.body = absl::StrCat("<b>Goalkeeper</b>: a notification to ",
                               EscapeTelegramHtml(absl::StrJoin(item.to, ", ")),
                               " was given up: ", EscapeTelegramHtml(item.last_error));
    notice.created = now;
    notice.next_attempt = now;
    store_.Enqueue(notice).IgnoreError();
  }
}

int OutboxSender::Tick() {
  const absl::Time now = clock_.Now();
  auto due = store_.DueOutbox(now, 50);
  auto log = MakeLogger("notifier");
  if (!due.ok()) {
    log->error("cannot read the outbox: {}", due.status().message());
    return 0;
  }
  int sent = 0;
  for (const OutboxItem& item : *due) {
    if (now - item.created >= config_.give_up_after) {
      DeadLetter(item, now);
      continue;
    }
    std::optional<absl::Duration> retry_after;
    absl::Status s = SendOne(item, &retry_after);
    if (s.ok()) {
      store_.MarkSent(item.key, clock_.Now()).IgnoreError();
      ++counts_.sent[item.channel];
      ++sent;
      log->info("notification sent key={} channel={} to={} attempts={}", item.key,
                ChannelName(item.channel), absl::StrJoin(item.to, ","), item.attempts + 1);
      continue;
    }
    ++counts_.failed[item.channel];
    if (retry_after.has_value()) ++counts_.rate_limited[item.channel];
    const uint32_t attempts = item.attempts + 1;
    absl::Duration wait = retry_after.value_or(Backoff(attempts));
    if (s.code() == absl::StatusCode::kInvalidArgument) {
      // Every recipient refused, or a malformed notification: retrying cannot help.
      OutboxItem dead = item;
      dead.attempts = attempts;
      dead.last_error = std::string(s.message());
      DeadLetter(dead, now);
      continue;
    }
    log->warn("notification failed key={} channel={} attempt={} retry_in={} error={}", item.key,
              ChannelName(item.channel), attempts, absl::FormatDuration(wait), s.message());
    store_.MarkRetry(item.key, attempts, now + wait, std::string(s.message())).IgnoreError();
  }
  return sent;
}

}  // namespace goalkeeper
