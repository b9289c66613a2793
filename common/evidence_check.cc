#include "common/evidence_check.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/node_finding_check.h"
#include "common/services.h"
#include "common/status_macros.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

// The services a protocol probe names besides the catalogue's own names.
constexpr const char* kProbeServices[] = {
    "Redis",      "MongoDB", "Elasticsearch", "OpenSearch",    "Memcached",
    "MySQL",      "MariaDB", "PostgreSQL",    "Docker API",    "Kubernetes API",
    "kubelet",    "Telnet",  "SSH",           "RDP",           "VNC",
    "Cassandra",  "LDAP",    "HTTP",          "FTP",           "SMTP",
    "DNS",        "NTP",     "SSDP",          "SNMP",          "CLDAP",
    "Portmapper", "NetBIOS", "mDNS",          "MSSQL browser", "Ubiquiti discovery"};

// Printable ASCII of at most `max` bytes.
absl::Status CheckEvidenceText(absl::string_view field, absl::string_view v, size_t max) {
  if (v.size() > max) {
    return FieldError(field, absl::StrCat(v.size(), " bytes, at most ", max));
  }
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) {
      return FieldError(field, absl::StrCat(QuoteFieldValue(v), " is not printable ASCII"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsProbeService(absl::string_view name) {
  for (const char* s : kProbeServices) {
    if (name == s) return true;
  }
  return LookupServiceByName(std::string_view(name.data(), name.size())) != nullptr;
}

absl::Status CheckEvidence(absl::string_view field, const v1::Evidence& ev) {
  RETURN_IF_ERROR(
      CheckEvidenceText(absl::StrCat(field, ".version"), ev.version(), kMaxEvidenceVersion));
  if (!v1::AuthState_IsValid(ev.auth())) {
    return FieldError(absl::StrCat(field, ".auth"),
                      absl::StrCat(static_cast<int>(ev.auth()), " is not an AuthState"));
  }
  const double amp = ev.amplification();
  if (!std::isfinite(amp) || amp < 0 || amp > kMaxAmplification) {
    return FieldError(absl::StrCat(field, ".amplification"),
                      absl::StrCat(amp, " is not a factor between 0 and ", kMaxAmplification));
  }
  RETURN_IF_ERROR(
      CheckEvidenceText(absl::StrCat(field, ".banner"), ev.banner(), kMaxEvidenceBanner));
  if (static_cast<size_t>(ev.facts_size()) > kMaxEvidenceFacts) {
    return FieldError(absl::StrCat(field, ".facts"),
                      absl::StrCat(ev.facts_size(), " facts, at most ", kMaxEvidenceFacts));
  }
  for (int i = 0; i < ev.facts_size(); ++i) {
    RETURN_IF_ERROR(
        CheckEvidenceText(absl::StrCat(field, ".facts[", i, "]"), ev.facts(i), kMaxEvidenceFact));
  }
  return absl::OkStatus();
}

absl::Status CheckTransport(absl::string_view field, v1::Transport t) {
  if (t != v1::TRANSPORT_TCP && t != v1::TRANSPORT_UDP) {
    return FieldError(field, absl::StrCat(static_cast<int>(t), " is not TCP (0) or UDP (1)"));
  }
  return absl::OkStatus();
}

std::string ExposureServiceName(uint32_t port, v1::Transport t, bool verified,
                                absl::string_view probe_service) {
  if (verified && !probe_service.empty()) return std::string(probe_service);
  return ServiceName(static_cast<uint16_t>(port),
                     t == v1::TRANSPORT_UDP ? IpProtocol::kUdp : IpProtocol::kTcp);
}

}  // namespace goalkeeper
