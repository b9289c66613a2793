// Fuzzes the target parsers: ParseTargetSpec on the raw input, and
// TargetSet::Parse on the input split into lines (lines starting with '!'
// are exclusions; empty lines are skipped). Every '@' is removed first so no file is ever read.
//
// Invariants checked on success: ranges are well-formed, sorted, disjoint and
// not adjacent; size() is their (saturating) sum; At() lands on each range's
// first and last address and Contains() agrees; exclusions are really gone.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/targets.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

bool RangeValid(const AddressRange& r) {
  return r.first <= r.last && r.last <= MaxValue(r.family) &&
         (r.family == Family::kIPv4 || r.family == Family::kIPv6);
}

void CheckSpec(absl::string_view input) {
  absl::StatusOr<AddressRange> r = ParseTargetSpec(input);
  if (!r.ok()) {
    FUZZ_CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    // Quoted specs are cut at 256 characters.
    FUZZ_CHECK(r.status().message().size() < 400);
    return;
  }
  FUZZ_CHECK(RangeValid(*r));
  FUZZ_CHECK(r->size() >= 1);
  TargetSet one = TargetSet::FromRanges({*r}, {});
  FUZZ_CHECK(one.ranges().size() == 1);
  FUZZ_CHECK(one.ranges()[0] == *r);
  FUZZ_CHECK(one.size() == r->size());
  // A spec printed back parses to the same range when it is a plain range.
  absl::StatusOr<AddressRange> again = ParseTargetSpec(r->ToString());
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *r);
}

void CheckSet(const TargetSet& set) {
  const std::vector<AddressRange>& ranges = set.ranges();
  FUZZ_CHECK(!set.empty());
  FUZZ_CHECK(!ranges.empty());
  absl::uint128 total = 0;
  bool saturated = false;
  for (size_t i = 0; i < ranges.size(); ++i) {
    const AddressRange& r = ranges[i];
    FUZZ_CHECK(RangeValid(r));
    if (i > 0) {
      const AddressRange& prev = ranges[i - 1];
      FUZZ_CHECK(prev.family <= r.family);
      if (prev.family == r.family) {
        FUZZ_CHECK(prev.last < r.first);
        FUZZ_CHECK(prev.last + 1 < r.first);  // merged when adjacent
      }
    }
    if (!saturated) {
      // The index of this range's first address, before adding it.
      FUZZ_CHECK(set.At(total) == r.First());
      FUZZ_CHECK(set.Contains(r.First()));
      FUZZ_CHECK(set.Contains(r.Last()));
      const absl::uint128 n = r.size();
      const absl::uint128 sum = total + n;
      if (sum < total || n == absl::Uint128Max()) {
        saturated = true;
        total = absl::Uint128Max();
      } else {
        total = sum;
        FUZZ_CHECK(set.At(total - 1) == r.Last());
      }
    }
  }
  FUZZ_CHECK(set.size() == total);
  FUZZ_CHECK(set.Contains(set.At(0)));
  FUZZ_CHECK(set.Contains(set.At(set.size() - 1)));
  if (!saturated) FUZZ_CHECK(set.At(set.size() - 1) == ranges.back().Last());
  // IsSubsetOf is quadratic; keep the fuzzer fast on long inputs.
  if (ranges.size() <= 256) FUZZ_CHECK(set.IsSubsetOf(set, nullptr));
  // Normalising again changes nothing.
  TargetSet again = TargetSet::FromRanges(ranges, {});
  FUZZ_CHECK(again.ranges() == ranges);
  FUZZ_CHECK(again.size() == set.size());
  FUZZ_CHECK(TargetSet::FromRanges(ranges, ranges).empty());
}

void CheckParse(absl::string_view input) {
  std::string text(input);
  std::erase(text, '@');
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty()) continue;
    if (line[0] == '!') {
      exclude.emplace_back(line.substr(1));
    } else {
      include.emplace_back(line);
    }
  }
  absl::StatusOr<TargetSet> set = TargetSet::Parse(include, exclude);
  if (!set.ok()) {
    FUZZ_CHECK(set.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  CheckSet(*set);

  // Every address is an include and no exclusion touches the set.
  absl::StatusOr<TargetSet> all = TargetSet::Parse(include, {});
  FUZZ_CHECK(all.ok());
  if (set->ranges().size() <= 256) FUZZ_CHECK(set->IsSubsetOf(*all, nullptr));
  FUZZ_CHECK(set->size() <= all->size());
  absl::StatusOr<std::vector<AddressRange>> excluded = ParseTargetSpecs(exclude);
  FUZZ_CHECK(excluded.ok());
  TargetSet minus_again = TargetSet::FromRanges(set->ranges(), *excluded);
  FUZZ_CHECK(minus_again.ranges() == set->ranges());
  for (const AddressRange& e : *excluded) {
    FUZZ_CHECK(!set->Contains(e.First()));
    FUZZ_CHECK(!set->Contains(e.Last()));
  }
}

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input = goalkeeper::FuzzText(data, size);
  goalkeeper::CheckSpec(input);
  goalkeeper::CheckParse(input);
  return 0;
}
