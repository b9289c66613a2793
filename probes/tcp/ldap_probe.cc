// The LDAP probe: an anonymous base-scope search of the rootDSE (RFC 4511,
// BER built and parsed by hand, definite lengths only), no bind. An entry
// answered => no auth required; a non-zero resultCode => required.
// namingContexts, supportedLDAPVersion, vendorVersion become facts / the
// version; the StartTLS OID in supportedExtension => TLS offered.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "probes/evidence.h"
#include "probes/tcp/buffered_session.h"
#include "probes/tcp/tcp_probes.h"

namespace goalkeeper::probes {
namespace {

std::string Tlv(uint8_t tag, absl::string_view content) {
  std::string out(1, static_cast<char>(tag));
  if (content.size() < 128) {
    out.push_back(static_cast<char>(content.size()));
  } else {
    out.push_back('\x82');
    out.push_back(static_cast<char>((content.size() >> 8) & 0xff));
    out.push_back(static_cast<char>(content.size() & 0xff));
  }
  return out + std::string(content);
}

struct Ber {
  uint8_t tag = 0;
  absl::string_view content;
  size_t size = 0;  // header + content
};

// The TLV at the start of `s`; nullopt when cut or malformed.
std::optional<Ber> ReadTlv(absl::string_view s) {
  if (s.size() < 2) return std::nullopt;
  Ber b;
  b.tag = ByteAt(s, 0);
  size_t len = ByteAt(s, 1);
  size_t head = 2;
  if (len & 0x80) {
    const size_t n = len & 0x7f;
    if (n == 0 || n > 3 || s.size() < 2 + n) return std::nullopt;
    len = 0;
    for (size_t i = 0; i < n; ++i) len = (len << 8) | ByteAt(s, 2 + i);
    head += n;
  }
  if (s.size() < head + len) return std::nullopt;
  b.content = s.substr(head, len);
  b.size = head + len;
  return b;
}

constexpr absl::string_view kStartTls = "1.3.6.1.4.1.1466.20037";

class LdapSession final : public BufferedSession {
  std::string Request() override {
    std::string attrs;
    for (absl::string_view a : {"namingContexts", "supportedLDAPVersion", "vendorName",
                                "vendorVersion", "supportedExtension"})
      attrs += Tlv(0x04, a);
    const std::string search = Tlv(0x04, "") + Tlv(0x0a, std::string(1, '\0')) +
                               Tlv(0x0a, std::string(1, '\0')) + Tlv(0x02, std::string(1, '\0')) +
                               Tlv(0x02, std::string(1, '\0')) + Tlv(0x01, std::string(1, '\0')) +
                               Tlv(0x87, "objectClass") + Tlv(0x30, attrs);
    return Tlv(0x30, Tlv(0x02, "\x01") + Tlv(0x63, search));
  }
  Parsed Parse(absl::string_view buf, bool final, Evidence& ev) override {
    size_t used = 0;
    while (!buf.empty()) {
      std::optional<Ber> msg = ReadTlv(buf);
      if (!msg) break;
      if (msg->tag != 0x30) return Done();
      std::optional<Ber> id = ReadTlv(msg->content);
      if (!id || id->tag != 0x02) return Done();
      std::optional<Ber> op = ReadTlv(msg->content.substr(id->size));
      if (!op) return Done();
      buf.remove_prefix(msg->size);
      used += msg->size;
      if (op->tag == 0x64) {
        if (!Entry(op->content, ev)) return Done();
      } else if (op->tag == 0x65 || op->tag == 0x78) {
        std::optional<Ber> code = ReadTlv(op->content);
        if (!code || code->tag != 0x0a || code->content.empty()) return Done();
        ev.service = "LDAP";
        ev.verified = true;
        const uint8_t rc = ByteAt(code->content, code->content.size() - 1);
        if (rc != 0) {
          if (ev.auth == Auth::kUnknown) ev.auth = Auth::kRequired;
          AddFact(ev, "result_code", absl::StrCat(rc));
        }
        return Done();
      } else {
        return Done();
      }
    }
    Consume(used);  // `buf` views the buffer: drop the parsed messages only now
    return final ? Done() : More();
  }
  bool Entry(absl::string_view content, Evidence& ev) {
    std::optional<Ber> dn = ReadTlv(content);
    if (!dn || dn->tag != 0x04) return false;
    std::optional<Ber> attrs = ReadTlv(content.substr(dn->size));
    if (!attrs || attrs->tag != 0x30) return false;
    ev.service = "LDAP";
    ev.verified = true;
    ev.auth = Auth::kNotRequired;
    absl::string_view rest = attrs->content;
    while (!rest.empty()) {
      std::optional<Ber> attr = ReadTlv(rest);
      if (!attr || attr->tag != 0x30) return false;
      rest.remove_prefix(attr->size);
      std::optional<Ber> type = ReadTlv(attr->content);
      if (!type || type->tag != 0x04) return false;
      std::optional<Ber> set = ReadTlv(attr->content.substr(type->size));
      if (!set || set->tag != 0x31) return false;
      std::vector<std::string> values;
      absl::string_view vs = set->content;
      while (!vs.empty()) {
        std::optional<Ber> v = ReadTlv(vs);
        if (!v || v->tag != 0x04) return false;
        if (values.size() < 8) values.emplace_back(v->content);
        vs.remove_prefix(v->size);
      }
      const absl::string_view name = type->content;
      if (name == "namingContexts") AddFact(ev, "naming_contexts", absl::StrJoin(values, ";"));
      if (name == "supportedLDAPVersion") AddFact(ev, "ldap_versions", absl::StrJoin(values, ","));
      if (name == "vendorName" && !values.empty()) AddFact(ev, "vendor", values[0]);
      if (name == "vendorVersion" && !values.empty()) ev.version = Sanitise(values[0], kMaxVersion);
      if (name == "supportedExtension") {
        for (const std::string& v : values) ev.tls_offered = ev.tls_offered || v == kStartTls;
      }
    }
    return true;
  }
};

}  // namespace

const TcpProbe& LdapProbe() {
  static const auto* p = new SimpleTcpProbe<LdapSession>("ldap", "LDAP");
  return *p;
}

}  // namespace goalkeeper::probes
