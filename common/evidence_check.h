// Checks of what a protocol probe reports (v1::Evidence, the service name, the
// transport), shared by every receiver: the coordinator's ReportFindings
// (from workers) and the notifier's report checks (from the coordinator). The
// bounds mirror probes/evidence.h, so a receiver does not trust a sender to
// have used the probe library. Errors are INVALID_ARGUMENT naming the field
// (common/node_finding_check.h's FieldError):
//
//   RETURN_IF_ERROR(CheckEvidence("results[3].evidence", r.evidence()));
//   // "results[3].evidence.banner: 200 bytes, at most 128"
//
// Thread-safety: pure functions.
#ifndef GOALKEEPER_COMMON_EVIDENCE_CHECK_H_
#define GOALKEEPER_COMMON_EVIDENCE_CHECK_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "goalkeeper/v1/scan.pb.h"

namespace goalkeeper {

inline constexpr size_t kMaxEvidenceService = 48;
inline constexpr size_t kMaxEvidenceVersion = 64;
inline constexpr size_t kMaxEvidenceBanner = 128;
inline constexpr size_t kMaxEvidenceFact = 96;
inline constexpr size_t kMaxEvidenceFacts = 8;
// An amplification factor beyond this is not a measurement.
inline constexpr double kMaxAmplification = 100000;

// A service a protocol probe names (design12.md's display names) or one of
// the catalogue's names (common/services.h).
bool IsProbeService(absl::string_view name);

// Every text field printable ASCII within its bound, auth a known state, the
// amplification a finite factor in [0, kMaxAmplification].
absl::Status CheckEvidence(absl::string_view field, const goalkeeper::v1::Evidence& ev);

// TCP or UDP.
absl::Status CheckTransport(absl::string_view field, goalkeeper::v1::Transport t);

// The name a coordinator gives an exposure: the probe's service when
// verified, else the catalogue's name of (port, transport).
std::string ExposureServiceName(uint32_t port, goalkeeper::v1::Transport t, bool verified,
                                absl::string_view probe_service);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_EVIDENCE_CHECK_H_
