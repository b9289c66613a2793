#!/usr/bin/env bash
# Builds the tools the chart, image and cluster tests need (Helm, helm-unittest,
# promtool, kubernetes-validate, the Kubernetes binaries, crictl, CoreDNS,
# syft), once, into a cache
# keyed by tool and version, and prints nothing but progress. Idempotent: a
# tool whose stamp exists is not rebuilt.
#
#   scripts/k8s-tools.sh            # build what is missing (all but syft)
#   scripts/k8s-tools.sh sbom       # syft, for SBOMs of the images (3-8 min)
#   scripts/k8s-tools.sh --print    # print the bin directory (after building)
#
# Cache: $GOALKEEPER_TOOLS (default ~/.cache/goalkeeper/tools)/<tool>-<version>/.
# Everything comes from the Go module proxy and PyPI; nothing is downloaded at
# test time once this has run. Cold, on 2 cores, this takes about 25 minutes
# (the Kubernetes binaries most of it); warm, under a second.
set -euo pipefail

TOOLS="${GOALKEEPER_TOOLS:-$HOME/.cache/goalkeeper/tools}"
BIN="$TOOLS/bin"
mkdir -p "$BIN"
# Two runs of the same mode (two test commands at once) take turns: the second
# finds the first's stamps and builds nothing. (The chart and cluster modes of
# one test run build different tools and go side by side.)
if [ "${1:-}" != "--print" ]; then
  exec 9>"$TOOLS/.lock-${1:-all}"
  flock 9
fi

HELM_VERSION=v3.22.0
HELM_UNITTEST_VERSION=v1.1.2
KUBE_VERSION=v1.31.14
KUBE_STAGING_VERSION=v0.31.14
CRICTL_VERSION=v1.34.0
COREDNS_VERSION=v1.11.4
PROMETHEUS_VERSION=v0.316.0   # Prometheus 3.16's Go module; promtool from it
KUBERNETES_VALIDATE_VERSION=1.37.0
SYFT_VERSION=v1.57.1          # SBOMs of the images (scripts/build-images.sh)

export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export GOTOOLCHAIN=local
# -w: no DWARF (nobody debugs these tools here; it shortens every link, which
# is much of a cold build's time for the Kubernetes binaries).
GO_BUILD=(nice -n 10 go build -trimpath -ldflags=-w)

log() { echo "k8s-tools: $*" >&2; }

# done TOOL-VERSION: true when that tool's stamp exists.
stamped() { [[ -f "$TOOLS/$1/.done" ]]; }
stamp() { touch "$TOOLS/$1/.done"; }
link() { ln -sf "$1" "$BIN/$(basename "$1")"; }

# helm-unittest as a Helm plugin directory ($BIN/../helm-plugins/unittest),
# built from its module (go install refuses it for its replace directive;
# `helm plugin install` would download from the internet).
build_helm_unittest() {
  local d="helm-unittest-$HELM_UNITTEST_VERSION"
  if ! stamped "$d"; then
    log "building helm-unittest $HELM_UNITTEST_VERSION"
    local src
    src="$(go mod download -json "github.com/helm-unittest/helm-unittest@$HELM_UNITTEST_VERSION" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
    rm -rf "$TOOLS/$d"
    mkdir -p "$TOOLS/$d/src" "$TOOLS/$d/plugin/unittest"
    cp -r "$src/." "$TOOLS/$d/src/"
    chmod -R u+w "$TOOLS/$d/src"
    (cd "$TOOLS/$d/src" && "${GO_BUILD[@]}" -o "$TOOLS/$d/plugin/unittest/untt" ./cmd/helm-unittest)
    # The plugin manifest, without the install hooks that download.
    cat >"$TOOLS/$d/plugin/unittest/plugin.yaml" <<EOF
name: "unittest"
version: "${HELM_UNITTEST_VERSION#v}"
usage: "unittest for helm charts"
description: "Unit test for helm chart in YAML with ease to keep your chart functional and robust."
ignoreFlags: false
command: "\$HELM_PLUGIN_DIR/untt"
EOF
    stamp "$d"
  fi
  mkdir -p "$TOOLS/helm-plugins"
  ln -sfn "$TOOLS/$d/plugin/unittest" "$TOOLS/helm-plugins/unittest"
}

# The Kubernetes binaries from the k8s.io/kubernetes module: a wrapper module
# that requires it and replaces each staging module (./staging/src/k8s.io/X in
# its go.mod) by the published module of the same name.
# staging_version MODULE: the published version to use for a staging module:
# $KUBE_STAGING_VERSION when the proxy serves it, else the newest served
# v0.31.x below it (kube-proxy, for one, is served only up to v0.31.11).
staging_version() {
  local m=$1 v w=$TOOLS/kubernetes-$KUBE_VERSION/wrapper
  for v in "$KUBE_STAGING_VERSION" $(go list -m -versions "$m" 2>/dev/null | tr ' ' '\n' |
      grep -E "^${KUBE_STAGING_VERSION%.*}\.[0-9]+$" | sort -t. -k3 -n -r); do
    if go mod download "$m@$v" >/dev/null 2>&1; then echo "$v"; return; fi
  done
  # Not served at all (the sample-* modules): no command we build imports
  # them, so an empty local module of that name fills its place in the graph.
  local dir="unused/${m#k8s.io/}"
  mkdir -p "$w/$dir"
  printf 'module %s\n\ngo 1.22.0\n' "$m" >"$w/$dir/go.mod"
  echo "./$dir"
}

build_kube() {
  local d="kubernetes-$KUBE_VERSION"
  local cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl kube-proxy)
  local want=0
  for c in "${cmds[@]}"; do [[ -x "$TOOLS/$d/bin/$c" ]] || want=1; done
  if [[ $want == 1 ]]; then
    mkdir -p "$TOOLS/$d/bin" "$TOOLS/$d/wrapper"
    local w="$TOOLS/$d/wrapper"
    if [[ ! -f "$w/go.sum" ]]; then
      log "resolving the Kubernetes $KUBE_VERSION wrapper module"
      local kmod
      kmod="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
      {
        echo "module goalkeeper.local/k8stools"
        echo
        echo "go 1.22.0"
        echo
        echo "require k8s.io/kubernetes $KUBE_VERSION"
        echo
        echo "replace ("
        grep -oE 'k8s.io/[a-z0-9-]+ => ./staging/src/k8s.io/[a-z0-9-]+' "$kmod" | awk '{print $1}' |
          while read -r m; do
            local r
            r=$(staging_version "$m")
            if [[ $r == ./* ]]; then echo "	$m => $r"; else echo "	$m => $m $r"; fi
          done
        echo ")"
      } >"$w/go.mod"
      {
        echo "//go:build tools"
        echo "package tools"
        echo "import ("
        for c in "${cmds[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$c\""; done
        echo ")"
      } >"$w/tools.go"
      (cd "$w" && go mod tidy)
    fi
    local ver="-X k8s.io/component-base/version.gitVersion=$KUBE_VERSION"
    ver+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=31"
    ver+=" -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"
    ver+=" -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=31"
    # One `go build` for all of them: the shared packages compile once and
    # the links (single-threaded each) run side by side.
    local pkgs=()
    for c in "${cmds[@]}"; do
      [[ -x "$TOOLS/$d/bin/$c" ]] || pkgs+=("k8s.io/kubernetes/cmd/$c")
    done
    log "building ${pkgs[*]##*/} $KUBE_VERSION (minutes cold)"
    rm -rf "$TOOLS/$d/bin/.new" && mkdir -p "$TOOLS/$d/bin/.new"
    (cd "$w" && "${GO_BUILD[@]}" -ldflags "$ver -w" -o "$TOOLS/$d/bin/.new/" "${pkgs[@]}")
    for p in "${pkgs[@]}"; do mv "$TOOLS/$d/bin/.new/${p##*/}" "$TOOLS/$d/bin/"; done
    rmdir "$TOOLS/$d/bin/.new"
  fi
  for c in "${cmds[@]}"; do link "$TOOLS/$d/bin/$c"; done
}

build_go_install() {  # NAME VERSION PACKAGE
  local d="$1-$2"
  if ! stamped "$d"; then
    log "building $1 $2"
    mkdir -p "$TOOLS/$d/bin"
    GOBIN="$TOOLS/$d/bin" nice -n 10 go install -trimpath -ldflags=-w "$3@$2"
    stamp "$d"
  fi
  link "$TOOLS/$d/bin/$1"
}

build_helm() { build_go_install helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm; }

# promtool from the Prometheus module (whose cmd/ is not `go install`able at a
# v0.x module version with its replace directives): a wrapper module.
build_promtool() {
  local d="promtool-$PROMETHEUS_VERSION"
  if ! stamped "$d"; then
    log "building promtool from github.com/prometheus/prometheus $PROMETHEUS_VERSION"
    local w="$TOOLS/$d/wrapper"
    mkdir -p "$w" "$TOOLS/$d/bin"
    cat >"$w/go.mod" <<EOF
module goalkeeper.local/promtool

go 1.24

require github.com/prometheus/prometheus $PROMETHEUS_VERSION
EOF
    printf '//go:build tools\npackage tools\nimport _ "github.com/prometheus/prometheus/cmd/promtool"\n' \
      >"$w/tools.go"
    (cd "$w" && go mod tidy && "${GO_BUILD[@]}" -o "$TOOLS/$d/bin/promtool" \
      github.com/prometheus/prometheus/cmd/promtool)
    stamp "$d"
  fi
  link "$TOOLS/$d/bin/promtool"
}

# kubernetes-validate (PyPI) in its own virtualenv: strict validation of
# rendered objects against the Kubernetes 1.31 schemas it ships, offline.
build_kubernetes_validate() {
  local d="kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
  if ! stamped "$d"; then
    log "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION"
    rm -rf "$TOOLS/$d"
    python3 -m venv "$TOOLS/$d"
    "$TOOLS/$d/bin/pip" install -q "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
      prometheus_client pyyaml
    stamp "$d"
  fi
  link "$TOOLS/$d/bin/kubernetes-validate"
  ln -sf "$TOOLS/$d/bin/python3" "$BIN/tools-python3"
}

if [[ "${1:-}" == "--print" ]]; then
  echo "$BIN"
  exit 0
fi

only="${1:-all}"
case "$only" in
  all)
    build_kubernetes_validate
    build_helm
    build_helm_unittest
    build_promtool
    build_go_install crictl "$CRICTL_VERSION" sigs.k8s.io/cri-tools/cmd/crictl
    build_kube
    build_go_install coredns "$COREDNS_VERSION" github.com/coredns/coredns
    # syft is optional (build-images.sh writes SBOMs when it is there): not in
    # the test command's set, to keep a fresh machine's first run shorter.
    ;;
  sbom) build_go_install syft "$SYFT_VERSION" github.com/anchore/syft/cmd/syft ;;
  helm) build_helm; build_helm_unittest ;;
  chart) build_kubernetes_validate; build_helm; build_helm_unittest; build_promtool ;;
  cluster) build_go_install crictl "$CRICTL_VERSION" sigs.k8s.io/cri-tools/cmd/crictl
           build_kube; build_go_install coredns "$COREDNS_VERSION" github.com/coredns/coredns ;;
  *) echo "usage: scripts/k8s-tools.sh [all|helm|chart|cluster|sbom|--print]" >&2; exit 2 ;;
esac
log "tools in $BIN"
