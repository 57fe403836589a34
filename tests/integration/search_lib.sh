# Helpers sourced by the search_*.sh integration tests.
set -u
: "${TCET_BIN:?TCET_BIN not set (run through ctest)}"
PY=/usr/bin/python3
if ! $PY -c 'import h5py, numpy' 2>/dev/null; then echo "SKIP: /usr/bin/python3 with h5py needed"; exit 77; fi
command -v mpirun >/dev/null || { echo "SKIP: no mpirun"; exit 77; }
# Under ASan: Open MPI's internal leaks come from unloaded plugins (<unknown
# module> frames) that suppressions cannot match unless the slow unwinder is
# used at malloc time (toolchain notes §1, "Sanitizers with MPI").
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"; fi
WORK=$(mktemp -d /tmp/tcet_search_test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Same population and history (every field but the wall time) and the same best.
same_run() {
    cmp -s "$1/best_structure.txt" "$2/best_structure.txt" || fail "best_structure differs: $1 $2"
    $PY - "$1/checkpoint.h5" "$2/checkpoint.h5" <<'PYEOF' || fail "checkpoints differ: $1 $2"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
for ds in ('population', 'history'):
    x, y = a[ds][...], b[ds][...]
    if len(x) != len(y): sys.exit(f'{ds}: {len(x)} vs {len(y)} rows')
    for f in x.dtype.names:
        if f == 'seconds': continue
        u, v = x[f], y[f]
        eq = np.array_equal(u, v, equal_nan=True) if u.dtype.kind == 'f' else list(u) == list(v)
        if not eq: sys.exit(f'{ds}.{f} differs')
for k in ('committed', 'next_iter', 'finished'):
    if a.attrs[k] != b.attrs[k]: sys.exit(f'attribute {k} differs')
if not np.array_equal(a['counts'][...], b['counts'][...]): sys.exit('counts differ')
print('identical:', sys.argv[1], sys.argv[2], len(a['population']), 'members,', len(a['history']), 'committed')
PYEOF
}

# Start a job in the background; sets JOB to mpirun's pid.
start_job() { mpirun "$@" > "$WORK/job.out" 2>&1 & JOB=$!; }
wait_file() { for _ in $(seq 300); do [ -f "$1" ] && return 0; sleep 0.1; done; fail "timeout waiting for $1"; }
# kill -9 mpirun and its direct children (Open MPI puts each rank in its own process group).
kill_job() { local kids; kids=$(pgrep -P "$JOB" || true); kill -9 "$JOB" $kids 2>/dev/null; wait "$JOB" 2>/dev/null || true; }
master_pid() { grep -o 'pid [0-9]*' "$1/search.log" | tail -1 | cut -d' ' -f2; }
no_ranks_left() { sleep 0.5; if pgrep -f -- "--save-dir $1" >/dev/null || pgrep -f -- "--resume $1" >/dev/null; then fail "ranks left behind for $1"; fi; }
