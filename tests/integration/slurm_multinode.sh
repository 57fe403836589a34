#!/bin/bash
# The multi-node job template (jobs/tcet-multinode.sbatch) under the real
# single-node SLURM: --nodes=1 but the multi-node code path (host list, srun
# --distribution=arbitrary, N x G + 1 ranks): a real search with one worker per
# node (this test node has 2 CPUs, and SLURM grants no more task slots per node
# than CPUs) runs to the end, the master's binding line shows the worker with
# its node-local index, and a layout with too few task slots is refused before
# anything starts.  Also: every job script passes bash -n and the linter
# (shellcheck).
set -u
: "${TCET_BIN:?TCET_BIN not set (run through ctest)}"
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${TCET_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"; fi
fail() { echo "FAIL: $*" >&2; exit 1; }

# Static checks of every job script and the library they share.
for f in "$SRC"/jobs/*.sbatch "$SRC"/jobs/*.sh "$SRC"/jobs/lib/*.sh; do
    bash -n "$f" || fail "bash -n $f"
done
if command -v shellcheck >/dev/null; then
    (cd "$SRC" && shellcheck -x jobs/*.sbatch jobs/*.sh jobs/lib/*.sh) || fail "shellcheck"
else
    fail "shellcheck is not installed (scripts/setup-deps.sh --tests installs it)"
fi

# shellcheck source=slurm_lib.sh
source "$HERE/slurm_lib.sh"
command -v mpirun >/dev/null || skip "no mpirun"
slurm_require
slurm_test_dir slurm_multi
failj() {
    slurm_dump 30 "$T"/out/*.out "$T"/slurm/log/slurmctld.log
    fail "$*"
}
mkdir -p "$T/out"
slurm_start "$T/slurm" || fail "SLURM did not start"
ARGS="--proxy params --dataset synthetic --evolution-max-iter 200 --population-size 8 --budget-model-size 5e5 --seed 2"
# CPU-only test node: no GPUs, one worker per node given explicitly.
JOB=$(cd "$T/out" && TCET_BIN="$TCET_BIN" TCET_RUNS_DIR="$T/runs" TCET_SEARCH_ARGS="$ARGS" TCET_WORKERS_PER_NODE=1 \
      sbatch --parsable --nodes=1 --ntasks-per-node=2 -O --gpus-per-node=0 --cpus-per-task=1 --time=5 \
             "$SRC/jobs/tcet-multinode.sbatch") || fail "sbatch refused the multi-node script"
JOB=${JOB%%;*}
RUN=$T/runs/tcet-multinode-$JOB
st=$(slurm_wait_state "$JOB" COMPLETED 120) || failj "multi-node job did not complete (state $st)"
out=$T/out/tcet-multinode-$JOB.out
grep -q "1 node(s) x 1 worker(s) + the master on .*: 2 ranks" "$out" || failj "no layout line"
grep -q "binding: rank 1: node .*, local worker 0, no GPU" "$out" || failj "rank 1 binding"
grep -q "tcet exited with 0" "$out" || failj "tcet did not finish"
[ -s "$RUN/best_structure.txt" ] || failj "no best structure"
grep -q "1 worker rank(s)" "$RUN/search.log" || failj "search.log does not show 1 worker"
echo "multi-node template on one node: 2 ranks, finished"

# Too few task slots for N x G + 1 ranks: refused (exit 2) before any step.
JOB=$(cd "$T/out" && TCET_BIN="$TCET_BIN" TCET_RUNS_DIR="$T/runs" TCET_SEARCH_ARGS="$ARGS" TCET_WORKERS_PER_NODE=2 \
      sbatch --parsable --nodes=1 --ntasks-per-node=2 -O --gpus-per-node=0 --cpus-per-task=1 --time=5 \
             "$SRC/jobs/tcet-multinode.sbatch") || fail "sbatch refused the second job"
JOB=${JOB%%;*}
st=$(slurm_wait_state "$JOB" FAILED 60) || failj "short layout not refused (state $st)"
grep -q "need --ntasks-per-node=3" "$T/out/tcet-multinode-$JOB.out" || failj "no refusal message"
echo "PASS"
