// goalkeeper-notifier: resolves exposed IPs to owners and notifies them.
//   goalkeeper-notifier [--config FILE] [--listen HOST:PORT] [--db PATH]
// Flags override the config file. Exit codes: 0 clean shutdown, 1 runtime
// failure (including a database file that is another application's or has a
// newer schema), 2 bad usage or configuration (one line naming the bad value,
// e.g. an empty --db).
#include <curl/curl.h>

#include <cstdio>

#include "common/flags.h"
#include "notifier/config.h"
#include "notifier/notifier_server.h"

int main(int argc, char** argv) {
  goalkeeper::FlagParser flags("goalkeeper-notifier");
  goalkeeper::DaemonFlags daemon;
  daemon.Add(flags, "0.0.0.0:7071");
  if (std::optional<int> rc = flags.ParseForMain(argc - 1, argv + 1, stdout, stderr)) return *rc;
  if (absl::Status s = daemon.Check(flags); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  absl::StatusOr<goalkeeper::NotifierConfig> config =
      daemon.config.empty() ? goalkeeper::ParseNotifierConfig("{}", "flags")
                            : goalkeeper::LoadNotifierConfig(daemon.config);
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  daemon.ApplyTo(flags, *config);
  // libcurl: initialised once, before any thread starts.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = goalkeeper::RunNotifier(*config);
  curl_global_cleanup();
  return rc;
}
