#!/usr/bin/env bash
# Installs the peer scanners and tools the benchmark compares against.
# Idempotent: anything already installed is skipped. A peer that fails to
# install does not stop the script; its reason is written to
# $GK_BENCH_STATE/peer-<name>.status so run.sh can report it.
#
#   nmap      Debian package
#   RustScan  cargo install rustscan --locked (pinned)
#   naabu     go install .../naabu/v2/cmd/naabu@<pinned> (needs libpcap-dev)
#   fail2ban  Debian package, for fail2ban-regex only (bench/node_bench.sh): the
#             package's server is never left running, since it would change
#             this machine's firewall (see install_fail2ban)
#   plus iproute2, iptables, time, strace, python3, build tools for the C loop.
set -euo pipefail

RUSTSCAN_VERSION="${RUSTSCAN_VERSION:-2.4.1}"
NAABU_VERSION="${NAABU_VERSION:-v2.3.5}"
STATE="${GK_BENCH_STATE:-/var/tmp/gkbench}"
mkdir -p "$STATE"

export PATH="$HOME/.cargo/bin:/usr/local/go/bin:$PATH"

log() { printf '[install_peers] %s\n' "$*" >&2; }
status() {  # status NAME ok|fail MESSAGE
  printf '%s\t%s\n' "$2" "$3" >"$STATE/peer-$1.status"
  log "$1: $2: $3"
}

APT_UPDATED=0
apt_install() {  # installs the given Debian packages that are missing
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $APT_UPDATED -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
    APT_UPDATED=1
  fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- base tools (the bench cannot run without them) -------------------------
if ! apt_install iproute2 iptables time strace python3 gcc libc6-dev procps; then
  log "FATAL: could not install base tools (iproute2 iptables time strace python3 gcc)"
  exit 1
fi

# --- nmap --------------------------------------------------------------------
if command -v nmap >/dev/null 2>&1; then
  status nmap ok "already installed: $(nmap --version | head -1)"
elif apt_install nmap; then
  status nmap ok "installed: $(nmap --version | head -1)"
else
  status nmap fail "apt-get install nmap failed"
fi

# --- RustScan ----------------------------------------------------------------
install_rustscan() {
  local bin="$HOME/.cargo/bin/rustscan"
  if [[ -x $bin ]]; then
    status rustscan ok "already installed: $($bin --version 2>/dev/null | head -1)"
    return 0
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    status rustscan fail "cargo not found (no Rust toolchain on this machine)"
    return 0
  fi
  local logf="$STATE/install-rustscan.log"
  log "cargo install rustscan@$RUSTSCAN_VERSION --locked (slow on 2 cores; log: $logf)"
  if cargo install rustscan --version "$RUSTSCAN_VERSION" --locked >"$logf" 2>&1; then
    status rustscan ok "installed: $($bin --version 2>/dev/null | head -1)"
  else
    status rustscan fail "cargo install rustscan@$RUSTSCAN_VERSION --locked failed: $(grep -m1 -E '^error' "$logf" || tail -1 "$logf")"
  fi
}

# --- naabu -------------------------------------------------------------------
install_naabu() {
  if ! command -v go >/dev/null 2>&1; then
    status naabu fail "go toolchain not found"
    return 0
  fi
  local bin
  bin="$(go env GOPATH)/bin/naabu"
  if [[ -x $bin ]]; then
    status naabu ok "already installed: naabu $($bin -version -nc 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | grep -m1 -io 'version.*' || echo '(version unknown)')"
    return 0
  fi
  if ! apt_install libpcap-dev; then
    status naabu fail "apt-get install libpcap-dev failed (naabu links libpcap)"
    return 0
  fi
  local logf="$STATE/install-naabu.log" mod="github.com/projectdiscovery/naabu/v2"
  log "go install naabu@$NAABU_VERSION (log: $logf)"
  if CGO_ENABLED=1 go install "$mod/cmd/naabu@$NAABU_VERSION" >"$logf" 2>&1; then
    status naabu ok "installed: naabu $NAABU_VERSION (go install)"
    return 0
  fi
  # `go install pkg@version` also reads the module's version list (@v/list) to
  # look for a deprecation notice; a proxy that answers 403 for that list makes
  # the install fail although the pinned version itself downloads fine. Fall
  # back to downloading the pinned module and building it from its own go.mod
  # and go.sum (same dependency versions as go install would use).
  log "go install failed ($(grep -m1 -iE 'error|forbidden|cannot' "$logf" || tail -1 "$logf")); trying go mod download + go build"
  local dir
  if dir=$(cd /tmp && go mod download -json "$mod@$NAABU_VERSION" 2>>"$logf" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') \
     && (cd "$dir" && CGO_ENABLED=1 go build -trimpath -o "$bin" ./cmd/naabu) >>"$logf" 2>&1; then
    status naabu ok "installed: naabu $NAABU_VERSION (go mod download + go build; go install failed on the proxy's version list)"
  else
    status naabu fail "go install / go build of naabu@$NAABU_VERSION failed: $(grep -m1 -iE 'error|cannot|undefined|forbidden' "$logf" || tail -1 "$logf")"
  fi
}

# --- fail2ban (fail2ban-regex only) ------------------------------------------
# fail2ban-regex reads a log with a filter and needs no server. The package's
# maintainer scripts would start fail2ban-server (which then bans addresses in
# this machine's iptables/nftables), so the install runs under a
# policy-rc.d that forbids starting services (Debian's own mechanism; one
# already there is left as it is), and afterwards any fail2ban-server is
# stopped and the service disabled.
stop_fail2ban_server() {
  local pids
  if [[ -d /run/systemd/system ]]; then
    systemctl disable --now fail2ban.service >/dev/null 2>&1 || true
  elif command -v systemctl >/dev/null 2>&1; then
    systemctl disable fail2ban.service >/dev/null 2>&1 || true  # offline: the symlink
  fi
  command -v update-rc.d >/dev/null 2>&1 && update-rc.d fail2ban disable >/dev/null 2>&1 || true
  pids=$(pgrep -x fail2ban-server || true)
  if [[ -n $pids ]]; then
    log "fail2ban-server is running (pid $pids): stopping it"
    fail2ban-client stop >/dev/null 2>&1 || true
    sleep 2
    pids=$(pgrep -x fail2ban-server || true)
    # shellcheck disable=SC2086
    [[ -z $pids ]] || kill $pids 2>/dev/null || true
  fi
  if pgrep -x fail2ban-server >/dev/null; then
    log "WARNING: fail2ban-server still runs: $(pgrep -a fail2ban-server)"
    return 1
  fi
  return 0
}
install_fail2ban() {
  local made_policy=0 ok=0
  if command -v fail2ban-regex >/dev/null 2>&1; then
    ok=1
  else
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\n# bench/install_peers.sh: no service starts while fail2ban installs\nexit 101\n' \
        >/usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      made_policy=1
    fi
    apt_install fail2ban && ok=1
    [[ $made_policy -eq 0 ]] || rm -f /usr/sbin/policy-rc.d
  fi
  if ! stop_fail2ban_server; then
    status fail2ban fail "fail2ban-server could not be stopped"
  elif [[ $ok -eq 1 ]]; then
    status fail2ban ok "fail2ban-regex $(fail2ban-regex -V 2>/dev/null | head -1), no server running"
  else
    status fail2ban fail "apt-get install fail2ban failed"
  fi
}
install_fail2ban

# The two builds are independent; run them side by side.
install_rustscan &
rs_pid=$!
install_naabu &
nb_pid=$!
wait "$rs_pid" || true
wait "$nb_pid" || true

log "done; statuses in $STATE/peer-*.status"
exit 0
