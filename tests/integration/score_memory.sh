# A candidate that cannot fit in the memory left is refused before anything
# is allocated: -9999 with "out of memory: needs X GB, has Y GB", and
# `tcet score` exits 5.  With an injected limit (TCET_MEMORY_LIMIT), inside a
# real memory-limited cgroup (v1 or v2, when this host lets the test make
# one), and in a search (every candidate refused: the run exits 1 and says why).
. "$(dirname "$0")/search_lib.sh"
T=$TCET_BIN
BIG='SuperConvK3BNRELU(3,64,1,1)SuperResK3K3(64,128,1,64,2)SuperConvK1BNRELU(128,256,1,1)'
SMALL='SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)'

# 1. injected limit
TCET_MEMORY_LIMIT=64M "$T" score "$BIG" --proxy tcet-snip > "$WORK/out" 2> "$WORK/err"; rc=$?
[ $rc = 5 ] || { cat "$WORK/out" "$WORK/err"; fail "injected limit: exit $rc, expected 5"; }
grep -q "^tcet: error: out of memory: needs 0.779 GB, has 0.0671 GB (TCET_MEMORY_LIMIT; batch 64)" "$WORK/err" ||
    { cat "$WORK/err"; fail "no 'needs X GB, has Y GB' line"; }
grep -q "^score    -9999" "$WORK/out" || fail "not reported as -9999"
TCET_MEMORY_LIMIT=64M "$T" score "$SMALL" --proxy tcet-snip > /dev/null 2>&1 || fail "a small net under the same limit"
echo "injected 64 MiB: $(grep -o 'out of memory[^(]*' "$WORK/err")"

# 2. a real memory cgroup of 200 MiB (the kernel would SIGKILL an allocation past it)
CG=""
if [ -w /sys/fs/cgroup/memory ] && mkdir "/sys/fs/cgroup/memory/tcet_test_$$" 2>/dev/null; then
    CG=/sys/fs/cgroup/memory/tcet_test_$$; echo $((200 << 20)) > "$CG/memory.limit_in_bytes"; KIND=v1
elif [ -w /sys/fs/cgroup/cgroup.subtree_control ] && mkdir "/sys/fs/cgroup/tcet_test_$$" 2>/dev/null; then
    CG=/sys/fs/cgroup/tcet_test_$$; echo $((200 << 20)) > "$CG/memory.max" 2>/dev/null || { rmdir "$CG"; CG=""; }; KIND=v2
fi
if [ -n "$CG" ]; then
    trap 'rmdir "$CG" 2>/dev/null; rm -rf "$WORK"' EXIT
    in_cg() { bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG" "$@"; }
    in_cg "$T" score "$BIG" --proxy tcet-snip > "$WORK/out" 2> "$WORK/err"; rc=$?
    [ $rc = 5 ] || { cat "$WORK/out" "$WORK/err"; fail "cgroup $KIND: exit $rc, expected 5 (137 = killed by the kernel)"; }
    grep -q "out of memory: needs 0.779 GB, has 0.[0-9]* GB (cgroup memory\." "$WORK/err" || { cat "$WORK/err"; fail "cgroup: message"; }
    in_cg "$T" score "$SMALL" --proxy tcet-snip > /dev/null 2>&1 || fail "cgroup: a small net"
    echo "cgroup $KIND of 200 MiB: $(grep -o 'out of memory[^(]*([^;]*' "$WORK/err")"
else
    echo "NOTE: no writable memory cgroup here; the cgroup part was not run"
fi

# 3. a search whose every candidate is too large
TCET_MEMORY_LIMIT=1M mpirun -np 2 "$T" search --save-dir "$WORK/run" --proxy tcet-snip --dataset synthetic --evolution-max-iter 4 \
    --population-size 4 --batch-size 8 > "$WORK/out" 2>&1; rc=$?
[ $rc = 1 ] || { cat "$WORK/out"; fail "search under a 1 MiB limit: exit $rc, expected 1"; }
grep -q 'no candidate was scored successfully in 4 iterations (4 failed.*most frequent reason: "out of memory: needs' "$WORK/out" ||
    { cat "$WORK/out"; fail "search: reason"; }
echo PASS
