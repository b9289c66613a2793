"""Writes helm/goalkeeper/values.schema.json (run after changing the chart's values).

  python3 scripts/chart_schema.py            # rewrites the schema
  python3 scripts/chart_schema.py --check    # exits 1 when the committed file differs

The schema is self-contained (only local $refs into $defs) and closed: additionalProperties
is false on every object, the Kubernetes pass-through objects (extra containers, volumes,
probes, env) included, except the innards of affinity rules, CSI/ephemeral volumes and
container lifecycle hooks, which the API server checks.
"""
import json
import os
import sys

def O(props, required=None, desc=None, **kw):
    d = {"type": "object", "additionalProperties": False, "properties": props}
    if required: d["required"] = required
    if desc: d["description"] = desc
    d.update(kw); return d
def A(items, **kw): d = {"type": "array", "items": items}; d.update(kw); return d
S = {"type": "string"}
B = {"type": "boolean"}
I = {"type": "integer"}
def Imin(lo, hi=None, desc=None):
    d = {"type": "integer", "minimum": lo}
    if hi is not None: d["maximum"] = hi
    if desc: d["description"] = desc
    return d
def R(name): return {"$ref": "#/$defs/" + name}
def E(*vals, desc=None):
    d = {"type": "string", "enum": list(vals)}
    if desc: d["description"] = desc
    return d
FREE = {"type": "object", "description": "a Kubernetes object, checked by the API server"}
FREEA = {"type": "array", "description": "Kubernetes objects, checked by the API server"}
INT_OR_STR = {"type": ["integer", "string"]}

OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
V4 = OCTET + r"(\." + OCTET + r"){3}"
V6 = r"[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}"
CIDR = "^(" + V4 + r"(/(3[0-2]|[12]?[0-9]))?|" + V6 + r"(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)$"
TARGET = ("^(" + V4 + r"(/(3[0-2]|[12]?[0-9])|-" + V4 + r")?|"
          + V6 + r"(/(12[0-8]|1[01][0-9]|[1-9]?[0-9])|-" + V6 + r")?)$")
NAME = r"^[A-Za-z0-9_.-]{1,64}$"
DNS_NAME = r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$"
DURATION = r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h|d))+$"
EMAIL = r"^[^@\s]+@[^@\s]+$"
QTY = {"type": ["string", "integer", "number"]}
PSS_LEVEL = E("privileged", "baseline", "restricted")
ABS_PATH = {"type": "string", "pattern": r"^/.*$", "description": "an absolute host path"}
NODE_LABELS = {"type": "object", "propertyNames": {"pattern": r"^[A-Za-z0-9_./-]{1,253}$"},
               "additionalProperties": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{0,63}$"}}
PORT_SPEC = {"type": ["integer", "string"], "description": "a port, a range a-b or a name "
             "of common/ports.h"}

defs = {
  "stringMap": {"type": "object", "additionalProperties": {"type": "string"}},
  "cidr": {"type": "string", "pattern": CIDR,
           "description": "an IPv4/IPv6 CIDR or address (198.51.100.0/24, 2001:db8::/32)"},
  "target": {"type": "string", "pattern": TARGET,
             "description": "a CIDR, an address or a range a-b"},
  "email": {"type": "string", "pattern": EMAIL},
  "hostPort": {"type": "string", "pattern": r"^(([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5})?$",
               "description": "HOST:PORT or [v6]:PORT; empty = the default"},
  "chatId": {"type": "string", "pattern": r"^(-?[0-9]+|@[A-Za-z0-9_]{5,32})?$"},
  "duration": {"type": "string", "pattern": DURATION, "description": "7d, 36h, 1h30m"},
  "logLevel": E("trace", "debug", "info", "warn", "error", "critical", "off"),
  "resourceList": O({"cpu": QTY, "memory": QTY, "ephemeral-storage": QTY}),
  "resources": O({"requests": R("resourceList"), "limits": R("resourceList")},
                 required=["requests", "limits"],
                 desc="requests and a memory limit on every container"),
  "seccompProfile": O({"type": E("RuntimeDefault", "Localhost", "Unconfined"),
                        "localhostProfile": S}),
  "seLinuxOptions": O({"level": S, "role": S, "type": S, "user": S}),
  "appArmorProfile": O({"type": E("RuntimeDefault", "Localhost", "Unconfined"),
                         "localhostProfile": S}),
  "podSecurityContext": O({
      "runAsNonRoot": B, "runAsUser": I, "runAsGroup": I, "fsGroup": I,
      "fsGroupChangePolicy": E("OnRootMismatch", "Always"),
      "supplementalGroups": A(I), "supplementalGroupsPolicy": E("Merge", "Strict"),
      "seccompProfile": R("seccompProfile"), "seLinuxOptions": R("seLinuxOptions"),
      "appArmorProfile": R("appArmorProfile"),
      "sysctls": A(O({"name": S, "value": S}, required=["name", "value"]))}),
  "securityContext": O({
      "allowPrivilegeEscalation": B, "readOnlyRootFilesystem": B, "runAsNonRoot": B,
      "runAsUser": I, "runAsGroup": I, "privileged": B,
      "procMount": E("Default", "Unmasked"),
      "capabilities": O({"add": A(S), "drop": A(S)}),
      "seccompProfile": R("seccompProfile"), "seLinuxOptions": R("seLinuxOptions"),
      "appArmorProfile": R("appArmorProfile")}),
  "keyRef": O({"name": S, "key": S, "optional": B}, required=["key"]),
  "labelSelector": O({"matchLabels": R("stringMap"),
                      "matchExpressions": A(O({
                          "key": S, "operator": E("In", "NotIn", "Exists", "DoesNotExist"),
                          "values": A(S)}, required=["key", "operator"]))}),
  "env": A(O({"name": S, "value": S,
              "valueFrom": O({"fieldRef": O({"fieldPath": S, "apiVersion": S},
                                            required=["fieldPath"]),
                              "resourceFieldRef": O({"containerName": S, "resource": S,
                                                     "divisor": QTY}, required=["resource"]),
                              "secretKeyRef": R("keyRef"), "configMapKeyRef": R("keyRef")})},
             required=["name"])),
  "envFrom": A(O({"prefix": S,
                  "configMapRef": O({"name": S, "optional": B}),
                  "secretRef": O({"name": S, "optional": B})})),
  "probe": O({"exec": O({"command": A(S)}),
              "httpGet": O({"path": S, "port": INT_OR_STR, "host": S, "scheme": E("HTTP", "HTTPS"),
                            "httpHeaders": A(O({"name": S, "value": S},
                                               required=["name", "value"]))},
                           required=["port"]),
              "tcpSocket": O({"port": INT_OR_STR, "host": S}, required=["port"]),
              "grpc": O({"port": Imin(1, 65535), "service": S}, required=["port"]),
              "initialDelaySeconds": Imin(0), "periodSeconds": Imin(1), "timeoutSeconds": Imin(1),
              "successThreshold": Imin(1), "failureThreshold": Imin(1),
              "terminationGracePeriodSeconds": Imin(0)}),
  "keyToPath": A(O({"key": S, "path": S, "mode": I}, required=["key", "path"])),
  "volumeMounts": A(O({"name": S, "mountPath": S, "subPath": S, "subPathExpr": S,
                        "readOnly": B, "recursiveReadOnly": S, "mountPropagation": S},
                       required=["name", "mountPath"])),
  "volumes": A(O({
      "name": S,
      "emptyDir": O({"medium": E("", "Memory"), "sizeLimit": QTY}),
      "configMap": O({"name": S, "items": R("keyToPath"), "defaultMode": I, "optional": B}),
      "secret": O({"secretName": S, "items": R("keyToPath"), "defaultMode": I, "optional": B}),
      "persistentVolumeClaim": O({"claimName": S, "readOnly": B}, required=["claimName"]),
      "projected": O({"defaultMode": I, "sources": A(O({
          "configMap": O({"name": S, "items": R("keyToPath"), "optional": B}),
          "secret": O({"name": S, "items": R("keyToPath"), "optional": B}),
          "downwardAPI": FREE, "serviceAccountToken": FREE, "clusterTrustBundle": FREE}))}),
      "downwardAPI": O({"defaultMode": I, "items": FREEA}),
      "nfs": O({"server": S, "path": S, "readOnly": B}, required=["server", "path"]),
      "image": O({"reference": S, "pullPolicy": E("Always", "IfNotPresent", "Never")}),
      "csi": FREE, "ephemeral": FREE}, required=["name"])),
  "containers": A(O({
      "name": S, "image": S, "imagePullPolicy": E("Always", "IfNotPresent", "Never"),
      "command": A(S), "args": A(S), "workingDir": S, "env": R("env"), "envFrom": R("envFrom"),
      "ports": A(O({"name": S, "containerPort": Imin(1, 65535),
                    "protocol": E("TCP", "UDP", "SCTP")}, required=["containerPort"])),
      "resources": R("resources"), "securityContext": R("securityContext"),
      "volumeMounts": R("volumeMounts"),
      "livenessProbe": R("probe"), "readinessProbe": R("probe"), "startupProbe": R("probe"),
      "lifecycle": FREE, "restartPolicy": E("Always"), "stdin": B, "tty": B,
      "terminationMessagePath": S, "terminationMessagePolicy": E("File", "FallbackToLogsOnError")},
      required=["name", "image", "resources"]),
      description="extra containers (sidecars); each needs requests and a memory limit"),
  "tolerations": A(O({"key": S, "operator": E("Exists", "Equal"), "value": S,
                       "effect": E("NoSchedule", "PreferNoSchedule", "NoExecute", ""),
                       "tolerationSeconds": I})),
  "affinity": O({"nodeAffinity": FREE, "podAffinity": FREE, "podAntiAffinity": FREE}),
  "topologySpreadConstraints": A(O({
      "maxSkew": Imin(1), "topologyKey": S,
      "whenUnsatisfiable": E("DoNotSchedule", "ScheduleAnyway"),
      "labelSelector": R("labelSelector"),
      "minDomains": Imin(1), "nodeAffinityPolicy": E("Honor", "Ignore"),
      "nodeTaintsPolicy": E("Honor", "Ignore"), "matchLabelKeys": A(S)},
      required=["maxSkew", "topologyKey", "whenUnsatisfiable"])),
  "persistence": O({"enabled": B, "storageClass": S,
                    "size": {"type": "string",
                             "pattern": r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"},
                    "accessModes": A(E("ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany",
                                       "ReadOnlyMany"), minItems=1)},
                   required=["enabled", "size", "accessModes"]),
  "service": O({"type": E("ClusterIP", "NodePort", "LoadBalancer"),
                "annotations": R("stringMap")}),
  "secret": O({"value": S, "existingSecret": S,
               "existingSecretKey": {"type": "string", "pattern": r"^[-._a-zA-Z0-9]+$"}},
              required=["existingSecretKey"]),
  "openstack": O({"authUrl": {"type": "string", "pattern": "^https?://"}, "username": S,
                  "userDomainName": S, "projectName": S, "projectDomainName": S,
                  "interface": E("public", "internal", "admin"), "region": S},
                 required=["authUrl", "username", "projectName"]),
  "peers": A(O({"podSelector": R("labelSelector"), "namespaceSelector": R("labelSelector"),
                "ipBlock": O({"cidr": R("cidr"), "except": A(R("cidr"))}, required=["cidr"])})),
  "role": E("viewer", "operator", "admin", "worker", "node-agent", "coordinator"),
  "certDuration": {"type": "string", "pattern": r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$",
                   "description": "a Go duration (cert-manager): 2160h, 90m"},
  "tlsServer": O({"existingSecret": S,
                  "extraDnsNames": A({"type": "string",
                                      "pattern": r"^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"})},
                 desc="existingSecret: a kubernetes.io/tls Secret with ca.crt"),
  "tlsClient": O({"existingSecret": S},
                 desc="existingSecret: a kubernetes.io/tls Secret with ca.crt"),
  "egress": A(O({"cidrs": A(R("cidr"), minItems=1),
                 "ports": A(Imin(1, 65535))}, required=["cidrs"])),
}

def component(extra, required=()):
    props = {
        "logLevel": R("logLevel"),
        "terminationGracePeriodSeconds": Imin(0),
        "resources": R("resources"),
        "podSecurityContext": R("podSecurityContext"),
        "securityContext": R("securityContext"),
        "podAnnotations": R("stringMap"), "podLabels": R("stringMap"),
        "nodeSelector": R("stringMap"), "tolerations": R("tolerations"),
        "affinity": R("affinity"),
        "extraEnv": R("env"), "extraVolumes": R("volumes"),
        "extraVolumeMounts": R("volumeMounts"), "extraContainers": R("containers"),
    }
    props.update(extra)
    return O(props)

schema = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Goalkeeper chart values",
  "type": "object", "additionalProperties": False,
  "$defs": defs,
  "properties": {
    "global": {"type": "object", "description": "Helm's global values (unused by this chart)"},
    "nameOverride": S, "fullnameOverride": S, "commonLabels": R("stringMap"),
    "image": O({"registry": S, "repository": {"type": "string", "minLength": 1},
                "tag": S,
                "digest": {"type": "string", "pattern": r"^(sha256:[0-9a-f]{64})?$"},
                "pullPolicy": E("Always", "IfNotPresent", "Never")},
               required=["repository"]),
    "imagePullSecrets": A(O({"name": S}, required=["name"])),
    "serviceAccount": O({"create": B, "name": S, "annotations": R("stringMap")}),
    "podSecurityContext": R("podSecurityContext"),
    "securityContext": R("securityContext"),
    "allowedRanges": A(R("cidr"), minItems=1,
                       description="CIDRs or addresses every scan must lie inside"),
    "inventories": {"type": "object", "propertyNames": {"pattern": NAME},
                    "description": "null drops an inventory a lower values file defined",
                    "additionalProperties": {"anyOf": [
                        O({"targets": A(R("target")), "exclude": A(R("target")),
                           "openstack": R("openstack")}),
                        {"type": "null"}]}},
    "profiles": {"type": "object", "propertyNames": {"pattern": NAME},
                 "additionalProperties": O({
                     "ports": {"type": "string", "minLength": 1},
                     "timeoutMs": Imin(1, 600000), "retries": Imin(0, 10),
                     "rate": {"type": "number", "minimum": 0},
                     "probes": E("none", "verify", "all",
                                 desc="protocol probes: none, the catalogue port's (verify), "
                                      "or identify every open port (all)"),
                     "udp": {"type": "array", "uniqueItems": True,
                             "items": E("all", "dns", "ntp", "ntp-version", "ntp-client",
                                        "ssdp", "snmp", "memcached", "cldap", "portmap",
                                        "netbios", "mdns", "mssql", "ubiquiti")}})},
    "schedules": A(O({"name": {"type": "string", "pattern": DNS_NAME,
                               "description": "also the CronJob's name suffix"},
                      "cron": {"type": "string", "minLength": 9},
                      "timezone": S, "inventory": {"type": "string", "pattern": NAME},
                      "profile": {"type": "string", "pattern": NAME}},
                     required=["name", "cron", "inventory"])),
    "scheduler": O({
        "mode": E("internal", "cronjob",
                  desc="internal: the coordinator's scheduler; cronjob: Kubernetes CronJobs"),
        "cronjob": O({"startingDeadlineSeconds": Imin(1), "backoffLimit": Imin(0),
                      "activeDeadlineSeconds": Imin(1),
                      "successfulJobsHistoryLimit": Imin(0), "failedJobsHistoryLimit": Imin(0),
                      "resources": R("resources"), "podAnnotations": R("stringMap"),
                      "podLabels": R("stringMap"),
                      "podSecurityContext": R("podSecurityContext"),
                      "securityContext": R("securityContext")})}, required=["mode"]),
    "secrets": O({k: R("secret") for k in
                  ["smtpPassword", "telegramToken", "openstackPassword", "fleioToken"]}),
    "coordinator": component({
        "clientAddress": R("hostPort"),
        "lease": O({"ttlSeconds": Imin(1), "heartbeatSeconds": Imin(1),
                    "shardSeconds": {"type": "number", "exclusiveMinimum": 0},
                    "confirmWaitSeconds": {"type": "number", "minimum": 0, "maximum": 3600}}),
        "limits": O({"maxProbesPerScan": Imin(1)}),
        "service": R("service"), "persistence": R("persistence")}),
    "worker": component({
        "replicas": Imin(0), "concurrency": Imin(1), "threads": Imin(0), "maxRate": Imin(0),
        "autoscaling": O({
            "enabled": B,
            "kind": E("hpa", "keda", desc="hpa: CPU (autoscaling/v2); keda: a ScaledObject "
                                           "on goalkeeper_shards_pending"),
            "minReplicas": Imin(1), "maxReplicas": Imin(1),
            "targetCPUUtilizationPercentage": Imin(1, 100),
            "keda": O({"serverAddress": {"type": "string", "pattern": "^https?://"},
                       "query": S,
                       "threshold": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
                       "pollingInterval": Imin(1), "cooldownPeriod": Imin(0)})}),
        "pdb": O({"enabled": B, "maxUnavailable": {"type": ["integer", "string"]}}),
        "topologySpreadConstraints": R("topologySpreadConstraints"),
        "extraArgs": A(S)}),
    "notifier": component({
        "enabled": B, "clientAddress": R("hostPort"),
        "mode": E("stage", "prod",
                  desc="stage: every email goes to ops.emails; prod: owners are notified"),
        "ops": O({"emails": A(R("email"), minItems=1), "telegramChatId": R("chatId")}),
        "email": O({"smtpUrl": {"type": "string", "pattern": "^(smtps?://.+)?$"},
                    "username": S, "from": R("email"), "caFile": S}),
        "telegram": O({"apiUrl": {"type": "string", "pattern": "^https?://"}}),
        "owners": O({
            "static": A(O({"cidr": R("target"), "name": {"type": "string", "minLength": 1},
                           "emails": A(R("email")), "telegramChatId": R("chatId")},
                          required=["cidr", "name", "emails"])),
            "openstack": O({"enabled": B,
                            "authUrl": {"type": "string", "pattern": "^(https?://.*)?$"},
                            "username": S, "userDomainName": S, "projectName": S,
                            "projectDomainName": S,
                            "interface": E("public", "internal", "admin"), "region": S}),
            "fleio": O({"enabled": B, "url": {"type": "string", "pattern": "^(https?://.*)?$"}})}),
        "notify": O({"repeatInterval": R("duration"), "giveUpAfter": R("duration"),
                     "notifyClosed": B,
                     "acknowledged": A(O({"ip": S, "port": Imin(1, 65535),
                                          "until": {"type": "string", "format": "date-time"},
                                          "reason": S}, required=["ip", "port", "until"]))}),
        "service": R("service"), "persistence": R("persistence")}),
    "networkPolicy": O({
        "enabled": B, "dnsPorts": A(Imin(1, 65535)), "metricsFrom": R("peers"),
        "coordinator": O({"extraIngressFrom": R("peers"), "egress": R("egress"),
                          "nodeAgentCidrs": A(R("cidr"), description=(
                              "the nodes' addresses: the node agents (hostNetwork) reach "
                              "the coordinator from them"))}),
        "worker": O({"extraTargetCidrs": A(R("cidr"))}),
        "notifier": O({"egress": R("egress")})}),
    "nodeAgent": O({
        "enabled": B, "logLevel": R("logLevel"),
        "namespace": O({
            "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"},
            "create": B,
            "podSecurity": O({"enforce": E("privileged", desc="hostNetwork and hostPath "
                                           "need the privileged level"),
                              "warn": PSS_LEVEL, "audit": PSS_LEVEL,
                              "version": {"type": "string", "pattern": r"^(latest|v1\.[0-9]+)$"}},
                             required=["enforce", "warn", "audit", "version"])},
            required=["name", "create"]),
        "coordinatorAddress": R("hostPort"),
        "nodeLabels": NODE_LABELS,
        "hostPaths": O({"logDir": ABS_PATH, "volatileJournalDir": {
                            "type": "string", "pattern": r"^(/.*)?$",
                            "description": "an absolute path, or \"\" for none"},
                        "localtime": ABS_PATH, "checkpointDir": ABS_PATH},
                       required=["logDir", "localtime", "checkpointDir"]),
        "supplementalGroups": A(Imin(0)),
        "chownCheckpointDir": B,
        "config": O({
            "heartbeat_interval": R("duration"),
            "rules": A(O({
                "name": {"type": "string", "pattern": NAME},
                "sources": A({"type": "string", "pattern": r"^(/.+|journal)$"}, minItems=1),
                "prefix": {"type": "string", "minLength": 1},
                "regex": {"type": "string", "minLength": 1},
                "proto": S, "ports": A(PORT_SPEC), "window": R("duration"),
                "threshold": Imin(1), "per_ipv6_64": B, "quiet": R("duration")},
                required=["name", "sources"])),
            "listeners": O({"interval": R("duration"), "protocols": A(E("tcp", "udp")),
                            "allowed_ports": A(PORT_SPEC), "exclude_ports": A(PORT_SPEC),
                            "node_policies": A(O({
                                "selector": R("stringMap"), "allowed_ports": A(PORT_SPEC),
                                "exclude_ports": A(PORT_SPEC)}, required=["selector"]),
                                description="the first whose selector matches the node's "
                                            "labels (nodeAgent.nodeLabels) wins")})},
            desc="the node agent's YAML (node/node_config.h keys); the chart sets "
                 "timezone_file and checkpoint_dir"),
        "tolerations": R("tolerations"), "nodeSelector": R("stringMap"),
        "affinity": R("affinity"), "priorityClassName": S,
        "pools": A(O({
            "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$",
                     "description": "the DaemonSet is <fullname>-node-agent-<name>"},
            "nodeSelector": {**NODE_LABELS, "minProperties": 1,
                             "description": "the pool's nodes (every label, equal values); "
                                            "also in its NODE_LABELS"},
            "labels": {**NODE_LABELS, "description": "more NODE_LABELS for the pool's agents"},
            "tolerations": R("tolerations"), "resources": R("resources"),
            "priorityClassName": S}, required=["name", "nodeSelector"]),
            description="one DaemonSet per pool; a node runs the agent of the first pool "
                        "whose nodeSelector it matches, the default one when none"),
        "updateStrategy": O({"maxUnavailable": INT_OR_STR}),
        "terminationGracePeriodSeconds": Imin(0),
        "resources": R("resources"),
        "podSecurityContext": R("podSecurityContext"),
        "securityContext": R("securityContext"),
        "podAnnotations": R("stringMap"), "podLabels": R("stringMap"),
        "extraEnv": R("env")}),
    "tls": O({
        "enabled": {"type": "boolean", "description": "false: plaintext gRPC (--insecure), "
                    "nobody authenticated or authorised: not for production"},
        "refreshSeconds": Imin(1, 3600),
        "clusterDomain": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
        "certManager": O({
            "enabled": {"enum": [True, False, "auto"],
                        "description": "true/auto: Certificates when the cluster serves "
                                       "cert-manager.io/v1; false: existingSecret only"},
            "issuerRef": O({"name": S, "kind": E("Issuer", "ClusterIssuer"),
                            "group": {"type": "string", "minLength": 1}},
                           required=["name", "kind"]),
            "duration": R("certDuration"), "renewBefore": R("certDuration"),
            "caDuration": R("certDuration"),
            "privateKey": O({"algorithm": E("ECDSA", "RSA", "Ed25519"),
                             "size": Imin(0, 8192)})}),
        "coordinator": R("tlsServer"), "notifier": R("tlsServer"),
        "worker": R("tlsClient"), "nodeAgent": R("tlsClient"), "cli": R("tlsClient")}),
    "auth": O({
        "identities": A(O({"match": {"type": "string", "minLength": 1,
                                     "description": "an identity, or a prefix ending in *"},
                           "role": R("role")}, required=["match", "role"]),
                        description="the first entry that matches gives the caller's role"),
        "tokens": A(O({"name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
                                "description": "the caller is token:<name>"},
                       "role": R("role"),
                       "existingSecret": {"type": "string", "minLength": 1},
                       "existingSecretKey": {"type": "string", "pattern": r"^[-._a-zA-Z0-9]+$"}},
                      required=["name", "role", "existingSecret", "existingSecretKey"])),
        "maxStreamsPerIdentity": Imin(1),
        "roles": O({r: O({"allowedRanges": A(R("cidr")), "maxProbesPerScan": Imin(1),
                          "maxRate": {"type": "number", "exclusiveMinimum": 0},
                          "scansPerHour": Imin(1), "maxAcknowledge": R("duration")})
                    for r in ("viewer", "operator", "admin")})}),
    "monitoring": O({
        "serviceMonitor": O({"enabled": B, "interval": R("duration"), "labels": R("stringMap")}),
        "prometheusRule": O({"enabled": B, "labels": R("stringMap")}),
        "grafanaDashboard": O({"enabled": B, "namespace": S, "labels": R("stringMap"),
                               "annotations": R("stringMap")})}),
  },
}


def main():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helm", "goalkeeper",
                        "values.schema.json")
    text = json.dumps(schema, indent=2) + "\n"
    if sys.argv[1:] == ["--check"]:
        with open(path, encoding="utf-8") as f:
            if f.read() != text:
                print(f"{os.path.normpath(path)} is stale: run python3 scripts/chart_schema.py")
                return 1
        return 0
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
