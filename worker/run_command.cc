#include "worker/run_command.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/flags.h"
#include "common/grpc_channel.h"
#include "common/health_service.h"
#include "common/host_port.h"
#include "common/logging.h"
#include "common/server_util.h"
#include "common/status_macros.h"
#include "common/tls.h"
#include "common/yaml_write.h"
#include "engine/scan_engine.h"
#include "worker/fleet_worker.h"
#include "worker/probe_flags.h"
#include "worker/scan_command.h"
#include "worker/worker_metrics.h"

namespace goalkeeper {
namespace {

// The coordinator refuses longer worker names at registration.
constexpr size_t kMaxWorkerName = 256;

// The flags of `run`. A new flag: add it in AddRunFlags, check it in
// CheckRunFlags, print it in FormatRunSettings (under its flag name).
struct RunFlags {
  FleetWorkerOptions opt;
  TlsFlags tls;
  ProbeFlags probe;
  uint64_t threads = 0;
  std::string metrics_listen = "0.0.0.0:9466";
  std::string health_listen = "0.0.0.0:7072";
  bool check_config = false;
};

void AddRunFlags(FlagParser& flags, RunFlags& f) {
  flags.AddString("coordinator", &f.opt.coordinator, "HOST:PORT",
                  "coordinator address (default $GOALKEEPER_COORDINATOR)");
  flags.AddString("name", &f.opt.name, "NAME", "worker name (default the host name)");
  flags.AddUint("concurrency", &f.opt.concurrency, 1, 1000000, "probes in flight (default 4096)");
  flags.AddUint("threads", &f.threads, 0, 256, "event-loop threads, 0 = one per core");
  flags.AddDouble("max-rate", &f.opt.max_rate, 0, 1e9,
                  "this node's cap in probes/s, 0 = none (default 2000: conntrack budget)");
  flags.AddString("metrics-listen", &f.metrics_listen, "HOST:PORT",
                  "serve Prometheus /metrics here (default 0.0.0.0:9466, \"\" = off)");
  flags.AddHostPort("health-listen", &f.health_listen, PortRule::kListen, true,
                    "grpc.health.v1 address (default 0.0.0.0:7072); empty disables");
  AddProbeFlags(flags, f.probe, /*per_scan=*/false);
  f.tls.Add(flags, std::getenv("GOALKEEPER_TLS_DIR"));
  flags.AddBool("check-config", &f.check_config,
                "check the flags, print the effective settings as YAML, exit 0 (or 2); dials "
                "nothing");
}

// After parsing, for a start and --check-config alike; fills in what the
// flags imply (threads, the concurrency that fits the open-file limit).
absl::Status CheckRunFlags(const FlagParser& flags, RunFlags& f) {
  FleetWorkerOptions& opt = f.opt;
  RETURN_IF_ERROR(f.tls.ApplyTo(flags, &opt.tls));
  RETURN_IF_ERROR(RequireTlsMaterial(opt.tls, TlsUse::kDaemon));
  RETURN_IF_ERROR(CheckTlsFiles(opt.tls));
  if (opt.coordinator.empty()) {
    return absl::InvalidArgumentError("--coordinator is required (or set GOALKEEPER_COORDINATOR)");
  }
  if (auto hp = ParseHostPort(opt.coordinator, PortRule::kDial); !hp.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--coordinator: ", hp.status().message()));
  }
  if (opt.name.size() > kMaxWorkerName) {
    return absl::InvalidArgumentError(absl::StrCat("--name: '", opt.name.substr(0, 32),
                                                   "...' is longer than ", kMaxWorkerName,
                                                   " bytes (the coordinator refuses it)"));
  }
  if (!f.metrics_listen.empty()) {
    if (auto hp = ParseHostPort(f.metrics_listen, PortRule::kListen); !hp.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--metrics-listen: ", hp.status().message()));
    }
  }
  ASSIGN_OR_RETURN(ProbeOptions probes,
                   ParseProbeFlags(f.probe, flags.WasSet("snmp-community"), nullptr));
  opt.probe_timeout = probes.timeout;
  opt.udp_probe = std::move(probes.udp);
  opt.threads = static_cast<unsigned>(f.threads);
  uint64_t fd_limit = 0;
  uint64_t fitted = FitConcurrencyToFdBudget(opt.concurrency, 256, &fd_limit);
  if (fitted < opt.concurrency) {
    MakeLogger("worker")->warn("concurrency {} does not fit the open-file limit {}; using {}",
                               opt.concurrency, fd_limit, fitted);
    opt.concurrency = fitted;
  }
  return absl::OkStatus();
}

// The effective settings as YAML, one key per flag.
std::string FormatRunSettings(const RunFlags& f) {
  const FleetWorkerOptions& opt = f.opt;
  std::string out = "# goalkeeper-worker run --check-config: the effective settings\n";
  absl::StrAppend(&out, "coordinator: ", YamlQuoted(opt.coordinator), "\n");
  absl::StrAppend(&out, "name: ", YamlQuoted(opt.name), "\n");
  absl::StrAppend(&out, "concurrency: ", opt.concurrency, "\n");
  absl::StrAppend(&out, "threads: ", opt.threads, "  # 0 = one per core\n");
  absl::StrAppend(&out, "max-rate: ", YamlNumber(opt.max_rate), "  # probes/s, 0 = none\n");
  absl::StrAppend(&out, "probe-timeout: ",
                  YamlQuoted(absl::FormatDuration(absl::FromChrono(opt.probe_timeout))), "\n");
  absl::StrAppend(&out, "dns-name: ", YamlQuoted(opt.udp_probe.dns_name), "\n");
  absl::StrAppend(&out, "snmp-community: ",
                  opt.udp_probe.snmp_community == "public" ? "\"public\"" : "\"(not shown)\"",
                  "\n");
  absl::StrAppend(&out, "metrics-listen: ", YamlQuoted(f.metrics_listen), "  # \"\" = off\n");
  absl::StrAppend(&out, "health-listen: ", YamlQuoted(f.health_listen), "  # \"\" = off\n");
  absl::StrAppend(&out, "insecure: ", opt.tls.insecure ? "true" : "false", "\n");
  if (!opt.tls.insecure) {
    absl::StrAppend(&out, "tls-ca-file: ", YamlQuoted(opt.tls.ca_file), "\n");
    absl::StrAppend(&out, "tls-cert-file: ", YamlQuoted(opt.tls.cert_file), "\n");
    absl::StrAppend(&out, "tls-key-file: ", YamlQuoted(opt.tls.key_file), "\n");
    absl::StrAppend(&out, "tls-server-name: ", YamlQuoted(opt.tls.server_name),
                    "  # \"\" = the coordinator's host\n");
  }
  return out;
}

}  // namespace

int RunWorkerCommand(int argc, const char* const* argv) {
  FlagParser flags("goalkeeper-worker run");
  RunFlags f;
  FleetWorkerOptions& opt = f.opt;
  const char* env = std::getenv("GOALKEEPER_COORDINATOR");
  if (env != nullptr) opt.coordinator = env;
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) == 0) opt.name = host;
  AddRunFlags(flags, f);
  if (std::optional<int> rc = flags.ParseForMain(argc, argv, stdout, stderr)) return *rc;
  if (absl::Status s = CheckRunFlags(flags, f); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return kExitUsage;
  }
  if (f.check_config) {
    std::fputs(FormatRunSettings(f).c_str(), stdout);
    return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // gRPC health for Kubernetes probes: "" (readiness) is NOT_SERVING until
  // the worker has registered and while the coordinator is unreachable;
  // "liveness" is SERVING until shutdown begins.
  HealthService health({});
  health.SetDegraded(true);
  opt.on_reachable = [&health](bool reachable) { health.SetDegraded(!reachable); };
  std::unique_ptr<grpc::Server> health_server;
  if (!f.health_listen.empty()) {
    int port = 0;
    health_server = StartGrpcServer(f.health_listen, {&health}, &port, kHealthOnlyMaxReceiveBytes);
    if (health_server == nullptr) {
      std::fprintf(stderr, "error: --health-listen: cannot listen on '%s'\n",
                   f.health_listen.c_str());
      return kExitFailure;
    }
    MakeLogger("worker")->info("worker health grpc={}:{}", HostOf(f.health_listen), port);
  }

  if (opt.tls.insecure) WarnInsecure(opt.coordinator, /*server=*/false);
  FleetWorker worker(opt);
  // /metrics: build info, process and gRPC server metrics, and the worker's.
  auto registry = std::make_shared<prometheus::Registry>();
  auto worker_metrics = std::make_shared<WorkerMetrics>(worker);
  std::string metrics_address;
  auto exposer = StartMetrics(f.metrics_listen, registry, "worker", &metrics_address);
  if (!exposer.ok()) {
    std::fprintf(stderr, "error: --metrics-listen: %s\n",
                 std::string(exposer.status().message()).c_str());
    return kExitFailure;
  }
  if (*exposer != nullptr) (*exposer)->RegisterCollectable(worker_metrics);
  MakeLogger("worker")->info("worker metrics={}", metrics_address);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    MakeLogger("worker")->info("signal {} received; finishing", sig);
    health.Shutdown();
    worker.Stop();
  });
  absl::Status s = worker.Run();
  // Run returned on its own (not through a signal): release the waiter.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  health.Shutdown();
  if (health_server != nullptr) {
    health_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace goalkeeper
