#include "probes/evidence.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace goalkeeper::probes {

absl::string_view TransportName(Transport t) { return t == Transport::kUdp ? "udp" : "tcp"; }

absl::string_view AuthName(Auth a) {
  switch (a) {
    case Auth::kRequired:
      return "required";
    case Auth::kNotRequired:
      return "not_required";
    case Auth::kUnknown:
      break;
  }
  return "unknown";
}

std::string Sanitise(absl::string_view raw, size_t max) {
  std::string out;
  out.reserve(std::min(raw.size(), max));
  bool space = false;
  for (char c : raw) {
    const auto u = static_cast<unsigned char>(c);
    if (u == ' ' || u == '\t' || u == '\r' || u == '\n' || u == '\v' || u == '\f') {
      space = !out.empty();
      continue;
    }
    if (space) {
      out.push_back(' ');
      space = false;
    }
    out.push_back(u >= 0x20 && u <= 0x7e ? c : '?');
    if (out.size() > max) break;
  }
  if (out.size() > max) {
    out.resize(max);
    if (max >= 3) out.replace(max - 3, 3, "...");
  }
  return out;
}

void AddFact(Evidence& ev, absl::string_view key, absl::string_view value) {
  if (ev.facts.size() >= kMaxFacts) return;
  ev.facts.push_back(Sanitise(absl::StrCat(key, "=", value), kMaxFact));
}

std::string Describe(const Evidence& ev) {
  std::string out = ev.service.empty() ? std::string("unrecognised") : ev.service;
  if (!ev.version.empty()) absl::StrAppend(&out, " ", ev.version);
  if (!ev.verified) absl::StrAppend(&out, " (unverified)");
  switch (ev.auth) {
    case Auth::kRequired:
      absl::StrAppend(&out, ", authentication required");
      break;
    case Auth::kNotRequired:
      absl::StrAppend(&out, ", no authentication required");
      break;
    case Auth::kUnknown:
      break;
  }
  if (ev.tls_offered) absl::StrAppend(&out, ", TLS offered");
  for (const std::string& f : ev.facts) absl::StrAppend(&out, ", ", f);
  if (ev.amplification > 0)
    absl::StrAppend(&out, absl::StrFormat(", %.1fx amplification", ev.amplification));
  return out;
}

}  // namespace goalkeeper::probes
