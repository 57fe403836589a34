#!/bin/bash
# tcet search over several machines without SLURM: mpirun over a host list,
# one worker per GPU on every host and the master beside the first host's
# workers; each worker takes a GPU of its own (docs/jobs.md, "Layouts and GPU
# binding").
#
#   jobs/tcet-hosts.sh HOSTFILE RUN_DIR [tcet search options...]
#   jobs/tcet-hosts.sh hosts.txt runs/c100 --preset cifar-params1M-tcet-snip \
#       --dataset cifar100 --data /nfs/data/cifar-100-binary
#
# HOSTFILE: one host name per line (# comments and blank lines ignored); every
# host must reach the others (ssh for Open MPI's launcher), see the same paths
# (tcet, the data, RUN_DIR on a shared file system) and have G GPUs.  The job
# runs hosts x G + 1 ranks: G + 1 on the first host (the master and its G
# workers), G on each other.  Resuming and signals as jobs/tcet-workstation.sh:
# the same command continues a stopped run.
#
# Environment knobs:
#   TCET_BIN      tcet executable (default: tcet on PATH)
#   TCET_GPUS_PER_HOST  G (default: nvidia-smi -L count on this machine)
#   TCET_WORKERS_PER_HOST  workers per host if not one per GPU (CPU hosts: ranks per host)
#   TCET_RESUME_ARGS  extra arguments when resuming (only --backend, --threads, --lanes,
#                     --checkpoint-every, a longer --evolution-max-iter)
#   TCET_MPIRUN_ARGS  extra mpirun arguments (e.g. "--mca btl_tcp_if_include eth0")
set -u
# shellcheck source-path=SCRIPTDIR source=lib/tcet-mpirun.sh
. "$(dirname "$0")/lib/tcet-mpirun.sh" || exit 2
tcet_usage "$0" 24 2 "$@"
HOSTFILE=$1
RUN_DIR=$2
shift 2
[ -r "$HOSTFILE" ] || { echo "tcet-hosts: error: cannot read the host list $HOSTFILE" >&2; exit 2; }
mapfile -t HOSTS < <(sed -e 's/#.*//' -e 's/[[:space:]].*//' "$HOSTFILE" | grep -v '^$')
[ "${#HOSTS[@]}" -ge 1 ] || { echo "tcet-hosts: error: $HOSTFILE names no host" >&2; exit 2; }
[ -n "${TCET_GPUS_PER_HOST:-}" ] || TCET_GPUS_PER_HOST=$(tcet_local_gpus)
G=${TCET_WORKERS_PER_HOST:-$TCET_GPUS_PER_HOST}
case $G in
    ''|*[!0-9]*|0) echo "tcet-hosts: error: no GPUs here to count: set TCET_GPUS_PER_HOST (or" \
                        "TCET_WORKERS_PER_HOST for CPU hosts)" >&2; exit 2 ;;
esac
# Open MPI host file: G + 1 slots on the first host, G on the others; ranks
# fill the slots in order, so rank 0 (the master) sits with the first host's
# workers and every GPU gets one worker.
OMPI_HOSTS=$(mktemp "${TMPDIR:-/tmp}/tcet-hosts.XXXXXX") || exit 1
trap 'rm -f "$OMPI_HOSTS"' EXIT
{
    echo "${HOSTS[0]} slots=$((G + 1))"
    for h in "${HOSTS[@]:1}"; do echo "$h slots=$G"; done
} > "$OMPI_HOSTS"
NP=$(( ${#HOSTS[@]} * G + 1 ))
echo "tcet-hosts: ${#HOSTS[@]} host(s) x $G worker(s) + the master on ${HOSTS[0]}"
TCET_RESUME_HINT="$HOSTFILE $RUN_DIR"
tcet_mpirun_main "$NP" "$RUN_DIR" "$0" "--hostfile $OMPI_HOSTS --map-by slot --bind-to none" "$@"
exit $?
