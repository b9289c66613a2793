// Runs each loopback responder (tests/probes/responders/udp_responders.py)
// on 127.0.0.1, sends it the probe's real request and feeds its real answers
// to the probe's parser: they must match with the service's evidence.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "probes/udp_probe.h"
#include "tests/testing/subprocess.h"

namespace goalkeeper::probes {
namespace {

struct Case {
  const char* service;  // the responder's --service
  const char* probe;
};

class UdpResponderTest : public ::testing::TestWithParam<Case> {};

TEST_P(UdpResponderTest, AnswerParsesAsTheService) {
  const Case c = GetParam();
  auto p = testing::Subprocess::Start({"/usr/bin/python3", GOALKEEPER_UDP_RESPONDERS, "--bind",
                                       "127.0.0.1", "--service", c.service, "--port", "0"});
  const std::string out = p.ReadStdoutUntil("\n", std::chrono::seconds(20));
  const size_t at = out.find("ready port=");
  ASSERT_NE(at, std::string::npos) << out << p.err_so_far();
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(out.substr(at + 11)), &port)) << out;
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const UdpProbe* probe = UdpProbeByName(c.probe);
  ASSERT_NE(probe, nullptr);
  const uint16_t txid = 0x6b2d;
  const std::string req = probe->Request(txid, {});
  ASSERT_EQ(send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  Evidence ev;
  UdpMatch m = UdpMatch::kNotOurs;
  int datagrams = 0;
  while (m != UdpMatch::kDone) {
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, datagrams == 0 ? 20000 : 1000) <= 0) break;  // kMore: until quiet
    char buf[65536];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    ASSERT_GT(n, 0);
    ++datagrams;
    m = probe->Parse(std::string(buf, static_cast<size_t>(n)), txid, &ev);
    ASSERT_NE(m, UdpMatch::kNotOurs) << c.service << " datagram " << datagrams;
  }
  close(fd);
  p.Signal(SIGTERM);
  p.Wait(std::chrono::seconds(10));
  EXPECT_GE(datagrams, 1);
  EXPECT_TRUE(ev.verified) << c.service;
  EXPECT_EQ(ev.service, probe->service());
  EXPECT_FALSE(Describe(ev).empty());
}

INSTANTIATE_TEST_SUITE_P(Responders, UdpResponderTest,
                         ::testing::Values(Case{"ssdp", "ssdp"}, Case{"ntp-monlist", "ntp"},
                                           Case{"ntp-monlist", "ntp-version"},
                                           Case{"ubiquiti", "ubiquiti"}, Case{"mssql", "mssql"},
                                           Case{"netbios", "netbios"}, Case{"mdns", "mdns"},
                                           Case{"cldap", "cldap"}),
                         [](const auto& param_info) {
                           std::string n = absl::StrReplaceAll(param_info.param.probe, {{"-", "_"}});
                           return n;
                         });

}  // namespace
}  // namespace goalkeeper::probes
