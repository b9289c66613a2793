#!/usr/bin/env bash
# Smoke test of the image scripts/build-images.sh built (default
# localhost/goalkeeper:<project version>; GOALKEEPER_IMAGE_TAG as there):
#   - every binary answers --version with "NAME VERSION", in a container as
#     locked down as the chart's pods (read-only root, all capabilities
#     dropped, no network);
#   - the image runs as the non-root UID/GID 10001: its configured user, and
#     the real UID/GID of a running coordinator, notifier and worker (podman
#     top and the host's /proc/PID/status), which stop with 0 on SIGTERM;
#   - there is no shell in the image (/bin/sh cannot be run), and no -dev
#     package or compiler;
#   - the OCI version label matches the project version.
# Containers start with `podman --runtime runc` and explicit --ulimit values
# (docs/deploy.md). Ends with "image-smoke: N passed, M failed"; exits 1 on any
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=$(sed -n 's/^project(goalkeeper VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
IMAGE="${GOALKEEPER_IMAGE:-localhost/goalkeeper}:${GOALKEEPER_IMAGE_TAG:-$VERSION}"
UID_GID=10001:10001
PODMAN=(podman --runtime runc)
RUN=("${PODMAN[@]}" run --rm --ulimit nofile=20000:20000 --ulimit nproc=1000:1000
  --read-only --cap-drop=ALL --security-opt no-new-privileges --network none)

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() {
  echo "image-smoke: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

if ! "${PODMAN[@]}" image exists "$IMAGE"; then
  fail "image $IMAGE is not built (scripts/build-images.sh)"
  finish
  exit 1
fi

# 1. --version from every binary.
for bin in goalkeeper-coordinator goalkeeper-notifier goalkeeper-worker goalkeeperctl; do
  want="$bin $VERSION"
  if got=$("${RUN[@]}" "$IMAGE" "$bin" --version 2>&1) && [ "$got" = "$want" ]; then
    pass "$bin --version: $got"
  else
    fail "$bin --version: got '$got', want '$want'"
  fi
done

# 2. The configured user, numeric (no name lookup needed in the pod).
user=$("${PODMAN[@]}" image inspect --format '{{.Config.User}}' "$IMAGE")
if [ "$user" = "$UID_GID" ]; then pass "image user is $user"; else fail "image user is '$user', want $UID_GID"; fi

# 3. The OCI version label.
label=$("${PODMAN[@]}" image inspect --format '{{index .Labels "org.opencontainers.image.version"}}' "$IMAGE")
if [ "$label" = "$VERSION" ]; then pass "label org.opencontainers.image.version=$label"; else fail "version label '$label', want $VERSION"; fi

# 4. No shell: running one fails (the runtime cannot find it).
if out=$("${RUN[@]}" --entrypoint /bin/sh "$IMAGE" -c 'echo shell' 2>&1); then
  fail "/bin/sh ran in the image: $out"
else
  pass "no /bin/sh in the image"
fi

# 5. Runtime libraries only: no -dev package, no compiler (dpkg-query is a
# binary: no shell needed).
if pkgs=$("${RUN[@]}" "$IMAGE" dpkg-query -W -f '${Package}\n' 2>&1); then
  dev=$(printf '%s\n' "$pkgs" | grep -E -- '-dev$|^(gcc|g\+\+|cpp|cmake|make|binutils)(-[0-9]+)?$' | tr '\n' ' ' || true)
  if [ -z "$dev" ]; then
    pass "no -dev package or compiler among $(printf '%s\n' "$pkgs" | wc -l) packages"
  else
    fail "build packages in the runtime image: $dev"
  fi
else
  fail "dpkg-query in the image: $pkgs"
fi

# 6. Each daemon's real UID/GID while it runs, seen from outside: podman top
# and the kernel's /proc/PID/status on the host; then SIGTERM ends it with 0.
# Read-only root and a tmpfs /tmp, as in the chart's pods.
names=()
config_dir=""
cleanup() {
  local n
  for n in "${names[@]}"; do "${PODMAN[@]}" rm -f -t 0 "$n" >/dev/null 2>&1 || true; done
  [ -n "${config_dir:-}" ] && rm -rf "$config_dir"
  return 0
}
trap cleanup EXIT
# daemon_check LABEL READY_LOG_TEXT COMMAND...
daemon_check() {
  local label=$1 ready=$2 name="goalkeeper-smoke-$1-$$" up="" top pid ids caps code
  local extra=()
  shift 2
  extra=("${MOUNT[@]}")
  names+=("$name")
  if ! "${PODMAN[@]}" run -d --name "$name" --ulimit nofile=20000:20000 --ulimit nproc=1000:1000 \
    --read-only --cap-drop=ALL --security-opt no-new-privileges --network none \
    --tmpfs /tmp:rw,size=16m,mode=1777 "${extra[@]}" "$IMAGE" "$@" >/dev/null; then
    fail "$label: podman run -d failed"
    return
  fi
  for _ in $(seq 100); do
    if "${PODMAN[@]}" logs "$name" 2>&1 | grep -qF "$ready"; then up=yes; break; fi
    [ "$("${PODMAN[@]}" inspect --format '{{.State.Running}}' "$name")" = true ] || break
    sleep 0.1
  done
  if [ -n "$up" ]; then
    pass "$label runs ('$ready')"
  else
    fail "$label did not start: $("${PODMAN[@]}" logs "$name" 2>&1 | tail -n 3)"
    return
  fi
  # huser/hgroup: the IDs on the host (no user namespace); user/group: the
  # names the image's /etc/passwd gives them (podman's own ps: none in the
  # image).
  top=$("${PODMAN[@]}" top "$name" huser hgroup user group 2>&1 | tail -n +2 | tr -s ' ' |
    sed 's/^ //; s/ $//' | sort -u || true)
  if [ "$top" = "10001 10001 goalkeeper goalkeeper" ]; then
    pass "$label: podman top huser hgroup user group = $top"
  else
    fail "$label: podman top huser hgroup user group = '$top', want '10001 10001 goalkeeper goalkeeper'"
  fi
  pid=$("${PODMAN[@]}" inspect --format '{{.State.Pid}}' "$name")
  ids=$(awk '/^Uid:/ { u = $2 " " $3 " " $4 " " $5 } /^Gid:/ { g = $2 " " $3 " " $4 " " $5 }
    END { print u "/" g }' "/proc/$pid/status" 2>/dev/null || true)
  if [ "$ids" = "10001 10001 10001 10001/10001 10001 10001 10001" ]; then
    pass "$label: host /proc/$pid/status real, effective, saved and fs UID and GID are 10001"
  else
    fail "$label: host /proc/$pid/status Uid/Gid '$ids', want 10001 everywhere"
  fi
  caps=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
  if [ "$caps" = "0000000000000000" ]; then pass "$label: no effective capabilities"; else fail "$label: CapEff '$caps'"; fi
  "${PODMAN[@]}" stop -t 30 "$name" >/dev/null 2>&1 || true
  code=$("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$name" 2>&1 || true)
  if [ "$code" = 0 ]; then pass "$label stops on SIGTERM with exit 0"; else fail "$label stop: exit '$code'"; fi
}
# The config and the fleet's TLS material, mounted read-only as the chart's
# ConfigMap and Secrets are (development certificates: scripts/dev-certs.sh).
config_dir=$(mktemp -d)
cat >"$config_dir/notifier.yaml" <<'EOF'
mode: stage
ops: {emails: [noc@operator.example]}
email: {from: goalkeeper@operator.example, outbox_dir: /tmp/outbox}
EOF
scripts/dev-certs.sh "$config_dir/tls" coordinator notifier worker
# The container runs as UID 10001: let it read this throw-away copy.
chmod -R a+rX "$config_dir"
MOUNT=(-v "$config_dir:/etc/goalkeeper:ro")
daemon_check coordinator "coordinator listening grpc=127.0.0.1:" \
  goalkeeper-coordinator --listen 127.0.0.1:0 --db /tmp/coordinator.db --metrics-listen "" \
  --health-listen 127.0.0.1:0 --tls-dir /etc/goalkeeper/tls/coordinator
daemon_check notifier "notifier listening grpc=127.0.0.1:" \
  goalkeeper-notifier --config /etc/goalkeeper/notifier.yaml --listen 127.0.0.1:0 \
  --db /tmp/notifier.db --metrics-listen "" --health-listen 127.0.0.1:0 \
  --tls-dir /etc/goalkeeper/tls/notifier
# No coordinator in its network: the worker keeps retrying, and serves health.
daemon_check worker "worker health grpc=127.0.0.1:" \
  goalkeeper-worker run --coordinator 127.0.0.1:1 --health-listen 127.0.0.1:0 \
  --tls-dir /etc/goalkeeper/tls/worker
cleanup

finish
