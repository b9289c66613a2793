// A reusable base for TCP probe sessions that accumulate the answer (at most
// kMaxResponse bytes over the whole conversation) and parse the whole buffer
// each time bytes arrive: a subclass writes Request() and a pure Parse().
//
//   class PingSession : public BufferedSession {
//     std::string Request() override { return "PING\r\n"; }
//     Parsed Parse(absl::string_view buf, bool final, Evidence& ev) override {
//       if (!absl::StartsWith(buf, "+PONG\r\n")) return final ? Done() : More();
//       ev.service = "Redis"; ev.verified = true; return Done();
//     }
//   };
//
// The base guarantees the TcpSession rules: bytes beyond kMaxResponse are
// dropped and the buffer is then parsed as final; eof=true (or a full
// buffer) always ends in kDone; after kDone every call returns kDone with the
// same evidence.
//
// Thread-safety: a session is used by one thread at a time.
#ifndef GOALKEEPER_PROBES_TCP_BUFFERED_SESSION_H_
#define GOALKEEPER_PROBES_TCP_BUFFERED_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "probes/evidence.h"
#include "probes/tcp_probe.h"

namespace goalkeeper::probes {

class BufferedSession : public TcpSession {
 public:
  std::string Start() final { return Request(); }
  TcpStep OnData(absl::string_view data, bool eof, Evidence* ev) final;

 protected:
  struct Parsed {
    bool done = false;
    std::string send;  // with !done: bytes to send before reading on
  };
  static Parsed More(std::string send = {}) { return Parsed{false, std::move(send)}; }
  static Parsed Done() { return Parsed{true, {}}; }

  // Bytes to send right after the connect ("" = the server speaks first).
  virtual std::string Request() = 0;
  // `buffer`: every byte received since the last Consume(); `final`: nothing
  // more will come (eof or kMaxResponse reached), so the answer must be
  // decided now (returning More() then counts as Done()). Writes what it
  // learned into `ev` (which starts empty and persists between calls).
  virtual Parsed Parse(absl::string_view buffer, bool final, Evidence& ev) = 0;
  // Drops the first `n` buffered bytes (a multi-step conversation moving on).
  void Consume(size_t n);

 private:
  std::string buffer_;
  size_t received_ = 0;
  bool done_ = false;
  Evidence ev_;
};

// Little helpers for binary parsers (callers check bounds first).
inline uint8_t ByteAt(absl::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }
inline uint16_t Be16(absl::string_view s, size_t i) {
  return static_cast<uint16_t>((ByteAt(s, i) << 8) | ByteAt(s, i + 1));
}
inline uint32_t Be32(absl::string_view s, size_t i) {
  return (static_cast<uint32_t>(Be16(s, i)) << 16) | Be16(s, i + 2);
}
inline uint16_t Le16(absl::string_view s, size_t i) {
  return static_cast<uint16_t>(ByteAt(s, i) | (ByteAt(s, i + 1) << 8));
}
inline uint32_t Le32(absl::string_view s, size_t i) {
  return static_cast<uint32_t>(Le16(s, i)) | (static_cast<uint32_t>(Le16(s, i + 2)) << 16);
}

}  // namespace goalkeeper::probes

#endif  // GOALKEEPER_PROBES_TCP_BUFFERED_SESSION_H_
