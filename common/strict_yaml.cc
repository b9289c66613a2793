#include "common/strict_yaml.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ip_address.h"
#include "common/status_macros.h"

namespace goalkeeper {
namespace {

// Values quoted in errors are cut here, so a fuzzed or pasted blob cannot
// produce a megabyte-long message.
constexpr size_t kMaxShown = 100;

// What a node is, for "got ..." in errors.
std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      return QuoteValue(n.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Null:
      return "an empty value";
    case YAML::NodeType::Undefined:
      break;
  }
  return "an undefined value";
}

// A bound for an error message: "1000000000", not "1e+09".
std::string ShowNumber(double d) {
  if (d == std::floor(d) && std::fabs(d) < 1e15) return absl::StrCat(static_cast<int64_t>(d));
  return absl::StrCat(d);
}

// 0-based line of a node, or -1 when yaml-cpp has none.
int LineOf(const YAML::Node& n) {
  if (!n.IsDefined()) return -1;
  return n.Mark().line;
}

YamlField Child(const YamlField& parent, const std::string& key, const YAML::Node& key_node,
                const YAML::Node& value) {
  YamlField f;
  f.path = parent.path.empty() ? key : absl::StrCat(parent.path, ".", key);
  f.value = value;
  f.line = value.IsNull() ? LineOf(key_node) : LineOf(value);
  if (f.line < 0) f.line = LineOf(key_node);
  return f;
}

// Records where each YAML document starts; ignores everything else.
class DocumentStarts : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  std::vector<YAML::Mark> starts;
};

enum class UrlCheck { kOk, kBad, kHasCredentials };

// scheme://host[:port][/path...] with one of `schemes` (any case), a valid
// host (see IsValidHost), no user:password@ and no spaces or control
// characters anywhere. Credentials are looked for first, whatever the
// scheme, so that no error quotes them.
UrlCheck CheckUrl(absl::string_view url, std::initializer_list<absl::string_view> schemes) {
  const size_t sep = url.find("://");
  absl::string_view authority = sep == absl::string_view::npos ? url : url.substr(sep + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (absl::StrContains(authority, "@")) return UrlCheck::kHasCredentials;
  if (sep == absl::string_view::npos) return UrlCheck::kBad;
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return UrlCheck::kBad;
  }
  const absl::string_view scheme = url.substr(0, sep);
  if (std::none_of(schemes.begin(), schemes.end(),
                   [&](absl::string_view s) { return absl::EqualsIgnoreCase(s, scheme); })) {
    return UrlCheck::kBad;
  }
  // A port follows the last ':' unless that ':' is inside [IPv6].
  const size_t colon = authority.rfind(':');
  const bool has_port =
      colon != absl::string_view::npos && (authority.front() != '[' || authority[colon - 1] == ']');
  const bool ok = has_port ? IsValidHostPort(authority, 1) : IsValidHost(authority);
  return ok ? UrlCheck::kOk : UrlCheck::kBad;
}

}  // namespace

std::string QuoteValue(absl::string_view v) {
  std::string out = "'";
  for (size_t i = 0; i < v.size() && i < kMaxShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (v.size() > kMaxShown) out += "...";
  out += "'";
  return out;
}

absl::Status StrictYamlParser::Error(int line, absl::string_view path,
                                     absl::string_view what) const {
  std::string message = source_;
  if (line >= 0) absl::StrAppend(&message, ":", line + 1);
  absl::StrAppend(&message, ": ");
  if (!path.empty()) absl::StrAppend(&message, path, ": ");
  absl::StrAppend(&message, what);
  return absl::InvalidArgumentError(message);
}

absl::Status StrictYamlParser::Expected(const YamlField& f, absl::string_view what) const {
  return Error(f, absl::StrCat("expected ", what, ", got ", Describe(f.value)));
}

absl::Status StrictYamlParser::ForEachEntry(const YamlField& map,
                                            std::initializer_list<absl::string_view> allowed,
                                            const EntryFn& fn) const {
  if (map.value.IsNull()) return absl::OkStatus();
  if (!map.value.IsMap()) return Expected(map, "a map");
  const std::string in = map.path.empty() ? "" : absl::StrCat(" in ", map.path);
  std::set<std::string> seen;
  for (auto it = map.value.begin(); it != map.value.end(); ++it) {
    const YAML::Node key_node = it->first;  // a copy: `it->` yields a temporary
    if (!key_node.IsScalar()) {
      return Error(LineOf(key_node), "",
                   absl::StrCat("expected a name as key", in, ", got ", Describe(key_node)));
    }
    const std::string& key = key_node.Scalar();
    if (allowed.size() > 0 && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Error(LineOf(key_node), "", absl::StrCat("unknown key ", QuoteValue(key), in));
    }
    if (!seen.insert(key).second) {
      return Error(LineOf(key_node), "", absl::StrCat("duplicate key ", QuoteValue(key), in));
    }
    RETURN_IF_ERROR(fn(key, Child(map, key, key_node, it->second)));
  }
  return absl::OkStatus();
}

absl::Status StrictYamlParser::CheckList(const YamlField& f, absl::string_view what) const {
  if (f.value.IsNull() || f.value.IsSequence()) return absl::OkStatus();
  if (f.value.IsScalar()) {
    // A list of one is shown as the fix when the value is short and plain.
    const std::string& v = f.value.Scalar();
    std::string hint(what);
    if (!v.empty() && v.size() <= 64 && std::all_of(v.begin(), v.end(), [](char c) {
          return absl::ascii_isgraph(static_cast<unsigned char>(c));
        })) {
      absl::StrAppend(&hint, ", e.g. [", v, "]");
    }
    return Error(f, absl::StrCat("expected a list, got a scalar ", QuoteValue(v), " (", hint, ")"));
  }
  return Error(f, absl::StrCat("expected a list, got ", Describe(f.value), " (", what, ")"));
}

absl::Status StrictYamlParser::ForEachElement(const YamlField& list, absl::string_view what,
                                              const ElementFn& fn) const {
  RETURN_IF_ERROR(CheckList(list, what));
  if (list.value.IsNull()) return absl::OkStatus();
  size_t index = 0;
  for (auto it = list.value.begin(); it != list.value.end(); ++it, ++index) {
    YamlField element{absl::StrCat(list.path, "[", index, "]"), *it, LineOf(*it)};
    if (element.line < 0) element.line = list.line;
    RETURN_IF_ERROR(fn(element));
  }
  return absl::OkStatus();
}

absl::Status StrictYamlParser::ForEachListItem(const YamlField& f, const YamlListNouns& nouns,
                                               const ItemFn& fn) const {
  RETURN_IF_ERROR(CheckList(f, absl::StrCat("a list of ", nouns.plural)));
  std::vector<std::pair<std::string, int>> elements;
  if (f.value.IsSequence()) {
    for (auto it = f.value.begin(); it != f.value.end(); ++it) {
      const YAML::Node e = *it;
      const int line = LineOf(e) >= 0 ? LineOf(e) : f.line;
      if (!e.IsScalar()) {
        return Expected(YamlField{f.path, e, line},
                        absl::StrCat(nouns.article, " ", nouns.singular));
      }
      elements.emplace_back(e.Scalar(), line);
    }
  }
  for (const auto& [element, line] : elements) {
    for (absl::string_view part : absl::StrSplit(element, ',')) {
      const absl::string_view item = absl::StripAsciiWhitespace(part);
      if (item.empty()) {
        return Error(line, f.path,
                     absl::StrCat("empty ", nouns.singular, " in ", QuoteValue(element)));
      }
      RETURN_IF_ERROR(fn(item, line));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> StrictYamlParser::String(const YamlField& f) const {
  if (!f.value.IsScalar()) return Expected(f, "a string");
  return f.value.Scalar();
}

absl::StatusOr<uint32_t> StrictYamlParser::Uint(const YamlField& f, uint32_t min,
                                                uint32_t max) const {
  ASSIGN_OR_RETURN(uint64_t n, Uint64(f, min, max));
  return static_cast<uint32_t>(n);
}

absl::StatusOr<uint64_t> StrictYamlParser::Uint64(const YamlField& f, uint64_t min,
                                                  uint64_t max) const {
  const std::string what = absl::StrCat("a whole number ", min, "..", max);
  if (!f.value.IsScalar()) return Expected(f, what);
  const std::string& text = f.value.Scalar();
  uint64_t n = 0;
  if (text.empty() || text.size() > 19 ||
      !std::all_of(text.begin(), text.end(), absl::ascii_isdigit) || !absl::SimpleAtoi(text, &n) ||
      n < min || n > max) {
    return Expected(f, what);
  }
  return n;
}

absl::StatusOr<double> StrictYamlParser::Double(const YamlField& f, double min, double max,
                                                bool min_exclusive) const {
  const std::string what =
      min_exclusive ? absl::StrCat("a number > ", ShowNumber(min), " and <= ", ShowNumber(max))
                    : absl::StrCat("a number ", ShowNumber(min), "..", ShowNumber(max));
  if (!f.value.IsScalar()) return Expected(f, what);
  const std::string& text = f.value.Scalar();
  double d = 0;
  // Plain decimal notation only: no "inf", "nan", hex or YAML's ".5e3" forms
  // that a reader might misjudge.
  if (text.empty() || text.size() > 32 ||
      !absl::ascii_isdigit(static_cast<unsigned char>(text[0])) ||
      !std::all_of(text.begin(), text.end(),
                   [](char c) {
                     return absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '.' ||
                            c == 'e' || c == 'E' || c == '+' || c == '-';
                   }) ||
      !absl::SimpleAtod(text, &d) || !std::isfinite(d) || d < min || d > max ||
      (min_exclusive && d == min)) {
    return Expected(f, what);
  }
  return d;
}

absl::StatusOr<bool> StrictYamlParser::Bool(const YamlField& f) const {
  if (f.value.IsScalar()) {
    if (f.value.Scalar() == "true") return true;
    if (f.value.Scalar() == "false") return false;
  }
  return Expected(f, "true or false");
}

absl::StatusOr<std::string> StrictYamlParser::HostPort(const YamlField& f, uint32_t min_port,
                                                       bool allow_empty) const {
  const std::string what =
      absl::StrCat("host:port with port ", min_port, "-65535 (IPv6 as \"[::1]:7070\")",
                   allow_empty ? " or \"\"" : "");
  if (!f.value.IsScalar()) {
    if (f.value.IsSequence()) {
      // `listen: [::1]:7070` unquoted reads as a YAML list.
      return Error(f, absl::StrCat("expected ", what, ", got a list (quote IPv6 addresses)"));
    }
    return Expected(f, what);
  }
  const std::string& text = f.value.Scalar();
  if (text.empty() && allow_empty) return text;
  if (!IsValidHostPort(text, min_port)) return Expected(f, what);
  return text;
}

absl::StatusOr<std::string> StrictYamlParser::Url(const YamlField& f,
                                                  std::initializer_list<absl::string_view> schemes,
                                                  absl::string_view what,
                                                  absl::string_view secrets) const {
  ASSIGN_OR_RETURN(std::string url, String(f));
  switch (CheckUrl(url, schemes)) {
    case UrlCheck::kOk:
      return url;
    case UrlCheck::kHasCredentials:
      // Not quoted: the value holds a secret.
      return Error(
          f, absl::StrCat("credentials (user:password@) do not belong in the URL; ", secrets));
    case UrlCheck::kBad:
      break;
  }
  return Error(f, absl::StrCat(QuoteValue(url), " is not ", what));
}

absl::Status StrictYamlParser::SyntaxError(const YAML::Mark& mark, absl::string_view what) const {
  if (mark.column < 0) return Error(mark.line, "", absl::StrCat("invalid YAML: ", what));
  return Error(mark.line, "", absl::StrCat("invalid YAML: column ", mark.column + 1, ": ", what));
}

absl::Status StrictYamlParser::CheckSingleDocument(const std::string& text) const {
  // Not YAML::LoadAll: yaml-cpp 0.7 loops forever there on a stray ',' at
  // the top level (each call "parses" an empty document without consuming
  // it). A few more looks tell a stuck parser from a real second document.
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts docs;
  for (int i = 0; i < 4 && parser.HandleNextDocument(docs); ++i) {
    if (docs.starts.size() >= 2) {
      const YAML::Mark& a = docs.starts[docs.starts.size() - 2];
      const YAML::Mark& b = docs.starts.back();
      if (a.pos == b.pos && a.line == b.line && a.column == b.column) {
        std::string what = "unexpected content";
        if (b.pos >= 0 && static_cast<size_t>(b.pos) < text.size() &&
            absl::ascii_isgraph(static_cast<unsigned char>(text[static_cast<size_t>(b.pos)]))) {
          what = absl::StrCat("unexpected '", text.substr(static_cast<size_t>(b.pos), 1), "'");
        }
        return SyntaxError(b, what);
      }
    }
  }
  if (docs.starts.size() >= 2) {
    return Error(docs.starts[1].line, "",
                 "more than one YAML document: expected a single map of settings");
  }
  return absl::OkStatus();
}

absl::StatusOr<YamlField> StrictYamlParser::LoadDocument(absl::string_view yaml) const {
  const std::string text(yaml);
  YAML::Node document;
  try {
    RETURN_IF_ERROR(CheckSingleDocument(text));
    document = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return SyntaxError(e.mark, e.msg);
  }
  if (document.IsNull()) return Error(-1, "", "the config is empty: expected a map of settings");
  YamlField root{"", document, LineOf(document)};
  if (!root.value.IsMap()) {
    return Error(
        root.line, "",
        absl::StrCat("expected a map of settings at the top level, got ", Describe(root.value)));
  }
  return root;
}

absl::StatusOr<std::string> ReadConfigFile(const std::string& path) {
  auto fail = [&path](int err) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read config file '", path,
                                                   "': ", std::generic_category().message(err)));
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (file == nullptr) return fail(errno);
  std::string text;
  char buf[65536];
  while (true) {
    const size_t n = std::fread(buf, 1, sizeof buf, file.get());
    text.append(buf, n);
    if (text.size() > kMaxConfigFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("config file '", path, "' is larger than 16 MiB"));
    }
    if (n < sizeof buf) break;
  }
  if (std::ferror(file.get())) return fail(errno);
  return text;
}

absl::Status StatusFromCurrentException(absl::string_view source) {
  try {
    throw;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": invalid YAML: ", e.what()));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat(source, ": out of memory"));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(source, ": unexpected error while parsing"));
  }
}

}  // namespace goalkeeper
