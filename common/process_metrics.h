// Process-level Prometheus metrics that every Goalkeeper daemon exposes, with
// the names the Prometheus client libraries use, so the usual dashboards and
// alerts work unchanged: process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds (read from
// /proc/self at each scrape), and goalkeeper_build_info{version,component} 1.
//
//   auto registry = std::make_shared<prometheus::Registry>();
//   AddBuildInfo(*registry, "coordinator");            // version: the project's
//   exposer.RegisterCollectable(ProcessCollector());   // shared, process-wide
//
// The collector knows no component. On a system without /proc a family whose
// file cannot be read is left out of the scrape (never a made-up value).
//
// Thread-safety: ProcessCollector's Collect may run on any thread, at once.
#ifndef GOALKEEPER_COMMON_PROCESS_METRICS_H_
#define GOALKEEPER_COMMON_PROCESS_METRICS_H_

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace goalkeeper {

// "0.1.0": the project version (CMakeLists.txt), as reported by build_info.
absl::string_view GoalkeeperVersion();

// goalkeeper_build_info{version="0.1.0",component=...} 1 in `registry`.
void AddBuildInfo(prometheus::Registry& registry, absl::string_view component);

// The process collector, one per process (it lives until exit, so an Exposer
// holding it by weak_ptr never sees it go).
std::shared_ptr<prometheus::Collectable> ProcessCollector();

// What ProcessCollector reads, parsed (exposed for tests). The texts are
// /proc/self/stat, /proc/stat and /proc/self/limits; `ticks` is
// sysconf(_SC_CLK_TCK), `page` the page size. Families whose input is empty
// or malformed are left out.
std::vector<prometheus::MetricFamily> ParseProcessMetrics(absl::string_view self_stat,
                                                          absl::string_view system_stat,
                                                          absl::string_view limits,
                                                          int64_t open_fds, long ticks, long page);

// Moves a counter up to `total` (a cumulative count kept elsewhere, e.g. in
// a component's stats); a lower total (a restart of that count) is ignored.
void AdvanceCounter(prometheus::Counter& counter, double total);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_PROCESS_METRICS_H_
