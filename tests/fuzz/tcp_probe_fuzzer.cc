// Fuzzes every TCP probe session: the first byte picks the probe (from
// IdentificationOrder() and the port probes), the second the chunk size; the
// rest is fed to OnData in chunks, then eof. The session must never crash,
// must end in kDone at eof, and its evidence must be within the bounds.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "probes/evidence.h"
#include "probes/tcp_probe.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

std::vector<const goalkeeper::probes::TcpProbe*> Probes() {
  std::vector<const goalkeeper::probes::TcpProbe*> out;
  for (const auto* p : goalkeeper::probes::IdentificationOrder()) out.push_back(p);
  for (int port : {6379, 27017, 9200, 11211, 3306, 5432, 2375, 2376, 6443, 10250, 23, 22, 3389,
                   5900, 9042, 389}) {
    if (const auto* p = goalkeeper::probes::TcpProbeForPort(static_cast<uint16_t>(port)))
      out.push_back(p);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace goalkeeper::probes;
  static const std::vector<const TcpProbe*> probes = Probes();
  if (size < 2 || probes.empty()) return 0;
  const TcpProbe* probe = probes[data[0] % probes.size()];
  const size_t chunk = size_t{1} + data[1];
  absl::string_view rest = goalkeeper::FuzzText(data + 2, size - 2);
  std::unique_ptr<TcpSession> s = probe->Open();
  (void)s->Start();
  Evidence ev;
  bool done = false;
  for (size_t i = 0; i < rest.size() && !done; i += chunk) {
    done = s->OnData(rest.substr(i, chunk), false, &ev).kind == TcpStep::Kind::kDone;
  }
  if (!done) FUZZ_CHECK(s->OnData("", true, &ev).kind == TcpStep::Kind::kDone);
  FUZZ_CHECK(ev.service.size() <= kMaxService);
  FUZZ_CHECK(ev.version.size() <= kMaxVersion);
  FUZZ_CHECK(ev.banner.size() <= kMaxBanner);
  FUZZ_CHECK(ev.facts.size() <= kMaxFacts);
  for (const auto& f : ev.facts) FUZZ_CHECK(f.size() <= kMaxFact);
  return 0;
}
