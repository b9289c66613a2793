// Transport security of the real binaries: every daemon and goalkeeperctl
// refuses to start with neither TLS material nor --insecure (exit 2 naming
// the flags), --insecure logs its warning once, a bad certificate is one line
// at start, --check-config prints the TLS paths (never a key), the plaintext
// health port answers probes while the TLS port refuses plaintext, and a
// running coordinator picks up a rotated certificate without a restart.
#include "common/tls.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/grpc_channel.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_certs.h"

namespace goalkeeper {
namespace {

namespace fs = std::filesystem;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

using testing::RunResult;
using testing::Subprocess;
using testing::TestCerts;

constexpr char kCoordinator[] = GOALKEEPER_COORDINATOR_BIN;
constexpr char kNotifier[] = GOALKEEPER_NOTIFIER_BIN;
constexpr char kWorker[] = GOALKEEPER_WORKER_BIN;
constexpr char kCtl[] = GOALKEEPER_CTL_BIN;

constexpr char kNoTls[] =
    "no TLS material: give --tls-dir (or the three --tls-*-file flags) or --insecure";

std::string TempDir() {
  const std::string dir = TestCerts::Get().root() + "/" +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The smallest notifier config that starts (stage mode needs ops.emails).
std::string NotifierConfig(const std::string& dir, const std::string& extra) {
  const std::string path = dir + "/notifier.yaml";
  WriteFile(path, "db: " + dir +
                      "/notifier.db\nmetrics_listen: \"\"\nops: {emails: [noc@example.net]}\n" +
                      "email: {outbox_dir: " + dir + "/outbox}\n" + extra);
  return path;
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// "grpc=127.0.0.1:PORT" of a daemon's start line; 0 when absent.
int PortFrom(const std::string& log, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(log, m, std::regex(key + "=127\\.0\\.0\\.1:([0-9]+)"))) return 0;
  return std::stoi(m[1]);
}

TEST(TlsProcessTest, EveryBinaryWithNeitherTlsNorInsecureExitsTwoNamingTheFlags) {
  const std::string dir = TempDir();
  struct Case {
    std::string name;
    std::vector<std::string> argv;
  };
  const std::vector<Case> cases = {
      {"coordinator", {kCoordinator, "--listen", "127.0.0.1:0", "--db", dir + "/c.db"}},
      {"notifier", {kNotifier, "--config", NotifierConfig(dir, ""), "--listen", "127.0.0.1:0"}},
      {"worker run", {kWorker, "run", "--coordinator", "127.0.0.1:1"}},
      {"worker node",
       {kWorker, "node", "--coordinator", "127.0.0.1:1", "--config", dir + "/node.yaml"}},
      {"goalkeeperctl", {kCtl, "--coordinator", "127.0.0.1:1", "workers", "list"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    RunResult r = testing::Run(c.argv, std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(std::string("error: ") + kNoTls), std::string::npos) << r.err;
  }
}

TEST(TlsProcessTest, ABadCertificateIsOneLineAtStartNamingTheFile) {
  const TestCerts& certs = TestCerts::Get();
  const std::string expired = certs.Expired("worker");
  RunResult r = testing::Run({kWorker, "run", "--coordinator", "127.0.0.1:1", "--tls-dir", expired,
                              "--tls-ca-file", certs.CaFile()},
                             std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("error: TLS certificate '" + expired + "/tls.crt': expired on ", 0), 0u)
      << r.err;
  EXPECT_EQ(Count(r.err, "\n"), 1u) << r.err;
  const std::string dir = TempDir();
  r = testing::Run({kCoordinator, "--listen", "127.0.0.1:0", "--db", dir + "/c.db", "--tls-dir",
                    certs.Dir("coordinator"), "--tls-key-file", certs.Tls("admin").key_file},
                   std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: TLS key '" + certs.Tls("admin").key_file +
                       "' does not match the certificate '" + certs.Tls("coordinator").cert_file +
                       "'\n");
  r = testing::Run(
      {kCtl, "--coordinator", "127.0.0.1:1", "--tls-dir", dir + "/none", "workers", "list"},
      std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("error: TLS CA file '" + dir + "/none/ca.crt': no such file\n", 0), 0u)
      << r.err;
}

TEST(TlsProcessTest, InsecureDaemonsLogTheWarningOnce) {
  const std::string dir = TempDir();
  struct Case {
    std::string name;
    std::vector<std::string> argv;
    std::string warning;
  };
  const std::vector<Case> cases = {
      {"coordinator",
       {kCoordinator, "--insecure", "--listen", "127.0.0.1:0", "--db", dir + "/c.db",
        "--metrics-listen", "", "--health-listen", ""},
       "--insecure: plaintext gRPC on 127.0.0.1:"},
      {"notifier",
       {kNotifier, "--insecure", "--config", NotifierConfig(dir, ""), "--listen", "127.0.0.1:0",
        "--health-listen", ""},
       "--insecure: plaintext gRPC on 127.0.0.1:"},
      {"worker run",
       {kWorker, "run", "--insecure", "--coordinator", "127.0.0.1:1", "--metrics-listen", "",
        "--health-listen", ""},
       "--insecure: plaintext gRPC to 127.0.0.1:1, the server is not authenticated"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Subprocess p = Subprocess::Start(c.argv);
    const std::string err = p.ReadStderrUntil(c.warning, std::chrono::seconds(20));
    ASSERT_NE(err.find(c.warning), std::string::npos) << err;
    if (c.name != "worker run") {
      EXPECT_NE(err.find(", no client is authenticated or authorised"), std::string::npos) << err;
    }
    p.Signal(SIGTERM);
    RunResult r = p.Wait(std::chrono::seconds(20));
    EXPECT_EQ(Count(r.err, "--insecure: plaintext gRPC"), 1u) << r.err;
  }
}

TEST(TlsProcessTest, CheckConfigPrintsTheTlsPathsOnly) {
  const TestCerts& certs = TestCerts::Get();
  const std::string dir = TempDir();
  const std::string coordinator = certs.Dir("coordinator");
  RunResult r = testing::Run({kCoordinator, "--check-config", "--listen", "127.0.0.1:0", "--db",
                              dir + "/c.db", "--tls-dir", coordinator},
                             std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("tls:\n  ca_file: \"" + coordinator + "/ca.crt\"\n  cert_file: \"" +
                       coordinator + "/tls.crt\"\n  key_file: \"" + coordinator + "/tls.key\"\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("insecure: false\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("health_listen: \"0.0.0.0:7072\""), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("BEGIN"), std::string::npos) << r.out;

  r = testing::Run(
      {kNotifier, "--check-config", "--config", NotifierConfig(dir, "insecure: true\n")},
      std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("insecure: true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("health_listen: \"0.0.0.0:7073\""), std::string::npos) << r.out;

  const std::string worker = certs.Dir("worker");
  r = testing::Run({kWorker, "run", "--check-config", "--coordinator", "127.0.0.1:1", "--tls-dir",
                    worker, "--tls-server-name", "coordinator.example"},
                   std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("insecure: false\ntls-ca-file: \"" + worker +
                       "/ca.crt\"\ntls-cert-file: \"" + worker + "/tls.crt\"\ntls-key-file: \"" +
                       worker + "/tls.key\"\n" + "tls-server-name: \"coordinator.example\""),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("BEGIN"), std::string::npos) << r.out;
}

TEST(TlsProcessTest, WorkersAndAgentsTakeTheirTlsDirFromTheEnvironment) {
  const std::string worker = TestCerts::Get().Dir("worker");
  ASSERT_EQ(setenv("GOALKEEPER_TLS_DIR", worker.c_str(), 1), 0);
  RunResult r = testing::Run({kWorker, "run", "--check-config", "--coordinator", "127.0.0.1:1"},
                             std::chrono::seconds(30));
  // --insecure still wins over the environment's default.
  RunResult insecure =
      testing::Run({kWorker, "run", "--check-config", "--coordinator", "127.0.0.1:1", "--insecure"},
                   std::chrono::seconds(30));
  unsetenv("GOALKEEPER_TLS_DIR");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("tls-cert-file: \"" + worker + "/tls.crt\"\n"), std::string::npos) << r.out;
  ASSERT_EQ(insecure.exit_code, 0) << insecure.err;
  EXPECT_NE(insecure.out.find("insecure: true\n"), std::string::npos) << insecure.out;
  EXPECT_EQ(insecure.out.find("tls-cert-file"), std::string::npos) << insecure.out;
}

TEST(TlsProcessTest, GoalkeeperctlTakesTheTlsFlagsAfterTheCommandToo) {
  const TestCerts& certs = TestCerts::Get();
  // Both reach the (absent) coordinator: exit 1 "unreachable", not a usage error.
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{kCtl, "--coordinator", "127.0.0.1:1", "--tls-dir",
                                 certs.Dir("admin"), "workers", "list"},
        std::vector<std::string>{kCtl, "--coordinator", "127.0.0.1:1", "workers", "list",
                                 "--tls-dir", certs.Dir("admin")}}) {
    RunResult r = testing::Run(argv, std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("coordinator 127.0.0.1:1 is unreachable"), std::string::npos) << r.err;
  }
  RunResult r = testing::Run({kCtl, "--coordinator", "127.0.0.1:1", "--insecure", "--token-file",
                              "/nonexistent", "workers", "list"},
                             std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("error: --token-file needs TLS: a bearer token is never sent in "
                        "plaintext\n",
                        0),
            0u)
      << r.err;
}

// A Secret as Kubernetes mounts it: the files are symlinks into ..data, a
// symlink renamed over by each update (the three files change together).
class SecretDir {
 public:
  explicit SecretDir(std::string root) : root_(std::move(root)) { fs::create_directories(root_); }
  void Publish(const std::string& source) {
    const std::string version = root_ + "/..v" + std::to_string(++versions_);
    fs::create_directories(version);
    for (const char* f : {"ca.crt", "tls.crt", "tls.key"}) {
      fs::copy_file(source + "/" + f, version + "/" + f);
    }
    fs::remove(root_ + "/..data_tmp");
    fs::create_directory_symlink(fs::path(version).filename(), root_ + "/..data_tmp");
    fs::rename(root_ + "/..data_tmp", root_ + "/..data");
    for (const char* f : {"ca.crt", "tls.crt", "tls.key"}) {
      if (!fs::is_symlink(root_ + "/" + f)) {
        fs::create_symlink(std::string("..data/") + f, root_ + "/" + f);
      }
    }
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
  int versions_ = 0;
};

std::string SerialOfPem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  if (cert == nullptr) return "";
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::string SerialOfFile(const std::string& path) {
  std::ifstream in(path);
  return SerialOfPem(
      std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
}

struct HealthResult {
  grpc::Status status;
  std::string server_serial;
};

// One Check on a fresh channel (a new connection).
HealthResult Check(int port, const ChannelOptions& options) {
  auto stub =
      grpc::health::v1::Health::NewStub(MakeChannel("127.0.0.1:" + std::to_string(port), options));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthCheckResponse resp;
  HealthResult r;
  r.status = stub->Check(&ctx, HealthCheckRequest(), &resp);
  if (r.status.ok() && resp.status() != HealthCheckResponse::SERVING) {
    r.status = grpc::Status(grpc::StatusCode::INTERNAL, "not SERVING");
  }
  if (auto auth = ctx.auth_context(); auth != nullptr) {
    std::vector<grpc::string_ref> pem = auth->FindPropertyValues("x509_pem_cert");
    if (!pem.empty()) r.server_serial = SerialOfPem(std::string(pem[0].data(), pem[0].size()));
  }
  return r;
}

TEST(TlsProcessTest, ARunningCoordinatorServesTlsAndPlaintextHealthAndRotatesWithoutARestart) {
  const TestCerts& certs = TestCerts::Get();
  const std::string dir = TempDir();
  SecretDir secret(dir + "/secret");
  const std::string v1 = certs.Dir("coordinator");
  secret.Publish(v1);
  const std::string config = dir + "/coordinator.yaml";
  WriteFile(config, "listen: 127.0.0.1:0\ndb: " + dir + "/c.db\nmetrics_listen: \"\"\n" +
                        "health_listen: 127.0.0.1:0\ntls: {dir: " + secret.root() +
                        ", refresh_seconds: 1}\n");
  Subprocess coordinator = Subprocess::Start({kCoordinator, "--config", config});
  const std::string log = coordinator.ReadStderrUntil(" listening ", std::chrono::seconds(20));
  const int port = PortFrom(log, "grpc");
  const int health_port = PortFrom(log, "health");
  ASSERT_GT(port, 0) << log;
  ASSERT_GT(health_port, 0) << log;

  ChannelOptions admin;
  admin.tls = certs.Tls("admin");
  ChannelOptions plaintext;
  plaintext.tls.insecure = true;
  HealthResult first = Check(port, admin);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_EQ(first.server_serial, SerialOfFile(v1 + "/tls.crt"));
  // Kubernetes' probes: plaintext on health_listen; never on the TLS port.
  EXPECT_TRUE(Check(health_port, plaintext).status.ok());
  EXPECT_EQ(Check(port, plaintext).status.error_code(), grpc::StatusCode::UNAVAILABLE);

  testing::CertOptions renewed;
  renewed.dns = {"renewed.example"};
  const std::string v2 = certs.Make("coordinator", renewed);
  const std::string v2_serial = SerialOfFile(v2 + "/tls.crt");
  ASSERT_NE(v2_serial, first.server_serial);
  secret.Publish(v2);
  HealthResult second;
  for (int i = 0; i < 30; ++i) {
    second = Check(port, admin);
    if (second.server_serial == v2_serial) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  EXPECT_TRUE(second.status.ok()) << second.status.error_message();
  EXPECT_EQ(second.server_serial, v2_serial);
  EXPECT_FALSE(coordinator.Exited());  // the same process all along

  coordinator.Signal(SIGTERM);
  RunResult r = coordinator.Wait(std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace goalkeeper
