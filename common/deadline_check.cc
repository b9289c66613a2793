#include "common/deadline_check.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace goalkeeper {

bool ValidGrpcTimeout(absl::string_view value) {
  if (value.size() < 2 || value.size() > 9) return false;
  const char unit = value.back();
  if (unit != 'H' && unit != 'M' && unit != 'S' && unit != 'm' && unit != 'u' && unit != 'n') {
    return false;
  }
  absl::string_view digits = value.substr(0, value.size() - 1);
  return std::all_of(digits.begin(), digits.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); });
}

absl::Status RequireDeadline(const AuthMetadata& metadata) {
  auto range = metadata.equal_range(kGrpcTimeoutHeader);
  if (range.first == range.second) {
    return absl::InvalidArgumentError(
        "a deadline is required (set one on the call; the gRPC header grpc-timeout is missing)");
  }
  if (std::distance(range.first, range.second) > 1) {
    return absl::InvalidArgumentError("grpc-timeout is given more than once");
  }
  const absl::string_view value(range.first->second.data(), range.first->second.size());
  if (!ValidGrpcTimeout(value)) {
    return absl::InvalidArgumentError(absl::StrCat("grpc-timeout: '",
                                                   absl::CHexEscape(value.substr(0, 32)),
                                                   "' is not <1-8 digits><H|M|S|m|u|n>"));
  }
  return absl::OkStatus();
}

}  // namespace goalkeeper
