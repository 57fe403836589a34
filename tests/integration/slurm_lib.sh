# Single-node SLURM on loopback for the integration tests (sourced, not run).
# auth/none (no munge key needed), daemons as root,
# state/spool/logs/slurm.conf in a private directory, random ports so that
# concurrent test runs do not collide.  Daemons are stopped by PID.
#
#   source slurm_lib.sh
#   slurm_require            # installs the packages or exits 77 loudly
#   slurm_start "$DIR"       # exports SLURM_CONF
#   trap 'slurm_stop "$DIR"' EXIT
#   slurm_wait_state JOBID 'COMPLETED|FAILED' 60
# shellcheck shell=bash

skip() {
    echo "SKIPPED: $*" >&2
    echo "################################################################" >&2
    echo "## SLURM TEST SKIPPED: $*" >&2
    echo "################################################################" >&2
    exit 77
}

slurm_require() {
    if [ "$(id -u)" != 0 ]; then
        skip "the SLURM daemons must run as root here (uid $(id -u))"
    fi
    local missing=0 c
    for c in slurmctld slurmd sbatch scontrol squeue sinfo scancel; do
        command -v "$c" >/dev/null 2>&1 || missing=1
    done
    if [ "$missing" = 1 ]; then
        echo "slurm_lib: installing slurmctld slurmd slurm-client munge with apt-get" >&2
        if ! timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get install -y \
                --no-install-recommends slurmctld slurmd slurm-client munge >&2; then
            timeout 120 apt-get update >&2 || true
            timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get install -y \
                --no-install-recommends slurmctld slurmd slurm-client munge >&2 ||
                skip "could not install slurmctld/slurmd/slurm-client (apt-get failed)"
        fi
    fi
}

free_port() {
    local p _
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 30000))
        if ! (ss -Htan 2>/dev/null | awk '{print $4}' | grep -q ":$p\$"); then
            echo "$p"
            return 0
        fi
    done
    echo $((20000 + RANDOM % 30000))
}

slurm_start() {
    local D=$1 H NCPU MEM CP DP _
    mkdir -p "$D/state" "$D/spool" "$D/log" "$D/tmp"
    H=$(hostname)
    NCPU=$(nproc)
    MEM=$(( $(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 - 1024 ))
    CP=$(free_port)
    DP=$(free_port)
    [ "$DP" = "$CP" ] && DP=$((CP + 1))
    cat > "$D/slurm.conf" <<EOC
ClusterName=tcettest
# Private job ids and TmpFS: two test clusters on one host (ctest -j, other
# build trees) must not share step names or PMIx directories (/tmp/spmix_appdir_*).
FirstJobId=$((1000 + RANDOM * 30 + RANDOM % 30))
TmpFS=$D/tmp
SlurmctldHost=$H(127.0.0.1)
SlurmctldPort=$CP
SlurmdPort=$DP
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmdSpoolDir=$D/spool
StateSaveLocation=$D/state
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobRequeue=1
KillWait=5
MinJobAge=300
NodeName=$H NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=$MEM State=UNKNOWN
PartitionName=test Nodes=$H Default=YES MaxTime=60 State=UP OverSubscribe=FORCE:4
EOC
    export SLURM_CONF=$D/slurm.conf
    slurmctld -D -f "$D/slurm.conf" > "$D/log/slurmctld.out" 2>&1 &
    echo $! > "$D/slurmctld.bgpid"
    for _ in $(seq 100); do
        scontrol ping 2>/dev/null | grep -q UP && break
        sleep 0.1
    done
    slurmd -D -f "$D/slurm.conf" > "$D/log/slurmd.out" 2>&1 &
    echo $! > "$D/slurmd.bgpid"
    for _ in $(seq 150); do
        sinfo -h -o %T 2>/dev/null | grep -q idle && return 0
        sleep 0.1
    done
    echo "slurm_lib: node did not become idle; logs:" >&2
    tail -n 20 "$D"/log/* >&2
    return 1
}

# Stop by PID (slurmd first, then slurmctld); safe to call twice.
slurm_stop() {
    local D=$1 f pid _
    for f in slurmd slurmctld; do
        [ -f "$D/$f.bgpid" ] || continue
        pid=$(cat "$D/$f.bgpid")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null
            for _ in $(seq 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
        fi
        rm -f "$D/$f.bgpid"
    done
}

# State of a job ("" once forgotten).
slurm_job_state() {
    scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1
}

# Wait until the job state matches the extended regex; prints the state.
slurm_wait_state() {
    local job=$1 re=$2 limit=$3 st="" t=0
    while [ "$t" -lt $((limit * 5)) ]; do
        st=$(slurm_job_state "$job")
        if echo "$st" | grep -Eqx "$re"; then
            echo "$st"
            return 0
        fi
        sleep 0.2
        t=$((t + 1))
    done
    echo "$st"
    return 1
}

# SLURM holds a requeued batch job back for about two minutes (BeginTime =
# requeue time + 121 s in 22.05); the tests need not wait for that.  They do
# wait until the previous run's slurmstepd processes are gone: starting the
# job again while its old step is still being torn down makes the new step's
# launch fail (which srun may report as success).  And they let two seconds
# pass after the requeue: slurmd revokes the old run's job credential with a
# time stamp in whole seconds and refuses a new credential of the same job
# made within that second ("Killing non-startable batch JobId=...: Job
# credential revoked", the job then FAILED; seen once in the ASan suite).
slurm_skip_requeue_delay() {
    local _
    for _ in $(seq 150); do
        pgrep -f "slurmstepd: \[$1\." >/dev/null 2>&1 || break
        sleep 0.2
    done
    sleep 2
    scontrol update JobId="$1" StartTime=now >/dev/null 2>&1 || true
}

# A test's scratch directory T (kept with KEEP=1) and its cleanup at exit:
# cancel the test's job $JOB, stop its cluster under $T/slurm, remove T.
slurm_test_dir() { # NAME
    T=$(mktemp -d "/tmp/tcet_$1.XXXXXX")
    JOB=""
    trap slurm_test_cleanup EXIT
}
slurm_test_cleanup() {
    [ -n "${SLURM_CONF:-}" ] && [ -n "$JOB" ] && scancel "$JOB" 2>/dev/null
    slurm_stop "$T/slurm"
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
# A failing test's evidence on stderr: the job $JOB and the last LINES lines of each FILE.
slurm_dump() { # LINES FILE...
    local n=$1 f
    shift
    [ -n "$JOB" ] && scontrol show job "$JOB" >&2
    for f in "$@"; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -n "$n" "$f" >&2; }
    done
    return 0
}
