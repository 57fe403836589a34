# Latency budget end to end (docs/semantics.md#main-loop, docs/search.md): a huge budget accepts
# every candidate and stores a positive finite latency (s/image) with each; a
# tiny one rejects every candidate with reason "latency" (counted per reason,
# never scored), which leaves an empty population: exit 1 with a hint.
. "$(dirname "$0")/search_lib.sh"
ARGS="--proxy params --evolution-max-iter 20 --population-size 8 --batch-size 2 --window 2 --seed 3"
mpirun -np 2 "$TCET_BIN" search --save-dir "$WORK/big" $ARGS --budget-latency 1e3 > "$WORK/out" 2>&1 \
    || { cat "$WORK/out"; fail "huge latency budget run"; }
$PY - "$WORK/big/checkpoint.h5" <<'PYEOF' || fail "huge budget records"
import sys, h5py, math
f = h5py.File(sys.argv[1], 'r')
h = f['history'][...]
assert len(h) == 20, len(h)
for r in h:
    assert r['status'] == 0, r
    assert math.isfinite(r['latency']) and 0 < r['latency'] < 1e3, r
c = f['counts'][...]
assert c[0] == 20 and c[6] == 0, c
print('huge budget: all accepted, latency', h['latency'].min(), '..', h['latency'].max(), 's/image')
PYEOF
rc=0
mpirun -np 2 "$TCET_BIN" search --save-dir "$WORK/tiny" $ARGS --budget-latency 1e-12 > "$WORK/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$WORK/out"; fail "tiny budget: exit $rc, expected 1 (empty population)"; }
grep -q "latency 20)" "$WORK/out" || { cat "$WORK/out"; fail "tiny budget: 20 latency rejections not reported"; }
grep -q "population is empty" "$WORK/out" || { cat "$WORK/out"; fail "tiny budget: no empty-population message"; }
$PY - "$WORK/tiny/checkpoint.h5" <<'PYEOF' || fail "tiny budget records"
import sys, h5py, math
f = h5py.File(sys.argv[1], 'r')
h = f['history'][...]
assert len(h) == 20, len(h)
for r in h:
    assert r['status'] == 6 and math.isnan(r['score']), r   # rejected_latency, not scored
    assert math.isfinite(r['latency']) and r['latency'] > 1e-12, r
c = f['counts'][...]
assert c[6] == 20 and c[0] == 0, c
assert len(f['population']) == 0
print('tiny budget: all 20 rejected for latency')
PYEOF
grep -q '"status":"rejected_latency"' "$WORK/tiny/events.jsonl" || fail "tiny budget: no rejected_latency event"
echo PASS
