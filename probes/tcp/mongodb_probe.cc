// The MongoDB probe: three pipelined OP_MSG commands (hello, buildInfo,
// listDatabases nameOnly) on the admin database, BSON built and parsed by
// hand (MongoDB wire protocol; bsonspec.org), bounded. Legacy OP_REPLY
// answers are accepted too. listDatabases answered => no auth required;
// code 13 (Unauthorized) => required.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "probes/evidence.h"
#include "probes/tcp/buffered_session.h"
#include "probes/tcp/tcp_probes.h"

namespace goalkeeper::probes {
namespace {

void PutLe32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// {<command>: 1, [nameOnly: true,] $db: "admin"}
std::string CommandDoc(absl::string_view command, bool name_only) {
  std::string e;
  e.push_back('\x10');
  e += std::string(command);
  e.push_back('\0');
  PutLe32(e, 1);
  if (name_only) {
    e += std::string("\x08nameOnly\0\x01", 11);
  }
  e += std::string("\x02$db\0", 5);
  PutLe32(e, 6);
  e += std::string("admin\0", 6);
  std::string doc;
  PutLe32(doc, static_cast<uint32_t>(e.size() + 5));
  doc += e;
  doc.push_back('\0');
  return doc;
}

std::string OpMsg(uint32_t request_id, const std::string& doc) {
  std::string m;
  PutLe32(m, static_cast<uint32_t>(16 + 4 + 1 + doc.size()));
  PutLe32(m, request_id);
  PutLe32(m, 0);
  PutLe32(m, 2013);   // OP_MSG
  PutLe32(m, 0);      // flagBits
  m.push_back('\0');  // section kind 0: body
  m += doc;
  return m;
}

struct BsonValue {
  uint8_t type = 0;
  absl::string_view bytes;  // the value's encoding
};

// The size of a value of `type` at the start of `v`, nullopt when unknown or cut.
std::optional<size_t> ValueSize(uint8_t type, absl::string_view v) {
  auto fixed = [&](size_t n) -> std::optional<size_t> {
    return v.size() >= n ? std::optional<size_t>(n) : std::nullopt;
  };
  auto prefixed = [&](size_t extra) -> std::optional<size_t> {
    if (v.size() < 4) return std::nullopt;
    const size_t n = Le32(v, 0);
    if (n > v.size() || 4 + n + extra > v.size()) return std::nullopt;
    return 4 + n + extra;
  };
  switch (type) {
    case 0x01:
    case 0x09:
    case 0x11:
    case 0x12:
      return fixed(8);
    case 0x02:
    case 0x0D:
    case 0x0E:
      return prefixed(0);
    case 0x03:
    case 0x04:
    case 0x0F: {
      if (v.size() < 4) return std::nullopt;
      const size_t n = Le32(v, 0);
      return n >= 5 && n <= v.size() ? std::optional<size_t>(n) : std::nullopt;
    }
    case 0x05:
      return prefixed(1);
    case 0x07:
      return fixed(12);
    case 0x08:
      return fixed(1);
    case 0x0A:
    case 0x06:
    case 0x7F:
    case 0xFF:
      return size_t{0};
    case 0x10:
      return fixed(4);
    case 0x13:
      return fixed(16);
    case 0x0B: {
      const size_t a = v.find('\0');
      if (a == absl::string_view::npos) return std::nullopt;
      const size_t b = v.find('\0', a + 1);
      return b == absl::string_view::npos ? std::nullopt : std::optional<size_t>(b + 1);
    }
    case 0x0C: {
      auto s = prefixed(0);
      return s && *s + 12 <= v.size() ? std::optional<size_t>(*s + 12) : std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

// Calls f(name, value) for each top-level element; false when malformed.
template <typename F>
bool ForEach(absl::string_view doc, F f) {
  if (doc.size() < 5) return false;
  const size_t n = Le32(doc, 0);
  if (n < 5 || n > doc.size()) return false;
  absl::string_view body = doc.substr(4, n - 5);
  while (!body.empty()) {
    const uint8_t type = ByteAt(body, 0);
    const size_t nul = body.find('\0', 1);
    if (nul == absl::string_view::npos) return false;
    absl::string_view name = body.substr(1, nul - 1);
    absl::string_view rest = body.substr(nul + 1);
    std::optional<size_t> size = ValueSize(type, rest);
    if (!size) return false;
    f(name, BsonValue{type, rest.substr(0, *size)});
    body = rest.substr(*size);
  }
  return true;
}

std::optional<BsonValue> Find(absl::string_view doc, absl::string_view key) {
  std::optional<BsonValue> out;
  if (!ForEach(doc, [&](absl::string_view name, BsonValue v) {
        if (name == key && !out) out = v;
      }))
    return std::nullopt;
  return out;
}

std::optional<double> Number(const std::optional<BsonValue>& v) {
  if (!v) return std::nullopt;
  if (v->type == 0x10) return static_cast<double>(static_cast<int32_t>(Le32(v->bytes, 0)));
  if (v->type == 0x01) {
    uint64_t bits = Le32(v->bytes, 0) | (static_cast<uint64_t>(Le32(v->bytes, 4)) << 32);
    double d;
    static_assert(sizeof d == sizeof bits);
    __builtin_memcpy(&d, &bits, sizeof d);
    return d;
  }
  if (v->type == 0x12)
    return static_cast<double>(
        static_cast<int64_t>(Le32(v->bytes, 0) | (static_cast<uint64_t>(Le32(v->bytes, 4)) << 32)));
  return std::nullopt;
}

std::string String(const std::optional<BsonValue>& v) {
  if (!v || v->type != 0x02 || v->bytes.size() < 5) return "";
  return std::string(v->bytes.substr(4, v->bytes.size() - 5));
}

class MongodbSession final : public BufferedSession {
  std::string Request() override {
    return OpMsg(1, CommandDoc("hello", false)) + OpMsg(2, CommandDoc("buildInfo", false)) +
           OpMsg(3, CommandDoc("listDatabases", true));
  }
  Parsed Parse(absl::string_view buf, bool final, Evidence& ev) override {
    size_t used = 0;
    while (buf.size() >= 16) {
      const size_t len = Le32(buf, 0);
      if (len < 21 || len > kMaxResponse) return Done();
      if (buf.size() < len) break;
      absl::string_view msg = buf.substr(0, len);
      const uint32_t response_to = Le32(msg, 8);
      const uint32_t opcode = Le32(msg, 12);
      absl::string_view doc;
      if (opcode == 2013 && ByteAt(msg, 20) == 0) {
        doc = msg.substr(21);
      } else if (opcode == 1 && len >= 36 + 5) {
        doc = msg.substr(36);
      } else {
        return Done();
      }
      if (!Answer(response_to, doc, ev)) return Done();
      buf.remove_prefix(len);
      used += len;
      if (++answers_ == 3) return Done();
    }
    Consume(used);  // `buf` views the buffer: drop the parsed replies only now
    return final ? Done() : More();
  }
  // false when the document is not a MongoDB reply.
  bool Answer(uint32_t response_to, absl::string_view doc, Evidence& ev) {
    std::optional<BsonValue> ok_v = Find(doc, "ok");
    std::optional<double> ok = Number(ok_v);
    if (!ok) return false;
    const std::optional<double> code = Number(Find(doc, "code"));
    if (response_to == 1) {
      std::optional<double> wire = Number(Find(doc, "maxWireVersion"));
      if (wire) AddFact(ev, "max_wire_version", absl::StrCat(static_cast<int64_t>(*wire)));
      if (!wire && !(code && *code == 59)) return false;
      ev.service = "MongoDB";
      ev.verified = true;
    } else if (response_to == 2) {
      const std::string v = String(Find(doc, "version"));
      if (!v.empty()) ev.version = Sanitise(v, kMaxVersion);
    } else if (response_to == 3) {
      if (*ok == 1) {
        ev.auth = Auth::kNotRequired;
        std::optional<BsonValue> dbs = Find(doc, "databases");
        if (dbs && dbs->type == 0x04) {
          size_t count = 0;
          ForEach(dbs->bytes, [&](absl::string_view, BsonValue) { ++count; });
          AddFact(ev, "databases", absl::StrCat(count));
        }
      } else if (code && *code == 13) {
        ev.auth = Auth::kRequired;
      }
    }
    return true;
  }
  int answers_ = 0;
};

}  // namespace

const TcpProbe& MongodbProbe() {
  static const auto* p = new SimpleTcpProbe<MongodbSession>("mongodb", "MongoDB");
  return *p;
}

// Exposed for tests: a BSON document {<command>: 1, $db: "admin"}.
std::string MongoCommandDocForTest(absl::string_view command) { return CommandDoc(command, false); }

}  // namespace goalkeeper::probes
