#include "common/flags.h"

#include <cmath>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/version.h"

namespace goalkeeper {
namespace {

std::string Quote(absl::string_view v) {
  std::string s(v.substr(0, 128));
  if (v.size() > 128) s += "...";
  return absl::StrCat("'", s, "'");
}

}  // namespace

FlagParser::FlagParser(std::string command) : command_(std::move(command)) {
  AddBool("version", &version_, "print the version and exit");
}

std::string FlagParser::program() const { return command_.substr(0, command_.find(' ')); }

void FlagParser::AddString(std::string name, std::string* out, std::string value_name,
                           std::string help) {
  order_.push_back(name);
  flags_[name] = {std::move(value_name), std::move(help), /*repeatable=*/false,
                  [out](absl::string_view v) {
                    *out = std::string(v);
                    return absl::OkStatus();
                  }};
}

void FlagParser::AddList(std::string name, std::vector<std::string>* out, std::string value_name,
                         std::string help) {
  order_.push_back(name);
  flags_[name] = {std::move(value_name), std::move(help), /*repeatable=*/true,
                  [out](absl::string_view v) {
                    out->emplace_back(v);
                    return absl::OkStatus();
                  }};
}

void FlagParser::AddJoinedList(std::string name, std::string* out, std::string value_name,
                               std::string help) {
  order_.push_back(name);
  // The first occurrence replaces the default; later ones are appended.
  flags_[name] = {std::move(value_name), std::move(help), /*repeatable=*/true,
                  [out, first = std::make_shared<bool>(true)](absl::string_view v) {
                    if (*first) {
                      out->clear();
                      *first = false;
                    } else {
                      out->push_back(',');
                    }
                    out->append(v.data(), v.size());
                    return absl::OkStatus();
                  }};
}

void FlagParser::AddUint(std::string name, uint64_t* out, uint64_t min, uint64_t max,
                         std::string help) {
  order_.push_back(name);
  flags_[name] = {
      "N", std::move(help), /*repeatable=*/false, [out, min, max](absl::string_view v) {
        uint64_t n = 0;
        if (v.empty() || v[0] == '-' || v[0] == '+' || !absl::SimpleAtoi(v, &n)) {
          return absl::InvalidArgumentError(absl::StrCat(Quote(v), " is not a whole number"));
        }
        if (n < min || n > max) {
          return absl::InvalidArgumentError(
              absl::StrCat(Quote(v), " is out of range [", min, ", ", max, "]"));
        }
        *out = n;
        return absl::OkStatus();
      }};
}

void FlagParser::AddDouble(std::string name, double* out, double min, double max,
                           std::string help) {
  order_.push_back(name);
  flags_[name] = {"N", std::move(help), /*repeatable=*/false, [out, min, max](absl::string_view v) {
                    double d = 0;
                    if (!absl::SimpleAtod(v, &d) || !std::isfinite(d)) {
                      return absl::InvalidArgumentError(absl::StrCat(Quote(v), " is not a number"));
                    }
                    if (d < min || d > max) {
                      return absl::InvalidArgumentError(
                          absl::StrCat(Quote(v), " is out of range [", min, ", ", max, "]"));
                    }
                    *out = d;
                    return absl::OkStatus();
                  }};
}

void FlagParser::AddBool(std::string name, bool* out, std::string help) {
  order_.push_back(name);
  flags_[name] = {
      "", std::move(help), /*repeatable=*/false, [out](absl::string_view v) {
        if (v.empty() || v == "true") {
          *out = true;
        } else if (v == "false") {
          *out = false;
        } else {
          return absl::InvalidArgumentError(absl::StrCat(Quote(v), " is not true or false"));
        }
        return absl::OkStatus();
      }};
}

void FlagParser::AddHostPort(std::string name, std::string* out, PortRule rule, bool allow_empty,
                             std::string help) {
  order_.push_back(name);
  flags_[name] = {"HOST:PORT", std::move(help), /*repeatable=*/false,
                  [out, rule, allow_empty](absl::string_view v) -> absl::Status {
                    if (!(v.empty() && allow_empty)) {
                      if (absl::StatusOr<HostPort> hp = ParseHostPort(v, rule); !hp.ok()) {
                        return hp.status();
                      }
                    }
                    *out = std::string(v);
                    return absl::OkStatus();
                  }};
}

absl::Status FlagParser::Parse(int argc, const char* const* argv) {
  std::set<std::string> given;  // scalar flags of this command line
  for (int i = 0; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) positional_.emplace_back(argv[i]);
      break;
    }
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      if (!arg.empty() && arg[0] == '-') {
        return absl::InvalidArgumentError(absl::StrCat("unknown flag ", Quote(arg)));
      }
      positional_.emplace_back(arg);
      continue;
    }
    absl::string_view body = arg.substr(2);
    absl::string_view name = body;
    absl::string_view value;
    bool has_value = false;
    if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    auto it = flags_.find(name);
    if (it == flags_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    const Flag& flag = it->second;
    if (!flag.repeatable && !given.insert(it->first).second) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " given twice"));
    }
    if (!flag.value_name.empty() && !has_value) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
      value = argv[++i];
    }
    if (absl::Status s = flag.set(value); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, ": ", s.message()));
    }
    seen_.insert(std::string(name));
  }
  return absl::OkStatus();
}

std::string FlagParser::Usage() const {
  std::string out = absl::StrCat("usage: ", command_, " [flags]\n");
  for (const std::string& name : order_) {
    const Flag& f = flags_.at(name);
    std::string left = absl::StrCat("  --", name);
    if (!f.value_name.empty()) absl::StrAppend(&left, " ", f.value_name);
    if (left.size() < 30) left.resize(30, ' ');
    absl::StrAppend(&out, left, " ", f.help, "\n");
  }
  return out;
}

std::optional<int> FlagParser::ParseForMain(int argc, const char* const* argv, std::FILE* out,
                                            std::FILE* err) {
  bool help = false;
  AddBool("help", &help, "show this help");
  if (absl::Status s = Parse(argc, argv); !s.ok()) {
    std::fprintf(err, "error: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  if (help) {
    std::fputs(Usage().c_str(), out);
    return 0;
  }
  if (version_) {
    std::fprintf(out, "%s\n", VersionLine(program()).c_str());
    return 0;
  }
  if (!positional_.empty()) {
    std::fprintf(err, "error: unexpected argument '%s'\n", positional_[0].c_str());
    return 2;
  }
  return std::nullopt;
}

absl::Status DaemonFlags::Check(const FlagParser& flags) const {
  if (flags.WasSet("db") && db.empty()) {
    return absl::InvalidArgumentError(
        "--db: the path is empty (that would be a temporary database, lost at exit); "
        "give a file");
  }
  return absl::OkStatus();
}

void DaemonFlags::Add(FlagParser& flags, absl::string_view default_listen) {
  flags.AddString("config", &config, "FILE", "YAML configuration; flags override it");
  flags.AddHostPort("listen", &listen, PortRule::kListen, false,
                    absl::StrCat("gRPC address (default ", default_listen, ")"));
  flags.AddString("db", &db, "PATH", "SQLite database file");
  flags.AddHostPort("metrics-listen", &metrics_listen, PortRule::kListen, true,
                    "Prometheus /metrics address; empty disables");
}

}  // namespace goalkeeper
