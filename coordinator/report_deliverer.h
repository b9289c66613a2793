// Delivers finished scans' reports to the notifier: each report is stored
// (by the ScanManager, in the same transaction that ends its scan) before it
// is sent, retried with exponential backoff until acknowledged, and marked
// delivered only then; the notifier deduplicates by scan id and content (the
// same report again is a duplicate; another report under the same id is
// ALREADY_EXISTS, logged here as an error), so a crash between its
// acknowledgement and our mark repeats nothing for the owners.
//
// A report of any size goes out as a stream (Notifier.DeliverReportStream):
// its header, then its exposures read from the store a page at a time, so
// neither a gRPC message nor the coordinator's memory has to hold it whole.
// Delivery runs on its own thread (coordinator_server.cc): a notifier that
// never answers delays only reports, never lease expiry or commits.
//
//   ReportDeliverer d(manager, sender.get(), clock);
//   d.Tick();   // from the coordinator's delivery thread
//
// Thread-safety: Tick is called from one thread; the attempt counts are
// read from any.
#ifndef GOALKEEPER_COORDINATOR_REPORT_DELIVERER_H_
#define GOALKEEPER_COORDINATOR_REPORT_DELIVERER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/clock.h"
#include "common/tls_config.h"
#include "coordinator/scan_manager.h"
#include "goalkeeper/v1/notifier.pb.h"

namespace goalkeeper {

// The seam to the notifier.
class ReportSender {
 public:
  // The next page of the report's exposures, in order; an empty page ends
  // them.
  using NextPage = std::function<absl::StatusOr<std::vector<goalkeeper::v1::Exposure>>()>;
  virtual ~ReportSender() = default;
  // `header`: the report without exposures, exposure_count set.
  virtual absl::Status Send(const goalkeeper::v1::ScanReport& header, const NextPage& next) = 0;
  // Cancels a Send in flight and fails later ones (at shutdown). Thread-safe.
  virtual void Shutdown() {}
};

// Sends over gRPC to goalkeeper.v1.Notifier at `address`, with the
// coordinator's own certificate (`tls`, common/grpc_channel.h).
std::unique_ptr<ReportSender> MakeGrpcReportSender(const std::string& address,
                                                   const TlsConfig& tls);

class ReportDeliverer {
 public:
  // `sender` may be null: reports then stay pending (they were logged when
  // their scan ended) until a notifier is configured.
  ReportDeliverer(ScanManager& manager, ReportSender* sender, const Clock& clock)
      : manager_(manager), sender_(sender), clock_(clock) {}

  // Sends every due report once; returns how many were delivered.
  int Tick();

  // Backoff after `attempts` failures: 1 s, 2 s, 4 s ... capped at 5 minutes.
  static absl::Duration Backoff(uint32_t attempts);

  // Exposures per page read from the store (and per chunk sent).
  static constexpr uint32_t kPage = 4096;

  // Delivery attempts since start that the notifier acknowledged / that
  // failed (readable from any thread, for /metrics).
  uint64_t delivered_attempts() const { return delivered_attempts_.load(); }
  uint64_t failed_attempts() const { return failed_attempts_.load(); }

 private:
  ScanManager& manager_;
  ReportSender* sender_;
  const Clock& clock_;
  std::atomic<uint64_t> delivered_attempts_{0};
  std::atomic<uint64_t> failed_attempts_{0};
};

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_REPORT_DELIVERER_H_
