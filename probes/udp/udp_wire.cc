#include "probes/udp/udp_wire.h"

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace goalkeeper::probes::udp_internal {

bool WireReader::U8(uint8_t* v) {
  if (remaining() < 1) return false;
  *v = static_cast<uint8_t>(data_[pos_]);
  pos_ += 1;
  return true;
}

bool WireReader::U16(uint16_t* v) {
  if (remaining() < 2) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(data_.data() + pos_);
  *v = static_cast<uint16_t>((p[0] << 8) | p[1]);
  pos_ += 2;
  return true;
}

bool WireReader::U32(uint32_t* v) {
  if (remaining() < 4) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(data_.data() + pos_);
  *v = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  pos_ += 4;
  return true;
}

bool WireReader::Bytes(size_t n, absl::string_view* v) {
  if (remaining() < n) return false;
  *v = data_.substr(pos_, n);
  pos_ += n;
  return true;
}

bool WireReader::Skip(size_t n) {
  if (remaining() < n) return false;
  pos_ += n;
  return true;
}

void PutU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void PutU32(std::string& out, uint32_t v) {
  PutU16(out, static_cast<uint16_t>(v >> 16));
  PutU16(out, static_cast<uint16_t>(v & 0xffff));
}

void SetFact(Evidence& ev, absl::string_view key, absl::string_view value) {
  const std::string prefix = absl::StrCat(Sanitise(key, kMaxFact), "=");
  for (std::string& f : ev.facts) {
    if (absl::StartsWith(f, prefix)) {
      f = Sanitise(absl::StrCat(key, "=", value), kMaxFact);
      return;
    }
  }
  AddFact(ev, key, value);
}

void Verify(Evidence& ev, absl::string_view service) {
  ev.service = Sanitise(service, kMaxService);
  ev.verified = true;
}

// ---- BER

void BerPut(std::string& out, uint8_t tag, absl::string_view contents) {
  out.push_back(static_cast<char>(tag));
  const size_t n = contents.size();
  if (n < 0x80) {
    out.push_back(static_cast<char>(n));
  } else if (n <= 0xff) {
    out.push_back(static_cast<char>(0x81));
    out.push_back(static_cast<char>(n));
  } else {
    // Our requests are small; 0xffff bounds every one of them.
    out.push_back(static_cast<char>(0x82));
    PutU16(out, static_cast<uint16_t>(n > 0xffff ? 0xffff : n));
  }
  out.append(contents.data(), n > 0xffff ? 0xffff : n);
}

std::string BerInteger(int64_t v) {
  // Minimal two's complement, big-endian.
  std::string bytes;
  auto u = static_cast<uint64_t>(v);
  for (int i = 7; i >= 0; --i) bytes.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
  size_t start = 0;
  while (start < 7) {
    const auto b0 = static_cast<unsigned char>(bytes[start]);
    const auto b1 = static_cast<unsigned char>(bytes[start + 1]);
    if ((b0 == 0x00 && (b1 & 0x80) == 0) || (b0 == 0xff && (b1 & 0x80) != 0)) {
      ++start;
    } else {
      break;
    }
  }
  std::string out;
  BerPut(out, 0x02, absl::string_view(bytes).substr(start));
  return out;
}

std::string BerOctets(absl::string_view v) {
  std::string out;
  BerPut(out, 0x04, v);
  return out;
}

std::string BerSeq(uint8_t tag, absl::string_view contents) {
  std::string out;
  BerPut(out, tag, contents);
  return out;
}

bool BerNext(absl::string_view* in, BerTlv* tlv) {
  WireReader r(*in);
  uint8_t tag = 0;
  uint8_t len0 = 0;
  if (!r.U8(&tag) || !r.U8(&len0)) return false;
  if ((tag & 0x1f) == 0x1f) return false;  // multi-byte tags: none in our protocols
  size_t len = 0;
  if (len0 < 0x80) {
    len = len0;
  } else {
    const size_t n = len0 & 0x7f;
    if (n == 0 || n > 3) return false;  // indefinite, or more than 16 MB
    for (size_t i = 0; i < n; ++i) {
      uint8_t b = 0;
      if (!r.U8(&b)) return false;
      len = (len << 8) | b;
    }
  }
  absl::string_view value;
  if (!r.Bytes(len, &value)) return false;
  tlv->tag = tag;
  tlv->value = value;
  *in = r.rest();
  return true;
}

bool BerInt(absl::string_view value, int64_t* v) {
  if (value.empty() || value.size() > 8) return false;
  uint64_t u = (static_cast<unsigned char>(value[0]) & 0x80) ? ~uint64_t{0} : 0;
  for (char c : value) u = (u << 8) | static_cast<unsigned char>(c);
  *v = static_cast<int64_t>(u);
  return true;
}

// ---- DNS names

bool PutDnsName(std::string& out, absl::string_view dotted) {
  if (absl::EndsWith(dotted, ".")) dotted.remove_suffix(1);
  std::string wire;
  if (!dotted.empty()) {
    for (absl::string_view label : absl::StrSplit(dotted, '.')) {
      if (label.empty() || label.size() > 63) return false;
      wire.push_back(static_cast<char>(label.size()));
      wire.append(label.data(), label.size());
    }
  }
  wire.push_back('\0');
  if (wire.size() > 255) return false;
  out += wire;
  return true;
}

bool ReadDnsName(absl::string_view msg, size_t* pos, std::string* name) {
  std::string out;
  size_t p = *pos;
  size_t after = 0;  // where the stream continues once the first pointer is followed
  bool jumped = false;
  int jumps = 0;
  size_t wire = 0;
  while (true) {
    if (p >= msg.size()) return false;
    const auto len = static_cast<unsigned char>(msg[p]);
    if (len == 0) {
      ++p;
      break;
    }
    if ((len & 0xc0) == 0xc0) {
      if (p + 1 >= msg.size()) return false;
      const size_t target = (size_t{len & 0x3fu} << 8) | static_cast<unsigned char>(msg[p + 1]);
      if (!jumped) after = p + 2;
      jumped = true;
      if (++jumps > 32 || target >= msg.size()) return false;
      p = target;
      continue;
    }
    if ((len & 0xc0) != 0) return false;  // extended label types: not in answers we read
    if (p + 1 + len > msg.size()) return false;
    wire += len + 1u;
    if (wire > 255) return false;
    if (!out.empty()) out.push_back('.');
    out.append(msg.data() + p + 1, len);
    p += 1 + len;
  }
  *pos = jumped ? after : p;
  *name = std::move(out);
  return true;
}

}  // namespace goalkeeper::probes::udp_internal
