#include "common/process_metrics.h"

#include <prometheus/counter.h>

#include <map>
#include <string>

#include "common/grpc_server_metrics.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

std::map<std::string, double> Values(const std::vector<prometheus::MetricFamily>& families) {
  std::map<std::string, double> out;
  for (const auto& f : families) {
    const auto& m = f.metric.at(0);
    out[f.name] = f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
  }
  return out;
}

// A comm with spaces and a ')' must not shift the fields.
constexpr char kStat[] =
    "4242 (gk (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 12345 "
    "873111552 6717 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";
constexpr char kSystemStat[] = "cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n";
constexpr char kLimits[] =
    "Limit                     Soft Limit           Hard Limit           Units\n"
    "Max open files            20000                1048576              files\n";

TEST(ProcessMetricsTest, ReadsCpuMemoryStartAndDescriptors) {
  auto v = Values(ParseProcessMetrics(kStat, kSystemStat, kLimits, 17, 100, 4096));
  EXPECT_DOUBLE_EQ(v.at("process_cpu_seconds_total"), 3.0);  // (250 + 50) / 100
  EXPECT_DOUBLE_EQ(v.at("process_resident_memory_bytes"), 6717.0 * 4096);
  EXPECT_DOUBLE_EQ(v.at("process_virtual_memory_bytes"), 873111552.0);
  EXPECT_DOUBLE_EQ(v.at("process_start_time_seconds"), 1700000000.0 + 123.45);
  EXPECT_DOUBLE_EQ(v.at("process_open_fds"), 17);
  EXPECT_DOUBLE_EQ(v.at("process_max_fds"), 20000);
  EXPECT_EQ(v.size(), 6u);
}

TEST(ProcessMetricsTest, LeavesOutWhatItCannotRead) {
  auto v = Values(
      ParseProcessMetrics("garbage", "", "Max open files unlimited unlimited", -1, 100, 4096));
  EXPECT_TRUE(v.empty());
}

TEST(ProcessMetricsTest, CollectorReadsThisProcess) {
  auto v = Values(ProcessCollector()->Collect());
  EXPECT_GT(v.at("process_resident_memory_bytes"), 1 << 20);
  EXPECT_GE(v.at("process_open_fds"), 3);
  EXPECT_GE(v.at("process_max_fds"), v.at("process_open_fds"));
}

TEST(ProcessMetricsTest, AdvanceCounterOnlyMovesUp) {
  prometheus::Counter c;
  AdvanceCounter(c, 5);
  EXPECT_EQ(c.Value(), 5);
  AdvanceCounter(c, 3);  // a restarted count: ignored
  EXPECT_EQ(c.Value(), 5);
  AdvanceCounter(c, 7);
  EXPECT_EQ(c.Value(), 7);
}

TEST(GrpcServerMetricsTest, NamesCodesTheGrpcEcosystemWay) {
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::NOT_FOUND), "NotFound");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::CANCELLED), "Canceled");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAVAILABLE), "Unavailable");
}

TEST(GrpcServerMetricsTest, SplitsServiceAndMethod) {
  GrpcServerMetrics m;
  m.Started("unary", "/goalkeeper.v1.Coordinator/GetScan");
  m.Handled("unary", "/goalkeeper.v1.Coordinator/GetScan", grpc::StatusCode::NOT_FOUND, 0.002);
  bool found = false;
  for (const auto& f : m.registry()->Collect()) {
    if (f.name != "grpc_server_handled_total") continue;
    for (const auto& metric : f.metric) {
      std::map<std::string, std::string> l;
      for (const auto& label : metric.label) l[label.name] = label.value;
      found = l["grpc_service"] == "goalkeeper.v1.Coordinator" && l["grpc_method"] == "GetScan" &&
              l["grpc_code"] == "NotFound" && l["grpc_type"] == "unary" &&
              metric.counter.value == 1;
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace goalkeeper
