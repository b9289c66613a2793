#include "worker/run_command.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "common/flags.h"
#include "common/health_service.h"
#include "common/host_port.h"
#include "common/logging.h"
#include "common/server_util.h"
#include "engine/scan_engine.h"
#include "worker/fleet_worker.h"
#include "worker/scan_command.h"

namespace goalkeeper {

int RunWorkerCommand(int argc, const char* const* argv) {
  FlagParser flags("goalkeeper-worker run");
  FleetWorkerOptions opt;
  const char* env = std::getenv("GOALKEEPER_COORDINATOR");
  if (env != nullptr) opt.coordinator = env;
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) == 0) opt.name = host;
  uint64_t threads = 0;
  std::string health_listen = "0.0.0.0:7072";
  flags.AddString("coordinator", &opt.coordinator, "HOST:PORT",
                  "coordinator address (default $GOALKEEPER_COORDINATOR)");
  flags.AddString("name", &opt.name, "NAME", "worker name (default the host name)");
  flags.AddUint("concurrency", &opt.concurrency, 1, 1000000, "probes in flight (default 4096)");
  flags.AddUint("threads", &threads, 0, 256, "event-loop threads, 0 = one per core");
  flags.AddDouble("max-rate", &opt.max_rate, 0, 1e9,
                  "this node's cap in probes/s, 0 = none (default 2000: conntrack budget)");
  flags.AddHostPort("health-listen", &health_listen, PortRule::kListen, true,
                    "grpc.health.v1 address (default 0.0.0.0:7072); empty disables");
  if (std::optional<int> rc = flags.ParseForMain(argc, argv, stdout, stderr)) return *rc;
  if (opt.coordinator.empty()) {
    std::fprintf(stderr, "error: --coordinator is required (or set GOALKEEPER_COORDINATOR)\n");
    return kExitUsage;
  }
  if (auto hp = ParseHostPort(opt.coordinator, PortRule::kDial); !hp.ok()) {
    std::fprintf(stderr, "error: --coordinator: %s\n", std::string(hp.status().message()).c_str());
    return kExitUsage;
  }
  opt.threads = static_cast<unsigned>(threads);
  uint64_t fd_limit = 0;
  uint64_t fitted = FitConcurrencyToFdBudget(opt.concurrency, 256, &fd_limit);
  if (fitted < opt.concurrency) {
    MakeLogger("worker")->warn("concurrency {} does not fit the open-file limit {}; using {}",
                               opt.concurrency, fd_limit, fitted);
    opt.concurrency = fitted;
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
  if (!health_listen.empty()) {
    int port = 0;
    health_server = StartGrpcServer(health_listen, {&health}, &port);
    if (health_server == nullptr) {
      std::fprintf(stderr, "error: --health-listen: cannot listen on '%s'\n",
                   health_listen.c_str());
      return kExitFailure;
    }
    MakeLogger("worker")->info("worker health grpc={}:{}", HostOf(health_listen), port);
  }

  FleetWorker worker(opt);
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
