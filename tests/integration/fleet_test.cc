// The fleet as real processes on loopback: a goalkeeper-coordinator, several
// goalkeeper-worker runs and goalkeeperctl, with workers and the coordinator
// killed mid-scan. Each test uses its own 127.x.0.0/16 and its own database.
// Every gRPC link is mutual TLS (tests/testing/test_certs.h): the
// coordinator, each worker and goalkeeperctl (as the admin) have their own
// certificate. Traffic goes only to 127.0.0.0/8.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"
#include "tests/testing/loopback.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_certs.h"

namespace goalkeeper {
namespace {

using ::goalkeeper::testing::OpenPort;
using ::goalkeeper::testing::RunResult;
using ::goalkeeper::testing::Subprocess;
using ::goalkeeper::testing::TestCerts;
using ::testing::HasSubstr;

constexpr char kCoordinator[] = GOALKEEPER_COORDINATOR_BIN;
constexpr char kWorker[] = GOALKEEPER_WORKER_BIN;
constexpr char kCtl[] = GOALKEEPER_CTL_BIN;

using ::goalkeeper::testing::ReadFile;

using ::goalkeeper::testing::WithTls;

// Pulls `"key": "value"` or `"key": number` out of one-line JSON (enough for
// the fields these tests read).
std::string JsonField(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  size_t at = json.find(needle);
  if (at == std::string::npos) return "";
  at += needle.size();
  if (json[at] == '"') {
    size_t end = json.find('"', at + 1);
    return json.substr(at + 1, end - at - 1);
  }
  size_t end = json.find_first_of(",}", at);
  return json.substr(at, end - at);
}

// The coordinator's TLS settings (tests/testing/test_certs.h).
std::string CoordinatorTlsYaml() { return TestCerts::Get().DaemonYaml("coordinator"); }

class Fleet {
 public:
  // `net` like "127.61": the test's own /16.
  Fleet(const std::string& name, const std::string& net) : net_(net) {
    dir_ = ::testing::TempDir() + "/fleet-" + name + "-" + std::to_string(getpid());
    std::system(("rm -rf " + dir_ + " && mkdir -p " + dir_).c_str());
  }
  ~Fleet() {
    for (auto& w : workers_) w.second.Signal(SIGKILL);
    if (coordinator_) coordinator_->Signal(SIGKILL);
  }

  void WriteConfig(const std::string& extra = "",
                   const std::string& lab_profile =
                       "{ports: \"22,13306,15432,16379\", timeout_ms: 300, retries: 1, "
                       "rate: 4000}") {
    std::ofstream out(dir_ + "/coordinator.yaml");
    out << "db: " << dir_ << "/coordinator.db\n"
        << "metrics_listen: 127.0.0.1:0\n"
        << "allowed_ranges: [" << net_ << ".0.0/16]\n"
        << "profiles:\n"
        << "  lab: " << lab_profile << "\n"
        << "lease: " << lease_ << "\n"
        << CoordinatorTlsYaml() << extra;
  }

  // The coordinator's `lease:` (WriteConfig writes it).
  void SetLease(std::string lease) { lease_ = std::move(lease); }

  // Starts the coordinator (port 0 the first time, then the same port) and
  // waits for its listening line.
  void StartCoordinator() {
    const std::string log = dir_ + "/coordinator.log";
    const size_t before = ReadFile(log).size();
    coordinator_.emplace(
        Subprocess::StartLogged({kCoordinator, "--config", dir_ + "/coordinator.yaml", "--listen",
                                 "127.0.0.1:" + std::to_string(port_)},
                                log));
    for (int i = 0; i < 200; ++i) {
      std::string text = ReadFile(log).substr(before);
      size_t at = text.find("coordinator listening grpc=127.0.0.1:");
      if (at != std::string::npos) {
        port_ = std::stoi(text.substr(at + 37));
        size_t m = text.find("metrics=127.0.0.1:", at);
        metrics_port_ = std::stoi(text.substr(m + 18));
        return;
      }
      ASSERT_FALSE(coordinator_->Exited()) << "coordinator exited:\n" << text;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "coordinator did not start:\n" << ReadFile(log);
  }

  void KillCoordinator() {
    coordinator_->Signal(SIGKILL);
    coordinator_->Wait(std::chrono::seconds(10));
    coordinator_.reset();
  }

  void StartWorker(const std::string& name) {
    workers_.emplace(
        name, Subprocess::StartLogged(WithTls({kWorker, "run", "--coordinator", address(), "--name",
                                               name, "--concurrency", "256", "--metrics-listen",
                                               "127.0.0.1:0", "--health-listen", "127.0.0.1:0"},
                                              "worker"),
                                      dir_ + "/" + name + ".log"));
  }
  Subprocess& worker(const std::string& name) { return workers_.at(name); }

  RunResult Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {kCtl, "--coordinator", address()});
    return ::goalkeeper::testing::Run(WithTls(args, "admin"), std::chrono::seconds(120));
  }

  std::string StartScan(const std::string& targets) {
    RunResult r =
        Ctl({"scan", "start", "--targets", targets, "--profile", "lab", "--output", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return JsonField(r.out, "id");
  }

  std::string ScanJson(const std::string& id) {
    return Ctl({"scan", "status", id, "--output", "json"}).out;
  }

  // Waits until `pred(status json)` holds; false after `seconds`.
  template <typename Pred>
  bool WaitFor(const std::string& id, Pred pred, int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      if (pred(ScanJson(id))) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // The findings of a scan as "ip:port", asserting none is listed twice.
  std::multiset<std::string> Findings(const std::string& id) {
    RunResult r = Ctl({"scan", "findings", id, "--output", "jsonl"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::multiset<std::string> out;
    for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
      std::string l(line);
      out.insert(JsonField(l, "ip") + ":" + JsonField(l, "port"));
    }
    return out;
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int metrics_port() const { return metrics_port_; }
  const std::string& dir() const { return dir_; }
  std::string Log(const std::string& name) { return ReadFile(dir_ + "/" + name + ".log"); }

 private:
  std::string net_;
  std::string lease_ = "{ttl_seconds: 3, heartbeat_seconds: 1, shard_seconds: 1}";
  std::string dir_;
  int port_ = 0;
  int metrics_port_ = 0;
  std::optional<Subprocess> coordinator_;
  std::map<std::string, Subprocess> workers_;
};

// Listeners on a fixed set of (ip, port) pairs inside `net`.0.0/20.
struct Lab {
  explicit Lab(const std::string& net) {
    const std::vector<std::pair<std::string, uint16_t>> pairs = {
        {".0.7", 15432},   {".0.200", 16379},  {".1.1", 13306},   {".2.99", 15432},
        {".3.3", 16379},   {".5.250", 13306},  {".7.17", 15432},  {".9.1", 16379},
        {".11.11", 13306}, {".12.200", 15432}, {".14.14", 16379}, {".15.254", 13306}};
    for (const auto& [host, port] : pairs) {
      listeners.push_back(OpenPort::Start(net + host, port));
      expected.insert(net + host + ":" + std::to_string(port));
    }
  }
  std::vector<std::unique_ptr<OpenPort>> listeners;
  std::multiset<std::string> expected;
};

bool Done(const std::string& json) {
  std::string state = JsonField(json, "state");
  return state == "SUCCEEDED" || state == "FAILED" || state == "CANCELLED" || state == "DEGRADED";
}

TEST(FleetTest, WorkerKilledMidScanLosesNothing) {
  Lab lab("127.61");
  Fleet fleet("kill-worker", "127.61");
  fleet.WriteConfig();
  ASSERT_NO_FATAL_FAILURE(fleet.StartCoordinator());
  for (const char* w : {"w1", "w2", "w3"}) fleet.StartWorker(w);
  const std::string id = fleet.StartScan("127.61.0.0/20");  // 16384 probes, ~4 s at 4000/s
  ASSERT_FALSE(id.empty());
  // Kill w2 once it holds a lease.
  bool leased = false;
  for (int i = 0; i < 100 && !leased; ++i) {
    RunResult w = fleet.Ctl({"workers", "list"});
    for (absl::string_view line : absl::StrSplit(w.out, '\n')) {
      std::vector<std::string> cols = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (cols.size() >= 3 && cols[1] == "w2" && cols[2] != "0") leased = true;
    }
    if (!leased) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(leased) << "w2 never held a lease";
  fleet.worker("w2").Signal(SIGKILL);
  ASSERT_TRUE(fleet.WaitFor(id, Done, 90)) << fleet.Log("coordinator");
  std::string status = fleet.ScanJson(id);
  EXPECT_EQ(JsonField(status, "state"), "SUCCEEDED") << status;
  EXPECT_EQ(JsonField(status, "probes_done"), "16384") << status;
  EXPECT_EQ(fleet.Findings(id), lab.expected);
  EXPECT_THAT(fleet.Log("coordinator"), HasSubstr("lease expired"));
}

TEST(FleetTest, CoordinatorKilledMidScanResumesOnTheSameDatabase) {
  Lab lab("127.62");
  Fleet fleet("kill-coordinator", "127.62");
  fleet.WriteConfig();
  ASSERT_NO_FATAL_FAILURE(fleet.StartCoordinator());
  fleet.StartWorker("w1");
  fleet.StartWorker("w2");
  const std::string id = fleet.StartScan("127.62.0.0/20");
  ASSERT_TRUE(fleet.WaitFor(
      id,
      [](const std::string& j) {
        return JsonField(j, "state") == "RUNNING" && JsonField(j, "probes_done") != "0";
      },
      30));
  fleet.KillCoordinator();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // workers keep scanning, retrying
  ASSERT_NO_FATAL_FAILURE(fleet.StartCoordinator());
  // The workers are known by name at once (the store keeps them), and their
  // tokens still work.
  std::set<std::string> names;
  for (absl::string_view line : absl::StrSplit(fleet.Ctl({"workers", "list"}).out, '\n')) {
    std::vector<std::string> cols = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (cols.size() >= 2) names.insert(cols[1]);
  }
  EXPECT_TRUE(names.count("w1") && names.count("w2")) << fleet.Ctl({"workers", "list"}).out;
  ASSERT_TRUE(fleet.WaitFor(id, Done, 90)) << fleet.Log("coordinator");
  std::string status = fleet.ScanJson(id);
  EXPECT_EQ(JsonField(status, "state"), "SUCCEEDED") << status;
  EXPECT_EQ(JsonField(status, "probes_done"), "16384") << status;
  EXPECT_EQ(fleet.Findings(id), lab.expected);
  EXPECT_THAT(fleet.Log("coordinator"), HasSubstr("recovered scan=" + id));
}

TEST(FleetTest, WorkerSigtermHandsBackItsShardAndTheScanCompletes) {
  Lab lab("127.63");
  Fleet fleet("sigterm", "127.63");
  fleet.WriteConfig();
  ASSERT_NO_FATAL_FAILURE(fleet.StartCoordinator());
  fleet.StartWorker("w1");
  const std::string id = fleet.StartScan("127.63.0.0/20");
  ASSERT_TRUE(fleet.WaitFor(
      id, [](const std::string& j) { return JsonField(j, "shards_leased") == "1"; }, 30));
  fleet.worker("w1").Signal(SIGTERM);
  RunResult r = fleet.worker("w1").Wait(std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(fleet.Log("w1"), HasSubstr("shard handed back"));
  EXPECT_THAT(fleet.Log("coordinator"), HasSubstr("shard handed back"));
  fleet.StartWorker("w2");
  ASSERT_TRUE(fleet.WaitFor(id, Done, 90)) << fleet.Log("coordinator");
  EXPECT_EQ(JsonField(fleet.ScanJson(id), "state"), "SUCCEEDED");
  EXPECT_EQ(fleet.Findings(id), lab.expected);
}

TEST(FleetTest, SecondScanDiffsAgainstTheFirstAndMetricsAreServed) {
  Lab lab("127.64");
  Fleet fleet("diff", "127.64");
  fleet.WriteConfig("inventories:\n  lab: {targets: [127.64.0.0/20]}\n");
  ASSERT_NO_FATAL_FAILURE(fleet.StartCoordinator());
  fleet.StartWorker("w1");
  RunResult first = fleet.Ctl(
      {"scan", "start", "--inventory", "lab", "--profile", "lab", "--wait", "--output", "json"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  lab.listeners.pop_back();                           // 127.64.15.254:13306 closes
  auto extra = OpenPort::Start("127.64.4.4", 15432);  // a new exposure
  RunResult second = fleet.Ctl(
      {"scan", "start", "--inventory", "lab", "--profile", "lab", "--wait", "--output", "json"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const std::string id = JsonField(second.out, "id");
  RunResult diff = fleet.Ctl({"scan", "diff", id});
  ASSERT_EQ(diff.exit_code, 0) << diff.err;
  EXPECT_THAT(diff.out, HasSubstr("new        127.64.4.4:15432 tcp/15432")) << diff.out;
  EXPECT_THAT(diff.out, HasSubstr("closed     127.64.15.254:13306 tcp/13306"));
  EXPECT_THAT(diff.out, HasSubstr("1 new, 11 still open, 1 closed"));
  EXPECT_THAT(fleet.Log("coordinator"), HasSubstr("report=pending (no notifier configured)"));

  // Prometheus text on /metrics (gauges refresh every second).
  auto scrape = [&] {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(fleet.metrics_port()));
    addr.sin_addr.s_addr = htonl(0x7f000001);
    std::string body;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      const std::string req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
      if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
        char buf[4096];
        for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) {
          body.append(buf, static_cast<size_t>(n));
        }
      }
    }
    close(fd);
    return body;
  };
  std::string body;
  for (int i = 0; i < 50; ++i) {
    body = scrape();
    if (body.find("goalkeeper_scans{state=\"SUCCEEDED\"} 2") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_THAT(body, HasSubstr("goalkeeper_scans{state=\"SUCCEEDED\"} 2")) << body;
  EXPECT_THAT(body, HasSubstr("goalkeeper_workers_connected 1"));
  EXPECT_THAT(body, HasSubstr("goalkeeper_probes_done_total 32768"));
  EXPECT_THAT(body, HasSubstr("goalkeeper_shards{state=\"leased\"} 0"));
}

TEST(FleetTest, SmallScanFinishesWhileALargeRateCappedScanRuns) {
  Fleet fleet("fair", "127.66");
  fleet.WriteConfig();
  ASSERT_NO_FATAL_FAILURE(fleet.StartCoordinator());
  fleet.StartWorker("w1");
  fleet.StartWorker("w2");
  // 262,144 probes at 4000/s: over a minute.
  const std::string large = fleet.StartScan("127.66.0.0/16");
  ASSERT_TRUE(fleet.WaitFor(
      large,
      [](const std::string& j) {
        return JsonField(j, "state") == "RUNNING" && JsonField(j, "shards_leased") != "0";
      },
      30));
  const std::string small = fleet.StartScan("127.66.200.1");  // 4 probes
  ASSERT_TRUE(fleet.WaitFor(small, Done, 30)) << fleet.ScanJson(small);
  EXPECT_EQ(JsonField(fleet.ScanJson(small), "state"), "SUCCEEDED");
  EXPECT_EQ(JsonField(fleet.ScanJson(large), "state"), "RUNNING")
      << "the small scan did not wait for the large one";
  EXPECT_EQ(fleet.Ctl({"scan", "cancel", large}).exit_code, 0);
}

TEST(FleetTest, RefusesTargetsOutsideAllowedRanges) {
  Fleet fleet("allowed", "127.65");
  fleet.WriteConfig();
  ASSERT_NO_FATAL_FAILURE(fleet.StartCoordinator());
  RunResult r =
      fleet.Ctl({"scan", "start", "--targets", "127.64.255.0/24,127.65.0.0/24", "--ports", "22"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: targets: 127.64.255.0-127.64.255.255 is outside allowed_ranges\n");
  RunResult list = fleet.Ctl({"scan", "list", "--output", "json"});
  EXPECT_EQ(list.out, "{\"scans\":[]}\n");
}

TEST(FleetTest, BadConfigFileExitsTwoNamingTheLine) {
  Fleet fleet("badconfig", "127.66");
  {
    std::ofstream out(fleet.dir() + "/bad.yaml");
    out << "allowed_ranges: [127.66.0.0/16]\nprofiles:\n  lab: {ports: \"22\", timeout_ms: soon}\n";
  }
  RunResult r = ::goalkeeper::testing::Run({kCoordinator, "--config", fleet.dir() + "/bad.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("bad.yaml:3: profiles.lab.timeout_ms"));
  EXPECT_THAT(r.err, HasSubstr("'soon'"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// grpcurl over TLS as the admin (`args` after the TLS flags).
std::vector<std::string> Grpcurl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {GRPCURL_BIN};
  ::goalkeeper::testing::AddArgs(argv, TestCerts::Get().GrpcurlFlags("admin"));
  ::goalkeeper::testing::AddArgs(argv, args);
  return argv;
}

TEST(FleetTest, ServesHealthAndReflectionForGrpcurlAndKubernetesProbes) {
  Fleet fleet("health", "127.67");
  fleet.WriteConfig();
  ASSERT_NO_FATAL_FAILURE(fleet.StartCoordinator());
  RunResult list = ::goalkeeper::testing::Run(Grpcurl({fleet.address(), "list"}));
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("goalkeeper.v1.Coordinator\n"));
  EXPECT_THAT(list.out, HasSubstr("goalkeeper.v1.ShardService\n"));
  EXPECT_THAT(list.out, HasSubstr("grpc.health.v1.Health\n"));
  // The port is TLS only: a plaintext client gets nothing.
  RunResult plain = ::goalkeeper::testing::Run(
      {GRPCURL_BIN, "-plaintext", "-max-time", "10", fleet.address(), "list"});
  EXPECT_NE(plain.exit_code, 0) << plain.out;
  RunResult health =
      ::goalkeeper::testing::Run(Grpcurl({fleet.address(), "grpc.health.v1.Health/Check"}));
  ASSERT_EQ(health.exit_code, 0) << health.err;
  EXPECT_THAT(health.out, HasSubstr("\"status\": \"SERVING\""));
  // A bad request gets a gRPC status naming the bad value.
  RunResult bad = ::goalkeeper::testing::Run(
      Grpcurl({"-max-time", "30", "-d",
               "{\"targets\":{\"include\":[\"127.67.0.0/33\"]},\"ports\":{\"spec\":\"22\"}}",
               fleet.address(), "goalkeeper.v1.Coordinator/StartScan"}));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("InvalidArgument"));
  EXPECT_THAT(bad.err, HasSubstr("'127.67.0.0/33': prefix length /33 exceeds 32 bits"));
}

// The status grpcurl reads from a grpc.health.v1 Check of `service` at
// `address` ("SERVING", "NOT_SERVING", or "" when the call failed).
std::string GrpcurlHealth(const std::string& address, const std::string& service) {
  RunResult r = ::goalkeeper::testing::Run(
      {GRPCURL_BIN, "-plaintext", "-d", "{\"service\":\"" + service + "\"}", address,
       "grpc.health.v1.Health/Check"},
      std::chrono::seconds(30));
  if (r.exit_code != 0) return "";
  return JsonField(absl::StrReplaceAll(r.out, {{" ", ""}, {"\n", ""}}), "status");
}

// Polls GrpcurlHealth until it says `want`; the last answer otherwise.
std::string WaitForHealth(const std::string& address, const std::string& service,
                          const std::string& want, int seconds) {
  std::string got;
  for (int i = 0; i < seconds * 5; ++i) {
    got = GrpcurlHealth(address, service);
    if (got == want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return got;
}

// The worker's --health-listen for Kubernetes probes: readiness ("") only
// while registered with a reachable coordinator, liveness ("liveness")
// throughout, checked with grpcurl as a probe would.
TEST(FleetTest, WorkerHealthIsReadyOnlyWhileTheCoordinatorIsReachableAndLiveThroughout) {
  Fleet fleet("worker-health", "127.72");
  fleet.WriteConfig();
  ASSERT_NO_FATAL_FAILURE(fleet.StartCoordinator());
  fleet.KillCoordinator();  // its port is known: the worker starts with none there
  fleet.StartWorker("w1");
  std::string health;
  for (int i = 0; i < 200 && health.empty(); ++i) {
    const std::string log = fleet.Log("w1");
    const size_t at = log.find("worker health grpc=127.0.0.1:");
    if (at != std::string::npos)
      health = "127.0.0.1:" + std::to_string(std::stoi(log.substr(at + 29)));
    ASSERT_FALSE(fleet.worker("w1").Exited()) << fleet.Log("w1");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(health.empty()) << fleet.Log("w1");
  EXPECT_EQ(GrpcurlHealth(health, "liveness"), "SERVING");
  EXPECT_EQ(GrpcurlHealth(health, ""), "NOT_SERVING") << "not registered yet";

  ASSERT_NO_FATAL_FAILURE(fleet.StartCoordinator());
  EXPECT_EQ(WaitForHealth(health, "", "SERVING", 30), "SERVING") << fleet.Log("w1");
  EXPECT_EQ(GrpcurlHealth(health, "liveness"), "SERVING");

  fleet.KillCoordinator();
  EXPECT_EQ(WaitForHealth(health, "", "NOT_SERVING", 30), "NOT_SERVING") << fleet.Log("w1");
  EXPECT_EQ(GrpcurlHealth(health, "liveness"), "SERVING") << "a live worker is not restarted";

  ASSERT_NO_FATAL_FAILURE(fleet.StartCoordinator());
  EXPECT_EQ(WaitForHealth(health, "", "SERVING", 30), "SERVING") << fleet.Log("w1");

  fleet.worker("w1").Signal(SIGTERM);
  RunResult r = fleet.worker("w1").Wait(std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << fleet.Log("w1");
  EXPECT_EQ(GrpcurlHealth(health, "liveness"), "") << "the health server stopped with the worker";
}

// Listening sockets on every (address, port) of a block, served by one
// epoll thread that accepts, timestamps and closes: every probe of a scan
// of the block is a connect counted here.
class CountingListeners {
 public:
  CountingListeners(const std::vector<std::string>& ips, const std::vector<uint16_t>& ports) {
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    for (const std::string& ip : ips) {
      for (uint16_t port : ports) {
        int fd = ::goalkeeper::testing::BindTcp(ip, port);
        EXPECT_GE(fd, 0) << ip << ":" << port;
        if (fd < 0) continue;
        EXPECT_EQ(listen(fd, 64), 0);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = static_cast<uint32_t>(fds_.size());
        epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
        fds_.push_back(fd);
        accepts_.push_back(0);
      }
    }
    thread_ = std::thread([this] { Serve(); });
  }
  ~CountingListeners() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_) close(fd);
    close(epoll_);
  }
  // The most connects in any window of `window`.
  size_t MaxPerWindow(std::chrono::milliseconds window) {
    std::vector<std::chrono::steady_clock::time_point> t = Times();
    std::sort(t.begin(), t.end());
    size_t best = 0;
    for (size_t lo = 0, hi = 0; hi < t.size(); ++hi) {
      while (t[hi] - t[lo] >= window) ++lo;
      best = std::max(best, hi - lo + 1);
    }
    return best;
  }
  size_t total() { return Times().size(); }
  // Listeners connected more than `allowed` times (a slice probed twice).
  size_t repeated(int allowed = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<size_t>(
        std::count_if(accepts_.begin(), accepts_.end(), [allowed](int n) { return n > allowed; }));
  }

 private:
  std::vector<std::chrono::steady_clock::time_point> Times() {
    std::lock_guard<std::mutex> lock(mu_);
    return times_;
  }
  void Serve() {
    epoll_event events[64];
    while (!stop_) {
      int n = epoll_wait(epoll_, events, 64, 20);
      for (int i = 0; i < n; ++i) {
        const uint32_t at = events[i].data.u32;
        for (;;) {
          int c = accept4(fds_[at], nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          const auto now = std::chrono::steady_clock::now();
          close(c);
          std::lock_guard<std::mutex> lock(mu_);
          times_.push_back(now);
          ++accepts_[at];
        }
      }
    }
  }

  int epoll_ = -1;
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::chrono::steady_clock::time_point> times_;
  std::vector<int> accepts_;
  std::thread thread_;
};

// A profile's rate is a ceiling for the whole scan, across workers and
// their overlapping shards: two workers scanning a rate: 600 scan never
// make more than 600 connects in any second together (each used to pace
// each of its shards alone: 1.5x the rate was seen). A heartbeating
// worker's lease never expires and no slice runs twice. (600/s with 1 s
// shards: a capped scan takes at most rate x shard_seconds / 256 holders,
// so both workers share it.)
TEST(FleetRateTest, TwoWorkersStayUnderTheScansRateAndNoLeaseExpires) {
  std::vector<std::string> ips;
  for (int i = 1; i <= 300; ++i) ips.push_back(absl::StrCat("127.70.", i / 256, ".", i % 256));
  CountingListeners lab(ips, {21001, 21002, 21003, 21004, 21005, 21006, 21007, 21008});  // 2400
  Fleet fleet("rate", "127.70");
  fleet.WriteConfig("", "{ports: \"21001-21008\", timeout_ms: 300, retries: 0, rate: 600}");
  ASSERT_NO_FATAL_FAILURE(fleet.StartCoordinator());
  fleet.StartWorker("w1");
  fleet.StartWorker("w2");
  // Both workers registered before the scan, so both get shards of it.
  bool both = false;
  for (int i = 0; i < 200 && !both; ++i) {
    const std::string list = fleet.Ctl({"workers", "list"}).out;
    both = list.find(" w1 ") != std::string::npos && list.find(" w2 ") != std::string::npos;
    if (!both) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(both) << fleet.Ctl({"workers", "list"}).out;
  const auto start = std::chrono::steady_clock::now();
  const std::string id = fleet.StartScan("127.70.0.1-127.70.1.44");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(fleet.WaitFor(id, Done, 120)) << fleet.Log("coordinator");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  std::string status = fleet.ScanJson(id);
  EXPECT_EQ(JsonField(status, "state"), "SUCCEEDED") << status;
  EXPECT_EQ(JsonField(status, "probes_done"), "2400") << status;
  // Every pair is open and new: the main scan connects once, and the
  // confirmation before the report once more (issue 12), never a third time.
  EXPECT_EQ(lab.total(), 4800u);
  EXPECT_EQ(lab.repeated(2), 0u) << "a slice ran twice";
  EXPECT_EQ(JsonField(status, "confirmations"), "2400") << status;
  // 2400 connects at most 600/s take at least 4 s (a lower bound only).
  EXPECT_GE(elapsed, std::chrono::milliseconds(3990));
  // Any second holds at most 600 connects, +1 for the window's edge, and +30
  // (50 ms at 600/s) for accepts that a loaded machine let wait in the
  // listener's event loop and timestamped together. Per-shard pacing, the
  // bug this guards against, gave 900.
  EXPECT_LE(lab.MaxPerWindow(std::chrono::milliseconds(1000)), 631u);
  EXPECT_THAT(fleet.Log("coordinator"), ::testing::Not(HasSubstr("lease expired")));
  for (const char* w : {"w1", "w2"}) {
    EXPECT_THAT(fleet.Log(w), ::testing::Not(HasSubstr("lease lost"))) << w;
    EXPECT_THAT(fleet.Log(w), HasSubstr("shard done scan=" + id)) << w << " had no shard";
  }
}

TEST(FleetTest, WholeInternetAllowedRangesAreAWarningAtStart) {
  Fleet fleet("broad", "127.71");
  {
    std::ofstream out(fleet.dir() + "/coordinator.yaml");
    out << "db: " << fleet.dir() << "/coordinator.db\nmetrics_listen: 127.0.0.1:0\n"
        << "allowed_ranges: [0.0.0.0/0, '::/0', 127.71.0.0/16]\n"
        << CoordinatorTlsYaml();
  }
  ASSERT_NO_FATAL_FAILURE(fleet.StartCoordinator());
  const std::string log = fleet.Log("coordinator");
  EXPECT_THAT(log, HasSubstr(" W coordinator allowed_ranges: '0.0.0.0/0' allows every IPv4 "
                             "address: any host on the Internet may be scanned\n"));
  EXPECT_THAT(log, HasSubstr(" W coordinator allowed_ranges: '::/0' allows every IPv6 address"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("'127.71.0.0/16'")));
}

TEST(CtlTest, UnreachableCoordinatorIsOneLineAndExitOne) {
  // Port 1 on 127.0.0.1: nothing listens there.
  RunResult r = ::goalkeeper::testing::Run(
      WithTls({kCtl, "--coordinator", "127.0.0.1:1", "scan", "list"}, "admin"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::StartsWith("error: coordinator 127.0.0.1:1 is unreachable"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(CtlTest, BadFlagsExitTwo) {
  RunResult r = ::goalkeeper::testing::Run(
      WithTls({kCtl, "scan", "status", "x", "--output", "xml"}, "admin"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, ::testing::StartsWith("error: --output: 'xml' is not table or json\n"));
  r = ::goalkeeper::testing::Run(
      WithTls({kCtl, "scan", "start", "--targets", "127.0.0.1"}, "admin"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, ::testing::StartsWith("error: --ports is required with --targets"));
}

TEST(CtlTest, CoordinatorPortOutsideTheRangeIsUsageErrorNamingIt) {
  // gRPC would have dialled 82606 mod 65536 = 17070, and -1 as 65535.
  for (const char* address : {"127.0.0.1:82606", "127.0.0.1:-1", "127.0.0.1:0", "127.0.0.1"}) {
    RunResult r = ::goalkeeper::testing::Run(
        WithTls({kCtl, "--coordinator", address, "scan", "list"}, "admin"));
    EXPECT_EQ(r.exit_code, 2) << address;
    EXPECT_THAT(r.err,
                ::testing::StartsWith(absl::StrCat("error: --coordinator: '", address, "': ")))
        << r.err;
  }
  RunResult r = ::goalkeeper::testing::Run(
      WithTls({kCtl, "--coordinator=[::1]:70000", "scan", "list"}, "admin"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, ::testing::StartsWith(
                         "error: --coordinator: '[::1]:70000': port 70000 is outside 1-65535\n"));
}

TEST(FleetTest, CoordinatorAddressFlagsOutsideThePortRangeExitTwo) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--listen", "127.0.0.1:82606"},
        std::vector<std::string>{"--metrics-listen", "127.0.0.1:-1"},
        std::vector<std::string>{"--notifier", "127.0.0.1:0"}}) {
    std::vector<std::string> argv = WithTls({kCoordinator}, "coordinator");
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult r = ::goalkeeper::testing::Run(argv);
    EXPECT_EQ(r.exit_code, 2) << args[0];
    EXPECT_THAT(r.err,
                ::testing::StartsWith(absl::StrCat("error: ", args[0], ": '", args[1], "': port ")))
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
// Issue 12 (trust12), the real coordinator and two real workers: a canary
// nobody listens on (expected open) is missed, so the scan ends DEGRADED and
// goalkeeperctl says so (scan watch exits 3); a listener that answers the
// main scan once and is gone when the confirmation probes it again is a
// flap, not a confirmed new exposure.
TEST(FleetTrustTest, AMissedCanaryDegradesTheScanAndAFlappingListenerIsAFlap) {
  auto steady = OpenPort::Start("127.112.0.2", 22000);
  ASSERT_NE(steady, nullptr);
  // Answers one connect, then closes its listening socket (gone at confirmation).
  const int once_fd = ::goalkeeper::testing::BindTcp("127.112.0.3", 22000);
  ASSERT_GE(once_fd, 0);
  ASSERT_EQ(listen(once_fd, 16), 0);
  std::atomic<bool> answered{false};
  std::thread once([once_fd, &answered] {
    pollfd p{once_fd, POLLIN, 0};
    if (poll(&p, 1, 60000) == 1) {
      const int c = accept(once_fd, nullptr, nullptr);
      if (c >= 0) close(c);
      answered = true;
    }
    close(once_fd);
  });
  Fleet fleet("trust", "127.112");
  fleet.WriteConfig(
      "canaries:\n  - {address: 127.112.0.9, port: 22000, protocol: tcp, "
      "expect: open}\n",
      "{ports: \"22000\", timeout_ms: 300, retries: 0, rate: 0}");
  ASSERT_NO_FATAL_FAILURE(fleet.StartCoordinator());
  fleet.StartWorker("w1");
  fleet.StartWorker("w2");
  const std::string id = fleet.StartScan("127.112.0.1-127.112.0.16");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(fleet.WaitFor(id, Done, 60)) << fleet.Log("coordinator");
  once.join();
  EXPECT_TRUE(answered.load());
  const std::string status = fleet.ScanJson(id);
  EXPECT_EQ(JsonField(status, "state"), "DEGRADED") << status;
  EXPECT_EQ(JsonField(status, "flaps"), "1") << status;          // 127.112.0.3
  EXPECT_EQ(JsonField(status, "confirmations"), "1") << status;  // 127.112.0.2
  EXPECT_THAT(status, HasSubstr("\"missed\":true")) << status;
  const RunResult table = fleet.Ctl({"scan", "status", id});
  EXPECT_THAT(table.out,
              HasSubstr("missed canaries: 127.112.0.9:22000/tcp (expected OPEN, seen CLOSED)"))
      << table.out;
  EXPECT_THAT(table.out, HasSubstr("state:     DEGRADED"));
  EXPECT_EQ(fleet.Ctl({"scan", "watch", id}).exit_code, 3);
  // The operators' diff keeps the flap apart from the new exposures.
  const RunResult diff = fleet.Ctl({"scan", "diff", id});
  EXPECT_THAT(diff.out, HasSubstr("flap-new   127.112.0.3:22000")) << diff.out;
  EXPECT_THAT(diff.out, HasSubstr("new        127.112.0.2:22000")) << diff.out;
  EXPECT_THAT(diff.out, HasSubstr("1 new, 0 still open, 0 closed, 1 flapped")) << diff.out;
  EXPECT_THAT(fleet.Log("coordinator"), HasSubstr("scan confirming id=" + id));
  EXPECT_THAT(fleet.Log("coordinator"),
              HasSubstr("scan degraded id=" + id + " probes=16 open=1 new=1"));
}

// A coordinator killed -9 while a scan waits for its confirmation resumes
// the confirmation from the database: the report is not lost, and the
// change is confirmed once. w2 is killed before the scan: still registered
// and live for 3 x ttl (30 s), it is the worker the confirmation waits for
// (up to confirm_wait_seconds) instead of going to w1, which found the
// change, and it has no lease request in flight that could take it (a
// stopped process's would): the kill lands inside the confirmation however
// slow the machine. After the restart a new worker w3 confirms it.
TEST(FleetTrustTest, CoordinatorKilledDuringConfirmationResumesIt) {
  auto steady = OpenPort::Start("127.113.0.2", 22000);
  ASSERT_NE(steady, nullptr);
  Fleet fleet("trustkill", "127.113");
  fleet.SetLease("{ttl_seconds: 10, heartbeat_seconds: 1, shard_seconds: 1, "
                 "confirm_wait_seconds: 60}");
  fleet.WriteConfig("", "{ports: \"22000\", timeout_ms: 300, retries: 0, rate: 0}");
  ASSERT_NO_FATAL_FAILURE(fleet.StartCoordinator());
  fleet.StartWorker("w1");
  fleet.StartWorker("w2");
  bool both = false;
  for (int i = 0; i < 200 && !both; ++i) {
    const std::string list = fleet.Ctl({"workers", "list"}).out;
    both = list.find(" w1 ") != std::string::npos && list.find(" w2 ") != std::string::npos;
    if (!both) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(both) << fleet.Ctl({"workers", "list"}).out;
  fleet.worker("w2").Signal(SIGKILL);
  // Long enough for the coordinator to see w2's lease request cancelled.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::string id = fleet.StartScan("127.113.0.1-127.113.0.16");
  ASSERT_FALSE(id.empty());
  bool confirming = false;
  for (int i = 0; i < 6000 && !confirming; ++i) {
    confirming = fleet.Log("coordinator").find("scan confirming id=" + id) != std::string::npos;
    if (!confirming) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(confirming) << fleet.Log("coordinator");
  fleet.KillCoordinator();
  EXPECT_THAT(fleet.Log("coordinator"), ::testing::Not(HasSubstr("confirmation lease")))
      << "the confirmation ran before the kill: the test proves nothing";
  ASSERT_NO_FATAL_FAILURE(fleet.StartCoordinator());
  fleet.StartWorker("w3");
  ASSERT_TRUE(fleet.WaitFor(id, Done, 120)) << fleet.Log("coordinator");
  const std::string status = fleet.ScanJson(id);
  EXPECT_EQ(JsonField(status, "state"), "SUCCEEDED") << status;
  EXPECT_EQ(JsonField(status, "confirmations"), "1") << status;
  EXPECT_EQ(JsonField(status, "flaps"), "0") << status;
  EXPECT_THAT(fleet.Log("coordinator"), HasSubstr("confirmation lease scan=" + id));
  EXPECT_THAT(fleet.Log("coordinator"),
              HasSubstr("scan succeeded id=" + id + " probes=16 open=1 new=1"));
}

}  // namespace goalkeeper
