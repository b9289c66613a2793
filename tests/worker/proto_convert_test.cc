#include "worker/proto_convert.h"

#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

TEST(ProtoConvertTest, ProbeResultRoundTrips) {
  ProbeResult r{*IpAddress::Parse("2001:db8::7"), 5432, ProbeState::kOpen, 42, 9};
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

}  // namespace
}  // namespace goalkeeper
