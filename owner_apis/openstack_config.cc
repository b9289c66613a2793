#include "owner_apis/openstack_config.h"

#include "absl/strings/str_cat.h"
#include "common/http_client.h"
#include "common/status_macros.h"
#include "common/yaml_write.h"

namespace goalkeeper {

absl::StatusOr<OpenStackConfig> ParseOpenStackConfig(const StrictYamlParser& yaml,
                                                     const YamlField& f) {
  auto non_empty = [&](const YamlField& entry) -> absl::StatusOr<std::string> {
    ASSIGN_OR_RETURN(std::string value, yaml.String(entry));
    if (value.empty()) return yaml.Error(entry, "must not be empty");
    return value;
  };
  OpenStackConfig os;
  bool has_auth_url = false;
  bool has_username = false;
  bool has_project_name = false;
  RETURN_IF_ERROR(yaml.ForEachEntry(
      f,
      {"auth_url", "username", "user_domain_name", "project_name", "project_domain_name",
       "password_file", "interface", "region"},
      [&](const std::string& key, const YamlField& entry) -> absl::Status {
        if (key == "auth_url") {
          ASSIGN_OR_RETURN(os.auth_url,
                           yaml.Url(entry, {"http", "https"}, "an http:// or https:// URL",
                                    absl::StrCat("use ", f.path, ".password_file")));
          has_auth_url = true;
        } else if (key == "username") {
          ASSIGN_OR_RETURN(os.username, non_empty(entry));
          has_username = true;
        } else if (key == "user_domain_name") {
          ASSIGN_OR_RETURN(os.user_domain_name, non_empty(entry));
        } else if (key == "project_name") {
          ASSIGN_OR_RETURN(os.project_name, non_empty(entry));
          has_project_name = true;
        } else if (key == "project_domain_name") {
          ASSIGN_OR_RETURN(os.project_domain_name, non_empty(entry));
        } else if (key == "password_file") {
          ASSIGN_OR_RETURN(os.password_file, non_empty(entry));
        } else if (key == "interface") {
          if (!entry.value.IsScalar() ||
              (entry.value.Scalar() != "public" && entry.value.Scalar() != "internal" &&
               entry.value.Scalar() != "admin")) {
            return yaml.Expected(entry, "public, internal or admin");
          }
          os.interface = entry.value.Scalar();
        } else {
          // "" = the first endpoint of any region.
          ASSIGN_OR_RETURN(os.region, yaml.String(entry));
        }
        return absl::OkStatus();
      }));
  if (!has_auth_url) return yaml.Error(f, "missing required key 'auth_url'");
  if (!has_username) return yaml.Error(f, "missing required key 'username'");
  if (!has_project_name) return yaml.Error(f, "missing required key 'project_name'");
  return os;
}

absl::Status LoadOpenStackPassword(OpenStackConfig& config) {
  ASSIGN_OR_RETURN(config.password,
                   LoadSecret(config.password_file, "GOALKEEPER_OPENSTACK_PASSWORD"));
  return absl::OkStatus();
}

std::string FormatOpenStackConfig(const OpenStackConfig& config, int indent) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  std::string out;
  auto line = [&](absl::string_view key, absl::string_view value) {
    absl::StrAppend(&out, pad, key, ": ", YamlQuoted(value), "\n");
  };
  line("auth_url", config.auth_url);
  line("username", config.username);
  line("user_domain_name", config.user_domain_name);
  line("project_name", config.project_name);
  line("project_domain_name", config.project_domain_name);
  if (config.password_file.empty()) {
    absl::StrAppend(&out, pad,
                    "# password_file: unset: the password is read from "
                    "$GOALKEEPER_OPENSTACK_PASSWORD\n");
  } else {
    line("password_file", config.password_file);
  }
  line("interface", config.interface);
  line("region", config.region);
  return out;
}

}  // namespace goalkeeper
