# Worker lanes (--lanes K: K candidates scored at once per worker rank) change
# nothing but the speed: with the same seed and window, any number of ranks
# and lanes gives the same population, history and best structure as the
# singleton; the default window is 8 x workers x lanes; a stop while lanes are
# busy ends with exit 75 and a resume (with other lanes) reaches the same end.
. "$(dirname "$0")/search_lib.sh"

# 1. A real proxy (T-CET on synthetic data) on 3 lanes per worker: bit-identical scores.
A="--proxy tcet-snip --dataset synthetic --evolution-max-iter 16 --population-size 4 --batch-size 8 --window 4 --budget-model-size 3e5"
"$TCET_BIN" search --save-dir "$WORK/snip-1" $A > /dev/null 2>&1 || fail "tcet-snip singleton"
mpirun -np 2 "$TCET_BIN" search --save-dir "$WORK/snip-l3" $A --lanes 3 > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "tcet-snip lanes 3"; }
same_run "$WORK/snip-1" "$WORK/snip-l3"
grep -q '"status":"ok"' "$WORK/snip-l3/events.jsonl" || fail "tcet-snip: nothing scored"
grep -q "^worker rank 1: CPU .*, 3 lanes$" "$WORK/out" || { cat "$WORK/out"; fail "no device line for worker rank 1"; }

# 2. A cheap proxy, many batches: 2 workers x 4 lanes against the singleton.
ARGS="--proxy params --evolution-max-iter 3000 --population-size 32 --budget-model-size 5e5 --max-layers 18 --window 8 --seed 7"
"$TCET_BIN" search --save-dir "$WORK/p-1" $ARGS > /dev/null || fail "params singleton"
mpirun -np 3 "$TCET_BIN" search --save-dir "$WORK/p-l4" $ARGS --lanes 4 > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "params lanes 4"; }
same_run "$WORK/p-1" "$WORK/p-l4"

# 3. Default window = 8 x workers x lanes (1 worker, 3 lanes: 24).
mpirun -np 2 "$TCET_BIN" search --save-dir "$WORK/dw" --proxy params --evolution-max-iter 50 \
    --budget-model-size 5e5 --lanes 3 > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "default window run"; }
grep -q "window 24," "$WORK/dw/search.log" || { head -3 "$WORK/dw/search.log"; fail "default window is not 24"; }

# 4. SIGTERM while 2 workers x 3 lanes are busy: exit 75; resume with 1 lane: same end as the singleton.
R=$WORK/term
TCET_TEST_SCORE_DELAY_US=3000 start_job -np 3 "$TCET_BIN" search --save-dir "$R" $ARGS --lanes 3 --checkpoint-every 100
wait_file "$R/search.log"
sleep 0.5
kill -TERM "$(master_pid "$R")"
wait "$JOB"; rc=$?
[ "$rc" = 75 ] || { cat "$WORK/job.out"; fail "SIGTERM with lanes: exit $rc, expected 75"; }
no_ranks_left "$R"
mpirun -np 2 "$TCET_BIN" search --resume "$R" --lanes 1 > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "resume with 1 lane"; }
same_run "$WORK/p-1" "$R"

# 5. A rank bound to one core cannot run its lanes in parallel: tcet says so, with the fix.
mpirun -np 2 --bind-to core "$TCET_BIN" search --save-dir "$WORK/bound" --proxy params --evolution-max-iter 20 \
    --budget-model-size 5e5 --lanes 2 > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "bound run"; }
grep -q "WARNING: 2 lane(s) x 1 BLAS thread(s), but this process may use only 1 CPU(s).*--bind-to none" "$WORK/out" \
    || { cat "$WORK/out"; fail "no warning for lanes bound to one core"; }
if [ "$(nproc)" -ge 2 ]; then
    mpirun -np 2 --bind-to none "$TCET_BIN" search --save-dir "$WORK/unbound" --proxy params --evolution-max-iter 20 \
        --budget-model-size 5e5 --lanes 2 > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "unbound run"; }
    grep -q "WARNING: .* lane" "$WORK/out" && { cat "$WORK/out"; fail "lane warning without a binding"; }
fi

# 6. Out of range.
"$TCET_BIN" search --save-dir "$WORK/bad" --lanes 0 > "$WORK/out" 2>&1; rc=$?
[ "$rc" = 2 ] || fail "--lanes 0: exit $rc, expected 2"
grep -q -- "--lanes" "$WORK/out" || fail "--lanes 0: message does not name the flag"
echo PASS
