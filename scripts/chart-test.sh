#!/usr/bin/env bash
# scripts/chart-test.sh: the offline checks of the Helm chart helm/goalkeeper.
#
#   GOALKEEPER_BIN=build scripts/chart-test.sh
#
# For values.yaml, values-stage.yaml, values-prod.yaml, ci/all-on-values.yaml (every optional
# part on) and values-prod.yaml + ci/cluster-test-values.yaml: helm lint --strict, helm
# template, every rendered object validated against the Kubernetes 1.31 schemas in strict mode
# (kubernetes-validate; the CRD objects by scripts/chart_checks.py), the "restricted" Pod
# Security rules, and the rendered config files parsed by the real binaries
# (`--check-config`, with certificates of scripts/dev-certs.sh where the pods mount their TLS
# Secrets). Then: a deliberately wrong object must fail validation, bad values must fail the
# schema with a message naming the key, checksum annotations roll exactly the pods whose config
# changed (and nothing for TLS: rotation restarts nothing), and the helm-unittest suites.
#
# TLS is on by default: a render needs cert-manager's API (--api-versions cert-manager.io/v1,
# the sets below) or an existing Secret per component (helm lint has no --api-versions: it
# lints with stand-in Secret names, LINT_TLS).
#
# Tools come from ~/.cache/goalkeeper/tools (scripts/k8s-tools.sh builds them; override with
# GOALKEEPER_TOOLS). GOALKEEPER_BIN is the directory with goalkeeper-coordinator,
# goalkeeper-notifier, goalkeeper-worker and goalkeeperctl, either flat or a CMake build tree
# (default: build). Nothing is downloaded; the binaries run in a network namespace of their own when
# unshare is allowed. Prints one line per check and ends with
# "chart-tests: N passed, M failed"; exits 1 on any failure.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${GOALKEEPER_TOOLS:-$HOME/.cache/goalkeeper/tools}
HELM=$TOOLS/bin/helm
KV=$TOOLS/bin/kubernetes-validate
PY=$TOOLS/bin/tools-python3
[[ -x $PY ]] || PY=python3
CHART=$ROOT/helm/goalkeeper
CHECKS=$ROOT/scripts/chart_checks.py
GOALKEEPER_BIN=${GOALKEEPER_BIN:-$ROOT/build}
KUBE=(--kube-version 1.31.0)
CRD_APIS=(--api-versions monitoring.coreos.com/v1 --api-versions keda.sh/v1alpha1)
CM_API=(--api-versions cert-manager.io/v1)
LINT_TLS=(--set tls.coordinator.existingSecret=lint-tls --set tls.notifier.existingSecret=lint-tls
  --set tls.worker.existingSecret=lint-tls --set tls.nodeAgent.existingSecret=lint-tls
  --set tls.cli.existingSecret=lint-tls)

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0

# check NAME CMD...: runs CMD, prints "ok   NAME" or "FAIL NAME" and the end of its output.
check() {
  local name=$1
  shift
  if "$@" >"$WORK/out" 2>&1; then
    echo "ok   $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    tail -n 15 "$WORK/out" | sed 's/^/     /'
    failed=$((failed + 1))
  fi
}

# expect_fail NAME PATTERN CMD...: CMD must fail and print PATTERN (an extended regex).
expect_fail() {
  local name=$1 pattern=$2
  shift 2
  if "$@" >"$WORK/out" 2>&1; then
    echo "FAIL $name (it succeeded)"
    failed=$((failed + 1))
  elif grep -Eq -- "$pattern" "$WORK/out"; then
    echo "ok   $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name (no /$pattern/ in the output)"
    tail -n 8 "$WORK/out" | sed 's/^/     /'
    failed=$((failed + 1))
  fi
}

for tool in "$HELM" "$KV"; do
  if [[ ! -x $tool ]]; then
    echo "chart-tests: $tool is missing (run scripts/k8s-tools.sh)" >&2
    exit 1
  fi
done

# A binary from GOALKEEPER_BIN, flat or in its CMake subdirectory.
find_bin() {
  local name=$1 dir
  for dir in "$GOALKEEPER_BIN" "$GOALKEEPER_BIN/coordinator" "$GOALKEEPER_BIN/notifier" \
    "$GOALKEEPER_BIN/worker" "$GOALKEEPER_BIN/cli"; do
    if [[ -x $dir/$name ]]; then
      echo "$dir/$name"
      return 0
    fi
  done
  return 1
}

# Runs a binary without network access when this user may make a network namespace.
NETNS=()
if unshare -n true 2>/dev/null; then NETNS=(unshare -n); fi

validate() { # FILE: strict 1.31 schemas; only the known CRD kinds may lack a schema.
  "$KV" -k 1.31.0 --strict "$1" | grep -v ' passed for resource ' || true
  local crds='kind (ServiceMonitor|PodMonitor|PrometheusRule) with api version '
  crds+='monitoring.coreos.com/v1|kind ScaledObject with api version keda.sh/v1alpha1'
  crds+='|kind (Certificate|Issuer) with api version cert-manager.io/v1'
  if "$KV" -k 1.31.0 --strict --quiet "$1" 2>&1 | grep "Couldn't find schema" |
    grep -Ev "$crds"; then
    echo "an object of an unknown kind or apiVersion"
    return 1
  fi
  "$KV" -k 1.31.0 --strict --quiet "$1" >/dev/null
}

check_config() { # SET: the rendered configs parsed by the real binaries.
  local dir=$WORK/$1.config bin
  mkdir -p "$dir"
  "$PY" "$CHECKS" extract "$WORK/$1.yaml" "$dir" || return 1
  # The credentials and the data volume exist only in the pods: point the *_file keys at
  # stand-in files and the database/outbox paths at a scratch directory.
  mkdir -p "$dir/secrets" "$dir/data"
  local f
  for f in smtp-password telegram-token openstack-password fleio-token; do
    echo "stand-in-$f" >"$dir/secrets/$f"
  done
  sed -i -e "s|/run/secrets/goalkeeper/|$dir/secrets/|" -e "s|/var/lib/goalkeeper/|$dir/data/|" \
    "$dir"/*.yaml
  # TLS: each component's mounted Secret becomes a directory of the same layout made by
  # scripts/dev-certs.sh (the binaries check the files at start); auth.tokens: stand-in files.
  "$ROOT/scripts/dev-certs.sh" "$WORK/certs" coordinator notifier worker node-agent cli || return 1
  local tls=/run/secrets/goalkeeper-tls
  sed -i -e "s|$tls|$WORK/certs/coordinator|" "$dir/coordinator.yaml"
  [[ ! -f $dir/notifier.yaml ]] || sed -i -e "s|$tls|$WORK/certs/notifier|" "$dir/notifier.yaml"
  mkdir -p "$dir/tokens"
  local name
  for name in $(sed -nE 's|^ *file: /run/secrets/goalkeeper-auth/(.*)$|\1|p' "$dir"/*.yaml); do
    echo "stand-in-token-$name" >"$dir/tokens/$name"
  done
  sed -i -e "s|/run/secrets/goalkeeper-auth/|$dir/tokens/|" "$dir"/*.yaml
  sed -i -e "s|$tls|$WORK/certs/worker|" "$dir/worker.args"
  [[ ! -f $dir/node.args ]] || sed -i -e "s|$tls|$WORK/certs/node-agent|" "$dir/node.args"
  [[ ! -f $dir/cronjob.args ]] || sed -i -e "s|$tls|$WORK/certs/cli|" "$dir/cronjob.args"
  bin=$(find_bin goalkeeper-coordinator) || {
    echo "no goalkeeper-coordinator in $GOALKEEPER_BIN"
    return 1
  }
  echo "== coordinator"
  "${NETNS[@]}" "$bin" --config "$dir/coordinator.yaml" --check-config || return 1
  if [[ -f $dir/notifier.yaml ]]; then
    bin=$(find_bin goalkeeper-notifier) || {
      echo "no goalkeeper-notifier in $GOALKEEPER_BIN"
      return 1
    }
    echo "== notifier"
    "${NETNS[@]}" "$bin" --config "$dir/notifier.yaml" --check-config || return 1
  fi
  bin=$(find_bin goalkeeper-worker) || {
    echo "no goalkeeper-worker in $GOALKEEPER_BIN"
    return 1
  }
  # The rendered args: "run" first, then the flags; the pod name comes from the downward API.
  local -a args
  mapfile -t args < <(sed 's/\$(POD_NAME)/goalkeeper-worker-0/' "$dir/worker.args")
  echo "== worker ${args[*]}"
  "${NETNS[@]}" "$bin" "${args[0]}" --check-config "${args[@]:1}" || return 1
  if [[ -f $dir/node.args ]]; then
    # The node agent's rendered command and config, its mounts pointed at stand-ins: the zone
    # file at UTC and the checkpoint directory at the scratch directory.
    mkdir -p "$dir/node-checkpoint"
    sed -i -e "s|^checkpoint_dir: .*|checkpoint_dir: $dir/node-checkpoint|" \
      -e "s|^timezone_file: .*|timezone_file: /usr/share/zoneinfo/UTC|" "$dir/node.yaml"
    mapfile -t args < <(sed "s|^--config=.*|--config=$dir/node.yaml|" "$dir/node.args")
    # Every node agent DaemonSet (the default one and one per pool) with its own NODE_LABELS:
    # the effective listener policy of each goes to DIR/<DaemonSet>.policy.
    local ds labels
    while IFS=$'\t' read -r ds labels; do
      echo "== node agent $ds (NODE_LABELS=$labels) ${args[*]}"
      NODE_NAME=node-1 NODE_LABELS=$labels "${NETNS[@]}" "$bin" "${args[0]}" --check-config \
        "${args[@]:1}" >"$dir/$ds.policy" || return 1
      grep "^  allowed_ports: " "$dir/$ds.policy"
    done <"$dir/node-agents.tsv"
  fi
  [[ -f $dir/cronjob.args ]] || return 0
  # goalkeeperctl has no --check-config: its flags must parse (exit 1 "unreachable" from a
  # closed loopback port, not 2 for bad usage).
  bin=$(find_bin goalkeeperctl) || {
    echo "no goalkeeperctl in $GOALKEEPER_BIN"
    return 1
  }
  mapfile -t args < <(sed 's/^--coordinator=.*/--coordinator=127.0.0.1:1/' "$dir/cronjob.args")
  echo "== CronJob: goalkeeperctl ${args[*]}"
  local rc=0
  "${NETNS[@]}" timeout 30 "$bin" "${args[@]}" >"$dir/ctl.out" 2>&1 || rc=$?
  cat "$dir/ctl.out"
  [[ $rc -eq 1 ]] && grep -q unreachable "$dir/ctl.out"
}

# name|values files (comma separated)|extra helm template flags
# (cluster-test: the existing Secrets of ci/cluster-test-values.yaml, no cert-manager.)
SETS=(
  "default||${CM_API[*]}"
  "stage|$CHART/values-stage.yaml|${CM_API[*]}"
  "prod|$CHART/values-prod.yaml|--api-versions monitoring.coreos.com/v1 ${CM_API[*]}"
  "all-on|$CHART/ci/all-on-values.yaml|${CRD_APIS[*]} ${CM_API[*]}"
  "cluster-test|$CHART/values-prod.yaml,$CHART/ci/cluster-test-values.yaml|"
  "insecure||--set tls.enabled=false"
)
for entry in "${SETS[@]}"; do
  IFS='|' read -r set file extra <<<"$entry"
  vals=()
  IFS=',' read -r -a files <<<"$file"
  for f in "${files[@]}"; do vals+=(-f "$f"); done
  read -r -a extra_flags <<<"$extra"
  lint_vals=("${vals[@]}" "${LINT_TLS[@]}")
  [[ $set == insecure ]] && lint_vals+=(--set tls.enabled=false)
  # helm lint has no --api-versions: lint the KEDA file with the HPA instead.
  [[ $set == all-on ]] && lint_vals+=(--set worker.autoscaling.kind=hpa)
  check "$set: helm lint --strict" "$HELM" lint --strict "${KUBE[@]}" "${lint_vals[@]}" "$CHART"
  check "$set: helm template" \
    bash -c '"$@" >"'"$WORK/$set.yaml"'"' _ \
    "$HELM" template gk "$CHART" -n goalkeeper "${KUBE[@]}" "${vals[@]}" "${extra_flags[@]}"
  check "$set: kubernetes-validate -k 1.31.0 --strict (every object)" validate "$WORK/$set.yaml"
  check "$set: CRD objects well formed, names unique and short enough" "$PY" "$CHECKS" crds "$WORK/$set.yaml"
  pss_name="restricted Pod Security (the node agent: only its exceptions, in its privileged"
  pss_name+=" namespace), tokens, resources, /tmp, selectors"
  check "$set: $pss_name" "$PY" "$CHECKS" pss "$WORK/$set.yaml"
  check "$set: configs parsed by the binaries (--check-config)" check_config "$set"
done

# The binaries catch what the schema cannot: an inventory outside the allowed ranges.
"$HELM" template gk "$CHART" "${KUBE[@]}" "${CM_API[@]}" \
  --set 'inventories.x.targets[0]=203.0.113.0/24' >"$WORK/outside.yaml"
expect_fail "--check-config refuses an inventory outside allowedRanges" \
  "inventories.x.targets.*outside allowed_ranges" check_config outside

# The all-on render holds every kind the chart can make.
check "all-on: renders every kind" bash -c '
  kinds=$("$1" "$2" kinds "$3" | sort -u)
  for k in "apps/v1 StatefulSet" "apps/v1 Deployment" "batch/v1 CronJob" "v1 Secret" \
    "v1 ConfigMap" "v1 Service" "v1 ServiceAccount" "networking.k8s.io/v1 NetworkPolicy" \
    "policy/v1 PodDisruptionBudget" "keda.sh/v1alpha1 ScaledObject" \
    "apps/v1 DaemonSet" "v1 Namespace" \
    "monitoring.coreos.com/v1 ServiceMonitor" "monitoring.coreos.com/v1 PodMonitor" \
    "monitoring.coreos.com/v1 PrometheusRule" "cert-manager.io/v1 Certificate"; do
    grep -qx "$k" <<<"$kinds" || { echo "missing $k"; exit 1; }
  done' _ "$PY" "$CHECKS" "$WORK/all-on.yaml"
# all-on has two node pools: each agent's effective listener policy is its pool's
# node_policies entry (by its NODE_LABELS), the default agent's the edge one (nodeLabels).
check "all-on: each node pool's agent gets its own listener policy" bash -c '
  d=$1.config
  ports() { sed -n "/^listeners:/,\$p" "$d/$1.policy" | grep "^  allowed_ports: "; }
  db="  allowed_ports: [22, 5432, 10250, 10251, 10252, 10253, 10254, 10255, 10256]"
  [[ $(ports gk-node-agent-db) == "$db" &&
     $(ports gk-node-agent-gpu) == "  allowed_ports: [22, 9400, 10250]" &&
     $(ports gk-node-agent) == "  allowed_ports: [22, 80, 443, 10250]" ]] ||
  { grep -H "allowed_ports" "$d"/*.policy; exit 1; }' _ "$WORK/all-on"
check "prod: HPA rendered, spec.replicas left out" bash -c '
  "$1" "$2" kinds "$3" | grep -qx "autoscaling/v2 HorizontalPodAutoscaler" &&
  ! sed -n "/^kind: Deployment/,/^---/p" "$3" | grep -q "^  replicas:"' _ \
  "$PY" "$CHECKS" "$WORK/prod.yaml"

# The node agent's exceptions are allowed only in its own privileged namespace: the same
# DaemonSet in a namespace the chart does not label (create: false, no NS argument) fails.
"$HELM" template gk "$CHART" -n goalkeeper "${KUBE[@]}" "${CM_API[@]}" -f "$CHART/values-prod.yaml" \
  --set nodeAgent.namespace.create=false >"$WORK/agent-unlabelled.yaml"
expect_fail "pss: the node agent outside a privileged namespace is refused" \
  "DaemonSet/gk-goalkeeper-node-agent: hostNetwork is set" \
  "$PY" "$CHECKS" pss "$WORK/agent-unlabelled.yaml"
check "pss: ... and passes when that existing namespace is named privileged" \
  "$PY" "$CHECKS" pss "$WORK/agent-unlabelled.yaml" goalkeeper-node
sed -e 's/readOnly: true}/readOnly: false}/' "$WORK/prod.yaml" >"$WORK/agent-rw.yaml"
expect_fail "pss: a host log directory mounted read-write is refused" \
  "hostPath volume host-log is mounted read-write" "$PY" "$CHECKS" pss "$WORK/agent-rw.yaml"
sed -e 's/add: \[CHOWN, FOWNER\]/add: [CHOWN, FOWNER, SYS_ADMIN]/' "$WORK/prod.yaml" \
  >"$WORK/agent-caps.yaml"
expect_fail "pss: the checkpoint init container may add CHOWN and FOWNER only" \
  "checkpoint-owner: adds capabilities \['SYS_ADMIN'\]" \
  "$PY" "$CHECKS" pss "$WORK/agent-caps.yaml"
sed -e 's|{name: tls, mountPath: /run/secrets/goalkeeper-tls, readOnly: true}|{name: tls, mountPath: /run/secrets/goalkeeper-tls}|' \
  "$WORK/prod.yaml" >"$WORK/tls-rw.yaml"
expect_fail "pss: a TLS Secret mounted read-write is refused" \
  "container coordinator: volume tls \(keys, certificates or tokens\) is not read-only" \
  "$PY" "$CHECKS" pss "$WORK/tls-rw.yaml"
expect_fail "the node agent in the release namespace fails clearly" \
  'nodeAgent.namespace.name: "goalkeeper" is the release namespace' \
  "$HELM" template gk "$CHART" -n goalkeeper "${KUBE[@]}" "${CM_API[@]}" \
  -f "$CHART/values-prod.yaml" --set nodeAgent.namespace.name=goalkeeper
expect_fail "the node agent with NetworkPolicies but no node CIDRs fails clearly" \
  "networkPolicy.coordinator.nodeAgentCidrs: the node agents reach the coordinator" \
  "$HELM" template gk "$CHART" "${KUBE[@]}" "${CM_API[@]}" --set nodeAgent.enabled=true \
  --set tls.nodeAgent.existingSecret=agent-tls

# The validator must be able to fail: an unknown field and a wrong type.
cat >"$WORK/wrong.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: wrong}
spec:
  selector: {matchLabels: {app: wrong}}
  template:
    metadata: {labels: {app: wrong}}
    spec:
      containers:
        - name: wrong
          image: localhost/goalkeeper:0.1.0
          imagePullPolicyy: Never
EOF
expect_fail "kubernetes-validate --strict refuses an unknown field" "imagePullPolicyy" \
  "$KV" -k 1.31.0 --strict "$WORK/wrong.yaml"
sed 's/imagePullPolicyy: Never/ports: [{containerPort: "http"}]/' "$WORK/wrong.yaml" \
  >"$WORK/wrong-type.yaml"
expect_fail "kubernetes-validate refuses a wrong type" "containerPort" \
  "$KV" -k 1.31.0 --strict "$WORK/wrong-type.yaml"
expect_fail "a KEDA request without keda.sh/v1alpha1 fails clearly" \
  "no keda.sh/v1alpha1 API" \
  "$HELM" template gk "$CHART" "${KUBE[@]}" "${CM_API[@]}" --set worker.autoscaling.enabled=true \
  --set worker.autoscaling.kind=keda

# The schema refuses bad values with a message naming the key.
bad() { # NAME PATTERN HELM-ARGS...
  local name=$1 pattern=$2
  shift 2
  expect_fail "schema refuses $name" "$pattern" \
    "$HELM" template gk "$CHART" "${KUBE[@]}" "$@"
}
bad "a string replica count" "at '/worker/replicas': got string, want integer" \
  --set-string worker.replicas=3
bad "an unknown top-level key" "additional properties 'replicaCount' not allowed" \
  --set replicaCount=3
bad "an unknown nested key" "at '/worker/autoscaling': additional properties 'enable' not allowed" \
  --set worker.autoscaling.enable=true
bad "a malformed CIDR in allowed ranges" "at '/allowedRanges/0': '10.0.0.300/24' does not match" \
  --set 'allowedRanges[0]=10.0.0.300/24'
bad "a prefix length out of range" "at '/allowedRanges/0': '198.51.100.0/33' does not match" \
  --set 'allowedRanges[0]=198.51.100.0/33'
bad "an unknown notifier mode" "at '/notifier/mode': value must be one of 'stage', 'prod'" \
  --set notifier.mode=production
bad "an unknown scheduler mode" "at '/scheduler/mode': value must be one of" \
  --set scheduler.mode=systemd
bad "an unknown probe mode" "at '/profiles/default/probes': value must be one of" \
  --set profiles.default.probes=deep
bad "an unknown UDP service" "at '/profiles/default/udp/0': value must be one of" \
  --set 'profiles.default.udp[0]=quic'
bad "an unknown autoscaler kind" "at '/worker/autoscaling/kind': value must be one of" \
  --set worker.autoscaling.kind=vpa
bad "a malformed image digest" "at '/image/digest'" --set image.digest=sha256:abc
bad "a bad notifier egress CIDR" "at '/networkPolicy/notifier/egress/0/cidrs/0'" \
  --set 'networkPolicy.notifier.egress[0].cidrs[0]=mail.example.net'
bad "a node agent namespace below privileged" \
  "at '/nodeAgent/namespace/podSecurity/enforce': value must be 'privileged'" \
  --set nodeAgent.namespace.podSecurity.enforce=baseline
bad "a relative host log directory" "at '/nodeAgent/hostPaths/logDir'" \
  --set nodeAgent.hostPaths.logDir=var/log
bad "an unknown node agent config key" \
  "at '/nodeAgent/config': additional properties 'heartbeat' not allowed" \
  --set nodeAgent.config.heartbeat=5s
bad "a bad node CIDR" "at '/networkPolicy/coordinator/nodeAgentCidrs/0'" \
  --set 'networkPolicy.coordinator.nodeAgentCidrs[0]=nodes'
bad "a node pool without a nodeSelector" \
  "at '/nodeAgent/pools/0': missing property 'nodeSelector'" \
  --set 'nodeAgent.pools[0].name=db'
bad "a node pool with an empty nodeSelector" "at '/nodeAgent/pools/0/nodeSelector': minProperties" \
  --set 'nodeAgent.pools[0].name=db' --set-json 'nodeAgent.pools[0].nodeSelector={}'
bad "a node pool name that is no DNS label" "at '/nodeAgent/pools/0/name'" \
  --set 'nodeAgent.pools[0].name=DB_1' --set-string 'nodeAgent.pools[0].nodeSelector.role=db'
bad "an unknown node pool key" \
  "at '/nodeAgent/pools/0': additional properties 'affinity' not allowed" \
  --set 'nodeAgent.pools[0].name=db' --set-string 'nodeAgent.pools[0].nodeSelector.role=db' \
  --set 'nodeAgent.pools[0].affinity.x=1'
bad "a memory limit missing from resources" "at '/worker/resources': missing property 'limits'" \
  --set worker.resources.limits=null
bad "an unknown role" "at '/auth/identities/0/role': value must be one of" \
  --set 'auth.identities[0].match=spiffe://x' --set 'auth.identities[0].role=root'
bad "a token without its Secret" "at '/auth/tokens/0': missing property 'existingSecret'" \
  --set 'auth.tokens[0].name=ci' --set 'auth.tokens[0].role=operator' \
  --set 'auth.tokens[0].existingSecretKey=token'
bad "an unknown cert-manager mode" "at '/tls/certManager/enabled'" \
  --set-string tls.certManager.enabled=maybe
bad "an unknown issuer kind" "at '/tls/certManager/issuerRef/kind'" \
  --set tls.certManager.issuerRef.kind=Vault
bad "a certificate duration in days (cert-manager wants hours)" \
  "at '/tls/certManager/duration'" --set tls.certManager.duration=90d
bad "an unknown TLS key" "at '/tls/worker': additional properties 'secret' not allowed" \
  --set tls.worker.secret=x
expect_fail "TLS with neither cert-manager nor a Secret fails naming the component" \
  "tls\.[a-zA-Z]+: no TLS material for the [a-z-]+: the cluster serves no cert-manager.io/v1 API" \
  "$HELM" template gk "$CHART" "${KUBE[@]}"
expect_fail "the node agent with the release namespace's Issuer fails clearly" \
  "tls.nodeAgent: the node agent runs in namespace \"goalkeeper-node\", where the Issuer" \
  "$HELM" template gk "$CHART" "${KUBE[@]}" "${CM_API[@]}" --set nodeAgent.enabled=true \
  --set 'networkPolicy.coordinator.nodeAgentCidrs[0]=10.0.0.0/24'

# Checksum annotations: a changed config or credential rolls exactly the pods that use it.
render() { "$HELM" template gk "$CHART" "${KUBE[@]}" "${CM_API[@]}" "$@"; }
rolls() { # NAME EXPECTED(sorted, space separated) HELM-ARGS...
  local name=$1 want=$2
  shift 2
  check "$name" bash -c '
    got=$("$1" "$2" rolls "$3" "$4" | tr "\n" " " | sed "s/ $//")
    [[ $got == "$5" ]] || { echo "rolled: [$got], expected: [$5]"; exit 1; }' _ \
    "$PY" "$CHECKS" "$WORK/base.yaml" <(render "$@") "$want"
}
render >"$WORK/base.yaml"
rolls "a notifier setting rolls only the notifier" "StatefulSet/gk-goalkeeper-notifier" \
  --set notifier.notify.repeatInterval=3d
rolls "an allowed range rolls only the coordinator and the workers' policy" \
  "StatefulSet/gk-goalkeeper-coordinator" --set 'allowedRanges[0]=203.0.113.0/24'
rolls "an SMTP password rolls only the notifier" "StatefulSet/gk-goalkeeper-notifier" \
  --set secrets.smtpPassword.value=x
rolls "the OpenStack password rolls the coordinator and the notifier" \
  "StatefulSet/gk-goalkeeper-coordinator StatefulSet/gk-goalkeeper-notifier" \
  --set secrets.openstackPassword.value=x
rolls "a worker flag rolls only the workers" "Deployment/gk-goalkeeper-worker" \
  --set worker.maxRate=1000
rolls "the NetworkPolicy egress rolls nothing" "" \
  --set 'networkPolicy.notifier.egress[0].cidrs[0]=203.0.113.25/32'
# TLS: certificates are renewed in place (the binaries re-read the files), so nothing about
# them is in a checksum; auth is config, and rolls exactly the configs it is in.
rolls "cert-manager durations and keys roll nothing (a renewal restarts no pod)" "" \
  --set tls.certManager.duration=720h --set tls.certManager.renewBefore=100h \
  --set tls.certManager.privateKey.algorithm=RSA --set tls.certManager.privateKey.size=2048
rolls "an operator's scan scope rolls only the coordinator" \
  "StatefulSet/gk-goalkeeper-coordinator" --set auth.roles.operator.scansPerHour=5
rolls "the longest acknowledgement rolls only the notifier" \
  "StatefulSet/gk-goalkeeper-notifier" --set auth.roles.admin.maxAcknowledge=7d
rolls "an identity rolls the coordinator and the notifier" \
  "StatefulSet/gk-goalkeeper-coordinator StatefulSet/gk-goalkeeper-notifier" \
  --set 'auth.identities[0].match=spiffe://goalkeeper/coordinator' \
  --set 'auth.identities[0].role=coordinator'

# The same with the node agent on: its config rolls only the DaemonSet, and the others' config
# does not roll it.
AGENT=(--set nodeAgent.enabled=true --set 'networkPolicy.coordinator.nodeAgentCidrs[0]=10.0.0.0/24'
  --set tls.nodeAgent.existingSecret=agent-tls)
render "${AGENT[@]}" >"$WORK/base.yaml"
rolls "a node agent setting rolls only the node agents" "DaemonSet/gk-goalkeeper-node-agent" \
  "${AGENT[@]}" --set nodeAgent.config.heartbeat_interval=30s
rolls "a coordinator setting does not roll the node agents" \
  "StatefulSet/gk-goalkeeper-coordinator" "${AGENT[@]}" --set coordinator.lease.ttlSeconds=40
# With a node pool: its resources roll only its DaemonSet; a new pool rolls the default one
# too (its affinity excludes the new pool's nodes); the agents' config rolls all of them.
AGENT+=(--set 'nodeAgent.pools[0].name=db' --set-string 'nodeAgent.pools[0].nodeSelector.role=db')
render "${AGENT[@]}" >"$WORK/base.yaml"
rolls "a node pool's resources roll only that pool's agents" \
  "DaemonSet/gk-goalkeeper-node-agent-db" \
  "${AGENT[@]}" --set 'nodeAgent.pools[0].resources.requests.cpu=50m' \
  --set 'nodeAgent.pools[0].resources.limits.memory=64Mi'
rolls "another node pool rolls the default agents, not the first pool's" \
  "DaemonSet/gk-goalkeeper-node-agent DaemonSet/gk-goalkeeper-node-agent-edge" "${AGENT[@]}" \
  --set 'nodeAgent.pools[1].name=edge' --set-string 'nodeAgent.pools[1].nodeSelector.role=edge'
rolls "a node agent setting rolls the default and every pool's agents" \
  "DaemonSet/gk-goalkeeper-node-agent DaemonSet/gk-goalkeeper-node-agent-db" \
  "${AGENT[@]}" --set nodeAgent.config.heartbeat_interval=30s

check "values.schema.json is what scripts/chart_schema.py writes" \
  "$PY" "$ROOT/scripts/chart_schema.py" --check
check "helm unittest" env HELM_PLUGINS="$TOOLS/helm-plugins" "$HELM" unittest "$CHART"

echo "chart-tests: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
