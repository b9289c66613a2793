#include "node/hit_aggregator.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/node/fixture_util.h"

namespace goalkeeper {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1796087045);

Hit UdpHit(absl::Duration at, absl::string_view src, uint16_t dport = 69) {
  return Hit{kT0 + at, *IpAddress::Parse(src), "UDP", dport};
}

AggregatorOptions Options(uint32_t threshold = 3) {
  AggregatorOptions o;
  o.rule = "tftp";
  o.window = absl::Minutes(10);
  o.threshold = threshold;
  o.quiet = absl::Hours(1);
  return o;
}

TEST(HitAggregatorTest, ReportsWhenASourceCrossesTheThreshold) {
  HitAggregator agg(Options(3));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(0), "192.0.2.23")));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(1), "192.0.2.24")));  // another source
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(30), "192.0.2.23", 1069)));
  std::optional<BruteForceFinding> f = agg.Add(UdpHit(absl::Seconds(60), "192.0.2.23"));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->rule, "tftp");
  EXPECT_EQ(f->source, "192.0.2.23");
  EXPECT_EQ(f->hits_in_window, 3u);
  EXPECT_EQ(f->first_seen, kT0);
  EXPECT_EQ(f->last_seen, kT0 + absl::Seconds(60));
  EXPECT_EQ(f->ports, (std::vector<ProtoPort>{{"UDP", 69}, {"UDP", 1069}}));
  // Further hits of the same burst are not reported again.
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(61), "192.0.2.23")));
  EXPECT_EQ(agg.stats().findings, 1u);
  EXPECT_EQ(agg.stats().hits, 5u);
  EXPECT_EQ(agg.stats().tracked, 2u);
}

TEST(HitAggregatorTest, HitsOutsideTheWindowDoNotCount) {
  HitAggregator agg(Options(3));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Minutes(0), "192.0.2.23")));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Minutes(6), "192.0.2.23")));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Minutes(12), "192.0.2.23")));  // the first has left
  std::optional<BruteForceFinding> f = agg.Add(UdpHit(absl::Minutes(13), "192.0.2.23"));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->hits_in_window, 3u);
  EXPECT_EQ(f->first_seen, kT0 + absl::Minutes(6));
}

TEST(HitAggregatorTest, ReportsAgainOnlyAfterTheQuietPeriod) {
  HitAggregator agg(Options(2));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Minutes(0), "192.0.2.23")));
  EXPECT_TRUE(agg.Add(UdpHit(absl::Minutes(1), "192.0.2.23")));
  // A steady attack with gaps shorter than the quiet hour: one finding only.
  for (int m = 20; m <= 200; m += 20) {
    EXPECT_FALSE(agg.Add(UdpHit(absl::Minutes(m), "192.0.2.23"))) << m;
  }
  // Quiet for an hour, then over the threshold again: a second finding.
  EXPECT_FALSE(agg.Add(UdpHit(absl::Minutes(261), "192.0.2.23")));
  std::optional<BruteForceFinding> again = agg.Add(UdpHit(absl::Minutes(262), "192.0.2.23"));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->first_seen, kT0 + absl::Minutes(261));
  EXPECT_EQ(agg.stats().findings, 2u);
}

TEST(HitAggregatorTest, CountsIpv6SourcesPerSlash64WhenAsked) {
  AggregatorOptions o = Options(3);
  o.per_ipv6_64 = true;
  HitAggregator agg(o);
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(0), "2001:db8:1:2::1")));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(1), "2001:db8:1:2:aaaa::2")));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(2), "2001:db8:1:3::1")));  // another /64
  std::optional<BruteForceFinding> f = agg.Add(UdpHit(absl::Seconds(3), "2001:db8:1:2:ffff::3"));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->source, "2001:db8:1:2::/64");
  // IPv4 sources stay per address.
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(4), "192.0.2.1")));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(5), "192.0.2.2")));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(6), "192.0.2.3")));

  HitAggregator per_address(Options(3));
  EXPECT_FALSE(per_address.Add(UdpHit(absl::Seconds(0), "2001:db8:1:2::1")));
  EXPECT_FALSE(per_address.Add(UdpHit(absl::Seconds(1), "2001:db8:1:2::2")));
  EXPECT_FALSE(per_address.Add(UdpHit(absl::Seconds(2), "2001:db8:1:2::3")));
}

TEST(HitAggregatorTest, ToleratesSmallDisorderAndDropsHitsOlderThanTheWindow) {
  HitAggregator agg(Options(3));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(100), "192.0.2.23")));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(90), "192.0.2.23")));    // a little earlier
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(-600), "192.0.2.23")));  // out of the window
  EXPECT_EQ(agg.stats().too_old, 1u);
  std::optional<BruteForceFinding> f = agg.Add(UdpHit(absl::Seconds(95), "192.0.2.23"));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->first_seen, kT0 + absl::Seconds(90));
  EXPECT_EQ(f->last_seen, kT0 + absl::Seconds(100));
}

TEST(HitAggregatorTest, BoundsTrackedSourcesByEvictingTheLeastRecent) {
  AggregatorOptions o = Options(2);
  o.max_sources = 3;
  HitAggregator agg(o);
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(0), "192.0.2.1")));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(1), "192.0.2.2")));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(2), "192.0.2.3")));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(3), "192.0.2.4")));  // evicts .1
  EXPECT_EQ(agg.stats().evicted, 1u);
  EXPECT_EQ(agg.stats().tracked, 3u);
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(4), "192.0.2.1")));  // starts over, evicts .2
  EXPECT_TRUE(agg.Add(UdpHit(absl::Seconds(5), "192.0.2.3")));   // .3 was kept
  EXPECT_EQ(agg.stats().evicted, 2u);
}

TEST(HitAggregatorTest, ForgetsSourcesIdleLongerThanWindowAndQuiet) {
  HitAggregator agg(Options(2));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Minutes(0), "192.0.2.1")));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Minutes(1), "192.0.2.2")));
  EXPECT_EQ(agg.stats().tracked, 2u);
  EXPECT_FALSE(agg.Add(UdpHit(absl::Minutes(90), "192.0.2.3")));
  EXPECT_EQ(agg.stats().tracked, 1u);
  EXPECT_EQ(agg.stats().evicted, 0u);
}

TEST(HitAggregatorTest, StateRoundTripsThroughBytes) {
  AggregatorOptions o = Options(3);
  o.per_ipv6_64 = true;
  HitAggregator agg(o);
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(0), "192.0.2.23")));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(5), "192.0.2.23", 1069)));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(6), "2001:db8::1")));
  EXPECT_FALSE(
      agg.Add(Hit{kT0 + absl::Seconds(7), *IpAddress::Parse("203.0.113.9"), "ICMP", std::nullopt}));
  EXPECT_TRUE(agg.Add(UdpHit(absl::Seconds(8), "2001:db8::2")) == std::nullopt);
  const std::string bytes = agg.SerializeState();

  HitAggregator restored(o);
  ASSERT_TRUE(restored.RestoreState(bytes).ok());
  EXPECT_EQ(restored.SerializeState(), bytes);
  EXPECT_EQ(restored.stats().tracked, 3u);
  EXPECT_EQ(restored.stats().hits, 5u);
  // The restored aggregator continues where the first one was: one hit more
  // makes both cross the threshold with the same finding.
  std::optional<BruteForceFinding> a = agg.Add(UdpHit(absl::Seconds(9), "192.0.2.23"));
  std::optional<BruteForceFinding> b = restored.Add(UdpHit(absl::Seconds(9), "192.0.2.23"));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a, b);
  EXPECT_EQ(b->ports, (std::vector<ProtoPort>{{"UDP", 69}, {"UDP", 1069}}));
  // An already reported source stays reported across the restart.
  const std::string after = restored.SerializeState();
  HitAggregator again(o);
  ASSERT_TRUE(again.RestoreState(after).ok());
  EXPECT_FALSE(again.Add(UdpHit(absl::Seconds(10), "192.0.2.23")));
  EXPECT_TRUE(again.Add(UdpHit(absl::Seconds(10), "2001:db8::3")));  // third hit of the /64
}

TEST(HitAggregatorTest, RefusesForeignTruncatedAndNewerStates) {
  HitAggregator agg(Options());
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(0), "192.0.2.23")));
  const std::string bytes = agg.SerializeState();

  AggregatorOptions other = Options();
  other.rule = "ssh";
  HitAggregator ssh(other);
  absl::Status s = ssh.RestoreState(bytes);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("written for rule 'tftp'"), std::string::npos) << s;

  HitAggregator tftp(Options());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(tftp.RestoreState(bytes.substr(0, n)).ok()) << n;
    EXPECT_EQ(tftp.stats().tracked, 0u);
  }
  std::string newer = bytes;
  newer[4] = 2;
  s = tftp.RestoreState(newer);
  EXPECT_NE(s.message().find("version 2 is not 1"), std::string::npos) << s;
  EXPECT_FALSE(tftp.RestoreState(bytes + "x").ok());
  EXPECT_TRUE(tftp.RestoreState(bytes).ok());
  EXPECT_FALSE(tftp.RestoreState("").ok());
}

TEST(HitAggregatorTest, RestoreIntoAnotherWindowRebucketsAndPrunes) {
  HitAggregator agg(Options(3));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Minutes(0), "192.0.2.23")));
  EXPECT_FALSE(agg.Add(UdpHit(absl::Minutes(8), "192.0.2.23")));
  AggregatorOptions shorter = Options(2);
  shorter.window = absl::Minutes(5);
  HitAggregator restored(shorter);
  ASSERT_TRUE(restored.RestoreState(agg.SerializeState()).ok());
  // Only the minute-8 hit is within 5 minutes of the newest: one more is 2.
  std::optional<BruteForceFinding> f = restored.Add(UdpHit(absl::Minutes(9), "192.0.2.23"));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->hits_in_window, 2u);
  EXPECT_EQ(f->first_seen, kT0 + absl::Minutes(8));
}

TEST(HitAggregatorTest, HitFromLineUpperCasesTheProtocol) {
  FirewallLine line;
  line.time = kT0;
  line.src = *IpAddress::Parse("192.0.2.1");
  line.proto = "udp";
  line.dpt = 69;
  const Hit h = HitFromLine(line);
  EXPECT_EQ(h.proto, "UDP");
  EXPECT_EQ(h.dport, 69);
  EXPECT_EQ(h.time, kT0);
}

}  // namespace
}  // namespace goalkeeper

namespace goalkeeper {
namespace {

// A version-1 state written by hand from the format's description: the
// format stays readable (and is written byte for byte the same) across
// releases, or the version number changes.
TEST(HitAggregatorTest, ReadsAndWritesTheVersion1FormatByteForByte) {
  const std::string bytes = FixtureText("aggregator_state_v1.bin");
  ASSERT_FALSE(bytes.empty());
  AggregatorOptions o;
  o.rule = "fuzz";
  o.window = absl::Minutes(10);
  o.threshold = 3;
  o.per_ipv6_64 = true;
  HitAggregator agg(o);
  ASSERT_TRUE(agg.RestoreState(bytes).ok());
  EXPECT_EQ(agg.SerializeState(), bytes);
  EXPECT_EQ(agg.stats().tracked, 2u);
  EXPECT_EQ(agg.stats().hits, 5u);
  EXPECT_EQ(agg.stats().findings, 1u);
  // 192.0.2.23 was reported; the /64 had 2 hits and crosses with a third.
  EXPECT_FALSE(agg.Add(UdpHit(absl::Seconds(1), "192.0.2.23")));
  std::optional<BruteForceFinding> f = agg.Add(UdpHit(absl::Seconds(1), "2001:db8::77"));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->source, "2001:db8::/64");
  EXPECT_EQ(f->hits_in_window, 3u);
  EXPECT_EQ(f->first_seen, kT0);
}

}  // namespace
}  // namespace goalkeeper
