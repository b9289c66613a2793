#include "node/agent_state.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/logging.h"

namespace goalkeeper::node {
namespace {

constexpr char kBlobMagic[] = "GKB1";

void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool GetU64(absl::string_view& in, uint64_t* v) {
  if (in.size() < 8) return false;
  *v = 0;
  for (size_t i = 0; i < 8; ++i) {
    *v |= uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  }
  in.remove_prefix(8);
  return true;
}

bool GetBytes(absl::string_view& in, std::string* out) {
  uint64_t n = 0;
  if (!GetU64(in, &n) || n > in.size()) return false;
  out->assign(in.data(), static_cast<size_t>(n));
  in.remove_prefix(static_cast<size_t>(n));
  return true;
}

}  // namespace

std::string SerializeSourceBlob(const SourceBlob& blob) {
  std::string out = kBlobMagic;
  PutU64(out, blob.aggregator.size());
  out += blob.aggregator;
  PutU64(out, blob.pending.size());
  for (const std::string& p : blob.pending) {
    PutU64(out, p.size());
    out += p;
  }
  return out;
}

absl::StatusOr<SourceBlob> ParseSourceBlob(absl::string_view bytes) {
  SourceBlob blob;
  absl::string_view in = bytes;
  uint64_t n = 0;
  auto bad = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("source blob: ", what, " at byte ",
                                                   bytes.size() - in.size(), " of ", bytes.size()));
  };
  if (!absl::ConsumePrefix(&in, kBlobMagic)) return bad("not a GKB1 blob");
  if (!GetBytes(in, &blob.aggregator)) return bad("truncated aggregator state");
  if (!GetU64(in, &n) || n > in.size()) return bad("bad finding count");
  for (uint64_t i = 0; i < n; ++i) {
    std::string p;
    if (!GetBytes(in, &p)) return bad("truncated finding");
    blob.pending.push_back(std::move(p));
  }
  if (!in.empty()) return bad("trailing bytes");
  return blob;
}

std::string SerializeListenerState(const std::vector<Listener>& ls) {
  std::string out;
  for (const Listener& l : ls) {
    absl::StrAppend(&out, SocketProtocolName(l.protocol), " ", l.address.ToString(), " ", l.port,
                    "\n");
  }
  return out;
}

absl::StatusOr<std::vector<Listener>> ParseListenerState(absl::string_view text) {
  std::vector<Listener> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    Listener l;
    uint32_t port = 0;
    std::optional<IpAddress> a;
    if (f.size() == 3) a = IpAddress::Parse(f[1]);
    if (f.size() != 3 || (f[0] != "tcp" && f[0] != "udp") || !a || !absl::SimpleAtoi(f[2], &port) ||
        port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("listener state: bad line '", EscapeLogText(line), "'"));
    }
    l.protocol = f[0] == "tcp" ? SocketProtocol::kTcp : SocketProtocol::kUdp;
    l.address = *a;
    l.port = static_cast<uint16_t>(port);
    out.push_back(l);
  }
  return out;
}

}  // namespace goalkeeper::node
