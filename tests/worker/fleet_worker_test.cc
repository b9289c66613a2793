// The fleet worker against an in-memory coordinator (FakeCoordinatorClient)
// and a fake clock for its heartbeats; probes go to real loopback sockets.
#include "worker/fleet_worker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_coordinator_client.h"
#include "tests/testing/loopback.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::goalkeeper::testing::ClosedPort;
using ::goalkeeper::testing::FakeCoordinatorClient;
using ::goalkeeper::testing::OpenPort;
using ::testing::UnorderedElementsAre;

v1::Shard MakeShard(const std::string& lease, const std::string& scan, const std::string& cidr,
                    uint16_t port, uint64_t probes, double rate, uint32_t timeout_ms = 300) {
  v1::Shard s;
  s.set_lease_id(lease);
  s.set_scan_id(scan);
  s.mutable_targets()->add_include(cidr);
  s.mutable_profile()->mutable_ports()->set_spec(std::to_string(port));
  s.mutable_profile()->set_timeout_ms(timeout_ms);
  s.mutable_profile()->set_retries(0);
  s.mutable_profile()->set_rate(rate);
  s.mutable_slice()->set_seed(1);
  s.mutable_slice()->set_begin(0);
  s.mutable_slice()->set_end(probes);
  return s;
}

std::vector<std::string> Leases(const v1::HeartbeatRequest& hb) {
  return {hb.lease_ids().begin(), hb.lease_ids().end()};
}

// Runs a FleetWorker on its own thread; stops and joins it at the end.
class WorkerRunner {
 public:
  WorkerRunner(FleetWorkerOptions options, std::unique_ptr<FakeCoordinatorClient> fake)
      : worker_(std::move(options), std::move(fake)),
        thread_([this] { status_ = worker_.Run(); }) {}
  ~WorkerRunner() { Stop().IgnoreError(); }
  absl::Status Stop() {
    worker_.Stop();
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  FleetWorker worker_;
  absl::Status status_;
  std::thread thread_;
};

class FleetWorkerTest : public ::testing::Test {
 protected:
  FleetWorkerOptions Options(uint64_t concurrency) {
    FleetWorkerOptions o;
    o.name = "test";
    o.concurrency = concurrency;
    o.threads = 2;
    o.batch_size = 4;
    o.max_rate = 0;
    o.clock = &clock_;
    return o;
  }

  // Moves the fake clock past the heartbeat interval and waits for the beat.
  // The clock is moved again while no beat comes: the heartbeat thread may
  // take its first reading of the clock only after an advance (a slow start,
  // as under ASan), and then waits for one more interval.
  v1::HeartbeatRequest NextHeartbeat(FakeCoordinatorClient& fake) {
    const size_t before = fake.heartbeats().size();
    auto beat = [&] { return fake.heartbeats().size() > before; };
    bool got = false;
    for (int i = 0; i < 100 && !got; ++i) {
      clock_.Advance(absl::Milliseconds(1001));
      got = FakeCoordinatorClient::Eventually(beat, absl::Milliseconds(300));
    }
    EXPECT_TRUE(got);
    std::vector<v1::HeartbeatRequest> all = fake.heartbeats();
    return all.empty() ? v1::HeartbeatRequest() : all.back();
  }

  FakeClock clock_{absl::FromUnixSeconds(1700000000)};
};

// A shard of another scan at another rate used to wait, outside the
// heartbeat set, until the engine had been restarted (the earlier shard
// finished), and its lease expired meanwhile. Now it is heartbeated at once
// and both shards run side by side.
TEST_F(FleetWorkerTest, ALeaseIsInTheNextHeartbeatWhileAnEarlierShardRunsAtAnotherRate) {
  ClosedPort closed("127.31.40.1");
  auto owned = std::make_unique<FakeCoordinatorClient>();
  FakeCoordinatorClient& fake = *owned;
  fake.AddShard(MakeShard("l-slow", "s-slow", "127.31.40.0/26", closed.port(), 64, 20));
  fake.AddShard(MakeShard("l-fast", "s-fast", "127.31.41.0/28", closed.port(), 16, 40));
  WorkerRunner worker(Options(/*concurrency=*/64), std::move(owned));
  ASSERT_TRUE(FakeCoordinatorClient::Eventually([&] { return fake.leased() == 2; }));
  absl::SleepFor(absl::Milliseconds(50));
  v1::HeartbeatRequest hb = NextHeartbeat(fake);
  EXPECT_THAT(Leases(hb), UnorderedElementsAre("l-slow", "l-fast"));
  EXPECT_EQ(hb.worker_token(), FakeCoordinatorClient::kToken);
  // The second shard is leased when the first has under a second of work
  // left at its pace; it (16 probes at 40/s) does not wait for the first.
  ASSERT_TRUE(FakeCoordinatorClient::Eventually([&] { return !fake.completed().empty(); }));
  EXPECT_EQ(fake.completed().front().lease_id(), "l-fast");
  EXPECT_EQ(fake.completed().front().probes_done(), 16u);
  EXPECT_FALSE(fake.completed().front().handed_back());
  ASSERT_TRUE(FakeCoordinatorClient::Eventually([&] { return fake.completed().size() == 2; }));
  EXPECT_EQ(fake.completed()[1].lease_id(), "l-slow");
  EXPECT_EQ(fake.completed()[1].probes_done(), 64u);
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(fake.bad_tokens(), 0);
}

// A shard whose probes need another engine (another deadline) waits for the
// current one to drain, but its lease is heartbeated while it waits.
TEST_F(FleetWorkerTest, ALeaseWaitingForAnotherEngineIsHeartbeated) {
  ClosedPort closed("127.31.42.1");
  auto owned = std::make_unique<FakeCoordinatorClient>();
  FakeCoordinatorClient& fake = *owned;
  fake.AddShard(MakeShard("l-first", "s-1", "127.31.42.0/26", closed.port(), 64, 20, 300));
  fake.AddShard(MakeShard("l-next", "s-2", "127.31.43.0/28", closed.port(), 16, 0, 200));
  WorkerRunner worker(Options(/*concurrency=*/64), std::move(owned));
  ASSERT_TRUE(FakeCoordinatorClient::Eventually([&] { return fake.leased() == 2; }));
  absl::SleepFor(absl::Milliseconds(50));
  v1::HeartbeatRequest hb = NextHeartbeat(fake);
  EXPECT_THAT(Leases(hb), UnorderedElementsAre("l-first", "l-next"));
  EXPECT_TRUE(fake.completed().empty()) << "the first shard still runs (64 probes at 20/s)";
  ASSERT_TRUE(FakeCoordinatorClient::Eventually([&] { return fake.completed().size() == 2; }));
  EXPECT_EQ(fake.completed()[0].lease_id(), "l-first");
  EXPECT_EQ(fake.completed()[1].lease_id(), "l-next");
  EXPECT_EQ(fake.completed()[1].probes_done(), 16u);
}

// scan_rates in a heartbeat answer apply at once to the running shard, and
// the next heartbeat reports the rate applied.
TEST_F(FleetWorkerTest, AScanRateFromAHeartbeatLowersThePaceAndIsReportedBack) {
  ClosedPort closed("127.31.44.1");
  auto owned = std::make_unique<FakeCoordinatorClient>();
  FakeCoordinatorClient& fake = *owned;
  fake.AddShard(MakeShard("l-1", "s-1", "127.31.44.0/22", closed.port(), 1024, 400));
  WorkerRunner worker(Options(/*concurrency=*/16), std::move(owned));
  ASSERT_TRUE(FakeCoordinatorClient::Eventually([&] { return fake.leased() == 1; }));
  v1::HeartbeatRequest first = NextHeartbeat(fake);
  ASSERT_EQ(first.applied_rates_size(), 1);
  EXPECT_EQ(first.applied_rates(0).scan_id(), "s-1");
  EXPECT_EQ(first.applied_rates(0).rate(), 400);
  fake.SetScanRate("s-1", 20);
  NextHeartbeat(fake);  // its answer carries the new rate
  const absl::Time lowered = absl::Now();
  uint64_t after = 0;
  v1::HeartbeatRequest hb;
  // Heartbeats every 100 ms of real time for a second; sum the probes done.
  while (absl::Now() - lowered < absl::Seconds(1)) {
    absl::SleepFor(absl::Milliseconds(100));
    hb = NextHeartbeat(fake);
    after += hb.probes_done();
  }
  ASSERT_EQ(hb.applied_rates_size(), 1);
  EXPECT_EQ(hb.applied_rates(0).rate(), 20);
  // At 400/s the ~1000 probes left would be done within the second (and
  // before the fix, scan_rates was ignored); at 20/s: 20, +1 for the edge,
  // plus what the 16 slots had been granted before.
  EXPECT_LE(after, 20u + 1 + 16 + 20);
  EXPECT_TRUE(fake.completed().empty());
}

// A lease the coordinator reports lost stops its own shard only.
TEST_F(FleetWorkerTest, ALostLeaseStopsOnlyItsShard) {
  ClosedPort closed("127.31.46.1");
  auto owned = std::make_unique<FakeCoordinatorClient>();
  FakeCoordinatorClient& fake = *owned;
  fake.AddShard(MakeShard("l-lost", "s-1", "127.31.46.0/24", closed.port(), 96, 50));
  fake.AddShard(MakeShard("l-kept", "s-1", "127.31.47.0/27", closed.port(), 32, 50));
  WorkerRunner worker(Options(/*concurrency=*/64), std::move(owned));
  ASSERT_TRUE(FakeCoordinatorClient::Eventually([&] { return fake.leased() == 2; }));
  fake.LoseLease("l-lost");
  NextHeartbeat(fake);
  NextHeartbeat(fake);  // while l-kept runs (32 probes at 50/s)
  ASSERT_TRUE(FakeCoordinatorClient::Eventually([&] { return !fake.completed().empty(); }));
  absl::SleepFor(absl::Milliseconds(300));
  std::vector<v1::CompleteShardRequest> done = fake.completed();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].lease_id(), "l-kept");
  EXPECT_EQ(done[0].probes_done(), 32u);
  EXPECT_FALSE(done[0].handed_back());
  // The lost lease was never heartbeated again after the answer that lost it.
  std::vector<v1::HeartbeatRequest> beats = fake.heartbeats();
  ASSERT_FALSE(beats.empty());
  for (size_t i = 1; i < beats.size(); ++i) {
    EXPECT_THAT(Leases(beats[i]), ::testing::Not(::testing::Contains("l-lost")));
  }
}

// Findings go out in acknowledged batches, every call carries the token,
// and the shard is completed only after its last batch.
TEST_F(FleetWorkerTest, CompletesAShardOnlyAfterItsFindingsWereAcknowledged) {
  std::vector<std::unique_ptr<OpenPort>> open;
  open.push_back(OpenPort::Start("127.31.48.1"));
  const uint16_t port = open[0]->port();
  for (int i = 2; i <= 9; ++i) {
    open.push_back(OpenPort::Start("127.31.48." + std::to_string(i), port));
  }
  auto owned = std::make_unique<FakeCoordinatorClient>();
  FakeCoordinatorClient& fake = *owned;
  fake.AddShard(MakeShard("l-1", "s-1", "127.31.48.0/28", port, 16, 0));
  WorkerRunner worker(Options(/*concurrency=*/8), std::move(owned));
  ASSERT_TRUE(FakeCoordinatorClient::Eventually([&] { return fake.completed().size() == 1; }));
  size_t findings = 0;
  for (const auto& r : fake.reports()) {
    EXPECT_LE(r.results_size(), 4);
    findings += static_cast<size_t>(r.results_size());
  }
  EXPECT_EQ(findings, 9u);
  std::vector<std::string> events = fake.events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "complete l-1");
  EXPECT_EQ(std::count(events.begin(), events.end(), "complete l-1"), 1);
  EXPECT_EQ(fake.completed()[0].worker_token(), FakeCoordinatorClient::kToken);
  EXPECT_EQ(fake.bad_tokens(), 0);
}

// A rate-bound scan is not hoarded: its slots idle because of its rate, so
// more of its shards would only be held, not scanned. (Each shard used to
// look like an engine about to run dry, and up to 16 were leased at once.)
TEST_F(FleetWorkerTest, LeasesNoMoreShardsOfARateBoundScanThanItsPaceNeeds) {
  ClosedPort closed("127.31.50.1");
  auto owned = std::make_unique<FakeCoordinatorClient>();
  FakeCoordinatorClient& fake = *owned;
  for (int i = 0; i < 5; ++i) {
    v1::Shard s =
        MakeShard("l-" + std::to_string(i), "s-1", "127.31.50.0/24", closed.port(), 256, 20);
    s.mutable_slice()->set_begin(static_cast<uint64_t>(i) * 50);
    s.mutable_slice()->set_end(static_cast<uint64_t>(i) * 50 + 50);
    fake.AddShard(s);
  }
  WorkerRunner worker(Options(/*concurrency=*/256), std::move(owned));
  ASSERT_TRUE(FakeCoordinatorClient::Eventually([&] { return fake.leased() >= 1; }));
  absl::SleepFor(absl::Milliseconds(500));  // 50 probes at 20/s: 2.5 s of work
  EXPECT_EQ(fake.leased(), 1);
}

// A coordinator that no longer knows the worker (restarted) gets it
// registered again with the same id and the token it was given.
TEST_F(FleetWorkerTest, RegistersAgainWithItsIdAndTokenWhenTheCoordinatorForgotIt) {
  ClosedPort closed("127.31.51.1");
  auto owned = std::make_unique<FakeCoordinatorClient>();
  FakeCoordinatorClient& fake = *owned;
  fake.FailNextLease(absl::NotFoundError("unknown worker"));
  fake.AddShard(MakeShard("l-1", "s-1", "127.31.51.0/28", closed.port(), 16, 0));
  WorkerRunner worker(Options(/*concurrency=*/16), std::move(owned));
  ASSERT_TRUE(FakeCoordinatorClient::Eventually([&] { return fake.completed().size() == 1; }));
  std::vector<v1::RegisterWorkerRequest> regs = fake.registrations();
  ASSERT_EQ(regs.size(), 2u);
  EXPECT_EQ(regs[0].worker_token(), "") << "a first registration has no token";
  EXPECT_EQ(regs[1].worker_id(), regs[0].worker_id());
  EXPECT_EQ(regs[1].worker_token(), FakeCoordinatorClient::kToken);
  EXPECT_EQ(fake.completed()[0].probes_done(), 16u);
}

// Stop hands back a shard in progress after flushing its findings.
TEST_F(FleetWorkerTest, StopHandsBackTheShardsInProgress) {
  ClosedPort closed("127.31.49.1");
  auto owned = std::make_unique<FakeCoordinatorClient>();
  FakeCoordinatorClient& fake = *owned;
  fake.AddShard(MakeShard("l-1", "s-1", "127.31.49.0/24", closed.port(), 256, 20));
  WorkerRunner worker(Options(/*concurrency=*/16), std::move(owned));
  ASSERT_TRUE(FakeCoordinatorClient::Eventually([&] { return fake.leased() == 1; }));
  EXPECT_TRUE(worker.Stop().ok());
  std::vector<v1::CompleteShardRequest> done = fake.completed();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].handed_back());
}

// Collects what FleetWorkerOptions::on_reachable was told, in order.
class Reachability {
 public:
  std::function<void(bool)> Listener() {
    return [this](bool reachable) {
      absl::MutexLock lock(&mu_);
      told_.push_back(reachable);
    };
  }
  std::vector<bool> told() const {
    absl::MutexLock lock(&mu_);
    return told_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<bool> told_ ABSL_GUARDED_BY(mu_);
};

// Readiness for the `run` command's health service: reachable once
// registered, unreachable when a call finds no coordinator, reachable again
// at the next success; only changes are told.
TEST_F(FleetWorkerTest, TellsReachableAtRegistrationUnreachableOnUnavailableAndBackAgain) {
  Reachability reachability;
  auto owned = std::make_unique<FakeCoordinatorClient>();
  FakeCoordinatorClient& fake = *owned;
  fake.FailNextLease(absl::UnavailableError("connection refused"));
  FleetWorkerOptions options = Options(/*concurrency=*/16);
  options.on_reachable = reachability.Listener();
  WorkerRunner worker(std::move(options), std::move(owned));
  ASSERT_TRUE(FakeCoordinatorClient::Eventually([&] {
    return reachability.told() == std::vector<bool>{true, false, true};
  })) << "told "
      << ::testing::PrintToString(reachability.told());
  EXPECT_EQ(fake.registrations().size(), 1u);
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(reachability.told(), (std::vector<bool>{true, false, true}));
}

// An answer that is an error (the coordinator forgot the worker) is no sign
// of an unreachable coordinator: the worker registers again and stays ready.
TEST_F(FleetWorkerTest, AnErrorAnswerFromTheCoordinatorKeepsTheWorkerReachable) {
  ClosedPort closed("127.31.52.1");
  Reachability reachability;
  auto owned = std::make_unique<FakeCoordinatorClient>();
  FakeCoordinatorClient& fake = *owned;
  fake.FailNextLease(absl::NotFoundError("unknown worker"));
  fake.AddShard(MakeShard("l-1", "s-1", "127.31.52.0/28", closed.port(), 16, 0));
  FleetWorkerOptions options = Options(/*concurrency=*/16);
  options.on_reachable = reachability.Listener();
  WorkerRunner worker(std::move(options), std::move(owned));
  ASSERT_TRUE(FakeCoordinatorClient::Eventually([&] { return fake.completed().size() == 1; }));
  EXPECT_EQ(fake.registrations().size(), 2u);
  EXPECT_TRUE(worker.Stop().ok());
  EXPECT_EQ(reachability.told(), std::vector<bool>{true});
}

// A Memcached UDP responder (memcached protocol.txt: an 8-byte frame header
// echoing the request id, then the "stats" answer) on ip:11211.
class MemcachedUdpResponder {
 public:
  explicit MemcachedUdpResponder(const std::string& ip) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(11211);
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << ip << ":11211";
    thread_ = std::thread([this] {
      char buf[2048];
      while (!stop_.load()) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        sockaddr_in from{};
        socklen_t len = sizeof(from);
        ssize_t n = recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 8) continue;
        std::string reply(buf, 2);                // the request id
        reply += std::string("\0\0\0\1\0\0", 6);  // frame 0 of 1, reserved 0
        reply += "STAT pid 7\r\nSTAT version 1.6.18\r\nSTAT uptime 99\r\nEND\r\n";
        sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    });
  }
  ~MemcachedUdpResponder() {
    stop_.store(true);
    thread_.join();
    close(fd_);
  }

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The shard's profile names UDP services: their pairs are part of the space
// (as the coordinator numbers it) and a UDP answer is reported with its
// transport, service and evidence.
TEST_F(FleetWorkerTest, ProfileUdpServicesAreProbedAndReportedWithEvidence) {
  MemcachedUdpResponder memcached("127.31.60.1");
  ClosedPort closed("127.31.60.1");
  auto owned = std::make_unique<FakeCoordinatorClient>();
  FakeCoordinatorClient& fake = *owned;
  v1::Shard shard = MakeShard("l-udp", "s-udp", "127.31.60.1", closed.port(), 2, 0);
  shard.mutable_profile()->set_probes(v1::PROBE_MODE_NONE);
  shard.mutable_profile()->add_udp_services("memcached");
  fake.AddShard(shard);
  WorkerRunner worker(Options(/*concurrency=*/4), std::move(owned));
  ASSERT_TRUE(FakeCoordinatorClient::Eventually([&] { return fake.completed().size() == 1; }));
  std::vector<v1::ProbeResult> results;
  for (const auto& r : fake.reports()) {
    for (const auto& m : r.results()) results.push_back(m);
  }
  ASSERT_EQ(results.size(), 1u);  // the closed TCP port is not a finding
  const v1::ProbeResult& m = results[0];
  EXPECT_EQ(m.ip(), "127.31.60.1");
  EXPECT_EQ(m.port(), 11211u);
  EXPECT_EQ(m.transport(), v1::TRANSPORT_UDP);
  EXPECT_EQ(m.state(), v1::PROBE_STATE_OPEN);
  EXPECT_TRUE(m.verified());
  EXPECT_EQ(m.service(), "Memcached");
  EXPECT_EQ(m.evidence().version(), "1.6.18");
  EXPECT_GT(m.evidence().amplification(), 1.0);
  EXPECT_EQ(m.evidence().request_bytes(), 15u);  // 8-byte header + "stats\r\n"
}

}  // namespace
}  // namespace goalkeeper
