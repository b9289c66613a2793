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
#include "common/scan_space.h"  // ProbeSpaceFromProfile
#include "engine/scan_engine.h"
#include "goalkeeper/v1/coordinator.pb.h"
#include "goalkeeper/v1/scan.pb.h"

namespace goalkeeper {

// Carries transport, service (the evidence's; "" when no probe ran),
// verified and evidence (set only when a probe ran).
goalkeeper::v1::ProbeResult ToProto(const ProbeResult& r);
// Fails with InvalidArgument on a bad address, port, state, transport or an
// evidence string over its bound (naming the field: "evidence.banner: 200
// bytes, at most 128").
absl::StatusOr<ProbeResult> FromProto(const goalkeeper::v1::ProbeResult& m);

goalkeeper::v1::Evidence EvidenceToProto(const probes::Evidence& ev);

// A shard profile's probe mode (unspecified = verify).
ProbeMode ProbeModeFromProto(goalkeeper::v1::ProbeMode m);

}  // namespace goalkeeper

#endif  // GOALKEEPER_WORKER_PROTO_CONVERT_H_
