// Fuzzes PortSet::Parse. On success the ports are non-empty, sorted, unique
// and in 1-65535, and printing them back as a list parses to the same set; on
// failure the error is InvalidArgument.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_join.h"
#include "common/ports.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

void CheckPorts(absl::string_view input) {
  absl::StatusOr<PortSet> set = PortSet::Parse(input);
  if (!set.ok()) {
    FUZZ_CHECK(set.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!set.status().message().empty());
    return;
  }
  const std::vector<uint16_t>& ports = set->ports();
  FUZZ_CHECK(!ports.empty());
  FUZZ_CHECK(set->size() == ports.size());
  FUZZ_CHECK(ports.size() <= 65535);
  FUZZ_CHECK(ports.front() >= 1);
  for (size_t i = 1; i < ports.size(); ++i) FUZZ_CHECK(ports[i - 1] < ports[i]);
  if (ports.size() == 65535) FUZZ_CHECK(ports.back() == 65535);

  // Round trip through the canonical list form (bounded to stay fast).
  if (ports.size() <= 2048) {
    absl::StatusOr<PortSet> again = PortSet::Parse(absl::StrJoin(ports, ","));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->ports() == ports);
  }
}

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  goalkeeper::CheckPorts(goalkeeper::FuzzText(data, size));
  return 0;
}
