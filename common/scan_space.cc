#include "common/scan_space.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "probes/udp_probe.h"

namespace goalkeeper {

absl::StatusOr<std::vector<uint16_t>> UdpPortsOfProfile(const goalkeeper::v1::ScanProfile& profile) {
  if (profile.udp_services_size() == 0) return std::vector<uint16_t>();
  std::vector<std::string> names(profile.udp_services().begin(), profile.udp_services().end());
  absl::StatusOr<std::vector<uint16_t>> ports = probes::UdpServicePorts(names);
  if (!ports.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("udp_services: ", ports.status().message()));
  }
  return *std::move(ports);
}

absl::StatusOr<ProbeSpace> ProbeSpaceFromProto(const goalkeeper::v1::TargetSpec& targets,
                                               const goalkeeper::v1::PortSpec& ports,
                                               uint64_t seed) {
  std::vector<std::string> include(targets.include().begin(), targets.include().end());
  std::vector<std::string> exclude(targets.exclude().begin(), targets.exclude().end());
  for (const auto* list : {&include, &exclude}) {
    for (const std::string& s : *list) {
      if (!s.empty() && s[0] == '@') {
        return absl::InvalidArgumentError(absl::StrCat("'", s, "': files are not accepted here"));
      }
    }
  }
  ASSIGN_OR_RETURN(TargetSet t, TargetSet::Parse(include, exclude));
  ASSIGN_OR_RETURN(PortSet p, PortSet::Parse(ports.spec()));
  return ProbeSpace::Create(std::move(t), std::move(p), seed);
}

absl::StatusOr<ProbeSpace> ProbeSpaceFromProfile(const goalkeeper::v1::TargetSpec& targets,
                                                 const goalkeeper::v1::ScanProfile& profile,
                                                 uint64_t seed) {
  ASSIGN_OR_RETURN(std::vector<uint16_t> udp, UdpPortsOfProfile(profile));
  ASSIGN_OR_RETURN(ProbeSpace space, ProbeSpaceFromProto(targets, profile.ports(), seed));
  if (udp.empty()) return space;
  TargetSet t = space.targets();
  PortSet p = space.ports();
  return ProbeSpace::Create(std::move(t), std::move(p), seed, std::move(udp));
}

}  // namespace goalkeeper
