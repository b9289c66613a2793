// Target specifications: what the scanner may probe, as sorted disjoint
// address ranges that are counted and indexed, never expanded.
//
// Accepted forms (IPv4 and IPv6): a single address ("10.0.0.1", "::1"),
// a CIDR ("10.0.0.0/24", "2001:db8::/120"), a range of two addresses
// ("10.0.0.1-10.0.1.255"), an IPv4 last-octet range ("10.0.0.1-20"), and a
// file ("@path": one spec per line, '#' starts a comment).
//
//   absl::StatusOr<TargetSet> t = TargetSet::Parse({"10.0.0.0/8"}, {"10.1.0.0/16"});
//   absl::uint128 n = t->size();        // 16711680
//   IpAddress a = t->At(5);             // 10.0.0.5
//
// Thread-safety: immutable after construction; safe to share.
#ifndef GOALKEEPER_COMMON_TARGETS_H_
#define GOALKEEPER_COMMON_TARGETS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/ip_address.h"

namespace goalkeeper {

// Inclusive range [first, last] of one family.
struct AddressRange {
  Family family = Family::kIPv4;
  absl::uint128 first = 0;
  absl::uint128 last = 0;

  // Number of addresses, saturating at Uint128Max for ::/0.
  absl::uint128 size() const {
    absl::uint128 d = last - first;
    return d == absl::Uint128Max() ? d : d + 1;
  }
  IpAddress First() const { return {family, first}; }
  IpAddress Last() const { return {family, last}; }
  std::string ToString() const;
  friend bool operator==(const AddressRange&, const AddressRange&) = default;
};

// Limits of a "@path" target file, read as a stream: its size and the length
// of one line. Beyond them the parse fails naming the file and the limit.
inline constexpr uint64_t kMaxTargetFileBytes = uint64_t{64} << 20;
inline constexpr size_t kMaxTargetLineBytes = 64 << 10;

// Parses one spec (not "@file"). Errors are InvalidArgument and quote the
// spec: "'10.0.0.300/24' is not an IPv4/IPv6 address, range or CIDR".
absl::StatusOr<AddressRange> ParseTargetSpec(absl::string_view spec);

// Expands a list of specs, where "@path" reads a file, into ranges (not yet
// merged). Specs may also be comma-separated within one element.
absl::StatusOr<std::vector<AddressRange>> ParseTargetSpecs(const std::vector<std::string>& specs);

class TargetSet {
 public:
  TargetSet() = default;

  // Parses includes and excludes (see ParseTargetSpecs). Fails when the
  // includes are empty or the exclusions remove every address.
  static absl::StatusOr<TargetSet> Parse(const std::vector<std::string>& include,
                                         const std::vector<std::string>& exclude);
  // Sorts, merges and subtracts; never fails (the result may be empty).
  static TargetSet FromRanges(std::vector<AddressRange> include,
                              const std::vector<AddressRange>& exclude);

  // Number of addresses, saturating at Uint128Max.
  absl::uint128 size() const { return total_; }
  bool empty() const { return ranges_.empty(); }
  // The index-th address in order (IPv4 before IPv6). Requires index < size().
  IpAddress At(absl::uint128 index) const;
  bool Contains(const IpAddress& a) const;
  // The inverse of At: the index of `a`, or nullopt when it is not in the set.
  std::optional<absl::uint128> IndexOf(const IpAddress& a) const;
  // True when every address here is in `outer`; otherwise `*outside` is set
  // to the first range (or part of it) that is not.
  bool IsSubsetOf(const TargetSet& outer, AddressRange* outside) const;
  const std::vector<AddressRange>& ranges() const { return ranges_; }

 private:
  std::vector<AddressRange> ranges_;   // sorted, disjoint, non-adjacent
  std::vector<absl::uint128> starts_;  // index of each range's first address
  absl::uint128 total_ = 0;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_TARGETS_H_
