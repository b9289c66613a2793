#!/usr/bin/env bash
# Node-check benchmark: firewall-log parse-and-aggregate throughput on one
# core, Goalkeeper's agent code path against its peers, in one run.
#
#   bench/node_bench.sh [--lines N] [--fail2ban-lines N] [--reps N] [--cpu C] [--out DIR]
#
#   --lines N           synthetic syslog size (default 1000000 lines, about 116 MB)
#   --fail2ban-lines N  fail2ban-regex reads only the first N lines (default
#                       200000): it is about 200 times slower; its MB/s is
#                       computed over the bytes it read
#   --reps N            runs per tool, the median kept (default 5; fail2ban 3)
#                       (the run with the median wall time; its CPU time too)
#   --cpu C             the core everything is pinned to (default 1)
#   --out DIR           run directory (default /var/tmp/gkbench/node-<timestamp>)
#   --wait-idle S       first wait up to S seconds for the machine to be idle
#                       (under 10% of all cores busy over 5 s; default 0: no
#                       wait); how busy it was is in the results either way
#
# Environment: GK_NODE_BENCH_BIN (default <repo>/build/bench/node_bench; build it
# with `cmake --build build --target node_bench`).
#
# Tools, each reading the same file from the page cache (read once before, so
# it is warm), pinned with `taskset -c C`, each run once as a warm-up first:
#   goalkeeper  bench/node_bench: LogFollower -> ParseFirewallLine ->
#               FirewallRule::Matches -> HitAggregator (every hit fully parsed,
#               timestamp included; the other lines skipped by the rule's
#               literal prefix)
#   grep -cF    counts the prefix's lines: the ceiling, it extracts nothing
#   pipeline    the original tool: grep -F | awk (SRC=) | sort | uniq -c
#   fail2ban    fail2ban-regex with bench/fail2ban/goalkeeper-tftp.conf (no
#               server), `-o ip` prints each match's address
# Every tool's per-source counts are checked against the generator's answer
# (fail2ban's against the pipeline's and goalkeeper's on its prefix); any
# difference fails the run (exit 1). Results: $OUT/results.md (Markdown, also
# on stdout) and $OUT/results.tsv; every tool's output beside them.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
NODE_BENCH="${GK_NODE_BENCH_BIN:-$REPO_DIR/build/bench/node_bench}"
LINES=1000000
F2B_LINES=200000
REPS=5
CPU=1
OUT="/var/tmp/gkbench/node-$(date +%Y%m%dT%H%M%S)"
PREFIX='IPTables-TFTP-Rejected: '
WAIT_IDLE=0
while (($#)); do
  case "$1" in
    --lines) LINES=$2; shift 2 ;;
    --fail2ban-lines) F2B_LINES=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --cpu) CPU=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --wait-idle) WAIT_IDLE=$2; shift 2 ;;
    -h|--help) sed -n '2,37p' "$0"; exit 0 ;;
    *) echo "node_bench.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ -x $NODE_BENCH ]] || { echo "node_bench.sh: $NODE_BENCH not built" >&2; exit 1; }
mkdir -p "$OUT"
log() { printf '[node_bench] %s\n' "$*" >&2; }
FAILED=0
fail() { log "CHECK FAILED: $*"; echo "CHECK FAILED: $*" >>"$OUT/checks.txt"; FAILED=1; }
: >"$OUT/checks.txt"

# ------------------------------------------------------------- the input ---
LOG="$OUT/syslog"
log "generating $LINES lines into $LOG"
python3 "$BENCH_DIR/gen_syslog.py" "$LOG" "$OUT/expected.tsv" --lines "$LINES"
head -n "$F2B_LINES" "$LOG" >"$LOG.head"
BYTES=$(stat -c %s "$LOG")
HEAD_BYTES=$(stat -c %s "$LOG.head")
HITS=$(awk '$1 == "#" && $2 == "hits" {print $3}' "$OUT/expected.tsv")
# SOURCE<TAB>HITS, sorted: the form every tool's counts are brought to.
awk -F'\t' '!/^#/ {print $1 "\t" $2}' "$OUT/expected.tsv" | LC_ALL=C sort >"$OUT/expected.counts"
# Into the page cache (wc -l reads every byte; cat to /dev/null may not).
wc -l "$LOG" "$LOG" "$LOG.head" >/dev/null

cpu_busy_ticks() { awk '/^cpu / {print $2+$3+$4+$7+$8}' /proc/stat; }
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
busy_pct() {  # share of all cores busy over 5 s
  local b0 b1
  b0=$(cpu_busy_ticks); sleep 5; b1=$(cpu_busy_ticks)
  echo $(((b1 - b0) * 100 / (5 * HZ * NCPU)))
}
deadline=$((SECONDS + WAIT_IDLE))
BUSY=$(busy_pct)
while ((BUSY >= 10 && SECONDS < deadline)); do
  log "machine ${BUSY}% busy with other work; waiting (up to $((deadline - SECONDS)) s more)"
  sleep 20
  BUSY=$(busy_pct)
done
{
  echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "cpu:      $(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -1) ($NCPU cores), pinned to core $CPU"
  echo "kernel:   $(uname -r)"
  echo "git:      $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "input:    $LINES lines, $BYTES bytes, $HITS hits; fail2ban: first $F2B_LINES lines, $HEAD_BYTES bytes"
  echo "tools:    $(grep --version | head -1); awk = $(readlink -f "$(command -v awk)"); $(sort --version | head -1); fail2ban-regex $(fail2ban-regex -V 2>/dev/null | head -1 || echo 'not installed')"
  echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start; ${BUSY}% of all cores busy over the 5 s before"
} >"$OUT/env.txt"

# measure NAME REPS OUTFILE -- CMD...: runs CMD once as a warm-up (not
# counted: the first run of a tool is up to twice as slow), then REPS times
# pinned to $CPU, stdout to OUTFILE (the last run's), and prints "wall_s cpu_s
# other_cpu_s" of the run with the median wall time. other_cpu_s is what the
# rest of the machine was busy with meanwhile (all cores), from /proc/stat.
measure() {
  local name=$1 reps=$2 outfile=$3 r t0 t1 b0 b1 tf wall user sys
  shift 4
  tf="$OUT/$name.times"
  : >"$tf"
  taskset -c "$CPU" "$@" >"$outfile" 2>"$OUT/$name.err" ||
    { log "$name failed (warm-up): $(tail -3 "$OUT/$name.err")"; return 1; }
  for ((r = 1; r <= reps; r++)); do
    b0=$(cpu_busy_ticks)
    t0=$(date +%s%N)
    # bash's `time` gives wall, user and sys of the command and its children.
    { TIMEFORMAT='%3R %3U %3S'; time taskset -c "$CPU" "$@" >"$outfile" 2>"$OUT/$name.err"; } \
      2>"$OUT/$name.time.$r" || { log "$name failed (run $r): $(tail -3 "$OUT/$name.err")"; return 1; }
    t1=$(date +%s%N)
    b1=$(cpu_busy_ticks)
    read -r wall user sys <"$OUT/$name.time.$r"
    awk -v w="$wall" -v u="$user" -v s="$sys" -v b=$((b1 - b0)) -v hz="$HZ" 'BEGIN {
      o = b / hz - u - s; printf "%.3f %.3f %.2f\n", w, u + s, o < 0 ? 0 : o }' >>"$tf"
  done
  sort -n "$tf" | sed -n "$(((reps + 1) / 2))p"
}

declare -A WALL CPUS OTHER INPUT_BYTES NOTE
record() {  # record NAME "wall cpu other" INPUT_BYTES NOTE
  read -r WALL[$1] CPUS[$1] OTHER[$1] <<<"$2" || true
  INPUT_BYTES[$1]=$3
  NOTE[$1]=$4
}

# ------------------------------------------------------------ goalkeeper ---
log "goalkeeper (node_bench), $REPS runs"
res=$(measure goalkeeper "$REPS" "$OUT/goalkeeper.out" -- \
  "$NODE_BENCH" --log "$LOG" --expected "$OUT/expected.tsv" --counts "$OUT/goalkeeper.tsv") ||
  fail "goalkeeper: node_bench exited non-zero (its counts differ from expected.tsv: $OUT/goalkeeper.err)"
record goalkeeper "$res" "$BYTES" \
  "in-process $(awk '$1 == "seconds" {print $2}' "$OUT/goalkeeper.out") s ($(awk '$1 == "mb_per_s" {print $2}' "$OUT/goalkeeper.out") MB/s) of the last run"
cut -f1,2 "$OUT/goalkeeper.tsv" | LC_ALL=C sort >"$OUT/goalkeeper.counts"
cmp -s "$OUT/goalkeeper.counts" "$OUT/expected.counts" || fail "goalkeeper per-source counts differ"
# The same path without the literal pre-filter in the follower, for the record.
res=$(measure goalkeeper-callback "$REPS" "$OUT/goalkeeper-callback.out" -- \
  "$NODE_BENCH" --log "$LOG" --expected "$OUT/expected.tsv" --filter callback) ||
  fail "goalkeeper --filter callback: counts differ"
record goalkeeper-callback "$res" "$BYTES" "every line delivered, FirewallRule::MayMatchLine on each"
res=$(measure goalkeeper-none "$REPS" "$OUT/goalkeeper-none.out" -- \
  "$NODE_BENCH" --log "$LOG" --expected "$OUT/expected.tsv" --filter none) ||
  fail "goalkeeper --filter none: counts differ"
record goalkeeper-none "$res" "$BYTES" "every line parsed (no pre-filter at all)"

# --------------------------------------------------------------- grep -cF ---
log "grep -cF, $REPS runs"
res=$(measure grep "$REPS" "$OUT/grep.out" -- grep -cF "$PREFIX" "$LOG")
record grep "$res" "$BYTES" "counts lines, extracts nothing"
[[ $(cat "$OUT/grep.out") == "$HITS" ]] || fail "grep -cF counted $(cat "$OUT/grep.out"), expected $HITS"

# --------------------------------------------------------------- pipeline ---
# As the original CronJob did it: the prefix's lines, SRC= of each, counted.
PIPELINE="grep -F '$PREFIX' \"\$1\" | awk '{for (i = 1; i <= NF; i++) if (\$i ~ /^SRC=/) {print substr(\$i, 5); break}}' | sort | uniq -c"
log "pipeline, $REPS runs: $PIPELINE"
res=$(measure pipeline "$REPS" "$OUT/pipeline.out" -- bash -c "$PIPELINE" pipeline "$LOG")
record pipeline "$res" "$BYTES" "grep -F \| awk \| sort \| uniq -c, all on core $CPU"
awk '{print $2 "\t" $1}' "$OUT/pipeline.out" | LC_ALL=C sort >"$OUT/pipeline.counts"
cmp -s "$OUT/pipeline.counts" "$OUT/expected.counts" || fail "pipeline per-source counts differ"

# --------------------------------------------------------------- fail2ban ---
if command -v fail2ban-regex >/dev/null 2>&1; then
  F2B_REPS=$((REPS < 3 ? REPS : 3))
  log "fail2ban-regex on the first $F2B_LINES lines, $F2B_REPS runs (no network: unshare -n)"
  res=$(measure fail2ban "$F2B_REPS" "$OUT/fail2ban.out" -- unshare -n fail2ban-regex -r -o ip \
    "$LOG.head" "$BENCH_DIR/fail2ban/goalkeeper-tftp.conf")
  # Its start-up (Python, the filter) on a one-line file, to tell it apart.
  head -n 1 "$LOG" >"$LOG.one"
  startup=$(measure fail2ban-startup "$F2B_REPS" "$OUT/fail2ban-startup.out" -- unshare -n \
    fail2ban-regex -r -o ip "$LOG.one" "$BENCH_DIR/fail2ban/goalkeeper-tftp.conf")
  read -r f2b_wall _ <<<"$res"
  read -r f2b_start _ <<<"$startup"
  record fail2ban "$res" "$HEAD_BYTES" "$(awk -v n="$F2B_LINES" -v w="$f2b_wall" -v s="$f2b_start" \
    -v b="$HEAD_BYTES" 'BEGIN {printf "first %d lines only, MB/s over the bytes it read; of its wall time %.2f s is start-up (a one-line file), without it %.1f MB/s", n, s, (w > s ? b / 1e6 / (w - s) : 0)}')"
  LC_ALL=C sort "$OUT/fail2ban.out" | uniq -c | awk '{print $2 "\t" $1}' | LC_ALL=C sort \
    >"$OUT/fail2ban.counts"
  # The same prefix through goalkeeper and the pipeline: all three must agree.
  "$NODE_BENCH" --log "$LOG.head" --reference "$(awk '$2 == "reference" {print $3}' "$OUT/expected.tsv")" \
    --counts "$OUT/goalkeeper.head.tsv" >/dev/null
  cut -f1,2 "$OUT/goalkeeper.head.tsv" | LC_ALL=C sort >"$OUT/goalkeeper.head.counts"
  bash -c "$PIPELINE" pipeline "$LOG.head" | awk '{print $2 "\t" $1}' | LC_ALL=C sort \
    >"$OUT/pipeline.head.counts"
  cmp -s "$OUT/fail2ban.counts" "$OUT/pipeline.head.counts" || fail "fail2ban counts differ from the pipeline's"
  cmp -s "$OUT/fail2ban.counts" "$OUT/goalkeeper.head.counts" || fail "fail2ban counts differ from goalkeeper's"
  if pgrep -x fail2ban-server >/dev/null; then
    log "WARNING: a fail2ban-server runs on this machine (not started by this script)"
  fi
else
  log "fail2ban-regex not installed (bench/install_peers.sh installs it): skipped"
fi

# ---------------------------------------------------------------- report ---
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at the end" >>"$OUT/env.txt"
GK_MBS=$(awk -v b="$BYTES" -v w="${WALL[goalkeeper]:-0}" 'BEGIN {printf "%.1f", (w > 0 ? b / 1e6 / w : 0)}')
GK_CMBS=$(awk -v b="$BYTES" -v w="${CPUS[goalkeeper]:-0}" 'BEGIN {printf "%.1f", (w > 0 ? b / 1e6 / w : 0)}')
{
  echo "### Node checks: firewall-log throughput on one core"
  echo
  sed 's/^/    /' "$OUT/env.txt"
  echo
  echo "| tool | input MB | wall s (median of runs) | MB/s | CPU s | CPU MB/s | other CPU s | goalkeeper ÷ tool, MB/s | goalkeeper ÷ tool, CPU MB/s | note |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  for t in goalkeeper goalkeeper-callback goalkeeper-none grep pipeline fail2ban; do
    [[ -n ${WALL[$t]:-} ]] || continue
    NOTE_TEXT="${NOTE[$t]}" awk -v t="$t" -v b="${INPUT_BYTES[$t]}" -v w="${WALL[$t]}" \
      -v c="${CPUS[$t]}" -v o="${OTHER[$t]}" -v g="$GK_MBS" -v gc="$GK_CMBS" 'BEGIN {
        n = ENVIRON["NOTE_TEXT"]
        mbs = b / 1e6 / w; cmbs = c > 0 ? b / 1e6 / c : 0
        printf "| %s | %.1f | %.3f | %.1f | %.3f | %.1f | %.2f | %s | %s | %s |\n", t, b / 1e6, w, mbs,
          c, cmbs, o, (t == "goalkeeper" ? "1" : sprintf("%.2f", g / mbs)),
          (t == "goalkeeper" ? "1" : (cmbs > 0 ? sprintf("%.2f", gc / cmbs) : "-")), n }'
  done
  echo
  if [[ $FAILED -eq 0 ]]; then
    echo "Counts checked: every tool's per-source counts equal the generator's ($HITS hits, $(wc -l <"$OUT/expected.counts") sources; fail2ban's equal goalkeeper's and the pipeline's on its prefix)."
  else
    echo "**COUNT CHECKS FAILED:**"
    sed 's/^/- /' "$OUT/checks.txt"
  fi
} | tee "$OUT/results.md"
for t in goalkeeper goalkeeper-callback goalkeeper-none grep pipeline fail2ban; do
  [[ -n ${WALL[$t]:-} ]] || continue
  printf '%s\t%s\t%s\t%s\t%s\n' "$t" "${INPUT_BYTES[$t]}" "${WALL[$t]}" "${CPUS[$t]}" "${OTHER[$t]}"
done >"$OUT/results.tsv"
log "results: $OUT/results.md"
exit "$FAILED"
