#include "tests/testing/test_certs.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "tests/testing/subprocess.h"

#ifndef GOALKEEPER_DEV_CERTS_SH
#error "GOALKEEPER_DEV_CERTS_SH (the path of scripts/dev-certs.sh) must be defined"
#endif

namespace goalkeeper::testing {
namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "test_certs: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

// Where the temporary directory goes: $TEST_TMPDIR, $TMPDIR, or /tmp.
std::string TempBase() {
  for (const char* var : {"TEST_TMPDIR", "TMPDIR"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && *v != '\0') return v;
  }
  return "/tmp";
}

// The directory to remove at exit, and the process that may remove it (a
// forked child that exits must not).
std::string* g_root = nullptr;
pid_t g_owner = 0;

void RemoveRoot() {
  if (g_root == nullptr || getpid() != g_owner) return;
  std::error_code ec;
  std::filesystem::remove_all(*g_root, ec);
}

}  // namespace

const TestCerts& TestCerts::Get() {
  static const TestCerts* const certs = new TestCerts();
  return *certs;
}

TestCerts::TestCerts() {
  std::string pattern = TempBase() + "/goalkeeper-certs-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) Die("mkdtemp " + pattern + " failed");
  root_ = pattern;
  g_root = new std::string(root_);
  g_owner = getpid();
  std::atexit(RemoveRoot);
  // The CA now (with one identity: no NAME would make all seven), so that
  // every later identity is signed by it.
  RunScript({root_, "coordinator"});
  made_.insert(root_ + "|coordinator");
}

void TestCerts::RunScript(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"/bin/bash", GOALKEEPER_DEV_CERTS_SH};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = Run(argv, std::chrono::seconds(120));
  if (r.exit_code != 0) {
    std::string cmd;
    for (const std::string& a : argv) cmd += " " + a;
    Die("'" + cmd.substr(1) + "' exited " + std::to_string(r.exit_code) + ": " + r.err + r.out);
  }
}

std::string TestCerts::Make(const std::string& name, const CertOptions& options) const {
  // Each kind of identity in a directory of its own, so that asking for
  // "worker" expired never replaces the valid "worker" a daemon is using.
  std::string sub;
  if (options.other_ca) sub += "-other-ca";
  if (options.expired) sub += "-expired";
  for (const std::string& d : options.dns) sub += "-dns-" + d;
  const std::string out = sub.empty() ? root_ : root_ + "/" + sub.substr(1);
  std::vector<std::string> args;
  if (options.expired) args.push_back("--expired");
  for (const std::string& d : options.dns) {
    args.push_back("--dns");
    args.push_back(d);
  }
  args.push_back(out);
  args.push_back(name);

  std::lock_guard<std::mutex> lock(mu_);
  const std::string key = out + "|" + name;
  if (made_.count(key) == 0) {
    if (out != root_ && !options.other_ca) {
      // Same CA as the default identities: dev-certs.sh keeps a CA present.
      std::error_code ec;
      std::filesystem::create_directories(out, ec);
      for (const char* f : {"/ca.crt", "/ca.key"}) {
        if (!ec && !std::filesystem::exists(out + f)) {
          std::filesystem::copy_file(root_ + f, out + f, ec);
        }
      }
      if (ec) Die("cannot copy the CA into " + out + ": " + ec.message());
    }
    RunScript(args);
    made_.insert(key);
  }
  return out + "/" + name;
}

std::string TestCerts::Expired(const std::string& name) const {
  CertOptions options;
  options.expired = true;
  return Make(name, options);
}

std::string TestCerts::OtherCa(const std::string& name) const {
  CertOptions options;
  options.other_ca = true;
  return Make(name, options);
}

std::string TestCerts::Dir(const std::string& name) const { return Make(name, CertOptions{}); }

std::vector<std::string> TestCerts::Flags(const std::string& name) const {
  return {"--tls-dir", Dir(name)};
}

std::string TestCerts::Yaml(const std::string& name, int indent) const {
  const std::string pad(static_cast<size_t>(indent), ' ');
  return pad + "tls:\n" + pad + "  dir: " + Dir(name) + "\n";
}

std::string TestCerts::DaemonYaml(const std::string& name) const {
  return Yaml(name) + "health_listen: \"\"\n";
}

TlsConfig TestCerts::Tls(const std::string& name) const {
  const std::string dir = Dir(name);
  TlsConfig tls;
  tls.ca_file = dir + "/ca.crt";
  tls.cert_file = dir + "/tls.crt";
  tls.key_file = dir + "/tls.key";
  return tls;
}

std::vector<std::string> TestCerts::GrpcurlFlags(const std::string& name) const {
  const std::string dir = Dir(name);
  return {"-cacert", CaFile(), "-cert", dir + "/tls.crt", "-key", dir + "/tls.key"};
}

std::string TestCerts::CaFile() const { return root_ + "/ca.crt"; }

std::vector<std::string> WithTls(std::vector<std::string> argv, const std::string& name) {
  AddArgs(argv, TestCerts::Get().Flags(name));
  return argv;
}

}  // namespace goalkeeper::testing
