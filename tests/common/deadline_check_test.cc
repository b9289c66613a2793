// RequireDeadline, and the fact it relies on, checked on a real TLS server:
// an AuthMetadataProcessor sees `grpc-timeout` exactly when the client set a
// deadline, and the status it returns is what the client gets.
#include "common/deadline_check.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/health_service.h"
#include "common/server_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace goalkeeper {
namespace {

using ::testing::HasSubstr;

AuthMetadata Metadata(const std::vector<std::pair<std::string, std::string>>& entries,
                      std::vector<std::string>& storage) {
  // string_refs point into `storage`, which the caller keeps alive.
  storage.clear();
  storage.reserve(entries.size() * 2);
  AuthMetadata m;
  for (const auto& [k, v] : entries) {
    storage.push_back(k);
    const std::string& key = storage.back();
    storage.push_back(v);
    const std::string& value = storage.back();
    m.emplace(grpc::string_ref(key), grpc::string_ref(value));
  }
  return m;
}

TEST(RequireDeadlineTest, AcceptsAWellFormedGrpcTimeout) {
  std::vector<std::string> storage;
  for (const char* v : {"1S", "9999866u", "99999999n", "5M", "1H", "300m"}) {
    AuthMetadata m = Metadata({{":path", "/x/Y"}, {"grpc-timeout", v}}, storage);
    EXPECT_TRUE(RequireDeadline(m).ok()) << v;
  }
}

TEST(RequireDeadlineTest, RefusesACallWithoutOne) {
  std::vector<std::string> storage;
  AuthMetadata m = Metadata({{":path", "/goalkeeper.v1.Coordinator/GetScan"}}, storage);
  absl::Status s = RequireDeadline(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("a deadline is required"));
}

TEST(RequireDeadlineTest, RefusesMalformedOrRepeatedValuesNamingThem) {
  std::vector<std::string> storage;
  for (const char* v : {"", "S", "10", "123456789S", "10s", "1.5S", "-1S", "10S\r\nx"}) {
    AuthMetadata m = Metadata({{"grpc-timeout", v}}, storage);
    absl::Status s = RequireDeadline(m);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << v;
    EXPECT_THAT(s.message(), HasSubstr("grpc-timeout: '")) << v;
  }
  AuthMetadata twice = Metadata({{"grpc-timeout", "1S"}, {"grpc-timeout", "2S"}}, storage);
  EXPECT_THAT(RequireDeadline(twice).message(), HasSubstr("more than once"));
}

// Records what it saw and applies RequireDeadline, as the gate will.
class RecordingProcessor : public grpc::AuthMetadataProcessor {
 public:
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext*, OutputMetadata*,
                       OutputMetadata*) override {
    auto it = auth_metadata.find(kGrpcTimeoutHeader);
    {
      absl::MutexLock lock(&mu_);
      seen_.push_back(
          it == auth_metadata.end() ? "" : std::string(it->second.data(), it->second.size()));
    }
    absl::Status s = RequireDeadline(auth_metadata);
    if (!s.ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(s.message()));
    return grpc::Status::OK;
  }
  std::vector<std::string> seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> seen_ ABSL_GUARDED_BY(mu_);
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(RequireDeadlineTest, AGateOnARealTlsServerSeesTheClientsDeadline) {
  const std::string dir = ::testing::TempDir() + "/deadline-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  testing::RunResult made = testing::Run(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", dir + "/tls.key", "-out", dir + "/tls.crt", "-days", "1", "-subj",
       "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string cert = ReadFile(dir + "/tls.crt");
  const std::string key = ReadFile(dir + "/tls.key");

  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({key, cert});
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::SslServerCredentials(options);
  auto processor = std::make_shared<RecordingProcessor>();
  creds->SetAuthMetadataProcessor(processor);
  HealthService health({});
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", creds, &port);
  builder.RegisterService(&health);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_NE(port, 0);

  grpc::SslCredentialsOptions client_options;
  client_options.pem_root_certs = cert;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                           grpc::SslCredentials(client_options), args);
  auto stub = grpc::health::v1::Health::NewStub(channel);

  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status s = stub->Check(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  }
  {
    grpc::ClientContext ctx;  // no deadline: no grpc-timeout on the wire
    grpc::Status s = stub->Check(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("a deadline is required"));
  }
  std::vector<std::string> seen = processor->seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(ValidGrpcTimeout(seen[0])) << seen[0];
  EXPECT_EQ(seen[1], "");
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

}  // namespace
}  // namespace goalkeeper
