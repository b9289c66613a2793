#!/usr/bin/env bash
# Fails when a component includes another component's headers, or when
# common/ or owner_apis/ (shared code) includes any component. Components
# meet only through proto/ and shared libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
components=(coordinator notifier worker cli node)
# The one allowed edge: the worker binary hosts the node agent
# (`goalkeeper-worker node`, worker/node_command.cc uses the node library).
declare -A uses=([worker]=node)
bad=0
for c in "${components[@]}"; do
  [ -d "$c" ] || continue
  others=$(printf '%s\n' "${components[@]}" | grep -vx "$c" | grep -vxF "${uses[$c]:-}" |
    paste -sd'|')
  if hits=$(grep -rnE "#include \"($others)/" "$c" 2>/dev/null); then
    echo "layering: $c/ includes another component:"; echo "$hits"; bad=1
  fi
done
all=$(printf '%s\n' "${components[@]}" | paste -sd'|')
for shared in common owner_apis engine probes; do
  [ -d "$shared" ] || continue
  if hits=$(grep -rnE "#include \"($all)/" "$shared" 2>/dev/null); then
    echo "layering: shared $shared/ includes a component:"; echo "$hits"; bad=1
  fi
done
exit "$bad"
