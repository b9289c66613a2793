#!/usr/bin/env bash
# The node agent's steady-state CPU and memory while it follows a log that a
# writer appends to at a fixed rate, against a real coordinator on loopback.
#
#   bench/node_agent_bench.sh [--rate 10000] [--seconds 60] [--warmup 10] [--out DIR]
#
#   --rate N     lines per second appended to the followed log (default 10000),
#                in batches every 10 ms, 5% of them firewall hits
#   --seconds S  how long the writer writes (default 60)
#   --warmup W   the first W seconds are left out of the steady-state figures
#   --out DIR    run directory (default /var/tmp/gkbench/node-agent-<timestamp>)
#
# Environment: GK_BUILD (default <repo>/build) with worker/goalkeeper-worker,
# coordinator/goalkeeper-coordinator (and cli/goalkeeperctl, optional).
#
# The lines are bench/gen_syslog.py's, each stamped with the time it is
# written (RFC 3164, UTC), so the agent's windows see live traffic. Every
# second the agent's CPU time (utime+stime from /proc/PID/stat) and RSS
# (VmRSS, VmHWM from /proc/PID/status) are sampled; the report gives its CPU
# as a share of one core and its RSS (steady = median after the warm-up, max =
# VmHWM), plus how far behind the writer it was at the end (its checkpoint's
# offset against the file size). Only 127.0.0.1 is used; every process this
# script starts is stopped on exit, by its pid.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
B="${GK_BUILD:-$REPO_DIR/build}"
RATE=10000
SECONDS_RUN=60
WARMUP=10
OUT="/var/tmp/gkbench/node-agent-$(date +%Y%m%dT%H%M%S)"
while (($#)); do
  case "$1" in
    --rate) RATE=$2; shift 2 ;;
    --seconds) SECONDS_RUN=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "node_agent_bench.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
for bin in worker/goalkeeper-worker coordinator/goalkeeper-coordinator; do
  [[ -x $B/$bin ]] || { echo "node_agent_bench.sh: $B/$bin not built" >&2; exit 1; }
done
mkdir -p "$OUT/ckpt"
log() { printf '[node_agent_bench] %s\n' "$*" >&2; }

PIDS=()
cleanup() {
  local rc=$? p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --------------------------------------------------------- the traffic ---
# Enough distinct lines for the whole run, cycled if need be.
SRC_LINES=$((RATE * SECONDS_RUN < 200000 ? 200000 : RATE * SECONDS_RUN))
(( SRC_LINES <= 2000000 )) || SRC_LINES=2000000
log "generating $SRC_LINES source lines"
python3 "$BENCH_DIR/gen_syslog.py" "$OUT/source.log" "$OUT/source.expected.tsv" --lines "$SRC_LINES"
KLOG="$OUT/kern.log"
: >"$KLOG"

# ------------------------------------------------------ the coordinator ---
# Mutual TLS as deployed (scripts/dev-certs.sh).
"$REPO_DIR/scripts/dev-certs.sh" "$OUT/certs" coordinator node-agent admin
cat >"$OUT/coordinator.yaml" <<YAML
tls: {dir: $OUT/certs/coordinator}
health_listen: ""
listen: 127.0.0.1:0
db: $OUT/coordinator.db
metrics_listen: ""
allowed_ranges: [127.0.0.0/8]
YAML
"$B/coordinator/goalkeeper-coordinator" --config "$OUT/coordinator.yaml" >"$OUT/coordinator.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do grep -q "listening grpc" "$OUT/coordinator.log" && break; sleep 0.05; done
PORT=$(grep -oE 'grpc=127.0.0.1:[0-9]+' "$OUT/coordinator.log" | head -1 | cut -d: -f2)
[[ -n $PORT ]] || { log "coordinator did not start: $(tail -5 "$OUT/coordinator.log")"; exit 1; }
log "coordinator on 127.0.0.1:$PORT"

# ------------------------------------------------------------ the agent ---
cat >"$OUT/node.yaml" <<YAML
checkpoint_dir: $OUT/ckpt
heartbeat_interval: 10s
rules:
  - name: tftp
    sources: [$KLOG]
    prefix: "IPTables-TFTP-Rejected: "
    proto: udp
    ports: [69]
    window: 10m
    threshold: 10
    quiet: 1h
YAML
[[ -f /etc/localtime ]] && echo "timezone_file: /etc/localtime" >>"$OUT/node.yaml"
"$B/worker/goalkeeper-worker" node --coordinator "127.0.0.1:$PORT" --config "$OUT/node.yaml" \
  --tls-dir "$OUT/certs/node-agent" \
  --node-name bench-node >"$OUT/agent.log" 2>&1 &
AGENT=$!
PIDS+=("$AGENT")
for _ in $(seq 200); do grep -q "node agent started" "$OUT/agent.log" && break; sleep 0.05; done
grep -q "node agent started" "$OUT/agent.log" || { log "agent did not start: $(tail -5 "$OUT/agent.log")"; exit 1; }
log "agent pid $AGENT"

# ----------------------------------------------------------- the writer ---
# Appends RATE lines/s in 10 ms batches, each line re-stamped with now (UTC).
cat >"$OUT/writer.py" <<'PY'
import sys, time
src, dst, rate, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
with open(src, "rb") as f:
    lines = [l[15:] for l in f.read().split(b"\n") if l]
months = [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"]
out = open(dst, "ab", buffering=0)
start = time.monotonic()
written = 0
i = 0
while True:
    now = time.monotonic() - start
    if now >= seconds:
        break
    due = int(now * rate) - written
    if due > 0:
        t = time.gmtime()
        stamp = b"%s %2d %02d:%02d:%02d" % (months[t.tm_mon - 1], t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
        batch = []
        for _ in range(due):
            batch.append(stamp + lines[i % len(lines)])
            i += 1
        out.write(b"\n".join(batch) + b"\n")
        written += due
    time.sleep(0.01)
print(written)
PY
TICK=$(getconf CLK_TCK)
sample() {  # prints: t_s cpu_ticks rss_kb hwm_kb
  local t st
  t=$(date +%s.%N)
  st=$(awk '{print $14 + $15}' "/proc/$AGENT/stat")
  awk -v t="$t" -v c="$st" '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} END {print t, c, r, h}' \
    "/proc/$AGENT/status"
}
: >"$OUT/samples.txt"
log "writing $RATE lines/s for $SECONDS_RUN s"
python3 "$OUT/writer.py" "$OUT/source.log" "$KLOG" "$RATE" "$SECONDS_RUN" >"$OUT/writer.out" &
WRITER=$!
PIDS+=("$WRITER")
while kill -0 "$WRITER" 2>/dev/null; do
  sample >>"$OUT/samples.txt"
  sleep 1
done
wait "$WRITER" || { log "writer failed"; exit 1; }
sleep 3  # the agent's last polls
sample >>"$OUT/samples.txt"
WRITTEN=$(cat "$OUT/writer.out")
FILE_BYTES=$(stat -c %s "$KLOG")
kill -TERM "$AGENT"
wait "$AGENT" 2>/dev/null || true
# How far the agent got: its checkpoint's offset for the log (the last commit).
# Entry lines: "entry STREAM_HEX DEV INO OFFSET HEAD_LEN HEAD_HASH MTIME_NS".
CKPT_OFFSET=$(cat "$OUT"/ckpt/*.ckpt 2>/dev/null | awk '$1 == "entry" {print $5}' | sort -n | tail -1 || true)
# What reached the coordinator (its store): brute-force and listener findings.
STORED=$(python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(c.execute("select count(*) from node_findings").fetchone()[0])' "$OUT/coordinator.db" 2>/dev/null || echo '?')
HITS_LOGGED=$(grep -c 'brute-force source' "$OUT/agent.log" || true)
if [[ -x $B/cli/goalkeeperctl ]]; then
  "$B/cli/goalkeeperctl" --coordinator "127.0.0.1:$PORT" --tls-dir "$OUT/certs/admin" nodes list \
    >"$OUT/nodes.txt" 2>&1 || true
fi

# ------------------------------------------------------------- report ---
{
  echo "### Node agent: steady state while following a log at $RATE lines/s"
  echo
  echo "    date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "    cpu:     $(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -1) ($(nproc) cores)"
  echo "    git:     $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "    load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at the end"
  echo "    written: $WRITTEN lines, $FILE_BYTES bytes in $SECONDS_RUN s; agent checkpoint offset ${CKPT_OFFSET:-?}"
  echo "    agent:   $HITS_LOGGED brute-force findings; $STORED node findings in the coordinator's store"
  echo
  # Median RSS after the warm-up (sort: mawk has no asort).
  RSS_MED=$(awk -v warm="$WARMUP" 'NR == 1 {t0 = $1} $1 - t0 >= warm {print $3}' "$OUT/samples.txt" |
    sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
  awk -v warm="$WARMUP" -v hz="$TICK" -v med="$RSS_MED" '
    NR == 1 {t0 = $1}
    {t[NR] = $1; c[NR] = $2; h = $4}
    first == 0 && $1 - t0 >= warm {first = NR}
    END {
      cpu = (c[NR] - c[first]) / hz / (t[NR] - t[first])
      all = (c[NR] - c[1]) / hz / (t[NR] - t[1])
      printf "| measure | value |\n|---|---:|\n"
      printf "| CPU, steady (after %d s), share of one core | %.1f%% |\n", warm, 100 * cpu
      printf "| CPU, whole run | %.1f%% |\n", 100 * all
      printf "| RSS, steady (median after %d s) | %.1f MiB |\n", warm, med / 1024
      printf "| RSS, max (VmHWM) | %.1f MiB |\n", h / 1024
    }' "$OUT/samples.txt"
} | tee "$OUT/results.md"
log "results: $OUT/results.md (samples: $OUT/samples.txt)"
