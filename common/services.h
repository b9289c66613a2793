// The catalogue of services that must not be open to the Internet (TCP
// entries of shared/reference/service-catalogue.md): a name for each port,
// why it is dangerous and what the owner should do, in plain words.
//
//   const ServiceInfo* s = LookupService(6379);   // Redis
//   if (s != nullptr) email << s->name << ": " << s->advice;
//
// Thread-safety: immutable static data.
#ifndef GOALKEEPER_COMMON_SERVICES_H_
#define GOALKEEPER_COMMON_SERVICES_H_

#include <cstdint>
#include <string>

namespace goalkeeper {

struct ServiceInfo {
  const char* name;     // "Redis"
  const char* problem;  // why it is dangerous when reachable from anywhere
  const char* advice;   // what to do
};

// nullptr when the port is not in the catalogue.
const ServiceInfo* LookupService(uint16_t port);
// The service name, or "tcp/PORT" for ports outside the catalogue.
std::string ServiceName(uint16_t port);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_SERVICES_H_
