// The fleet worker's Prometheus families, read from FleetWorker::Stats at
// each scrape (no thread of their own): probes by state, connect attempts,
// probes in flight, the measured and the applied probe rate, shards
// completed and handed back, leases lost. docs/metrics.md lists them.
//
//   auto metrics = std::make_shared<WorkerMetrics>(worker);
//   exposer->RegisterCollectable(metrics);   // next to StartMetrics' own
//
// Thread-safety: Collect may run on any thread (the rate's last sample is
// behind a mutex).
#ifndef GOALKEEPER_WORKER_WORKER_METRICS_H_
#define GOALKEEPER_WORKER_WORKER_METRICS_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <chrono>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "worker/fleet_worker.h"

namespace goalkeeper {

class WorkerMetrics final : public prometheus::Collectable {
 public:
  // `worker` must outlive the collector's use (the exposer's).
  explicit WorkerMetrics(FleetWorker& worker) : worker_(worker) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  FleetWorker& worker_;
  mutable absl::Mutex mu_;
  // The previous scrape's probe total and time (the measured rate is the
  // rate since then).
  mutable uint64_t last_done_ ABSL_GUARDED_BY(mu_) = 0;
  mutable std::chrono::steady_clock::time_point last_time_ ABSL_GUARDED_BY(mu_) =
      std::chrono::steady_clock::now();
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_WORKER_WORKER_METRICS_H_
