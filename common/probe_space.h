// The probe space of a scan: every (address, port) pair of a target set and a
// port set, in a seeded pseudo-random order. Index i of the order is probe
// At(i); any index range is a reproducible shard.
//
//   ASSIGN_OR_RETURN(ProbeSpace space, ProbeSpace::Create(targets, ports, seed));
//   ProbeTarget t = space.At(17);   // {127.0.3.9, 5432}
//   std::optional<uint64_t> i = space.IndexOf(t);  // 17
//
// Thread-safety: immutable after Create; safe to share.
#ifndef GOALKEEPER_COMMON_PROBE_SPACE_H_
#define GOALKEEPER_COMMON_PROBE_SPACE_H_

#include <algorithm>
#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "common/ip_address.h"
#include "common/permutation.h"
#include "common/ports.h"
#include "common/targets.h"

namespace goalkeeper {

struct ProbeTarget {
  IpAddress address;
  uint16_t port = 0;
};

class ProbeSpace {
 public:
  // Fails with OutOfRange when the number of pairs exceeds 2^63.
  static absl::StatusOr<ProbeSpace> Create(TargetSet targets, PortSet ports, uint64_t seed);
  // The number of pairs (addresses x ports) before Create's check, saturating.
  static absl::uint128 CountPairs(const TargetSet& targets, const PortSet& ports);

  uint64_t size() const { return permutation_.size(); }
  uint64_t seed() const { return seed_; }
  const TargetSet& targets() const { return targets_; }
  const PortSet& ports() const { return ports_; }

  // Requires index < size().
  ProbeTarget At(uint64_t index) const {
    uint64_t v = permutation_.At(index);
    const auto& p = ports_.ports();
    return {targets_.At(v / p.size()), p[v % p.size()]};
  }
  // The inverse of At: the index of a pair, or nullopt when the address or
  // the port is not part of the space.
  std::optional<uint64_t> IndexOf(const ProbeTarget& t) const {
    const std::optional<absl::uint128> address = targets_.IndexOf(t.address);
    const auto& p = ports_.ports();
    auto port = std::lower_bound(p.begin(), p.end(), t.port);
    if (!address || port == p.end() || *port != t.port) return std::nullopt;
    const absl::uint128 v = *address * p.size() + static_cast<uint64_t>(port - p.begin());
    return permutation_.IndexOf(static_cast<uint64_t>(v));
  }

 private:
  ProbeSpace(TargetSet targets, PortSet ports, uint64_t seed, uint64_t size)
      : targets_(std::move(targets)),
        ports_(std::move(ports)),
        seed_(seed),
        permutation_(size, seed) {}

  TargetSet targets_;
  PortSet ports_;
  uint64_t seed_;
  Permutation permutation_;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_PROBE_SPACE_H_
