#include "common/ip_address.h"

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

// Parses text that the test knows is valid.
IpAddress Must(absl::string_view text) {
  std::optional<IpAddress> a = IpAddress::Parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

TEST(IpAddressTest, ParsesDottedQuadIPv4) {
  std::optional<IpAddress> a = IpAddress::Parse("127.0.0.5");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->family, Family::kIPv4);
  EXPECT_EQ(a->value, absl::uint128(0x7f000005u));
  EXPECT_EQ(a->bits(), 32);
  EXPECT_TRUE(*a == IpAddress::V4(0x7f000005u));
}

TEST(IpAddressTest, ParsesIPv4Extremes) {
  EXPECT_EQ(Must("0.0.0.0").value, absl::uint128(0));
  EXPECT_EQ(Must("255.255.255.255").value, absl::uint128(0xffffffffu));
}

TEST(IpAddressTest, ParsesIPv6) {
  IpAddress loopback = Must("::1");
  EXPECT_EQ(loopback.family, Family::kIPv6);
  EXPECT_EQ(loopback.value, absl::uint128(1));
  EXPECT_EQ(loopback.bits(), 128);

  EXPECT_EQ(Must("::").value, absl::uint128(0));
  EXPECT_EQ(Must("2001:db8::1").value, absl::MakeUint128(0x20010db800000000u, 1));
  EXPECT_EQ(Must("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").value, absl::Uint128Max());
  EXPECT_EQ(Must("1:2:3:4:5:6:7:8").value,
            absl::MakeUint128(0x0001000200030004u, 0x0005000600070008u));
}

TEST(IpAddressTest, ParsesIPv4MappedIPv6AsIPv6) {
  IpAddress a = Must("::ffff:1.2.3.4");
  EXPECT_EQ(a.family, Family::kIPv6);
  EXPECT_EQ(a.value, absl::MakeUint128(0, 0x0000ffff01020304u));
  EXPECT_EQ(a.ToString(), "::ffff:1.2.3.4");
}

TEST(IpAddressTest, RoundTripsIPv4Text) {
  for (const char* text : {"0.0.0.0", "1.2.3.4", "10.0.0.1", "127.0.0.1", "192.168.255.0",
                           "255.255.255.255"}) {
    EXPECT_EQ(Must(text).ToString(), text);
  }
}

TEST(IpAddressTest, RoundTripsIPv6Text) {
  for (const char* text : {"::", "::1", "2001:db8::1", "fe80::1:2", "1:0:0:1::1",
                           "1:2:3:4:5:6:7:8", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}) {
    EXPECT_EQ(Must(text).ToString(), text);
  }
}

TEST(IpAddressTest, FormatsIPv6InCanonicalForm) {
  EXPECT_EQ(Must("2001:0DB8:0000:0000:0000:0000:0000:0001").ToString(), "2001:db8::1");
  EXPECT_EQ(Must("0:0:0:0:0:0:0:1").ToString(), "::1");
}

TEST(IpAddressTest, RoundTripsRandomValues) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 10000; ++i) {
    IpAddress v4 = IpAddress::V4(static_cast<uint32_t>(rng()));
    std::optional<IpAddress> back4 = IpAddress::Parse(v4.ToString());
    ASSERT_TRUE(back4.has_value()) << v4.ToString();
    EXPECT_TRUE(*back4 == v4) << v4.ToString();

    const uint64_t hi = rng();
    const uint64_t lo = rng();
    IpAddress v6{Family::kIPv6, absl::MakeUint128(hi, lo)};
    std::optional<IpAddress> back6 = IpAddress::Parse(v6.ToString());
    ASSERT_TRUE(back6.has_value()) << v6.ToString();
    EXPECT_TRUE(*back6 == v6) << v6.ToString();
  }
}

TEST(IpAddressTest, FormatWritesTextAndReturnsItsLength) {
  char buf[64];
  size_t n = Must("10.20.30.40").Format(buf);
  EXPECT_EQ(std::string(buf, n), "10.20.30.40");

  IpAddress max6{Family::kIPv6, absl::Uint128Max()};
  n = max6.Format(buf);
  EXPECT_EQ(n, 39u);
  EXPECT_EQ(std::string(buf, n), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

// glibc's inet_pton rejects an IPv4 octet with a leading zero (it would be
// octal to inet_aton), so "010.0.0.1" is not an address rather than 8.0.0.1.
TEST(IpAddressTest, RejectsLeadingZeroOctets) {
  EXPECT_FALSE(IpAddress::Parse("010.0.0.1").has_value());
  EXPECT_FALSE(IpAddress::Parse("1.2.3.04").has_value());
  EXPECT_FALSE(IpAddress::Parse("00.0.0.0").has_value());
  EXPECT_FALSE(IpAddress::Parse("::ffff:010.0.0.1").has_value());
  // A lone zero is not a leading zero.
  EXPECT_TRUE(IpAddress::Parse("10.0.0.0").has_value());
}

TEST(IpAddressTest, RejectsMalformedIPv4) {
  for (const char* text : {"", "1", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.-1", "1.2.3.4 ",
                           " 1.2.3.4", "0x7f.0.0.1", "1..2.3", "a.b.c.d", "1.2.3.4/32",
                           "localhost"}) {
    EXPECT_FALSE(IpAddress::Parse(text).has_value()) << "'" << text << "'";
  }
}

TEST(IpAddressTest, RejectsMalformedIPv6) {
  for (const char* text : {":", ":::", "1::2::3", "12345::", "00001::", "1:2:3:4:5:6:7:8:9",
                           "fe80::1%eth0", "[::1]", "::1 ", "g::1", "2001:db8::/32"}) {
    EXPECT_FALSE(IpAddress::Parse(text).has_value()) << "'" << text << "'";
  }
}

TEST(IpAddressTest, RejectsOverlongText) {
  EXPECT_FALSE(IpAddress::Parse(std::string(64, '1')).has_value());
  EXPECT_FALSE(IpAddress::Parse(std::string(1 << 20, ':')).has_value());
  // Valid IPv6 padded with leading zeros past the buffer is still rejected.
  EXPECT_FALSE(IpAddress::Parse("0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:1").has_value());
}

// An embedded NUL must not cut the text short: inet_pton stops at the first
// NUL, so "1.2.3.4\0junk" would otherwise parse as 1.2.3.4.
TEST(IpAddressTest, RejectsEmbeddedNul) {
  EXPECT_FALSE(IpAddress::Parse(std::string("1.2.3.4\0junk", 12)).has_value());
  EXPECT_FALSE(IpAddress::Parse(std::string("::1\0", 4)).has_value());
}

TEST(IpAddressTest, OrdersIPv4BeforeIPv6) {
  EXPECT_TRUE(Must("255.255.255.255") < Must("::"));
  EXPECT_FALSE(Must("::") < Must("255.255.255.255"));
  EXPECT_TRUE(Must("10.0.0.1") < Must("10.0.0.2"));
  EXPECT_FALSE(Must("10.0.0.1") == Must("::10.0.0.1"));
}

TEST(IpAddressTest, PlusAddsWithinFamily) {
  IpAddress b = Must("127.0.0.5").Plus(3);
  EXPECT_EQ(b.ToString(), "127.0.0.8");
  EXPECT_EQ(Must("10.0.0.255").Plus(1).ToString(), "10.0.1.0");
  EXPECT_EQ(Must("2001:db8::ffff").Plus(1).ToString(), "2001:db8::1:0");
}

TEST(IpAddressTest, MaxValueDependsOnFamily) {
  EXPECT_EQ(MaxValue(Family::kIPv4), absl::uint128(0xffffffffu));
  EXPECT_EQ(MaxValue(Family::kIPv6), absl::Uint128Max());
}

TEST(ToDecimalTest, FormatsSmallNumbers) {
  EXPECT_EQ(ToDecimal(0), "0");
  EXPECT_EQ(ToDecimal(1), "1");
  EXPECT_EQ(ToDecimal(10), "10");
  EXPECT_EQ(ToDecimal(256), "256");
}

TEST(ToDecimalTest, FormatsNumbersBeyond64Bits) {
  EXPECT_EQ(ToDecimal(absl::uint128(1) << 32), "4294967296");
  EXPECT_EQ(ToDecimal(absl::uint128(UINT64_MAX)), "18446744073709551615");
  EXPECT_EQ(ToDecimal(absl::uint128(1) << 64), "18446744073709551616");
  EXPECT_EQ(ToDecimal(absl::uint128(1) << 96), "79228162514264337593543950336");
  EXPECT_EQ(ToDecimal(absl::Uint128Max()), "340282366920938463463374607431768211455");
}

}  // namespace
}  // namespace goalkeeper
