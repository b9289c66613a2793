#include "common/services.h"

#include <string>

namespace goalkeeper {
namespace {

struct Entry {
  uint16_t port;
  ServiceInfo info;
};

// A probe's display name (design12.md) and the catalogue entry it stands for.
struct Alias {
  const char* name;
  uint16_t port;
  IpProtocol protocol;
};

constexpr char kCassandraProblem[] =
    "crafted internode or JMX messages can add users, drop the schema and capture writes";
constexpr char kCassandraAdvice[] =
    "never expose Cassandra; allow the internode and JMX ports only between cluster nodes";
constexpr char kSmbProblem[] = "network disclosure; SMB worms spread through it";
constexpr char kSmbAdvice[] =
    "block ports 135-139 and 445 from the Internet; disable NetBIOS over TCP/IP";

const Entry kCatalogue[] = {
    {22,
     {"SSH", "password brute force from the whole Internet",
      "allow key-based logins only, or restrict SSH to known addresses or a VPN"}},
    {23,
     {"Telnet", "clear-text logins; default credentials are taken over by botnets (Mirai)",
      "disable Telnet, use SSH with keys, and change any default credentials"}},
    {111,
     {"Portmapper (rpcbind)", "DDoS amplifier and disclosure of RPC services",
      "remove rpcbind if unused, otherwise allow only trusted clients"}},
    {135, {"MS RPC", kSmbProblem, kSmbAdvice}},
    {139, {"NetBIOS session", kSmbProblem, kSmbAdvice}},
    {389,
     {"LDAP", "directory contents disclosed to anyone",
      "allow trusted clients only and use LDAPS or StartTLS"}},
    {445, {"SMB", kSmbProblem, kSmbAdvice}},
    {1433,
     {"Microsoft SQL Server", "password brute force and data theft",
      "never expose the database; allow only your application servers"}},
    {1521,
     {"Oracle Database", "password brute force and data theft",
      "never expose the database; allow only your application servers"}},
    {2375,
     {"Docker API (plain)", "anyone can start containers: full takeover of the host",
      "never expose the Docker API; use the local socket or TLS with client certificates"}},
    {2376,
     {"Docker API (TLS)", "a takeover of the host if client certificates leak or are not required",
      "restrict the Docker API to management addresses and require client certificates"}},
    {3306,
     {"MySQL / MariaDB", "password brute force and data theft",
      "never expose the database; allow only your application servers; keep it updated"}},
    {3389,
     {"Remote Desktop (RDP)", "password brute force and remote exploits",
      "put RDP behind a VPN or restrict it to known addresses"}},
    {5432,
     {"PostgreSQL", "password brute force and data theft",
      "never expose the database; restrict it in pg_hba.conf and the firewall"}},
    {5900,
     {"VNC", "weak or no passwords; remote control of the desktop",
      "put VNC behind a VPN or SSH tunnel"}},
    {5984,
     {"CouchDB", "unauthenticated access to data on misconfigured servers",
      "never expose the database; require authentication; restrict it"}},
    {6379,
     {"Redis", "unauthenticated data access and takeover of the server",
      "never expose Redis; bind it to a private address; require a password; update"}},
    {6443,
     {"Kubernetes API", "cluster takeover through weak or leaked credentials",
      "restrict the API server to management networks"}},
    {7000, {"Cassandra internode", kCassandraProblem, kCassandraAdvice}},
    {7001, {"Cassandra internode (TLS)", kCassandraProblem, kCassandraAdvice}},
    {7199, {"Cassandra JMX", kCassandraProblem, kCassandraAdvice}},
    {8888, {"Cassandra OpsCenter", kCassandraProblem, kCassandraAdvice}},
    {9042, {"Cassandra", kCassandraProblem, kCassandraAdvice}},
    {9160, {"Cassandra Thrift", kCassandraProblem, kCassandraAdvice}},
    {9200,
     {"Elasticsearch",
      "unauthenticated read, write and delete of all data; old versions allow code execution",
      "never expose Elasticsearch; allow only your application servers; enable security; update"}},
    {9300,
     {"Elasticsearch transport", "cluster access without authentication",
      "never expose Elasticsearch; allow the transport port only between cluster nodes"}},
    {9306,
     {"Sphinx search (SphinxQL)", "no authentication: the index can be read, changed or deleted",
      "listen on localhost only, or restrict it"}},
    {9312,
     {"Sphinx search", "no authentication: the index can be read, changed or deleted",
      "listen on localhost only, or restrict it"}},
    {10250,
     {"Kubernetes kubelet", "command execution in every pod of the node",
      "never expose the kubelet; require authentication and restrict it"}},
    {11211,
     {"Memcached", "data theft without authentication; UDP is a massive DDoS amplifier",
      "never expose Memcached; start it with -U 0 to disable UDP; restrict it; update"}},
    {27017,
     {"MongoDB", "data theft and deletion (ransom wipes)",
      "never expose MongoDB; enable authentication; restrict it"}},
    {27018,
     {"MongoDB shard", "data theft and deletion (ransom wipes)",
      "never expose MongoDB; enable authentication; restrict it"}},
    {61620, {"Cassandra OpsCenter agent", kCassandraProblem, kCassandraAdvice}},
    {61621, {"Cassandra OpsCenter agent", kCassandraProblem, kCassandraAdvice}},
};

// The UDP entries: found only by a protocol probe (a request the service answers).
const Entry kUdpCatalogue[] = {
    {53,
     {"DNS open resolver",
      "it answers recursive queries for anyone, so attackers use it to flood others (DDoS "
      "reflection)",
      "disable recursion, or allow it only for your own clients"}},
    {111,
     {"Portmapper (rpcbind)", "DDoS amplifier and disclosure of RPC services",
      "remove rpcbind if unused, otherwise allow only trusted clients"}},
    {123,
     {"NTP", "status queries such as monlist flood others with large answers (DDoS reflection)",
      "update ntpd to 4.2.7p26 or later, or disable status queries"}},
    {137,
     {"NetBIOS", "DDoS amplifier; discloses names of hosts and the network",
      "disable NetBIOS over TCP/IP and block ports 135-139 and 445 from the Internet"}},
    {161,
     {"SNMP",
      "with the community \"public\" anyone reads the device's details; DDoS "
      "reflection",
      "use a private community with authentication (SNMPv3) and allow only your "
      "management addresses"}},
    {389,
     {"CLDAP", "a massive DDoS amplifier and directory disclosure",
      "block 389/udp from the Internet; allow only trusted clients"}},
    {1434,
     {"MSSQL browser", "discloses database instances; DDoS reflection",
      "stop the SQL Server Browser service and connect by port"}},
    {1900, {"SSDP / UPnP", "DDoS reflection", "disable UPnP discovery and block 1900/udp"}},
    {5353,
     {"mDNS", "DDoS reflection; discloses hosts and the network",
      "remove avahi (or the mDNS responder) if unused and block 5353/udp"}},
    {10001,
     {"Ubiquiti discovery", "discloses the device; DDoS reflection",
      "disable the discovery service and block 10001/udp"}},
    {11211,
     {"Memcached", "data theft without authentication; UDP is a massive DDoS amplifier",
      "never expose Memcached; start it with -U 0 to disable UDP; restrict it; update"}},
};

const Alias kAliases[] = {
    {"MySQL", 3306, IpProtocol::kTcp},      {"MariaDB", 3306, IpProtocol::kTcp},
    {"Docker API", 2375, IpProtocol::kTcp}, {"kubelet", 10250, IpProtocol::kTcp},
    {"RDP", 3389, IpProtocol::kTcp},        {"OpenSearch", 9200, IpProtocol::kTcp},
    {"DNS", 53, IpProtocol::kUdp},          {"Portmapper", 111, IpProtocol::kUdp},
    {"SSDP", 1900, IpProtocol::kUdp},
};

}  // namespace

const ServiceInfo* LookupService(uint16_t port) { return LookupService(port, IpProtocol::kTcp); }

const ServiceInfo* LookupService(uint16_t port, IpProtocol protocol) {
  if (protocol == IpProtocol::kUdp) {
    for (const Entry& e : kUdpCatalogue) {
      if (e.port == port) return &e.info;
    }
    return nullptr;
  }
  for (const Entry& e : kCatalogue) {
    if (e.port == port) return &e.info;
  }
  return nullptr;
}

const ServiceInfo* LookupServiceByName(std::string_view name) {
  if (name.empty()) return nullptr;
  for (const Entry& e : kCatalogue) {
    if (name == e.info.name) return &e.info;
  }
  for (const Entry& e : kUdpCatalogue) {
    if (name == e.info.name) return &e.info;
  }
  for (const Alias& a : kAliases) {
    if (name == a.name) return LookupService(a.port, a.protocol);
  }
  return nullptr;
}

std::string ServiceName(uint16_t port) { return ServiceName(port, IpProtocol::kTcp); }

std::string ServiceName(uint16_t port, IpProtocol protocol) {
  const ServiceInfo* s = LookupService(port, protocol);
  if (s != nullptr) return std::string(s->name);
  return (protocol == IpProtocol::kUdp ? "udp/" : "tcp/") + std::to_string(port);
}

}  // namespace goalkeeper
