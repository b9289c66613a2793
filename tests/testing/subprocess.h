// Runs a real process for integration tests and captures what it printed.
//
//   Subprocess p = Subprocess::Start({bin, "scan", "--targets", "127.0.0.1"});
//   p.Signal(SIGTERM);
//   RunResult r = p.Wait(std::chrono::seconds(30));   // exit_code, out, err
//
// Thread-safety: one thread per Subprocess.
#ifndef GOALKEEPER_TESTS_TESTING_SUBPROCESS_H_
#define GOALKEEPER_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace goalkeeper::testing {

struct RunResult {
  int exit_code = -1;    // -1 when killed by a signal or timed out
  int term_signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
};

class Subprocess {
 public:
  static Subprocess Start(const std::vector<std::string>& argv);
  // For long-running daemons: stdout and stderr go to `log_path` (appended),
  // so a full pipe can never block them.
  static Subprocess StartLogged(const std::vector<std::string>& argv, const std::string& log_path);
  Subprocess(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // Whether the process has exited (reaps it; then Wait returns at once).
  bool Exited();
  void Signal(int sig);
  // Reads stdout (at most until `until` appears in it, if not empty) or
  // until the deadline; returns what stdout held so far.
  std::string ReadStdoutUntil(const std::string& until, std::chrono::milliseconds deadline);
  // The same for stderr.
  std::string ReadStderrUntil(const std::string& until, std::chrono::milliseconds deadline);
  // What was read so far, without waiting.
  const std::string& err_so_far() const { return err_; }
  // Collects output until exit; kills the process (SIGKILL) on timeout.
  RunResult Wait(std::chrono::milliseconds timeout);

 private:
  Subprocess() = default;
  bool Pump(int timeout_ms);
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
};

// Start + Wait.
RunResult Run(const std::vector<std::string>& argv,
              std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace goalkeeper::testing

#endif  // GOALKEEPER_TESTS_TESTING_SUBPROCESS_H_
