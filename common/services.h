// The catalogue of services that must not be open to the Internet
// (shared/reference/service-catalogue.md, TCP and UDP entries): a name for
// each (port, transport), why it is dangerous and what the owner should do,
// in plain words.
//
//   const ServiceInfo* s = LookupService(6379);   // Redis (TCP)
//   if (s != nullptr) email << s->name << ": " << s->advice;
//   LookupService(53, IpProtocol::kUdp);          // DNS open resolver
//   LookupServiceByName("Redis");                 // a probe's service, on any port
//
// Thread-safety: immutable static data.
#ifndef GOALKEEPER_COMMON_SERVICES_H_
#define GOALKEEPER_COMMON_SERVICES_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace goalkeeper {

struct ServiceInfo {
  const char* name;     // "Redis"
  const char* problem;  // why it is dangerous when reachable from anywhere
  const char* advice;   // what to do
};

// The transport of a catalogue entry (common/ knows no component, so not
// probes::Transport; the two have the same order).
enum class IpProtocol { kTcp, kUdp };

// nullptr when the port is not in the catalogue. The one-argument form is TCP.
const ServiceInfo* LookupService(uint16_t port);
const ServiceInfo* LookupService(uint16_t port, IpProtocol protocol);
// The entry of a service by its name: a catalogue name ("MySQL / MariaDB")
// or a probe's display name ("MariaDB", "Redis", "DNS", "kubelet"), so a
// service found on an unusual port gets its own advice; nullptr when unknown.
const ServiceInfo* LookupServiceByName(std::string_view name);
// The service name, or "tcp/PORT" ("udp/PORT") for ports outside the catalogue.
std::string ServiceName(uint16_t port);
std::string ServiceName(uint16_t port, IpProtocol protocol);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_SERVICES_H_
