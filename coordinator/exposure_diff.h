// The one comparison of two sets of open (address, port, transport) pairs,
// used both by DiffScan and by the end-of-scan report: which pairs are new,
// still open (keeping the first time they were seen) and closed, each with
// what its probe saw (the current scan's; for a closed pair, the base's).
// Pure: no store, no clock, no strings split back apart.
//
//   ExposureMap before = {{{"10.0.0.1", 22}, first_seen_ms}};
//   ExposureMap now = {{{"10.0.0.1", 22}, found_ms}, {{"10.0.0.2", 53, kUdp}, found_ms}};
//   std::vector<ExposureDelta> d = DiffExposures(before, now);
//   // d: 10.0.0.1:22 still open (first seen from `before`), 10.0.0.2:53/udp new
//
// Thread-safety: pure functions.
#ifndef GOALKEEPER_COORDINATOR_EXPOSURE_DIFF_H_
#define GOALKEEPER_COORDINATOR_EXPOSURE_DIFF_H_

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace goalkeeper {

// Transports as goalkeeper.v1.Transport numbers them (stored as such).
inline constexpr int kExposureTcp = 0;
inline constexpr int kExposureUdp = 1;

// One exposed pair. Ordered as the store orders findings (ip text, port,
// transport).
struct ExposureKey {
  ExposureKey() = default;
  ExposureKey(std::string a, uint32_t p, int t = kExposureTcp)
      : ip(std::move(a)), port(p), transport(t) {}
  std::string ip;
  uint32_t port = 0;
  int transport = kExposureTcp;
  auto operator<=>(const ExposureKey&) const = default;
  bool operator==(const ExposureKey&) const = default;
};

// What the probe of a pair saw: the service that answered (or the
// catalogue's name), whether a probe verified it, and its evidence (a
// serialized goalkeeper.v1.Evidence, "" when none).
struct ExposureDetail {
  std::string service;
  bool verified = false;
  std::string evidence;
  bool operator==(const ExposureDetail&) const = default;
};

// A pair's time (first seen, or for a scan's own findings when found) and
// what was seen.
struct ExposureInfo {
  ExposureInfo() = default;
  ExposureInfo(int64_t time_ms, ExposureDetail d = {})  // NOLINT: a time alone converts
      : ms(time_ms), detail(std::move(d)) {}
  int64_t ms = 0;
  ExposureDetail detail;
  bool operator==(const ExposureInfo&) const = default;
};

using ExposureMap = std::map<ExposureKey, ExposureInfo>;

enum class ExposureChange { kNew, kStillOpen, kClosed };

struct ExposureDelta {
  ExposureDelta() = default;
  ExposureDelta(ExposureKey k, ExposureChange c, int64_t first_seen, ExposureDetail d = {})
      : key(std::move(k)), change(c), first_seen_ms(first_seen), detail(std::move(d)) {}
  ExposureKey key;
  ExposureChange change = ExposureChange::kNew;
  int64_t first_seen_ms = 0;  // from `before` when it was open then
  ExposureDetail detail;      // from `now`; for a closed pair from `before`
  bool operator==(const ExposureDelta&) const = default;
};

// The pairs of `now` in key order (new or still open), then the pairs of
// `before` missing from `now` in key order (closed).
std::vector<ExposureDelta> DiffExposures(const ExposureMap& before, const ExposureMap& now);

// The exposures after the scan: `now`'s pairs with their detail, keeping
// `before`'s first-seen time for those still open.
ExposureMap ExposuresAfter(const std::vector<ExposureDelta>& diff);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_EXPOSURE_DIFF_H_
