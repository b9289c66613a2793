// goalkeeper-coordinator: shards scans across workers and keeps their state.
//   goalkeeper-coordinator --listen HOST:PORT --db PATH [--config FILE]
// Flags override the config file. Exit codes: 0 clean shutdown, 1 runtime
// failure, 2 bad usage or configuration (one line naming the bad value).
#include <curl/curl.h>

#include <cstdio>

#include "absl/synchronization/mutex.h"
#include "common/flags.h"
#include "common/targets.h"
#include "coordinator/config.h"
#include "coordinator/coordinator_server.h"

int main(int argc, char** argv) {
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles
  // (its debug default): a few percent of the lease path. Tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  goalkeeper::FlagParser flags("goalkeeper-coordinator");
  std::string config_path, listen, db, metrics_listen, notifier;
  std::vector<std::string> allowed;
  bool help = false;
  flags.AddString("config", &config_path, "FILE", "YAML configuration (see docs)");
  flags.AddString("listen", &listen, "HOST:PORT", "gRPC address (default 0.0.0.0:7070)");
  flags.AddString("db", &db, "PATH", "SQLite database file");
  flags.AddString("metrics-listen", &metrics_listen, "HOST:PORT",
                  "Prometheus /metrics address; empty disables");
  flags.AddString("notifier", &notifier, "HOST:PORT", "notifier address for scan reports");
  flags.AddList("allowed", &allowed, "SPEC[,SPEC...]", "add allowed target ranges");
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
  // The file first; flags then override. With no file, the built-in defaults
  // are checked the same way (allowed ranges, addresses).
  std::string source = config_path.empty() ? "flags" : config_path;
  absl::StatusOr<goalkeeper::CoordinatorConfig> config =
      config_path.empty() ? goalkeeper::ParseCoordinatorConfig("{}", source)
                          : goalkeeper::LoadCoordinatorConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  if (flags.WasSet("listen")) config->listen = listen;
  if (flags.WasSet("db")) config->db = db;
  if (flags.WasSet("metrics-listen")) config->metrics_listen = metrics_listen;
  if (flags.WasSet("notifier")) config->notifier_address = notifier;
  if (auto parsed = goalkeeper::ParseTargetSpecs(allowed); !parsed.ok()) {
    std::fprintf(stderr, "error: --allowed: %s\n", std::string(parsed.status().message()).c_str());
    return 2;
  }
  for (const std::string& a : allowed) config->allowed_ranges.push_back(a);
  // Before any thread: the `openstack` inventories' HTTP client.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const int rc = goalkeeper::RunCoordinator(*config);
  curl_global_cleanup();
  return rc;
}
