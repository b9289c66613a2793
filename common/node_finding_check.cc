#include "common/node_finding_check.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

constexpr size_t kMaxQuoted = 80;

absl::Status CheckPort(absl::string_view field, uint32_t port) {
  if (port < 1 || port > 65535) {
    return FieldError(field, absl::StrCat(port, " is not a port (1-65535)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string QuoteFieldValue(absl::string_view v) {
  std::string out = "'";
  for (size_t i = 0; i < v.size() && i < kMaxQuoted; ++i) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    }
  }
  if (v.size() > kMaxQuoted) absl::StrAppend(&out, "...");
  return out + "'";
}

absl::Status FieldError(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

absl::Status CheckFieldToken(absl::string_view field, absl::string_view value, size_t max,
                             absl::string_view extra) {
  if (value.empty()) return FieldError(field, "must not be empty");
  const bool ok = std::all_of(value.begin(), value.end(), [extra](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
           extra.find(c) != absl::string_view::npos;
  });
  if (value.size() > max || !ok) {
    return FieldError(
        field, absl::StrCat(QuoteFieldValue(value), " (", value.size(), " bytes) must be 1-", max,
                            " bytes of letters, digits and '", extra, "'"));
  }
  return absl::OkStatus();
}

absl::Status CheckBruteForceSource(absl::string_view field, const v1::BruteForceSource& b,
                                   const NodeFindingLimits& limits) {
  RETURN_IF_ERROR(CheckFieldToken(absl::StrCat(field, ".rule"), b.rule(), limits.max_rule, "._-"));
  RETURN_IF_ERROR(
      CheckFieldToken(absl::StrCat(field, ".source"), b.source(), limits.max_address, ".:/"));
  if (b.hits_in_window() == 0) {
    return FieldError(absl::StrCat(field, ".hits_in_window"), "must be at least 1");
  }
  if (b.first_seen_unix_ms() > b.last_seen_unix_ms()) {
    return FieldError(absl::StrCat(field, ".first_seen_unix_ms"),
                      absl::StrCat(b.first_seen_unix_ms(), " is after last_seen_unix_ms ",
                                   b.last_seen_unix_ms()));
  }
  if (static_cast<size_t>(b.ports_size()) > limits.max_ports) {
    return FieldError(absl::StrCat(field, ".ports"),
                      absl::StrCat(b.ports_size(), " ports, at most ", limits.max_ports));
  }
  for (int i = 0; i < b.ports_size(); ++i) {
    const std::string pf = absl::StrCat(field, ".ports[", i, "]");
    RETURN_IF_ERROR(
        CheckFieldToken(pf + ".protocol", b.ports(i).protocol(), limits.max_protocol, "-"));
    if (b.ports(i).has_port()) {
      RETURN_IF_ERROR(CheckPort(pf + ".port", b.ports(i).port()));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckListener(absl::string_view field, const v1::Listener& l,
                           const NodeFindingLimits& limits) {
  if (l.protocol() != "tcp" && l.protocol() != "udp") {
    return FieldError(absl::StrCat(field, ".protocol"),
                      absl::StrCat(QuoteFieldValue(l.protocol()), " is not tcp or udp"));
  }
  RETURN_IF_ERROR(
      CheckFieldToken(absl::StrCat(field, ".address"), l.address(), limits.max_address, ".:"));
  return CheckPort(absl::StrCat(field, ".port"), l.port());
}

}  // namespace goalkeeper
