#!/bin/bash
# How a real `tcet search` ends under SLURM with the project's job script:
#  1. a --time not longer than the time-limit warning is refused (exit 2);
#  2. scancel --signal=TERM (to the job step): tcet writes its checkpoint and
#     exits 75; the job is NOT requeued (only the warning, a preemption or the
#     time limit requeue it);
#  3. the time limit itself (no warning): SLURM's TERM reaches tcet, which
#     writes its checkpoint; the job script exits 75 (not 143) and requeues.
# (The warning / explicit preemption -> requeue -> resume path: slurm_resume.)
set -u
: "${TCET_BIN:?TCET_BIN not set (run through ctest)}"
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${TCET_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
PY=/usr/bin/python3
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"; fi
# shellcheck source=slurm_lib.sh
source "$HERE/slurm_lib.sh"
$PY -c 'import h5py' 2>/dev/null || skip "/usr/bin/python3 with h5py is needed"
slurm_require

slurm_test_dir slurm_stop
fail() {
    echo "FAIL: $*" >&2
    slurm_dump 25 "$T"/out/*.out "$T"/runs/*/search.log
    exit 1
}
field() { scontrol show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
committed() { $PY -c "import h5py,sys; print(h5py.File(sys.argv[1],'r').attrs['committed'])" "$1/checkpoint.h5"; }
stop_iter() { grep -o 'stopped by signal [0-9]* at iteration [0-9]*' "$1/search.log" | tail -1 | awk '{print $NF}'; }
ARGS="--proxy params --evolution-max-iter 100000 --population-size 32 --window 6 --seed 3 --checkpoint-every 1"
submit() { # extra sbatch options...
    JOB=$(cd "$T/out" && TCET_BIN="$TCET_BIN" TCET_RUNS_DIR="$T/runs" TCET_SEARCH_ARGS="$ARGS" \
          TCET_TEST_SCORE_DELAY_US=20000 sbatch --parsable -n 3 -O --gpus-per-node=0 --cpus-per-task=1 "$@" \
          "$SRC/jobs/tcet-cifar.sbatch") || fail "sbatch refused the job script"
    JOB=${JOB%%;*}
    RUN=$T/runs/tcet-cifar-$JOB
    OUT=$T/out/tcet-cifar-$JOB.out
}
mkdir -p "$T/out"
slurm_start "$T/slurm" || fail "SLURM did not start"

# 1. --time=1 (60 s) with the script's 120 s warning.
submit --time=1
st=$(slurm_wait_state "$JOB" 'FAILED|COMPLETED' 60) || fail "short job did not end (state $st)"
grep -q "tcet-job: error: the time limit 00:01:00 is not longer than the 120 s warning" "$OUT" || fail "no refusal message"
[ "$(field "$JOB" ExitCode)" = 2:0 ] && [ "$(field "$JOB" Restarts)" = 0 ] || fail "short --time: exit $(field "$JOB" ExitCode)"
[ -e "$RUN/search.log" ] && fail "tcet was started"
echo "1. --time=1 refused: exit 2, not requeued"

# 2. scancel --signal=TERM to the running step.
submit --time=5
slurm_wait_state "$JOB" RUNNING 60 >/dev/null || fail "job did not start"
for _ in $(seq 300); do [ -f "$RUN/checkpoint.h5" ] && break; sleep 0.1; done
[ -f "$RUN/checkpoint.h5" ] || fail "no checkpoint after 30 s"
scancel --signal=TERM "$JOB" || fail "scancel --signal=TERM"
st=$(slurm_wait_state "$JOB" 'FAILED|COMPLETED|PENDING|REQUEUED' 60) || fail "job did not end (state $st)"
[ "$st" = FAILED ] || fail "scancel --signal=TERM: state $st (requeued?)"
[ "$(field "$JOB" ExitCode)" = 75:0 ] || fail "exit code $(field "$JOB" ExitCode), expected 75"
[ "$(field "$JOB" Restarts)" = 0 ] || fail "requeued"
grep -q "not requeued" "$OUT" || fail "no 'not requeued' message"
[ "$(stop_iter "$RUN")" = "$(committed "$RUN")" ] || fail "checkpoint behind the stop"
echo "2. scancel --signal=TERM: exit 75, checkpoint at $(committed "$RUN"), not requeued"

# 3. The time limit without a warning (--signal=B:CONT@1 replaces the USR1
# warning by a harmless signal; TCET_WARN_S=0 lets the 1-minute job start).
JOB=$(cd "$T/out" && TCET_BIN="$TCET_BIN" TCET_RUNS_DIR="$T/runs" TCET_SEARCH_ARGS="$ARGS" TCET_WARN_S=0 \
      TCET_TEST_SCORE_DELAY_US=20000 sbatch --parsable -n 3 -O --gpus-per-node=0 --cpus-per-task=1 \
      --time=1 --signal=B:CONT@1 "$SRC/jobs/tcet-cifar.sbatch") || fail "sbatch refused"
JOB=${JOB%%;*}; RUN=$T/runs/tcet-cifar-$JOB; OUT=$T/out/tcet-cifar-$JOB.out
slurm_wait_state "$JOB" RUNNING 60 >/dev/null || fail "job did not start"
for _ in $(seq 1500); do grep -q "tcet exited with" "$OUT" 2>/dev/null && break; sleep 0.1; done
grep -q "tcet exited with 75" "$OUT" || fail "at the time limit tcet did not exit 75"
grep -q "time limit reached; the checkpoint was written" "$OUT" || fail "time limit not recognised"
[ "$(stop_iter "$RUN")" = "$(committed "$RUN")" ] || fail "checkpoint behind the stop"
for _ in $(seq 100); do grep -q "requeueing job $JOB" "$OUT" && break; sleep 0.1; done
grep -q "requeueing job $JOB" "$OUT" || fail "not requeued at the time limit"
echo "3. time limit: tcet exit 75, checkpoint at $(committed "$RUN"), job requeued ($(field "$JOB" JobState))"
scancel "$JOB"
echo PASS
