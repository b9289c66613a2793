#include "worker/probe_flags.h"

#include <fstream>
#include <iterator>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "probes/udp_probe.h"

namespace goalkeeper {

void AddProbeFlags(FlagParser& p, ProbeFlags& f, bool per_scan) {
  if (per_scan) {
    p.AddString("probes", &f.probes, "none|verify|all",
                "protocol probes of open TCP ports: none, the port's own (verify), or identify "
                "every open port (all) (default verify)");
    p.AddJoinedList("udp", &f.udp, "LIST",
                    "UDP services to probe on every address: dns,ntp,ssdp,snmp,memcached,cldap,"
                    "portmap,netbios,mdns,mssql,ubiquiti or all (default none)");
  }
  p.AddString("probe-timeout", &f.probe_timeout, "DURATION",
              "deadline of one TCP probe conversation (default 2s)");
  p.AddString("dns-name", &f.dns_name, "NAME",
              "the name the DNS probe asks recursively (default goalkeeper-probe.invalid.)");
  p.AddString("snmp-community", &f.snmp_community, "NAME",
              "SNMP community of the snmp probe (default public; never logged)");
  p.AddString("snmp-community-file", &f.snmp_community_file, "PATH",
              "read the SNMP community from a file instead");
}

absl::StatusOr<ProbeOptions> ParseProbeFlags(const ProbeFlags& f, bool community_set,
                                             std::vector<uint16_t>* udp_ports) {
  ProbeOptions o;
  if (f.probes == "none") {
    o.mode = ProbeMode::kNone;
  } else if (f.probes == "verify") {
    o.mode = ProbeMode::kVerify;
  } else if (f.probes == "all") {
    o.mode = ProbeMode::kAll;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--probes: '", f.probes, "' is not none, verify or all"));
  }
  absl::Duration d;
  if (!absl::ParseDuration(f.probe_timeout, &d) || d < absl::Milliseconds(1) ||
      d > absl::Seconds(60)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--probe-timeout: '", f.probe_timeout, "' is not a duration from 1ms to 60s (e.g. 2s)"));
  }
  o.timeout = std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
  std::vector<std::string> names;
  for (absl::string_view n : absl::StrSplit(f.udp, ',', absl::SkipWhitespace())) {
    names.emplace_back(absl::StripAsciiWhitespace(n));
  }
  if (udp_ports != nullptr) udp_ports->clear();
  if (!names.empty() && udp_ports != nullptr) {
    absl::StatusOr<std::vector<uint16_t>> ports = probes::UdpServicePorts(names);
    if (!ports.ok())
      return absl::InvalidArgumentError(absl::StrCat("--udp: ", ports.status().message()));
    *udp_ports = *std::move(ports);
  }
  if (f.dns_name.empty() || f.dns_name.size() > 253 ||
      f.dns_name.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") !=
          std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--dns-name: '", absl::CHexEscape(f.dns_name.substr(0, 300)),
                     "' is not a DNS name (letters, digits, '-', '.')"));
  }
  o.udp.dns_name = f.dns_name;
  if (!f.dns_name.empty() && f.dns_name.back() != '.') o.udp.dns_name.push_back('.');
  std::string community = f.snmp_community;
  if (!f.snmp_community_file.empty()) {
    if (community_set) {
      return absl::InvalidArgumentError(
          "--snmp-community-file: give it or --snmp-community, not both");
    }
    std::ifstream in(f.snmp_community_file, std::ios::binary);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("--snmp-community-file: '", f.snmp_community_file, "' cannot be read"));
    }
    community.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    while (!community.empty() && (community.back() == '\n' || community.back() == '\r')) {
      community.pop_back();
    }
  }
  bool printable = !community.empty() && community.size() <= 64;
  for (char c : community) printable = printable && c > 0x20 && c < 0x7f;
  if (!printable) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.snmp_community_file.empty() ? "--snmp-community" : "--snmp-community-file",
                     ": the community must be 1-64 printable characters without spaces (",
                     community.size(), " bytes given)"));
  }
  o.udp.snmp_community = std::move(community);
  return o;
}

}  // namespace goalkeeper
