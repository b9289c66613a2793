#!/usr/bin/env bash
# UDP sweep benchmark (issue 12): goalkeeper against nmap -sU, masscan and zmap
# over the UDP catalogue ports, against the probe lab's real servers. Root only.
#
#   sudo bench/udp_bench.sh [--net=127.0.0.0/16]
#                           [--tools=goalkeeper,nmap,masscan,masscan-nmap-payloads,zmap]
#                           [--reps=N] [--tool-timeout=S]
#
#   --net=CIDR        the range swept (default 127.0.0.0/16; must be inside 127.0.0.0/8 and
#                     hold the lab's servers, which are on 127.0.0.x)
#   --tools=LIST      which tools, in this order (rotated per repetition)
#   --reps=N          repetitions of every tool (default 1)
#   --tool-timeout=S  each tool's run is stopped after S seconds (default 900)
#
# The lab is scripts/probe-lab.sh's UDP half in a namespace of its own (unshare -n, only
# `lo`): memcached (UDP on), snmpd, two unbound (recursion on/off), ntpd (NTPsec, on
# 127.0.0.1), rpcbind, and the repo's responders for SSDP, NTP monlist, Ubiquiti, MSSQL
# browser, NetBIOS, mDNS and CLDAP (tests/probes/responders/udp_responders.py). The TCP
# responders start too (probe-lab.sh starts them with the UDP ones); no TCP is scanned.
# Ports: dns 53, portmap 111, ntp 123, netbios 137, snmp 161, cldap 389, mssql 1434,
# ssdp 1900, mdns 5353, ubiquiti 10001, memcached 11211 (goalkeeper's --udp all).
#
# Inside the namespace (per-namespace sysctls; the host's are untouched):
#   net.ipv4.icmp_ratelimit=0, icmp_msgs_per_sec=icmp_msgs_burst=10000000, icmp_ratemask=0:
#     every closed port answers port-unreachable (the kernel's default is 1000 ICMP/s
#     for the whole namespace, after which a closed port looks like a silent one);
#   net.ipv4.conf.{all,lo}.route_localnet=1 and accept_local=1: packets that masscan and
#     zmap write to `lo` themselves (PF_PACKET) carry source 127.0.0.1, which the kernel
#     otherwise drops on input as a martian source (loopback source on a packet that did not
#     come from its own output path), silently: no nstat counter moves.
# masscan and zmap get `lo` only, with MACs that let the frames in (see the comments at
# their commands). Every run is under `timeout`.
#
# Measured: wall time, CPU, RSS (/usr/bin/time -v); recall = lab UDP listeners reported open /
# all of them (truth: the lab's manifest); false positives = pairs reported open where no UDP
# socket is bound (`ss -uln` in the namespace, wildcard binds included). Results: Markdown
# on stdout and in $OUT/results.md; every tool's raw output beside it.
#
# Environment: GOALKEEPER_BIN (default <repo>/build/worker/goalkeeper-worker),
# GK_BENCH_OUT (default /var/tmp/gkbench/udp-<timestamp>).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
GK="${GOALKEEPER_BIN:-$REPO_DIR/build/worker/goalkeeper-worker}"
NET="127.0.0.0/16"
TOOLS="goalkeeper,nmap,masscan,masscan-nmap-payloads,zmap"
REPS=1
TOOL_TIMEOUT=900
for a in "$@"; do
  case "$a" in
    --net=*) NET="${a#--net=}" ;;
    --tools=*) TOOLS="${a#--tools=}" ;;
    --reps=*) REPS="${a#--reps=}" ;;
    --tool-timeout=*) TOOL_TIMEOUT="${a#--tool-timeout=}" ;;
    -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
    *) echo "udp_bench.sh: unknown argument '$a' (options take --name=value)" >&2; exit 2 ;;
  esac
done
# Only 127.0.0.0/8, and a range that holds the lab's 127.0.0.x servers.
python3 - "$NET" <<'EOF' || exit 2
import ipaddress, sys
n = ipaddress.ip_network(sys.argv[1], strict=True)
if not n.subnet_of(ipaddress.ip_network("127.0.0.0/8")) or n.prefixlen > 24 \
        or ipaddress.ip_address("127.0.0.1") not in n:
    sys.exit(f"--net: '{sys.argv[1]}' must be a /8-/24 inside 127.0.0.0/8 holding 127.0.0.0/24")
EOF

UDP_PORTS="53,111,123,137,161,389,1434,1900,5353,10001,11211"
ZMAP_PKT=/usr/share/doc/zmap/examples/udp-probes
log() { printf '[udp_bench] %s\n' "$*" >&2; }

# ------------------------------------------------------------- outside ----
if [[ ${UDP_BENCH_IN_LAB:-0} != 1 ]]; then
  [[ $(id -u) -eq 0 ]] || { echo "udp_bench.sh: must run as root (network namespace)" >&2; exit 1; }
  OUT="${GK_BENCH_OUT:-/var/tmp/gkbench/udp-$(date +%Y%m%dT%H%M%S)}"
  mkdir -p "$OUT"
  chmod 755 "$OUT"
  {
    echo "started: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "cpus:    $(nproc) ($(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1))"
    echo "kernel:  $(uname -r)"
    echo "os:      $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start"
    if [[ -x $GK ]]; then
      echo "goalkeeper: $GK (built $(stat -c '%y' "$GK" | cut -d. -f1); git $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    else
      echo "goalkeeper: $GK MISSING"
    fi
    echo "nmap:    $(nmap --version 2>/dev/null | head -1 || echo 'not installed')"
    echo "masscan: $( { masscan --version 2>/dev/null || true; } | grep -m1 -i 'version' || echo 'not installed')"
    echo "zmap:    $(zmap --version 2>/dev/null | head -1 || echo 'not installed')"
    for p in memcached snmpd unbound ntpsec rpcbind libpcap0.8; do
      echo "$p: $(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo 'not installed')"
    done
    echo "args:    net=$NET tools=$TOOLS reps=$REPS tool_timeout=$TOOL_TIMEOUT"
  } >"$OUT/env.txt"
  cat "$OUT/env.txt" >&2
  rc=0
  UDP_BENCH_IN_LAB=1 OUT="$OUT" PROBE_LAB_DIR="$OUT/lab" PROBE_LAB_KEEP=1 \
    PROBE_LAB_ONLY="memcached snmpd unbound ntpd rpcbind responders" \
    timeout -k 10 $(( TOOL_TIMEOUT * 4 * REPS + 600 )) \
    "$REPO_DIR/scripts/probe-lab.sh" run -- "$0" "$@" || rc=$?
  echo "finished: $(date -u '+%Y-%m-%d %H:%M:%S UTC') (exit $rc)" >>"$OUT/env.txt"
  exit "$rc"
fi

# ------------------------------------------------- inside the probe lab ----
: "${OUT:?}" "${PROBE_LAB_MANIFEST:?}"
sysctl -q -w net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_ratemask=0
sysctl -q -w net.ipv4.icmp_msgs_per_sec=10000000 net.ipv4.icmp_msgs_burst=10000000
sysctl -q -w net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.lo.route_localnet=1
sysctl -q -w net.ipv4.conf.all.accept_local=1 net.ipv4.conf.lo.accept_local=1
{
  for k in icmp_ratelimit icmp_ratemask icmp_msgs_per_sec icmp_msgs_burst conf/lo/route_localnet \
    conf/lo/accept_local; do
    echo "net.ipv4.${k//\//.} = $(cat /proc/sys/net/ipv4/$k)"
  done
} >"$OUT/sysctl.txt"

# Truth: the lab's UDP listeners; bound: every UDP socket in the namespace.
awk '$4 == "udp" {print $2 ":" $3 "\t" $1 "\t" $5}' "$PROBE_LAB_MANIFEST" >"$OUT/truth.tsv"
ss -Hulnp >"$OUT/ss-udp.txt"
cp "$PROBE_LAB_MANIFEST" "$OUT/manifest.txt"
log "lab: $(wc -l <"$OUT/truth.tsv") UDP listeners; $(wc -l <"$OUT/ss-udp.txt") UDP sockets bound"

IFS=, read -r -a TOOL_LIST <<<"$TOOLS"
printf 'tool\trep\tpart\trc\twall_s\tuser_s\tsys_s\tmaxrss_kb\tbacklog_drops\n' >"$OUT/runs.tsv"
# Packets the kernel dropped because a CPU's input backlog was full (the second
# column of /proc/net/softnet_stat, summed over CPUs; machine-wide): every packet
# on lo passes through it, and masscan/zmap inject theirs at full speed.
backlog_drops() {
  local s=0 _p d _r
  while read -r _p d _r; do s=$(( s + 16#$d )); done </proc/net/softnet_stat
  echo "$s"
}

# timed TOOL REP PART -- CMD...: one measured command, output in $OUT/TOOL.REP[.PART].*
timed() {
  local tool=$1 rep=$2 part=$3 base rc=0 wall user sys rss d0 d1
  shift 4
  base="$OUT/$tool.$rep${part:+.$part}"
  echo "$*" >"$base.cmd"
  d0=$(backlog_drops)
  /usr/bin/time -v -o "$base.time" timeout -k 5 "$TOOL_TIMEOUT" "$@" >"$base.out" 2>"$base.err" \
    || rc=$?
  d1=$(backlog_drops)
  read -r wall user sys rss < <(awk -F': ' '/Elapsed/ {n = split($2, a, ":"); w = 0;
      for (i = 1; i <= n; i++) w = w * 60 + a[i]}
    /User time/ {u = $2} /System time/ {s = $2} /Maximum resident/ {r = $2}
    END {printf "%.2f %.2f %.2f %d\n", w, u, s, r}' "$base.time")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$rep" "${part:--}" "$rc" "$wall" "$user" \
    "$sys" "$rss" "$(( d1 - d0 ))" >>"$OUT/runs.tsv"
  log "$tool rep $rep${part:+ $part}: exit $rc, $wall s"
  sleep 2
}

# masscan's receive thread blocks in pcap on a quiet `lo` (TPACKET_V3 delivers
# nothing until a packet arrives), so it never sees its --wait run out: one
# datagram every 100 ms to the closed 127.0.0.1:9 wakes it. The packets are
# not in any tool's target set (port 9 is not scanned).
KEEPALIVE_PID=
keepalive_start() {
  python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + 3600
while time.time() < end:
    s.sendto(b"k", ("127.0.0.1", 9)); time.sleep(0.1)
' &
  KEEPALIVE_PID=$!
}
keepalive_stop() {
  if [[ -n $KEEPALIVE_PID ]]; then
    kill "$KEEPALIVE_PID" 2>/dev/null || true
    wait "$KEEPALIVE_PID" 2>/dev/null || true
  fi
  KEEPALIVE_PID=
  return 0
}
trap keepalive_stop EXIT

zmap_payload() {  # zmap_payload PORT: --probe-args for zmap's udp module
  case $1 in
    53) echo "file:$ZMAP_PKT/dns_53.pkt" ;;
    111) echo "file:$ZMAP_PKT/portmap_111.pkt" ;;
    123) echo "file:$ZMAP_PKT/ntp_123.pkt" ;;
    137) echo "file:$ZMAP_PKT/netbios_137.pkt" ;;
    161) echo "file:$ZMAP_PKT/snmp1_161.pkt" ;;
    1434) echo "file:$ZMAP_PKT/mssql_1434.pkt" ;;
    1900) echo "file:$ZMAP_PKT/upnp_1900.pkt" ;;
    5353) echo "file:$ZMAP_PKT/mdns_5353.pkt" ;;
    # zmap ships no probe for these three: nmap's payloads (nmap-payloads), as hex.
    389) echo "hex:30840000002d02010763840000002404000a01000a0100020100020164010100870b6f626a656374436c617373308400000000" ;;
    10001) echo "hex:01000000" ;;
    11211) echo "hex:000100000001000076657273696f6e0d0a" ;;
  esac
}

run_tool() {  # run_tool TOOL REP
  local tool=$1 rep=$2 p
  case $tool in
    goalkeeper)
      # The worker has no UDP-only scan (--ports is required and takes TCP ports), so TCP
      # port 9 (refused everywhere) rides along: 1 TCP probe per address besides the 11 UDP.
      timed goalkeeper "$rep" "" -- "$GK" scan --targets "$NET" --ports 9 --udp all \
        --timeout-ms 300 --retries 1 --concurrency 4096 --output jsonl --allowed 127.0.0.0/8
      ;;
    nmap)
      # -sU with nmap's own payloads for these ports (nmap-payloads), no host discovery,
      # no DNS, 1 retry and the others' 300 ms timeout, at least 20,000 packets/s.
      timed nmap "$rep" "" -- nmap -sU -n -Pn -p "U:$UDP_PORTS" --max-retries 1 \
        --max-rtt-timeout 300ms --min-rate 20000 -oG - "$NET"
      ;;
    masscan|masscan-nmap-payloads)
      # masscan writes Ethernet frames itself: on `lo` the destination MAC must let the
      # kernel take the frame (lo's own MAC is 00:00:00:00:00:00, which masscan reads as
      # "unknown" and would ARP for, and lo has no ARP; a broadcast destination is accepted),
      # and the source MAC must be non-zero for masscan to start at all.
      # masscan-nmap-payloads: the same with --nmap-payloads (nmap's payload file) instead
      # of masscan's few built-in UDP payloads. --rate: MASSCAN_RATE (default 100000).
      local extra=()
      [[ $tool == masscan-nmap-payloads ]] && extra=(--nmap-payloads /usr/share/nmap/nmap-payloads)
      keepalive_start
      timed "$tool" "$rep" "" -- masscan -pU:"$UDP_PORTS" "$NET" --rate "${MASSCAN_RATE:-100000}" \
        --wait 2 --interface lo --source-ip 127.0.0.1 --source-mac 02-00-00-00-00-01 \
        --router-mac ff-ff-ff-ff-ff-ff "${extra[@]}" -oL "$OUT/$tool.$rep.list"
      keepalive_stop
      ;;
    zmap)
      # One port per run (zmap scans one port at a time). Its receive filter drops frames
      # whose source MAC is its own, and on lo every frame has 00:00:00:00:00:00: so zmap
      # sends as 02:00:00:00:00:01 (the kernel accepts any source MAC on lo) to 00:..:00.
      # -b /dev/null: no blocklist (the default one excludes 127.0.0.0/8); -c 2 waits 2 s
      # for late answers (default 8); -r 100000 packets/s.
      for p in ${UDP_PORTS//,/ }; do
        timed zmap "$rep" "$p" -- zmap -M udp -p "$p" --probe-args="$(zmap_payload "$p")" -i lo \
          -S 127.0.0.1 --source-mac 02:00:00:00:00:01 -G 00:00:00:00:00:00 -b /dev/null \
          -r "${ZMAP_RATE:-100000}" -c 2 -q -o "$OUT/zmap.$rep.$p.csv" "$NET"
      done
      ;;
    *) log "unknown tool $tool"; return 1 ;;
  esac
}

n=${#TOOL_LIST[@]}
for (( rep = 1; rep <= REPS; rep++ )); do
  for (( k = 0; k < n; k++ )); do
    run_tool "${TOOL_LIST[$(( (k + rep - 1) % n ))]}" "$rep"
  done
done
python3 "$BENCH_DIR/udp_report.py" "$OUT" "$NET" | tee "$OUT/results.md"
