#include "tests/testing/loopback.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace goalkeeper::testing {
namespace {

socklen_t MakeAddr(const std::string& ip, uint16_t port, sockaddr_storage* ss) {
  std::memset(ss, 0, sizeof(*ss));
  if (ip.find(':') != std::string::npos) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(ss);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, ip.c_str(), &a6->sin6_addr) != 1) throw std::runtime_error(ip);
    return sizeof(sockaddr_in6);
  }
  auto* a4 = reinterpret_cast<sockaddr_in*>(ss);
  a4->sin_family = AF_INET;
  a4->sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &a4->sin_addr) != 1) throw std::runtime_error(ip);
  return sizeof(sockaddr_in);
}

}  // namespace

int BindTcp(const std::string& ip, uint16_t port) {
  sockaddr_storage ss;
  socklen_t len = MakeAddr(ip, port, &ss);
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

uint16_t LocalPort(int fd) {
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

std::unique_ptr<OpenPort> OpenPort::Start(const std::string& ip, uint16_t port) {
  int fd = BindTcp(ip, port);
  if (fd < 0 || listen(fd, 4096) != 0) {
    throw std::runtime_error("cannot listen on " + ip + ":" + std::to_string(port) + ": " +
                             std::strerror(errno));
  }
  return std::unique_ptr<OpenPort>(new OpenPort(ip, fd));
}

OpenPort::OpenPort(std::string ip, int fd) : ip_(std::move(ip)), fd_(fd), port_(LocalPort(fd)) {
  if (pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  thread_ = std::thread([this] {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    for (;;) {
      if (poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        accepted_.fetch_add(1);
        close(c);
      }
    }
  });
}

OpenPort::~OpenPort() {
  char b = 0;
  (void)!write(stop_pipe_[1], &b, 1);
  thread_.join();
  close(stop_pipe_[0]);
  close(stop_pipe_[1]);
  close(fd_);
}

ClosedPort::ClosedPort(const std::string& ip, uint16_t port) : fd_(BindTcp(ip, port)) {
  if (fd_ < 0) throw std::runtime_error("cannot bind " + ip);
  port_ = LocalPort(fd_);
}

ClosedPort::~ClosedPort() { close(fd_); }

FilteredPort::FilteredPort(const std::string& ip) : listen_fd_(BindTcp(ip, 0)) {
  if (listen_fd_ < 0 || listen(listen_fd_, 0) != 0) throw std::runtime_error("listen " + ip);
  port_ = LocalPort(listen_fd_);
  sockaddr_storage ss;
  socklen_t len = MakeAddr(ip, port_, &ss);
  // Backlog 0 queues one connection; two clients make sure it is full.
  for (int i = 0; i < 2; ++i) {
    int c = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    connect(c, reinterpret_cast<sockaddr*>(&ss), len);
    pollfd p{c, POLLOUT, 0};
    poll(&p, 1, i == 0 ? 1000 : 50);
    clients_.push_back(c);
  }
}

FilteredPort::~FilteredPort() {
  for (int c : clients_) close(c);
  close(listen_fd_);
}

}  // namespace goalkeeper::testing
