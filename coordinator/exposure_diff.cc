#include "coordinator/exposure_diff.h"

namespace goalkeeper {

std::vector<ExposureDelta> DiffExposures(const ExposureMap& before, const ExposureMap& now) {
  std::vector<ExposureDelta> out;
  out.reserve(now.size());
  for (const auto& [key, found_ms] : now) {
    auto prev = before.find(key);
    if (prev == before.end()) {
      out.push_back({key, ExposureChange::kNew, found_ms});
    } else {
      out.push_back({key, ExposureChange::kStillOpen, prev->second});
    }
  }
  for (const auto& [key, first_seen_ms] : before) {
    if (!now.count(key)) out.push_back({key, ExposureChange::kClosed, first_seen_ms});
  }
  return out;
}

ExposureMap ExposuresAfter(const std::vector<ExposureDelta>& diff) {
  ExposureMap out;
  for (const ExposureDelta& d : diff) {
    if (d.change != ExposureChange::kClosed) out.emplace_hint(out.end(), d.key, d.first_seen_ms);
  }
  return out;
}

}  // namespace goalkeeper
