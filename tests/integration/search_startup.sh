# Start-up and end-of-run defects: a finished run always has its
# best_structure.txt, a batch larger than the dataset is refused before any
# scoring, numbers must start with a digit, changed threads are reported,
# lost events are reported, and a data error is printed once, not per rank.
. "$(dirname "$0")/search_lib.sh"
T=$TCET_BIN

# --- 1. empty population: exit 1 on the run AND on every rerun, never "finished"
E=$WORK/empty
EARGS="--proxy random --budget-model-size 1000 --evolution-max-iter 20"
"$T" search --save-dir "$E" $EARGS > "$WORK/out" 2>&1; rc=$?
[ $rc = 1 ] || { cat "$WORK/out"; fail "empty population: exit $rc, expected 1"; }
[ -f "$E/best_structure.txt" ] && fail "empty population wrote best_structure.txt"
"$T" search --save-dir "$E" $EARGS > "$WORK/out" 2>&1; rc=$?
[ $rc = 1 ] || { cat "$WORK/out"; fail "rerun of an empty-population run: exit $rc, expected 1"; }
grep -q "already finished" "$WORK/out" && fail "rerun of an empty-population run claims it finished"
grep -q "population is empty" "$WORK/out" || fail "rerun: no empty-population message"
echo "empty population: exit 1 twice, no best_structure.txt"

# --- 1. finished run whose best_structure.txt is missing: recreated from the checkpoint
F=$WORK/fin
FARGS="--proxy params --evolution-max-iter 60 --population-size 16 --budget-model-size 5e5 --seed 3"
"$T" search --save-dir "$F" $FARGS > /dev/null 2>&1 || fail "small run failed"
[ -s "$F/best_structure.txt" ] || fail "no best_structure.txt after a finished run"
cp "$F/best_structure.txt" "$WORK/best.orig"
# independent expectation: the highest score in the checkpoint's population
$PY - "$F/checkpoint.h5" > "$WORK/best.h5" <<'PYEOF' || fail "cannot read the checkpoint"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r'); p = f['population'][...]
assert f.attrs['finished'] == 1
s = p['structure'][int(np.argmax(p['score']))]
sys.stdout.write(s.decode() if isinstance(s, bytes) else s)
PYEOF
cmp -s "$WORK/best.orig" "$WORK/best.h5" || fail "best_structure.txt is not the population's best"
rm "$F/best_structure.txt"
"$T" search --save-dir "$F" $FARGS > "$WORK/out" 2>&1; rc=$?
[ $rc = 0 ] || { cat "$WORK/out"; fail "resume of a finished run: exit $rc"; }
grep -q "recreated" "$WORK/out" || fail "no 'recreated' message"
cmp -s "$F/best_structure.txt" "$WORK/best.orig" || fail "recreated best_structure.txt differs"
ls "$F" | grep -q 'tmp' && fail "tmp file left behind: $(ls "$F")"
echo "finished run: missing best_structure.txt recreated identically"

# --- 2. batch larger than the dataset: exit 3 at start-up, nothing scored
D=$WORK/c100; mkdir -p "$D"
$PY -c "
import numpy as np, sys
r = np.random.default_rng(0); n = 40
rec = np.zeros((n, 3074), np.uint8); rec[:, 0] = r.integers(0, 20, n); rec[:, 1] = r.integers(0, 100, n)
rec[:, 2:] = r.integers(0, 256, (n, 3072)); rec.tofile(sys.argv[1] + '/train.bin')" "$D"
B=$WORK/batch
"$T" search --save-dir "$B" --proxy snip --dataset cifar100 --data "$D" --batch-size 64 --evolution-max-iter 5 \
    > "$WORK/out" 2>&1; rc=$?
[ $rc = 3 ] || { cat "$WORK/out"; fail "batch 64 on 40 images: exit $rc, expected 3"; }
grep -q "40 images" "$WORK/out" || { cat "$WORK/out"; fail "message does not name the image count"; }
[ "$(grep -c error "$WORK/out")" = 1 ] || { cat "$WORK/out"; fail "expected exactly one error line"; }
[ -s "$B/events.jsonl" ] && fail "candidates were scored before the refusal"
# ZiCo needs two batches: 2 x 32 = 64 > 40
"$T" search --save-dir "$WORK/zico" --proxy zico --dataset cifar100 --data "$D" --batch-size 32 --evolution-max-iter 5 \
    > "$WORK/out" 2>&1; rc=$?
[ $rc = 3 ] || { cat "$WORK/out"; fail "zico 2x32 on 40 images: exit $rc, expected 3"; }
# exactly enough (40 = 40) is accepted
"$T" search --save-dir "$WORK/ok40" --proxy snip --dataset cifar100 --data "$D" --batch-size 40 --evolution-max-iter 3 \
    --window 1 > "$WORK/out" 2>&1; rc=$?
[ $rc = 0 ] || { cat "$WORK/out"; fail "batch 40 on 40 images: exit $rc, expected 0"; }
echo "batch > dataset: exit 3 before scoring (snip 64/40, zico 2x32/40); 40/40 runs"

# --- 8. every worker fails to open the data: one error line, not one per rank
mpirun -np 3 "$T" search --save-dir "$WORK/mw" --proxy snip --dataset cifar100 --data "$WORK/nonexistent" \
    --evolution-max-iter 5 > "$WORK/out" 2>&1; rc=$?
[ $rc = 3 ] || { cat "$WORK/out"; fail "missing data with 2 workers: exit $rc, expected 3"; }
n=$(grep -c "nonexistent" "$WORK/out")
[ "$n" = 1 ] || { cat "$WORK/out"; fail "data error printed $n times, expected once"; }
echo "2 workers, missing data: exit 3, one message"

# --- 6. numbers must start with a digit
for v in " -1" "-1" "+5" " 5" ".5"; do
    "$T" search --save-dir "$WORK/num" --proxy random --seed "$v" > "$WORK/out" 2>&1; rc=$?
    [ $rc = 2 ] || { cat "$WORK/out"; fail "--seed '$v': exit $rc, expected 2"; }
done
"$T" search --save-dir "$WORK/num" --proxy random --batch-size " 8" > "$WORK/out" 2>&1; [ $? = 2 ] || fail "--batch-size ' 8' accepted"
"$T" search --save-dir "$WORK/num" --proxy random --gamma " 0.1" > "$WORK/out" 2>&1; [ $? = 2 ] || fail "--gamma ' 0.1' accepted"
[ -e "$WORK/num" ] && fail "a refused option created the run directory"
echo "signed / blank-prefixed numbers refused (exit 2)"

# --- 5 and 4. resume with other threads; events.jsonl shorter than recorded
R=$WORK/res
RARGS="--proxy params --evolution-max-iter 1500 --population-size 32 --budget-model-size 5e5 --window 1 --seed 5"
TCET_TEST_SCORE_DELAY_US=3000 "$T" search --save-dir "$R" $RARGS --checkpoint-every 0.1 > /dev/null 2>&1 &
JOB=$!
wait_file "$R/checkpoint.h5"; sleep 0.3
kill -TERM "$JOB"; wait "$JOB"; [ $? = 75 ] || fail "could not interrupt the run"
cp -r "$R" "$WORK/res2"
attrs() { $PY -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); b=f.attrs['backend']; print(b.decode() if isinstance(b,bytes) else b, int(f.attrs['threads']))" "$1"; }
[ "$(attrs "$R/checkpoint.h5")" = "cpu 1" ] || fail "checkpoint backend/threads: '$(attrs "$R/checkpoint.h5")', expected 'cpu 1'"
"$T" search --resume "$R" --threads 2 > "$WORK/out" 2>&1; rc=$?
[ $rc = 0 ] || { cat "$WORK/out"; fail "resume with --threads 2: exit $rc"; }
grep -q "will not match an uninterrupted run: threads 1 -> 2" "$WORK/out" || { cat "$WORK/out"; fail "no threads warning"; }
[ "$(attrs "$R/checkpoint.h5")" = "cpu 2" ] || fail "after resume with 2 threads: '$(attrs "$R/checkpoint.h5")'"
: > "$WORK/res2/events.jsonl"
"$T" search --resume "$WORK/res2" > "$WORK/out" 2>&1; rc=$?
[ $rc = 0 ] || { cat "$WORK/out"; fail "resume with lost events: exit $rc"; }
grep -q "events were lost" "$WORK/out" || { cat "$WORK/out"; fail "no lost-events warning"; }
grep -q "will not match" "$WORK/out" && fail "threads warning without a change"
echo "resume: threads change and lost events are reported"
echo "PASS"
