// Fuzzes ParseNotifierConfig with the input as YAML text. It must never
// crash, hang or let an exception escape (libFuzzer reports an uncaught
// exception as a crash). Secret files are never read by the parser.
//
// Invariants checked: the printed config (--check-config) parses back
// equal; errors are InvalidArgument naming the source and stay
// short; a parsed config has ops emails, a valid mode, positive finite
// durations, static owners with a name, a parsed range and someone to
// notify, complete OpenStack/Fleio sections when enabled, and
// acknowledgements with an address and a port.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/ip_address.h"
#include "notifier/config.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

bool IsPositiveFinite(absl::Duration d) {
  return d > absl::ZeroDuration() && d != absl::InfiniteDuration();
}

void Check(absl::string_view input) {
  absl::StatusOr<NotifierConfig> c = ParseNotifierConfig(input, "fuzz.yaml");
  if (!c.ok()) {
    FUZZ_CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(absl::StartsWith(c.status().message(), "fuzz.yaml"));
    // Quoted values are cut, so messages stay short whatever the input.
    FUZZ_CHECK(c.status().message().size() < 1024);
    return;
  }
  FUZZ_CHECK(c->mode == NotifierMode::kStage || c->mode == NotifierMode::kProd);
  FUZZ_CHECK(!c->ops_emails.empty());
  for (const std::string& e : c->ops_emails) FUZZ_CHECK(absl::StrContains(e, "@"));
  FUZZ_CHECK(!c->listen.empty());
  FUZZ_CHECK(!c->db.empty());
  FUZZ_CHECK(!c->outbox_dir.empty());
  FUZZ_CHECK(c->smtp_url.empty() || absl::StartsWithIgnoreCase(c->smtp_url, "smtp"));
  FUZZ_CHECK(absl::StartsWithIgnoreCase(c->telegram_api_url, "http"));
  for (const StaticOwner& o : c->static_owners) {
    FUZZ_CHECK(!o.name.empty());
    FUZZ_CHECK(!o.emails.empty() || !o.telegram_chat_id.empty());
    FUZZ_CHECK(o.range.first <= o.range.last);
  }
  if (c->openstack_enabled) {
    FUZZ_CHECK(!c->openstack.auth_url.empty());
    FUZZ_CHECK(!c->openstack.username.empty());
    FUZZ_CHECK(!c->openstack.project_name.empty());
    FUZZ_CHECK(c->openstack.interface == "public" || c->openstack.interface == "internal" ||
               c->openstack.interface == "admin");
  } else {
    FUZZ_CHECK(c->openstack.auth_url.empty());
  }
  FUZZ_CHECK(c->fleio_enabled ? !c->fleio_url.empty() : c->fleio_url.empty());
  FUZZ_CHECK(IsPositiveFinite(c->repeat_interval));
  FUZZ_CHECK(IsPositiveFinite(c->give_up_after));
  for (const AcknowledgedExposure& a : c->acknowledged) {
    FUZZ_CHECK(IpAddress::Parse(a.ip).has_value());
    FUZZ_CHECK(a.port >= 1 && a.port <= 65535);
    FUZZ_CHECK(a.until != absl::InfiniteFuture() && a.until != absl::InfinitePast());
  }
  // What --check-config prints reads back as the same config.
  const std::string printed = FormatNotifierConfig(*c);
  absl::StatusOr<NotifierConfig> again = ParseNotifierConfig(printed, "printed.yaml");
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *c);
  FUZZ_CHECK(FormatNotifierConfig(*again) == printed);
}

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  goalkeeper::Check(goalkeeper::FuzzText(data, size));
  return 0;
}
