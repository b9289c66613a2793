#include "worker/proto_convert.h"

#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

TEST(ProtoConvertTest, ProbeResultRoundTrips) {
  ProbeResult r;
  r.address = *IpAddress::Parse("2001:db8::7");
  r.port = 5432;
  r.state = ProbeState::kOpen;
  r.rtt_us = 42;
  r.index = 9;
  goalkeeper::v1::ProbeResult m = ToProto(r);
  EXPECT_EQ(m.ip(), "2001:db8::7");
  EXPECT_EQ(m.state(), goalkeeper::v1::PROBE_STATE_OPEN);
  auto back = FromProto(m);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->address, r.address);
  EXPECT_EQ(back->port, 5432);
  EXPECT_EQ(back->state, ProbeState::kOpen);
  EXPECT_EQ(back->rtt_us, 42u);
}

TEST(ProtoConvertTest, RejectsBadFieldsNamingThem) {
  goalkeeper::v1::ProbeResult m;
  m.set_ip("300.1.1.1");
  m.set_port(80);
  m.set_state(goalkeeper::v1::PROBE_STATE_OPEN);
  EXPECT_EQ(FromProto(m).status().message(), "ip: '300.1.1.1' is not an address");
  m.set_ip("127.0.0.1");
  m.set_port(70000);
  EXPECT_EQ(FromProto(m).status().message(), "port: 70000 is not 1-65535");
  m.set_port(80);
  m.set_state(goalkeeper::v1::PROBE_STATE_UNSPECIFIED);
  EXPECT_EQ(FromProto(m).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ProtoConvertTest, BuildsAProbeSpaceAndRefusesFiles) {
  goalkeeper::v1::TargetSpec t;
  t.add_include("127.0.0.0/30");
  t.add_exclude("127.0.0.3");
  goalkeeper::v1::PortSpec p;
  p.set_spec("22,80");
  auto space = ProbeSpaceFromProto(t, p, 1);
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_EQ(space->size(), 6u);
  t.add_include("@/etc/passwd");
  EXPECT_EQ(ProbeSpaceFromProto(t, p, 1).status().message(),
            "'@/etc/passwd': files are not accepted here");
}

TEST(ProtoConvertTest, EvidenceAndTransportRoundTrip) {
  probes::Evidence ev;
  ev.service = "DNS";
  ev.verified = true;
  ev.version = "9.18";
  ev.auth = probes::Auth::kNotRequired;
  ev.tls_offered = true;
  ev.request_bytes = 40;
  ev.response_bytes = 1240;
  ev.amplification = 31;
  ev.banner = "bind";
  ev.facts = {"recursion=available", "answer_bytes=1240"};
  ProbeResult r;
  r.address = *IpAddress::Parse("127.0.0.53");
  r.port = 53;
  r.state = ProbeState::kOpen;
  r.transport = probes::Transport::kUdp;
  r.evidence = std::make_shared<const probes::Evidence>(ev);
  goalkeeper::v1::ProbeResult m = ToProto(r);
  EXPECT_EQ(m.transport(), goalkeeper::v1::TRANSPORT_UDP);
  EXPECT_EQ(m.service(), "DNS");
  EXPECT_TRUE(m.verified());
  EXPECT_EQ(m.evidence().auth(), goalkeeper::v1::AUTH_STATE_NOT_REQUIRED);
  EXPECT_EQ(m.evidence().facts_size(), 2);
  auto back = FromProto(m);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->transport, probes::Transport::kUdp);
  ASSERT_NE(back->evidence, nullptr);
  EXPECT_EQ(*back->evidence, ev);

  ProbeResult plain;  // no probe ran: no evidence either way
  plain.address = *IpAddress::Parse("127.0.0.1");
  plain.port = 80;
  plain.state = ProbeState::kOpen;
  goalkeeper::v1::ProbeResult pm = ToProto(plain);
  EXPECT_FALSE(pm.has_evidence());
  EXPECT_FALSE(pm.verified());
  EXPECT_EQ(pm.transport(), goalkeeper::v1::TRANSPORT_TCP);
  auto plain_back = FromProto(pm);
  ASSERT_TRUE(plain_back.ok());
  EXPECT_EQ(plain_back->evidence, nullptr);
}

TEST(ProtoConvertTest, RefusesEvidenceOverItsBoundsNamingTheField) {
  goalkeeper::v1::ProbeResult m;
  m.set_ip("127.0.0.1");
  m.set_port(6379);
  m.set_state(goalkeeper::v1::PROBE_STATE_OPEN);
  m.mutable_evidence()->set_banner(std::string(200, 'x'));
  EXPECT_EQ(FromProto(m).status().message(), "evidence.banner: 200 bytes, at most 128");
  m.mutable_evidence()->set_banner("ok");
  m.mutable_evidence()->set_version("7\x01");
  EXPECT_EQ(FromProto(m).status().message(), "evidence.version: not printable ASCII");
  m.mutable_evidence()->set_version("7");
  m.set_transport(static_cast<goalkeeper::v1::Transport>(9));
  EXPECT_EQ(FromProto(m).status().message(), "transport: 9 is not a transport");
}

TEST(ProtoConvertTest, ProfileModesMapWithVerifyAsDefault) {
  EXPECT_EQ(ProbeModeFromProto(goalkeeper::v1::PROBE_MODE_UNSPECIFIED), ProbeMode::kVerify);
  EXPECT_EQ(ProbeModeFromProto(goalkeeper::v1::PROBE_MODE_NONE), ProbeMode::kNone);
  EXPECT_EQ(ProbeModeFromProto(goalkeeper::v1::PROBE_MODE_VERIFY), ProbeMode::kVerify);
  EXPECT_EQ(ProbeModeFromProto(goalkeeper::v1::PROBE_MODE_ALL), ProbeMode::kAll);
}

TEST(ProtoConvertTest, ProfileWithoutUdpServicesIsTheTcpSpace) {
  goalkeeper::v1::TargetSpec t;
  t.add_include("127.0.0.0/30");
  goalkeeper::v1::ScanProfile profile;
  profile.mutable_ports()->set_spec("22,80");
  auto space = ProbeSpaceFromProfile(t, profile, 4);
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_EQ(space->size(), 8u);
  EXPECT_TRUE(space->udp_ports().empty());
}

}  // namespace
}  // namespace goalkeeper
