// goalkeeper-notifier: resolves exposed IPs to owners and notifies them.
//   goalkeeper-notifier [--config FILE] [--listen HOST:PORT] [--db PATH]
//   goalkeeper-notifier --check-config [--config FILE] [flags]
// Flags override the config file. --check-config builds the configuration
// exactly as a start does (the same EffectiveConfig), checks every secret a
// start reads (the *_file files, else $GOALKEEPER_SMTP_PASSWORD,
// $GOALKEEPER_TELEGRAM_TOKEN, $GOALKEEPER_OPENSTACK_PASSWORD,
// $GOALKEEPER_FLEIO_TOKEN), prints the effective configuration as YAML on
// stdout (a valid config file, secrets never shown) and exits, without
// binding a port, opening the database, creating the outbox or contacting
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
#include "common/flags.h"
#include "common/http_client.h"
#include "common/tls.h"
#include "notifier/config.h"
#include "notifier/notifier_server.h"

namespace {

struct NotifierFlags {
  goalkeeper::DaemonFlags daemon;
  goalkeeper::TlsFlags tls;
  std::string health_listen;
  bool check_config = false;
};

void AddFlags(goalkeeper::FlagParser& flags, NotifierFlags& f) {
  f.daemon.Add(flags, "0.0.0.0:7071");
  f.tls.Add(flags, nullptr, /*server_name_flag=*/false);
  flags.AddHostPort("health-listen", &f.health_listen, goalkeeper::PortRule::kListen, true,
                    "plaintext grpc.health.v1 for probes (default 0.0.0.0:7073); empty disables");
  flags.AddBool("check-config", &f.check_config,
                "check config, flags and secrets; print the effective config as YAML (secrets "
                "never shown), exit 0 (or 2); binds, opens and dials nothing");
}

// What a start runs with: the file first (with no file, the built-in
// defaults, checked the same way), then the flags over it.
absl::StatusOr<goalkeeper::NotifierConfig> EffectiveConfig(const goalkeeper::FlagParser& flags,
                                                           const NotifierFlags& f) {
  if (absl::Status s = f.daemon.Check(flags); !s.ok()) return s;
  absl::StatusOr<goalkeeper::NotifierConfig> config =
      f.daemon.config.empty() ? goalkeeper::ParseNotifierConfig("{}", "flags")
                              : goalkeeper::LoadNotifierConfig(f.daemon.config);
  if (!config.ok()) return config.status();
  f.daemon.ApplyTo(flags, *config);
  if (flags.WasSet("health-listen")) config->health_listen = f.health_listen;
  if (absl::Status s = f.tls.ApplyTo(flags, &config->tls); !s.ok()) return s;
  if (absl::Status s = goalkeeper::RequireTlsMaterial(config->tls, goalkeeper::TlsUse::kDaemon);
      !s.ok()) {
    if (s.message() != goalkeeper::kNoTlsMaterial) return s;
    return absl::InvalidArgumentError(
        absl::StrCat(s.message(), " (config: tls: {dir: DIR} or insecure: true)"));
  }
  if (absl::Status s = goalkeeper::CheckTlsFiles(config->tls); !s.ok()) return s;
  return config;
}

// --check-config once the configuration is built: the secrets a start
// reads, then the configuration on stdout.
int CheckConfig(const goalkeeper::NotifierConfig& config) {
  const std::vector<goalkeeper::SecretRef> secrets = goalkeeper::NotifierSecrets(config);
  for (const goalkeeper::SecretRef& secret : secrets) {
    if (absl::Status s = goalkeeper::CheckSecret(secret); !s.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
      return 2;
    }
  }
  std::string out =
      "# goalkeeper-notifier --check-config: the effective configuration (file and flags)\n";
  absl::StrAppend(&out, goalkeeper::FormatNotifierConfig(config));
  absl::StrAppend(&out, "# Secrets (checked; values never shown):\n");
  for (const goalkeeper::SecretRef& secret : secrets) {
    absl::StrAppend(&out, "#   ", goalkeeper::DescribeSecret(secret), "\n");
  }
  std::fputs(out.c_str(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  goalkeeper::FlagParser flags("goalkeeper-notifier");
  NotifierFlags f;
  AddFlags(flags, f);
  if (std::optional<int> rc = flags.ParseForMain(argc - 1, argv + 1, stdout, stderr)) return *rc;
  absl::StatusOr<goalkeeper::NotifierConfig> config = EffectiveConfig(flags, f);
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  if (f.check_config) return CheckConfig(*config);
  // libcurl: initialised once, before any thread starts.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = goalkeeper::RunNotifier(*config);
  curl_global_cleanup();
  return rc;
}
