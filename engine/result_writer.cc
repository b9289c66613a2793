#include "engine/result_writer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/services.h"

namespace goalkeeper {
namespace {

// Evidence strings are printable ASCII already (probes::Sanitise); quotes,
// backslashes and anything else are escaped all the same.
void AppendJsonString(std::string& out, absl::string_view s) {
  out.push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u > 0x7e) {
      absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned>(u));
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void AppendEvidence(std::string& out, const probes::Evidence& ev) {
  out += "{\"version\":";
  AppendJsonString(out, ev.version);
  out += ",\"auth\":";
  AppendJsonString(out, probes::AuthName(ev.auth));
  absl::StrAppend(&out, ",\"tls_offered\":", ev.tls_offered ? "true" : "false",
                  ",\"request_bytes\":", ev.request_bytes,
                  ",\"response_bytes\":", ev.response_bytes,
                  ",\"amplification\":", ev.amplification, ",\"banner\":");
  AppendJsonString(out, ev.banner);
  out += ",\"facts\":[";
  for (size_t i = 0; i < ev.facts.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(out, ev.facts[i]);
  }
  out += "]}";
}

}  // namespace

std::string ResultService(const ProbeResult& r) {
  if (r.evidence != nullptr && r.evidence->verified && !r.evidence->service.empty()) {
    return r.evidence->service;
  }
  if (r.transport == probes::Transport::kUdp) {
    if (r.evidence != nullptr && !r.evidence->service.empty()) return r.evidence->service;
    if (const probes::UdpProbe* p = probes::UdpProbeForPort(r.port)) {
      return std::string(p->service());
    }
    return absl::StrCat("udp/", r.port);
  }
  return ServiceName(r.port);
}

void FormatResult(const ProbeResult& r, OutputFormat format, std::string& out) {
  char ip[64];
  size_t n = r.address.Format(ip);
  absl::string_view ip_text(ip, n);
  const bool udp = r.transport == probes::Transport::kUdp;
  if (format == OutputFormat::kJsonl) {
    absl::StrAppend(&out, "{\"ip\":\"", ip_text, "\",\"port\":", r.port, ",\"state\":\"",
                    ProbeStateName(r.state), "\",\"rtt_us\":", r.rtt_us, ",\"transport\":\"",
                    probes::TransportName(r.transport), "\",\"service\":");
    AppendJsonString(out, ResultService(r));
    const bool verified = r.evidence != nullptr && r.evidence->verified;
    absl::StrAppend(&out, ",\"verified\":", verified ? "true" : "false");
    if (r.evidence != nullptr) {
      out += ",\"probe\":";
      AppendJsonString(out, r.probe);
      out += ",\"evidence\":";
      AppendEvidence(out, *r.evidence);
      out += ",\"summary\":";
      AppendJsonString(out, probes::Describe(*r.evidence));
    }
    out += "}\n";
  } else {
    const bool v6 = r.address.family == Family::kIPv6;
    absl::StrAppend(&out, v6 ? "[" : "", ip_text, v6 ? "]" : "", ":", r.port, udp ? "/udp" : "",
                    " ", ProbeStateName(r.state));
    if (r.rtt_us > 0) absl::StrAppendFormat(&out, " %.3fms", r.rtt_us / 1000.0);
    if (r.evidence != nullptr) {
      absl::StrAppend(&out, " ", probes::Describe(*r.evidence));
      if (!r.evidence->verified) out += " (unverified)";
    }
    out.push_back('\n');
  }
}

void ResultWriter::OnResult(const ProbeResult& r) {
  if (!all_states_ && r.state != ProbeState::kOpen) return;
  absl::MutexLock lock(&mu_);
  FormatResult(r, format_, buffer_);
  if (buffer_.size() >= kFlushBytes) FlushLocked();
}

void ResultWriter::Flush() {
  absl::MutexLock lock(&mu_);
  FlushLocked();
}

void ResultWriter::FlushLocked() {
  if (!buffer_.empty() && ok_) {
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), out_) != buffer_.size() ||
        std::fflush(out_) != 0) {
      ok_ = false;
    }
  }
  buffer_.clear();
}

bool ResultWriter::ok() const {
  absl::MutexLock lock(&mu_);
  return ok_;
}

}  // namespace goalkeeper
