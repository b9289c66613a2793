// The `openstack:` block shared by the coordinator's inventories and the
// notifier's owner sources, and the settings of an OpenStackClient: Keystone
// v3 password authentication and the catalog endpoint choice. The password
// itself is never in the file: it comes from `password_file` or the
// environment (GOALKEEPER_OPENSTACK_PASSWORD), read by LoadOpenStackPassword
// at start, so a config parser never touches secret files.
//
//   openstack:
//     auth_url: https://keystone.example:5000   # required; no user:pw@
//     username: goalkeeper                      # required
//     project_name: admin                       # required
//     user_domain_name: Default
//     project_domain_name: Default
//     password_file: /run/secrets/openstack
//     interface: public                         # public | internal | admin
//     region: RegionOne                         # "" = any region
//
//   ASSIGN_OR_RETURN(OpenStackConfig os, ParseOpenStackConfig(yaml, field));
//   RETURN_IF_ERROR(LoadOpenStackPassword(os));   // at start
//   OpenStackClient client(os, http, clock);
//
// Thread-safety: plain data and functions without shared state.
#ifndef GOALKEEPER_OWNER_APIS_OPENSTACK_CONFIG_H_
#define GOALKEEPER_OWNER_APIS_OPENSTACK_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/strict_yaml.h"

namespace goalkeeper {

struct OpenStackConfig {
  std::string auth_url;  // http(s)://keystone:5000 (with or without /v3)
  std::string username;
  std::string user_domain_name = "Default";
  std::string project_name;
  std::string project_domain_name = "Default";
  std::string password_file;         // or env GOALKEEPER_OPENSTACK_PASSWORD
  std::string interface = "public";  // public | internal | admin
  std::string region;                // "" = any region
  // Not in the file: set by LoadOpenStackPassword (or a test); never logged.
  std::string password;

  friend bool operator==(const OpenStackConfig&, const OpenStackConfig&) = default;
};

// Parses the block strictly: unknown keys, wrong types, empty names, a URL
// that is not http(s) or carries credentials (refused without quoting it),
// and a missing auth_url, username or project_name are errors naming the
// line and the key path (f.path, e.g. "owners.openstack").
absl::StatusOr<OpenStackConfig> ParseOpenStackConfig(const StrictYamlParser& yaml,
                                                     const YamlField& f);

// Sets config.password from config.password_file, else from
// $GOALKEEPER_OPENSTACK_PASSWORD. An error names the file or the variable,
// never the password.
absl::Status LoadOpenStackPassword(OpenStackConfig& config);

// The block's keys as YAML lines, each indented by `indent` spaces, that
// ParseOpenStackConfig reads back as `config` (the password aside: it is
// never written; an unset password_file is a comment naming the variable).
std::string FormatOpenStackConfig(const OpenStackConfig& config, int indent);

}  // namespace goalkeeper

#endif  // GOALKEEPER_OWNER_APIS_OPENSTACK_CONFIG_H_
