// Resolves each exposed IP to its owner: the configured sources fill the
// record in order until it has emails.
//   1. owners.static: CIDR -> name, emails (a match is final);
//   2. OpenStack: floating IP / public port / router gateway -> project;
//   3. Fleio: floating IP -> client, or project -> client; client -> email.
// OpenStack and Fleio are listed in bulk once per report (calls grow with
// pages, not with findings). An IP that ends without emails gets owner
// "NOT FOUND" and the reason, and goes to the operators.
//
//   OwnerResolver resolver(config.static_owners, openstack.get(), fleio_factory);
//   ASSIGN_OR_RETURN(std::map<std::string, Owner> owners, resolver.Resolve(ips));
//
// Thread-safety: not thread-safe; one per report.
#ifndef GOALKEEPER_NOTIFIER_OWNER_RESOLVER_H_
#define GOALKEEPER_NOTIFIER_OWNER_RESOLVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "notifier/config.h"
#include "owner_apis/fleio_client.h"
#include "owner_apis/openstack_client.h"

namespace goalkeeper {

inline constexpr char kNotFound[] = "NOT FOUND";

struct Owner {
  std::string key;   // stable id: "static:ACME", "fleio:42", "project:<id>", "NOT FOUND"
  std::string name;  // "ACME", Fleio client name, project name, or "NOT FOUND"
  std::vector<std::string> emails;
  std::string telegram_chat_id;
  std::string project_id;  // when OpenStack knew it
  std::string source;      // "static", "openstack", "fleio", "none"
  std::string reason;  // why NOT FOUND: "no project", "no client", "no email", "lookup failed: ..."
};

// Counts of resolutions by source and outcome, for /metrics.
struct ResolutionCounts {
  std::map<std::string, uint64_t> by_source_outcome;  // "static/found", "fleio/no_email", ...
};

class OwnerResolver {
 public:
  // `openstack` and `fleio` may be null (not configured).
  OwnerResolver(const std::vector<StaticOwner>& static_owners, OpenStackClient* openstack,
                FleioClient* fleio);

  // Owner per IP. Fails only when nothing could be resolved at all because a
  // configured source failed (the report is then retried later); a single
  // IP's lookup problem becomes that IP's NOT FOUND reason.
  absl::StatusOr<std::map<std::string, Owner>> Resolve(const std::vector<std::string>& ips,
                                                       ResolutionCounts* counts);

 private:
  const std::vector<StaticOwner>& static_owners_;
  OpenStackClient* openstack_;
  FleioClient* fleio_;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_OWNER_RESOLVER_H_
