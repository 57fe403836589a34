# A run in which no candidate is scored successfully exits 1, writes no
# best_structure.txt, and its checkpoint says why (attribute "outcome");
# a rerun says the same again.  With workers, the job ends with tcet's one
# line and exit code, not an MPI abort.
. "$(dirname "$0")/search_lib.sh"
T=$TCET_BIN
ARGS="--proxy params --evolution-max-iter 40 --population-size 8 --window 3 --seed 2"
for np in 1 3; do
    R=$WORK/np$np
    TCET_INJECT_FAILURES="all:error" mpirun -np $np "$T" search --save-dir "$R" $ARGS > "$WORK/out" 2>&1; rc=$?
    [ $rc = 1 ] || { cat "$WORK/out"; fail "np $np: all candidates failed: exit $rc, expected 1"; }
    [ -e "$R/best_structure.txt" ] && fail "np $np: best_structure.txt written"
    grep -q "tcet: error: no candidate was scored successfully in 40 iterations (40 failed, 0 non-finite, 0 rejected by the budgets); most frequent reason: \"injected failure" "$WORK/out" ||
        { cat "$WORK/out"; fail "np $np: no one-line reason"; }
    n=$(grep -c "tcet: error:" "$WORK/out"); [ "$n" = 1 ] || { cat "$WORK/out"; fail "np $np: $n error lines"; }
    grep -q "MPI_ABORT" "$WORK/out" && { cat "$WORK/out"; fail "np $np: MPI_Abort"; }
    $PY - "$R/checkpoint.h5" <<'PYEOF' || fail "np $np: checkpoint"
import sys, h5py
f = h5py.File(sys.argv[1], 'r')
oc = f.attrs['outcome']; oc = oc.decode() if isinstance(oc, bytes) else oc
assert f.attrs['finished'] == 0 and f.attrs['committed'] == 40, dict(f.attrs)
assert oc.startswith('no candidate was scored successfully in 40 iterations (40 failed'), oc
c = f['counts'][...]
assert c[0] == 0 and c[2] == 40, c
assert all(r['status'] == 2 and r['score'] == -9999.0 for r in f['history'][...])
print('checkpoint outcome:', oc)
PYEOF
    # rerun (no injection needed: nothing is left to score): the same answer
    "$T" search --save-dir "$R" $ARGS > "$WORK/out" 2>&1; rc=$?
    [ $rc = 1 ] && grep -q "no candidate was scored successfully" "$WORK/out" || { cat "$WORK/out"; fail "np $np: rerun exit $rc"; }
    [ -e "$R/best_structure.txt" ] && fail "np $np: rerun wrote best_structure.txt"
    "$T" inspect "$R" | grep -q "^outcome    no candidate was scored successfully" || fail "np $np: inspect shows no outcome"
done
# One success among failures is a normal run (exit 0, best = the success).
TCET_INJECT_FAILURES="$(seq -s, 1 39 | sed 's/\([0-9]*\)/\1:error/g')" "$T" search --save-dir "$WORK/one" $ARGS > "$WORK/out" 2>&1 ||
    { cat "$WORK/out"; fail "one success: exit $?"; }
[ -s "$WORK/one/best_structure.txt" ] || fail "one success: no best structure"
echo PASS
