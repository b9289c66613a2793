// Test helper: the results a worker sends for a confirmation shard
// (Shard.confirm_indices) when nothing changed since the main scan: each
// index open exactly when the scan found its pair open.
//
//   v1::ReportFindingsRequest req = ...;
//   for (auto& r : StableConfirmation(shard, open_pairs)) *req.add_results() = r;
//
// Thread-safety: pure.
#ifndef GOALKEEPER_TESTS_COORDINATOR_CONFIRMATION_HELPER_H_
#define GOALKEEPER_TESTS_COORDINATOR_CONFIRMATION_HELPER_H_

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/ports.h"
#include "common/probe_space.h"
#include "common/targets.h"
#include "goalkeeper/v1/coordinator.pb.h"

namespace goalkeeper {

inline std::vector<goalkeeper::v1::ProbeResult> StableConfirmation(
    const goalkeeper::v1::Shard& shard, const std::set<std::pair<std::string, uint32_t>>& open) {
  std::vector<goalkeeper::v1::ProbeResult> out;
  const auto& spec = shard.targets();
  auto targets = TargetSet::Parse({spec.include().begin(), spec.include().end()},
                                  {spec.exclude().begin(), spec.exclude().end()});
  auto ports = PortSet::Parse(shard.profile().ports().spec());
  if (!targets.ok() || !ports.ok()) return out;
  auto space = ProbeSpace::Create(*targets, *ports, shard.slice().seed());
  if (!space.ok()) return out;
  for (uint64_t index : shard.confirm_indices()) {
    const ProbeTarget t = space->At(index);
    goalkeeper::v1::ProbeResult r;
    r.set_ip(t.address.ToString());
    r.set_port(t.port);
    r.set_state(open.count({r.ip(), r.port()}) > 0 ? goalkeeper::v1::PROBE_STATE_OPEN
                                                   : goalkeeper::v1::PROBE_STATE_CLOSED);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace goalkeeper

#endif  // GOALKEEPER_TESTS_COORDINATOR_CONFIRMATION_HELPER_H_
