#include "common/services.h"

#include <string>

namespace goalkeeper {
namespace {

struct Entry {
  uint16_t port;
  ServiceInfo info;
};

constexpr char kCassandraProblem[] =
    "crafted internode or JMX messages can add users, drop the schema and capture writes";
constexpr char kCassandraAdvice[] =
    "never expose Cassandra; allow the internode and JMX ports only between cluster nodes";
constexpr char kSmbProblem[] = "network disclosure; SMB worms spread through it";
constexpr char kSmbAdvice[] = "block ports 135-139 and 445 from the Internet; disable NetBIOS over TCP/IP";

const Entry kCatalogue[] = {
    {22, {"SSH", "password brute force from the whole Internet",
          "allow key-based logins only, or restrict SSH to known addresses or a VPN"}},
    {23, {"Telnet", "clear-text logins; default credentials are taken over by botnets (Mirai)",
          "disable Telnet, use SSH with keys, and change any default credentials"}},
    {111, {"Portmapper (rpcbind)", "DDoS amplifier and disclosure of RPC services",
           "remove rpcbind if unused, otherwise allow only trusted clients"}},
    {135, {"MS RPC", kSmbProblem, kSmbAdvice}},
    {139, {"NetBIOS session", kSmbProblem, kSmbAdvice}},
    {389, {"LDAP", "directory contents disclosed to anyone",
           "allow trusted clients only and use LDAPS or StartTLS"}},
    {445, {"SMB", kSmbProblem, kSmbAdvice}},
    {1433, {"Microsoft SQL Server", "password brute force and data theft",
            "never expose the database; allow only your application servers"}},
    {1521, {"Oracle Database", "password brute force and data theft",
            "never expose the database; allow only your application servers"}},
    {2375, {"Docker API (plain)", "anyone can start containers: full takeover of the host",
            "never expose the Docker API; use the local socket or TLS with client certificates"}},
    {2376, {"Docker API (TLS)", "a takeover of the host if client certificates leak or are not required",
            "restrict the Docker API to management addresses and require client certificates"}},
    {3306, {"MySQL / MariaDB", "password brute force and data theft",
            "never expose the database; allow only your application servers; keep it updated"}},
    {3389, {"Remote Desktop (RDP)", "password brute force and remote exploits",
            "put RDP behind a VPN or restrict it to known addresses"}},
    {5432, {"PostgreSQL", "password brute force and data theft",
            "never expose the database; restrict it in pg_hba.conf and the firewall"}},
    {5900, {"VNC", "weak or no passwords; remote control of the desktop",
            "put VNC behind a VPN or SSH tunnel"}},
    {5984, {"CouchDB", "unauthenticated access to data on misconfigured servers",
            "never expose the database; require authentication; restrict it"}},
    {6379, {"Redis", "unauthenticated data access and takeover of the server",
            "never expose Redis; bind it to a private address; require a password; update"}},
    {6443, {"Kubernetes API", "cluster takeover through weak or leaked credentials",
            "restrict the API server to management networks"}},
    {7000, {"Cassandra internode", kCassandraProblem, kCassandraAdvice}},
    {7001, {"Cassandra internode (TLS)", kCassandraProblem, kCassandraAdvice}},
    {7199, {"Cassandra JMX", kCassandraProblem, kCassandraAdvice}},
    {8888, {"Cassandra OpsCenter", kCassandraProblem, kCassandraAdvice}},
    {9042, {"Cassandra", kCassandraProblem, kCassandraAdvice}},
    {9160, {"Cassandra Thrift", kCassandraProblem, kCassandraAdvice}},
    {9200, {"Elasticsearch", "unauthenticated read, write and delete of all data; old versions allow code execution",
            "never expose Elasticsearch; allow only your application servers; enable security; update"}},
    {9300, {"Elasticsearch transport", "cluster access without authentication",
            "never expose Elasticsearch; allow the transport port only between cluster nodes"}},
    {9306, {"Sphinx search (SphinxQL)", "no authentication: the index can be read, changed or deleted",
            "listen on localhost only, or restrict it"}},
    {9312, {"Sphinx search", "no authentication: the index can be read, changed or deleted",
            "listen on localhost only, or restrict it"}},
    {10250, {"Kubernetes kubelet", "command execution in every pod of the node",
             "never expose the kubelet; require authentication and restrict it"}},
    {11211, {"Memcached", "data theft without authentication; UDP is a massive DDoS amplifier",
             "never expose Memcached; start it with -U 0 to disable UDP; restrict it; update"}},
    {27017, {"MongoDB", "data theft and deletion (ransom wipes)",
             "never expose MongoDB; enable authentication; restrict it"}},
    {27018, {"MongoDB shard", "data theft and deletion (ransom wipes)",
             "never expose MongoDB; enable authentication; restrict it"}},
    {61620, {"Cassandra OpsCenter agent", kCassandraProblem, kCassandraAdvice}},
    {61621, {"Cassandra OpsCenter agent", kCassandraProblem, kCassandraAdvice}},
};

}  // namespace

const ServiceInfo* LookupService(uint16_t port) {
  for (const Entry& e : kCatalogue) {
    if (e.port == port) return &e.info;
  }
  return nullptr;
}

std::string ServiceName(uint16_t port) {
  const ServiceInfo* s = LookupService(port);
  return s != nullptr ? std::string(s->name) : "tcp/" + std::to_string(port);
}

}  // namespace goalkeeper
