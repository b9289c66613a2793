// Counts one rule's hits per source address in a sliding window (by the
// lines' own timestamps) and emits a finding when a source crosses the
// threshold; the same source is reported again only after it was quiet
// (no hits) for the rule's quiet period and crosses the threshold again.
//
//   HitAggregator agg(AggregatorOptions::FromRule(rule.spec()));
//   if (std::optional<BruteForceFinding> f = agg.Add(HitFromLine(line))) Send(*f);
//   checkpoint.aggregator_state = agg.SerializeState();   // ... after a restart:
//   RETURN_IF_ERROR(agg.RestoreState(checkpoint.aggregator_state));
//
// Hits should come in time order; small disorder (lines of several files
// interleaved) is tolerated: a hit older than the newest one seen is counted
// when it is still inside the window of that newest hit, dropped (and
// counted as too_old) otherwise. Memory is bounded: each source keeps at most
// kWindowBuckets+2 counters (the window is cut into kWindowBuckets buckets, so
// a hit leaves the window up to window/kWindowBuckets late) and at most
// kMaxPortsPerSource (proto, port) pairs; at most max_sources sources are
// tracked, the least recently hit evicted first (counted). Sources idle for
// longer than both the window and the quiet period are forgotten (their
// state could no longer change anything).
//
// Thread-safety: not thread-safe; one aggregator per rule, used by one thread.
#ifndef GOALKEEPER_NODE_HIT_AGGREGATOR_H_
#define GOALKEEPER_NODE_HIT_AGGREGATOR_H_

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/ip_address.h"
#include "node/firewall_line.h"
#include "node/firewall_rule.h"

namespace goalkeeper {

inline constexpr int64_t kWindowBuckets = 256;
inline constexpr size_t kMaxPortsPerSource = 32;
inline constexpr size_t kDefaultMaxSources = 65536;
// Serialized states larger than this are refused.
inline constexpr size_t kMaxAggregatorStateBytes = 64 << 20;

// One matching line, as the aggregator needs it.
struct Hit {
  absl::Time time;
  IpAddress src;
  std::string proto;  // upper case: "UDP", "TCP", "ICMP"
  std::optional<uint16_t> dport;
};
Hit HitFromLine(const FirewallLine& line);

struct ProtoPort {
  std::string proto;
  std::optional<uint16_t> port;  // nullopt for ICMP and other port-less protocols
  friend auto operator<=>(const ProtoPort&, const ProtoPort&) = default;
};

// What is sent on (the node name is added by the agent).
struct BruteForceFinding {
  std::string rule;
  std::string source;  // "192.0.2.23", "2001:db8::23" or "2001:db8:1:2::/64"
  uint64_t hits_in_window = 0;
  absl::Time first_seen;         // first hit still in the window
  absl::Time last_seen;          // newest hit of the source
  std::vector<ProtoPort> ports;  // sorted; at most kMaxPortsPerSource
  friend bool operator==(const BruteForceFinding&, const BruteForceFinding&) = default;
};

struct AggregatorOptions {
  std::string rule;
  absl::Duration window = absl::Minutes(10);
  uint32_t threshold = 10;
  bool per_ipv6_64 = false;
  absl::Duration quiet = absl::Hours(1);
  size_t max_sources = kDefaultMaxSources;

  static AggregatorOptions FromRule(const FirewallRuleSpec& spec);
};

struct AggregatorStats {
  uint64_t hits = 0;
  uint64_t findings = 0;
  uint64_t evicted = 0;  // sources dropped because max_sources were tracked
  uint64_t too_old = 0;  // hits older than the window of the newest hit
  uint64_t tracked = 0;  // sources currently tracked
};

class HitAggregator {
 public:
  explicit HitAggregator(AggregatorOptions options);
  HitAggregator(const HitAggregator&) = delete;
  HitAggregator& operator=(const HitAggregator&) = delete;

  // Counts a hit; returns a finding when it makes its source cross the
  // threshold (see the header comment for when a source is reported again).
  std::optional<BruteForceFinding> Add(const Hit& hit);

  AggregatorStats stats() const;
  const AggregatorOptions& options() const { return options_; }

  // The whole state (sources, counters, newest time) as bytes: a versioned,
  // bounded binary format, for a checkpoint.
  std::string SerializeState() const;
  // Replaces the state with one from SerializeState. The options need not
  // be the same as when it was written: a state of another rule is refused,
  // a different window re-buckets the counts, extra sources are evicted.
  // Errors are InvalidArgument ("aggregator state: truncated at byte 17",
  // "... version 9 is not 1"); on error the aggregator is left empty.
  absl::Status RestoreState(absl::string_view bytes);

 private:
  struct Key {
    Family family;
    uint8_t prefix_len;
    absl::uint128 value;
    friend bool operator==(const Key&, const Key&) = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.family, k.prefix_len, absl::Uint128High64(k.value),
                        absl::Uint128Low64(k.value));
    }
  };
  struct Bucket {
    int64_t index;     // floor(first_us / bucket_us)
    int64_t first_us;  // earliest hit in the bucket
    uint32_t count;
  };
  struct Source {
    Key key;
    std::vector<Bucket> buckets;  // sorted by index
    int64_t last_us = 0;          // newest hit
    bool reported = false;
    std::vector<ProtoPort> ports;  // sorted, since the window was last empty
  };
  using SourceList = std::list<Source>;  // least recently hit first

  Key KeyOf(const IpAddress& a) const;
  std::string SourceText(const Key& k) const;
  void Prune(Source& s, int64_t now_us) const;
  void ForgetIdle(int64_t now_us);
  void AddToSource(Source& s, int64_t t_us, int64_t now_us, const Hit& hit);
  void Clear();

  AggregatorOptions options_;
  int64_t window_us_;
  int64_t bucket_us_;
  int64_t quiet_us_;
  int64_t newest_us_ = INT64_MIN;
  AggregatorStats stats_;
  SourceList sources_;
  absl::flat_hash_map<Key, SourceList::iterator, absl::Hash<Key>> index_;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_NODE_HIT_AGGREGATOR_H_
