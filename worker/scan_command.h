// `goalkeeper-worker scan`: a one-shot scan from the command line.
//
//   goalkeeper-worker scan --targets 127.0.0.0/24 --ports databases,admin
//
// Exit codes: 0 the scan completed, 1 runtime failure, 2 bad usage or input
// (one line on stderr naming the bad value), 130 interrupted (SIGINT or
// SIGTERM; in-flight probes finish and their results are written).
#ifndef GOALKEEPER_WORKER_SCAN_COMMAND_H_
#define GOALKEEPER_WORKER_SCAN_COMMAND_H_

#include <cstdio>

namespace goalkeeper {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;

// argv excludes the program and subcommand names. Results go to `out`,
// progress, warnings and errors to `err`.
int RunScanCommand(int argc, const char* const* argv, std::FILE* out, std::FILE* err);

}  // namespace goalkeeper

#endif  // GOALKEEPER_WORKER_SCAN_COMMAND_H_
