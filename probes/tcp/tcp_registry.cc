// The TCP probe registry: the catalogue port map, lookup by name and the
// identification order.
#include <array>
#include <cstdint>
#include <span>
#include <utility>

#include "probes/tcp/tcp_probes.h"
#include "probes/tcp/tls_session.h"
#include "probes/tcp_probe.h"

namespace goalkeeper::probes {
namespace {

const TcpProbe& KubernetesTls() {
  static const auto* p = new TlsTcpProbe("kubernetes", KubernetesProbe());
  return *p;
}
const TcpProbe& KubeletTls() {
  static const auto* p = new TlsTcpProbe("kubelet", KubeletProbe());
  return *p;
}
// Docker over TLS (2376) answers under the name "docker-tls".
const TcpProbe& DockerTls() {
  static const auto* p = new TlsTcpProbe("docker-tls", DockerProbe());
  return *p;
}

const std::array<std::pair<uint16_t, const TcpProbe*>, 16>& PortMap() {
  static const std::array<std::pair<uint16_t, const TcpProbe*>, 16> map = {{
      {6379, &RedisProbe()},
      {11211, &MemcachedProbe()},
      {22, &SshProbe()},
      {23, &TelnetProbe()},
      {9200, &ElasticsearchProbe()},
      {2375, &DockerProbe()},
      {3306, &MysqlProbe()},
      {5432, &PostgresqlProbe()},
      {5900, &VncProbe()},
      {3389, &RdpProbe()},
      {9042, &CassandraProbe()},
      {27017, &MongodbProbe()},
      {389, &LdapProbe()},
      {6443, &KubernetesTls()},
      {10250, &KubeletTls()},
      {2376, &DockerTls()},
  }};
  return map;
}

// Every probe reachable by name (the TLS-wrapped ones under their own name).
const std::array<const TcpProbe*, 18>& AllProbes() {
  static const std::array<const TcpProbe*, 18> all = {
      &BannerProbe(),     &HttpProbe(),   &RedisProbe(),         &MemcachedProbe(),
      &SshProbe(),        &TelnetProbe(), &ElasticsearchProbe(), &DockerProbe(),
      &KubernetesTls(),   &KubeletTls(),  &DockerTls(),          &MysqlProbe(),
      &PostgresqlProbe(), &VncProbe(),    &RdpProbe(),           &CassandraProbe(),
      &MongodbProbe(),    &LdapProbe(),
  };
  return all;
}

}  // namespace

const TcpProbe* TcpProbeForPort(uint16_t port) {
  for (const auto& [p, probe] : PortMap()) {
    if (p == port) return probe;
  }
  return nullptr;
}

const TcpProbe* TcpProbeByName(absl::string_view name) {
  for (const TcpProbe* p : AllProbes()) {
    if (p->name() == name) return p;
  }
  return nullptr;
}

std::span<const TcpProbe* const> IdentificationOrder() {
  // Server-first banner first (costs nothing but waiting), then HTTP, then
  // the client-first protocols. TLS-wrapped probes are never tried here.
  static const std::array<const TcpProbe*, 11> order = {
      &BannerProbe(),    &HttpProbe(),       &MysqlProbe(),  &RedisProbe(),
      &MemcachedProbe(), &PostgresqlProbe(), &RdpProbe(),    &MongodbProbe(),
      &CassandraProbe(), &LdapProbe(),       &DockerProbe(),
  };
  return order;
}

}  // namespace goalkeeper::probes
