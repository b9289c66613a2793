#include "coordinator/config.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/ip_address.h"
#include "common/ports.h"
#include "common/status_macros.h"
#include "common/targets.h"

namespace goalkeeper {
namespace {

// Values quoted in errors are cut here, so a fuzzed or pasted blob cannot
// produce a megabyte-long message.
constexpr size_t kMaxShown = 100;
constexpr size_t kMaxNameLength = 64;
constexpr size_t kMaxTimeZoneLength = 128;
constexpr long kMaxConfigBytes = 16 << 20;

constexpr uint32_t kMaxTimeoutMs = 600000;
constexpr uint32_t kMaxRetries = 10;
constexpr double kMaxRate = 1e9;  // as the worker's --rate
constexpr uint32_t kMaxLeaseSeconds = 86400;
constexpr double kMaxShardSeconds = 86400;

// 'value', cut at kMaxShown bytes, control characters escaped so the message
// stays on one line.
std::string Quote(absl::string_view v) {
  std::string out = "'";
  for (size_t i = 0; i < v.size() && i < kMaxShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (v.size() > kMaxShown) out += "...";
  out += "'";
  return out;
}

// What a node is, for "got ..." in errors.
std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      return Quote(n.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Null:
      return "an empty value";
    case YAML::NodeType::Undefined:
      break;
  }
  return "an undefined value";
}

// A bound for an error message: "1000000000", not "1e+09".
std::string ShowNumber(double d) {
  if (d == std::floor(d) && std::fabs(d) < 1e15) return absl::StrCat(static_cast<int64_t>(d));
  return absl::StrCat(d);
}

// 0-based line of a node, or -1 when yaml-cpp has none.
int LineOf(const YAML::Node& n) {
  if (!n.IsDefined()) return -1;
  return n.Mark().line;
}

// A value found at `path` in the document.
struct Field {
  std::string path;  // "profiles.fast.timeout_ms"; "" for the document
  YAML::Node value;
  // 0-based line of the value; of its key when the value is empty (yaml-cpp
  // marks an empty value at the next token, often a line further down).
  int line = -1;
};

Field Child(const Field& parent, const std::string& key, const YAML::Node& key_node,
            const YAML::Node& value) {
  Field f;
  f.path = parent.path.empty() ? key : absl::StrCat(parent.path, ".", key);
  f.value = value;
  f.line = value.IsNull() ? LineOf(key_node) : LineOf(value);
  if (f.line < 0) f.line = LineOf(key_node);
  return f;
}

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

bool ValidHostname(absl::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  absl::string_view last_label;
  for (absl::string_view label : absl::StrSplit(host, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    last_label = label;
  }
  // An all-digit last label is a mistyped IPv4 address ("10.0.0.300").
  return !std::all_of(last_label.begin(), last_label.end(), absl::ascii_isdigit);
}

// "host:port", "1.2.3.4:port" or "[v6]:port", port in [min_port, 65535].
bool ValidHostPort(absl::string_view s, uint32_t min_port) {
  absl::string_view host;
  absl::string_view port;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find("]:");
    if (close == absl::string_view::npos) return false;
    std::optional<IpAddress> a = IpAddress::Parse(s.substr(1, close - 1));
    if (!a || a->family != Family::kIPv6) return false;
    port = s.substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == absl::string_view::npos) return false;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != absl::string_view::npos) return false;  // bare IPv6
    std::optional<IpAddress> a = IpAddress::Parse(host);
    if (!(a && a->family == Family::kIPv4) && !ValidHostname(host)) return false;
  }
  uint32_t n = 0;
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), absl::ascii_isdigit) || !absl::SimpleAtoi(port, &n)) {
    return false;
  }
  return n >= min_port && n <= 65535;
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

// Records where each YAML document starts; ignores everything else.
class DocumentStarts : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  std::vector<YAML::Mark> starts;
};

using EntryFn = std::function<absl::Status(const std::string& key, const Field& entry)>;

class ConfigParser {
 public:
  explicit ConfigParser(absl::string_view source) : source_(source) {}

  absl::StatusOr<CoordinatorConfig> Parse(absl::string_view yaml);

 private:
  // "source:line: path: what"; the line is 0-based, printed 1-based.
  absl::Status Error(int line, absl::string_view path, absl::string_view what) const {
    std::string message = source_;
    if (line >= 0) absl::StrAppend(&message, ":", line + 1);
    absl::StrAppend(&message, ": ");
    if (!path.empty()) absl::StrAppend(&message, path, ": ");
    absl::StrAppend(&message, what);
    return absl::InvalidArgumentError(message);
  }
  absl::Status Error(const Field& f, absl::string_view what) const {
    return Error(f.line, f.path, what);
  }
  absl::Status SyntaxError(const YAML::Mark& mark, absl::string_view what) const;
  // Fails on a second YAML document (and on input yaml-cpp cannot get past).
  absl::Status CheckSingleDocument(const std::string& text) const;
  absl::Status Expected(const Field& f, absl::string_view what) const {
    return Error(f, absl::StrCat("expected ", what, ", got ", Describe(f.value)));
  }

  // Calls fn for each entry of a map (an empty value is an empty map). Keys
  // must be unique strings; with a non-empty `allowed`, one of those.
  absl::Status ForEachEntry(const Field& map, std::initializer_list<absl::string_view> allowed,
                            const EntryFn& fn) const;

  absl::StatusOr<std::string> String(const Field& f) const;
  absl::StatusOr<uint32_t> Uint(const Field& f, uint32_t min, uint32_t max) const;
  // A number in [min, max], or in (min, max] when `min_exclusive`.
  absl::StatusOr<double> Double(const Field& f, double min, double max, bool min_exclusive) const;
  absl::StatusOr<std::string> HostPort(const Field& f, uint32_t min_port, bool allow_empty) const;
  absl::StatusOr<TargetList> Targets(const Field& f) const;

  absl::Status ParseTop(const std::string& key, const Field& f);
  absl::Status ParseInventory(const std::string& name, const Field& f);
  absl::Status ParseProfile(const std::string& name, const Field& f);
  absl::Status ParseSchedules(const Field& f);
  absl::Status ParseSchedule(const Field& f);
  absl::Status ParseLease(const Field& f);
  absl::Status CheckInventories() const;
  absl::Status CheckSchedules() const;
  absl::Status CheckLease() const;

  std::string source_;
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
};

absl::Status ConfigParser::ForEachEntry(const Field& map,
                                        std::initializer_list<absl::string_view> allowed,
                                        const EntryFn& fn) const {
  if (map.value.IsNull()) return absl::OkStatus();
  if (!map.value.IsMap()) return Expected(map, "a map");
  const std::string in = map.path.empty() ? "" : absl::StrCat(" in ", map.path);
  std::set<std::string> seen;
  for (auto it = map.value.begin(); it != map.value.end(); ++it) {
    const YAML::Node key_node = it->first;  // a copy: `it->` yields a temporary
    if (!key_node.IsScalar()) {
      return Error(LineOf(key_node), "",
                   absl::StrCat("expected a name as key", in, ", got ", Describe(key_node)));
    }
    const std::string& key = key_node.Scalar();
    if (allowed.size() > 0 && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Error(LineOf(key_node), "", absl::StrCat("unknown key ", Quote(key), in));
    }
    if (!seen.insert(key).second) {
      return Error(LineOf(key_node), "", absl::StrCat("duplicate key ", Quote(key), in));
    }
    RETURN_IF_ERROR(fn(key, Child(map, key, key_node, it->second)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ConfigParser::String(const Field& f) const {
  if (!f.value.IsScalar()) return Expected(f, "a string");
  return f.value.Scalar();
}

absl::StatusOr<uint32_t> ConfigParser::Uint(const Field& f, uint32_t min, uint32_t max) const {
  const std::string what = absl::StrCat("a whole number ", min, "..", max);
  if (!f.value.IsScalar()) return Expected(f, what);
  const std::string& text = f.value.Scalar();
  uint64_t n = 0;
  if (text.empty() || text.size() > 19 ||
      !std::all_of(text.begin(), text.end(), absl::ascii_isdigit) || !absl::SimpleAtoi(text, &n) ||
      n < min || n > max) {
    return Expected(f, what);
  }
  return static_cast<uint32_t>(n);
}

absl::StatusOr<double> ConfigParser::Double(const Field& f, double min, double max,
                                            bool min_exclusive) const {
  const std::string what =
      min_exclusive ? absl::StrCat("a number > ", ShowNumber(min), " and <= ", ShowNumber(max))
                    : absl::StrCat("a number ", ShowNumber(min), "..", ShowNumber(max));
  if (!f.value.IsScalar()) return Expected(f, what);
  const std::string& text = f.value.Scalar();
  double d = 0;
  // Plain decimal notation only: no "inf", "nan", hex or YAML's ".5e3" forms
  // that a reader might misjudge.
  if (text.empty() || text.size() > 32 ||
      !absl::ascii_isdigit(static_cast<unsigned char>(text[0])) ||
      !std::all_of(text.begin(), text.end(),
                   [](char c) {
                     return absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '.' ||
                            c == 'e' || c == 'E' || c == '+' || c == '-';
                   }) ||
      !absl::SimpleAtod(text, &d) || !std::isfinite(d) || d < min || d > max ||
      (min_exclusive && d == min)) {
    return Expected(f, what);
  }
  return d;
}

absl::StatusOr<std::string> ConfigParser::HostPort(const Field& f, uint32_t min_port,
                                                   bool allow_empty) const {
  const std::string what =
      absl::StrCat("host:port with port ", min_port, "-65535 (IPv6 as \"[::1]:7070\")",
                   allow_empty ? " or \"\"" : "");
  if (!f.value.IsScalar()) {
    if (f.value.IsSequence()) {
      // `listen: [::1]:7070` unquoted reads as a YAML list.
      return Error(f, absl::StrCat("expected ", what, ", got a list (quote IPv6 addresses)"));
    }
    return Expected(f, what);
  }
  const std::string& text = f.value.Scalar();
  if (text.empty() && allow_empty) return text;
  if (!ValidHostPort(text, min_port)) return Expected(f, what);
  return text;
}

absl::StatusOr<TargetList> ConfigParser::Targets(const Field& f) const {
  constexpr absl::string_view kWhat = "a list of target specs or a comma-separated string";
  std::vector<std::pair<std::string, int>> elements;
  if (f.value.IsScalar()) {
    elements.emplace_back(f.value.Scalar(), f.line);
  } else if (f.value.IsSequence()) {
    for (auto it = f.value.begin(); it != f.value.end(); ++it) {
      const YAML::Node e = *it;
      if (!e.IsScalar()) {
        Field element{f.path, e, LineOf(e) >= 0 ? LineOf(e) : f.line};
        return Expected(element, "a target spec");
      }
      elements.emplace_back(e.Scalar(), LineOf(e) >= 0 ? LineOf(e) : f.line);
    }
  } else if (!f.value.IsNull()) {
    return Expected(f, kWhat);
  }
  TargetList out;
  for (const auto& [element, line] : elements) {
    for (absl::string_view part : absl::StrSplit(element, ',')) {
      const absl::string_view spec = absl::StripAsciiWhitespace(part);
      if (spec.empty()) {
        return Error(line, f.path, absl::StrCat("empty target spec in ", Quote(element)));
      }
      if (spec.front() == '@') {
        return Error(line, f.path,
                     absl::StrCat(Quote(spec), ": files are not accepted in the config"));
      }
      absl::StatusOr<AddressRange> range = ParseTargetSpec(spec);
      if (!range.ok()) return Error(line, f.path, range.status().message());
      out.specs.emplace_back(spec);
      out.ranges.push_back(*range);
      out.lines.push_back(line);
    }
  }
  return out;
}

absl::Status ConfigParser::ParseTop(const std::string& key, const Field& f) {
  if (key == "listen") {
    ASSIGN_OR_RETURN(config_.listen, HostPort(f, 0, false));
  } else if (key == "metrics_listen") {
    ASSIGN_OR_RETURN(config_.metrics_listen, HostPort(f, 0, true));
  } else if (key == "db") {
    ASSIGN_OR_RETURN(config_.db, String(f));
    if (config_.db.empty()) return Error(f, "must not be empty");
  } else if (key == "allowed_ranges") {
    ASSIGN_OR_RETURN(allowed_, Targets(f));
    config_.allowed_ranges = allowed_.specs;
  } else if (key == "inventories") {
    inventories_line_ = f.line;
    return ForEachEntry(f, {}, [this](const std::string& name, const Field& entry) {
      return ParseInventory(name, entry);
    });
  } else if (key == "profiles") {
    return ForEachEntry(f, {}, [this](const std::string& name, const Field& entry) {
      return ParseProfile(name, entry);
    });
  } else if (key == "schedules") {
    return ParseSchedules(f);
  } else if (key == "notifier") {
    return ForEachEntry(f, {"address"},
                        [this](const std::string&, const Field& entry) -> absl::Status {
                          ASSIGN_OR_RETURN(config_.notifier_address, HostPort(entry, 1, true));
                          return absl::OkStatus();
                        });
  } else if (key == "lease") {
    return ParseLease(f);
  }
  return absl::OkStatus();
}

absl::Status ConfigParser::ParseInventory(const std::string& name, const Field& f) {
  if (!ValidName(name)) {
    return Error(f.line, "",
                 absl::StrCat("inventory name ", Quote(name),
                              ": use 1-64 letters, digits, '_', '-' or '.'"));
  }
  bool has_targets = false;
  InventoryConfig& inventory = config_.inventories[name];
  inventory_lines_[name] = f.line;
  RETURN_IF_ERROR(ForEachEntry(f, {"targets", "exclude"},
                               [&](const std::string& key, const Field& entry) -> absl::Status {
                                 ASSIGN_OR_RETURN(TargetList list, Targets(entry));
                                 if (key == "targets") {
                                   if (list.specs.empty())
                                     return Error(entry, "must list at least one target");
                                   has_targets = true;
                                   inventory.targets = list.specs;
                                   inventory_targets_[name] = std::move(list);
                                 } else {
                                   inventory.exclude = list.specs;
                                   inventory_excludes_[name] = std::move(list);
                                 }
                                 return absl::OkStatus();
                               }));
  if (!has_targets) return Error(f, "missing required key 'targets'");
  return absl::OkStatus();
}

absl::Status ConfigParser::ParseProfile(const std::string& name, const Field& f) {
  if (!ValidName(name)) {
    return Error(
        f.line, "",
        absl::StrCat("profile name ", Quote(name), ": use 1-64 letters, digits, '_', '-' or '.'"));
  }
  ProfileConfig profile;
  RETURN_IF_ERROR(
      ForEachEntry(f, {"ports", "timeout_ms", "retries", "rate"},
                   [&](const std::string& key, const Field& entry) -> absl::Status {
                     if (key == "ports") {
                       ASSIGN_OR_RETURN(profile.ports, String(entry));
                       absl::StatusOr<PortSet> ports = PortSet::Parse(profile.ports);
                       if (!ports.ok()) return Error(entry, ports.status().message());
                     } else if (key == "timeout_ms") {
                       ASSIGN_OR_RETURN(profile.timeout_ms, Uint(entry, 1, kMaxTimeoutMs));
                     } else if (key == "retries") {
                       ASSIGN_OR_RETURN(profile.retries, Uint(entry, 0, kMaxRetries));
                     } else {
                       ASSIGN_OR_RETURN(profile.rate, Double(entry, 0, kMaxRate, false));
                     }
                     return absl::OkStatus();
                   }));
  config_.profiles[name] = profile;
  return absl::OkStatus();
}

absl::Status ConfigParser::ParseSchedules(const Field& f) {
  if (f.value.IsNull()) return absl::OkStatus();
  if (!f.value.IsSequence()) return Expected(f, "a list of schedules");
  size_t index = 0;
  for (auto it = f.value.begin(); it != f.value.end(); ++it, ++index) {
    Field element{absl::StrCat(f.path, "[", index, "]"), *it, LineOf(*it)};
    if (element.line < 0) element.line = f.line;
    RETURN_IF_ERROR(ParseSchedule(element));
  }
  return absl::OkStatus();
}

absl::Status ConfigParser::ParseSchedule(const Field& f) {
  if (!f.value.IsMap()) return Expected(f, "a map");
  // Name the schedule in paths as the Scheduler does ("schedules[prod-daily]"),
  // once its name is known.
  Field named = f;
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
  RETURN_IF_ERROR(ForEachEntry(
      named, {"name", "cron", "timezone", "inventory", "profile"},
      [&](const std::string& key, const Field& field) -> absl::Status {
        ASSIGN_OR_RETURN(std::string value, String(field));
        if (key == "name") {
          if (!ValidName(value)) {
            return Error(field, absl::StrCat("schedule name ", Quote(value),
                                             ": use 1-64 letters, digits, '_', '-' or '.'"));
          }
          has_name = true;
          entry.spec.name = std::move(value);
        } else if (key == "cron") {
          if (value.empty()) return Error(field, "must not be empty");
          has_cron = true;
          entry.cron_line = field.line;
          entry.spec.cron = std::move(value);
        } else if (key == "timezone") {
          if (!ValidTimeZoneName(value)) {
            return Error(field, absl::StrCat(Quote(value),
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
  if (!has_name) return Error(named, "missing required key 'name'");
  if (!has_cron) return Error(named, "missing required key 'cron'");
  if (!has_inventory) return Error(named, "missing required key 'inventory'");
  if (entry.inventory_line < 0) entry.inventory_line = entry.line;
  if (entry.profile_line < 0) entry.profile_line = entry.line;
  for (const ScheduleEntry& other : schedules_) {
    if (other.spec.name == entry.spec.name) {
      return Error(named, absl::StrCat("duplicate schedule name ", Quote(entry.spec.name),
                                       " (first at line ", other.line + 1, ")"));
    }
  }
  schedules_.push_back(std::move(entry));
  return absl::OkStatus();
}

absl::Status ConfigParser::ParseLease(const Field& f) {
  lease_line_ = f.line;
  LeaseConfig& lease = config_.lease;
  return ForEachEntry(
      f, {"ttl_seconds", "heartbeat_seconds", "shard_seconds"},
      [&](const std::string& key, const Field& entry) -> absl::Status {
        if (key == "ttl_seconds") {
          ttl_line_ = entry.line;
          ASSIGN_OR_RETURN(lease.ttl_seconds, Uint(entry, 1, kMaxLeaseSeconds));
        } else if (key == "heartbeat_seconds") {
          heartbeat_line_ = entry.line;
          ASSIGN_OR_RETURN(lease.heartbeat_seconds, Uint(entry, 1, kMaxLeaseSeconds));
        } else {
          ASSIGN_OR_RETURN(lease.shard_seconds, Double(entry, 0, kMaxShardSeconds, true));
        }
        return absl::OkStatus();
      });
}

absl::Status ConfigParser::CheckInventories() const {
  if (config_.inventories.empty()) return absl::OkStatus();
  if (allowed_.ranges.empty()) {
    return Error(inventories_line_, "", "allowed_ranges is empty: no inventory can be scanned");
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
      return Error(inventory_lines_.at(name), path, "the exclusions remove every target address");
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
      return Error(line, absl::StrCat(path, ".targets"),
                   absl::StrCat(outside.ToString(), " is outside allowed_ranges"));
    }
  }
  return absl::OkStatus();
}

absl::Status ConfigParser::CheckSchedules() const {
  for (const ScheduleEntry& entry : schedules_) {
    const std::string path = absl::StrCat("schedules[", entry.spec.name, "]");
    if (config_.inventories.count(entry.spec.inventory) == 0) {
      return Error(entry.inventory_line, absl::StrCat(path, ".inventory"),
                   absl::StrCat("no inventory named ", Quote(entry.spec.inventory)));
    }
    if (config_.profiles.count(entry.spec.profile) == 0) {
      return Error(entry.profile_line, absl::StrCat(path, ".profile"),
                   absl::StrCat("no profile named ", Quote(entry.spec.profile)));
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
      return Error(line, "", message);
    }
    // "0 0 31 2 *" parses but never fires: almost surely a mistake.
    if (!one->NextWakeup(absl::Now(), {}).has_value()) {
      return Error(entry.cron_line, absl::StrCat(path, ".cron"),
                   absl::StrCat(Quote(entry.spec.cron), " never fires (no date matches)"));
    }
  }
  std::vector<ScheduleSpec> specs;
  specs.reserve(schedules_.size());
  for (const ScheduleEntry& entry : schedules_) specs.push_back(entry.spec);
  absl::StatusOr<Scheduler> all = Scheduler::Create(specs);
  if (!all.ok()) {
    return Error(schedules_.empty() ? -1 : schedules_.front().line, "", all.status().message());
  }
  return absl::OkStatus();
}

absl::Status ConfigParser::CheckLease() const {
  const LeaseConfig& lease = config_.lease;
  if (lease.heartbeat_seconds < lease.ttl_seconds) return absl::OkStatus();
  const int line = heartbeat_line_ >= 0 ? heartbeat_line_
                   : ttl_line_ >= 0     ? ttl_line_
                                        : lease_line_;
  return Error(line, "lease.heartbeat_seconds",
               absl::StrCat("must be less than lease.ttl_seconds (", lease.ttl_seconds, "), got ",
                            lease.heartbeat_seconds));
}

absl::Status ConfigParser::SyntaxError(const YAML::Mark& mark, absl::string_view what) const {
  if (mark.column < 0) return Error(mark.line, "", absl::StrCat("invalid YAML: ", what));
  return Error(mark.line, "", absl::StrCat("invalid YAML: column ", mark.column + 1, ": ", what));
}

absl::Status ConfigParser::CheckSingleDocument(const std::string& text) const {
  // Not YAML::LoadAll: yaml-cpp 0.7 loops forever there on a stray ',' at
  // the top level (each call "parses" an empty document without consuming
  // it). A few more looks tell a stuck parser from a real second document.
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts docs;
  for (int i = 0; i < 4 && parser.HandleNextDocument(docs); ++i) {
    if (docs.starts.size() >= 2) {
      const YAML::Mark& a = docs.starts[docs.starts.size() - 2];
      const YAML::Mark& b = docs.starts.back();
      if (a.pos == b.pos && a.line == b.line && a.column == b.column) {
        std::string what = "unexpected content";
        if (b.pos >= 0 && static_cast<size_t>(b.pos) < text.size() &&
            absl::ascii_isgraph(static_cast<unsigned char>(text[static_cast<size_t>(b.pos)]))) {
          what = absl::StrCat("unexpected '", text.substr(static_cast<size_t>(b.pos), 1), "'");
        }
        return SyntaxError(b, what);
      }
    }
  }
  if (docs.starts.size() >= 2) {
    return Error(docs.starts[1].line, "",
                 "more than one YAML document: expected a single map of settings");
  }
  return absl::OkStatus();
}

absl::StatusOr<CoordinatorConfig> ConfigParser::Parse(absl::string_view yaml) {
  const std::string text(yaml);
  YAML::Node document;
  try {
    RETURN_IF_ERROR(CheckSingleDocument(text));
    document = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return SyntaxError(e.mark, e.msg);
  }
  if (document.IsNull()) return Error(-1, "", "the config is empty: expected a map of settings");
  Field root{"", document, LineOf(document)};
  if (!root.value.IsMap()) {
    return Error(
        root.line, "",
        absl::StrCat("expected a map of settings at the top level, got ", Describe(root.value)));
  }
  RETURN_IF_ERROR(
      ForEachEntry(root,
                   {"listen", "db", "metrics_listen", "allowed_ranges", "inventories", "profiles",
                    "schedules", "notifier", "lease"},
                   [this](const std::string& key, const Field& f) { return ParseTop(key, f); }));
  RETURN_IF_ERROR(CheckInventories());
  RETURN_IF_ERROR(CheckSchedules());
  RETURN_IF_ERROR(CheckLease());
  for (const ScheduleEntry& entry : schedules_) config_.schedules.push_back(entry.spec);
  return std::move(config_);
}

}  // namespace

absl::StatusOr<CoordinatorConfig> ParseCoordinatorConfig(absl::string_view yaml,
                                                         absl::string_view source) {
  // yaml-cpp reports errors by throwing (also from node accessors); nothing
  // may leave this function as an exception.
  try {
    ConfigParser parser(source);
    return parser.Parse(yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": invalid YAML: ", e.what()));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat(source, ": out of memory"));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(source, ": unexpected error while parsing"));
  }
}

absl::StatusOr<CoordinatorConfig> LoadCoordinatorConfig(const std::string& path) {
  auto fail = [&path](int err) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read config file '", path,
                                                   "': ", std::generic_category().message(err)));
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (file == nullptr) return fail(errno);
  std::string text;
  char buf[65536];
  while (true) {
    const size_t n = std::fread(buf, 1, sizeof buf, file.get());
    text.append(buf, n);
    if (text.size() > static_cast<size_t>(kMaxConfigBytes)) {
      return absl::InvalidArgumentError(
          absl::StrCat("config file '", path, "' is larger than 16 MiB"));
    }
    if (n < sizeof buf) break;
  }
  if (std::ferror(file.get())) return fail(errno);
  return ParseCoordinatorConfig(text, path);
}

}  // namespace goalkeeper
