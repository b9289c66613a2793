// The `auth:` block of the coordinator's and the notifier's config files:
// which identities have which role, the bearer tokens CI may use instead of
// a client certificate, the bound on concurrent streams per identity, and
// each role's scope. Read strictly (common/strict_yaml.h): errors name the
// file, the line and the key. common/authz.h turns it into the gate.
//
//   auth:
//     identities:                      # first match wins; a trailing * matches a prefix
//       - {match: "spiffe://goalkeeper/worker*", role: worker}
//       - {match: "spiffe://goalkeeper/admin", role: admin}
//     tokens:                          # bearer tokens, one per file (CI use)
//       - {name: ci, file: /run/secrets/goalkeeper/ci-token, role: operator}
//     max_streams_per_identity: 8
//     roles:                           # per-role scope
//       operator:
//         allowed_ranges: [10.0.0.0/8] # narrower than the global allowed_ranges
//         max_probes_per_scan: 1000000
//         max_rate: 5000               # probes/s cap of an ad-hoc scan
//         scans_per_hour: 20           # per identity
//       admin:
//         max_acknowledge: 90d         # notifier: the longest acknowledgement
//
//   AuthConfig auth;
//   RETURN_IF_ERROR(ParseAuthConfig(yaml, field, &auth));
//
// Without `auth.identities` the defaults apply: spiffe://goalkeeper/<role>*
// has <role> for each role (the dev CA of scripts/dev-certs.sh works out of
// the box). Token files are not read here (AuthPolicy::Create reads them at
// start), so a config check never touches a secret.
//
// Thread-safety: plain data and pure functions.
#ifndef GOALKEEPER_COMMON_AUTH_CONFIG_H_
#define GOALKEEPER_COMMON_AUTH_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/role.h"
#include "common/strict_yaml.h"

namespace goalkeeper {

// An identity pattern: exact, or a prefix when it ends with '*'.
struct IdentityRule {
  std::string match;
  Role role = Role::kNone;

  friend bool operator==(const IdentityRule&, const IdentityRule&) = default;
};

// A bearer token read from `file` (trimmed); its caller is "token:<name>".
struct TokenRule {
  std::string name;  // [A-Za-z0-9._-], 1..64 bytes
  std::string file;
  Role role = Role::kNone;

  friend bool operator==(const TokenRule&, const TokenRule&) = default;
};

// What callers of one role may do at most. Zero / empty = no narrower limit
// than the component's own.
struct RoleScope {
  std::vector<std::string> allowed_ranges;  // target specs; empty = the global ones
  uint64_t max_probes_per_scan = 0;         // 0 = limits.max_probes_per_scan
  double max_rate = 0;                      // probes/s; 0 = no cap
  uint32_t scans_per_hour = 0;              // ad-hoc scans per identity; 0 = unlimited
  absl::Duration max_acknowledge = absl::ZeroDuration();  // 0 = no limit

  friend bool operator==(const RoleScope&, const RoleScope&) = default;
};

// The defaults: spiffe://goalkeeper/{worker,node-agent,coordinator,admin,
// operator,viewer}* map to the role of the same name.
std::vector<IdentityRule> DefaultIdentityRules();

struct AuthConfig {
  std::vector<IdentityRule> identities = DefaultIdentityRules();
  std::vector<TokenRule> tokens;
  uint32_t max_streams_per_identity = 8;  // 1..10000
  std::map<Role, RoleScope> roles;        // viewer, operator, admin only

  friend bool operator==(const AuthConfig&, const AuthConfig&) = default;
};

// Reads the `auth` map `field` (its path is "auth") into *config, which
// keeps its defaults for absent keys. InvalidArgument naming the line and
// key: "coordinator.yaml:4: auth.identities[1].role: role 'root' is not
// viewer, operator, admin, worker, node-agent or coordinator".
absl::Status ParseAuthConfig(const StrictYamlParser& yaml, const YamlField& field,
                             AuthConfig* config);

// The block as YAML that ParseAuthConfig reads back to `config`, starting
// with "auth:\n" (for --check-config). Token files are named, never read.
std::string FormatAuthConfig(const AuthConfig& config);

// The role of the first rule matching `identity`; nullopt when none does.
std::optional<Role> MatchIdentity(const std::vector<IdentityRule>& rules,
                                  absl::string_view identity);

// The scope of `role` (a default RoleScope when the config has none).
const RoleScope& ScopeOf(const AuthConfig& config, Role role);

// "90d" (whole days) or what absl::ParseDuration accepts ("36h"); > 0 and
// finite. The inverse formats whole days as "Nd".
std::optional<absl::Duration> ParseAuthDuration(absl::string_view text);
std::string FormatAuthDuration(absl::Duration d);

// The token in `path`, whitespace trimmed. Errors name the file, never the
// content: "auth.tokens[0].file: '/run/x' is empty".
absl::StatusOr<std::string> ReadTokenFile(const std::string& path, absl::string_view key);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_AUTH_CONFIG_H_
