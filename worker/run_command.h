// `goalkeeper-worker run`: joins a coordinator's fleet (see fleet_worker.h).
//
//   goalkeeper-worker run --coordinator HOST:PORT [--name NAME] [--concurrency N]
//       [--metrics-listen HOST:PORT]   (default 0.0.0.0:9466, "" = off)
//   goalkeeper-worker run --check-config [flags]
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
