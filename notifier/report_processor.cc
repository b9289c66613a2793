#include "notifier/report_processor.h"

#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/services.h"
#include "common/status_macros.h"
#include "notifier/exposure_text.h"
#include "notifier/telegram_summary.h"
#include "probes/evidence.h"

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

probes::Transport ProbeTransport(v1::Transport t) {
  return t == v1::TRANSPORT_UDP ? probes::Transport::kUdp : probes::Transport::kTcp;
}

IpProtocol CatalogueProtocol(v1::Transport t) {
  return t == v1::TRANSPORT_UDP ? IpProtocol::kUdp : IpProtocol::kTcp;
}

// The service an exposure is grouped under: what answered when a probe
// confirmed it, else the catalogue's name of its port.
std::string GroupName(const v1::Exposure& e) {
  if (!e.service().empty()) return e.service();
  return ServiceName(static_cast<uint16_t>(e.port()), CatalogueProtocol(e.transport()));
}

// The catalogue entry of a group: by the service that answered (Redis on an
// unusual port gets Redis's advice), else by the port.
const ServiceInfo* GroupInfo(const v1::Exposure& e) {
  if (e.verified()) {
    if (const ServiceInfo* info = LookupServiceByName(e.service())) return info;
  }
  return LookupService(static_cast<uint16_t>(e.port()), CatalogueProtocol(e.transport()));
}

// The exposure's line of what was seen (notifier/exposure_text.h).
std::string Seen(const v1::Exposure& e) {
  probes::Evidence ev;
  ev.service = e.service();
  ev.verified = e.verified();
  ev.version = e.evidence().version();
  switch (e.evidence().auth()) {
    case v1::AUTH_STATE_REQUIRED:
      ev.auth = probes::Auth::kRequired;
      break;
    case v1::AUTH_STATE_NOT_REQUIRED:
      ev.auth = probes::Auth::kNotRequired;
      break;
    default:
      break;
  }
  ev.tls_offered = e.evidence().tls_offered();
  ev.request_bytes = e.evidence().request_bytes();
  ev.response_bytes = e.evidence().response_bytes();
  ev.amplification = e.evidence().amplification();
  ev.banner = e.evidence().banner();
  ev.facts.assign(e.evidence().facts().begin(), e.evidence().facts().end());
  return SeenText(e.port(), ProbeTransport(e.transport()), ev);
}

// "ip:port" (TCP, as before UDP existed) or "ip:port/udp".
std::string Where(const v1::Exposure& e) {
  return absl::StrCat(e.ip(), ":", e.port(), e.transport() == v1::TRANSPORT_UDP ? "/udp" : "");
}

std::string OwnerEmailBody(const Owner& owner, const std::vector<Item>& items,
                           const v1::ScanReport& report, const std::string& stage_note) {
  std::string body;
  if (!stage_note.empty()) absl::StrAppend(&body, stage_note, "\n\n");
  absl::StrAppend(&body, "Hello ", owner.name, ",\n\n",
                  "our daily security scan found services on your servers that anyone on the "
                  "Internet can reach. Services like these are attacked within hours of being "
                  "found, so please restrict them.\n");
  // Grouped by the service that answered, in the order the report lists them.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Item*>> groups;
  for (const Item& it : items) {
    const std::string name = GroupName(*it.exposure);
    auto [g, fresh] = groups.try_emplace(name);
    if (fresh) order.push_back(name);
    g->second.push_back(&it);
  }
  for (const std::string& name : order) {
    const std::vector<const Item*>& list = groups.at(name);
    absl::StrAppend(&body, "\n", name, " (", list.size(),
                    list.size() == 1 ? " service" : " services", ")\n");
    bool open = false;
    const ServiceInfo* info = nullptr;
    for (const Item* it : list) {
      const v1::Exposure& e = *it->exposure;
      absl::StrAppend(&body, "* ", Where(e), "  ", name, "  (", NotificationKindText(it->kind),
                      ", first seen ", Day(e.first_seen_unix_ms()), ")\n");
      if (it->kind == NotificationKind::kClosed) {
        absl::StrAppend(&body, "    No longer reachable. Thank you.\n");
        continue;
      }
      absl::StrAppend(&body, "    Seen: ", Seen(e), ".\n");
      open = true;
      if (info == nullptr) info = GroupInfo(e);
    }
    if (!open) continue;
    if (info != nullptr) {
      absl::StrAppend(&body, "  Risk: ", info->problem, ".\n  What to do: ", info->advice, ".\n");
    } else {
      absl::StrAppend(&body,
                      "  What to do: if this service need not be public, allow only "
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
  uint64_t suppressed_closed = 0;
  for (const v1::Exposure& e : report.exposures()) {
    const Owner& owner = owners.at(e.ip());
    owner_of[owner.key] = &owner;
    // A degraded run's misses are unknown: nothing it saw closed is told or
    // stored (the exposure stays as it was until a trusted run).
    if (report.degraded() && e.status() == v1::CLOSED) {
      ++suppressed_closed;
      continue;
    }
    ASSIGN_OR_RETURN(bool acked, store_.IsAcknowledged(e.ip(), e.port(), now, e.transport()));
    for (const AcknowledgedExposure& a : config_.acknowledged) {
      // The config's acknowledgements are IP:PORT, TCP.
      if (a.ip == e.ip() && a.port == e.port() && e.transport() == v1::TRANSPORT_TCP &&
          a.until > now) {
        acked = true;
      }
    }
    ASSIGN_OR_RETURN(std::optional<ExposureState> state,
                     store_.GetExposure(owner.key, e.ip(), e.port(), e.transport()));
    ExposureUpdate u{owner.key, e.ip(), e.port(), e.status() != v1::CLOSED, false, e.transport()};
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
      absl::StrAppend(&body, "* ", Where(e), "  ", GroupName(e), "  (",
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
          "emails={} telegram_parts={} degraded={} closed_suppressed={}",
          report.scan_id(), report.exposures_size(), notified_exposures, acknowledged,
          by_owner.size(), items.size() - parts.size(), parts.size(), report.degraded(),
          suppressed_closed);
  return absl::OkStatus();
}

}  // namespace goalkeeper
