// How a project's client is found (ClientForProject), in order:
//   1. the project object's `client` field: {"id": 101, ...}, 101 or "101";
//   2. its `service` object's `client` field, in the same shapes;
//   3. the naming convention some deployments use for Keystone projects,
//      "{client name} - {client id}": the text after the last " - ", when it
//      is all digits. Only a fallback: a project that matches none of these
//      has no known client (nullopt).
#include "owner_apis/fleio_client.h"

#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"
#include "owner_apis/json_util.h"

namespace goalkeeper {
namespace {

using Json = nlohmann::json;

// Fleio accepts up to 10000; 1000 keeps each answer small.
constexpr int kPageSize = 1000;
// Defence against a server that never runs out of pages.
constexpr int kMaxPages = 100000;

// A client id given as 101, "101" or {"id": 101, ...}; "" otherwise.
std::string ClientId(const Json* v) {
  if (v == nullptr) return "";
  if (v->is_object()) v = JsonField(*v, "id");
  if (v == nullptr) return "";
  if (v->is_number_unsigned()) return std::to_string(v->get<uint64_t>());
  if (v->is_number_integer()) return std::to_string(v->get<int64_t>());
  if (v->is_string()) return v->get<std::string>();
  return "";
}

// "{client name} - {client id}" -> client id; "" when the name does not follow it.
std::string ClientIdFromName(absl::string_view name) {
  const size_t sep = name.rfind(" - ");
  if (sep == absl::string_view::npos) return "";
  absl::string_view id = absl::StripAsciiWhitespace(name.substr(sep + 3));
  if (id.empty() || id.size() > 19) return "";
  for (char c : id) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return "";
  }
  return std::string(id);
}

std::string BaseUrl(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  absl::string_view view(url);
  if (absl::EndsWith(view, "/backend/staffapi")) view.remove_suffix(17);
  return absl::StrCat(view, "/backend/staffapi/");
}

}  // namespace

FleioClient::FleioClient(FleioConfig config, HttpClient& http)
    : config_(std::move(config)), http_(http) {}

absl::StatusOr<std::string> FleioClient::Get(const std::string& what,
                                             const std::string& path_and_query) {
  HttpRequest req;
  req.method = "GET";
  req.url = BaseUrl(config_.url) + path_and_query;
  req.headers = {{"Authorization", "Token " + config_.token}, {"Accept", "application/json"}};
  ++calls_;
  absl::StatusOr<HttpResponse> resp = http_.Send(req);
  if (!resp.ok()) {
    return absl::Status(resp.status().code(), absl::StrCat(what, ": ", resp.status().message()));
  }
  const int status = resp->status;
  if (status == 200) return std::move(resp->body);
  const std::string msg = absl::StrCat(what, ": HTTP ", status);
  if (status == 401) return absl::UnauthenticatedError(msg + " Unauthorized (check the token)");
  if (status == 403) return absl::PermissionDeniedError(msg + " Forbidden (check the token)");
  if (status == 404) return absl::NotFoundError(msg);
  if (status == 429 || status >= 500) return absl::UnavailableError(msg);
  return absl::FailedPreconditionError(msg);
}

absl::StatusOr<std::vector<std::string>> FleioClient::ListAll(const std::string& what,
                                                              const std::string& path_and_query) {
  std::vector<std::string> objects;
  const std::string sep = absl::StrContains(path_and_query, "?") ? "&" : "?";
  std::string previous;
  for (int page = 1; page <= kMaxPages; ++page) {
    absl::StatusOr<std::string> body =
        Get(what, absl::StrCat(path_and_query, sep, "page=", page, "&page_size=", kPageSize));
    if (!body.ok()) {
      if (page > 1 && absl::IsNotFound(body.status())) return objects;  // past the end
      return body.status();
    }
    if (page > 1 && *body == previous)
      return MalformedJson(what, "page " + std::to_string(page) + " repeats the previous page");
    ASSIGN_OR_RETURN(Json doc, ParseApiJson(what, *body));
    const Json* items = JsonField(doc, "objects");
    if (items == nullptr || !items->is_array()) return MalformedJson(what, "no \"objects\" array");
    for (const Json& item : *items) {
      if (!item.is_object()) return MalformedJson(what, "objects holds a non-object");
      objects.push_back(item.dump(-1, ' ', false, Json::error_handler_t::replace));
    }
    const Json* next = JsonField(doc, "next");
    if (next == nullptr || next->is_null() || items->empty()) return objects;
    previous = std::move(*body);
  }
  return MalformedJson(what, "too many pages");
}

absl::StatusOr<std::map<std::string, std::string>> FleioClient::FloatingIpClients() {
  try {
    const std::string what = "fleio floatingips";
    ASSIGN_OR_RETURN(std::vector<std::string> fips, ListAll(what, "openstack/floatingips"));
    std::map<std::string, std::string> by_ip;
    for (const std::string& text : fips) {
      const Json fip = Json::parse(text, nullptr, false);
      const std::string ip = JsonStringField(fip, "floating_ip_address");
      if (ip.empty()) return MalformedJson(what, "a floating IP has no floating_ip_address");
      std::string client = ClientId(JsonField(fip, "client"));
      if (!client.empty()) by_ip[ip] = std::move(client);
    }
    return by_ip;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("fleio: unexpected error: ", e.what()));
  }
}

absl::StatusOr<std::optional<std::string>> FleioClient::ClientForProject(
    const std::string& project_id) {
  if (auto it = project_cache_.find(project_id); it != project_cache_.end()) return it->second;
  try {
    const std::string what = "fleio projects";
    ASSIGN_OR_RETURN(std::vector<std::string> projects,
                     ListAll(what, "openstack/projects?search=" + UrlEncode(project_id)));
    std::optional<std::string> client;
    for (const std::string& text : projects) {
      const Json project = Json::parse(text, nullptr, false);
      // search= matches substrings of several fields: only an exact project id counts.
      if (JsonStringField(project, "project_id") != project_id) continue;
      std::string id = ClientId(JsonField(project, "client"));
      if (id.empty()) {
        if (const Json* service = JsonField(project, "service"); service != nullptr) {
          id = ClientId(JsonField(*service, "client"));
        }
      }
      if (id.empty()) id = ClientIdFromName(JsonStringField(project, "name"));
      if (!id.empty()) client = std::move(id);
      break;
    }
    project_cache_[project_id] = client;
    return client;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("fleio: unexpected error: ", e.what()));
  }
}

absl::StatusOr<FleioCustomer> FleioClient::Client(const std::string& id) {
  if (auto it = client_cache_.find(id); it != client_cache_.end()) return it->second;
  try {
    const std::string what = "fleio client " + id;
    ASSIGN_OR_RETURN(std::string body, Get(what, "clients/" + UrlEncode(id)));
    ASSIGN_OR_RETURN(Json doc, ParseApiJson(what, body));
    if (!doc.is_object()) return MalformedJson(what, "expected an object");
    FleioCustomer customer;
    customer.id = ClientId(JsonField(doc, "id"));
    if (customer.id.empty()) customer.id = id;
    const std::string company(absl::StripAsciiWhitespace(JsonStringField(doc, "company")));
    const std::string person(absl::StripAsciiWhitespace(
        absl::StrCat(JsonStringField(doc, "first_name"), " ", JsonStringField(doc, "last_name"))));
    if (!company.empty()) {
      customer.name = company;
    } else if (!person.empty()) {
      customer.name = person;
    } else {
      customer.name = std::string(absl::StripAsciiWhitespace(JsonStringField(doc, "name")));
    }
    customer.email = std::string(absl::StripAsciiWhitespace(JsonStringField(doc, "email")));
    client_cache_[id] = customer;
    return customer;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("fleio: unexpected error: ", e.what()));
  }
}

}  // namespace goalkeeper
