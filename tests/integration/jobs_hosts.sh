#!/bin/bash
# jobs/tcet-hosts.sh, the multi-host mpirun launcher, on a one-host list: the
# host-list code path (Open MPI host file with G + 1 slots on the first host),
# a search to the end with the master beside two CPU workers, their binding
# lines; a bad host list is refused.
set -u
: "${TCET_BIN:?TCET_BIN not set (run through ctest)}"
SRC=${TCET_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"; fi
command -v mpirun >/dev/null || { echo "SKIPPED: no mpirun"; exit 77; }
W=$(mktemp -d /tmp/tcet_hosts_test.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$W"/*.out >&2; exit 1; }
export TCET_BIN
printf '# the test machine\nlocalhost\n\n' > "$W/hosts"
ARGS="--proxy params --dataset synthetic --evolution-max-iter 300 --population-size 8 --budget-model-size 5e5 --seed 5"
# shellcheck disable=SC2086
TCET_WORKERS_PER_HOST=2 "$SRC/jobs/tcet-hosts.sh" "$W/hosts" "$W/run" $ARGS > "$W/a.out" 2>&1 || fail "tcet-hosts.sh: exit $?"
grep -q "tcet-hosts: 1 host(s) x 2 worker(s) + the master on localhost" "$W/a.out" || fail "layout line"
grep -q "binding: rank 1: node .*, local worker 0" "$W/a.out" || fail "rank 1 binding"
grep -q "binding: rank 2: node .*, local worker 1" "$W/a.out" || fail "rank 2 binding"
[ -s "$W/run/best_structure.txt" ] || fail "no best structure"
grep -q "2 worker rank(s)" "$W/run/search.log" || fail "search.log: not 2 workers"
# a finished run: the same command says so and exits 0
TCET_WORKERS_PER_HOST=2 "$SRC/jobs/tcet-hosts.sh" "$W/hosts" "$W/run" > "$W/b.out" 2>&1 || fail "rerun: exit $?"
grep -q "already finished" "$W/b.out" || fail "rerun of a finished run"
# refused: an empty host list, no GPU count
printf '# nothing\n' > "$W/empty"
"$SRC/jobs/tcet-hosts.sh" "$W/empty" "$W/r2" > "$W/c.out" 2>&1; rc=$?
[ "$rc" = 2 ] && grep -q "names no host" "$W/c.out" || fail "empty host list: exit $rc"
TCET_GPUS_PER_HOST=0 "$SRC/jobs/tcet-hosts.sh" "$W/hosts" "$W/r2" > "$W/d.out" 2>&1; rc=$?
[ "$rc" = 2 ] && grep -q "set TCET_GPUS_PER_HOST" "$W/d.out" || fail "no GPU count: exit $rc"
rm -f "$W"/*.out
echo "PASS"
