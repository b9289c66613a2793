// The one comparison of two sets of open (address, port) pairs, used both by
// DiffScan and by the end-of-scan report: which pairs are new, still open
// (keeping the first time they were seen) and closed. Pure: no store, no
// clock, no strings split back apart.
//
//   ExposureMap before = {{{"10.0.0.1", 22}, first_seen_ms}};
//   ExposureMap now = {{{"10.0.0.1", 22}, found_ms}, {{"10.0.0.2", 80}, found_ms}};
//   std::vector<ExposureDelta> d = DiffExposures(before, now);
//   // d: 10.0.0.1:22 still open (first seen from `before`), 10.0.0.2:80 new
//
// Thread-safety: pure functions.
#ifndef GOALKEEPER_COORDINATOR_EXPOSURE_DIFF_H_
#define GOALKEEPER_COORDINATOR_EXPOSURE_DIFF_H_

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace goalkeeper {

// One exposed pair. Ordered as the store orders findings (ip text, port).
struct ExposureKey {
  std::string ip;
  uint32_t port = 0;
  auto operator<=>(const ExposureKey&) const = default;
};

// Pair -> first seen (Unix ms); for a scan's own findings, when found.
using ExposureMap = std::map<ExposureKey, int64_t>;

enum class ExposureChange { kNew, kStillOpen, kClosed };

struct ExposureDelta {
  ExposureKey key;
  ExposureChange change = ExposureChange::kNew;
  int64_t first_seen_ms = 0;  // from `before` when it was open then
  bool operator==(const ExposureDelta&) const = default;
};

// The pairs of `now` in key order (new or still open), then the pairs of
// `before` missing from `now` in key order (closed).
std::vector<ExposureDelta> DiffExposures(const ExposureMap& before, const ExposureMap& now);

// The exposures after the scan: `now`'s pairs, keeping `before`'s first-seen
// time for those still open.
ExposureMap ExposuresAfter(const std::vector<ExposureDelta>& diff);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_EXPOSURE_DIFF_H_
