// Fuzzes ParseNodeConfig with the input as YAML text. It must never crash,
// hang or let an exception escape.
//
// Invariants checked: errors are InvalidArgument naming the source and
// short whatever the input; a parsed config has valid, uniquely named rules
// (each accepted by FirewallRule::Create) with sources, absolute paths and
// intervals within their bounds.
#include <cstdint>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "node/firewall_rule.h"
#include "node/node_config.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

void Check(absl::string_view input) {
  absl::StatusOr<NodeConfig> c = ParseNodeConfig(input, "fuzz.yaml");
  if (!c.ok()) {
    FUZZ_CHECK(c.status().code() == absl::StatusCode::kInvalidArgument ||
               c.status().code() == absl::StatusCode::kResourceExhausted);
    FUZZ_CHECK(absl::StartsWith(c.status().message(), "fuzz.yaml"));
    FUZZ_CHECK(c.status().message().size() < 2048);
    return;
  }
  std::set<std::string> names;
  for (const FirewallRuleSpec& r : c->rules) {
    FUZZ_CHECK(names.insert(r.name).second);
    FUZZ_CHECK(!r.sources.empty());
    FUZZ_CHECK(r.prefix.empty() != r.regex.empty());
    FUZZ_CHECK(r.threshold >= 1);
    FUZZ_CHECK(r.window >= absl::Seconds(1) && r.window <= absl::Hours(24 * 7));
    FUZZ_CHECK(r.quiet >= absl::ZeroDuration() && r.quiet <= absl::Hours(24 * 30));
    FUZZ_CHECK(FirewallRule::Create(r).ok());
    for (const std::string& s : r.sources) FUZZ_CHECK(s == "journal" || s[0] == '/');
  }
  FUZZ_CHECK(c->timezone_file[0] == '/');
  FUZZ_CHECK(c->checkpoint_dir[0] == '/');
  FUZZ_CHECK(c->heartbeat_interval >= absl::Seconds(1));
  FUZZ_CHECK(c->listeners.interval >= absl::Seconds(1));
}

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  goalkeeper::Check(goalkeeper::FuzzText(data, size));
  return 0;
}
