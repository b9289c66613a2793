#!/usr/bin/env bash
# The main job, locally: builds Goalkeeper, opens a few "exposed services" on
# loopback addresses (a demo inventory in 127.42.0.0/24), scans the inventory
# for dangerous ports with goalkeeper-worker and shows what it found.
# Idempotent; installs what it needs (scripts/setup.sh). Traffic stays in
# 127.0.0.0/8. The fleet issue turns this into coordinator + workers +
# notifier.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target goalkeeper-worker

work=$(mktemp -d)
listeners_pid=""
cleanup() {
  [ -n "$listeners_pid" ] && kill "$listeners_pid" 2>/dev/null && wait "$listeners_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The demo inventory's exposed services (what a customer left open).
cat >"$work/exposed.txt" <<'PAIRS'
127.42.0.10:3306
127.42.0.23:6379
127.42.0.77:27017
127.42.0.200:5432
127.42.0.201:9200
PAIRS
python3 bench/listeners.py serve "$work/exposed.txt" >"$work/listeners.out" 2>/dev/null &
listeners_pid=$!
for _ in $(seq 50); do grep -q ready "$work/listeners.out" 2>/dev/null && break; sleep 0.1; done

echo "== scanning 127.42.0.0/24 for dangerous ports (databases, admin surfaces)"
build/worker/goalkeeper-worker scan --targets 127.42.0.0/24 --allowed 127.42.0.0/16 \
  --ports dangerous --timeout-ms 300 --output text | sort -V | tee "$work/found.txt"

found=$(cut -d' ' -f1 "$work/found.txt" | sort)
want=$(sort "$work/exposed.txt")
if [ "$found" = "$want" ]; then
  echo "== demo: found all $(wc -l <"$work/exposed.txt") exposed services, nothing else"
else
  echo "== demo: MISMATCH; expected:"; cat "$work/exposed.txt"; exit 1
fi
