#!/usr/bin/env bash
# The protocol-probe lab: real servers and small responders in a private network
# namespace with only `lo` in it (nothing sent in it can leave the machine).
#
#   sudo scripts/probe-lab.sh run -- CMD [ARGS...]
#       creates the namespace (unshare -n), starts every server, runs CMD inside
#       it with PROBE_LAB_MANIFEST set, stops everything; exit status is CMD's.
#
# Example:
#   sudo scripts/probe-lab.sh run -- sh -c 'cat "$PROBE_LAB_MANIFEST"; redis-cli -h 127.0.0.11 ping'
#
# The manifest (one line per listener, whitespace separated):
#   NAME ADDRESS PORT TRANSPORT SERVICE VERSION AUTH
# VERSION is read from the installed package at run time ("-" when none applies), AUTH is
# not_required | required | unknown | - (what a correct probe must report). Every server is bound
# to a 127.0.0.x address only. Environment: PROBE_LAB_DIR (state dir, default a fresh mktemp),
# PROBE_LAB_KEEP=1 keeps the state dir. Not thread-safe: one lab per namespace (each run makes
# its own namespace, so several may run at once).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"
RESPONDERS="$REPO/tests/probes/responders"

log() { printf '[probe-lab] %s\n' "$*" >&2; }

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

# pkg_version PACKAGE: the upstream version of an installed Debian package ("7.0.15").
pkg_version() {
  local v
  v=$(dpkg-query -W -f='${Version}' "$1")
  v=${v#*:}     # epoch
  v=${v%%-*}    # Debian revision
  v=${v%%+*}    # +dfsg etc.
  printf '%s' "$v"
}

PIDS=()
manifest() { printf '%s\n' "$*" >>"$MANIFEST"; }

# wait_tcp ADDR PORT: up to 20 s for a TCP listener.
wait_tcp() {
  local i
  for i in $(seq 200); do
    if python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.2)' \
      "$1" "$2" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  log "no listener on $1:$2 after 20 s"
  return 1
}

# wait_udp ADDR PORT: up to 20 s for a bound UDP socket (ss lists it).
wait_udp() {
  local i
  for i in $(seq 200); do
    if ss -Hlun "src $1:$2" 2>/dev/null | grep -q .; then return 0; fi
    sleep 0.1
  done
  log "no UDP socket on $1:$2 after 20 s"
  return 1
}

bg() {
  local name=$1
  shift
  "$@" >"$D/$name.log" 2>&1 &
  PIDS+=($!)
}

stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 30); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive -eq 0 ]] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [[ ${PROBE_LAB_KEEP:-0} != 1 && ${OWN_DIR:-0} == 1 ]]; then rm -rf "$D"; fi
}

start_redis() {
  local v
  v=$(pkg_version redis-server)
  mkdir -p "$D/redis-open" "$D/redis-auth" "$D/redis-7777"
  bg redis-open redis-server --bind 127.0.0.11 --port 6379 --dir "$D/redis-open" --save '' \
    --protected-mode no
  bg redis-7777 redis-server --bind 127.0.0.11 --port 7777 --dir "$D/redis-7777" --save '' \
    --protected-mode no
  bg redis-auth redis-server --bind 127.0.0.12 --port 6379 --dir "$D/redis-auth" --save '' \
    --requirepass lab-secret-not-guessable
  wait_tcp 127.0.0.11 6379 && wait_tcp 127.0.0.11 7777 && wait_tcp 127.0.0.12 6379 || return 1
  manifest redis-open 127.0.0.11 6379 tcp Redis "$v" not_required
  manifest redis-unusual 127.0.0.11 7777 tcp Redis "$v" not_required
  manifest redis-auth 127.0.0.12 6379 tcp Redis "$v" required
}

start_memcached() {
  local v
  v=$(pkg_version memcached)
  bg memcached-udp memcached -u nobody -l 127.0.0.13 -p 11211 -U 11211 -m 16
  bg memcached-tcp memcached -u nobody -l 127.0.0.14 -p 11211 -U 0 -m 16
  wait_tcp 127.0.0.13 11211 && wait_tcp 127.0.0.14 11211 && wait_udp 127.0.0.13 11211 || return 1
  manifest memcached-udp-tcp 127.0.0.13 11211 tcp Memcached "$v" not_required
  manifest memcached-udp 127.0.0.13 11211 udp Memcached "$v" -
  manifest memcached-tcp-only 127.0.0.14 11211 tcp Memcached "$v" not_required
}

start_postgres() {
  local v bin
  v=$(pkg_version postgresql-15)
  bin=/usr/lib/postgresql/15/bin
  mkdir -p "$D/pg"
  chown postgres: "$D/pg"
  runuser -u postgres -- "$bin/initdb" -D "$D/pg/data" -A reject >"$D/pg-initdb.log" 2>&1
  bg postgres runuser -u postgres -- "$bin/postgres" -D "$D/pg/data" -k "$D/pg" \
    -c listen_addresses=127.0.0.15 -c port=5432 -c ssl=off
  wait_tcp 127.0.0.15 5432 || return 1
  manifest postgresql 127.0.0.15 5432 tcp PostgreSQL "$v" unknown
}

start_mariadb() {
  local v
  v=$(pkg_version mariadb-server)
  mkdir -p "$D/mysql"
  mariadb-install-db --no-defaults --user=root --datadir="$D/mysql/data" \
    --auth-root-authentication-method=socket >"$D/mariadb-install.log" 2>&1
  bg mariadb mariadbd --no-defaults --user=root --datadir="$D/mysql/data" \
    --socket="$D/mysql/sock" --pid-file="$D/mysql/pid" --bind-address=127.0.0.16 --port=3306 \
    --skip-log-bin --innodb-buffer-pool-size=16M
  wait_tcp 127.0.0.16 3306 || return 1
  manifest mariadb 127.0.0.16 3306 tcp MariaDB "$v" unknown
}

start_snmpd() {
  local v
  v=$(pkg_version snmpd)
  cat >"$D/snmpd.conf" <<'EOF'
rocommunity public 127.0.0.0/8
sysLocation probe lab
sysContact lab@example.invalid
EOF
  bg snmpd snmpd -f -Lo -C -c "$D/snmpd.conf" -p "$D/snmpd.pid" udp:127.0.0.17:161
  wait_udp 127.0.0.17 161 || return 1
  manifest snmp 127.0.0.17 161 udp SNMP "$v" not_required
}

start_unbound() {
  local v name addr acl
  v=$(pkg_version unbound)
  for name in on off; do
    if [[ $name == on ]]; then addr=127.0.0.18 acl=allow; else addr=127.0.0.19 acl=refuse; fi
    cat >"$D/unbound-$name.conf" <<EOF
server:
  interface: $addr
  port: 53
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$D"
  pidfile: ""
  use-syslog: no
  logfile: ""
  do-ip6: no
  access-control: 127.0.0.0/8 $acl
  local-zone: "probe.goalkeeper.test." static
  local-data: "probe.goalkeeper.test. 60 IN A 127.0.0.1"
  local-data: "probe.goalkeeper.test. 60 IN TXT \"goalkeeper probe lab\""
EOF
    bg "unbound-$name" unbound -d -c "$D/unbound-$name.conf"
    wait_udp "$addr" 53 || return 1
  done
  manifest dns-recursion-on 127.0.0.18 53 udp DNS "$v" recursion=available
  manifest dns-recursion-off 127.0.0.19 53 udp DNS "$v" recursion=refused
}

# ntpd binds only to interface addresses: one listens on 127.0.0.1 (lo's own)
# and lets loopback query it (mode 6 answered: its version is learned); the
# other, on an address the lab adds to lo, has Debian's default restrictions
# (`noquery` for everyone: only time requests are answered, what a customer's
# stock NTPsec server does). NTPsec has no mode 7 (monlist) at all.
start_ntpd() {
  local v
  v=$(pkg_version ntpsec)
  ntpd_instance ntp 127.0.0.1 "restrict 127.0.0.0 mask 255.0.0.0" || return 1
  manifest ntp 127.0.0.1 123 udp NTP "$v" readvar=answered
  ip addr add 127.0.0.20/32 dev lo
  ntpd_instance ntp-noquery 127.0.0.20 "" || return 1
  manifest ntp-noquery 127.0.0.20 123 udp NTP - status=refused
}

# ntpd_instance NAME ADDRESS EXTRA_RESTRICT
ntpd_instance() {
  mkdir -p "$D/$1"
  cat >"$D/$1.conf" <<EOF
driftfile $D/$1/drift
interface ignore wildcard
interface listen $2
restrict default kod limited nomodify nopeer noquery
$3
server 127.127.1.0
EOF
  bg "$1" ntpd -n -c "$D/$1.conf" -p "$D/$1/pid"
  wait_udp "$2" 123
}

start_sshd() {
  local v
  v=$(pkg_version openssh-server)
  mkdir -p "$D/ssh" /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$D/ssh/host_ed25519" >/dev/null
  cat >"$D/ssh/sshd_config" <<EOF
ListenAddress 127.0.0.21:22
HostKey $D/ssh/host_ed25519
PidFile $D/ssh/pid
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
EOF
  bg sshd /usr/sbin/sshd -D -e -f "$D/ssh/sshd_config"
  wait_tcp 127.0.0.21 22 || return 1
  manifest ssh 127.0.0.21 22 tcp SSH "$v" -
}

start_rpcbind() {
  local v
  v=$(pkg_version rpcbind)
  mkdir -p /run/rpcbind
  # -f foreground, -h: the UDP address to bind, -w: no state file read at start.
  bg rpcbind rpcbind -f -h 127.0.0.22
  wait_udp 127.0.0.22 111 || return 1
  manifest portmap 127.0.0.22 111 udp Portmapper "$v" -
}

start_responders() {
  bg tcp-responders python3 "$RESPONDERS/tcp_responders.py" --manifest "$D/tcp-responders.txt" \
    --certdir "$D/certs"
  local i
  for i in $(seq 200); do [[ -s $D/tcp-responders.txt ]] && break; sleep 0.1; done
  [[ -s $D/tcp-responders.txt ]] || { log "tcp responders did not start"; return 1; }
  cat "$D/tcp-responders.txt" >>"$MANIFEST"
  # The UDP responders (one process each; no Debian server for these, or
  # none that runs here without a system bus): name address port service.
  local spec name addr port service
  for spec in "ssdp 127.0.0.60 1900 SSDP" "ntp-monlist 127.0.0.61 123 NTP" \
    "ubiquiti 127.0.0.62 10001 Ubiquiti_discovery" "mssql 127.0.0.63 1434 MSSQL_browser" \
    "netbios 127.0.0.64 137 NetBIOS" "mdns 127.0.0.65 5353 mDNS" "cldap 127.0.0.66 389 CLDAP"; do
    read -r name addr port service <<<"$spec"
    bg "udp-$name" python3 "$RESPONDERS/udp_responders.py" --bind "$addr" --service "$name" \
      --port "$port"
    for i in $(seq 200); do grep -q ready "$D/udp-$name.log" 2>/dev/null && break; sleep 0.1; done
    grep -q ready "$D/udp-$name.log" || { log "udp responder $name did not start"; return 1; }
    manifest "udp-$name" "$addr" "$port" udp "$service" - -
  done
}

lab_inside() {
  ip link set lo up
  if [[ -n ${PROBE_LAB_DIR:-} ]]; then
    D=$PROBE_LAB_DIR OWN_DIR=0
    mkdir -p "$D"
  else
    D=$(mktemp -d /tmp/probe-lab.XXXXXX) OWN_DIR=1
  fi
  chmod 755 "$D"
  MANIFEST="$D/manifest.txt"
  : >"$MANIFEST"
  trap stop_all EXIT
  local only=${PROBE_LAB_ONLY:-redis memcached postgres mariadb snmpd unbound ntpd sshd rpcbind responders}
  local s
  for s in $only; do
    "start_$s" || { log "start_$s failed; logs in $D"; PROBE_LAB_KEEP=1; return 1; }
  done
  log "lab up: $(wc -l <"$MANIFEST") listeners, manifest $MANIFEST"
  local rc=0
  PROBE_LAB_MANIFEST=$MANIFEST PROBE_LAB_DIR=$D "$@" || rc=$?
  return "$rc"
}

main() {
  [[ $# -ge 1 ]] || usage
  case $1 in
    run)
      shift
      [[ ${1:-} == -- ]] && shift
      [[ $# -ge 1 ]] || usage
      [[ $(id -u) -eq 0 ]] || { log "must run as root (it creates a network namespace)"; exit 1; }
      if [[ ${PROBE_LAB_IN_NS:-0} != 1 ]]; then
        PROBE_LAB_IN_NS=1 exec unshare -n -- "${BASH_SOURCE[0]}" run -- "$@"
      fi
      lab_inside "$@"
      ;;
    *) usage ;;
  esac
}

main "$@"
