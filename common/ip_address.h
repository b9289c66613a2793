// IPv4/IPv6 addresses as 128-bit numbers, so ranges can be counted, indexed
// and merged without ever expanding them.
//
//   auto a = IpAddress::Parse("127.0.0.5");      // std::optional<IpAddress>
//   IpAddress b = a->Plus(3);                    // 127.0.0.8
//   std::string s = b.ToString();
//
// Thread-safety: value types; safe to share when not mutated.
#ifndef GOALKEEPER_COMMON_IP_ADDRESS_H_
#define GOALKEEPER_COMMON_IP_ADDRESS_H_

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/numeric/int128.h"

namespace goalkeeper {

enum class Family : uint8_t { kIPv4 = 4, kIPv6 = 6 };

struct IpAddress {
  Family family = Family::kIPv4;
  // IPv4 uses the low 32 bits.
  absl::uint128 value = 0;

  // Parses dotted-quad IPv4 or any RFC 4291 text form of IPv6 (no zone id).
  static std::optional<IpAddress> Parse(absl::string_view text);
  static IpAddress V4(uint32_t v) { return {Family::kIPv4, v}; }

  std::string ToString() const;
  // Writes the text form into buf (at least 46 bytes); returns its length.
  size_t Format(char* buf) const;

  int bits() const { return family == Family::kIPv4 ? 32 : 128; }
  IpAddress Plus(absl::uint128 n) const { return {family, value + n}; }

  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    return a.family == b.family && a.value == b.value;
  }
  friend bool operator<(const IpAddress& a, const IpAddress& b) {
    if (a.family != b.family) return a.family < b.family;
    return a.value < b.value;
  }
};

// The largest value of an address of this family.
inline absl::uint128 MaxValue(Family f) {
  return f == Family::kIPv4 ? absl::uint128(0xffffffffu) : absl::Uint128Max();
}

// Decimal text of a 128-bit count (absl::StrCat has no uint128 overload).
std::string ToDecimal(absl::uint128 n);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_IP_ADDRESS_H_
