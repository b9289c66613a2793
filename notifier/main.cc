// goalkeeper-notifier: resolves exposed IPs to owners and notifies them.
//   goalkeeper-notifier [--config FILE] [--listen HOST:PORT] [--db PATH]
// Flags override the config file. Exit codes: 0 clean shutdown, 1 runtime
// failure, 2 bad usage or configuration (one line naming the bad value).
#include <curl/curl.h>

#include <cstdio>

#include "common/flags.h"
#include "notifier/config.h"
#include "notifier/notifier_server.h"

int main(int argc, char** argv) {
  goalkeeper::FlagParser flags("goalkeeper-notifier");
  std::string config_path, listen, db, metrics_listen;
  bool help = false;
  flags.AddString("config", &config_path, "FILE", "YAML configuration (see notifier/config.h)");
  flags.AddString("listen", &listen, "HOST:PORT", "gRPC address (default 0.0.0.0:7071)");
  flags.AddString("db", &db, "PATH", "SQLite database file");
  flags.AddString("metrics-listen", &metrics_listen, "HOST:PORT",
                  "Prometheus /metrics address; empty disables");
  flags.AddBool("help", &help, "show this help");
  if (absl::Status s = flags.Parse(argc - 1, argv + 1); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  if (help) {
    std::fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  if (!flags.positional().empty()) {
    std::fprintf(stderr, "error: unexpected argument '%s'\n", flags.positional()[0].c_str());
    return 2;
  }
  absl::StatusOr<goalkeeper::NotifierConfig> config =
      config_path.empty() ? goalkeeper::ParseNotifierConfig("{}", "flags")
                          : goalkeeper::LoadNotifierConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  if (flags.WasSet("listen")) config->listen = listen;
  if (flags.WasSet("db")) config->db = db;
  if (flags.WasSet("metrics-listen")) config->metrics_listen = metrics_listen;
  // libcurl: initialised once, before any thread starts.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = goalkeeper::RunNotifier(*config);
  curl_global_cleanup();
  return rc;
}
