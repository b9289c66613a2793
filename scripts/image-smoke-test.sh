#!/usr/bin/env bash
# Smoke test of the image scripts/build-images.sh built (default
# localhost/goalkeeper:<project version>; GOALKEEPER_IMAGE_TAG as there):
#   - every binary answers --version with "NAME VERSION", in a container as
#     locked down as the chart's pods (read-only root, all capabilities
#     dropped, no network);
#   - the image runs as the non-root UID/GID 10001: its configured user, and
#     the real UID/GID of a running coordinator (podman top and the host's
#     /proc/PID/status);
#   - there is no shell in the image (/bin/sh cannot be run);
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

# 5. A running coordinator's real UID/GID, seen from outside: podman top and
# the kernel's /proc/PID/status on the host.
name="goalkeeper-smoke-$$"
cleanup() { "${PODMAN[@]}" rm -f -t 0 "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
if "${PODMAN[@]}" run -d --name "$name" --ulimit nofile=20000:20000 --ulimit nproc=1000:1000 \
  --read-only --cap-drop=ALL --security-opt no-new-privileges --network none \
  --tmpfs /tmp:rw,size=16m,mode=1777 "$IMAGE" \
  goalkeeper-coordinator --listen 127.0.0.1:0 --db /tmp/coordinator.db --metrics-listen "" \
  >/dev/null; then
  listening=""
  for _ in $(seq 100); do
    if "${PODMAN[@]}" logs "$name" 2>&1 | grep -q "coordinator listening"; then listening=yes; break; fi
    [ "$("${PODMAN[@]}" inspect --format '{{.State.Running}}' "$name")" = true ] || break
    sleep 0.1
  done
  if [ -n "$listening" ]; then
    pass "coordinator serves in a read-only container with a tmpfs /tmp"
  else
    fail "coordinator did not start: $("${PODMAN[@]}" logs "$name" 2>&1 | tail -n 3)"
  fi
  top=$("${PODMAN[@]}" top "$name" uid gid 2>&1 | tail -n +2 | sort -u | tr -s ' ' | sed 's/^ //')
  if [ "$top" = "10001 10001" ]; then pass "podman top: uid gid = $top"; else fail "podman top: uid gid = '$top', want 10001 10001"; fi
  pid=$("${PODMAN[@]}" inspect --format '{{.State.Pid}}' "$name")
  ids=$(awk '/^Uid:/ { u = $2 " " $3 " " $4 " " $5 } /^Gid:/ { g = $2 " " $3 " " $4 " " $5 }
    END { print u "/" g }' "/proc/$pid/status" 2>/dev/null || true)
  if [ "$ids" = "10001 10001 10001 10001/10001 10001 10001 10001" ]; then
    pass "host /proc/$pid/status: real, effective, saved and fs UID and GID are 10001"
  else
    fail "host /proc/$pid/status: Uid/Gid '$ids', want 10001 everywhere"
  fi
  caps=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
  if [ "$caps" = "0000000000000000" ]; then pass "no effective capabilities"; else fail "CapEff '$caps'"; fi
  if "${PODMAN[@]}" stop -t 10 "$name" >/dev/null 2>&1 &&
    [ "$("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$name")" = 0 ]; then
    pass "coordinator stops cleanly on SIGTERM (exit 0)"
  else
    fail "coordinator stop: exit $("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$name" 2>&1)"
  fi
else
  fail "podman run -d $IMAGE goalkeeper-coordinator failed"
fi
cleanup

finish
