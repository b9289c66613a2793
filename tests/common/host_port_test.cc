#include "common/host_port.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

std::string ErrorOf(absl::string_view text, PortRule rule = PortRule::kDial) {
  absl::StatusOr<HostPort> hp = ParseHostPort(text, rule);
  EXPECT_FALSE(hp.ok()) << text << " parsed as " << (hp.ok() ? hp->host : "");
  if (hp.ok()) return "";
  EXPECT_EQ(hp.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(hp.status().message());
}

TEST(HostPortTest, ParsesHostnamesIpv4AndBracketedIpv6) {
  absl::StatusOr<HostPort> a = ParseHostPort("127.0.0.1:7070", PortRule::kDial);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 7070);
  absl::StatusOr<HostPort> b = ParseHostPort("[::1]:65535", PortRule::kDial);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 65535);
  absl::StatusOr<HostPort> c = ParseHostPort("gk-coordinator.example.com:1", PortRule::kDial);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->host, "gk-coordinator.example.com");
  EXPECT_EQ(c->port, 1);
}

TEST(HostPortTest, RefusesPortsOutsideTheRangeInsteadOfWrappingThem) {
  // gRPC would dial 82606 mod 65536 = 17070, and -1 as 65535.
  EXPECT_EQ(ErrorOf("127.0.0.1:82606"), "'127.0.0.1:82606': port 82606 is outside 1-65535");
  EXPECT_EQ(ErrorOf("127.0.0.1:-1"), "'127.0.0.1:-1': port -1 is outside 1-65535");
  EXPECT_EQ(ErrorOf("127.0.0.1:65536"), "'127.0.0.1:65536': port 65536 is outside 1-65535");
  EXPECT_EQ(ErrorOf("[::1]:99999999999999999999"),
            "'[::1]:99999999999999999999': port 99999999999999999999 is outside 1-65535");
  const std::string huge = ErrorOf(absl::StrCat("h:", std::string(5000, '9')));
  EXPECT_LT(huge.size(), 300u) << "a long value is cut in the message";
  EXPECT_THAT(huge, ::testing::HasSubstr("is outside 1-65535"));
  EXPECT_EQ(ErrorOf("[::1]:70000", PortRule::kListen),
            "'[::1]:70000': port 70000 is outside 0-65535");
}

// Found by host_port_fuzzer: control characters shown as \xNN made a
// 70-byte value quote as 400 characters, twice in one message.
TEST(HostPortTest, EscapedControlCharactersDoNotLengthenTheMessagePastItsBound) {
  const std::string nuls = absl::StrCat(std::string(60, '\0'), "\x7f:");
  const std::string message = ErrorOf(nuls);
  EXPECT_LT(message.size(), 300u) << message;
  EXPECT_THAT(message, ::testing::HasSubstr("\\x00"));
  EXPECT_EQ(message.find('\0'), std::string::npos);
}

TEST(HostPortTest, PortZeroOnlyForListenAddresses) {
  absl::StatusOr<HostPort> any = ParseHostPort("127.0.0.1:0", PortRule::kListen);
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_EQ(any->port, 0);
  EXPECT_EQ(ErrorOf("127.0.0.1:0"),
            "'127.0.0.1:0': port 0 is outside 1-65535 (0 only for a listen address)");
}

TEST(HostPortTest, RefusesMissingOrNonNumericPorts) {
  EXPECT_EQ(ErrorOf("127.0.0.1"), "'127.0.0.1': missing ':PORT'");
  EXPECT_EQ(ErrorOf("127.0.0.1:"), "'127.0.0.1:': missing the port after ':'");
  EXPECT_EQ(ErrorOf("gk:http"), "'gk:http': port 'http' is not a number");
  EXPECT_EQ(ErrorOf("gk:+80"), "'gk:+80': port '+80' is not a number");
  EXPECT_EQ(ErrorOf("gk: 80"), "'gk: 80': port ' 80' is not a number");
  EXPECT_EQ(ErrorOf("[::1]"), "'[::1]': missing ':PORT'");
  EXPECT_EQ(ErrorOf(""), "'' is not a HOST:PORT address");
}

TEST(HostPortTest, RefusesBadHosts) {
  EXPECT_EQ(ErrorOf("::1:80"), "'::1:80': put an IPv6 address in brackets ('[::1]:80')");
  EXPECT_EQ(ErrorOf("a:b:80"),
            "'a:b:80': a host cannot contain ':' (an IPv6 address goes in brackets: "
            "'[::1]:7070')");
  EXPECT_EQ(ErrorOf("10.0.0.300:80"),
            "'10.0.0.300:80': '10.0.0.300' is not a hostname, an IPv4 address or a bracketed "
            "IPv6 address");
  EXPECT_EQ(ErrorOf(":80"),
            "':80': '' is not a hostname, an IPv4 address or a bracketed IPv6 address");
  EXPECT_EQ(ErrorOf("[127.0.0.1]:80"), "'[127.0.0.1]:80': '127.0.0.1' is not an IPv6 address");
  EXPECT_EQ(ErrorOf("[::1:80"), "'[::1:80': missing ']' after the IPv6 address");
  EXPECT_EQ(ErrorOf("[::1]80"), "'[::1]80': expected ':PORT' after ']'");
  // Control characters are shown escaped: the message stays one line.
  EXPECT_EQ(ErrorOf("a\nb:80"),
            "'a\\x0ab:80': 'a\\x0ab' is not a hostname, an IPv4 address or a bracketed IPv6 "
            "address");
}

TEST(HostPortTest, IsValidHostPortFollowsTheSameRules) {
  EXPECT_TRUE(IsValidHostPort("127.0.0.1:0", 0));
  EXPECT_FALSE(IsValidHostPort("127.0.0.1:0", 1));
  EXPECT_TRUE(IsValidHostPort("[::]:7070", 1));
  EXPECT_FALSE(IsValidHostPort("127.0.0.1:82606", 0));
}

}  // namespace
}  // namespace goalkeeper
