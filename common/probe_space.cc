#include "common/probe_space.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace goalkeeper {
namespace {

std::vector<uint16_t> SortedUnique(std::vector<uint16_t> ports) {
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  return ports;
}

}  // namespace

absl::uint128 ProbeSpace::CountPairs(const TargetSet& targets, const PortSet& ports,
                                     const std::vector<uint16_t>& udp_ports) {
  absl::uint128 n = targets.size();
  absl::uint128 p = ports.size() + SortedUnique(udp_ports).size();
  if (n == 0 || p == 0) return 0;
  if (n > absl::Uint128Max() / p) return absl::Uint128Max();
  return n * p;
}

absl::StatusOr<ProbeSpace> ProbeSpace::Create(TargetSet targets, PortSet ports, uint64_t seed,
                                              std::vector<uint16_t> udp_ports) {
  udp_ports = SortedUnique(std::move(udp_ports));
  if (!udp_ports.empty() && udp_ports.front() == 0) {
    return absl::InvalidArgumentError("UDP port 0 cannot be probed");
  }
  absl::uint128 pairs = CountPairs(targets, ports, udp_ports);
  if (pairs == 0) return absl::InvalidArgumentError("the scan has no probes");
  if (pairs > Permutation::kMaxSize) {
    return absl::OutOfRangeError(
        absl::StrCat("the scan has ", pairs == absl::Uint128Max() ? "over 2^128" : ToDecimal(pairs),
                     " probes; at most 2^63 are supported"));
  }
  uint64_t size = static_cast<uint64_t>(pairs);
  return ProbeSpace(std::move(targets), std::move(ports), std::move(udp_ports), seed, size);
}

}  // namespace goalkeeper
