// NTP probes (RFC 5905; RFC 9327 mode 6; ntpd's mode 7 "ntpdc" requests).
//
// ntp: one mode 7 MON_GETLIST_1 request (implementation 3, request 42). A
// mode 7 data answer => monlist=yes with the entry count, kMore while the
// more bit is set. A mode 7 error answer, or any mode 6 answer => verified
// NTP, monlist=no. Mode 7 has no transaction id: answers match by mode,
// implementation and request code.
//
// ntp-version: a mode 6 READVAR (opcode 2) for the system variables, sequence
// = txid; version from version="ntpd 4.2.8p15@..." (a single datagram cannot
// be both a mode 6 and a mode 7 request, hence separate probes).
//
// ntp-client: a mode 3 client request, what every NTP server answers even
// when status queries are refused (NTPsec has no mode 7; Debian's default
// `restrict default ... noquery` drops mode 6). The transmit timestamp
// carries the txid and the server's answer echoes it as its origin timestamp.
// An answer proves NTP (stratum and reference id as facts) and, as this
// probe is asked after the status queries went unanswered, that the server
// refuses them: status=refused, not an amplifier.
//
// The engine asks the port's probes in this order, one per attempt
// (UdpProbesForPort: ntp, ntp-version, ntp-client).
#include <string>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "probes/udp/udp_wire.h"

namespace goalkeeper::probes::udp_internal {
namespace {

constexpr uint8_t kImplXntpd = 3;
constexpr uint8_t kImplXntpdOld = 2;
constexpr uint8_t kReqMonGetlist1 = 42;
constexpr uint8_t kReqMonGetlist = 20;

// A mode 6 answer's data: version="..." gives the version and banner.
void ReadVariables(absl::string_view data, Evidence* ev) {
  const size_t at = data.find("version=\"");
  if (at == absl::string_view::npos) return;
  absl::string_view v = data.substr(at + 9);
  v = v.substr(0, v.find('"'));
  ev->banner = Sanitise(v, kMaxBanner);
  // "ntpd 4.2.8p15@1.3728-o ..." or "ntpd ntpsec-1.2.2 ...": the second word.
  std::vector<absl::string_view> words = absl::StrSplit(v, ' ', absl::SkipEmpty());
  if (words.size() >= 2) {
    absl::string_view ver = words[1];
    if (absl::ConsumePrefix(&ver, "ntpsec-")) SetFact(*ev, "product", "ntpsec");
    ver = ver.substr(0, ver.find('@'));
    ev->version = Sanitise(ver, kMaxVersion);
  }
}

// A mode 6 answer (to any request): header checks; sets *more.
bool Mode6Answer(absl::string_view d, uint16_t* seq, bool* error, bool* more,
                 absl::string_view* data) {
  WireReader r(d);
  uint8_t b0 = 0, b1 = 0;
  uint16_t status = 0, assoc = 0, offset = 0, count = 0;
  if (!r.U8(&b0) || !r.U8(&b1) || !r.U16(seq) || !r.U16(&status) || !r.U16(&assoc) ||
      !r.U16(&offset) || !r.U16(&count))
    return false;
  if ((b0 & 0x07) != 6 || (b1 & 0x80) == 0) return false;
  const unsigned vn = (b0 >> 3) & 0x7u;
  if (vn < 1 || vn > 4) return false;
  if (!r.Bytes(count, data)) return false;
  *error = (b1 & 0x40) != 0;
  *more = (b1 & 0x20) != 0;
  return true;
}

class NtpProbe final : public UdpProbe {
 public:
  absl::string_view name() const override { return "ntp"; }
  absl::string_view service() const override { return "NTP"; }
  uint16_t port() const override { return 123; }

  std::string Request(uint16_t, const UdpProbeOptions&) const override {
    std::string out;
    out.push_back(0x17);  // response 0, more 0, version 2, mode 7
    out.push_back(0x00);  // not authenticated, sequence 0
    out.push_back(static_cast<char>(kImplXntpd));
    out.push_back(static_cast<char>(kReqMonGetlist1));
    out.append(4, '\0');   // err 0, 0 items; mbz, item size 0
    out.append(40, '\0');  // the (empty) data area ntpdc sends
    return out;
  }

  UdpMatch Parse(absl::string_view datagram, uint16_t, Evidence* ev) const override {
    if (datagram.size() > kMaxDatagram || datagram.empty()) return UdpMatch::kNotOurs;
    const auto mode = static_cast<unsigned char>(datagram[0]) & 0x07u;
    if (mode == 6) {
      uint16_t seq = 0;
      bool error = false, more = false;
      absl::string_view data;
      if (!Mode6Answer(datagram, &seq, &error, &more, &data)) return UdpMatch::kNotOurs;
      Verify(*ev, service());
      SetFact(*ev, "monlist", "no");
      ReadVariables(data, ev);
      return UdpMatch::kDone;
    }
    if (mode != 7) return UdpMatch::kNotOurs;
    WireReader r(datagram);
    uint8_t b0 = 0, seq = 0, impl = 0, req = 0;
    uint16_t err_items = 0, item_size = 0;
    if (!r.U8(&b0) || !r.U8(&seq) || !r.U8(&impl) || !r.U8(&req) || !r.U16(&err_items) ||
        !r.U16(&item_size))
      return UdpMatch::kNotOurs;
    if ((b0 & 0x80) == 0) return UdpMatch::kNotOurs;  // a request, not an answer
    if (impl != kImplXntpd && impl != kImplXntpdOld && impl != 0) return UdpMatch::kNotOurs;
    if (req != kReqMonGetlist1 && req != kReqMonGetlist) return UdpMatch::kNotOurs;
    const unsigned err = err_items >> 12;
    const size_t items = err_items & 0x0fffu;
    const size_t size = item_size & 0x0fffu;
    if (items * size > r.remaining()) return UdpMatch::kNotOurs;
    Verify(*ev, service());
    if (err != 0 || (items == 0 && !absl::c_linear_search(ev->facts, "monlist=yes"))) {
      SetFact(*ev, "monlist", "no");
      if (err != 0) SetFact(*ev, "mode7_error", absl::StrCat(err));
      return UdpMatch::kDone;
    }
    SetFact(*ev, "monlist", "yes");
    size_t total = items;
    for (const std::string& f : ev->facts) {
      absl::string_view v = f;
      size_t n = 0;
      if (absl::ConsumePrefix(&v, "monlist_entries=") && absl::SimpleAtoi(v, &n)) total += n;
    }
    SetFact(*ev, "monlist_entries", absl::StrCat(total));
    return (b0 & 0x40) != 0 ? UdpMatch::kMore : UdpMatch::kDone;
  }
};

class NtpVersionProbe final : public UdpProbe {
 public:
  absl::string_view name() const override { return "ntp-version"; }
  absl::string_view service() const override { return "NTP"; }
  uint16_t port() const override { return 123; }

  std::string Request(uint16_t txid, const UdpProbeOptions&) const override {
    std::string out;
    out.push_back(0x16);  // LI 0, version 2, mode 6
    out.push_back(0x02);  // request, opcode READVAR
    PutU16(out, txid);    // sequence
    PutU16(out, 0);       // status
    PutU16(out, 0);       // association 0: the system variables
    PutU16(out, 0);       // offset
    PutU16(out, 0);       // count: all variables
    return out;
  }

  UdpMatch Parse(absl::string_view datagram, uint16_t txid, Evidence* ev) const override {
    if (datagram.size() > kMaxDatagram) return UdpMatch::kNotOurs;
    uint16_t seq = 0;
    bool error = false, more = false;
    absl::string_view data;
    if (!Mode6Answer(datagram, &seq, &error, &more, &data) || seq != txid)
      return UdpMatch::kNotOurs;
    if ((static_cast<unsigned char>(datagram[1]) & 0x1fu) != 2) return UdpMatch::kNotOurs;
    Verify(*ev, service());
    if (error) {
      SetFact(*ev, "readvar", "refused");
      return UdpMatch::kDone;
    }
    SetFact(*ev, "readvar", "answered");
    ReadVariables(data, ev);
    return more ? UdpMatch::kMore : UdpMatch::kDone;
  }
};

class NtpClientProbe final : public UdpProbe {
 public:
  absl::string_view name() const override { return "ntp-client"; }
  absl::string_view service() const override { return "NTP"; }
  uint16_t port() const override { return 123; }

  std::string Request(uint16_t txid, const UdpProbeOptions&) const override {
    std::string out;
    out.push_back(0x23);    // LI 0, version 4, mode 3 (client)
    out.append(39, '\0');   // stratum .. receive timestamp: zero
    AppendStamp(out, txid);  // transmit timestamp
    return out;
  }

  UdpMatch Parse(absl::string_view datagram, uint16_t txid, Evidence* ev) const override {
    // 48 bytes, then optional extension fields and a MAC (RFC 7822).
    if (datagram.size() < 48 || datagram.size() > kMaxDatagram) return UdpMatch::kNotOurs;
    const auto b0 = static_cast<unsigned char>(datagram[0]);
    const unsigned vn = (b0 >> 3) & 0x7u;
    if ((b0 & 0x07u) != 4 || vn < 1 || vn > 4) return UdpMatch::kNotOurs;
    std::string stamp;
    AppendStamp(stamp, txid);
    if (datagram.substr(24, 8) != stamp) return UdpMatch::kNotOurs;  // origin = our transmit
    Verify(*ev, service());
    const auto stratum = static_cast<unsigned char>(datagram[1]);
    SetFact(*ev, "stratum", absl::StrCat(stratum));
    const absl::string_view refid = datagram.substr(12, 4);
    if (stratum <= 1) {  // a kiss code (0: "DENY", "RATE") or a reference clock name
      std::string code;
      for (char c : refid) {
        if (c == '\0') break;
        code.push_back(c);
      }
      code = Sanitise(code, 4);
      if (!code.empty()) SetFact(*ev, stratum == 0 ? "kiss" : "refid", code);
    }
    SetFact(*ev, "status", "refused");
    SetFact(*ev, "monlist", "no");
    return UdpMatch::kDone;
  }

 private:
  // A transmit timestamp that carries `txid`: seconds and fraction words
  // built from it, never all zero (a zero transmit is "unsynchronised").
  static void AppendStamp(std::string& out, uint16_t txid) {
    PutU16(out, 0x4750);  // "GP"
    PutU16(out, txid);
    PutU16(out, static_cast<uint16_t>(txid ^ 0xa5a5u));
    PutU16(out, 0x4b00);
  }
};

}  // namespace

const UdpProbe& NtpUdpProbe() {
  static const NtpProbe kProbe;
  return kProbe;
}

const UdpProbe& NtpVersionUdpProbe() {
  static const NtpVersionProbe kProbe;
  return kProbe;
}

const UdpProbe& NtpClientUdpProbe() {
  static const NtpClientProbe kProbe;
  return kProbe;
}

}  // namespace goalkeeper::probes::udp_internal
