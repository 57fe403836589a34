#!/bin/bash
# tcet search on one multi-GPU machine without SLURM: mpirun with one worker
# per GPU plus the master (rank 0).  Each worker picks its GPU as
# (node-local rank mod visible GPUs), so ranks 1..G get distinct GPUs.
#
#   jobs/tcet-workstation.sh RUN_DIR [tcet search options...]
#   jobs/tcet-workstation.sh runs/c100 --preset cifar-params1M-tcet-snip \
#       --dataset cifar100 --data data/cifar-100-binary
#
# If RUN_DIR already holds a checkpoint the search is resumed (the options
# are then ignored except TCET_RESUME_ARGS).  Ctrl-C (INT), TERM and USR1 are
# forwarded to tcet, which writes its checkpoint and exits 75; rerun the same
# command to continue.
#
# Environment knobs:
#   TCET_BIN      tcet executable (default: tcet on PATH)
#   TCET_GPUS     number of GPUs to use (default: nvidia-smi -L count; 0 = CPU)
#   TCET_WORKERS  number of workers (default: TCET_GPUS, or nproc - 1 on CPU)
#   TCET_RESUME_ARGS  extra arguments when resuming (only --backend, --threads, --lanes,
#                     --checkpoint-every, a longer --evolution-max-iter)
#   TCET_MPIRUN_ARGS  extra mpirun arguments (e.g. "--allow-run-as-root")
set -u
if [ $# -lt 1 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
RUN_DIR=$1
shift
TCET_BIN=${TCET_BIN:-tcet}
if [ -z "${TCET_GPUS:-}" ]; then
    TCET_GPUS=0
    if command -v nvidia-smi >/dev/null 2>&1; then
        TCET_GPUS=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
    fi
fi
if [ -z "${TCET_WORKERS:-}" ]; then
    if [ "$TCET_GPUS" -gt 0 ]; then
        TCET_WORKERS=$TCET_GPUS
    else
        TCET_WORKERS=$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))
    fi
fi
NP=$((TCET_WORKERS + 1))
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

if [ -f "$RUN_DIR/checkpoint.h5" ]; then
    # shellcheck disable=SC2206  # word splitting of the argument string is intended
    ARGS=(search --resume "$RUN_DIR" ${TCET_RESUME_ARGS:-})
else
    ARGS=(search --save-dir "$RUN_DIR" "$@")
fi
echo "tcet-workstation: $TCET_GPUS GPU(s), $TCET_WORKERS worker(s) + master: $TCET_BIN ${ARGS[*]}"

# setsid: a Ctrl-C in the terminal must reach this script only; mpirun would
# turn INT into TERM+KILL of the ranks, which may not leave time for the
# checkpoint.  The script forwards it as USR1, which mpirun passes on and
# tcet treats like TERM (checkpoint, exit 75).
# shellcheck disable=SC2086  # TCET_MPIRUN_ARGS is a list of words
setsid mpirun -np "$NP" --oversubscribe --bind-to none ${TCET_MPIRUN_ARGS:-} "$TCET_BIN" "${ARGS[@]}" &
PID=$!
# shellcheck disable=SC2317  # invoked by the traps
forward() { echo "tcet-workstation: got $1, asking tcet to checkpoint and stop"; kill -s USR1 "$PID" 2>/dev/null; }
trap 'forward INT' INT
trap 'forward TERM' TERM
trap 'forward USR1' USR1
rc=0
while :; do
    wait "$PID"
    rc=$?
    kill -0 "$PID" 2>/dev/null || break
done
if [ "$rc" -eq 75 ]; then
    echo "tcet-workstation: stopped with a checkpoint; continue with: $0 $RUN_DIR"
fi
exit "$rc"
