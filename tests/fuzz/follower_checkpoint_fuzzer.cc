// Fuzzes ParseFollowerCheckpoint (the node agent's log and journal follower checkpoint,
// read back from a writable host path on every start). On success the
// checkpoint serializes back to bytes that parse to the same value (and,
// the format having one spelling per value, to the same bytes); on failure
// the error is InvalidArgument, one line, and short whatever the input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "node/follower_checkpoint.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper::node {
namespace {

void CheckCheckpoint(absl::string_view input) {
  absl::StatusOr<FollowerCheckpoint> cp = ParseFollowerCheckpoint(input);
  if (!cp.ok()) {
    FUZZ_CHECK(cp.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!cp.status().message().empty());
    FUZZ_CHECK(cp.status().message().find('\n') == absl::string_view::npos);
    FUZZ_CHECK(cp.status().message().size() < 600);
    return;
  }
  FUZZ_CHECK(cp->entries.size() <= kMaxCheckpointEntries);
  FUZZ_CHECK(cp->blob.size() <= input.size());
  if (cp->journal.has_value()) FUZZ_CHECK(cp->journal->cursor.size() <= kMaxJournalCursor);
  for (const FollowerCheckpointEntry& e : cp->entries) {
    FUZZ_CHECK(!e.stream.empty());
    FUZZ_CHECK(e.stream.size() <= kMaxCheckpointPath);
    FUZZ_CHECK(e.head_len <= kFollowerHeadBytes);
  }
  const std::string again = SerializeFollowerCheckpoint(*cp);
  FUZZ_CHECK(again == input);
  absl::StatusOr<FollowerCheckpoint> back = ParseFollowerCheckpoint(again);
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(*back == *cp);
}

}  // namespace
}  // namespace goalkeeper::node

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  goalkeeper::node::CheckCheckpoint(goalkeeper::FuzzText(data, size));
  return 0;
}
