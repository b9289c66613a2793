#include "worker/proto_convert.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace goalkeeper {

goalkeeper::v1::ProbeResult ToProto(const ProbeResult& r) {
  goalkeeper::v1::ProbeResult m;
  m.set_ip(r.address.ToString());
  m.set_port(r.port);
  m.set_rtt_us(r.rtt_us);
  switch (r.state) {
    case ProbeState::kOpen:
      m.set_state(goalkeeper::v1::PROBE_STATE_OPEN);
      break;
    case ProbeState::kClosed:
      m.set_state(goalkeeper::v1::PROBE_STATE_CLOSED);
      break;
    case ProbeState::kFiltered:
      m.set_state(goalkeeper::v1::PROBE_STATE_FILTERED);
      break;
    case ProbeState::kUnreachable:
      m.set_state(goalkeeper::v1::PROBE_STATE_UNREACHABLE);
      break;
  }
  return m;
}

absl::StatusOr<ProbeResult> FromProto(const goalkeeper::v1::ProbeResult& m) {
  ProbeResult r;
  auto addr = IpAddress::Parse(m.ip());
  if (!addr) return absl::InvalidArgumentError(absl::StrCat("ip: '", m.ip(), "' is not an address"));
  if (m.port() == 0 || m.port() > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("port: ", m.port(), " is not 1-65535"));
  }
  r.address = *addr;
  r.port = static_cast<uint16_t>(m.port());
  r.rtt_us = m.rtt_us();
  switch (m.state()) {
    case goalkeeper::v1::PROBE_STATE_OPEN:
      r.state = ProbeState::kOpen;
      break;
    case goalkeeper::v1::PROBE_STATE_CLOSED:
      r.state = ProbeState::kClosed;
      break;
    case goalkeeper::v1::PROBE_STATE_FILTERED:
      r.state = ProbeState::kFiltered;
      break;
    case goalkeeper::v1::PROBE_STATE_UNREACHABLE:
      r.state = ProbeState::kUnreachable;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("state: ", m.state(), " is not a probe state"));
  }
  return r;
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

}  // namespace goalkeeper
