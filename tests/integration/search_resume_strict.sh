# --resume accepts only the flags that may change on a resumed run (backend,
# threads, lanes, checkpoint interval, a longer --evolution-max-iter) and
# refuses every other one with exit 2, naming each; the checkpoint is left
# untouched.  A longer budget continues the run exactly (window 1: the same
# population as an uninterrupted run of the longer budget).
. "$(dirname "$0")/search_lib.sh"
T=$TCET_BIN
A="--proxy params --population-size 16 --budget-model-size 5e5 --max-layers 18 --window 1 --seed 6"
R=$WORK/run
"$T" search --save-dir "$R" $A --evolution-max-iter 200 > /dev/null 2>&1 || fail "first run"
cp "$R/checkpoint.h5" "$WORK/ck.orig"

refused() { # expected flags in the message, args...
    local names=$1; shift
    "$T" search --resume "$R" "$@" > "$WORK/out" 2>&1; local rc=$?
    [ $rc = 2 ] || { cat "$WORK/out"; fail "--resume $*: exit $rc, expected 2"; }
    [ "$(wc -l < "$WORK/out")" = 1 ] || { cat "$WORK/out"; fail "--resume $*: not one line"; }
    grep -qF -- "; $names cannot be given with it" "$WORK/out" || { cat "$WORK/out"; fail "--resume $*: does not name $names"; }
    cmp -s "$R/checkpoint.h5" "$WORK/ck.orig" || fail "--resume $*: checkpoint modified"
    echo "refused: $names"
}
refused "--preset" --preset cifar-params1M-zen
refused "--save-dir" --save-dir "$WORK/other"
[ -e "$WORK/other" ] && fail "--resume --save-dir other created other"
refused "--proxy, --seed, --window" --seed 3 --proxy zen --window 5
refused "--preset, --dataset, --data" --preset cifar-params1M-tcet-snip --data "$WORK" --dataset cifar100
refused "--population-size, --budget-model-size" --population-size 16 --budget-model-size 5e5
"$T" search --resume "$R" --evolution-max-iter 100 > "$WORK/out" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "shorter than the run's 200" "$WORK/out" || { cat "$WORK/out"; fail "a shorter budget: exit $rc"; }
cmp -s "$R/checkpoint.h5" "$WORK/ck.orig" || fail "checkpoint modified by a refusal"

# allowed: how it runs, and a longer budget (the same run directory named twice is harmless)
"$T" search --resume "$R" --save-dir "$R" --backend cpu --threads 1 --lanes 2 --checkpoint-every 5 \
    --evolution-max-iter 400 > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "allowed flags refused: exit $?"; }
grep -q "continues: 200 -> 400 iterations" "$WORK/out" || { cat "$WORK/out"; fail "no 'continues' line"; }
"$T" search --save-dir "$WORK/straight" $A --evolution-max-iter 400 > /dev/null 2>&1 || fail "uninterrupted run"
same_run "$R" "$WORK/straight"
"$T" search --resume "$R" > "$WORK/out" 2>&1 || fail "resume of the finished run"
grep -q "already finished (400 iterations)" "$WORK/out" || { cat "$WORK/out"; fail "finished at 400"; }
echo "PASS"
