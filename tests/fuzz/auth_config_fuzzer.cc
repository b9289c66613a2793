// Fuzzes ParseAuthConfig with the input as a YAML document whose `auth` key
// holds the block. It must never crash, hang or let an exception escape. No
// token file is read (AuthPolicy::Create does that, at start).
//
// Invariants checked: errors are InvalidArgument naming the source and stay
// short; a parsed block has identities with non-empty patterns ('*' only at
// the end), tokens with valid names and a role, streams in 1..10000, scopes
// of operator roles only; the printed block (--check-config) parses back
// equal and prints the same.
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "common/auth_config.h"
#include "common/status_macros.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

absl::StatusOr<AuthConfig> Parse(absl::string_view text, absl::string_view source) {
  return CatchYamlExceptions(source, [&]() -> absl::StatusOr<AuthConfig> {
    StrictYamlParser yaml(source);
    ASSIGN_OR_RETURN(YamlField root, yaml.LoadDocument(text));
    AuthConfig config;
    RETURN_IF_ERROR(yaml.ForEachEntry(root, {"auth"}, [&](const std::string&, const YamlField& f) {
      return ParseAuthConfig(yaml, f, &config);
    }));
    return config;
  });
}

void Check(absl::string_view input) {
  absl::StatusOr<AuthConfig> c = Parse(input, "fuzz.yaml");
  if (!c.ok()) {
    FUZZ_CHECK(c.status().code() == absl::StatusCode::kInvalidArgument ||
               c.status().code() == absl::StatusCode::kResourceExhausted);
    FUZZ_CHECK(absl::StartsWith(c.status().message(), "fuzz.yaml"));
    FUZZ_CHECK(c.status().message().size() < 1024);
    return;
  }
  for (const IdentityRule& r : c->identities) {
    FUZZ_CHECK(!r.match.empty() && r.match != "*");
    FUZZ_CHECK(r.match.find('*') == std::string::npos || r.match.find('*') + 1 == r.match.size());
    FUZZ_CHECK(r.role != Role::kNone);
  }
  for (const TokenRule& t : c->tokens) {
    FUZZ_CHECK(!t.name.empty() && t.name.size() <= 64);
    FUZZ_CHECK(!t.file.empty());
    FUZZ_CHECK(t.role != Role::kNone);
  }
  FUZZ_CHECK(c->max_streams_per_identity >= 1 && c->max_streams_per_identity <= 10000);
  for (const auto& [role, scope] : c->roles) {
    FUZZ_CHECK(role == Role::kViewer || role == Role::kOperator || role == Role::kAdmin);
    FUZZ_CHECK(scope.max_rate >= 0);
    FUZZ_CHECK(scope.max_acknowledge >= absl::ZeroDuration());
  }
  const std::string printed = FormatAuthConfig(*c);
  absl::StatusOr<AuthConfig> again = Parse(printed, "printed.yaml");
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *c);
  FUZZ_CHECK(FormatAuthConfig(*again) == printed);
}

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  goalkeeper::Check(goalkeeper::FuzzText(data, size));
  return 0;
}
