#!/usr/bin/env bash
# The chart on a real single-node Kubernetes cluster (tests/cluster/cluster.sh):
#   - `helm install --wait` of values-prod.yaml + tests/cluster/values-cluster.yaml into a
#     namespace enforcing the "restricted" Pod Security Standard, mutual TLS on every link from
#     Secrets of scripts/dev-certs.sh certificates (the Services' DNS names); every pod Ready
#     through its gRPC health probes on the plaintext health ports;
#   - through `kubectl port-forward`, goalkeeperctl runs an ad-hoc scan and an inventory scan
#     of the lab sidecar's loopback listeners inside the worker pod; the findings reach the
#     notifier's outbox (.eml files on its volume);
#   - the node agent's DaemonSet runs in its own privileged namespace, in the cluster's network
#     namespace (never the machine's: checked, and the test stops otherwise), as UID 10001
#     with no capability; firewall lines appended to the log directory it reads (a directory
#     of the test) make a brute-force finding that reaches the notifier's outbox; stopping
#     the agent pod makes `goalkeeperctl nodes list` show the node silent ("node agent
#     silent" in the outbox), and its return clears it ("node agent back"); the new pod
#     resumes from the checkpoints on the node (nothing counted twice);
#   - certificate rotation: the Secrets replaced by new certificates of the same CA; within
#     the kubelet's sync period the coordinator and the notifier serve the new ones, and no
#     pod restarted (uids and restart counts unchanged); scans still work; a client without
#     a certificate is refused;
#   - `helm upgrade` with a changed notifier value rolls the notifier pod only;
#   - raising the workers' minimum adds a worker that joins a running scan;
#   - a variant with one securityContext field wrong is refused by the real admission;
#   - `helm uninstall` leaves only the PersistentVolumeClaims and the TLS Secrets the test
#     made (docs/deploy.md).
# Needs root, the tools of scripts/k8s-tools.sh, the image of scripts/build-images.sh and
# GOALKEEPER_BIN (default build/) with goalkeeperctl. Prints one line per check and ends with
# "cluster-tests: N passed, M failed"; exit 1 if any failed.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${GOALKEEPER_BIN:-$ROOT/build}"
CTL="$BIN/cli/goalkeeperctl"
[[ -x "$CTL" ]] || CTL="$BIN/goalkeeperctl"
VERSION=$(sed -nE 's/^appVersion: *"?([^"]+)"?/\1/p' "$ROOT/helm/goalkeeper/Chart.yaml")
IMAGE="localhost/goalkeeper:$VERSION"
export GOALKEEPER_CLUSTER_DIR="${GOALKEEPER_CLUSTER_DIR:-/tmp/goalkeeper-cluster}"
D="$GOALKEEPER_CLUSTER_DIR"
NS=goalkeeper
BAD_NS=goalkeeper-noncompliant
REL=goalkeeper
CHART="$ROOT/helm/goalkeeper"
AGENT_NS=goalkeeper-node
NODE_DIR="$D/node"
VALUES=(-f "$CHART/values-prod.yaml" -f "$HERE/values-cluster.yaml"
  --set "nodeAgent.hostPaths.logDir=$NODE_DIR/log"
  --set nodeAgent.hostPaths.volatileJournalDir=
  --set "nodeAgent.hostPaths.localtime=$NODE_DIR/localtime"
  --set "nodeAgent.hostPaths.checkpointDir=$NODE_DIR/checkpoint")
PF_PORT=17070
PF_NOTIFIER_PORT=17071
CERTS="$D/certs"
COORD_SVC="$REL-coordinator"

passed=0
failed=0
ok() { echo "cluster-test: ok   $1"; passed=$((passed + 1)); }
bad() { echo "cluster-test: FAIL $1"; failed=$((failed + 1)); }
check() {  # NAME CMD...
  local name=$1; shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}
c() { "$HERE/cluster.sh" run "$@"; }
k() { c kubectl "$@"; }
helm_() { c helm "$@"; }
ctl() {
  c "$CTL" --coordinator "127.0.0.1:$PF_PORT" --tls-dir "$CERTS/cli" \
    --tls-server-name "$COORD_SVC" "$@"
}

cleanup() {
  [[ -n "${PF_PID:-}" ]] && kill "$PF_PID" 2>/dev/null || true
  [[ -n "${PF_NOTIFIER_PID:-}" ]] && kill "$PF_NOTIFIER_PID" 2>/dev/null || true
  if [[ "${KEEP_CLUSTER:-0}" != 1 ]]; then "$HERE/cluster.sh" down || true; fi
}
trap cleanup EXIT

if ! podman image exists "$IMAGE"; then
  echo "cluster-test: image $IMAGE is missing: run scripts/build-images.sh first" >&2
  exit 1
fi
[[ -x "$CTL" ]] || { echo "cluster-test: no goalkeeperctl in $BIN" >&2; exit 1; }

start_s=$SECONDS
"$HERE/cluster.sh" down >/dev/null 2>&1 || true
"$HERE/cluster.sh" up
"$HERE/cluster.sh" import "$IMAGE"
echo "cluster-test: cluster up and images imported in $((SECONDS - start_s)) s"

# Local storage: a StorageClass without a provisioner and one hostPath volume per claim.
mkdir -p "$D/pv/coordinator" "$D/pv/notifier"
chown 10001:10001 "$D/pv/coordinator" "$D/pv/notifier"
pv() {  # NAME CLAIM
  cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: gk-$1}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: goalkeeper-local
  persistentVolumeReclaimPolicy: Retain
  claimRef: {namespace: $NS, name: $2}
  hostPath: {path: $D/pv/$1, type: Directory}
EOF
}
{
  cat <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: goalkeeper-local}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
EOF
  pv coordinator "data-$REL-coordinator-0"
  pv notifier "data-$REL-notifier-0"
} >"$D/storage.yaml"
k apply -f "$D/storage.yaml" >/dev/null

# The node agent's host paths: a log directory as Debian has it (kern.log root:adm 0640, so
# the agent reads it through its supplemental group 4 only), the host's zone file (UTC), and
# no checkpoint directory yet (the kubelet creates it, the init container hands it over).
mkdir -p "$NODE_DIR/log"
install -m 0640 -o 0 -g 4 /dev/null "$NODE_DIR/log/kern.log"
echo "$(date -u '+%b %e %H:%M:%S') localhost kernel: [    1.000000] booted" \
  >>"$NODE_DIR/log/kern.log"
cp /usr/share/zoneinfo/UTC "$NODE_DIR/localtime"
for ns in "$NS" "$BAD_NS"; do
  k create namespace "$ns" >/dev/null
  k label namespace "$ns" pod-security.kubernetes.io/enforce=restricted \
    pod-security.kubernetes.io/enforce-version=v1.31 >/dev/null
done

# Mutual TLS: a development CA and one certificate per component (scripts/dev-certs.sh), with
# the names the components dial: the Services' short names (workers, the coordinator's
# notifier address), their .svc names (the node agents) and 127.0.0.1 (port-forward).
DNS=()
for svc in "$REL-coordinator" "$REL-notifier"; do
  DNS+=(--dns "$svc" --dns "$svc.$NS" --dns "$svc.$NS.svc" --dns "$svc.$NS.svc.cluster.local")
done
make_certs() { "$ROOT/scripts/dev-certs.sh" "${DNS[@]}" "$CERTS" coordinator notifier worker node-agent cli; }
make_certs
tls_secret() {  # NAMESPACE IDENTITY: the kubernetes.io/tls Secret goalkeeper-IDENTITY-tls
  k create secret generic "goalkeeper-$2-tls" -n "$1" --type=kubernetes.io/tls \
    --from-file="$CERTS/$2/ca.crt" --from-file="$CERTS/$2/tls.crt" \
    --from-file="$CERTS/$2/tls.key" --dry-run=client -o yaml | k apply -f - >/dev/null
}
# The node agent's namespace exists before the install (its Secret lives there), made
# adoptable by the release so `helm uninstall` still deletes it.
k create namespace "$AGENT_NS" >/dev/null
k label namespace "$AGENT_NS" app.kubernetes.io/managed-by=Helm \
  pod-security.kubernetes.io/enforce=privileged >/dev/null
k annotate namespace "$AGENT_NS" "meta.helm.sh/release-name=$REL" \
  "meta.helm.sh/release-namespace=$NS" >/dev/null
all_secrets() {
  local id
  for id in coordinator notifier worker cli; do tls_secret "$NS" "$id"; done
  tls_secret "$AGENT_NS" node-agent
}
all_secrets

# --- install ---------------------------------------------------------------------------
t0=$SECONDS
if helm_ install "$REL" "$CHART" -n "$NS" "${VALUES[@]}" --wait --timeout 180s >"$D/install.log" 2>&1
then
  ok "helm install --wait into a restricted namespace ($((SECONDS - t0)) s)"
else
  bad "helm install --wait"; cat "$D/install.log"
  k get pods,events -n "$NS" -o wide || true
  exit 1
fi
all_ready() {
  local comps
  comps=$(k get pods -n "$NS" -o jsonpath='{range .items[*]}{.metadata.labels.app\.kubernetes\.io/component}{"\n"}{end}' | sort -u | tr '\n' ' ')
  [[ "$comps" == "coordinator notifier worker " ]] && k wait --for=condition=Ready pods --all -n "$NS" --timeout=5s >/dev/null
}
check "every pod Ready (coordinator, notifier, worker)" all_ready
grpc_probes() {
  local p
  p=$(k get pods -n "$NS" -o jsonpath='{range .items[*]}{.spec.containers[0].readinessProbe.grpc.port}/{.spec.containers[0].livenessProbe.grpc.service}{"\n"}{end}' | sort -u | tr '\n' ' ')
  echo "cluster-test: probes (port/liveness service): $p"
  [[ "$p" =~ ^([0-9]+/liveness\ )+$ ]]
}
check "readiness and liveness probes are gRPC health probes" grpc_probes
health_ports() {  # the kubelet cannot present a client certificate: plaintext health ports
  local p
  p=$(k get pods -n "$NS" -o jsonpath='{range .items[*]}{.metadata.labels.app\.kubernetes\.io/component}={.spec.containers[0].readinessProbe.grpc.port}{"\n"}{end}' | sort -u | tr '\n' ' ')
  echo "cluster-test: probe ports: $p"
  [[ "$p" == "coordinator=7072 notifier=7073 worker=7072 " ]]
}
check "the probes use the plaintext health ports, not the TLS ports 7070/7071" health_ports
tls_mounted() {  # every pod of the release and the agent mounts its own Secret, read-only
  local m
  m=$( (k get pods -n "$NS" -o json; k get pods -n "$AGENT_NS" -o json) | python3 -c '
import json, sys
dec = json.JSONDecoder()
text = sys.stdin.read()
i = 0
while i < len(text):
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    doc, i = dec.raw_decode(text, i)
    for p in doc["items"]:
        vols = {v["name"]: v for v in p["spec"]["volumes"]}
        c = p["spec"]["containers"][0]
        mnt = [m for m in c.get("volumeMounts", []) if m["name"] == "tls"]
        ok = (len(mnt) == 1 and mnt[0]["mountPath"] == "/run/secrets/goalkeeper-tls"
              and mnt[0].get("readOnly") is True)
        print(p["metadata"]["labels"]["app.kubernetes.io/component"],
              vols.get("tls", {}).get("secret", {}).get("secretName"), "ro" if ok else "NOT-RO")
' | sort -u | tr '\n' ',')
  echo "cluster-test: TLS mounts: $m"
  [[ "$m" == "coordinator goalkeeper-coordinator-tls ro,node-agent goalkeeper-node-agent-tls ro,notifier goalkeeper-notifier-tls ro,worker goalkeeper-worker-tls ro," ]]
}
check "each pod mounts its own TLS Secret read-only at /run/secrets/goalkeeper-tls" tls_mounted

# The workers and the coordinator reach each other by Service name: CoreDNS answers
# cluster.local and kube-proxy routes the ClusterIP to the pod.
through_service() {
  local args addr ip
  args=$(k get deploy -n "$NS" "$REL-worker" -o jsonpath='{.spec.template.spec.containers[0].args}')
  addr=$(grep -oE -- '--coordinator=[^",]+' <<<"$args" | cut -d= -f2)
  ip=$(k get svc -n "$NS" "$REL-coordinator" -o jsonpath='{.spec.clusterIP}')
  echo "cluster-test: workers dial $addr (ClusterIP $ip)"
  [[ "$addr" == "$REL-coordinator:7070" && -n "$ip" && "$ip" != None ]] &&
    c iptables -t nat -S | grep -q -- "-d $ip/32 .*goalkeeper/$REL-coordinator:grpc"
}
check "workers reach the coordinator by Service name (CoreDNS, kube-proxy's ClusterIP rules)" \
  through_service

# --- port-forward and scans ------------------------------------------------------------
c kubectl port-forward -n "$NS" "svc/$REL-coordinator" "$PF_PORT:7070" >"$D/port-forward.log" 2>&1 &
PF_PID=$!
for _ in $(seq 1 50); do ctl workers list >/dev/null 2>&1 && break; sleep 0.2; done

findings_of() {  # SCAN_ID -> "ip:port" lines, sorted
  ctl scan findings "$1" --output csv | tail -n +2 | cut -d, -f1,2 | tr , : | sort
}
expected_lab=$'127.0.10.1:5432\n127.0.10.2:6379\n127.0.10.3:27017\n127.0.10.3:9200'

adhoc=$(ctl scan start --targets 127.0.10.0/29 --ports 5432,6379,9200,27017,22 --wait \
  --output json | tail -1)
adhoc_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$adhoc")
check "ad-hoc scan through port-forward finds exactly the lab's listeners" \
  test "$(findings_of "$adhoc_id")" == "$expected_lab"

inv=$(ctl scan start --inventory prod --wait --output json | tail -1)
inv_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$inv")
check "inventory scan (values' prod inventory, dangerous ports) finds the lab's listeners" \
  test "$(findings_of "$inv_id")" == "$expected_lab"

outbox_has_findings() {
  local f
  f=$(grep -rlE '127\.0\.10\.1' "$D/pv/notifier" --include='*.eml' 2>/dev/null | head -1)
  [[ -n "$f" ]] && grep -q 5432 "$f" && grep -q 6379 "$f"
}
for _ in $(seq 1 100); do outbox_has_findings && break; sleep 0.3; done
check "the findings reach the notifier's outbox (.eml on its volume)" outbox_has_findings

# --- the node agent ----------------------------------------------------------------------
agent_pod() {
  k get pods -n "$AGENT_NS" -l app.kubernetes.io/component=node-agent \
    -o jsonpath='{range .items[?(@.status.phase=="Running")]}{.metadata.name}{"\n"}{end}' | head -1
}
ax() { k exec -n "$AGENT_NS" "$(agent_pod)" -c node-agent -- "$@"; }
agent_ready() {
  local level
  level=$(k get ns "$AGENT_NS" \
    -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}')
  [[ $level == privileged ]] &&
    k wait --for=condition=Ready pods -n "$AGENT_NS" -l app.kubernetes.io/component=node-agent \
      --timeout=60s >/dev/null
}
check "the node agent's DaemonSet pod is Ready in its own namespace (enforce=privileged)" \
  agent_ready

# Network safety: a hostNetwork pod joins the container runtime's network namespace. That
# must be the cluster's own (gk-cluster, where cluster.sh starts containerd), never this
# machine's. Stop here if it is not.
netns_safe() {
  local got want mine devs
  got=$(ax readlink /proc/self/ns/net)
  want="net:[$(stat -L -c %i "/run/netns/${GOALKEEPER_CLUSTER_NETNS:-gk-cluster}")]"
  mine=$(readlink /proc/self/ns/net)
  devs=$(ax cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' | sort | tr '\n' ' ')
  echo "cluster-test: agent netns $got (cluster $want, this machine $mine); interfaces: $devs"
  [[ "$got" == "$want" && "$got" != "$mine" ]] || return 1
  local d
  for d in $devs; do
    [[ $d == lo || $d == gk0 || $d == veth* ]] || { echo "cluster-test: unexpected $d"; return 1; }
  done
  # Every veth is a pod's, on the cluster's bridge.
  local on_bridge
  on_bridge=$(ip -n "${GOALKEEPER_CLUSTER_NETNS:-gk-cluster}" -o link show master gk0 |
    awk -F': ' '{print $2}' | cut -d@ -f1)
  for d in $devs; do
    [[ $d == veth* ]] || continue
    grep -qx "$d" <<<"$on_bridge" || { echo "cluster-test: $d is not on gk0"; return 1; }
  done
}
if netns_safe; then
  ok "the agent's host network is the cluster's namespace (only lo, gk0 and the pods' veths)"
else
  bad "the agent's host network is the cluster's namespace"
  echo "cluster-test: stopping: the agent must not run in this machine's network" >&2
  exit 1
fi
agent_identity() {
  local st
  st=$(ax cat /proc/self/status)
  echo "cluster-test: agent $(grep -E '^(Uid|Gid|Groups|CapEff):' <<<"$st" | tr '\t\n' '  ')"
  grep -qE '^Uid:\s+10001\s+10001\s+10001\s+10001$' <<<"$st" &&
    grep -qE '^Groups:.*\b4\b' <<<"$st" && grep -qE '^CapEff:\s+0+$' <<<"$st" &&
    [[ "$(stat -c '%u:%g %a' "$NODE_DIR/checkpoint")" == "10001:10001 700" ]]
}
check "the agent runs as UID 10001, group adm, no capability; it owns its checkpoint dir (0700)" \
  agent_identity
check "its root filesystem and the host log directory are read-only" bash -c '
  ! "$@" touch /var/log/x 2>/dev/null && ! "$@" touch /x 2>/dev/null' _ \
  "$HERE/cluster.sh" run kubectl exec -n "$AGENT_NS" "$(agent_pod)" -c node-agent --

node_json() { ctl nodes list --output json; }
node_state() {  # -> "silent" | "ok" | "" for the node "localhost"
  node_json 2>/dev/null | python3 -c '
import json, sys
for n in json.load(sys.stdin).get("nodes", []):
    if n["name"] == "localhost":
        print("silent" if n.get("silent") else "ok")' 2>/dev/null
}
# Up to 90 s: an agent started before the coordinator was Ready backs off
# (up to 60 s between reports) and may need a fresh channel first.
for _ in $(seq 1 300); do [[ "$(node_state)" == ok ]] && break; sleep 0.3; done
check "the agent reports: \`goalkeeperctl nodes list\` shows node localhost ($(node_state))" \
  test "$(node_state)" == ok
if [[ "$(node_state)" != ok ]]; then  # what the agent says (its transport errors) and the nodes
  k logs -n "$AGENT_NS" "$(agent_pod)" -c node-agent --tail=15 2>&1 | cut -c1-240 |
    sed 's/^/cluster-test:   agent: /'
  node_json 2>&1 | head -c 600 | sed 's/^/cluster-test:   nodes: /'
fi

# Firewall lines in the default TFTP rule's format (RFC 3164 stamps in the host's zone, UTC
# here): 12 hits from 192.0.2.23 (threshold 10 in 10 minutes) and 3 from 192.0.2.99.
fw_line() {  # SRC SPT
  local mac=52:54:00:12:34:56:52:54:00:65:43:21:08:00
  echo "$(date -u '+%b %e %H:%M:%S') localhost kernel: [81234.567890]" \
    "IPTables-TFTP-Rejected: IN=eth0 OUT= MAC=$mac SRC=$1 DST=198.51.100.1 LEN=45" \
    "TOS=0x00 PREC=0x00 TTL=64 ID=54321 DF PROTO=UDP SPT=$2 DPT=69 LEN=25"
}
for i in $(seq 1 12); do fw_line 192.0.2.23 $((40000 + i)) >>"$NODE_DIR/log/kern.log"; done
for i in 1 2 3; do fw_line 192.0.2.99 $((41000 + i)) >>"$NODE_DIR/log/kern.log"; done
outbox_eml_with() { grep -rlE "$1" "$D/pv/notifier" --include='*.eml' 2>/dev/null | head -1; }
for _ in $(seq 1 150); do [[ -n "$(outbox_eml_with '192\.0\.2\.23')" ]] && break; sleep 0.3; done
brute_force_mailed() {  # the operators' mail (notifier/node_finding_render.cc) with its fields
  local f hits
  f=$(outbox_eml_with 'Brute-force source 192\.0\.2\.23 \(rule tftp\)')
  [[ -n "$f" ]] || return 1
  hits=$(sed -nE 's/^ *Hits in window: ([0-9]+).*/\1/p' "$f" | head -1)
  echo "cluster-test: $(basename "$f"): $hits hits; $(grep -m1 -E '^ *Ports and protocols:' "$f")"
  grep -qE '^ *Node: localhost' "$f" && grep -qE '^ *Ports and protocols: .*69' "$f" &&
    [[ -n $hits && $hits -ge 10 && $hits -le 12 ]] &&
    ! grep -rqE '192\.0\.2\.99' "$D/pv/notifier" --include='*.eml'
}
check "a brute-force source in the node's log reaches the outbox (a 3-hit one does not)" \
  brute_force_mailed

# Stopping the agent pod (a nodeSelector no node matches) makes the node silent.
helm_ upgrade "$REL" "$CHART" -n "$NS" "${VALUES[@]}" \
  --set-string nodeAgent.nodeSelector.goalkeeper-test-no-node=true \
  --wait --timeout 120s >"$D/agent-stop.log" 2>&1 || cat "$D/agent-stop.log"
agent_gone() {
  for _ in $(seq 1 100); do
    [[ -z "$(k get pods -n "$AGENT_NS" -l app.kubernetes.io/component=node-agent -o name)" ]] &&
      return 0
    sleep 0.3
  done
  return 1
}
check "the upgrade stopped the agent pod" agent_gone
for _ in $(seq 1 100); do [[ "$(node_state)" == silent ]] && break; sleep 0.3; done
check "the stopped agent's node is silent in \`goalkeeperctl nodes list\`" \
  test "$(node_state)" == silent
for _ in $(seq 1 100); do
  [[ -n "$(outbox_eml_with 'Node agent silent')" ]] && break; sleep 0.3
done
check "\"node agent silent\" reaches the notifier's outbox" \
  test -n "$(outbox_eml_with 'Node agent silent')"
helm_ upgrade "$REL" "$CHART" -n "$NS" "${VALUES[@]}" --wait --timeout 120s \
  >"$D/agent-start.log" 2>&1 || cat "$D/agent-start.log"
# Up to 90 s: an agent started before the coordinator was Ready backs off
# (up to 60 s between reports) and may need a fresh channel first.
for _ in $(seq 1 300); do [[ "$(node_state)" == ok ]] && break; sleep 0.3; done
check "the agent's return clears it" test "$(node_state)" == ok
for _ in $(seq 1 100); do [[ -n "$(outbox_eml_with 'Node agent back')" ]] && break; sleep 0.3; done
check "... with a \"node agent back\" mail in the outbox" \
  test -n "$(outbox_eml_with 'Node agent back')"
# The new pod resumes from the checkpoints on the node (the hostPath): a new source written
# now is found, and the lines read before the stop are not counted again (192.0.2.23 is in
# exactly one mail). The file is read in order, so once the new source's mail is out, a
# re-read of the old lines would have been reported too.
for i in $(seq 1 10); do fw_line 192.0.2.77 $((42000 + i)) >>"$NODE_DIR/log/kern.log"; done
for _ in $(seq 1 150); do
  [[ -n "$(outbox_eml_with 'Brute-force source 192\.0\.2\.77')" ]] && break; sleep 0.3
done
sleep 3
mails_23=$(grep -rlE 'Brute-force source 192\.0\.2\.23 ' "$D/pv/notifier" --include='*.eml' | wc -l)
echo "cluster-test: mails about 192.0.2.23: $mails_23"
check "the new agent pod resumes from its checkpoints: a new source found, the old not again" \
  test -n "$(outbox_eml_with 'Brute-force source 192\.0\.2\.77')" -a "$mails_23" -eq 1

# --- mutual TLS: a client without a certificate, then certificate rotation ---------------
c kubectl port-forward -n "$NS" "svc/$REL-notifier" "$PF_NOTIFIER_PORT:7071" \
  >"$D/port-forward-notifier.log" 2>&1 &
PF_NOTIFIER_PID=$!
# What a TLS client presenting the cli certificate sees on PORT (through the port-forwards)
# with SERVERNAME: openssl's view of the handshake, the served certificate included.
tls_probe() {  # PORT SERVERNAME
  c bash -c 'sleep 1 | timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername "$2" \
    -CAfile "$3" -alpn h2 -verify_return_error -cert "$4" -key "$5" 2>&1' _ "$1" "$2" \
    "$CERTS/ca.crt" "$CERTS/cli/tls.crt" "$CERTS/cli/tls.key"
}
served_fp() {  # PORT SERVERNAME -> the SHA-256 fingerprint served there ("" if none)
  { tls_probe "$1" "$2" || true; } | { openssl x509 -noout -fingerprint -sha256 2>/dev/null || true; } |
    cut -d= -f2
}
file_fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
for _ in $(seq 1 50); do [[ -n "$(served_fp "$PF_NOTIFIER_PORT" "$REL-notifier")" ]] && break; sleep 0.2; done
# A gRPC call without a client certificate (grpcurl, trusting the CA) is refused: at the
# handshake, or by the gate when the server only requests certificates (for bearer-token
# clients); the same call with the cli certificate is answered, so this can fail.
GRPCURL=${GRPCURL:-$(command -v grpcurl || echo "$HOME/go/bin/grpcurl")}
grpc_call() {  # PORT SERVERNAME METHOD [nocert]
  local id=(-cert "$CERTS/cli/tls.crt" -key "$CERTS/cli/tls.key")
  [[ "${4:-}" == nocert ]] && id=()
  c "$GRPCURL" -max-time 10 -cacert "$CERTS/ca.crt" -servername "$2" "${id[@]}" \
    -import-path "$ROOT/proto" -proto goalkeeper/v1/coordinator.proto \
    -proto goalkeeper/v1/notifier.proto "127.0.0.1:$1" "$3" 2>&1
}
refused_without_cert() {  # PORT SERVERNAME METHOD
  local out rc=0
  out=$(grpc_call "$1" "$2" "$3" nocert) || rc=$?
  echo "cluster-test: $3 without a certificate: exit $rc: $(tr '\n' ' ' <<<"$out" | head -c 200)"
  [[ $rc -ne 0 ]] &&
    grep -qiE 'Unauthenticated|PermissionDenied|deadline exceeded|certificate|handshake|EOF' \
      <<<"$out" && grpc_call "$1" "$2" "$3" >/dev/null
}
check "a gRPC call without a client certificate is refused by the coordinator (with one: answered)" \
  refused_without_cert "$PF_PORT" "$COORD_SVC" goalkeeper.v1.Coordinator/ListWorkers
# The notifier: a report delivery (the coordinator's alone) from a client without a certificate.
notifier_refuses_without_cert() {
  local out rc=0
  out=$(grpc_call "$PF_NOTIFIER_PORT" "$REL-notifier" goalkeeper.v1.Notifier/DeliverReport \
    nocert) || rc=$?
  echo "cluster-test: the notifier without a certificate: exit $rc: $(tr '\n' ' ' <<<"$out" | head -c 200)"
  [[ $rc -ne 0 ]] &&
    grep -qiE 'Unauthenticated|PermissionDenied|deadline exceeded|certificate|handshake|EOF' <<<"$out"
}
check "... and by the notifier" notifier_refuses_without_cert
ctl_without_cert() {  # goalkeeperctl trusting the CA, with a bearer token but no certificate
  local rc=0
  echo not-a-configured-token >"$D/bogus-token"
  c "$CTL" --coordinator "127.0.0.1:$PF_PORT" --tls-ca-file "$CERTS/ca.crt" \
    --tls-server-name "$COORD_SVC" --token-file "$D/bogus-token" workers list \
    >"$D/nocert.out" 2>&1 || rc=$?
  echo "cluster-test: goalkeeperctl without a certificate: exit $rc:" \
    "$(head -c 200 "$D/nocert.out" | tr '\n' ' ')"
  # 1 = the call failed (2 would be a usage error: no proof of anything).
  [[ $rc -eq 1 ]] && ! grep -q "$REL-worker" "$D/nocert.out"
}
check "goalkeeperctl without a client certificate gets no answer (exit 1)" ctl_without_cert

# Rotation: new keys and certificates from the same CA, the Secrets replaced in place. The
# kubelet refreshes the mounted files within its sync period (1 min) and the servers re-read
# them (tls.refreshSeconds): the new certificates are served, nothing restarts.
pods_state() {  # "namespace/name uid restarts" of every pod of the release and the agent
  local ns
  for ns in "$NS" "$AGENT_NS"; do
    k get pods -n "$ns" -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.metadata.uid} {range .status.containerStatuses[*]}{.restartCount},{end}{"\n"}{end}'
  done | sort
}
before_rotation=$(pods_state)
old_coord=$(served_fp "$PF_PORT" "$COORD_SVC")
old_notifier=$(served_fp "$PF_NOTIFIER_PORT" "$REL-notifier")
echo "cluster-test: served before rotation: coordinator $old_coord, notifier $old_notifier"
for id in coordinator notifier worker node-agent cli; do rm -rf "${CERTS:?}/$id"; done
make_certs
all_secrets
new_coord=$(file_fp "$CERTS/coordinator/tls.crt")
new_notifier=$(file_fp "$CERTS/notifier/tls.crt")
t0=$SECONDS
for _ in $(seq 1 180); do
  [[ "$(served_fp "$PF_PORT" "$COORD_SVC")" == "$new_coord" &&
     "$(served_fp "$PF_NOTIFIER_PORT" "$REL-notifier")" == "$new_notifier" ]] && break
  sleep 1
done
rotated_in=$((SECONDS - t0))
check "after the Secrets are replaced the coordinator serves its new certificate (${rotated_in} s)" \
  test "$(served_fp "$PF_PORT" "$COORD_SVC")" == "$new_coord" -a "$new_coord" != "$old_coord"
check "... and the notifier its new one" \
  test "$(served_fp "$PF_NOTIFIER_PORT" "$REL-notifier")" == "$new_notifier" -a \
  "$new_notifier" != "$old_notifier"
after_rotation=$(pods_state)
[[ "$before_rotation" == "$after_rotation" ]] ||
  diff <(echo "$before_rotation") <(echo "$after_rotation") | sed 's/^/cluster-test:   /'
check "no pod restarted or was replaced by the rotation (uids and restart counts unchanged)" \
  test "$before_rotation" == "$after_rotation" -a -n "$before_rotation"
# The fleet works on the new certificates: a scan through the coordinator (the new cli
# certificate), its workers (their new client certificates on the next connection) and the
# notifier (the coordinator's new client certificate).
rot=$(ctl scan start --targets 127.0.10.0/29 --ports 5432,6379,9200,27017,22 --wait \
  --output json | tail -1)
rot_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$rot")
check "after the rotation an ad-hoc scan still finds exactly the lab's listeners" \
  test "$(findings_of "$rot_id")" == "$expected_lab"
check "the new certificates chain to the same CA (the pods' ca.crt did not change)" bash -c '
  openssl verify -CAfile "$1/ca.crt" "$1"/{cli,coordinator,notifier,worker,node-agent}/tls.crt \
    >/dev/null' _ "$CERTS"

# --- upgrade rolls exactly the changed pods ----------------------------------------------
uids() { k get pods -n "$NS" -o jsonpath='{range .items[*]}{.metadata.labels.app\.kubernetes\.io/component} {.metadata.uid}{"\n"}{end}' | sort; }
before=$(uids)
helm_ upgrade "$REL" "$CHART" -n "$NS" "${VALUES[@]}" --set notifier.notify.repeatInterval=3d \
  --wait --timeout 180s >"$D/upgrade.log" 2>&1 || { cat "$D/upgrade.log"; }
after=$(uids)
changed=$(comm -3 <(echo "$before") <(echo "$after") | awk '{print $1}' | sort -u | tr '\n' ' ')
check "helm upgrade of a notifier value rolls the notifier only (changed: $changed)" \
  test "$changed" == "notifier "

# --- a worker added while a scan runs joins it -----------------------------------------------
slow=$(ctl scan start --targets 127.0.10.0/28 --profile slow --output json | tail -1)
slow_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$slow")
first=$(k get pods -n "$NS" -l app.kubernetes.io/component=worker -o jsonpath='{.items[0].metadata.name}')
helm_ upgrade "$REL" "$CHART" -n "$NS" "${VALUES[@]}" --set notifier.notify.repeatInterval=3d \
  --set worker.autoscaling.minReplicas=2 >"$D/scale.log" 2>&1 || cat "$D/scale.log"
joined() {
  ctl workers list --output json | python3 -c '
import json, sys
first = sys.argv[1]
ws = json.load(sys.stdin).get("workers", [])
print(" ".join("%s:%s:%s" % (w["name"], w.get("leases", 0), w.get("probes_done", 0)) for w in ws),
      file=sys.stderr)
sys.exit(0 if any(w["name"] != first and (int(w.get("leases", 0)) > 0 or
                  int(w.get("probes_done", 0)) > 0) for w in ws) else 1)' "$first"
}
joined_ok=1
for _ in $(seq 1 150); do
  if joined 2>"$D/workers.txt"; then joined_ok=0; break; fi
  state=$(ctl scan status "$slow_id" --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
  [[ "$state" == *RUNNING* || "$state" == *PENDING* ]] || break
  sleep 0.4
done
check "scaling the workers adds one that joins the running scan ($(cat "$D/workers.txt"))" \
  test "$joined_ok" == 0
ctl scan cancel "$slow_id" >/dev/null 2>&1 || true

# --- the real admission refuses a non-compliant variant --------------------------------------
helm_ install bad "$CHART" -n "$BAD_NS" "${VALUES[@]}" --set nodeAgent.enabled=false \
  --set coordinator.securityContext.allowPrivilegeEscalation=true \
  --set coordinator.persistence.enabled=false --set notifier.persistence.enabled=false \
  >"$D/bad.log" 2>&1 || true
refused() {
  k get events -n "$BAD_NS" -o jsonpath='{range .items[*]}{.reason} {.message}{"\n"}{end}' |
    grep -E 'FailedCreate.*violates PodSecurity "restricted:v1.31".*allowPrivilegeEscalation' >/dev/null
}
for _ in $(seq 1 50); do refused && break; sleep 0.2; done
check "a pod with allowPrivilegeEscalation=true is refused by PodSecurity admission" refused
check "and no coordinator pod of it exists" \
  test -z "$(k get pods -n "$BAD_NS" -l app.kubernetes.io/component=coordinator -o name)"
helm_ uninstall bad -n "$BAD_NS" --wait >/dev/null 2>&1 || true

# --- uninstall leaves only what the docs say -------------------------------------------------
kill "$PF_PID" 2>/dev/null || true; PF_PID=
kill "$PF_NOTIFIER_PID" 2>/dev/null || true; PF_NOTIFIER_PID=
helm_ uninstall "$REL" -n "$NS" --wait --timeout 120s >"$D/uninstall.log" 2>&1 || cat "$D/uninstall.log"
leftover() {
  local kinds
  kinds=$(k api-resources --verbs=list --namespaced -o name | grep -vE '^(events|events.events.k8s.io)$' |
    tr '\n' ,)
  k get "${kinds%,}" -n "$NS" --ignore-not-found -o name 2>/dev/null |
    grep -vE '^(configmap/kube-root-ca.crt|serviceaccount/default)$' | sort
}
# Pods go after the objects: a worker still holding a shard when it got
# SIGTERM tries to hand it back until its grace period (60 s) ends, and the
# coordinator it would hand it to is being deleted too. Wait that long.
for _ in $(seq 1 200); do
  [[ "$(leftover | grep -vE '^(persistentvolumeclaim/|secret/goalkeeper-[a-z-]+-tls$)')" == "" ]] &&
    break
  sleep 0.5
done
left=$(leftover | tr '\n' ' ')
# The TLS Secrets are the test's own (existingSecret): uninstall leaves them, as documented.
check "helm uninstall leaves only the PVCs and the test's TLS Secrets (left: $left)" \
  test "$left" == "persistentvolumeclaim/data-$REL-coordinator-0 \
persistentvolumeclaim/data-$REL-notifier-0 secret/goalkeeper-cli-tls \
secret/goalkeeper-coordinator-tls secret/goalkeeper-notifier-tls secret/goalkeeper-worker-tls "

check "helm uninstall removes the node agent's namespace" bash -c '
  for _ in $(seq 1 120); do
    "$1" run kubectl get ns "$2" >/dev/null 2>&1 || exit 0
    sleep 0.5
  done; exit 1' _ "$HERE/cluster.sh" "$AGENT_NS"

echo "cluster-test: total $((SECONDS - start_s)) s"
echo "cluster-tests: $passed passed, $failed failed"
[[ $failed == 0 ]]
