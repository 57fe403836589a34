# shellcheck shell=bash
# What the mpirun launchers share (jobs/tcet-workstation.sh, jobs/tcet-hosts.sh):
# fresh search or resume, mpirun in its own session, signals forwarded as a
# checkpoint-and-stop request, and the exit code.
#
#   tcet_mpirun_main NP RUN_DIR SCRIPT "MPIRUN ARGS" [tcet search options...]
#
# If RUN_DIR already holds a checkpoint the search is resumed (the options are
# then ignored except TCET_RESUME_ARGS).  Ctrl-C (INT), TERM and USR1 are
# forwarded to tcet, which writes its checkpoint and exits 75; rerunning the
# same command continues.
# The number of GPUs nvidia-smi lists on this machine (0 without it).
# tcet_usage SCRIPT LAST_LINE MIN_ARGS ARGS...: with fewer than MIN_ARGS
# arguments or -h/--help, print SCRIPT's header comment (lines 2..LAST_LINE)
# and exit 2.
tcet_usage() {
    local script=$1 last=$2 min=$3
    shift 3
    if [ $# -lt "$min" ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
        sed -n "2,${last}p" "$script" | sed 's/^# \{0,1\}//'
        exit 2
    fi
}

tcet_local_gpus() {
    if command -v nvidia-smi >/dev/null 2>&1; then
        nvidia-smi -L 2>/dev/null | grep -c '^GPU '
    else
        echo 0
    fi
}

tcet_mpirun_main() {
    local np=$1 run_dir=$2 script=$3 mpirun_args=$4
    shift 4
    TCET_BIN=${TCET_BIN:-tcet}
    export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
    local args
    if [ -f "$run_dir/checkpoint.h5" ] || [ -f "$run_dir/checkpoint.prev.h5" ]; then
        # shellcheck disable=SC2206  # word splitting of the argument string is intended
        args=(search --resume "$run_dir" ${TCET_RESUME_ARGS:-})
    else
        args=(search --save-dir "$run_dir" "$@")
    fi
    echo "$(basename "$script"): $np ranks: $TCET_BIN ${args[*]}"
    # setsid: a Ctrl-C in the terminal must reach this script only; mpirun
    # would turn INT into TERM+KILL of the ranks, which may not leave time for
    # the checkpoint.  The script forwards it as USR1, which mpirun passes on
    # and tcet treats like TERM (checkpoint, exit 75).
    # shellcheck disable=SC2086  # the mpirun arguments are a list of words
    setsid mpirun -np "$np" $mpirun_args ${TCET_MPIRUN_ARGS:-} "$TCET_BIN" "${args[@]}" &
    TCET_MPIRUN_PID=$!
    trap 'tcet_mpirun_forward INT' INT
    trap 'tcet_mpirun_forward TERM' TERM
    trap 'tcet_mpirun_forward USR1' USR1
    local rc=0
    while :; do
        wait "$TCET_MPIRUN_PID"
        rc=$?
        kill -0 "$TCET_MPIRUN_PID" 2>/dev/null || break
    done
    trap - INT TERM USR1
    if [ "$rc" -eq 75 ]; then
        echo "$(basename "$script"): stopped with a checkpoint; continue with: $script $TCET_RESUME_HINT"
    fi
    return "$rc"
}

# shellcheck disable=SC2317  # invoked by the traps
tcet_mpirun_forward() {
    echo "tcet: got $1, asking tcet to checkpoint and stop"
    kill -s USR1 "$TCET_MPIRUN_PID" 2>/dev/null
}
