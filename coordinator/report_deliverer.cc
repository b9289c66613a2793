#include "coordinator/report_deliverer.h"

#include <algorithm>

#include <grpcpp/grpcpp.h>

#include "common/grpc_channel.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "goalkeeper/v1/notifier.grpc.pb.h"

namespace goalkeeper {
namespace {

class GrpcReportSender : public ReportSender {
 public:
  explicit GrpcReportSender(const std::string& address)
      : stub_(goalkeeper::v1::Notifier::NewStub(
            MakeChannel(address, ChannelOptions{}))) {}

  absl::Status Send(const goalkeeper::v1::ScanReport& report) override {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    goalkeeper::v1::DeliverReportResponse resp;
    return FromGrpcStatus(stub_->DeliverReport(&ctx, report, &resp));
  }

 private:
  std::unique_ptr<goalkeeper::v1::Notifier::Stub> stub_;
};

}  // namespace

std::unique_ptr<ReportSender> MakeGrpcReportSender(const std::string& address) {
  return std::make_unique<GrpcReportSender>(address);
}

absl::Duration ReportDeliverer::Backoff(uint32_t attempts) {
  const uint32_t shift = std::min<uint32_t>(attempts > 0 ? attempts - 1 : 0, 16);
  return std::min(absl::Seconds(int64_t{1} << shift), absl::Minutes(5));
}

int ReportDeliverer::Tick() {
  if (sender_ == nullptr) return 0;
  auto due = manager_.DueReports(16);
  auto log = MakeLogger("coordinator");
  if (!due.ok()) {
    log->error("cannot read pending reports: {}", due.status().message());
    return 0;
  }
  int delivered = 0;
  for (const ReportRow& row : *due) {
    absl::Status s = sender_->Send(row.report);
    if (s.ok()) {
      if (absl::Status m = manager_.ReportDelivered(row.scan_id); !m.ok()) {
        log->error("report delivered but not marked scan={}: {}", row.scan_id, m.message());
      }
      log->info("report delivered scan={} exposures={} attempts={}", row.scan_id,
                row.report.exposures_size(), row.attempts + 1);
      ++delivered;
      continue;
    }
    const uint32_t attempts = row.attempts + 1;
    const absl::Time next = clock_.Now() + Backoff(attempts);
    log->warn("report delivery failed scan={} attempt={} retry_in={} error={}", row.scan_id,
              attempts, absl::FormatDuration(Backoff(attempts)), s.message());
    manager_.ReportFailed(row.scan_id, attempts, next, std::string(s.message())).IgnoreError();
  }
  return delivered;
}

}  // namespace goalkeeper
