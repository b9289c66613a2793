#include "common/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace goalkeeper {

std::optional<IpAddress> IpAddress::Parse(absl::string_view text) {
  // inet_pton needs a NUL-terminated string; longest IPv6 text is 45 chars.
  char buf[64];
  if (text.empty() || text.size() >= sizeof(buf) ||
      text.find('\0') != absl::string_view::npos) {
    return std::nullopt;  // inet_pton would stop at an embedded NUL
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (text.find(':') == absl::string_view::npos) {
    in_addr a4;
    if (inet_pton(AF_INET, buf, &a4) != 1) return std::nullopt;
    return IpAddress::V4(ntohl(a4.s_addr));
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, buf, &a6) != 1) return std::nullopt;
  uint64_t hi = 0;
  uint64_t lo = 0;
  for (int i = 0; i < 8; ++i) hi = (hi << 8) | a6.s6_addr[i];
  for (int i = 8; i < 16; ++i) lo = (lo << 8) | a6.s6_addr[i];
  return IpAddress{Family::kIPv6, absl::MakeUint128(hi, lo)};
}

size_t IpAddress::Format(char* buf) const {
  if (family == Family::kIPv4) {
    in_addr a4;
    a4.s_addr = htonl(static_cast<uint32_t>(value));
    inet_ntop(AF_INET, &a4, buf, INET_ADDRSTRLEN);
  } else {
    in6_addr a6;
    uint64_t hi = absl::Uint128High64(value);
    uint64_t lo = absl::Uint128Low64(value);
    for (int i = 7; i >= 0; --i, hi >>= 8) a6.s6_addr[i] = static_cast<uint8_t>(hi);
    for (int i = 15; i >= 8; --i, lo >>= 8) a6.s6_addr[i] = static_cast<uint8_t>(lo);
    inet_ntop(AF_INET6, &a6, buf, INET6_ADDRSTRLEN);
  }
  return std::strlen(buf);
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN + 1];
  size_t n = Format(buf);
  return std::string(buf, n);
}

std::string ToDecimal(absl::uint128 n) {
  if (n == 0) return "0";
  std::string out;
  while (n > 0) {
    out.push_back(static_cast<char>('0' + static_cast<int>(n % 10)));
    n /= 10;
  }
  return std::string(out.rbegin(), out.rend());
}

}  // namespace goalkeeper
