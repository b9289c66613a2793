// The UDP probes against real-shaped answers built here from the protocol
// documents, and against wrong ids, other protocols, truncation, garbage and
// oversized datagrams (kNotOurs, evidence untouched, never a crash).
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "probes/udp/udp_wire.h"
#include "probes/udp_probe.h"

namespace goalkeeper::probes {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using udp_internal::BerInteger;
using udp_internal::BerOctets;
using udp_internal::BerPut;
using udp_internal::BerSeq;
using udp_internal::PutU16;
using udp_internal::PutU32;

const UdpProbe& Probe(absl::string_view name) {
  const UdpProbe* p = UdpProbeByName(name);
  EXPECT_NE(p, nullptr) << name;
  return *p;
}

std::string Bytes(std::initializer_list<int> b) {
  std::string out;
  for (int c : b) out.push_back(static_cast<char>(c));
  return out;
}

// Every cut of a real answer, garbage, and a datagram larger than UDP allows
// are not ours and leave the evidence as it was.
void ExpectRejectsDamage(const UdpProbe& p, const std::string& good, uint16_t txid) {
  for (size_t n = 0; n < good.size(); ++n) {
    Evidence ev;
    const UdpMatch m = p.Parse(good.substr(0, n), txid, &ev);
    if (m == UdpMatch::kNotOurs) {
      EXPECT_EQ(ev, Evidence()) << p.name() << " cut at " << n;
    } else {
      // A prefix may itself be a complete answer only for text protocols.
      EXPECT_TRUE(ev.verified) << p.name() << " cut at " << n;
    }
  }
  Evidence ev;
  EXPECT_EQ(p.Parse(std::string(300, '\xff'), txid, &ev), UdpMatch::kNotOurs) << p.name();
  EXPECT_EQ(p.Parse("HTTP/1.1 400 Bad Request\r\n\r\n", txid, &ev), UdpMatch::kNotOurs);
  EXPECT_EQ(p.Parse(good + std::string(70000, 'A'), txid, &ev), UdpMatch::kNotOurs) << p.name();
  EXPECT_EQ(ev, Evidence());
}

// ---- registry

TEST(UdpRegistryTest, NamesPortsAndServices) {
  std::vector<std::string> names;
  for (const UdpProbe* p : AllUdpProbes()) names.emplace_back(p->name());
  EXPECT_THAT(names, ElementsAre("dns", "ntp", "ntp-version", "ssdp", "snmp", "memcached", "cldap",
                                 "portmap", "netbios", "mdns", "mssql", "ubiquiti"));
  EXPECT_EQ(UdpProbeForPort(53)->name(), "dns");
  EXPECT_EQ(UdpProbeForPort(123)->name(), "ntp");
  EXPECT_EQ(UdpProbeForPort(10001)->service(), "Ubiquiti discovery");
  EXPECT_EQ(UdpProbeForPort(1434)->service(), "MSSQL browser");
  EXPECT_EQ(UdpProbeForPort(80), nullptr);
  EXPECT_EQ(UdpProbeByName("DNS"), nullptr);
}

TEST(UdpRegistryTest, ServicePortsAreSortedAndUnique) {
  const std::vector<std::string> some = {"snmp", "dns", "ntp", "ntp-version", "dns"};
  absl::StatusOr<std::vector<uint16_t>> ports = UdpServicePorts(some);
  ASSERT_TRUE(ports.ok()) << ports.status();
  EXPECT_THAT(*ports, ElementsAre(53, 123, 161));
  const std::vector<std::string> all = {"all"};
  ports = UdpServicePorts(all);
  ASSERT_TRUE(ports.ok());
  EXPECT_THAT(*ports, ElementsAre(53, 111, 123, 137, 161, 389, 1434, 1900, 5353, 10001, 11211));
  EXPECT_TRUE(UdpServicePorts({})->empty());
}

TEST(UdpRegistryTest, UnknownServiceNamesItAndTheKnown) {
  const std::vector<std::string> bad = {"dns", "chargen"};
  absl::StatusOr<std::vector<uint16_t>> ports = UdpServicePorts(bad);
  ASSERT_FALSE(ports.ok());
  EXPECT_EQ(ports.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(ports.status().message()),
              HasSubstr("unknown UDP service \"chargen\" (known: dns, ntp, ntp-version"));
  EXPECT_THAT(std::string(ports.status().message()), HasSubstr("ubiquiti, all)"));
}

// ---- DNS

std::string DnsAnswer(uint16_t id, uint16_t flags, uint16_t ancount, bool with_answer) {
  std::string m;
  PutU16(m, id);
  PutU16(m, flags);
  PutU16(m, 1);
  PutU16(m, ancount);
  PutU16(m, 0);
  PutU16(m, 0);
  udp_internal::PutDnsName(m, "probe.example.test");
  PutU16(m, 1);
  PutU16(m, 1);
  if (with_answer) {
    m += Bytes({0xc0, 0x0c});  // pointer to the question's name
    PutU16(m, 1);
    PutU16(m, 1);
    PutU32(m, 300);
    PutU16(m, 4);
    m += Bytes({127, 0, 0, 53});
  }
  return m;
}

TEST(DnsProbeTest, RequestIsARecursiveAQueryForTheConfiguredName) {
  UdpProbeOptions o;
  o.dns_name = "probe.example.test.";
  const std::string req = Probe("dns").Request(0xbeef, o);
  std::string want = Bytes({0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0});
  udp_internal::PutDnsName(want, "probe.example.test");
  want += Bytes({0, 1, 0, 1});
  EXPECT_EQ(req, want);
  // A name that cannot be encoded falls back to the default probe name.
  o.dns_name = std::string(70, 'a') + ".test";
  EXPECT_THAT(Probe("dns").Request(1, o), HasSubstr("goalkeeper-probe"));
}

TEST(DnsProbeTest, OpenResolverAnswerIsRecursionAvailable) {
  const std::string a = DnsAnswer(0x1234, 0x8180, 1, true);
  Evidence ev;
  EXPECT_EQ(Probe("dns").Parse(a, 0x1234, &ev), UdpMatch::kDone);
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.service, "DNS");
  EXPECT_THAT(ev.facts, ElementsAre("recursion=available", "rcode=NOERROR", "answers=1",
                                    absl::StrCat("answer_bytes=", a.size())));
  ExpectRejectsDamage(Probe("dns"), a, 0x1234);
}

TEST(DnsProbeTest, RefusedIsVerifiedWithRecursionRefused) {
  Evidence ev;
  EXPECT_EQ(Probe("dns").Parse(DnsAnswer(7, 0x8185, 0, false), 7, &ev), UdpMatch::kDone);
  EXPECT_TRUE(ev.verified);
  EXPECT_THAT(ev.facts, Contains("recursion=refused"));
  Evidence ev2;  // no RA, not refused: an authoritative-only server
  EXPECT_EQ(Probe("dns").Parse(DnsAnswer(7, 0x8403, 0, false), 7, &ev2), UdpMatch::kDone);
  EXPECT_THAT(ev2.facts, Contains("recursion=unavailable"));
}

TEST(DnsProbeTest, WrongIdOrAQueryIsNotOurs) {
  Evidence ev;
  EXPECT_EQ(Probe("dns").Parse(DnsAnswer(0x1235, 0x8180, 1, true), 0x1234, &ev),
            UdpMatch::kNotOurs);
  // Our own query reflected back (QR clear).
  EXPECT_EQ(Probe("dns").Parse(Probe("dns").Request(9, {}), 9, &ev), UdpMatch::kNotOurs);
  EXPECT_EQ(ev, Evidence());
}

TEST(DnsProbeTest, CompressionLoopIsRejected) {
  std::string m = Bytes({0, 5, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1});
  Evidence ev;
  EXPECT_EQ(Probe("dns").Parse(m, 5, &ev), UdpMatch::kNotOurs);
}

// ---- SNMP

std::string SnmpResponse(int64_t reqid, absl::string_view community, absl::string_view descr) {
  std::string oid;
  BerPut(oid, 0x06, absl::string_view("\x2b\x06\x01\x02\x01\x01\x01\x00", 8));
  const std::string vb = BerSeq(0x30, BerSeq(0x30, oid + BerOctets(descr)));
  const std::string pdu = BerSeq(0xa2, BerInteger(reqid) + BerInteger(0) + BerInteger(0) + vb);
  return BerSeq(0x30, BerInteger(1) + BerOctets(community) + pdu);
}

TEST(SnmpProbeTest, RequestIsAV2cGetOfSysDescr) {
  const std::string req = Probe("snmp").Request(0x8001, {});
  EXPECT_EQ(req, Bytes({0x30, 0x28, 0x02, 0x01, 0x01, 0x04, 0x06, 'p',  'u',  'b',  'l',
                        'i',  'c',  0xa0, 0x1b, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x01,
                        0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c, 0x06, 0x08, 0x2b,
                        0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00}));
}

TEST(SnmpProbeTest, GetResponseGivesSysDescrAndNoAuth) {
  const std::string a = SnmpResponse(0x8001, "public", "Linux lab 6.1.0 #1 SMP x86_64");
  Evidence ev;
  EXPECT_EQ(Probe("snmp").Parse(a, 0x8001, &ev), UdpMatch::kDone);
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.service, "SNMP");
  EXPECT_EQ(ev.auth, Auth::kNotRequired);
  EXPECT_EQ(ev.banner, "Linux lab 6.1.0 #1 SMP x86_64");
  EXPECT_THAT(ev.facts, Contains("community=public"));
  ExpectRejectsDamage(Probe("snmp"), a, 0x8001);
  Evidence other;
  EXPECT_EQ(Probe("snmp").Parse(a, 0x8002, &other), UdpMatch::kNotOurs);
}

TEST(SnmpProbeTest, HugeSysDescrIsBounded) {
  const std::string a = SnmpResponse(3, "public", std::string(5000, 'x') + "\x01\n");
  Evidence ev;
  EXPECT_EQ(Probe("snmp").Parse(a, 3, &ev), UdpMatch::kDone);
  EXPECT_EQ(ev.banner.size(), kMaxBanner);
}

// ---- Memcached

std::string McFrame(uint16_t id, uint16_t seq, uint16_t total, absl::string_view body) {
  std::string m;
  PutU16(m, id);
  PutU16(m, seq);
  PutU16(m, total);
  PutU16(m, 0);
  m.append(body.data(), body.size());
  return m;
}

TEST(MemcachedProbeTest, StatsAnswerGivesVersion) {
  EXPECT_EQ(Probe("memcached").Request(0x0102, {}), Bytes({1, 2, 0, 0, 0, 1, 0, 0}) + "stats\r\n");
  const std::string a =
      McFrame(0x0102, 0, 1, "STAT pid 1\r\nSTAT version 1.6.18\r\nSTAT curr_items 3\r\nEND\r\n");
  Evidence ev;
  EXPECT_EQ(Probe("memcached").Parse(a, 0x0102, &ev), UdpMatch::kDone);
  EXPECT_EQ(ev.service, "Memcached");
  EXPECT_EQ(ev.version, "1.6.18");
  EXPECT_EQ(ev.auth, Auth::kNotRequired);
  ExpectRejectsDamage(Probe("memcached"), a, 0x0102);
}

TEST(MemcachedProbeTest, MultiFrameAnswerIsMoreUntilTheLast) {
  Evidence ev;
  // A continuation before its first frame is not ours.
  EXPECT_EQ(Probe("memcached").Parse(McFrame(9, 1, 2, "x 2\r\nEND\r\n"), 9, &ev),
            UdpMatch::kNotOurs);
  EXPECT_EQ(Probe("memcached").Parse(McFrame(9, 0, 2, "STAT pid 1\r\n"), 9, &ev), UdpMatch::kMore);
  EXPECT_EQ(Probe("memcached").Parse(McFrame(9, 1, 2, "STAT version 1.6.9\r\nEND\r\n"), 9, &ev),
            UdpMatch::kDone);
  EXPECT_EQ(ev.version, "1.6.9");
  Evidence other;
  EXPECT_EQ(Probe("memcached").Parse(McFrame(8, 0, 1, "STAT pid 1\r\n"), 9, &other),
            UdpMatch::kNotOurs);
  EXPECT_EQ(Probe("memcached").Parse(McFrame(9, 0, 1, "ERROR\r\n"), 9, &other), UdpMatch::kNotOurs);
}

}  // namespace
}  // namespace goalkeeper::probes
