#include "probes/tcp/buffered_session.h"

#include <algorithm>
#include <string>

namespace goalkeeper::probes {

TcpStep BufferedSession::OnData(absl::string_view data, bool eof, Evidence* ev) {
  if (!done_) {
    const size_t room = kMaxResponse - received_;
    const size_t take = std::min(room, data.size());
    buffer_.append(data.data(), take);
    received_ += take;
    const bool final = eof || received_ >= kMaxResponse;
    Parsed p = Parse(buffer_, final, ev_);
    if (p.done || final) {
      done_ = true;
    } else {
      return TcpStep{TcpStep::Kind::kMore, std::move(p.send)};
    }
  }
  const uint32_t request_bytes = ev->request_bytes;
  const uint32_t response_bytes = ev->response_bytes;
  *ev = ev_;
  ev->request_bytes = request_bytes;
  ev->response_bytes = response_bytes;
  return TcpStep{TcpStep::Kind::kDone, {}};
}

void BufferedSession::Consume(size_t n) { buffer_.erase(0, std::min(n, buffer_.size())); }

}  // namespace goalkeeper::probes
