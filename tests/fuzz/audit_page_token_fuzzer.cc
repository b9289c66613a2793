// Fuzzes CheckAuditFilter (ListAudit's bounds and page tokens, both from the
// network). A token is either refused with one short InvalidArgument line
// naming the field, or decodes to an id > 0; a token the server issued
// decodes to its id under the same filter and is refused under another.
#include <cstdint>
#include <string>

#include "common/audit_log.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

void CheckToken(absl::string_view input) {
  AuditFilter f;
  f.identity = "spiffe://goalkeeper/admin";
  f.page_token = std::string(input);
  absl::StatusOr<int64_t> before = CheckAuditFilter(f);
  if (!before.ok()) {
    FUZZ_CHECK(before.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(before.status().message().rfind("page_token: ", 0) == 0);
    FUZZ_CHECK(before.status().message().find('\n') == absl::string_view::npos);
    FUZZ_CHECK(before.status().message().size() < 200);
  } else {
    FUZZ_CHECK(*before > 0);
  }
  // The bytes as a filter value and as an id: issued tokens round-trip.
  AuditFilter g;
  g.method = std::string(input.substr(0, kAuditMaxFilterBytes));
  int64_t id = 1;
  for (char c : input.substr(0, 7)) id = id * 256 + static_cast<unsigned char>(c);
  g.page_token = AuditPageToken(g, id);
  absl::StatusOr<int64_t> back = CheckAuditFilter(g);
  FUZZ_CHECK(back.ok() && *back == id);
  g.method += "x";
  FUZZ_CHECK(!CheckAuditFilter(g).ok());
}

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  goalkeeper::CheckToken(goalkeeper::FuzzText(data, size));
  return 0;
}
