// The probe space of a scan: every (address, port, transport) pair of a
// target set, a TCP port set and a list of UDP ports, in a seeded
// pseudo-random order. Index i of the order is probe At(i); any index range
// is a reproducible shard. TCP and UDP pairs are numbered together: address a
// and column j < Ptcp is TCP port j, column Ptcp + k is UDP port k, so the
// space has A x (Ptcp + Pudp) pairs.
//
//   ASSIGN_OR_RETURN(ProbeSpace space, ProbeSpace::Create(targets, ports, seed, {53, 161}));
//   ProbeTarget t = space.At(17);   // {127.0.3.9, 5432, kTcp} or {127.0.3.9, 53, kUdp}
//   std::optional<uint64_t> i = space.IndexOf(t);  // 17
//
// Thread-safety: immutable after Create; safe to share.
#ifndef GOALKEEPER_COMMON_PROBE_SPACE_H_
#define GOALKEEPER_COMMON_PROBE_SPACE_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ip_address.h"
#include "common/permutation.h"
#include "common/ports.h"
#include "common/targets.h"
#include "probes/evidence.h"

namespace goalkeeper {

struct ProbeTarget {
  IpAddress address;
  uint16_t port = 0;
  probes::Transport transport = probes::Transport::kTcp;
};

class ProbeSpace {
 public:
  // `udp_ports`: the UDP ports probed on every address (any order, duplicates
  // dropped; 0 is refused). Fails with OutOfRange when the number of pairs
  // exceeds 2^63, InvalidArgument when there is none.
  static absl::StatusOr<ProbeSpace> Create(TargetSet targets, PortSet ports, uint64_t seed,
                                           std::vector<uint16_t> udp_ports = {});
  // The number of pairs (addresses x (TCP ports + UDP ports)) before Create's
  // check, saturating. `udp_ports` counts distinct ports only.
  static absl::uint128 CountPairs(const TargetSet& targets, const PortSet& ports,
                                  const std::vector<uint16_t>& udp_ports);
  static absl::uint128 CountPairs(const TargetSet& targets, const PortSet& ports) {
    return CountPairs(targets, ports, {});
  }

  uint64_t size() const { return permutation_.size(); }
  uint64_t seed() const { return seed_; }
  const TargetSet& targets() const { return targets_; }
  const PortSet& ports() const { return ports_; }
  // Sorted, unique.
  const std::vector<uint16_t>& udp_ports() const { return udp_ports_; }

  // Requires index < size().
  ProbeTarget At(uint64_t index) const {
    const uint64_t v = permutation_.At(index);
    const auto& p = ports_.ports();
    const uint64_t width = p.size() + udp_ports_.size();
    const uint64_t column = v % width;
    const IpAddress address = targets_.At(v / width);
    if (column < p.size()) return {address, p[column], probes::Transport::kTcp};
    return {address, udp_ports_[column - p.size()], probes::Transport::kUdp};
  }
  // The inverse of At: the index of a pair, or nullopt when the address, the
  // port or its transport is not part of the space.
  std::optional<uint64_t> IndexOf(const ProbeTarget& t) const {
    const std::optional<absl::uint128> address = targets_.IndexOf(t.address);
    if (!address) return std::nullopt;
    const bool udp = t.transport == probes::Transport::kUdp;
    const auto& p = udp ? udp_ports_ : ports_.ports();
    auto port = std::lower_bound(p.begin(), p.end(), t.port);
    if (port == p.end() || *port != t.port) return std::nullopt;
    const uint64_t width = ports_.size() + udp_ports_.size();
    const uint64_t column =
        static_cast<uint64_t>(port - p.begin()) + (udp ? uint64_t{ports_.size()} : 0);
    const absl::uint128 v = *address * width + column;
    return permutation_.IndexOf(static_cast<uint64_t>(v));
  }

 private:
  ProbeSpace(TargetSet targets, PortSet ports, std::vector<uint16_t> udp_ports, uint64_t seed,
             uint64_t size)
      : targets_(std::move(targets)),
        ports_(std::move(ports)),
        udp_ports_(std::move(udp_ports)),
        seed_(seed),
        permutation_(size, seed) {}

  TargetSet targets_;
  PortSet ports_;
  std::vector<uint16_t> udp_ports_;
  uint64_t seed_;
  Permutation permutation_;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_PROBE_SPACE_H_
