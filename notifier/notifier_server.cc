#include "notifier/notifier_server.h"

#include <grpcpp/grpcpp.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/authz.h"
#include "common/caller.h"
#include "common/grpc_status.h"
#include "common/health_service.h"
#include "common/http_client.h"
#include "common/logging.h"
#include "common/process_metrics.h"
#include "common/server_util.h"
#include "common/tls.h"
#include "goalkeeper/v1/notifier.grpc.pb.h"
#include "notifier/eml_writer.h"
#include "notifier/mailer.h"
#include "notifier/node_findings.h"
#include "notifier/notification_store.h"
#include "notifier/notifier_authz.h"
#include "notifier/outbox_sender.h"
#include "notifier/owner_resolver.h"
#include "notifier/report_processor.h"
#include "notifier/smtp_mailer.h"
#include "notifier/telegram.h"
#include "owner_apis/fleio_client.h"
#include "owner_apis/openstack_client.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

class NotifierService final : public v1::Notifier::Service {
 public:
  NotifierService(NotificationStore& store, NodeFindingReceiver& nodes, const Clock& clock,
                  absl::Mutex& wake_mu, absl::CondVar& wake, const AuthConfig& auth)
      : store_(store), nodes_(nodes), clock_(clock), wake_mu_(wake_mu), wake_(wake), auth_(auth) {}

  // Node findings: stored with their notifications queued, then acknowledged.
  grpc::Status DeliverNodeFindings(grpc::ServerContext*, const v1::NodeFindingBatch* batch,
                                   v1::DeliverNodeFindingsResponse* resp) override {
    absl::StatusOr<v1::DeliverNodeFindingsResponse> r = nodes_.Receive(*batch);
    if (!r.ok()) return ToGrpcStatus(r.status());
    *resp = *std::move(r);
    absl::MutexLock lock(&wake_mu_);
    wake_.Signal();
    return grpc::Status::OK;
  }

  grpc::Status DeliverReport(grpc::ServerContext*, const v1::ScanReport* report,
                             v1::DeliverReportResponse* resp) override {
    return Store(*report, resp);
  }

  // Header, then batches of exposures; the whole report is stored in one
  // transaction at the end, so a broken stream stores nothing.
  grpc::Status DeliverReportStream(grpc::ServerContext* ctx,
                                   grpc::ServerReader<v1::ReportChunk>* reader,
                                   v1::DeliverReportResponse* resp) override {
    // Each stream holds its report in memory until stored: a few at a time.
    if (streams_.fetch_add(1) >= kMaxStreams) {
      streams_.fetch_sub(1);
      return grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("more than ", kMaxStreams, " report streams at once; try again later"));
    }
    grpc::Status s = ReceiveStream(ctx, reader, resp);
    streams_.fetch_sub(1);
    return s;
  }

 private:
  grpc::Status ReceiveStream(grpc::ServerContext* ctx, grpc::ServerReader<v1::ReportChunk>* reader,
                             v1::DeliverReportResponse* resp) {
    v1::ReportChunk chunk;
    if (!reader->Read(&chunk) || !chunk.has_header()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "DeliverReportStream: the first chunk must be the report's header");
    }
    v1::ScanReport report = std::move(*chunk.mutable_header());
    const uint64_t expected = report.exposure_count();
    if (expected > kMaxReportExposures || report.exposures_size() != 0) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("report of scan '", report.scan_id(), "': exposure_count ", expected,
                       " (at most ", kMaxReportExposures, ", and exposures come in later chunks)"));
    }
    report.mutable_exposures()->Reserve(static_cast<int>(std::min<uint64_t>(expected, 100000)));
    while (reader->Read(&chunk)) {
      if (!chunk.has_exposures()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "DeliverReportStream: a second header");
      }
      auto* batch = chunk.mutable_exposures()->mutable_exposures();
      if (static_cast<uint64_t>(report.exposures_size()) + static_cast<uint64_t>(batch->size()) >
          expected) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            absl::StrCat("report of scan '", report.scan_id(),
                                         "': more exposures than its exposure_count ", expected));
      }
      for (v1::Exposure& e : *batch) *report.add_exposures() = std::move(e);
    }
    if (ctx->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "stream broken; nothing stored");
    }
    if (static_cast<uint64_t>(report.exposures_size()) != expected) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("report of scan '", report.scan_id(),
                       "': the stream ended "
                       "after ",
                       report.exposures_size(), " of ", expected, " exposures; nothing stored"));
    }
    report.clear_exposure_count();
    return Store(report, resp);
  }

 public:
  grpc::Status Acknowledge(grpc::ServerContext* ctx, const v1::AcknowledgeRequest* req,
                           v1::AcknowledgeResponse*) override {
    if (!IpAddress::Parse(req->ip()) || req->port() == 0 || req->port() > 65535) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("'", req->ip(), ":", req->port(), "' is not an address and port"));
    }
    if (absl::FromUnixMillis(req->until_unix_ms()) <= clock_.Now()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "until_unix_ms is not in the future");
    }
    absl::Status bounded = CheckAcknowledgeUntil(auth_, CallerOf(*ctx).role, clock_.Now(),
                                                 absl::FromUnixMillis(req->until_unix_ms()));
    if (!bounded.ok()) return ToGrpcStatus(bounded);
    return ToGrpcStatus(store_.Acknowledge(
        req->ip(), req->port(), absl::FromUnixMillis(req->until_unix_ms()), req->reason()));
  }

 private:
  // Exposures one report may carry (about 100 bytes each in memory), and
  // report streams received at once.
  static constexpr uint64_t kMaxReportExposures = 5'000'000;
  static constexpr int kMaxStreams = 4;
  std::atomic<int> streams_{0};

  grpc::Status Store(const v1::ScanReport& report, v1::DeliverReportResponse* resp) {
    if (report.scan_id().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "scan_id is empty");
    }
    for (const v1::Exposure& e : report.exposures()) {
      if (!IpAddress::Parse(e.ip()) || e.port() == 0 || e.port() > 65535) {
        return grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("exposure '", e.ip(), ":", e.port(), "' is not an address and port"));
      }
    }
    // Acknowledged only once stored (SQLite commit).
    auto fresh = store_.InsertReport(report, clock_.Now());
    if (!fresh.ok()) {
      MakeLogger("notifier")
          ->error("report refused scan={}: {}", report.scan_id(), fresh.status().message());
      return ToGrpcStatus(fresh.status());
    }
    resp->set_duplicate(!*fresh);
    MakeLogger("notifier")
        ->info("report received scan={} exposures={} duplicate={}", report.scan_id(),
               report.exposures_size(), !*fresh);
    absl::MutexLock lock(&wake_mu_);
    wake_.Signal();
    return grpc::Status::OK;
  }

  NotificationStore& store_;
  NodeFindingReceiver& nodes_;
  const Clock& clock_;
  absl::Mutex& wake_mu_;
  absl::CondVar& wake_;
  const AuthConfig& auth_;
};

// The notifier's Prometheus families, refreshed by its loop after each pass
// (docs/metrics.md lists them all).
class NotifierMetrics {
 public:
  explicit NotifierMetrics(prometheus::Registry& registry)
      : notifications_(prometheus::BuildGauge()
                           .Name("goalkeeper_notifications")
                           .Help("Notifications by channel and state (pending, sent, dead)")
                           .Register(registry)),
        depth_(prometheus::BuildGauge()
                   .Name("goalkeeper_outbox_depth")
                   .Help("Notifications waiting in the outbox to be sent, by channel")
                   .Register(registry)),
        oldest_(prometheus::BuildGauge()
                    .Name("goalkeeper_outbox_oldest_age_seconds")
                    .Help("Age of the oldest notification waiting in the outbox, by channel "
                          "(0: none waiting)")
                    .Register(registry)),
        sent_(prometheus::BuildCounter()
                  .Name("goalkeeper_notifications_sent_total")
                  .Help("Notifications the channel accepted since start (emails, Telegram "
                        "messages)")
                  .Register(registry)),
        failed_(prometheus::BuildCounter()
                    .Name("goalkeeper_notifications_failed_total")
                    .Help("Failed delivery attempts since start, by channel")
                    .Register(registry)),
        dead_(prometheus::BuildCounter()
                  .Name("goalkeeper_notifications_dead_lettered_total")
                  .Help("Notifications given up (moved to the dead letters) since start")
                  .Register(registry)),
        rate_limited_(prometheus::BuildCounter()
                          .Name("goalkeeper_notifications_rate_limited_total")
                          .Help("429 answers whose retry_after was honoured, by channel")
                          .Register(registry)),
        resolutions_(prometheus::BuildCounter()
                         .Name("goalkeeper_owner_resolutions_total")
                         .Help("Owner resolutions since start, by source and outcome")
                         .Register(registry)) {
    // Every channel's series exist from the start (a rate() needs a zero).
    for (Channel c : kAllChannels) {
      const std::string channel(ChannelName(c));
      for (auto* f : {&sent_, &failed_, &dead_, &rate_limited_}) f->Add({{"channel", channel}});
      depth_.Add({{"channel", channel}});
      oldest_.Add({{"channel", channel}});
    }
  }

  void Update(NotificationStore& store, const SenderCounts& sender,
              const ResolutionCounts& processor, absl::Time now) {
    if (auto counts = store.CountOutbox(); counts.ok()) {
      for (Channel c : kAllChannels) {
        const std::string channel(ChannelName(c));
        auto& by_state = (*counts)[c];
        notifications_.Add({{"channel", channel}, {"state", "pending"}})
            .Set(static_cast<double>(by_state[OutboxState::kPending]));
        notifications_.Add({{"channel", channel}, {"state", "sent"}})
            .Set(static_cast<double>(by_state[OutboxState::kSent]));
        notifications_.Add({{"channel", channel}, {"state", "dead"}})
            .Set(static_cast<double>(by_state[OutboxState::kDead]));
        depth_.Add({{"channel", channel}})
            .Set(static_cast<double>(by_state[OutboxState::kPending]));
      }
    }
    if (auto oldest = store.OldestPendingOutbox(); oldest.ok()) {
      for (Channel c : kAllChannels) {
        auto it = oldest->find(c);
        oldest_.Add({{"channel", std::string(ChannelName(c))}})
            .Set(it == oldest->end() ? 0.0
                                     : std::max(0.0, absl::ToDoubleSeconds(now - it->second)));
      }
    }
    Advance(sent_, sender.sent);
    Advance(failed_, sender.failed);
    Advance(dead_, sender.dead);
    Advance(rate_limited_, sender.rate_limited);
    for (const auto& [key, n] : processor.by_source_outcome) {
      size_t slash = key.find('/');
      AdvanceCounter(
          resolutions_.Add({{"source", key.substr(0, slash)}, {"outcome", key.substr(slash + 1)}}),
          static_cast<double>(n));
    }
  }

 private:
  static void Advance(prometheus::Family<prometheus::Counter>& family,
                      const std::map<Channel, uint64_t>& totals) {
    for (const auto& [c, n] : totals) {
      AdvanceCounter(family.Add({{"channel", std::string(ChannelName(c))}}),
                     static_cast<double>(n));
    }
  }

  prometheus::Family<prometheus::Gauge>& notifications_;
  prometheus::Family<prometheus::Gauge>& depth_;
  prometheus::Family<prometheus::Gauge>& oldest_;
  prometheus::Family<prometheus::Counter>& sent_;
  prometheus::Family<prometheus::Counter>& failed_;
  prometheus::Family<prometheus::Counter>& dead_;
  prometheus::Family<prometheus::Counter>& rate_limited_;
  prometheus::Family<prometheus::Counter>& resolutions_;
};

}  // namespace

int RunNotifier(const NotifierConfig& config) {
  auto log = MakeLogger("notifier");
  const sigset_t stop_signals = BlockStopSignals();

  // Secrets: files or environment variables; errors name the file or the
  // variable, never the value.
  std::string smtp_password;
  if (!config.smtp_url.empty() && !config.smtp_username.empty()) {
    auto s = LoadSecret(config.smtp_password_file, "GOALKEEPER_SMTP_PASSWORD");
    if (!s.ok()) {
      log->error("email.password_file: {}", s.status().message());
      return 1;
    }
    smtp_password = *s;
  }
  std::string telegram_token;
  if (!config.telegram_token_file.empty() || std::getenv("GOALKEEPER_TELEGRAM_TOKEN") != nullptr) {
    auto s = LoadSecret(config.telegram_token_file, "GOALKEEPER_TELEGRAM_TOKEN");
    if (!s.ok()) {
      log->error("telegram.token_file: {}", s.status().message());
      return 1;
    }
    telegram_token = *s;
  }
  OpenStackConfig os_config = config.openstack;
  if (config.openstack_enabled) {
    if (absl::Status s = LoadOpenStackPassword(os_config); !s.ok()) {
      log->error("owners.openstack.password_file: {}", s.message());
      return 1;
    }
  }
  FleioConfig fleio_config;
  if (config.fleio_enabled) {
    auto s = LoadSecret(config.fleio_token_file, "GOALKEEPER_FLEIO_TOKEN");
    if (!s.ok()) {
      log->error("owners.fleio.token_file: {}", s.status().message());
      return 1;
    }
    fleio_config = {config.fleio_url, *s};
  }

  auto store = NotificationStore::Open(config.db);
  if (!store.ok()) {
    log->error("{}", store.status().message());
    return 1;
  }
  SystemClock clock;
  std::unique_ptr<HttpClient> curl = MakeCurlHttpClient({absl::Seconds(5), config.email_ca_file});
  RetryingHttpClient http(*curl, RetryPolicy{});
  std::unique_ptr<Mailer> mailer =
      config.smtp_url.empty()
          ? MakeOutboxMailer(config.outbox_dir)
          : MakeSmtpMailer({config.smtp_url, config.smtp_username, smtp_password,
                            config.email_ca_file, true, absl::Seconds(60)});
  std::unique_ptr<TelegramSender> telegram =
      telegram_token.empty()
          ? MakeLogTelegramSender()
          : MakeTelegramBotSender(config.telegram_api_url, telegram_token, *curl);
  std::unique_ptr<OpenStackClient> openstack;
  if (config.openstack_enabled)
    openstack = std::make_unique<OpenStackClient>(os_config, http, clock);

  ResolveFn resolve = [&](const std::vector<std::string>& ips, ResolutionCounts* counts) {
    std::unique_ptr<FleioClient> fleio;  // per report: fresh caches
    if (config.fleio_enabled) fleio = std::make_unique<FleioClient>(fleio_config, http);
    OwnerResolver resolver(config.static_owners, openstack.get(), fleio.get());
    return resolver.Resolve(ips, counts);
  };
  ReportProcessor processor(config, **store, clock, resolve);
  OutboxSender sender(config, **store, *mailer, *telegram, clock);

  absl::Mutex wake_mu;
  absl::CondVar wake;
  NodeFindingReceiver node_findings(config, **store, clock);
  NotifierService service(**store, node_findings, clock, wake_mu, wake, config.auth);
  HealthService health({"goalkeeper.v1.Notifier"});
  // The same answers in plaintext on health_listen, for Kubernetes' probes.
  HealthService probe_health({"goalkeeper.v1.Notifier"});
  int port = 0;
  // Mutual TLS (or --insecure) with the authorization gate: reports only
  // from the coordinator, acknowledgements from admins (notifier/notifier_authz.h).
  auto gate =
      MakeServerGate(config.auth, NotifierMethodTable(), NotifierStreamingMethods(), "notifier");
  if (!gate.ok()) {
    log->error("{}", gate.status().message());
    return 1;
  }
  std::unique_ptr<grpc::Server> server =
      StartGrpcServer(config.listen, {&service, &health}, &port, config.tls, *gate);
  if (server == nullptr) {
    log->error("cannot listen on '{}'", config.listen);
    return 1;
  }
  std::unique_ptr<grpc::Server> health_server;
  int health_port = 0;
  if (!config.health_listen.empty()) {
    health_server = StartGrpcServer(config.health_listen, {&probe_health}, &health_port);
    if (health_server == nullptr) {
      log->error("cannot listen on '{}' (health_listen)", config.health_listen);
      return 1;
    }
  }

  auto registry = std::make_shared<prometheus::Registry>();
  NotifierMetrics metrics(*registry);
  std::string metrics_address;
  auto exposer = StartMetrics(config.metrics_listen, registry, "notifier", &metrics_address);
  if (!exposer.ok()) {
    log->error("{}", exposer.status().message());
    return 1;
  }
  log->info(
      "notifier listening grpc={}:{} metrics={} health={} db={} mode={} email={} telegram={} "
      "openstack={} fleio={} {}",
      HostOf(config.listen), port, metrics_address,
      health_server == nullptr ? "off"
                               : absl::StrCat(HostOf(config.health_listen), ":", health_port),
      config.db, config.mode == NotifierMode::kProd ? "prod" : "stage",
      config.smtp_url.empty() ? "outbox:" + config.outbox_dir : UrlOrigin(config.smtp_url),
      telegram_token.empty() ? "log" : UrlOrigin(config.telegram_api_url),
      config.openstack_enabled ? UrlOrigin(config.openstack.auth_url) : "off",
      config.fleio_enabled ? UrlOrigin(config.fleio_url) : "off", DescribeTls(config.tls));

  std::atomic<bool> stopping{false};
  std::thread loop([&] {
    while (!stopping.load()) {
      // Reports first: one at a time, each in its own transaction.
      for (;;) {
        auto next = (*store)->NextReport(clock.Now());
        if (!next.ok()) {
          log->error("cannot read reports: {}", next.status().message());
          break;
        }
        if (!*next) break;
        absl::Status s = processor.Process(**next);
        if (!s.ok()) {
          log->warn("report processing failed scan={}: {}; retrying in 30s", (*next)->scan_id(),
                    s.message());
          (*store)
              ->ReportFailed((*next)->scan_id(), clock.Now() + absl::Seconds(30),
                             std::string(s.message()))
              .IgnoreError();
          break;
        }
      }
      sender.Tick();
      metrics.Update(**store, sender.counts(), processor.counts(), clock.Now());
      absl::MutexLock lock(&wake_mu);
      wake.WaitWithTimeout(&wake_mu, absl::Seconds(1));
    }
  });

  const int sig = WaitForStopSignal(stop_signals);
  log->info("signal {} received; shutting down", sig);
  health.Shutdown();
  probe_health.Shutdown();
  stopping.store(true);
  {
    absl::MutexLock lock(&wake_mu);
    wake.Signal();
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  loop.join();
  if (health_server != nullptr) {
    health_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  log->info("notifier stopped");
  return 0;
}

}  // namespace goalkeeper
