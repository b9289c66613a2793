#include "common/targets.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace goalkeeper {
namespace {

constexpr size_t kMaxSpecLength = 256;

absl::Status BadSpec(absl::string_view spec, absl::string_view why = "") {
  std::string shown(spec.substr(0, kMaxSpecLength));
  if (spec.size() > kMaxSpecLength) shown += "...";
  if (why.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", shown, "' is not an IPv4/IPv6 address, range or CIDR"));
  }
  return absl::InvalidArgumentError(absl::StrCat("'", shown, "': ", why));
}

absl::uint128 SaturatingAdd(absl::uint128 a, absl::uint128 b) {
  absl::uint128 s = a + b;
  return s < a ? absl::Uint128Max() : s;
}

}  // namespace

std::string AddressRange::ToString() const {
  if (first == last) return First().ToString();
  return absl::StrCat(First().ToString(), "-", Last().ToString());
}

absl::StatusOr<AddressRange> ParseTargetSpec(absl::string_view raw) {
  absl::string_view spec = absl::StripAsciiWhitespace(raw);
  if (spec.empty()) return absl::InvalidArgumentError("empty target spec");
  if (spec.size() > kMaxSpecLength) return BadSpec(spec);

  if (size_t slash = spec.find('/'); slash != absl::string_view::npos) {
    auto addr = IpAddress::Parse(spec.substr(0, slash));
    absl::string_view len_text = spec.substr(slash + 1);
    uint32_t len = 0;
    if (!addr || len_text.empty() || len_text.size() > 3 ||
        !std::all_of(len_text.begin(), len_text.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(len_text, &len)) {
      return BadSpec(spec);
    }
    const int bits = addr->bits();
    if (len > static_cast<uint32_t>(bits)) {
      return BadSpec(spec, absl::StrCat("prefix length /", len, " exceeds ", bits, " bits"));
    }
    const int host_bits = bits - static_cast<int>(len);
    absl::uint128 host_mask =
        host_bits == 128 ? absl::Uint128Max() : (absl::uint128(1) << host_bits) - 1;
    absl::uint128 first = addr->value & ~host_mask & MaxValue(addr->family);
    return AddressRange{addr->family, first, first | host_mask};
  }

  if (size_t dash = spec.find('-'); dash != absl::string_view::npos) {
    auto first = IpAddress::Parse(spec.substr(0, dash));
    absl::string_view rest = spec.substr(dash + 1);
    if (!first) return BadSpec(spec);
    IpAddress last;
    if (auto full = IpAddress::Parse(rest)) {
      last = *full;
    } else {
      // a.b.c.d-h: the end replaces the last octet (IPv4 only).
      uint32_t octet = 0;
      if (first->family != Family::kIPv4 || rest.empty() || rest.size() > 3 ||
          !std::all_of(rest.begin(), rest.end(), absl::ascii_isdigit) ||
          !absl::SimpleAtoi(rest, &octet) || octet > 255) {
        return BadSpec(spec);
      }
      last = IpAddress::V4((static_cast<uint32_t>(first->value) & 0xffffff00u) | octet);
    }
    if (last.family != first->family) {
      return BadSpec(spec, "a range cannot mix IPv4 and IPv6");
    }
    if (last.value < first->value) {
      return BadSpec(spec, "range end is before its start");
    }
    return AddressRange{first->family, first->value, last.value};
  }

  auto addr = IpAddress::Parse(spec);
  if (!addr) return BadSpec(spec);
  return AddressRange{addr->family, addr->value, addr->value};
}

namespace {

absl::Status ParseLine(const std::string& path, size_t line_no, absl::string_view text,
                       std::vector<AddressRange>& out) {
  if (size_t hash = text.find('#'); hash != absl::string_view::npos) {
    text = text.substr(0, hash);
  }
  for (absl::string_view part :
       absl::StrSplit(text, absl::ByAnyChar(", \t\r"), absl::SkipWhitespace())) {
    if (!part.empty() && part[0] == '@') {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_no, ": '", part, "': target files cannot include files"));
    }
    auto r = ParseTargetSpec(part);
    if (!r.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_no, ": ", r.status().message()));
    }
    out.push_back(*r);
  }
  return absl::OkStatus();
}

// Reads the file as a stream, a line at a time, so that neither a huge file
// nor one without line ends (/dev/zero) grows memory: both caps end the read
// with an error naming the file and the limit.
absl::Status ParseFile(const std::string& path, std::vector<AddressRange>& out) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (file == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read target file '", path, "'"));
  }
  std::string line;
  size_t line_no = 0;
  uint64_t total = 0;
  char buf[65536];
  for (;;) {
    const size_t n = std::fread(buf, 1, sizeof buf, file.get());
    total += n;
    if (total > kMaxTargetFileBytes) {
      return absl::InvalidArgumentError(absl::StrCat("target file '", path, "' is larger than ",
                                                     kMaxTargetFileBytes >> 20, " MiB"));
    }
    absl::string_view chunk(buf, n);
    while (!chunk.empty()) {
      const size_t nl = chunk.find('\n');
      const absl::string_view piece = chunk.substr(0, nl);
      if (line.size() + piece.size() > kMaxTargetLineBytes) {
        return absl::InvalidArgumentError(absl::StrCat("target file '", path, "': line ",
                                                       line_no + 1, " is longer than ",
                                                       kMaxTargetLineBytes, " bytes"));
      }
      line.append(piece.data(), piece.size());
      if (nl == absl::string_view::npos) break;
      RETURN_IF_ERROR(ParseLine(path, ++line_no, line, out));
      line.clear();
      chunk.remove_prefix(nl + 1);
    }
    if (n < sizeof buf) break;
  }
  if (std::ferror(file.get())) {
    return absl::InvalidArgumentError(absl::StrCat("error reading target file '", path, "'"));
  }
  if (!line.empty()) RETURN_IF_ERROR(ParseLine(path, ++line_no, line, out));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<AddressRange>> ParseTargetSpecs(const std::vector<std::string>& specs) {
  std::vector<AddressRange> out;
  for (const std::string& element : specs) {
    for (absl::string_view part : absl::StrSplit(element, ',')) {
      absl::string_view spec = absl::StripAsciiWhitespace(part);
      if (spec.empty()) {
        std::string shown = element.substr(0, kMaxSpecLength);
        if (element.size() > kMaxSpecLength) shown += "...";
        return absl::InvalidArgumentError(absl::StrCat("empty target spec in '", shown, "'"));
      }
      if (spec[0] == '@') {
        if (spec.size() == 1) return absl::InvalidArgumentError("'@' names no file");
        RETURN_IF_ERROR(ParseFile(std::string(spec.substr(1)), out));
        continue;
      }
      ASSIGN_OR_RETURN(AddressRange r, ParseTargetSpec(spec));
      out.push_back(r);
    }
  }
  return out;
}

absl::StatusOr<TargetSet> TargetSet::Parse(const std::vector<std::string>& include,
                                           const std::vector<std::string>& exclude) {
  ASSIGN_OR_RETURN(std::vector<AddressRange> inc, ParseTargetSpecs(include));
  if (inc.empty()) return absl::InvalidArgumentError("no targets given");
  ASSIGN_OR_RETURN(std::vector<AddressRange> exc, ParseTargetSpecs(exclude));
  TargetSet set = FromRanges(std::move(inc), exc);
  if (set.empty()) {
    return absl::InvalidArgumentError("the exclusions remove every target address");
  }
  return set;
}

namespace {

bool RangeLess(const AddressRange& a, const AddressRange& b) {
  if (a.family != b.family) return a.family < b.family;
  if (a.first != b.first) return a.first < b.first;
  return a.last < b.last;
}

// Sorts and merges overlapping or adjacent ranges in place.
void Normalize(std::vector<AddressRange>& v) {
  std::sort(v.begin(), v.end(), RangeLess);
  size_t out = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (out > 0) {
      AddressRange& prev = v[out - 1];
      if (prev.family == v[i].family &&
          (prev.last == absl::Uint128Max() || v[i].first <= prev.last + 1)) {
        prev.last = std::max(prev.last, v[i].last);
        continue;
      }
    }
    v[out++] = v[i];
  }
  v.resize(out);
}

}  // namespace

TargetSet TargetSet::FromRanges(std::vector<AddressRange> include,
                                const std::vector<AddressRange>& exclude) {
  Normalize(include);
  std::vector<AddressRange> exc = exclude;
  Normalize(exc);

  TargetSet set;
  // Sweep: both lists sorted; subtract exclusions from each include range.
  size_t j = 0;
  for (AddressRange r : include) {
    while (j < exc.size() &&
           (exc[j].family < r.family || (exc[j].family == r.family && exc[j].last < r.first))) {
      ++j;
    }
    bool alive = true;
    for (size_t k = j; k < exc.size() && alive; ++k) {
      const AddressRange& e = exc[k];
      if (e.family != r.family || e.first > r.last) break;
      if (e.last < r.first) continue;
      if (e.first > r.first) set.ranges_.push_back({r.family, r.first, e.first - 1});
      if (e.last >= r.last) {
        alive = false;
      } else {
        r.first = e.last + 1;
      }
    }
    if (alive) set.ranges_.push_back(r);
  }
  set.starts_.reserve(set.ranges_.size());
  for (const AddressRange& r : set.ranges_) {
    set.starts_.push_back(set.total_);
    set.total_ = SaturatingAdd(set.total_, r.size());
  }
  return set;
}

IpAddress TargetSet::At(absl::uint128 index) const {
  auto it = std::upper_bound(starts_.begin(), starts_.end(), index);
  size_t i = static_cast<size_t>(it - starts_.begin()) - 1;
  const AddressRange& r = ranges_[i];
  return {r.family, r.first + (index - starts_[i])};
}

bool TargetSet::Contains(const IpAddress& a) const {
  // The last range whose start is <= a: compare with the largest possible end.
  AddressRange probe{a.family, a.value, absl::Uint128Max()};
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), probe, RangeLess);
  if (it == ranges_.begin()) return false;
  --it;
  return it->family == a.family && it->first <= a.value && a.value <= it->last;
}

std::optional<absl::uint128> TargetSet::IndexOf(const IpAddress& a) const {
  AddressRange probe{a.family, a.value, absl::Uint128Max()};
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), probe, RangeLess);
  if (it == ranges_.begin()) return std::nullopt;
  --it;
  if (it->family != a.family || a.value < it->first || a.value > it->last) return std::nullopt;
  return starts_[static_cast<size_t>(it - ranges_.begin())] + (a.value - it->first);
}

bool TargetSet::IsSubsetOf(const TargetSet& outer, AddressRange* outside) const {
  for (const AddressRange& r : ranges_) {
    TargetSet rest = FromRanges({r}, outer.ranges_);
    if (!rest.empty()) {
      if (outside != nullptr) *outside = rest.ranges_.front();
      return false;
    }
  }
  return true;
}

}  // namespace goalkeeper
