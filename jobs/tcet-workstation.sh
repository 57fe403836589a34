#!/bin/bash
# tcet search on one multi-GPU machine without SLURM: mpirun with one worker
# per GPU plus the master (rank 0); each worker takes a GPU of its own
# (docs/jobs.md, "Layouts and GPU binding").
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
# shellcheck source-path=SCRIPTDIR source=lib/tcet-mpirun.sh
. "$(dirname "$0")/lib/tcet-mpirun.sh" || exit 2
tcet_usage "$0" 21 1 "$@"
RUN_DIR=$1
shift
[ -n "${TCET_GPUS:-}" ] || TCET_GPUS=$(tcet_local_gpus)
if [ -z "${TCET_WORKERS:-}" ]; then
    if [ "$TCET_GPUS" -gt 0 ]; then
        TCET_WORKERS=$TCET_GPUS
    else
        TCET_WORKERS=$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))
    fi
fi
echo "tcet-workstation: $TCET_GPUS GPU(s), $TCET_WORKERS worker(s) + master"
TCET_RESUME_HINT=$RUN_DIR
tcet_mpirun_main $((TCET_WORKERS + 1)) "$RUN_DIR" "$0" "--oversubscribe --bind-to none" "$@"
exit $?
