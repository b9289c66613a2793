#include "node/proc_net.h"

#include <algorithm>
#include <bit>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace goalkeeper {
namespace {

std::optional<uint64_t> Hex(absl::string_view s, size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

std::optional<uint64_t> Decimal(absl::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// A 32-bit word as the kernel printed it (%08X of the value in host byte
// order) back to the 4 address bytes in network order, as a big-endian u32.
uint32_t WordToNetwork(uint32_t printed) {
  if constexpr (std::endian::native == std::endian::little) {
    return ((printed & 0xffu) << 24) | ((printed & 0xff00u) << 8) | ((printed >> 8) & 0xff00u) |
           (printed >> 24);
  } else {
    return printed;
  }
}

// "0100007F:0016" or 32 hex digits ":0016".
bool ParseEndpoint(absl::string_view s, bool ipv6, IpAddress* addr, uint16_t* port) {
  const size_t colon = s.find(':');
  if (colon == absl::string_view::npos) return false;
  const absl::string_view a = s.substr(0, colon);
  std::optional<uint64_t> p = Hex(s.substr(colon + 1), 4);
  if (!p) return false;
  *port = static_cast<uint16_t>(*p);
  if (!ipv6) {
    if (a.size() != 8) return false;
    std::optional<uint64_t> w = Hex(a, 8);
    if (!w) return false;
    *addr = IpAddress::V4(WordToNetwork(static_cast<uint32_t>(*w)));
    return true;
  }
  if (a.size() != 32) return false;
  absl::uint128 v = 0;
  for (size_t i = 0; i < 4; ++i) {
    std::optional<uint64_t> w = Hex(a.substr(i * 8, 8), 8);
    if (!w) return false;
    v = (v << 32) | WordToNetwork(static_cast<uint32_t>(*w));
  }
  if ((v >> 32) == absl::uint128(0xffff)) {  // ::ffff:a.b.c.d
    *addr = IpAddress::V4(static_cast<uint32_t>(absl::Uint128Low64(v) & 0xffffffffu));
  } else {
    *addr = IpAddress{Family::kIPv6, v};
  }
  return true;
}

bool IsZero(const IpAddress& a) { return a.value == 0; }

}  // namespace

absl::string_view SocketProtocolName(SocketProtocol p) {
  return p == SocketProtocol::kTcp ? "tcp" : "udp";
}

bool ProcNetSocket::listening() const {
  if (protocol == SocketProtocol::kTcp) return state == kTcpListen;
  return IsZero(remote) && remote_port == 0;
}

ProcNetTable ParseProcNet(absl::string_view content, SocketProtocol protocol, bool ipv6) {
  ProcNetTable table;
  if (content.size() > kMaxProcNetBytes) {
    content = content.substr(0, kMaxProcNetBytes);
    ++table.malformed_lines;
  }
  bool first = true;
  while (!content.empty()) {
    const size_t nl = content.find('\n');
    const absl::string_view line = content.substr(0, nl);
    content = nl == absl::string_view::npos ? absl::string_view() : content.substr(nl + 1);
    // Whitespace-separated fields: sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
    absl::string_view fields[10];
    size_t n = 0;
    size_t pos = 0;
    while (n < 10 && pos < line.size()) {
      while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
      if (pos >= line.size()) break;
      const size_t start = pos;
      while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t') ++pos;
      fields[n++] = line.substr(start, pos - start);
    }
    if (n == 0) continue;  // blank line
    if (first && fields[0] == "sl") {
      first = false;
      continue;
    }
    first = false;
    ProcNetSocket s;
    s.protocol = protocol;
    std::optional<uint64_t> st, uid, inode;
    if (n < 10 || fields[0].empty() || fields[0].back() != ':' ||
        !ParseEndpoint(fields[1], ipv6, &s.local, &s.local_port) ||
        !ParseEndpoint(fields[2], ipv6, &s.remote, &s.remote_port) || !(st = Hex(fields[3], 2)) ||
        !(uid = Decimal(fields[7])) || *uid > UINT32_MAX || !(inode = Decimal(fields[9]))) {
      ++table.malformed_lines;
      continue;
    }
    s.state = static_cast<uint8_t>(*st);
    s.uid = static_cast<uint32_t>(*uid);
    s.inode = *inode;
    table.sockets.push_back(s);
  }
  return table;
}

bool IsWildcardOrPublic(const IpAddress& a) {
  if (a.value == 0) return true;
  if (a.family == Family::kIPv4) {
    const uint32_t v = static_cast<uint32_t>(absl::Uint128Low64(a.value));
    if ((v >> 24) == 127) return false;     // 127.0.0.0/8
    if ((v >> 16) == 0xA9FE) return false;  // 169.254.0.0/16
    return true;
  }
  if (a.value == 1) return false;                                            // ::1
  if ((absl::Uint128High64(a.value) >> 54) == (0xfe80u >> 6)) return false;  // fe80::/10
  return true;
}

bool operator<(const Listener& a, const Listener& b) {
  return std::tie(a.protocol, a.address, a.port) < std::tie(b.protocol, b.address, b.port);
}

std::string Listener::ToString() const {
  const std::string addr = address.ToString();
  if (address.family == Family::kIPv6) {
    return absl::StrCat(SocketProtocolName(protocol), " [", addr, "]:", port);
  }
  return absl::StrCat(SocketProtocolName(protocol), " ", addr, ":", port);
}

std::vector<Listener> ReportableListeners(const std::vector<ProcNetSocket>& sockets,
                                          const ListenerPolicy& policy) {
  auto in = [](const std::vector<uint16_t>& ports, uint16_t p) {
    return std::find(ports.begin(), ports.end(), p) != ports.end();
  };
  std::vector<Listener> out;
  for (const ProcNetSocket& s : sockets) {
    if (s.protocol == SocketProtocol::kTcp ? !policy.tcp : !policy.udp) continue;
    if (!s.listening() || !IsWildcardOrPublic(s.local)) continue;
    if (in(policy.allowed_ports, s.local_port) || in(policy.exclude_ports, s.local_port)) continue;
    out.push_back(Listener{s.protocol, s.local, s.local_port, s.uid, s.inode});
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

ListenerDiff DiffListeners(std::vector<Listener> previous, std::vector<Listener> current) {
  std::sort(previous.begin(), previous.end());
  previous.erase(std::unique(previous.begin(), previous.end()), previous.end());
  std::sort(current.begin(), current.end());
  current.erase(std::unique(current.begin(), current.end()), current.end());
  ListenerDiff d;
  std::set_difference(current.begin(), current.end(), previous.begin(), previous.end(),
                      std::back_inserter(d.appeared));
  std::set_difference(previous.begin(), previous.end(), current.begin(), current.end(),
                      std::back_inserter(d.gone));
  return d;
}

}  // namespace goalkeeper
