// Listening sockets of the host from /proc/net/{tcp,tcp6,udp,udp6} (read in
// the host's network namespace), the policy of which ones to report, and the
// difference between two readings:
//
//   ProcNetTable t = ParseProcNet(text, SocketProtocol::kTcp, /*ipv6=*/false);
//   std::vector<Listener> now = ReportableListeners(t.sockets, policy);
//   ListenerDiff d = DiffListeners(previous, now);   // appeared / gone
//
// Addresses are printed by the kernel as 32-bit words in host byte order
// ("0100007F" is 127.0.0.1 on x86); this parser reads them for the byte
// order of the machine it runs on, which is the kernel's. tcp6 addresses
// are four such words; v4-mapped ones (::ffff:a.b.c.d) are returned as IPv4.
// A socket is listening when its TCP state is 0A (LISTEN), or for UDP when
// it is unconnected (remote address and port 0).
//
// Thread-safety: pure functions over strings; safe from any thread.
#ifndef GOALKEEPER_NODE_PROC_NET_H_
#define GOALKEEPER_NODE_PROC_NET_H_

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/ip_address.h"

namespace goalkeeper {

// Larger contents are read up to this many bytes (the rest counted as one
// malformed line).
inline constexpr size_t kMaxProcNetBytes = 64 << 20;

enum class SocketProtocol : uint8_t { kTcp, kUdp };
absl::string_view SocketProtocolName(SocketProtocol p);  // "tcp", "udp"

inline constexpr uint8_t kTcpListen = 0x0A;

struct ProcNetSocket {
  SocketProtocol protocol = SocketProtocol::kTcp;
  IpAddress local;
  uint16_t local_port = 0;
  IpAddress remote;
  uint16_t remote_port = 0;
  uint8_t state = 0;
  uint32_t uid = 0;
  uint64_t inode = 0;

  bool listening() const;
};

struct ProcNetTable {
  std::vector<ProcNetSocket> sockets;
  uint64_t malformed_lines = 0;  // neither the header nor a socket row
};

// Parses the whole text of one /proc/net file. `ipv6` says whether it is
// tcp6/udp6 (32-digit addresses). Never fails: rows that cannot be read are
// counted.
ProcNetTable ParseProcNet(absl::string_view content, SocketProtocol protocol, bool ipv6);

// Which listening sockets are reported: those on a wildcard (0.0.0.0, ::)
// or public address (anything but loopback 127/8, ::1 and link-local
// 169.254/16, fe80::/10) whose port is in neither list, of the protocols
// chosen.
struct ListenerPolicy {
  std::vector<uint16_t> allowed_ports;  // expected on this node
  std::vector<uint16_t> exclude_ports;  // never reported
  bool tcp = true;
  bool udp = false;
};

struct Listener {
  SocketProtocol protocol = SocketProtocol::kTcp;
  IpAddress address;  // the local address (IPv4 for v4-mapped)
  uint16_t port = 0;
  uint32_t uid = 0;    // informational, not part of the key
  uint64_t inode = 0;  // informational, not part of the key

  // The key: (protocol, address, port).
  friend bool operator==(const Listener& a, const Listener& b) {
    return a.protocol == b.protocol && a.address == b.address && a.port == b.port;
  }
  friend bool operator<(const Listener& a, const Listener& b);
  std::string ToString() const;  // "tcp 0.0.0.0:22", "tcp [::]:8080"
};

// True for 0.0.0.0 / :: and for addresses other than loopback and link-local.
bool IsWildcardOrPublic(const IpAddress& a);

// The sockets the policy reports, sorted by key, one per key.
std::vector<Listener> ReportableListeners(const std::vector<ProcNetSocket>& sockets,
                                          const ListenerPolicy& policy);

struct ListenerDiff {
  std::vector<Listener> appeared;  // in current, not in previous
  std::vector<Listener> gone;      // in previous, not in current
};

// Both inputs as ReportableListeners returns them (sorted, unique by key;
// others are sorted here first).
ListenerDiff DiffListeners(std::vector<Listener> previous, std::vector<Listener> current);

}  // namespace goalkeeper

#endif  // GOALKEEPER_NODE_PROC_NET_H_
