#include "common/yaml_write.h"

#include <charconv>

#include "absl/strings/str_cat.h"

namespace goalkeeper {

std::string YamlQuoted(absl::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : value) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

std::string YamlFlowList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", YamlQuoted(items[i]));
  }
  return out + "]";
}

std::string YamlNumber(double d) {
  char buf[400];  // the longest fixed form of a double: 309 digits, a sign, decimals
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

}  // namespace goalkeeper
