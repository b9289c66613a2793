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
  EXPECT_EQ(
      p.Parse(good + std::string(udp_internal::kMaxDatagram + 1 - good.size(), 'A'), txid, &ev),
      UdpMatch::kNotOurs)
      << p.name();
  EXPECT_EQ(ev, Evidence());
}

// ---- registry

TEST(UdpRegistryTest, NamesPortsAndServices) {
  std::vector<std::string> names;
  for (const UdpProbe* p : AllUdpProbes()) names.emplace_back(p->name());
  EXPECT_THAT(names, ElementsAre("dns", "ntp", "ntp-version", "ntp-client", "ssdp", "snmp",
                                 "memcached", "cldap", "portmap", "netbios", "mdns", "mssql",
                                 "ubiquiti"));
  EXPECT_EQ(UdpProbeForPort(53)->name(), "dns");
  EXPECT_EQ(UdpProbeForPort(123)->name(), "ntp");
  std::vector<std::string> ntp;
  for (const UdpProbe* p : UdpProbesForPort(123)) ntp.emplace_back(p->name());
  EXPECT_THAT(ntp, ElementsAre("ntp", "ntp-version", "ntp-client"));
  ASSERT_EQ(UdpProbesForPort(53).size(), 1u);
  EXPECT_EQ(UdpProbesForPort(53)[0]->name(), "dns");
  EXPECT_TRUE(UdpProbesForPort(80).empty());
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

// ---- NTP

std::string Mode7(uint8_t b0, uint8_t req, unsigned err, unsigned items, unsigned size) {
  std::string m = Bytes({b0, 0, 3, req});
  PutU16(m, static_cast<uint16_t>((err << 12) | items));
  PutU16(m, static_cast<uint16_t>(size));
  m.append(size_t{items} * size, '\x01');
  return m;
}

TEST(NtpProbeTest, RequestIsMode7Monlist) {
  const std::string req = Probe("ntp").Request(1, {});
  ASSERT_EQ(req.size(), 48u);
  EXPECT_EQ(req.substr(0, 8), Bytes({0x17, 0, 3, 42, 0, 0, 0, 0}));
}

TEST(NtpProbeTest, MonlistAnswerCountsEntriesUntilTheLastPacket) {
  Evidence ev;
  EXPECT_EQ(Probe("ntp").Parse(Mode7(0xd7, 42, 0, 6, 72), 0, &ev), UdpMatch::kMore);
  EXPECT_EQ(Probe("ntp").Parse(Mode7(0x97, 42, 0, 2, 72), 0, &ev), UdpMatch::kDone);
  EXPECT_EQ(ev.service, "NTP");
  EXPECT_THAT(ev.facts, ElementsAre("monlist=yes", "monlist_entries=8"));
  ExpectRejectsDamage(Probe("ntp"), Mode7(0x97, 42, 0, 2, 72), 0);
}

TEST(NtpProbeTest, ErrorOrMode6AnswerIsNtpWithoutMonlist) {
  Evidence ev;
  EXPECT_EQ(Probe("ntp").Parse(Mode7(0x97, 42, 2, 0, 0), 0, &ev), UdpMatch::kDone);
  EXPECT_TRUE(ev.verified);
  EXPECT_THAT(ev.facts, Contains("monlist=no"));
  Evidence ev6;
  std::string m6 = Bytes({0x16, 0x82, 0, 1, 0, 0, 0, 0, 0, 0});
  PutU16(m6, 0);
  EXPECT_EQ(Probe("ntp").Parse(m6, 0, &ev6), UdpMatch::kDone);
  EXPECT_THAT(ev6.facts, Contains("monlist=no"));
  Evidence none;  // our request reflected, another request code
  EXPECT_EQ(Probe("ntp").Parse(Probe("ntp").Request(0, {}), 0, &none), UdpMatch::kNotOurs);
  EXPECT_EQ(Probe("ntp").Parse(Mode7(0x97, 16, 0, 0, 0), 0, &none), UdpMatch::kNotOurs);
  EXPECT_EQ(none, Evidence());
}

std::string Mode6Readvar(uint16_t seq, uint8_t b1, absl::string_view data) {
  std::string m = Bytes({0x26, b1});
  PutU16(m, seq);
  PutU16(m, 0x0615);
  PutU16(m, 0);
  PutU16(m, 0);
  PutU16(m, static_cast<uint16_t>(data.size()));
  m.append(data.data(), data.size());
  while (m.size() % 4 != 0) m.push_back('\0');
  return m;
}

TEST(NtpVersionProbeTest, ReadvarAnswerGivesVersion) {
  EXPECT_EQ(Probe("ntp-version").Request(0x4242, {}),
            Bytes({0x16, 0x02, 0x42, 0x42, 0, 0, 0, 0, 0, 0, 0, 0}));
  const std::string a = Mode6Readvar(
      0x4242, 0x82,
      "version=\"ntpd 4.2.8p15@1.3728-o Wed Sep 23 11:46:38 UTC 2020 (1)\", processor=\"x86_64\"");
  Evidence ev;
  EXPECT_EQ(Probe("ntp-version").Parse(a, 0x4242, &ev), UdpMatch::kDone);
  EXPECT_EQ(ev.service, "NTP");
  EXPECT_EQ(ev.version, "4.2.8p15");
  EXPECT_THAT(ev.banner, HasSubstr("ntpd 4.2.8p15@1.3728-o"));
  ExpectRejectsDamage(Probe("ntp-version"), a, 0x4242);
  Evidence sec;
  EXPECT_EQ(Probe("ntp-version")
                .Parse(Mode6Readvar(1, 0x82, "version=\"ntpd ntpsec-1.2.2 2023-01-01\""), 1, &sec),
            UdpMatch::kDone);
  EXPECT_EQ(sec.version, "1.2.2");
  EXPECT_THAT(sec.facts, Contains("product=ntpsec"));
  Evidence other;
  EXPECT_EQ(Probe("ntp-version").Parse(a, 0x4243, &other), UdpMatch::kNotOurs);
  EXPECT_EQ(Probe("ntp-version").Parse(Mode6Readvar(1, 0xa2, "x=1"), 1, &other), UdpMatch::kMore);
}

// A server's mode 4 answer to `request`: origin = the request's transmit.
std::string Mode4Answer(const std::string& request, uint8_t stratum, absl::string_view refid) {
  std::string a = Bytes({0x24, stratum, 0x06, 0xe8});
  a.append(8, '\0');  // root delay, root dispersion
  a.append(refid.data(), refid.size());
  a.append(4 - refid.size(), '\0');
  a.append(8, '\x11');                // reference timestamp
  a.append(request.substr(40, 8));   // origin
  a.append(16, '\x22');               // receive, transmit
  return a;
}

TEST(NtpClientProbeTest, TimeAnswerEchoingOurTransmitIsNtpThatRefusesStatusQueries) {
  const std::string req = Probe("ntp-client").Request(0x1234, {});
  ASSERT_EQ(req.size(), 48u);
  EXPECT_EQ(req[0], 0x23);  // version 4, client
  EXPECT_EQ(req.substr(40, 8), Probe("ntp-client").Request(0x1234, {}).substr(40, 8));
  EXPECT_NE(req.substr(40, 8), Probe("ntp-client").Request(0x1235, {}).substr(40, 8));
  EXPECT_NE(req.substr(40, 8), std::string(8, '\0'));
  const std::string a = Mode4Answer(req, 2, "\x7f\x7f\x01\x00");
  Evidence ev;
  EXPECT_EQ(Probe("ntp-client").Parse(a, 0x1234, &ev), UdpMatch::kDone);
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.service, "NTP");
  EXPECT_THAT(ev.facts, Contains("stratum=2"));
  EXPECT_THAT(ev.facts, Contains("status=refused"));
  EXPECT_THAT(ev.facts, Contains("monlist=no"));
  ExpectRejectsDamage(Probe("ntp-client"), a, 0x1234);
  // An answer to someone else's request, our own request reflected, and a
  // mode 4 with an impossible version are not ours.
  Evidence other;
  EXPECT_EQ(Probe("ntp-client").Parse(a, 0x1235, &other), UdpMatch::kNotOurs);
  EXPECT_EQ(Probe("ntp-client").Parse(req, 0x1234, &other), UdpMatch::kNotOurs);
  std::string v0 = a;
  v0[0] = 0x04;
  EXPECT_EQ(Probe("ntp-client").Parse(v0, 0x1234, &other), UdpMatch::kNotOurs);
  EXPECT_EQ(other, Evidence());
  // A kiss-o'-death (stratum 0) still proves NTP and says its code.
  Evidence kod;
  EXPECT_EQ(Probe("ntp-client").Parse(Mode4Answer(req, 0, "RATE"), 0x1234, &kod), UdpMatch::kDone);
  EXPECT_THAT(kod.facts, Contains("kiss=RATE"));
}

// ---- SSDP

TEST(SsdpProbeTest, MSearchAnswerGivesServerBanner) {
  EXPECT_THAT(Probe("ssdp").Request(0, {}), HasSubstr("M-SEARCH * HTTP/1.1\r\n"));
  EXPECT_THAT(Probe("ssdp").Request(0, {}), HasSubstr("ST: ssdp:all\r\n"));
  const std::string a =
      "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\n"
      "LOCATION: http://127.0.0.1:5000/rootDesc.xml\r\n"
      "SERVER: Linux/5.10 UPnP/1.1 MiniUPnPd/2.2.1\r\n"
      "ST: upnp:rootdevice\r\nUSN: uuid:1234::upnp:rootdevice\r\n\r\n";
  Evidence ev;
  EXPECT_EQ(Probe("ssdp").Parse(a, 0, &ev), UdpMatch::kMore);
  EXPECT_EQ(Probe("ssdp").Parse(a, 0, &ev), UdpMatch::kMore);
  EXPECT_EQ(ev.service, "SSDP");
  EXPECT_EQ(ev.banner, "Linux/5.10 UPnP/1.1 MiniUPnPd/2.2.1");
  EXPECT_THAT(ev.facts, Contains("st=upnp:rootdevice"));
  EXPECT_THAT(ev.facts, Contains("responses=2"));
  Evidence none;
  EXPECT_EQ(Probe("ssdp").Parse(Probe("ssdp").Request(0, {}), 0, &none), UdpMatch::kNotOurs);
  EXPECT_EQ(Probe("ssdp").Parse("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", 0, &none),
            UdpMatch::kNotOurs);
  ExpectRejectsDamage(Probe("ssdp"), a, 0);
}

// ---- CLDAP

std::string CldapAnswer(int64_t id) {
  auto attr = [](absl::string_view type, absl::string_view value) {
    return BerSeq(0x30, BerOctets(type) + BerSeq(0x31, BerOctets(value)));
  };
  const std::string attrs = attr("namingContexts", "dc=lab,dc=test") +
                            attr("vendorName", "Lab Directory") + attr("vendorVersion", "2.6.3") +
                            attr("dnsHostName", "dc1.lab.test");
  const std::string entry =
      BerSeq(0x30, BerInteger(id) + BerSeq(0x64, BerOctets("") + BerSeq(0x30, attrs)));
  std::string done_body;
  BerPut(done_body, 0x0a, std::string(1, '\0'));
  done_body += BerOctets("") + BerOctets("");
  return entry + BerSeq(0x30, BerInteger(id) + BerSeq(0x65, done_body));
}

TEST(CldapProbeTest, RootDseAnswerGivesNamingContextsAndVendor) {
  const std::string req = Probe("cldap").Request(0x0305, {});
  // SEQUENCE (long length), messageID = txid, searchRequest [APPLICATION 3].
  EXPECT_EQ(req.substr(0, 3), Bytes({0x30, 0x81, static_cast<int>(req.size() - 3)}));
  EXPECT_EQ(req.substr(3, 5), Bytes({0x02, 0x02, 0x03, 0x05, 0x63}));
  EXPECT_THAT(req, HasSubstr("namingContexts"));
  const std::string a = CldapAnswer(0x0305);
  Evidence ev;
  EXPECT_EQ(Probe("cldap").Parse(a, 0x0305, &ev), UdpMatch::kDone);
  EXPECT_EQ(ev.service, "CLDAP");
  EXPECT_EQ(ev.version, "2.6.3");
  EXPECT_EQ(ev.auth, Auth::kNotRequired);
  EXPECT_THAT(ev.facts, Contains("naming_contexts=dc=lab,dc=test"));
  EXPECT_THAT(ev.facts, Contains("vendor=Lab Directory"));
  ExpectRejectsDamage(Probe("cldap"), a, 0x0305);
  Evidence other;
  EXPECT_EQ(Probe("cldap").Parse(a, 0x0306, &other), UdpMatch::kNotOurs);
  EXPECT_EQ(Probe("cldap").Parse(req, 0x0305, &other), UdpMatch::kNotOurs);
}

// ---- Portmapper

TEST(PortmapProbeTest, DumpAnswerListsPrograms) {
  const std::string req = Probe("portmap").Request(0x0a0b, {});
  ASSERT_EQ(req.size(), 40u);
  EXPECT_EQ(req.substr(0, 4), Bytes({0x47, 0x4b, 0x0a, 0x0b}));
  std::string a;
  PutU32(a, 0x474b0a0b);
  PutU32(a, 1);  // REPLY
  PutU32(a, 0);  // MSG_ACCEPTED
  PutU32(a, 0);  // verf AUTH_NONE
  PutU32(a, 0);
  PutU32(a, 0);  // SUCCESS
  for (uint32_t prog : {100000u, 100000u, 100003u, 100005u, 300019u}) {
    PutU32(a, 1);
    PutU32(a, prog);
    PutU32(a, 2);
    PutU32(a, 17);
    PutU32(a, 111);
  }
  PutU32(a, 0);
  Evidence ev;
  EXPECT_EQ(Probe("portmap").Parse(a, 0x0a0b, &ev), UdpMatch::kDone);
  EXPECT_EQ(ev.service, "Portmapper");
  EXPECT_THAT(ev.facts, ElementsAre("entries=5", "programs=portmapper,nfs,mountd,300019"));
  EXPECT_EQ(ev.banner, "portmapper nfs mountd 300019");
  ExpectRejectsDamage(Probe("portmap"), a, 0x0a0b);
  Evidence other;
  EXPECT_EQ(Probe("portmap").Parse(a, 0x0a0c, &other), UdpMatch::kNotOurs);
  EXPECT_EQ(Probe("portmap").Parse(req, 0x0a0b, &other), UdpMatch::kNotOurs);
}

// ---- NetBIOS

std::string NbName(absl::string_view name, uint8_t suffix, uint16_t flags) {
  std::string n(name);
  n.resize(15, ' ');
  n.push_back(static_cast<char>(suffix));
  PutU16(n, flags);
  return n;
}

TEST(NetbiosProbeTest, NbstatAnswerGivesNames) {
  const std::string req = Probe("netbios").Request(0x7777, {});
  ASSERT_EQ(req.size(), 50u);
  EXPECT_THAT(req, HasSubstr("CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  std::string a = Bytes({0x77, 0x77, 0x84, 0x00, 0, 0, 0, 1, 0, 0, 0, 0});
  a += req.substr(12, 34);
  PutU16(a, 0x21);
  PutU16(a, 1);
  PutU32(a, 0);
  std::string rdata(1, '\x03');
  rdata += NbName("LABHOST", 0x00, 0x0400) + NbName("WORKGROUP", 0x00, 0x8400) +
           NbName("LABHOST", 0x20, 0x0400);
  rdata += Bytes({0x52, 0x54, 0x00, 0x12, 0x34, 0x56});
  rdata.append(40, '\0');
  PutU16(a, static_cast<uint16_t>(rdata.size()));
  a += rdata;
  Evidence ev;
  EXPECT_EQ(Probe("netbios").Parse(a, 0x7777, &ev), UdpMatch::kDone);
  EXPECT_EQ(ev.service, "NetBIOS");
  EXPECT_EQ(ev.banner, "LABHOST<00> WORKGROUP<00> LABHOST<20>");
  EXPECT_THAT(ev.facts, ElementsAre("names=3", "hostname=LABHOST", "workgroup=WORKGROUP",
                                    "mac=52:54:00:12:34:56"));
  ExpectRejectsDamage(Probe("netbios"), a, 0x7777);
  Evidence other;
  EXPECT_EQ(Probe("netbios").Parse(a, 0x7778, &other), UdpMatch::kNotOurs);
}

// ---- mDNS

std::string MdnsAnswer(uint16_t id) {
  std::string m;
  PutU16(m, id);
  PutU16(m, 0x8400);
  PutU16(m, 1);
  PutU16(m, 2);
  PutU16(m, 0);
  PutU16(m, 0);
  udp_internal::PutDnsName(m, "_services._dns-sd._udp.local");
  PutU16(m, 12);
  PutU16(m, 1);
  for (absl::string_view t : {"_ssh._tcp", "_http._tcp"}) {
    m += Bytes({0xc0, 0x0c});
    PutU16(m, 12);
    PutU16(m, 1);
    PutU32(m, 4500);
    std::string target;
    udp_internal::PutDnsName(target, absl::StrCat(t, ".local"));
    PutU16(m, static_cast<uint16_t>(target.size()));
    m += target;
  }
  return m;
}

TEST(MdnsProbeTest, ServicesAnswerWithOurIdOrZero) {
  const std::string req = Probe("mdns").Request(0x5151, {});
  EXPECT_EQ(req.substr(req.size() - 4), Bytes({0, 12, 0x80, 1}));  // PTR, QU + IN
  for (uint16_t id : {uint16_t{0x5151}, uint16_t{0}}) {
    Evidence ev;
    EXPECT_EQ(Probe("mdns").Parse(MdnsAnswer(id), 0x5151, &ev), UdpMatch::kDone);
    EXPECT_EQ(ev.service, "mDNS");
    EXPECT_EQ(ev.banner, "_ssh._tcp _http._tcp");
    EXPECT_THAT(ev.facts, ElementsAre("services=2"));
  }
  ExpectRejectsDamage(Probe("mdns"), MdnsAnswer(0x5151), 0x5151);
  Evidence other;
  EXPECT_EQ(Probe("mdns").Parse(MdnsAnswer(0x5152), 0x5151, &other), UdpMatch::kNotOurs);
  EXPECT_EQ(Probe("mdns").Parse(req, 0x5151, &other), UdpMatch::kNotOurs);
}

// ---- MSSQL browser

std::string SqlResp(absl::string_view data) {
  std::string m(1, '\x05');
  m.push_back(static_cast<char>(data.size() & 0xff));
  m.push_back(static_cast<char>(data.size() >> 8));
  m.append(data.data(), data.size());
  return m;
}

TEST(MssqlProbeTest, ResolutionAnswerGivesInstancesAndVersion) {
  EXPECT_EQ(Probe("mssql").Request(0, {}), "\x03");
  const std::string a = SqlResp(
      "ServerName;LABSQL;InstanceName;MSSQLSERVER;IsClustered;No;Version;15.0.2000.5;tcp;1433;;"
      "ServerName;LABSQL;InstanceName;EXPRESS;IsClustered;No;Version;14.0.1000.169;tcp;49172;;");
  Evidence ev;
  EXPECT_EQ(Probe("mssql").Parse(a, 0, &ev), UdpMatch::kDone);
  EXPECT_EQ(ev.service, "MSSQL browser");
  EXPECT_EQ(ev.version, "15.0.2000.5");
  EXPECT_EQ(ev.banner, "LABSQL MSSQLSERVER,EXPRESS");
  EXPECT_THAT(ev.facts, ElementsAre("server_name=LABSQL", "instances=2", "tcp_port=1433"));
  ExpectRejectsDamage(Probe("mssql"), a, 0);
}

// ---- Ubiquiti

std::string Tlv(uint8_t type, absl::string_view v) {
  std::string m(1, static_cast<char>(type));
  PutU16(m, static_cast<uint16_t>(v.size()));
  m.append(v.data(), v.size());
  return m;
}

TEST(UbiquitiProbeTest, DiscoveryAnswerGivesModelFirmwareHostname) {
  EXPECT_EQ(Probe("ubiquiti").Request(0, {}), Bytes({1, 0, 0, 0}));
  const std::string tlvs = Tlv(0x01, Bytes({0x24, 0xa4, 0x3c, 1, 2, 3})) +
                           Tlv(0x03, "XM.ar7240.v5.6.3.28591.151130.1749") + Tlv(0x0b, "lab-ap") +
                           Tlv(0x0c, "NSM5") + Tlv(0x0d, "labnet");
  std::string a = Bytes({1, 0});
  PutU16(a, static_cast<uint16_t>(tlvs.size()));
  a += tlvs;
  Evidence ev;
  EXPECT_EQ(Probe("ubiquiti").Parse(a, 0, &ev), UdpMatch::kDone);
  EXPECT_EQ(ev.service, "Ubiquiti discovery");
  EXPECT_EQ(ev.version, "5.6.3");
  EXPECT_EQ(ev.banner, "NSM5 lab-ap");
  EXPECT_THAT(ev.facts, Contains("hostname=lab-ap"));
  EXPECT_THAT(ev.facts, Contains("mac=24:a4:3c:01:02:03"));
  ExpectRejectsDamage(Probe("ubiquiti"), a, 0);
  Evidence none;  // our request echoed back
  EXPECT_EQ(Probe("ubiquiti").Parse(Probe("ubiquiti").Request(0, {}), 0, &none),
            UdpMatch::kNotOurs);
}

}  // namespace
}  // namespace goalkeeper::probes
