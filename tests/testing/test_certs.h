// Development certificates for tests that start real servers with TLS on:
// scripts/dev-certs.sh run into a temporary directory of this test process
// (removed when it exits), an identity made the first time it is asked for.
//
//   const TestCerts& certs = TestCerts::Get();
//   argv = {kWorker, "run", "--coordinator", address, "--name", "w1"};
//   AddArgs(argv, certs.Flags("worker"));        // --tls-dir DIR/worker
//   yaml << certs.Yaml("coordinator");            // "tls:\n  dir: DIR/coordinator\n"
//   yaml << certs.DaemonYaml("coordinator");      // the same + health_listen: ""
//   Run(WithTls({kCtl, "--coordinator", address, "scan", "list"}, "admin"));
//   ctl  = certs.Flags("admin");                  // goalkeeperctl as the admin
//   grpcurl = certs.GrpcurlFlags("admin");        // -cacert -cert -key
//   ChannelOptions options;  options.tls = certs.Tls("worker");  // in-process
//   // Hostile cases: a certificate of another CA, an expired one of ours.
//   std::string rogue = certs.OtherCa("worker");   // a directory
//   std::string old = certs.Expired("worker");
//
// Names are the identities of design11 (coordinator, notifier, worker,
// node-agent, admin, operator, viewer) or any other NAME dev-certs.sh takes:
// its certificate has SAN URI spiffe://goalkeeper/NAME, DNS localhost and IP
// 127.0.0.1/::1, so a client dialling 127.0.0.1:PORT verifies the server
// without --tls-server-name. A failure to make certificates ends the test
// process with a message naming the command and what it printed.
//
// Thread-safety: Get() and every method may be called from any thread.
#ifndef GOALKEEPER_TESTS_TESTING_TEST_CERTS_H_
#define GOALKEEPER_TESTS_TESTING_TEST_CERTS_H_

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/tls_config.h"

namespace goalkeeper::testing {

struct CertOptions {
  bool expired = false;          // valid in the past only (dev-certs.sh --expired)
  bool other_ca = false;         // signed by a second CA that our servers do not trust
  std::vector<std::string> dns;  // extra SAN DNS names (dev-certs.sh --dns)
};

class TestCerts {
 public:
  // The process-wide instance; its CA is made on the first call.
  static const TestCerts& Get();

  // DIR/NAME, holding ca.crt, tls.crt and tls.key (made if needed).
  std::string Dir(const std::string& name) const;
  // {"--tls-dir", Dir(name)}: the flags of every binary.
  std::vector<std::string> Flags(const std::string& name) const;
  // The coordinator's / notifier's config block, at `indent` spaces:
  //   tls:
  //     dir: DIR/NAME
  std::string Yaml(const std::string& name, int indent = 0) const;
  // Yaml(name) plus `health_listen: ""`: what a test's coordinator or
  // notifier config needs with TLS on (the plaintext health port's default,
  // 0.0.0.0:7072 / :7073, would collide between tests running at once).
  std::string DaemonYaml(const std::string& name) const;
  // The files of Dir(name) as a TlsConfig, for in-process channels and
  // servers (ChannelOptions::tls, MakeServerCredentials).
  TlsConfig Tls(const std::string& name) const;
  // {"-cacert", CA, "-cert", DIR/NAME/tls.crt, "-key", DIR/NAME/tls.key}.
  std::vector<std::string> GrpcurlFlags(const std::string& name) const;
  // The CA every identity made without other_ca chains to.
  std::string CaFile() const;
  // The temporary directory itself.
  const std::string& root() const { return root_; }

  // Makes an identity with options and returns its directory: DIR/NAME
  // without options, else DIR/other-ca[-expired][-dns-D...]/NAME (so an
  // expired "worker" never replaces the valid one). ca.crt there is the CA
  // that signed it: for other_ca not ours, so a hostile client that should
  // reach our server's check dials with --tls-ca-file CaFile() and
  // --tls-cert-file/--tls-key-file from this directory.
  std::string Make(const std::string& name, const CertOptions& options) const;

  // Make(name) with expired / other_ca set.
  std::string Expired(const std::string& name) const;
  std::string OtherCa(const std::string& name) const;

  TestCerts(const TestCerts&) = delete;
  TestCerts& operator=(const TestCerts&) = delete;

 private:
  TestCerts();
  // Runs dev-certs.sh with `args`; ends the process if it fails.
  void RunScript(const std::vector<std::string>& args) const;

  std::string root_;
  mutable std::mutex mu_;
  mutable std::set<std::string> made_;  // guarded by mu_: "OUT_DIR|NAME"
};

// Appends `extra` to `argv` (for Flags() and GrpcurlFlags()).
inline void AddArgs(std::vector<std::string>& argv, const std::vector<std::string>& extra) {
  argv.insert(argv.end(), extra.begin(), extra.end());
}

// `argv` followed by TestCerts::Get().Flags(name):
//   Run(WithTls({kCtl, "--coordinator", address, "scan", "list"}, "admin"));
std::vector<std::string> WithTls(std::vector<std::string> argv, const std::string& name);

}  // namespace goalkeeper::testing

#endif  // GOALKEEPER_TESTS_TESTING_TEST_CERTS_H_
