#include "worker/worker_metrics.h"

#include <algorithm>
#include <string>

namespace goalkeeper {
namespace {

using prometheus::MetricType;

prometheus::MetricFamily One(const char* name, const char* help, MetricType type, double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  (type == MetricType::Counter ? m.counter.value : m.gauge.value) = value;
  f.metric.push_back(m);
  return f;
}

}  // namespace

std::vector<prometheus::MetricFamily> WorkerMetrics::Collect() const {
  const FleetWorkerStats s = worker_.Stats();
  const ScanCounters& c = *s.probes;
  std::vector<prometheus::MetricFamily> out;

  prometheus::MetricFamily by_state;
  by_state.name = "goalkeeper_worker_probes_total";
  by_state.help = "Probes finished since start, by result state";
  by_state.type = MetricType::Counter;
  const std::pair<const char*, uint64_t> states[] = {{"open", c.open.load()},
                                                     {"closed", c.closed.load()},
                                                     {"filtered", c.filtered.load()},
                                                     {"unreachable", c.unreachable.load()}};
  uint64_t done = 0;
  for (const auto& [state, n] : states) {
    prometheus::ClientMetric m;
    m.label.push_back({"state", state});
    m.counter.value = static_cast<double>(n);
    by_state.metric.push_back(m);
    done += n;
  }
  out.push_back(by_state);
  out.push_back(One("goalkeeper_worker_probe_attempts_total",
                    "Connects started since start, retries included", MetricType::Counter,
                    static_cast<double>(c.attempts.load())));
  out.push_back(One("goalkeeper_worker_local_errors_total",
                    "Connects that failed on this host (no descriptors or ports), retried",
                    MetricType::Counter, static_cast<double>(c.local_errors.load())));
  out.push_back(One("goalkeeper_worker_probes_in_flight", "Connects open right now",
                    MetricType::Gauge,
                    static_cast<double>(std::max<int64_t>(0, c.in_flight.load()))));
  double rate = 0;
  {
    absl::MutexLock lock(&mu_);
    const auto now = std::chrono::steady_clock::now();
    const double secs = std::chrono::duration<double>(now - last_time_).count();
    if (secs > 0 && done >= last_done_) rate = static_cast<double>(done - last_done_) / secs;
    last_done_ = done;
    last_time_ = now;
  }
  out.push_back(One("goalkeeper_worker_probes_per_second",
                    "Probes finished per second since the previous scrape", MetricType::Gauge,
                    rate));
  out.push_back(One("goalkeeper_worker_applied_rate_probes_per_second",
                    "Probe rate cap in force: the node's --max-rate or the sum of the scans' "
                    "shares, whichever is lower (0: none)",
                    MetricType::Gauge, s.applied_rate));
  out.push_back(One("goalkeeper_worker_shards_completed_total",
                    "Shards whose every probe was reported and that were completed",
                    MetricType::Counter, static_cast<double>(s.shards_completed)));
  out.push_back(One("goalkeeper_worker_shards_handed_back_total",
                    "Shards handed back unfinished (stop, cancel, unstartable)",
                    MetricType::Counter, static_cast<double>(s.shards_handed_back)));
  out.push_back(One("goalkeeper_worker_leases_lost_total",
                    "Leases the coordinator reported gone (their shards stopped)",
                    MetricType::Counter, static_cast<double>(s.leases_lost)));
  return out;
}

}  // namespace goalkeeper
