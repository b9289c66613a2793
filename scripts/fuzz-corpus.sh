#!/usr/bin/env bash
# Grows the fuzz corpora kept in the repository (tests/fuzz/corpus/<fuzzer>/):
# builds the libFuzzer targets (clang, build-fuzz/, as scripts/test.sh does),
# runs each fuzzer for N seconds starting from its kept corpus, then merges
# what it found back with libFuzzer's -merge=1 into a fresh directory, so the
# kept corpus is the minimal set of inputs covering every feature found so
# far. Inputs are at most 4096 bytes (-max_len, as in scripts/test.sh); a
# fuzzer's corpus over --max-kb loses its largest inputs, and the whole
# tests/fuzz/corpus must stay under --total-kb (exit 1 otherwise). Inputs with
# names of their own (seeds that tests read, crash reproducers) are always kept.
#
#   scripts/fuzz-corpus.sh                       # every fuzzer, 60 s each
#   scripts/fuzz-corpus.sh --seconds 300 cron_fuzzer email_render_fuzzer
#   scripts/fuzz-corpus.sh --no-build --seconds 10
#
# A crash stops nothing: its input stays in build-fuzz/fuzz-corpus/<fuzzer>/
# (crash-*), the fuzzer is reported FAILED and the script exits 1 at the end;
# the corpus is still merged. Then `git add tests/fuzz/corpus` and commit.
# Runs --jobs fuzzers at a time (default: the number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=60
JOBS=$(nproc)
BUILD=1
MAX_KB=160
TOTAL_KB=2048
names=()
while (($#)); do
  case "$1" in
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --max-kb) MAX_KB=$2; shift 2 ;;
    --total-kb) TOTAL_KB=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    -*) echo "fuzz-corpus.sh: unknown option '$1'" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
if ! [[ "$SECONDS_EACH" =~ ^[0-9]+$ ]]; then
  echo "--seconds: '$SECONDS_EACH' is not a number" >&2
  exit 2
fi

if ((BUILD)); then
  CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DGOALKEEPER_FUZZ=ON \
    -DGOALKEEPER_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGOALKEEPER_WERROR=ON >/dev/null
  cmake --build build-fuzz -j "$JOBS"
fi

if ((${#names[@]} == 0)); then
  for f in build-fuzz/tests/fuzz/*_fuzzer; do names+=("$(basename "$f")"); done
fi
for name in "${names[@]}"; do
  if [ ! -x "build-fuzz/tests/fuzz/$name" ]; then
    echo "no fuzzer build-fuzz/tests/fuzz/$name" >&2
    exit 2
  fi
done

work=build-fuzz/fuzz-corpus
mkdir -p "$work"

# KiB the files under $1 hold (their bytes, not disk blocks).
size_kb() {
  find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d\n", (s + 1023) / 1024 }'
}

# Keeps the smallest inputs of $1 until it holds at most MAX_KB.
trim() {
  local dir=$1 kb
  kb=$(size_kb "$dir")
  while ((kb > MAX_KB)); do
    local largest
    largest=$(find "$dir" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
    [ -n "$largest" ] || break
    rm -f -- "$largest"
    kb=$(size_kb "$dir")
  done
}

grow() {  # $1 = fuzzer name; verdict in $work/$1.verdict
  local name=$1 bin="build-fuzz/tests/fuzz/$1" kept="tests/fuzz/corpus/$1"
  local found="$work/$name/found" merged="$work/$name/merged" log="$work/$name.log"
  rm -rf "${work:?}/$name"
  mkdir -p "$found" "$merged" "$kept"
  local verdict=ok
  # Crashes are written into the fuzzer's working directory.
  if ! (cd "$work/$name" && "../../../$bin" -max_total_time="$SECONDS_EACH" -max_len=4096 \
          -print_final_stats=1 found "../../../$kept") >"$log" 2>&1; then
    verdict=failed
  fi
  if "$bin" -merge=1 -max_len=4096 "$merged" "$kept" "$found" >>"$log" 2>&1; then
    trim "$merged"
    # Named inputs (hand-written seeds that tests read, crash reproducers)
    # stay whatever the merge thinks of them; only hash-named ones go.
    find "$kept" -maxdepth 1 -type f ! -regex '.*/[0-9a-f]\{40\}' -exec cp -- {} "$merged/" \;
    rm -rf "$kept"
    mkdir -p "$kept"
    find "$merged" -type f -exec cp -- {} "$kept/" \;
  else
    verdict=failed
  fi
  echo "$verdict" >"$work/$name.verdict"
}

for ((i = 0; i < ${#names[@]}; i += JOBS)); do
  pids=()
  for name in "${names[@]:i:JOBS}"; do grow "$name" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || true; done
done

status=0
for name in "${names[@]}"; do
  files=$(find "tests/fuzz/corpus/$name" -type f | wc -l)
  kb=$(size_kb "tests/fuzz/corpus/$name")
  if [ "$(cat "$work/$name.verdict" 2>/dev/null)" = ok ]; then
    echo "$name: ok, corpus $files inputs, ${kb} KiB"
  else
    echo "$name: FAILED (see $work/$name.log and $work/$name/crash-*)"
    tail -20 "$work/$name.log"
    status=1
  fi
done
total=$(size_kb tests/fuzz/corpus)
echo "tests/fuzz/corpus: ${total} KiB (at most ${TOTAL_KB})"
if ((total > TOTAL_KB)); then
  echo "tests/fuzz/corpus is over ${TOTAL_KB} KiB: lower --max-kb and run again" >&2
  status=1
fi
exit "$status"
