#include "notifier/report_processor.h"

#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/services.h"
#include "common/status_macros.h"
#include "notifier/telegram_summary.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

struct Item {
  const v1::Exposure* exposure;
  NotificationKind kind;
};

std::string Day(int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

std::string OwnerEmailBody(const Owner& owner, const std::vector<Item>& items,
                           const v1::ScanReport& report, const std::string& stage_note) {
  std::string body;
  if (!stage_note.empty()) absl::StrAppend(&body, stage_note, "\n\n");
  absl::StrAppend(&body, "Hello ", owner.name, ",\n\n",
                  "our daily security scan found services on your servers that anyone on the "
                  "Internet can reach. Services like these are attacked within hours of being "
                  "found, so please restrict them.\n\n");
  for (const Item& it : items) {
    const v1::Exposure& e = *it.exposure;
    const ServiceInfo* info = LookupService(static_cast<uint16_t>(e.port()));
    absl::StrAppend(&body, "* ", e.ip(), ":", e.port(), "  ", e.service(), "  (",
                    NotificationKindText(it.kind), ", first seen ", Day(e.first_seen_unix_ms()),
                    ")\n");
    if (it.kind == NotificationKind::kClosed) {
      absl::StrAppend(&body, "    No longer reachable. Thank you.\n");
    } else if (info != nullptr) {
      absl::StrAppend(&body, "    Risk: ", info->problem, ".\n    What to do: ", info->advice,
                      ".\n");
    } else {
      absl::StrAppend(&body,
                      "    What to do: if this service need not be public, allow only "
                      "the addresses that need it in your firewall or security group.\n");
    }
  }
  absl::StrAppend(
      &body, "\nScan ", report.scan_id(), ", finished ",
      absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::FromUnixMillis(report.finished_unix_ms()),
                       absl::UTCTimeZone()),
      ".\nIf an exposure is intended, reply to this message and we will stop "
      "reminding you about it.\n");
  return body;
}

}  // namespace

absl::string_view NotificationKindText(NotificationKind kind) {
  switch (kind) {
    case NotificationKind::kNew:
      return "new";
    case NotificationKind::kStillOpen:
      return "still open";
    case NotificationKind::kClosed:
      return "closed";
  }
  return "unknown";
}

ReportProcessor::ReportProcessor(const NotifierConfig& config, NotificationStore& store,
                                 const Clock& clock, ResolveFn resolve)
    : config_(config), store_(store), clock_(clock), resolve_(std::move(resolve)) {}

absl::Status ReportProcessor::Process(const v1::ScanReport& report) {
  const absl::Time now = clock_.Now();
  std::vector<std::string> ips;
  {
    std::set<std::string> seen;
    for (const v1::Exposure& e : report.exposures()) {
      if (seen.insert(e.ip()).second) ips.push_back(e.ip());
    }
  }
  ASSIGN_OR_RETURN(auto owners, resolve_(ips, &counts_));

  // Group by owner; decide per (owner, ip, port).
  std::map<std::string, std::vector<Item>> by_owner;
  std::map<std::string, const Owner*> owner_of;
  std::vector<ExposureUpdate> updates;
  uint64_t acknowledged = 0;
  for (const v1::Exposure& e : report.exposures()) {
    const Owner& owner = owners.at(e.ip());
    owner_of[owner.key] = &owner;
    ASSIGN_OR_RETURN(bool acked, store_.IsAcknowledged(e.ip(), e.port(), now));
    for (const AcknowledgedExposure& a : config_.acknowledged) {
      if (a.ip == e.ip() && a.port == e.port() && a.until > now) acked = true;
    }
    ASSIGN_OR_RETURN(std::optional<ExposureState> state,
                     store_.GetExposure(owner.key, e.ip(), e.port()));
    ExposureUpdate u{owner.key, e.ip(), e.port(), e.status() != v1::CLOSED, false};
    std::optional<NotificationKind> kind;
    if (e.status() == v1::CLOSED) {
      if (config_.notify_closed && state && state->open) kind = NotificationKind::kClosed;
    } else if (!state || !state->open || e.status() == v1::NEW) {
      kind = NotificationKind::kNew;
    } else if (now - state->last_notified >= config_.repeat_interval) {
      kind = NotificationKind::kStillOpen;
    }
    if (acked && kind.has_value()) {
      ++acknowledged;
      kind.reset();
    }
    if (kind.has_value()) {
      u.notified = true;
      by_owner[owner.key].push_back({&e, *kind});
    }
    if (state || e.status() != v1::CLOSED) updates.push_back(u);
  }

  std::vector<OutboxItem> items;
  const bool stage = config_.mode == NotifierMode::kStage;
  auto base_item = [&](const std::string& key) {
    OutboxItem it;
    it.key = key;
    it.scan_id = report.scan_id();
    it.channel = Channel::kEmail;
    it.created = now;
    it.next_attempt = now;
    return it;
  };
  uint64_t notified_exposures = 0;
  for (const auto& [key, list] : by_owner) {
    const Owner& owner = *owner_of.at(key);
    notified_exposures += list.size();
    if (key == kNotFound) continue;  // the operators' report below
    OutboxItem it = base_item(absl::StrCat("email:", report.scan_id(), ":", key));
    std::string stage_note;
    if (stage) {
      it.to = config_.ops_emails;
      stage_note = absl::StrCat("[stage] In prod this would go to ", owner.name, " <",
                                absl::StrJoin(owner.emails, ", "), ">.");
    } else {
      it.to = owner.emails;
      it.cc = config_.ops_emails;
    }
    it.subject = absl::StrCat(stage ? "[stage] " : "", "Security notice: ", list.size(),
                              list.size() == 1 ? " service" : " services",
                              " exposed to the Internet (", owner.name, ")");
    it.body = OwnerEmailBody(owner, list, report, stage_note);
    items.push_back(std::move(it));
  }
  if (auto nf = by_owner.find(kNotFound); nf != by_owner.end() && !config_.ops_emails.empty()) {
    OutboxItem it = base_item(absl::StrCat("email:", report.scan_id(), ":", kNotFound));
    it.to = config_.ops_emails;
    it.subject = absl::StrCat(stage ? "[stage] " : "", "Owner NOT FOUND for ", nf->second.size(),
                              " exposed service", nf->second.size() == 1 ? "" : "s");
    std::string body = "These exposed services could not be attributed to an owner:\n\n";
    for (const Item& item : nf->second) {
      const v1::Exposure& e = *item.exposure;
      absl::StrAppend(&body, "* ", e.ip(), ":", e.port(), "  ", e.service(), "  (",
                      NotificationKindText(item.kind),
                      ") owner NOT FOUND: ", owners.at(e.ip()).reason, "\n");
    }
    absl::StrAppend(&body, "\nScan ", report.scan_id(), ".\n");
    it.body = std::move(body);
    items.push_back(std::move(it));
  }

  // One Telegram summary to the operators' chat (always, even when quiet),
  // a few messages whatever the report's size.
  const std::vector<std::string> parts =
      RenderTelegramSummary(report, owners, {notified_exposures, acknowledged}, stage);
  for (size_t i = 0; i < parts.size(); ++i) {
    OutboxItem it = base_item(absl::StrCat("telegram:", report.scan_id(), ":", i));
    it.channel = Channel::kTelegram;
    it.to = {config_.ops_telegram_chat_id};
    it.body = parts[i];
    items.push_back(std::move(it));
  }

  RETURN_IF_ERROR(store_.CompleteReport(report.scan_id(), updates, items, now));
  MakeLogger("notifier")
      ->info(
          "report processed scan={} exposures={} notified={} acknowledged={} owners={} "
          "emails={} telegram_parts={}",
          report.scan_id(), report.exposures_size(), notified_exposures, acknowledged,
          by_owner.size(), items.size() - parts.size(), parts.size());
  return absl::OkStatus();
}

}  // namespace goalkeeper
