#include "coordinator/report_deliverer.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_channel.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "goalkeeper/v1/notifier.grpc.pb.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

ChannelOptions WithTls(const TlsConfig& tls) {
  ChannelOptions options;
  options.tls = tls;
  return options;
}

class GrpcReportSender : public ReportSender {
 public:
  GrpcReportSender(const std::string& address, const TlsConfig& tls)
      : stub_(goalkeeper::v1::Notifier::NewStub(MakeChannel(address, WithTls(tls)))) {}

  void Shutdown() override {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }

  absl::Status Send(const goalkeeper::v1::ScanReport& header, const NextPage& next) override {
    grpc::ClientContext ctx;
    {
      absl::MutexLock lock(&mu_);
      if (shutdown_) return absl::CancelledError("shutting down");
      active_ = &ctx;
    }
    absl::Status s = SendOn(ctx, header, next);
    absl::MutexLock lock(&mu_);
    active_ = nullptr;
    return s;
  }

 private:
  absl::Status SendOn(grpc::ClientContext& ctx, const goalkeeper::v1::ScanReport& header,
                      const NextPage& next) {
    // 30 s, and one more per 10,000 exposures.
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30) +
                     std::chrono::seconds(header.exposure_count() / 10000));
    goalkeeper::v1::DeliverReportResponse resp;
    std::unique_ptr<grpc::ClientWriter<goalkeeper::v1::ReportChunk>> writer =
        stub_->DeliverReportStream(&ctx, &resp);
    goalkeeper::v1::ReportChunk chunk;
    *chunk.mutable_header() = header;
    bool ok = writer->Write(chunk);
    absl::Status paging;
    while (ok) {
      absl::StatusOr<std::vector<goalkeeper::v1::Exposure>> page = next();
      if (!page.ok()) {
        paging = page.status();
        ctx.TryCancel();  // the notifier stores nothing of a broken stream
        break;
      }
      if (page->empty()) break;
      chunk.Clear();
      for (goalkeeper::v1::Exposure& e : *page) {
        *chunk.mutable_exposures()->add_exposures() = std::move(e);
      }
      ok = writer->Write(chunk);
    }
    if (ok && paging.ok()) writer->WritesDone();
    absl::Status s = FromGrpcStatus(writer->Finish());
    return paging.ok() ? s : paging;
  }

  std::unique_ptr<goalkeeper::v1::Notifier::Stub> stub_;
  absl::Mutex mu_;
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

std::unique_ptr<ReportSender> MakeGrpcReportSender(const std::string& address,
                                                   const TlsConfig& tls) {
  return std::make_unique<GrpcReportSender>(address, tls);
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
    // The header, and pages of exposures from the store (or from the stored
    // report itself when an earlier version stored them there).
    v1::ScanReport header = row.report;
    std::vector<v1::Exposure> legacy(header.exposures().begin(), header.exposures().end());
    header.clear_exposures();
    if (!legacy.empty()) header.set_exposure_count(legacy.size());
    uint64_t offset = 0;
    ReportSender::NextPage next_page = [&]() -> absl::StatusOr<std::vector<v1::Exposure>> {
      if (!legacy.empty()) {
        const size_t end = std::min<size_t>(legacy.size(), offset + kPage);
        std::vector<v1::Exposure> page(legacy.begin() + static_cast<ptrdiff_t>(offset),
                                       legacy.begin() + static_cast<ptrdiff_t>(end));
        offset = end;
        return page;
      }
      auto page = manager_.ReportExposures(row.scan_id, offset, kPage);
      if (page.ok()) offset += page->size();
      return page;
    };
    absl::Status s = sender_->Send(header, next_page);
    (s.ok() ? delivered_attempts_ : failed_attempts_).fetch_add(1, std::memory_order_relaxed);
    if (s.ok()) {
      if (absl::Status m = manager_.ReportDelivered(row.scan_id); !m.ok()) {
        log->error("report delivered but not marked scan={}: {}", row.scan_id, m.message());
      }
      log->info("report delivered scan={} exposures={} attempts={}", row.scan_id,
                header.exposure_count(), row.attempts + 1);
      ++delivered;
      continue;
    }
    const uint32_t attempts = row.attempts + 1;
    const absl::Time next = clock_.Now() + Backoff(attempts);
    if (s.code() == absl::StatusCode::kAlreadyExists) {
      // The notifier holds another report under this scan id (it keeps the
      // first): an operator must look; retried so that it stays visible.
      log->error("report refused by the notifier scan={} attempt={} retry_in={} error={}",
                 row.scan_id, attempts, absl::FormatDuration(Backoff(attempts)), s.message());
    } else {
      log->warn("report delivery failed scan={} attempt={} retry_in={} error={}", row.scan_id,
                attempts, absl::FormatDuration(Backoff(attempts)), s.message());
    }
    manager_.ReportFailed(row.scan_id, attempts, next, std::string(s.message())).IgnoreError();
  }
  return delivered;
}

}  // namespace goalkeeper
