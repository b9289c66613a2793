// `goalkeeper-worker run`: a fleet worker. It dials the coordinator, pulls
// leased shards (slices of a scan's probe permutation), scans them with the
// ScanEngine, streams open ports back in acknowledged batches, heartbeats its
// leases, and completes each shard only after every finding was stored.
// Pipelining: when the engine is about to run out of probes to start, the
// next shard is leased and its probes run while the current shard's last
// probes wait for their deadlines (at most 16 shards held at once).
//
// Flow control: at most one batch of findings is in flight; when the
// coordinator is slow the engine's result callback blocks, so the worker
// slows down instead of growing memory.
// Failures: every RPC is retried with backoff while the coordinator is away
// (the coordinator keeps leases across restarts). A lease the coordinator
// says is gone (expired or its scan cancelled) stops the shard at once.
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

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "engine/scan_engine.h"

namespace goalkeeper {

struct FleetWorkerOptions {
  std::string coordinator;      // HOST:PORT
  std::string name;             // shown by `goalkeeperctl workers list`
  uint64_t concurrency = 4096;  // probes in flight
  unsigned threads = 0;         // engine threads, 0 = one per core
  size_t batch_size = 512;      // findings per ReportFindings call
  // This node's own cap in probes/s, whatever the scan's profile allows
  // (0 = none). The default keeps unanswered connects under what a node's
  // connection-tracking table absorbs: 262,144 entries / 120 s SYN_SENT
  // timeout is ~2,200 per second (docs/scaling.md).
  double max_rate = 2000;
};

class FleetWorker {
 public:
  explicit FleetWorker(FleetWorkerOptions options);
  ~FleetWorker();
  FleetWorker(const FleetWorker&) = delete;
  FleetWorker& operator=(const FleetWorker&) = delete;

  // Runs until Stop(); returns OK after a clean stop.
  absl::Status Run();
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_WORKER_FLEET_WORKER_H_
