#!/usr/bin/env bash
# The whole test suite, as CI runs it (README: "run the tests").
#  1. installs what is missing (apt-get), 2. builds with warnings as errors and
#  the CUDA backend when the toolkit is present, runs every test (GPU-labelled
#  tests skip themselves without a GPU), 3. builds CPU-only with
#  AddressSanitizer + UndefinedBehaviorSanitizer and runs the suite again.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
scripts/setup-deps.sh --tests || exit 1

jobs=$(nproc)
status=0
total_pass=0; total_fail=0; total_skip=0
run_suite() { # name build-dir [ctest args...]
  local name=$1 dir=$2; shift 2
  echo "=== $name: ctest in $dir"
  local log="$dir/ctest.log"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line; line=$(grep -E "tests passed, [0-9]+ tests failed out of" "$log" | tail -1)
  local failed; failed=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
  local all; all=$(echo "$line" | sed -E 's/.* tests failed out of ([0-9]+).*/\1/')
  local skipped; skipped=$(grep -cE "^[[:space:]]+[0-9]+ - .*\(Skipped\)$" "$log")
  [ -n "$all" ] && total_pass=$((total_pass + all - failed - skipped)) && total_fail=$((total_fail + failed)) \
    && total_skip=$((total_skip + skipped))
  [ "$rc" -ne 0 ] && status=1
}

echo "=== build: Release, -Werror, CUDA=${TCET_CUDA:-AUTO}"
scripts/build.sh build -DCMAKE_BUILD_TYPE=Release -DTCET_WERROR=ON -DTCET_CUDA="${TCET_CUDA:-AUTO}" || exit 1
run_suite "release" build

if [ "${TCET_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "=== build: ASan+UBSan, CPU only, -Werror"
  scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTCET_WERROR=ON -DTCET_CUDA=OFF -DTCET_SANITIZE=ON || exit 1
  run_suite "asan+ubsan" build-asan
fi

# GPU-labelled tests are the only ones allowed to skip (no GPU on this machine).
echo "suite: ${total_pass} passed, ${total_fail} failed, ${total_skip} skipped"
exit $status
