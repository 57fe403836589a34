#!/bin/bash
# A real `tcet search` under SLURM with the project's job script
# (jobs/tcet-cifar.sbatch): USR1 mid-run (as --signal=B:USR1@120 delivers it
# before the time limit) -> tcet checkpoints and exits 75 -> the job requeues
# itself under the same id -> it resumes from runs/<name>-<id> and finishes
# with exactly the state of an uninterrupted run (population, history,
# counts, best structure).
set -u
: "${TCET_BIN:?TCET_BIN not set (run through ctest)}"
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${TCET_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
PY=/usr/bin/python3
# Under ASan: slow unwinding, so that the Open MPI leak suppressions
# (tests/lsan.supp) match frames in dlopen'ed MCA components.
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"; fi
# shellcheck source=slurm_lib.sh
source "$HERE/slurm_lib.sh"
$PY -c 'import h5py, numpy' 2>/dev/null || skip "/usr/bin/python3 with h5py+numpy is needed to compare checkpoints"
command -v mpirun >/dev/null || skip "no mpirun"
slurm_require

slurm_test_dir slurm_resume
fail() {
    echo "FAIL: $*" >&2
    slurm_dump 25 "$T"/out/*.out "$T"/runs/*/search.log "$T"/slurm/log/slurmctld.log
    exit 1
}

ARGS="--proxy params --evolution-max-iter 3000 --population-size 32 --budget-model-size 5e5 --max-layers 18 --window 6 --seed 3 --checkpoint-every 1"
# Reference: the same search, uninterrupted, outside SLURM.
# shellcheck disable=SC2086
mpirun -np 3 "$TCET_BIN" search --save-dir "$T/ref" $ARGS > "$T/ref.out" 2>&1 || { cat "$T/ref.out"; fail "reference run"; }

mkdir -p "$T/out"
slurm_start "$T/slurm" || fail "SLURM did not start"
# 3 tasks (master + 2 workers) on the CPU-only test node; the script's GPU
# request is overridden (no GRES here). Scoring is slowed down (test hook)
# so that the signal lands in the middle of the run.
JOB=$(cd "$T/out" && TCET_BIN="$TCET_BIN" TCET_RUNS_DIR="$T/runs" TCET_SEARCH_ARGS="$ARGS" \
      TCET_TEST_SCORE_DELAY_US=4000 \
      sbatch --parsable -n 3 -O --gpus-per-node=0 --cpus-per-task=1 --time=5 \
             "$SRC/jobs/tcet-cifar.sbatch") || fail "sbatch refused the job script"
JOB=${JOB%%;*}
RUN=$T/runs/tcet-cifar-$JOB
echo "job $JOB, run dir $RUN"
slurm_wait_state "$JOB" RUNNING 60 >/dev/null || fail "job did not start"
for _ in $(seq 300); do [ -f "$RUN/checkpoint.h5" ] && break; sleep 0.1; done
[ -f "$RUN/checkpoint.h5" ] || fail "no checkpoint in $RUN after 30 s"
scancel --signal=USR1 --batch "$JOB" || fail "scancel --signal=USR1 --batch"
st=$(slurm_wait_state "$JOB" PENDING 60) || fail "job was not requeued after USR1 (state $st)"
at=$($PY -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); print(int(f.attrs['committed']), int(f.attrs['finished']))" "$RUN/checkpoint.h5")
echo "interrupted with checkpoint at iteration/finished: $at"
case "$at" in
    "3000 "*|*" 1") fail "the run finished before the signal: slow it down" ;;
esac
slurm_skip_requeue_delay "$JOB"
st=$(slurm_wait_state "$JOB" COMPLETED 180) || fail "requeued job did not complete (state $st)"

out=$T/out/tcet-cifar-$JOB.out
grep -q "tcet exited with 75" "$out" || fail "first session did not exit 75"
grep -q "requeueing job $JOB" "$out" || fail "no requeue"
grep -q "search --resume $RUN" "$out" || fail "second session did not use --resume"
grep -q "tcet exited with 0" "$out" || fail "second session did not finish"
grep -q "resuming at iteration" "$RUN/search.log" || fail "search.log shows no resume"
[ "$(scontrol show job "$JOB" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')" = 1 ] || fail "expected exactly one restart"

# Same final state as the uninterrupted run.
cmp -s "$T/ref/best_structure.txt" "$RUN/best_structure.txt" || fail "best_structure.txt differs"
$PY - "$T/ref/checkpoint.h5" "$RUN/checkpoint.h5" <<'PYEOF' || fail "checkpoints differ"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
for ds in ('population', 'history'):
    x, y = a[ds][...], b[ds][...]
    if len(x) != len(y): sys.exit(f'{ds}: {len(x)} vs {len(y)} rows')
    for f in x.dtype.names:
        if f == 'seconds': continue          # scoring wall time
        u, v = x[f], y[f]
        eq = np.array_equal(u, v, equal_nan=True) if u.dtype.kind == 'f' else list(u) == list(v)
        if not eq: sys.exit(f'{ds}.{f} differs')
if not np.array_equal(a['counts'][...], b['counts'][...]): sys.exit('counts differ')
print('identical to the uninterrupted run:', len(a['population']), 'members,', len(a['history']), 'iterations')
PYEOF
# And as the user sees it.
"$TCET_BIN" inspect "$RUN" --json > "$T/a.json" && "$TCET_BIN" inspect "$T/ref" --json > "$T/b.json" || fail "inspect"
$PY - "$T/a.json" "$T/b.json" <<'PYEOF' || fail "inspect --json differs"
import sys, json
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in ('iteration', 'finished', 'counts', 'best'):
    assert a[k] == b[k], k
assert a['population']['members'] == b['population']['members']
PYEOF
echo "PASS: USR1 -> exit 75 -> requeue of job $JOB -> --resume -> same result as the uninterrupted run"
