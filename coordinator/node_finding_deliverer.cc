#include "coordinator/node_finding_deliverer.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_channel.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "goalkeeper/v1/notifier.grpc.pb.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

// A notifier restarted is reached again within about a second.
ChannelOptions FastReconnect(const TlsConfig& tls) {
  ChannelOptions options;
  options.fast_reconnect = true;
  options.tls = tls;
  return options;
}

class GrpcNodeFindingSender : public NodeFindingSender {
 public:
  GrpcNodeFindingSender(const std::string& address, const TlsConfig& tls)
      : stub_(v1::Notifier::NewStub(MakeChannel(address, FastReconnect(tls)))) {}

  void Shutdown() override {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }

  absl::StatusOr<v1::DeliverNodeFindingsResponse> Send(const v1::NodeFindingBatch& batch) override {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    {
      absl::MutexLock lock(&mu_);
      if (shutdown_) return absl::CancelledError("shutting down");
      active_ = &ctx;
    }
    v1::DeliverNodeFindingsResponse resp;
    const grpc::Status s = stub_->DeliverNodeFindings(&ctx, batch, &resp);
    {
      absl::MutexLock lock(&mu_);
      active_ = nullptr;
    }
    if (!s.ok()) return FromGrpcStatus(s);
    return resp;
  }

 private:
  std::unique_ptr<v1::Notifier::Stub> stub_;
  absl::Mutex mu_;
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

// Refusals about the batch's content: sending it again as it is cannot help.
bool AboutContent(const absl::Status& s) {
  return s.code() == absl::StatusCode::kAlreadyExists ||
         s.code() == absl::StatusCode::kInvalidArgument;
}

}  // namespace

std::unique_ptr<NodeFindingSender> MakeGrpcNodeFindingSender(const std::string& address,
                                                             const TlsConfig& tls) {
  return std::make_unique<GrpcNodeFindingSender>(address, tls);
}

absl::Duration NodeFindingDeliverer::Backoff(uint32_t attempts) {
  const uint32_t shift = std::min<uint32_t>(attempts > 0 ? attempts - 1 : 0, 16);
  return std::min(absl::Seconds(int64_t{1} << shift), absl::Minutes(5));
}

absl::Status NodeFindingDeliverer::SendBatch(const std::vector<NodeFindingRow>& rows) {
  v1::NodeFindingBatch batch;
  for (const NodeFindingRow& row : rows) {
    v1::NodeFindingDelivery* d = batch.add_findings();
    d->set_node(row.node);
    d->set_id(row.finding.id());
    *d->mutable_finding() = row.finding;
    d->set_received_unix_ms(row.received_ms);
  }
  absl::StatusOr<v1::DeliverNodeFindingsResponse> resp = sender_->Send(batch);
  (resp.ok() ? delivered_attempts_ : failed_attempts_).fetch_add(1, std::memory_order_relaxed);
  if (!resp.ok()) return resp.status();
  delivered_findings_.fetch_add(rows.size(), std::memory_order_relaxed);
  auto log = MakeLogger("coordinator");
  if (absl::Status m = registry_.MarkDelivered(rows); !m.ok()) {
    // Sent again later; the notifier answers "duplicate" and mails nothing.
    log->error("node findings delivered but not marked count={}: {}", rows.size(), m.message());
  }
  log->info("node findings delivered count={} stored={} duplicates={}", rows.size(), resp->stored(),
            resp->duplicates());
  for (const NodeFindingRow& row : rows) held_.erase({row.node, row.finding.id()});
  return absl::OkStatus();
}

void NodeFindingDeliverer::Hold(const NodeFindingRow& row, const absl::Status& error,
                                absl::Time now) {
  Held& h = held_[{row.node, row.finding.id()}];
  ++h.attempts;
  h.next_attempt = now + Backoff(h.attempts);
  MakeLogger("coordinator")
      ->error("node finding refused by the notifier node={} id={} attempt={} retry_in={} error={}",
              row.node, row.finding.id(), h.attempts, absl::FormatDuration(Backoff(h.attempts)),
              error.message());
}

int NodeFindingDeliverer::Tick() {
  if (sender_ == nullptr) return 0;
  const absl::Time now = clock_.Now();
  if (now < next_attempt_) return 0;
  auto log = MakeLogger("coordinator");
  // Findings waiting alone are skipped (until due), so read past them.
  auto rows = registry_.Undelivered(kBatch + static_cast<uint32_t>(held_.size()));
  if (!rows.ok()) {
    log->error("cannot read undelivered node findings: {}", rows.status().message());
    return 0;
  }
  std::vector<NodeFindingRow> batch;
  for (NodeFindingRow& row : *rows) {
    if (batch.size() >= kBatch) break;
    auto held = held_.find({row.node, row.finding.id()});
    if (held != held_.end() && now < held->second.next_attempt) continue;
    batch.push_back(std::move(row));
  }
  if (batch.empty()) return 0;

  absl::Status s = SendBatch(batch);
  if (s.ok()) {
    attempts_ = 0;
    next_attempt_ = absl::InfinitePast();
    return static_cast<int>(batch.size());
  }
  if (!AboutContent(s)) {
    ++attempts_;
    next_attempt_ = now + Backoff(attempts_);
    log->warn("node findings delivery failed count={} attempt={} retry_in={} error={}",
              batch.size(), attempts_, absl::FormatDuration(Backoff(attempts_)), s.message());
    return 0;
  }
  if (batch.size() == 1) {
    Hold(batch.front(), s, now);
    return 0;
  }
  // Refused for its content: one at a time, so only the refused one waits.
  log->warn("node findings batch refused count={} error={}; sending them one at a time",
            batch.size(), s.message());
  int delivered = 0;
  for (const NodeFindingRow& row : batch) {
    absl::Status one = SendBatch({row});
    if (one.ok()) {
      ++delivered;
      continue;
    }
    if (AboutContent(one)) {
      Hold(row, one, now);
      continue;
    }
    ++attempts_;
    next_attempt_ = now + Backoff(attempts_);
    log->warn("node findings delivery failed count=1 attempt={} retry_in={} error={}", attempts_,
              absl::FormatDuration(Backoff(attempts_)), one.message());
    break;
  }
  return delivered;
}

}  // namespace goalkeeper
