// Fuzzes FlagParser: the input is split on NUL and newline into argv and
// parsed with one flag of each kind. On success every value respects its
// bounds and every positional argument came from argv; on failure the error
// is InvalidArgument and names a flag.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/flags.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

void CheckFlags(absl::string_view input) {
  std::vector<std::string> args =
      absl::StrSplit(input, absl::ByAnyChar(absl::string_view("\0\n", 2)));
  if (input.empty()) args.clear();
  std::vector<const char*> argv;
  argv.reserve(args.size());
  for (const std::string& a : args) argv.push_back(a.c_str());

  std::string output = "default";
  std::vector<std::string> targets;
  uint64_t timeout_ms = 500;
  double rate = 10;
  bool verbose = false;
  FlagParser flags("fuzz");
  flags.AddString("output", &output, "PATH", "where to write");
  flags.AddList("targets", &targets, "SPEC", "what to scan");
  flags.AddUint("timeout-ms", &timeout_ms, 1, 600000, "deadline");
  flags.AddDouble("rate", &rate, 0.5, 1e6, "probes per second");
  flags.AddBool("verbose", &verbose, "chatty");

  absl::Status s = flags.Parse(static_cast<int>(argv.size()), argv.data());
  if (!s.ok()) {
    FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(absl::StartsWith(s.message(), "--") ||
               absl::StartsWith(s.message(), "unknown flag "));
  } else {
    FUZZ_CHECK(flags.positional().size() + targets.size() <= args.size());
  }
  // Values that were set, even before an error, respect their bounds.
  FUZZ_CHECK(timeout_ms >= 1 && timeout_ms <= 600000);
  FUZZ_CHECK(std::isfinite(rate) && rate >= 0.5 && rate <= 1e6);
  if (!flags.WasSet("timeout-ms")) FUZZ_CHECK(timeout_ms == 500);
  if (!flags.WasSet("targets")) FUZZ_CHECK(targets.empty());
  for (const std::string& p : flags.positional()) {
    bool found = false;
    for (const std::string& a : args) found = found || a == p;
    FUZZ_CHECK(found);
  }
  FUZZ_CHECK(absl::StartsWith(flags.Usage(), "usage: fuzz [flags]\n"));
}

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  goalkeeper::CheckFlags(goalkeeper::FuzzText(data, size));
  return 0;
}
