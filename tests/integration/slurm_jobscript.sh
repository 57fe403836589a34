#!/bin/bash
# The SLURM job script's mechanics with a stand-in for tcet (fast, no search):
# USR1 to the batch shell is forwarded to the job step, exit code 75 makes
# the job requeue itself under the same id, and the requeued job resumes the
# same run directory with --resume and finishes.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${TCET_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
# shellcheck source=slurm_lib.sh
source "$HERE/slurm_lib.sh"
slurm_require

T=$(mktemp -d /tmp/tcet_slurm_js.XXXXXX)
cleanup() {
    [ -n "${SLURM_CONF:-}" ] && [ -n "${JOB:-}" ] && scancel "$JOB" 2>/dev/null
    slurm_stop "$T/slurm"
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    [ -n "${JOB:-}" ] && scontrol show job "$JOB" >&2
    for f in "$T"/out/*.out "$T"/slurm/log/slurmctld.log; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
    done
    exit 1
}

# Stand-in for tcet: rank 0 records its arguments; a fresh search creates
# checkpoint.h5 and waits for USR1 (then exits 75 like tcet); --resume exits 0.
cat > "$T/fake-tcet" <<'EOS'
#!/bin/bash
rank=${SLURM_PROCID:-${OMPI_COMM_WORLD_RANK:-0}}
if [ "$2" = --resume ]; then
    [ "$rank" = 0 ] && { echo "resume $*" >> "$3/calls"; echo "SuperConvK3BNRELU(3,8,1,1)" > "$3/best_structure.txt"; }
    exit 0
fi
dir=$3
[ "$rank" = 0 ] && { mkdir -p "$dir"; echo "fresh $*" >> "$dir/calls"; : > "$dir/checkpoint.h5"; }
trap '[ "$rank" = 0 ] && echo "usr1 rank $rank" >> "$dir/calls"; exit 75' USR1
mkdir -p "$dir" && touch "$dir/started.$rank"   # after the trap: the test signals only then
for i in $(seq 600); do sleep 0.1; done
exit 1
EOS
chmod +x "$T/fake-tcet"
mkdir -p "$T/out"
slurm_start "$T/slurm" || fail "SLURM did not start"

JOB=$(cd "$T/out" && TCET_BIN="$T/fake-tcet" TCET_RUNS_DIR="$T/runs" \
      TCET_SEARCH_ARGS="--proxy params" \
      sbatch --parsable -n 3 -O --gpus-per-node=0 --cpus-per-task=1 --time=5 \
             "$SRC/jobs/tcet-cifar.sbatch" --seed 7) || fail "sbatch refused the job script"
JOB=${JOB%%;*}
RUN="$T/runs/tcet-cifar-$JOB"
echo "job $JOB, run dir $RUN"
slurm_wait_state "$JOB" RUNNING 30 >/dev/null || fail "job did not start"
# every rank must have its USR1 trap before the signal (else srun cancels the step: 143, no requeue)
for _ in $(seq 100); do [ -f "$RUN/started.0" ] && [ -f "$RUN/started.1" ] && [ -f "$RUN/started.2" ] && break; sleep 0.1; done
[ -f "$RUN/started.1" ] && [ -f "$RUN/started.2" ] || fail "not every rank of the step started"
[ -f "$RUN/calls" ] || fail "the job script did not start tcet in $RUN"
grep -q -- "fresh search --save-dir $RUN --proxy params --seed 7" "$RUN/calls" ||
    fail "unexpected first call: $(cat "$RUN/calls")"

# The time-limit warning: USR1 to the batch shell only (as --signal=B:USR1 does).
scancel --signal=USR1 --batch "$JOB" || fail "scancel --signal=USR1 --batch failed"
# The job is requeued (same id) and comes back with --resume.
slurm_wait_state "$JOB" PENDING 60 >/dev/null || fail "job was not requeued"
slurm_skip_requeue_delay "$JOB"
for _ in $(seq 150); do
    grep -q '^resume' "$RUN/calls" 2>/dev/null && break
    sleep 0.2
done
grep -q "usr1 rank 0" "$RUN/calls" || fail "USR1 was not forwarded to the step"
grep -q -- "resume search --resume $RUN" "$RUN/calls" || fail "the requeued job did not resume: $(cat "$RUN/calls")"
st=$(slurm_wait_state "$JOB" COMPLETED 60) || fail "job did not complete (state $st)"
restarts=$(scontrol show job "$JOB" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')
[ "$restarts" = 1 ] || fail "expected 1 restart, got '$restarts'"
out="$T/out/tcet-cifar-$JOB.out"
grep -q "got USR1" "$out" || fail "no forwarding message in $out"
grep -q "requeueing job $JOB" "$out" || fail "no requeue message in $out"
[ "$(grep -c 'tcet-job: .* job '"$JOB"' (restart' "$out")" = 2 ] || fail "--open-mode=append: expected both sessions in $out"
echo "PASS: USR1 forwarded, exit 75 requeued job $JOB, resumed with --resume, completed"
