#!/usr/bin/env bash
# Builds the Goalkeeper image from the Dockerfile at the repository root with
# podman (Debian's package), the way docs/deploy.md ("Images") describes.
#
#   scripts/build-images.sh                      # -> localhost/goalkeeper:0.1.0
#   GOALKEEPER_IMAGE_TAG=dev scripts/build-images.sh
#   scripts/build-images.sh --base-only          # just the local base image
#
# Idempotent: installs podman, buildah, skopeo, debootstrap and runc when
# missing; makes the base image `debian:bookworm-slim` locally when podman does
# not have it (no registry is assumed reachable: debootstrap --variant=minbase
# from the Debian mirror apt uses here, then `podman import` under the exact
# name the Dockerfile's FROM lines use; the root filesystem is cached in
# ~/.cache/goalkeeper/images so it is made once); builds with podman's layer
# cache, so a second run with no source change takes seconds.
# Prints one line per image, "image: NAME id=sha256:... digest=sha256:...",
# and writes to build-images/: images.txt (the same lines), the image as a
# docker-archive (for `ctr images import` on a cluster node) and an SPDX SBOM
# when syft is installed (in PATH or ~/.cache/goalkeeper/tools/bin).
#
# Environment: GOALKEEPER_IMAGE (localhost/goalkeeper), GOALKEEPER_IMAGE_TAG
# (the project version), GOALKEEPER_BUILD_JOBS (2), GOALKEEPER_DEBIAN_MIRROR
# (default: the host's apt mirror), GOALKEEPER_CACHE (~/.cache/goalkeeper).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  "" | --base-only) ;;
  *) echo "usage: scripts/build-images.sh [--base-only]" >&2; exit 2 ;;
esac

VERSION=$(sed -n 's/^project(goalkeeper VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$VERSION" ] || { echo "build-images: no project(goalkeeper VERSION x.y.z) in CMakeLists.txt" >&2; exit 1; }
IMAGE="${GOALKEEPER_IMAGE:-localhost/goalkeeper}:${GOALKEEPER_IMAGE_TAG:-$VERSION}"
JOBS="${GOALKEEPER_BUILD_JOBS:-2}"
CACHE="${GOALKEEPER_CACHE:-$HOME/.cache/goalkeeper}"
OUT=build-images
# Every stage starts from the same base: the name to create when missing.
BASE=$(awk 'toupper($1) == "FROM" { print $2 }' Dockerfile | sort -u)
[ "$(printf '%s\n' "$BASE" | wc -l)" -eq 1 ] || { echo "build-images: the Dockerfile uses several bases: $BASE" >&2; exit 1; }
# runc: the default crun cannot raise RLIMIT_NOFILE in this sandbox; explicit
# ulimits for the same reason (docs/deploy.md).
PODMAN=(podman --runtime runc)
ULIMITS=(--ulimit nofile=20000:20000 --ulimit nproc=1000:1000)
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

log() { echo "build-images: $*" >&2; }
now() { date +%s; }

# --- tools -------------------------------------------------------------------
missing=()
for p in podman buildah skopeo debootstrap runc; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- the base image ------------------------------------------------------------
# The first URI apt uses here for `suite` (deb822 .sources first, then
# one-line .list entries).
apt_uri() {
  local suite=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" 'BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; suites = ""; types = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
          if ($i ~ /^Suites:/) { suites = " " $i " "; sub(/^Suites:/, "", suites) }
          if ($i ~ /^Types:/) types = $i
          if ($i ~ /^Enabled:[ \t]*no/) enabled = "no"
        }
        if (enabled == "yes" && types ~ /[ \t]deb([ \t]|$)/ && index(suites " ", " " suite " ") > 0) {
          split(uris, u, /[ \t]+/); print u[1]; exit
        }
      }' "$f"
  done | head -n1
  { grep -hE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } |
    sed -E 's/\[[^]]*\]//' | awk -v suite="$suite" '$3 == suite { print $2; exit }'
}

make_base() {
  local mirror security rootfs tarball t0
  mirror="${GOALKEEPER_DEBIAN_MIRROR:-$(apt_uri bookworm | head -n1)}"
  security="$(apt_uri bookworm-security | head -n1)"
  [ -n "$mirror" ] || { log "no Debian bookworm mirror in /etc/apt/sources.list(.d); set GOALKEEPER_DEBIAN_MIRROR"; exit 1; }
  tarball="$CACHE/images/debian-bookworm-minbase.tar"
  mkdir -p "$CACHE/images"
  if [ ! -s "$tarball" ]; then
    [ "$(id -u)" -eq 0 ] || { log "making $BASE needs root (debootstrap): run as root, or pull it from a registry"; exit 1; }
    rootfs=$(mktemp -d "$CACHE/images/rootfs.XXXXXX")
    log "debootstrap --variant=minbase bookworm from $mirror (about a minute)"
    t0=$(now)
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$CACHE/images/debootstrap.log" 2>&1 ||
      { tail -n 20 "$CACHE/images/debootstrap.log" >&2; rm -rf "$rootfs"; exit 1; }
    log "debootstrap took $(($(now) - t0)) s"
    # apt inside the image (the Dockerfile's RUN apt-get) uses the same mirror
    # as the host, in the official image's deb822 layout.
    rm -f "$rootfs/etc/apt/sources.list"
    {
      printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\n' "$mirror"
      printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
      if [ -n "$security" ]; then
        printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\n' "$security"
        printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
      fi
    } >"$rootfs/etc/apt/sources.list.d/debian.sources"
    # Slim like debian:bookworm-slim: no documentation, manuals or locales,
    # now or from later package installs; no apt caches.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EOF
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    rm -rf "$rootfs"/usr/share/{man,groff,info,lintian,locale}/* "$rootfs"/var/lib/apt/lists/* \
      "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
    tar --numeric-owner --xattrs -C "$rootfs" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  t0=$(now)
  "${PODMAN[@]}" import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' "$tarball" "$BASE" >/dev/null
  log "imported $tarball as $BASE in $(($(now) - t0)) s"
}

if "${PODMAN[@]}" image exists "$BASE"; then
  log "base image $BASE is present"
else
  make_base
fi
[ "${1:-}" = "--base-only" ] && exit 0

# --- the image -----------------------------------------------------------------
REVISION=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
t0=$(now)
log "podman build $IMAGE (jobs=$JOBS)"
"${PODMAN[@]}" build --pull=never "${ULIMITS[@]}" \
  --build-arg JOBS="$JOBS" --build-arg VERSION="$VERSION" --build-arg REVISION="$REVISION" \
  -t "$IMAGE" -f Dockerfile . >&2
log "podman build took $(($(now) - t0)) s"

mkdir -p "$OUT"
id=$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$IMAGE")
digest=$("${PODMAN[@]}" image inspect --format '{{.Digest}}' "$IMAGE")
line="image: $IMAGE id=sha256:$id digest=$digest"
echo "$line"
echo "$line" >"$OUT/images.txt"

name=$(basename "${IMAGE%%:*}")-${IMAGE##*:}
archive="$OUT/$name.tar"
rm -f "$archive"
"${PODMAN[@]}" save --format docker-archive -o "$archive" "$IMAGE"
log "saved $archive"

syft=$(command -v syft || true)
TOOLS_BIN="${GOALKEEPER_TOOLS:-$CACHE/tools}/bin"  # scripts/k8s-tools.sh builds syft there
[ -z "$syft" ] && [ -x "$TOOLS_BIN/syft" ] && syft="$TOOLS_BIN/syft"
if [ -n "$syft" ]; then
  # Offline: no update check, and no network at all.
  nonet=(unshare -n); [ "$(id -u)" -ne 0 ] && nonet=(unshare -rn)
  SYFT_CHECK_FOR_APP_UPDATE=false "${nonet[@]}" "$syft" scan "docker-archive:$archive" \
    -o "spdx-json=$OUT/$name.spdx.json" -q
  echo "sbom: $OUT/$name.spdx.json"
else
  echo "sbom: syft is not installed (PATH or $TOOLS_BIN); no SBOM written"
fi
