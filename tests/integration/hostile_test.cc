// Hostile clients against a real fleet (issue 11): a coordinator, a notifier
// and a real worker scanning a loopback lab (127.72.0.0/24, 20 open ports),
// while a hostile client tries what the issue lists. Each attempt ends with
// an exact gRPC status; meanwhile the real worker keeps scanning, the lab
// scan completes with every finding, and the fleet keeps serving others.
//
// Mutual TLS is on (tests/testing/test_certs.h: the development CA of
// scripts/dev-certs.sh) and so is the authorization gate (common/authz.h,
// default identities: spiffe://goalkeeper/<role>*). The coordinator, the
// notifier and the workers have their own certificates; the hostile client
// dials with certificates of its choosing: an operator's, a viewer's, a
// worker's of its own, one without a role, another CA's, an expired one, or
// none. The operator role is scoped to 127.72.1.0/24 and 3 scans an hour;
// an admin may acknowledge for at most 90 days.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc_channel.h"
#include "gmock/gmock.h"
#include "goalkeeper/v1/coordinator.grpc.pb.h"
#include "goalkeeper/v1/notifier.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"
#include "tests/testing/loopback.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_certs.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::goalkeeper::testing::OpenPort;
using ::goalkeeper::testing::ReadFile;
using ::goalkeeper::testing::Subprocess;
using ::goalkeeper::testing::TestCerts;
using ::goalkeeper::testing::WriteFile;
using ::testing::HasSubstr;

constexpr char kCoordinator[] = GOALKEEPER_COORDINATOR_BIN;
constexpr char kWorker[] = GOALKEEPER_WORKER_BIN;
constexpr char kNotifier[] = GOALKEEPER_NOTIFIER_BIN;
constexpr uint16_t kLabPort = 15433;
constexpr int kOpen = 20;  // 127.72.0.10 .. 127.72.0.29

// A daemon of ours, logging to a file; waits for "<what> listening grpc=".
struct Daemon {
  Daemon(const std::vector<std::string>& argv, const std::string& log, const std::string& what) {
    process.emplace(Subprocess::StartLogged(argv, log));
    const std::string needle = what + " listening grpc=127.0.0.1:";
    for (int i = 0; i < 400; ++i) {
      std::string text = ReadFile(log);
      if (size_t at = text.rfind(needle); at != std::string::npos) {
        port = std::stoi(text.substr(at + needle.size()));
        return;
      }
      if (process->Exited()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error(what + " did not start:\n" + ReadFile(log));
  }
  ~Daemon() {
    if (process) process->Signal(SIGKILL);
  }
  std::optional<Subprocess> process;
  int port = 0;
};

template <typename Context>
void Deadline(Context& ctx, int seconds = 30) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/hostile-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::system(("rm -rf " + dir_ + " && mkdir -p " + dir_ + "/outbox").c_str());
    for (int i = 0; i < kOpen; ++i) {
      listeners_.push_back(OpenPort::Start(absl::StrCat("127.72.0.", 10 + i), kLabPort));
    }
    WriteFile(
        dir_ + "/notifier.yaml",
        absl::StrCat("listen: 127.0.0.1:0\ndb: ", dir_, "/notifier.db\n",
                     "metrics_listen: \"\"\nmode: prod\n", "ops: {emails: [noc@ops.example]}\n",
                     "email: {from: goalkeeper@ops.example, outbox_dir: ", dir_, "/outbox}\n",
                     "owners:\n  static:\n    - {cidr: 127.72.0.0/24, ",
                     "name: Lab Corp, emails: [lab@corp.example]}\n",
                     "auth:\n  roles:\n    admin: {max_acknowledge: 90d}\n",
                     certs_.DaemonYaml("notifier")));
    notifier_.emplace(std::vector<std::string>{kNotifier, "--config", dir_ + "/notifier.yaml"},
                      dir_ + "/notifier.log", "notifier");
    WriteFile(
        dir_ + "/coordinator.yaml",
        absl::StrCat("listen: 127.0.0.1:0\ndb: ", dir_, "/coordinator.db\n",
                     "metrics_listen: \"\"\nallowed_ranges: [127.72.0.0/16]\n",
                     "inventories:\n  lab: {targets: [127.72.0.0/24]}\n",
                     "profiles:\n  lab: {ports: \"", kLabPort, "\", timeout_ms: 300, retries: 1}\n",
                     "lease: {ttl_seconds: 3, heartbeat_seconds: 1, shard_seconds: 1}\n",
                     "notifier: {address: \"127.0.0.1:", notifier_->port, "\"}\n",
                     "auth:\n  roles:\n    operator: {allowed_ranges: [127.72.1.0/24], ",
                     "scans_per_hour: 3}\n", certs_.DaemonYaml("coordinator")));
    coordinator_.emplace(
        std::vector<std::string>{kCoordinator, "--config", dir_ + "/coordinator.yaml"},
        dir_ + "/coordinator.log", "coordinator");
    coordinator_at_ = absl::StrCat("127.0.0.1:", coordinator_->port);
    coordinator_stub_ = v1::Coordinator::NewStub(Dial(coordinator_at_, certs_.Tls("admin")));
    // The hostile worker has a worker certificate of its own.
    shard_stub_ = v1::ShardService::NewStub(Dial(coordinator_at_, certs_.Tls("worker-evil")));
    // A stolen coordinator certificate: only the content checks stand.
    notifier_stub_ = v1::Notifier::NewStub(
        Dial(absl::StrCat("127.0.0.1:", notifier_->port), certs_.Tls("coordinator")));
  }

  static std::shared_ptr<grpc::Channel> Dial(const std::string& address, const TlsConfig& tls) {
    ChannelOptions options;
    options.tls = tls;
    return MakeChannel(address, options);
  }

  void StartWorker(const std::string& name) {
    std::vector<std::string> argv = {kWorker,
                                     "run",
                                     "--coordinator",
                                     coordinator_at_,
                                     "--name",
                                     name,
                                     "--concurrency",
                                     "64",
                                     "--metrics-listen",
                                     "127.0.0.1:0",
                                     "--health-listen",
                                     "127.0.0.1:0"};
    testing::AddArgs(argv, certs_.Flags("worker"));
    workers_.push_back(Subprocess::StartLogged(argv, dir_ + "/worker-" + name + ".log"));
  }

  grpc::Status StartScan(const v1::StartScanRequest& req, v1::Scan* scan) {
    grpc::ClientContext ctx;
    Deadline(ctx, 60);
    return coordinator_stub_->StartScan(&ctx, req, scan);
  }

  std::string StartLabScan() {
    v1::StartScanRequest req;
    req.set_inventory("lab");
    req.set_profile("lab");
    v1::Scan scan;
    grpc::Status s = StartScan(req, &scan);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return scan.id();
  }

  v1::Scan GetScan(const std::string& id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::GetScanRequest req;
    req.set_id(id);
    v1::Scan scan;
    grpc::Status s = coordinator_stub_->GetScan(&ctx, req, &scan);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return scan;
  }

  // Waits for the scan to end (at most `seconds`) and returns its state.
  v1::ScanState WaitForEnd(const std::string& id, int seconds = 120) {
    for (int i = 0; i < seconds * 10; ++i) {
      v1::Scan scan = GetScan(id);
      if (scan.state() != v1::PENDING && scan.state() != v1::RUNNING) return scan.state();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return GetScan(id).state();
  }

  std::set<std::string> OpenFindings(const std::string& id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::ListFindingsRequest req;
    req.set_scan_id(id);
    auto reader = coordinator_stub_->ListFindings(&ctx, req);
    std::set<std::string> out;
    v1::Finding f;
    while (reader->Read(&f)) {
      if (f.state() == v1::PROBE_STATE_OPEN) out.insert(absl::StrCat(f.ip(), ":", f.port()));
    }
    grpc::Status s = reader->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  static std::set<std::string> LabOpen() {
    std::set<std::string> out;
    for (int i = 0; i < kOpen; ++i) out.insert(absl::StrCat("127.72.0.", 10 + i, ":", kLabPort));
    return out;
  }

  // The lab scan ends SUCCEEDED with every open port found: nothing lost.
  void ExpectLabScanComplete(const std::string& id) {
    ASSERT_EQ(WaitForEnd(id), v1::SUCCEEDED) << ReadFile(dir_ + "/coordinator.log");
    EXPECT_EQ(OpenFindings(id), LabOpen());
  }

  // The emails the notifier wrote to its outbox, once at least `count` are
  // there (or after `seconds`).
  std::vector<std::string> Outbox(size_t count, int seconds) {
    std::vector<std::string> out;
    for (int i = 0; i <= seconds * 10; ++i) {
      out.clear();
      for (const auto& entry : std::filesystem::directory_iterator(dir_ + "/outbox")) {
        if (entry.path().extension() == ".eml") out.push_back(ReadFile(entry.path().string()));
      }
      if (out.size() >= count) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return out;
  }

  const TestCerts& certs_ = TestCerts::Get();
  std::string dir_;
  std::string coordinator_at_;
  std::vector<std::unique_ptr<OpenPort>> listeners_;
  std::optional<Daemon> notifier_, coordinator_;
  std::vector<Subprocess> workers_;
  std::unique_ptr<v1::Coordinator::Stub> coordinator_stub_;
  std::unique_ptr<v1::ShardService::Stub> shard_stub_;
  std::unique_ptr<v1::Notifier::Stub> notifier_stub_;
};

TEST_F(HostileTest, HugeAndOddTargetListsEndWithAClearStatusWhileTheFleetScans) {
  StartWorker("real");
  const std::string lab = StartLabScan();

  // A million target lines: over the coordinator's 4 MiB message limit.
  v1::StartScanRequest million;
  million.set_profile("lab");
  for (int i = 0; i < 1'000'000; ++i) {
    million.mutable_targets()->add_include(absl::StrCat("127.72.", (i / 256) % 256, ".", i % 256));
  }
  v1::Scan scan;
  grpc::Status s = StartScan(million, &scan);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();

  // The whole Internet: outside allowed_ranges.
  v1::StartScanRequest all;
  all.set_profile("lab");
  all.mutable_targets()->add_include("0.0.0.0/0");
  s = StartScan(all, &scan);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("allowed_ranges"));

  // A reversed range.
  v1::StartScanRequest reversed;
  reversed.set_profile("lab");
  reversed.mutable_targets()->add_include("127.72.0.20-127.72.0.10");
  s = StartScan(reversed, &scan);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("127.72.0.20-127.72.0.10"));

  // Overlapping ranges: accepted, each address probed once.
  v1::StartScanRequest overlap;
  overlap.set_profile("lab");
  for (const char* spec : {"127.72.1.0/28", "127.72.1.4-127.72.1.20", "127.72.1.7"}) {
    overlap.mutable_targets()->add_include(spec);
  }
  s = StartScan(overlap, &scan);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(scan.probes_total(), 21u);  // 127.72.1.0 - 127.72.1.20, one port
  EXPECT_EQ(WaitForEnd(scan.id()), v1::SUCCEEDED);

  ExpectLabScanComplete(lab);
}

TEST_F(HostileTest, AWorkerThatStopsHeartbeatingMidScanLosesNothing) {
  // The stuck worker starts alone, so it holds the first leases.
  StartWorker("stuck");
  const std::string lab = StartLabScan();
  bool leased = false;
  for (int i = 0; i < 300 && !leased; ++i) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::ListWorkersResponse workers;
    ASSERT_TRUE(coordinator_stub_->ListWorkers(&ctx, {}, &workers).ok());
    for (const v1::WorkerInfo& w : workers.workers()) leased |= w.leases() > 0;
    if (!leased) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(leased) << ReadFile(dir_ + "/coordinator.log");
  workers_[0].Signal(SIGSTOP);  // mid-stream: no heartbeat, no report, no completion
  StartWorker("real");
  ExpectLabScanComplete(lab);
  workers_[0].Signal(SIGCONT);
  workers_[0].Signal(SIGKILL);
}

TEST_F(HostileTest, ClientsThatNeverReadTheirStreamsDoNotStopTheFleet) {
  StartWorker("real");
  const std::string lab = StartLabScan();
  // A viewer opens watches it never reads: their messages pile up in flow
  // control. It gets 8 (auth.max_streams_per_identity), then
  // RESOURCE_EXHAUSTED; the admin's calls go on meanwhile.
  auto viewer = v1::Coordinator::NewStub(Dial(coordinator_at_, certs_.Tls("viewer")));
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::Scan>>> readers;
  v1::WatchScanRequest req;
  req.set_id(lab);
  for (int i = 0; i < 8; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    readers.push_back(viewer->WatchScan(contexts.back().get(), req));
    readers.back()->WaitForInitialMetadata();  // the server took it; nothing is read
  }
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    auto ninth = viewer->WatchScan(&ctx, req);
    grpc::Status s = ninth->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("spiffe://goalkeeper/viewer"));
  }
  ExpectLabScanComplete(lab);
  for (size_t i = 0; i < readers.size(); ++i) {
    contexts[i]->TryCancel();
    EXPECT_EQ(readers[i]->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // The slots came back: the viewer may watch again.
  grpc::ClientContext ctx;
  Deadline(ctx);
  auto again = viewer->WatchScan(&ctx, req);
  v1::Scan scan;
  EXPECT_TRUE(again->Read(&scan));
  EXPECT_EQ(scan.id(), lab);
  ctx.TryCancel();
  again->Finish();
}

TEST_F(HostileTest, ImpersonatingTheRealWorkerIsRefused) {
  StartWorker("real");
  const std::string lab = StartLabScan();
  std::string real_id;
  for (int i = 0; i < 300 && real_id.empty(); ++i) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::ListWorkersResponse workers;
    ASSERT_TRUE(coordinator_stub_->ListWorkers(&ctx, {}, &workers).ok());
    if (workers.workers_size() > 0) real_id = workers.workers(0).id();
    if (real_id.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(real_id.empty());

  // Rename the real worker: its id again without its token.
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::RegisterWorkerRequest req;
    req.set_worker_id(real_id);
    req.set_name("evil");
    v1::RegisterWorkerResponse resp;
    grpc::Status s = shard_stub_->RegisterWorker(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("is registered to spiffe://goalkeeper/worker"));
  }
  // Lease, report and complete as the real worker with a guessed token.
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::LeaseShardRequest req;
    req.set_worker_id(real_id);
    req.set_worker_token(std::string(64, '0'));
    v1::LeaseShardResponse resp;
    grpc::Status s = shard_stub_->LeaseShard(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("is registered to spiffe://goalkeeper/worker"));
  }
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::ReportFindingsRequest req;
    req.set_worker_id(real_id);
    req.set_worker_token(std::string(64, '0'));
    req.set_lease_id("1");
    v1::ProbeResult* r = req.add_results();
    r->set_ip("127.72.0.200");  // invented: nothing listens there
    r->set_port(kLabPort);
    r->set_state(v1::PROBE_STATE_OPEN);
    v1::ReportFindingsResponse resp;
    grpc::Status s = shard_stub_->ReportFindings(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    // The same invented port from an operator: not a worker at all.
    grpc::ClientContext op_ctx;
    Deadline(op_ctx);
    auto operator_shards = v1::ShardService::NewStub(Dial(coordinator_at_, certs_.Tls("operator")));
    s = operator_shards->ReportFindings(&op_ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("ReportFindings needs role worker"));
    // Nor may an operator register as a worker (and lease real shards).
    grpc::ClientContext reg_ctx;
    Deadline(reg_ctx);
    v1::RegisterWorkerRequest reg;
    reg.set_name("operator-as-worker");
    v1::RegisterWorkerResponse reg_resp;
    s = operator_shards->RegisterWorker(&reg_ctx, reg, &reg_resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("RegisterWorker needs role worker"));
  }
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::CompleteShardRequest req;
    req.set_worker_id("never-registered");
    req.set_worker_token(std::string(64, '0'));
    req.set_lease_id("1");
    v1::CompleteShardResponse resp;
    grpc::Status s = shard_stub_->CompleteShard(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  }
  ExpectLabScanComplete(lab);
}

TEST_F(HostileTest, ForgedReportsToTheNotifierAreRefusedAndNothingIsMailed) {
  auto deliver = [&](const v1::ScanReport& report) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::DeliverReportResponse resp;
    return notifier_stub_->DeliverReport(&ctx, report, &resp);
  };
  v1::ScanReport forged;
  forged.set_scan_id("20261201-182233-0a9f3c");
  v1::Exposure* e = forged.add_exposures();
  e->set_ip("127.72.0.10");
  e->set_port(6379);
  e->set_service("Redis. Your server is compromised: log in at https://evil.example");
  e->set_status(v1::NEW);
  grpc::Status s = deliver(forged);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("exposures[0].service: 'Redis. Your server"));

  e->set_service("Redis");
  forged.set_scan_id("20261201-182233-0a9f3c\r\nBcc: everyone@example.com");
  s = deliver(forged);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("scan_id: '20261201-182233-0a9f3c\\x0d\\x0aBcc"));

  // A well-formed report from anyone but the coordinator: refused by the gate.
  {
    v1::ScanReport valid;
    valid.set_scan_id("20261201-182233-0a9f3c");
    v1::Exposure* x = valid.add_exposures();
    x->set_ip("127.72.0.10");
    x->set_port(6379);
    x->set_service("Redis");
    x->set_status(v1::NEW);
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::DeliverReportResponse resp;
    auto from_operator = v1::Notifier::NewStub(
        Dial(absl::StrCat("127.0.0.1:", notifier_->port), certs_.Tls("operator")));
    s = from_operator->DeliverReport(&ctx, valid, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("DeliverReport needs role coordinator"));
  }
  // The stream is refused at its header, before any exposure.
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::DeliverReportResponse resp;
    auto writer = notifier_stub_->DeliverReportStream(&ctx, &resp);
    v1::ReportChunk header;
    header.mutable_header()->set_scan_id("20261201-182233-0a9f3c");
    header.mutable_header()->set_inventory("<a href=\"https://evil.example\">renew</a>");
    header.mutable_header()->set_exposure_count(1);
    writer->Write(header);
    writer->WritesDone();
    s = writer->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("inventory: '<a href="));
  }

  // Nothing of the forgeries was stored, so nothing is mailed; the real
  // fleet's report passes the same checks and is mailed to the owner.
  EXPECT_TRUE(Outbox(1, 2).empty());
  StartWorker("real");
  ExpectLabScanComplete(StartLabScan());
  std::vector<std::string> mail = Outbox(1, 60);
  ASSERT_EQ(mail.size(), 1u) << ReadFile(dir_ + "/notifier.log");
  EXPECT_THAT(mail[0], HasSubstr("lab@corp.example"));
  EXPECT_THAT(mail[0], HasSubstr(absl::StrCat("127.72.0.10:", kLabPort)));
  EXPECT_THAT(mail[0], ::testing::Not(HasSubstr("evil.example")));
}

TEST_F(HostileTest, ClientsWithoutAGoodCertificateOrIdentityAreRefused) {
  StartWorker("real");
  const std::string lab = StartLabScan();
  auto list_scans = [&](const std::shared_ptr<grpc::Channel>& channel) {
    grpc::ClientContext ctx;
    Deadline(ctx, 10);
    v1::ListScansResponse resp;
    return v1::Coordinator::NewStub(channel)->ListScans(&ctx, {}, &resp);
  };
  auto with_cert = [&](const std::string& dir) {
    TlsConfig tls;
    tls.ca_file = certs_.CaFile();  // verifies our server; the server must refuse the client
    tls.cert_file = dir + "/tls.crt";
    tls.key_file = dir + "/tls.key";
    return Dial(coordinator_at_, tls);
  };
  // A certificate from another CA, an expired one of ours.
  for (const auto& [what, channel] :
       std::vector<std::pair<std::string, std::shared_ptr<grpc::Channel>>>{
           {"another CA", with_cert(certs_.OtherCa("operator"))},
           {"expired", with_cert(certs_.Expired("operator"))}}) {
    grpc::Status s = list_scans(channel);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << what << ": " << s.error_message();
  }
  // No certificate (and no bearer token): refused before the gate.
  TlsConfig none;
  none.ca_file = certs_.CaFile();
  grpc::Status none_status = list_scans(Dial(coordinator_at_, none));
  EXPECT_EQ(none_status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << none_status.error_message();
  // The right CA, an identity without a role.
  grpc::Status stranger_status = list_scans(Dial(coordinator_at_, certs_.Tls("stranger")));
  EXPECT_EQ(stranger_status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << stranger_status.error_message();
  EXPECT_THAT(stranger_status.error_message(),
              HasSubstr("spiffe://goalkeeper/stranger has no role"));
  // Plaintext to the TLS port.
  TlsConfig plain;
  plain.insecure = true;
  grpc::Status s = list_scans(Dial(coordinator_at_, plain));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  // A client that does not trust our CA refuses the server.
  TlsConfig stranger;
  const std::string other = certs_.OtherCa("operator");
  stranger.ca_file = other + "/ca.crt";
  stranger.cert_file = other + "/tls.crt";
  stranger.key_file = other + "/tls.key";
  s = list_scans(Dial(coordinator_at_, stranger));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  // The fleet's own certificates work meanwhile.
  EXPECT_TRUE(list_scans(Dial(coordinator_at_, certs_.Tls("viewer"))).ok());
  ExpectLabScanComplete(lab);
}

TEST_F(HostileTest, OperatorsStayInTheirScopeAndRateWhileTheLabScans) {
  StartWorker("real");
  const std::string lab = StartLabScan();  // the admin's
  auto op = v1::Coordinator::NewStub(Dial(coordinator_at_, certs_.Tls("operator")));
  auto start = [&](v1::Coordinator::Stub& stub, const std::string& targets, v1::Scan* scan) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::StartScanRequest req;
    req.set_profile("lab");
    req.mutable_targets()->add_include(targets);
    return stub.StartScan(&ctx, req, scan);
  };
  v1::Scan scan;
  // Inside allowed_ranges but outside the operator role's.
  grpc::Status s = start(*op, "127.72.0.0/24", &scan);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("outside auth.roles.operator.allowed_ranges"));
  // A flood of StartScan: 3 an hour, then RESOURCE_EXHAUSTED with a retry hint.
  std::vector<std::string> mine;
  int exhausted = 0;
  for (int i = 0; i < 12; ++i) {
    s = start(*op, absl::StrCat("127.72.1.", 16 * i, "/30"), &scan);
    if (s.ok()) {
      mine.push_back(scan.id());
    } else {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
      EXPECT_THAT(s.error_message(), HasSubstr("scans_per_hour); retry in "));
      ++exhausted;
    }
  }
  EXPECT_EQ(mine.size(), 3u);
  EXPECT_EQ(exhausted, 9);
  // Cancel another's scan: the admin's lab scan.
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::CancelScanRequest req;
    req.set_id(lab);
    s = op->CancelScan(&ctx, req, &scan);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("was started by spiffe://goalkeeper/admin"));
  }
  // A viewer may not start scans at all.
  auto viewer = v1::Coordinator::NewStub(Dial(coordinator_at_, certs_.Tls("viewer")));
  s = start(*viewer, "127.72.1.0/30", &scan);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("StartScan needs role operator"));
  // The lab scan was neither starved nor cancelled; the operator's ran too.
  ExpectLabScanComplete(lab);
  for (const std::string& id : mine) EXPECT_EQ(WaitForEnd(id), v1::SUCCEEDED) << id;
}

TEST_F(HostileTest, AcknowledgingARealExposureForeverIsRefused) {
  auto ack = [&](const std::string& who, int64_t until_unix_ms) {
    auto stub =
        v1::Notifier::NewStub(Dial(absl::StrCat("127.0.0.1:", notifier_->port), certs_.Tls(who)));
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::AcknowledgeRequest req;
    req.set_ip("127.72.0.10");
    req.set_port(kLabPort);
    req.set_until_unix_ms(until_unix_ms);
    req.set_reason("silence it");
    v1::AcknowledgeResponse resp;
    return stub->Acknowledge(&ctx, req, &resp);
  };
  const int64_t year_9999 = 253'402'214'400'000;  // 9999-12-31T00:00:00Z
  grpc::Status s = ack("admin", year_9999);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("auth.roles.admin.max_acknowledge (90d)"));
  s = ack("operator", year_9999);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("Acknowledge needs role admin"));
  // The exposure was not silenced: the lab scan's report mails the owner.
  StartWorker("real");
  ExpectLabScanComplete(StartLabScan());
  std::vector<std::string> mail = Outbox(1, 60);
  ASSERT_EQ(mail.size(), 1u) << ReadFile(dir_ + "/notifier.log");
  EXPECT_THAT(mail[0], HasSubstr(absl::StrCat("127.72.0.10:", kLabPort)));
  // A bounded acknowledgement by an admin is accepted.
  const int64_t in_a_week = absl::ToUnixMillis(absl::Now() + absl::Hours(24 * 7));
  s = ack("admin", in_a_week);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

}  // namespace
}  // namespace goalkeeper
