// JSON helpers shared by the owner-API clients (openstack_client.cc,
// fleio_client.cc): parsing an API answer without exceptions, and lenient
// field access on documents whose shape is not trusted.
//
//   ASSIGN_OR_RETURN(nlohmann::json doc, ParseApiJson("neutron ports", body));
//   const nlohmann::json* ports = JsonField(doc, "ports");      // nullptr when absent
//   std::string id = JsonStringField(port, "id");               // "" when not a string
//
// Errors name the API ("what") and the problem, never the document (it may
// hold tokens).
// Thread-safety: stateless functions.
#ifndef GOALKEEPER_OWNER_APIS_JSON_UTIL_H_
#define GOALKEEPER_OWNER_APIS_JSON_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace goalkeeper {

// Internal "<what>: malformed JSON: <detail>".
absl::Status MalformedJson(const std::string& what, absl::string_view detail);

// Parses `body`; a syntax error is MalformedJson with the byte offset.
absl::StatusOr<nlohmann::json> ParseApiJson(const std::string& what, const std::string& body);

// obj[key]; nullptr when obj is not an object or has no such key.
const nlohmann::json* JsonField(const nlohmann::json& obj, const std::string& key);

// The string value of obj[key]; "" when absent, null or not a string.
std::string JsonStringField(const nlohmann::json& obj, const std::string& key);

}  // namespace goalkeeper

#endif  // GOALKEEPER_OWNER_APIS_JSON_UTIL_H_
