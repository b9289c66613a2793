// Fuzzes ParseHostPort (every HOST:PORT flag and config key). On success the
// port is in the rule's range, the host is non-empty, a dial address is also
// a listen address, and host:port printed back (IPv6 in brackets) parses to
// the same host and port. On failure the error is InvalidArgument, one line,
// and short whatever the input's length.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/host_port.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

void CheckHostPort(absl::string_view input) {
  for (PortRule rule : {PortRule::kDial, PortRule::kListen}) {
    absl::StatusOr<HostPort> hp = ParseHostPort(input, rule);
    if (!hp.ok()) {
      FUZZ_CHECK(hp.status().code() == absl::StatusCode::kInvalidArgument);
      FUZZ_CHECK(!hp.status().message().empty());
      FUZZ_CHECK(hp.status().message().find('\n') == absl::string_view::npos);
      FUZZ_CHECK(hp.status().message().size() < 600);
      continue;
    }
    FUZZ_CHECK(!hp->host.empty());
    if (rule == PortRule::kDial) {
      FUZZ_CHECK(hp->port >= 1);
      FUZZ_CHECK(ParseHostPort(input, PortRule::kListen).ok());
    }
    const bool v6 = hp->host.find(':') != std::string::npos;
    const std::string again =
        v6 ? absl::StrCat("[", hp->host, "]:", hp->port) : absl::StrCat(hp->host, ":", hp->port);
    absl::StatusOr<HostPort> back = ParseHostPort(again, rule);
    FUZZ_CHECK(back.ok());
    FUZZ_CHECK(back->host == hp->host);
    FUZZ_CHECK(back->port == hp->port);
    FUZZ_CHECK(IsValidHostPort(input, rule == PortRule::kDial ? 1 : 0));
  }
}

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  goalkeeper::CheckHostPort(goalkeeper::FuzzText(data, size));
  return 0;
}
