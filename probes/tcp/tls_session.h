// A TCP session that runs TLS (OpenSSL on memory BIOs, client side) around
// an inner session, for HTTPS services: the Kubernetes API (6443), kubelet
// (10250), Docker over TLS (2376). No certificate verification and no SNI:
// the probe only reads what the server tells anyone.
//
//   std::unique_ptr<TcpSession> s = MakeTlsSession(KubernetesProbe().Open());
//   send(s->Start());                  // the ClientHello
//   s->OnData(server_bytes, false, &ev);  // handshake, then the inner HTTP
//
// A failed handshake ends the session unverified; a completed one sets
// ev.tls_offered. At most kMaxResponse ciphertext bytes are read.
//
// Thread-safety: a session is used by one thread at a time; the shared
// SSL_CTX is created once, thread-safely.
#ifndef GOALKEEPER_PROBES_TCP_TLS_SESSION_H_
#define GOALKEEPER_PROBES_TCP_TLS_SESSION_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "probes/tcp_probe.h"

namespace goalkeeper::probes {

std::unique_ptr<TcpSession> MakeTlsSession(std::unique_ptr<TcpSession> inner);

// A probe whose sessions are `inner`'s wrapped in TLS, under `name`.
class TlsTcpProbe final : public TcpProbe {
 public:
  TlsTcpProbe(absl::string_view name, const TcpProbe& inner) : name_(name), inner_(inner) {}
  absl::string_view name() const override { return name_; }
  absl::string_view service() const override { return inner_.service(); }
  std::unique_ptr<TcpSession> Open() const override { return MakeTlsSession(inner_.Open()); }

 private:
  absl::string_view name_;
  const TcpProbe& inner_;
};

}  // namespace goalkeeper::probes

#endif  // GOALKEEPER_PROBES_TCP_TLS_SESSION_H_
