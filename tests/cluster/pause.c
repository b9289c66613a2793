// The cluster test's pod sandbox ("pause") image: a static program that
// holds the pod's namespaces, reaps children and exits on SIGTERM/SIGINT.
// Built by tests/cluster/cluster.sh (no registry is reachable for the usual
// registry.k8s.io/pause).
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void Stop(int sig) {
  (void)sig;
  _exit(0);
}

static void Reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  signal(SIGTERM, Stop);
  signal(SIGINT, Stop);
  signal(SIGCHLD, Reap);
  for (;;) pause();
}
