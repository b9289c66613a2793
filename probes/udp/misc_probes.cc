// SSDP (UPnP Device Architecture 1.1), MSSQL browser (MC-SQLR) and Ubiquiti
// discovery probes: text or TLV answers without a transaction id.
//
// ssdp: M-SEARCH * ssdp:all; an "HTTP/1.1 200" answer with ST or USN is
// ours: banner SERVER, facts st, usn, location, responses (kMore: a device
// answers once per service type).
// mssql: CLNT_UCAST_EX (0x03); SVR_RESP 0x05, size, "ServerName;X;
// InstanceName;Y;IsClustered;No;Version;15.0.2000.5;tcp;1433;;".
// ubiquiti: 01 00 00 00; the answer 01 00 len TLVs (type, u16 length):
// 0x03 firmware, 0x0b hostname, 0x0c / 0x14 model, 0x0d ESSID, 0x01 MAC.
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "probes/udp/udp_wire.h"

namespace goalkeeper::probes::udp_internal {
namespace {

class SsdpProbe final : public UdpProbe {
 public:
  absl::string_view name() const override { return "ssdp"; }
  absl::string_view service() const override { return "SSDP"; }
  uint16_t port() const override { return 1900; }

  std::string Request(uint16_t, const UdpProbeOptions&) const override {
    return "M-SEARCH * HTTP/1.1\r\n"
           "HOST: 239.255.255.250:1900\r\n"
           "MAN: \"ssdp:discover\"\r\n"
           "MX: 1\r\n"
           "ST: ssdp:all\r\n"
           "\r\n";
  }

  UdpMatch Parse(absl::string_view datagram, uint16_t, Evidence* ev) const override {
    if (datagram.size() > kMaxDatagram) return UdpMatch::kNotOurs;
    const size_t end = datagram.find("\r\n");
    if (end == absl::string_view::npos) return UdpMatch::kNotOurs;
    absl::string_view status = datagram.substr(0, end);
    if (!absl::ConsumePrefix(&status, "HTTP/1.") || status.size() < 5 ||
        !absl::StartsWith(status.substr(1), " 200"))
      return UdpMatch::kNotOurs;
    std::string server, st, usn, location;
    for (absl::string_view line : absl::StrSplit(datagram.substr(end + 2), "\r\n")) {
      const size_t colon = line.find(':');
      if (colon == absl::string_view::npos) continue;
      const std::string key =
          absl::AsciiStrToUpper(absl::StripAsciiWhitespace(line.substr(0, colon)));
      const absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
      if (key == "SERVER") server = std::string(value);
      if (key == "ST") st = std::string(value);
      if (key == "USN") usn = std::string(value);
      if (key == "LOCATION") location = std::string(value);
    }
    if (st.empty() && usn.empty()) return UdpMatch::kNotOurs;
    const bool first = !(ev->verified && ev->service == service());
    Verify(*ev, service());
    size_t responses = 1;
    for (const std::string& f : ev->facts) {
      absl::string_view v = f;
      size_t n = 0;
      if (absl::ConsumePrefix(&v, "responses=") && absl::SimpleAtoi(v, &n)) responses = n + 1;
    }
    if (first) {
      ev->banner = Sanitise(server, kMaxBanner);
      if (!st.empty()) SetFact(*ev, "st", st);
      if (!usn.empty()) SetFact(*ev, "usn", usn);
      if (!location.empty()) SetFact(*ev, "location", location);
    }
    SetFact(*ev, "responses", absl::StrCat(responses));
    return UdpMatch::kMore;
  }
};

class MssqlProbe final : public UdpProbe {
 public:
  absl::string_view name() const override { return "mssql"; }
  absl::string_view service() const override { return "MSSQL browser"; }
  uint16_t port() const override { return 1434; }

  std::string Request(uint16_t, const UdpProbeOptions&) const override {
    return std::string(1, '\x03');  // CLNT_UCAST_EX: every instance
  }

  UdpMatch Parse(absl::string_view datagram, uint16_t, Evidence* ev) const override {
    if (datagram.size() > kMaxDatagram || datagram.size() < 3) return UdpMatch::kNotOurs;
    if (datagram[0] != '\x05') return UdpMatch::kNotOurs;
    const size_t size = static_cast<unsigned char>(datagram[1]) |
                        (size_t{static_cast<unsigned char>(datagram[2])} << 8);
    if (size != datagram.size() - 3) return UdpMatch::kNotOurs;
    const absl::string_view data = datagram.substr(3);
    if (!absl::StartsWith(data, "ServerName;")) return UdpMatch::kNotOurs;
    // Instances end with ";;"; inside one, fields alternate name;value.
    std::vector<std::string> instances;
    std::string server, version, tcp;
    for (absl::string_view inst : absl::StrSplit(data, ";;", absl::SkipEmpty())) {
      std::vector<absl::string_view> f = absl::StrSplit(inst, ';');
      std::string inst_name;
      for (size_t i = 0; i + 1 < f.size(); i += 2) {
        if (f[i] == "ServerName" && server.empty()) server = std::string(f[i + 1]);
        if (f[i] == "InstanceName") inst_name = std::string(f[i + 1]);
        if (f[i] == "Version" && version.empty()) version = std::string(f[i + 1]);
        if (f[i] == "tcp" && tcp.empty()) tcp = std::string(f[i + 1]);
      }
      if (!inst_name.empty()) instances.push_back(inst_name);
    }
    if (server.empty()) return UdpMatch::kNotOurs;
    Verify(*ev, service());
    ev->version = Sanitise(version, kMaxVersion);
    ev->banner = Sanitise(absl::StrCat(server, " ", absl::StrJoin(instances, ",")), kMaxBanner);
    SetFact(*ev, "server_name", server);
    SetFact(*ev, "instances", absl::StrCat(instances.size()));
    if (!tcp.empty()) SetFact(*ev, "tcp_port", tcp);
    return UdpMatch::kDone;
  }
};

// The product version in a Ubiquiti firmware name ("XM.ar7240.v5.6.3.28591.
// 151130.1749" -> "5.6.3"); the whole name when none is found.
std::string FirmwareVersion(absl::string_view fw) {
  std::vector<absl::string_view> parts = absl::StrSplit(fw, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    absl::string_view p = parts[i];
    if (p.size() >= 2 && p[0] == 'v' && absl::ascii_isdigit(static_cast<unsigned char>(p[1]))) {
      std::vector<absl::string_view> v = {p.substr(1)};
      for (size_t j = i + 1; j < parts.size() && v.size() < 3; ++j) v.push_back(parts[j]);
      return absl::StrJoin(v, ".");
    }
  }
  return std::string(fw);
}

class UbiquitiProbe final : public UdpProbe {
 public:
  absl::string_view name() const override { return "ubiquiti"; }
  absl::string_view service() const override { return "Ubiquiti discovery"; }
  uint16_t port() const override { return 10001; }

  std::string Request(uint16_t, const UdpProbeOptions&) const override {
    return std::string("\x01\x00\x00\x00", 4);
  }

  UdpMatch Parse(absl::string_view datagram, uint16_t, Evidence* ev) const override {
    if (datagram.size() > kMaxDatagram) return UdpMatch::kNotOurs;
    WireReader r(datagram);
    uint8_t version = 0, cmd = 0;
    uint16_t len = 0;
    if (!r.U8(&version) || !r.U8(&cmd) || !r.U16(&len)) return UdpMatch::kNotOurs;
    if (version != 1 || cmd != 0 || len == 0 || len != r.remaining()) return UdpMatch::kNotOurs;
    std::string firmware, hostname, model, essid, mac;
    while (r.remaining() > 0) {
      uint8_t type = 0;
      uint16_t n = 0;
      absl::string_view value;
      if (!r.U8(&type) || !r.U16(&n) || !r.Bytes(n, &value)) return UdpMatch::kNotOurs;
      switch (type) {
        case 0x01:
        case 0x02:
          if (value.size() >= 6 && mac.empty()) {
            const auto* m = reinterpret_cast<const unsigned char*>(value.data());
            mac = absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                                  m[5]);
          }
          break;
        case 0x03:
          firmware = std::string(value);
          break;
        case 0x0b:
          hostname = std::string(value);
          break;
        case 0x0c:
          if (model.empty()) model = std::string(value);
          break;
        case 0x14:
          model = std::string(value);  // the full model name wins
          break;
        case 0x0d:
          essid = std::string(value);
          break;
        default:
          break;
      }
    }
    if (firmware.empty() && hostname.empty() && model.empty()) return UdpMatch::kNotOurs;
    Verify(*ev, service());
    if (!firmware.empty()) {
      ev->version = Sanitise(FirmwareVersion(firmware), kMaxVersion);
      SetFact(*ev, "firmware", firmware);
    }
    ev->banner = Sanitise(absl::StrCat(model, " ", hostname), kMaxBanner);
    if (!model.empty()) SetFact(*ev, "model", model);
    if (!hostname.empty()) SetFact(*ev, "hostname", hostname);
    if (!essid.empty()) SetFact(*ev, "essid", essid);
    if (!mac.empty()) SetFact(*ev, "mac", mac);
    return UdpMatch::kDone;
  }
};

}  // namespace

const UdpProbe& SsdpUdpProbe() {
  static const SsdpProbe kProbe;
  return kProbe;
}

const UdpProbe& MssqlUdpProbe() {
  static const MssqlProbe kProbe;
  return kProbe;
}

const UdpProbe& UbiquitiUdpProbe() {
  static const UbiquitiProbe kProbe;
  return kProbe;
}

}  // namespace goalkeeper::probes::udp_internal
