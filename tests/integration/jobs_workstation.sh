#!/bin/bash
# jobs/tcet-workstation.sh: mpirun with workers + master, Ctrl-C (SIGINT to
# the script) -> checkpoint and exit 75, the same command again -> resumes
# and ends in the state of an uninterrupted run.  CPU workers (TCET_GPUS=0).
set -u
: "${TCET_BIN:?TCET_BIN not set (run through ctest)}"
SRC=${TCET_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
# Under ASan: slow unwinding, so that the Open MPI leak suppressions
# (tests/lsan.supp) match frames in dlopen'ed MCA components.
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"; fi
$PY -c 'import h5py, numpy' 2>/dev/null || { echo "SKIPPED: /usr/bin/python3 with h5py needed"; exit 77; }
command -v mpirun >/dev/null || { echo "SKIPPED: no mpirun"; exit 77; }
W=$(mktemp -d /tmp/tcet_ws_test.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; tail -n 20 "$W"/*.out >&2; exit 1; }
export TCET_BIN TCET_GPUS=0 TCET_WORKERS=2
ARGS="--proxy params --evolution-max-iter 3000 --population-size 32 --budget-model-size 5e5 --max-layers 18 --window 6 --seed 3 --checkpoint-every 1"
# shellcheck disable=SC2086
mpirun -np 3 "$TCET_BIN" search --save-dir "$W/ref" $ARGS > "$W/ref.out" 2>&1 || fail "reference run"

# Job control on, so that the background script does not start with SIGINT
# ignored (what bash does to asynchronous commands otherwise) - as in a terminal.
set -m
# shellcheck disable=SC2086
TCET_TEST_SCORE_DELAY_US=4000 "$SRC/jobs/tcet-workstation.sh" "$W/run" $ARGS > "$W/first.out" 2>&1 &
P=$!
set +m
for _ in $(seq 300); do [ -f "$W/run/checkpoint.h5" ] && break; sleep 0.1; done
[ -f "$W/run/checkpoint.h5" ] || fail "no checkpoint after 30 s"
kill -INT "$P"
wait "$P"; rc=$?
[ "$rc" = 75 ] || fail "Ctrl-C: exit $rc, expected 75"
grep -q "continue with: .*tcet-workstation.sh $W/run" "$W/first.out" || fail "no resume hint"
[ -f "$W/run/best_structure.txt" ] && fail "interrupted run already finished: slow it down"
"$SRC/jobs/tcet-workstation.sh" "$W/run" > "$W/second.out" 2>&1 || fail "resume: exit $?"
grep -q "search --resume $W/run" "$W/second.out" || fail "second call did not resume"
cmp -s "$W/ref/best_structure.txt" "$W/run/best_structure.txt" || fail "best_structure.txt differs"
"$TCET_BIN" inspect "$W/ref" --json > "$W/a.json" || fail "inspect ref"
"$TCET_BIN" inspect "$W/run" --json > "$W/b.json" || fail "inspect run"
$PY - "$W/a.json" "$W/b.json" <<'PYEOF' || fail "final state differs"
import sys, json
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in ('iteration', 'finished', 'counts', 'best', 'failures'):
    assert a[k] == b[k], k
assert a['population']['members'] == b['population']['members']
print('resumed run identical to the uninterrupted one:', a['iteration'], 'iterations')
PYEOF
echo "PASS: workstation launcher: Ctrl-C -> 75 -> resume -> same result"
