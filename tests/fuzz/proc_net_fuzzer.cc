// Fuzzes ParseProcNet (as each of tcp, tcp6, udp, udp6), the listener
// policy and the differ with the input as a /proc/net file.
//
// Invariants checked: every row is a socket or counted as malformed (never
// more of both than lines); reportable listeners are listening sockets on
// wildcard or public addresses, sorted and unique; a reading diffed with
// itself changes nothing, with nothing before it all appears.
#include <algorithm>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "node/proc_net.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

void Check(absl::string_view input) {
  const size_t lines = static_cast<size_t>(std::count(input.begin(), input.end(), '\n')) + 1;
  for (SocketProtocol p : {SocketProtocol::kTcp, SocketProtocol::kUdp}) {
    for (bool v6 : {false, true}) {
      const ProcNetTable t = ParseProcNet(input, p, v6);
      FUZZ_CHECK(t.sockets.size() + t.malformed_lines <= lines);
      for (const ProcNetSocket& s : t.sockets) {
        FUZZ_CHECK(s.protocol == p);
        if (!v6) FUZZ_CHECK(s.local.family == Family::kIPv4);
      }
      ListenerPolicy policy;
      policy.udp = true;
      policy.exclude_ports = {22};
      const std::vector<Listener> ls = ReportableListeners(t.sockets, policy);
      FUZZ_CHECK(ls.size() <= t.sockets.size());
      FUZZ_CHECK(std::is_sorted(ls.begin(), ls.end()));
      FUZZ_CHECK(std::adjacent_find(ls.begin(), ls.end()) == ls.end());
      for (const Listener& l : ls) {
        FUZZ_CHECK(l.port != 22);
        FUZZ_CHECK(IsWildcardOrPublic(l.address));
        FUZZ_CHECK(!l.ToString().empty());
      }
      const ListenerDiff same = DiffListeners(ls, ls);
      FUZZ_CHECK(same.appeared.empty() && same.gone.empty());
      const ListenerDiff fresh = DiffListeners({}, ls);
      FUZZ_CHECK(fresh.appeared == ls && fresh.gone.empty());
    }
  }
}

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  goalkeeper::Check(goalkeeper::FuzzText(data, size));
  return 0;
}
