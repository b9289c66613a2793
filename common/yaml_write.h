// Writing YAML that the strict config readers (common/strict_yaml.h) read
// back exactly: what the daemons' --check-config prints.
//
//   absl::StrAppend(&out, "db: ", YamlQuoted(config.db), "\n");      // db: "/var/lib/gk.db"
//   absl::StrAppend(&out, "rate: ", YamlNumber(profile.rate), "\n");  // rate: 1500.5
//
// Thread-safety: plain functions.
#ifndef GOALKEEPER_COMMON_YAML_WRITE_H_
#define GOALKEEPER_COMMON_YAML_WRITE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace goalkeeper {

// A YAML double-quoted scalar that reads back as exactly `value`: '"' and
// '\' escaped, control characters as \n, \t or \xNN, other bytes as they are
// (so UTF-8 stays readable). Never spans lines.
std::string YamlQuoted(absl::string_view value);

// ["a", "b"]: a flow list of YamlQuoted items ("[]" when empty).
std::string YamlFlowList(const std::vector<std::string>& items);

// A number that StrictYamlParser::Double reads back as exactly `d` (finite):
// the shortest plain decimal form ("1500.5", "1000000000", never "1e+09").
std::string YamlNumber(double d);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_YAML_WRITE_H_
