// TCP protocol probes: one conversation per service. After a connect
// succeeds, the engine opens a session, sends Start(), then hands each chunk
// received to OnData(), which says whether to read more (maybe after sending
// a reply) or that the conversation is over, with the evidence.
//
//   const TcpProbe* p = TcpProbeForPort(6379);          // redis
//   std::unique_ptr<TcpSession> s = p->Open();
//   send(s->Start());                                   // "*1\r\n$4\r\nPING\r\n..."
//   TcpStep step = s->OnData(chunk, /*eof=*/false, &ev);
//   // kMore: send step.send (if any) and read on;
//   // kDone: ev is filled (ev.verified false when the answer was not this protocol).
//
// Sessions are pure state machines (no I/O; TLS-wrapped ones run OpenSSL on
// memory BIOs). Rules every probe keeps: benign (reads what the service
// tells anyone; no password, no write, no exploit); a session buffers at most
// kMaxResponse bytes; OnData is total: any bytes, any chunking, never
// crashes, and with eof=true always returns kDone.
//
// Thread-safety: probes are immutable singletons, safe from any thread; a
// session is used by one thread at a time.
#ifndef GOALKEEPER_PROBES_TCP_PROBE_H_
#define GOALKEEPER_PROBES_TCP_PROBE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/strings/string_view.h"
#include "probes/evidence.h"

namespace goalkeeper::probes {

// The most any TCP session buffers from one connection.
inline constexpr size_t kMaxResponse = 16 * 1024;

struct TcpStep {
  enum class Kind { kMore, kDone };
  Kind kind = Kind::kDone;
  std::string send;  // with kMore: bytes to send before reading on (may be empty)
};

class TcpSession {
 public:
  virtual ~TcpSession() = default;
  // Bytes to send right after the connect; "" = the server speaks first.
  virtual std::string Start() = 0;
  // `data`: the bytes received since the last call (may be empty when
  // eof); `eof`: the peer closed or the deadline passed: nothing more comes.
  virtual TcpStep OnData(absl::string_view data, bool eof, Evidence* ev) = 0;
};

class TcpProbe {
 public:
  virtual ~TcpProbe() = default;
  // The key in configs and JSONL: "redis", "mongodb", "http", "banner".
  virtual absl::string_view name() const = 0;
  // The service it recognises: "Redis".
  virtual absl::string_view service() const = 0;
  virtual std::unique_ptr<TcpSession> Open() const = 0;
};

// The catalogue probe of a TCP port (6379 -> redis, 9200 -> elasticsearch,
// 2375 -> docker, ...); nullptr when the port has none.
const TcpProbe* TcpProbeForPort(uint16_t port);
// A probe by name(); nullptr when unknown.
const TcpProbe* TcpProbeByName(absl::string_view name);
// Every TCP probe, in the order identification tries them on a port whose
// own probe did not match (or that has none, with probes: all). The first
// ones cost least (a server-first banner, then HTTP).
std::span<const TcpProbe* const> IdentificationOrder();

}  // namespace goalkeeper::probes

#endif  // GOALKEEPER_PROBES_TCP_PROBE_H_
