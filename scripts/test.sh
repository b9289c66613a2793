#!/usr/bin/env bash
# Runs every test of Goalkeeper on a Debian 12 machine:
#   1. installs what the build needs (scripts/setup.sh, idempotent);
#   2. checks the layering: a component (coordinator, notifier, worker, cli)
#      never includes another component's headers, and common/ none;
#   3. builds Release (what users and images build) with warnings as errors
#      and runs the whole suite under ctest (unit tests, and multi-process
#      integration tests on loopback; the network-namespace tests need root);
#   4. builds and runs the same suite again under ASan + UBSan;
#   5. builds the libFuzzer targets with clang and runs each for a bounded
#      time (GOALKEEPER_FUZZ_SECONDS per target, default 30).
# Ends with one line "N passed, N failed" counting tests and fuzz runs.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

FUZZ_SECONDS=${GOALKEEPER_FUZZ_SECONDS:-30}
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

run_suite() {  # $1 = build dir, $2... = extra cmake args
  local dir=$1; shift
  echo "== build $dir"
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS"
  echo "== ctest $dir"
  local log="$dir/ctest.log"
  # Serial: the engine tests measure loopback behaviour, keep the CPU for them.
  if ctest --test-dir "$dir" --output-on-failure 2>&1 | tee "$log"; then :; fi
  count_ctest "$log"
}

echo "== layering"
if scripts/check_layering.sh; then
  echo "layering: ok"; passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

run_suite build -DCMAKE_BUILD_TYPE=Release -DGOALKEEPER_WERROR=ON
run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DGOALKEEPER_SANITIZE=ON -DGOALKEEPER_WERROR=ON

echo "== fuzz (${FUZZ_SECONDS}s per target)"
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DGOALKEEPER_FUZZ=ON \
  -DGOALKEEPER_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGOALKEEPER_WERROR=ON >/dev/null
cmake --build build-fuzz -j "$JOBS"
for fuzzer in build-fuzz/tests/fuzz/*_fuzzer; do
  name=$(basename "$fuzzer")
  corpus="build-fuzz/corpus/$name"
  mkdir -p "$corpus"
  seeds=()
  [ -d "tests/fuzz/corpus/$name" ] && seeds=("tests/fuzz/corpus/$name")
  if "$fuzzer" -max_total_time="$FUZZ_SECONDS" -max_len=4096 -print_final_stats=0 \
       "$corpus" "${seeds[@]}" >"build-fuzz/$name.log" 2>&1; then
    echo "fuzz $name: ok ($(grep -oE "^Done [0-9]+ runs" "build-fuzz/$name.log" | grep -oE "[0-9]+" | tail -1) runs)"
    passed=$((passed + 1))
  else
    echo "fuzz $name: FAILED"; tail -40 "build-fuzz/$name.log"
    failed=$((failed + 1))
  fi
done

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
