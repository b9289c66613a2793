// Wire helpers shared by the UDP probes (internal to probes/udp/): a bounds-
// checked big-endian reader, BER (ASN.1) encoding and decoding for SNMP and
// CLDAP, DNS names for DNS, mDNS and NetBIOS, and the probe singletons that
// the registry lists.
//
//   WireReader r(datagram);
//   uint16_t id = 0;
//   if (!r.U16(&id) || id != txid) return UdpMatch::kNotOurs;
//
// Every reader returns false instead of reading past the end, so a parser
// built from them is total on any bytes.
//
// Thread-safety: plain functions and value types; the probes are immutable.
#ifndef GOALKEEPER_PROBES_UDP_UDP_WIRE_H_
#define GOALKEEPER_PROBES_UDP_UDP_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "probes/evidence.h"
#include "probes/udp_probe.h"

namespace goalkeeper::probes::udp_internal {

// The largest single answer datagram a probe accepts. No service answers our
// requests with more than this in one datagram (memcached frames ~1.4 KB,
// DNS without EDNS 512, monlist 440, CLDAP a few KB); a longer one is not the
// service we asked (or hostile) and is never ours: "oversized" is unverified.
inline constexpr size_t kMaxDatagram = 16 * 1024;

// Big-endian reads over a byte string; each returns false (and reads
// nothing) when the bytes run out.
class WireReader {
 public:
  explicit WireReader(absl::string_view data) : data_(data) {}
  bool U8(uint8_t* v);
  bool U16(uint16_t* v);
  bool U32(uint32_t* v);
  bool Bytes(size_t n, absl::string_view* v);
  bool Skip(size_t n);
  size_t pos() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  absl::string_view rest() const { return data_.substr(pos_); }

 private:
  absl::string_view data_;
  size_t pos_ = 0;
};

void PutU16(std::string& out, uint16_t v);
void PutU32(std::string& out, uint32_t v);

// Sets "key=value" on ev, replacing an earlier fact with the same key (for
// answers that arrive in several datagrams), else appends it like AddFact.
void SetFact(Evidence& ev, absl::string_view key, absl::string_view value);

// Marks ev as a verified answer of `service` (sanitised, bounded).
void Verify(Evidence& ev, absl::string_view service);

// ---- BER (X.690) subset: definite lengths, single-byte tags.
// Appends tag, length and contents.
void BerPut(std::string& out, uint8_t tag, absl::string_view contents);
std::string BerInteger(int64_t v);           // tag 0x02, minimal two's complement
std::string BerOctets(absl::string_view v);  // tag 0x04
std::string BerSeq(uint8_t tag, absl::string_view contents);

// One TLV read from a BER stream.
struct BerTlv {
  uint8_t tag = 0;
  absl::string_view value;
};
// Reads the next TLV at the front of *in and advances past it. False on a
// multi-byte tag, an indefinite or overlong length, or truncation.
bool BerNext(absl::string_view* in, BerTlv* tlv);
// An INTEGER's value when it fits in int64_t (1..8 bytes).
bool BerInt(absl::string_view value, int64_t* v);

// ---- DNS names (RFC 1035 4.1.4).
// Appends the wire form of a dotted name; false when a label is empty (other
// than the root's trailing dot), longer than 63 bytes, or the name exceeds 255.
bool PutDnsName(std::string& out, absl::string_view dotted);
// Reads the name at *pos in msg (following compression pointers, bounded),
// sets *pos past it in the original stream and *name to the dotted form
// ("" for the root), lowercase as sent. False on any malformation.
bool ReadDnsName(absl::string_view msg, size_t* pos, std::string* name);

// ---- The probes (defined in their .cc files).
const UdpProbe& DnsUdpProbe();
const UdpProbe& MdnsUdpProbe();
const UdpProbe& NtpUdpProbe();
const UdpProbe& NtpVersionUdpProbe();
const UdpProbe& NtpClientUdpProbe();
const UdpProbe& SsdpUdpProbe();
const UdpProbe& SnmpUdpProbe();
const UdpProbe& MemcachedUdpProbe();
const UdpProbe& CldapUdpProbe();
const UdpProbe& PortmapUdpProbe();
const UdpProbe& NetbiosUdpProbe();
const UdpProbe& MssqlUdpProbe();
const UdpProbe& UbiquitiUdpProbe();

}  // namespace goalkeeper::probes::udp_internal

#endif  // GOALKEEPER_PROBES_UDP_UDP_WIRE_H_
