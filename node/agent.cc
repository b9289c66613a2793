#include "node/agent.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "node/agent_state.h"
#include "node/firewall_line.h"
#include "node/firewall_rule.h"
#include "node/proc_net.h"

namespace goalkeeper::node {

namespace v1 = goalkeeper::v1;

namespace {

// Upper bound of one serialized finding, for the spool's byte room check.
constexpr int64_t kFindingBytesBound = 4096;
// Polls of one source per Step when each stops early (max_bytes_per_poll).
constexpr int kMaxPollsPerStep = 16;
// A source with nothing new still commits this often (rotations met).
constexpr absl::Duration kIdleCommit = absl::Seconds(30);
constexpr absl::string_view kListenersKey = "listeners";

std::shared_ptr<spdlog::logger> Log() { return MakeLogger("node"); }

int64_t UnixMs(absl::Time t) { return absl::ToUnixMillis(t); }

class FileSource : public LineSource {
 public:
  explicit FileSource(std::unique_ptr<LogFollower> f) : f_(std::move(f)) {}
  const std::string& restored_blob() const override { return f_->restored_blob(); }
  uint64_t restored_seq() const override { return f_->restored_seq(); }
  PollResult Poll(const SourceLineCallback& on_line) override {
    return f_->Poll([&](const LogLine& l) { return on_line(SourceLine{l.text, std::nullopt}); });
  }
  absl::StatusOr<uint64_t> Commit(absl::string_view blob) override { return f_->Commit(blob); }

 private:
  std::unique_ptr<LogFollower> f_;
};

class JournalSource : public LineSource {
 public:
  explicit JournalSource(std::unique_ptr<JournalFollower> f) : f_(std::move(f)) {}
  const std::string& restored_blob() const override { return f_->restored_blob(); }
  uint64_t restored_seq() const override { return f_->restored_seq(); }
  PollResult Poll(const SourceLineCallback& on_line) override {
    return f_->Poll([&](const JournalLine& l) {
      return on_line(SourceLine{l.message, l.realtime_usec});
    });
  }
  absl::StatusOr<uint64_t> Commit(absl::string_view blob) override { return f_->Commit(blob); }

 private:
  std::unique_ptr<JournalFollower> f_;
};

v1::NodeFinding ListenerFinding(const Listener& l, bool appeared, absl::Time now) {
  v1::NodeFinding f;
  f.set_observed_unix_ms(UnixMs(now));
  v1::Listener* p = appeared ? f.mutable_listener_appeared() : f.mutable_listener_gone();
  p->set_protocol(std::string(SocketProtocolName(l.protocol)));
  p->set_address(l.address.ToString());
  p->set_port(l.port);
  return f;
}

enum class ReadResult { kOk, kMissing, kError };

// Reads a /proc file (st_size 0: read to EOF), at most kMaxProcNetBytes.
ReadResult ReadProcFile(const std::string& path, std::string* out, std::string* error) {
  out->clear();
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = absl::StrCat("cannot open '", path, "': ", std::strerror(errno));
    return errno == ENOENT ? ReadResult::kMissing : ReadResult::kError;
  }
  char buf[64 << 10];
  while (out->size() < kMaxProcNetBytes) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = absl::StrCat("cannot read '", path, "': ", std::strerror(errno));
      close(fd);
      return ReadResult::kError;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return ReadResult::kOk;
}

uint32_t HeartbeatSeconds(absl::Duration d) {
  const int64_t s = absl::ToInt64Seconds(absl::Ceil(d, absl::Seconds(1)));
  return static_cast<uint32_t>(std::clamp<int64_t>(s, 1, 86400));
}

}  // namespace

struct NodeAgent::RuleSource {
  std::string key;  // the spool key: "rule:tftp:files"
  std::optional<FirewallRule> rule;
  std::unique_ptr<LineSource> source;
  std::unique_ptr<HitAggregator> aggregator;
  std::vector<std::string> pending;  // the last commit's findings, not yet spooled
  uint64_t pending_seq = 0;          // 0: nothing waits
  absl::Time last_commit = absl::InfinitePast();
};

v1::NodeFinding BruteForceToProto(const BruteForceFinding& f, absl::Time now) {
  v1::NodeFinding out;
  out.set_observed_unix_ms(UnixMs(now));
  v1::BruteForceSource* b = out.mutable_brute_force();
  b->set_rule(f.rule);
  b->set_source(f.source);
  b->set_hits_in_window(f.hits_in_window);
  b->set_first_seen_unix_ms(UnixMs(f.first_seen));
  b->set_last_seen_unix_ms(UnixMs(f.last_seen));
  for (const ProtoPort& pp : f.ports) {
    v1::ProtoPort* p = b->add_ports();
    p->set_protocol(absl::AsciiStrToLower(pp.proto));
    if (pp.port) p->set_port(*pp.port);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<LineSource>> OpenFileSource(const LogFollowerOptions& options,
                                                           const Clock& clock) {
  ASSIGN_OR_RETURN(std::unique_ptr<LogFollower> f, LogFollower::Open(options, clock));
  return std::unique_ptr<LineSource>(new FileSource(std::move(f)));
}

absl::StatusOr<std::unique_ptr<LineSource>> OpenJournalSource(const JournalFollowerOptions& options,
                                                              const Clock& clock) {
  ASSIGN_OR_RETURN(std::unique_ptr<JournalFollower> f, JournalFollower::Open(options, clock));
  return std::unique_ptr<LineSource>(new JournalSource(std::move(f)));
}

absl::StatusOr<std::unique_ptr<CheckpointDirLock>> CheckpointDirLock::TryAcquire(
    const std::string& dir) {
  const std::string path = dir + "/agent.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint_dir lock '", path, "': ", std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char holder[32] = {};
    const ssize_t n = ::pread(fd, holder, sizeof(holder) - 1, 0);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return absl::UnavailableError(
          absl::StrCat("checkpoint_dir '", dir, "' is in use by another agent (pid ",
                       n > 0 ? absl::StripAsciiWhitespace(holder) : "unknown", ")"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint_dir lock '", path, "': ", std::strerror(err)));
  }
  const std::string pid = absl::StrCat(::getpid(), "\n");
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int err = errno;
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint_dir lock '", path, "': ", std::strerror(err)));
  }
  return std::unique_ptr<CheckpointDirLock>(new CheckpointDirLock(fd));
}

CheckpointDirLock::~CheckpointDirLock() { ::close(fd_); }

NodeAgent::NodeAgent(NodeAgentOptions options, const Clock& clock, NodeReportClient& client)
    : options_(std::move(options)), clock_(clock), client_(client) {}

NodeAgent::~NodeAgent() = default;

absl::StatusOr<std::unique_ptr<NodeAgent>> NodeAgent::Create(NodeAgentOptions options,
                                                             const Clock& clock,
                                                             NodeReportClient& client) {
  if (options.spool.path.empty()) {
    options.spool.path = options.config.checkpoint_dir + "/spool.db";
  }
  ASSIGN_OR_RETURN(std::unique_ptr<CheckpointDirLock> lock,
                   CheckpointDirLock::TryAcquire(options.config.checkpoint_dir));
  std::unique_ptr<NodeAgent> agent(new NodeAgent(std::move(options), clock, client));
  agent->lock_ = std::move(lock);
  NodeAgentOptions& o = agent->options_;
  ASSIGN_OR_RETURN(agent->spool_, Spool::Open(o.spool));
  agent->policy_ = PolicyForLabels(o.config.listeners, o.labels);
  agent->unsent_ = agent->spool_->records() > 0;

  auto add = [&](const std::string& key, const FirewallRule& rule,
                 std::unique_ptr<LineSource> source) -> absl::Status {
    auto s = std::make_unique<RuleSource>();
    s->key = key;
    s->rule = rule;
    s->source = std::move(source);
    s->aggregator = std::make_unique<HitAggregator>(AggregatorOptions::FromRule(rule.spec()));
    const uint64_t restored_seq = s->source->restored_seq();
    std::vector<std::string> pending;
    if (!s->source->restored_blob().empty()) {
      absl::StatusOr<SourceBlob> blob = ParseSourceBlob(s->source->restored_blob());
      if (!blob.ok()) {
        return absl::FailedPreconditionError(
            absl::StrCat("source ", key, ": its checkpoint's blob: ", blob.status().message()));
      }
      if (absl::Status st = s->aggregator->RestoreState(blob->aggregator); !st.ok()) {
        Log()->warn("source={} aggregator state not restored, starting empty: {}", key,
                    st.message());
      }
      pending = std::move(blob->pending);
    }
    ASSIGN_OR_RETURN(int64_t last, agent->spool_->LastBatchSeq(key));
    const auto restored = static_cast<int64_t>(restored_seq);
    if (last >= restored) {
      // The restored batch is spooled already (or there is none). A
      // checkpoint older than the spool (deleted, restored from a backup)
      // starts its seqs lower: let them count.
      if (last > restored) {
        Log()->warn("source={} checkpoint seq {} is behind the spool's {}; resetting", key,
                    restored, last);
        RETURN_IF_ERROR(agent->spool_->SetBatchSeq(key, restored));
      }
    } else {
      s->pending = std::move(pending);
      s->pending_seq = restored_seq;
      RETURN_IF_ERROR(agent->SpoolPending(*s));
    }
    agent->sources_.push_back(std::move(s));
    return absl::OkStatus();
  };

  for (const FirewallRuleSpec& spec : o.config.rules) {
    ASSIGN_OR_RETURN(FirewallRule rule, FirewallRule::Create(spec));
    LogFollowerOptions lo;
    bool journal = false;
    for (const std::string& src : spec.sources) {
      if (src == kJournalSource) {
        journal = true;
      } else {
        lo.globs.push_back(src);
      }
    }
    const std::string base = absl::StrCat(o.config.checkpoint_dir, "/rule-", spec.name);
    if (!lo.globs.empty()) {
      lo.checkpoint_path = base + ".ckpt";
      lo.catch_up_max_age = spec.window;
      // A literal rule's other lines are skipped in bulk, unparsed.
      lo.line_literal = std::string(rule.RequiredLiteral());
      lo.poll_interval = o.poll_interval;
      ASSIGN_OR_RETURN(std::unique_ptr<LineSource> src, OpenFileSource(lo, clock));
      RETURN_IF_ERROR(add(absl::StrCat("rule:", spec.name, ":files"), rule, std::move(src)));
    }
    if (journal) {
      absl::StatusOr<std::unique_ptr<LineSource>> src;
      if (o.journal) {
        src = o.journal(base + ".journal.ckpt", spec.window);
      } else {
        JournalFollowerOptions jo;
        jo.directories = o.config.journal_directories;
        jo.checkpoint_path = base + ".journal.ckpt";
        jo.catch_up_max_age = spec.window;
        jo.poll_interval = o.poll_interval;
        src = OpenJournalSource(jo, clock);
      }
      if (!src.ok()) return src.status();
      RETURN_IF_ERROR(add(absl::StrCat("rule:", spec.name, ":journal"), rule, *std::move(src)));
    }
  }
  Log()->info("node agent node={} rules={} sources={} spool={} pending={} epoch={:016x}", o.node,
              o.config.rules.size(), agent->sources_.size(), o.spool.path, agent->spool_->records(),
              agent->spool_->epoch());
  return agent;
}

std::string NodeAgent::FindingId(int64_t record_id) const {
  return absl::StrFormat("%016x-%d", spool_->epoch(), record_id);
}

absl::Status NodeAgent::SpoolPending(RuleSource& s) {
  if (s.pending_seq == 0) return absl::OkStatus();
  if (!s.pending.empty()) {
    absl::StatusOr<std::vector<int64_t>> ids =
        spool_->AppendBatch(s.pending, static_cast<int64_t>(s.pending_seq), s.key);
    if (absl::IsResourceExhausted(ids.status())) return absl::OkStatus();  // kept; retried
    if (!ids.ok()) return ids.status();
    stats_.findings_spooled += ids->size();
    if (!ids->empty()) unsent_ = true;
  }
  s.pending.clear();
  s.pending_seq = 0;
  return absl::OkStatus();
}

absl::Status NodeAgent::PollSource(RuleSource& s) {
  RETURN_IF_ERROR(SpoolPending(s));
  if (s.pending_seq != 0) {  // the spool is full: wait for acknowledgements
    ++stats_.backpressure;
    return absl::OkStatus();
  }
  const SpoolOptions& limits = spool_->options();
  for (int round = 0; round < kMaxPollsPerStep; ++round) {
    const absl::Time now = clock_.Now();
    FirewallLineContext ctx{.zone = options_.zone, .reference = now};
    std::vector<std::string> found;
    int64_t found_bytes = 0;
    bool full = false;
    PollResult r = s.source->Poll([&](const SourceLine& l) {
      if (spool_->records() + static_cast<int64_t>(found.size()) + 1 > limits.max_records ||
          spool_->bytes() + found_bytes + kFindingBytesBound > limits.max_bytes) {
        full = true;
        return false;
      }
      ++stats_.lines;
      FirewallLine line;
      const FirewallLineStatus st = l.realtime_usec
                                        ? ParseFirewallMessage(l.text, *l.realtime_usec, &line)
                                        : ParseFirewallLine(l.text, ctx, &line);
      if (st != FirewallLineStatus::kOk) {
        if (st == FirewallLineStatus::kBadTimestamp || st == FirewallLineStatus::kBadField) {
          ++stats_.unparsed_firewall_lines;
        }
        return true;
      }
      if (!s.rule->Matches(line)) return true;
      ++stats_.hits;
      if (std::optional<BruteForceFinding> f = s.aggregator->Add(HitFromLine(line))) {
        Log()->info("brute-force source rule={} source={} hits={}", f->rule, f->source,
                    f->hits_in_window);
        found.push_back(BruteForceToProto(*f, now).SerializeAsString());
        found_bytes += static_cast<int64_t>(found.back().size());
      }
      return true;
    });
    stats_.lines += r.filtered;  // read and skipped unparsed (the rule's literal is not in them)
    if (r.lines + r.filtered == 0 && (full || now - s.last_commit < kIdleCommit)) {
      if (full) ++stats_.backpressure;
      return absl::OkStatus();
    }
    SourceBlob blob{s.aggregator->SerializeState(), found};
    ASSIGN_OR_RETURN(uint64_t seq, s.source->Commit(SerializeSourceBlob(blob)));
    s.last_commit = now;
    s.pending = std::move(found);
    s.pending_seq = seq;
    RETURN_IF_ERROR(SpoolPending(s));
    if (full || s.pending_seq != 0) {
      ++stats_.backpressure;
      return absl::OkStatus();
    }
    if (!r.more) break;
  }
  return absl::OkStatus();
}

absl::Status NodeAgent::ScanListeners() {
  const absl::Time now = clock_.Now();
  if (now < next_listeners_) return absl::OkStatus();
  next_listeners_ = now + options_.config.listeners.interval;
  if (!policy_.tcp && !policy_.udp) return absl::OkStatus();
  ++stats_.listener_scans;
  struct Table {
    const char* name;
    SocketProtocol protocol;
    bool ipv6;
  };
  static constexpr Table kTables[] = {{"tcp", SocketProtocol::kTcp, false},
                                      {"tcp6", SocketProtocol::kTcp, true},
                                      {"udp", SocketProtocol::kUdp, false},
                                      {"udp6", SocketProtocol::kUdp, true}};
  std::vector<ProcNetSocket> sockets;
  std::string text, error;
  for (const Table& t : kTables) {
    if (t.protocol == SocketProtocol::kTcp ? !policy_.tcp : !policy_.udp) continue;
    const std::string path = absl::StrCat(options_.proc_root, "/net/", t.name);
    const ReadResult rr = ReadProcFile(path, &text, &error);
    if (rr == ReadResult::kMissing && t.ipv6) continue;  // IPv6 off
    if (rr != ReadResult::kOk) {
      ++stats_.listener_scan_errors;
      Log()->warn("listeners not read this round: {}", error);
      return absl::OkStatus();
    }
    ProcNetTable table = ParseProcNet(text, t.protocol, t.ipv6);
    sockets.insert(sockets.end(), table.sockets.begin(), table.sockets.end());
  }
  std::vector<Listener> current = ReportableListeners(sockets, policy_);
  ASSIGN_OR_RETURN(std::optional<std::string> stored, spool_->State(kListenersKey));
  std::vector<Listener> previous;
  if (stored) {
    absl::StatusOr<std::vector<Listener>> parsed = ParseListenerState(*stored);
    if (!parsed.ok()) {
      Log()->warn("stored listeners unreadable, starting from none: {}", parsed.status().message());
    } else {
      previous = std::move(*parsed);
    }
  }
  ListenerDiff diff = DiffListeners(previous, current);
  if (stored && diff.appeared.empty() && diff.gone.empty()) return absl::OkStatus();
  std::vector<std::string> records;
  for (const Listener& l : diff.appeared) {
    Log()->info("listener appeared {}", l.ToString());
    records.push_back(ListenerFinding(l, true, now).SerializeAsString());
  }
  for (const Listener& l : diff.gone) {
    Log()->info("listener gone {}", l.ToString());
    records.push_back(ListenerFinding(l, false, now).SerializeAsString());
  }
  absl::StatusOr<std::vector<int64_t>> ids =
      spool_->AppendWithState(records, kListenersKey, SerializeListenerState(current));
  if (absl::IsResourceExhausted(ids.status())) {
    ++stats_.backpressure;
    next_listeners_ = now;  // nothing stored: the same diff next round
    return absl::OkStatus();
  }
  if (!ids.ok()) return ids.status();
  stats_.findings_spooled += ids->size();
  if (!ids->empty()) unsent_ = true;
  return absl::OkStatus();
}

absl::Status NodeAgent::MaybeReport() {
  const absl::Time now = clock_.Now();
  if (now < next_attempt_) return absl::OkStatus();
  if (now < next_heartbeat_ && !unsent_) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<SpoolRecord> records, spool_->Pending(kMaxFindingsPerReport));
  v1::NodeReport report;
  report.set_node(options_.node);
  report.set_agent_version(options_.agent_version);
  report.set_heartbeat_seconds(HeartbeatSeconds(options_.config.heartbeat_interval));
  std::map<std::string, int64_t> by_id;
  for (const SpoolRecord& rec : records) {
    v1::NodeFinding* f = report.add_findings();
    if (!f->ParseFromString(rec.data)) {
      // Not written by this agent: it can never be sent; keeping it would
      // block every record behind it.
      Log()->error("spool record {} is not a NodeFinding; dropped", rec.id);
      report.mutable_findings()->RemoveLast();
      RETURN_IF_ERROR(spool_->Ack(rec.id));
      continue;
    }
    f->set_id(FindingId(rec.id));
    by_id[f->id()] = rec.id;
  }
  absl::StatusOr<v1::NodeReportAck> ack = client_.Report(report);
  if (!ack.ok()) {
    ++stats_.report_failures;
    backoff_ = backoff_ == absl::ZeroDuration() ? kMinBackoff : std::min(kMaxBackoff, backoff_ * 2);
    next_attempt_ = now + backoff_ * absl::Uniform(jitter_, 0.5, 1.0);
    if (reachable_) {
      Log()->warn("coordinator unreachable, retrying with backoff (up to {}s): {}",
                  absl::ToInt64Seconds(kMaxBackoff), ack.status().ToString());
      reachable_ = false;
    }
    return absl::OkStatus();
  }
  ++stats_.reports_sent;
  for (const std::string& id : ack->stored_ids()) {
    auto it = by_id.find(id);
    if (it == by_id.end()) continue;
    RETURN_IF_ERROR(spool_->Ack(it->second));
    ++stats_.findings_acked;
  }
  if (!reachable_ || !reported_once_) {
    Log()->info("coordinator reached: report acknowledged findings={} pending={}",
                ack->stored_ids_size(), spool_->records());
  }
  reachable_ = true;
  reported_once_ = true;
  backoff_ = absl::ZeroDuration();
  next_attempt_ = absl::InfinitePast();
  next_heartbeat_ = now + options_.config.heartbeat_interval;
  // A full report: the rest goes at the next Step.
  unsent_ = records.size() == static_cast<size_t>(kMaxFindingsPerReport);
  return absl::OkStatus();
}

absl::Status NodeAgent::Step() {
  for (std::unique_ptr<RuleSource>& s : sources_) RETURN_IF_ERROR(PollSource(*s));
  RETURN_IF_ERROR(ScanListeners());
  RETURN_IF_ERROR(MaybeReport());
  const absl::Time now = clock_.Now();
  if (now >= next_stats_log_) {
    if (next_stats_log_ != absl::InfinitePast()) {
      Log()->info(
          "node agent stats lines={} hits={} unparsed={} findings={} reports={} failures={} "
          "acked={} listener_scans={} listener_errors={} backpressure={} pending={}",
          stats_.lines, stats_.hits, stats_.unparsed_firewall_lines, stats_.findings_spooled,
          stats_.reports_sent, stats_.report_failures, stats_.findings_acked, stats_.listener_scans,
          stats_.listener_scan_errors, stats_.backpressure, spool_->records());
    }
    next_stats_log_ = now + kStatsLogInterval;
  }
  return absl::OkStatus();
}

absl::Status NodeAgent::Run(absl::Notification* stop) {
  while (!stop->HasBeenNotified()) {
    RETURN_IF_ERROR(Step());
    stop->WaitForNotificationWithTimeout(options_.poll_interval);
  }
  return absl::OkStatus();
}

}  // namespace goalkeeper::node
