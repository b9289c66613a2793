// UDP protocol probes: one request datagram per service, and a parser that
// matches answers to it. A UDP port is known open only when it answers, so
// these probes are the UDP scan.
//
//   const UdpProbe* p = UdpProbeByName("dns");
//   std::string req = p->Request(txid, options);     // a recursive query
//   UdpMatch m = p->Parse(datagram, txid, &ev);      // per datagram received
//   // kNotOurs: ignore it; kMore: it matched, more may follow (NTP monlist);
//   // kDone: it matched, nothing more is needed.
//
// The driver sends from a socket connected to (address, port), so only that
// source's datagrams reach Parse; `txid` (random per probe) is matched by
// protocols that echo one (DNS, SNMP request-id, portmapper xid, NetBIOS,
// CLDAP message id, memcached request id). The driver counts bytes and sets
// ev.request_bytes, response_bytes and amplification.
//
// Same rules as tcp_probe.h: benign, total (any bytes never crash), bounded.
//
// Thread-safety: probes are immutable singletons, safe from any thread.
#ifndef GOALKEEPER_PROBES_UDP_PROBE_H_
#define GOALKEEPER_PROBES_UDP_PROBE_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "probes/evidence.h"

namespace goalkeeper::probes {

// The zone under which the DNS probe asks a recursive query: the operator's
// own (config `probes.dns_name`); the tests run a server authoritative for it.
inline constexpr absl::string_view kDefaultDnsProbeName = "goalkeeper-probe.invalid.";

enum class UdpMatch { kNotOurs, kMore, kDone };

// What the operator chooses about UDP requests (coordinator/worker config).
struct UdpProbeOptions {
  std::string dns_name{kDefaultDnsProbeName};  // asked with recursion desired
  std::string snmp_community = "public";
};

class UdpProbe {
 public:
  virtual ~UdpProbe() = default;
  // "dns", "ntp", "ssdp", "snmp", "memcached", "cldap", "portmap",
  // "netbios", "mdns", "mssql", "ubiquiti".
  virtual absl::string_view name() const = 0;
  virtual absl::string_view service() const = 0;  // "DNS open resolver"
  virtual uint16_t port() const = 0;              // its catalogue port
  virtual std::string Request(uint16_t txid, const UdpProbeOptions& options) const = 0;
  virtual UdpMatch Parse(absl::string_view datagram, uint16_t txid, Evidence* ev) const = 0;
};

const UdpProbe* UdpProbeByName(absl::string_view name);
const UdpProbe* UdpProbeForPort(uint16_t port);  // the first of UdpProbesForPort
// Every probe of a catalogue port, in the order to ask them: the next one is
// asked when the previous went unanswered (123: ntp, ntp-version,
// ntp-client). Empty for a port without one.
std::span<const UdpProbe* const> UdpProbesForPort(uint16_t port);
std::span<const UdpProbe* const> AllUdpProbes();
// The catalogue ports of UDP service names (profiles' `udp:`), sorted and
// unique; "all" names every probe. An unknown name is InvalidArgument
// 'unknown UDP service "x" (known: dns, ntp, ...)'.
absl::StatusOr<std::vector<uint16_t>> UdpServicePorts(std::span<const std::string> names);

}  // namespace goalkeeper::probes

#endif  // GOALKEEPER_PROBES_UDP_PROBE_H_
