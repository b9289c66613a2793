#include "coordinator/coordinator_server.h"

#include <grpcpp/grpcpp.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/audit_grpc.h"
#include "common/audit_log.h"
#include "common/authz.h"
#include "common/clock.h"
#include "common/health_service.h"
#include "common/http_client.h"
#include "common/logging.h"
#include "common/process_metrics.h"
#include "common/server_util.h"
#include "common/tls.h"
#include "coordinator/coordinator_authz.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/inventory_source.h"
#include "coordinator/node_finding_deliverer.h"
#include "coordinator/node_registry.h"
#include "coordinator/node_service.h"
#include "coordinator/node_store.h"
#include "coordinator/report_deliverer.h"
#include "coordinator/scan_store.h"
#include "coordinator/schedule_runner.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

// The coordinator's Prometheus families: gauges refreshed from ManagerStats
// by the housekeeping loop, counters and histograms fed by the manager's
// events as they happen (docs/metrics.md lists them all).
class CoordinatorMetrics final : public ManagerEvents {
 public:
  explicit CoordinatorMetrics(prometheus::Registry& registry)
      : scans_(prometheus::BuildGauge()
                   .Name("goalkeeper_scans")
                   .Help("Scans by state")
                   .Register(registry)),
        shards_(
            prometheus::BuildGauge()
                .Name("goalkeeper_shards")
                .Help("Shards of running scans by state (pending: see goalkeeper_shards_pending)")
                .Register(registry)),
        shards_pending_(prometheus::BuildGauge()
                            .Name("goalkeeper_shards_pending")
                            .Help("Shards waiting for a worker: queued again, plus those still to "
                                  "be cut from the unleased remainder of running scans")
                            .Register(registry)
                            .Add({})),
        probes_pending_(prometheus::BuildGauge()
                            .Name("goalkeeper_probes_pending")
                            .Help("Probes of running scans not leased to a worker yet")
                            .Register(registry)
                            .Add({})),
        probes_(prometheus::BuildCounter()
                    .Name("goalkeeper_probes_done_total")
                    .Help("Probes completed since the coordinator started")
                    .Register(registry)
                    .Add({})),
        rate_(prometheus::BuildGauge()
                  .Name("goalkeeper_probes_per_second")
                  .Help("Probes completed per second, over the last few seconds")
                  .Register(registry)
                  .Add({})),
        workers_(prometheus::BuildGauge()
                     .Name("goalkeeper_workers_connected")
                     .Help("Workers that talked to the coordinator recently")
                     .Register(registry)
                     .Add({})),
        findings_(prometheus::BuildCounter()
                      .Name("goalkeeper_findings_total")
                      .Help("Open ports recorded since the coordinator started")
                      .Register(registry)
                      .Add({})),
        reports_(prometheus::BuildGauge()
                     .Name("goalkeeper_reports_pending")
                     .Help("Scan reports not yet acknowledged by the notifier")
                     .Register(registry)
                     .Add({})),
        report_age_(prometheus::BuildGauge()
                        .Name("goalkeeper_report_oldest_undelivered_age_seconds")
                        .Help("Seconds since the scan of the oldest undelivered report ended "
                              "(0: none undelivered)")
                        .Register(registry)
                        .Add({})),
        report_attempts_(prometheus::BuildCounter()
                             .Name("goalkeeper_report_delivery_attempts_total")
                             .Help("Report deliveries tried, by outcome (delivered, failed)")
                             .Register(registry)),
        streams_(prometheus::BuildGauge()
                     .Name("goalkeeper_operator_streams")
                     .Help("Open operator streams by RPC")
                     .Register(registry)),
        held_(prometheus::BuildGauge()
                  .Name("goalkeeper_findings_held")
                  .Help("Findings read from the store by ListFindings streams, not yet written")
                  .Register(registry)
                  .Add({})),
        refused_(prometheus::BuildGauge()
                     .Name("goalkeeper_db_writes_refused")
                     .Help("1 while the database refuses writes (a full disk: the disk alarm)")
                     .Register(registry)
                     .Add({})),
        degraded_(prometheus::BuildCounter()
                      .Name("goalkeeper_scans_degraded_total")
                      .Help("Scans that ended DEGRADED: a canary of the config was missed")
                      .Register(registry)
                      .Add({})),
        ended_(prometheus::BuildCounter()
                   .Name("goalkeeper_scans_finished_total")
                   .Help("Scans that ended, by outcome (SUCCEEDED, FAILED, CANCELLED, DEGRADED)")
                   .Register(registry)),
        scan_seconds_(prometheus::BuildHistogram()
                          .Name("goalkeeper_scan_duration_seconds")
                          .Help("Time from a scan's first lease to its end, by outcome")
                          .Register(registry)),
        shard_seconds_(
            prometheus::BuildHistogram()
                .Name("goalkeeper_shard_duration_seconds")
                .Help("Time from a shard's lease to its completion")
                .Register(registry)
                .Add({}, prometheus::Histogram::BucketBoundaries{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20,
                                                                 30, 60, 120, 300, 600, 1800})),
        leases_(prometheus::BuildCounter()
                    .Name("goalkeeper_leases_total")
                    .Help("Shard leases by how they ended or began (granted, completed, "
                          "handed_back, expired)")
                    .Register(registry)),
        node_last_check_(prometheus::BuildGauge()
                             .Name("goalkeeper_node_last_check_timestamp_seconds")
                             .Help("When each node's agent last reported to the coordinator "
                                   "(Unix seconds), by node")
                             .Register(registry)),
        nodes_silent_(prometheus::BuildGauge()
                          .Name("goalkeeper_nodes_silent")
                          .Help("Nodes whose agent is silent (no report for "
                                "nodes.silence_after_intervals heartbeats)")
                          .Register(registry)
                          .Add({})),
        node_findings_undelivered_(
            prometheus::BuildGauge()
                .Name("goalkeeper_node_findings_undelivered")
                .Help("Node findings (agent_silent and agent_returned included) not yet "
                      "acknowledged by the notifier")
                .Register(registry)
                .Add({})),
        node_finding_attempts_(
            prometheus::BuildCounter()
                .Name("goalkeeper_node_finding_delivery_attempts_total")
                .Help("Batches of node findings sent to the notifier, by outcome (delivered, "
                      "failed)")
                .Register(registry)),
        node_findings_delivered_(prometheus::BuildCounter()
                                     .Name("goalkeeper_node_findings_delivered_total")
                                     .Help("Node findings the notifier acknowledged since start")
                                     .Register(registry)
                                     .Add({})) {
    for (int st : {v1::SUCCEEDED, v1::FAILED, v1::CANCELLED, v1::DEGRADED}) {
      const std::string state = v1::ScanState_Name(static_cast<v1::ScanState>(st));
      ended_.Add({{"outcome", state}});
      scan_seconds_.Add({{"outcome", state}}, ScanBuckets());
    }
    for (const char* e : {"granted", "completed", "handed_back", "expired"}) {
      leases_.Add({{"event", e}});
    }
    for (const char* o : {"delivered", "failed"}) report_attempts_.Add({{"outcome", o}});
    for (const char* o : {"delivered", "failed"}) node_finding_attempts_.Add({{"outcome", o}});
  }

  // ManagerEvents (under the manager's mutex: count only).
  void LeaseGranted() override { leases_.Add({{"event", "granted"}}).Increment(); }
  void ShardCompleted(absl::Duration held) override {
    leases_.Add({{"event", "completed"}}).Increment();
    shard_seconds_.Observe(absl::ToDoubleSeconds(held));
  }
  void ShardHandedBack() override { leases_.Add({{"event", "handed_back"}}).Increment(); }
  void LeaseExpired() override { leases_.Add({{"event", "expired"}}).Increment(); }
  void ScanEnded(v1::ScanState state, absl::Duration ran) override {
    const std::string outcome = v1::ScanState_Name(state);
    ended_.Add({{"outcome", outcome}}).Increment();
    if (state == v1::DEGRADED) degraded_.Increment();
    scan_seconds_.Add({{"outcome", outcome}}, ScanBuckets()).Observe(absl::ToDoubleSeconds(ran));
  }

  void UpdateStreams(const StreamStats& s, bool writes_refused) {
    streams_.Add({{"rpc", "ListFindings"}}).Set(s.findings_streams);
    streams_.Add({{"rpc", "WatchScan"}}).Set(s.watchers);
    held_.Set(static_cast<double>(s.findings_held));
    refused_.Set(writes_refused ? 1.0 : 0.0);
  }

  void UpdateNodes(const std::vector<NodeGauge>& nodes) {
    double silent = 0;
    for (const NodeGauge& n : nodes) {
      node_last_check_.Add({{"node", n.name}})
          .Set(absl::ToDoubleSeconds(n.last_report - absl::UnixEpoch()));
      if (n.silent) ++silent;
    }
    nodes_silent_.Set(silent);
  }

  void UpdateNodeDelivery(const NodeFindingDeliverer& d, absl::StatusOr<uint64_t> undelivered) {
    if (undelivered.ok()) node_findings_undelivered_.Set(static_cast<double>(*undelivered));
    AdvanceCounter(node_finding_attempts_.Add({{"outcome", "delivered"}}),
                   static_cast<double>(d.delivered_attempts()));
    AdvanceCounter(node_finding_attempts_.Add({{"outcome", "failed"}}),
                   static_cast<double>(d.failed_attempts()));
    AdvanceCounter(node_findings_delivered_, static_cast<double>(d.delivered_findings()));
  }

  void UpdateDelivery(const ReportDeliverer& d) {
    AdvanceCounter(report_attempts_.Add({{"outcome", "delivered"}}),
                   static_cast<double>(d.delivered_attempts()));
    AdvanceCounter(report_attempts_.Add({{"outcome", "failed"}}),
                   static_cast<double>(d.failed_attempts()));
  }

  void Update(const ManagerStats& s, absl::Time now) {
    for (int st = v1::PENDING; st <= v1::DEGRADED; ++st) {
      auto state = static_cast<v1::ScanState>(st);
      auto it = s.scans_by_state.find(state);
      scans_.Add({{"state", v1::ScanState_Name(state)}})
          .Set(it == s.scans_by_state.end() ? 0.0 : static_cast<double>(it->second));
    }
    shards_.Add({{"state", "pending"}}).Set(static_cast<double>(s.shards_pending));
    shards_.Add({{"state", "leased"}}).Set(static_cast<double>(s.shards_leased));
    shards_.Add({{"state", "done"}}).Set(static_cast<double>(s.shards_done));
    shards_pending_.Set(static_cast<double>(s.shards_pending));
    probes_pending_.Set(static_cast<double>(s.probes_pending));
    AdvanceCounter(probes_, static_cast<double>(s.probes_done_total));
    if (last_time_ != absl::InfinitePast()) {
      const double secs = absl::ToDoubleSeconds(now - last_time_);
      if (secs > 0) rate_.Set(static_cast<double>(s.probes_done_total - last_probes_) / secs);
    }
    last_time_ = now;
    last_probes_ = s.probes_done_total;
    workers_.Set(static_cast<double>(s.workers));
    AdvanceCounter(findings_, static_cast<double>(s.findings_total));
    reports_.Set(static_cast<double>(s.reports_pending));
    report_age_.Set(s.oldest_pending_report == absl::InfinitePast()
                        ? 0.0
                        : std::max(0.0, absl::ToDoubleSeconds(now - s.oldest_pending_report)));
  }

 private:
  static prometheus::Histogram::BucketBoundaries ScanBuckets() {
    return {1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400};
  }

  prometheus::Family<prometheus::Gauge>& scans_;
  prometheus::Family<prometheus::Gauge>& shards_;
  prometheus::Gauge& shards_pending_;
  prometheus::Gauge& probes_pending_;
  prometheus::Counter& probes_;
  prometheus::Gauge& rate_;
  prometheus::Gauge& workers_;
  prometheus::Counter& findings_;
  prometheus::Gauge& reports_;
  prometheus::Gauge& report_age_;
  prometheus::Family<prometheus::Counter>& report_attempts_;
  prometheus::Family<prometheus::Gauge>& streams_;
  prometheus::Gauge& held_;
  prometheus::Gauge& refused_;
  prometheus::Counter& degraded_;
  prometheus::Family<prometheus::Counter>& ended_;
  prometheus::Family<prometheus::Histogram>& scan_seconds_;
  prometheus::Histogram& shard_seconds_;
  prometheus::Family<prometheus::Counter>& leases_;
  prometheus::Family<prometheus::Gauge>& node_last_check_;
  prometheus::Gauge& nodes_silent_;
  prometheus::Gauge& node_findings_undelivered_;
  prometheus::Family<prometheus::Counter>& node_finding_attempts_;
  prometheus::Counter& node_findings_delivered_;
  absl::Time last_time_ = absl::InfinitePast();
  uint64_t last_probes_ = 0;
};

}  // namespace

int RunCoordinator(const CoordinatorConfig& config) {
  auto log = MakeLogger("coordinator");
  // Signals are taken synchronously by this thread; every thread started
  // below inherits the blocked mask.
  const sigset_t stop_signals = BlockStopSignals();

  auto store = ScanStore::Open(config.db);
  if (!store.ok()) {
    log->error("{}", store.status().message());
    return 1;
  }
  // Node checks: a connection of their own to the same file.
  auto node_store = NodeStore::Open(config.db);
  if (!node_store.ok()) {
    log->error("{}", node_store.status().message());
    return 1;
  }
  // The audit trail: a connection of its own too (common/audit_log.h).
  auto audit_log = SqliteAuditLog::Open(config.db, CoordinatorSchema());
  if (!audit_log.ok()) {
    log->error("{}", audit_log.status().message());
    return 1;
  }
  SystemClock clock;
  Auditor auditor(**audit_log, clock, "coordinator");
  NodeRegistry nodes(**node_store, clock, config.nodes);
  if (absl::Status s = nodes.Load(); !s.ok()) {
    log->error("cannot load nodes from '{}': {}", config.db, s.message());
    return 1;
  }
  // Inventories with an `openstack` block: their passwords are read now.
  std::unique_ptr<HttpClient> curl = MakeCurlHttpClient(CurlOptions());
  RetryingHttpClient http(*curl, RetryPolicy{});
  auto inventories = MakeOpenStackInventorySource(config, http, clock);
  if (!inventories.ok()) {
    log->error("{}", inventories.status().message());
    return 1;
  }
  ScanManager manager(config, **store, clock, inventories->get());
  if (absl::Status s = manager.Recover(); !s.ok()) {
    log->error("cannot recover state from '{}': {}", config.db, s.message());
    return 1;
  }
  auto scheduler = Scheduler::Create(config.schedules);
  if (!scheduler.ok()) {
    log->error("{}", scheduler.status().message());
    return 1;
  }
  ScheduleRunner schedules(*std::move(scheduler), manager, clock, &auditor);
  std::unique_ptr<ReportSender> sender;
  // The notifier is dialled with the coordinator's own certificate: its
  // identity is the only one the notifier takes reports from.
  if (!config.notifier_address.empty()) {
    sender = MakeGrpcReportSender(config.notifier_address, config.tls);
  }
  ReportDeliverer deliverer(manager, sender.get(), clock);
  // Node findings to the same notifier, on a thread and a channel of their own.
  std::unique_ptr<NodeFindingSender> node_sender;
  if (!config.notifier_address.empty()) {
    node_sender = MakeGrpcNodeFindingSender(config.notifier_address, config.tls);
  }
  NodeFindingDeliverer node_deliverer(nodes, node_sender.get(), clock);

  auto registry = std::make_shared<prometheus::Registry>();
  CoordinatorMetrics metrics(*registry);
  manager.SetEvents(&metrics);  // before any other thread calls the manager

  AuditHooks audit_hooks{&auditor, CallerOf};
  CoordinatorService coordinator_service(manager, StreamLimits{}, audit_hooks);
  ShardService shard_service(manager, absl::Seconds(2), 64, audit_hooks);
  NodeService node_service(nodes);
  HealthService health(
      {"goalkeeper.v1.Coordinator", "goalkeeper.v1.ShardService", "goalkeeper.v1.NodeService"});
  // The same answers in plaintext on health_listen, for Kubernetes' probes.
  HealthService probe_health(
      {"goalkeeper.v1.Coordinator", "goalkeeper.v1.ShardService", "goalkeeper.v1.NodeService"});
  int port = 0;
  // Mutual TLS (or --insecure) with the authorization gate: who may call
  // what (common/authz.h, coordinator/coordinator_authz.h).
  // Its refusals go to the audit trail too.
  auto gate =
      MakeServerGate(config.auth, CoordinatorMethodTable(), CoordinatorStreamingMethods(),
                     "coordinator", [&auditor](const DeniedCall& d) {
                       auditor.RecordDenied(d.identity.empty() ? "anonymous" : d.identity, d.method,
                                            static_cast<absl::StatusCode>(d.code), d.message);
                     });
  if (!gate.ok()) {
    log->error("{}", gate.status().message());
    return 1;
  }
  std::unique_ptr<grpc::Server> server =
      StartGrpcServer(config.listen, {&coordinator_service, &shard_service, &node_service, &health},
                      &port, config.tls, *gate, kCoordinatorMaxReceiveBytes);
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

  std::string metrics_address;
  auto exposer = StartMetrics(config.metrics_listen, registry, "coordinator", &metrics_address);
  if (!exposer.ok()) {
    log->error("{}", exposer.status().message());
    return 1;
  }
  log->info("coordinator listening grpc={}:{} metrics={} health={} db={} notifier={} {}",
            HostOf(config.listen), port, metrics_address,
            health_server == nullptr ? "off"
                                     : absl::StrCat(HostOf(config.health_listen), ":", health_port),
            config.db, config.notifier_address.empty() ? "none" : config.notifier_address,
            DescribeTls(config.tls));

  std::atomic<bool> stopping{false};
  // Lease expiry and group commit: never waits on the network.
  std::thread housekeeping([&] {
    absl::Time last_tick = absl::InfinitePast();
    while (!stopping.load()) {
      const absl::Time now = clock.Now();
      if (now - last_tick >= absl::Seconds(1)) {
        // While the database refuses writes an expired lease cannot be
        // released (and would be logged every second): expiry waits for
        // the resume, which gives every lease a fresh deadline.
        if (!manager.WritesRefused()) manager.Tick();
        metrics.Update(manager.Stats(), now);
        metrics.UpdateStreams(coordinator_service.stream_stats(), manager.WritesRefused());
        metrics.UpdateDelivery(deliverer);
        last_tick = now;
      }
      manager.Flush();
      // A full disk: not ready (reads and health go on) until writes resume.
      health.SetDegraded(manager.WritesRefused());
      probe_health.SetDegraded(manager.WritesRefused());
      absl::SleepFor(absl::Milliseconds(100));
    }
  });

  // Report delivery on its own thread: a notifier that accepts connections
  // and never answers holds up only the reports.
  std::thread delivery([&] {
    while (!stopping.load()) {
      deliverer.Tick();
      for (int i = 0; i < 10 && !stopping.load(); ++i) absl::SleepFor(absl::Milliseconds(100));
    }
  });

  // Node silence on its own thread, never on the housekeeping one: a node
  // write waits for the database's write lock, which the ScanManager's open
  // group transaction holds until housekeeping's Flush() ends it.
  std::thread node_checks([&] {
    while (!stopping.load()) {
      if (absl::StatusOr<int> raised = nodes.CheckSilence(); !raised.ok()) {
        log->error("node silence check failed: {}", raised.status().message());
      } else if (*raised > 0) {
        log->warn("node agents silent raised={}", *raised);
      }
      metrics.UpdateNodes(nodes.Gauges());
      metrics.UpdateNodeDelivery(node_deliverer, nodes.CountUndelivered());
      auditor.Flush();  // folded refusals (a store write: never on housekeeping)
      for (int i = 0; i < 10 && !stopping.load(); ++i) absl::SleepFor(absl::Milliseconds(100));
    }
  });

  // Node findings to the notifier on their own thread: like reports, a hung
  // notifier holds up only them (and a node store write waits for the
  // database's write lock, which must never hold up housekeeping).
  std::thread node_delivery([&] {
    while (!stopping.load()) {
      node_deliverer.Tick();
      for (int i = 0; i < 10 && !stopping.load(); ++i) absl::SleepFor(absl::Milliseconds(100));
    }
  });

  // Schedules on their own thread: starting an `openstack` inventory's scan
  // waits for its API, which must not hold up lease expiry.
  std::thread scheduling([&] {
    while (!stopping.load()) {
      schedules.Tick();
      for (int i = 0; i < 10 && !stopping.load(); ++i) absl::SleepFor(absl::Milliseconds(100));
    }
  });

  const int sig = WaitForStopSignal(stop_signals);
  log->info("signal {} received; shutting down", sig);
  stopping.store(true);
  health.Shutdown();
  probe_health.Shutdown();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (sender != nullptr) sender->Shutdown();  // a report in flight to a hung notifier
  if (node_sender != nullptr) node_sender->Shutdown();
  scheduling.join();
  node_checks.join();
  housekeeping.join();
  delivery.join();
  node_delivery.join();
  if (health_server != nullptr) {
    health_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  manager.Flush();
  auditor.Flush(/*all=*/true);
  log->info("coordinator stopped");
  return 0;
}

}  // namespace goalkeeper
