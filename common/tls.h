// Transport security settings from flags and config files, checked before a
// process starts serving or dialling: every binary takes the same TLS flags
// (TlsFlags), the coordinator's and the notifier's configs the same `tls:`
// block and `insecure:` key (ParseTlsYaml), and every start checks the files
// (CheckTlsFiles) so a missing, mismatched or expired certificate is one
// line at start instead of a handshake failure later. common/grpc_channel.h
// turns a checked TlsConfig into credentials.
//
//   TlsFlags tls_flags;
//   tls_flags.Add(flags, std::getenv("GOALKEEPER_TLS_DIR"));
//   ... flags.Parse(...) ...
//   TlsConfig tls;
//   RETURN_IF_ERROR(tls_flags.ApplyTo(flags, &tls));   // flags over a config's values
//   RETURN_IF_ERROR(RequireTlsMaterial(tls, TlsUse::kDaemon));
//   RETURN_IF_ERROR(CheckTlsFiles(tls));   // "--tls-cert-file '/x/tls.crt': expired on ..."
//
// Flags: --tls-dir DIR means DIR/ca.crt, DIR/tls.crt and DIR/tls.key (a
// kubernetes.io/tls Secret as cert-manager writes it); --tls-ca-file,
// --tls-cert-file and --tls-key-file win over it one by one;
// --tls-server-name NAME (clients: the name the server's certificate must
// carry instead of the dialled host); --insecure (plaintext; refused together
// with a TLS flag). Config: `tls: {dir, ca_file, cert_file, key_file,
// refresh_seconds}` and `insecure: true|false` (not both); given flags win
// over the file.
//
// Thread-safety: plain functions and values; CheckTlsFiles reads files only.
#ifndef GOALKEEPER_COMMON_TLS_H_
#define GOALKEEPER_COMMON_TLS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/flags.h"
#include "common/strict_yaml.h"
#include "common/tls_config.h"

namespace goalkeeper {

// The error when a process has neither TLS files nor --insecure.
inline constexpr char kNoTlsMaterial[] =
    "no TLS material: give --tls-dir (or the three --tls-*-file flags) or --insecure";

// The TLS flags of every binary (see above).
struct TlsFlags {
  std::string dir;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;
  bool insecure = false;
  // The default of --tls-dir when the flag is not given ("" or null: none),
  // e.g. $GOALKEEPER_TLS_DIR for the workers and node agents.
  std::string default_dir;

  // `server_name_flag`: add --tls-server-name (clients).
  void Add(FlagParser& flags, const char* default_dir_value = nullptr,
           bool server_name_flag = true);
  // After parsing: the given flags over *tls (a config's values, or the
  // defaults). --insecure with a TLS flag is InvalidArgument.
  absl::Status ApplyTo(const FlagParser& flags, TlsConfig* tls) const;
};

// DIR/ca.crt, DIR/tls.crt and DIR/tls.key (the files a kubernetes.io/tls Secret holds).
void SetTlsDir(absl::string_view dir, TlsConfig* tls);

// What a process needs before it may start.
enum class TlsUse {
  kDaemon,       // serves and dials with its own certificate: all three files
  kClient,       // goalkeeperctl: the CA, and a certificate + key or a bearer token
  kTokenClient,  // goalkeeperctl with --token-file: the CA; a certificate is optional
};

// OK with `insecure`; else the files `use` needs must be named (not read:
// see CheckTlsFiles). None at all: kNoTlsMaterial; some: "--tls-key-file is
// missing (--tls-cert-file is given)".
absl::Status RequireTlsMaterial(const TlsConfig& tls, TlsUse use);

// Reads and checks the files a TlsConfig names (nothing with `insecure`):
// each exists and is readable, the CA file holds PEM certificates (at least
// one valid now), the certificate file a PEM certificate valid now (not
// expired, not yet valid), the key file a PEM private key that matches the
// certificate. Errors are InvalidArgument, one line naming the file:
// "TLS certificate '/etc/gk/tls.crt': expired on 2026-11-30 10:00:00 UTC",
// "TLS key '/etc/gk/tls.key' does not match the certificate '/etc/gk/tls.crt'".
absl::Status CheckTlsFiles(const TlsConfig& tls);

// The `tls:` block of a config (a map with dir, ca_file, cert_file,
// key_file, refresh_seconds) into *tls; the file keys win over `dir`.
absl::Status ParseTlsYaml(const StrictYamlParser& yaml, const YamlField& f, TlsConfig* tls);
// The `insecure:` key (true|false) into tls->insecure.
absl::Status ParseInsecureYaml(const StrictYamlParser& yaml, const YamlField& f, TlsConfig* tls);
// After a whole file: `insecure: true` together with `tls:` files is an
// error at `line` (0-based, of the `insecure` key).
absl::Status CheckTlsYaml(const StrictYamlParser& yaml, const TlsConfig& tls, int line);

// The settings as config-file YAML (what --check-config prints; paths only,
// never file contents): "tls:\n  ca_file: ...\n...insecure: false\n".
std::string FormatTlsYaml(const TlsConfig& tls);

// One line for logs and --check-config of flag-only binaries:
// "tls ca=/x/ca.crt cert=/x/tls.crt key=/x/tls.key refresh=10s" or "insecure (plaintext)".
std::string DescribeTls(const TlsConfig& tls);

// Reads a bearer token file (the first line, whitespace-stripped). Errors
// name the file, never its contents: "--token-file '/x': file is empty".
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_TLS_H_
