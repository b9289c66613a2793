// Loopback endpoints for tests: ports that are open (a listener that accepts
// and closes), closed (bound, not listening: the kernel answers RST) and
// filtered (a listener whose accept queue is full: SYNs are dropped).
// Tests send traffic only to 127.0.0.0/8 and ::1.
//
//   auto open = OpenPort::Start("127.0.0.7");       // port picked by the kernel
//   ClosedPort closed("127.0.0.7");
//
// Thread-safety: each object is used by one test thread; OpenPort accepts on
// its own thread.
#ifndef GOALKEEPER_TESTS_TESTING_LOOPBACK_H_
#define GOALKEEPER_TESTS_TESTING_LOOPBACK_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace goalkeeper::testing {

// Binds ip:port (port 0 = any) with SO_REUSEADDR; returns the fd or -1.
int BindTcp(const std::string& ip, uint16_t port);
uint16_t LocalPort(int fd);

class OpenPort {
 public:
  // Listens on ip:port and accepts/closes connections until destroyed.
  static std::unique_ptr<OpenPort> Start(const std::string& ip, uint16_t port = 0);
  ~OpenPort();
  OpenPort(const OpenPort&) = delete;
  OpenPort& operator=(const OpenPort&) = delete;
  uint16_t port() const { return port_; }
  const std::string& ip() const { return ip_; }
  int accepted() const { return accepted_.load(); }

 private:
  OpenPort(std::string ip, int fd);
  std::string ip_;
  int fd_;
  uint16_t port_;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

class ClosedPort {
 public:
  explicit ClosedPort(const std::string& ip, uint16_t port = 0);
  ~ClosedPort();
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_;
};

class FilteredPort {
 public:
  // A listener with backlog 0 whose queue is filled by a client that is
  // never accepted; further SYNs are dropped, so probes time out.
  explicit FilteredPort(const std::string& ip);
  ~FilteredPort();
  FilteredPort(const FilteredPort&) = delete;
  FilteredPort& operator=(const FilteredPort&) = delete;
  uint16_t port() const { return port_; }

 private:
  int listen_fd_;
  uint16_t port_;
  std::vector<int> clients_;
};

}  // namespace goalkeeper::testing

#endif  // GOALKEEPER_TESTS_TESTING_LOOPBACK_H_
