#!/usr/bin/env bash
# The benchmark lab: a private network namespace with only `lo` in it.
#
#   sudo bench/lab.sh run -- CMD [ARGS...]   set up, run CMD inside the netns, tear down
#   sudo bench/lab.sh up                     set up and leave it running
#   sudo bench/lab.sh down                   tear down (idempotent)
#   source bench/lab.sh                      (run.sh) defines lab_up, lab_down, in_ns
#
# Inside netns "gkbench":
#   127.77.0.0/16  x ports 22,80,443,3306,5432,6379,8080,27017 = 524,288 probes
#     300 (ip,port) pairs are open (python listeners, chosen with a fixed seed
#     from addresses outside the filtered /20); ground truth in $LAB_TRUTH
#   127.77.16.0/20 filtered: iptables INPUT DROP of SYNs (so no answer at all;
#     DROP in OUTPUT would make connect() fail at once with EPERM instead)
#   everything else closed: the kernel answers SYN with RST (ECONNREFUSED)
#   127.78.0.0/16 has no listeners and no DROP: the "closed only" scenario
#
# The namespace has no interface but lo, so no packet sent in it can leave
# the machine; everything scanned is in 127.0.0.0/8.
set -euo pipefail

LAB_NS="${LAB_NS:-gkbench}"
LAB_NET="127.77.0.0/16"
LAB_BASE="127.77.0.0"
LAB_COUNT=65536
LAB_FILTERED="127.77.16.0/20"
LAB_FILTERED_BASE="127.77.16.0"
LAB_FILTERED_COUNT=4096
LAB_CLOSED_NET="127.78.0.0/16"
LAB_CLOSED_BASE="127.78.0.0"
LAB_PORTS="22,80,443,3306,5432,6379,8080,27017"
LAB_OPEN=300
LAB_SEED="${LAB_SEED:-20260101}"
LAB_STATE="${GK_BENCH_STATE:-/var/tmp/gkbench}"
LAB_TRUTH="$LAB_STATE/truth.txt"
LAB_LISTENERS_PIDFILE="$LAB_STATE/listeners.pid"
LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

lab_log() { printf '[lab] %s\n' "$*" >&2; }

# Only one lab at a time: the namespace name and the state files are fixed, so
# a second run.sh or lab.sh would tear down the first one's lab. lab_lock takes
# an exclusive lock (held until the process exits) or fails at once.
lab_lock() {
  [[ ${LAB_LOCKED:-0} -eq 1 ]] && return 0
  mkdir -p "$LAB_STATE"
  exec 9>"$LAB_STATE/bench.lock"
  if ! flock -n 9; then
    lab_log "another benchmark run or lab holds $LAB_STATE/bench.lock; not touching its lab"
    return 1
  fi
  LAB_LOCKED=1
}

in_ns() { ip netns exec "$LAB_NS" "$@"; }

lab_down() {
  local pid
  if [[ -f $LAB_LISTENERS_PIDFILE ]]; then
    pid=$(cat "$LAB_LISTENERS_PIDFILE")
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$LAB_LISTENERS_PIDFILE"
  fi
  if ip netns list 2>/dev/null | grep -qw "^$LAB_NS"; then
    # Anything we started in the namespace and that is still there.
    for pid in $(ip netns pids "$LAB_NS" 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null || true
    done
    ip netns del "$LAB_NS" 2>/dev/null || true
    lab_log "netns $LAB_NS removed"
  fi
}

lab_up() {
  [[ $(id -u) -eq 0 ]] || { lab_log "must run as root"; return 1; }
  lab_lock || return 1
  mkdir -p "$LAB_STATE"
  lab_down
  ip netns add "$LAB_NS"
  in_ns ip link set lo up

  # Per-netns settings for high-rate loopback connect scans:
  #  - ip_local_port_range: more ephemeral ports (the source is always
  #    127.0.0.1, so every connect needs one; the default 32768-60999 is 28k).
  #  - tcp_tw_reuse=1: reuse TIME_WAIT ports for new outgoing connections
  #    (a tool that closes open ports with FIN instead of RST leaves them).
  #  - somaxconn / tcp_max_syn_backlog: listeners' accept and SYN queues never
  #    overflow, so an open port always answers SYN-ACK.
  #  - tcp_syncookies=0 is not set: queues are big enough that cookies never trigger.
  in_ns sysctl -q -w net.ipv4.ip_local_port_range="1024 65535"
  in_ns sysctl -q -w net.ipv4.tcp_tw_reuse=1
  in_ns sysctl -q -w net.core.somaxconn=65535
  in_ns sysctl -q -w net.ipv4.tcp_max_syn_backlog=65535

  in_ns iptables -w -A INPUT -d "$LAB_FILTERED" -p tcp --syn -j DROP

  python3 "$LAB_DIR/listeners.py" gen --seed "$LAB_SEED" --count "$LAB_OPEN" \
    --net "$LAB_NET" --exclude "$LAB_FILTERED" --ports "$LAB_PORTS" >"$LAB_TRUTH"

  local fifo="$LAB_STATE/listeners.ready"
  rm -f "$fifo"
  # setsid: the listeners get their own process group, so a Ctrl-C in the
  # terminal goes to the bench and the trap stops them in order.
  setsid ip netns exec "$LAB_NS" python3 "$LAB_DIR/listeners.py" serve "$LAB_TRUTH" \
    >"$fifo" 2>"$LAB_STATE/listeners.log" &
  echo $! >"$LAB_LISTENERS_PIDFILE"
  for _ in $(seq 100); do
    grep -q '^ready' "$fifo" 2>/dev/null && break
    sleep 0.1
  done
  if ! grep -q "^ready $LAB_OPEN\$" "$fifo" 2>/dev/null; then
    lab_log "listeners did not come up: $(cat "$LAB_STATE/listeners.log")"
    return 1
  fi
  lab_log "netns $LAB_NS up: $LAB_NET x {$LAB_PORTS}, $LAB_OPEN open, $LAB_FILTERED dropped; truth in $LAB_TRUTH"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  case "${1:-}" in
    up) lab_up ;;
    down) lab_lock && lab_down ;;
    run)
      shift
      [[ ${1:-} == -- ]] && shift
      [[ $# -gt 0 ]] || { echo "usage: $0 run -- CMD [ARGS...]" >&2; exit 2; }
      lab_lock || exit 1
      trap lab_down EXIT
      trap 'exit 130' INT TERM
      lab_up
      in_ns "$@"
      ;;
    *) echo "usage: $0 up | down | run -- CMD [ARGS...]" >&2; exit 2 ;;
  esac
fi
