// The coordinator's configuration file (YAML), parsed strictly: an unknown
// key, a wrong type or a bad value is an error naming the file, the line, the
// key path and the value. Flags given on the command line override the file.
//
//   listen: 0.0.0.0:7070
//   db: /var/lib/goalkeeper/coordinator.db
//   metrics_listen: 0.0.0.0:9464
//   allowed_ranges: [198.51.100.0/24, 2001:db8::/48]
//   inventories:
//     prod: {targets: [198.51.100.0/25], exclude: [198.51.100.1]}
//     cloud:                       # the public addresses of an OpenStack, fetched at scan start
//       openstack:
//         auth_url: https://keystone.example.net:5000
//         username: goalkeeper
//         user_domain_name: Default
//         project_name: admin
//         project_domain_name: Default
//         password_file: /run/secrets/openstack  # or $GOALKEEPER_OPENSTACK_PASSWORD
//         interface: public
//         region: RegionOne
//       exclude: [198.51.100.77]   # applies to fetched addresses too
//   profiles:
//     default: {ports: "databases,admin", timeout_ms: 500, retries: 1, rate: 20000,
//               probes: verify, udp: [dns, ntp, snmp]}   # probes: none|verify|all; udp: [all]
//   schedules:
//     - {name: prod-daily, cron: "0 3 * * *", timezone: Europe/Bucharest,
//        inventory: prod, profile: default}
//   notifier: {address: "127.0.0.1:7071"}
//   lease: {ttl_seconds: 30, heartbeat_seconds: 5, shard_seconds: 5, confirm_wait_seconds: 2}
//   limits: {max_probes_per_scan: 4294967296}  # addresses x ports; larger scans are refused
//   nodes: {silence_after_intervals: 3}  # a node agent silent this many heartbeats: alarm
//   tls: {dir: /etc/goalkeeper/tls}  # ca.crt, tls.crt, tls.key (common/tls.h); or
//   insecure: true                   # plaintext (local demos only)
//   health_listen: 0.0.0.0:7072      # plaintext grpc.health.v1 for probes; "" = off
//   auth: {...}   # who may do what: common/auth_config.h
//   canaries:                        # known pairs every covering scan checks (at most 64)
//     - {address: 198.51.100.9, port: 6379, protocol: tcp, expect: open}
//
//   ASSIGN_OR_RETURN(CoordinatorConfig c, LoadCoordinatorConfig("/etc/gk.yaml"));
//
// An inventory has `targets`, `openstack` or both. The `openstack` keys are
// the notifier's `owners.openstack` keys; the password is never in the file
// (password_file, else the environment variable GOALKEEPER_OPENSTACK_PASSWORD;
// read at start by coordinator/inventory_source.h, not here). Every floating
// IP and every address of a port on an external network becomes a target
// when a scan of the inventory starts (ScanManager::StartScan).
//
// Thread-safety: plain data.
#ifndef GOALKEEPER_COORDINATOR_CONFIG_H_
#define GOALKEEPER_COORDINATOR_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/auth_config.h"  // AuthConfig: who may do what
#include "common/http_client.h"  // SecretRef
#include "common/tls_config.h"
#include "coordinator/scheduler.h"
#include "owner_apis/openstack_config.h"

namespace goalkeeper {

struct InventoryConfig {
  std::vector<std::string> targets;          // target specs (no @file); may be empty with openstack
  std::vector<std::string> exclude;          // applies to targets and fetched addresses
  std::optional<OpenStackConfig> openstack;  // owner_apis/openstack_config.h

  friend bool operator==(const InventoryConfig&, const InventoryConfig&) = default;
};

struct ProfileConfig {
  std::string ports = "dangerous";  // a port spec (common/ports.h)
  uint32_t timeout_ms = 500;        // 1..600000
  uint32_t retries = 1;             // 0..10
  double rate = 0;                  // probes/s for a whole scan, 0 = no cap
  std::string probes = "verify";    // protocol probes: none | verify | all
  std::vector<std::string> udp;     // UDP services probed (probes/udp_probe.h names, or all)

  friend bool operator==(const ProfileConfig&, const ProfileConfig&) = default;
};

struct LeaseConfig {
  uint32_t ttl_seconds = 30;       // a lease not extended for this long expires
  uint32_t heartbeat_seconds = 5;  // workers heartbeat this often (< ttl)
  double shard_seconds = 5;        // shard size aims at this much work
  // A confirmation shard waits this long for a live worker other than the
  // one that found its changes, then any worker may take it (0..3600).
  double confirm_wait_seconds = 2;

  friend bool operator==(const LeaseConfig&, const LeaseConfig&) = default;
};

struct LimitsConfig {
  // StartScan refuses a scan of more (address, port) pairs: 1..2^63.
  uint64_t max_probes_per_scan = uint64_t{1} << 32;

  friend bool operator==(const LimitsConfig&, const LimitsConfig&) = default;
};

struct NodesConfig {
  // A node agent that has not reported for this many of its heartbeat
  // intervals is "silent" (an agent_silent finding): 1..1000.
  uint32_t silence_after_intervals = 3;

  friend bool operator==(const NodesConfig&, const NodesConfig&) = default;
};

// A canary: a pair the operator keeps in a known state inside the scanned
// ranges. A scan whose probe space holds it and that sees it otherwise ends
// DEGRADED (ScanManager).
struct CanaryConfig {
  std::string address;           // canonical text (IpAddress::ToString)
  uint32_t port = 0;             // 1..65535
  std::string protocol = "tcp";  // tcp | udp
  std::string expect = "open";   // open | closed

  friend bool operator==(const CanaryConfig&, const CanaryConfig&) = default;
};

// At most this many canaries.
inline constexpr size_t kMaxCanaries = 64;

struct CoordinatorConfig {
  std::string listen = "0.0.0.0:7070";
  std::string db = "goalkeeper-coordinator.db";
  std::string metrics_listen = "0.0.0.0:9464";  // "" disables /metrics
  std::vector<std::string> allowed_ranges;      // every scan must lie inside
  std::map<std::string, InventoryConfig> inventories;
  // Always has "default" (the built-in defaults above) unless the file
  // defines its own "default".
  std::map<std::string, ProfileConfig> profiles = {{"default", ProfileConfig{}}};
  std::vector<ScheduleSpec> schedules;
  std::string notifier_address;  // "" = reports wait pending
  LeaseConfig lease;
  LimitsConfig limits;
  NodesConfig nodes;
  // Mutual TLS on `listen`, and the certificate the notifier is dialled
  // with; or `insecure`. Neither: refused at start (common/tls.h).
  TlsConfig tls;
  std::string health_listen = "0.0.0.0:7072";  // plaintext grpc.health.v1 only; "" = off
  // Identities, tokens and role scopes (common/auth_config.h); a role's
  // allowed_ranges must lie inside allowed_ranges.
  AuthConfig auth;
  // Each inside allowed_ranges; at most kMaxCanaries.
  std::vector<CanaryConfig> canaries;

  friend bool operator==(const CoordinatorConfig&, const CoordinatorConfig&) = default;
};

// Parses YAML text; `source` names it in errors ("coordinator.yaml").
// Validates everything that can be checked without a network:
// - allowed_ranges, inventory targets/exclusions, profile ports parse;
// - an inventory has targets, openstack or both; openstack has auth_url
//   (http/https, no credentials), username and project_name;
// - every inventory lies inside allowed_ranges ("inventories.prod.targets:
//   10.9.0.0/16 is outside allowed_ranges");
// - schedules name existing inventories and profiles, and their cron
//   expressions and time zones are valid (Scheduler::Create);
// - lease.heartbeat_seconds < lease.ttl_seconds;
// - canaries: at most 64, each address inside allowed_ranges
//   ("canaries[2].address: 10.9.0.1 is outside allowed_ranges").
// Errors are InvalidArgument: "coordinator.yaml:12: profiles.fast.timeout_ms:
// expected a whole number 1..600000, got 'quick'"; "coordinator.yaml:3:
// unknown key 'alowed_ranges'".
absl::StatusOr<CoordinatorConfig> ParseCoordinatorConfig(absl::string_view yaml,
                                                         absl::string_view source);
// Reads and parses a file ("cannot read config file 'x': No such file...").
absl::StatusOr<CoordinatorConfig> LoadCoordinatorConfig(const std::string& path);

// One warning per allowed range so broad that it is likely a mistake: more
// than a /8 of IPv4 (0.0.0.0/0 is the whole Internet) or more than a /32 of
// IPv6. The coordinator logs each at WARN level when it starts:
// "allowed_ranges: '0.0.0.0/0' allows every IPv4 address: any host on the
// Internet may be scanned". Specs that do not parse are skipped (the parser
// refuses them).
std::vector<std::string> BroadAllowedRangeWarnings(const std::vector<std::string>& allowed_ranges);

// The configuration as a config file (what `goalkeeper-coordinator
// --check-config` prints): every key, defaults included, in the schema
// above, so that ParseCoordinatorConfig(FormatCoordinatorConfig(c)) == c.
// Strings are double-quoted, lists in flow style. An optional key that is
// unset and has no value the parser accepts is a comment saying what unset
// means ("# timezone: unset (UTC)", an openstack inventory's "# targets:").
// Secrets are never in it: password_file names a file, or a comment names
// the environment variable read instead.
std::string FormatCoordinatorConfig(const CoordinatorConfig& config);

// The secrets a start reads (one per `openstack` inventory), for CheckSecret.
std::vector<SecretRef> CoordinatorSecrets(const CoordinatorConfig& config);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_CONFIG_H_
