#include "common/host_port.h"

#include <algorithm>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ip_address.h"

namespace goalkeeper {
namespace {

// The value as quoted in errors: cut, and control characters shown escaped
// so the message stays on one line.
std::string Quoted(absl::string_view v) {
  constexpr size_t kMaxShown = 100;  // characters shown, escapes included
  std::string out = "'";
  size_t i = 0;
  for (; i < v.size() && out.size() <= kMaxShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (i < v.size()) out += "...";
  return out + "'";
}

absl::Status Bad(absl::string_view text, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(Quoted(text), ": ", what));
}

}  // namespace

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text, PortRule rule) {
  if (text.empty()) return absl::InvalidArgumentError("'' is not a HOST:PORT address");
  HostPort out;
  absl::string_view port;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos) return Bad(text, "missing ']' after the IPv6 address");
    const absl::string_view host = text.substr(1, close - 1);
    std::optional<IpAddress> a = IpAddress::Parse(host);
    if (!a || a->family != Family::kIPv6) {
      return Bad(text, absl::StrCat(Quoted(host), " is not an IPv6 address"));
    }
    const absl::string_view rest = text.substr(close + 1);
    if (rest.empty()) return Bad(text, "missing ':PORT'");
    if (rest.front() != ':') return Bad(text, "expected ':PORT' after ']'");
    out.host = std::string(host);
    port = rest.substr(1);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos) return Bad(text, "missing ':PORT'");
    const absl::string_view host = text.substr(0, colon);
    if (host.find(':') != absl::string_view::npos) {
      const absl::string_view p = text.substr(colon + 1);
      std::optional<IpAddress> v6 = IpAddress::Parse(host);
      if (v6 && v6->family == Family::kIPv6 && !p.empty() && p.size() <= 5 &&
          std::all_of(p.begin(), p.end(), absl::ascii_isdigit)) {
        return Bad(text, absl::StrCat("put an IPv6 address in brackets ('[", host, "]:", p, "')"));
      }
      return Bad(text,
                 "a host cannot contain ':' (an IPv6 address goes in brackets: '[::1]:7070')");
    }
    std::optional<IpAddress> a = IpAddress::Parse(host);
    if (!(a && a->family == Family::kIPv4) && !IsValidHostname(host)) {
      return Bad(text, absl::StrCat(Quoted(host),
                                    " is not a hostname, an IPv4 address or a bracketed IPv6 "
                                    "address"));
    }
    out.host = std::string(host);
    port = text.substr(colon + 1);
  }
  if (port.empty()) return Bad(text, "missing the port after ':'");
  const uint32_t min_port = rule == PortRule::kListen ? 0 : 1;
  const std::string range = absl::StrCat(min_port, "-65535");
  if (!std::all_of(port.begin(), port.end(), absl::ascii_isdigit)) {
    if (port.front() == '-' && port.size() > 1 && port.size() <= 20 &&
        std::all_of(port.begin() + 1, port.end(), absl::ascii_isdigit)) {
      return Bad(text, absl::StrCat("port ", port, " is outside ", range));
    }
    return Bad(text, absl::StrCat("port ", Quoted(port), " is not a number"));
  }
  uint64_t n = 0;
  if (port.size() > 10 || !absl::SimpleAtoi(port, &n) || n < min_port || n > 65535) {
    // A very long number is shown cut, so the message stays short.
    return Bad(
        text,
        absl::StrCat("port ", port.size() <= 20 ? std::string(port) : Quoted(port), " is outside ",
                     range, n == 0 && port.size() <= 10 ? " (0 only for a listen address)" : ""));
  }
  out.port = static_cast<uint16_t>(n);
  return out;
}

bool IsValidHostname(absl::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  absl::string_view last_label;
  for (absl::string_view label : absl::StrSplit(host, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    last_label = label;
  }
  // An all-digit last label is a mistyped IPv4 address ("10.0.0.300").
  return !std::all_of(last_label.begin(), last_label.end(), absl::ascii_isdigit);
}

bool IsValidHost(absl::string_view host) {
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 2 || host.back() != ']') return false;
    std::optional<IpAddress> a = IpAddress::Parse(host.substr(1, host.size() - 2));
    return a && a->family == Family::kIPv6;
  }
  std::optional<IpAddress> a = IpAddress::Parse(host);
  if (a) return a->family == Family::kIPv4;
  return IsValidHostname(host);
}

bool IsValidHostPort(absl::string_view s, uint32_t min_port) {
  absl::StatusOr<HostPort> hp =
      ParseHostPort(s, min_port == 0 ? PortRule::kListen : PortRule::kDial);
  return hp.ok() && hp->port >= min_port;
}

}  // namespace goalkeeper
