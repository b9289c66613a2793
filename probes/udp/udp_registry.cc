// The UDP probe registry: every probe by name and by catalogue port, and
// the profiles' `udp:` service names to ports.
#include <algorithm>
#include <array>
#include <map>
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
  // Order matters: UdpProbesForPort lists a port's probes in this order,
  // the order the engine asks them in (123: "ntp", the monlist query, then
  // "ntp-version", the mode 6 status query, then "ntp-client", a plain time
  // request every server answers).
  static const std::vector<const UdpProbe*> kProbes = {
      &DnsUdpProbe(),     &NtpUdpProbe(),       &NtpVersionUdpProbe(), &NtpClientUdpProbe(),
      &SsdpUdpProbe(),    &SnmpUdpProbe(),      &MemcachedUdpProbe(),  &CldapUdpProbe(),
      &PortmapUdpProbe(), &NetbiosUdpProbe(),   &MdnsUdpProbe(),       &MssqlUdpProbe(),
      &UbiquitiUdpProbe(),
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

std::span<const UdpProbe* const> UdpProbesForPort(uint16_t port) {
  static const auto* const kByPort = [] {
    auto* by_port = new std::map<uint16_t, std::vector<const UdpProbe*>>();
    for (const UdpProbe* p : Probes()) (*by_port)[p->port()].push_back(p);
    return by_port;
  }();
  auto it = kByPort->find(port);
  if (it == kByPort->end()) return {};
  return std::span<const UdpProbe* const>(it->second.data(), it->second.size());
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
