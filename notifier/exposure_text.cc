#include "notifier/exposure_text.h"

#include <cmath>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace goalkeeper {
namespace {

// The value of fact "key=value", or "" when absent.
std::string Fact(const probes::Evidence& ev, absl::string_view key) {
  const std::string prefix = absl::StrCat(key, "=");
  for (const std::string& f : ev.facts) {
    if (absl::StartsWith(f, prefix)) return f.substr(prefix.size());
  }
  return "";
}

std::string WithAmplification(std::string text, const probes::Evidence& ev) {
  const std::string amp = AmplificationText(ev.amplification);
  if (!amp.empty()) absl::StrAppend(&text, " (", amp, " amplification)");
  return text;
}

std::string Verified(const probes::Evidence& ev) {
  const std::string& s = ev.service;
  std::string name = s;
  if (!ev.version.empty()) absl::StrAppend(&name, " ", ev.version);
  if (s == "DNS") {
    if (Fact(ev, "recursion") == "available") {
      return WithAmplification("DNS open resolver answered a recursive query", ev);
    }
    return WithAmplification(absl::StrCat(name, " answered but refuses recursive queries"), ev);
  }
  if (s == "NTP") {
    if (Fact(ev, "monlist") == "yes") {
      return WithAmplification(absl::StrCat(name, " answered a monlist query"), ev);
    }
    if (Fact(ev, "readvar") == "answered") {
      return WithAmplification(absl::StrCat(name, " answered a status query (mode 6)"), ev);
    }
    if (Fact(ev, "status") == "refused") {
      return absl::StrCat(name, " answered a time request; it refuses status queries "
                                "(monlist, mode 6), so it is not an amplifier");
    }
  }
  switch (ev.auth) {
    case probes::Auth::kNotRequired: {
      if (s == "Redis") return absl::StrCat(name, " answered without a password");
      if (s == "Elasticsearch" || s == "OpenSearch") {
        return absl::StrCat(name, " answered with security off");
      }
      if (s == "MongoDB") {
        return absl::StrCat(name, " listed its databases without authentication");
      }
      if (s == "SNMP") {
        std::string community = Fact(ev, "community");
        if (community.empty()) community = "public";
        std::string out = absl::StrCat("SNMP answered to community ", community);
        if (!ev.banner.empty()) absl::StrAppend(&out, ": ", ev.banner);
        return WithAmplification(std::move(out), ev);
      }
      if (s == "VNC") return absl::StrCat(name, " offers access without a password");
      return WithAmplification(absl::StrCat(name, " answered without authentication"), ev);
    }
    case probes::Auth::kRequired:
      return WithAmplification(absl::StrCat(name, " answered and requires authentication"), ev);
    case probes::Auth::kUnknown:
      break;
  }
  std::string out = absl::StrCat(name, " answered");
  if (ev.tls_offered) absl::StrAppend(&out, " (TLS offered)");
  return WithAmplification(std::move(out), ev);
}

}  // namespace

std::string AmplificationText(double amplification) {
  if (!(amplification > 0) || !std::isfinite(amplification)) return "";
  if (amplification >= 10) return absl::StrFormat("%.0fx", amplification);
  return absl::StrFormat("%.1fx", amplification);
}

std::string SeenText(uint32_t port, probes::Transport transport, const probes::Evidence& ev) {
  std::string text;
  if (!ev.verified || ev.service.empty()) {
    text = absl::StrCat("port ", port, "/", probes::TransportName(transport),
                        " is open; we could not confirm which service answers");
  } else {
    text = Verified(ev);
  }
  return probes::Sanitise(text, kMaxSeenText);
}

}  // namespace goalkeeper
