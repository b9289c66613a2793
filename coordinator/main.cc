// goalkeeper-coordinator: shards scans across workers and keeps their state.
//   goalkeeper-coordinator --listen HOST:PORT --db PATH [--config FILE]
//   goalkeeper-coordinator --check-config [--config FILE] [flags]
// Flags override the config file. --check-config builds the configuration
// exactly as a start does (the same EffectiveConfig), checks the OpenStack
// password files (or $GOALKEEPER_OPENSTACK_PASSWORD), prints the effective
// configuration as YAML on stdout (a valid config file, secrets never shown)
// and exits, without binding a port, opening the database or dialing
// anything. Exit codes: 0 clean shutdown (or a valid config with
// --check-config), 1 runtime failure (including a database file that is
// another application's or has a newer schema), 2 bad usage or configuration
// (one line naming the bad value, e.g. an empty --db or a missing secret
// file, no TLS material, an expired certificate).
// Transport: mutual TLS with --tls-dir DIR (or the tls: block), or plaintext
// with --insecure (or insecure: true); neither is refused (common/tls.h).
#include <curl/curl.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/flags.h"
#include "common/http_client.h"
#include "common/logging.h"
#include "common/targets.h"
#include "common/tls.h"
#include "coordinator/config.h"
#include "coordinator/coordinator_server.h"

namespace {

struct CoordinatorFlags {
  goalkeeper::DaemonFlags daemon;
  std::string notifier;
  std::vector<std::string> allowed;
  goalkeeper::TlsFlags tls;
  std::string health_listen;
  bool check_config = false;
};

void AddFlags(goalkeeper::FlagParser& flags, CoordinatorFlags& f) {
  f.daemon.Add(flags, "0.0.0.0:7070");
  flags.AddHostPort("notifier", &f.notifier, goalkeeper::PortRule::kDial, true,
                    "notifier address for scan reports");
  flags.AddList("allowed", &f.allowed, "SPEC[,SPEC...]", "add allowed target ranges");
  // The server's certificate is also the one the notifier is dialled with.
  f.tls.Add(flags, nullptr, /*server_name_flag=*/false);
  flags.AddHostPort("health-listen", &f.health_listen, goalkeeper::PortRule::kListen, true,
                    "plaintext grpc.health.v1 for probes (default 0.0.0.0:7072); empty disables");
  flags.AddBool("check-config", &f.check_config,
                "check config, flags and secrets; print the effective config as YAML (secrets "
                "never shown), exit 0 (or 2); binds, opens and dials nothing");
}

// What a start runs with: the file first (with no file, the built-in
// defaults, checked the same way), then the flags over it. Errors are one
// line naming the bad value.
absl::StatusOr<goalkeeper::CoordinatorConfig> EffectiveConfig(const goalkeeper::FlagParser& flags,
                                                              const CoordinatorFlags& f) {
  if (absl::Status s = f.daemon.Check(flags); !s.ok()) return s;
  absl::StatusOr<goalkeeper::CoordinatorConfig> config =
      f.daemon.config.empty() ? goalkeeper::ParseCoordinatorConfig("{}", "flags")
                              : goalkeeper::LoadCoordinatorConfig(f.daemon.config);
  if (!config.ok()) return config.status();
  f.daemon.ApplyTo(flags, *config);
  if (flags.WasSet("notifier")) config->notifier_address = f.notifier;
  if (flags.WasSet("health-listen")) config->health_listen = f.health_listen;
  if (absl::Status s = f.tls.ApplyTo(flags, &config->tls); !s.ok()) return s;
  if (absl::Status s = goalkeeper::RequireTlsMaterial(config->tls, goalkeeper::TlsUse::kDaemon);
      !s.ok()) {
    if (s.message() != goalkeeper::kNoTlsMaterial) return s;
    return absl::InvalidArgumentError(
        absl::StrCat(s.message(), " (config: tls: {dir: DIR} or insecure: true)"));
  }
  if (absl::Status s = goalkeeper::CheckTlsFiles(config->tls); !s.ok()) return s;
  if (auto parsed = goalkeeper::ParseTargetSpecs(f.allowed); !parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--allowed: ", parsed.status().message()));
  }
  // One spec per entry, as the file's lists are read.
  for (const std::string& a : f.allowed) {
    for (absl::string_view spec : absl::StrSplit(a, ',', absl::SkipWhitespace())) {
      config->allowed_ranges.emplace_back(absl::StripAsciiWhitespace(spec));
    }
  }
  return config;
}

// --check-config once the configuration is built: the secrets a start
// reads, then the configuration on stdout.
int CheckConfig(const goalkeeper::CoordinatorConfig& config) {
  const std::vector<goalkeeper::SecretRef> secrets = goalkeeper::CoordinatorSecrets(config);
  for (const goalkeeper::SecretRef& secret : secrets) {
    if (absl::Status s = goalkeeper::CheckSecret(secret); !s.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
      return 2;
    }
  }
  std::string out =
      "# goalkeeper-coordinator --check-config: the effective configuration (file and flags)\n";
  absl::StrAppend(&out, goalkeeper::FormatCoordinatorConfig(config));
  if (!secrets.empty()) absl::StrAppend(&out, "# Secrets (checked; values never shown):\n");
  for (const goalkeeper::SecretRef& secret : secrets) {
    absl::StrAppend(&out, "#   ", goalkeeper::DescribeSecret(secret), "\n");
  }
  std::fputs(out.c_str(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles
  // (its debug default): a few percent of the lease path. Tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  goalkeeper::FlagParser flags("goalkeeper-coordinator");
  CoordinatorFlags f;
  AddFlags(flags, f);
  if (std::optional<int> rc = flags.ParseForMain(argc - 1, argv + 1, stdout, stderr)) return *rc;
  absl::StatusOr<goalkeeper::CoordinatorConfig> config = EffectiveConfig(flags, f);
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  for (const std::string& w : goalkeeper::BroadAllowedRangeWarnings(config->allowed_ranges)) {
    goalkeeper::MakeLogger("coordinator")->warn("{}", w);
  }
  if (f.check_config) return CheckConfig(*config);
  // Before any thread: the `openstack` inventories' HTTP client.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const int rc = goalkeeper::RunCoordinator(*config);
  curl_global_cleanup();
  return rc;
}
