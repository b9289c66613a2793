// The protocol-probe flags of `goalkeeper-worker scan` and `run`: their
// definitions and their check into engine ProbeOptions.
//
//   ProbeFlags pf;
//   AddProbeFlags(parser, pf, /*per_scan=*/true);   // --probes, --udp too
//   ASSIGN_OR_RETURN(ProbeOptions o, ParseProbeFlags(pf, parser.WasSet("snmp-community"), &udp));
//
// A bad value is InvalidArgument naming the flag and the value; the SNMP
// community is never part of a message (only its size).
//
// Thread-safety: plain functions over caller-owned values.
#ifndef GOALKEEPER_WORKER_PROBE_FLAGS_H_
#define GOALKEEPER_WORKER_PROBE_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/flags.h"
#include "engine/scan_engine.h"

namespace goalkeeper {

struct ProbeFlags {
  std::string probes = "verify";  // --probes (per scan)
  std::string udp;                // --udp (per scan)
  std::string probe_timeout = "2s";
  std::string dns_name{probes::kDefaultDnsProbeName};
  std::string snmp_community = "public";
  std::string snmp_community_file;
};

// --probe-timeout, --dns-name, --snmp-community, --snmp-community-file, and
// with `per_scan` --probes and --udp (a fleet worker takes those from each
// shard's profile).
void AddProbeFlags(FlagParser& p, ProbeFlags& f, bool per_scan);

// `community_set`: --snmp-community was given (it excludes the file flag).
// `udp_ports` (may be null when --udp is not a flag): the ports of --udp.
absl::StatusOr<ProbeOptions> ParseProbeFlags(const ProbeFlags& f, bool community_set,
                                             std::vector<uint16_t>* udp_ports);

}  // namespace goalkeeper

#endif  // GOALKEEPER_WORKER_PROBE_FLAGS_H_
