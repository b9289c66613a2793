// CLDAP (RFC 4511 messages over UDP), portmapper (RFC 1833 over RFC 5531
// RPC) and NetBIOS NBSTAT (RFC 1002 4.2.17-18) probes.
//
// cldap: searchRequest for the rootDSE (base "", scope base, filter
// (objectClass=*)), message id = txid; a searchResEntry => auth not required,
// facts naming_contexts, vendor, version = vendorVersion; searchResDone ends.
// portmap: CALL prog 100000 v2 PMAPPROC_DUMP, xid = 0x474b0000 | txid; the
// reply's mappings become facts (programs, entries) and a banner.
// netbios: NBSTAT query for "*", NAME_TRN_ID = txid; the node names become
// the banner; facts hostname, workgroup, mac.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "probes/udp/udp_wire.h"

namespace goalkeeper::probes::udp_internal {
namespace {

constexpr absl::string_view kCldapAttributes[] = {"namingContexts", "defaultNamingContext",
                                                  "dnsHostName",    "vendorName",
                                                  "vendorVersion",  "supportedLDAPVersion"};

class CldapProbe final : public UdpProbe {
 public:
  absl::string_view name() const override { return "cldap"; }
  absl::string_view service() const override { return "CLDAP"; }
  uint16_t port() const override { return 389; }

  std::string Request(uint16_t txid, const UdpProbeOptions&) const override {
    std::string attrs;
    for (absl::string_view a : kCldapAttributes) attrs += BerOctets(a);
    std::string filter;
    BerPut(filter, 0x87, "objectClass");       // present
    std::string body = BerOctets("");          // baseObject: the rootDSE
    BerPut(body, 0x0a, std::string(1, '\0'));  // scope baseObject
    BerPut(body, 0x0a, std::string(1, '\0'));  // derefAliases never
    body += BerInteger(0) + BerInteger(0);     // size and time limits
    BerPut(body, 0x01, std::string(1, '\0'));  // typesOnly false
    body += filter + BerSeq(0x30, attrs);
    return BerSeq(0x30, BerInteger(txid) + BerSeq(0x63, body));
  }

  UdpMatch Parse(absl::string_view datagram, uint16_t txid, Evidence* ev) const override {
    if (datagram.size() > kMaxDatagram) return UdpMatch::kNotOurs;
    absl::string_view in = datagram;
    bool entry = false, done = false;
    int64_t result = -1;
    std::vector<std::string> contexts;
    std::string vendor, vendor_version, host;
    while (!in.empty()) {
      BerTlv msg, id, op;
      if (!BerNext(&in, &msg) || msg.tag != 0x30) return UdpMatch::kNotOurs;
      absl::string_view m = msg.value;
      int64_t mid = -1;
      if (!BerNext(&m, &id) || id.tag != 0x02 || !BerInt(id.value, &mid) || mid != txid)
        return UdpMatch::kNotOurs;
      if (!BerNext(&m, &op)) return UdpMatch::kNotOurs;
      if (op.tag == 0x64) {  // searchResEntry
        absl::string_view e = op.value;
        BerTlv dn, attrs;
        if (!BerNext(&e, &dn) || dn.tag != 0x04 || !BerNext(&e, &attrs) || attrs.tag != 0x30)
          return UdpMatch::kNotOurs;
        absl::string_view a = attrs.value;
        while (!a.empty()) {
          BerTlv attr, type, vals;
          if (!BerNext(&a, &attr) || attr.tag != 0x30) return UdpMatch::kNotOurs;
          absl::string_view t = attr.value;
          if (!BerNext(&t, &type) || type.tag != 0x04 || !BerNext(&t, &vals) || vals.tag != 0x31)
            return UdpMatch::kNotOurs;
          absl::string_view v = vals.value;
          BerTlv val;
          while (!v.empty()) {
            if (!BerNext(&v, &val) || val.tag != 0x04) return UdpMatch::kNotOurs;
            if (absl::EqualsIgnoreCase(type.value, "namingContexts")) {
              if (contexts.size() < 8) contexts.emplace_back(val.value);
            } else if (absl::EqualsIgnoreCase(type.value, "vendorName")) {
              vendor = std::string(val.value);
            } else if (absl::EqualsIgnoreCase(type.value, "vendorVersion")) {
              vendor_version = std::string(val.value);
            } else if (absl::EqualsIgnoreCase(type.value, "dnsHostName")) {
              host = std::string(val.value);
            }
          }
        }
        entry = true;
      } else if (op.tag == 0x65) {  // searchResDone
        absl::string_view d = op.value;
        BerTlv code;
        if (!BerNext(&d, &code) || code.tag != 0x0a || !BerInt(code.value, &result))
          return UdpMatch::kNotOurs;
        done = true;
      } else {
        return UdpMatch::kNotOurs;
      }
    }
    if (!entry && !done) return UdpMatch::kNotOurs;
    Verify(*ev, service());
    if (entry) {
      ev->auth = Auth::kNotRequired;
      if (!contexts.empty()) SetFact(*ev, "naming_contexts", absl::StrJoin(contexts, ";"));
      if (!vendor.empty()) SetFact(*ev, "vendor", vendor);
      if (!host.empty()) SetFact(*ev, "dns_host_name", host);
      if (!vendor_version.empty()) ev->version = Sanitise(vendor_version, kMaxVersion);
      ev->banner = Sanitise(absl::StrCat(vendor, " ", host), kMaxBanner);
    }
    if (done) SetFact(*ev, "result", absl::StrCat(result));
    return done ? UdpMatch::kDone : UdpMatch::kMore;
  }
};

constexpr uint32_t kXidHigh = 0x474b0000;  // "GK"

absl::string_view RpcProgramName(uint32_t prog) {
  switch (prog) {
    case 100000:
      return "portmapper";
    case 100001:
      return "rstatd";
    case 100002:
      return "rusersd";
    case 100003:
      return "nfs";
    case 100004:
      return "ypserv";
    case 100005:
      return "mountd";
    case 100007:
      return "ypbind";
    case 100011:
      return "rquotad";
    case 100021:
      return "nlockmgr";
    case 100024:
      return "status";
    case 100227:
      return "nfs_acl";
    default:
      return "";
  }
}

class PortmapProbe final : public UdpProbe {
 public:
  absl::string_view name() const override { return "portmap"; }
  absl::string_view service() const override { return "Portmapper"; }
  uint16_t port() const override { return 111; }

  std::string Request(uint16_t txid, const UdpProbeOptions&) const override {
    std::string out;
    PutU32(out, kXidHigh | txid);
    PutU32(out, 0);       // CALL
    PutU32(out, 2);       // RPC version
    PutU32(out, 100000);  // PMAP_PROG
    PutU32(out, 2);       // PMAP_VERS
    PutU32(out, 4);       // PMAPPROC_DUMP
    PutU32(out, 0);       // cred AUTH_NONE
    PutU32(out, 0);
    PutU32(out, 0);  // verf AUTH_NONE
    PutU32(out, 0);
    return out;
  }

  UdpMatch Parse(absl::string_view datagram, uint16_t txid, Evidence* ev) const override {
    if (datagram.size() > kMaxDatagram) return UdpMatch::kNotOurs;
    WireReader r(datagram);
    uint32_t xid = 0, type = 0, reply = 0;
    if (!r.U32(&xid) || xid != (kXidHigh | txid) || !r.U32(&type) || type != 1 || !r.U32(&reply) ||
        reply > 1)
      return UdpMatch::kNotOurs;
    if (reply == 1) {  // MSG_DENIED: an RPC server refused us
      uint32_t why = 0;
      if (!r.U32(&why)) return UdpMatch::kNotOurs;
      Verify(*ev, service());
      ev->auth = Auth::kRequired;
      SetFact(*ev, "rpc", "denied");
      return UdpMatch::kDone;
    }
    uint32_t flavor = 0, vlen = 0, accept = 0;
    if (!r.U32(&flavor) || !r.U32(&vlen) || vlen > 400 || !r.Skip((vlen + 3u) & ~3u) ||
        !r.U32(&accept))
      return UdpMatch::kNotOurs;
    if (accept != 0) {
      Verify(*ev, service());
      SetFact(*ev, "rpc_accept_stat", absl::StrCat(accept));
      return UdpMatch::kDone;
    }
    std::set<uint32_t> programs;
    std::vector<std::string> names;
    size_t entries = 0;
    while (true) {
      uint32_t follows = 0;
      if (!r.U32(&follows) || follows > 1) return UdpMatch::kNotOurs;
      if (follows == 0) break;
      uint32_t prog = 0, vers = 0, prot = 0, port = 0;
      if (!r.U32(&prog) || !r.U32(&vers) || !r.U32(&prot) || !r.U32(&port))
        return UdpMatch::kNotOurs;
      ++entries;
      if (programs.insert(prog).second) {
        const absl::string_view known = RpcProgramName(prog);
        names.push_back(known.empty() ? absl::StrCat(prog) : std::string(known));
      }
    }
    Verify(*ev, service());
    ev->auth = Auth::kNotRequired;
    SetFact(*ev, "entries", absl::StrCat(entries));
    SetFact(*ev, "programs", absl::StrJoin(names, ","));
    ev->banner = Sanitise(absl::StrJoin(names, " "), kMaxBanner);
    return UdpMatch::kDone;
  }
};

// "*" padded with NULs to 16 bytes, first-level encoded (RFC 1001 14.1).
std::string NbstatName() {
  std::string out(1, '\x20');
  for (int i = 0; i < 16; ++i) {
    const unsigned char c = i == 0 ? '*' : '\0';
    out.push_back(static_cast<char>('A' + (c >> 4)));
    out.push_back(static_cast<char>('A' + (c & 0x0f)));
  }
  out.push_back('\0');
  return out;
}

class NetbiosProbe final : public UdpProbe {
 public:
  absl::string_view name() const override { return "netbios"; }
  absl::string_view service() const override { return "NetBIOS"; }
  uint16_t port() const override { return 137; }

  std::string Request(uint16_t txid, const UdpProbeOptions&) const override {
    std::string out;
    PutU16(out, txid);
    PutU16(out, 0x0000);  // query, no flags
    PutU16(out, 1);
    PutU16(out, 0);
    PutU16(out, 0);
    PutU16(out, 0);
    out += NbstatName();
    PutU16(out, 0x0021);  // NBSTAT
    PutU16(out, 0x0001);  // IN
    return out;
  }

  UdpMatch Parse(absl::string_view datagram, uint16_t txid, Evidence* ev) const override {
    if (datagram.size() > kMaxDatagram) return UdpMatch::kNotOurs;
    WireReader h(datagram);
    uint16_t id = 0, flags = 0, qd = 0, an = 0;
    if (!h.U16(&id) || id != txid || !h.U16(&flags) || !h.U16(&qd) || !h.U16(&an))
      return UdpMatch::kNotOurs;
    if ((flags & 0x8000) == 0 || ((flags >> 11) & 0xf) != 0 || an == 0) return UdpMatch::kNotOurs;
    size_t pos = 12;
    std::string rr_name;
    for (unsigned i = 0; i < qd; ++i) {  // answers normally carry no question
      if (!ReadDnsName(datagram, &pos, &rr_name) || pos + 4 > datagram.size())
        return UdpMatch::kNotOurs;
      pos += 4;
    }
    if (!ReadDnsName(datagram, &pos, &rr_name)) return UdpMatch::kNotOurs;
    WireReader r(datagram.substr(pos));
    uint16_t type = 0, rclass = 0, rdlength = 0;
    uint32_t ttl = 0;
    uint8_t count = 0;
    if (!r.U16(&type) || type != 0x0021 || !r.U16(&rclass) || !r.U32(&ttl) || !r.U16(&rdlength) ||
        rdlength > r.remaining() || !r.U8(&count))
      return UdpMatch::kNotOurs;
    if (size_t{count} * 18 + 1 > rdlength) return UdpMatch::kNotOurs;
    std::vector<std::string> names;
    std::string hostname, workgroup;
    for (unsigned i = 0; i < count; ++i) {
      absl::string_view raw;
      uint8_t suffix = 0;
      uint16_t nflags = 0;
      if (!r.Bytes(15, &raw) || !r.U8(&suffix) || !r.U16(&nflags)) return UdpMatch::kNotOurs;
      std::string nb(absl::StripTrailingAsciiWhitespace(raw.substr(0, raw.find('\0'))));
      const bool group = (nflags & 0x8000) != 0;
      if (suffix == 0x00 && !group && hostname.empty()) hostname = nb;
      if (suffix == 0x00 && group && workgroup.empty()) workgroup = nb;
      if (names.size() < 16) names.push_back(absl::StrFormat("%s<%02x>", nb, suffix));
    }
    Verify(*ev, service());
    ev->banner = Sanitise(absl::StrJoin(names, " "), kMaxBanner);
    SetFact(*ev, "names", absl::StrCat(count));
    if (!hostname.empty()) SetFact(*ev, "hostname", hostname);
    if (!workgroup.empty()) SetFact(*ev, "workgroup", workgroup);
    absl::string_view mac;
    if (size_t{count} * 18 + 7 <= rdlength && r.Bytes(6, &mac)) {
      const auto* m = reinterpret_cast<const unsigned char*>(mac.data());
      SetFact(*ev, "mac",
              absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]));
    }
    return UdpMatch::kDone;
  }
};

}  // namespace

const UdpProbe& CldapUdpProbe() {
  static const CldapProbe kProbe;
  return kProbe;
}

const UdpProbe& PortmapUdpProbe() {
  static const PortmapProbe kProbe;
  return kProbe;
}

const UdpProbe& NetbiosUdpProbe() {
  static const NetbiosProbe kProbe;
  return kProbe;
}

}  // namespace goalkeeper::probes::udp_internal
