// `goalkeeper-worker run`: joins a coordinator's fleet (see fleet_worker.h).
//
//   goalkeeper-worker run --coordinator HOST:PORT [--name NAME] [--concurrency N]
//       [--metrics-listen HOST:PORT]   (default 0.0.0.0:9466, "" = off)
//
// Exit codes: 0 after SIGTERM/SIGINT and a clean hand-back, 1 runtime
// failure, 2 bad usage.
#ifndef GOALKEEPER_WORKER_RUN_COMMAND_H_
#define GOALKEEPER_WORKER_RUN_COMMAND_H_

namespace goalkeeper {

int RunWorkerCommand(int argc, const char* const* argv);

}  // namespace goalkeeper

#endif  // GOALKEEPER_WORKER_RUN_COMMAND_H_
