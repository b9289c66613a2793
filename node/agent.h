// The node agent's loop (`goalkeeper-worker node`), gRPC-free: follows each
// firewall-log rule's sources, counts hits per source, reads the host's
// listening sockets at an interval, keeps every finding in the local spool
// until the coordinator acknowledged it, and heartbeats.
//
//   NodeAgentOptions o{.config = config, .node = "node-1", .labels = {{"role", "edge"}}};
//   ASSIGN_OR_RETURN(std::unique_ptr<NodeAgent> agent,
//                    NodeAgent::Create(o, clock, client));   // client: a NodeReportClient
//   agent->Run(&stop);   // or, in tests, agent->Step() with a FakeClock
//
// Exactly once, per rule: a rule's file sources are one LogFollower (its
// checkpoint `<checkpoint_dir>/rule-<name>.ckpt`) with one HitAggregator. A
// Poll's findings are put in the follower's checkpoint blob (with the
// aggregator's state) by Commit, which returns a seq, then spooled with
// Spool::AppendBatch(findings, seq, "rule:<name>:files"); a kill between the
// two replays the blob's findings at the next start, and the spool drops a
// seq it already has. A rule's journal source (when a factory is given) is
// a second line source of its own with its own aggregator, checkpoint and
// spool key: the same kernel line is often both in the journal and in
// kern.log (rsyslog copies it), and counting them together would count it
// twice.
//
// Listeners: every listeners.interval, <proc_root>/net/{tcp,tcp6} (and
// udp,udp6 when enabled) are read, filtered by the node's policy
// (PolicyForLabels) and diffed against the previous set, which is stored in
// the spool with the findings (AppendWithState, key "listeners"), so a
// restart reports nothing again. A missing *6 file is an empty table (IPv6
// off); any other unreadable file skips the round (never "all gone").
//
// Sending: pending spool records go out in NodeReports of at most
// kMaxFindingsPerReport, every heartbeat_interval even when there are none
// (the heartbeat) and at the next Step after new findings. A finding's id
// is "<spool epoch hex>-<record id>": the same across retries and restarts,
// new for a spool created again. Acknowledged ids are removed from the
// spool. A failed report is retried after an exponential backoff with
// jitter (kMinBackoff..kMaxBackoff); the change between reachable and not
// is logged once each way. A full spool stops the followers (their callback
// returns false) until acknowledgements make room: back-pressure, no loss.
//
// Thread-safety: Step and Run are called from one thread; Stop-ing goes
// through the absl::Notification given to Run.
#ifndef GOALKEEPER_NODE_AGENT_H_
#define GOALKEEPER_NODE_AGENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/coordinator_client.h"
#include "goalkeeper/v1/node.pb.h"
#include "node/agent_state.h"
#include "node/hit_aggregator.h"
#include "node/journal_follower.h"
#include "node/log_follower.h"
#include "node/node_config.h"
#include "node/spool.h"

namespace goalkeeper::node {

inline constexpr int kMaxFindingsPerReport = 500;
inline constexpr absl::Duration kMinBackoff = absl::Seconds(1);
inline constexpr absl::Duration kMaxBackoff = absl::Seconds(60);
// How often Step logs the counters (one info line).
inline constexpr absl::Duration kStatsLogInterval = absl::Minutes(10);

// The coordinator, as the agent sees it: goalkeeper::NodeReportClient
// (common/coordinator_client.h), one attempt per call; retries are the
// agent's.

// One line of a source: a syslog-file line, or a journal entry's MESSAGE
// with its realtime stamp.
struct SourceLine {
  absl::string_view text;
  std::optional<int64_t> realtime_usec;  // set for journal entries
};
using SourceLineCallback = std::function<bool(const SourceLine&)>;

// A checkpointed line source, the shape of LogFollower (and of the journal
// follower): Poll hands lines until the callback returns false, Commit
// stores the caller's blob with the positions reached and returns a seq.
class LineSource {
 public:
  virtual ~LineSource() = default;
  virtual const std::string& restored_blob() const = 0;
  virtual uint64_t restored_seq() const = 0;
  virtual PollResult Poll(const SourceLineCallback& on_line) = 0;
  virtual absl::StatusOr<uint64_t> Commit(absl::string_view blob) = 0;
};

// LogFollower as a LineSource.
absl::StatusOr<std::unique_ptr<LineSource>> OpenFileSource(const LogFollowerOptions& options,
                                                           const Clock& clock);

// JournalFollower as a LineSource (lines carry their realtime stamp).
absl::StatusOr<std::unique_ptr<LineSource>> OpenJournalSource(const JournalFollowerOptions& options,
                                                              const Clock& clock);

// Opens the journal source of a rule (checkpoint path given); unset: a
// JournalFollower over config.journal_directories.
using JournalSourceFactory = std::function<absl::StatusOr<std::unique_ptr<LineSource>>(
    const std::string& checkpoint_path, absl::Duration catch_up_max_age)>;

struct NodeAgentOptions {
  NodeConfig config;
  std::string node;                           // the NodeReport's node name
  std::map<std::string, std::string> labels;  // for listeners.node_policies
  std::string proc_root = "/proc";
  std::string agent_version;
  absl::TimeZone zone = absl::UTCTimeZone();  // of RFC 3164 stamps (timezone_file)
  JournalSourceFactory journal;
  // How often Run steps at most (the followers' poll interval).
  absl::Duration poll_interval = absl::Milliseconds(500);
  SpoolOptions spool;  // path "" = <checkpoint_dir>/spool.db
};

struct NodeAgentStats {
  uint64_t lines = 0;
  uint64_t hits = 0;
  uint64_t unparsed_firewall_lines = 0;  // firewall fields, bad stamp or value
  uint64_t findings_spooled = 0;
  uint64_t reports_sent = 0;
  uint64_t report_failures = 0;
  uint64_t findings_acked = 0;
  uint64_t listener_scans = 0;
  uint64_t listener_scan_errors = 0;
  uint64_t backpressure = 0;  // Polls stopped by a full spool
};

// An exclusive lock on `<checkpoint_dir>/agent.lock` (flock), held for the
// agent's lifetime: two agents on one node (a DaemonSet pod replaced by
// another one's during a node-pool relabel, or an operator's second run)
// would share the spool and the checkpoints. The file holds the holder's pid.
class CheckpointDirLock {
 public:
  // UNAVAILABLE naming the directory and the holder's pid when another
  // process (or another lock in this one) holds it; other errors for a
  // directory that cannot hold the file.
  static absl::StatusOr<std::unique_ptr<CheckpointDirLock>> TryAcquire(const std::string& dir);
  ~CheckpointDirLock();
  CheckpointDirLock(const CheckpointDirLock&) = delete;
  CheckpointDirLock& operator=(const CheckpointDirLock&) = delete;

 private:
  explicit CheckpointDirLock(int fd) : fd_(fd) {}
  int fd_;
};

class NodeAgent {
 public:
  // Takes the checkpoint directory's lock (UNAVAILABLE while another agent
  // holds it: the caller waits and tries again), opens the spool and every
  // source (creating checkpoint_dir's files, not the directory) and replays
  // the findings of each source's checkpoint.
  static absl::StatusOr<std::unique_ptr<NodeAgent>> Create(NodeAgentOptions options,
                                                           const Clock& clock,
                                                           NodeReportClient& client);
  ~NodeAgent();
  NodeAgent(const NodeAgent&) = delete;
  NodeAgent& operator=(const NodeAgent&) = delete;

  // One round: every source polled (until drained or back-pressured) and
  // committed, the listeners when due, a report when due. Errors are
  // returned only for what cannot go on (the spool or a checkpoint cannot be
  // written); a failed report is not an error.
  absl::Status Step();
  // Steps until `stop` is notified (then returns OK after a last commit) or
  // a Step fails.
  absl::Status Run(absl::Notification* stop);

  const NodeAgentStats& stats() const { return stats_; }
  Spool& spool() { return *spool_; }
  // The id the coordinator gets for spool record `id`.
  std::string FindingId(int64_t record_id) const;

  struct RuleSource;  // internal (agent.cc)

 private:
  NodeAgent(NodeAgentOptions options, const Clock& clock, NodeReportClient& client);
  absl::Status PollSource(RuleSource& s);
  absl::Status SpoolPending(RuleSource& s);
  absl::Status ScanListeners();
  absl::Status MaybeReport();

  NodeAgentOptions options_;
  const Clock& clock_;
  NodeReportClient& client_;
  std::unique_ptr<CheckpointDirLock> lock_;  // before everything it guards
  ListenerPolicy policy_;
  std::unique_ptr<Spool> spool_;
  std::vector<std::unique_ptr<RuleSource>> sources_;
  absl::Time next_listeners_ = absl::InfinitePast();
  absl::Time next_heartbeat_ = absl::InfinitePast();
  absl::Time next_attempt_ = absl::InfinitePast();
  absl::Time next_stats_log_ = absl::InfinitePast();
  absl::Duration backoff_ = absl::ZeroDuration();
  bool unsent_ = true;     // records spooled since the last report
  bool reachable_ = true;  // for logging the changes only
  bool reported_once_ = false;
  absl::BitGen jitter_;
  NodeAgentStats stats_;
};

// The finding for a brute-force source (no id; observed at `now`).
goalkeeper::v1::NodeFinding BruteForceToProto(const BruteForceFinding& f, absl::Time now);

}  // namespace goalkeeper::node

#endif  // GOALKEEPER_NODE_AGENT_H_
