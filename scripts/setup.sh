#!/usr/bin/env bash
# Installs everything Goalkeeper needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are left alone; apt-get update runs only
# when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libabsl-dev libboost-dev libboost-system-dev libspdlog-dev libfmt-dev
  libcurl4-openssl-dev libgtest-dev libgmock-dev libsqlite3-dev
  libyaml-cpp-dev prometheus-cpp-dev nlohmann-json3-dev
  libre2-dev
  clang-14 libclang-rt-14-dev
  iproute2 iptables python3 python3-aiosmtpd openssl ca-certificates time bc
  python3-prometheus-client python3-yaml
  libsystemd-dev systemd-journal-remote ccache
  libssl-dev
  redis-server memcached postgresql mariadb-server snmpd unbound ntpsec openssh-server rpcbind
  masscan zmap nmap
  etcd-server containerd containernetworking-plugins curl socat jq
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Go tools, from the Go module proxy: grpcurl checks the coordinator's health
# service and reflection in the tests.
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends golang-go
fi
GO=$(command -v go || echo /usr/local/go/bin/go)
GOBIN_DIR=$("$GO" env GOPATH)/bin
if [ ! -x "$GOBIN_DIR/grpcurl" ]; then
  echo "setup: installing grpcurl" >&2
  "$GO" install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.1
fi
