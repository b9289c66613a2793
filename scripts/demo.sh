#!/usr/bin/env bash
# The main job, locally: builds Goalkeeper, opens a few "exposed services" on
# loopback addresses (the demo inventory 127.42.0.0/22), starts the local
# fleet (a coordinator on SQLite, two workers and the notifier) and runs a
# scan of the inventory through goalkeeperctl, twice, to show the diff. The
# notifier writes one email per owner into ./goalkeeper-demo/outbox/ and logs
# the Telegram summary (embedded defaults: no SMTP server, no bot token).
# Every gRPC link is mutual TLS: scripts/dev-certs.sh makes a development CA
# and one certificate per identity under build/dev-certs/ (kept on later
# runs), and goalkeeperctl acts as spiffe://goalkeeper/admin.
# Idempotent; installs what it needs (scripts/setup.sh). Traffic stays in
# 127.0.0.0/8. State and logs go to ./goalkeeper-demo/.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target goalkeeper-worker goalkeeper-coordinator goalkeeperctl \
  goalkeeper-notifier

state=goalkeeper-demo
rm -rf "$state"
mkdir -p "$state"
# The fleet's certificates (scripts/demo/*.yaml name these directories).
certs=build/dev-certs
scripts/dev-certs.sh "$certs" coordinator notifier worker admin
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# The demo inventory's exposed services (what customers left open).
cat >"$state/exposed.txt" <<'PAIRS'
127.42.0.10:3306
127.42.0.23:6379
127.42.1.77:27017
127.42.2.200:5432
127.42.2.201:9200
PAIRS
python3 bench/listeners.py serve "$state/exposed.txt" >"$state/listeners.log" 2>&1 &
pids+=($!)

build/notifier/goalkeeper-notifier --config scripts/demo/notifier.yaml \
  >"$state/notifier.log" 2>&1 &
pids+=($!)
build/coordinator/goalkeeper-coordinator --config scripts/demo/coordinator.yaml \
  >"$state/coordinator.log" 2>&1 &
pids+=($!)
for w in worker-1 worker-2; do
  # --max-rate: the default 2000/s protects a real node's conntrack table;
  # loopback needs no such care.
  build/worker/goalkeeper-worker run --coordinator 127.0.0.1:7070 --name "$w" --max-rate 50000 \
    --tls-dir "$certs/worker" --metrics-listen 127.0.0.1:0 --health-listen 127.0.0.1:0 \
    >"$state/$w.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 100); do
  grep -q ready "$state/listeners.log" 2>/dev/null && grep -q listening "$state/coordinator.log" && break
  sleep 0.1
done

export GOALKEEPER_COORDINATOR=127.0.0.1:7070
ctl="build/cli/goalkeeperctl --tls-dir $certs/admin"
echo "== goalkeeperctl workers list"
sleep 1
$ctl workers list
echo "== goalkeeperctl scan start --inventory demo --wait"
$ctl scan start --inventory demo --wait
first=$($ctl scan list --limit 1 --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["scans"][0]["id"])')
echo "== goalkeeperctl scan findings $first --output table"
$ctl scan findings "$first" --output table

echo "== a customer closes MySQL and opens Memcached; scanning again"
grep -v 3306 "$state/exposed.txt" >"$state/exposed2.txt"
echo "127.42.1.5:11211" >>"$state/exposed2.txt"
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
python3 bench/listeners.py serve "$state/exposed2.txt" >"$state/listeners2.log" 2>&1 &
pids[0]=$!
for _ in $(seq 50); do grep -q ready "$state/listeners2.log" 2>/dev/null && break; sleep 0.1; done
$ctl scan start --inventory demo --wait >/dev/null
second=$($ctl scan list --limit 1 --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["scans"][0]["id"])')
echo "== goalkeeperctl scan diff $second"
$ctl scan diff "$second"

found=$($ctl scan findings "$second" --output csv | tail -n +2 | cut -d, -f1,2 | tr , : | sort)
if [ "$found" = "$(sort "$state/exposed2.txt")" ]; then
  echo "== demo: the fleet found exactly the $(wc -l <"$state/exposed2.txt") exposed services"
else
  echo "== demo: MISMATCH"; echo "found:"; echo "$found"; echo "expected:"; sort "$state/exposed2.txt"
  exit 1
fi
# The coordinator hands each report to the notifier; wait for the emails.
for _ in $(seq 100); do
  [ "$(ls "$state/outbox" 2>/dev/null | wc -l)" -ge 4 ] && break
  sleep 0.1
done
echo "== the notifier's emails (./$state/outbox/):"
for f in "$state"/outbox/*.eml; do
  printf '   %s  %s\n' "$(grep -m1 '^To:' "$f")" "$(grep -m1 '^Subject:' "$f")"
done
echo "== the Telegram summaries (to the log, no bot token configured):"
grep -h "telegram chat=" "$state/notifier.log" | sed 's/^/   /' | cut -c1-160
echo "== logs, the SQLite databases and the outbox are in ./$state/"
