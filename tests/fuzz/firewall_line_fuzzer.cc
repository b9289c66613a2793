// Fuzzes ParseFirewallLine and ParseFirewallMessage with the input as one
// log line. They must never crash or read outside the input.
//
// Invariants checked: a line over kMaxFirewallLineBytes is refused as
// kTooLong; the views of a parsed line lie inside the input, the message
// runs to its end and starts with the prefix; the message parsed again as a
// journal entry gives the same fields; the default rule's matcher and
// HitFromLine accept whatever parsed; the rule's pre-filter keeps every line
// it matches; LiteralScanner finds what a plain search finds, at every width.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "node/firewall_line.h"
#include "node/firewall_rule.h"
#include "node/hit_aggregator.h"
#include "node/literal_scan.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

bool Inside(absl::string_view part, absl::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void CheckScan(const node::LiteralScanner& scan, absl::string_view hay) {
  uint64_t newlines = 0;
  const size_t at = scan.Find(hay, &newlines);
  FUZZ_CHECK(at == hay.find(scan.literal()));
  const absl::string_view before = hay.substr(0, at == absl::string_view::npos ? hay.size() : at);
  FUZZ_CHECK(newlines == static_cast<uint64_t>(std::count(before.begin(), before.end(), '\n')));
}

void Check(absl::string_view input) {
  static const FirewallRule* rule = new FirewallRule(*FirewallRule::Create(DefaultFirewallRule()));
  FirewallLineContext ctx;
  ctx.zone = absl::FixedTimeZone(2 * 3600);
  ctx.reference = absl::FromUnixSeconds(1796087045);
  FirewallLine line;
  const FirewallLineStatus status = ParseFirewallLine(input, ctx, &line);
  if (input.size() > kMaxFirewallLineBytes) FUZZ_CHECK(status == FirewallLineStatus::kTooLong);
  FUZZ_CHECK(!FirewallLineStatusText(status).empty());
  if (status == FirewallLineStatus::kOk) {
    for (absl::string_view v : {line.host, line.prefix, line.message, line.in, line.out, line.proto,
                                line.mac.value_or("")}) {
      FUZZ_CHECK(Inside(v, input));
    }
    FUZZ_CHECK(!line.host.empty());
    FUZZ_CHECK(!line.proto.empty());
    FUZZ_CHECK(absl::StartsWith(line.message, line.prefix));
    FUZZ_CHECK(line.time <= ctx.reference + kMaxFutureSkew ||
               absl::ascii_isdigit(static_cast<unsigned char>(input[0])));
    FirewallLine again;
    FUZZ_CHECK(ParseFirewallMessage(line.message, 0, &again) == FirewallLineStatus::kOk);
    FUZZ_CHECK(again.src == line.src && again.dst == line.dst && again.dpt == line.dpt &&
               again.spt == line.spt && again.proto == line.proto && again.in == line.in &&
               absl::EndsWith(line.prefix, again.prefix) && again.icmp_type == line.icmp_type);
    // The follower's pre-filter never drops a line the rule matches.
    if (rule->Matches(line)) FUZZ_CHECK(rule->MayMatchLine(input));
    const Hit hit = HitFromLine(line);
    FUZZ_CHECK(hit.proto.size() == line.proto.size());
  }
  FirewallLine journal;
  const FirewallLineStatus js = ParseFirewallMessage(input, -1, &journal);
  if (js == FirewallLineStatus::kOk) {
    FUZZ_CHECK(Inside(journal.message, input));
    FUZZ_CHECK(journal.time == absl::FromUnixMicros(-1));
  }
  absl::string_view rest;
  if (ParseRfc3339Time(input, &rest)) FUZZ_CHECK(Inside(rest, input));
  // LiteralScanner (the follower's bulk skip) agrees with a plain search, for
  // the rule's prefix and for a literal taken from the input itself.
  static const node::LiteralScanner* prefix_scan =
      new node::LiteralScanner(rule->RequiredLiteral());
  CheckScan(*prefix_scan, input);
  const size_t len = input.empty() ? 0 : 1 + static_cast<unsigned char>(input[0]) % 6;
  if (input.size() > len) {
    const absl::string_view literal = input.substr(1, len);
    if (literal.find('\n') == absl::string_view::npos) {
      for (auto width : {node::LiteralScanner::Width::kBest, node::LiteralScanner::Width::kSse2,
                         node::LiteralScanner::Width::kScalar}) {
        CheckScan(node::LiteralScanner(literal, width), input.substr(1 + len));
      }
    }
  }
}

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  goalkeeper::Check(goalkeeper::FuzzText(data, size));
  return 0;
}
