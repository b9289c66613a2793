// `goalkeeper-worker run`: joins a coordinator's fleet (see fleet_worker.h).
//
//   goalkeeper-worker run --coordinator HOST:PORT [--name NAME] [--concurrency N]
//       [--metrics-listen HOST:PORT]   (default 0.0.0.0:9466, "" = off)
//       [--health-listen HOST:PORT]
//   goalkeeper-worker run --check-config [flags]
//
// --health-listen (default 0.0.0.0:7072, "" = off) serves grpc.health.v1 for
// Kubernetes probes: "" (readiness) is SERVING once the worker has registered
// and NOT_SERVING while the coordinator is unreachable; "liveness" is SERVING
// until shutdown begins. An address that cannot be bound exits 1.
//
// --check-config checks the flags exactly as a start does, prints the
// effective settings as YAML on stdout (one key per flag, named as the flag,
// the concurrency after fitting it to the open-file limit) and exits without
// dialing the coordinator.
//
// Exit codes: 0 after SIGTERM/SIGINT and a clean hand-back (or valid flags
// with --check-config), 1 runtime failure, 2 bad usage (one line naming the
// bad value).
#ifndef GOALKEEPER_WORKER_RUN_COMMAND_H_
#define GOALKEEPER_WORKER_RUN_COMMAND_H_

namespace goalkeeper {

int RunWorkerCommand(int argc, const char* const* argv);

}  // namespace goalkeeper

#endif  // GOALKEEPER_WORKER_RUN_COMMAND_H_
