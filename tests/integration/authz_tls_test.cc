// The role check of EVERY RPC over real mutual TLS: servers with the
// coordinator's and the notifier's services (the generated base classes, so
// a call the gate lets through ends UNIMPLEMENTED in the handler) behind the
// auth gate, certificates from scripts/dev-certs.sh (tests/testing/test_certs.h), and a call of
// every method of the proto descriptors as viewer, operator, admin, worker, node-agent,
// coordinator, an identity without a role, a bearer token, a wrong token and no credentials at all.
// Each ends with its exact code, and PERMISSION_DENIED names the method and the missing role. Also:
// the stream bound per identity frees its slot when a stream ends.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/authz.h"
#include "common/health_service.h"
#include "common/server_util.h"
#include "coordinator/coordinator_authz.h"
#include "gmock/gmock.h"
#include "goalkeeper/v1/coordinator.grpc.pb.h"
#include "goalkeeper/v1/node.grpc.pb.h"
#include "goalkeeper/v1/notifier.grpc.pb.h"
#include "gtest/gtest.h"
#include "notifier/notifier_authz.h"
#include "tests/testing/test_certs.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A WatchScan of scan "hold" holds its stream until the client cancels it;
// any other is unimplemented, like the other methods.
// GetScan answers UNIMPLEMENTED like the others, its message saying who the
// handler saw (CallerOf) and whether the bearer token reached it.
class HoldingCoordinator final : public v1::Coordinator::Service {
 public:
  grpc::Status GetScan(grpc::ServerContext* ctx, const v1::GetScanRequest*, v1::Scan*) override {
    const Caller caller = CallerOf(*ctx);
    const bool token_seen = ctx->client_metadata().count("authorization") > 0;
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        absl::StrCat("caller ", caller.identity, " ", RoleName(caller.role),
                                     token_seen ? " token-seen" : ""));
  }

  grpc::Status WatchScan(grpc::ServerContext* ctx, const v1::WatchScanRequest* req,
                         grpc::ServerWriter<v1::Scan>* writer) override {
    if (req->id() != "hold") return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "");
    v1::Scan first;
    writer->Write(first);  // the client knows the stream is open
    while (!ctx->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return grpc::Status::CANCELLED;
  }
};

struct Identity {
  std::string name;      // a dev-certs.sh certificate ("" = none)
  std::string token;     // a bearer token ("" = none)
  std::string identity;  // what the gate makes of it
  Role role = Role::kNone;
};

class AuthzTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const testing::TestCerts& certs = testing::TestCerts::Get();
    dir_ = new std::string(certs.root());
    for (const char* name : {"coordinator", "notifier", "viewer", "operator", "admin", "worker",
                             "node-agent", "stranger"}) {
      certs.Dir(name);  // made now, once
    }
    std::ofstream(*dir_ + "/ci-token") << "ci-secret-token-0123456789\n";
  }

  void SetUp() override {
    AuthConfig config;
    config.max_streams_per_identity = 2;
    config.tokens.push_back({"ci", *dir_ + "/ci-token", Role::kOperator});
    auto policy = AuthPolicy::Create(config);
    ASSERT_TRUE(policy.ok()) << policy.status();
    auto denied = [this](const DeniedCall& d) {
      absl::MutexLock lock(&mu_);
      denied_.push_back(d);
    };
    coordinator_ = Serve("coordinator",
                         std::make_shared<AuthGate>(*policy, CoordinatorMethodTable(),
                                                    CoordinatorStreamingMethods(), denied),
                         {&coordinator_service_, &shard_service_, &node_service_, &health_},
                         &coordinator_port_);
    notifier_ = Serve("notifier",
                      std::make_shared<AuthGate>(*policy, NotifierMethodTable(),
                                                 NotifierStreamingMethods(), denied),
                      {&notifier_service_, &health_}, &notifier_port_);
    ASSERT_NE(coordinator_, nullptr);
    ASSERT_NE(notifier_, nullptr);
  }

  void TearDown() override {
    if (coordinator_) coordinator_->Shutdown();
    if (notifier_) notifier_->Shutdown();
  }

  // A TLS server with the server's own dev certificate and the gate, as the
  // daemons start theirs (StartGrpcServer: MakeServerCredentials, interceptors).
  std::unique_ptr<grpc::Server> Serve(const std::string& name, std::shared_ptr<AuthGate> gate,
                                      const std::vector<grpc::Service*>& services, int* port) {
    TlsConfig tls = testing::TestCerts::Get().Tls(name);
    return StartGrpcServer("127.0.0.1:0", services, port, tls, std::move(gate));
  }

  std::shared_ptr<grpc::Channel> Channel(const Identity& who, int port) {
    grpc::SslCredentialsOptions opts;
    const testing::TestCerts& certs = testing::TestCerts::Get();
    opts.pem_root_certs = ReadFile(certs.CaFile());
    if (!who.name.empty()) {
      opts.pem_private_key = ReadFile(certs.Dir(who.name) + "/tls.key");
      opts.pem_cert_chain = ReadFile(certs.Dir(who.name) + "/tls.crt");
    }
    std::shared_ptr<grpc::ChannelCredentials> creds = grpc::SslCredentials(opts);
    if (!who.token.empty()) {
      creds = grpc::CompositeChannelCredentials(creds, grpc::AccessTokenCredentials(who.token));
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), creds, args);
  }

  // Calls `method` with one empty message (every kind of RPC is a stream on
  // the wire) and returns its status.
  static grpc::Status Call(grpc::Channel& channel, const std::string& method) {
    class Reactor final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
     public:
      void OnReadDone(bool ok) override {
        if (ok) StartRead(&response_);
      }
      void OnDone(const grpc::Status& s) override {
        status_ = s;
        done_.Notify();
      }
      grpc::ByteBuffer request_;
      grpc::ByteBuffer response_;
      grpc::Status status_;
      absl::Notification done_;
    };
    grpc::GenericStub stub(channel.shared_from_this());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    Reactor reactor;
    grpc::Slice empty("");
    reactor.request_ = grpc::ByteBuffer(&empty, 1);
    stub.PrepareBidiStreamingCall(&ctx, method, grpc::StubOptions(), &reactor);
    reactor.StartWriteLast(&reactor.request_, grpc::WriteOptions());
    reactor.StartRead(&reactor.response_);
    reactor.StartCall();
    reactor.done_.WaitForNotification();
    return reactor.status_;
  }

  static std::string* dir_;
  HoldingCoordinator coordinator_service_;
  v1::ShardService::Service shard_service_;
  v1::NodeService::Service node_service_;
  v1::Notifier::Service notifier_service_;
  HealthService health_{{"goalkeeper.v1.Coordinator"}};
  std::unique_ptr<grpc::Server> coordinator_;
  std::unique_ptr<grpc::Server> notifier_;
  int coordinator_port_ = 0;
  int notifier_port_ = 0;
  absl::Mutex mu_;
  std::vector<DeniedCall> denied_ ABSL_GUARDED_BY(mu_);
};

std::string* AuthzTlsTest::dir_ = nullptr;

const std::vector<Identity>& Identities() {
  static const auto* ids = new std::vector<Identity>{
      {"viewer", "", "spiffe://goalkeeper/viewer", Role::kViewer},
      {"operator", "", "spiffe://goalkeeper/operator", Role::kOperator},
      {"admin", "", "spiffe://goalkeeper/admin", Role::kAdmin},
      {"worker", "", "spiffe://goalkeeper/worker", Role::kWorker},
      {"node-agent", "", "spiffe://goalkeeper/node-agent", Role::kNodeAgent},
      {"coordinator", "", "spiffe://goalkeeper/coordinator", Role::kCoordinator},
      {"stranger", "", "spiffe://goalkeeper/stranger", Role::kNone},
      {"", "ci-secret-token-0123456789", "token:ci", Role::kOperator},
  };
  return *ids;
}

TEST_F(AuthzTlsTest, EveryRpcOfBothServersAnswersEachRoleWithItsExactCode) {
  struct Server {
    int port;
    MethodTable table;
    std::vector<std::string> methods;
  };
  const std::vector<Server> servers = {
      {coordinator_port_, CoordinatorMethodTable(), MethodsOf(CoordinatorServices())},
      {notifier_port_, NotifierMethodTable(), MethodsOf(NotifierServices())}};
  size_t refused = 0;
  size_t calls = 0;
  for (const Server& server : servers) {
    for (const Identity& who : Identities()) {
      std::shared_ptr<grpc::Channel> channel = Channel(who, server.port);
      for (const std::string& method : server.methods) {
        SCOPED_TRACE(absl::StrCat(who.identity, " calls ", method));
        ++calls;
        grpc::Status s = Call(*channel, method);
        const Role need = server.table.at(method);
        if (who.role == Role::kNone) {
          EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
          EXPECT_EQ(s.error_message(),
                    absl::StrCat(who.identity, " has no role (add it to auth.identities)"));
          ++refused;
        } else if (RoleAllows(who.role, need)) {
          // Through the gate: the (unimplemented) handler answered.
          EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << s.error_message();
        } else {
          EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
          EXPECT_EQ(s.error_message(), absl::StrCat(method, " needs role ", RoleName(need), "; ",
                                                    who.identity, " has ", RoleName(who.role)));
          ++refused;
        }
      }
      // Health checks are open to every authenticated peer.
      grpc::Status health = Call(*channel, "/grpc.health.v1.Health/Check");
      EXPECT_NE(health.error_code(), grpc::StatusCode::PERMISSION_DENIED) << who.identity;
      EXPECT_NE(health.error_code(), grpc::StatusCode::UNAUTHENTICATED) << who.identity;
    }
  }
  EXPECT_GE(calls, 8u * 19u);  // 8 callers x (15 coordinator + 4 notifier RPCs, at least)
  EXPECT_GT(refused, 0u);
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(denied_.size(), refused) << "every refusal reaches the DeniedCall callback";
}

TEST_F(AuthzTlsTest, SpotChecksOfTheTable) {
  auto viewer = Channel(Identities()[0], coordinator_port_);
  grpc::Status s = Call(*viewer, "/goalkeeper.v1.Coordinator/StartScan");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(),
            "/goalkeeper.v1.Coordinator/StartScan needs role operator; "
            "spiffe://goalkeeper/viewer has viewer");
  auto worker = Channel(Identities()[3], notifier_port_);
  s = Call(*worker, "/goalkeeper.v1.Notifier/DeliverReport");
  EXPECT_EQ(s.error_message(),
            "/goalkeeper.v1.Notifier/DeliverReport needs role coordinator; "
            "spiffe://goalkeeper/worker has worker");
  auto admin = Channel(Identities()[2], notifier_port_);
  EXPECT_EQ(Call(*admin, "/goalkeeper.v1.Notifier/DeliverReportStream").error_code(),
            grpc::StatusCode::PERMISSION_DENIED)
      << "only the coordinator delivers reports";
  EXPECT_EQ(Call(*admin, "/goalkeeper.v1.Notifier/Acknowledge").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  // A method no table has is refused (fail closed).
  s = Call(*admin, "/goalkeeper.v1.Notifier/Shutdown");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AuthzTlsTest, AWrongTokenOrNoCredentialsAtAllAreUnauthenticated) {
  for (const Identity& who :
       {Identity{"", "not-the-token", "", Role::kNone}, Identity{"", "", "", Role::kNone},
        Identity{"viewer", "not-the-token", "", Role::kNone}}) {
    auto channel = Channel(who, coordinator_port_);
    grpc::Status s = Call(*channel, "/goalkeeper.v1.Coordinator/GetScan");
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << who.name << who.token;
    EXPECT_EQ(s.error_message().find("not-the-token"), std::string::npos) << s.error_message();
  }
  auto wrong = Channel(Identity{"", "not-the-token", "", Role::kNone}, coordinator_port_);
  EXPECT_EQ(Call(*wrong, "/goalkeeper.v1.Coordinator/GetScan").error_message(),
            "bearer token not recognised");
}

TEST_F(AuthzTlsTest, StreamsPerIdentityAreBoundedAndASlotIsFreedWhenAStreamEnds) {
  auto viewer = Channel(Identities()[0], coordinator_port_);
  v1::WatchScanRequest req;
  req.set_id("hold");
  auto stub = v1::Coordinator::NewStub(viewer);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::Scan>>> streams;
  for (int i = 0; i < 2; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    streams.push_back(stub->WatchScan(contexts.back().get(), req));
    v1::Scan first;
    ASSERT_TRUE(streams.back()->Read(&first)) << "stream " << i << " is open";
  }
  grpc::Status third = Call(*viewer, "/goalkeeper.v1.Coordinator/WatchScan");
  EXPECT_EQ(third.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(third.error_message(),
            "spiffe://goalkeeper/viewer has 2 streams open (auth.max_streams_per_identity); "
            "close one or try again later");
  // Another identity has slots of its own; unary calls need none.
  auto admin = Channel(Identities()[2], coordinator_port_);
  EXPECT_EQ(Call(*admin, "/goalkeeper.v1.Coordinator/ListFindings").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(Call(*viewer, "/goalkeeper.v1.Coordinator/GetScan").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  // One stream ends: its slot comes back once the server has finished the call.
  contexts[0]->TryCancel();
  streams[0]->Finish().IgnoreError();
  grpc::Status next;
  for (int i = 0; i < 400; ++i) {
    next = Call(*viewer, "/goalkeeper.v1.Coordinator/ListFindings");
    if (next.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(next.error_code(), grpc::StatusCode::UNIMPLEMENTED) << next.error_message();
  contexts[1]->TryCancel();
  streams[1]->Finish().IgnoreError();
}

// gRPC hands the gate one AuthContext per connection, shared by every call
// on it; the caller is per call all the same. One connection (the operator's
// certificate), calls with and without a per-call token, from four threads
// at once: each handler sees its own call's caller, never the token, and
// nothing is left recorded once the calls are over.
TEST_F(AuthzTlsTest, HandlersSeeTheirOwnCallersCallerAndNoToken) {
  auto channel = Channel(Identities()[1], coordinator_port_);
  auto stub = v1::Coordinator::NewStub(channel);
  std::atomic<int> wrong{0};
  std::vector<std::string> failures;
  absl::Mutex failures_mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        const bool token = (i + t) % 2 == 0;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        if (token) ctx.set_credentials(grpc::AccessTokenCredentials("ci-secret-token-0123456789"));
        v1::GetScanRequest req;
        v1::Scan scan;
        grpc::Status s = stub->GetScan(&ctx, req, &scan);
        const std::string want =
            token ? "caller token:ci operator" : "caller spiffe://goalkeeper/operator operator";
        if (s.error_code() != grpc::StatusCode::UNIMPLEMENTED || s.error_message() != want) {
          ++wrong;
          absl::MutexLock lock(&failures_mu);
          if (failures.size() < 5) failures.push_back(absl::StrCat(want, " -> ", s.error_message()));
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0) << absl::StrJoin(failures, "; ");
  size_t left = RecordedCallers();
  for (int i = 0; i < 200 && left > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    left = RecordedCallers();
  }
  EXPECT_EQ(left, 0u) << "a call's record outlived it";
}

}  // namespace
}  // namespace goalkeeper
