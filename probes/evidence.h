// What a protocol probe learned about a service, in a form safe to store,
// print and email: every string is sanitised and bounded here, once.
//
//   Evidence ev;
//   ev.service = "Redis";
//   ev.verified = true;
//   ev.version = Sanitise(raw_version, kMaxVersion);
//   AddFact(ev, "redis_mode", mode);   // "redis_mode=standalone"
//
// The library `goalkeeper_probes` (probes/) is pure: builders of requests and
// parsers of answers, no I/O. The scan engine drives it.
//
// Thread-safety: plain values.
#ifndef GOALKEEPER_PROBES_EVIDENCE_H_
#define GOALKEEPER_PROBES_EVIDENCE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace goalkeeper::probes {

enum class Transport : uint8_t { kTcp, kUdp };
absl::string_view TransportName(Transport t);  // "tcp", "udp"

enum class Auth : uint8_t {
  kUnknown,      // not learned
  kRequired,     // the service refused a stranger
  kNotRequired,  // the service let a stranger in
};
absl::string_view AuthName(Auth a);  // "unknown", "required", "not_required"

// Bounds (bytes, after sanitising).
inline constexpr size_t kMaxService = 48;
inline constexpr size_t kMaxVersion = 64;
inline constexpr size_t kMaxBanner = 128;
inline constexpr size_t kMaxFact = 96;
inline constexpr size_t kMaxFacts = 8;

struct Evidence {
  std::string service;    // what answered: "Redis", "SSH", "HTTP"; "" = nothing recognised
  bool verified = false;  // the protocol answered as its probe expects
  std::string version;    // "7.0.15"
  Auth auth = Auth::kUnknown;
  bool tls_offered = false;
  uint32_t request_bytes = 0;   // filled by the driver
  uint32_t response_bytes = 0;  // filled by the driver
  double amplification = 0;     // UDP: response_bytes / request_bytes (driver)
  std::string banner;
  std::vector<std::string> facts;  // "key=value", at most kMaxFacts

  friend bool operator==(const Evidence&, const Evidence&) = default;
};

// Printable ASCII only: bytes outside 0x20..0x7e become '?', runs of
// whitespace one space, leading/trailing spaces trimmed, then cut to `max`
// bytes (with "..." when cut and max >= 3).
std::string Sanitise(absl::string_view raw, size_t max);

// Appends "key=value" (sanitised to kMaxFact) unless kMaxFacts are there.
void AddFact(Evidence& ev, absl::string_view key, absl::string_view value);

// One line for logs, JSONL's "evidence" summary and emails:
// "Redis 7.0.15, no password required" / "DNS, recursion=available, 31.2x".
std::string Describe(const Evidence& ev);

}  // namespace goalkeeper::probes

#endif  // GOALKEEPER_PROBES_EVIDENCE_H_
