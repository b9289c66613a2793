// The TCP probes of goalkeeper_probes (internal to probes/tcp: the rest of
// the fleet reaches them through probes/tcp_probe.h's registry).
//
//   const TcpProbe& p = RedisProbe();   // p.name() == "redis"
//   auto session = p.Open();
//
// Also the small HTTP answer parser the HTTP-based probes share.
//
// Thread-safety: the probes are immutable singletons; ParseHttp is pure.
#ifndef GOALKEEPER_PROBES_TCP_TCP_PROBES_H_
#define GOALKEEPER_PROBES_TCP_TCP_PROBES_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "probes/tcp_probe.h"

namespace goalkeeper::probes {

// A probe whose sessions are default-constructed `S`.
template <typename S>
class SimpleTcpProbe final : public TcpProbe {
 public:
  SimpleTcpProbe(absl::string_view name, absl::string_view service)
      : name_(name), service_(service) {}
  absl::string_view name() const override { return name_; }
  absl::string_view service() const override { return service_; }
  std::unique_ptr<TcpSession> Open() const override { return std::make_unique<S>(); }

 private:
  absl::string_view name_;
  absl::string_view service_;
};

// An HTTP/1.x answer as far as it has arrived.
struct HttpAnswer {
  bool status_line = false;  // "HTTP/1.x NNN" seen
  int status = 0;
  bool complete = false;  // headers and the whole body (Content-Length / chunked) arrived
  std::string server;     // the Server header
  std::string www_authenticate;
  std::string body;  // de-chunked when chunked
};
HttpAnswer ParseHttp(absl::string_view buffer);
// "GET <path> HTTP/1.0" with neutral headers (HTTP/1.0: no Host to invent).
std::string HttpGet(absl::string_view path);

const TcpProbe& BannerProbe();
const TcpProbe& HttpProbe();
const TcpProbe& RedisProbe();
const TcpProbe& MemcachedProbe();
const TcpProbe& SshProbe();
const TcpProbe& TelnetProbe();
const TcpProbe& ElasticsearchProbe();
const TcpProbe& DockerProbe();
const TcpProbe& KubernetesProbe();  // plain HTTP inside; the registry wraps it in TLS
const TcpProbe& KubeletProbe();     // plain HTTP inside; the registry wraps it in TLS
const TcpProbe& MysqlProbe();
const TcpProbe& PostgresqlProbe();
const TcpProbe& VncProbe();
const TcpProbe& RdpProbe();
const TcpProbe& CassandraProbe();
const TcpProbe& MongodbProbe();
const TcpProbe& LdapProbe();

}  // namespace goalkeeper::probes

#endif  // GOALKEEPER_PROBES_TCP_TCP_PROBES_H_
