// The operators' Telegram summary of one report. A summary stays a summary
// whatever the report's size: totals, counts per service and per owner (the
// largest first), the first new exposures, and "and N more" for the rest.
// Every name is cut to a bounded length, so the text is bounded and splits
// into at most kMaxTelegramSummaryParts messages (a 60k-exposure report was
// 502 messages when every new exposure had its own line). Services are the
// ones that answered (Exposure.service). A degraded report (a canary was
// missed) says "DEGRADED: canaries missed: ..." and counts nothing closed;
// "flaps: N" (changes the confirmation did not see again) is shown when
// degraded or N > 0.
//
//   std::vector<std::string> parts = RenderTelegramSummary(report, owners, stats, stage);
//   // parts.size() <= kMaxTelegramSummaryParts, each under 4096 characters, HTML
//
// Thread-safety: a pure function.
#ifndef GOALKEEPER_NOTIFIER_TELEGRAM_SUMMARY_H_
#define GOALKEEPER_NOTIFIER_TELEGRAM_SUMMARY_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "goalkeeper/v1/notifier.pb.h"
#include "notifier/owner_resolver.h"

namespace goalkeeper {

inline constexpr size_t kMaxTelegramSummaryParts = 3;
inline constexpr size_t kTelegramSummaryTopServices = 10;
inline constexpr size_t kTelegramSummaryTopOwners = 10;
inline constexpr size_t kTelegramSummaryNewEntries = 15;
// A degraded report's summary lists this many missed canaries, then "and N more".
inline constexpr size_t kTelegramSummaryCanaries = 10;

struct TelegramSummaryStats {
  uint64_t notified = 0;      // exposures notified to someone by this report
  uint64_t acknowledged = 0;  // exposures not notified because acknowledged
};

// `owners` has an entry for every exposure's ip. Text is escaped for
// Telegram's HTML parse mode.
std::vector<std::string> RenderTelegramSummary(const goalkeeper::v1::ScanReport& report,
                                               const std::map<std::string, Owner>& owners,
                                               const TelegramSummaryStats& stats, bool stage);

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_TELEGRAM_SUMMARY_H_
