#!/usr/bin/env bash
# A real single-node Kubernetes cluster for the chart test, in a network
# namespace of its own: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy and CoreDNS (built from their module
# sources by scripts/k8s-tools.sh), containerd and runc from Debian.
#
#   tests/cluster/cluster.sh up       # start; prints the kubeconfig path
#   tests/cluster/cluster.sh run CMD  # run CMD inside the cluster's netns
#   tests/cluster/cluster.sh import IMAGE...   # podman image -> the node
#   tests/cluster/cluster.sh down     # stop everything, remove the state
#
# Network: the namespace "$NETNS" holds only a loopback and the pod bridge
# gk0 (10.244.0.0/24, the gateway 10.244.0.1 is this namespace's address on
# it). There is no uplink, no masquerade to the outside and no default route
# in the pods (their only extra route is the service range), so nothing can
# leave. hostNetwork pods (the node agent) share this namespace, not the
# machine's: containerd and runc are started in it, and a hostNetwork pod
# keeps the runtime's namespace (chart_cluster_test.sh proves it). The
# control plane listens on 127.0.0.1 of this namespace; the node's
# address (the kubelet's, for logs and port-forward) is the gateway, since a
# node needs a non-loopback address and this namespace has no other. CoreDNS
# answers cluster.local on 10.244.0.1 and nothing else (no forwarder).
# kube-proxy (iptables mode) masquerades Service traffic to the gateway so
# replies come back through the namespace without br_netfilter.
#
# State: $GOALKEEPER_CLUSTER_DIR (default /tmp/goalkeeper-cluster). Exit codes:
# 0 ok, 1 a component failed to start (its log tail is printed), 2 usage.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
D="${GOALKEEPER_CLUSTER_DIR:-/tmp/goalkeeper-cluster}"
NETNS="${GOALKEEPER_CLUSTER_NETNS:-gk-cluster}"
TOOLS_BIN="$("$ROOT/scripts/k8s-tools.sh" --print)"
POD_CIDR=10.244.0.0/24
GATEWAY=10.244.0.1
SERVICE_CIDR=10.96.0.0/24
API_SERVICE_IP=10.96.0.1
PAUSE_IMAGE=localhost/goalkeeper-pause:1
LAB_IMAGE=localhost/goalkeeper-lab:1

log() { echo "cluster: $*" >&2; }
in_ns() { nsenter --net="/run/netns/$NETNS" -- "$@"; }
kctl() { in_ns "$TOOLS_BIN/kubectl" --kubeconfig "$D/admin.kubeconfig" "$@"; }

# start NAME CMD...: runs CMD in the namespace in the background, logging to
# $D/logs/NAME.log, its pid in $D/pids/NAME.
start() {
  local name=$1; shift
  mkdir -p "$D/logs" "$D/pids"
  nsenter --net="/run/netns/$NETNS" -- "$@" >"$D/logs/$name.log" 2>&1 &
  echo $! >"$D/pids/$name"
}

fail() {
  log "$1 did not start; last lines of its log:"
  tail -20 "$D/logs/$1.log" >&2 || true
  # A failed start leaves nothing behind: the next run starts clean.
  down || true
  exit 1
}

# true when a component of the cluster in $D still runs.
any_alive() {
  local f
  for f in "$D"/pids/*; do
    [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null && return 0
  done
  return 1
}

# wait_for NAME SECONDS CMD...: polls CMD every 0.2 s.
wait_for() {
  local name=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [[ -f "$D/pids/$name" ]] && ! kill -0 "$(cat "$D/pids/$name")" 2>/dev/null; then fail "$name"; fi
    ((SECONDS < deadline)) || fail "$name"
    sleep 0.2
  done
}

make_certs() {
  local c="$D/pki"
  mkdir -p "$c"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=goalkeeper-test-ca" \
    -keyout "$c/ca.key" -out "$c/ca.crt" 2>/dev/null
  sign() {  # NAME SUBJECT SAN
    openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$c/$1.key" -out "$c/$1.csr" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$3" >"$c/$1.ext"
    openssl x509 -req -in "$c/$1.csr" -CA "$c/ca.crt" -CAkey "$c/ca.key" -CAcreateserial \
      -days 2 -extfile "$c/$1.ext" -out "$c/$1.crt" 2>/dev/null
  }
  sign apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:$API_SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  sign kubelet "/CN=localhost" "DNS:localhost,IP:127.0.0.1,IP:$GATEWAY"
  sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "DNS:localhost"
  openssl genrsa -out "$c/sa.key" 2048 2>/dev/null
  openssl rsa -in "$c/sa.key" -pubout -out "$c/sa.pub" 2>/dev/null
}

kubeconfig() {  # FILE USER TOKEN
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "https://127.0.0.1:6443", certificate-authority: "$D/pki/ca.crt"}
users:
- name: $2
  user: {token: "$3"}
contexts:
- name: local
  context: {cluster: local, user: $2}
current-context: local
EOF
}

write_configs() {
  local admin node proxy
  admin=$(openssl rand -hex 16); node=$(openssl rand -hex 16); proxy=$(openssl rand -hex 16)
  cat >"$D/tokens.csv" <<EOF
$admin,admin,admin,system:masters
$node,system:node:localhost,node-localhost,system:nodes
$proxy,system:kube-proxy,kube-proxy
EOF
  chmod 600 "$D/tokens.csv"
  kubeconfig "$D/admin.kubeconfig" admin "$admin"
  kubeconfig "$D/node.kubeconfig" system:node:localhost "$node"
  kubeconfig "$D/proxy.kubeconfig" system:kube-proxy "$proxy"

  mkdir -p "$D/cni/net.d" "$D/containerd"
  cat >"$D/cni/net.d/10-goalkeeper.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "goalkeeper-test",
  "plugins": [
    {"type": "bridge", "bridge": "gk0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$GATEWAY"}]],
              "routes": [{"dst": "$SERVICE_CIDR"}], "dataDir": "$D/cni/ipam"}},
    {"type": "loopback"}
  ]
}
EOF
  cat >"$D/containerd/config.toml" <<EOF
version = 2
root = "$D/containerd/root"
state = "$D/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$D/containerd/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$D/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$D/cni/net.d"
EOF
  echo "nameserver $GATEWAY" >"$D/resolv.conf"
  cat >"$D/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $GATEWAY
port: 10250
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
tlsCertFile: $D/pki/kubelet.crt
tlsPrivateKeyFile: $D/pki/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $D/pki/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
localStorageCapacityIsolation: false
containerRuntimeEndpoint: unix://$D/containerd/containerd.sock
clusterDNS: [$GATEWAY]
clusterDomain: cluster.local
resolvConf: $D/resolv.conf
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 50
EOF
  cat >"$D/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $D/proxy.kubeconfig}
hostnameOverride: localhost
mode: iptables
clusterCIDR: $POD_CIDR
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
iptables: {masqueradeAll: true}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
  cat >"$D/Corefile" <<EOF
cluster.local:53 in-addr.arpa:53 {
  bind $GATEWAY
  errors
  kubernetes cluster.local in-addr.arpa {
    kubeconfig $D/admin.kubeconfig local
  }
  cache 5
}
.:53 {
  bind $GATEWAY
  errors
  template ANY ANY {
    rcode NXDOMAIN
  }
}
EOF
}

# Static single-file images (pause, lab) made with podman import.
make_static_images() {
  mkdir -p "$D/images"
  for prog in pause lab; do
    local img=$PAUSE_IMAGE
    [[ $prog == lab ]] && img=$LAB_IMAGE
    if ! podman image exists "$img" || [[ "$HERE/$prog.c" -nt "$D/images/$prog.stamp" ]]; then
      local dir="$D/images/$prog"
      rm -rf "$dir"; mkdir -p "$dir"
      gcc -static -O2 -Wall -Wextra -Werror -o "$dir/$prog" "$HERE/$prog.c"
      tar -C "$dir" -c "$prog" | podman import -q --change "ENTRYPOINT [\"/$prog\"]" \
        --change "USER 65532:65532" - "$img" >/dev/null
      touch "$D/images/$prog.stamp"
    fi
  done
}

import_images() {
  for img in "$@"; do
    local tar="$D/images/$(echo "$img" | tr '/:' '__').tar"
    rm -f "$tar"
    podman save -q -o "$tar" "$img" >/dev/null
    in_ns ctr --address "$D/containerd/containerd.sock" -n k8s.io images import "$tar" >/dev/null
    rm -f "$tar"
  done
}

up() {
  "$ROOT/scripts/k8s-tools.sh" cluster >&2
  if [[ -e "/run/netns/$NETNS" ]]; then
    if any_alive; then
      log "a cluster is already up (netns $NETNS): run 'down' first"
      exit 1
    fi
    # Left by a run that died (or failed to start before this fix): nothing
    # of it runs any more.
    log "removing a stale cluster (netns $NETNS, no component running)"
    down
  fi
  rm -rf "$D"; mkdir -p "$D"
  make_certs
  write_configs
  make_static_images

  ip netns add "$NETNS"
  ip -n "$NETNS" link set lo up
  ip -n "$NETNS" link add gk0 type bridge
  ip -n "$NETNS" addr add "$GATEWAY/24" dev gk0
  ip -n "$NETNS" link set gk0 up
  # hostNetwork pods (the node agent) live in this namespace itself: their ClusterIP
  # connections need a route for the service range to reach kube-proxy's DNAT (on gk0, the
  # only interface; nothing leaves the namespace).
  ip -n "$NETNS" route add "$SERVICE_CIDR" dev gk0 src "$GATEWAY"
  in_ns sysctl -qw net.ipv4.ip_forward=1
  # Nothing enters or leaves the namespace but through gk0 (there is no other
  # interface); this also keeps any later interface out of the pod network.
  in_ns iptables -P FORWARD DROP
  in_ns iptables -A FORWARD -i gk0 -o gk0 -j ACCEPT

  start etcd etcd --name default --data-dir "$D/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster default=http://127.0.0.1:2380
  start containerd containerd --config "$D/containerd/config.toml"
  wait_for etcd 20 in_ns curl -sf http://127.0.0.1:2379/health
  start kube-apiserver "$TOOLS_BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port=6443 \
    --service-cluster-ip-range="$SERVICE_CIDR" --token-auth-file="$D/tokens.csv" \
    --client-ca-file="$D/pki/ca.crt" --tls-cert-file="$D/pki/apiserver.crt" \
    --tls-private-key-file="$D/pki/apiserver.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$D/pki/sa.pub" --service-account-signing-key-file="$D/pki/sa.key" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --kubelet-preferred-address-types=InternalIP \
    --kubelet-client-certificate="$D/pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$D/pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$D/pki/ca.crt"
  wait_for kube-apiserver 60 kctl get --raw /readyz
  start kube-controller-manager "$TOOLS_BIN/kube-controller-manager" \
    --kubeconfig="$D/admin.kubeconfig" --bind-address=127.0.0.1 --leader-elect=false \
    --root-ca-file="$D/pki/ca.crt" --service-account-private-key-file="$D/pki/sa.key" \
    --controllers='*,-nodeipam' --service-cluster-ip-range="$SERVICE_CIDR"
  start kube-scheduler "$TOOLS_BIN/kube-scheduler" --kubeconfig="$D/admin.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false
  wait_for containerd 20 test -S "$D/containerd/containerd.sock"
  import_images "$PAUSE_IMAGE" "$LAB_IMAGE"
  start kubelet "$TOOLS_BIN/kubelet" --config="$D/kubelet.yaml" \
    --kubeconfig="$D/node.kubeconfig" --hostname-override=localhost --node-ip="$GATEWAY" \
    --root-dir="$D/kubelet"
  start kube-proxy "$TOOLS_BIN/kube-proxy" --config="$D/kube-proxy.yaml"
  start coredns "$TOOLS_BIN/coredns" -conf "$D/Corefile"
  wait_for kubelet 60 kctl wait --for=condition=Ready node/localhost --timeout=1s
  wait_for kube-controller-manager 30 kctl get serviceaccount default -n default
  log "up: node Ready; kubeconfig $D/admin.kubeconfig (use: $0 run kubectl ...)"
}

down() {
  if [[ -d "$D/pids" ]]; then
    # Pods first (so sandboxes and their network are released), then the
    # components in reverse order; etcd last.
    if [[ -S "$D/containerd/containerd.sock" && -e "/run/netns/$NETNS" ]]; then
      kill_one kubelet
      in_ns "$TOOLS_BIN/crictl" --runtime-endpoint "unix://$D/containerd/containerd.sock" \
        rmp -fa >/dev/null 2>&1 || true
    fi
    for c in coredns kube-proxy kubelet kube-scheduler kube-controller-manager kube-apiserver \
      containerd etcd; do
      kill_one "$c"
    done
  fi
  # Leftover shims of the pods, then kubelet and containerd mounts.
  pkill -f "containerd-shim-runc-v2 -namespace k8s.io -id .* -address $D/" 2>/dev/null || true
  if [[ -d "$D" ]]; then
    # (grep finds nothing once every mount is gone: not a failure.)
    { grep -oE " $D/[^ ]+" /proc/mounts || true; } | sort -r |
      while read -r m; do umount -l "$m" || true; done
  fi
  [[ -e "/run/netns/$NETNS" ]] && ip netns delete "$NETNS"
  rm -rf "$D"
  log "down"
}

kill_one() {
  local f="$D/pids/$1"
  [[ -f "$f" ]] || return 0
  local pid; pid=$(cat "$f")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  run) shift; export KUBECONFIG="$D/admin.kubeconfig" PATH="$TOOLS_BIN:$PATH"; in_ns "$@" ;;
  import) shift; import_images "$@" ;;
  *) echo "usage: tests/cluster/cluster.sh up|down|run CMD...|import IMAGE..." >&2; exit 2 ;;
esac
