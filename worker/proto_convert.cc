#include "worker/proto_convert.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "probes/udp_probe.h"

namespace goalkeeper {
namespace {

absl::Status CheckBound(absl::string_view field, const std::string& value, size_t max) {
  if (value.size() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", value.size(), " bytes, at most ", max));
  }
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": not printable ASCII"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

goalkeeper::v1::Evidence EvidenceToProto(const probes::Evidence& ev) {
  goalkeeper::v1::Evidence e;
  e.set_version(ev.version);
  switch (ev.auth) {
    case probes::Auth::kUnknown:
      e.set_auth(goalkeeper::v1::AUTH_STATE_UNKNOWN);
      break;
    case probes::Auth::kRequired:
      e.set_auth(goalkeeper::v1::AUTH_STATE_REQUIRED);
      break;
    case probes::Auth::kNotRequired:
      e.set_auth(goalkeeper::v1::AUTH_STATE_NOT_REQUIRED);
      break;
  }
  e.set_tls_offered(ev.tls_offered);
  e.set_request_bytes(ev.request_bytes);
  e.set_response_bytes(ev.response_bytes);
  e.set_amplification(ev.amplification);
  e.set_banner(ev.banner);
  for (const std::string& f : ev.facts) e.add_facts(f);
  return e;
}

ProbeMode ProbeModeFromProto(goalkeeper::v1::ProbeMode m) {
  switch (m) {
    case goalkeeper::v1::PROBE_MODE_NONE:
      return ProbeMode::kNone;
    case goalkeeper::v1::PROBE_MODE_ALL:
      return ProbeMode::kAll;
    default:
      return ProbeMode::kVerify;
  }
}

goalkeeper::v1::ProbeResult ToProto(const ProbeResult& r) {
  goalkeeper::v1::ProbeResult m;
  m.set_ip(r.address.ToString());
  m.set_port(r.port);
  m.set_rtt_us(r.rtt_us);
  m.set_transport(r.transport == probes::Transport::kUdp ? goalkeeper::v1::TRANSPORT_UDP
                                                         : goalkeeper::v1::TRANSPORT_TCP);
  if (r.evidence != nullptr) {
    m.set_service(r.evidence->service);
    m.set_verified(r.evidence->verified);
    *m.mutable_evidence() = EvidenceToProto(*r.evidence);
  }
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
  if (!addr)
    return absl::InvalidArgumentError(absl::StrCat("ip: '", m.ip(), "' is not an address"));
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
      return absl::InvalidArgumentError(
          absl::StrCat("state: ", m.state(), " is not a probe state"));
  }
  switch (m.transport()) {
    case goalkeeper::v1::TRANSPORT_TCP:
      r.transport = probes::Transport::kTcp;
      break;
    case goalkeeper::v1::TRANSPORT_UDP:
      r.transport = probes::Transport::kUdp;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("transport: ", m.transport(), " is not a transport"));
  }
  if (m.has_evidence()) {
    const goalkeeper::v1::Evidence& e = m.evidence();
    probes::Evidence ev;
    RETURN_IF_ERROR(CheckBound("service", m.service(), probes::kMaxService));
    RETURN_IF_ERROR(CheckBound("evidence.version", e.version(), probes::kMaxVersion));
    RETURN_IF_ERROR(CheckBound("evidence.banner", e.banner(), probes::kMaxBanner));
    if (static_cast<size_t>(e.facts_size()) > probes::kMaxFacts) {
      return absl::InvalidArgumentError(
          absl::StrCat("evidence.facts: ", e.facts_size(), " facts, at most ", probes::kMaxFacts));
    }
    for (int i = 0; i < e.facts_size(); ++i) {
      RETURN_IF_ERROR(
          CheckBound(absl::StrCat("evidence.facts[", i, "]"), e.facts(i), probes::kMaxFact));
      ev.facts.push_back(e.facts(i));
    }
    ev.service = m.service();
    ev.verified = m.verified();
    ev.version = e.version();
    switch (e.auth()) {
      case goalkeeper::v1::AUTH_STATE_REQUIRED:
        ev.auth = probes::Auth::kRequired;
        break;
      case goalkeeper::v1::AUTH_STATE_NOT_REQUIRED:
        ev.auth = probes::Auth::kNotRequired;
        break;
      default:
        ev.auth = probes::Auth::kUnknown;
        break;
    }
    ev.tls_offered = e.tls_offered();
    ev.request_bytes = e.request_bytes();
    ev.response_bytes = e.response_bytes();
    ev.amplification = e.amplification();
    ev.banner = e.banner();
    r.evidence = std::make_shared<const probes::Evidence>(std::move(ev));
  }
  return r;
}

}  // namespace goalkeeper
