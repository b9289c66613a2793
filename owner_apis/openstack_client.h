// OpenStack client for owner resolution and the coordinator's `openstack`
// inventory: Keystone v3 password auth (the token is cached until shortly
// before its expires_at; a 401 re-authenticates once), endpoints from the
// catalog (interface and region configurable), and bulk listings with
// limit/marker paging (following the "next" links) so the number of calls
// grows with pages, never with the number of IPs looked up.
//
//   OpenStackClient os(config, http, clock);   // config.password loaded
//   ASSIGN_OR_RETURN(OpenStackIndex index, os.BuildIndex());
//   auto it = index.ip_to_project.find("203.0.113.7");
//
// Facts about the APIs: shared/reference/owner-apis.md.
// Thread-safety: not thread-safe; one per thread, or guarded by the caller.
#ifndef GOALKEEPER_OWNER_APIS_OPENSTACK_CLIENT_H_
#define GOALKEEPER_OWNER_APIS_OPENSTACK_CLIENT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "owner_apis/openstack_config.h"

namespace goalkeeper {

// How an address was attributed to a project.
enum class OpenStackSource { kFloatingIp, kPort, kRouterGateway };

struct OpenStackOwner {
  std::string project_id;
  std::string project_name;  // "" when the project listing lacks it
  OpenStackSource source = OpenStackSource::kFloatingIp;
};

struct OpenStackIndex {
  std::map<std::string, OpenStackOwner> by_ip;
};

class OpenStackClient {
 public:
  OpenStackClient(OpenStackConfig config, HttpClient& http, const Clock& clock);

  // One bulk pass: floating IPs (floating_ip_address -> project_id), ports on
  // external networks (fixed_ips -> project_id; router gateway ports -> the
  // router's project_id from the router listing), and projects (id -> name).
  // Errors name the API and the problem: "neutron floatingips: HTTP 500",
  // "keystone: malformed JSON: ...", "keystone: 401 Unauthorized (check the
  // username and password)".
  absl::StatusOr<OpenStackIndex> BuildIndex();

  // Every floating IP address and every fixed IP of a port on an external
  // network: the `openstack` inventory source of the coordinator.
  absl::StatusOr<std::vector<std::string>> PublicAddresses();

  // HTTP requests made so far (tests check the count per report).
  int calls() const { return calls_; }

 private:
  struct Token {
    std::string value;
    absl::Time expires_at;
    std::map<std::string, std::string> endpoints;  // type ("network", "identity") -> url
  };
  // One public address and its owner ("" when unknown), before project names.
  struct PublicAddress {
    std::string ip;
    std::string project_id;
    OpenStackSource source = OpenStackSource::kFloatingIp;
  };
  // Floating IPs, then ports on external networks (BuildIndex and
  // PublicAddresses share it).
  absl::StatusOr<std::vector<PublicAddress>> ListPublicAddresses();
  // project id -> name from Keystone.
  absl::StatusOr<std::map<std::string, std::string>> ProjectNames();
  bool TokenUsable() const;
  absl::Status Authenticate();
  absl::StatusOr<std::string> Endpoint(const std::string& type);
  // GET with the token; on 401 re-authenticates once and retries.
  absl::StatusOr<std::string> Get(const std::string& what, const std::string& url);
  // Follows "<resource>_links" next links; returns every page's objects (JSON text each).
  absl::StatusOr<std::vector<std::string>> ListAll(const std::string& what, const std::string& url,
                                                   const std::string& resource);

  OpenStackConfig config_;
  HttpClient& http_;
  const Clock& clock_;
  std::optional<Token> token_;
  int calls_ = 0;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_OWNER_APIS_OPENSTACK_CLIENT_H_
