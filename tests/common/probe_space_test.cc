#include "common/probe_space.h"

#include <set>

#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

TEST(ProbeSpaceTest, CoversEveryAddressPortPairOnce) {
  auto targets = TargetSet::Parse({"127.0.0.0/30", "::1"}, {});
  auto ports = PortSet::Parse("22,80,443");
  ASSERT_TRUE(targets.ok() && ports.ok());
  auto space = ProbeSpace::Create(*targets, *ports, 5);
  ASSERT_TRUE(space.ok());
  ASSERT_EQ(space->size(), 15u);
  std::set<std::string> seen;
  for (uint64_t i = 0; i < space->size(); ++i) {
    ProbeTarget t = space->At(i);
    seen.insert(t.address.ToString() + "/" + std::to_string(t.port));
  }
  EXPECT_EQ(seen.size(), 15u);
  EXPECT_TRUE(seen.count("::1/443"));
  EXPECT_TRUE(seen.count("127.0.0.3/22"));
}

TEST(ProbeSpaceTest, IndexOfInvertsAtAndRefusesPairsOutsideTheSpace) {
  auto targets = TargetSet::Parse({"127.0.0.0/30", "127.0.1.7", "::1"}, {"127.0.0.2"});
  auto ports = PortSet::Parse("22,80,443");
  ASSERT_TRUE(targets.ok() && ports.ok());
  auto space = ProbeSpace::Create(*targets, *ports, 9);
  ASSERT_TRUE(space.ok());
  for (uint64_t i = 0; i < space->size(); ++i) {
    EXPECT_EQ(space->IndexOf(space->At(i)), i);
  }
  EXPECT_EQ(space->IndexOf({*IpAddress::Parse("127.0.0.2"), 22}), std::nullopt);  // excluded
  EXPECT_EQ(space->IndexOf({*IpAddress::Parse("127.0.0.1"), 23}), std::nullopt);
  EXPECT_EQ(space->IndexOf({*IpAddress::Parse("::2"), 22}), std::nullopt);
}

TEST(ProbeSpaceTest, SameSeedSameOrder) {
  auto targets = TargetSet::Parse({"10.0.0.0/16"}, {});
  auto ports = PortSet::Parse("admin");
  auto a = ProbeSpace::Create(*targets, *ports, 11);
  auto b = ProbeSpace::Create(*targets, *ports, 11);
  auto c = ProbeSpace::Create(*targets, *ports, 12);
  int differ = 0;
  for (uint64_t i = 0; i < 100; ++i) {
    EXPECT_EQ(a->At(i).address, b->At(i).address);
    EXPECT_EQ(a->At(i).port, b->At(i).port);
    if (!(a->At(i).address == c->At(i).address) || a->At(i).port != c->At(i).port) ++differ;
  }
  EXPECT_GT(differ, 90);
}

TEST(ProbeSpaceTest, RefusesMoreThanTwoToTheSixtyThreePairs) {
  auto targets = TargetSet::Parse({"2001:db8::/64"}, {});
  auto ports = PortSet::Parse("1-2");
  ASSERT_TRUE(targets.ok() && ports.ok());
  EXPECT_EQ(ProbeSpace::CountPairs(*targets, *ports), absl::uint128(1) << 65);
  auto space = ProbeSpace::Create(*targets, *ports, 1);
  EXPECT_EQ(space.status().code(), absl::StatusCode::kOutOfRange);
}

TEST(ProbeSpaceTest, NumbersTcpAndUdpPairsTogetherEachOnce) {
  auto targets = TargetSet::Parse({"127.0.0.0/30", "::1"}, {});
  auto ports = PortSet::Parse("22,53,80");
  ASSERT_TRUE(targets.ok() && ports.ok());
  // Unsorted with a duplicate: the space keeps them sorted and unique.
  auto space = ProbeSpace::Create(*targets, *ports, 3, {161, 53, 161});
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_EQ(space->udp_ports(), (std::vector<uint16_t>{53, 161}));
  ASSERT_EQ(space->size(), 5u * (3 + 2));
  EXPECT_EQ(ProbeSpace::CountPairs(*targets, *ports, {161, 53, 161}), 25u);
  EXPECT_EQ(ProbeSpace::CountPairs(*targets, *ports), 15u);
  std::set<std::string> seen;
  for (uint64_t i = 0; i < space->size(); ++i) {
    ProbeTarget t = space->At(i);
    seen.insert(t.address.ToString() + ":" + std::to_string(t.port) + "/" +
                (t.transport == probes::Transport::kUdp ? "udp" : "tcp"));
    EXPECT_EQ(space->IndexOf(t), i);
  }
  EXPECT_EQ(seen.size(), 25u);
  EXPECT_TRUE(seen.count("127.0.0.2:53/tcp"));
  EXPECT_TRUE(seen.count("127.0.0.2:53/udp"));
  EXPECT_TRUE(seen.count("::1:161/udp"));
  EXPECT_FALSE(seen.count("::1:161/tcp"));
  EXPECT_FALSE(seen.count("::1:22/udp"));
  const IpAddress a = *IpAddress::Parse("127.0.0.1");
  EXPECT_EQ(space->IndexOf({a, 161, probes::Transport::kTcp}), std::nullopt);
  EXPECT_EQ(space->IndexOf({a, 22, probes::Transport::kUdp}), std::nullopt);
  EXPECT_NE(space->IndexOf({a, 161, probes::Transport::kUdp}), std::nullopt);
}

TEST(ProbeSpaceTest, WithoutUdpPortsTheOrderIsTheTcpOnlyOne) {
  auto targets = TargetSet::Parse({"127.0.0.0/28"}, {});
  auto ports = PortSet::Parse("22,80,443");
  auto a = ProbeSpace::Create(*targets, *ports, 21);
  auto b = ProbeSpace::Create(*targets, *ports, 21, {});
  ASSERT_TRUE(a.ok() && b.ok());
  for (uint64_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ(a->At(i).address, b->At(i).address);
    EXPECT_EQ(a->At(i).port, b->At(i).port);
    EXPECT_EQ(b->At(i).transport, probes::Transport::kTcp);
  }
}

TEST(ProbeSpaceTest, RefusesUdpPortZero) {
  auto targets = TargetSet::Parse({"127.0.0.1"}, {});
  auto ports = PortSet::Parse("22");
  auto space = ProbeSpace::Create(*targets, *ports, 1, {0, 53});
  ASSERT_FALSE(space.ok());
  EXPECT_EQ(space.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace goalkeeper
