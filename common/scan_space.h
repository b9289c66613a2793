// The probe space of a scan or a shard from its proto: the target spec, the
// profile's TCP ports and the UDP ports of its UDP services
// (probes::UdpServicePorts). The coordinator numbers a scan's pairs with it
// and every worker rebuilds the same space from its shard, so an index means
// the same (address, port, transport) to both.
//
//   ASSIGN_OR_RETURN(ProbeSpace space,
//                    ProbeSpaceFromProfile(scan.targets(), scan.profile(), scan.seed()));
//
// Thread-safety: stateless functions.
#ifndef GOALKEEPER_COMMON_SCAN_SPACE_H_
#define GOALKEEPER_COMMON_SCAN_SPACE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/probe_space.h"
#include "goalkeeper/v1/coordinator.pb.h"  // ScanProfile, TargetSpec

namespace goalkeeper {

// The UDP ports of the profile's udp_services, sorted and unique ("all" =
// every UDP probe); InvalidArgument "udp_services: ..." naming an unknown one.
absl::StatusOr<std::vector<uint16_t>> UdpPortsOfProfile(const goalkeeper::v1::ScanProfile& profile);

// Parses a TargetSpec and PortSpec message into a probe space (TCP pairs).
absl::StatusOr<ProbeSpace> ProbeSpaceFromProto(const goalkeeper::v1::TargetSpec& targets,
                                               const goalkeeper::v1::PortSpec& ports,
                                               uint64_t seed);
// The same with the profile's UDP services as UDP pairs: the space the
// coordinator numbers for the scan.
absl::StatusOr<ProbeSpace> ProbeSpaceFromProfile(const goalkeeper::v1::TargetSpec& targets,
                                                 const goalkeeper::v1::ScanProfile& profile,
                                                 uint64_t seed);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_SCAN_SPACE_H_
