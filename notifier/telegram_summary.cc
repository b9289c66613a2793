#include "notifier/telegram_summary.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/utf8.h"
#include "notifier/telegram.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

// Names (services, owners, scan ids) are cut to this many characters.
constexpr size_t kMaxNameChars = 80;

// `text` cut to `max_chars` UTF-8 characters ("…" marks a cut), escaped.
std::string Short(absl::string_view text, size_t max_chars = kMaxNameChars) {
  size_t end = 0;
  size_t chars = 0;
  while (end < text.size() && chars < max_chars) {
    end += Utf8SequenceLength(text, end);
    ++chars;
  }
  if (end >= text.size()) return EscapeTelegramHtml(text);
  return absl::StrCat(EscapeTelegramHtml(text.substr(0, end)), "…");
}

struct Tally {
  uint64_t exposed = 0;  // open (new or still open)
  uint64_t fresh = 0;    // new
};

// Entries by exposed count, largest first, then by name.
std::vector<std::pair<std::string, Tally>> Ranked(const std::map<std::string, Tally>& by) {
  std::vector<std::pair<std::string, Tally>> out(by.begin(), by.end());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second.exposed != b.second.exposed ? a.second.exposed > b.second.exposed
                                                : a.first < b.first;
  });
  return out;
}

// "<b>title</b>" and the top `limit` entries, then "… and N more <plural>".
void AppendTop(std::string& out, absl::string_view title, absl::string_view plural,
               const std::map<std::string, Tally>& by, size_t limit) {
  if (by.empty()) return;
  absl::StrAppend(&out, "\n<b>", title, "</b> (", by.size(), " ", plural, ")\n");
  const std::vector<std::pair<std::string, Tally>> ranked = Ranked(by);
  uint64_t rest = 0;
  for (size_t i = 0; i < ranked.size(); ++i) {
    const auto& [name, tally] = ranked[i];
    if (i >= limit) {
      rest += tally.exposed;
      continue;
    }
    absl::StrAppend(&out, Short(name), ": ", tally.exposed);
    if (tally.fresh > 0) absl::StrAppend(&out, " (", tally.fresh, " new)");
    absl::StrAppend(&out, "\n");
  }
  if (ranked.size() > limit) {
    absl::StrAppend(&out, "… and ", ranked.size() - limit, " more ", plural, " (", rest,
                    " exposed)\n");
  }
}

}  // namespace

std::vector<std::string> RenderTelegramSummary(const v1::ScanReport& report,
                                               const std::map<std::string, Owner>& owners,
                                               const TelegramSummaryStats& stats, bool stage) {
  uint64_t n_new = 0;
  uint64_t n_open = 0;
  uint64_t n_closed = 0;
  std::map<std::string, Tally> by_service;
  std::map<std::string, Tally> by_owner;
  std::string new_lines;
  for (const v1::Exposure& e : report.exposures()) {
    if (e.status() == v1::CLOSED) {
      if (!report.degraded()) ++n_closed;  // a degraded run says nothing closed
      continue;
    }
    ++n_open;
    const bool fresh = e.status() == v1::NEW;
    const std::string service = e.service().empty() ? absl::StrCat("port ", e.port()) : e.service();
    auto owner = owners.find(e.ip());
    const std::string owner_name = owner == owners.end() ? kNotFound : owner->second.name;
    Tally& s = by_service[service];
    Tally& o = by_owner[owner_name];
    ++s.exposed;
    ++o.exposed;
    if (!fresh) continue;
    ++s.fresh;
    ++o.fresh;
    if (++n_new <= kTelegramSummaryNewEntries) {
      absl::StrAppend(&new_lines, "• ", Short(e.ip(), 45), ":", e.port(), " ", Short(service),
                      " — ", Short(owner_name), "\n");
    }
  }
  std::string summary = absl::StrCat(
      "<b>Goalkeeper", stage ? " [stage]" : "", "</b> scan ", Short(report.scan_id()),
      report.inventory().empty() ? "" : absl::StrCat(" (", Short(report.inventory()), ")"), "\n",
      n_open, " exposed, ", n_new, " new, ", n_closed, " closed; ", stats.notified, " notified, ",
      stats.acknowledged, " acknowledged\n");
  if (report.degraded()) {
    std::string missed;
    for (int i = 0; i < report.missed_canaries_size(); ++i) {
      if (i == static_cast<int>(kTelegramSummaryCanaries)) {
        absl::StrAppend(&missed, " and ", report.missed_canaries_size() - i, " more");
        break;
      }
      absl::StrAppend(&missed, i == 0 ? "" : ", ", Short(report.missed_canaries(i), 60));
    }
    absl::StrAppend(&summary, "<b>DEGRADED</b>: canaries missed: ",
                    missed.empty() ? std::string("(none listed)") : missed,
                    "; closed exposures are not reported\n");
  }
  if (report.degraded() || report.flap_count() > 0) {
    absl::StrAppend(&summary, "flaps: ", report.flap_count(), "\n");
  }
  AppendTop(summary, "By service", "services", by_service, kTelegramSummaryTopServices);
  AppendTop(summary, "Top owners", "owners", by_owner, kTelegramSummaryTopOwners);
  if (n_new > 0) {
    absl::StrAppend(&summary, "\n<b>New</b>");
    if (n_new > kTelegramSummaryNewEntries) {
      absl::StrAppend(&summary, " (the first ", kTelegramSummaryNewEntries, " of ", n_new, ")");
    }
    absl::StrAppend(&summary, "\n", new_lines);
    if (n_new > kTelegramSummaryNewEntries) {
      absl::StrAppend(&summary, "… and ", n_new - kTelegramSummaryNewEntries, " more new\n");
    }
  }
  std::vector<std::string> parts = SplitTelegramMessage(summary);
  // Bounded by construction (about 40 lines of bounded length); the cap
  // keeps it so should the limits above grow.
  if (parts.size() > kMaxTelegramSummaryParts) parts.resize(kMaxTelegramSummaryParts);
  return parts;
}

}  // namespace goalkeeper
