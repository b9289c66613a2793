// The deadline rule of the authorization gate: every non-streaming call to a
// CLI-facing service must carry a deadline, so that a client that never
// gives up cannot hold a handler thread (and its SQLite reads) for ever.
//
// A gRPC client that sets a deadline sends it as the `grpc-timeout` request
// header ("<1-8 digits><H|M|S|m|u|n>", e.g. "9999866u"); one without a
// deadline sends none. Verified on this machine with gRPC 1.51 (see
// tests/common/deadline_check_test.cc, which runs a real TLS server): an
// AuthMetadataProcessor sees `grpc-timeout` in its auth_metadata when, and
// only when, the client set a deadline, so the gate (common/authz.h) can
// refuse a call without one before the handler runs:
//
//   // in AuthGate::Process, for the methods that need it:
//   if (absl::Status s = RequireDeadline(auth_metadata); !s.ok()) {
//     return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(s.message()));
//   }
//
// Streaming calls (WatchScan, ListFindings, the report stream) are bounded
// per identity by the gate instead: a watch legitimately runs for hours.
//
// Thread-safety: pure functions.
#ifndef GOALKEEPER_COMMON_DEADLINE_CHECK_H_
#define GOALKEEPER_COMMON_DEADLINE_CHECK_H_

#include <grpcpp/grpcpp.h>

#include <map>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace goalkeeper {

// What grpc::AuthMetadataProcessor::Process receives as auth_metadata.
using AuthMetadata = grpc::AuthMetadataProcessor::InputMetadata;

// The request header carrying a client's deadline.
inline constexpr char kGrpcTimeoutHeader[] = "grpc-timeout";

// OK when `metadata` holds one well-formed `grpc-timeout`; else
// INVALID_ARGUMENT "a deadline is required (set one on the call; the gRPC
// header grpc-timeout is missing)" or, for a malformed value, one naming it.
absl::Status RequireDeadline(const AuthMetadata& metadata);

// True for "<1-8 digits><H|M|S|m|u|n>" (the gRPC wire format, PROTOCOL-HTTP2.md).
bool ValidGrpcTimeout(absl::string_view value);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_DEADLINE_CHECK_H_
