#include "engine/result_writer.h"

#include <cstdio>

#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

ProbeResult Result(const char* ip, uint16_t port, ProbeState s, uint32_t rtt) {
  ProbeResult r;
  r.address = *IpAddress::Parse(ip);
  r.port = port;
  r.state = s;
  r.rtt_us = rtt;
  return r;
}

ProbeResult Probed(const char* ip, uint16_t port, probes::Evidence ev, std::string probe,
                   probes::Transport t = probes::Transport::kTcp) {
  ProbeResult r = Result(ip, port, ProbeState::kOpen, 123);
  r.transport = t;
  r.probe = std::move(probe);
  r.evidence = std::make_shared<const probes::Evidence>(std::move(ev));
  return r;
}

TEST(ResultWriterTest, FormatsJsonLines) {
  std::string out;
  FormatResult(Result("127.0.0.5", 80, ProbeState::kOpen, 123), OutputFormat::kJsonl, out);
  FormatResult(Result("::1", 22, ProbeState::kFiltered, 0), OutputFormat::kJsonl, out);
  EXPECT_EQ(out,
            "{\"ip\":\"127.0.0.5\",\"port\":80,\"state\":\"open\",\"rtt_us\":123,"
            "\"transport\":\"tcp\",\"service\":\"tcp/80\",\"verified\":false}\n"
            "{\"ip\":\"::1\",\"port\":22,\"state\":\"filtered\",\"rtt_us\":0,"
            "\"transport\":\"tcp\",\"service\":\"SSH\",\"verified\":false}\n");
}

TEST(ResultWriterTest, FormatsVerifiedEvidenceAsDesigned) {
  probes::Evidence ev;
  ev.service = "Redis";
  ev.verified = true;
  ev.version = "7.0.15";
  ev.auth = probes::Auth::kNotRequired;
  ev.request_bytes = 42;
  ev.response_bytes = 3900;
  ev.banner = "say \"hi\" \\ there";
  ev.facts = {"redis_mode=standalone"};
  const ProbeResult r = Probed("127.0.0.5", 6379, ev, "redis");
  std::string out;
  FormatResult(r, OutputFormat::kJsonl, out);
  EXPECT_EQ(out,
            "{\"ip\":\"127.0.0.5\",\"port\":6379,\"state\":\"open\",\"rtt_us\":123,"
            "\"transport\":\"tcp\",\"service\":\"Redis\",\"verified\":true,\"probe\":\"redis\","
            "\"evidence\":{\"version\":\"7.0.15\",\"auth\":\"not_required\",\"tls_offered\":false,"
            "\"request_bytes\":42,\"response_bytes\":3900,\"amplification\":0,"
            "\"banner\":\"say \\\"hi\\\" \\\\ there\",\"facts\":[\"redis_mode=standalone\"]},"
            "\"summary\":\"" +
                probes::Describe(ev) + "\"}\n");
  std::string text;
  FormatResult(r, OutputFormat::kText, text);
  EXPECT_EQ(text, "127.0.0.5:6379 open 0.123ms " + probes::Describe(ev) + "\n");
}

TEST(ResultWriterTest, UnverifiedEvidenceKeepsTheCatalogueNameAndSaysSo) {
  probes::Evidence ev;  // a probe ran; the answer was not its protocol
  ev.service = "";
  ev.response_bytes = 7;
  std::string out;
  FormatResult(Probed("127.0.0.5", 27017, ev, "mongodb"), OutputFormat::kJsonl, out);
  EXPECT_NE(out.find("\"service\":\"MongoDB\",\"verified\":false,\"probe\":\"mongodb\""),
            std::string::npos)
      << out;
  std::string text;
  FormatResult(Probed("127.0.0.5", 27017, ev, "mongodb"), OutputFormat::kText, text);
  EXPECT_NE(text.find("(unverified)"), std::string::npos) << text;
}

TEST(ResultWriterTest, UdpLinesSayUdpAndCarryAmplification) {
  probes::Evidence ev;
  ev.service = "DNS";
  ev.verified = true;
  ev.request_bytes = 40;
  ev.response_bytes = 1250;
  ev.amplification = 31.25;
  ev.facts = {"recursion=available"};
  std::string out;
  FormatResult(Probed("127.0.0.53", 53, ev, "dns", probes::Transport::kUdp), OutputFormat::kJsonl,
               out);
  EXPECT_NE(out.find("\"transport\":\"udp\",\"service\":\"DNS\",\"verified\":true,"
                     "\"probe\":\"dns\""),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\"amplification\":31.25,"), std::string::npos) << out;
  std::string text;
  FormatResult(Probed("127.0.0.53", 53, ev, "dns", probes::Transport::kUdp), OutputFormat::kText,
               text);
  EXPECT_EQ(text.rfind("127.0.0.53:53/udp open 0.123ms ", 0), 0u) << text;
  std::string closed;
  ProbeResult c = Result("127.0.0.53", 53, ProbeState::kClosed, 0);
  c.transport = probes::Transport::kUdp;
  FormatResult(c, OutputFormat::kJsonl, closed);
  EXPECT_NE(closed.find("\"transport\":\"udp\""), std::string::npos) << closed;
  EXPECT_EQ(closed.find("\"evidence\""), std::string::npos) << closed;
}

TEST(ResultWriterTest, FormatsTextWithBracketedIPv6) {
  std::string out;
  FormatResult(Result("127.0.0.5", 80, ProbeState::kOpen, 1500), OutputFormat::kText, out);
  FormatResult(Result("2001:db8::1", 443, ProbeState::kClosed, 0), OutputFormat::kText, out);
  EXPECT_EQ(out, "127.0.0.5:80 open 1.500ms\n[2001:db8::1]:443 closed\n");
}

std::string WriteAll(bool all_states) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  {
    ResultWriter w(f, OutputFormat::kText, all_states);
    w.OnResult(Result("127.0.0.1", 1, ProbeState::kClosed, 5));
    w.OnResult(Result("127.0.0.1", 2, ProbeState::kOpen, 5));
    w.OnResult(Result("127.0.0.1", 3, ProbeState::kUnreachable, 0));
  }
  std::fclose(f);
  std::string s(buf, len);
  free(buf);
  return s;
}

TEST(ResultWriterTest, WritesOnlyOpenPortsUnlessAllStates) {
  EXPECT_EQ(WriteAll(false), "127.0.0.1:2 open 0.005ms\n");
  EXPECT_EQ(WriteAll(true),
            "127.0.0.1:1 closed 0.005ms\n127.0.0.1:2 open 0.005ms\n127.0.0.1:3 unreachable\n");
}

}  // namespace
}  // namespace goalkeeper
