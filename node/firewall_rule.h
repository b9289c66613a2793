// Firewall-log rules: which LOG lines count as hits of a rule, and how many
// hits per source within what window make a finding (node/hit_aggregator.h
// does the counting).
//
//   FirewallRuleSpec spec = DefaultFirewallRule();   // IPTables-TFTP-Rejected, UDP 69
//   absl::StatusOr<FirewallRule> rule = FirewallRule::Create(spec);
//   if (rule->Matches(line)) aggregator.Add(HitFromLine(line));
//
// A rule matches by the LOG prefix as a literal (the logged prefix starts
// with it) or by an RE2 regex searched in the message (prefix and fields,
// e.g. "^DROP-(in|fwd): .*DPT=(22|23) "), then by protocol (any case; "" =
// any) and destination port (empty = any; a line without DPT never matches
// a port filter).
//
// Thread-safety: FirewallRule is immutable after Create and safe to share
// (RE2 matching is thread-safe).
#ifndef GOALKEEPER_NODE_FIREWALL_RULE_H_
#define GOALKEEPER_NODE_FIREWALL_RULE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node/firewall_line.h"

namespace re2 {
class RE2;
}

namespace goalkeeper {

inline constexpr absl::string_view kJournalSource = "journal";

struct FirewallRuleSpec {
  std::string name;
  // File paths or globs ("/var/log/kern.log*" is not needed: rotations of a
  // followed file are the follower's business) and/or "journal".
  std::vector<std::string> sources;
  std::string prefix;           // literal LOG prefix; exactly one of prefix and regex is set
  std::string regex;            // RE2 syntax, searched in FirewallLine::message
  std::string proto;            // "udp", "tcp", "icmp", ...; "" for any
  std::vector<uint16_t> ports;  // destination ports, sorted and unique; empty for any
  absl::Duration window = absl::Minutes(10);
  uint32_t threshold = 10;                // hits per source within the window
  bool per_ipv6_64 = false;               // count IPv6 sources per /64
  absl::Duration quiet = absl::Hours(1);  // silence before a source is reported again

  friend bool operator==(const FirewallRuleSpec&, const FirewallRuleSpec&) = default;
};

// The original tool's rule: prefix "IPTables-TFTP-Rejected: ", UDP port 69,
// from /var/log/kern.log, 10 hits in 10 minutes, quiet 1 hour.
FirewallRuleSpec DefaultFirewallRule();

class FirewallRule {
 public:
  // Errors are InvalidArgument naming the rule: "rule 'tftp': regex
  // '(unclosed' is not valid RE2: missing )".
  static absl::StatusOr<FirewallRule> Create(const FirewallRuleSpec& spec);

  const FirewallRuleSpec& spec() const { return spec_; }
  bool Matches(const FirewallLine& line) const;

  // A cheap test on the raw line before parsing it: false when the line
  // cannot be a hit (a literal-prefix rule's prefix is nowhere in it), true
  // when it may be one and must be parsed and given to Matches. Regex rules
  // always say true. Lets a follower reject the ~95% of syslog lines that are
  // not its rule's in one memmem, as `grep -F` does.
  //
  //   if (rule.MayMatchLine(l.text) && ParseFirewallLine(l.text, ctx, &fl) == kOk &&
  //       rule.Matches(fl)) ...
  bool MayMatchLine(absl::string_view line) const;
  // The literal every line this rule matches holds: the prefix of a literal
  // rule, "" for a regex rule. For LogFollowerOptions::line_literal.
  absl::string_view RequiredLiteral() const {
    return regex_ == nullptr ? absl::string_view(spec_.prefix) : absl::string_view();
  }

 private:
  FirewallRule() = default;

  FirewallRuleSpec spec_;
  std::shared_ptr<const re2::RE2> regex_;  // null for a literal prefix
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_NODE_FIREWALL_RULE_H_
