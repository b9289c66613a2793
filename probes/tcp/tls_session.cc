#include "probes/tcp/tls_session.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <climits>
#include <memory>
#include <string>

#include "probes/evidence.h"

namespace goalkeeper::probes {
namespace {

SSL_CTX* ClientContext() {
  static SSL_CTX* ctx = [] {
    SSL_CTX* c = SSL_CTX_new(TLS_client_method());
    if (c != nullptr) SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    return c;
  }();
  return ctx;
}

class TlsSession final : public TcpSession {
 public:
  explicit TlsSession(std::unique_ptr<TcpSession> inner) : inner_(std::move(inner)) {
    SSL_CTX* ctx = ClientContext();
    if (ctx == nullptr) return;
    ssl_ = SSL_new(ctx);
    if (ssl_ == nullptr) return;
    rbio_ = BIO_new(BIO_s_mem());
    wbio_ = BIO_new(BIO_s_mem());
    if (rbio_ == nullptr || wbio_ == nullptr) {
      BIO_free(rbio_);
      BIO_free(wbio_);
      SSL_free(ssl_);
      ssl_ = nullptr;
      return;
    }
    BIO_set_mem_eof_return(rbio_, -1);
    SSL_set_bio(ssl_, rbio_, wbio_);  // ssl_ owns both now
    SSL_set_connect_state(ssl_);
  }
  ~TlsSession() override { SSL_free(ssl_); }
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  std::string Start() override {
    if (ssl_ == nullptr) return "";
    Advance();
    return Drain();
  }

  TcpStep OnData(absl::string_view data, bool eof, Evidence* ev) override {
    if (done_ || ssl_ == nullptr) return Finish(ev);
    const size_t room = kMaxResponse - received_;
    if (data.size() > room) {
      data = data.substr(0, room);
      eof = true;
    }
    received_ += data.size();
    if (!data.empty()) BIO_write(rbio_, data.data(), static_cast<int>(data.size()));
    if (!Advance()) return Finish(ev);
    std::string plain;
    char buf[4096];
    while (handshaken_) {
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) break;
      plain.append(buf, static_cast<size_t>(n));
    }
    if (handshaken_ && (!plain.empty() || eof)) {
      TcpStep step = inner_->OnData(plain, eof, &inner_ev_);
      if (step.kind == TcpStep::Kind::kDone) {
        inner_done_ = true;
        return Finish(ev);
      }
      if (!step.send.empty()) SSL_write(ssl_, step.send.data(), static_cast<int>(step.send.size()));
    }
    if (eof) return Finish(ev);
    return TcpStep{TcpStep::Kind::kMore, Drain()};
  }

 private:
  // Runs the handshake on; once it completes, sends the inner request.
  // false when TLS failed.
  bool Advance() {
    if (handshaken_) return true;
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) {
      handshaken_ = true;
      const std::string req = inner_->Start();
      if (!req.empty()) SSL_write(ssl_, req.data(), static_cast<int>(req.size()));
      return true;
    }
    const int err = SSL_get_error(ssl_, r);
    ERR_clear_error();
    return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
  }
  std::string Drain() {
    std::string out;
    char buf[4096];
    while (BIO_ctrl_pending(wbio_) > 0) {
      const int n = BIO_read(wbio_, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  TcpStep Finish(Evidence* ev) {
    if (!done_) {
      done_ = true;
      if (handshaken_ && !inner_done_) inner_->OnData("", true, &inner_ev_);
      inner_ev_.tls_offered = inner_ev_.tls_offered || handshaken_;
    }
    const uint32_t request_bytes = ev->request_bytes;
    const uint32_t response_bytes = ev->response_bytes;
    *ev = inner_ev_;
    ev->request_bytes = request_bytes;
    ev->response_bytes = response_bytes;
    return TcpStep{TcpStep::Kind::kDone, {}};
  }

  std::unique_ptr<TcpSession> inner_;
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;  // owned by ssl_
  bool handshaken_ = false;
  bool done_ = false;
  bool inner_done_ = false;
  size_t received_ = 0;
  Evidence inner_ev_;
};

}  // namespace

std::unique_ptr<TcpSession> MakeTlsSession(std::unique_ptr<TcpSession> inner) {
  return std::make_unique<TlsSession>(std::move(inner));
}

}  // namespace goalkeeper::probes
