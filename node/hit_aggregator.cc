#include "node/hit_aggregator.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace goalkeeper {
namespace {

constexpr char kMagic[4] = {'G', 'K', 'N', 'A'};
constexpr uint32_t kStateVersion = 1;
constexpr size_t kMaxRuleNameBytes = 4096;
constexpr size_t kMaxProtoBytes = 16;
constexpr uint32_t kMaxStateSources = 1 << 24;
constexpr uint32_t kMaxStateBuckets = 4096;
// Times are kept within +-2^60 microseconds (about 36,000 years) so that
// bucket arithmetic cannot overflow.
constexpr int64_t kMaxAbsMicros = int64_t{1} << 60;

int64_t ClampMicros(int64_t us) { return std::clamp(us, -kMaxAbsMicros, kMaxAbsMicros); }

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && (a < 0)) --q;
  return q;
}

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U16(uint16_t v) { Raw(v, 2); }
  void U32(uint32_t v) { Raw(v, 4); }
  void U64(uint64_t v) { Raw(v, 8); }
  void I64(int64_t v) { Raw(static_cast<uint64_t>(v), 8); }
  void Bytes(absl::string_view s) { out_.append(s.data(), s.size()); }
  std::string Take() { return std::move(out_); }

 private:
  void Raw(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}
  bool U8(uint8_t* v) {
    uint64_t x;
    if (!Raw(1, &x)) return false;
    *v = static_cast<uint8_t>(x);
    return true;
  }
  bool U16(uint16_t* v) {
    uint64_t x;
    if (!Raw(2, &x)) return false;
    *v = static_cast<uint16_t>(x);
    return true;
  }
  bool U32(uint32_t* v) {
    uint64_t x;
    if (!Raw(4, &x)) return false;
    *v = static_cast<uint32_t>(x);
    return true;
  }
  bool U64(uint64_t* v) { return Raw(8, v); }
  bool I64(int64_t* v) {
    uint64_t x;
    if (!Raw(8, &x)) return false;
    *v = static_cast<int64_t>(x);
    return true;
  }
  bool Bytes(size_t n, absl::string_view* v) {
    if (in_.size() - pos_ < n) return false;
    *v = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  size_t pos() const { return pos_; }
  bool done() const { return pos_ == in_.size(); }

 private:
  bool Raw(size_t n, uint64_t* v) {
    if (in_.size() - pos_ < n) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; ++i) {
      x |= uint64_t{static_cast<unsigned char>(in_[pos_ + i])} << (8 * i);
    }
    pos_ += n;
    *v = x;
    return true;
  }
  absl::string_view in_;
  size_t pos_ = 0;
};

void AddPort(std::vector<ProtoPort>& ports, ProtoPort p) {
  auto it = std::lower_bound(ports.begin(), ports.end(), p);
  if (it != ports.end() && *it == p) return;
  if (ports.size() >= kMaxPortsPerSource) return;
  ports.insert(it, std::move(p));
}

}  // namespace

Hit HitFromLine(const FirewallLine& line) {
  Hit hit;
  hit.time = line.time;
  hit.src = line.src;
  hit.proto = absl::AsciiStrToUpper(line.proto);
  hit.dport = line.dpt;
  return hit;
}

AggregatorOptions AggregatorOptions::FromRule(const FirewallRuleSpec& spec) {
  AggregatorOptions o;
  o.rule = spec.name;
  o.window = spec.window;
  o.threshold = spec.threshold;
  o.per_ipv6_64 = spec.per_ipv6_64;
  o.quiet = spec.quiet;
  return o;
}

HitAggregator::HitAggregator(AggregatorOptions options) : options_(std::move(options)) {
  window_us_ = std::clamp<int64_t>(absl::ToInt64Microseconds(options_.window), 1, kMaxAbsMicros);
  bucket_us_ = std::max<int64_t>(1, window_us_ / kWindowBuckets);
  quiet_us_ = std::clamp<int64_t>(absl::ToInt64Microseconds(options_.quiet), 0, kMaxAbsMicros);
  if (options_.threshold == 0) options_.threshold = 1;
  if (options_.max_sources == 0) options_.max_sources = 1;
}

HitAggregator::Key HitAggregator::KeyOf(const IpAddress& a) const {
  if (a.family == Family::kIPv6 && options_.per_ipv6_64) {
    return Key{a.family, 64, absl::MakeUint128(absl::Uint128High64(a.value), 0)};
  }
  return Key{a.family, static_cast<uint8_t>(a.bits()), a.value};
}

std::string HitAggregator::SourceText(const Key& k) const {
  std::string text = IpAddress{k.family, k.value}.ToString();
  if (k.prefix_len != (k.family == Family::kIPv4 ? 32 : 128)) {
    absl::StrAppend(&text, "/", k.prefix_len);
  }
  return text;
}

void HitAggregator::Prune(Source& s, int64_t now_us) const {
  const int64_t horizon = now_us - window_us_;  // hits at or before it are out
  auto keep = std::find_if(s.buckets.begin(), s.buckets.end(), [&](const Bucket& b) {
    return (b.index + 1) * bucket_us_ > horizon + 1;
  });
  s.buckets.erase(s.buckets.begin(), keep);
  if (s.buckets.empty()) s.ports.clear();
}

void HitAggregator::ForgetIdle(int64_t now_us) {
  const int64_t keep_for = std::max(window_us_, quiet_us_);
  while (!sources_.empty() && sources_.front().last_us + keep_for <= now_us) {
    index_.erase(sources_.front().key);
    sources_.pop_front();
  }
}

void HitAggregator::AddToSource(Source& s, int64_t t_us, int64_t now_us, const Hit& hit) {
  if (s.reported && t_us > s.last_us && t_us - s.last_us >= quiet_us_) s.reported = false;
  Prune(s, now_us);
  const int64_t index = FloorDiv(t_us, bucket_us_);
  auto it = std::lower_bound(s.buckets.begin(), s.buckets.end(), index,
                             [](const Bucket& b, int64_t i) { return b.index < i; });
  if (it != s.buckets.end() && it->index == index) {
    it->first_us = std::min(it->first_us, t_us);
    if (it->count < UINT32_MAX) ++it->count;
  } else {
    s.buckets.insert(it, Bucket{index, t_us, 1});
  }
  AddPort(s.ports, ProtoPort{hit.proto.substr(0, kMaxProtoBytes), hit.dport});
  s.last_us = std::max(s.last_us, t_us);
}

std::optional<BruteForceFinding> HitAggregator::Add(const Hit& hit) {
  ++stats_.hits;
  const int64_t t_us = ClampMicros(absl::ToUnixMicros(hit.time));
  if (newest_us_ != INT64_MIN && t_us <= newest_us_ - window_us_) {
    ++stats_.too_old;
    return std::nullopt;
  }
  newest_us_ = std::max(newest_us_, t_us);
  ForgetIdle(newest_us_);
  const Key key = KeyOf(hit.src);
  auto found = index_.find(key);
  SourceList::iterator it;
  if (found == index_.end()) {
    while (sources_.size() >= options_.max_sources) {
      index_.erase(sources_.front().key);
      sources_.pop_front();
      ++stats_.evicted;
    }
    Source fresh;
    fresh.key = key;
    fresh.last_us = t_us;
    sources_.push_back(std::move(fresh));
    it = std::prev(sources_.end());
    index_.emplace(key, it);
  } else {
    it = found->second;
    sources_.splice(sources_.end(), sources_, it);
  }
  Source& s = *it;
  AddToSource(s, t_us, newest_us_, hit);
  if (s.reported) return std::nullopt;
  uint64_t count = 0;
  for (const Bucket& b : s.buckets) count += b.count;
  if (count < options_.threshold) return std::nullopt;
  s.reported = true;
  ++stats_.findings;
  BruteForceFinding f;
  f.rule = options_.rule;
  f.source = SourceText(s.key);
  f.hits_in_window = count;
  f.first_seen = absl::FromUnixMicros(s.buckets.front().first_us);
  f.last_seen = absl::FromUnixMicros(s.last_us);
  f.ports = s.ports;
  return f;
}

AggregatorStats HitAggregator::stats() const {
  AggregatorStats s = stats_;
  s.tracked = sources_.size();
  return s;
}

void HitAggregator::Clear() {
  sources_.clear();
  index_.clear();
  newest_us_ = INT64_MIN;
  stats_ = AggregatorStats{};
}

std::string HitAggregator::SerializeState() const {
  Writer w;
  w.Bytes(absl::string_view(kMagic, sizeof(kMagic)));
  w.U32(kStateVersion);
  const absl::string_view rule = absl::string_view(options_.rule).substr(0, kMaxRuleNameBytes);
  w.U32(static_cast<uint32_t>(rule.size()));
  w.Bytes(rule);
  w.I64(window_us_);
  w.I64(newest_us_);
  w.U64(stats_.hits);
  w.U64(stats_.findings);
  w.U64(stats_.evicted);
  w.U64(stats_.too_old);
  w.U32(static_cast<uint32_t>(sources_.size()));
  for (const Source& s : sources_) {
    w.U8(static_cast<uint8_t>(s.key.family));
    w.U8(s.key.prefix_len);
    w.U64(absl::Uint128High64(s.key.value));
    w.U64(absl::Uint128Low64(s.key.value));
    w.I64(s.last_us);
    w.U8(s.reported ? 1 : 0);
    w.U16(static_cast<uint16_t>(s.buckets.size()));
    for (const Bucket& b : s.buckets) {
      w.I64(b.first_us);
      w.U32(b.count);
    }
    w.U8(static_cast<uint8_t>(s.ports.size()));
    for (const ProtoPort& p : s.ports) {
      w.U8(static_cast<uint8_t>(p.proto.size()));
      w.Bytes(p.proto);
      w.U8(p.port.has_value() ? 1 : 0);
      w.U16(p.port.value_or(0));
    }
  }
  return w.Take();
}

absl::Status HitAggregator::RestoreState(absl::string_view bytes) {
  Clear();
  auto fail = [&](const Reader& r, absl::string_view what) {
    Clear();
    return absl::InvalidArgumentError(absl::StrCat("aggregator state of rule '", options_.rule,
                                                   "': ", what, " at byte ", r.pos()));
  };
  if (bytes.size() > kMaxAggregatorStateBytes) {
    return absl::InvalidArgumentError(absl::StrCat("aggregator state of rule '", options_.rule,
                                                   "': ", bytes.size(),
                                                   " bytes is more than the limit"));
  }
  Reader r(bytes);
  absl::string_view magic;
  if (!r.Bytes(sizeof(kMagic), &magic) || magic != absl::string_view(kMagic, sizeof(kMagic))) {
    return fail(r, "not an aggregator state (bad magic)");
  }
  uint32_t version = 0;
  if (!r.U32(&version)) return fail(r, "truncated");
  if (version != kStateVersion) {
    return fail(r, absl::StrCat("version ", version, " is not ", kStateVersion));
  }
  uint32_t rule_len = 0;
  absl::string_view rule;
  if (!r.U32(&rule_len) || rule_len > kMaxRuleNameBytes || !r.Bytes(rule_len, &rule)) {
    return fail(r, "truncated or overlong rule name");
  }
  if (rule != absl::string_view(options_.rule).substr(0, kMaxRuleNameBytes)) {
    return fail(r, absl::StrCat("written for rule '", rule, "'"));
  }
  int64_t old_window = 0, newest = 0;
  AggregatorStats stats;
  uint32_t n = 0;
  if (!r.I64(&old_window) || !r.I64(&newest) || !r.U64(&stats.hits) || !r.U64(&stats.findings) ||
      !r.U64(&stats.evicted) || !r.U64(&stats.too_old) || !r.U32(&n)) {
    return fail(r, "truncated");
  }
  if (newest != INT64_MIN && (newest < -kMaxAbsMicros || newest > kMaxAbsMicros)) {
    return fail(r, "newest time out of range");
  }
  if (n > kMaxStateSources) return fail(r, "too many sources");
  newest_us_ = newest;
  stats_ = stats;
  for (uint32_t i = 0; i < n; ++i) {
    Source s;
    uint8_t family = 0, reported = 0, nports = 0;
    uint64_t hi = 0, lo = 0;
    uint16_t nbuckets = 0;
    if (!r.U8(&family) || !r.U8(&s.key.prefix_len) || !r.U64(&hi) || !r.U64(&lo) ||
        !r.I64(&s.last_us) || !r.U8(&reported) || !r.U16(&nbuckets)) {
      return fail(r, "truncated");
    }
    s.key.value = absl::MakeUint128(hi, lo);
    if (family == 4) {
      s.key.family = Family::kIPv4;
      if (s.key.prefix_len != 32 || hi != 0 || lo > 0xffffffffu) return fail(r, "bad IPv4 source");
    } else if (family == 6) {
      s.key.family = Family::kIPv6;
      if (s.key.prefix_len != 128 && !(s.key.prefix_len == 64 && lo == 0)) {
        return fail(r, "bad IPv6 source");
      }
    } else {
      return fail(r, "bad address family");
    }
    if (reported > 1) return fail(r, "bad reported flag");
    s.reported = reported == 1;
    if (s.last_us < -kMaxAbsMicros || s.last_us > kMaxAbsMicros) return fail(r, "bad time");
    if (nbuckets > kMaxStateBuckets) return fail(r, "too many buckets");
    for (uint16_t b = 0; b < nbuckets; ++b) {
      int64_t first = 0;
      uint32_t count = 0;
      if (!r.I64(&first) || !r.U32(&count)) return fail(r, "truncated");
      if (first < -kMaxAbsMicros || first > kMaxAbsMicros || count == 0) {
        return fail(r, "bad bucket");
      }
      // Re-bucketed for this window (the same buckets when it is unchanged).
      const int64_t index = FloorDiv(first, bucket_us_);
      auto it = std::lower_bound(s.buckets.begin(), s.buckets.end(), index,
                                 [](const Bucket& x, int64_t v) { return x.index < v; });
      if (it != s.buckets.end() && it->index == index) {
        it->first_us = std::min(it->first_us, first);
        it->count =
            static_cast<uint32_t>(std::min<uint64_t>(uint64_t{it->count} + count, UINT32_MAX));
      } else {
        s.buckets.insert(it, Bucket{index, first, count});
      }
    }
    if (!r.U8(&nports) || nports > kMaxPortsPerSource) return fail(r, "bad port count");
    for (uint8_t p = 0; p < nports; ++p) {
      uint8_t len = 0, has_port = 0;
      uint16_t port = 0;
      absl::string_view proto;
      if (!r.U8(&len) || len > kMaxProtoBytes || !r.Bytes(len, &proto) || !r.U8(&has_port) ||
          has_port > 1 || !r.U16(&port)) {
        return fail(r, "bad port entry");
      }
      if (has_port == 0 && port != 0) return fail(r, "bad port entry");
      AddPort(s.ports, ProtoPort{std::string(proto),
                                 has_port ? std::optional<uint16_t>(port) : std::nullopt});
    }
    if (index_.contains(s.key)) return fail(r, "duplicate source");
    if (newest_us_ != INT64_MIN) Prune(s, newest_us_);
    while (sources_.size() >= options_.max_sources) {
      index_.erase(sources_.front().key);
      sources_.pop_front();
      ++stats_.evicted;
    }
    sources_.push_back(std::move(s));
    index_.emplace(sources_.back().key, std::prev(sources_.end()));
  }
  if (!r.done()) return fail(r, "trailing bytes");
  (void)old_window;
  return absl::OkStatus();
}

}  // namespace goalkeeper
