// The UDP probe registry: every probe by name and by catalogue port, and
// the profiles' `udp:` service names to ports.
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "probes/udp/udp_wire.h"
#include "probes/udp_probe.h"

namespace goalkeeper::probes {
namespace {

using namespace udp_internal;  // NOLINT(build/namespaces): the probe singletons

const std::vector<const UdpProbe*>& Probes() {
  // Order matters for UdpProbeForPort: the first probe of a port wins
  // (123: "ntp", the monlist query; "ntp-version" is asked by name).
  static const std::vector<const UdpProbe*> kProbes = {
      &DnsUdpProbe(),     &NtpUdpProbe(),       &NtpVersionUdpProbe(), &SsdpUdpProbe(),
      &SnmpUdpProbe(),    &MemcachedUdpProbe(), &CldapUdpProbe(),      &PortmapUdpProbe(),
      &NetbiosUdpProbe(), &MdnsUdpProbe(),      &MssqlUdpProbe(),      &UbiquitiUdpProbe(),
  };
  return kProbes;
}

}  // namespace

const UdpProbe* UdpProbeByName(absl::string_view name) {
  for (const UdpProbe* p : Probes()) {
    if (p->name() == name) return p;
  }
  return nullptr;
}

const UdpProbe* UdpProbeForPort(uint16_t port) {
  for (const UdpProbe* p : Probes()) {
    if (p->port() == port) return p;
  }
  return nullptr;
}

std::span<const UdpProbe* const> AllUdpProbes() {
  return std::span<const UdpProbe* const>(Probes().data(), Probes().size());
}

absl::StatusOr<std::vector<uint16_t>> UdpServicePorts(std::span<const std::string> names) {
  std::vector<uint16_t> ports;
  for (const std::string& name : names) {
    if (name == "all") {
      for (const UdpProbe* p : Probes()) ports.push_back(p->port());
      continue;
    }
    const UdpProbe* p = UdpProbeByName(name);
    if (p == nullptr) {
      std::vector<std::string> known;
      for (const UdpProbe* q : Probes()) known.emplace_back(q->name());
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown UDP service \"", name, "\" (known: ", absl::StrJoin(known, ", "), ", all)"));
    }
    ports.push_back(p->port());
  }
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  return ports;
}

}  // namespace goalkeeper::probes
