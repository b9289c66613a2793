// HOST:PORT addresses, checked once for every flag and config key that
// names one (gRPC would otherwise take "127.0.0.1:82606" as port 17070, and
// ":-1" as 65535). Hosts are a hostname, a dotted-quad IPv4 address or a
// bracketed IPv6 address; the port is decimal, 1-65535, or also 0 for an
// address to listen on ("pick a free port").
//
//   ASSIGN_OR_RETURN(HostPort hp, ParseHostPort("[::1]:7070", PortRule::kDial));
//   // hp.host == "::1", hp.port == 7070
//   ParseHostPort("127.0.0.1:82606", PortRule::kDial).status().message()
//   // "'127.0.0.1:82606': port 82606 is outside 1-65535"
//
// Thread-safety: pure functions.
#ifndef GOALKEEPER_COMMON_HOST_PORT_H_
#define GOALKEEPER_COMMON_HOST_PORT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace goalkeeper {

enum class PortRule {
  kDial,    // an address to connect to: port 1-65535
  kListen,  // an address to listen on: port 0-65535, 0 = the kernel picks one
};

struct HostPort {
  std::string host;  // without brackets: "::1", "127.0.0.1", "gk.example.com"
  uint16_t port = 0;
};

// Errors are InvalidArgument and quote the value: "'gk:http': port 'http' is
// not a number", "'10.0.0.1': missing ':PORT'", "'::1:80': put an IPv6
// address in brackets ('[::1]:80')", "'10.0.0.300:80': '10.0.0.300' is not a
// hostname, an IPv4 address or a bracketed IPv6 address".
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text, PortRule rule);

// A DNS name of letters, digits and '-' labels, not ending in an all-digit
// label (a mistyped IPv4 address such as "10.0.0.300").
bool IsValidHostname(absl::string_view host);
// A hostname, a dotted-quad IPv4 address or a bracketed IPv6 address
// ("[2001:db8::1]"), as in the authority of a URL.
bool IsValidHost(absl::string_view host);
// "host:port", "1.2.3.4:port" or "[v6]:port", port in [min_port, 65535]
// (min_port 0 or 1: ParseHostPort's two rules).
bool IsValidHostPort(absl::string_view s, uint32_t min_port);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_HOST_PORT_H_
