#include "coordinator/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/ip_address.h"
#include "common/ports.h"
#include "common/status_macros.h"
#include "common/strict_yaml.h"
#include "common/targets.h"
#include "common/tls.h"
#include "common/yaml_write.h"
#include "probes/udp_probe.h"

namespace goalkeeper {
namespace {

constexpr size_t kMaxNameLength = 64;
constexpr size_t kMaxTimeZoneLength = 128;

constexpr uint32_t kMaxTimeoutMs = 600000;
constexpr uint32_t kMaxRetries = 10;
constexpr double kMaxRate = 1e9;  // as the worker's --rate
constexpr uint32_t kMaxLeaseSeconds = 86400;
constexpr double kMaxShardSeconds = 86400;
constexpr double kMaxConfirmWaitSeconds = 3600;
constexpr uint32_t kMaxSilenceIntervals = 1000;

// Inventory, profile and schedule names appear in key paths, metrics and the
// API, so they are kept to a plain alphabet.
bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

// An IANA zone name ("Europe/Bucharest", "Etc/GMT+2", "UTC"). Checked here
// before the zone is loaded: absl loads absolute paths verbatim, and a
// config must not make the coordinator open arbitrary files.
bool ValidTimeZoneName(absl::string_view tz) {
  if (tz.empty() || tz.size() > kMaxTimeZoneLength) return false;
  for (absl::string_view part : absl::StrSplit(tz, '/')) {
    if (part.empty() || part == "." || part == "..") return false;
    for (char c : part) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '+' &&
          c != '.') {
        return false;
      }
    }
  }
  return true;
}

// Target specs of one list, each with the line it came from.
struct TargetList {
  std::vector<std::string> specs;
  std::vector<AddressRange> ranges;  // ranges[i] parsed from specs[i]
  std::vector<int> lines;
};

struct ScheduleEntry {
  ScheduleSpec spec;
  int line = -1;
  int cron_line = -1;
  int timezone_line = -1;
  int inventory_line = -1;
  int profile_line = -1;
};

class ConfigParser {
 public:
  explicit ConfigParser(absl::string_view source) : yaml_(source) {}

  absl::StatusOr<CoordinatorConfig> Parse(absl::string_view yaml);

 private:
  absl::StatusOr<TargetList> Targets(const YamlField& f) const;

  absl::Status ParseTop(const std::string& key, const YamlField& f);
  absl::Status ParseInventory(const std::string& name, const YamlField& f);
  absl::Status ParseOpenStack(const YamlField& f, InventoryConfig& inventory);
  // A string that must not be "".
  absl::StatusOr<std::string> NonEmpty(const YamlField& f) const;
  absl::Status ParseProfile(const std::string& name, const YamlField& f);
  absl::Status ParseSchedule(const YamlField& f);
  absl::Status ParseLease(const YamlField& f);
  absl::Status ParseLimits(const YamlField& f);
  absl::Status ParseNodes(const YamlField& f);
  absl::Status ParseCanary(const YamlField& f);
  absl::Status CheckCanaries() const;
  absl::Status CheckInventories() const;
  absl::Status CheckSchedules() const;
  absl::Status CheckLease() const;
  // auth.roles.*.allowed_ranges lie inside allowed_ranges.
  absl::Status CheckRoleRanges() const;

  const StrictYamlParser yaml_;
  CoordinatorConfig config_;
  TargetList allowed_;
  std::map<std::string, TargetList> inventory_targets_;
  std::map<std::string, TargetList> inventory_excludes_;
  std::map<std::string, int> inventory_lines_;  // of each inventory's entry
  int inventories_line_ = -1;
  std::vector<ScheduleEntry> schedules_;
  int ttl_line_ = -1;
  int heartbeat_line_ = -1;
  int lease_line_ = -1;
  int insecure_line_ = -1;
  int auth_line_ = -1;
  std::vector<int> canary_lines_;
};

absl::StatusOr<TargetList> ConfigParser::Targets(const YamlField& f) const {
  TargetList out;
  RETURN_IF_ERROR(yaml_.ForEachListItem(
      f, {"a", "target spec", "target specs"},
      [&](absl::string_view spec, int line) -> absl::Status {
        if (spec.front() == '@') {
          return yaml_.Error(
              line, f.path,
              absl::StrCat(QuoteValue(spec), ": files are not accepted in the config"));
        }
        absl::StatusOr<AddressRange> range = ParseTargetSpec(spec);
        if (!range.ok()) return yaml_.Error(line, f.path, range.status().message());
        out.specs.emplace_back(spec);
        out.ranges.push_back(*range);
        out.lines.push_back(line);
        return absl::OkStatus();
      }));
  return out;
}

absl::StatusOr<std::string> ConfigParser::NonEmpty(const YamlField& f) const {
  ASSIGN_OR_RETURN(std::string value, yaml_.String(f));
  if (value.empty()) return yaml_.Error(f, "must not be empty");
  return value;
}

absl::Status ConfigParser::ParseTop(const std::string& key, const YamlField& f) {
  if (key == "listen") {
    ASSIGN_OR_RETURN(config_.listen, yaml_.HostPort(f, 0, false));
  } else if (key == "metrics_listen") {
    ASSIGN_OR_RETURN(config_.metrics_listen, yaml_.HostPort(f, 0, true));
  } else if (key == "db") {
    ASSIGN_OR_RETURN(config_.db, NonEmpty(f));
  } else if (key == "allowed_ranges") {
    ASSIGN_OR_RETURN(allowed_, Targets(f));
    config_.allowed_ranges = allowed_.specs;
  } else if (key == "inventories") {
    inventories_line_ = f.line;
    return yaml_.ForEachEntry(f, {}, [this](const std::string& name, const YamlField& entry) {
      return ParseInventory(name, entry);
    });
  } else if (key == "profiles") {
    return yaml_.ForEachEntry(f, {}, [this](const std::string& name, const YamlField& entry) {
      return ParseProfile(name, entry);
    });
  } else if (key == "schedules") {
    return yaml_.ForEachElement(f, "a list of schedules", [this](const YamlField& element) {
      return ParseSchedule(element);
    });
  } else if (key == "notifier") {
    return yaml_.ForEachEntry(
        f, {"address"}, [this](const std::string&, const YamlField& entry) -> absl::Status {
          ASSIGN_OR_RETURN(config_.notifier_address, yaml_.HostPort(entry, 1, true));
          return absl::OkStatus();
        });
  } else if (key == "lease") {
    return ParseLease(f);
  } else if (key == "limits") {
    return ParseLimits(f);
  } else if (key == "nodes") {
    return ParseNodes(f);
  } else if (key == "tls") {
    return ParseTlsYaml(yaml_, f, &config_.tls);
  } else if (key == "insecure") {
    insecure_line_ = f.line;
    return ParseInsecureYaml(yaml_, f, &config_.tls);
  } else if (key == "health_listen") {
    ASSIGN_OR_RETURN(config_.health_listen, yaml_.HostPort(f, 0, true));
  } else if (key == "auth") {
    auth_line_ = f.line;
    return ParseAuthConfig(yaml_, f, &config_.auth);
  } else if (key == "canaries") {
    return yaml_.ForEachElement(f, "a list of canaries",
                                [this](const YamlField& element) { return ParseCanary(element); });
  }
  return absl::OkStatus();
}

absl::Status ConfigParser::ParseInventory(const std::string& name, const YamlField& f) {
  if (!ValidName(name)) {
    return yaml_.Error(f.line, "",
                       absl::StrCat("inventory name ", QuoteValue(name),
                                    ": use 1-64 letters, digits, '_', '-' or '.'"));
  }
  bool has_targets = false;
  InventoryConfig& inventory = config_.inventories[name];
  inventory_lines_[name] = f.line;
  RETURN_IF_ERROR(
      yaml_.ForEachEntry(f, {"targets", "exclude", "openstack"},
                         [&](const std::string& key, const YamlField& entry) -> absl::Status {
                           if (key == "openstack") return ParseOpenStack(entry, inventory);
                           ASSIGN_OR_RETURN(TargetList list, Targets(entry));
                           if (key == "targets") {
                             if (list.specs.empty())
                               return yaml_.Error(entry, "must list at least one target");
                             has_targets = true;
                             inventory.targets = list.specs;
                             inventory_targets_[name] = std::move(list);
                           } else {
                             inventory.exclude = list.specs;
                             inventory_excludes_[name] = std::move(list);
                           }
                           return absl::OkStatus();
                         }));
  if (!has_targets && !inventory.openstack.has_value()) {
    return yaml_.Error(f, "missing required key 'targets' or 'openstack'");
  }
  return absl::OkStatus();
}

absl::Status ConfigParser::ParseOpenStack(const YamlField& f, InventoryConfig& inventory) {
  ASSIGN_OR_RETURN(OpenStackConfig os, ParseOpenStackConfig(yaml_, f));
  inventory.openstack = std::move(os);
  return absl::OkStatus();
}

absl::Status ConfigParser::ParseProfile(const std::string& name, const YamlField& f) {
  if (!ValidName(name)) {
    return yaml_.Error(f.line, "",
                       absl::StrCat("profile name ", QuoteValue(name),
                                    ": use 1-64 letters, digits, '_', '-' or '.'"));
  }
  ProfileConfig profile;
  RETURN_IF_ERROR(yaml_.ForEachEntry(
      f, {"ports", "timeout_ms", "retries", "rate", "probes", "udp"},
      [&](const std::string& key, const YamlField& entry) -> absl::Status {
        if (key == "probes") {
          ASSIGN_OR_RETURN(profile.probes, yaml_.String(entry));
          if (profile.probes != "none" && profile.probes != "verify" && profile.probes != "all") {
            return yaml_.Error(entry, absl::StrCat(QuoteValue(profile.probes),
                                                   " is not none, verify or all"));
          }
        } else if (key == "udp") {
          profile.udp.clear();
          return yaml_.ForEachListItem(
              entry, {"a", "UDP service", "UDP services"},
              [&](absl::string_view service, int line) -> absl::Status {
                profile.udp.emplace_back(service);
                const std::string one(service);
                absl::StatusOr<std::vector<uint16_t>> ports =
                    probes::UdpServicePorts(std::span<const std::string>(&one, 1));
                if (!ports.ok()) return yaml_.Error(line, entry.path, ports.status().message());
                return absl::OkStatus();
              });
        } else if (key == "ports") {
          ASSIGN_OR_RETURN(profile.ports, yaml_.String(entry));
          absl::StatusOr<PortSet> ports = PortSet::Parse(profile.ports);
          if (!ports.ok()) return yaml_.Error(entry, ports.status().message());
        } else if (key == "timeout_ms") {
          ASSIGN_OR_RETURN(profile.timeout_ms, yaml_.Uint(entry, 1, kMaxTimeoutMs));
        } else if (key == "retries") {
          ASSIGN_OR_RETURN(profile.retries, yaml_.Uint(entry, 0, kMaxRetries));
        } else {
          ASSIGN_OR_RETURN(profile.rate, yaml_.Double(entry, 0, kMaxRate, false));
        }
        return absl::OkStatus();
      }));
  config_.profiles[name] = profile;
  return absl::OkStatus();
}

absl::Status ConfigParser::ParseSchedule(const YamlField& f) {
  if (!f.value.IsMap()) return yaml_.Expected(f, "a map");
  // Name the schedule in paths as the Scheduler does ("schedules[prod-daily]"),
  // once its name is known.
  YamlField named = f;
  for (auto it = f.value.begin(); it != f.value.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == "name" && it->second.IsScalar() &&
        ValidName(it->second.Scalar())) {
      named.path = absl::StrCat("schedules[", it->second.Scalar(), "]");
      break;
    }
  }
  ScheduleEntry entry;
  entry.line = f.line;
  entry.spec.profile = "default";
  bool has_name = false;
  bool has_cron = false;
  bool has_inventory = false;
  RETURN_IF_ERROR(yaml_.ForEachEntry(
      named, {"name", "cron", "timezone", "inventory", "profile"},
      [&](const std::string& key, const YamlField& field) -> absl::Status {
        ASSIGN_OR_RETURN(std::string value, yaml_.String(field));
        if (key == "name") {
          if (!ValidName(value)) {
            return yaml_.Error(field, absl::StrCat("schedule name ", QuoteValue(value),
                                                   ": use 1-64 letters, digits, '_', '-' or '.'"));
          }
          has_name = true;
          entry.spec.name = std::move(value);
        } else if (key == "cron") {
          if (value.empty()) return yaml_.Error(field, "must not be empty");
          has_cron = true;
          entry.cron_line = field.line;
          entry.spec.cron = std::move(value);
        } else if (key == "timezone") {
          if (!ValidTimeZoneName(value)) {
            return yaml_.Error(field, absl::StrCat(QuoteValue(value),
                                                   " is not an IANA time zone name "
                                                   "(e.g. 'Europe/Bucharest' or 'UTC')"));
          }
          entry.timezone_line = field.line;
          entry.spec.timezone = std::move(value);
        } else if (key == "inventory") {
          has_inventory = true;
          entry.inventory_line = field.line;
          entry.spec.inventory = std::move(value);
        } else {
          entry.profile_line = field.line;
          entry.spec.profile = std::move(value);
        }
        return absl::OkStatus();
      }));
  if (!has_name) return yaml_.Error(named, "missing required key 'name'");
  if (!has_cron) return yaml_.Error(named, "missing required key 'cron'");
  if (!has_inventory) return yaml_.Error(named, "missing required key 'inventory'");
  if (entry.inventory_line < 0) entry.inventory_line = entry.line;
  if (entry.profile_line < 0) entry.profile_line = entry.line;
  for (const ScheduleEntry& other : schedules_) {
    if (other.spec.name == entry.spec.name) {
      return yaml_.Error(named,
                         absl::StrCat("duplicate schedule name ", QuoteValue(entry.spec.name),
                                      " (first at line ", other.line + 1, ")"));
    }
  }
  schedules_.push_back(std::move(entry));
  return absl::OkStatus();
}

absl::Status ConfigParser::ParseLease(const YamlField& f) {
  lease_line_ = f.line;
  LeaseConfig& lease = config_.lease;
  return yaml_.ForEachEntry(
      f, {"ttl_seconds", "heartbeat_seconds", "shard_seconds", "confirm_wait_seconds"},
      [&](const std::string& key, const YamlField& entry) -> absl::Status {
        if (key == "ttl_seconds") {
          ttl_line_ = entry.line;
          ASSIGN_OR_RETURN(lease.ttl_seconds, yaml_.Uint(entry, 1, kMaxLeaseSeconds));
        } else if (key == "heartbeat_seconds") {
          heartbeat_line_ = entry.line;
          ASSIGN_OR_RETURN(lease.heartbeat_seconds, yaml_.Uint(entry, 1, kMaxLeaseSeconds));
        } else if (key == "confirm_wait_seconds") {
          ASSIGN_OR_RETURN(lease.confirm_wait_seconds,
                           yaml_.Double(entry, 0, kMaxConfirmWaitSeconds, false));
        } else {
          ASSIGN_OR_RETURN(lease.shard_seconds, yaml_.Double(entry, 0, kMaxShardSeconds, true));
        }
        return absl::OkStatus();
      });
}

absl::Status ConfigParser::ParseNodes(const YamlField& f) {
  return yaml_.ForEachEntry(f, {"silence_after_intervals"},
                            [&](const std::string&, const YamlField& entry) -> absl::Status {
                              ASSIGN_OR_RETURN(config_.nodes.silence_after_intervals,
                                               yaml_.Uint(entry, 1, kMaxSilenceIntervals));
                              return absl::OkStatus();
                            });
}

absl::Status ConfigParser::ParseLimits(const YamlField& f) {
  return yaml_.ForEachEntry(f, {"max_probes_per_scan"},
                            [&](const std::string&, const YamlField& entry) -> absl::Status {
                              ASSIGN_OR_RETURN(config_.limits.max_probes_per_scan,
                                               yaml_.Uint64(entry, 1, uint64_t{1} << 63));
                              return absl::OkStatus();
                            });
}

absl::Status ConfigParser::CheckInventories() const {
  if (config_.inventories.empty()) return absl::OkStatus();
  if (allowed_.ranges.empty()) {
    return yaml_.Error(inventories_line_, "",
                       "allowed_ranges is empty: no inventory can be scanned");
  }
  const TargetSet allowed = TargetSet::FromRanges(allowed_.ranges, {});
  for (const auto& [name, targets] : inventory_targets_) {
    const std::string path = absl::StrCat("inventories.", name);
    std::vector<AddressRange> exclude;
    if (auto it = inventory_excludes_.find(name); it != inventory_excludes_.end()) {
      exclude = it->second.ranges;
    }
    const TargetSet set = TargetSet::FromRanges(targets.ranges, exclude);
    if (set.empty()) {
      return yaml_.Error(inventory_lines_.at(name), path,
                         "the exclusions remove every target address");
    }
    AddressRange outside;
    if (!set.IsSubsetOf(allowed, &outside)) {
      // Point at the spec the stray addresses came from.
      int line = targets.lines.front();
      for (size_t i = 0; i < targets.ranges.size(); ++i) {
        const AddressRange& r = targets.ranges[i];
        if (r.family == outside.family && r.first <= outside.first && outside.first <= r.last) {
          line = targets.lines[i];
          break;
        }
      }
      return yaml_.Error(line, absl::StrCat(path, ".targets"),
                         absl::StrCat(outside.ToString(), " is outside allowed_ranges"));
    }
  }
  return absl::OkStatus();
}

absl::Status ConfigParser::CheckSchedules() const {
  for (const ScheduleEntry& entry : schedules_) {
    const std::string path = absl::StrCat("schedules[", entry.spec.name, "]");
    if (config_.inventories.count(entry.spec.inventory) == 0) {
      return yaml_.Error(entry.inventory_line, absl::StrCat(path, ".inventory"),
                         absl::StrCat("no inventory named ", QuoteValue(entry.spec.inventory)));
    }
    if (config_.profiles.count(entry.spec.profile) == 0) {
      return yaml_.Error(entry.profile_line, absl::StrCat(path, ".profile"),
                         absl::StrCat("no profile named ", QuoteValue(entry.spec.profile)));
    }
    // One at a time, so an error gets the line of the schedule it is about.
    absl::StatusOr<Scheduler> one = Scheduler::Create({entry.spec});
    if (!one.ok()) {
      const absl::string_view message = one.status().message();
      int line = entry.line;
      if (absl::StrContains(message, ".timezone") && entry.timezone_line >= 0) {
        line = entry.timezone_line;
      } else if (absl::StrContains(message, ".cron") && entry.cron_line >= 0) {
        line = entry.cron_line;
      }
      return yaml_.Error(line, "", message);
    }
    // "0 0 31 2 *" parses but never fires: almost surely a mistake.
    if (!one->NextWakeup(absl::Now(), {}).has_value()) {
      return yaml_.Error(
          entry.cron_line, absl::StrCat(path, ".cron"),
          absl::StrCat(QuoteValue(entry.spec.cron), " never fires (no date matches)"));
    }
  }
  std::vector<ScheduleSpec> specs;
  specs.reserve(schedules_.size());
  for (const ScheduleEntry& entry : schedules_) specs.push_back(entry.spec);
  absl::StatusOr<Scheduler> all = Scheduler::Create(specs);
  if (!all.ok()) {
    return yaml_.Error(schedules_.empty() ? -1 : schedules_.front().line, "",
                       all.status().message());
  }
  return absl::OkStatus();
}

absl::Status ConfigParser::CheckLease() const {
  const LeaseConfig& lease = config_.lease;
  if (lease.heartbeat_seconds < lease.ttl_seconds) return absl::OkStatus();
  const int line = heartbeat_line_ >= 0 ? heartbeat_line_
                   : ttl_line_ >= 0     ? ttl_line_
                                        : lease_line_;
  return yaml_.Error(line, "lease.heartbeat_seconds",
                     absl::StrCat("must be less than lease.ttl_seconds (", lease.ttl_seconds,
                                  "), got ", lease.heartbeat_seconds));
}

absl::Status ConfigParser::ParseCanary(const YamlField& f) {
  if (!f.value.IsMap()) return yaml_.Expected(f, "a map");
  if (config_.canaries.size() >= kMaxCanaries) {
    return yaml_.Error(f, absl::StrCat("at most ", kMaxCanaries, " canaries"));
  }
  CanaryConfig canary;
  bool has_address = false;
  bool has_port = false;
  RETURN_IF_ERROR(yaml_.ForEachEntry(
      f, {"address", "port", "protocol", "expect"},
      [&](const std::string& key, const YamlField& field) -> absl::Status {
        if (key == "port") {
          ASSIGN_OR_RETURN(canary.port, yaml_.Uint(field, 1, 65535));
          has_port = true;
          return absl::OkStatus();
        }
        ASSIGN_OR_RETURN(std::string value, yaml_.String(field));
        if (key == "address") {
          const std::optional<IpAddress> ip = IpAddress::Parse(value);
          if (!ip) {
            return yaml_.Error(field, absl::StrCat(QuoteValue(value), " is not an IP address"));
          }
          canary.address = ip->ToString();
          has_address = true;
        } else if (key == "protocol") {
          if (value != "tcp" && value != "udp") {
            return yaml_.Error(field, absl::StrCat("expected tcp or udp, got ", QuoteValue(value)));
          }
          canary.protocol = value;
        } else {
          if (value != "open" && value != "closed") {
            return yaml_.Error(field,
                               absl::StrCat("expected open or closed, got ", QuoteValue(value)));
          }
          canary.expect = value;
        }
        return absl::OkStatus();
      }));
  if (!has_address) return yaml_.Error(f, "missing required key 'address'");
  if (!has_port) return yaml_.Error(f, "missing required key 'port'");
  config_.canaries.push_back(std::move(canary));
  canary_lines_.push_back(f.line);
  return absl::OkStatus();
}

absl::Status ConfigParser::CheckCanaries() const {
  if (config_.canaries.empty()) return absl::OkStatus();
  const TargetSet allowed = TargetSet::FromRanges(allowed_.ranges, {});
  for (size_t i = 0; i < config_.canaries.size(); ++i) {
    const CanaryConfig& c = config_.canaries[i];
    const std::optional<IpAddress> ip = IpAddress::Parse(c.address);
    if (!ip || !allowed.Contains(*ip)) {
      return yaml_.Error(canary_lines_[i], absl::StrCat("canaries[", i, "].address"),
                         absl::StrCat(c.address, " is outside allowed_ranges"));
    }
  }
  return absl::OkStatus();
}

absl::Status ConfigParser::CheckRoleRanges() const {
  for (const auto& [role, scope] : config_.auth.roles) {
    if (scope.allowed_ranges.empty()) continue;
    const std::string key = absl::StrCat("auth.roles.", RoleName(role), ".allowed_ranges");
    absl::StatusOr<TargetSet> narrow = TargetSet::Parse(scope.allowed_ranges, {});
    if (!narrow.ok()) return yaml_.Error(auth_line_, key, narrow.status().message());
    absl::StatusOr<TargetSet> global = TargetSet::Parse(config_.allowed_ranges, {});
    AddressRange outside;
    if (!global.ok() || !narrow->IsSubsetOf(*global, &outside)) {
      return yaml_.Error(auth_line_, key,
                         absl::StrCat(global.ok() ? outside.ToString() : scope.allowed_ranges[0],
                                      " is outside allowed_ranges (a role's ranges narrow them)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CoordinatorConfig> ConfigParser::Parse(absl::string_view yaml) {
  ASSIGN_OR_RETURN(const YamlField root, yaml_.LoadDocument(yaml));
  RETURN_IF_ERROR(yaml_.ForEachEntry(
      root,
      {"listen", "db", "metrics_listen", "allowed_ranges", "inventories", "profiles", "schedules",
       "notifier", "lease", "limits", "nodes", "tls", "insecure", "health_listen", "auth",
       "canaries"},
      [this](const std::string& key, const YamlField& f) { return ParseTop(key, f); }));
  RETURN_IF_ERROR(CheckTlsYaml(yaml_, config_.tls, insecure_line_));
  RETURN_IF_ERROR(CheckInventories());
  RETURN_IF_ERROR(CheckRoleRanges());
  RETURN_IF_ERROR(CheckSchedules());
  RETURN_IF_ERROR(CheckLease());
  RETURN_IF_ERROR(CheckCanaries());
  for (const ScheduleEntry& entry : schedules_) config_.schedules.push_back(entry.spec);
  return std::move(config_);
}

}  // namespace

absl::StatusOr<CoordinatorConfig> ParseCoordinatorConfig(absl::string_view yaml,
                                                         absl::string_view source) {
  // yaml-cpp reports errors by throwing (also from node accessors); nothing
  // may leave this function as an exception.
  return CatchYamlExceptions(source, [&]() -> absl::StatusOr<CoordinatorConfig> {
    ConfigParser parser(source);
    return parser.Parse(yaml);
  });
}

absl::StatusOr<CoordinatorConfig> LoadCoordinatorConfig(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadConfigFile(path));
  return ParseCoordinatorConfig(text, path);
}

std::vector<std::string> BroadAllowedRangeWarnings(const std::vector<std::string>& allowed_ranges) {
  // More addresses than one /8 (IPv4) or one /32 (IPv6).
  const absl::uint128 kMaxV4 = absl::uint128(1) << 24;
  const absl::uint128 kMaxV6 = absl::uint128(1) << 96;
  std::vector<std::string> warnings;
  for (const std::string& spec : allowed_ranges) {
    for (absl::string_view part : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
      part = absl::StripAsciiWhitespace(part);
      absl::StatusOr<AddressRange> r = ParseTargetSpec(part);
      if (!r.ok()) continue;
      const bool v4 = r->family == Family::kIPv4;
      const std::string family = v4 ? "IPv4" : "IPv6";
      if (r->first == 0 && r->last == MaxValue(r->family)) {
        warnings.push_back(absl::StrCat("allowed_ranges: ", QuoteValue(part), " allows every ",
                                        family,
                                        " address: any host on the Internet may be scanned"));
      } else if (r->size() > (v4 ? kMaxV4 : kMaxV6)) {
        warnings.push_back(absl::StrCat(
            "allowed_ranges: ", QuoteValue(part), " (", r->ToString(), ") is broader than a ",
            v4 ? "/8" : "/32", ": check that every ", family, " address in it may be scanned"));
      }
    }
  }
  return warnings;
}

std::string FormatCoordinatorConfig(const CoordinatorConfig& config) {
  std::string out;
  absl::StrAppend(&out, "listen: ", YamlQuoted(config.listen), "\n");
  absl::StrAppend(&out, "db: ", YamlQuoted(config.db), "\n");
  absl::StrAppend(&out, "metrics_listen: ", YamlQuoted(config.metrics_listen), "\n");
  absl::StrAppend(&out, "allowed_ranges: ", YamlFlowList(config.allowed_ranges), "\n");
  absl::StrAppend(&out, "inventories:", config.inventories.empty() ? " {}" : "", "\n");
  for (const auto& [name, inventory] : config.inventories) {
    absl::StrAppend(&out, "  ", YamlQuoted(name), ":\n");
    if (inventory.targets.empty()) {
      absl::StrAppend(&out, "    # targets: none: the openstack addresses only\n");
    } else {
      absl::StrAppend(&out, "    targets: ", YamlFlowList(inventory.targets), "\n");
    }
    absl::StrAppend(&out, "    exclude: ", YamlFlowList(inventory.exclude), "\n");
    if (inventory.openstack.has_value()) {
      absl::StrAppend(&out, "    openstack:\n", FormatOpenStackConfig(*inventory.openstack, 6));
    }
  }
  absl::StrAppend(&out, "profiles:", config.profiles.empty() ? " {}" : "", "\n");
  for (const auto& [name, profile] : config.profiles) {
    absl::StrAppend(&out, "  ", YamlQuoted(name), ":\n");
    absl::StrAppend(&out, "    ports: ", YamlQuoted(profile.ports), "\n");
    absl::StrAppend(&out, "    timeout_ms: ", profile.timeout_ms, "\n");
    absl::StrAppend(&out, "    retries: ", profile.retries, "\n");
    absl::StrAppend(&out, "    rate: ", YamlNumber(profile.rate), "  # probes/s, 0 = no cap\n");
    absl::StrAppend(&out, "    probes: ", profile.probes, "  # none | verify | all\n");
    absl::StrAppend(&out, "    udp: ", YamlFlowList(profile.udp), "\n");
  }
  absl::StrAppend(&out, "schedules:", config.schedules.empty() ? " []" : "", "\n");
  for (const ScheduleSpec& s : config.schedules) {
    absl::StrAppend(&out, "  - name: ", YamlQuoted(s.name), "\n");
    absl::StrAppend(&out, "    cron: ", YamlQuoted(s.cron), "\n");
    if (s.timezone.empty()) {
      absl::StrAppend(&out, "    # timezone: unset (UTC)\n");
    } else {
      absl::StrAppend(&out, "    timezone: ", YamlQuoted(s.timezone), "\n");
    }
    absl::StrAppend(&out, "    inventory: ", YamlQuoted(s.inventory), "\n");
    absl::StrAppend(&out, "    profile: ", YamlQuoted(s.profile), "\n");
  }
  absl::StrAppend(&out, "notifier:\n");
  absl::StrAppend(&out, "  address: ", YamlQuoted(config.notifier_address),
                  config.notifier_address.empty() ? "  # none: reports wait pending" : "", "\n");
  absl::StrAppend(&out, "lease:\n");
  absl::StrAppend(&out, "  ttl_seconds: ", config.lease.ttl_seconds, "\n");
  absl::StrAppend(&out, "  heartbeat_seconds: ", config.lease.heartbeat_seconds, "\n");
  absl::StrAppend(&out, "  shard_seconds: ", YamlNumber(config.lease.shard_seconds), "\n");
  absl::StrAppend(&out, "  confirm_wait_seconds: ", YamlNumber(config.lease.confirm_wait_seconds),
                  "\n");
  absl::StrAppend(&out, "limits:\n");
  absl::StrAppend(&out, "  max_probes_per_scan: ", config.limits.max_probes_per_scan, "\n");
  absl::StrAppend(&out, "nodes:\n");
  absl::StrAppend(&out, "  silence_after_intervals: ", config.nodes.silence_after_intervals,
                  "  # heartbeat intervals without a report: agent silent\n");
  absl::StrAppend(&out, FormatTlsYaml(config.tls));
  absl::StrAppend(&out, "health_listen: ", YamlQuoted(config.health_listen),
                  "  # plaintext grpc.health.v1 only; \"\" = off\n");
  absl::StrAppend(&out, FormatAuthConfig(config.auth));
  absl::StrAppend(
      &out, "canaries:", config.canaries.empty() ? " []  # none: no run is checked" : "", "\n");
  for (const CanaryConfig& c : config.canaries) {
    absl::StrAppend(&out, "  - {address: ", YamlQuoted(c.address), ", port: ", c.port,
                    ", protocol: ", c.protocol, ", expect: ", c.expect, "}\n");
  }
  return out;
}

std::vector<SecretRef> CoordinatorSecrets(const CoordinatorConfig& config) {
  std::vector<SecretRef> secrets;
  for (const auto& [name, inventory] : config.inventories) {
    if (!inventory.openstack.has_value()) continue;
    secrets.push_back({absl::StrCat("inventories.", name, ".openstack.password_file"),
                       inventory.openstack->password_file, "GOALKEEPER_OPENSTACK_PASSWORD",
                       /*required=*/true, ""});
  }
  return secrets;
}

}  // namespace goalkeeper
