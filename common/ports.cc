#include "common/ports.h"

#include <algorithm>
#include <bitset>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace goalkeeper {
namespace {

const std::vector<uint16_t> kDatabases = {1433, 1521, 3306, 5432, 5984, 6379,
                                          7000, 7001, 9042, 9160, 9200, 9300,
                                          9306, 9312, 11211, 27017, 27018};
const std::vector<uint16_t> kAdmin = {22, 23, 2375, 2376, 3389, 5900, 6443, 10250};
// Every TCP port of the service catalogue (shared/reference), plus admin.
const std::vector<uint16_t> kDangerous = {
    22,   23,   111,  135,  139,  389,  445,  1433, 1521,  2375,  2376,
    3306, 3389, 5432, 5900, 5984, 6379, 6443, 7000, 7001,  7199,  8888,
    9042, 9160, 9200, 9300, 9306, 9312, 10250, 11211, 27017, 27018, 61620, 61621};
const std::vector<uint16_t> kEmpty;

absl::Status BadToken(absl::string_view token) {
  std::string shown(token.substr(0, 64));
  if (token.size() > 64) shown += "...";
  return absl::InvalidArgumentError(
      absl::StrCat("'", shown, "' is not a port (1-65535), range or named set"));
}

bool ParsePort(absl::string_view text, uint32_t* port) {
  text = absl::StripAsciiWhitespace(text);
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), absl::ascii_isdigit)) {
    return false;
  }
  return absl::SimpleAtoi(text, port) && *port >= 1 && *port <= 65535;
}

}  // namespace

const std::vector<uint16_t>& NamedPortSet(absl::string_view name) {
  if (name == "databases") return kDatabases;
  if (name == "admin") return kAdmin;
  if (name == "dangerous") return kDangerous;
  return kEmpty;
}

absl::StatusOr<PortSet> PortSet::Parse(absl::string_view spec) {
  if (absl::StripAsciiWhitespace(spec).empty()) {
    return absl::InvalidArgumentError("empty port spec");
  }
  auto seen = std::make_unique<std::bitset<65536>>();
  for (absl::string_view raw : absl::StrSplit(spec, ',')) {
    absl::string_view token = absl::StripAsciiWhitespace(raw);
    if (token.empty()) {
      std::string shown(spec.substr(0, 64));
      if (spec.size() > 64) shown += "...";
      return absl::InvalidArgumentError(absl::StrCat("empty port in '", shown, "'"));
    }
    if (token == "all") {
      seen->set();
      continue;
    }
    if (absl::ascii_isalpha(static_cast<unsigned char>(token[0]))) {
      const auto& named = NamedPortSet(token);
      if (named.empty()) return BadToken(token);
      for (uint16_t p : named) seen->set(p);
      continue;
    }
    uint32_t lo = 0;
    uint32_t hi = 0;
    if (size_t dash = token.find('-'); dash != absl::string_view::npos) {
      if (!ParsePort(token.substr(0, dash), &lo) ||
          !ParsePort(token.substr(dash + 1), &hi)) {
        return BadToken(token);
      }
      if (hi < lo) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", token, "': range end is before its start"));
      }
    } else {
      if (!ParsePort(token, &lo)) return BadToken(token);
      hi = lo;
    }
    for (uint32_t p = lo; p <= hi; ++p) seen->set(p);
  }
  seen->reset(0);
  PortSet set;
  set.ports_.reserve(seen->count());
  for (uint32_t p = 1; p <= 65535; ++p) {
    if (seen->test(p)) set.ports_.push_back(static_cast<uint16_t>(p));
  }
  return set;
}

}  // namespace goalkeeper
