# The single-process MPI stand-in that tests/gpu/pack.sh ships for GPU
# machines without MPI (tests/gpu/mpistub): built the way pack.sh builds it,
# tcet runs on it in one process exactly as on Open MPI (same T-CET score
# digits, a singleton search with the same best structure), and an MPI call
# that needs a second rank stops with a message instead of hanging.
set -u
: "${TCET_BIN:?TCET_BIN not set (run through ctest)}"
SRC=${TCET_SOURCE_DIR:?}
MPI_H=$(find /usr/lib /usr/include -name mpi.h -path '*openmpi*' 2>/dev/null | head -1)
[ -n "$MPI_H" ] || { echo "SKIP: no Open MPI mpi.h"; exit 77; }
# Under ASan: Open MPI's own leaks come from unloaded plugins, which the
# suppressions match only with the slow unwinder (as in search_lib.sh).
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"; fi
WORK=$(mktemp -d /tmp/tcet_mpistub.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$WORK/stub"
cc -std=c17 -O2 -fPIC -shared -Wall -Wextra -Werror -I"$(dirname "$MPI_H")" -Wl,-soname,libmpi.so.40 \
    -o "$WORK/stub/libmpi.so.40" "$SRC/tests/gpu/mpistub/mpi_stub.c" "$SRC/tests/gpu/mpistub/mpi_stub_data.c" \
    || fail "the stub does not build"
stub() { LD_LIBRARY_PATH="$WORK/stub${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
stub ldd "$TCET_BIN" | grep -q "libmpi.so.40 => $WORK/stub/" || fail "tcet does not load the stub"
S='SuperConvK3BNRELU(3,16,1,1)SuperResK3K3(16,32,2,16,1)SuperConvK1BNRELU(32,64,1,1)'
a=$("$TCET_BIN" score "$S" --proxy tcet-snip --batch-size 8 --json 2>/dev/null | grep -o '"raw_score": *[-0-9.e+]*')
b=$(stub "$TCET_BIN" score "$S" --proxy tcet-snip --batch-size 8 --json 2>/dev/null | grep -o '"raw_score": *[-0-9.e+]*')
[ -n "$a" ] && [ "$a" = "$b" ] || fail "tcet score differs on the stub: '$a' vs '$b'"
A="--proxy params --evolution-max-iter 300 --budget-model-size 5e5 --seed 4"
"$TCET_BIN" search --save-dir "$WORK/real" $A > /dev/null 2>&1 || fail "search on Open MPI"
stub "$TCET_BIN" search --save-dir "$WORK/stubbed" $A > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "search on the stub"; }
cmp -s "$WORK/real/best_structure.txt" "$WORK/stubbed/best_structure.txt" || fail "best structure differs on the stub"
echo "stub: score $b, singleton search identical"
echo PASS
