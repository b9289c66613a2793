#include "common/process_metrics.h"

#include <dirent.h>
#include <prometheus/gauge.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/version.h"

namespace goalkeeper {
namespace {

std::string ReadAll(const char* path) {
  std::ifstream in(path);
  if (!in) return "";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

int64_t CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int64_t n = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;  // the descriptor opendir itself holds
}

prometheus::MetricFamily Family(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(m);
  return f;
}

class ProcCollector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    return ParseProcessMetrics(ReadAll("/proc/self/stat"), ReadAll("/proc/stat"),
                               ReadAll("/proc/self/limits"), CountOpenFds(), sysconf(_SC_CLK_TCK),
                               sysconf(_SC_PAGESIZE));
  }
};

}  // namespace

absl::string_view GoalkeeperVersion() { return Version(); }

void AddBuildInfo(prometheus::Registry& registry, absl::string_view component) {
  prometheus::BuildGauge()
      .Name("goalkeeper_build_info")
      .Help("Always 1; the labels name the running version and component")
      .Register(registry)
      .Add({{"version", std::string(GoalkeeperVersion())}, {"component", std::string(component)}})
      .Set(1);
}

std::shared_ptr<prometheus::Collectable> ProcessCollector() {
  static auto* collector =
      new std::shared_ptr<prometheus::Collectable>(std::make_shared<ProcCollector>());
  return *collector;
}

std::vector<prometheus::MetricFamily> ParseProcessMetrics(absl::string_view self_stat,
                                                          absl::string_view system_stat,
                                                          absl::string_view limits,
                                                          int64_t open_fds, long ticks, long page) {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  // /proc/self/stat: "pid (comm) state ppid ...": comm may hold spaces and
  // parentheses, so the fields are counted from the last ')'. After it,
  // field 3 (state) is index 0: utime (14) is 11, stime 12, starttime (22)
  // 19, vsize 20, rss (pages) 21.
  const size_t paren = self_stat.rfind(')');
  std::vector<absl::string_view> f;
  if (paren != absl::string_view::npos) {
    f = absl::StrSplit(self_stat.substr(paren + 1), ' ', absl::SkipEmpty());
  }
  double utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
  if (f.size() > 21 && ticks > 0 && absl::SimpleAtod(f[11], &utime) &&
      absl::SimpleAtod(f[12], &stime) && absl::SimpleAtod(f[19], &start) &&
      absl::SimpleAtod(f[20], &vsize) && absl::SimpleAtod(f[21], &rss)) {
    const double hz = static_cast<double>(ticks);
    out.push_back(Family("process_cpu_seconds_total", "Total user and system CPU time spent",
                         MetricType::Counter, (utime + stime) / hz));
    out.push_back(Family("process_resident_memory_bytes", "Resident memory size in bytes",
                         MetricType::Gauge, rss * static_cast<double>(page)));
    out.push_back(Family("process_virtual_memory_bytes", "Virtual memory size in bytes",
                         MetricType::Gauge, vsize));
    // starttime counts ticks since boot; /proc/stat's btime is the boot time.
    for (absl::string_view line : absl::StrSplit(system_stat, '\n')) {
      double btime = 0;
      if (absl::ConsumePrefix(&line, "btime ") && absl::SimpleAtod(line, &btime)) {
        out.push_back(Family("process_start_time_seconds",
                             "Start time of the process since the Unix epoch, in seconds",
                             MetricType::Gauge, btime + start / hz));
      }
    }
  }
  if (open_fds >= 0) {
    out.push_back(Family("process_open_fds", "Number of open file descriptors", MetricType::Gauge,
                         static_cast<double>(open_fds)));
  }
  // "Max open files            1048576              1048576              files"
  for (absl::string_view line : absl::StrSplit(limits, '\n')) {
    if (!absl::ConsumePrefix(&line, "Max open files")) continue;
    std::vector<absl::string_view> v = absl::StrSplit(line, ' ', absl::SkipEmpty());
    double soft = 0;
    if (!v.empty() && absl::SimpleAtod(v[0], &soft)) {
      out.push_back(Family("process_max_fds", "Maximum number of open file descriptors",
                           MetricType::Gauge, soft));
    }
  }
  return out;
}

void AdvanceCounter(prometheus::Counter& counter, double total) {
  const double now = counter.Value();
  if (total > now) counter.Increment(total - now);
}

}  // namespace goalkeeper
