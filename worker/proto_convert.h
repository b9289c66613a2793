// Conversions between the engine's types and the goalkeeper.v1 messages that
// carry them between processes.
//
//   goalkeeper::v1::ProbeResult msg = ToProto(result);
//   absl::StatusOr<ProbeResult> back = FromProto(msg);
//
// Thread-safety: stateless functions.
#ifndef GOALKEEPER_WORKER_PROTO_CONVERT_H_
#define GOALKEEPER_WORKER_PROTO_CONVERT_H_

#include "absl/status/statusor.h"
#include "common/probe_space.h"
#include "engine/scan_engine.h"
#include "goalkeeper/v1/scan.pb.h"

namespace goalkeeper {

goalkeeper::v1::ProbeResult ToProto(const ProbeResult& r);
// Fails with InvalidArgument on a bad address, port or state.
absl::StatusOr<ProbeResult> FromProto(const goalkeeper::v1::ProbeResult& m);

// Parses a TargetSpec and PortSpec message into a probe space.
absl::StatusOr<ProbeSpace> ProbeSpaceFromProto(const goalkeeper::v1::TargetSpec& targets,
                                               const goalkeeper::v1::PortSpec& ports,
                                               uint64_t seed);

}  // namespace goalkeeper

#endif  // GOALKEEPER_WORKER_PROTO_CONVERT_H_
