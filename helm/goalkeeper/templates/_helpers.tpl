{{/*
Shared helpers of the Goalkeeper chart: names, labels, the image reference, security
contexts, the credential files and the rendered config files (whose checksums roll pods).
*/}}

{{- define "goalkeeper.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "goalkeeper.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* <fullname>-<component>, for Service and workload names ({{ include "goalkeeper.componentName" (list . "worker") }}). */}}
{{- define "goalkeeper.componentName" -}}
{{- $root := index . 0 }}
{{- printf "%s-%s" (include "goalkeeper.fullname" $root | trunc 50 | trimSuffix "-") (index . 1) }}
{{- end }}

{{- define "goalkeeper.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: name, instance and component only (list . "component"). */}}
{{- define "goalkeeper.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "goalkeeper.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* All the standard labels (list . "component"). */}}
{{- define "goalkeeper.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ include "goalkeeper.chart" $root }}
{{ include "goalkeeper.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: goalkeeper
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* registry/repository:tag@digest; the digest wins over the tag, the tag defaults to appVersion. */}}
{{- define "goalkeeper.image" -}}
{{- $img := .Values.image }}
{{- $repo := $img.repository }}
{{- if $img.registry }}{{ $repo = printf "%s/%s" $img.registry $img.repository }}{{ end }}
{{- if $img.digest }}
{{- printf "%s@%s" $repo $img.digest }}
{{- else }}
{{- printf "%s:%s" $repo (default .Chart.AppVersion $img.tag) }}
{{- end }}
{{- end }}

{{- define "goalkeeper.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "goalkeeper.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name: required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* A dict with the keys of .override replacing the same keys of .base (false included). */}}
{{- define "goalkeeper.override" -}}
{{- $out := deepCopy .base }}
{{- range $k, $v := .override }}
{{- $_ := set $out $k $v }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* Pod and container security contexts for a component: (list . .Values.worker). */}}
{{- define "goalkeeper.podSecurityContext" -}}
{{- $root := index . 0 }}
{{- include "goalkeeper.override" (dict "base" $root.Values.podSecurityContext "override" (index . 1).podSecurityContext) }}
{{- end }}
{{- define "goalkeeper.securityContext" -}}
{{- $root := index . 0 }}
{{- include "goalkeeper.override" (dict "base" $root.Values.securityContext "override" (index . 1).securityContext) }}
{{- end }}

{{/* The pod-level settings every Goalkeeper pod shares: (list . .Values.worker). */}}
{{- define "goalkeeper.podCommon" -}}
{{- $root := index . 0 }}
{{- $c := index . 1 -}}
serviceAccountName: {{ include "goalkeeper.serviceAccountName" $root }}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- include "goalkeeper.podSecurityContext" (list $root $c) | nindent 2 }}
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Where a credential's file is mounted. */}}
{{- define "goalkeeper.secretDir" -}}/run/secrets/goalkeeper{{- end }}

{{/* "true" when credential (a secrets.* entry) is configured. */}}
{{- define "goalkeeper.hasSecret" -}}
{{- if or .value .existingSecret }}true{{ end }}
{{- end }}

{{/*
A projected volume with the given credentials: (list . "smtpPassword" "telegramToken").
Each configured credential becomes the file <secretDir>/<kebab-case name>.
*/}}
{{- define "goalkeeper.secretVolume" -}}
{{- $root := index . 0 }}
{{- $sources := list }}
{{- range $name := rest . }}
{{- $s := index $root.Values.secrets $name }}
{{- if include "goalkeeper.hasSecret" $s }}
{{- $file := kebabcase $name }}
{{- if $s.existingSecret }}
{{- $sources = append $sources (dict "secret" (dict "name" $s.existingSecret "items" (list (dict "key" $s.existingSecretKey "path" $file)))) }}
{{- else }}
{{- $sources = append $sources (dict "secret" (dict "name" (printf "%s-credentials" (include "goalkeeper.fullname" $root)) "items" (list (dict "key" $file "path" $file)))) }}
{{- end }}
{{- end }}
{{- end }}
{{- if $sources -}}
- name: credentials
  projected:
    defaultMode: 0440
    sources:
      {{- toYaml $sources | nindent 6 }}
{{- end }}
{{- end }}

{{/* A checksum of the given credentials' values and sources: (list . "openstackPassword"). */}}
{{- define "goalkeeper.secretChecksum" -}}
{{- $root := index . 0 }}
{{- $parts := list }}
{{- range $name := rest . }}
{{- $parts = append $parts (toJson (index $root.Values.secrets $name)) }}
{{- end }}
{{- join "\n" $parts | sha256sum }}
{{- end }}

{{/* The extras every component accepts: env entries. */}}
{{- define "goalkeeper.env" -}}
{{- $c := index . 1 -}}
- name: GOALKEEPER_LOG_LEVEL
  value: {{ $c.logLevel | quote }}
{{- with $c.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The PVC spec of a component's persistence block. */}}
{{- define "goalkeeper.pvcSpec" -}}
accessModes:
  {{- toYaml .accessModes | nindent 2 }}
{{- if .storageClass }}
{{- if eq "-" .storageClass }}
storageClassName: ""
{{- else }}
storageClassName: {{ .storageClass | quote }}
{{- end }}
{{- end }}
resources:
  requests:
    storage: {{ .size | quote }}
{{- end }}

{{/* The coordinator's gRPC address inside the cluster. */}}
{{- define "goalkeeper.coordinatorAddress" -}}
{{- default (printf "%s:7070" (include "goalkeeper.componentName" (list . "coordinator"))) .Values.coordinator.clientAddress }}
{{- end }}

{{/* The notifier's gRPC address as the coordinator dials it. */}}
{{- define "goalkeeper.notifierAddress" -}}
{{- default (printf "%s:7071" (include "goalkeeper.componentName" (list . "notifier"))) .Values.notifier.clientAddress }}
{{- end }}

{{/* The coordinator's config file (coordinator/config.h), exactly as the binary reads it. */}}
{{- define "goalkeeper.coordinatorConfig" -}}
{{- $v := .Values }}
{{- $c := dict "listen" "0.0.0.0:7070" "db" "/var/lib/goalkeeper/coordinator.db" "metrics_listen" "0.0.0.0:9464" }}
{{- $_ := set $c "allowed_ranges" $v.allowedRanges }}
{{- $invs := dict }}
{{- range $name, $inv := $v.inventories }}
{{- if $inv }}
{{- $i := dict }}
{{- if $inv.targets }}{{ $_ := set $i "targets" $inv.targets }}{{ end }}
{{- if $inv.exclude }}{{ $_ := set $i "exclude" $inv.exclude }}{{ end }}
{{- with $inv.openstack }}
{{- $os := dict }}
{{- range $k, $val := . }}
{{- if ne (toString $val) "" }}{{ $_ := set $os (snakecase $k) $val }}{{ end }}
{{- end }}
{{- if not (include "goalkeeper.hasSecret" $v.secrets.openstackPassword) }}
{{- fail (printf "inventories.%s.openstack: set secrets.openstackPassword.value or .existingSecret" $name) }}
{{- end }}
{{- $_ := set $os "password_file" (printf "%s/openstack-password" (include "goalkeeper.secretDir" $)) }}
{{- $_ := set $i "openstack" $os }}
{{- end }}
{{- $_ := set $invs $name $i }}
{{- end }}
{{- end }}
{{- $_ := set $c "inventories" $invs }}
{{- $profiles := dict }}
{{- range $name, $p := $v.profiles }}
{{- $profile := dict "ports" $p.ports "timeout_ms" $p.timeoutMs "retries" $p.retries "rate" $p.rate }}
{{- if $p.probes }}{{- $_ := set $profile "probes" $p.probes }}{{- end }}
{{- if $p.udp }}{{- $_ := set $profile "udp" $p.udp }}{{- end }}
{{- $_ := set $profiles $name $profile }}
{{- end }}
{{- $_ := set $c "profiles" $profiles }}
{{- if and (eq $v.scheduler.mode "internal") $v.schedules }}
{{- $s := list }}
{{- range $v.schedules }}
{{- $e := dict "name" .name "cron" .cron "inventory" .inventory "profile" (default "default" .profile) }}
{{- if .timezone }}{{ $_ := set $e "timezone" .timezone }}{{ end }}
{{- $s = append $s $e }}
{{- end }}
{{- $_ := set $c "schedules" $s }}
{{- end }}
{{- if $v.notifier.enabled }}
{{- $_ := set $c "notifier" (dict "address" (include "goalkeeper.notifierAddress" .)) }}
{{- end }}
{{- $l := $v.coordinator.lease }}
{{- $_ := set $c "lease" (dict "ttl_seconds" $l.ttlSeconds "heartbeat_seconds" $l.heartbeatSeconds "shard_seconds" $l.shardSeconds "confirm_wait_seconds" $l.confirmWaitSeconds) }}
{{- $_ := set $c "limits" (dict "max_probes_per_scan" $v.coordinator.limits.maxProbesPerScan) }}
{{- $c = merge $c (include "goalkeeper.securityConfig" (list . "coordinator") | fromYaml) }}
{{- toYaml $c }}
{{- end }}

{{/* The notifier's config file (notifier/config.h), exactly as the binary reads it. */}}
{{- define "goalkeeper.notifierConfig" -}}
{{- $v := .Values }}
{{- $n := $v.notifier }}
{{- $dir := include "goalkeeper.secretDir" . }}
{{- $c := dict "listen" "0.0.0.0:7071" "db" "/var/lib/goalkeeper/notifier.db" "metrics_listen" "0.0.0.0:9465" "mode" $n.mode }}
{{- $ops := dict "emails" $n.ops.emails }}
{{- if $n.ops.telegramChatId }}{{ $_ := set $ops "telegram_chat_id" $n.ops.telegramChatId }}{{ end }}
{{- $_ := set $c "ops" $ops }}
{{- $email := dict "from" $n.email.from "outbox_dir" "/var/lib/goalkeeper/outbox" }}
{{- if $n.email.smtpUrl }}{{ $_ := set $email "smtp_url" $n.email.smtpUrl }}{{ end }}
{{- if $n.email.username }}{{ $_ := set $email "username" $n.email.username }}{{ end }}
{{- if $n.email.caFile }}{{ $_ := set $email "ca_file" $n.email.caFile }}{{ end }}
{{- if include "goalkeeper.hasSecret" $v.secrets.smtpPassword }}
{{- $_ := set $email "password_file" (printf "%s/smtp-password" $dir) }}
{{- end }}
{{- $_ := set $c "email" $email }}
{{- $tg := dict "api_url" $n.telegram.apiUrl }}
{{- if include "goalkeeper.hasSecret" $v.secrets.telegramToken }}
{{- $_ := set $tg "token_file" (printf "%s/telegram-token" $dir) }}
{{- end }}
{{- $_ := set $c "telegram" $tg }}
{{- $owners := dict }}
{{- if $n.owners.static }}
{{- $st := list }}
{{- range $n.owners.static }}
{{- $o := dict "cidr" .cidr "name" .name "emails" .emails }}
{{- if .telegramChatId }}{{ $_ := set $o "telegram_chat_id" .telegramChatId }}{{ end }}
{{- $st = append $st $o }}
{{- end }}
{{- $_ := set $owners "static" $st }}
{{- end }}
{{- if $n.owners.openstack.enabled }}
{{- if not (include "goalkeeper.hasSecret" $v.secrets.openstackPassword) }}
{{- fail "notifier.owners.openstack: set secrets.openstackPassword.value or .existingSecret" }}
{{- end }}
{{- $os := dict }}
{{- range $k, $val := $n.owners.openstack }}
{{- if and (ne $k "enabled") (ne (toString $val) "") }}{{ $_ := set $os (snakecase $k) $val }}{{ end }}
{{- end }}
{{- $_ := set $os "password_file" (printf "%s/openstack-password" $dir) }}
{{- $_ := set $owners "openstack" $os }}
{{- end }}
{{- if $n.owners.fleio.enabled }}
{{- if not (include "goalkeeper.hasSecret" $v.secrets.fleioToken) }}
{{- fail "notifier.owners.fleio: set secrets.fleioToken.value or .existingSecret" }}
{{- end }}
{{- $_ := set $owners "fleio" (dict "url" $n.owners.fleio.url "token_file" (printf "%s/fleio-token" $dir)) }}
{{- end }}
{{- if $owners }}{{ $_ := set $c "owners" $owners }}{{ end }}
{{- $notify := dict "repeat_interval" $n.notify.repeatInterval "give_up_after" $n.notify.giveUpAfter "notify_closed" $n.notify.notifyClosed }}
{{- if $n.notify.acknowledged }}{{ $_ := set $notify "acknowledged" $n.notify.acknowledged }}{{ end }}
{{- $_ := set $c "notify" $notify }}
{{- $c = merge $c (include "goalkeeper.securityConfig" (list . "notifier") | fromYaml) }}
{{- toYaml $c }}
{{- end }}

{{/* The worker's `goalkeeper-worker run` arguments (one per line, YAML list items). */}}
{{- define "goalkeeper.workerArgs" -}}
{{- $w := .Values.worker -}}
- run
- --coordinator={{ include "goalkeeper.coordinatorAddress" . }}
- --name=$(POD_NAME)
- --metrics-listen=0.0.0.0:9466
- --health-listen=0.0.0.0:7072
- --concurrency={{ $w.concurrency }}
- --threads={{ $w.threads }}
- --max-rate={{ $w.maxRate }}
{{ include "goalkeeper.tlsArgs" . }}
{{- range $w.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/* A CIDR for a NetworkPolicy ipBlock: a single address becomes /32 or /128. */}}
{{- define "goalkeeper.cidr" -}}
{{- if contains "/" . }}{{ . }}{{ else if contains ":" . }}{{ . }}/128{{ else }}{{ . }}/32{{ end }}
{{- end }}

{{/* NetworkPolicy egress rules from [{cidrs: [...], ports: [...]}] (ports TCP). */}}
{{- define "goalkeeper.egressRules" -}}
{{- range . }}
- to:
    {{- range .cidrs }}
    - ipBlock:
        cidr: {{ include "goalkeeper.cidr" . }}
    {{- end }}
  {{- with .ports }}
  ports:
    {{- range . }}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
  {{- end }}
{{- end }}
{{- end }}

{{/*
A component's extraContainers, each given the component's securityContext unless it sets its
own (so a sidecar meets the "restricted" standard by default): (list . .Values.worker).
*/}}
{{- define "goalkeeper.extraContainers" -}}
{{- $root := index . 0 }}
{{- $c := index . 1 }}
{{- $out := list }}
{{- range $c.extraContainers }}
{{- $x := deepCopy . }}
{{- if not (hasKey $x "securityContext") }}
{{- $_ := set $x "securityContext" (include "goalkeeper.securityContext" (list $root $c) | fromYaml) }}
{{- end }}
{{- $out = append $out $x }}
{{- end }}
{{- if $out }}{{ toYaml $out }}{{ end }}
{{- end }}

{{/* The node agent's namespace (never the release's: that one is "restricted"). */}}
{{- define "goalkeeper.nodeAgentNamespace" -}}
{{- $ns := .Values.nodeAgent.namespace.name }}
{{- if eq $ns .Release.Namespace }}
{{- fail (printf "nodeAgent.namespace.name: %q is the release namespace; the agent needs a namespace of its own at the privileged Pod Security level" $ns) }}
{{- end }}
{{- $ns }}
{{- end }}

{{/* The coordinator's address as the node agents dial it: the Service's DNS name. */}}
{{- define "goalkeeper.nodeAgentCoordinatorAddress" -}}
{{- default (printf "%s.%s.svc:7070" (include "goalkeeper.componentName" (list . "coordinator")) .Release.Namespace) .Values.nodeAgent.coordinatorAddress }}
{{- end }}

{{/* Where the node agent's host paths are mounted in its pod. */}}
{{- define "goalkeeper.nodeAgentCheckpointDir" -}}/var/lib/goalkeeper-node{{- end }}
{{- define "goalkeeper.nodeAgentLocaltime" -}}/host/etc/localtime{{- end }}

{{/*
The node agent's config file (node/node_config.h), exactly as the binary reads it: the values'
config plus the paths of the pod's mounts (timezone_file, checkpoint_dir, journal_directories).
*/}}
{{- define "goalkeeper.nodeAgentConfig" -}}
{{- $c := deepCopy .Values.nodeAgent.config }}
{{- $_ := set $c "timezone_file" (include "goalkeeper.nodeAgentLocaltime" .) }}
{{- $_ := set $c "checkpoint_dir" (include "goalkeeper.nodeAgentCheckpointDir" .) }}
{{- $journals := list "/var/log/journal" }}
{{- if .Values.nodeAgent.hostPaths.volatileJournalDir }}
{{- $journals = append $journals "/run/log/journal" }}
{{- end }}
{{- $_ := set $c "journal_directories" $journals }}
{{- toYaml $c }}
{{- end }}

{{/* NODE_LABELS from a map: "k=v,k2=v2", sorted by key. */}}
{{- define "goalkeeper.nodeLabels" -}}
{{- $parts := list }}
{{- range $k, $v := . }}
{{- $parts = append $parts (printf "%s=%s" $k $v) }}
{{- end }}
{{- join "," $parts }}
{{- end }}

{{/*
The node agents' DaemonSets as a YAML list: the default one first, then one per
nodeAgent.pools entry, each {name, component, pool, nodeSelector, nodeLabels, tolerations,
resources, priorityClassName, affinity}. Pools are matched in order: a node belongs to the
first pool whose nodeSelector it matches (every key, equal values), and a node in no pool
runs the default agent. So pool i's DaemonSet requires its nodeSelector and excludes the
nodes of pools 0..i-1, and the default one excludes the nodes of every pool; the exclusions
are required nodeAffinity terms (NotIn also matches a node without the key), ANDed with the
terms of nodeAgent.affinity. Exactly one agent per node, whatever labels a node carries.
*/}}
{{- define "goalkeeper.nodeAgents" -}}
{{- $a := .Values.nodeAgent }}
{{- $base := include "goalkeeper.componentName" (list . "node-agent") }}
{{- $pools := $a.pools | default (list) }}
{{- $seen := dict }}
{{- $selectors := list }}
{{- $out := list }}
{{- range $i, $p := $pools }}
{{- $where := printf "nodeAgent.pools[%d] (%q)" $i $p.name }}
{{- if hasKey $seen $p.name }}
{{- fail (printf "%s: the pool name is used twice; every pool needs a name of its own" $where) }}
{{- end }}
{{- $_ := set $seen $p.name true }}
{{- if eq $p.name "default" }}
{{- fail (printf "%s: \"default\" names the agent of the nodes in no pool; choose another pool name" $where) }}
{{- end }}
{{- if not $p.nodeSelector }}
{{- fail (printf "%s: nodeSelector is empty; a pool selects its nodes by at least one label (an empty one would take every node from the default agent)" $where) }}
{{- end }}
{{- $name := printf "%s-%s" $base $p.name }}
{{- if gt (len $name) 63 }}
{{- fail (printf "%s: the DaemonSet name %q has %d characters, more than 63 (a DNS label); shorten the pool name or fullnameOverride" $where $name (len $name)) }}
{{- end }}
{{- range $j, $prev := $selectors }}
{{- $covered := true }}
{{- range $k, $v := $prev }}
{{- if ne (toString (get $p.nodeSelector $k)) (toString $v) }}{{ $covered = false }}{{ end }}
{{- if not (hasKey $p.nodeSelector $k) }}{{ $covered = false }}{{ end }}
{{- end }}
{{- if $covered }}
{{- fail (printf "%s: every node its nodeSelector selects is in the earlier pool %q (pools are matched in order, the first wins); put the narrower pool first" $where (index $pools $j).name) }}
{{- end }}
{{- end }}
{{- range $k, $v := ($p.labels | default (dict)) }}
{{- if and (hasKey $p.nodeSelector $k) (ne (toString (get $p.nodeSelector $k)) (toString $v)) }}
{{- fail (printf "%s: labels.%s is %q but nodeSelector.%s is %q; NODE_LABELS would contradict the node's own label" $where $k $v $k (get $p.nodeSelector $k)) }}
{{- end }}
{{- end }}
{{- $labels := merge (deepCopy $p.nodeSelector) (deepCopy ($p.labels | default (dict))) (deepCopy ($a.nodeLabels | default (dict))) }}
{{- $affinity := include "goalkeeper.nodeAgentAffinity" (list $a.affinity $selectors $where) | fromYaml }}
{{- $agent := dict "name" $name "component" (printf "node-agent-%s" $p.name) "pool" $p.name }}
{{- $_ := set $agent "nodeSelector" (merge (deepCopy $p.nodeSelector) (deepCopy ($a.nodeSelector | default (dict)))) }}
{{- $_ := set $agent "nodeLabels" $labels }}
{{- $_ := set $agent "tolerations" (hasKey $p "tolerations" | ternary $p.tolerations $a.tolerations) }}
{{- $_ := set $agent "resources" ($p.resources | default $a.resources) }}
{{- $_ := set $agent "priorityClassName" (hasKey $p "priorityClassName" | ternary $p.priorityClassName $a.priorityClassName) }}
{{- $_ := set $agent "affinity" $affinity }}
{{- $out = append $out $agent }}
{{- $selectors = append $selectors $p.nodeSelector }}
{{- end }}
{{- $default := dict "name" $base "component" "node-agent" "pool" "" "nodeSelector" $a.nodeSelector "nodeLabels" $a.nodeLabels "tolerations" $a.tolerations "resources" $a.resources "priorityClassName" $a.priorityClassName }}
{{- $_ := set $default "affinity" (include "goalkeeper.nodeAgentAffinity" (list $a.affinity $selectors "the default node agent (nodeAgent.affinity with the pools excluded)") | fromYaml) }}
{{- toYaml (prepend $out $default) }}
{{- end }}

{{/*
(list AFFINITY SELECTORS WHERE): AFFINITY (nodeAgent.affinity) with its required node
affinity narrowed to the nodes that match none of SELECTORS (maps of labels). A node
matches none when, for each selector, one of its labels is missing or different: in
disjunctive form one term per choice of a key from each selector (the expressions on one
key merged into one NotIn), each term ANDed into each of AFFINITY's own terms.
*/}}
{{- define "goalkeeper.nodeAgentAffinity" -}}
{{- $aff := deepCopy (index . 0 | default (dict)) }}
{{- $selectors := index . 1 }}
{{- $where := index . 2 }}
{{- if $selectors }}
{{- $terms := list (dict) }}
{{- range $s := $selectors }}
{{- $next := list }}
{{- range $t := $terms }}
{{- range $k := keys $s | sortAlpha }}
{{- $nt := deepCopy $t }}
{{- $_ := set $nt $k ((get $nt $k | default (list)) | concat (list (toString (get $s $k))) | uniq | sortAlpha) }}
{{- $next = append $next $nt }}
{{- end }}
{{- end }}
{{- $terms = $next | uniq }}
{{- end }}
{{- $own := list }}
{{- range $t := $terms }}
{{- $exprs := list }}
{{- range $k := keys $t | sortAlpha }}
{{- $exprs = append $exprs (dict "key" $k "operator" "NotIn" "values" (get $t $k)) }}
{{- end }}
{{- $own = append $own $exprs }}
{{- end }}
{{- $na := $aff.nodeAffinity | default (dict) }}
{{- $req := get $na "requiredDuringSchedulingIgnoredDuringExecution" | default (dict) }}
{{- $userTerms := $req.nodeSelectorTerms | default (list (dict)) }}
{{- $combined := list }}
{{- range $u := $userTerms }}
{{- range $exprs := $own }}
{{- $nt := deepCopy $u }}
{{- $_ := set $nt "matchExpressions" (concat ($u.matchExpressions | default (list)) $exprs) }}
{{- $combined = append $combined $nt }}
{{- end }}
{{- end }}
{{- if gt (len $combined) 32 }}
{{- fail (printf "%s: excluding the pools' nodes takes %d nodeSelectorTerms, more than 32; give the pools fewer labels in their nodeSelectors (one key each is one term)" $where (len $combined)) }}
{{- end }}
{{- $_ := set $req "nodeSelectorTerms" $combined }}
{{- $_ := set $na "requiredDuringSchedulingIgnoredDuringExecution" $req }}
{{- $_ := set $aff "nodeAffinity" $na }}
{{- end }}
{{- if $aff }}{{ toYaml $aff }}{{ end }}
{{- end }}

{{/* Where every pod's TLS material is mounted (ca.crt, tls.crt, tls.key), read-only. */}}
{{- define "goalkeeper.tlsDir" -}}/run/secrets/goalkeeper-tls{{- end }}

{{/* Where the auth.tokens files are mounted in the coordinator and the notifier. */}}
{{- define "goalkeeper.tokenDir" -}}/run/secrets/goalkeeper-auth{{- end }}

{{/* A tls.* key's component name: the suffix of its names and of its SAN URI. */}}
{{- define "goalkeeper.tlsComponent" -}}
{{- get (dict "coordinator" "coordinator" "notifier" "notifier" "worker" "worker" "nodeAgent" "node-agent" "cli" "cli") . }}
{{- end }}

{{/* "true" when the chart renders cert-manager Certificates (TLS on, allowed, API served). */}}
{{- define "goalkeeper.certManager" -}}
{{- $t := .Values.tls }}
{{- if and $t.enabled (ne (toString $t.certManager.enabled) "false") (.Capabilities.APIVersions.Has "cert-manager.io/v1") }}true{{ end }}
{{- end }}

{{/*
The Secret with a component's TLS material: (list . "coordinator"), "" when TLS is off. An
existingSecret wins; else the chart's Certificate's Secret; with neither the render fails
naming the component and both ways out.
*/}}
{{- define "goalkeeper.tlsSecretName" -}}
{{- $root := index . 0 }}
{{- $key := index . 1 }}
{{- $t := $root.Values.tls }}
{{- if $t.enabled }}
{{- $c := index $t $key }}
{{- if $c.existingSecret }}
{{- $c.existingSecret }}
{{- else if include "goalkeeper.certManager" $root }}
{{- if and (eq $key "nodeAgent") (ne $t.certManager.issuerRef.kind "ClusterIssuer") }}
{{- fail (printf "tls.nodeAgent: the node agent runs in namespace %q, where the Issuer %q of the release namespace cannot issue its certificate; set tls.certManager.issuerRef to a ClusterIssuer (kind: ClusterIssuer), or tls.nodeAgent.existingSecret to a kubernetes.io/tls Secret (with ca.crt) in %q" $root.Values.nodeAgent.namespace.name (default (printf "%s-ca" (include "goalkeeper.fullname" $root)) $t.certManager.issuerRef.name) $root.Values.nodeAgent.namespace.name) }}
{{- end }}
{{- printf "%s-tls" (include "goalkeeper.componentName" (list $root (include "goalkeeper.tlsComponent" $key))) }}
{{- else }}
{{- $why := "the cluster serves no cert-manager.io/v1 API (install cert-manager; with helm template pass --api-versions cert-manager.io/v1)" }}
{{- if eq (toString $t.certManager.enabled) "false" }}{{ $why = "tls.certManager.enabled is false" }}{{ end }}
{{- fail (printf "tls.%s: no TLS material for the %s: %s and tls.%s.existingSecret is empty; set tls.%s.existingSecret to a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt (scripts/dev-certs.sh makes them), or tls.enabled=false (plaintext: not for production)" $key (include "goalkeeper.tlsComponent" $key) $why $key $key) }}
{{- end }}
{{- end }}
{{- end }}

{{/* A component's TLS volume (list . "coordinator"): nothing when TLS is off. */}}
{{- define "goalkeeper.tlsVolume" -}}
{{- with include "goalkeeper.tlsSecretName" . -}}
- name: tls
  secret:
    secretName: {{ . }}
    defaultMode: 0440
{{- end }}
{{- end }}

{{/* Its mount: read-only, at goalkeeper.tlsDir. */}}
{{- define "goalkeeper.tlsVolumeMount" -}}
{{- if .Values.tls.enabled -}}
- {name: tls, mountPath: {{ include "goalkeeper.tlsDir" . }}, readOnly: true}
{{- end }}
{{- end }}

{{/* The TLS flags of goalkeeper-worker and goalkeeperctl (YAML list items). */}}
{{- define "goalkeeper.tlsArgs" -}}
{{- if .Values.tls.enabled -}}
- --tls-dir={{ include "goalkeeper.tlsDir" . }}
{{- else -}}
- --insecure
{{- end }}
{{- end }}

{{/*
The transport and auth keys of the coordinator's or the notifier's config (list . "notifier"):
health_listen (plaintext grpc.health.v1 for the kubelet's probes), tls or insecure, auth.
*/}}
{{- define "goalkeeper.securityConfig" -}}
{{- $root := index . 0 }}
{{- $comp := index . 1 }}
{{- $v := $root.Values }}
{{- $c := dict "health_listen" (printf "0.0.0.0:%d" (include "goalkeeper.healthPort" $comp | int)) }}
{{- if $v.tls.enabled }}
{{- $_ := set $c "tls" (dict "dir" (include "goalkeeper.tlsDir" $root) "refresh_seconds" $v.tls.refreshSeconds) }}
{{- else }}
{{- $_ := set $c "insecure" true }}
{{- end }}
{{- $a := $v.auth }}
{{- $auth := dict "identities" $a.identities "max_streams_per_identity" $a.maxStreamsPerIdentity }}
{{- if $a.tokens }}
{{- $toks := list }}
{{- range $a.tokens }}
{{- $toks = append $toks (dict "name" .name "file" (printf "%s/%s" (include "goalkeeper.tokenDir" $root) .name) "role" .role) }}
{{- end }}
{{- $_ := set $auth "tokens" $toks }}
{{- end }}
{{- $keys := dict "coordinator" (dict "allowedRanges" "allowed_ranges" "maxProbesPerScan" "max_probes_per_scan" "maxRate" "max_rate" "scansPerHour" "scans_per_hour") "notifier" (dict "maxAcknowledge" "max_acknowledge") }}
{{- $roles := dict }}
{{- range $role, $scope := ($a.roles | default dict) }}
{{- $r := dict }}
{{- range $k, $key := get $keys $comp }}
{{- if hasKey ($scope | default dict) $k }}{{ $_ := set $r $key (get $scope $k) }}{{ end }}
{{- end }}
{{- if $r }}{{ $_ := set $roles $role $r }}{{ end }}
{{- end }}
{{- if $roles }}{{ $_ := set $auth "roles" $roles }}{{ end }}
{{- $_ := set $c "auth" $auth }}
{{- toYaml $c }}
{{- end }}

{{/* The plaintext health port of the coordinator (7072) and the notifier (7073). */}}
{{- define "goalkeeper.healthPort" -}}
{{- get (dict "coordinator" "7072" "notifier" "7073") . }}
{{- end }}

{{/* The auth.tokens files: a projected volume (nothing when there is no token). */}}
{{- define "goalkeeper.tokenVolume" -}}
{{- $sources := list }}
{{- range .Values.auth.tokens }}
{{- $sources = append $sources (dict "secret" (dict "name" .existingSecret "items" (list (dict "key" .existingSecretKey "path" .name)))) }}
{{- end }}
{{- if $sources -}}
- name: auth-tokens
  projected:
    defaultMode: 0440
    sources:
      {{- toYaml $sources | nindent 6 }}
{{- end }}
{{- end }}
