// DNS (RFC 1035) and mDNS (RFC 6762) probes.
//
// dns: a recursive query (RD set) for options.dns_name type A, id = txid.
// The answer must carry our id, QR set, opcode QUERY and echo an A/IN
// question. Facts: recursion=available (RA set) | refused (RCODE REFUSED) |
// unavailable, rcode, answers (ANCOUNT), answer_bytes.
//
// mdns: a unicast ("QU") query for _services._dns-sd._udp.local PTR, id =
// txid. Responders answer legacy unicast queries with our id, some with id 0
// (RFC 6762 18.1): both are accepted. The banner lists the service types.
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "probes/udp/udp_wire.h"

namespace goalkeeper::probes::udp_internal {
namespace {

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypePtr = 12;
constexpr uint16_t kClassIn = 1;
constexpr uint16_t kQuBit = 0x8000;
constexpr absl::string_view kServicesName = "_services._dns-sd._udp.local";

struct DnsHeader {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t qd = 0;
  uint16_t an = 0;
  uint16_t ns = 0;
  uint16_t ar = 0;
};

bool ReadHeader(absl::string_view msg, DnsHeader* h) {
  WireReader r(msg);
  return r.U16(&h->id) && r.U16(&h->flags) && r.U16(&h->qd) && r.U16(&h->an) && r.U16(&h->ns) &&
         r.U16(&h->ar);
}

std::string Query(uint16_t id, uint16_t flags, absl::string_view name, uint16_t qtype,
                  uint16_t qclass) {
  std::string out;
  PutU16(out, id);
  PutU16(out, flags);
  PutU16(out, 1);  // QDCOUNT
  PutU16(out, 0);
  PutU16(out, 0);
  PutU16(out, 0);
  if (!PutDnsName(out, name)) PutDnsName(out, kDefaultDnsProbeName);
  PutU16(out, qtype);
  PutU16(out, qclass);
  return out;
}

// One question read at *pos.
bool ReadQuestion(absl::string_view msg, size_t* pos, std::string* name, uint16_t* qtype,
                  uint16_t* qclass) {
  if (!ReadDnsName(msg, pos, name)) return false;
  WireReader r(msg.substr(*pos));
  if (!r.U16(qtype) || !r.U16(qclass)) return false;
  *pos += 4;
  return true;
}

struct Record {
  std::string name;
  uint16_t type = 0;
  uint16_t rclass = 0;
  size_t rdata_pos = 0;  // offset of RDATA in the message
  uint16_t rdlength = 0;
};

bool ReadRecord(absl::string_view msg, size_t* pos, Record* rec) {
  if (!ReadDnsName(msg, pos, &rec->name)) return false;
  WireReader r(msg.substr(*pos));
  uint32_t ttl = 0;
  if (!r.U16(&rec->type) || !r.U16(&rec->rclass) || !r.U32(&ttl) || !r.U16(&rec->rdlength))
    return false;
  rec->rdata_pos = *pos + 10;
  if (!r.Skip(rec->rdlength)) return false;
  *pos += 10 + size_t{rec->rdlength};
  return true;
}

absl::string_view RcodeName(unsigned rcode) {
  switch (rcode) {
    case 0:
      return "NOERROR";
    case 1:
      return "FORMERR";
    case 2:
      return "SERVFAIL";
    case 3:
      return "NXDOMAIN";
    case 4:
      return "NOTIMP";
    case 5:
      return "REFUSED";
    default:
      return "OTHER";
  }
}

class DnsProbe final : public UdpProbe {
 public:
  absl::string_view name() const override { return "dns"; }
  absl::string_view service() const override { return "DNS"; }
  uint16_t port() const override { return 53; }

  std::string Request(uint16_t txid, const UdpProbeOptions& options) const override {
    return Query(txid, 0x0100 /* RD */, options.dns_name, kTypeA, kClassIn);
  }

  UdpMatch Parse(absl::string_view datagram, uint16_t txid, Evidence* ev) const override {
    if (datagram.size() > kMaxDatagram) return UdpMatch::kNotOurs;
    DnsHeader h;
    if (!ReadHeader(datagram, &h) || h.id != txid) return UdpMatch::kNotOurs;
    if ((h.flags & 0x8000) == 0 || ((h.flags >> 11) & 0xf) != 0) return UdpMatch::kNotOurs;
    const unsigned rcode = h.flags & 0xfu;
    if (h.qd > 1) return UdpMatch::kNotOurs;
    if (h.qd == 1) {
      size_t pos = 12;
      std::string qname;
      uint16_t qtype = 0;
      uint16_t qclass = 0;
      if (!ReadQuestion(datagram, &pos, &qname, &qtype, &qclass)) return UdpMatch::kNotOurs;
      if (qtype != kTypeA || qclass != kClassIn) return UdpMatch::kNotOurs;
    } else if (rcode == 0) {
      // A success without our question is not an answer to it.
      return UdpMatch::kNotOurs;
    }
    Verify(*ev, service());
    const bool ra = (h.flags & 0x0080) != 0;
    absl::string_view recursion = "unavailable";
    if (rcode == 5) {
      recursion = "refused";
    } else if (ra) {
      recursion = "available";
    }
    SetFact(*ev, "recursion", recursion);
    SetFact(*ev, "rcode", RcodeName(rcode));
    SetFact(*ev, "answers", absl::StrCat(h.an));
    SetFact(*ev, "answer_bytes", absl::StrCat(datagram.size()));
    if ((h.flags & 0x0200) != 0) SetFact(*ev, "truncated", "yes");
    return UdpMatch::kDone;
  }
};

class MdnsProbe final : public UdpProbe {
 public:
  absl::string_view name() const override { return "mdns"; }
  absl::string_view service() const override { return "mDNS"; }
  uint16_t port() const override { return 5353; }

  std::string Request(uint16_t txid, const UdpProbeOptions&) const override {
    return Query(txid, 0, kServicesName, kTypePtr, kClassIn | kQuBit);
  }

  UdpMatch Parse(absl::string_view datagram, uint16_t txid, Evidence* ev) const override {
    if (datagram.size() > kMaxDatagram) return UdpMatch::kNotOurs;
    DnsHeader h;
    if (!ReadHeader(datagram, &h) || (h.id != txid && h.id != 0)) return UdpMatch::kNotOurs;
    if ((h.flags & 0x8000) == 0 || ((h.flags >> 11) & 0xf) != 0) return UdpMatch::kNotOurs;
    size_t pos = 12;
    bool our_question = false;
    for (unsigned i = 0; i < h.qd; ++i) {
      std::string qname;
      uint16_t qtype = 0;
      uint16_t qclass = 0;
      if (!ReadQuestion(datagram, &pos, &qname, &qtype, &qclass)) return UdpMatch::kNotOurs;
      if (absl::EqualsIgnoreCase(qname, kServicesName) && qtype == kTypePtr) our_question = true;
    }
    std::vector<std::string> services;
    const unsigned records = unsigned{h.an} + h.ns + h.ar;
    unsigned answers_ours = 0;
    for (unsigned i = 0; i < records; ++i) {
      Record rec;
      if (!ReadRecord(datagram, &pos, &rec)) return UdpMatch::kNotOurs;
      if (rec.type != kTypePtr || !absl::EqualsIgnoreCase(rec.name, kServicesName)) continue;
      size_t rp = rec.rdata_pos;
      std::string target;
      if (!ReadDnsName(datagram, &rp, &target) || rp != rec.rdata_pos + rec.rdlength)
        return UdpMatch::kNotOurs;
      ++answers_ours;
      if (absl::EndsWithIgnoreCase(target, ".local")) target.resize(target.size() - 6);
      if (services.size() < 16) services.push_back(std::move(target));
    }
    // Ours: it names our question, or answers it (a responder may omit the question).
    if (!our_question && answers_ours == 0) return UdpMatch::kNotOurs;
    Verify(*ev, service());
    SetFact(*ev, "services", absl::StrCat(answers_ours));
    if (!services.empty()) ev->banner = Sanitise(absl::StrJoin(services, " "), kMaxBanner);
    return UdpMatch::kDone;
  }
};

}  // namespace

const UdpProbe& DnsUdpProbe() {
  static const DnsProbe kProbe;
  return kProbe;
}

const UdpProbe& MdnsUdpProbe() {
  static const MdnsProbe kProbe;
  return kProbe;
}

}  // namespace goalkeeper::probes::udp_internal
