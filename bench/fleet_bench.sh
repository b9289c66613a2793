#!/usr/bin/env bash
# Fleet benchmarks, root only:
#  1. Fleet overhead: the lab of bench/lab.sh (127.77.0.0/16 x 8 ports, 300
#     open, one /20 dropped) scanned by the one-shot worker and by the fleet
#     (coordinator + 1 worker, coordinator + 2 workers), 3 runs each, in one
#     run of this script. Fleet wall time is `goalkeeperctl scan start --wait`
#     (start, leases, findings, completion); recall is checked each time.
#  2. Coordinator lease throughput: bench/lease_bench with 100 simulated
#     workers (each its own gRPC connection) against a real coordinator,
#     3 runs of 10 s.
# Prints a Markdown table with medians and ratios. Everything stays on
# loopback: the scans run inside the private network namespace of lab.sh.
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

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }

oneshot() {
  local t0 t1
  t0=$(now)
  in_ns timeout 300 "$B/worker/goalkeeper-worker" scan --targets "$LAB_NET" --ports "$LAB_PORTS" \
    --timeout-ms 300 --retries 1 --concurrency 4096 --output jsonl 2>/dev/null \
    | python3 -c 'import json,sys; [print("%s:%s" % (o["ip"], o["port"])) for o in map(json.loads, sys.stdin)]' \
    | sort >"$work/oneshot.found"
  t1=$(now)
  [[ "$(cat "$work/oneshot.found")" == "$truth" ]] || { echo "one-shot recall/FP mismatch" >&2; exit 1; }
  echo "$t1 - $t0" | bc -l
}

fleet() {  # $1 = workers
  local n=$1 port t0 t1 id
  cat >"$work/coordinator.yaml" <<YAML
listen: 127.0.0.1:0
db: $work/fleet-$n-$RANDOM.db
metrics_listen: ""
allowed_ranges: [$LAB_NET]
profiles:
  default: {ports: "$LAB_PORTS", timeout_ms: 300, retries: 1}
lease: {ttl_seconds: 30, heartbeat_seconds: 5, shard_seconds: ${SHARD_SECONDS:-5}}
YAML
  : >"$work/coordinator.log"
  in_ns "$B/coordinator/goalkeeper-coordinator" --config "$work/coordinator.yaml" >"$work/coordinator.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q "listening grpc" "$work/coordinator.log" && break; sleep 0.05; done
  port=$(grep -oE 'grpc=127.0.0.1:[0-9]+' "$work/coordinator.log" | cut -d: -f2)
  for w in $(seq "$n"); do
    in_ns "$B/worker/goalkeeper-worker" run --coordinator "127.0.0.1:$port" --name "w$w" \
      --concurrency 4096 --max-rate 0 >"$work/worker-$w.log" 2>&1 &
    pids+=($!)
  done
  sleep 1  # workers registered and long-polling
  t0=$(now)
  in_ns timeout 300 "$B/cli/goalkeeperctl" --coordinator "127.0.0.1:$port" scan start \
    --targets "$LAB_NET" --profile default --wait --output json >"$work/scan.json" 2>/dev/null
  t1=$(now)
  id=$(python3 -c 'import json; print(json.load(open("'"$work/scan.json"'"))["id"])')
  in_ns "$B/cli/goalkeeperctl" --coordinator "127.0.0.1:$port" scan findings "$id" --output csv \
    | tail -n +2 | cut -d, -f1,2 | tr , : | sort >"$work/fleet.found"
  [[ "$(cat "$work/fleet.found")" == "$truth" ]] || { echo "fleet($n) recall/FP mismatch" >&2; exit 1; }
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  pids=()
  echo "$t1 - $t0" | bc -l
}

declare -A walls
for r in $(seq "$RUNS"); do
  walls[oneshot]+="$(oneshot) "
  walls[fleet1]+="$(fleet 1) "
  walls[fleet2]+="$(fleet 2) "
  echo "run $r: ${walls[oneshot]##* } ${walls[fleet1]##* } ${walls[fleet2]##* }" >&2
done
m_one=$(tr ' ' '\n' <<<"${walls[oneshot]}" | grep . | median)
m_f1=$(tr ' ' '\n' <<<"${walls[fleet1]}" | grep . | median)
m_f2=$(tr ' ' '\n' <<<"${walls[fleet2]}" | grep . | median)

# Lease throughput, outside the namespace, on its own loopback port.
rates=""
for r in $(seq "$RUNS"); do
  rm -f "$work/lease.db"*
  "$B/coordinator/goalkeeper-coordinator" --listen 127.0.0.1:0 --db "$work/lease.db" \
    --metrics-listen "" --allowed 127.0.0.0/8 >"$work/lease-coordinator.log" 2>&1 &
  cp=$!
  for _ in $(seq 100); do grep -q "listening grpc" "$work/lease-coordinator.log" && break; sleep 0.05; done
  lport=$(grep -oE 'grpc=127.0.0.1:[0-9]+' "$work/lease-coordinator.log" | cut -d: -f2)
  line=$("$B/bench/lease_bench" --coordinator "127.0.0.1:$lport" --workers 100 --seconds 10)
  kill "$cp"; wait "$cp" 2>/dev/null || true
  echo "$line" >&2
  rates+="$(sed -E 's/.*shards_per_second=([0-9]+).*/\1/' <<<"$line") "
done
m_rate=$(tr ' ' '\n' <<<"$rates" | grep . | median)

printf '\n| scan of the lab (524,288 probes) | median wall s (%s runs) | vs one-shot |\n|---|---|---|\n' "$RUNS"
printf '| one-shot worker | %.2f | 1.00 |\n' "$m_one"
printf '| coordinator + 1 worker | %.2f | %.2f |\n' "$m_f1" "$(echo "$m_f1 / $m_one" | bc -l)"
printf '| coordinator + 2 workers | %.2f | %.2f |\n' "$m_f2" "$(echo "$m_f2 / $m_one" | bc -l)"
printf '\nall runs (s): one-shot %s; fleet+1 %s; fleet+2 %s\n' "${walls[oneshot]}" "${walls[fleet1]}" "${walls[fleet2]}"
printf '\nlease throughput, 100 simulated workers: median %s shards leased+completed per second (runs: %s)\n' "$m_rate" "$rates"
