// The engine against real sockets on loopback (127.0.0.0/8, ::1), and, when
// the test runs as root, inside a network namespace it creates itself.
#include "engine/scan_engine.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/ip_address.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/loopback.h"

namespace goalkeeper {
namespace {

using ::goalkeeper::testing::ClosedPort;
using ::goalkeeper::testing::FilteredPort;
using ::goalkeeper::testing::OpenPort;
using ::testing::UnorderedElementsAreArray;

class CollectingSink : public ResultSink {
 public:
  void OnResult(const ProbeResult& r) override {
    absl::MutexLock lock(&mu_);
    results_.push_back(r);
  }
  std::vector<ProbeResult> results() const {
    absl::MutexLock lock(&mu_);
    return results_;
  }
  // "ip:port" -> state name.
  std::map<std::string, std::string> States() const {
    std::map<std::string, std::string> out;
    for (const ProbeResult& r : results()) {
      out[r.address.ToString() + ":" + std::to_string(r.port)] =
          std::string(ProbeStateName(r.state));
    }
    return out;
  }
  std::set<std::string> WithState(ProbeState s) const {
    std::set<std::string> out;
    for (const ProbeResult& r : results()) {
      if (r.state == s) out.insert(r.address.ToString() + ":" + std::to_string(r.port));
    }
    return out;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<ProbeResult> results_ ABSL_GUARDED_BY(mu_);
};

ProbeSpace MakeSpace(const std::vector<std::string>& targets, const std::string& ports,
                     uint64_t seed = 7) {
  auto t = TargetSet::Parse(targets, {});
  EXPECT_TRUE(t.ok()) << t.status();
  auto p = PortSet::Parse(ports);
  EXPECT_TRUE(p.ok()) << p.status();
  auto s = ProbeSpace::Create(*t, *p, seed);
  EXPECT_TRUE(s.ok()) << s.status();
  return *std::move(s);
}

EngineOptions FastOptions() {
  EngineOptions o;
  o.concurrency = 256;
  o.timeout = std::chrono::milliseconds(300);
  o.retries = 1;
  o.threads = 2;
  return o;
}

TEST(ScanEngineTest, FindsExactlyTheOpenPortsAndReportsEveryPairOnce) {
  // Listeners on a few addresses of 127.31.0.0/26; everything else is closed.
  std::vector<std::unique_ptr<OpenPort>> open;
  std::vector<std::unique_ptr<ClosedPort>> closed;
  std::set<std::string> expected_open;
  std::set<uint16_t> ports;
  for (int host : {1, 17, 42, 63}) {
    auto l = OpenPort::Start("127.31.0." + std::to_string(host));
    expected_open.insert(l->ip() + ":" + std::to_string(l->port()));
    ports.insert(l->port());
    open.push_back(std::move(l));
  }
  closed.push_back(std::make_unique<ClosedPort>("127.31.0.2"));
  ports.insert(closed.back()->port());
  std::string port_spec;
  for (uint16_t p : ports) {
    // Appended piecewise: GCC 12's -O3 reports a false -Wrestrict for
    // `s += (cond ? "" : ",") + std::to_string(p)`.
    if (!port_spec.empty()) port_spec += ',';
    port_spec += std::to_string(p);
  }

  ProbeSpace space = MakeSpace({"127.31.0.0/26"}, port_spec);
  CollectingSink sink;
  ScanEngine engine(FastOptions());
  ASSERT_TRUE(engine.Run(space, 0, space.size(), sink).ok());

  EXPECT_EQ(sink.results().size(), space.size());
  EXPECT_EQ(sink.States().size(), space.size()) << "a pair was reported twice";
  EXPECT_EQ(sink.WithState(ProbeState::kOpen), expected_open);
  EXPECT_EQ(sink.WithState(ProbeState::kClosed).size(), space.size() - expected_open.size());
  EXPECT_EQ(engine.counters().done.load(), space.size());
  EXPECT_EQ(engine.counters().open.load(), expected_open.size());
  for (const ProbeResult& r : sink.results()) {
    if (r.state == ProbeState::kOpen) {
      EXPECT_GT(r.rtt_us, 0u);
    }
  }
}

TEST(ScanEngineTest, AcceptedConnectionsAreResetNotLeftInTimeWait) {
  auto l = OpenPort::Start("127.31.1.1");
  ProbeSpace space = MakeSpace({"127.31.1.1"}, std::to_string(l->port()));
  CollectingSink sink;
  ScanEngine engine(FastOptions());
  ASSERT_TRUE(engine.Run(space, 0, space.size(), sink).ok());
  ASSERT_EQ(sink.WithState(ProbeState::kOpen).size(), 1u);
  // The engine closed with SO_LINGER 0: an RST, so no TIME_WAIT entry for
  // this 4-tuple on the scanner side. /proc/net/tcp lists TIME_WAIT as 06.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  FILE* f = std::fopen("/proc/net/tcp", "r");
  ASSERT_NE(f, nullptr);
  char line[512];
  char want[32];
  std::snprintf(want, sizeof(want), "01011F7F:%04X", l->port());  // 127.31.1.1
  int time_wait = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    std::string s(line);
    if (s.find(want) != std::string::npos && s.find(" 06 ") != std::string::npos) ++time_wait;
  }
  std::fclose(f);
  EXPECT_EQ(time_wait, 0);
}

TEST(ScanEngineTest, ProbesIPv6Loopback) {
  auto l = OpenPort::Start("::1");
  ClosedPort c("::1");
  ProbeSpace space = MakeSpace({"::1"}, std::to_string(l->port()) + "," + std::to_string(c.port()));
  CollectingSink sink;
  ScanEngine engine(FastOptions());
  ASSERT_TRUE(engine.Run(space, 0, space.size(), sink).ok());
  auto states = sink.States();
  EXPECT_EQ(states["::1:" + std::to_string(l->port())], "open");
  EXPECT_EQ(states["::1:" + std::to_string(c.port())], "closed");
}

TEST(ScanEngineTest, MarksFilteredWhenDeadlinePassesAfterEveryRetry) {
  FilteredPort filtered("127.31.2.1");
  ProbeSpace space = MakeSpace({"127.31.2.1"}, std::to_string(filtered.port()));
  EngineOptions o = FastOptions();
  o.timeout = std::chrono::milliseconds(150);
  o.retries = 2;
  CollectingSink sink;
  ScanEngine engine(o);
  ASSERT_TRUE(engine.Run(space, 0, space.size(), sink).ok());
  ASSERT_EQ(sink.results().size(), 1u);
  EXPECT_EQ(sink.results()[0].state, ProbeState::kFiltered);
  EXPECT_EQ(engine.counters().attempts.load(), 3u) << "one try plus two retries";
}

TEST(ScanEngineTest, SlicesOfThePermutationPartitionTheScan) {
  ProbeSpace space = MakeSpace({"127.31.3.0/27"}, "1-5", /*seed=*/99);
  ASSERT_EQ(space.size(), 160u);
  std::multiset<uint64_t> indices;
  std::set<std::string> pairs;
  const uint64_t cuts[] = {0, 1, 37, 38, 100, 160};
  for (size_t i = 0; i + 1 < std::size(cuts); ++i) {
    CollectingSink sink;
    ScanEngine engine(FastOptions());
    ASSERT_TRUE(engine.Run(space, cuts[i], cuts[i + 1], sink).ok());
    for (const ProbeResult& r : sink.results()) {
      EXPECT_GE(r.index, cuts[i]);
      EXPECT_LT(r.index, cuts[i + 1]);
      indices.insert(r.index);
      pairs.insert(r.address.ToString() + ":" + std::to_string(r.port));
      ProbeTarget t = space.At(r.index);
      EXPECT_EQ(t.address, r.address);
      EXPECT_EQ(t.port, r.port);
    }
  }
  EXPECT_EQ(indices.size(), 160u);
  EXPECT_EQ(std::set<uint64_t>(indices.begin(), indices.end()).size(), 160u);
  EXPECT_EQ(pairs.size(), 160u);
}

TEST(ScanEngineTest, RejectsASliceOutsideTheSpace) {
  ProbeSpace space = MakeSpace({"127.31.4.1"}, "80");
  CollectingSink sink;
  ScanEngine engine(FastOptions());
  EXPECT_EQ(engine.Run(space, 0, 2, sink).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine.Run(space, 1, 0, sink).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ScanEngineTest, RateCapSpacesProbesOut) {
  // 60 closed probes at 200/s cannot finish before ~0.3 s; without a cap
  // they finish in a few milliseconds. (A lower bound: it cannot flake on a
  // slow machine.)
  ClosedPort c("127.31.5.1");
  ProbeSpace space = MakeSpace({"127.31.5.0/26"}, std::to_string(c.port()));
  ASSERT_EQ(space.size(), 64u);
  EngineOptions o = FastOptions();
  o.rate = 200;
  CollectingSink sink;
  ScanEngine engine(o);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(engine.Run(space, 0, space.size(), sink).ok());
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(sink.results().size(), 64u);
  EXPECT_GE(elapsed, std::chrono::milliseconds(300));
}

TEST(ScanEngineTest, CancelStopsTakingNewProbes) {
  ProbeSpace space = MakeSpace({"127.31.6.0/24"}, "1-40");
  EngineOptions o = FastOptions();
  o.concurrency = 4;
  o.rate = 2000;
  ScanEngine engine(o);
  struct CancellingSink : ResultSink {
    ScanEngine* engine = nullptr;
    std::atomic<int> n{0};
    void OnResult(const ProbeResult&) override {
      if (++n == 20) engine->Cancel();
    }
  } sink;
  sink.engine = &engine;
  ASSERT_TRUE(engine.Run(space, 0, space.size(), sink).ok());
  EXPECT_GE(sink.n.load(), 20);
  EXPECT_LT(static_cast<uint64_t>(sink.n.load()), space.size());
  EXPECT_TRUE(engine.cancelled());
}

std::shared_ptr<const ProbeSpace> SharedSpace(const std::vector<std::string>& targets,
                                              const std::string& ports, uint64_t seed = 7) {
  return std::make_shared<const ProbeSpace>(MakeSpace(targets, ports, seed));
}

TEST(ScanEngineStreamTest, SlicesOfDifferentSpacesEachGetExactlyTheirOwnResults) {
  auto open_a = OpenPort::Start("127.31.8.1");
  auto open_b = OpenPort::Start("127.31.9.1");
  auto a = SharedSpace({"127.31.8.0/28"}, std::to_string(open_a->port()) + ",1-3");
  auto b = SharedSpace({"127.31.9.0/29"}, std::to_string(open_b->port()) + ",1-5", 11);
  ScanEngine engine(FastOptions());
  ASSERT_TRUE(engine.Start().ok());
  CollectingSink sink_a1, sink_a2, sink_b;
  auto a1 = std::make_shared<ScanSlice>(a, 0, 30, sink_a1);
  auto a2 = std::make_shared<ScanSlice>(a, 30, a->size(), sink_a2);
  auto bs = std::make_shared<ScanSlice>(b, 0, b->size(), sink_b);
  engine.Submit(a1);
  ASSERT_TRUE(a1->WaitDoneFor(absl::Seconds(30)));
  // The engine idles between slices and picks the next ones up.
  engine.Submit(a2);
  engine.Submit(bs);
  engine.CloseInput();
  ASSERT_TRUE(engine.Wait().ok());
  ASSERT_TRUE(a2->done() && bs->done());
  EXPECT_EQ(a1->reported(), 30u);
  EXPECT_EQ(a2->reported(), a->size() - 30);
  EXPECT_EQ(bs->reported(), b->size());
  std::set<uint64_t> seen_a;
  for (const ProbeResult& r : sink_a1.results()) {
    EXPECT_LT(r.index, 30u);
    seen_a.insert(r.index);
  }
  for (const ProbeResult& r : sink_a2.results()) {
    EXPECT_GE(r.index, 30u);
    seen_a.insert(r.index);
  }
  EXPECT_EQ(seen_a.size(), a->size());
  EXPECT_EQ(sink_a1.results().size() + sink_a2.results().size(), a->size()) << "no duplicates";
  std::set<std::string> open_in_a = sink_a1.WithState(ProbeState::kOpen);
  for (const std::string& x : sink_a2.WithState(ProbeState::kOpen)) open_in_a.insert(x);
  EXPECT_EQ(open_in_a, std::set<std::string>{"127.31.8.1:" + std::to_string(open_a->port())});
  EXPECT_EQ(sink_b.WithState(ProbeState::kOpen),
            std::set<std::string>{"127.31.9.1:" + std::to_string(open_b->port())});
  EXPECT_EQ(sink_b.results().size(), b->size());
  EXPECT_EQ(a1->open() + a2->open(), 1u);
}

TEST(ScanEngineStreamTest, TheNextSliceRunsWhileThePreviousWaitsForItsDeadlines) {
  // Slice 1 is one filtered port (it ends only after 2 x 400 ms of silence);
  // slice 2, submitted right after, is all closed ports and must end first.
  FilteredPort filtered("127.31.10.1");
  ClosedPort closed("127.31.11.1");
  auto slow = SharedSpace({"127.31.10.1"}, std::to_string(filtered.port()));
  auto fast = SharedSpace({"127.31.11.1"}, std::to_string(closed.port()));
  EngineOptions o = FastOptions();
  o.timeout = std::chrono::milliseconds(400);
  ScanEngine engine(o);
  ASSERT_TRUE(engine.Start().ok());
  CollectingSink sink_slow, sink_fast;
  auto s1 = std::make_shared<ScanSlice>(slow, 0, 1, sink_slow);
  auto s2 = std::make_shared<ScanSlice>(fast, 0, 1, sink_fast);
  engine.Submit(s1);
  engine.Submit(s2);
  ASSERT_TRUE(s2->WaitDoneFor(absl::Seconds(30)));
  EXPECT_FALSE(s1->done()) << "the filtered probe still waits for its deadline";
  engine.CloseInput();
  ASSERT_TRUE(engine.Wait().ok());
  EXPECT_EQ(sink_slow.WithState(ProbeState::kFiltered).size(), 1u);
  EXPECT_EQ(sink_fast.WithState(ProbeState::kClosed).size(), 1u);
}

TEST(ScanEngineStreamTest, CancellingOneSliceLeavesTheOthersWhole) {
  auto space = SharedSpace({"127.31.12.0/24"}, "1-20");
  EngineOptions o = FastOptions();
  o.concurrency = 8;
  o.rate = 4000;
  ScanEngine engine(o);
  ASSERT_TRUE(engine.Start().ok());
  struct CancelAt : ResultSink {
    std::shared_ptr<ScanSlice> slice;
    std::atomic<uint64_t> n{0};
    void OnResult(const ProbeResult&) override {
      if (++n == 50) slice->Cancel();
    }
  } cancelling;
  CollectingSink whole;
  auto first = std::make_shared<ScanSlice>(space, 0, 2000, cancelling);
  cancelling.slice = first;
  auto second = std::make_shared<ScanSlice>(space, 2000, 2400, whole);
  engine.Submit(first);
  engine.Submit(second);
  engine.CloseInput();
  ASSERT_TRUE(engine.Wait().ok());
  ASSERT_TRUE(first->done());
  EXPECT_TRUE(first->cancelled());
  EXPECT_GE(first->reported(), 50u);
  EXPECT_LT(first->reported(), 2000u);
  EXPECT_EQ(first->reported(), cancelling.n.load()) << "reported() counts what the sink got";
  EXPECT_EQ(second->reported(), 400u);
  EXPECT_EQ(whole.results().size(), 400u);
}

TEST(ScanEngineStreamTest, StoppedEngineCancelsWhatIsLeftAndRefusesNewSlices) {
  auto space = SharedSpace({"127.31.13.0/24"}, "1-20");
  EngineOptions o = FastOptions();
  o.concurrency = 4;
  o.rate = 1000;
  ScanEngine engine(o);
  ASSERT_TRUE(engine.Start().ok());
  CollectingSink sink1, sink2, sink3;
  auto s1 = std::make_shared<ScanSlice>(space, 0, 2000, sink1);
  auto s2 = std::make_shared<ScanSlice>(space, 2000, 4000, sink2);
  engine.Submit(s1);
  engine.Submit(s2);
  while (s1->reported() < 10) absl::SleepFor(absl::Milliseconds(5));
  engine.Cancel();
  ASSERT_TRUE(engine.Wait().ok());
  EXPECT_TRUE(s1->done());
  EXPECT_TRUE(s2->done());
  EXPECT_LT(s1->reported(), 2000u);
  EXPECT_EQ(s1->reported(), sink1.results().size());
  EXPECT_EQ(s2->reported(), sink2.results().size());
  EXPECT_EQ(engine.remaining(), 0u);
  auto late = std::make_shared<ScanSlice>(space, 4000, 4010, sink3);
  engine.Submit(late);
  EXPECT_TRUE(late->done());
  EXPECT_TRUE(late->cancelled());
  EXPECT_EQ(late->reported(), 0u);
}

TEST(ScanEngineTest, ConcurrencyFitsTheDescriptorBudget) {
  uint64_t limit = 0;
  uint64_t fitted = FitConcurrencyToFdBudget(10'000'000, 128, &limit);
  ASSERT_GT(limit, 128u);
  EXPECT_EQ(fitted, limit - 128);
  EXPECT_EQ(FitConcurrencyToFdBudget(100, 128, nullptr), 100u);
  rlimit lim{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
  EXPECT_EQ(lim.rlim_cur, lim.rlim_max) << "the soft limit is raised to the hard limit";
}

int CountOpenFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n - 3;  // ".", ".." and the DIR's own descriptor
}

// Runs `body` in a child process inside a fresh network namespace with lo
// up; returns the child's exit code (0 = its expectations held). The child
// prints what went wrong to stderr.
int InFreshNetns(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    if (unshare(CLONE_NEWNET) != 0) _exit(90);
    if (std::system("ip link set lo up") != 0) _exit(91);
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(ScanEngineNetnsTest, DroppedRangeIsFilteredRejectedIsUnreachableAndInFlightIsBounded) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root to create a network namespace and iptables rules; the "
                    "accept-queue test above covers 'filtered' without root";
  }
  int rc = InFreshNetns([]() -> int {
    // 127.66.0.0/24: SYNs dropped (filtered). 127.66.1.0/24: answered
    // (closed, one open). 127.66.2.0/24: rejected with host-unreachable.
    if (std::system("iptables -A INPUT -d 127.66.0.0/24 -p tcp --syn -j DROP") != 0 ||
        std::system("iptables -A OUTPUT -d 127.66.2.0/24 -p tcp -j REJECT "
                    "--reject-with icmp-host-unreachable") != 0) {
      std::fprintf(stderr, "iptables failed\n");
      return 92;
    }
    auto open = OpenPort::Start("127.66.1.9", 8080);
    ProbeSpace space = MakeSpace({"127.66.0.0/23", "127.66.2.0/28"}, "8080,5432");
    EngineOptions o = FastOptions();
    o.concurrency = 16;
    o.timeout = std::chrono::milliseconds(100);
    o.retries = 1;
    CollectingSink sink;
    ScanEngine engine(o);
    const int base_fds = CountOpenFds();
    std::atomic<bool> done{false};
    std::atomic<int> max_fds{0};
    std::thread watcher([&] {
      while (!done.load()) {
        int n = CountOpenFds();
        if (n > max_fds.load()) max_fds.store(n);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
    absl::Status s = engine.Run(space, 0, space.size(), sink);
    done.store(true);
    watcher.join();
    if (!s.ok()) return 93;
    int failures = 0;
    for (const ProbeResult& r : sink.results()) {
      uint32_t v = static_cast<uint32_t>(r.address.value);
      uint32_t third = (v >> 8) & 0xff;
      ProbeState want = third == 0                          ? ProbeState::kFiltered
                        : third == 2                        ? ProbeState::kUnreachable
                        : (v & 0xff) == 9 && r.port == 8080 ? ProbeState::kOpen
                                                            : ProbeState::kClosed;
      if (r.state != want) {
        if (++failures < 5) {
          std::fprintf(stderr, "%s:%u is %s, want %s\n", r.address.ToString().c_str(), r.port,
                       std::string(ProbeStateName(r.state)).c_str(),
                       std::string(ProbeStateName(want)).c_str());
        }
      }
    }
    if (sink.results().size() != space.size()) {
      std::fprintf(stderr, "%zu results for %lu probes\n", sink.results().size(),
                   static_cast<unsigned long>(space.size()));
      return 94;
    }
    // Descriptors in use never exceed the concurrency plus, per thread, the
    // io_context's epoll, timerfd and eventfd and the connect epoll set, plus
    // the watcher's own DIR.
    if (max_fds.load() - base_fds > 16 + 2 * 4 + 1) {
      std::fprintf(stderr, "fds peaked at %d over a base of %d\n", max_fds.load(), base_fds);
      return 95;
    }
    return failures == 0 ? 0 : 96;
  });
  EXPECT_EQ(rc, 0) << "see the child's stderr above";
}

}  // namespace
}  // namespace goalkeeper

namespace goalkeeper {
namespace {

// Records when each result arrived: against a closed loopback port the RST
// comes back at once, so these are the connect times.
class TimingSink : public ResultSink {
 public:
  void OnResult(const ProbeResult&) override {
    const auto now = std::chrono::steady_clock::now();
    absl::MutexLock lock(&mu_);
    times_.push_back(now);
  }
  std::vector<std::chrono::steady_clock::time_point> times() const {
    absl::MutexLock lock(&mu_);
    return times_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::chrono::steady_clock::time_point> times_ ABSL_GUARDED_BY(mu_);
};

// The most results that fall in any window of `window` (a sliding window
// anchored at each result).
size_t MaxPerWindow(std::vector<std::chrono::steady_clock::time_point> times,
                    std::chrono::milliseconds window) {
  std::sort(times.begin(), times.end());
  size_t best = 0;
  size_t lo = 0;
  for (size_t hi = 0; hi < times.size(); ++hi) {
    while (times[hi] - times[lo] >= window) ++lo;
    best = std::max(best, hi - lo + 1);
  }
  return best;
}

// A result is timestamped when the event loop hands it over, not when its
// connect started: on a loaded machine a thread that was not scheduled for a
// while delivers several at once. Window bounds allow this much of that
// delay (a pacer that bursts, e.g. two slices paced alone, gives 2x).
constexpr double kTimestampJitterSeconds = 0.025;

// The most starts a pacer of `rate` allows in any window of `window`, plus
// the results a delayed event loop may bunch into it, plus the window's edge.
size_t PacedCeiling(double rate, std::chrono::milliseconds window) {
  return static_cast<size_t>(
             rate * (std::chrono::duration<double>(window).count() + kTimestampJitterSeconds)) +
         1;
}

std::shared_ptr<const ProbeSpace> PacedSpace(const std::string& cidr, uint16_t port) {
  return std::make_shared<const ProbeSpace>(MakeSpace({cidr}, std::to_string(port)));
}

// Two slices of one scan in one engine share the scan's pacer: together they
// stay under its rate (each used to be paced alone, so two overlapping
// shards ran at twice the scan's rate).
TEST(ScanEnginePacingTest, SlicesOfOneScanShareItsRate) {
  ClosedPort c("127.31.20.1");
  auto space = PacedSpace("127.31.20.0/23", c.port());  // 512 probes
  EngineOptions o = FastOptions();
  o.concurrency = 64;
  ScanEngine engine(o);
  ASSERT_TRUE(engine.Start().ok());
  auto scan = std::make_shared<Pacer>(400);
  TimingSink sink;
  auto a = std::make_shared<ScanSlice>(space, 0, 256, sink, scan);
  auto b = std::make_shared<ScanSlice>(space, 256, 512, sink, scan);
  const auto start = std::chrono::steady_clock::now();
  engine.Submit(a);
  engine.Submit(b);
  engine.CloseInput();
  ASSERT_TRUE(engine.Wait().ok());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(a->reported() + b->reported(), 512u);
  // 512 starts 1/400 s apart take at least 511/400 s.
  EXPECT_GE(elapsed, std::chrono::milliseconds(1270));
  // Any quarter second holds at most 100 starts (111 with the jitter allowance).
  EXPECT_LE(MaxPerWindow(sink.times(), std::chrono::milliseconds(250)),
            PacedCeiling(400, std::chrono::milliseconds(250)));
}

// The node's pacer caps the sum over every scan: two scans without caps of
// their own (or with caps above the node's) share it.
TEST(ScanEnginePacingTest, TheNodePacerCapsEveryScanTogether) {
  ClosedPort c("127.31.22.1");
  auto one = PacedSpace("127.31.22.0/24", c.port());
  auto two = PacedSpace("127.31.23.0/24", c.port());
  EngineOptions o = FastOptions();
  o.concurrency = 64;
  o.pacer = std::make_shared<Pacer>(400);
  ScanEngine engine(o);
  ASSERT_TRUE(engine.Start().ok());
  TimingSink sink;
  auto a = std::make_shared<ScanSlice>(one, 0, 256, sink, std::make_shared<Pacer>(0));
  auto b = std::make_shared<ScanSlice>(two, 0, 256, sink, std::make_shared<Pacer>(5000));
  const auto start = std::chrono::steady_clock::now();
  engine.Submit(a);
  engine.Submit(b);
  engine.CloseInput();
  ASSERT_TRUE(engine.Wait().ok());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(a->reported() + b->reported(), 512u);
  EXPECT_GE(elapsed, std::chrono::milliseconds(1270));
  EXPECT_LE(MaxPerWindow(sink.times(), std::chrono::milliseconds(250)),
            PacedCeiling(400, std::chrono::milliseconds(250)));
}

// Fails fast with the engine's state instead of hanging until ctest's
// timeout: this test hung once (under ASan on a loaded machine) and printed
// nothing; next time it says where it was.
class Watchdog {
 public:
  Watchdog(absl::Duration limit, std::function<std::string()> dump)
      : thread_([this, limit, dump = std::move(dump)] {
          if (!disarmed_.WaitForNotificationWithTimeout(limit)) {
            std::fprintf(stderr, "watchdog: no progress after %s: %s\n",
                         absl::FormatDuration(limit).c_str(), dump().c_str());
            std::fflush(stderr);
            std::abort();
          }
        }) {}
  ~Watchdog() {
    disarmed_.Notify();
    thread_.join();
  }

 private:
  absl::Notification disarmed_;
  std::thread thread_;
};

// A lower rate applies at once to the running slices, without restarting
// the engine.
TEST(ScanEnginePacingTest, ALowerRateAppliesToRunningSlicesAtOnce) {
  ClosedPort c("127.31.24.1");
  auto space = PacedSpace("127.31.24.0/24", c.port());
  EngineOptions o = FastOptions();
  o.concurrency = 16;
  ScanEngine engine(o);
  ASSERT_TRUE(engine.Start().ok());
  auto scan = std::make_shared<Pacer>(2000);
  TimingSink sink;
  auto slice = std::make_shared<ScanSlice>(space, 0, 256, sink, scan);
  std::atomic<const char*> phase{"waiting for the first 20 results"};
  Watchdog dog(absl::Seconds(90), [&] {
    return absl::StrCat(phase.load(), "; slice reported ", slice->reported(), " remaining ",
                        slice->remaining(), " done ", slice->done(), " cancelled ",
                        slice->cancelled(), "; engine remaining ", engine.remaining(),
                        " probes done ", engine.counters().done.load(), " in flight ",
                        engine.counters().in_flight.load(), " cancelled ", engine.cancelled());
  });
  engine.Submit(slice);
  while (slice->reported() < 20) absl::SleepFor(absl::Milliseconds(1));
  phase = "pacing at the lower rate";
  scan->SetRate(50);
  const auto lowered = std::chrono::steady_clock::now();
  absl::SleepFor(absl::Milliseconds(1000));
  size_t after = 0;
  for (auto t : sink.times()) after += t > lowered ? 1 : 0;
  // Before: the whole slice would be done (256 at 2000/s is 0.13 s). After:
  // 50/s for a second, +1 for the edge, plus what the engine's 16 slots had
  // already been granted at the old rate.
  EXPECT_LE(after, 50u + 1 + 16);
  phase = "in engine.Wait() after Cancel and CloseInput";
  slice->Cancel();
  engine.CloseInput();
  ASSERT_TRUE(engine.Wait().ok());
}

}  // namespace
}  // namespace goalkeeper

namespace goalkeeper {
namespace {

// A slow capped slice takes only the few slots its rate needs: another
// slice queued behind it runs meanwhile instead of waiting for every slot
// to work through the capped one's turns (64 slots at 5/s is 13 s).
TEST(ScanEnginePacingTest, ACappedSliceDoesNotHoldEverySlot) {
  ClosedPort c("127.31.26.1");
  auto slow_space = PacedSpace("127.31.26.0/24", c.port());
  auto fast_space = PacedSpace("127.31.27.0/26", c.port());
  EngineOptions o = FastOptions();
  o.concurrency = 64;
  ScanEngine engine(o);
  ASSERT_TRUE(engine.Start().ok());
  TimingSink slow_sink, fast_sink;
  auto slow =
      std::make_shared<ScanSlice>(slow_space, 0, 256, slow_sink, std::make_shared<Pacer>(5));
  auto fast = std::make_shared<ScanSlice>(fast_space, 0, 64, fast_sink);
  engine.Submit(slow);
  engine.Submit(fast);
  ASSERT_TRUE(fast->WaitDoneFor(absl::Seconds(60)));
  EXPECT_EQ(fast->reported(), 64u);
  EXPECT_LT(slow->reported(), 64u) << "the fast slice did not wait for the slow one's slots";
  // The capped slice's probes are not all taken by waiting slots.
  EXPECT_GT(engine.remaining(), 128u);
  slow->Cancel();
  engine.CloseInput();
  ASSERT_TRUE(engine.Wait().ok());
}

// ---- Protocol probes (test-only probes injected through ProbeCatalog) ----

// A two-step line protocol: "PING" -> "+PONG", then "VERSION" -> "+V x".
class TestRedisSession : public probes::TcpSession {
 public:
  std::string Start() override { return "PING\r\n"; }
  probes::TcpStep OnData(absl::string_view data, bool eof, probes::Evidence* ev) override {
    buf_.append(data.data(), std::min(data.size(), probes::kMaxResponse - buf_.size()));
    const size_t nl = buf_.find("\r\n");
    if (nl == std::string::npos) {
      if (eof) return Done(ev, false);
      return {probes::TcpStep::Kind::kMore, ""};
    }
    const std::string line = buf_.substr(0, nl);
    buf_.erase(0, nl + 2);
    if (!pinged_ && line == "+PONG") {
      pinged_ = true;
      return {probes::TcpStep::Kind::kMore, "VERSION\r\n"};
    }
    if (pinged_ && line.rfind("+V ", 0) == 0) {
      ev->version = probes::Sanitise(line.substr(3), probes::kMaxVersion);
      return Done(ev, true);
    }
    ev->banner = probes::Sanitise(line, probes::kMaxBanner);
    return Done(ev, false);
  }

 private:
  static probes::TcpStep Done(probes::Evidence* ev, bool verified) {
    ev->verified = verified;
    if (verified) ev->service = "TestRedis";
    return {probes::TcpStep::Kind::kDone, ""};
  }
  std::string buf_;
  bool pinged_ = false;
};

class TestRedisProbe : public probes::TcpProbe {
 public:
  absl::string_view name() const override { return "redis-test"; }
  absl::string_view service() const override { return "TestRedis"; }
  std::unique_ptr<probes::TcpSession> Open() const override {
    return std::make_unique<TestRedisSession>();
  }
};

// Server-first: verified when the first line starts with "TESTBANNER".
class TestBannerSession : public probes::TcpSession {
 public:
  std::string Start() override { return ""; }
  probes::TcpStep OnData(absl::string_view data, bool eof, probes::Evidence* ev) override {
    buf_.append(data.data(), std::min(data.size(), probes::kMaxResponse - buf_.size()));
    if (buf_.find('\n') == std::string::npos && !eof) return {probes::TcpStep::Kind::kMore, ""};
    ev->verified = buf_.rfind("TESTBANNER", 0) == 0;
    if (ev->verified) ev->service = "Banner";
    return {probes::TcpStep::Kind::kDone, ""};
  }

 private:
  std::string buf_;
};

class TestBannerProbe : public probes::TcpProbe {
 public:
  absl::string_view name() const override { return "banner-test"; }
  absl::string_view service() const override { return "Banner"; }
  std::unique_ptr<probes::TcpSession> Open() const override {
    return std::make_unique<TestBannerSession>();
  }
};

// UDP: request "Q" + txid (2 bytes); an answer "A" + the same txid matches.
// The second probe of a port: "R" + txid, answered by "B" + txid.
class TestUdpProbe : public probes::UdpProbe {
 public:
  explicit TestUdpProbe(bool second = false) : second_(second) {}
  absl::string_view name() const override { return second_ ? "udp-test-b" : "udp-test"; }
  absl::string_view service() const override { return "TestUDP"; }
  uint16_t port() const override { return 9; }
  std::string Request(uint16_t txid, const probes::UdpProbeOptions&) const override {
    return std::string{second_ ? 'R' : 'Q', static_cast<char>(txid >> 8),
                       static_cast<char>(txid & 0xff)};
  }
  probes::UdpMatch Parse(absl::string_view d, uint16_t txid, probes::Evidence* ev) const override {
    if (d.size() < 3 || d[0] != (second_ ? 'B' : 'A') ||
        static_cast<uint8_t>(d[1]) != (txid >> 8) ||
        static_cast<uint8_t>(d[2]) != (txid & 0xff)) {
      return probes::UdpMatch::kNotOurs;
    }
    probes::AddFact(*ev, "answer", "yes");
    return probes::UdpMatch::kDone;
  }

 private:
  bool second_;
};

class TestCatalog : public ProbeCatalog {
 public:
  // `port_probe`: the catalogue probe of `port`.
  TestCatalog(uint16_t port, const probes::TcpProbe* port_probe)
      : port_(port), port_probe_(port_probe) {
    order_.push_back(&banner);
    order_.push_back(&redis);
  }
  const probes::TcpProbe* TcpForPort(uint16_t port) const override {
    return port == port_ ? port_probe_ : nullptr;
  }
  std::span<const probes::TcpProbe* const> Identification() const override { return order_; }
  void SetIdentification(std::vector<const probes::TcpProbe*> order) { order_ = std::move(order); }
  std::span<const probes::UdpProbe* const> UdpForPort(uint16_t) const override {
    return std::span<const probes::UdpProbe* const>(udp_, two_udp_probes_ ? 2 : 1);
  }
  // Every UDP port gets the two probes "udp-test", then "udp-test-b".
  void UseTwoUdpProbes() { two_udp_probes_ = true; }

  static const TestRedisProbe redis;
  static const TestBannerProbe banner;

 private:
  uint16_t port_;
  const probes::TcpProbe* port_probe_;
  std::vector<const probes::TcpProbe*> order_;
  TestUdpProbe udp_a_;
  TestUdpProbe udp_b_{/*second=*/true};
  const probes::UdpProbe* const udp_[2] = {&udp_a_, &udp_b_};
  bool two_udp_probes_ = false;
};
const TestRedisProbe TestCatalog::redis;
const TestBannerProbe TestCatalog::banner;

// Reads what comes until the peer closes (or `stop`); false on EOF.
bool ReadLine(int fd, const std::atomic<bool>& stop, std::string* line) {
  line->clear();
  char c;
  while (!stop.load()) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    if (recv(fd, &c, 1, 0) != 1) return false;
    if (c == '\n') return true;
    if (c != '\r') line->push_back(c);
  }
  return false;
}

void HoldUntilClosed(int fd, const std::atomic<bool>& stop) {
  char buf[4096];
  while (!stop.load()) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    if (recv(fd, buf, sizeof(buf), 0) <= 0) return;
  }
}

void SendString(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// A TCP listener on ip:port running `serve` on each connection in turn.
class ProtocolListener {
 public:
  using Serve = std::function<void(int fd, const std::atomic<bool>& stop)>;
  ProtocolListener(const std::string& ip, uint16_t port, Serve serve)
      : fd_(testing::BindTcp(ip, port)) {
    EXPECT_GE(fd_, 0) << ip << ":" << port;
    EXPECT_EQ(listen(fd_, 64), 0);
    port_ = testing::LocalPort(fd_);
    thread_ = std::thread([this, serve = std::move(serve)] {
      while (!stop_.load()) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) continue;
        ++accepted_;
        serve(c, stop_);
        close(c);
      }
    });
  }
  ~ProtocolListener() {
    stop_.store(true);
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  int fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

void ServeTestRedis(int fd, const std::atomic<bool>& stop) {
  std::string line;
  if (!ReadLine(fd, stop, &line) || line != "PING") return;
  SendString(fd, "+PONG\r\n");
  if (!ReadLine(fd, stop, &line) || line != "VERSION") return;
  SendString(fd, "+V 1.2.3\r\n");
  HoldUntilClosed(fd, stop);
}

std::vector<ProbeResult> ProbeOne(const std::string& ip, uint16_t port, ProbeOptions probes,
                                  EngineOptions options = FastOptions()) {
  ProbeSpace space = MakeSpace({ip}, std::to_string(port));
  CollectingSink sink;
  EXPECT_TRUE(ScanEngine(options).Run(space, 0, space.size(), sink, probes).ok());
  return sink.results();
}

ProbeOptions TestProbes(const TestCatalog& catalog, ProbeMode mode) {
  ProbeOptions o;
  o.mode = mode;
  o.timeout = std::chrono::milliseconds(250);
  o.catalog = &catalog;
  return o;
}

TEST(ScanEngineProbeTest, AnsweringListenerGivesVerifiedEvidence) {
  ProtocolListener server("127.32.0.1", 0, ServeTestRedis);
  TestCatalog catalog(server.port(), &TestCatalog::redis);
  auto results = ProbeOne("127.32.0.1", server.port(), TestProbes(catalog, ProbeMode::kVerify));
  ASSERT_EQ(results.size(), 1u);
  const ProbeResult& r = results[0];
  EXPECT_EQ(r.state, ProbeState::kOpen);
  EXPECT_EQ(r.transport, probes::Transport::kTcp);
  EXPECT_EQ(r.probe, "redis-test");
  ASSERT_NE(r.evidence, nullptr);
  EXPECT_TRUE(r.evidence->verified);
  EXPECT_EQ(r.evidence->service, "TestRedis");
  EXPECT_EQ(r.evidence->version, "1.2.3");
  EXPECT_EQ(r.evidence->request_bytes, 6u + 9u);  // PING\r\n VERSION\r\n
  EXPECT_EQ(r.evidence->response_bytes, 7u + 10u);
  EXPECT_EQ(server.accepted(), 1);  // verified at once: no identification connection
}

TEST(ScanEngineProbeTest, ProbesNoneLeavesNoEvidence) {
  ProtocolListener server("127.32.0.2", 0, ServeTestRedis);
  TestCatalog catalog(server.port(), &TestCatalog::redis);
  auto results = ProbeOne("127.32.0.2", server.port(), TestProbes(catalog, ProbeMode::kNone));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].state, ProbeState::kOpen);
  EXPECT_EQ(results[0].evidence, nullptr);
  EXPECT_EQ(results[0].probe, "");
}

struct BadServer {
  const char* name;
  ProtocolListener::Serve serve;
};

TEST(ScanEngineProbeTest, GarbageSilenceClosesAndOversizeGiveOpenUnverifiedWithoutHanging) {
  const std::vector<BadServer> servers = {
      {"garbage",
       [](int fd, const std::atomic<bool>& stop) {
         SendString(fd, "xyzzy \x01\x02 garbage\r\n");
         HoldUntilClosed(fd, stop);
       }},
      {"silent", [](int fd, const std::atomic<bool>& stop) { HoldUntilClosed(fd, stop); }},
      {"closes", [](int, const std::atomic<bool>&) {}},
      {"oversize",
       [](int fd, const std::atomic<bool>& stop) {
         SendString(fd, std::string(probes::kMaxResponse + 4096, 'a'));
         HoldUntilClosed(fd, stop);
       }},
  };
  for (const BadServer& b : servers) {
    SCOPED_TRACE(b.name);
    ProtocolListener server("127.32.0.3", 0, b.serve);
    TestCatalog catalog(server.port(), &TestCatalog::redis);
    auto results = ProbeOne("127.32.0.3", server.port(), TestProbes(catalog, ProbeMode::kVerify));
    ASSERT_EQ(results.size(), 1u);
    const ProbeResult& r = results[0];
    EXPECT_EQ(r.state, ProbeState::kOpen);
    EXPECT_EQ(r.probe, "redis-test");  // the port's probe: nothing verified
    ASSERT_NE(r.evidence, nullptr);
    EXPECT_FALSE(r.evidence->verified);
    EXPECT_LE(r.evidence->response_bytes, probes::kMaxResponse);
    // The port's probe, then identification by the one other probe; but a
    // port silent through the port's probe is not asked by the server-first
    // banner probe (it had the whole timeout to greet).
    EXPECT_EQ(server.accepted(), std::string(b.name) == "silent" ? 1 : 2);
  }
}

// A port that accepts and never speaks costs at most two probe timeouts, not
// one per identification probe.
TEST(ScanEngineProbeTest, ASilentPortIsGivenUpAfterTwoSilentConversations) {
  ProtocolListener server("127.32.0.5", 0,
                          [](int fd, const std::atomic<bool>& stop) { HoldUntilClosed(fd, stop); });
  TestCatalog catalog(server.port(), &TestCatalog::redis);
  const TestRedisProbe second, third;
  catalog.SetIdentification({&TestCatalog::banner, &TestCatalog::redis, &second, &third});
  EngineOptions options = FastOptions();
  auto counters = std::make_shared<ScanCounters>();
  options.counters = counters;
  auto results =
      ProbeOne("127.32.0.5", server.port(), TestProbes(catalog, ProbeMode::kVerify), options);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].state, ProbeState::kOpen);
  ASSERT_NE(results[0].evidence, nullptr);
  EXPECT_FALSE(results[0].evidence->verified);
  // The port's probe (silent), banner skipped, `second` (silent): the end.
  EXPECT_EQ(counters->tcp_probes.load(), 2u);
  EXPECT_EQ(server.accepted(), 2);

  // A server that answers garbage is not silent: every probe is tried.
  ProtocolListener talker("127.32.0.6", 0, [](int fd, const std::atomic<bool>& stop) {
    SendString(fd, "xyzzy\r\n");
    HoldUntilClosed(fd, stop);
  });
  TestCatalog catalog2(talker.port(), &TestCatalog::redis);
  catalog2.SetIdentification({&TestCatalog::banner, &TestCatalog::redis, &second, &third});
  auto counters2 = std::make_shared<ScanCounters>();
  options.counters = counters2;
  results =
      ProbeOne("127.32.0.6", talker.port(), TestProbes(catalog2, ProbeMode::kVerify), options);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(counters2->tcp_probes.load(), 4u);  // redis, banner, second, third

  // `all` identifies on (only the server-first banner is skipped).
  auto counters3 = std::make_shared<ScanCounters>();
  options.counters = counters3;
  results = ProbeOne("127.32.0.5", server.port(), TestProbes(catalog, ProbeMode::kAll), options);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(counters3->tcp_probes.load(), 3u);  // redis, second, third
}

TEST(ScanEngineProbeTest, IdentificationNamesTheServiceOnAnUnusualPort) {
  ProtocolListener server("127.32.0.4", 7777, ServeTestRedis);
  TestCatalog catalog(6379, &TestCatalog::redis);  // 7777 has no probe of its own
  auto all = ProbeOne("127.32.0.4", 7777, TestProbes(catalog, ProbeMode::kAll));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].state, ProbeState::kOpen);
  EXPECT_EQ(all[0].probe, "redis-test");
  ASSERT_NE(all[0].evidence, nullptr);
  EXPECT_TRUE(all[0].evidence->verified);
  EXPECT_EQ(all[0].evidence->service, "TestRedis");
  // The banner probe (first in the order) waited for its deadline on one
  // connection; the redis probe verified on the next.
  EXPECT_EQ(server.accepted(), 2);

  // verify only probes ports with a probe of their own.
  auto verify = ProbeOne("127.32.0.4", 7777, TestProbes(catalog, ProbeMode::kVerify));
  ASSERT_EQ(verify.size(), 1u);
  EXPECT_EQ(verify[0].state, ProbeState::kOpen);
  EXPECT_EQ(verify[0].evidence, nullptr);
}

// A UDP socket on ip:0 answering each request by `reply` (nullopt: silence).
class UdpResponder {
 public:
  using Reply = std::function<std::vector<std::string>(const std::string& request)>;
  UdpResponder(const std::string& ip, Reply reply) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, reply = std::move(reply)] {
      char buf[2048];
      while (!stop_.load()) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        sockaddr_in from{};
        socklen_t from_len = sizeof(from);
        ssize_t n =
            recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
        if (n <= 0) continue;
        ++requests_;
        for (const std::string& d : reply(std::string(buf, static_cast<size_t>(n)))) {
          sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
        }
      }
    });
  }
  ~UdpResponder() {
    stop_.store(true);
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  int requests() const { return requests_.load(); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

std::vector<ProbeResult> ProbeUdp(const std::string& ip, uint16_t port, ScanCounters* counters,
                                  bool two_probes = false) {
  auto t = TargetSet::Parse({ip}, {});
  ClosedPort tcp(ip);  // the space needs a TCP port too
  auto p = PortSet::Parse(std::to_string(tcp.port()));
  auto space = ProbeSpace::Create(*t, *p, 3, {port});
  EXPECT_TRUE(space.ok()) << space.status();
  TestCatalog catalog(0, nullptr);
  if (two_probes) catalog.UseTwoUdpProbes();
  CollectingSink sink;
  EngineOptions o = FastOptions();
  auto shared = std::make_shared<ScanCounters>();
  o.counters = shared;
  EXPECT_TRUE(ScanEngine(o)
                  .Run(*space, 0, space->size(), sink, TestProbes(catalog, ProbeMode::kNone))
                  .ok());
  if (counters != nullptr) {
    counters->udp_unmatched.store(shared->udp_unmatched.load());
    counters->attempts.store(shared->attempts.load());
  }
  std::vector<ProbeResult> udp;
  for (const ProbeResult& r : sink.results()) {
    if (r.transport == probes::Transport::kUdp) udp.push_back(r);
  }
  return udp;
}

TEST(ScanEngineUdpTest, AnsweringResponderIsOpenWithAmplification) {
  UdpResponder responder("127.32.1.1", [](const std::string& req) {
    std::vector<std::string> out;
    if (req.size() != 3 || req[0] != 'Q') return out;
    out.push_back("noise");                                                   // not ours: ignored
    out.push_back(std::string("A") + req.substr(1) + std::string(297, 'x'));  // 300 bytes
    return out;
  });
  ScanCounters c;
  auto results = ProbeUdp("127.32.1.1", responder.port(), &c);
  ASSERT_EQ(results.size(), 1u);
  const ProbeResult& r = results[0];
  EXPECT_EQ(r.state, ProbeState::kOpen);
  EXPECT_EQ(r.port, responder.port());
  EXPECT_EQ(r.probe, "udp-test");
  ASSERT_NE(r.evidence, nullptr);
  EXPECT_TRUE(r.evidence->verified);
  EXPECT_EQ(r.evidence->service, "TestUDP");
  EXPECT_EQ(r.evidence->request_bytes, 3u);
  EXPECT_EQ(r.evidence->response_bytes, 300u);
  EXPECT_DOUBLE_EQ(r.evidence->amplification, 100.0);
  EXPECT_EQ(r.evidence->facts, std::vector<std::string>{"answer=yes"});
  EXPECT_GE(c.udp_unmatched.load(), 1u);
}

TEST(ScanEngineUdpTest, RefusedPortIsClosed) {
  uint16_t port;
  {
    UdpResponder gone("127.32.1.2", [](const std::string&) { return std::vector<std::string>{}; });
    port = gone.port();
  }  // closed: the kernel answers ICMP port unreachable
  auto results = ProbeUdp("127.32.1.2", port, nullptr);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].state, ProbeState::kClosed);
  EXPECT_EQ(results[0].evidence, nullptr);
}

TEST(ScanEngineUdpTest, SilentPortIsFilteredAfterTheRetries) {
  UdpResponder silent("127.32.1.3", [](const std::string&) { return std::vector<std::string>{}; });
  ScanCounters c;
  auto results = ProbeUdp("127.32.1.3", silent.port(), &c);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].state, ProbeState::kFiltered);
  EXPECT_EQ(results[0].evidence, nullptr);
  EXPECT_EQ(silent.requests(), 2);  // the attempt and its one retry
}

TEST(ScanEngineUdpTest, AnAnswerWithTheWrongTransactionIdDoesNotMatch) {
  UdpResponder liar("127.32.1.4", [](const std::string& req) {
    std::vector<std::string> out;
    if (req.size() != 3) return out;
    std::string wrong = "A" + req.substr(1);
    wrong[2] = static_cast<char>(wrong[2] ^ 0x5a);
    out.push_back(wrong);
    return out;
  });
  ScanCounters c;
  auto results = ProbeUdp("127.32.1.4", liar.port(), &c);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].state, ProbeState::kFiltered);
  EXPECT_EQ(c.udp_unmatched.load(), 2u);  // one per attempt
}

// NTP's case: a server that ignores the port's first probe (monlist) but
// answers the next (a time request) is open, with that probe's evidence and
// its own request's size in the amplification.
TEST(ScanEngineUdpTest, APortsNextProbeIsAskedWhenTheFirstGoesUnanswered) {
  UdpResponder second_only("127.32.1.5", [](const std::string& req) {
    std::vector<std::string> out;
    if (req.size() == 3 && req[0] == 'R') out.push_back("B" + req.substr(1) + "xxx");
    return out;
  });
  auto results = ProbeUdp("127.32.1.5", second_only.port(), nullptr, /*two_probes=*/true);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].state, ProbeState::kOpen);
  EXPECT_EQ(results[0].probe, "udp-test-b");
  ASSERT_NE(results[0].evidence, nullptr);
  EXPECT_EQ(results[0].evidence->request_bytes, 3u);
  EXPECT_EQ(results[0].evidence->response_bytes, 6u);
  EXPECT_DOUBLE_EQ(results[0].evidence->amplification, 2.0);
  EXPECT_EQ(second_only.requests(), 2);  // "Q" unanswered, then "R"
}

TEST(ScanEngineUdpTest, AnAnsweredFirstProbeEndsThePairAndASilentOneAsksEachProbe) {
  UdpResponder first("127.32.1.6", [](const std::string& req) {
    std::vector<std::string> out;
    if (req.size() == 3) out.push_back(std::string(req[0] == 'Q' ? "A" : "B") + req.substr(1));
    return out;
  });
  auto results = ProbeUdp("127.32.1.6", first.port(), nullptr, /*two_probes=*/true);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].probe, "udp-test");
  EXPECT_EQ(first.requests(), 1);

  // One retry, two probes: two attempts, one of each.
  std::atomic<int> second_probe_requests{0};
  UdpResponder silent("127.32.1.7", [&second_probe_requests](const std::string& req) {
    if (!req.empty() && req[0] == 'R') ++second_probe_requests;
    return std::vector<std::string>{};
  });
  results = ProbeUdp("127.32.1.7", silent.port(), nullptr, /*two_probes=*/true);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].state, ProbeState::kFiltered);
  EXPECT_EQ(silent.requests(), 2);
  EXPECT_EQ(second_probe_requests.load(), 1);
}

}  // namespace
// A confirmation shard (issue 12): a slice over listed indices of a space
// probes exactly those, each once, and nothing else of the space.
TEST(ScanEngineStreamTest, ASliceOfListedIndicesProbesExactlyThoseIndices) {
  auto open = OpenPort::Start("127.31.47.3");
  auto space = SharedSpace({"127.31.47.0/28"}, std::to_string(open->port()) + ",1-3");
  std::optional<uint64_t> open_index =
      space->IndexOf({*IpAddress::Parse("127.31.47.3"), open->port()});
  std::optional<uint64_t> closed_index = space->IndexOf({*IpAddress::Parse("127.31.47.5"), 2});
  ASSERT_TRUE(open_index && closed_index);
  ScanEngine engine(FastOptions());
  ASSERT_TRUE(engine.Start().ok());
  CollectingSink sink;
  auto slice =
      std::make_shared<ScanSlice>(space,
                                  std::vector<uint64_t>{std::min(*open_index, *closed_index),
                                                        std::max(*open_index, *closed_index)},
                                  sink);
  EXPECT_EQ(slice->size(), 2u);
  engine.Submit(slice);
  engine.CloseInput();
  ASSERT_TRUE(engine.Wait().ok());
  ASSERT_TRUE(slice->done());
  EXPECT_EQ(slice->reported(), 2u);
  std::set<uint64_t> indices;
  for (const ProbeResult& r : sink.results()) indices.insert(r.index);
  EXPECT_EQ(indices, (std::set<uint64_t>{*open_index, *closed_index}));
  EXPECT_EQ(sink.WithState(ProbeState::kOpen),
            std::set<std::string>{"127.31.47.3:" + std::to_string(open->port())});
}

}  // namespace goalkeeper
