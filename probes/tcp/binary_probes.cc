// The binary-protocol TCP probes: mysql, postgresql, mongodb, rdp, vnc,
// cassandra, ldap. Bytes built from the protocol documents (MySQL
// client/server protocol, PostgreSQL frontend/backend protocol, MongoDB wire
// protocol + BSON, MS-RDPBCGR, RFC 6143, CQL native protocol v4, RFC 4511).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "probes/evidence.h"
#include "probes/tcp/buffered_session.h"
#include "probes/tcp/tcp_probes.h"

namespace goalkeeper::probes {
namespace {

void Verify(Evidence& ev, absl::string_view service) {
  ev.service = std::string(service);
  ev.verified = true;
}

void PutBe32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// --- mysql -----------------------------------------------------------------
// Initial handshake packet: 3-byte length, sequence 0, protocol 10, the
// server version (NUL-terminated), connection id (4), auth data (8), filler,
// capability flags (lower 2 bytes; CLIENT_SSL = 0x0800). Or an ERR packet
// (0xff, code, message) such as 1130 "Host ... is not allowed to connect".
class MysqlSession final : public BufferedSession {
  std::string Request() override { return ""; }
  Parsed Parse(absl::string_view buf, bool final, Evidence& ev) override {
    if (buf.size() < 4) return final ? Done() : More();
    const size_t len =
        size_t{ByteAt(buf, 0)} | (size_t{ByteAt(buf, 1)} << 8) | (size_t{ByteAt(buf, 2)} << 16);
    if (ByteAt(buf, 3) != 0 || len < 3 || len > 1024) return Done();
    if (buf.size() < 4 + len) return final ? Done() : More();
    absl::string_view p = buf.substr(4, len);
    if (ByteAt(p, 0) == 0xff) {
      const uint16_t code = Le16(p, 1);
      absl::string_view msg = p.substr(3);
      if (absl::ConsumePrefix(&msg, "#")) msg.remove_prefix(std::min<size_t>(5, msg.size()));
      if (code < 1000 || code > 2999) return Done();
      Verify(ev, absl::StrContains(msg, "MariaDB") ? "MariaDB" : "MySQL");
      if (code == 1130) ev.auth = Auth::kRequired;
      ev.banner = Sanitise(msg, kMaxBanner);
      AddFact(ev, "error_code", absl::StrCat(code));
      return Done();
    }
    if (ByteAt(p, 0) != 10) return Done();
    const size_t nul = p.find('\0', 1);
    if (nul == absl::string_view::npos || nul + 1 + 4 + 8 + 1 + 2 > p.size()) return Done();
    absl::string_view version = p.substr(1, nul - 1);
    if (version.empty() || Sanitise(version, 200).size() != version.size()) return Done();
    const uint16_t caps = Le16(p, nul + 1 + 4 + 8 + 1);
    const bool mariadb = absl::StrContains(version, "MariaDB");
    Verify(ev, mariadb ? "MariaDB" : "MySQL");
    absl::string_view product = version;
    if (mariadb) absl::ConsumePrefix(&product, "5.5.5-");
    product = product.substr(0, product.find('-'));
    ev.version = Sanitise(product, kMaxVersion);
    ev.banner = Sanitise(version, kMaxBanner);
    ev.tls_offered = (caps & 0x0800) != 0;
    AddFact(ev, "tls", ev.tls_offered ? "offered" : "not_offered");
    return Done();
  }
};

// --- postgresql ------------------------------------------------------------
// SSLRequest: Int32 8, Int32 80877103. Answer: 'S' (TLS offered), 'N', or an
// ErrorResponse ('E', Int32 length, fields "<type>value\0"... "\0").
class PostgresqlSession final : public BufferedSession {
  std::string Request() override {
    std::string r;
    PutBe32(r, 8);
    PutBe32(r, 80877103);
    return r;
  }
  Parsed Parse(absl::string_view buf, bool final, Evidence& ev) override {
    if (buf.empty()) return final ? Done() : More();
    if (buf.size() == 1 && (buf[0] == 'S' || buf[0] == 'N')) {
      Verify(ev, "PostgreSQL");
      ev.tls_offered = buf[0] == 'S';
      AddFact(ev, "tls", ev.tls_offered ? "offered" : "not_offered");
      return Done();
    }
    if (buf[0] != 'E') return Done();
    if (buf.size() < 5) return final ? Done() : More();
    const uint32_t len = Be32(buf, 1);
    if (len < 5 || len > 4096) return Done();
    if (buf.size() < 1 + len) return final ? Done() : More();
    absl::string_view fields = buf.substr(5, len - 4);
    std::string message;
    bool severity = false;
    while (!fields.empty() && fields[0] != '\0') {
      const char type = fields[0];
      const size_t nul = fields.find('\0', 1);
      if (nul == absl::string_view::npos) return Done();
      if (type == 'S') severity = true;
      if (type == 'M') message = std::string(fields.substr(1, nul - 1));
      fields.remove_prefix(nul + 1);
    }
    if (!severity || fields.empty()) return Done();
    Verify(ev, "PostgreSQL");
    ev.banner = Sanitise(message, kMaxBanner);
    return Done();
  }
};

// --- vnc -------------------------------------------------------------------
// RFC 6143: "RFB xxx.yyy\n"; we answer with the same version (3.3, 3.7, 3.8;
// others with 3.8); 3.7+: U8 count + U8 types (count 0: U32 reason length +
// reason); 3.3: U32 security type.
class VncSession final : public BufferedSession {
  std::string Request() override { return ""; }
  Parsed Parse(absl::string_view buf, bool final, Evidence& ev) override {
    if (!sent_) {
      if (buf.size() < 12) return final ? Done() : More();
      absl::string_view v = buf.substr(0, 12);
      if (!absl::StartsWith(v, "RFB ") || v[7] != '.' || v[11] != '\n' ||
          !absl::ascii_isdigit(static_cast<unsigned char>(v[5])) ||
          !absl::ascii_isdigit(static_cast<unsigned char>(v[6])) ||
          !absl::ascii_isdigit(static_cast<unsigned char>(v[9])) ||
          !absl::ascii_isdigit(static_cast<unsigned char>(v[10])))
        return Done();
      const int major = (v[5] - '0') * 10 + (v[6] - '0');
      minor_ = (v[9] - '0') * 10 + (v[10] - '0');
      Verify(ev, "VNC");
      ev.version = absl::StrCat(major, ".", minor_);
      ev.banner = Sanitise(v.substr(0, 11), kMaxBanner);
      if (major != 3 || (minor_ != 3 && minor_ != 7 && minor_ != 8)) minor_ = 8;
      sent_ = true;
      Consume(12);
      return More(absl::StrCat("RFB 003.00", minor_, "\n"));
    }
    std::vector<int> types;
    if (minor_ == 3) {
      if (buf.size() < 4) return final ? Done() : More();
      const uint32_t t = Be32(buf, 0);
      if (t == 0) {
        AddFact(ev, "security", "refused");
        return Done();
      }
      types.push_back(static_cast<int>(t));
    } else {
      if (buf.empty()) return final ? Done() : More();
      const size_t n = ByteAt(buf, 0);
      if (n == 0) {
        AddFact(ev, "security", "refused");
        return Done();
      }
      if (buf.size() < 1 + n) return final ? Done() : More();
      for (size_t i = 0; i < n; ++i) types.push_back(ByteAt(buf, 1 + i));
    }
    bool none = false;
    for (int t : types) {
      none = none || t == 1;
      ev.tls_offered = ev.tls_offered || t == 18 || t == 19;
    }
    ev.auth = none ? Auth::kNotRequired : Auth::kRequired;
    AddFact(ev, "security_types", absl::StrJoin(types, ","));
    return Done();
  }
  bool sent_ = false;
  int minor_ = 8;
};

// --- rdp -------------------------------------------------------------------
// TPKT (3, 0, length BE16) + X.224 Connection Request (LI 14, 0xE0, dst/src
// ref 0, class 0) + RDP_NEG_REQ (type 1, flags 0, length 8 LE16,
// requestedProtocols LE32 = PROTOCOL_SSL | PROTOCOL_HYBRID). Answer: X.224
// Connection Confirm (0xD0) + RDP_NEG_RSP (type 2: selectedProtocol) or
// RDP_NEG_FAILURE (type 3: failureCode), or no negotiation data (standard
// RDP security).
class RdpSession final : public BufferedSession {
  std::string Request() override {
    return std::string(
        "\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x03\x00\x00\x00", 19);
  }
  Parsed Parse(absl::string_view buf, bool final, Evidence& ev) override {
    if (buf.size() < 4) return final ? Done() : More();
    if (ByteAt(buf, 0) != 3 || ByteAt(buf, 1) != 0) return Done();
    const uint16_t len = Be16(buf, 2);
    if (len < 11 || len > 512) return Done();
    if (buf.size() < len) return final ? Done() : More();
    if ((ByteAt(buf, 5) & 0xf0) != 0xd0) return Done();
    Verify(ev, "RDP");
    if (len < 19) {
      AddFact(ev, "security", "rdp");
      return Done();
    }
    const uint8_t type = ByteAt(buf, 11);
    const uint32_t value = Le32(buf, 15);
    if (type == 2) {
      const char* names[] = {"rdp", "ssl", "hybrid", "rdstls", "", "", "", "", "hybrid_ex"};
      const char* name = value < 9 && names[value][0] != '\0' ? names[value] : "other";
      AddFact(ev, "selected_protocol", name);
      ev.tls_offered = value != 0;
      if (value == 2 || value == 8) AddFact(ev, "nla", "required");
    } else if (type == 3) {
      AddFact(ev, "negotiation_failure", absl::StrCat(value));
      ev.tls_offered = value == 1 || value == 5 || value == 6;
    }
    return Done();
  }
};

// --- cassandra -------------------------------------------------------------
// CQL v4 frame: version 0x04, flags 0, stream BE16, opcode OPTIONS (5), body
// length 0. Answer: version 0x84, SUPPORTED (6) with a [string multimap], or
// ERROR (0) (e.g. a server that speaks another protocol version).
class CassandraSession final : public BufferedSession {
  std::string Request() override { return std::string("\x04\x00\x00\x01\x05\x00\x00\x00\x00", 9); }
  Parsed Parse(absl::string_view buf, bool final, Evidence& ev) override {
    if (buf.size() < 9) return final ? Done() : More();
    const uint8_t version = ByteAt(buf, 0);
    if ((version & 0x80) == 0 || (version & 0x7f) < 1 || (version & 0x7f) > 6) return Done();
    const uint8_t opcode = ByteAt(buf, 4);
    const uint32_t len = Be32(buf, 5);
    if (len > kMaxResponse) return Done();
    if (buf.size() < 9 + len) return final ? Done() : More();
    absl::string_view body = buf.substr(9, len);
    if (opcode == 0) {
      if (body.size() < 6) return Done();
      Verify(ev, "Cassandra");
      const uint16_t mlen = Be16(body, 4);
      ev.banner = Sanitise(body.substr(6, mlen), kMaxBanner);
      return Done();
    }
    if (opcode != 6 || body.size() < 2) return Done();
    size_t pos = 0;
    auto str = [&](std::string* out) {
      if (pos + 2 > body.size()) return false;
      const size_t n = Be16(body, pos);
      if (pos + 2 + n > body.size()) return false;
      *out = std::string(body.substr(pos + 2, n));
      pos += 2 + n;
      return true;
    };
    const size_t keys = Be16(body, 0);
    pos = 2;
    std::vector<std::pair<std::string, std::vector<std::string>>> map;
    for (size_t k = 0; k < keys; ++k) {
      std::string key;
      if (!str(&key) || pos + 2 > body.size()) return Done();
      const size_t n = Be16(body, pos);
      pos += 2;
      std::vector<std::string> values;
      for (size_t i = 0; i < n; ++i) {
        std::string v;
        if (!str(&v)) return Done();
        values.push_back(std::move(v));
      }
      map.emplace_back(std::move(key), std::move(values));
    }
    Verify(ev, "Cassandra");
    for (const auto& [key, values] : map) {
      if (key == "CQL_VERSION") AddFact(ev, "cql_version", absl::StrJoin(values, ","));
      if (key == "COMPRESSION") AddFact(ev, "compression", absl::StrJoin(values, ","));
    }
    return Done();
  }
};

}  // namespace

const TcpProbe& MysqlProbe() {
  static const auto* p = new SimpleTcpProbe<MysqlSession>("mysql", "MySQL");
  return *p;
}
const TcpProbe& PostgresqlProbe() {
  static const auto* p = new SimpleTcpProbe<PostgresqlSession>("postgresql", "PostgreSQL");
  return *p;
}
const TcpProbe& VncProbe() {
  static const auto* p = new SimpleTcpProbe<VncSession>("vnc", "VNC");
  return *p;
}
const TcpProbe& RdpProbe() {
  static const auto* p = new SimpleTcpProbe<RdpSession>("rdp", "RDP");
  return *p;
}
const TcpProbe& CassandraProbe() {
  static const auto* p = new SimpleTcpProbe<CassandraSession>("cassandra", "Cassandra");
  return *p;
}

}  // namespace goalkeeper::probes
