// Fleio (billing panel) client: finds the customer (client) of an address
// and the client's email. Staff API with `Authorization: Token <key>`,
// page/page_size paging (a page past the end is 404). Per report it lists
// floating IPs once (floating_ip_address -> client), looks projects up by
// OpenStack project id when needed, and caches clients by id.
//
//   FleioClient fleio(config, http);
//   ASSIGN_OR_RETURN(auto by_ip, fleio.FloatingIpClients());
//   ASSIGN_OR_RETURN(std::optional<FleioCustomer> c, fleio.ClientForProject(project_id));
//
// Thread-safety: not thread-safe; one per notifier thread. Create one per
// report so caches never go stale.
#ifndef GOALKEEPER_OWNER_APIS_FLEIO_CLIENT_H_
#define GOALKEEPER_OWNER_APIS_FLEIO_CLIENT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/http_client.h"

namespace goalkeeper {

struct FleioConfig {
  std::string url;    // e.g. https://fleio.example.com (the API is {url}/backend/staffapi/)
  std::string token;  // loaded from token_file / env, never logged
};

struct FleioCustomer {
  std::string id;
  std::string name;   // company, else first and last name, else name
  std::string email;  // "" when the client has none
};

class FleioClient {
 public:
  FleioClient(FleioConfig config, HttpClient& http);

  // floating_ip_address -> client id, from every page of
  // staffapi/openstack/floatingips.
  absl::StatusOr<std::map<std::string, std::string>> FloatingIpClients();
  // The client owning an OpenStack project (staffapi/openstack/projects?search=<id>),
  // nullopt when Fleio does not know the project. Cached.
  absl::StatusOr<std::optional<std::string>> ClientForProject(const std::string& project_id);
  // staffapi/clients/{id}. Cached.
  absl::StatusOr<FleioCustomer> Client(const std::string& id);

  int calls() const { return calls_; }

 private:
  // GET {url}/backend/staffapi/{path_and_query}; an HTTP 404 is NotFound.
  absl::StatusOr<std::string> Get(const std::string& what, const std::string& path_and_query);
  // Every page's objects (JSON text each), page=1.. until `next` is null or
  // a page past the end answers 404.
  absl::StatusOr<std::vector<std::string>> ListAll(const std::string& what,
                                                   const std::string& path_and_query);

  FleioConfig config_;
  HttpClient& http_;
  std::map<std::string, std::optional<std::string>> project_cache_;
  std::map<std::string, FleioCustomer> client_cache_;
  int calls_ = 0;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_OWNER_APIS_FLEIO_CLIENT_H_
