# Injected scoring failures (TCET_INJECT_FAILURES, implemented by the scorer)
# become -9999 with their reason; the run goes on.
. "$(dirname "$0")/search_lib.sh"
ARGS="--proxy params --evolution-max-iter 300 --population-size 16 --window 3 --seed 4"
TCET_INJECT_FAILURES="2:error,5:nan" mpirun -np 3 "$TCET_BIN" search --save-dir "$WORK/r" $ARGS > "$WORK/out" 2>&1 \
    || { cat "$WORK/out"; fail "run with failures"; }
$PY - "$WORK/r/checkpoint.h5" <<'PYEOF' || fail "failure records"
import sys, h5py, math
h = h5py.File(sys.argv[1], 'r')['history'][...]
assert len(h) == 300
r2, r5 = h[2], h[5]
assert r2['id'] == 2 and r2['status'] == 2 and r2['score'] == -9999.0, r2
assert b'injected' in r2['reason'] or 'injected' in str(r2['reason']), r2['reason']
assert r5['status'] == 1 and r5['score'] == -9999.0 and math.isnan(r5['raw_score']), r5
ok = [r for r in h if r['status'] == 0]
assert len(ok) > 250 and all(r['score'] == r['params'] or r['score'] > 0 for r in ok)
print('failures recorded; ok:', len(ok))
PYEOF
grep -q "Failed structure" "$WORK/r/search.log" || fail "failure not logged"
# Latency budget (measured by the scoring rank on the budget network): every
# accepted candidate is within the budget, every latency rejection above it.
# (50 ms per image: generous, so that a loaded machine does not reject every
# candidate and end the run with an empty population; search_latency tests
# the all-accept / all-reject extremes.)
mpirun -np 2 "$TCET_BIN" search --save-dir "$WORK/lat" --proxy params --evolution-max-iter 30 --population-size 8 \
    --budget-latency 5e-2 --batch-size 4 --window 2 > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "latency run"; }
$PY - "$WORK/lat/checkpoint.h5" <<'PYEOF' || fail "latency records"
import sys, h5py, math
h = h5py.File(sys.argv[1], 'r')['history'][...]
for r in h:
    assert math.isfinite(r['latency']) and r['latency'] > 0, r
    if r['status'] == 0: assert r["latency"] <= 5e-2, r
    elif r['status'] == 6: assert r["latency"] > 5e-2 and math.isnan(r['score']), r
    else: raise AssertionError(r)
print('latency filter: ok', sum(h['status'] == 0), 'rejected', sum(h['status'] == 6))
PYEOF
echo PASS
