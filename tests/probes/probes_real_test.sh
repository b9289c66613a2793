#!/usr/bin/env bash
# End-to-end protocol probes against real servers: starts the probe lab
# (scripts/probe-lab.sh: real Redis with and without requirepass, Memcached
# with UDP on and off, PostgreSQL, MariaDB, snmpd, unbound with recursion on
# and off, ntpd, sshd, rpcbind, plus the test responders) in a network
# namespace of its own, runs the real `goalkeeper-worker scan --probes all
# --udp all` over it, and checks every listener of the lab's manifest with
# tests/probes/check_lab_scan.py: the right service, the installed version,
# the auth state, amplification for the UDP amplifiers, and "unverified" (no
# crash, no hang) for the garbage, truncated, oversized and silent servers.
#
#   tests/probes/probes_real_test.sh BUILD_DIR     (root: it makes a netns)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:?usage: probes_real_test.sh BUILD_DIR}
WORKER="$BUILD/worker/goalkeeper-worker"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# Every TCP port of the lab's manifest (databases, admin services, the
# unusual ports 7777 and 8081); UDP: every UDP probe.
PORTS=22,23,389,2375,3306,3389,5432,5900,6379,6443,7777,8081,9042,9200,10250,11211,27017
scripts/probe-lab.sh run -- sh -c '
  cp "$PROBE_LAB_MANIFEST" "$1/manifest.txt"
  "$2" scan --targets 127.0.0.1-127.0.0.70 --ports "$3" --probes all --udp all \
    --dns-name www.probe.goalkeeper.test --probe-timeout 3s >"$1/scan.jsonl"
' sh "$OUT" "$WORKER" "$PORTS"
python3 tests/probes/check_lab_scan.py "$OUT/manifest.txt" "$OUT/scan.jsonl"
