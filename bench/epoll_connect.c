/*
 * epoll_connect: the "physical limit" baseline for the Goalkeeper benchmark.
 *
 * A deliberately minimal TCP connect() scanner: N threads, each with its own
 * epoll instance, its own share of the probe space (probe i goes to thread
 * i % threads) and its own share of the concurrency. No rate limiting, no
 * output formatting beyond one "ip:port" line per open port, no allocation on
 * the hot path. Whatever a real scanner does on top of this costs time; the
 * gap between this loop and a scanner is that scanner's overhead.
 *
 *   epoll_connect --base 127.77.0.0 --count 65536 --ports 22,80,443 \
 *                 --concurrency 4096 --timeout-ms 300 --retries 1 --threads 2 \
 *                 [--order stride|linear]
 *
 * States: open = connect() completed (closed at once with SO_LINGER 0, so
 * the peer gets a RST and no TIME_WAIT is left); closed = ECONNREFUSED;
 * filtered = no answer by the deadline on every attempt (1 + retries);
 * error = any other connect() error (counted, not retried).
 * EADDRNOTAVAIL / EMFILE / ENOBUFS on connect() are treated as local resource
 * exhaustion: the probe is put back and tried again a little later.
 *
 * Probe order: probe k (k = 0 .. count*ports-1) is index (k * stride) mod total
 * of the host-major list (host0:p0, host0:p1, ...), with stride odd, coprime
 * with total and about 0.618 * total, so a contiguous filtered range is spread
 * over the whole run instead of filling every slot at once (a real scanner
 * randomizes its order for the same reason). --order linear gives stride 1.
 * stdout: "a.b.c.d:port" per open port (written at the end).
 * stderr: one summary line.
 *
 * Build: cc -O2 -pthread -o epoll_connect epoll_connect.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 1024

static uint32_t g_base;          /* host byte order */
static uint64_t g_count = 1;
static uint16_t g_ports[MAX_PORTS];
static int g_nports;
static int g_concurrency = 4096;
static int g_timeout_ms = 300;
static int g_retries = 1;
static int g_threads = 2;
static uint64_t g_stride = 1;

typedef struct {
  int fd;          /* -1 when free */
  uint64_t probe;  /* global probe index */
  int attempt;     /* 0-based */
  int64_t deadline_ns;
} slot_t;

typedef struct {
  int id;
  /* results */
  uint64_t attempts, open, closed, filtered, errors, deferred;
  uint64_t *open_list;
  size_t open_len, open_cap;
  /* retry queue for timed-out or deferred probes: (probe, attempt) */
  uint64_t *rq_probe;
  int *rq_attempt;
  size_t rq_head, rq_tail, rq_cap;
} thread_ctx_t;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *msg) {
  fprintf(stderr, "epoll_connect: %s\n", msg);
  exit(2);
}

static void rq_push(thread_ctx_t *t, uint64_t probe, int attempt) {
  if (t->rq_tail - t->rq_head == t->rq_cap) {
    size_t ncap = t->rq_cap ? t->rq_cap * 2 : 1024;
    uint64_t *np = malloc(ncap * sizeof *np);
    int *na = malloc(ncap * sizeof *na);
    if (!np || !na) die("out of memory");
    size_t n = t->rq_tail - t->rq_head;
    for (size_t i = 0; i < n; i++) {
      np[i] = t->rq_probe[(t->rq_head + i) % t->rq_cap];
      na[i] = t->rq_attempt[(t->rq_head + i) % t->rq_cap];
    }
    free(t->rq_probe);
    free(t->rq_attempt);
    t->rq_probe = np;
    t->rq_attempt = na;
    t->rq_head = 0;
    t->rq_tail = n;
    t->rq_cap = ncap;
  }
  t->rq_probe[t->rq_tail % t->rq_cap] = probe;
  t->rq_attempt[t->rq_tail % t->rq_cap] = attempt;
  t->rq_tail++;
}

static void record_open(thread_ctx_t *t, uint64_t probe) {
  if (t->open_len == t->open_cap) {
    t->open_cap = t->open_cap ? t->open_cap * 2 : 256;
    t->open_list = realloc(t->open_list, t->open_cap * sizeof *t->open_list);
    if (!t->open_list) die("out of memory");
  }
  t->open_list[t->open_len++] = probe;
  t->open++;
}

static void close_rst(int fd) {
  struct linger lg = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
}

/* Starts the connect for slot s. Returns 1 if the slot is now in flight,
 * 0 if the probe finished (or was deferred) at once and the slot is free. */
static uint64_t probe_index(uint64_t k) {
  const uint64_t total = g_count * (uint64_t)g_nports;
  return (uint64_t)(((unsigned __int128)k * g_stride) % total);
}

static int launch(thread_ctx_t *t, int ep, slot_t *s, uint32_t idx,
                  uint64_t probe, int attempt, int64_t now) {
  uint64_t host = probe / (uint64_t)g_nports;
  uint16_t port = g_ports[probe % (uint64_t)g_nports];
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(g_base + (uint32_t)host);

  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    t->deferred++;
    rq_push(t, probe, attempt);
    return 0;
  }
  t->attempts++;
  int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  if (rc == 0) {
    record_open(t, probe);
    close_rst(fd);
    return 0;
  }
  if (errno == EINPROGRESS) {
    struct epoll_event ev;
    ev.events = EPOLLOUT;
    ev.data.u32 = idx;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl ADD failed");
    s->fd = fd;
    s->probe = probe;
    s->attempt = attempt;
    s->deadline_ns = now + (int64_t)g_timeout_ms * 1000000LL;
    return 1;
  }
  int e = errno;
  close(fd);
  if (e == ECONNREFUSED) {
    t->closed++;
  } else if (e == EADDRNOTAVAIL || e == EAGAIN || e == ENOBUFS || e == EMFILE ||
             e == ENFILE) {
    t->attempts--;
    t->deferred++;
    rq_push(t, probe, attempt);
  } else {
    t->errors++;
  }
  return 0;
}

static void *worker(void *arg) {
  thread_ctx_t *t = arg;
  int nslots = g_concurrency / g_threads + (t->id < g_concurrency % g_threads);
  if (nslots < 1) nslots = 1;
  slot_t *slots = calloc((size_t)nslots, sizeof *slots);
  uint32_t *freelist = malloc((size_t)nslots * sizeof *freelist);
  struct epoll_event *evs = malloc((size_t)nslots * sizeof *evs);
  if (!slots || !freelist || !evs) die("out of memory");
  int nfree = 0;
  for (int i = nslots - 1; i >= 0; i--) {
    slots[i].fd = -1;
    freelist[nfree++] = (uint32_t)i;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1 failed");

  const uint64_t total = g_count * (uint64_t)g_nports;
  uint64_t next = (uint64_t)t->id;  /* next fresh probe for this thread */
  int inflight = 0;
  int64_t next_sweep = 0;
  const int64_t sweep_ns = 5 * 1000000LL;  /* deadline check granularity */

  for (;;) {
    int64_t now = now_ns();
    /* Fill free slots: retries first, then fresh probes. */
    while (nfree > 0) {
      uint64_t probe;
      int attempt;
      if (t->rq_head != t->rq_tail) {
        probe = t->rq_probe[t->rq_head % t->rq_cap];
        attempt = t->rq_attempt[t->rq_head % t->rq_cap];
        t->rq_head++;
      } else if (next < total) {
        probe = probe_index(next);
        attempt = 0;
        next += (uint64_t)g_threads;
      } else {
        break;
      }
      uint32_t idx = freelist[nfree - 1];
      uint64_t deferred_before = t->deferred;
      if (launch(t, ep, &slots[idx], idx, probe, attempt, now)) {
        nfree--;
        inflight++;
      } else if (t->deferred != deferred_before) {
        break;  /* out of a local resource: let in-flight probes drain */
      }
    }
    if (inflight == 0 && t->rq_head == t->rq_tail && next >= total) break;

    int wait_ms = inflight > 0 ? 5 : 1;  /* 1 ms back-off after a deferral */
    int n = epoll_wait(ep, evs, nslots, wait_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait failed");
    }
    for (int i = 0; i < n; i++) {
      uint32_t idx = evs[i].data.u32;
      slot_t *s = &slots[idx];
      if (s->fd < 0) continue;
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err == 0) {
        record_open(t, s->probe);
        close_rst(s->fd);
      } else {
        close(s->fd);
        if (err == ECONNREFUSED) t->closed++;
        else if (err == ETIMEDOUT) {
          if (s->attempt < g_retries) rq_push(t, s->probe, s->attempt + 1);
          else t->filtered++;
        } else t->errors++;
      }
      s->fd = -1;
      freelist[nfree++] = idx;
      inflight--;
    }
    now = now_ns();
    if (now >= next_sweep) {
      next_sweep = now + sweep_ns;
      for (int i = 0; i < nslots; i++) {
        slot_t *s = &slots[i];
        if (s->fd < 0 || s->deadline_ns > now) continue;
        close(s->fd);  /* removes it from the epoll set too */
        s->fd = -1;
        freelist[nfree++] = (uint32_t)i;
        inflight--;
        if (s->attempt < g_retries) rq_push(t, s->probe, s->attempt + 1);
        else t->filtered++;
      }
    }
  }
  close(ep);
  free(slots);
  free(freelist);
  free(evs);
  return NULL;
}

static void parse_ports(const char *spec) {
  char *copy = strdup(spec);
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *dash = strchr(tok, '-');
    long lo = strtol(tok, NULL, 10), hi = dash ? strtol(dash + 1, NULL, 10) : lo;
    if (lo < 1 || hi > 65535 || lo > hi) die("bad --ports");
    for (long p = lo; p <= hi; p++) {
      if (g_nports == MAX_PORTS) die("too many ports (max 1024)");
      g_ports[g_nports++] = (uint16_t)p;
    }
  }
  free(copy);
}

int main(int argc, char **argv) {
  const char *base = "127.77.0.0";
  const char *ports = "80";
  const char *order = "stride";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) die("every flag takes a value");
    if (!strcmp(a, "--base")) base = v;
    else if (!strcmp(a, "--count")) g_count = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--ports")) ports = v;
    else if (!strcmp(a, "--concurrency")) g_concurrency = atoi(v);
    else if (!strcmp(a, "--timeout-ms")) g_timeout_ms = atoi(v);
    else if (!strcmp(a, "--retries")) g_retries = atoi(v);
    else if (!strcmp(a, "--threads")) g_threads = atoi(v);
    else if (!strcmp(a, "--order")) order = v;
    else die("unknown flag (see the comment at the top of epoll_connect.c)");
    i++;
  }
  struct in_addr ia;
  if (inet_pton(AF_INET, base, &ia) != 1) die("bad --base");
  g_base = ntohl(ia.s_addr);
  parse_ports(ports);
  if (g_count < 1 || g_count > (1ULL << 32) - g_base) die("bad --count");
  if (g_threads < 1 || g_threads > 64) die("bad --threads");
  if (g_concurrency < 1 || g_timeout_ms < 1 || g_retries < 0) die("bad numbers");
  {
    const uint64_t total = g_count * (uint64_t)g_nports;
    if (!strcmp(order, "linear") || total < 3) {
      g_stride = 1;
    } else if (!strcmp(order, "stride")) {
      g_stride = ((uint64_t)((double)total * 0.6180339887)) | 1;
      for (;;) {
        uint64_t a = g_stride, b = total;
        while (b) { uint64_t r = a % b; a = b; b = r; }
        if (a == 1) break;
        g_stride += 2;
      }
    } else {
      die("bad --order (stride or linear)");
    }
  }

  /* Sockets in flight + epoll fds + stdio must fit the open-files limit. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  if ((rlim_t)g_concurrency + (rlim_t)g_threads + 64 > rl.rlim_cur) {
    int cap = (int)rl.rlim_cur - g_threads - 64;
    fprintf(stderr, "epoll_connect: concurrency %d does not fit the fd limit %llu; using %d\n",
            g_concurrency, (unsigned long long)rl.rlim_cur, cap);
    g_concurrency = cap;
  }
  if (g_concurrency < g_threads) g_threads = g_concurrency;

  thread_ctx_t *ctx = calloc((size_t)g_threads, sizeof *ctx);
  pthread_t *th = calloc((size_t)g_threads, sizeof *th);
  int64_t t0 = now_ns();
  for (int i = 0; i < g_threads; i++) {
    ctx[i].id = i;
    if (pthread_create(&th[i], NULL, worker, &ctx[i]) != 0) die("pthread_create failed");
  }
  uint64_t attempts = 0, open = 0, closed = 0, filtered = 0, errors = 0, deferred = 0;
  for (int i = 0; i < g_threads; i++) {
    pthread_join(th[i], NULL);
    attempts += ctx[i].attempts;
    open += ctx[i].open;
    closed += ctx[i].closed;
    filtered += ctx[i].filtered;
    errors += ctx[i].errors;
    deferred += ctx[i].deferred;
  }
  double secs = (double)(now_ns() - t0) / 1e9;
  for (int i = 0; i < g_threads; i++) {
    for (size_t j = 0; j < ctx[i].open_len; j++) {
      uint64_t p = ctx[i].open_list[j];
      uint32_t ip = g_base + (uint32_t)(p / (uint64_t)g_nports);
      printf("%u.%u.%u.%u:%u\n", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255,
             g_ports[p % (uint64_t)g_nports]);
    }
  }
  fflush(stdout);
  uint64_t probes = g_count * (uint64_t)g_nports;
  fprintf(stderr,
          "epoll_connect: probes=%llu attempts=%llu open=%llu closed=%llu filtered=%llu "
          "errors=%llu deferred=%llu threads=%d concurrency=%d stride=%llu elapsed=%.3fs "
          "probes_per_s=%.0f\n",
          (unsigned long long)probes, (unsigned long long)attempts, (unsigned long long)open,
          (unsigned long long)closed, (unsigned long long)filtered, (unsigned long long)errors,
          (unsigned long long)deferred, g_threads, g_concurrency, (unsigned long long)g_stride,
          secs, (double)probes / secs);
  return 0;
}
