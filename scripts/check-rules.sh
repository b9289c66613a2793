#!/usr/bin/env bash
# Checks the chart's Prometheus alert rules (helm/goalkeeper/files/
# prometheus-rules.yaml) with `promtool check rules`, runs their unit tests
# (tests/prometheus/rules_test.yaml) with `promtool test rules`, and checks
# that the Grafana dashboard (helm/goalkeeper/files/grafana-dashboard.json)
# is valid JSON whose panels query only metrics the code exports or the
# rules name (docs/metrics.md lists them).
# promtool comes from scripts/k8s-tools.sh (~/.cache/goalkeeper/tools/bin);
# PROMTOOL overrides it. Offline: promtool runs under `unshare -n` when
# possible. Last line: "rules-checks: N passed, M failed"; exits non-zero on
# any failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROMTOOL="${PROMTOOL:-${GOALKEEPER_TOOLS:-$HOME/.cache/goalkeeper/tools}/bin/promtool}"
RULES="$ROOT/helm/goalkeeper/files/prometheus-rules.yaml"
TESTS="$ROOT/tests/prometheus/rules_test.yaml"
DASHBOARD="$ROOT/helm/goalkeeper/files/grafana-dashboard.json"
PYTHON=/usr/bin/python3

passed=0
failed=0
step() {  # step NAME COMMAND...: runs it, counts it, shows its output on failure
  local name="$1" out
  shift
  if out="$("$@" 2>&1)"; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    echo "$out" | sed 's/^/     /'
  fi
}

if [ ! -x "$PROMTOOL" ]; then
  echo "check-rules: no promtool at $PROMTOOL (build it with scripts/k8s-tools.sh)" >&2
  echo "rules-checks: 0 passed, 1 failed"
  exit 1
fi
offline=()
if unshare -n true 2>/dev/null; then offline=(unshare -n); fi

step "promtool check rules $(basename "$RULES")" "${offline[@]}" "$PROMTOOL" check rules "$RULES"
# promtool resolves rule_files relative to the test file.
step "promtool test rules $(basename "$TESTS")" "${offline[@]}" "$PROMTOOL" test rules "$TESTS"

# Every alert has a unit test that fires it and one evaluation where it does not.
step "every alert is tested firing and not firing" "$PYTHON" - "$RULES" "$TESTS" <<'PY'
import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
tests = yaml.safe_load(open(sys.argv[2]))
alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
fired, quiet = set(), set()
for t in tests["tests"]:
    for a in t.get("alert_rule_test", []):
        (fired if a.get("exp_alerts") else quiet).add(a["alertname"])
bad = sorted((alerts - fired) | (alerts - quiet))
for r in (r for g in rules["groups"] for r in g["rules"] if "alert" in r):
    if r.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
        bad.append(r["alert"] + ": no severity label")
    for k in ("summary", "description", "runbook"):
        if not r.get("annotations", {}).get(k):
            bad.append(r["alert"] + ": no " + k + " annotation")
if bad:
    sys.exit("not covered: " + ", ".join(bad))
PY

step "grafana dashboard queries known metrics" "$PYTHON" - "$DASHBOARD" "$ROOT/docs/metrics.md" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
known = set(re.findall(r"^\| `([a-z_:][a-z0-9_:]*)`", open(sys.argv[2]).read(), re.M))
assert d.get("uid") and d.get("title") and d.get("panels"), "uid, title and panels required"
ids, bad = set(), []
for p in d["panels"]:
    if p["id"] in ids:
        bad.append(f"panel id {p['id']} repeated")
    ids.add(p["id"])
    if p.get("type") == "row":
        continue
    if not p.get("targets"):
        bad.append(f"panel {p['title']!r} has no query")
    for t in p.get("targets", []):
        # Metric names: every query selects with {namespace=~...}, so a name is
        # what stands before a '{' (label names stand before '=', ',' or ')').
        names = re.findall(r"\b([a-z_:][a-z0-9_:]*)\{", t["expr"])
        if not names:
            bad.append(f"panel {p['title']!r}: no metric selector in {t['expr']!r}")
        for name in names:
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if name not in known and base not in known:
                bad.append(f"panel {p['title']!r}: {name} is not in docs/metrics.md")
if bad:
    sys.exit("\n".join(bad))
PY

# The dashboard's queries parse as PromQL: promtool checks them as recording
# rules of a scratch file (Grafana's variables replaced by what they expand to).
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
"$PYTHON" - "$DASHBOARD" "$scratch/dashboard-rules.yaml" <<'PY'
import json, sys, yaml
d = json.load(open(sys.argv[1]))
rules = []
for p in d["panels"]:
    for t in p.get("targets", []):
        rules.append({"record": f"dashboard:panel{p['id']}:{t['refId']}",
                      "expr": t["expr"].replace("$namespace", ".*")})
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(sys.argv[2], "w"))
PY
step "grafana dashboard queries parse (promtool)" "${offline[@]}" "$PROMTOOL" check rules \
  "$scratch/dashboard-rules.yaml"

echo "rules-checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
