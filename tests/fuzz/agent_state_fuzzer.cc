// Fuzzes the node agent's state parsers (node/agent_state.h) with the input
// as a checkpoint blob and as a stored listener set. The first byte picks
// raw input or a valid "GKB1" header before the rest.
//
// Invariants checked: what is accepted serializes to bytes that parse to
// the same value (and, for the blob, to the same bytes).
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "node/agent_state.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper::node {
namespace {

void Check(absl::string_view input) {
  if (input.empty()) return;
  const uint8_t mode = static_cast<uint8_t>(input[0]);
  input.remove_prefix(1);
  std::string bytes = (mode & 1) ? "GKB1" : "";
  bytes.append(input.data(), input.size());
  absl::StatusOr<SourceBlob> blob = ParseSourceBlob(bytes);
  if (blob.ok()) {
    const std::string again = SerializeSourceBlob(*blob);
    FUZZ_CHECK(again == bytes);
    absl::StatusOr<SourceBlob> back = ParseSourceBlob(again);
    FUZZ_CHECK(back.ok() && back->aggregator == blob->aggregator &&
               back->pending == blob->pending);
  }
  absl::StatusOr<std::vector<Listener>> ls = ParseListenerState(input);
  if (ls.ok()) {
    absl::StatusOr<std::vector<Listener>> back = ParseListenerState(SerializeListenerState(*ls));
    FUZZ_CHECK(back.ok() && *back == *ls);
  }
}

}  // namespace
}  // namespace goalkeeper::node

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  goalkeeper::node::Check(goalkeeper::FuzzText(data, size));
  return 0;
}
