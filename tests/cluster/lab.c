// The cluster test's lab sidecar: listens on each ADDR:PORT given (IPv4,
// normally 127.x addresses inside the worker pod's own network namespace),
// accepts and closes every connection, and exits on SIGTERM.
//   lab 127.0.10.1:5432 127.0.10.2:6379
// Exit codes: 0 on SIGTERM, 2 for a bad ADDR:PORT (named on stderr), 1 when a
// listen fails. Static, so its image holds only this file.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define kMaxListeners 64

static void Stop(int sig) {
  (void)sig;
  _exit(0);
}

int main(int argc, char** argv) {
  signal(SIGTERM, Stop);
  signal(SIGINT, Stop);
  if (argc < 2 || argc - 1 > kMaxListeners) {
    fprintf(stderr, "usage: lab ADDR:PORT... (1 to %d)\n", kMaxListeners);
    return 2;
  }
  struct pollfd fds[kMaxListeners];
  int n = 0;
  for (int i = 1; i < argc; ++i) {
    char host[64];
    const char* colon = strrchr(argv[i], ':');
    if (colon == NULL || (size_t)(colon - argv[i]) >= sizeof(host)) {
      fprintf(stderr, "error: bad ADDR:PORT '%s'\n", argv[i]);
      return 2;
    }
    memcpy(host, argv[i], (size_t)(colon - argv[i]));
    host[colon - argv[i]] = '\0';
    char* end = NULL;
    long port = strtol(colon + 1, &end, 10);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    if (*end != '\0' || port < 1 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
      fprintf(stderr, "error: bad ADDR:PORT '%s'\n", argv[i]);
      return 2;
    }
    sa.sin_port = htons((unsigned short)port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr*)&sa, sizeof(sa)) != 0 || listen(fd, 128) != 0) {
      fprintf(stderr, "error: listen on %s: %s\n", argv[i], strerror(errno));
      return 1;
    }
    fds[n].fd = fd;
    fds[n].events = POLLIN;
    ++n;
  }
  fprintf(stderr, "lab: listening on %d addresses\n", n);
  for (;;) {
    if (poll(fds, (nfds_t)n, -1) < 0) continue;
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents & POLLIN) {
        int c = accept(fds[i].fd, NULL, NULL);
        if (c >= 0) close(c);
      }
    }
  }
}
