#!/usr/bin/env bash
# The cost of protocol probes over a plain connect scan (issue 12). Root only.
#
#   sudo bench/probe_bench.sh [--reps=N] [--modes=none,verify,all] [--probe-timeout=D]
#                             [--open=N] [--silent=N]
#
#   --reps=N           runs of each mode, interleaved (default 5; the brief asks for >= 3)
#   --modes=LIST       the --probes modes to run (default none,verify,all)
#   --probe-timeout=D  goalkeeper's --probe-timeout (default 2s, its own default)
#   --open=N           open (ip, port) pairs (default 5243 = 1% of 524,288)
#   --silent=N         of those, N pairs accept and never say a word (default 0):
#                      what a probe costs when a service does not answer it
#
# The lab is the scan-engine benchmark's (bench/lab.sh): 127.77.0.0/16 x ports
# 22,80,443,3306,5432,6379,8080,27017 = 524,288 pairs, 127.77.16.0/20 dropped
# (iptables DROP of SYNs), the rest refused, but 1% of the pairs are open and
# every open pair speaks its port's protocol: real servers (redis-server with
# and without requirepass, sshd, PostgreSQL 15, MariaDB 10.11; 16 addresses
# each) and bench/probe_listeners.py for the other ~5,180 pairs. The open
# pairs are drawn with a fixed seed (LAB_SEED), the scan order with a fixed
# --seed (SCAN_SEED), so every mode scans the same pairs in the same order.
#
# Each repetition runs every mode once (the order rotates per repetition);
# wall time, CPU and RSS come from /usr/bin/time -v; the lab's own CPU (the
# servers answering) and the rest of the machine's from /proc. The run FAILS
# (exit 1) if any run's open set differs from the lab's truth or from another
# mode's, or if a probe that should verify did not.
#
# Everything runs in a network namespace of its own (unshare -n; only `lo`),
# every target is in 127.0.0.0/8, every command is under `timeout`; the
# servers are stopped on exit. Results: Markdown on stdout and in
# $OUT/results.md, raw numbers in $OUT/runs.tsv and every run's output.
#
# Environment: GOALKEEPER_BIN (default <repo>/build/worker/goalkeeper-worker),
# GK_BENCH_OUT (default /var/tmp/gkbench/probe-<timestamp>).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
GK="${GOALKEEPER_BIN:-$REPO_DIR/build/worker/goalkeeper-worker}"
REPS=5
MODES="none,verify,all"
PROBE_TIMEOUT=2s
OPEN=5243
SILENT=0
for a in "$@"; do
  case "$a" in
    --reps=*) REPS="${a#--reps=}" ;;
    --modes=*) MODES="${a#--modes=}" ;;
    --probe-timeout=*) PROBE_TIMEOUT="${a#--probe-timeout=}" ;;
    --open=*) OPEN="${a#--open=}" ;;
    --silent=*) SILENT="${a#--silent=}" ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    *) echo "probe_bench.sh: unknown argument '$a' (options take --name=value)" >&2; exit 2 ;;
  esac
done

NET="127.77.0.0/16"
FILTERED="127.77.16.0/20"
PORTS="22,80,443,3306,5432,6379,8080,27017"
LAB_SEED="${LAB_SEED:-20260101}"
SCAN_SEED="${SCAN_SEED:-1212}"

log() { printf '[probe_bench] %s\n' "$*" >&2; }
cpu_busy_ticks() { awk '/^cpu / {print $2+$3+$4+$7+$8}' /proc/stat; }

# ------------------------------------------------------------- outside ----
if [[ ${PROBE_BENCH_IN_NS:-0} != 1 ]]; then
  [[ $(id -u) -eq 0 ]] || { echo "probe_bench.sh: must run as root (network namespace)" >&2; exit 1; }
  [[ -x $GK ]] || { echo "probe_bench.sh: $GK not found; build goalkeeper-worker first" >&2; exit 1; }
  OUT="${GK_BENCH_OUT:-/var/tmp/gkbench/probe-$(date +%Y%m%dT%H%M%S)}"
  mkdir -p "$OUT"
  {
    echo "started: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "cpus:    $(nproc) ($(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1))"
    echo "kernel:  $(uname -r)"
    echo "os:      $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start"
    echo "goalkeeper: $GK (built $(stat -c '%y' "$GK" | cut -d. -f1); git $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    for p in redis-server openssh-server postgresql-15 mariadb-server; do
      echo "$p: $(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo 'not installed')"
    done
    echo "python3: $(python3 --version 2>&1)"
    echo "args:    reps=$REPS modes=$MODES probe_timeout=$PROBE_TIMEOUT open=$OPEN silent=$SILENT lab_seed=$LAB_SEED scan_seed=$SCAN_SEED"
  } >"$OUT/env.txt"
  cat "$OUT/env.txt" >&2
  rc=0
  PROBE_BENCH_IN_NS=1 OUT="$OUT" timeout -k 10 1800 unshare -n -- "$0" "$@" || rc=$?
  echo "finished: $(date -u '+%Y-%m-%d %H:%M:%S UTC') (exit $rc)" >>"$OUT/env.txt"
  exit "$rc"
fi

# -------------------------------------------------------------- inside ----
: "${OUT:?}"
D="$OUT/lab"
rm -rf "$D"
mkdir -p "$D"
chmod 755 "$OUT" "$D"
PIDS=()
cleanup() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive -eq 0 ]] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bg() {  # bg NAME CMD...: starts a lab server, logs in $D/NAME.log
  local name=$1
  shift
  setsid "$@" >"$D/$name.log" 2>&1 &
  PIDS+=($!)
}
wait_tcp() {  # wait_tcp ADDR PORT: up to 30 s
  for _ in $(seq 300); do
    ss -Hltn "src $1:$2" 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  log "no listener on $1:$2 after 30 s (logs in $D)"
  return 1
}

ip link set lo up
# As bench/lab.sh: room for ephemeral ports, TIME_WAIT reuse, queues that never overflow.
sysctl -q -w net.ipv4.ip_local_port_range="1024 65535"
sysctl -q -w net.ipv4.tcp_tw_reuse=1
sysctl -q -w net.core.somaxconn=65535
sysctl -q -w net.ipv4.tcp_max_syn_backlog=65535
iptables -w -A INPUT -d "$FILTERED" -p tcp --syn -j DROP

python3 "$BENCH_DIR/listeners.py" gen --seed "$LAB_SEED" --count "$OPEN" --net "$NET" \
  --exclude "$FILTERED" --ports "$PORTS" >"$OUT/truth.txt"
python3 "$BENCH_DIR/probe_listeners.py" split "$OUT/truth.txt" --real 6379:redis-open:8 \
  --real 6379:redis-auth:8 --real 22:sshd:16 --real 5432:postgresql:16 --real 3306:mariadb:16 \
  >"$OUT/real.txt"
mv "$OUT/truth.txt.python" "$D/python-pairs.txt"
# --silent N: the last N pairs of the speakers' share accept and say nothing.
: >"$OUT/silent.txt"
if (( SILENT > 0 )); then
  tail -n "$SILENT" "$D/python-pairs.txt" >"$OUT/silent.txt"
  head -n "-$SILENT" "$D/python-pairs.txt" >"$D/speak-pairs.txt"
else
  cp "$D/python-pairs.txt" "$D/speak-pairs.txt"
fi
addrs() { awk -v n="$1" '$1 == n {print $2}' "$OUT/real.txt"; }

# Real servers, each bound to its 16 (or 8) addresses of the lab.
mkdir -p "$D/redis-open" "$D/redis-auth"
# shellcheck disable=SC2046
bg redis-open timeout 1800 redis-server --bind $(addrs redis-open) --port 6379 --dir "$D/redis-open" \
  --save '' --appendonly no --protected-mode no
# shellcheck disable=SC2046
bg redis-auth timeout 1800 redis-server --bind $(addrs redis-auth) --port 6379 --dir "$D/redis-auth" \
  --save '' --appendonly no --requirepass lab-secret-not-guessable

mkdir -p "$D/ssh" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$D/ssh/host_ed25519" >/dev/null
{
  for a in $(addrs sshd); do echo "ListenAddress $a:22"; done
  echo "HostKey $D/ssh/host_ed25519"
  echo "PidFile $D/ssh/pid"
  echo "PasswordAuthentication no"
  echo "KbdInteractiveAuthentication no"
  echo "UsePAM no"
  echo "MaxStartups 1000"
} >"$D/ssh/sshd_config"
bg sshd timeout 1800 /usr/sbin/sshd -D -e -f "$D/ssh/sshd_config"

PG_BIN=/usr/lib/postgresql/15/bin
mkdir -p "$D/pg"
chown postgres: "$D/pg"
runuser -u postgres -- "$PG_BIN/initdb" -D "$D/pg/data" -A reject >"$D/pg-initdb.log" 2>&1
bg postgresql timeout 1800 runuser -u postgres -- "$PG_BIN/postgres" -D "$D/pg/data" -k "$D/pg" \
  -c listen_addresses="$(addrs postgresql | paste -sd,)" -c port=5432 -c ssl=off \
  -c max_connections=200

mkdir -p "$D/mysql"
mariadb-install-db --no-defaults --user=root --datadir="$D/mysql/data" \
  --auth-root-authentication-method=socket >"$D/mariadb-install.log" 2>&1
bg mariadb timeout 1800 mariadbd --no-defaults --user=root --datadir="$D/mysql/data" \
  --socket="$D/mysql/sock" --pid-file="$D/mysql/pid" \
  --bind-address="$(addrs mariadb | paste -sd,)" --port=3306 --skip-log-bin \
  --innodb-buffer-pool-size=16M --max-connections=1000 --max-connect-errors=4294967295 \
  --skip-name-resolve

# The speakers, and the silent ones (bench/listeners.py: accept and close
# would answer EOF at once; silence needs a listener that never reads).
fifo="$D/speakers.ready"
setsid timeout 1800 python3 "$BENCH_DIR/probe_listeners.py" serve "$D/speak-pairs.txt" \
  >"$fifo" 2>"$D/speakers.log" &
PIDS+=($!)
if (( SILENT > 0 )); then
  setsid timeout 1800 python3 -c '
import socket, sys, time
socks = []
for line in open(sys.argv[1]):
    ip, port = line.strip().rsplit(":", 1)
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, int(port))); s.listen(65535); socks.append(s)
print("ready", len(socks), flush=True)
while True: time.sleep(3600)  # the kernel completes handshakes; nobody ever reads or writes
' "$OUT/silent.txt" >"$D/silent.ready" 2>"$D/silent.log" &
  PIDS+=($!)
fi
speak_n=$(wc -l <"$D/speak-pairs.txt")
for _ in $(seq 300); do grep -q '^ready' "$fifo" 2>/dev/null && break; sleep 0.1; done
grep -q "^ready $speak_n\$" "$fifo" || { log "speakers did not come up: $(cat "$D/speakers.log")"; exit 1; }
while read -r _ a p; do wait_tcp "$a" "$p"; done <"$OUT/real.txt"
# Every open pair of the truth must be listening, and nothing else.
ss -Hltn | awk '{print $4}' | grep '^127\.77\.' | sort >"$D/listening.txt"
if ! diff <(sort "$OUT/truth.txt") "$D/listening.txt" >"$D/listening.diff"; then
  log "the lab's listeners differ from its truth: $(head -5 "$D/listening.diff")"
  exit 1
fi
log "lab up: $(wc -l <"$OUT/truth.txt") open pairs ($(wc -l <"$OUT/real.txt") real servers' pairs, $SILENT silent) in $NET x {$PORTS}, $FILTERED dropped"

# CPU ticks of every process in this namespace but the given PIDs: the lab's
# servers (children reaped by them included: sshd's per-connection processes).
lab_ticks() {
  local me ns total=0 pid st
  ns=$(readlink /proc/self/ns/net)
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    [[ $(readlink "/proc/$pid/ns/net" 2>/dev/null) == "$ns" ]] || continue
    st=$(cut -d')' -f2- "/proc/$pid/stat" 2>/dev/null) || continue
    # fields after the comm: 14-17 of stat are utime stime cutime cstime
    total=$(( total + $(awk '{print $12 + $13 + $14 + $15}' <<<"$st") ))
  done
  echo "$total"
}

IFS=, read -r -a MODE_LIST <<<"$MODES"
printf 'mode\trep\torder\trc\twall_s\tuser_s\tsys_s\tmaxrss_kb\tlab_cpu_s\tmachine_busy_s\n' >"$OUT/runs.tsv"
HZ=$(getconf CLK_TCK)
sleep 2
n=${#MODE_LIST[@]}
for (( rep = 1; rep <= REPS; rep++ )); do
  for (( k = 0; k < n; k++ )); do
    mode=${MODE_LIST[$(( (k + rep - 1) % n ))]}
    base="$OUT/run.$mode.$rep"
    l0=$(lab_ticks); b0=$(cpu_busy_ticks)
    rc=0
    /usr/bin/time -v -o "$base.time" timeout -k 5 300 "$GK" scan --targets "$NET" --ports "$PORTS" \
      --timeout-ms 300 --retries 1 --concurrency 4096 --seed "$SCAN_SEED" --probes "$mode" \
      --probe-timeout "$PROBE_TIMEOUT" --output jsonl --allowed 127.0.0.0/8 \
      >"$base.jsonl" 2>"$base.err" || rc=$?
    b1=$(cpu_busy_ticks); l1=$(lab_ticks)
    read -r wall user sys rss < <(awk -F': ' '/Elapsed/ {n = split($2, a, ":"); w = 0;
        for (i = 1; i <= n; i++) w = w * 60 + a[i]}
      /User time/ {u = $2} /System time/ {s = $2} /Maximum resident/ {r = $2}
      END {printf "%.2f %.2f %.2f %d\n", w, u, s, r}' "$base.time")
    printf '%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$rep" "$k" "$rc" "$wall" "$user" "$sys" \
      "$rss" "$(awk -v t=$(( l1 - l0 )) -v h="$HZ" 'BEGIN {printf "%.2f", t / h}')" \
      "$(awk -v t=$(( b1 - b0 )) -v h="$HZ" 'BEGIN {printf "%.2f", t / h}')" >>"$OUT/runs.tsv"
    log "rep $rep $mode: exit $rc, ${wall} s wall, $(grep -c '"open"' "$base.jsonl" || true) open"
    sleep 2  # let TIME_WAITs and the servers settle
  done
done
python3 "$BENCH_DIR/probe_report.py" "$OUT" | tee "$OUT/results.md"
