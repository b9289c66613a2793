// Fuzzes the UDP probes' parsers. The first byte picks the probe, the next
// two the txid; the rest are datagrams, each a 2-byte big-endian length and
// its bytes. Parse never crashes, kNotOurs leaves the evidence unchanged, and
// every evidence string stays printable and within its bound.
#include <cstddef>
#include <cstdint>
#include <string>

#include "probes/udp_probe.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

bool Printable(const std::string& s, size_t max) {
  if (s.size() > max) return false;
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

void Check(absl::string_view in) {
  const auto probes = probes::AllUdpProbes();
  if (in.size() < 3 || probes.empty()) return;
  const probes::UdpProbe& p = *probes[static_cast<unsigned char>(in[0]) % probes.size()];
  const auto txid = static_cast<uint16_t>((static_cast<unsigned char>(in[1]) << 8) |
                                          static_cast<unsigned char>(in[2]));
  in.remove_prefix(3);
  FUZZ_CHECK(!p.Request(txid, {}).empty());
  probes::Evidence ev;
  while (in.size() >= 2) {
    const size_t n =
        (size_t{static_cast<unsigned char>(in[0])} << 8) | static_cast<unsigned char>(in[1]);
    in.remove_prefix(2);
    const absl::string_view d = in.substr(0, n);
    in.remove_prefix(d.size());
    const probes::Evidence before = ev;
    const probes::UdpMatch m = p.Parse(d, txid, &ev);
    if (m == probes::UdpMatch::kNotOurs) {
      FUZZ_CHECK(ev == before);
    } else {
      FUZZ_CHECK(ev.verified);
      FUZZ_CHECK(ev.service == p.service());
    }
    FUZZ_CHECK(Printable(ev.service, probes::kMaxService));
    FUZZ_CHECK(Printable(ev.version, probes::kMaxVersion));
    FUZZ_CHECK(Printable(ev.banner, probes::kMaxBanner));
    FUZZ_CHECK(ev.facts.size() <= probes::kMaxFacts);
    for (const std::string& f : ev.facts) FUZZ_CHECK(Printable(f, probes::kMaxFact));
  }
}

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  goalkeeper::Check(goalkeeper::FuzzText(data, size));
  return 0;
}
