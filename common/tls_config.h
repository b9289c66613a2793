// Transport security settings shared by every daemon and goalkeeperctl: the
// CA that signs the fleet, this process's own key and certificate (used as
// the server's certificate and as the client certificate it dials with), or
// an explicit --insecure. common/grpc_channel.h turns them into credentials
// that reload the files when they change.
//
// Flags (every binary): --tls-dir DIR (ca.crt, tls.crt, tls.key: the layout
// of a kubernetes.io/tls Secret made by cert-manager), or --tls-ca-file,
// --tls-cert-file, --tls-key-file one by one (they win over --tls-dir);
// --tls-server-name NAME (client: the name to verify in the server's
// certificate instead of the dialled host); --insecure.
// Config (coordinator, notifier):
//   tls: {dir: ..., ca_file: ..., cert_file: ..., key_file: ..., refresh_seconds: 10}
//   insecure: false
//
// Thread-safety: a plain value.
#ifndef GOALKEEPER_COMMON_TLS_CONFIG_H_
#define GOALKEEPER_COMMON_TLS_CONFIG_H_

#include <string>

namespace goalkeeper {

struct TlsConfig {
  std::string ca_file;       // PEM: the CA(s) peers' certificates must chain to
  std::string cert_file;     // PEM: this process's certificate (chain)
  std::string key_file;      // PEM: its private key
  std::string server_name;   // client only: "" = the dialled host
  int refresh_seconds = 10;  // how often the files are re-read
  // Plaintext, nobody authenticated or authorised (a warning at start).
  bool insecure = false;

  friend bool operator==(const TlsConfig&, const TlsConfig&) = default;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_TLS_CONFIG_H_
