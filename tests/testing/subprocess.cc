#include "tests/testing/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

extern char** environ;

namespace goalkeeper::testing {

Subprocess Subprocess::Start(const std::vector<std::string>& argv) {
  int out[2];
  int err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  Subprocess p;
  int rc = posix_spawn(&p.pid_, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    throw std::runtime_error("cannot start " + argv[0]);
  }
  p.out_fd_ = out[0];
  p.err_fd_ = err[0];
  return p;
}

Subprocess Subprocess::StartLogged(const std::vector<std::string>& argv,
                                   const std::string& log_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  Subprocess p;
  int rc = posix_spawn(&p.pid_, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
  return p;
}

bool Subprocess::Exited() {
  if (reaped_) return true;
  if (pid_ <= 0) return true;
  if (waitpid(pid_, &status_, WNOHANG) == pid_) {
    reaped_ = true;
    return true;
  }
  return false;
}

Subprocess::Subprocess(Subprocess&& o) noexcept
    : pid_(o.pid_), status_(o.status_), reaped_(o.reaped_), out_fd_(o.out_fd_),
      err_fd_(o.err_fd_), out_(std::move(o.out_)), err_(std::move(o.err_)) {
  o.pid_ = -1;
  o.out_fd_ = o.err_fd_ = -1;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

void Subprocess::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

// Reads what is available; false when both pipes are at EOF.
bool Subprocess::Pump(int timeout_ms) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  int nfds = 0;
  pollfd active[2];
  for (const pollfd& f : fds) {
    if (f.fd >= 0) active[nfds++] = f;
  }
  if (nfds == 0) return false;
  if (poll(active, static_cast<nfds_t>(nfds), timeout_ms) <= 0) return true;
  for (int i = 0; i < nfds; ++i) {
    if (active[i].revents == 0) continue;
    char buf[65536];
    ssize_t n = read(active[i].fd, buf, sizeof(buf));
    bool is_out = active[i].fd == out_fd_;
    if (n <= 0) {
      close(active[i].fd);
      (is_out ? out_fd_ : err_fd_) = -1;
    } else {
      (is_out ? out_ : err_).append(buf, static_cast<size_t>(n));
    }
  }
  return true;
}

std::string Subprocess::ReadStdoutUntil(const std::string& until,
                                        std::chrono::milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (!until.empty() && out_.find(until) != std::string::npos) break;
    if (!Pump(20)) break;
  }
  return out_;
}

std::string Subprocess::ReadStderrUntil(const std::string& until,
                                        std::chrono::milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (!until.empty() && err_.find(until) != std::string::npos) break;
    if (!Pump(20)) break;
  }
  return err_;
}

RunResult Subprocess::Wait(std::chrono::milliseconds timeout) {
  RunResult r;
  auto end = std::chrono::steady_clock::now() + timeout;
  // Pipes first (until both are at EOF), then the exit status; either way the
  // process is killed once the timeout passes.
  while (Pump(50)) {
    if (std::chrono::steady_clock::now() >= end && !r.timed_out) {
      r.timed_out = true;
      kill(pid_, SIGKILL);
    }
  }
  while (!Exited()) {
    if (std::chrono::steady_clock::now() >= end && !r.timed_out) {
      r.timed_out = true;
      kill(pid_, SIGKILL);
    }
    usleep(10000);
  }
  pid_ = -1;
  if (WIFEXITED(status_)) r.exit_code = WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) r.term_signal = WTERMSIG(status_);
  r.out = std::move(out_);
  r.err = std::move(err_);
  return r;
}

RunResult Run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  return Subprocess::Start(argv).Wait(timeout);
}

}  // namespace goalkeeper::testing
