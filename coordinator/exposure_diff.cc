#include "coordinator/exposure_diff.h"

namespace goalkeeper {

std::vector<ExposureDelta> DiffExposures(const ExposureMap& before, const ExposureMap& now) {
  std::vector<ExposureDelta> out;
  out.reserve(now.size());
  for (const auto& [key, info] : now) {
    auto prev = before.find(key);
    if (prev == before.end()) {
      out.emplace_back(key, ExposureChange::kNew, info.ms, info.detail);
    } else {
      out.emplace_back(key, ExposureChange::kStillOpen, prev->second.ms, info.detail);
    }
  }
  for (const auto& [key, info] : before) {
    if (!now.count(key)) out.emplace_back(key, ExposureChange::kClosed, info.ms, info.detail);
  }
  return out;
}

ExposureMap ExposuresAfter(const std::vector<ExposureDelta>& diff) {
  ExposureMap out;
  for (const ExposureDelta& d : diff) {
    if (d.change != ExposureChange::kClosed) {
      out.emplace_hint(out.end(), d.key, ExposureInfo(d.first_seen_ms, d.detail));
    }
  }
  return out;
}

}  // namespace goalkeeper
