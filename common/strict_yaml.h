// Strict reading of YAML config files: the machinery shared by the
// coordinator's and the notifier's config parsers. A file is one YAML
// document holding a map; every value is read through a typed reader that
// names the file, the line, the key path and the value given when it fails:
//
//   notifier.yaml:7: email.smtp_url: 'smpt://x' is not an smtp:// or smtps:// URL
//   notifier.yaml:3: unknown key 'mdoe'
//   coordinator.yaml:12: profiles.fast.timeout_ms: expected a whole number 1..600000, got 'quick'
//
//   StrictYamlParser yaml("notifier.yaml");
//   ASSIGN_OR_RETURN(YamlField root, yaml.LoadDocument(text));
//   RETURN_IF_ERROR(yaml.ForEachEntry(root, {"listen", "db"},
//       [&](const std::string& key, const YamlField& f) -> absl::Status {
//         if (key == "listen") {
//           ASSIGN_OR_RETURN(config.listen, yaml.HostPort(f, 0, false));
//         } else {
//           ASSIGN_OR_RETURN(config.db, yaml.String(f));
//         }
//         return absl::OkStatus();
//       }));
//
// yaml-cpp 0.7 reports errors by throwing, also from node accessors: wrap a
// whole parse in CatchYamlExceptions so no exception leaves the parser. Two
// yaml-cpp traps are handled here: YAML::LoadAll never returns on a document
// starting with ',' (LoadDocument does not use it), and `const YAML::Node&`
// bound to a map iterator's `it->first` dangles (ForEachEntry copies it).
//
// Thread-safety: StrictYamlParser is immutable after construction; a
// YamlField shares its node with the document it came from, so a document's
// fields are used by one thread at a time.
#ifndef GOALKEEPER_COMMON_STRICT_YAML_H_
#define GOALKEEPER_COMMON_STRICT_YAML_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/host_port.h"  // IsValidHost, IsValidHostPort

namespace goalkeeper {

// Config files larger than this are refused unread.
inline constexpr size_t kMaxConfigFileBytes = 16 << 20;

// A value found at `path` in a document.
struct YamlField {
  std::string path;  // "profiles.fast.timeout_ms", "schedules[0]"; "" for the document
  YAML::Node value;
  // 0-based line of the value; of its key when the value is empty (yaml-cpp
  // marks an empty value at the next token, often a line further down). -1
  // when unknown.
  int line = -1;
};

// How the items of a list are named in errors, e.g. {"a", "target spec",
// "target specs"}: "expected a list, got a scalar '10.0.0.0/8' (a list of
// target specs, e.g. [10.0.0.0/8])", "expected a target spec, got a map",
// "empty target spec in '...'".
struct YamlListNouns {
  absl::string_view article;  // "a" or "an"
  absl::string_view singular;
  absl::string_view plural;
};

class StrictYamlParser {
 public:
  // `source` names the text in every error ("coordinator.yaml", a path).
  explicit StrictYamlParser(absl::string_view source) : source_(source) {}

  const std::string& source() const { return source_; }

  // Parses `yaml` as exactly one document whose top level is a map, and
  // returns it as the root field (path ""). Errors: "invalid YAML: column 9:
  // illegal map value" (with the line), "the config is empty: expected a map
  // of settings", "expected a map of settings at the top level, got a list",
  // "more than one YAML document: expected a single map of settings".
  absl::StatusOr<YamlField> LoadDocument(absl::string_view yaml) const;

  // InvalidArgument "source:line: path: what"; `line` is 0-based and printed
  // 1-based, left out when negative; an empty path is left out.
  absl::Status Error(int line, absl::string_view path, absl::string_view what) const;
  absl::Status Error(const YamlField& f, absl::string_view what) const {
    return Error(f.line, f.path, what);
  }
  // "path: expected <what>, got 'value'" (or "got a list", "a map", "an empty value").
  absl::Status Expected(const YamlField& f, absl::string_view what) const;

  using EntryFn = std::function<absl::Status(const std::string& key, const YamlField& entry)>;
  // Calls fn for each entry of a map, in order (an empty value is an empty
  // map), with the entry's path "map.key". Keys must be unique strings; with
  // a non-empty `allowed`, one of those ("unknown key 'x' in map").
  absl::Status ForEachEntry(const YamlField& map, std::initializer_list<absl::string_view> allowed,
                            const EntryFn& fn) const;

  // The one rule for every list key: its value is a YAML list, or empty (an
  // empty list). A scalar or a map is an error naming the key and the line,
  // `what` saying what belongs there: "coordinator.yaml:3: allowed_ranges:
  // expected a list, got a scalar '127.0.0.0/8' (a list of target specs, e.g.
  // [127.0.0.0/8])". ForEachElement and ForEachListItem check it first.
  absl::Status CheckList(const YamlField& f, absl::string_view what) const;

  using ElementFn = std::function<absl::Status(const YamlField& element)>;
  // Calls fn for each element of a list (see CheckList; `what` is e.g. "a
  // list of owners"), with the element's path "list[i]".
  absl::Status ForEachElement(const YamlField& list, absl::string_view what,
                              const ElementFn& fn) const;

  using ItemFn = std::function<absl::Status(absl::string_view item, int line)>;
  // Reads a list of strings (see CheckList); splits each element at commas
  // and calls fn for each part, whitespace-stripped, with the 0-based line
  // it came from. Every element is type-checked before fn is first called.
  // An empty part is an error ("empty target spec in 'a,,b'").
  absl::Status ForEachListItem(const YamlField& f, const YamlListNouns& nouns,
                               const ItemFn& fn) const;

  // A scalar, as written (a number or true/false is read as its text).
  absl::StatusOr<std::string> String(const YamlField& f) const;
  // A whole number in [min, max], in plain decimal digits.
  absl::StatusOr<uint32_t> Uint(const YamlField& f, uint32_t min, uint32_t max) const;
  // The same, for 64-bit counts (at most 19 digits).
  absl::StatusOr<uint64_t> Uint64(const YamlField& f, uint64_t min, uint64_t max) const;
  // A finite number in [min, max], or in (min, max] when `min_exclusive`,
  // in plain decimal notation (no ".inf", "nan" or hex).
  absl::StatusOr<double> Double(const YamlField& f, double min, double max,
                                bool min_exclusive) const;
  // true or false (not YAML 1.1's yes/no/on/off).
  absl::StatusOr<bool> Bool(const YamlField& f) const;
  // "host:port", "1.2.3.4:port" or "[v6]:port" with port in [min_port,
  // 65535] (see IsValidHostPort); "" too when `allow_empty`.
  absl::StatusOr<std::string> HostPort(const YamlField& f, uint32_t min_port,
                                       bool allow_empty) const;
  // A URL scheme://host[:port][/path...] with one of `schemes` (any case),
  // a valid host (IsValidHost), and no spaces or control characters; `what`
  // names the schemes in errors ("an http:// or https:// URL"). A URL with
  // user:password@ is refused without being quoted, `secrets` saying where
  // credentials go instead ("use owners.fleio.token_file").
  absl::StatusOr<std::string> Url(const YamlField& f,
                                  std::initializer_list<absl::string_view> schemes,
                                  absl::string_view what, absl::string_view secrets) const;

 private:
  absl::Status SyntaxError(const YAML::Mark& mark, absl::string_view what) const;
  // Fails on a second YAML document (and on input yaml-cpp cannot get past).
  absl::Status CheckSingleDocument(const std::string& text) const;

  std::string source_;
};

// 'value' for an error message: cut at 100 bytes ("..."), control
// characters escaped ("\n", "\x01") so the message stays on one line.
std::string QuoteValue(absl::string_view value);

// Reads a whole config file. Errors are InvalidArgument: "cannot read config
// file 'x': No such file or directory", "config file 'x' is larger than 16 MiB".
absl::StatusOr<std::string> ReadConfigFile(const std::string& path);

// The Status for the exception being handled: "source: invalid YAML: ..."
// for a YAML::Exception, ResourceExhausted for std::bad_alloc, "source:
// what()" for another std::exception, Internal otherwise. Call it only from
// inside a catch block.
absl::Status StatusFromCurrentException(absl::string_view source);

// Runs `parse` (returning an absl::Status or absl::StatusOr) and turns any
// exception it throws into a Status naming `source`.
template <typename Fn>
auto CatchYamlExceptions(absl::string_view source, Fn&& parse) -> decltype(parse()) {
  try {
    return std::forward<Fn>(parse)();
  } catch (...) {
    return StatusFromCurrentException(source);
  }
}

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_STRICT_YAML_H_
