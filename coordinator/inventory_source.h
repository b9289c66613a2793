// Where an inventory's addresses come from besides its static targets: its
// `openstack` block (coordinator/config.h), asked each time a scan of the
// inventory starts. ScanManager calls Fetch outside its mutex and checks
// every address against allowed_ranges; tests inject a fake.
//
//   std::unique_ptr<HttpClient> curl = MakeCurlHttpClient(CurlOptions());
//   RetryingHttpClient http(*curl, RetryPolicy{});
//   ASSIGN_OR_RETURN(std::unique_ptr<InventorySource> source,
//                    MakeOpenStackInventorySource(config, http, clock));
//   ASSIGN_OR_RETURN(std::vector<std::string> ips, source->Fetch("cloud"));
//
// Thread-safety: implementations are thread-safe.
#ifndef GOALKEEPER_COORDINATOR_INVENTORY_SOURCE_H_
#define GOALKEEPER_COORDINATOR_INVENTORY_SOURCE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "coordinator/config.h"

namespace goalkeeper {

class InventorySource {
 public:
  virtual ~InventorySource() = default;
  // The addresses of `inventory` now, each one IPv4 or IPv6 address as text.
  // Errors name the API and the problem, never a secret: "keystone: 401
  // Unauthorized (check the username and password)", "neutron ports: HTTP 503".
  virtual absl::StatusOr<std::vector<std::string>> Fetch(const std::string& inventory) = 0;
};

// One OpenStackClient (owner_apis/openstack_client.h: floating IPs and the
// addresses of ports on external networks) per inventory with an `openstack`
// block, over `http`, which must outlive the source. A client keeps its
// Keystone token across scans; fetches of one inventory take turns.
// Each password is read now, from password_file or else the environment
// variable GOALKEEPER_OPENSTACK_PASSWORD; errors are InvalidArgument naming
// the inventory and the file or variable, never the value:
// "inventories.cloud.openstack.password_file: cannot read secret file
// '/run/secrets/os': No such file or directory".
absl::StatusOr<std::unique_ptr<InventorySource>> MakeOpenStackInventorySource(
    const CoordinatorConfig& config, HttpClient& http, const Clock& clock);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_INVENTORY_SOURCE_H_
