#!/usr/bin/env bash
# Fleet benchmarks, root only:
#  1. Fleet overhead: the lab of bench/lab.sh (127.77.0.0/16 x 8 ports, 300
#     open, one /20 dropped) scanned by the one-shot worker and by the fleet
#     (coordinator + 1 worker, coordinator + 2 workers), 3 runs each, in one
#     run of this script. Fleet wall time is `goalkeeperctl scan start --wait`
#     (start, leases, findings, completion); recall is checked each time.
#     The one-shot scan runs one event-loop thread per core (2 here) with
#     4096 probes in flight. Two workers on the same cores are measured twice:
#     with the same budget in total (1 thread and 2048 in flight each), which
#     isolates the fleet's own cost, and with each worker's defaults (2
#     threads, 4096 each: twice the threads on the same cores).
#  2. Coordinator lease throughput: bench/lease_bench with 100 simulated
#     workers (each its own gRPC connection) against a real coordinator,
#     3 runs of 10 s.
# Prints a Markdown table with medians and ratios. Everything stays on
# loopback: the scans run inside the private network namespace of lab.sh.
# The fleet runs as deployed, with mutual TLS (certificates from
# scripts/dev-certs.sh in the run directory); the lease benchmark's
# coordinator alone is --insecure (see there).
set -euo pipefail
cd "$(dirname "$0")/.."
export LAB_NS=${LAB_NS:-gkfleet}
export GK_BENCH_STATE=${GK_BENCH_STATE:-/var/tmp/gkfleet}
source bench/lab.sh
B=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
for bin in worker/goalkeeper-worker coordinator/goalkeeper-coordinator cli/goalkeeperctl bench/lease_bench; do
  [[ -x $B/$bin ]] || { echo "missing $B/$bin: build first" >&2; exit 1; }
done
work=$(mktemp -d /var/tmp/gkfleet-run.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  lab_down
}
trap cleanup EXIT
lab_up
truth=$(sort "$LAB_TRUTH")
scripts/dev-certs.sh "$work/certs" coordinator worker admin

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }

oneshot() {
  local t0 t1
  t0=$(now)
  in_ns timeout 300 /usr/bin/time -f "%U %S" -o "$work/oneshot.cpu" \
    "$B/worker/goalkeeper-worker" scan --targets "$LAB_NET" --ports "$LAB_PORTS" \
    --timeout-ms 300 --retries 1 --concurrency 4096 --output jsonl 2>/dev/null \
    | python3 -c 'import json,sys; [print("%s:%s" % (o["ip"], o["port"])) for o in map(json.loads, sys.stdin)]' \
    | sort >"$work/oneshot.found"
  t1=$(now)
  [[ "$(cat "$work/oneshot.found")" == "$truth" ]] || { echo "one-shot recall/FP mismatch" >&2; exit 1; }
  awk '{print $1 + $2}' "$work/oneshot.cpu" >>"$work/cpu.oneshot"
  echo "$t1 - $t0" | bc -l
}

# Two one-shot processes side by side, no coordinator: each scans half the
# ports (so each gets its share of the dropped /20) with 1 thread and 2048 in
# flight. The baseline for two workers on the same two cores: what running
# two scanner processes there costs, fleet or not.
oneshot2() {
  local t0 t1 half1 half2 waits=()
  half1=$(cut -d, -f1-4 <<<"$LAB_PORTS")
  half2=$(cut -d, -f5-8 <<<"$LAB_PORTS")
  t0=$(now)
  for h in 1 2; do
    local ports=$half1
    [[ $h == 2 ]] && ports=$half2
    in_ns timeout 300 /usr/bin/time -f "%U %S" -o "$work/oneshot2-$h.cpu" \
      "$B/worker/goalkeeper-worker" scan --targets "$LAB_NET" --ports "$ports" \
      --timeout-ms 300 --retries 1 --concurrency 2048 --threads 1 --output jsonl \
      >"$work/oneshot2-$h.jsonl" 2>/dev/null &
    waits+=($!)
  done
  wait "${waits[@]}"
  t1=$(now)
  cat "$work"/oneshot2-[12].jsonl \
    | python3 -c 'import json,sys; [print("%s:%s" % (o["ip"], o["port"])) for o in map(json.loads, sys.stdin)]' \
    | sort >"$work/oneshot2.found"
  [[ "$(cat "$work/oneshot2.found")" == "$truth" ]] || { echo "two one-shots recall/FP mismatch" >&2; exit 1; }
  cat "$work"/oneshot2-[12].cpu | awk '{s += $1 + $2} END {print s}' >>"$work/cpu.oneshot2"
  echo "$t1 - $t0" | bc -l
}

fleet() {  # $1 = workers, $2 = threads per worker (0 = one per core), $3 = concurrency per worker
  local n=$1 threads=$2 conc=$3 port t0 t1 id
  cat >"$work/coordinator.yaml" <<YAML
listen: 127.0.0.1:0
db: $work/fleet-$n-$RANDOM.db
metrics_listen: ""
allowed_ranges: [$LAB_NET]
profiles:
  default: {ports: "$LAB_PORTS", timeout_ms: 300, retries: 1}
lease: {ttl_seconds: 30, heartbeat_seconds: 5, shard_seconds: ${SHARD_SECONDS:-5}}
tls: {dir: $work/certs/coordinator}
health_listen: ""
YAML
  : >"$work/coordinator.log"
  # Not through in_ns (a function: its background copy is a subshell), so
  # that $! is the daemon itself: killed below, CPU time read from /proc.
  ip netns exec "$LAB_NS" "$B/coordinator/goalkeeper-coordinator" --config "$work/coordinator.yaml" >"$work/coordinator.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q "listening grpc" "$work/coordinator.log" && break; sleep 0.05; done
  port=$(grep -oE 'grpc=127.0.0.1:[0-9]+' "$work/coordinator.log" | cut -d: -f2)
  for w in $(seq "$n"); do
    ip netns exec "$LAB_NS" "$B/worker/goalkeeper-worker" run --coordinator "127.0.0.1:$port" --name "w$w" \
      --concurrency "$conc" --threads "$threads" --max-rate 0 --metrics-listen "" \
      --health-listen "" --tls-dir "$work/certs/worker" >"$work/worker-$w.log" 2>&1 &
    pids+=($!)
  done
  sleep 1  # workers registered and long-polling
  t0=$(now)
  in_ns timeout 300 "$B/cli/goalkeeperctl" --coordinator "127.0.0.1:$port" \
    --tls-dir "$work/certs/admin" scan start \
    --targets "$LAB_NET" --profile default --wait --output json >"$work/scan.json" 2>/dev/null
  t1=$(now)
  id=$(python3 -c 'import json; print(json.load(open("'"$work/scan.json"'"))["id"])')
  in_ns "$B/cli/goalkeeperctl" --coordinator "127.0.0.1:$port" --tls-dir "$work/certs/admin" \
    scan findings "$id" --output csv \
    | tail -n +2 | cut -d, -f1,2 | tr , : | sort >"$work/fleet.found"
  [[ "$(cat "$work/fleet.found")" == "$truth" ]] || { echo "fleet($n) recall/FP mismatch" >&2; exit 1; }
  # CPU-seconds of the coordinator and the workers (the scan plus 1 s idle).
  local ticks=0 p
  for p in "${pids[@]}"; do ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$ticks / 100" | bc -l >>"$work/cpu.fleet$n-$threads-$conc"
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  pids=()
  echo "$t1 - $t0" | bc -l
}

declare -A walls
for r in $(seq "$RUNS"); do
  walls[oneshot]+="$(oneshot) "
  walls[fleet1]+="$(fleet 1 0 4096) "
  walls[fleet2]+="$(fleet 2 1 2048) "
  walls[fleet2d]+="$(fleet 2 0 4096) "
  walls[oneshot2]+="$(oneshot2) "
  echo "run $r: ${walls[oneshot]} | ${walls[fleet1]} | ${walls[fleet2]} | ${walls[fleet2d]} | ${walls[oneshot2]}" >&2
done
m_one=$(tr ' ' '\n' <<<"${walls[oneshot]}" | grep . | median)
m_f1=$(tr ' ' '\n' <<<"${walls[fleet1]}" | grep . | median)
m_f2=$(tr ' ' '\n' <<<"${walls[fleet2]}" | grep . | median)
m_f2d=$(tr ' ' '\n' <<<"${walls[fleet2d]}" | grep . | median)
m_o2=$(tr ' ' '\n' <<<"${walls[oneshot2]}" | grep . | median)

# Lease throughput, outside the namespace, on its own loopback port, with the
# lab and its listeners gone.
lab_down
rates=""
cpus=""
for r in $(seq "$RUNS"); do
  rm -f "$work/lease.db"*
  # The bench's scan (127.0.0.0/8 x 1-65535) is over the default probe limit.
  echo "limits: {max_probes_per_scan: 1099511627776}" >"$work/lease-coordinator.yaml"
  # --insecure: bench/lease_bench dials plaintext; it measures the lease path of
  # long-lived connections, where TLS adds nothing after the handshake.
  "$B/coordinator/goalkeeper-coordinator" --config "$work/lease-coordinator.yaml" \
    --listen 127.0.0.1:0 --db "$work/lease.db" --insecure \
    --metrics-listen "" --allowed 127.0.0.0/8 >"$work/lease-coordinator.log" 2>&1 &
  cp=$!
  for _ in $(seq 100); do grep -q "listening grpc" "$work/lease-coordinator.log" && break; sleep 0.05; done
  lport=$(grep -oE 'grpc=127.0.0.1:[0-9]+' "$work/lease-coordinator.log" | cut -d: -f2)
  cpu0=$(awk '{print $14 + $15}' "/proc/$cp/stat")
  line=$("$B/bench/lease_bench" --coordinator "127.0.0.1:$lport" --workers 100 --seconds 10)
  cpu1=$(awk '{print $14 + $15}' "/proc/$cp/stat")
  kill "$cp"; wait "$cp" 2>/dev/null || true
  echo "$line" >&2
  rates+="$(sed -E 's/.*shards_per_second=([0-9]+).*/\1/' <<<"$line") "
  # Shards per CPU-second of the coordinator (ticks are 1/100 s), over the
  # whole bench run (2 s of warm-up included, so slightly pessimistic).
  shards=$(sed -E 's/.* shards=([0-9]+).*/\1/' <<<"$line")
  cpus+="$(echo "$shards * 100 / ($cpu1 - $cpu0)" | bc) "
done
m_rate=$(tr ' ' '\n' <<<"$rates" | grep . | median)
m_cpu=$(tr ' ' '\n' <<<"$cpus" | grep . | median)

printf '\n| scan of the lab (524,288 probes) | median wall s (%s runs) | vs one-shot |\n|---|---|---|\n' "$RUNS"
printf '| one-shot worker | %.2f | 1.00 |\n' "$m_one"
printf '| coordinator + 1 worker | %.2f | %.2f |\n' "$m_f1" "$(echo "$m_f1 / $m_one" | bc -l)"
printf '| coordinator + 2 workers, same budget (1 thread, 2048 in flight each) | %.2f | %.2f |\n' "$m_f2" "$(echo "$m_f2 / $m_one" | bc -l)"
printf '| coordinator + 2 workers, defaults (2 threads, 4096 each) | %.2f | %.2f |\n' "$m_f2d" "$(echo "$m_f2d / $m_one" | bc -l)"
printf '| two one-shot processes, half the ports each (1 thread, 2048 each), no coordinator | %.2f | %.2f |\n' "$m_o2" "$(echo "$m_o2 / $m_one" | bc -l)"
printf '\ncoordinator + 2 workers (same budget) vs two one-shot processes: %.2f\n' "$(echo "$m_f2 / $m_o2" | bc -l)"
cpu() { median <"$work/cpu.$1"; }
printf '\nmedian CPU-seconds: one-shot %.1f; fleet+1 %.1f; fleet+2 same budget %.1f; fleet+2 defaults %.1f; two one-shots %.1f\n' \
  "$(cpu oneshot)" "$(cpu fleet1-0-4096)" "$(cpu fleet2-1-2048)" "$(cpu fleet2-0-4096)" "$(cpu oneshot2)"
printf '\nall runs (s): one-shot %s; fleet+1 %s; fleet+2 same budget %s; fleet+2 defaults %s; two one-shots %s\n' "${walls[oneshot]}" "${walls[fleet1]}" "${walls[fleet2]}" "${walls[fleet2d]}" "${walls[oneshot2]}"
printf '\nlease throughput, 100 simulated workers: median %s shards leased+completed per second (runs: %s)\n' "$m_rate" "$rates"
printf 'coordinator cost: median %s shards per coordinator CPU-second (runs: %s)\n' "$m_cpu" "$cpus"
