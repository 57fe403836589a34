# shellcheck shell=bash
# What every tcet SLURM job script does (docs/jobs.md), sourced by
# jobs/tcet-cifar.sbatch, jobs/tcet-imagenet.sbatch and jobs/tcet-multinode.sbatch.
#
# The calling script sets, before `tcet_job_main "$@"`:
#   TCET_JOB_SCRIPT       its path as a user types it (for messages), e.g. jobs/tcet-cifar.sbatch
#   TCET_DATA_DEFAULT     data path relative to the submit directory (e.g. data/cifar-100-binary)
#   TCET_PRESET_ARGS      the fresh search's preset and dataset, without --data
#   TCET_SRUN_ARGS        extra srun arguments (optional; the multi-node layout sets them)
#
# Preemption/time limit: SLURM sends USR1 to the batch shell --signal=B:USR1@N
# seconds before the end; the trap forwards it to tcet, which writes its
# checkpoint and exits 75; the job then requeues itself, keeps its id, finds
# its run directory runs/<job name>-<job id> and continues with --resume.  It
# is requeued only for that warning, an explicit preemption (USR1 to the batch
# shell: scancel --batch --signal=USR1 JOBID) or the time limit itself; any
# other stop (scancel, scancel --signal=TERM) ends it with tcet's exit code.
# A --time not longer than the warning is refused (exit 2).
#
# Environment knobs (all optional):
#   TCET_BIN        tcet executable (default: tcet on PATH)
#   TCET_RUNS_DIR   parent of run directories (default: $SLURM_SUBMIT_DIR/runs)
#   TCET_RUN_DIR    exact run directory (default: $TCET_RUNS_DIR/$SLURM_JOB_NAME-$SLURM_JOB_ID)
#   TCET_DATA       the data (default: $SLURM_SUBMIT_DIR/$TCET_DATA_DEFAULT)
#   TCET_SEARCH_ARGS  arguments of a fresh search (default: $TCET_PRESET_ARGS --data $TCET_DATA)
#   TCET_RESUME_ARGS  extra arguments when resuming (only --backend, --threads,
#                     --lanes, --checkpoint-every, a longer --evolution-max-iter)
#   TCET_LAUNCHER   srun (default) or mpirun
#   TCET_NO_REQUEUE=1  do not requeue after exit code 75
#   TCET_WARN_S     seconds of the time-limit warning (default 120, as the
#                   scripts' --signal=B:USR1@120; set both when you change it)
# Arguments given to the script are appended to the fresh-search arguments.

# The job's time limit and end ([D-]HH:MM:SS, MM:SS).
tcet_job_field() { scontrol show job "$SLURM_JOB_ID" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }
tcet_to_seconds() {
    local t=$1 d=0 a b c
    case $t in ""|UNLIMITED|INFINITE|Partition_Limit) return ;; esac
    case $t in *-*) d=${t%%-*}; t=${t#*-} ;; esac
    IFS=: read -r a b c <<< "$t"
    if [ -n "$c" ]; then echo $(( 10#$d * 86400 + 10#$a * 3600 + 10#$b * 60 + 10#$c ))
    elif [ -n "$b" ]; then echo $(( 10#$d * 86400 + 10#$a * 60 + 10#$b ))
    else echo $(( 10#$d * 86400 + 10#$a * 60 )); fi
}

tcet_job_setup() {
    : "${SLURM_JOB_ID:?run this script with sbatch (or set SLURM_JOB_ID)}"
    SUBMIT_DIR=${SLURM_SUBMIT_DIR:-$PWD}
    TCET_BIN=${TCET_BIN:-tcet}
    TCET_RUNS_DIR=${TCET_RUNS_DIR:-$SUBMIT_DIR/runs}
    TCET_RUN_DIR=${TCET_RUN_DIR:-$TCET_RUNS_DIR/${SLURM_JOB_NAME:-tcet}-$SLURM_JOB_ID}
    TCET_DATA=${TCET_DATA:-$SUBMIT_DIR/$TCET_DATA_DEFAULT}
    TCET_SEARCH_ARGS=${TCET_SEARCH_ARGS:-$TCET_PRESET_ARGS --data $TCET_DATA}
    TCET_RESUME_ARGS=${TCET_RESUME_ARGS:-}
    TCET_LAUNCHER=${TCET_LAUNCHER:-srun}
    TCET_WARN_S=${TCET_WARN_S:-120}
    TCET_SRUN_ARGS=${TCET_SRUN_ARGS:-}
    # A limit not longer than the warning would stop tcet at once, requeue,
    # and do so again and again.
    local limit limit_s
    limit=$(tcet_job_field TimeLimit)
    limit_s=$(tcet_to_seconds "$limit")
    if [ -n "$limit_s" ] && [ "$limit_s" -le "$TCET_WARN_S" ]; then
        echo "tcet-job: error: the time limit $limit is not longer than the ${TCET_WARN_S} s warning" \
             "(--signal=B:USR1@$TCET_WARN_S): tcet would be stopped and requeued at once, again and again." \
             "Submit with a longer --time (or a shorter warning: --signal=B:USR1@N and TCET_WARN_S=N)." >&2
        exit 2
    fi
    END_S=$(date -d "$(tcet_job_field EndTime)" +%s 2>/dev/null || echo 0)
    # One BLAS thread per rank unless the user says otherwise (tcet --threads).
    export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
    mkdir -p "$(dirname "$TCET_RUN_DIR")"
}

# A run directory with a checkpoint means a requeued (or resubmitted) job.
tcet_choose_args() {
    if [ -f "$TCET_RUN_DIR/checkpoint.h5" ] || [ -f "$TCET_RUN_DIR/checkpoint.prev.h5" ]; then
        # shellcheck disable=SC2206  # word splitting of the argument strings is intended
        TCET_ARGS=(search --resume "$TCET_RUN_DIR" $TCET_RESUME_ARGS)
    else
        # shellcheck disable=SC2206
        TCET_ARGS=(search --save-dir "$TCET_RUN_DIR" $TCET_SEARCH_ARGS "${TCET_USER_ARGS[@]}")
    fi
}

# Forward the early-warning signal to the job step; tcet checkpoints and
# exits 75.  `wait` returns as soon as a trapped signal arrives, so keep
# waiting until the step has really ended.  A TERM (scancel, node shutdown)
# is forwarded too, but then the job is not requeued: the user wanted it gone,
# unless it is SLURM's TERM at the time limit itself (the job's end time).
GOT_TERM=0
GOT_USR1=0
AT_LIMIT=0
STEP_PID=""
# shellcheck disable=SC2317  # invoked by the traps
tcet_forward() {
    [ "$1" = TERM ] && GOT_TERM=1
    [ "$1" = TERM ] && [ "$END_S" -gt 0 ] && [ "$(date +%s)" -ge $((END_S - 2)) ] && AT_LIMIT=1
    [ "$1" = USR1 ] && GOT_USR1=1
    echo "tcet-job: $(date -Is) got $1, forwarding it to tcet (pid ${STEP_PID:-none})"
    [ -n "$STEP_PID" ] && kill -s "$1" "$STEP_PID" 2>/dev/null
}

tcet_run_step() {
    tcet_choose_args
    echo "tcet-job: $(date -Is) job $SLURM_JOB_ID (restart ${SLURM_RESTART_COUNT:-0}) on" \
         "${SLURM_JOB_NODELIST:-$(hostname)}, ${TCET_NTASKS:-${SLURM_NTASKS:-?}} tasks: $TCET_BIN ${TCET_ARGS[*]}"
    case $TCET_LAUNCHER in
        srun)   # Debian's Open MPI has no PMI-2: PMIx is the interface that works.
                # shellcheck disable=SC2086  # TCET_SRUN_ARGS is a list of words
                srun --mpi=pmix --kill-on-bad-exit=1 $TCET_SRUN_ARGS "$TCET_BIN" "${TCET_ARGS[@]}" & ;;
        mpirun) # shellcheck disable=SC2086
                mpirun --oversubscribe ${TCET_MPIRUN_ARGS:-} "$TCET_BIN" "${TCET_ARGS[@]}" & ;;
        *)      echo "tcet-job: TCET_LAUNCHER must be srun or mpirun, not '$TCET_LAUNCHER'" >&2; exit 2 ;;
    esac
    STEP_PID=$!
    while :; do
        wait "$STEP_PID"
        rc=$?
        kill -0 "$STEP_PID" 2>/dev/null || break
    done
    STEP_PID=""
    echo "tcet-job: $(date -Is) tcet exited with $rc"
}

tcet_job_main() {
    TCET_USER_ARGS=("$@")
    tcet_job_setup
    trap 'tcet_forward USR1' USR1
    trap 'tcet_forward TERM' TERM
    # srun can return 0 for a step that never started (seen when a requeued job
    # lands on a node still cleaning up the previous run's step).  A finished
    # search always leaves best_structure.txt, so relaunch (twice at most).
    rc=0
    local attempt
    for attempt in 1 2 3; do
        tcet_run_step
        if [ "$rc" -ne 0 ] || [ -f "$TCET_RUN_DIR/best_structure.txt" ]; then break; fi
        [ "$attempt" -lt 3 ] || break
        echo "tcet-job: the step ended with 0 but $TCET_RUN_DIR is not finished; relaunching in 10 s"
        sleep 10
        [ "$GOT_TERM" = 1 ] && exit 1
        [ "$GOT_USR1" = 1 ] && { rc=75; break; }
    done
    trap - USR1 TERM
    if [ "$rc" -eq 0 ] && [ ! -f "$TCET_RUN_DIR/best_structure.txt" ]; then
        echo "tcet-job: error: tcet reported success but $TCET_RUN_DIR has no best_structure.txt" >&2
        rc=1
    fi
    # Requeue only for the time-limit warning, an explicit preemption (both:
    # USR1 to this script) or the time limit itself; not after scancel, which
    # the user meant.
    local requeue=0
    if [ "$rc" -eq 75 ] && [ "${TCET_NO_REQUEUE:-0}" != 1 ]; then
        if [ "$AT_LIMIT" = 1 ] || { [ "$GOT_USR1" = 1 ] && [ "$GOT_TERM" = 0 ]; }; then requeue=1; fi
    fi
    [ "$rc" -eq 75 ] && [ "$AT_LIMIT" = 1 ] && echo "tcet-job: $(date -Is) time limit reached; the checkpoint was written"
    if [ "$rc" -eq 75 ] && [ "$requeue" = 0 ]; then
        echo "tcet-job: stopped with its checkpoint written; not requeued (not the time-limit warning or a" \
             "preemption, or TCET_NO_REQUEUE=1). Resume with: TCET_RUN_DIR=$TCET_RUN_DIR sbatch $TCET_JOB_SCRIPT"
    fi
    if [ "$requeue" = 1 ]; then
        echo "tcet-job: checkpoint written; requeueing job $SLURM_JOB_ID to resume $TCET_RUN_DIR"
        scontrol requeue "$SLURM_JOB_ID" && exit 0
        echo "tcet-job: requeue failed; resume by hand: TCET_RUN_DIR=$TCET_RUN_DIR sbatch $TCET_JOB_SCRIPT" >&2
    fi
    exit "$rc"
}
