"""Checks on rendered Helm output for scripts/chart-test.sh (needs PyYAML).

  chart_checks.py pss RENDERED.yaml [NS...]   every pod meets the "restricted" PSS and the
                                              chart's own rules (resources, /tmp, tokens),
                                              except the node agent's DaemonSet in its own
                                              namespace at the "privileged" level (a rendered
                                              Namespace with that label, or one of NS): it is
                                              checked for exactly its documented exceptions
  chart_checks.py crds RENDERED.yaml          the CRD objects (no Kubernetes schema) are
                                              well formed: known kinds, required fields
                                              (a Certificate: one spiffe://goalkeeper/ URI,
                                              client auth, a new key at each renewal);
                                              no object twice, names short enough
  chart_checks.py kinds RENDERED.yaml         prints the kinds, one per line
  chart_checks.py extract RENDERED.yaml DIR   writes DIR/coordinator.yaml, DIR/notifier.yaml,
                                              DIR/worker.args, DIR/cronjob.args (the
                                              first CronJob's; one argument a line), and
                                              the node agent's DIR/node.yaml, DIR/node.args
                                              and DIR/node-agents.tsv (each DaemonSet's
                                              name TAB NODE_LABELS: default and pools)
  chart_checks.py rolls A.yaml B.yaml         prints the workloads whose pod template
                                              differs between two renders

Each check prints one line per problem and exits 1 when there is any.
"""
import sys

import yaml

RESTRICTED_CAPS_ALLOWED = {"NET_BIND_SERVICE"}
SELECTOR_KEYS = {"app.kubernetes.io/name", "app.kubernetes.io/instance",
                 "app.kubernetes.io/component"}
STANDARD_LABELS = SELECTOR_KEYS | {"app.kubernetes.io/version", "app.kubernetes.io/managed-by",
                                   "helm.sh/chart"}


def load(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def pod_specs(docs):
    """(name, pod template metadata, pod spec) of every workload."""
    for d in docs:
        kind, name = d["kind"], d["metadata"]["name"]
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            t = d["spec"]["template"]
            yield f"{kind}/{name}", t.get("metadata", {}), t["spec"], d
        elif kind == "CronJob":
            t = d["spec"]["jobTemplate"]["spec"]["template"]
            yield f"{kind}/{name}", t.get("metadata", {}), t["spec"], d
        elif kind == "Pod":
            yield f"Pod/{name}", d["metadata"], d["spec"], d


# The node agent's exceptions (docs/deploy.md): the host's network, read-only host paths but
# the checkpoint directory it owns, an init container that may only chown that directory.
NODE_AGENT_WRITABLE_HOSTPATHS = {"checkpoint"}
NODE_AGENT_INIT_CAPS = {"CHOWN", "FOWNER"}


def privileged_namespaces(docs, given=()):
    found = set(given)
    for d in docs:
        if d["kind"] == "Namespace" and d["metadata"].get("labels", {}).get(
                "pod-security.kubernetes.io/enforce") == "privileged":
            found.add(d["metadata"]["name"])
    return found


def check_container_common(bad, c, volumes):
    """The hardening every container keeps, the node agent's included."""
    cname = f"container {c['name']}"
    sc = c.get("securityContext", {})
    if sc.get("privileged"):
        bad(f"{cname}: privileged")
    if sc.get("allowPrivilegeEscalation") is not False:
        bad(f"{cname}: allowPrivilegeEscalation is not false")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        bad(f"{cname}: capabilities do not drop ALL")
    sc_seccomp = (sc.get("seccompProfile") or {}).get("type")
    if sc_seccomp not in (None, "RuntimeDefault", "Localhost"):
        bad(f"{cname}: seccompProfile {sc_seccomp}")
    if sc.get("readOnlyRootFilesystem") is not True:
        bad(f"{cname}: readOnlyRootFilesystem is not true")
    res = c.get("resources") or {}
    if not res.get("requests"):
        bad(f"{cname}: no resource requests")
    if not (res.get("limits") or {}).get("memory"):
        bad(f"{cname}: no memory limit")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    for m in c.get("volumeMounts", []):
        if m["name"] in ("tls", "auth-tokens", "credentials") and m.get("readOnly") is not True:
            bad(f"{cname}: volume {m['name']} (keys, certificates or tokens) is not read-only")
    if c["name"] in ("coordinator", "notifier", "worker", "scan", "node-agent"):
        tmp = mounts.get("/tmp")
        if tmp is None or "emptyDir" not in volumes.get(tmp, {}):
            bad(f"{cname}: /tmp is not an emptyDir")


def check_node_agent(spec, doc, bad):
    """A pod in a privileged namespace: the node agent's DaemonSet with its exceptions only."""
    if doc["kind"] != "DaemonSet":
        bad("only the node agent's DaemonSet may run in a privileged namespace")
    psc = spec.get("securityContext", {})
    if spec.get("automountServiceAccountToken") is not False:
        bad("automountServiceAccountToken is not false")
    for host in ("hostPID", "hostIPC"):
        if spec.get(host):
            bad(f"{host} is set")
    if spec.get("hostNetwork") and spec.get("dnsPolicy") != "ClusterFirstWithHostNet":
        bad("hostNetwork without dnsPolicy ClusterFirstWithHostNet")
    if (psc.get("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
        bad("pod seccompProfile is not RuntimeDefault")
    if psc.get("runAsNonRoot") is not True or psc.get("runAsUser") in (None, 0):
        bad("the pod does not run as a non-root UID")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for c in spec.get("initContainers", []) + spec["containers"]:
        check_container_common(bad, c, volumes)
        cname = f"container {c['name']}"
        sc = c.get("securityContext", {})
        added = set((sc.get("capabilities") or {}).get("add") or [])
        is_init = c in spec.get("initContainers", [])
        if is_init:
            if added - NODE_AGENT_INIT_CAPS:
                bad(f"{cname}: adds capabilities {sorted(added - NODE_AGENT_INIT_CAPS)}")
        else:
            if added:
                bad(f"{cname}: adds capabilities {sorted(added)}")
            if sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is not True or \
                    sc.get("runAsUser") == 0:
                bad(f"{cname}: does not run as non-root")
        for m in c.get("volumeMounts", []):
            v = volumes.get(m["name"], {})
            if "hostPath" in v and not m.get("readOnly") and \
                    m["name"] not in NODE_AGENT_WRITABLE_HOSTPATHS:
                bad(f"{cname}: hostPath volume {m['name']} is mounted read-write")


def check_pss(docs, privileged_given=()):
    problems = []
    privileged = privileged_namespaces(docs, privileged_given)
    for name, meta, spec, doc in pod_specs(docs):
        def bad(msg, name=name):
            problems.append(f"{name}: {msg}")
        labels = meta.get("labels", {})
        missing = STANDARD_LABELS - set(labels)
        if missing:
            bad(f"pod labels lack {sorted(missing)}")
        selector = (doc["spec"].get("selector") or {}).get("matchLabels")
        if selector is not None and set(selector) != SELECTOR_KEYS:
            bad(f"selector is on {sorted(selector)}, not name/instance/component")
        if doc["metadata"].get("namespace") in privileged:
            check_node_agent(spec, doc, bad)
            continue
        psc = spec.get("securityContext", {})
        if spec.get("automountServiceAccountToken") is not False:
            bad("automountServiceAccountToken is not false")
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(host):
                bad(f"{host} is set")
        if (psc.get("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
            bad("pod seccompProfile is not RuntimeDefault")
        if psc.get("runAsUser") == 0:
            bad("runAsUser is 0")
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for v in volumes.values():
            if "hostPath" in v:
                bad(f"volume {v['name']} is a hostPath")
        for c in spec.get("initContainers", []) + spec["containers"]:
            check_container_common(bad, c, volumes)
            cname = f"container {c['name']}"
            sc = c.get("securityContext", {})
            non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
            if non_root is not True:
                bad(f"{cname}: runAsNonRoot is not true")
            if sc.get("runAsUser") == 0:
                bad(f"{cname}: runAsUser is 0")
            extra = set((sc.get("capabilities") or {}).get("add") or []) - RESTRICTED_CAPS_ALLOWED
            if extra:
                bad(f"{cname}: adds capabilities {sorted(extra)}")
    for d in docs:
        if d["kind"] == "ServiceAccount" and d.get("automountServiceAccountToken") is not False:
            problems.append(f"ServiceAccount/{d['metadata']['name']}: "
                            "automountServiceAccountToken is not false")
    return problems


CRD_REQUIRED = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): [("spec", "selector"), ("spec", "endpoints")],
    ("monitoring.coreos.com/v1", "PodMonitor"): [("spec", "selector"),
                                                 ("spec", "podMetricsEndpoints")],
    ("monitoring.coreos.com/v1", "PrometheusRule"): [("spec", "groups")],
    ("keda.sh/v1alpha1", "ScaledObject"): [("spec", "scaleTargetRef", "name"),
                                           ("spec", "triggers")],
    ("cert-manager.io/v1", "Certificate"): [("spec", "secretName"), ("spec", "issuerRef", "name"),
                                            ("spec", "issuerRef", "kind")],
    ("cert-manager.io/v1", "Issuer"): [("spec",)],
}
CRD_SPEC_KEYS = {
    "ServiceMonitor": {"selector", "endpoints", "namespaceSelector", "jobLabel"},
    "PodMonitor": {"selector", "podMetricsEndpoints", "namespaceSelector", "jobLabel"},
    "PrometheusRule": {"groups"},
    "Certificate": {"secretName", "secretTemplate", "duration", "renewBefore", "commonName",
                    "dnsNames", "uris", "ipAddresses", "usages", "privateKey", "issuerRef",
                    "isCA"},
    "Issuer": {"selfSigned", "ca"},
    "ScaledObject": {"scaleTargetRef", "minReplicaCount", "maxReplicaCount", "pollingInterval",
                     "cooldownPeriod", "triggers", "advanced", "fallback", "idleReplicaCount"},
}


def check_crds(docs):
    problems = []
    kinds = {k for _, k in CRD_REQUIRED}
    for d in docs:
        if d["kind"] not in kinds:
            continue
        name = f"{d['kind']}/{d['metadata']['name']}"
        key = (d["apiVersion"], d["kind"])
        if key not in CRD_REQUIRED:
            problems.append(f"{name}: unexpected apiVersion {d['apiVersion']}")
            continue
        for path in CRD_REQUIRED[key]:
            node = d
            for p in path:
                node = node.get(p) if isinstance(node, dict) else None
            if not node:
                problems.append(f"{name}: missing {'.'.join(path)}")
        unknown = set(d.get("spec", {})) - CRD_SPEC_KEYS[d["kind"]]
        if unknown:
            problems.append(f"{name}: unknown spec keys {sorted(unknown)}")
        if d["kind"] == "PrometheusRule":
            for g in d["spec"]["groups"]:
                for r in g.get("rules", []):
                    if not r.get("expr") or not (r.get("alert") or r.get("record")):
                        problems.append(f"{name}: group {g.get('name')}: rule without "
                                        "expr and alert/record")
        if d["kind"] == "Certificate":
            spec = d["spec"]
            if not spec.get("isCA"):
                uris = spec.get("uris") or []
                if len(uris) != 1 or not uris[0].startswith("spiffe://goalkeeper/"):
                    problems.append(f"{name}: needs exactly one SAN URI spiffe://goalkeeper/...")
                if "client auth" not in (spec.get("usages") or []):
                    problems.append(f"{name}: no client auth usage (every link is mutual TLS)")
            if (spec.get("privateKey") or {}).get("rotationPolicy", "Always") != "Always" and \
                    not spec.get("isCA"):
                problems.append(f"{name}: privateKey.rotationPolicy is not Always")
        if d["kind"] == "Issuer" and len(d["spec"]) != 1:
            problems.append(f"{name}: spec needs exactly one of selfSigned, ca")
        if d["kind"] == "ScaledObject":
            for t in d["spec"]["triggers"]:
                md = t.get("metadata", {})
                if t.get("type") == "prometheus" and not (md.get("serverAddress")
                                                          and md.get("query")
                                                          and isinstance(md.get("threshold"),
                                                                         str)):
                    problems.append(f"{name}: prometheus trigger needs serverAddress, query and "
                                    "a string threshold")
    return problems


def check_unique(docs):
    seen, problems = set(), []
    for d in docs:
        key = (d["apiVersion"].split("/")[0] if "/" in d["apiVersion"] else "", d["kind"],
               d["metadata"].get("namespace", ""), d["metadata"]["name"])
        if key in seen:
            problems.append(f"{d['kind']}/{d['metadata']['name']} rendered twice")
        seen.add(key)
        name = d["metadata"]["name"]
        if len(name) > (52 if d["kind"] == "CronJob" else 63):
            problems.append(f"{d['kind']}/{name}: name too long")
    return problems


def extract(docs, out):
    found, agents = set(), []
    for d in docs:
        if d["kind"] == "ConfigMap":
            for key in ("coordinator.yaml", "notifier.yaml", "node.yaml"):
                if key in d.get("data", {}):
                    with open(f"{out}/{key}", "w", encoding="utf-8") as f:
                        f.write(d["data"][key])
                    found.add(key)
        if d["kind"] == "Deployment" and d["metadata"]["labels"].get(
                "app.kubernetes.io/component") == "worker":
            c = d["spec"]["template"]["spec"]["containers"][0]
            with open(f"{out}/worker.args", "w", encoding="utf-8") as f:
                f.write("\n".join(c["command"][1:] + c["args"]) + "\n")
            found.add("worker.args")
        if d["kind"] == "DaemonSet" and d["metadata"]["labels"].get(
                "app.kubernetes.io/component", "").startswith("node-agent"):
            # The default agent's and every pool's: the same command, their own NODE_LABELS.
            c = d["spec"]["template"]["spec"]["containers"][0]
            with open(f"{out}/node.args", "w", encoding="utf-8") as f:
                f.write("\n".join(c["command"][1:] + c.get("args", [])) + "\n")
            labels = [e.get("value", "") for e in c.get("env", []) if e["name"] == "NODE_LABELS"]
            agents.append(f"{d['metadata']['name']}\t{labels[0] if labels else ''}\n")
            found.add("node.args")
        if d["kind"] == "CronJob" and "cronjob.args" not in found:
            c = d["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
            with open(f"{out}/cronjob.args", "w", encoding="utf-8") as f:
                f.write("\n".join(c["command"][1:] + c["args"]) + "\n")
            found.add("cronjob.args")
    if agents:
        with open(f"{out}/node-agents.tsv", "w", encoding="utf-8") as f:
            f.write("".join(agents))
    return [f"no {k} rendered" for k in ("coordinator.yaml", "worker.args") if k not in found]


def templates(docs):
    return {name: (meta, spec) for name, meta, spec, _ in pod_specs(docs)}


def main(argv):
    cmd = argv[1]
    if cmd == "kinds":
        for d in load(argv[2]):
            print(f"{d['apiVersion']} {d['kind']}")
        return 0
    if cmd == "rolls":
        a, b = templates(load(argv[2])), templates(load(argv[3]))
        for name in sorted(set(a) | set(b)):
            if a.get(name) != b.get(name):
                print(name)
        return 0
    if cmd == "pss":
        problems = check_pss(load(argv[2]), argv[3:])
    elif cmd == "crds":
        problems = check_crds(load(argv[2])) + check_unique(load(argv[2]))
    elif cmd == "extract":
        problems = extract(load(argv[2]), argv[3])
    else:
        print(f"unknown command {cmd!r}", file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
