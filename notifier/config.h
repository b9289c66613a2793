// The notifier's configuration file (YAML), parsed as strictly as the
// coordinator's: an unknown key, a wrong type or a bad value is an error
// naming the file, the line, the key path and the value. Secrets are never
// in the file: each has a *_file key, or an environment variable.
//
//   listen: 127.0.0.1:7071
//   db: /var/lib/goalkeeper/notifier.db
//   metrics_listen: 0.0.0.0:9465
//   mode: stage                       # stage | prod
//   ops: {emails: [noc@example.net], telegram_chat_id: "-100123"}
//   email:
//     smtp_url: smtp://mail.example.net:587
//     username: goalkeeper
//     password_file: /run/secrets/smtp   # or $GOALKEEPER_SMTP_PASSWORD
//     from: goalkeeper@example.net
//     ca_file: /etc/ssl/certs/ca-certificates.crt
//     outbox_dir: ./outbox               # used when smtp_url is absent
//   telegram:
//     api_url: https://api.telegram.org
//     token_file: /run/secrets/telegram  # or $GOALKEEPER_TELEGRAM_TOKEN
//   owners:
//     static:
//       - {cidr: 198.51.100.0/28, name: "ACME", emails: [sec@acme.example], telegram_chat_id:
//       "-100456"}
//     openstack:
//       auth_url: https://keystone.example.net:5000
//       username: goalkeeper
//       user_domain_name: Default
//       project_name: admin
//       project_domain_name: Default
//       password_file: /run/secrets/openstack  # or $GOALKEEPER_OPENSTACK_PASSWORD
//       interface: public
//       region: RegionOne
//     fleio: {url: https://fleio.example.net, token_file: /run/secrets/fleio}  # or
//     $GOALKEEPER_FLEIO_TOKEN
//   notify:
//     repeat_interval: 7d       # remind a still-open exposure at most this often
//     give_up_after: 3d         # then the notification goes to the dead letters
//     notify_closed: false      # also tell owners when an exposure closes
//     acknowledged:             # exposures not to notify, until they expire
//       - {ip: 198.51.100.7, port: 22, until: "2027-01-31T00:00:00Z", reason: "bastion"}
//   tls: {dir: /etc/goalkeeper/tls}  # ca.crt, tls.crt, tls.key (common/tls.h); or
//   insecure: true                   # plaintext (local demos only)
//   health_listen: 0.0.0.0:7073      # plaintext grpc.health.v1 for probes; "" = off
//   auth: {...}   # who may do what: common/auth_config.h
//
//   ASSIGN_OR_RETURN(NotifierConfig c, LoadNotifierConfig("/etc/goalkeeper/notifier.yaml"));
//
// Thread-safety: plain data.
#ifndef GOALKEEPER_NOTIFIER_CONFIG_H_
#define GOALKEEPER_NOTIFIER_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/auth_config.h"  // AuthConfig: who may do what
#include "common/http_client.h"  // SecretRef
#include "common/targets.h"
#include "common/tls_config.h"
#include "owner_apis/openstack_config.h"

namespace goalkeeper {

enum class NotifierMode { kStage, kProd };

struct StaticOwner {
  std::string cidr;    // a target spec (CIDR, address or range)
  AddressRange range;  // parsed
  std::string name;
  std::vector<std::string> emails;
  std::string telegram_chat_id;  // optional

  friend bool operator==(const StaticOwner&, const StaticOwner&) = default;
};

struct AcknowledgedExposure {
  std::string ip;
  uint32_t port = 0;
  absl::Time until;
  std::string reason;

  friend bool operator==(const AcknowledgedExposure&, const AcknowledgedExposure&) = default;
};

struct NotifierConfig {
  std::string listen = "0.0.0.0:7071";
  std::string db = "goalkeeper-notifier.db";
  std::string metrics_listen = "0.0.0.0:9465";  // "" disables /metrics
  NotifierMode mode = NotifierMode::kStage;     // the safe default: nothing to customers

  std::vector<std::string> ops_emails;
  std::string ops_telegram_chat_id;

  std::string smtp_url;  // "" = write .eml files to outbox_dir
  std::string smtp_username;
  std::string smtp_password_file;  // or env GOALKEEPER_SMTP_PASSWORD
  std::string email_from = "goalkeeper@localhost.localdomain";
  std::string email_ca_file;
  std::string outbox_dir = "./outbox";

  std::string telegram_api_url = "https://api.telegram.org";
  std::string telegram_token_file;  // or env GOALKEEPER_TELEGRAM_TOKEN; none = log

  std::vector<StaticOwner> static_owners;

  bool openstack_enabled = false;
  OpenStackConfig openstack;  // when openstack_enabled (password loaded at start)

  bool fleio_enabled = false;
  std::string fleio_url;
  std::string fleio_token_file;  // or env GOALKEEPER_FLEIO_TOKEN

  absl::Duration repeat_interval = absl::Hours(24 * 7);
  absl::Duration give_up_after = absl::Hours(24 * 3);
  bool notify_closed = false;
  std::vector<AcknowledgedExposure> acknowledged;
  // Identities, tokens and roles (common/auth_config.h); of the role scopes
  // the notifier uses max_acknowledge (the longest Acknowledge a role may give).
  AuthConfig auth;

  // Mutual TLS on `listen`, or `insecure`; neither: refused at start.
  TlsConfig tls;
  std::string health_listen = "0.0.0.0:7073";  // plaintext grpc.health.v1 only; "" = off

  friend bool operator==(const NotifierConfig&, const NotifierConfig&) = default;
};

// Durations are "<n>s", "<n>m", "<n>h" or "<n>d" (e.g. 7d, 36h), or a
// combination absl::ParseDuration accepts ("1h30m").
// Validation beyond types: addresses are host:port; emails look like
// local@domain; smtp_url is smtp:// or smtps://; api/auth/fleio URLs are
// http(s)://; static owner cidrs parse; mode is stage or prod; prod needs
// ops.emails (the NOT FOUND reports go there); stage needs ops.emails (every
// email goes there); openstack needs auth_url, username and project_name;
// fleio needs url. Secret files are not read here (LoadSecret does that at
// start, so a missing file is a clear start-up error).
// Errors are InvalidArgument: "notifier.yaml:7: email.smtp_url: 'smpt://x'
// is not an smtp:// or smtps:// URL".
absl::StatusOr<NotifierConfig> ParseNotifierConfig(absl::string_view yaml,
                                                   absl::string_view source);
absl::StatusOr<NotifierConfig> LoadNotifierConfig(const std::string& path);

// The configuration as a config file (what `goalkeeper-notifier
// --check-config` prints): every key, defaults included, in the schema
// above, so that ParseNotifierConfig(FormatNotifierConfig(c)) == c.
// Strings are double-quoted, lists in flow style, durations as "7d" or
// "36h", times in UTC RFC 3339. An optional key that is unset and has no
// value the parser accepts is a comment saying what unset means
// ("# ca_file: unset (the system CA certificates)", "# fleio: unset").
// Secrets are never in it: a *_file key names a file, or a comment names
// the environment variable read instead.
std::string FormatNotifierConfig(const NotifierConfig& config);

// The secrets a start reads, by the rules RunNotifier follows: the SMTP
// password when smtp_url and username are set; the OpenStack password and
// the Fleio token when those owner sources are configured; the Telegram
// token when token_file or $GOALKEEPER_TELEGRAM_TOKEN is set (optional:
// without it summaries go to the log).
std::vector<SecretRef> NotifierSecrets(const NotifierConfig& config);

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_CONFIG_H_
