// Mutual TLS through common/grpc_channel.h and common/tls.h, with real gRPC
// servers on 127.0.0.1: the handshake and the identity the server sees, each
// way a handshake must fail, certificate rotation without a restart, the
// gate and the bearer token, and every error of CheckTlsFiles and the flag
// and config readers.
#include "common/tls.h"

#include <grpcpp/grpcpp.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/caller.h"
#include "common/grpc_channel.h"
#include "common/health_service.h"
#include "common/server_util.h"
#include "goalkeeper/v1/coordinator.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/test_certs.h"

namespace goalkeeper {
namespace {

namespace fs = std::filesystem;
namespace v1 = goalkeeper::v1;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using testing::TestCerts;

// Tells the caller, in trailing metadata, who the server saw: the peer
// certificate's identity and the Caller the handler gets (ListWorkers stands
// for any method that is not public).
class WhoAmIService final : public v1::Coordinator::Service {
 public:
  grpc::Status ListWorkers(grpc::ServerContext* ctx, const v1::ListWorkersRequest*,
                           v1::ListWorkersResponse*) override {
    std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
    ctx->AddTrailingMetadata("x-peer", auth == nullptr ? "" : PeerIdentity(*auth));
    ctx->AddTrailingMetadata("x-caller", CallerOf(*ctx).identity);
    return grpc::Status::OK;
  }
};

// A stand-in for the authorization gate: records what it saw; refuses every
// call while `deny` is set; otherwise lets the call through (it is no
// AuthGate, so CallerOf falls back to the certificate's identity).
class RecordingGate final : public grpc::AuthMetadataProcessor {
 public:
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext*, OutputMetadata*,
                       OutputMetadata*) override {
    absl::MutexLock lock(&mu_);
    auto it = metadata.find("authorization");
    authorization_ = it == metadata.end() ? "" : std::string(it->second.data(), it->second.size());
    auto path = metadata.find(":path");
    path_ = path == metadata.end() ? "" : std::string(path->second.data(), path->second.size());
    if (deny_) return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "denied by the test gate");
    return grpc::Status::OK;
  }
  void set_deny(bool deny) {
    absl::MutexLock lock(&mu_);
    deny_ = deny;
  }
  std::string authorization() {
    absl::MutexLock lock(&mu_);
    return authorization_;
  }
  std::string path() {
    absl::MutexLock lock(&mu_);
    return path_;
  }

 private:
  absl::Mutex mu_;
  bool deny_ ABSL_GUARDED_BY(mu_) = false;
  std::string authorization_ ABSL_GUARDED_BY(mu_);
  std::string path_ ABSL_GUARDED_BY(mu_);
};

std::string Trailer(const grpc::ClientContext& ctx, const std::string& key) {
  auto it = ctx.GetServerTrailingMetadata().find(key);
  if (it == ctx.GetServerTrailingMetadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// The serial number (hex) of a PEM certificate.
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

struct CallResult {
  grpc::Status status;
  std::string peer;           // the identity the server's handler saw
  std::string caller;         // CallerOf on the server
  std::string server_serial;  // of the certificate the server presented
};

CallResult CallOn(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = v1::Coordinator::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::ListWorkersResponse resp;
  CallResult r;
  r.status = stub->ListWorkers(&ctx, v1::ListWorkersRequest(), &resp);
  r.peer = Trailer(ctx, "x-peer");
  r.caller = Trailer(ctx, "x-caller");
  if (std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context(); auth != nullptr) {
    std::vector<grpc::string_ref> pem = auth->FindPropertyValues("x509_pem_cert");
    if (!pem.empty()) r.server_serial = SerialOfPem(std::string(pem[0].data(), pem[0].size()));
  }
  return r;
}

// One call on a fresh channel (a new connection: fresh credentials never
// share a connection with an earlier channel's).
CallResult Call(int port, const ChannelOptions& options) {
  return CallOn(MakeChannel("127.0.0.1:" + std::to_string(port), options));
}

ChannelOptions As(const TlsConfig& tls) {
  ChannelOptions options;
  options.tls = tls;
  return options;
}

TlsConfig FromDir(const std::string& dir) {
  TlsConfig tls;
  SetTlsDir(dir, &tls);
  return tls;
}

class TlsServerTest : public ::testing::Test {
 protected:
  void Start(const TlsConfig& tls, std::shared_ptr<grpc::AuthMetadataProcessor> gate = nullptr,
             int port = 0) {
    port_ = port;
    server_ = StartGrpcServer("127.0.0.1:" + std::to_string(port), {&service_, &health_}, &port_,
                              tls, std::move(gate));
    ASSERT_NE(server_, nullptr);
  }
  void Stop() {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
    server_.reset();
  }
  void TearDown() override { Stop(); }

  const TestCerts& certs_ = TestCerts::Get();
  WhoAmIService service_;
  HealthService health_{{}};
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(TlsServerTest, HandshakeSucceedsAndTheServerSeesTheClientsIdentity) {
  Start(certs_.Tls("coordinator"));
  CallResult r = Call(port_, As(certs_.Tls("worker")));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.peer, "spiffe://goalkeeper/worker");
  // No gate: CallerOf falls back to the certificate's identity.
  EXPECT_EQ(r.caller, "spiffe://goalkeeper/worker");
  EXPECT_FALSE(r.server_serial.empty());
}

TEST_F(TlsServerTest, TheGateSeesTheCallAndItsRefusalEndsTheCall) {
  auto gate = std::make_shared<RecordingGate>();
  Start(certs_.Tls("coordinator"), gate);
  CallResult ok = Call(port_, As(certs_.Tls("admin")));
  ASSERT_TRUE(ok.status.ok()) << ok.status.error_message();
  EXPECT_EQ(ok.caller, "spiffe://goalkeeper/admin");
  EXPECT_EQ(gate->path(), "/goalkeeper.v1.Coordinator/ListWorkers");
  EXPECT_EQ(gate->authorization(), "");
  gate->set_deny(true);
  CallResult denied = Call(port_, As(certs_.Tls("admin")));
  EXPECT_EQ(denied.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(denied.status.error_message(), "denied by the test gate");
}

TEST_F(TlsServerTest, ABearerTokenReachesTheGateOverTlsWithTheCaOnly) {
  auto gate = std::make_shared<RecordingGate>();
  Start(certs_.Tls("coordinator"), gate);
  ChannelOptions options;
  options.tls.ca_file = certs_.CaFile();
  options.bearer_token = "s3cret-token";
  ASSERT_TRUE(RequireTlsMaterial(options.tls, TlsUse::kTokenClient).ok());
  CallResult r = Call(port_, options);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(gate->authorization(), "Bearer s3cret-token");
  EXPECT_EQ(r.peer, "");  // no certificate: the gate names the caller by the token
  // With a certificate too, the gate sees both.
  options.tls = certs_.Tls("operator");
  r = Call(port_, options);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(gate->authorization(), "Bearer s3cret-token");
  EXPECT_EQ(r.peer, "spiffe://goalkeeper/operator");
}

TEST_F(TlsServerTest, WithAGateACallWithNeitherCertificateNorTokenIsUnauthenticated) {
  auto gate = std::make_shared<RecordingGate>();
  Start(certs_.Tls("coordinator"), gate);
  ChannelOptions options;
  options.tls.ca_file = certs_.CaFile();
  CallResult r = Call(port_, options);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(r.status.error_message(),
            "no client certificate and no bearer token: give --tls-dir (or --tls-cert-file and "
            "--tls-key-file) or --token-file");
  EXPECT_EQ(gate->path(), "");  // refused before the gate
  // grpc.health.v1 stays public.
  auto health =
      grpc::health::v1::Health::NewStub(MakeChannel("127.0.0.1:" + std::to_string(port_), options));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthCheckResponse resp;
  grpc::Status s = health->Check(&ctx, HealthCheckRequest(), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING);
  // A certificate from another CA still fails the handshake.
  TlsConfig rogue = FromDir(certs_.OtherCa("worker"));
  rogue.ca_file = certs_.CaFile();
  EXPECT_EQ(Call(port_, As(rogue)).status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsServerTest, AClientCertificateFromAnotherCaIsRefused) {
  Start(certs_.Tls("coordinator"));
  TlsConfig rogue = FromDir(certs_.OtherCa("worker"));
  rogue.ca_file = certs_.CaFile();  // it trusts our server; we do not trust it
  EXPECT_EQ(Call(port_, As(rogue)).status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsServerTest, AnExpiredClientCertificateIsRefused) {
  Start(certs_.Tls("coordinator"));
  TlsConfig expired = FromDir(certs_.Expired("worker"));
  EXPECT_EQ(Call(port_, As(expired)).status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsServerTest, AClientWithoutACertificateIsRefused) {
  Start(certs_.Tls("coordinator"));
  TlsConfig ca_only;
  ca_only.ca_file = certs_.CaFile();
  EXPECT_EQ(Call(port_, As(ca_only)).status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsServerTest, APlaintextClientIsRefused) {
  Start(certs_.Tls("coordinator"));
  TlsConfig plaintext;
  plaintext.insecure = true;
  EXPECT_EQ(Call(port_, As(plaintext)).status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsServerTest, AServerCertificateTheClientDoesNotTrustIsRefused) {
  // The server's certificate and CA are another CA's; it trusts our clients.
  TlsConfig rogue_server = FromDir(certs_.OtherCa("coordinator"));
  rogue_server.ca_file = certs_.CaFile();
  Start(rogue_server);
  EXPECT_EQ(Call(port_, As(certs_.Tls("worker"))).status.error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsServerTest, AServerNameMismatchIsRefusedAndTheRightNameAccepted) {
  Start(certs_.Tls("coordinator"));
  TlsConfig tls = certs_.Tls("worker");
  tls.server_name = "coordinator.elsewhere.example";
  EXPECT_EQ(Call(port_, As(tls)).status.error_code(), grpc::StatusCode::UNAVAILABLE);
  tls.server_name = "localhost";  // a SAN DNS name of every dev certificate
  CallResult r = Call(port_, As(tls));
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
}

TEST_F(TlsServerTest, InsecureServerAndClientTalkPlaintext) {
  TlsConfig insecure;
  insecure.insecure = true;
  Start(insecure);
  CallResult r = Call(port_, As(insecure));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.caller, "insecure");
  // A TLS client does not fall back to plaintext.
  EXPECT_EQ(Call(port_, As(certs_.Tls("worker"))).status.error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

// A directory laid out as Kubernetes mounts a Secret: ca.crt, tls.crt and
// tls.key are symlinks into ..data, itself a symlink to a versioned
// directory; an update renames a new ..data over the old one, so the three
// files change together.
class SecretDir {
 public:
  explicit SecretDir(const std::string& root) : root_(root) {
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  // Publishes the files of `source` (ca.crt, tls.crt, tls.key) as the next version.
  void Publish(const std::string& source, const std::string& ca_file = "") {
    const std::string version = root_ + "/..v" + std::to_string(++versions_);
    fs::create_directories(version);
    fs::copy_file(ca_file.empty() ? source + "/ca.crt" : ca_file, version + "/ca.crt");
    fs::copy_file(source + "/tls.crt", version + "/tls.crt");
    fs::copy_file(source + "/tls.key", version + "/tls.key");
    const std::string tmp = root_ + "/..data_tmp";
    fs::remove(tmp);
    fs::create_directory_symlink(fs::path(version).filename(), tmp);
    fs::rename(tmp, root_ + "/..data");
    for (const char* f : {"ca.crt", "tls.crt", "tls.key"}) {
      if (!fs::is_symlink(root_ + "/" + f)) {
        fs::create_symlink(std::string("..data/") + f, root_ + "/" + f);
      }
    }
  }
  TlsConfig Tls() const {
    TlsConfig tls = FromDir(root_);
    tls.refresh_seconds = 1;
    return tls;
  }

 private:
  std::string root_;
  int versions_ = 0;
};

std::string SerialOfFile(const std::string& path) {
  std::ifstream in(path);
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return SerialOfPem(pem);
}

// Calls on fresh connections until `done` holds for a result (the files are
// re-read every second), at most 30 tries a second apart.
CallResult CallUntil(int port, const ChannelOptions& options,
                     const std::function<bool(const CallResult&)>& done) {
  CallResult r;
  for (int i = 0; i < 30; ++i) {
    r = Call(port, options);
    if (done(r)) return r;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return r;
}

TEST_F(TlsServerTest, TheServerPicksUpARotatedCertificateAndCaWithoutARestart) {
  SecretDir secret(certs_.root() + "/rotate-server");
  const std::string v1 = certs_.Dir("coordinator");
  secret.Publish(v1);
  Start(secret.Tls());
  grpc::Server* const server = server_.get();
  CallResult first = Call(port_, As(certs_.Tls("worker")));
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  ASSERT_EQ(first.server_serial, SerialOfFile(v1 + "/tls.crt"));

  // A renewed certificate of the same identity (another SAN list: a new key
  // and serial).
  testing::CertOptions renewed;
  renewed.dns = {"renewed.example"};
  const std::string v2 = certs_.Make("coordinator", renewed);
  const std::string v2_serial = SerialOfFile(v2 + "/tls.crt");
  ASSERT_NE(v2_serial, first.server_serial);
  secret.Publish(v2);
  CallResult second = CallUntil(port_, As(certs_.Tls("worker")),
                                [&](const CallResult& r) { return r.server_serial == v2_serial; });
  EXPECT_TRUE(second.status.ok()) << second.status.error_message();
  EXPECT_EQ(second.server_serial, v2_serial);

  // A new CA: the server now presents the other CA's certificate and trusts
  // only that CA's clients.
  const std::string v3 = certs_.OtherCa("coordinator");
  secret.Publish(v3);
  TlsConfig new_ca_client = FromDir(certs_.OtherCa("worker"));
  CallResult third =
      CallUntil(port_, As(new_ca_client), [](const CallResult& r) { return r.status.ok(); });
  ASSERT_TRUE(third.status.ok()) << third.status.error_message();
  EXPECT_EQ(third.peer, "spiffe://goalkeeper/worker");
  EXPECT_EQ(third.server_serial, SerialOfFile(v3 + "/tls.crt"));
  // The old CA's clients are refused now.
  EXPECT_EQ(Call(port_, As(certs_.Tls("worker"))).status.error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(server_.get(), server);  // the same server all along
}

TEST_F(TlsServerTest, AClientPicksUpItsRotatedCertificateOnItsNextConnection) {
  Start(certs_.Tls("coordinator"));
  const int port = port_;
  SecretDir secret(certs_.root() + "/rotate-client");
  secret.Publish(certs_.Dir("worker"));
  // One channel for the whole test: its credentials watch the files.
  std::shared_ptr<grpc::Channel> channel =
      MakeChannel("127.0.0.1:" + std::to_string(port), As(secret.Tls()));
  CallResult first = CallOn(channel);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_EQ(first.peer, "spiffe://goalkeeper/worker");

  secret.Publish(certs_.Dir("worker-2"));
  std::this_thread::sleep_for(std::chrono::seconds(2));  // past one refresh
  // The server restarts on the same port: the channel connects anew.
  Stop();
  Start(certs_.Tls("coordinator"), nullptr, port);
  CallResult second;
  for (int i = 0; i < 30; ++i) {
    second = CallOn(channel);
    if (second.status.ok() && second.peer == "spiffe://goalkeeper/worker-2") break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  ASSERT_TRUE(second.status.ok()) << second.status.error_message();
  EXPECT_EQ(second.peer, "spiffe://goalkeeper/worker-2");
}

// ---- CheckTlsFiles ----

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A self-signed P-256 certificate valid from now+from_days to now+to_days,
// written as DIR/tls.crt and DIR/tls.key (and DIR/ca.crt: itself).
void MakeSelfSigned(const std::string& dir, long from_days, long to_days) {
  fs::create_directories(dir);
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 4242);
  X509_gmtime_adj(X509_getm_notBefore(cert), from_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert), to_days * 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  std::FILE* f = std::fopen((dir + "/tls.crt").c_str(), "w");
  PEM_write_X509(f, cert);
  std::fclose(f);
  f = std::fopen((dir + "/tls.key").c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  fs::copy_file(dir + "/tls.crt", dir + "/ca.crt", fs::copy_options::overwrite_existing);
  X509_free(cert);
  EVP_PKEY_free(key);
}

class CheckTlsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        certs_.root() + "/check-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    good_ = certs_.Tls("worker");
  }
  std::string Error(const TlsConfig& tls) {
    absl::Status s = CheckTlsFiles(tls);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
    return std::string(s.message());
  }
  const TestCerts& certs_ = TestCerts::Get();
  std::string dir_;
  TlsConfig good_;
};

TEST_F(CheckTlsFilesTest, AcceptsADevelopmentIdentityAndInsecure) {
  EXPECT_TRUE(CheckTlsFiles(good_).ok());
  TlsConfig insecure;
  insecure.insecure = true;
  EXPECT_TRUE(CheckTlsFiles(insecure).ok());
  TlsConfig ca_only;
  ca_only.ca_file = good_.ca_file;
  EXPECT_TRUE(CheckTlsFiles(ca_only).ok());
}

TEST_F(CheckTlsFilesTest, NamesAMissingFile) {
  TlsConfig tls = good_;
  tls.cert_file = dir_ + "/nope.crt";
  EXPECT_EQ(Error(tls), "TLS certificate '" + dir_ + "/nope.crt': no such file");
  tls = good_;
  tls.ca_file = dir_ + "/nope-ca.crt";
  EXPECT_EQ(Error(tls), "TLS CA file '" + dir_ + "/nope-ca.crt': no such file");
  tls = good_;
  tls.key_file = dir_ + "/nope.key";
  EXPECT_EQ(Error(tls), "TLS key '" + dir_ + "/nope.key': no such file");
}

TEST_F(CheckTlsFilesTest, NamesAnUnreadableFile) {
  // A directory where a file belongs (root reads every mode-000 file).
  TlsConfig tls = good_;
  tls.key_file = dir_;
  EXPECT_EQ(Error(tls), "TLS key '" + dir_ + "': cannot read: Is a directory");
}

TEST_F(CheckTlsFilesTest, NamesAFileThatIsNotPem) {
  WriteFile(dir_ + "/garbage", "not a certificate\n");
  TlsConfig tls = good_;
  tls.cert_file = dir_ + "/garbage";
  EXPECT_EQ(Error(tls), "TLS certificate '" + dir_ +
                            "/garbage': not PEM (no -----BEGIN CERTIFICATE----- block)");
  tls = good_;
  tls.key_file = dir_ + "/garbage";
  EXPECT_EQ(Error(tls),
            "TLS key '" + dir_ + "/garbage': not PEM (no -----BEGIN PRIVATE KEY----- block)");
  WriteFile(dir_ + "/broken.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  tls = good_;
  tls.ca_file = dir_ + "/broken.crt";
  EXPECT_EQ(Error(tls), "TLS CA file '" + dir_ +
                            "/broken.crt': its CERTIFICATE block is not a valid certificate");
}

TEST_F(CheckTlsFilesTest, NamesPemOfTheWrongKind) {
  TlsConfig tls = good_;
  tls.cert_file = good_.key_file;  // a key where the certificate belongs
  std::string e = Error(tls);
  EXPECT_EQ(e.rfind("TLS certificate '" + good_.key_file + "': holds a ", 0), 0u) << e;
  EXPECT_NE(e.find("PRIVATE KEY, not a CERTIFICATE"), std::string::npos) << e;
  tls = good_;
  tls.key_file = good_.cert_file;
  EXPECT_EQ(Error(tls),
            "TLS key '" + good_.cert_file + "': holds a CERTIFICATE, not a PRIVATE KEY");
}

TEST_F(CheckTlsFilesTest, NamesAKeyThatDoesNotMatchTheCertificate) {
  TlsConfig tls = good_;
  tls.key_file = certs_.Tls("admin").key_file;
  EXPECT_EQ(Error(tls), "TLS key '" + tls.key_file + "' does not match the certificate '" +
                            tls.cert_file + "'");
}

TEST_F(CheckTlsFilesTest, NamesAnExpiredOrNotYetValidCertificate) {
  TlsConfig expired = FromDir(certs_.Expired("worker"));
  expired.ca_file = good_.ca_file;
  std::string e = Error(expired);
  EXPECT_EQ(e.rfind("TLS certificate '" + expired.cert_file + "': expired on ", 0), 0u) << e;

  MakeSelfSigned(dir_ + "/future", 1, 30);
  TlsConfig future = FromDir(dir_ + "/future");
  future.ca_file = good_.ca_file;
  e = Error(future);
  EXPECT_EQ(e.rfind("TLS certificate '" + future.cert_file + "': not valid before ", 0), 0u) << e;

  MakeSelfSigned(dir_ + "/old-ca", -30, -1);
  TlsConfig old_ca = good_;
  old_ca.ca_file = dir_ + "/old-ca/ca.crt";
  e = Error(old_ca);
  EXPECT_EQ(e.rfind("TLS CA file '" + old_ca.ca_file + "': no certificate in it is valid now", 0),
            0u)
      << e;
}

TEST_F(CheckTlsFilesTest, ABundleWithAnExpiredAndACurrentCaIsAccepted) {
  MakeSelfSigned(dir_ + "/old-ca", -30, -1);
  std::ifstream old_ca(dir_ + "/old-ca/ca.crt");
  std::ifstream ca(good_.ca_file);
  std::string bundle((std::istreambuf_iterator<char>(old_ca)), std::istreambuf_iterator<char>());
  bundle.append((std::istreambuf_iterator<char>(ca)), std::istreambuf_iterator<char>());
  WriteFile(dir_ + "/bundle.crt", bundle);
  TlsConfig tls = good_;
  tls.ca_file = dir_ + "/bundle.crt";
  EXPECT_TRUE(CheckTlsFiles(tls).ok());
}

// ---- flags and config ----

struct Parsed {
  absl::Status status;
  TlsConfig tls;
};

Parsed ParseFlags(std::vector<std::string> args, const char* default_dir = nullptr,
                  TlsConfig start = TlsConfig()) {
  FlagParser flags("test");
  TlsFlags tls_flags;
  tls_flags.Add(flags, default_dir);
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  Parsed p;
  p.tls = start;
  p.status = flags.Parse(static_cast<int>(argv.size()), argv.data());
  if (p.status.ok()) p.status = tls_flags.ApplyTo(flags, &p.tls);
  return p;
}

TEST(TlsFlagsTest, TlsDirNamesTheThreeFilesAndFileFlagsWin) {
  Parsed p = ParseFlags({"--tls-dir", "/s/worker/", "--tls-cert-file", "/x/other.crt"});
  ASSERT_TRUE(p.status.ok()) << p.status;
  EXPECT_EQ(p.tls.ca_file, "/s/worker/ca.crt");
  EXPECT_EQ(p.tls.cert_file, "/x/other.crt");
  EXPECT_EQ(p.tls.key_file, "/s/worker/tls.key");
  EXPECT_FALSE(p.tls.insecure);
  p = ParseFlags({"--tls-ca-file", "/c", "--tls-cert-file", "/t", "--tls-key-file", "/k",
                  "--tls-server-name", "coordinator.example"});
  ASSERT_TRUE(p.status.ok()) << p.status;
  EXPECT_EQ(p.tls.ca_file, "/c");
  EXPECT_EQ(p.tls.server_name, "coordinator.example");
}

TEST(TlsFlagsTest, TheEnvironmentsDirIsOnlyADefault) {
  Parsed p = ParseFlags({}, "/env/dir");
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.tls.cert_file, "/env/dir/tls.crt");
  p = ParseFlags({"--tls-dir", "/flag"}, "/env/dir");
  EXPECT_EQ(p.tls.cert_file, "/flag/tls.crt");
  p = ParseFlags({"--insecure"}, "/env/dir");
  ASSERT_TRUE(p.status.ok());
  EXPECT_TRUE(p.tls.insecure);
  EXPECT_EQ(p.tls.cert_file, "");
}

TEST(TlsFlagsTest, InsecureWithATlsFlagIsRefused) {
  Parsed p = ParseFlags({"--insecure", "--tls-dir", "/d"});
  EXPECT_EQ(p.status.message(), "--insecure and --tls-dir contradict each other: give one");
  p = ParseFlags({"--tls-dir", ""});
  EXPECT_EQ(p.status.message(), "--tls-dir: empty path");
}

TEST(TlsFlagsTest, FlagsWinOverAConfigsValues) {
  TlsConfig from_config;
  SetTlsDir("/config", &from_config);
  from_config.refresh_seconds = 3;
  Parsed p = ParseFlags({"--insecure"}, nullptr, from_config);
  ASSERT_TRUE(p.status.ok());
  EXPECT_TRUE(p.tls.insecure);
  EXPECT_EQ(p.tls.ca_file, "");
  EXPECT_EQ(p.tls.refresh_seconds, 3);
  TlsConfig insecure_config;
  insecure_config.insecure = true;
  p = ParseFlags({"--tls-dir", "/flag"}, nullptr, insecure_config);
  ASSERT_TRUE(p.status.ok());
  EXPECT_FALSE(p.tls.insecure);
  EXPECT_EQ(p.tls.ca_file, "/flag/ca.crt");
  p = ParseFlags({}, nullptr, from_config);
  EXPECT_EQ(p.tls, from_config);
}

TEST(RequireTlsMaterialTest, NamesWhatIsMissing) {
  EXPECT_EQ(RequireTlsMaterial(TlsConfig(), TlsUse::kDaemon).message(),
            "no TLS material: give --tls-dir (or the three --tls-*-file flags) or --insecure");
  TlsConfig tls;
  tls.insecure = true;
  EXPECT_TRUE(RequireTlsMaterial(tls, TlsUse::kDaemon).ok());
  tls = TlsConfig();
  tls.ca_file = "/c";
  tls.cert_file = "/t";
  EXPECT_EQ(RequireTlsMaterial(tls, TlsUse::kDaemon).message(),
            "--tls-key-file is missing (--tls-cert-file is given)");
  tls.cert_file = "";
  EXPECT_EQ(RequireTlsMaterial(tls, TlsUse::kDaemon).message(),
            "--tls-cert-file and --tls-key-file are missing: this process needs its own "
            "certificate");
  EXPECT_TRUE(RequireTlsMaterial(tls, TlsUse::kTokenClient).ok());
  tls = TlsConfig();
  tls.cert_file = "/t";
  tls.key_file = "/k";
  EXPECT_EQ(RequireTlsMaterial(tls, TlsUse::kClient).message(),
            "--tls-ca-file is missing: the CA that signs the fleet is needed to verify peers");
}

absl::StatusOr<TlsConfig> ParseYaml(const std::string& text) {
  StrictYamlParser yaml("test.yaml");
  absl::StatusOr<YamlField> root = yaml.LoadDocument(text);
  if (!root.ok()) return root.status();
  TlsConfig tls;
  int insecure_line = -1;
  absl::Status s = yaml.ForEachEntry(
      *root, {"tls", "insecure"}, [&](const std::string& key, const YamlField& f) -> absl::Status {
        if (key == "tls") return ParseTlsYaml(yaml, f, &tls);
        insecure_line = f.line;
        return ParseInsecureYaml(yaml, f, &tls);
      });
  if (!s.ok()) return s;
  if (s = CheckTlsYaml(yaml, tls, insecure_line); !s.ok()) return s;
  return tls;
}

TEST(TlsYamlTest, ReadsTheBlockAndFormatsItBack) {
  absl::StatusOr<TlsConfig> tls =
      ParseYaml("tls: {dir: /etc/gk/tls, key_file: /k/tls.key, refresh_seconds: 2}\n");
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_EQ(tls->ca_file, "/etc/gk/tls/ca.crt");
  EXPECT_EQ(tls->cert_file, "/etc/gk/tls/tls.crt");
  EXPECT_EQ(tls->key_file, "/k/tls.key");
  EXPECT_EQ(tls->refresh_seconds, 2);
  absl::StatusOr<TlsConfig> again = ParseYaml(FormatTlsYaml(*tls));
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << FormatTlsYaml(*tls);
  EXPECT_EQ(*again, *tls);
  absl::StatusOr<TlsConfig> insecure = ParseYaml("insecure: true\n");
  ASSERT_TRUE(insecure.ok());
  EXPECT_TRUE(insecure->insecure);
  EXPECT_EQ(*ParseYaml(FormatTlsYaml(*insecure)), *insecure);
}

TEST(TlsYamlTest, ErrorsNameTheKeyAndLine) {
  EXPECT_EQ(ParseYaml("tls: {dri: /x}\n").status().message(),
            "test.yaml:1: unknown key 'dri' in tls");
  EXPECT_EQ(ParseYaml("tls:\n  dir: \"\"\n").status().message(),
            "test.yaml:2: tls.dir: must not be empty (a path)");
  EXPECT_EQ(ParseYaml("tls: {dir: /x}\ninsecure: true\n").status().message(),
            "test.yaml:2: insecure: true contradicts the tls: files (plaintext or TLS: give one)");
  EXPECT_FALSE(ParseYaml("insecure: yes\n").ok());
  EXPECT_FALSE(ParseYaml("tls: {refresh_seconds: 0}\n").ok());
}

TEST(TokenFileTest, ReadsTheFirstLineAndNeverPrintsIt) {
  const std::string dir = TestCerts::Get().root() + "/tokens";
  fs::create_directories(dir);
  WriteFile(dir + "/ok", "  abc.DEF-123  \nignored\n");
  absl::StatusOr<std::string> token = ReadTokenFile(dir + "/ok");
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "abc.DEF-123");
  WriteFile(dir + "/empty", "\n");
  EXPECT_EQ(ReadTokenFile(dir + "/empty").status().message(),
            "token file '" + dir + "/empty': file is empty");
  WriteFile(dir + "/space", "two words\n");
  absl::Status s = ReadTokenFile(dir + "/space").status();
  EXPECT_EQ(s.message().find("two"), std::string::npos) << s;
  EXPECT_EQ(ReadTokenFile(dir + "/missing").status().message(),
            "token file '" + dir + "/missing': no such file");
}

}  // namespace
}  // namespace goalkeeper
