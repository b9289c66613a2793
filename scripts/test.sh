#!/usr/bin/env bash
# Runs every test of Goalkeeper on a Debian 12 machine:
#   1. installs what the build needs (scripts/setup.sh, idempotent);
#   2. checks the layering: a component (coordinator, notifier, worker, cli)
#      never includes another component's headers, and common/ none;
#   3. builds Release (what users and images build) with warnings as errors
#      and runs the whole suite under ctest, one test per core (unit tests, and
#      multi-process integration tests on loopback; the network-namespace
#      tests need root);
#   4. builds and runs the same suite again under ASan + UBSan;
#   5. builds the libFuzzer targets with clang (in the background, at low
#      priority, while the suites run) and runs each for a bounded
#      time (GOALKEEPER_FUZZ_SECONDS per target, default 20) from the corpora
#      kept in tests/fuzz/corpus (scripts/fuzz-corpus.sh grows them);
#   6. Kubernetes packaging: the chart's offline checks (scripts/chart-test.sh:
#      lint, render, strict 1.31 schemas, values schema, helm-unittest, the
#      rendered configs through the binaries' --check-config), the alert rules
#      (scripts/check-rules.sh: promtool), the image (scripts/build-images.sh,
#      scripts/image-smoke-test.sh) and the chart on a real single-node
#      cluster (tests/cluster/chart_cluster_test.sh, root only).
# What does not need the C++ suites runs beside them from the start, at nice
# 19 so the suites keep the CPU: the Go tools (Helm and promtool for the chart
# checks; the Kubernetes binaries and CoreDNS for the cluster), built once into
# ~/.cache/goalkeeper/tools by scripts/k8s-tools.sh, and the image build.
# The C++ builds go through ccache (~/.cache/goalkeeper/ccache): exact, and a
# second run on the same machine recompiles only what changed.
# Ends with one line "N passed, N failed" counting tests, fuzz runs and checks.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

mkdir -p build
# In the background, at low priority; each is waited for where it is needed.
# The Go tools: the chart's (a few minutes cold) and the cluster's (about
# 25 minutes cold); nothing when cached.
nice -n 19 scripts/k8s-tools.sh chart >build/k8s-tools-chart.log 2>&1 &
CHART_TOOLS_PID=$!
nice -n 19 scripts/k8s-tools.sh cluster >build/k8s-tools-cluster.log 2>&1 &
CLUSTER_TOOLS_PID=$!
# The image: its own Release build inside podman (its layers are cached).
nice -n 19 scripts/build-images.sh >build/build-images.log 2>&1 &
IMAGES_PID=$!

CACHE="${GOALKEEPER_CACHE:-$HOME/.cache/goalkeeper}"
export CCACHE_DIR="${CCACHE_DIR:-$CACHE/ccache}" CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-8G}"
LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)

FUZZ_SECONDS=${GOALKEEPER_FUZZ_SECONDS:-20}
JOBS=$(nproc)
passed=0
failed=0

count_ctest() {  # $1 = ctest log
  local line
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$1" | tail -1 || true)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  local total fails
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
  fails=$(sed -E 's/.*tests passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
  passed=$((passed + total - fails))
  failed=$((failed + fails))
}

build_suite() {  # $1 = build dir, $2... = extra cmake args
  local dir=$1; shift
  echo "== build $dir"
  cmake -S . -B "$dir" -G Ninja "${LAUNCHER[@]}" "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS"
}

ctest_suite() {  # $1 = build dir
  local dir=$1
  echo "== ctest $dir"
  local log="$dir/ctest.log"
  # One test per core; the suites that measure rates and timing on loopback
  # (the engine, the fleet, the worker) are RUN_SERIAL (tests/CMakeLists.txt)
  # and run alone, and cases sharing fixed loopback addresses take a lock.
  if ctest --test-dir "$dir" -j "$JOBS" --output-on-failure 2>&1 | tee "$log"; then :; fi
  count_ctest "$log"
}

echo "== layering"
if scripts/check_layering.sh; then
  echo "layering: ok"; passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

build_suite build -DCMAKE_BUILD_TYPE=Release -DGOALKEEPER_WERROR=ON
# The fuzz targets (clang) build in the background, one job at nice 10, while
# the suites run (their RUN_SERIAL tests leave a core idle). Waited for
# before fuzzing.
echo "== build build-fuzz (in the background)"
(
  CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja "${LAUNCHER[@]}" -DGOALKEEPER_FUZZ=ON \
    -DGOALKEEPER_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGOALKEEPER_WERROR=ON >/dev/null &&
    nice -n 10 cmake --build build-fuzz -j 1
) >build/build-fuzz.log 2>&1 &
FUZZ_BUILD_PID=$!
ctest_suite build
build_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DGOALKEEPER_SANITIZE=ON -DGOALKEEPER_WERROR=ON
ctest_suite build-asan

echo "== fuzz (${FUZZ_SECONDS}s per target)"
if ! wait "$FUZZ_BUILD_PID"; then
  echo "build build-fuzz: FAILED"; tail -40 build/build-fuzz.log
  failed=$((failed + 1))
fi
# Anything left (or a failed build's error again, in the log above).
cmake --build build-fuzz -j "$JOBS"
# One fuzzer per core at a time: each runs FUZZ_SECONDS of wall time.
run_fuzzer() {  # $1 = fuzzer binary; its verdict goes to build-fuzz/NAME.verdict
  local fuzzer=$1 name corpus
  name=$(basename "$fuzzer")
  corpus="build-fuzz/corpus/$name"
  mkdir -p "$corpus"
  local seeds=()
  [ -d "tests/fuzz/corpus/$name" ] && seeds=("tests/fuzz/corpus/$name")
  if "$fuzzer" -max_total_time="$FUZZ_SECONDS" -max_len=4096 -print_final_stats=0 \
       "$corpus" "${seeds[@]}" >"build-fuzz/$name.log" 2>&1; then
    echo ok >"build-fuzz/$name.verdict"
  else
    echo failed >"build-fuzz/$name.verdict"
  fi
}
fuzzers=(build-fuzz/tests/fuzz/*_fuzzer)
for ((i = 0; i < ${#fuzzers[@]}; i += JOBS)); do
  pids=()
  for f in "${fuzzers[@]:i:JOBS}"; do run_fuzzer "$f" & pids+=($!); done
  wait "${pids[@]}"  # only these: the Go tools' build goes on in the background
done
for fuzzer in "${fuzzers[@]}"; do
  name=$(basename "$fuzzer")
  if [ "$(cat "build-fuzz/$name.verdict" 2>/dev/null)" = ok ]; then
    echo "fuzz $name: ok ($(grep -oE "^Done [0-9]+ runs" "build-fuzz/$name.log" | grep -oE "[0-9]+" | tail -1) runs)"
    passed=$((passed + 1))
  else
    echo "fuzz $name: FAILED"; tail -40 "build-fuzz/$name.log"
    failed=$((failed + 1))
  fi
done

count_script() {  # $1 = log whose last "N passed, M failed" line counts
  local line
  line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$1" | tail -1 || true)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  passed=$((passed + $(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line")))
  failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
}

run_script() {  # NAME CMD...: runs a check script, counts its summary line
  local name=$1; shift
  echo "== $name"
  local log="build/$name.log"
  if "$@" 2>&1 | tee "$log"; then :; fi
  count_script "$log"
}

wait_job() {  # NAME PID LOG: waits for a background job, counts its outcome
  echo "== $1"
  if wait "$2"; then
    echo "$1: ok"; passed=$((passed + 1)); return 0
  fi
  echo "$1: FAILED"; tail -40 "$3"
  failed=$((failed + 1)); return 1
}

if wait_job "Go tools for the chart (scripts/k8s-tools.sh chart)" "$CHART_TOOLS_PID" \
     build/k8s-tools-chart.log; then
  run_script chart-tests env GOALKEEPER_BIN=build scripts/chart-test.sh
  run_script rules scripts/check-rules.sh
else
  echo "chart-tests, rules: not run (no tools)"; failed=$((failed + 2))
fi
images_ok=0
if wait_job "images (scripts/build-images.sh)" "$IMAGES_PID" build/build-images.log; then
  images_ok=1
  grep -E '^(image:|build-images: .* took)' build/build-images.log || true
  run_script image-smoke scripts/image-smoke-test.sh
fi
tools_ok=0
wait_job "Go tools for the cluster (scripts/k8s-tools.sh cluster)" "$CLUSTER_TOOLS_PID" \
  build/k8s-tools-cluster.log && tools_ok=1
if [ "$(id -u)" -ne 0 ]; then
  echo "cluster: not run (needs root for the network namespace, containerd and the kubelet)"
  failed=$((failed + 1))
elif [ "$images_ok" -eq 1 ] && [ "$tools_ok" -eq 1 ]; then
  run_script cluster env GOALKEEPER_BIN=build tests/cluster/chart_cluster_test.sh
else
  echo "cluster: not run (no image or no tools)"; failed=$((failed + 1))
fi

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
