// `goalkeeper-worker run`: a fleet worker. It registers with the
// coordinator, pulls leased shards (slices of a scan's probe permutation),
// scans them with the ScanEngine, streams open ports back in acknowledged
// batches, heartbeats its leases, and completes each shard only after every
// finding of it was acknowledged. It talks to the coordinator only through
// CoordinatorClient (gRPC in production, a fake in tests).
//
// Pipelining: when the engine is about to run out of probes to start, the
// next shard is leased and its probes run while the current shard's last
// probes wait for their deadlines (at most 16 shards held at once).
// Rates: one pacer per scan, at this worker's share of the scan's rate
// (Shard.profile.rate, changed at once by HeartbeatResponse.scan_rates and
// reported back in HeartbeatRequest.applied_rates), shared by all of its
// slices of that scan; and one node pacer at max_rate across every scan. A
// probe waits for both; a rate change never restarts the engine.
// Leases: a lease is heartbeated from the moment LeaseShard returned it
// until it is completed or handed back; one the coordinator reports lost
// stops only its shard.
//
// Threads: Run's thread leases and starts shards; one heartbeat thread; one
// reporter thread sends the findings of every shard (flow control: at most
// 2 x batch_size findings wait, then the engine's result callback blocks, so
// a slow coordinator slows the worker instead of growing memory) and
// settles the shards whose probes are all done (complete, hand back).
// Failures: every call is retried with backoff while the coordinator is
// away; a coordinator that no longer knows the worker (NOT_FOUND or
// UNAUTHENTICATED) gets it registered again with its id and token.
// Readiness: options.on_reachable hears when the coordinator becomes
// reachable (registered) or unreachable (a call failed for want of it), so
// the `run` command can serve it as gRPC health without this class knowing
// gRPC.
// Stop (SIGTERM): no new shards; the current ones stop taking probes, their
// findings are flushed and they are handed back; then Run returns.
//
//   FleetWorker worker(options);
//   std::thread t([&] { worker.Run(); });
//   worker.Stop();
//
// Thread-safety: Run on one thread; Stop from any thread.
#ifndef GOALKEEPER_WORKER_FLEET_WORKER_H_
#define GOALKEEPER_WORKER_FLEET_WORKER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/clock.h"
#include "common/coordinator_client.h"
#include "common/tls_config.h"
#include "engine/scan_engine.h"
#include "probes/udp_probe.h"

namespace goalkeeper {

struct FleetWorkerOptions {
  std::string coordinator;      // HOST:PORT
  TlsConfig tls;                // how the coordinator is dialled (common/tls.h)
  std::string name;             // shown by `goalkeeperctl workers list`
  uint64_t concurrency = 4096;  // probes in flight
  unsigned threads = 0;         // engine threads, 0 = one per core
  size_t batch_size = 512;      // findings per ReportFindings call
  // This node's own cap in probes/s, whatever the scan's profile allows
  // (0 = none). The default keeps unanswered connects under what a node's
  // connection-tracking table absorbs: 262,144 entries / 120 s SYN_SENT
  // timeout is ~2,200 per second (docs/scaling.md).
  double max_rate = 2000;
  // Protocol probes: the deadline of one TCP probe conversation, and what the
  // UDP requests carry (the DNS name, the SNMP community). The mode and the
  // UDP services come with each shard's profile.
  std::chrono::milliseconds probe_timeout{2000};
  probes::UdpProbeOptions udp_probe;
  // Heartbeat schedule and retry deadlines; null = the system clock.
  const Clock* clock = nullptr;
  // Told true once registered and whenever a call succeeds after a failure,
  // false when a call fails with UNAVAILABLE or DEADLINE_EXCEEDED (the
  // coordinator is away or unreachable). It starts unreachable and only
  // changes are told, so the first call is true, at registration. Called on
  // the worker's threads: keep it quick. Empty = nobody listens.
  std::function<void(bool reachable)> on_reachable;
};

// What the worker did since it started, for /metrics.
struct FleetWorkerStats {
  // Probe totals of every engine the worker ran (by state, attempts, in
  // flight now); live atomics, readable at any time.
  std::shared_ptr<const ScanCounters> probes;
  uint64_t shards_completed = 0;    // every probe reported and completed
  uint64_t shards_handed_back = 0;  // returned unfinished (stop, cancel, unstartable)
  uint64_t leases_lost = 0;         // the coordinator said the lease was gone
  // The cap in force now, in probes/s: the node's --max-rate or the sum of
  // the scans' shares, whichever is lower (0: none).
  double applied_rate = 0;
};

class FleetWorker {
 public:
  // Dials options.coordinator over gRPC.
  explicit FleetWorker(FleetWorkerOptions options);
  // Talks to the coordinator through `client` (tests: a fake).
  FleetWorker(FleetWorkerOptions options, std::unique_ptr<CoordinatorClient> client);
  ~FleetWorker();
  FleetWorker(const FleetWorker&) = delete;
  FleetWorker& operator=(const FleetWorker&) = delete;

  // Runs until Stop(); returns OK after a clean stop.
  absl::Status Run();
  void Stop();
  // Thread-safe; any time (before, during and after Run).
  FleetWorkerStats Stats();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_WORKER_FLEET_WORKER_H_
