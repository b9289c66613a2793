// goalkeeper-coordinator: shards scans across workers and keeps their state.
//   goalkeeper-coordinator --listen HOST:PORT --db PATH [--config FILE]
// Flags override the config file. Exit codes: 0 clean shutdown, 1 runtime
// failure (including a database file that is another application's or has a
// newer schema), 2 bad usage or configuration (one line naming the bad value,
// e.g. an empty --db).
#include <curl/curl.h>

#include <cstdio>

#include "absl/synchronization/mutex.h"
#include "common/flags.h"
#include "common/logging.h"
#include "common/targets.h"
#include "coordinator/config.h"
#include "coordinator/coordinator_server.h"

int main(int argc, char** argv) {
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles
  // (its debug default): a few percent of the lease path. Tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  goalkeeper::FlagParser flags("goalkeeper-coordinator");
  goalkeeper::DaemonFlags daemon;
  std::string notifier;
  std::vector<std::string> allowed;
  daemon.Add(flags, "0.0.0.0:7070");
  flags.AddHostPort("notifier", &notifier, goalkeeper::PortRule::kDial, true,
                    "notifier address for scan reports");
  flags.AddList("allowed", &allowed, "SPEC[,SPEC...]", "add allowed target ranges");
  if (std::optional<int> rc = flags.ParseForMain(argc - 1, argv + 1, stdout, stderr)) return *rc;
  if (absl::Status s = daemon.Check(flags); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  // The file first; flags then override. With no file, the built-in defaults
  // are checked the same way (allowed ranges, addresses).
  absl::StatusOr<goalkeeper::CoordinatorConfig> config =
      daemon.config.empty() ? goalkeeper::ParseCoordinatorConfig("{}", "flags")
                            : goalkeeper::LoadCoordinatorConfig(daemon.config);
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  daemon.ApplyTo(flags, *config);
  if (flags.WasSet("notifier")) config->notifier_address = notifier;
  if (auto parsed = goalkeeper::ParseTargetSpecs(allowed); !parsed.ok()) {
    std::fprintf(stderr, "error: --allowed: %s\n", std::string(parsed.status().message()).c_str());
    return 2;
  }
  for (const std::string& a : allowed) config->allowed_ranges.push_back(a);
  for (const std::string& w : goalkeeper::BroadAllowedRangeWarnings(config->allowed_ranges)) {
    goalkeeper::MakeLogger("coordinator")->warn("{}", w);
  }
  // Before any thread: the `openstack` inventories' HTTP client.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const int rc = goalkeeper::RunCoordinator(*config);
  curl_global_cleanup();
  return rc;
}
