#include "node/firewall_rule.h"

#include <re2/re2.h>
#include <string.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace goalkeeper {
namespace {

constexpr size_t kMaxQuoted = 100;

std::string Cut(absl::string_view s) {
  if (s.size() <= kMaxQuoted) return std::string(s);
  return absl::StrCat(s.substr(0, kMaxQuoted), "...");
}

}  // namespace

FirewallRuleSpec DefaultFirewallRule() {
  FirewallRuleSpec spec;
  spec.name = "tftp";
  spec.sources = {"/var/log/kern.log"};
  spec.prefix = "IPTables-TFTP-Rejected: ";
  spec.proto = "udp";
  spec.ports = {69};
  return spec;
}

absl::StatusOr<FirewallRule> FirewallRule::Create(const FirewallRuleSpec& spec) {
  FirewallRule rule;
  rule.spec_ = spec;
  if (spec.prefix.empty() == spec.regex.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("rule '", spec.name, "': set exactly one of prefix and regex"));
  }
  if (!spec.regex.empty()) {
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(8 << 20);
    auto re = std::make_shared<const RE2>(spec.regex, options);
    if (!re->ok()) {
      // Both cut: the error quotes the regex's bad part, and a regex may be long.
      return absl::InvalidArgumentError(absl::StrCat("rule '", spec.name, "': regex '",
                                                     Cut(spec.regex),
                                                     "' is not valid RE2: ", Cut(re->error())));
    }
    rule.regex_ = std::move(re);
  }
  if (spec.threshold == 0) {
    return absl::InvalidArgumentError(absl::StrCat("rule '", spec.name, "': threshold is 0"));
  }
  if (spec.window <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("rule '", spec.name, "': window is not > 0"));
  }
  std::sort(rule.spec_.ports.begin(), rule.spec_.ports.end());
  rule.spec_.ports.erase(std::unique(rule.spec_.ports.begin(), rule.spec_.ports.end()),
                         rule.spec_.ports.end());
  return rule;
}

bool FirewallRule::MayMatchLine(absl::string_view line) const {
  if (regex_ != nullptr) return true;
  return ::memmem(line.data(), line.size(), spec_.prefix.data(), spec_.prefix.size()) != nullptr;
}

bool FirewallRule::Matches(const FirewallLine& line) const {
  if (regex_ == nullptr) {
    if (!absl::StartsWith(line.prefix, spec_.prefix)) return false;
  } else if (!RE2::PartialMatch(re2::StringPiece(line.message.data(), line.message.size()),
                                *regex_)) {
    return false;
  }
  if (!spec_.proto.empty() && !absl::EqualsIgnoreCase(line.proto, spec_.proto)) return false;
  if (!spec_.ports.empty()) {
    if (!line.dpt) return false;
    if (!std::binary_search(spec_.ports.begin(), spec_.ports.end(), *line.dpt)) return false;
  }
  return true;
}

}  // namespace goalkeeper
