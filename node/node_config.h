// The node agent's config file (strict YAML, see common/strict_yaml.h):
//
//   timezone_file: /host/etc/localtime     # zone of RFC 3164 stamps (default /etc/localtime)
//   journal_directories: [/var/log/journal, /run/log/journal]   # for "journal" sources
//   checkpoint_dir: /var/lib/goalkeeper-node
//   heartbeat_interval: 60s
//   rules:                                  # absent: the default TFTP rule; [] for none
//     - name: tftp
//       sources: [/host/var/log/kern.log, journal]   # absolute paths, globs, or "journal"
//       prefix: "IPTables-TFTP-Rejected: "           # or regex: '^DROP.*DPT=22 '
//       proto: udp                                   # optional
//       ports: [69]                                  # optional; port specs as common/ports.h
//       window: 10m
//       threshold: 10
//       per_ipv6_64: false
//       quiet: 1h
//   listeners:
//     interval: 60s
//     protocols: [tcp]                     # tcp (tcp+tcp6) and/or udp (udp+udp6)
//     allowed_ports: [22, 10250]
//     exclude_ports: ["30000-32767"]
//     node_policies:                       # optional; the first whose selector matches
//       - selector: {role: ingress}        # the node's labels (--node-labels) wins
//         allowed_ports: [22, 80, 443, 10250]
//         exclude_ports: ["30000-32767"]
//
// Durations are "90s", "10m", "1h30m" (absl::ParseDuration) or "7d". Errors
// name the file, line, key and value: "node.yaml:5: rules[0].window: expected
// a duration 1s..7d (e.g. 10m), got 'ten'"; unknown keys are refused.
//
// Thread-safety: pure function; the result is a value.
#ifndef GOALKEEPER_NODE_NODE_CONFIG_H_
#define GOALKEEPER_NODE_NODE_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "node/firewall_rule.h"
#include "node/proc_net.h"

namespace goalkeeper {

// Ports for the nodes whose labels include every key=value of `selector`
// (an empty selector matches every node); protocols stay the top level's.
struct NodeListenerPolicy {
  std::map<std::string, std::string> selector;
  std::vector<uint16_t> allowed_ports;
  std::vector<uint16_t> exclude_ports;
};

struct ListenerConfig {
  absl::Duration interval = absl::Seconds(60);
  ListenerPolicy policy;  // tcp on, udp off by default
  std::vector<NodeListenerPolicy> node_policies;
};

// The policy of a node with these labels: the ports of the first
// node_policies entry whose selector matches, else `policy`'s.
ListenerPolicy PolicyForLabels(const ListenerConfig& config,
                               const std::map<std::string, std::string>& labels);

struct NodeConfig {
  std::vector<FirewallRuleSpec> rules = {DefaultFirewallRule()};
  std::string timezone_file = "/etc/localtime";
  std::vector<std::string> journal_directories = {"/var/log/journal", "/run/log/journal"};
  std::string checkpoint_dir = "/var/lib/goalkeeper-node";
  absl::Duration heartbeat_interval = absl::Seconds(60);
  ListenerConfig listeners;
};

// Parses the YAML text; `source` names it in errors (the file path).
// Every rule is checked with FirewallRule::Create (so a regex compiles).
absl::StatusOr<NodeConfig> ParseNodeConfig(absl::string_view yaml, absl::string_view source);

}  // namespace goalkeeper

#endif  // GOALKEEPER_NODE_NODE_CONFIG_H_
