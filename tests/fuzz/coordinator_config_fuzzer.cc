// Fuzzes ParseCoordinatorConfig with the input as YAML text. It must never
// crash, hang or let an exception escape (libFuzzer reports an uncaught
// exception as a crash). '@file' target specs are refused by the parser
// itself, so no file is read.
//
// Invariants checked: the printed config (--check-config) parses back
// equal; errors are InvalidArgument naming the source; a parsed
// config always has a "default" profile, a heartbeat shorter than the lease,
// inventories with targets or a complete openstack block, and schedules
// naming existing inventories and profiles.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "coordinator/config.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

void Check(absl::string_view input) {
  absl::StatusOr<CoordinatorConfig> c = ParseCoordinatorConfig(input, "fuzz.yaml");
  if (!c.ok()) {
    FUZZ_CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(absl::StartsWith(c.status().message(), "fuzz.yaml"));
    // Quoted values are cut, so messages stay short whatever the input.
    FUZZ_CHECK(c.status().message().size() < 1024);
    return;
  }
  FUZZ_CHECK(c->profiles.count("default") == 1);
  FUZZ_CHECK(!c->db.empty());
  FUZZ_CHECK(!c->listen.empty());
  FUZZ_CHECK(c->lease.heartbeat_seconds < c->lease.ttl_seconds);
  FUZZ_CHECK(c->lease.shard_seconds > 0);
  FUZZ_CHECK(c->inventories.empty() || !c->allowed_ranges.empty());
  for (const auto& [name, inventory] : c->inventories) {
    FUZZ_CHECK(!name.empty());
    FUZZ_CHECK(!inventory.targets.empty() || inventory.openstack.has_value());
    if (inventory.openstack.has_value()) {
      FUZZ_CHECK(!inventory.openstack->auth_url.empty());
      FUZZ_CHECK(!inventory.openstack->username.empty());
      FUZZ_CHECK(!inventory.openstack->project_name.empty());
    }
    for (const std::string& spec : inventory.targets) FUZZ_CHECK(!absl::StartsWith(spec, "@"));
  }
  for (const auto& [name, profile] : c->profiles) {
    FUZZ_CHECK(profile.timeout_ms >= 1 && profile.timeout_ms <= 600000);
    FUZZ_CHECK(profile.retries <= 10);
    FUZZ_CHECK(profile.rate >= 0 && profile.rate <= 1e9);
  }
  for (const ScheduleSpec& s : c->schedules) {
    FUZZ_CHECK(!s.name.empty());
    FUZZ_CHECK(c->inventories.count(s.inventory) == 1);
    FUZZ_CHECK(c->profiles.count(s.profile) == 1);
  }
  // What --check-config prints reads back as the same config.
  const std::string printed = FormatCoordinatorConfig(*c);
  absl::StatusOr<CoordinatorConfig> again = ParseCoordinatorConfig(printed, "printed.yaml");
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *c);
  FUZZ_CHECK(FormatCoordinatorConfig(*again) == printed);
}

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  goalkeeper::Check(goalkeeper::FuzzText(data, size));
  return 0;
}
