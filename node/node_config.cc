#include "node/node_config.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/ports.h"
#include "common/status_macros.h"
#include "common/strict_yaml.h"

namespace goalkeeper {
namespace {

constexpr size_t kMaxNameLength = 64;
constexpr size_t kMaxPathLength = 4096;
constexpr size_t kMaxRules = 256;
constexpr size_t kMaxSources = 64;
constexpr uint32_t kMaxThreshold = 1000000;
constexpr size_t kMaxDayDigits = 4;
constexpr size_t kMaxNodePolicies = 256;
constexpr size_t kMaxLabelLength = 63;

// A Kubernetes label key: [prefix/]name, name of [A-Za-z0-9._-] (at most 63),
// the prefix a DNS name (at most 253).
bool ValidLabel(absl::string_view key) {
  if (key.empty() || key.size() > 253 + 1 + kMaxLabelLength) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           c == '/';
  });
}

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

bool ValidPath(absl::string_view path) {
  if (path.empty() || path.size() > kMaxPathLength || path[0] != '/') return false;
  return std::none_of(path.begin(), path.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

// "7d", or what absl::ParseDuration accepts ("36h", "1h30m").
std::optional<absl::Duration> ParseConfigDuration(absl::string_view text) {
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
  if (d == absl::InfiniteDuration() || d == -absl::InfiniteDuration()) return std::nullopt;
  return d;
}

class NodeConfigParser {
 public:
  explicit NodeConfigParser(absl::string_view source) : yaml_(source) {}

  absl::StatusOr<NodeConfig> Parse(absl::string_view text) {
    ASSIGN_OR_RETURN(YamlField root, yaml_.LoadDocument(text));
    RETURN_IF_ERROR(yaml_.ForEachEntry(
        root,
        {"rules", "timezone_file", "checkpoint_dir", "heartbeat_interval", "listeners",
         "journal_directories"},
        [this](const std::string& key, const YamlField& f) { return ParseTop(key, f); }));
    return std::move(config_);
  }

 private:
  absl::Status ParseTop(const std::string& key, const YamlField& f) {
    if (key == "rules") {
      config_.rules.clear();
      return yaml_.ForEachElement(f, "a list of rules",
                                  [this](const YamlField& e) { return ParseRule(e); });
    }
    if (key == "journal_directories") {
      config_.journal_directories.clear();
      return yaml_.ForEachListItem(
          f, {"a", "directory", "directories"}, [&](absl::string_view d, int line) {
            if (!ValidPath(d)) {
              return yaml_.Error(
                  line, f.path,
                  absl::StrCat("expected an absolute directory, got ", QuoteValue(d)));
            }
            config_.journal_directories.emplace_back(d);
            return absl::OkStatus();
          });
    }
    if (key == "timezone_file") {
      ASSIGN_OR_RETURN(config_.timezone_file, Path(f));
    } else if (key == "checkpoint_dir") {
      ASSIGN_OR_RETURN(config_.checkpoint_dir, Path(f));
    } else if (key == "heartbeat_interval") {
      ASSIGN_OR_RETURN(config_.heartbeat_interval,
                       Duration(f, absl::Seconds(1), absl::Hours(1), "1s..1h (e.g. 60s)"));
    } else if (key == "listeners") {
      return ParseListeners(f);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Path(const YamlField& f) const {
    ASSIGN_OR_RETURN(std::string value, yaml_.String(f));
    if (!ValidPath(value)) return yaml_.Expected(f, "an absolute path");
    return value;
  }

  absl::StatusOr<absl::Duration> Duration(const YamlField& f, absl::Duration min,
                                          absl::Duration max, absl::string_view range) const {
    ASSIGN_OR_RETURN(std::string value, yaml_.String(f));
    std::optional<absl::Duration> d = ParseConfigDuration(value);
    if (!d || *d < min || *d > max) {
      return yaml_.Expected(f, absl::StrCat("a duration ", range));
    }
    return *d;
  }

  absl::StatusOr<std::vector<uint16_t>> Ports(const YamlField& f) const {
    std::set<uint16_t> ports;
    RETURN_IF_ERROR(yaml_.ForEachListItem(
        f, {"a", "port spec", "port specs"}, [&](absl::string_view spec, int line) -> absl::Status {
          absl::StatusOr<PortSet> set = PortSet::Parse(spec);
          if (!set.ok()) return yaml_.Error(line, f.path, set.status().message());
          ports.insert(set->ports().begin(), set->ports().end());
          return absl::OkStatus();
        }));
    return std::vector<uint16_t>(ports.begin(), ports.end());
  }

  absl::Status ParseRule(const YamlField& f) {
    if (config_.rules.size() >= kMaxRules) {
      return yaml_.Error(f, absl::StrCat("more than ", kMaxRules, " rules"));
    }
    FirewallRuleSpec rule;
    rule.sources.clear();
    rule.ports.clear();
    rule.name.clear();
    rule.prefix.clear();
    rule.proto.clear();
    bool has_name = false, has_sources = false;
    int match_line = f.line;
    const absl::Status entries = yaml_.ForEachEntry(
        f,
        {"name", "sources", "prefix", "regex", "proto", "ports", "window", "threshold",
         "per_ipv6_64", "quiet"},
        [&](const std::string& key, const YamlField& e) -> absl::Status {
          if (key == "name") {
            ASSIGN_OR_RETURN(rule.name, yaml_.String(e));
            if (!ValidName(rule.name)) {
              return yaml_.Expected(e, "a rule name of 1-64 letters, digits, '_', '-' or '.'");
            }
            for (const FirewallRuleSpec& other : config_.rules) {
              if (other.name == rule.name) {
                return yaml_.Error(
                    e, absl::StrCat("rule name ", QuoteValue(rule.name), " is used twice"));
              }
            }
            has_name = true;
          } else if (key == "sources") {
            has_sources = true;
            RETURN_IF_ERROR(yaml_.ForEachElement(
                e, "a list of log files or 'journal'", [&](const YamlField& s) -> absl::Status {
                  ASSIGN_OR_RETURN(std::string source, yaml_.String(s));
                  if (source != kJournalSource && !ValidPath(source)) {
                    return yaml_.Expected(s, "an absolute file path or glob, or 'journal'");
                  }
                  if (rule.sources.size() >= kMaxSources) {
                    return yaml_.Error(s, absl::StrCat("more than ", kMaxSources, " sources"));
                  }
                  if (std::find(rule.sources.begin(), rule.sources.end(), source) !=
                      rule.sources.end()) {
                    return yaml_.Error(s, absl::StrCat(QuoteValue(source), " is listed twice"));
                  }
                  rule.sources.push_back(std::move(source));
                  return absl::OkStatus();
                }));
            if (rule.sources.empty()) return yaml_.Error(e, "must list at least one source");
          } else if (key == "prefix" || key == "regex") {
            ASSIGN_OR_RETURN(std::string value, yaml_.String(e));
            if (value.empty() || value.size() > 1024) {
              return yaml_.Expected(e, absl::StrCat("a non-empty ", key, " of at most 1024 bytes"));
            }
            (key == "prefix" ? rule.prefix : rule.regex) = std::move(value);
            if (!rule.prefix.empty() && !rule.regex.empty()) {
              return yaml_.Error(e, "set either prefix or regex, not both");
            }
            match_line = e.line;
          } else if (key == "proto") {
            ASSIGN_OR_RETURN(std::string value, yaml_.String(e));
            if (value.empty() || value.size() > 16 ||
                !std::all_of(value.begin(), value.end(), [](char c) {
                  return absl::ascii_isalnum(static_cast<unsigned char>(c));
                })) {
              return yaml_.Expected(e, "a protocol name such as udp, tcp or icmp");
            }
            rule.proto = absl::AsciiStrToLower(value);
          } else if (key == "ports") {
            ASSIGN_OR_RETURN(rule.ports, Ports(e));
          } else if (key == "window") {
            ASSIGN_OR_RETURN(rule.window, Duration(e, absl::Seconds(1), absl::Hours(24 * 7),
                                                   "1s..7d (e.g. 10m)"));
          } else if (key == "quiet") {
            ASSIGN_OR_RETURN(rule.quiet, Duration(e, absl::ZeroDuration(), absl::Hours(24 * 30),
                                                  "0s..30d (e.g. 1h)"));
          } else if (key == "threshold") {
            ASSIGN_OR_RETURN(rule.threshold, yaml_.Uint(e, 1, kMaxThreshold));
          } else if (key == "per_ipv6_64") {
            ASSIGN_OR_RETURN(rule.per_ipv6_64, yaml_.Bool(e));
          }
          return absl::OkStatus();
        });
    if (!entries.ok()) return entries;
    if (!has_name) return yaml_.Error(f, "a rule needs a name");
    const std::string path = absl::StrCat(f.path, " (rule '", rule.name, "')");
    if (!has_sources) return yaml_.Error(f.line, path, "a rule needs sources");
    if (rule.prefix.empty() && rule.regex.empty()) {
      return yaml_.Error(f.line, path, "a rule needs a prefix or a regex");
    }
    absl::StatusOr<FirewallRule> checked = FirewallRule::Create(rule);
    if (!checked.ok()) return yaml_.Error(match_line, f.path, checked.status().message());
    config_.rules.push_back(checked->spec());
    return absl::OkStatus();
  }

  absl::Status ParseListeners(const YamlField& f) {
    ListenerConfig& l = config_.listeners;
    return yaml_.ForEachEntry(
        f, {"interval", "allowed_ports", "exclude_ports", "protocols", "node_policies"},
        [&](const std::string& key, const YamlField& e) -> absl::Status {
          if (key == "node_policies") {
            return yaml_.ForEachElement(e, "a list of node policies",
                                        [&](const YamlField& p) { return ParseNodePolicy(p); });
          }
          if (key == "interval") {
            ASSIGN_OR_RETURN(l.interval,
                             Duration(e, absl::Seconds(1), absl::Hours(24), "1s..24h (e.g. 60s)"));
          } else if (key == "allowed_ports") {
            ASSIGN_OR_RETURN(l.policy.allowed_ports, Ports(e));
          } else if (key == "exclude_ports") {
            ASSIGN_OR_RETURN(l.policy.exclude_ports, Ports(e));
          } else if (key == "protocols") {
            l.policy.tcp = false;
            l.policy.udp = false;
            return yaml_.ForEachListItem(
                e, {"a", "protocol", "protocols"},
                [&](absl::string_view p, int line) -> absl::Status {
                  if (p == "tcp") {
                    l.policy.tcp = true;
                  } else if (p == "udp") {
                    l.policy.udp = true;
                  } else {
                    return yaml_.Error(line, e.path,
                                       absl::StrCat("expected tcp or udp, got ", QuoteValue(p)));
                  }
                  return absl::OkStatus();
                });
          }
          return absl::OkStatus();
        });
  }

  absl::Status ParseNodePolicy(const YamlField& f) {
    if (config_.listeners.node_policies.size() >= kMaxNodePolicies) {
      return yaml_.Error(f, absl::StrCat("more than ", kMaxNodePolicies, " node policies"));
    }
    NodeListenerPolicy policy;
    bool has_selector = false;
    RETURN_IF_ERROR(yaml_.ForEachEntry(
        f, {"selector", "allowed_ports", "exclude_ports"},
        [&](const std::string& key, const YamlField& e) -> absl::Status {
          if (key == "selector") {
            has_selector = true;
            return yaml_.ForEachEntry(
                e, {}, [&](const std::string& label, const YamlField& v) -> absl::Status {
                  if (!ValidLabel(label)) {
                    return yaml_.Error(
                        v, absl::StrCat("expected a label key, got ", QuoteValue(label)));
                  }
                  ASSIGN_OR_RETURN(std::string value, yaml_.String(v));
                  if (value.size() > kMaxLabelLength) {
                    return yaml_.Expected(v, "a label value of at most 63 bytes");
                  }
                  policy.selector[label] = value;
                  return absl::OkStatus();
                });
          }
          if (key == "allowed_ports") {
            ASSIGN_OR_RETURN(policy.allowed_ports, Ports(e));
          } else if (key == "exclude_ports") {
            ASSIGN_OR_RETURN(policy.exclude_ports, Ports(e));
          }
          return absl::OkStatus();
        }));
    if (!has_selector) return yaml_.Error(f, "a node policy needs a selector");
    config_.listeners.node_policies.push_back(std::move(policy));
    return absl::OkStatus();
  }

  StrictYamlParser yaml_;
  NodeConfig config_;
};

}  // namespace

ListenerPolicy PolicyForLabels(const ListenerConfig& config,
                               const std::map<std::string, std::string>& labels) {
  ListenerPolicy policy = config.policy;
  for (const NodeListenerPolicy& p : config.node_policies) {
    const bool match = std::all_of(p.selector.begin(), p.selector.end(), [&](const auto& kv) {
      auto it = labels.find(kv.first);
      return it != labels.end() && it->second == kv.second;
    });
    if (!match) continue;
    policy.allowed_ports = p.allowed_ports;
    policy.exclude_ports = p.exclude_ports;
    break;
  }
  return policy;
}

absl::StatusOr<NodeConfig> ParseNodeConfig(absl::string_view yaml, absl::string_view source) {
  return CatchYamlExceptions(source, [&]() -> absl::StatusOr<NodeConfig> {
    NodeConfigParser parser(source);
    return parser.Parse(yaml);
  });
}

}  // namespace goalkeeper
