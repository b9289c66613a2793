#include "notifier/owner_resolver.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace goalkeeper {

OwnerResolver::OwnerResolver(const std::vector<StaticOwner>& static_owners,
                             OpenStackClient* openstack, FleioClient* fleio)
    : static_owners_(static_owners), openstack_(openstack), fleio_(fleio) {}

absl::StatusOr<std::map<std::string, Owner>> OwnerResolver::Resolve(
    const std::vector<std::string>& ips, ResolutionCounts* counts) {
  std::map<std::string, Owner> out;
  std::vector<std::string> rest;
  auto count = [counts](const std::string& key) {
    if (counts != nullptr) ++counts->by_source_outcome[key];
  };
  for (const std::string& ip : ips) {
    auto addr = IpAddress::Parse(ip);
    const StaticOwner* match = nullptr;
    if (addr) {
      for (const StaticOwner& s : static_owners_) {
        if (s.range.family == addr->family && s.range.first <= addr->value &&
            addr->value <= s.range.last) {
          match = &s;
          break;
        }
      }
    }
    if (match == nullptr) {
      rest.push_back(ip);
      continue;
    }
    Owner o;
    o.key = "static:" + match->name;
    o.name = match->name;
    o.emails = match->emails;
    o.telegram_chat_id = match->telegram_chat_id;
    o.source = "static";
    out[ip] = std::move(o);
    count("static/found");
  }
  if (rest.empty()) return out;

  OpenStackIndex index;
  if (openstack_ != nullptr) {
    absl::StatusOr<OpenStackIndex> built = openstack_->BuildIndex();
    if (!built.ok()) return absl::UnavailableError(absl::StrCat("openstack: ", built.status().message()));
    index = *std::move(built);
  }
  std::map<std::string, std::string> fleio_by_ip;
  if (fleio_ != nullptr) {
    auto listed = fleio_->FloatingIpClients();
    if (!listed.ok()) return absl::UnavailableError(absl::StrCat("fleio: ", listed.status().message()));
    fleio_by_ip = *std::move(listed);
  }

  for (const std::string& ip : rest) {
    Owner o;
    o.source = "none";
    std::string project_label;
    if (auto it = index.by_ip.find(ip); it != index.by_ip.end()) {
      o.project_id = it->second.project_id;
      o.name = it->second.project_name.empty() ? it->second.project_id : it->second.project_name;
      o.key = "project:" + it->second.project_id;
      o.source = "openstack";
      project_label = absl::StrCat("project ", o.name);
      count("openstack/found");
    } else if (openstack_ != nullptr) {
      count("openstack/not_found");
    }
    std::string client_id;
    if (fleio_ != nullptr) {
      if (auto c = fleio_by_ip.find(ip); c != fleio_by_ip.end()) {
        client_id = c->second;
      } else if (!o.project_id.empty()) {
        auto by_project = fleio_->ClientForProject(o.project_id);
        if (!by_project.ok()) {
          return absl::UnavailableError(absl::StrCat("fleio: ", by_project.status().message()));
        }
        if (*by_project) client_id = **by_project;
      }
    }
    if (!client_id.empty()) {
      auto client = fleio_->Client(client_id);
      if (!client.ok()) return absl::UnavailableError(absl::StrCat("fleio: ", client.status().message()));
      o.key = "fleio:" + client_id;
      o.name = client->name.empty() ? absl::StrCat("client ", client_id) : client->name;
      o.source = "fleio";
      if (!client->email.empty()) {
        o.emails = {client->email};
        count("fleio/found");
      } else {
        o.reason = absl::StrCat("no email (Fleio client ", o.name, ")");
        count("fleio/no_email");
      }
    } else if (fleio_ != nullptr) {
      o.reason = o.project_id.empty() ? "no project" : absl::StrCat("no client (", project_label, ")");
      count(o.project_id.empty() ? "fleio/no_project" : "fleio/no_client");
    } else {
      o.reason = o.project_id.empty() ? "no project" : absl::StrCat("no email (", project_label, ")");
    }
    if (o.emails.empty()) {
      if (o.reason.empty()) o.reason = "no owner source configured";
      o.name = kNotFound;
      o.key = kNotFound;
      count("none/not_found");
    }
    out[ip] = std::move(o);
  }
  return out;
}

}  // namespace goalkeeper
