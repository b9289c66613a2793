#include "common/auth_config.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/targets.h"
#include "common/yaml_write.h"

namespace goalkeeper {
namespace {

constexpr size_t kMaxDayDigits = 6;      // 999999d: far beyond any acknowledgement
constexpr size_t kMaxTokenBytes = 4096;  // a token file larger than this is refused
constexpr size_t kMaxIdentityBytes = 1024;

bool ValidTokenName(absl::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

bool HasControl(absl::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

absl::StatusOr<Role> RoleField(const StrictYamlParser& yaml, const YamlField& f) {
  ASSIGN_OR_RETURN(std::string name, yaml.String(f));
  absl::StatusOr<Role> role = ParseRole(name);
  if (!role.ok()) return yaml.Error(f, role.status().message());
  return *role;
}

absl::Status ParseIdentities(const StrictYamlParser& yaml, const YamlField& f,
                             std::vector<IdentityRule>* out) {
  out->clear();
  return yaml.ForEachElement(
      f, "a list of {match, role} entries", [&](const YamlField& element) -> absl::Status {
        IdentityRule rule;
        bool has_match = false;
        bool has_role = false;
        RETURN_IF_ERROR(yaml.ForEachEntry(
            element, {"match", "role"},
            [&](const std::string& key, const YamlField& entry) -> absl::Status {
              if (key == "match") {
                ASSIGN_OR_RETURN(rule.match, yaml.String(entry));
                const size_t star = rule.match.find('*');
                if (rule.match.empty() || rule.match == "*" ||
                    rule.match.size() > kMaxIdentityBytes || HasControl(rule.match) ||
                    (star != std::string::npos && star + 1 != rule.match.size())) {
                  return yaml.Expected(entry,
                                       "an identity, or a prefix ending in '*' (not '*' alone)");
                }
                has_match = true;
              } else {
                ASSIGN_OR_RETURN(rule.role, RoleField(yaml, entry));
                has_role = true;
              }
              return absl::OkStatus();
            }));
        if (!has_match) return yaml.Error(element, "missing key 'match'");
        if (!has_role) return yaml.Error(element, "missing key 'role'");
        out->push_back(std::move(rule));
        return absl::OkStatus();
      });
}

absl::Status ParseTokens(const StrictYamlParser& yaml, const YamlField& f,
                         std::vector<TokenRule>* out) {
  out->clear();
  std::set<std::string> names;
  return yaml.ForEachElement(
      f, "a list of {name, file, role} entries", [&](const YamlField& element) -> absl::Status {
        TokenRule token;
        bool has_role = false;
        RETURN_IF_ERROR(yaml.ForEachEntry(
            element, {"name", "file", "role"},
            [&](const std::string& key, const YamlField& entry) -> absl::Status {
              if (key == "name") {
                ASSIGN_OR_RETURN(token.name, yaml.String(entry));
                if (!ValidTokenName(token.name)) {
                  return yaml.Expected(entry, "a name of 1..64 letters, digits, '.', '_' or '-'");
                }
                if (!names.insert(token.name).second) {
                  return yaml.Error(entry,
                                    absl::StrCat("token name '", token.name, "' is used twice"));
                }
              } else if (key == "file") {
                ASSIGN_OR_RETURN(token.file, yaml.String(entry));
                if (token.file.empty() || HasControl(token.file)) {
                  return yaml.Expected(entry, "the path of a file holding the token");
                }
              } else {
                ASSIGN_OR_RETURN(token.role, RoleField(yaml, entry));
                has_role = true;
              }
              return absl::OkStatus();
            }));
        if (token.name.empty()) return yaml.Error(element, "missing key 'name'");
        if (token.file.empty()) return yaml.Error(element, "missing key 'file'");
        if (!has_role) return yaml.Error(element, "missing key 'role'");
        out->push_back(std::move(token));
        return absl::OkStatus();
      });
}

absl::Status ParseScope(const StrictYamlParser& yaml, const YamlField& f, RoleScope* scope) {
  return yaml.ForEachEntry(
      f, {"allowed_ranges", "max_probes_per_scan", "max_rate", "scans_per_hour", "max_acknowledge"},
      [&](const std::string& key, const YamlField& entry) -> absl::Status {
        if (key == "allowed_ranges") {
          scope->allowed_ranges.clear();
          RETURN_IF_ERROR(yaml.ForEachListItem(entry, {"a", "target spec", "target specs"},
                                               [&](absl::string_view item, int) -> absl::Status {
                                                 scope->allowed_ranges.emplace_back(item);
                                                 return absl::OkStatus();
                                               }));
          if (scope->allowed_ranges.empty()) {
            return yaml.Error(entry,
                              "an empty list would refuse every scan; leave the key out "
                              "for the global allowed_ranges");
          }
          absl::StatusOr<TargetSet> set = TargetSet::Parse(scope->allowed_ranges, {});
          if (!set.ok()) return yaml.Error(entry, set.status().message());
        } else if (key == "max_probes_per_scan") {
          ASSIGN_OR_RETURN(scope->max_probes_per_scan, yaml.Uint64(entry, 1, uint64_t{1} << 63));
        } else if (key == "max_rate") {
          ASSIGN_OR_RETURN(scope->max_rate, yaml.Double(entry, 0, 1e9, true));
        } else if (key == "scans_per_hour") {
          ASSIGN_OR_RETURN(scope->scans_per_hour, yaml.Uint(entry, 1, 1000000));
        } else {
          ASSIGN_OR_RETURN(std::string text, yaml.String(entry));
          std::optional<absl::Duration> d = ParseAuthDuration(text);
          if (!d) return yaml.Expected(entry, "a duration such as 90d or 36h");
          scope->max_acknowledge = *d;
        }
        return absl::OkStatus();
      });
}

}  // namespace

std::vector<IdentityRule> DefaultIdentityRules() {
  std::vector<IdentityRule> rules;
  for (Role r : {Role::kWorker, Role::kNodeAgent, Role::kCoordinator, Role::kAdmin, Role::kOperator,
                 Role::kViewer}) {
    rules.push_back({absl::StrCat("spiffe://goalkeeper/", RoleName(r), "*"), r});
  }
  return rules;
}

absl::Status ParseAuthConfig(const StrictYamlParser& yaml, const YamlField& field,
                             AuthConfig* config) {
  return yaml.ForEachEntry(
      field, {"identities", "tokens", "max_streams_per_identity", "roles"},
      [&](const std::string& key, const YamlField& entry) -> absl::Status {
        if (key == "identities") return ParseIdentities(yaml, entry, &config->identities);
        if (key == "tokens") return ParseTokens(yaml, entry, &config->tokens);
        if (key == "max_streams_per_identity") {
          ASSIGN_OR_RETURN(config->max_streams_per_identity, yaml.Uint(entry, 1, 10000));
          return absl::OkStatus();
        }
        config->roles.clear();
        return yaml.ForEachEntry(
            entry, {"viewer", "operator", "admin"},
            [&](const std::string& name, const YamlField& scope) -> absl::Status {
              ASSIGN_OR_RETURN(Role role, ParseRole(name));
              return ParseScope(yaml, scope, &config->roles[role]);
            });
      });
}

std::string FormatAuthConfig(const AuthConfig& c) {
  std::string out = "auth:\n";
  absl::StrAppend(&out, "  identities:", c.identities.empty() ? " []" : "", "\n");
  for (const IdentityRule& r : c.identities) {
    absl::StrAppend(&out, "    - {match: ", YamlQuoted(r.match), ", role: ", RoleName(r.role),
                    "}\n");
  }
  absl::StrAppend(&out, "  tokens:", c.tokens.empty() ? " []" : "", "\n");
  for (const TokenRule& t : c.tokens) {
    absl::StrAppend(&out, "    - {name: ", YamlQuoted(t.name), ", file: ", YamlQuoted(t.file),
                    ", role: ", RoleName(t.role), "}\n");
  }
  absl::StrAppend(&out, "  max_streams_per_identity: ", c.max_streams_per_identity, "\n");
  if (c.roles.empty()) return out + "  # roles: unset (no role is narrower than the config)\n";
  absl::StrAppend(&out, "  roles:\n");
  for (const auto& [role, s] : c.roles) {
    absl::StrAppend(&out, "    ", RoleName(role), ":");
    const bool empty = s == RoleScope{};
    absl::StrAppend(&out, empty ? " {}\n" : "\n");
    if (!s.allowed_ranges.empty()) {
      absl::StrAppend(&out, "      allowed_ranges: ", YamlFlowList(s.allowed_ranges), "\n");
    }
    if (s.max_probes_per_scan != 0) {
      absl::StrAppend(&out, "      max_probes_per_scan: ", s.max_probes_per_scan, "\n");
    }
    if (s.max_rate != 0) absl::StrAppend(&out, "      max_rate: ", YamlNumber(s.max_rate), "\n");
    if (s.scans_per_hour != 0) {
      absl::StrAppend(&out, "      scans_per_hour: ", s.scans_per_hour, "\n");
    }
    if (s.max_acknowledge != absl::ZeroDuration()) {
      absl::StrAppend(
          &out, "      max_acknowledge: ", YamlQuoted(FormatAuthDuration(s.max_acknowledge)), "\n");
    }
  }
  return out;
}

std::optional<Role> MatchIdentity(const std::vector<IdentityRule>& rules,
                                  absl::string_view identity) {
  for (const IdentityRule& r : rules) {
    if (!r.match.empty() && r.match.back() == '*') {
      if (absl::StartsWith(identity, absl::string_view(r.match).substr(0, r.match.size() - 1))) {
        return r.role;
      }
    } else if (identity == r.match) {
      return r.role;
    }
  }
  return std::nullopt;
}

const RoleScope& ScopeOf(const AuthConfig& config, Role role) {
  static const RoleScope kNone;
  auto it = config.roles.find(role);
  return it != config.roles.end() ? it->second : kNone;
}

std::optional<absl::Duration> ParseAuthDuration(absl::string_view text) {
  absl::Duration d;
  if (absl::EndsWith(text, "d")) {
    const absl::string_view days = text.substr(0, text.size() - 1);
    int64_t n = 0;
    if (days.empty() || days.size() > kMaxDayDigits ||
        !std::all_of(days.begin(), days.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(days, &n)) {
      return std::nullopt;
    }
    d = absl::Hours(24) * n;
  } else if (!absl::ParseDuration(text, &d)) {
    return std::nullopt;
  }
  if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) return std::nullopt;
  return d;
}

std::string FormatAuthDuration(absl::Duration d) {
  absl::Duration rest;
  const int64_t days = absl::IDivDuration(d, absl::Hours(24), &rest);
  if (days > 0 && rest == absl::ZeroDuration() && absl::StrCat(days).size() <= kMaxDayDigits) {
    return absl::StrCat(days, "d");
  }
  return absl::FormatDuration(d);
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path, absl::string_view key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": cannot read token file '", path, "': ", std::strerror(errno)));
  }
  std::string text(kMaxTokenBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxTokenBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": token file '", path, "' is larger than ", kMaxTokenBytes, " bytes"));
  }
  std::string token(absl::StripAsciiWhitespace(text));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(key, ": token file '", path, "' is empty"));
  }
  if (HasControl(token) || token.find(' ') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        key, ": token file '", path, "' holds more than one word (one token, no spaces)"));
  }
  return token;
}

}  // namespace goalkeeper
