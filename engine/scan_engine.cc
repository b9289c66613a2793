#include "engine/scan_engine.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace goalkeeper {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kMaxLocalErrors = 1000;

tcp::endpoint MakeEndpoint(const ProbeTarget& t) {
  if (t.address.family == Family::kIPv4) {
    return {asio::ip::address_v4(static_cast<uint32_t>(t.address.value)), t.port};
  }
  asio::ip::address_v6::bytes_type bytes;
  uint64_t hi = absl::Uint128High64(t.address.value);
  uint64_t lo = absl::Uint128Low64(t.address.value);
  for (int i = 7; i >= 0; --i, hi >>= 8) bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(hi);
  for (int i = 15; i >= 8; --i, lo >>= 8) bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(lo);
  return {asio::ip::address_v6(bytes), t.port};
}

uint32_t Micros(Clock::duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return us < 0 ? 0 : static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX));
}

enum class ErrorKind { kClosed, kUnreachable, kLocal, kNoAnswer };

ErrorKind Classify(const boost::system::error_code& ec) {
  if (ec.category() != boost::system::system_category()) return ErrorKind::kUnreachable;
  switch (ec.value()) {
    case ECONNREFUSED:
      return ErrorKind::kClosed;
    case ETIMEDOUT:
      return ErrorKind::kNoAnswer;
    case EADDRNOTAVAIL:  // ephemeral ports exhausted for now
    case EAGAIN:
    case ENOBUFS:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case EINTR:
      return ErrorKind::kLocal;
    default:  // ENETUNREACH, EHOSTUNREACH, EACCES, EPERM, ENETDOWN, ...
      return ErrorKind::kUnreachable;
  }
}

class RegistryCatalog : public ProbeCatalog {
 public:
  const probes::TcpProbe* TcpForPort(uint16_t port) const override {
    return probes::TcpProbeForPort(port);
  }
  std::span<const probes::TcpProbe* const> Identification() const override {
    return probes::IdentificationOrder();
  }
  std::span<const probes::UdpProbe* const> UdpForPort(uint16_t port) const override {
    return probes::UdpProbesForPort(port);
  }
};

bool SendAll(int fd, absl::string_view data, uint32_t* sent) {
  ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n > 0) *sent += static_cast<uint32_t>(n);
  return n >= 0 && static_cast<size_t>(n) == data.size();
}

}  // namespace

const ProbeCatalog& RegistryProbeCatalog() {
  static const RegistryCatalog* const catalog = new RegistryCatalog();
  return *catalog;
}

absl::string_view ProbeModeName(ProbeMode m) {
  switch (m) {
    case ProbeMode::kNone:
      return "none";
    case ProbeMode::kVerify:
      return "verify";
    case ProbeMode::kAll:
      return "all";
  }
  return "unknown";
}

absl::string_view ProbeStateName(ProbeState s) {
  switch (s) {
    case ProbeState::kOpen:
      return "open";
    case ProbeState::kClosed:
      return "closed";
    case ProbeState::kFiltered:
      return "filtered";
    case ProbeState::kUnreachable:
      return "unreachable";
  }
  return "unknown";
}

ScanSlice::ScanSlice(std::shared_ptr<const ProbeSpace> space, uint64_t begin, uint64_t end,
                     ResultSink& sink, std::shared_ptr<Pacer> pacer, ProbeOptions probes)
    : space_(std::move(space)),
      begin_(begin),
      end_(end),
      sink_(sink),
      pacer_(std::move(pacer)),
      probes_(std::move(probes)),
      catalog_(probes_.catalog != nullptr ? *probes_.catalog : RegistryProbeCatalog()),
      cursor_(begin) {
  if (begin_ >= end_) done_.Notify();
}

ScanSlice::ScanSlice(std::shared_ptr<const ProbeSpace> space, std::vector<uint64_t> indices,
                     ResultSink& sink, std::shared_ptr<Pacer> pacer, ProbeOptions probes)
    : space_(std::move(space)),
      begin_(0),
      end_(indices.size()),
      sink_(sink),
      pacer_(std::move(pacer)),
      probes_(std::move(probes)),
      catalog_(probes_.catalog != nullptr ? *probes_.catalog : RegistryProbeCatalog()),
      indices_(std::move(indices)),
      cursor_(0) {
  if (begin_ >= end_) done_.Notify();
}

void ScanSlice::Cancel() {
  cancelled_.store(true, std::memory_order_relaxed);
  const uint64_t old = cursor_.exchange(end_, std::memory_order_relaxed);
  if (old < end_) {
    dropped_.fetch_add(end_ - old, std::memory_order_relaxed);
    Settle(end_ - old);
  }
}

uint64_t ScanSlice::remaining() const {
  const uint64_t c = cursor_.load(std::memory_order_relaxed);
  return c < end_ ? end_ - c : 0;
}

uint64_t ScanSlice::reported() const {
  return settled_.load(std::memory_order_acquire) - dropped_.load(std::memory_order_relaxed);
}

void ScanSlice::Settle(uint64_t n) {
  if (settled_.fetch_add(n, std::memory_order_acq_rel) + n == size()) done_.Notify();
}

// One event loop (an io_context) on one thread, running `slots` probes at a
// time. Each slot takes the next index of the current slice when its probe
// ends, so in-flight work is bounded by construction. A slot that finds no
// work waits idle until Submit, CloseInput or Cancel wakes the thread.
//
// Connects use non-blocking sockets registered in a per-thread epoll set that
// is itself a descriptor on the io_context: one epoll_ctl per probe and
// batched completions. (Asio's tcp::socket::async_connect costs three more
// system calls per probe: FIONBIO, EPOLL_CTL_MOD and a poll; see
// docs/benchmarks.md.) Timers, pacing and scheduling are the io_context's.
// A periodic sweep closes sockets whose deadline has passed.
class ScanEngine::ThreadScanner {
 public:
  ThreadScanner(ScanEngine& engine, size_t slots)
      : engine_(engine),
        timeout_(engine.options_.timeout),
        retries_(engine.options_.retries),
        io_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE),
        events_(io_),
        sweep_timer_(io_),
        rng_(std::random_device{}()) {
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
      throw boost::system::system_error(
          boost::system::error_code(errno, boost::system::system_category()), "epoll_create1");
    }
    events_.assign(epfd);
    slots_.reserve(slots);
    for (size_t i = 0; i < slots; ++i)
      slots_.push_back(std::make_unique<Slot>(io_, static_cast<uint32_t>(i)));
    tick_ = std::clamp<Clock::duration>(timeout_ / 8, std::chrono::milliseconds(1),
                                        std::chrono::milliseconds(25));
  }
  ThreadScanner(const ThreadScanner&) = delete;
  ThreadScanner& operator=(const ThreadScanner&) = delete;
  ~ThreadScanner() {
    for (auto& slot : slots_) CloseSocket(*slot);
  }

  void Run() {
    live_slots_ = slots_.size();
    for (auto& slot : slots_) Drive(*slot);
    if (live_slots_ > 0) {
      WaitForEvents();
      ArmSweep();
    }
    io_.run();
  }

  // From any thread: idle slots look for work again (new slice, closed
  // input, cancellation).
  void Wake() {
    asio::post(io_, [this] { WakeIdle(); });
  }

  // After Run() threw: settles the probes this thread had taken, unreported,
  // so their slices still end.
  void Abandon() {
    for (auto& slot : slots_) {
      CloseSocket(*slot);
      if (slot->has_target) Drop(*slot);
    }
  }

 private:
  struct Slot {
    Slot(asio::io_context& io, uint32_t slot_id) : wait_timer(io), id(slot_id) {}
    asio::steady_timer wait_timer;  // rate pacing and local-error backoff
    const uint32_t id;              // index in slots_, carried in epoll events
    int fd = -1;
    uint32_t generation = 0;  // guards against events of an earlier socket
    bool has_target = false;
    bool ticketed = false;             // the scan pacer's turn has come (Pacer::Ticket)
    bool paced = false;                // a start time is reserved for the next attempt
    std::shared_ptr<ScanSlice> slice;  // of the current target
    ProbeTarget target;
    uint64_t index = 0;
    uint32_t attempt = 0;
    uint32_t local_errors = 0;
    Clock::time_point started;
    Clock::time_point deadline;

    // What the socket in fd does: a connect, a TCP probe conversation on an
    // open connection, or a UDP probe.
    enum class Phase : uint8_t { kConnect, kTcpProbe, kUdp };
    Phase phase = Phase::kConnect;
    // TCP probes of an open port: set from its connect's success until its
    // result; the connects started meanwhile are identification connects.
    bool probing = false;
    uint32_t open_rtt = 0;
    const probes::TcpProbe* first_probe = nullptr;  // the port's own probe
    const probes::TcpProbe* next_probe = nullptr;   // for the next connection
    size_t next_identify = 0;                       // position in Identification()
    uint32_t identify_connections = 0;
    // Conversations of this port that heard nothing until their deadline.
    uint32_t silent_conversations = 0;
    bool session_expired = false;  // the current one reached its deadline
    std::unique_ptr<probes::TcpSession> session;
    uint32_t sent = 0;
    uint32_t received = 0;
    probes::Evidence ev;  // of the conversation (TCP) or attempt (UDP)
    // UDP
    const probes::UdpProbe* udp_probe = nullptr;  // of this attempt
    uint32_t udp_probes = 0;                      // the port's, asked in turn
    uint16_t txid = 0;
    uint32_t udp_request_bytes = 0;
    bool udp_matched = false;
    uint32_t udp_rtt = 0;
    // The result's probe fields (moved out by Finish).
    std::shared_ptr<const probes::Evidence> result_ev;
    std::string result_probe;
  };

  enum class Step { kInFlight, kWaiting, kDone };

  // Moves the slot forward until it has a connect in flight, waits on a
  // timer, idles, or retires. Synchronous outcomes loop here instead of
  // recursing.
  void Drive(Slot& slot) {
    for (;;) {
      // After a cancellation, a target not yet tried is dropped unreported;
      // one whose first attempt went out still finishes its retries.
      if (slot.has_target && slot.attempt == 0 && !slot.probing &&
          (engine_.cancelled() || slot.slice->cancelled())) {
        Drop(slot);
      }
      // An open port being identified is reported with what was learned.
      if (slot.has_target && slot.probing && (engine_.cancelled() || slot.slice->cancelled())) {
        FinishProbed(slot);
      }
      if (!slot.has_target) {
        switch (TakeNext(slot)) {
          case Next::kSlice:
            break;
          case Next::kWait:
            idle_.push_back(&slot);
            return;
          case Next::kEnd:
            return Retire();
        }
      }
      if (!slot.paced && Pace(slot)) return;
      if (Attempt(slot) != Step::kDone) return;
    }
  }

  // Waits for the slice's scan pacer (a turn) and then for a start time
  // that both it and the node's pacer allow. True: a timer waits.
  bool Pace(Slot& slot) {
    Pacer* scan = slot.slice->pacer_.get();
    Pacer* node = engine_.node_pacer_.get();
    if ((scan == nullptr || scan->unlimited()) && (node == nullptr || node->unlimited())) {
      return false;
    }
    Clock::time_point now = Clock::now();
    if (!slot.ticketed) {
      slot.ticketed = true;
      if (scan != nullptr) {
        const Clock::time_point turn = scan->Ticket(now);
        if (turn > now) return Wait(slot, turn);
      }
    }
    slot.ticketed = false;
    slot.paced = true;
    const Clock::time_point at = Pacer::Start(scan, node, now);
    return at > now && Wait(slot, at);
  }

  bool Wait(Slot& slot, Clock::time_point until) {
    slot.wait_timer.expires_at(until);
    slot.wait_timer.async_wait([this, &slot](const boost::system::error_code&) { Drive(slot); });
    return true;
  }

  // A slice whose pacers are busy (turns handed out well ahead) gives no
  // target for now: it is deferred, and taken from again, before the
  // current slice, once they are not.
  Next TakeNext(Slot& slot) {
    if (engine_.cancelled()) return Next::kEnd;
    for (;;) {
      for (auto it = deferred_.begin(); it != deferred_.end();) {
        if ((*it)->remaining() == 0) {
          it = deferred_.erase(it);
        } else if (!engine_.Throttled(**it) && Assign(slot, *it)) {
          return Next::kSlice;
        } else {
          ++it;
        }
      }
      if (current_ != nullptr) {
        if (!engine_.Throttled(*current_)) {
          if (Assign(slot, current_)) return Next::kSlice;
        } else if (current_->remaining() > 0) {
          Defer(current_);
        }
      }
      Next next = engine_.NextSlice(&current_, &deferred_);
      if (next != Next::kSlice) return next;
    }
  }

  // Gives the slot the next target of `slice`; false when none is left.
  bool Assign(Slot& slot, const std::shared_ptr<ScanSlice>& slice) {
    uint64_t i = 0;
    if (!slice->Take(&i)) return false;
    if (slot.slice != slice) slot.slice = slice;
    slot.index = i;
    slot.target = slice->space_->At(i);
    slot.attempt = 0;
    slot.local_errors = 0;
    slot.probing = false;
    slot.has_target = true;
    return true;
  }

  void Defer(const std::shared_ptr<ScanSlice>& slice) {
    if (std::find(deferred_.begin(), deferred_.end(), slice) == deferred_.end()) {
      deferred_.push_back(slice);
    }
  }

  void WakeIdle() {
    if (engine_.cancelled()) {
      // Wake slots that wait for a rate-cap slot or a backoff.
      for (auto& slot : slots_) slot->wait_timer.cancel();
    }
    std::vector<Slot*> idle;
    idle.swap(idle_);
    for (Slot* slot : idle) Drive(*slot);
  }

  void Retire() {
    // Slots that idled while a slice waited for its pacers learn of the end
    // too.
    if (!idle_.empty()) asio::post(io_, [this] { WakeIdle(); });
    if (--live_slots_ == 0) {
      sweep_timer_.cancel();
      boost::system::error_code ignored;
      events_.cancel(ignored);
    }
  }

  // Starts one connect. kDone: the outcome was known at once and handled.
  Step Attempt(Slot& slot) {
    slot.paced = false;
    if (slot.target.transport == probes::Transport::kUdp) return AttemptUdp(slot);
    slot.phase = Slot::Phase::kConnect;
    const bool v4 = slot.target.address.family == Family::kIPv4;
    int fd = socket(v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return LocalError(slot, errno);
    engine_.counters_->attempts.fetch_add(1, std::memory_order_relaxed);
    engine_.counters_->in_flight.fetch_add(1, std::memory_order_relaxed);
    slot.fd = fd;
    ++slot.generation;
    slot.started = Clock::now();
    slot.deadline = slot.started + timeout_;

    tcp::endpoint ep = MakeEndpoint(slot.target);
    if (connect(fd, ep.data(), static_cast<socklen_t>(ep.size())) == 0) {
      return Outcome(slot, 0);
    }
    if (errno != EINPROGRESS) return Outcome(slot, errno);
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = (uint64_t{slot.generation} << 32) | slot.id;
    if (epoll_ctl(events_.native_handle(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      int err = errno;
      CloseSocket(slot);
      return LocalError(slot, err);
    }
    return Step::kInFlight;
  }

  // The connect ended with `err` (0 = connected). Reports or retries.
  Step Outcome(Slot& slot, int err) {
    uint32_t rtt = Micros(Clock::now() - slot.started);
    if (err == 0) {
      // The kernel timed the handshake itself; our clock also counts the time
      // the completion waited in the event loop.
      tcp_info info{};
      socklen_t info_len = sizeof(info);
      if (getsockopt(slot.fd, IPPROTO_TCP, TCP_INFO, &info, &info_len) == 0 && info.tcpi_rtt > 0) {
        rtt = std::min(rtt, info.tcpi_rtt);
      }
      if (slot.probing) return BeginSession(slot, slot.next_probe);
      if (slot.slice->probes_.mode != ProbeMode::kNone && StartProbes(slot, rtt)) {
        return BeginSession(slot, slot.next_probe);
      }
      ResetClose(slot);
      Finish(slot, ProbeState::kOpen, rtt);
      return Step::kDone;
    }
    CloseSocket(slot);
    if (slot.probing) {  // an identification connect failed: report what is known
      FinishProbed(slot);
      return Step::kDone;
    }
    switch (Classify(boost::system::error_code(err, boost::system::system_category()))) {
      case ErrorKind::kClosed:
        Finish(slot, ProbeState::kClosed, rtt);
        return Step::kDone;
      case ErrorKind::kUnreachable:
        Finish(slot, ProbeState::kUnreachable, 0);
        return Step::kDone;
      case ErrorKind::kLocal:
        return LocalError(slot, err);
      case ErrorKind::kNoAnswer:
        return NoAnswer(slot);
    }
    return Step::kDone;
  }

  Step NoAnswer(Slot& slot) {
    // A UDP port with several probes asks each at least once.
    const uint32_t last = slot.target.transport == probes::Transport::kUdp
                              ? std::max(retries_, slot.udp_probes > 0 ? slot.udp_probes - 1 : 0)
                              : retries_;
    if (slot.attempt < last) {
      ++slot.attempt;  // has_target stays set: Drive starts the retry
    } else {
      Finish(slot, ProbeState::kFiltered, 0);
    }
    return Step::kDone;
  }

  // A failure of this host (no descriptors, no ephemeral ports): nothing was
  // learned about the target, so try again after a short backoff.
  Step LocalError(Slot& slot, int err) {
    engine_.counters_->local_errors.fetch_add(1, std::memory_order_relaxed);
    if (slot.probing) {  // no identification connect now: report what is known
      FinishProbed(slot);
      return Step::kDone;
    }
    if (++slot.local_errors > kMaxLocalErrors) {
      MakeLogger("worker")->warn("probe gave up after local errors ip={} port={} error={}",
                                 slot.target.address.ToString(), slot.target.port,
                                 std::strerror(err));
      Finish(slot, ProbeState::kUnreachable, 0);
      return Step::kDone;
    }
    auto backoff = std::chrono::milliseconds(
        std::min<uint32_t>(100, 1u << std::min<uint32_t>(slot.local_errors, 7)));
    slot.wait_timer.expires_after(backoff);
    slot.wait_timer.async_wait([this, &slot](const boost::system::error_code&) { Drive(slot); });
    return Step::kWaiting;
  }

  void Finish(Slot& slot, ProbeState state, uint32_t rtt) {
    ScanCounters& c = *engine_.counters_;
    ScanSlice& slice = *slot.slice;
    switch (state) {
      case ProbeState::kOpen:
        c.open.fetch_add(1, std::memory_order_relaxed);
        slice.open_.fetch_add(1, std::memory_order_relaxed);
        break;
      case ProbeState::kClosed:
        c.closed.fetch_add(1, std::memory_order_relaxed);
        break;
      case ProbeState::kFiltered:
        c.filtered.fetch_add(1, std::memory_order_relaxed);
        break;
      case ProbeState::kUnreachable:
        c.unreachable.fetch_add(1, std::memory_order_relaxed);
        break;
    }
    slot.has_target = false;
    ProbeResult result{slot.target.address,
                       slot.target.port,
                       state,
                       rtt,
                       slot.index,
                       slot.target.transport,
                       std::move(slot.result_probe),
                       std::move(slot.result_ev)};
    slot.result_probe.clear();
    slot.result_ev.reset();
    if (result.evidence != nullptr && result.evidence->verified) {
      c.verified.fetch_add(1, std::memory_order_relaxed);
    }
    slice.sink_.OnResult(result);
    c.done.fetch_add(1, std::memory_order_relaxed);
    slice.Settle(1);  // last: the slice may end here
  }

  // The target is given up unreported (cancellation).
  void Drop(Slot& slot) {
    slot.has_target = false;
    slot.ticketed = false;  // a turn of this slice's scan is not the next one's
    slot.paced = false;
    slot.slice->dropped_.fetch_add(1, std::memory_order_relaxed);
    slot.slice->Settle(1);
  }

  void CloseSocket(Slot& slot) {
    if (slot.fd >= 0) {
      close(slot.fd);  // also removes it from the epoll set
      slot.fd = -1;
      engine_.counters_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  void WaitForEvents() {
    events_.async_wait(asio::posix::stream_descriptor::wait_read,
                       [this](const boost::system::error_code& ec) {
                         if (ec || live_slots_ == 0) return;
                         Harvest();
                         if (live_slots_ > 0) WaitForEvents();
                       });
  }

  // Drains the epoll set completely (the io_context watches it edge-triggered).
  void Harvest() {
    epoll_event batch[256];
    for (;;) {
      int n = epoll_wait(events_.native_handle(), batch, 256, 0);
      if (n <= 0) return;
      for (int i = 0; i < n; ++i) {
        const uint32_t id = static_cast<uint32_t>(batch[i].data.u64);
        const uint32_t generation = static_cast<uint32_t>(batch[i].data.u64 >> 32);
        Slot& slot = *slots_[id];
        if (slot.fd < 0 || slot.generation != generation) continue;  // stale
        Step step;
        if (slot.phase == Slot::Phase::kTcpProbe) {
          step = OnTcpReadable(slot);
        } else if (slot.phase == Slot::Phase::kUdp) {
          step = OnUdpReadable(slot);
        } else {
          int err = 0;
          socklen_t len = sizeof(err);
          if (getsockopt(slot.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
          step = Outcome(slot, err);
        }
        if (step == Step::kDone) Drive(slot);
      }
      // Under load this loop can run for long stretches without returning
      // to the io_context, whose sweep timer would then fire late (measured:
      // up to 250 ms), leaving unanswered probes in their slots far past
      // their deadlines. So deadlines are also enforced from here.
      if (Clock::now() >= next_sweep_) Sweep();
      if (n < 256) return;
    }
  }

  void ArmSweep() {
    sweep_timer_.expires_after(tick_);
    sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || live_slots_ == 0) return;
      Harvest();  // a safety net; completions normally arrive via WaitForEvents
      Sweep();
      // Idle slots look again for work that waited for its pacers.
      if (engine_.cancelled() || !deferred_.empty()) WakeIdle();
      if (live_slots_ > 0) ArmSweep();
    });
  }

  // The deadline of the slot's socket passed.
  Step Expired(Slot& slot) {
    switch (slot.phase) {
      case Slot::Phase::kTcpProbe:
        slot.session_expired = true;
        return Feed(slot, {}, /*eof=*/true);
      case Slot::Phase::kUdp:
        if (slot.udp_matched) return UdpOpen(slot);
        CloseSocket(slot);
        return NoAnswer(slot);
      case Slot::Phase::kConnect:
        // The answer may have come before the deadline and wait, unread, in
        // the epoll set (the sweep runs between batches of events, and late
        // under load): a connect that completed is its outcome, not a
        // silence.
        if (pollfd p{slot.fd, POLLOUT, 0};
            ::poll(&p, 1, 0) == 1 && (p.revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
          int err = 0;
          socklen_t len = sizeof(err);
          if (getsockopt(slot.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
          return Outcome(slot, err);
        }
        break;
    }
    CloseSocket(slot);
    if (slot.probing) {
      FinishProbed(slot);
      return Step::kDone;
    }
    return NoAnswer(slot);
  }

  // ---- TCP probes -------------------------------------------------------

  // The connect to a pair succeeded: true when a probe is to run on it (the
  // slot then probes until its result), false for a plain open port.
  bool StartProbes(Slot& slot, uint32_t rtt) {
    const ScanSlice& slice = *slot.slice;
    const probes::TcpProbe* first = slice.catalog_.TcpForPort(slot.target.port);
    slot.first_probe = first;
    slot.next_identify = 0;
    slot.identify_connections = 0;
    slot.silent_conversations = 0;
    slot.next_probe = first;
    if (first == nullptr) {
      if (slice.probes_.mode != ProbeMode::kAll) return false;
      slot.next_probe = NextIdentification(slot);
      if (slot.next_probe == nullptr) return false;
    }
    slot.probing = true;
    slot.open_rtt = rtt;
    slot.result_ev.reset();
    slot.result_probe = first != nullptr ? std::string(first->name()) : std::string();
    return true;
  }

  // The next identification probe, or null when identification is over.
  // A port that stayed silent through a whole conversation is not asked
  // again by a server-first probe (one that sends nothing and waits for a
  // greeting: it already had the probe timeout to greet). In `verify`,
  // identification stops after kMaxSilentConversations such silences: a
  // port that accepts and never speaks (tcpwrapped, a firewall completing
  // handshakes) would otherwise hold its slot for every probe's timeout.
  // `all` goes on (a length-prefixed protocol waits in silence for the rest
  // of a frame that a wrong probe's bytes announced).
  const probes::TcpProbe* NextIdentification(Slot& slot) {
    if (slot.slice->probes_.mode == ProbeMode::kVerify &&
        slot.silent_conversations >= kMaxSilentConversations) {
      return nullptr;
    }
    const auto order = slot.slice->catalog_.Identification();
    while (slot.next_identify < order.size()) {
      const probes::TcpProbe* p = order[slot.next_identify++];
      if (p == nullptr || p == slot.first_probe) continue;
      if (slot.silent_conversations > 0 && p->Open()->Start().empty()) continue;
      return p;
    }
    return nullptr;
  }

  // Opens `probe`'s session on the slot's connected socket.
  Step BeginSession(Slot& slot, const probes::TcpProbe* probe) {
    engine_.counters_->tcp_probes.fetch_add(1, std::memory_order_relaxed);
    slot.phase = Slot::Phase::kTcpProbe;
    slot.next_probe = probe;
    slot.session = probe->Open();
    slot.session_expired = false;
    slot.ev = probes::Evidence();
    slot.sent = 0;
    slot.received = 0;
    ++slot.generation;
    slot.deadline = Clock::now() + slot.slice->probes_.timeout;
    const std::string hello = slot.session->Start();
    if (!hello.empty() && !SendAll(slot.fd, hello, &slot.sent)) return Feed(slot, {}, true);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = (uint64_t{slot.generation} << 32) | slot.id;
    if (epoll_ctl(events_.native_handle(), EPOLL_CTL_MOD, slot.fd, &ev) != 0 &&
        (errno != ENOENT || epoll_ctl(events_.native_handle(), EPOLL_CTL_ADD, slot.fd, &ev) != 0)) {
      return Feed(slot, {}, true);
    }
    return Step::kInFlight;
  }

  // Reads what arrived, at most kMaxResponse per conversation.
  Step OnTcpReadable(Slot& slot) {
    for (;;) {
      const size_t room =
          probes::kMaxResponse - std::min<size_t>(slot.received, probes::kMaxResponse);
      if (room == 0) return Feed(slot, {}, true);
      ssize_t n = recv(slot.fd, buffer_.data(), std::min(buffer_.size(), room), 0);
      if (n > 0) {
        slot.received += static_cast<uint32_t>(n);
        const bool full = slot.received >= probes::kMaxResponse;
        if (Feed(slot, absl::string_view(buffer_.data(), static_cast<size_t>(n)), full) ==
            Step::kDone) {
          return Step::kDone;
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Step::kInFlight;
      return Feed(slot, {}, true);  // EOF, reset, any error
    }
  }

  // Hands bytes to the session. kDone: the conversation ended (and the slot
  // moved on); kInFlight: it reads on.
  Step Feed(Slot& slot, absl::string_view data, bool eof) {
    probes::TcpStep step = slot.session->OnData(data, eof, &slot.ev);
    if (step.kind == probes::TcpStep::Kind::kMore && !eof) {
      if (step.send.empty() || SendAll(slot.fd, step.send, &slot.sent)) return Step::kInFlight;
      slot.session->OnData({}, true, &slot.ev);  // the reply could not go out: the end
    }
    return EndSession(slot);
  }

  // The conversation is over: keep its evidence, then identify on a new
  // connection or report.
  Step EndSession(Slot& slot) {
    probes::Evidence ev = std::move(slot.ev);
    ev.request_bytes = slot.sent;
    ev.response_bytes = slot.received;
    ResetClose(slot);
    slot.session.reset();
    slot.phase = Slot::Phase::kConnect;
    if (ev.verified) {
      slot.result_probe = std::string(slot.next_probe->name());
      slot.result_ev = std::make_shared<const probes::Evidence>(std::move(ev));
      FinishProbed(slot);
      return Step::kDone;
    }
    if (slot.session_expired && ev.response_bytes == 0) ++slot.silent_conversations;
    // The first conversation's evidence stands unless one verifies.
    if (slot.result_ev == nullptr) {
      slot.result_ev = std::make_shared<const probes::Evidence>(std::move(ev));
    }
    const probes::TcpProbe* next =
        slot.identify_connections < kMaxIdentifyConnections ? NextIdentification(slot) : nullptr;
    if (next == nullptr || engine_.cancelled() || slot.slice->cancelled()) {
      FinishProbed(slot);
      return Step::kDone;
    }
    ++slot.identify_connections;
    slot.next_probe = next;
    slot.paced = false;  // a new connect, paced like any attempt (Drive)
    return Step::kDone;
  }

  void FinishProbed(Slot& slot) {
    slot.probing = false;
    Finish(slot, ProbeState::kOpen, slot.open_rtt);
  }

  // ---- UDP probes -------------------------------------------------------

  Step AttemptUdp(Slot& slot) {
    const std::span<const probes::UdpProbe* const> chain =
        slot.slice->catalog_.UdpForPort(slot.target.port);
    if (chain.empty()) {  // nothing to ask: nothing learned
      Finish(slot, ProbeState::kFiltered, 0);
      return Step::kDone;
    }
    slot.udp_probes = static_cast<uint32_t>(chain.size());
    slot.udp_probe = chain[slot.attempt % chain.size()];
    const bool v4 = slot.target.address.family == Family::kIPv4;
    int fd = socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return LocalError(slot, errno);
    engine_.counters_->attempts.fetch_add(1, std::memory_order_relaxed);
    engine_.counters_->in_flight.fetch_add(1, std::memory_order_relaxed);
    slot.fd = fd;
    slot.phase = Slot::Phase::kUdp;
    ++slot.generation;
    slot.started = Clock::now();
    slot.deadline = slot.started + timeout_;
    slot.ev = probes::Evidence();
    slot.udp_matched = false;
    slot.udp_rtt = 0;
    slot.received = 0;
    slot.txid = static_cast<uint16_t>(rng_());
    const std::string request = slot.udp_probe->Request(slot.txid, slot.slice->probes_.udp);
    slot.udp_request_bytes = static_cast<uint32_t>(request.size());
    tcp::endpoint ep = MakeEndpoint(slot.target);
    uint32_t sent = 0;
    if (connect(fd, ep.data(), static_cast<socklen_t>(ep.size())) != 0 ||
        !SendAll(fd, request, &sent)) {
      return UdpFailed(slot, errno);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = (uint64_t{slot.generation} << 32) | slot.id;
    if (epoll_ctl(events_.native_handle(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      int err = errno;
      CloseSocket(slot);
      return LocalError(slot, err);
    }
    return Step::kInFlight;
  }

  // The UDP socket reported `err` (ICMP refusal, unreachable, local).
  Step UdpFailed(Slot& slot, int err) {
    if (slot.udp_matched) return UdpOpen(slot);
    CloseSocket(slot);
    switch (Classify(boost::system::error_code(err, boost::system::system_category()))) {
      case ErrorKind::kClosed:
        Finish(slot, ProbeState::kClosed, Micros(Clock::now() - slot.started));
        return Step::kDone;
      case ErrorKind::kLocal:
        return LocalError(slot, err);
      case ErrorKind::kNoAnswer:
        return NoAnswer(slot);
      case ErrorKind::kUnreachable:
        break;
    }
    Finish(slot, ProbeState::kUnreachable, 0);
    return Step::kDone;
  }

  Step OnUdpReadable(Slot& slot) {
    for (;;) {
      ssize_t n = recv(slot.fd, buffer_.data(), buffer_.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return Step::kInFlight;
        return UdpFailed(slot, errno);
      }
      // Parse into a copy: an unmatched datagram leaves no trace.
      probes::Evidence ev = slot.ev;
      const probes::UdpMatch m = slot.udp_probe->Parse(
          absl::string_view(buffer_.data(), static_cast<size_t>(n)), slot.txid, &ev);
      if (m == probes::UdpMatch::kNotOurs) {
        engine_.counters_->udp_unmatched.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      slot.ev = std::move(ev);
      if (!slot.udp_matched) slot.udp_rtt = Micros(Clock::now() - slot.started);
      slot.udp_matched = true;
      slot.received += static_cast<uint32_t>(n);
      if (m == probes::UdpMatch::kDone) return UdpOpen(slot);
    }
  }

  Step UdpOpen(Slot& slot) {
    CloseSocket(slot);
    probes::Evidence ev = std::move(slot.ev);
    ev.verified = true;
    if (ev.service.empty()) {
      ev.service = probes::Sanitise(slot.udp_probe->service(), probes::kMaxService);
    }
    ev.request_bytes = slot.udp_request_bytes;
    ev.response_bytes = slot.received;
    ev.amplification = slot.udp_request_bytes > 0 ? static_cast<double>(slot.received) /
                                                        static_cast<double>(slot.udp_request_bytes)
                                                  : 0;
    slot.result_probe = std::string(slot.udp_probe->name());
    slot.result_ev = std::make_shared<const probes::Evidence>(std::move(ev));
    Finish(slot, ProbeState::kOpen, slot.udp_rtt);
    return Step::kDone;
  }

  // Closes a TCP socket with RST, so no TIME_WAIT piles up.
  void ResetClose(Slot& slot) {
    if (slot.fd < 0) return;
    linger lg{1, 0};
    setsockopt(slot.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    CloseSocket(slot);
  }

  // Gives up on every connect whose deadline has passed.
  void Sweep() {
    const Clock::time_point now = Clock::now();
    next_sweep_ = now + tick_;
    for (auto& slot : slots_) {
      if (slot->fd >= 0 && slot->deadline <= now) {
        if (Expired(*slot) == Step::kDone) Drive(*slot);
      } else if (slot->fd < 0 && slot->has_target && slot->attempt == 0 &&
                 slot->slice->cancelled()) {
        // Waiting for a pacer's turn (maybe far ahead at a low rate): the
        // cancelled slice's target is dropped now, so the slice ends now.
        slot->wait_timer.cancel();
      }
    }
  }

  ScanEngine& engine_;
  const Clock::duration timeout_;
  const uint32_t retries_;
  asio::io_context io_;
  asio::posix::stream_descriptor events_;  // the epoll set of in-flight connects
  asio::steady_timer sweep_timer_;
  Clock::duration tick_;
  Clock::time_point next_sweep_{};  // when Harvest sweeps if the timer has not
  std::vector<std::unique_ptr<Slot>> slots_;
  size_t live_slots_ = 0;
  std::shared_ptr<ScanSlice> current_;                       // the slice new targets come from
  std::vector<std::shared_ptr<ScanSlice>> deferred_;         // slices whose pacers were busy
  std::vector<Slot*> idle_;                                  // slots waiting for a slice
  std::mt19937 rng_;                                         // UDP transaction ids
  std::vector<char> buffer_ = std::vector<char>(64 * 1024);  // one recv at a time
};

ScanEngine::ScanEngine(EngineOptions options)
    : options_(std::move(options)),
      node_pacer_(options_.pacer != nullptr ? options_.pacer
                  : options_.rate > 0       ? std::make_shared<Pacer>(options_.rate)
                                            : nullptr),
      counters_(options_.counters != nullptr ? options_.counters
                                             : std::make_shared<ScanCounters>()) {}

ScanEngine::~ScanEngine() {
  if (!threads_.empty()) {
    Cancel();
    CloseInput();
    Wait().IgnoreError();
  }
}

absl::Status ScanEngine::Run(const ProbeSpace& space, uint64_t begin, uint64_t end,
                             ResultSink& sink, ProbeOptions probes) {
  if (begin > end || end > space.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "slice [", begin, ", ", end, ") is outside the probe space of ", space.size()));
  }
  const uint64_t total = end - begin;
  if (total == 0) return absl::OkStatus();
  RETURN_IF_ERROR(Start(total));
  // The caller owns `space` for the whole call: share it without ownership.
  Submit(std::make_shared<ScanSlice>(
      std::shared_ptr<const ProbeSpace>(std::shared_ptr<const ProbeSpace>(), &space), begin, end,
      sink, nullptr, std::move(probes)));
  CloseInput();
  return Wait();
}

absl::Status ScanEngine::Start(uint64_t expected_probes) {
  if (options_.concurrency == 0) {
    return absl::InvalidArgumentError("concurrency must be at least 1");
  }
  if (!threads_.empty()) return absl::FailedPreconditionError("the engine is already running");
  uint64_t threads =
      options_.threads != 0 ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
  const uint64_t concurrency =
      std::max<uint64_t>(1, std::min(options_.concurrency, expected_probes));
  threads = std::min(threads, concurrency);
  try {
    for (uint64_t t = 0; t < threads; ++t) {
      uint64_t slots = concurrency / threads + (t < concurrency % threads ? 1 : 0);
      scanners_.push_back(std::make_unique<ThreadScanner>(*this, static_cast<size_t>(slots)));
    }
  } catch (const std::exception& e) {
    scanners_.clear();
    return absl::ResourceExhaustedError(absl::StrCat("cannot start scan threads: ", e.what()));
  }
  {
    absl::MutexLock lock(&mu_);
    stopped_ = false;
    closed_ = false;
    running_threads_ = scanners_.size();
  }
  for (auto& scanner : scanners_) {
    threads_.emplace_back([this, s = scanner.get()] {
      try {
        s->Run();
      } catch (const std::exception& e) {
        Cancel();
        s->Abandon();
        absl::MutexLock lock(&mu_);
        failure_ = absl::InternalError(absl::StrCat("scan thread failed: ", e.what()));
      }
      ThreadExited();
    });
  }
  return absl::OkStatus();
}

void ScanEngine::Submit(std::shared_ptr<ScanSlice> slice) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_ && !closed_ && !cancelled()) {
      queue_.push_back(slice);
      for (auto& scanner : scanners_) scanner->Wake();
      return;
    }
  }
  slice->Cancel();
}

void ScanEngine::CloseInput() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  if (!stopped_) {
    for (auto& scanner : scanners_) scanner->Wake();
  }
}

void ScanEngine::Cancel() {
  cancelled_.store(true, std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  if (!stopped_) {
    for (auto& scanner : scanners_) scanner->Wake();
  }
}

absl::Status ScanEngine::Wait() {
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  scanners_.clear();
  absl::MutexLock lock(&mu_);
  return failure_;
}

uint64_t ScanEngine::remaining() const {
  absl::MutexLock lock(&mu_);
  uint64_t n = 0;
  for (const auto& slice : queue_) n += slice->remaining();
  return n;
}

bool ScanEngine::Throttled(const ScanSlice& slice) const {
  const Pacer* scan = slice.pacer_.get();
  const Pacer* node = node_pacer_.get();
  const bool scan_capped = scan != nullptr && !scan->unlimited();
  const bool node_capped = node != nullptr && !node->unlimited();
  if (!scan_capped && !node_capped) return false;
  const auto now = std::chrono::steady_clock::now();
  return (scan_capped && scan->Busy(now)) || (node_capped && node->Busy(now));
}

ScanEngine::Next ScanEngine::NextSlice(std::shared_ptr<ScanSlice>* out,
                                       std::vector<std::shared_ptr<ScanSlice>>* deferred) {
  absl::MutexLock lock(&mu_);
  bool waiting = false;  // a slice with work waits for its pacers
  for (auto it = queue_.begin(); it != queue_.end();) {
    if ((*it)->remaining() == 0) {
      it = queue_.erase(it);
      continue;
    }
    if (!Throttled(**it)) {
      *out = *it;
      return Next::kSlice;
    }
    if (std::find(deferred->begin(), deferred->end(), *it) == deferred->end()) {
      deferred->push_back(*it);
    }
    waiting = true;
    ++it;
  }
  out->reset();
  if (waiting) return Next::kWait;
  return closed_ || cancelled() ? Next::kEnd : Next::kWait;
}

void ScanEngine::ThreadExited() {
  std::deque<std::shared_ptr<ScanSlice>> left;
  {
    absl::MutexLock lock(&mu_);
    if (--running_threads_ > 0) return;
    stopped_ = true;
    left.swap(queue_);
  }
  // No probe is in flight any more: what was never started ends unreported.
  for (auto& slice : left) slice->Cancel();
}

uint64_t FitConcurrencyToFdBudget(uint64_t requested, uint64_t reserve, uint64_t* fd_limit_out) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    if (lim.rlim_cur < lim.rlim_max) {
      rlimit raised = lim;
      raised.rlim_cur = lim.rlim_max;
      if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
    }
  }
  uint64_t limit = lim.rlim_cur == RLIM_INFINITY ? UINT64_MAX : lim.rlim_cur;
  if (fd_limit_out != nullptr) *fd_limit_out = limit;
  uint64_t budget = limit > reserve ? limit - reserve : 1;
  return std::min(requested, budget);
}

}  // namespace goalkeeper
