// Fuzzes HitAggregator::RestoreState with the input as a serialized state
// (a checkpoint file's contents). The first byte picks raw input or a valid
// header (magic, version, rule name) followed by the rest, so the fuzzer
// reaches the per-source records quickly.
//
// Invariants checked: a refused state leaves the aggregator empty; an
// accepted one is within max_sources, serializes to bytes that restore to
// the same bytes, and keeps counting hits without crashing.
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "node/hit_aggregator.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

AggregatorOptions Options(bool per_64) {
  AggregatorOptions o;
  o.rule = "fuzz";
  o.window = absl::Minutes(10);
  o.threshold = 3;
  o.per_ipv6_64 = per_64;
  o.max_sources = 8;
  return o;
}

void Check(absl::string_view input) {
  if (input.empty()) return;
  const uint8_t mode = static_cast<uint8_t>(input[0]);
  input.remove_prefix(1);
  std::string bytes;
  if (mode & 1) {
    bytes.append("GKNA");
    bytes.append("\x01\x00\x00\x00", 4);
    bytes.append("\x04\x00\x00\x00", 4);
    bytes.append("fuzz");
  }
  bytes.append(input.data(), input.size());
  HitAggregator agg(Options((mode & 2) != 0));
  if (!agg.RestoreState(bytes).ok()) {
    FUZZ_CHECK(agg.stats().tracked == 0);
    return;
  }
  FUZZ_CHECK(agg.stats().tracked <= 8);
  const std::string once = agg.SerializeState();
  HitAggregator again(Options((mode & 2) != 0));
  FUZZ_CHECK(again.RestoreState(once).ok());
  FUZZ_CHECK(again.SerializeState() == once);
  const absl::Time t = absl::FromUnixSeconds(1796087045);
  for (int i = 0; i < 4; ++i) {
    Hit hit{t + absl::Seconds(i), IpAddress::V4(0xc0000217), "UDP", 69};
    (void)again.Add(hit);
    hit.src = *IpAddress::Parse("2001:db8::1");
    (void)again.Add(hit);
  }
  FUZZ_CHECK(again.stats().tracked <= 8);
}

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  goalkeeper::Check(goalkeeper::FuzzText(data, size));
  return 0;
}
