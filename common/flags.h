// A small command-line flag parser with exact, one-line errors, so every
// binary can exit 2 on bad usage with a message naming the bad value.
//
//   FlagParser flags("goalkeeper-worker scan");
//   std::vector<std::string> targets;
//   uint64_t timeout_ms = 500;
//   flags.AddList("targets", &targets, "SPEC[,SPEC...]", "what to scan");
//   flags.AddUint("timeout-ms", &timeout_ms, 1, 600000, "per-probe deadline");
//   absl::Status s = flags.Parse(argc - 2, argv + 2);
//
// Accepts "--name value" and "--name=value"; boolean flags take no value
// ("--name") or "--name=true|false". Positional arguments are collected.
// One rule for repeated flags, in every binary: list flags (AddList,
// AddJoinedList) accumulate every occurrence; a scalar flag given twice is a
// usage error ("--timeout-ms given twice"), never "the last one wins".
// Every parser has --version (a boolean like the others): ParseForMain prints
// "goalkeeper-worker 0.1.0" (the first word of the command and the project
// version) and settles 0; callers of Parse check version_requested().
//
// Thread-safety: not thread-safe; use from main() only.
#ifndef GOALKEEPER_COMMON_FLAGS_H_
#define GOALKEEPER_COMMON_FLAGS_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/host_port.h"

namespace goalkeeper {

class FlagParser {
 public:
  // `command` as the usage shows it: "goalkeeper-worker scan".
  explicit FlagParser(std::string command);
  FlagParser(const FlagParser&) = delete;
  FlagParser& operator=(const FlagParser&) = delete;

  void AddString(std::string name, std::string* out, std::string value_name, std::string help);
  // Repeatable; each occurrence is appended.
  void AddList(std::string name, std::vector<std::string>* out, std::string value_name,
               std::string help);
  // Repeatable; the occurrences are joined with commas into one spec, so
  // "--ports 80 --ports databases" means "80,databases" (their union).
  void AddJoinedList(std::string name, std::string* out, std::string value_name, std::string help);
  void AddUint(std::string name, uint64_t* out, uint64_t min, uint64_t max, std::string help);
  void AddDouble(std::string name, double* out, double min, double max, std::string help);
  void AddBool(std::string name, bool* out, std::string help);
  // A HOST:PORT address checked by ParseHostPort under `rule`, and "" too
  // when `allow_empty`: "--listen: '0.0.0.0:70700': port 70700 is outside 0-65535".
  void AddHostPort(std::string name, std::string* out, PortRule rule, bool allow_empty,
                   std::string help);

  // Errors are InvalidArgument: "--timeout-ms: 'abc' is not a whole number".
  absl::Status Parse(int argc, const char* const* argv);

  // For a main() that takes no positional arguments: adds --help, parses,
  // and settles what ends the program. --help prints the usage on `out` (0);
  // a bad flag or a positional argument prints one "error: ..." line on
  // `err` (2). nullopt: go on.
  std::optional<int> ParseForMain(int argc, const char* const* argv, std::FILE* out,
                                  std::FILE* err);

  bool WasSet(absl::string_view name) const { return seen_.count(std::string(name)) > 0; }
  // --version was given: print VersionLine(program()) and exit 0.
  bool version_requested() const { return version_; }
  // The binary: the command's first word ("goalkeeper-worker").
  std::string program() const;
  const std::vector<std::string>& positional() const { return positional_; }
  std::string Usage() const;

 private:
  struct Flag {
    std::string value_name;  // empty for booleans
    std::string help;
    bool repeatable = false;  // a list: every occurrence counts
    std::function<absl::Status(absl::string_view)> set;
  };
  std::string command_;
  std::map<std::string, Flag, std::less<>> flags_;
  std::vector<std::string> order_;
  std::set<std::string> seen_;
  std::vector<std::string> positional_;
  bool version_ = false;
};

// The flags the daemons (coordinator, notifier) share; given flags override
// the config file's values.
//
//   DaemonFlags daemon;
//   daemon.Add(flags, "0.0.0.0:7070");
//   ... parse, load daemon.config ...
//   daemon.ApplyTo(flags, *config);
struct DaemonFlags {
  std::string config;  // --config FILE; "" = built-in defaults
  std::string listen;
  std::string db;
  std::string metrics_listen;

  void Add(FlagParser& flags, absl::string_view default_listen);
  // After parsing: InvalidArgument for `--db ""` (SQLite would silently use a
  // temporary database, lost at exit); the caller exits 2.
  absl::Status Check(const FlagParser& flags) const;
  // Config has `listen`, `db` and `metrics_listen` string members.
  template <typename Config>
  void ApplyTo(const FlagParser& flags, Config& c) const {
    if (flags.WasSet("listen")) c.listen = listen;
    if (flags.WasSet("db")) c.db = db;
    if (flags.WasSet("metrics-listen")) c.metrics_listen = metrics_listen;
  }
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_FLAGS_H_
