// SNMP (RFC 1157, RFC 3416) and Memcached UDP (memcached protocol.txt) probes.
//
// snmp: a v2c GetRequest for sysDescr.0 with options.snmp_community,
// request-id = txid. A GetResponse with our request-id means the community
// was accepted: auth not required, banner = sysDescr, fact community=...
//
// memcached: the 8-byte UDP frame header (request id = txid, sequence 0, one
// datagram) and "stats\r\n". The answer's frames carry our request id;
// version from "STAT version"; kMore until the frame numbered total-1.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "probes/udp/udp_wire.h"

namespace goalkeeper::probes::udp_internal {
namespace {

// 1.3.6.1.2.1.1.1.0
constexpr absl::string_view kSysDescrOid("\x2b\x06\x01\x02\x01\x01\x01\x00", 8);

class SnmpProbe final : public UdpProbe {
 public:
  absl::string_view name() const override { return "snmp"; }
  absl::string_view service() const override { return "SNMP"; }
  uint16_t port() const override { return 161; }

  std::string Request(uint16_t txid, const UdpProbeOptions& options) const override {
    std::string oid;
    BerPut(oid, 0x06, kSysDescrOid);
    std::string null_value;
    BerPut(null_value, 0x05, "");
    const std::string varbind = BerSeq(0x30, oid + null_value);
    const std::string varbinds = BerSeq(0x30, varbind);
    const std::string pdu =
        BerSeq(0xa0, BerInteger(txid) + BerInteger(0) + BerInteger(0) + varbinds);
    return BerSeq(0x30, BerInteger(1) + BerOctets(options.snmp_community) + pdu);
  }

  UdpMatch Parse(absl::string_view datagram, uint16_t txid, Evidence* ev) const override {
    if (datagram.size() > kMaxDatagram) return UdpMatch::kNotOurs;
    absl::string_view in = datagram;
    BerTlv msg, version, community, pdu;
    if (!BerNext(&in, &msg) || msg.tag != 0x30) return UdpMatch::kNotOurs;
    absl::string_view m = msg.value;
    int64_t ver = -1;
    if (!BerNext(&m, &version) || version.tag != 0x02 || !BerInt(version.value, &ver) ||
        (ver != 0 && ver != 1))
      return UdpMatch::kNotOurs;
    if (!BerNext(&m, &community) || community.tag != 0x04) return UdpMatch::kNotOurs;
    if (!BerNext(&m, &pdu) || pdu.tag != 0xa2) return UdpMatch::kNotOurs;  // GetResponse
    absl::string_view p = pdu.value;
    BerTlv reqid, status, index, binds;
    int64_t id = -1;
    int64_t err = 0;
    if (!BerNext(&p, &reqid) || reqid.tag != 0x02 || !BerInt(reqid.value, &id) || id != txid)
      return UdpMatch::kNotOurs;
    if (!BerNext(&p, &status) || status.tag != 0x02 || !BerInt(status.value, &err))
      return UdpMatch::kNotOurs;
    if (!BerNext(&p, &index) || index.tag != 0x02) return UdpMatch::kNotOurs;
    if (!BerNext(&p, &binds) || binds.tag != 0x30) return UdpMatch::kNotOurs;
    Verify(*ev, service());
    ev->auth = Auth::kNotRequired;
    SetFact(*ev, "community", community.value);
    SetFact(*ev, "snmp_version", ver == 1 ? "2c" : "1");
    if (err != 0) SetFact(*ev, "error_status", absl::StrCat(err));
    absl::string_view b = binds.value;
    BerTlv bind;
    if (BerNext(&b, &bind) && bind.tag == 0x30) {
      absl::string_view v = bind.value;
      BerTlv oid, value;
      if (BerNext(&v, &oid) && oid.tag == 0x06 && oid.value == kSysDescrOid &&
          BerNext(&v, &value) && value.tag == 0x04) {
        ev->banner = Sanitise(value.value, kMaxBanner);
      }
    }
    return UdpMatch::kDone;
  }
};

class MemcachedProbe final : public UdpProbe {
 public:
  absl::string_view name() const override { return "memcached"; }
  absl::string_view service() const override { return "Memcached"; }
  uint16_t port() const override { return 11211; }

  std::string Request(uint16_t txid, const UdpProbeOptions&) const override {
    std::string out;
    PutU16(out, txid);
    PutU16(out, 0);  // sequence number
    PutU16(out, 1);  // datagrams in this message
    PutU16(out, 0);  // reserved
    out += "stats\r\n";
    return out;
  }

  UdpMatch Parse(absl::string_view datagram, uint16_t txid, Evidence* ev) const override {
    if (datagram.size() > kMaxDatagram) return UdpMatch::kNotOurs;
    WireReader r(datagram);
    uint16_t id = 0, seq = 0, total = 0, reserved = 0;
    if (!r.U16(&id) || !r.U16(&seq) || !r.U16(&total) || !r.U16(&reserved))
      return UdpMatch::kNotOurs;
    if (id != txid || reserved != 0 || total == 0 || seq >= total) return UdpMatch::kNotOurs;
    const absl::string_view body = r.rest();
    if (seq == 0) {
      // The first frame starts the answer to "stats".
      if (!absl::StartsWith(body, "STAT ") && !absl::StartsWith(body, "END\r\n"))
        return UdpMatch::kNotOurs;
    } else if (!ev->verified || ev->service != service()) {
      return UdpMatch::kNotOurs;  // a continuation of an answer we never saw begin
    }
    Verify(*ev, service());
    ev->auth = Auth::kNotRequired;
    for (absl::string_view line : absl::StrSplit(body, "\r\n")) {
      if (absl::ConsumePrefix(&line, "STAT version ")) {
        ev->version = Sanitise(line, kMaxVersion);
      } else if (absl::ConsumePrefix(&line, "STAT curr_items ")) {
        SetFact(*ev, "curr_items", line);
      }
    }
    return seq + 1 == total ? UdpMatch::kDone : UdpMatch::kMore;
  }
};

}  // namespace

const UdpProbe& SnmpUdpProbe() {
  static const SnmpProbe kProbe;
  return kProbe;
}

const UdpProbe& MemcachedUdpProbe() {
  static const MemcachedProbe kProbe;
  return kProbe;
}

}  // namespace goalkeeper::probes::udp_internal
