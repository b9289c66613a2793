#include "owner_apis/openstack_client.h"

#include <cstdint>
#include <exception>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"
#include "owner_apis/json_util.h"

namespace goalkeeper {
namespace {

using Json = nlohmann::json;

// Neutron caps `limit` at its own pagination_max_limit; it then pages with
// next links, which we follow.
constexpr int kPageSize = 1000;
// Defence against a server whose next links never end.
constexpr int kMaxPages = 100000;
// A token is renewed this long before Keystone says it expires.
constexpr absl::Duration kTokenSlack = absl::Seconds(60);

absl::Status Prefixed(const std::string& what, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
}

absl::Status HttpError(const std::string& what, int status) {
  const std::string msg = absl::StrCat(what, ": HTTP ", status);
  if (status == 401) return absl::UnauthenticatedError(msg);
  if (status == 403) return absl::PermissionDeniedError(msg);
  if (status == 404) return absl::NotFoundError(msg);
  if (status == 429 || status >= 500) return absl::UnavailableError(msg);
  return absl::FailedPreconditionError(msg);
}

// project_id, else the older tenant_id.
std::string ProjectOf(const Json& obj) {
  std::string id = JsonStringField(obj, "project_id");
  return id.empty() ? JsonStringField(obj, "tenant_id") : id;
}

std::string TrimSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// "{base}{suffix}" where a base that already ends with the version ("/v3",
// "/v2.0", as catalogs often have) does not get it twice.
std::string VersionedUrl(const std::string& base, absl::string_view version,
                         absl::string_view rest) {
  std::string b = TrimSlashes(base);
  absl::string_view view(b);
  if (absl::EndsWith(view, version)) view.remove_suffix(version.size());
  return absl::StrCat(view, version, rest);
}

std::string AddQuery(const std::string& url, absl::string_view param) {
  return absl::StrCat(url, absl::StrContains(url, "?") ? "&" : "?", param);
}

// A next link as given (absolute), or a path resolved against `current`'s origin.
absl::StatusOr<std::string> ResolveLink(const std::string& what, const std::string& current,
                                        const std::string& href) {
  if (absl::StartsWith(href, "http://") || absl::StartsWith(href, "https://")) return href;
  if (absl::StartsWith(href, "/") && !absl::StartsWith(href, "//")) {
    return UrlOrigin(current) + href;
  }
  return MalformedJson(what, "next link is neither an http(s) URL nor an absolute path");
}

absl::StatusOr<absl::Time> ParseExpiry(const std::string& s) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return t;
  // Some deployments omit the offset; Keystone's times are UTC.
  if (absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*S", s, &t, &err)) return t;
  return MalformedJson("keystone", "token.expires_at is not an RFC 3339 time");
}

}  // namespace

OpenStackClient::OpenStackClient(OpenStackConfig config, HttpClient& http, const Clock& clock)
    : config_(std::move(config)), http_(http), clock_(clock) {}

bool OpenStackClient::TokenUsable() const {
  return token_.has_value() && clock_.Now() < token_->expires_at - kTokenSlack;
}

absl::Status OpenStackClient::Authenticate() {
  token_.reset();
  const std::string what = "keystone";
  Json body = {{"auth",
                {{"identity",
                  {{"methods", Json::array({"password"})},
                   {"password",
                    {{"user",
                      {{"name", config_.username},
                       {"domain", {{"name", config_.user_domain_name}}},
                       {"password", config_.password}}}}}}},
                 {"scope",
                  {{"project",
                    {{"name", config_.project_name},
                     {"domain", {{"name", config_.project_domain_name}}}}}}}}}};
  HttpRequest req;
  req.method = "POST";
  req.url = VersionedUrl(config_.auth_url, "/v3", "/auth/tokens");
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  // Replace, not throw, should a configured name not be UTF-8.
  req.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  ++calls_;
  absl::StatusOr<HttpResponse> resp = http_.Send(req);
  if (!resp.ok()) return Prefixed(what, resp.status());
  if (resp->status == 401) {
    return absl::UnauthenticatedError(
        "keystone: 401 Unauthorized (check the username and password)");
  }
  if (resp->status != 201 && resp->status != 200) return HttpError(what, resp->status);

  Token token;
  token.value = resp->Header("X-Subject-Token");
  if (token.value.empty()) {
    return absl::InternalError("keystone: the response has no X-Subject-Token header");
  }
  ASSIGN_OR_RETURN(Json doc, ParseApiJson(what, resp->body));
  const Json* tok = JsonField(doc, "token");
  if (tok == nullptr || !tok->is_object()) return MalformedJson(what, "no \"token\" object");
  const std::string expires = JsonStringField(*tok, "expires_at");
  if (expires.empty()) return MalformedJson(what, "no token.expires_at");
  ASSIGN_OR_RETURN(const absl::Time expires_at, ParseExpiry(expires));
  // Keep the expiry on our clock: Keystone's lifetime (expires_at -
  // issued_at) from now, so a skewed clock neither renews every call nor
  // keeps a dead token. Without a usable issued_at, expires_at as given.
  token.expires_at = expires_at;
  if (const std::string issued = JsonStringField(*tok, "issued_at"); !issued.empty()) {
    absl::StatusOr<absl::Time> issued_at = ParseExpiry(issued);
    if (issued_at.ok() && *issued_at <= expires_at) {
      token.expires_at = clock_.Now() + (expires_at - *issued_at);
    }
  }
  const Json* catalog = JsonField(*tok, "catalog");
  if (catalog == nullptr || !catalog->is_array())
    return MalformedJson(what, "no token.catalog array");
  for (const Json& service : *catalog) {
    const std::string type = JsonStringField(service, "type");
    const Json* endpoints = JsonField(service, "endpoints");
    if (type.empty() || endpoints == nullptr || !endpoints->is_array()) continue;
    if (token.endpoints.count(type) != 0) continue;
    for (const Json& ep : *endpoints) {
      if (JsonStringField(ep, "interface") != config_.interface) continue;
      if (!config_.region.empty() && JsonStringField(ep, "region_id") != config_.region &&
          JsonStringField(ep, "region") != config_.region) {
        continue;
      }
      const std::string url = JsonStringField(ep, "url");
      if (url.empty()) continue;
      token.endpoints[type] = url;
      break;
    }
  }
  token_ = std::move(token);
  return absl::OkStatus();
}

absl::StatusOr<std::string> OpenStackClient::Endpoint(const std::string& type) {
  if (!TokenUsable()) RETURN_IF_ERROR(Authenticate());
  auto it = token_->endpoints.find(type);
  if (it == token_->endpoints.end()) {
    return absl::NotFoundError(absl::StrCat(
        "keystone: the catalog has no ", type, " endpoint with interface '", config_.interface, "'",
        config_.region.empty() ? "" : absl::StrCat(" in region '", config_.region, "'")));
  }
  return it->second;
}

absl::StatusOr<std::string> OpenStackClient::Get(const std::string& what, const std::string& url) {
  if (!TokenUsable()) RETURN_IF_ERROR(Authenticate());
  for (int attempt = 0;; ++attempt) {
    HttpRequest req;
    req.method = "GET";
    req.url = url;
    req.headers = {{"X-Auth-Token", token_->value}, {"Accept", "application/json"}};
    ++calls_;
    absl::StatusOr<HttpResponse> resp = http_.Send(req);
    if (!resp.ok()) return Prefixed(what, resp.status());
    if (resp->status == 401) {
      if (attempt == 0) {  // the token may have been revoked: once more with a new one
        RETURN_IF_ERROR(Authenticate());
        continue;
      }
      return absl::UnauthenticatedError(
          absl::StrCat(what, ": 401 Unauthorized after re-authenticating"));
    }
    if (resp->status != 200) return HttpError(what, resp->status);
    return std::move(resp->body);
  }
}

absl::StatusOr<std::vector<std::string>> OpenStackClient::ListAll(const std::string& what,
                                                                  const std::string& url,
                                                                  const std::string& resource) {
  std::vector<std::string> objects;
  std::set<std::string> seen;
  std::string next = AddQuery(url, absl::StrCat("limit=", kPageSize));
  for (int page = 0; !next.empty(); ++page) {
    if (page >= kMaxPages) return MalformedJson(what, "too many pages");
    if (!seen.insert(next).second) return MalformedJson(what, "the next link repeats a page");
    ASSIGN_OR_RETURN(std::string body, Get(what, next));
    ASSIGN_OR_RETURN(Json doc, ParseApiJson(what, body));
    const Json* items = JsonField(doc, resource);
    if (items == nullptr || !items->is_array()) {
      return MalformedJson(what, absl::StrCat("no \"", resource, "\" array"));
    }
    for (const Json& item : *items) {
      if (!item.is_object())
        return MalformedJson(what, absl::StrCat(resource, " holds a non-object"));
      objects.push_back(item.dump(-1, ' ', false, Json::error_handler_t::replace));
    }
    std::string href;
    if (const Json* links = JsonField(doc, resource + "_links");
        links != nullptr && links->is_array()) {
      for (const Json& link : *links) {
        if (JsonStringField(link, "rel") == "next") href = JsonStringField(link, "href");
      }
    }
    if (href.empty() || items->empty()) break;
    ASSIGN_OR_RETURN(std::string resolved, ResolveLink(what, next, href));
    next = std::move(resolved);
  }
  return objects;
}

absl::StatusOr<std::vector<OpenStackClient::PublicAddress>> OpenStackClient::ListPublicAddresses() {
  ASSIGN_OR_RETURN(const std::string network, Endpoint("network"));
  std::vector<PublicAddress> out;

  // Floating IPs, attached or not: each has its project.
  {
    const std::string what = "neutron floatingips";
    ASSIGN_OR_RETURN(std::vector<std::string> fips,
                     ListAll(what, VersionedUrl(network, "/v2.0", "/floatingips"), "floatingips"));
    for (const std::string& text : fips) {
      const Json fip = Json::parse(text, nullptr, false);
      const std::string ip = JsonStringField(fip, "floating_ip_address");
      if (ip.empty()) return MalformedJson(what, "a floating IP has no floating_ip_address");
      out.push_back({ip, ProjectOf(fip), OpenStackSource::kFloatingIp});
    }
  }

  // External networks, then the ports on them in one listing.
  std::vector<std::string> external;
  {
    const std::string what = "neutron networks";
    ASSIGN_OR_RETURN(std::vector<std::string> nets,
                     ListAll(what, VersionedUrl(network, "/v2.0", "/networks?router:external=true"),
                             "networks"));
    for (const std::string& text : nets) {
      const Json net = Json::parse(text, nullptr, false);
      const std::string id = JsonStringField(net, "id");
      if (id.empty()) return MalformedJson(what, "a network has no id");
      // The filter is the server's; check it too.
      const Json* ext = JsonField(net, "router:external");
      if (ext != nullptr && ext->is_boolean() && !ext->get<bool>()) continue;
      external.push_back(id);
    }
  }
  if (external.empty()) return out;

  struct GatewayIp {
    std::string ip;
    std::string router_id;
  };
  std::vector<GatewayIp> gateways;
  {
    const std::string what = "neutron ports";
    std::string url = VersionedUrl(network, "/v2.0", "/ports");
    for (const std::string& id : external) url = AddQuery(url, "network_id=" + UrlEncode(id));
    ASSIGN_OR_RETURN(std::vector<std::string> ports, ListAll(what, url, "ports"));
    const std::set<std::string> external_set(external.begin(), external.end());
    for (const std::string& text : ports) {
      const Json port = Json::parse(text, nullptr, false);
      if (external_set.count(JsonStringField(port, "network_id")) == 0 &&
          JsonField(port, "network_id") != nullptr) {
        continue;  // a server that ignored the filter
      }
      const std::string owner = JsonStringField(port, "device_owner");
      if (owner == "network:floatingip") continue;  // the floating IP listing has it
      const Json* fixed = JsonField(port, "fixed_ips");
      if (fixed == nullptr || !fixed->is_array()) {
        return MalformedJson(what, "a port has no fixed_ips array");
      }
      for (const Json& f : *fixed) {
        const std::string ip = JsonStringField(f, "ip_address");
        if (ip.empty()) return MalformedJson(what, "a fixed IP has no ip_address");
        if (owner == "network:router_gateway") {
          gateways.push_back({ip, JsonStringField(port, "device_id")});
        } else {
          out.push_back({ip, ProjectOf(port), OpenStackSource::kPort});
        }
      }
    }
  }
  if (gateways.empty()) return out;

  // Router gateway ports have no project: their router has.
  std::map<std::string, std::string> router_project;
  {
    const std::string what = "neutron routers";
    ASSIGN_OR_RETURN(std::vector<std::string> routers,
                     ListAll(what, VersionedUrl(network, "/v2.0", "/routers"), "routers"));
    for (const std::string& text : routers) {
      const Json router = Json::parse(text, nullptr, false);
      const std::string id = JsonStringField(router, "id");
      if (id.empty()) return MalformedJson(what, "a router has no id");
      router_project[id] = ProjectOf(router);
    }
  }
  for (GatewayIp& g : gateways) {
    auto it = router_project.find(g.router_id);
    out.push_back({std::move(g.ip), it == router_project.end() ? "" : it->second,
                   OpenStackSource::kRouterGateway});
  }
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> OpenStackClient::ProjectNames() {
  const std::string what = "keystone projects";
  ASSIGN_OR_RETURN(const std::string identity, Endpoint("identity"));
  std::map<std::string, std::string> names;
  std::set<std::string> seen;
  // Keystone does not page by default; follow links.next should it.
  std::string next = VersionedUrl(identity, "/v3", "/projects");
  for (int page = 0; !next.empty(); ++page) {
    if (page >= kMaxPages) return MalformedJson(what, "too many pages");
    if (!seen.insert(next).second) return MalformedJson(what, "the next link repeats a page");
    ASSIGN_OR_RETURN(std::string body, Get(what, next));
    ASSIGN_OR_RETURN(Json doc, ParseApiJson(what, body));
    const Json* projects = JsonField(doc, "projects");
    if (projects == nullptr || !projects->is_array())
      return MalformedJson(what, "no \"projects\" array");
    for (const Json& p : *projects) {
      const std::string id = JsonStringField(p, "id");
      if (id.empty()) return MalformedJson(what, "a project has no id");
      names[id] = JsonStringField(p, "name");
    }
    std::string href;
    if (const Json* links = JsonField(doc, "links"); links != nullptr)
      href = JsonStringField(*links, "next");
    if (href.empty() || projects->empty()) break;
    ASSIGN_OR_RETURN(std::string resolved, ResolveLink(what, next, href));
    next = std::move(resolved);
  }
  return names;
}

absl::StatusOr<OpenStackIndex> OpenStackClient::BuildIndex() {
  try {
    ASSIGN_OR_RETURN(std::vector<PublicAddress> addresses, ListPublicAddresses());
    ASSIGN_OR_RETURN(const auto names, ProjectNames());
    OpenStackIndex index;
    for (PublicAddress& a : addresses) {
      if (a.project_id.empty()) continue;  // e.g. a DHCP port: no owner to tell
      OpenStackOwner owner;
      auto name = names.find(a.project_id);
      if (name != names.end()) owner.project_name = name->second;
      owner.project_id = std::move(a.project_id);
      owner.source = a.source;
      // Floating IPs come first and win over ports with the same address.
      index.by_ip.emplace(std::move(a.ip), std::move(owner));
    }
    return index;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("openstack: unexpected error: ", e.what()));
  }
}

absl::StatusOr<std::vector<std::string>> OpenStackClient::PublicAddresses() {
  try {
    ASSIGN_OR_RETURN(std::vector<PublicAddress> addresses, ListPublicAddresses());
    std::set<std::string> ips;
    for (const PublicAddress& a : addresses) ips.insert(a.ip);
    return std::vector<std::string>(ips.begin(), ips.end());
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("openstack: unexpected error: ", e.what()));
  }
}

}  // namespace goalkeeper
