// The UDP probe registry. Scaffolding from the lead: the probes-udp branch
// fills it.
#include "probes/udp_probe.h"

namespace goalkeeper::probes {

const UdpProbe* UdpProbeByName(absl::string_view) { return nullptr; }
const UdpProbe* UdpProbeForPort(uint16_t) { return nullptr; }
std::span<const UdpProbe* const> AllUdpProbes() { return {}; }
absl::StatusOr<std::vector<uint16_t>> UdpServicePorts(std::span<const std::string>) {
  return absl::UnimplementedError("UDP probes: scaffolding");
}

}  // namespace goalkeeper::probes
