#include "owner_apis/json_util.h"

#include <exception>

#include "absl/strings/str_cat.h"

namespace goalkeeper {

absl::Status MalformedJson(const std::string& what, absl::string_view detail) {
  return absl::InternalError(absl::StrCat(what, ": malformed JSON: ", detail));
}

absl::StatusOr<nlohmann::json> ParseApiJson(const std::string& what, const std::string& body) {
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    return MalformedJson(what, absl::StrCat("syntax error at byte ", e.byte));
  } catch (const std::exception&) {
    return MalformedJson(what, "cannot parse");
  }
}

const nlohmann::json* JsonField(const nlohmann::json& obj, const std::string& key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string JsonStringField(const nlohmann::json& obj, const std::string& key) {
  const nlohmann::json* v = JsonField(obj, key);
  return v != nullptr && v->is_string() ? v->get_ref<const std::string&>() : std::string();
}

}  // namespace goalkeeper
