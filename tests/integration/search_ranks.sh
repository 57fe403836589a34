# The trajectory depends on (seed, window) only: mpirun -np 1, 2, 3 and the
# singleton give identical populations, histories and best structures.
. "$(dirname "$0")/search_lib.sh"
ARGS="--proxy params --evolution-max-iter 4000 --population-size 48 --budget-model-size 6e5 --max-layers 18 --seed 5"
for W in 1 5; do
    "$TCET_BIN" search --save-dir "$WORK/w$W-single" $ARGS --window $W > /dev/null || fail "singleton W=$W"
    for np in 1 2 3; do
        mpirun -np $np "$TCET_BIN" search --save-dir "$WORK/w$W-np$np" $ARGS --window $W > "$WORK/out" 2>&1 \
            || { cat "$WORK/out"; fail "np $np W=$W"; }
        same_run "$WORK/w$W-single" "$WORK/w$W-np$np"
    done
done
# The window changes the trajectory (different W: a different, equally valid run).
cmp -s "$WORK/w1-single/events.jsonl" "$WORK/w5-single/events.jsonl" && fail "W=1 and W=5 gave the same events"
# events.jsonl: one candidate line per iteration, ids 0..N-1 in order.
$PY - "$WORK/w5-np3/events.jsonl" <<'PYEOF' || fail "events.jsonl"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ids = [e['id'] for e in ev if e['event'] == 'candidate']
assert ids == list(range(4000)), 'candidate ids not 0..3999 in order'
assert sum(e['event'] == 'checkpoint' for e in ev) >= 1
PYEOF
# A real proxy (T-CET on synthetic data, tiny batch) and Random: scores keyed by
# (seed, id) are the same whichever rank computes them.
for P in tcet-snip random; do
    A="--proxy $P --dataset synthetic --evolution-max-iter 12 --population-size 4 --batch-size 8 --window 2 --budget-model-size 3e5"
    "$TCET_BIN" search --save-dir "$WORK/$P-1" $A > /dev/null 2>&1 || fail "$P singleton"
    mpirun -np 3 "$TCET_BIN" search --save-dir "$WORK/$P-3" $A > /dev/null 2>&1 || fail "$P np 3"
    same_run "$WORK/$P-1" "$WORK/$P-3"
    grep -q '"status":"ok"' "$WORK/$P-3/events.jsonl" || fail "$P: nothing scored"
done
h5dump -H "$WORK/w5-np3/checkpoint.h5" > /dev/null || fail "h5dump cannot read the checkpoint"
echo PASS
