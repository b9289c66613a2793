#include "node/proc_net.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/node/fixture_util.h"

namespace goalkeeper {
namespace {

std::vector<std::string> Keys(const std::vector<Listener>& ls) {
  std::vector<std::string> out;
  for (const Listener& l : ls) out.push_back(l.ToString());
  return out;
}

TEST(ProcNetTest, ReadsTcpRowsInKernelByteOrder) {
  const ProcNetTable t = ParseProcNet(FixtureText("proc_net_tcp"), SocketProtocol::kTcp, false);
  EXPECT_EQ(t.malformed_lines, 0u);
  ASSERT_EQ(t.sockets.size(), 5u);
  EXPECT_EQ(t.sockets[0].local.ToString(), "0.0.0.0");
  EXPECT_EQ(t.sockets[0].local_port, 22);
  EXPECT_TRUE(t.sockets[0].listening());
  EXPECT_EQ(t.sockets[0].inode, 18311u);
  EXPECT_EQ(t.sockets[1].local.ToString(), "127.0.0.1");
  EXPECT_EQ(t.sockets[1].local_port, 3306);
  EXPECT_EQ(t.sockets[1].uid, 106u);
  EXPECT_EQ(t.sockets[2].local.ToString(), "10.0.0.10");
  EXPECT_EQ(t.sockets[2].local_port, 8080);
  EXPECT_EQ(t.sockets[3].remote.ToString(), "10.0.0.11");
  EXPECT_EQ(t.sockets[3].remote_port, 54321);
  EXPECT_EQ(t.sockets[3].state, 0x01);
  EXPECT_FALSE(t.sockets[3].listening());
  EXPECT_EQ(t.sockets[4].local.ToString(), "169.254.1.1");
}

TEST(ProcNetTest, ReadsTcp6WithV4MappedAddressesAsIpv4) {
  const ProcNetTable t = ParseProcNet(FixtureText("proc_net_tcp6"), SocketProtocol::kTcp, true);
  EXPECT_EQ(t.malformed_lines, 0u);
  ASSERT_EQ(t.sockets.size(), 5u);
  EXPECT_EQ(t.sockets[0].local.ToString(), "::");
  EXPECT_EQ(t.sockets[0].local.family, Family::kIPv6);
  EXPECT_EQ(t.sockets[1].local.ToString(), "::1");
  EXPECT_EQ(t.sockets[1].local_port, 631);
  EXPECT_EQ(t.sockets[2].local.family, Family::kIPv4);
  EXPECT_EQ(t.sockets[2].local.ToString(), "10.0.0.10");
  EXPECT_EQ(t.sockets[2].local_port, 8081);
  EXPECT_EQ(t.sockets[3].local.ToString(), "2001:db8::1");
  EXPECT_EQ(t.sockets[3].local_port, 80);
  EXPECT_EQ(t.sockets[4].local.ToString(), "fe80::5254:ff:fe12:3456");
}

TEST(ProcNetTest, UdpListeningMeansUnconnected) {
  const ProcNetTable t = ParseProcNet(FixtureText("proc_net_udp"), SocketProtocol::kUdp, false);
  ASSERT_EQ(t.sockets.size(), 3u);
  EXPECT_TRUE(t.sockets[0].listening());
  EXPECT_EQ(t.sockets[0].local_port, 69);
  EXPECT_TRUE(t.sockets[1].listening());
  EXPECT_EQ(t.sockets[1].local.ToString(), "127.0.0.53");
  EXPECT_FALSE(t.sockets[2].listening());  // connected to 8.8.8.8:53
  const ProcNetTable t6 = ParseProcNet(FixtureText("proc_net_udp6"), SocketProtocol::kUdp, true);
  ASSERT_EQ(t6.sockets.size(), 2u);
  EXPECT_EQ(t6.sockets[0].local_port, 5353);
  EXPECT_EQ(t6.sockets[1].local.ToString(), "127.0.0.1");
}

TEST(ProcNetTest, CountsMalformedRowsAndNeverFails) {
  const ProcNetTable t = ParseProcNet(
      "  sl  local_address rem_address   st\n"
      "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1\n"
      "   1: 0000000G:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1\n"
      "   2: 00000000:10016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1\n"
      "   3: 00000000:0016\n"
      "\n"
      "   4: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0",
      SocketProtocol::kTcp, false);
  EXPECT_EQ(t.sockets.size(), 1u);
  EXPECT_EQ(t.malformed_lines, 4u);
  // An IPv6 table read as IPv4 is all malformed.
  EXPECT_EQ(ParseProcNet(FixtureText("proc_net_tcp6"), SocketProtocol::kTcp, false).sockets.size(),
            0u);
}

TEST(ListenerPolicyTest, ReportsWildcardAndPublicListenersOfPortsNotAllowed) {
  std::vector<ProcNetSocket> all;
  for (const char* f : {"proc_net_tcp", "proc_net_tcp6"}) {
    const ProcNetTable t =
        ParseProcNet(FixtureText(f), SocketProtocol::kTcp, std::string(f).back() == '6');
    all.insert(all.end(), t.sockets.begin(), t.sockets.end());
  }
  for (const char* f : {"proc_net_udp", "proc_net_udp6"}) {
    const ProcNetTable t =
        ParseProcNet(FixtureText(f), SocketProtocol::kUdp, std::string(f).back() == '6');
    all.insert(all.end(), t.sockets.begin(), t.sockets.end());
  }
  ListenerPolicy policy;
  EXPECT_EQ(Keys(ReportableListeners(all, policy)),
            (std::vector<std::string>{"tcp 0.0.0.0:22", "tcp 10.0.0.10:8080", "tcp 10.0.0.10:8081",
                                      "tcp [::]:22", "tcp [2001:db8::1]:80"}));
  policy.allowed_ports = {22};
  policy.exclude_ports = {8080, 8081};
  policy.udp = true;
  EXPECT_EQ(Keys(ReportableListeners(all, policy)),
            (std::vector<std::string>{"tcp [2001:db8::1]:80", "udp 0.0.0.0:69", "udp [::]:5353"}));
  policy.tcp = false;
  EXPECT_EQ(Keys(ReportableListeners(all, policy)),
            (std::vector<std::string>{"udp 0.0.0.0:69", "udp [::]:5353"}));
}

TEST(ListenerPolicyTest, WildcardOrPublic) {
  EXPECT_TRUE(IsWildcardOrPublic(*IpAddress::Parse("0.0.0.0")));
  EXPECT_TRUE(IsWildcardOrPublic(*IpAddress::Parse("::")));
  EXPECT_TRUE(IsWildcardOrPublic(*IpAddress::Parse("192.0.2.1")));
  EXPECT_TRUE(IsWildcardOrPublic(*IpAddress::Parse("2001:db8::1")));
  EXPECT_FALSE(IsWildcardOrPublic(*IpAddress::Parse("127.1.2.3")));
  EXPECT_FALSE(IsWildcardOrPublic(*IpAddress::Parse("::1")));
  EXPECT_FALSE(IsWildcardOrPublic(*IpAddress::Parse("169.254.0.1")));
  EXPECT_FALSE(IsWildcardOrPublic(*IpAddress::Parse("fe80::1")));
  EXPECT_FALSE(IsWildcardOrPublic(*IpAddress::Parse("febf::1")));
  EXPECT_TRUE(IsWildcardOrPublic(*IpAddress::Parse("fec0::1")));
}

TEST(ListenerDiffTest, YieldsAppearedAndGoneByKey) {
  auto l = [](SocketProtocol p, const char* a, uint16_t port, uint64_t inode) {
    return Listener{p, *IpAddress::Parse(a), port, 0, inode};
  };
  const std::vector<Listener> before = {l(SocketProtocol::kTcp, "0.0.0.0", 22, 1),
                                        l(SocketProtocol::kTcp, "0.0.0.0", 8080, 2),
                                        l(SocketProtocol::kUdp, "0.0.0.0", 69, 3)};
  // sshd restarted (new inode: same key), 8080 gone, 9090 appeared, tcp 69 is not udp 69.
  const std::vector<Listener> after = {
      l(SocketProtocol::kTcp, "0.0.0.0", 9090, 5), l(SocketProtocol::kTcp, "0.0.0.0", 22, 4),
      l(SocketProtocol::kUdp, "0.0.0.0", 69, 3), l(SocketProtocol::kTcp, "0.0.0.0", 69, 6)};
  const ListenerDiff d = DiffListeners(before, after);
  EXPECT_EQ(Keys(d.appeared), (std::vector<std::string>{"tcp 0.0.0.0:69", "tcp 0.0.0.0:9090"}));
  EXPECT_EQ(Keys(d.gone), (std::vector<std::string>{"tcp 0.0.0.0:8080"}));
  const ListenerDiff first = DiffListeners({}, before);
  EXPECT_EQ(first.appeared.size(), 3u);
  EXPECT_TRUE(first.gone.empty());
  EXPECT_TRUE(DiffListeners(before, before).appeared.empty());
}

}  // namespace
}  // namespace goalkeeper
