# Exact resume: kill -9 of the whole job after a checkpoint, and SIGTERM /
# SIGUSR1 (exit 75, checkpoint written), then resume => the same final state
# as an uninterrupted run with the same seed and window.
. "$(dirname "$0")/search_lib.sh"
ARGS="--proxy params --evolution-max-iter 3000 --population-size 32 --budget-model-size 5e5 --max-layers 18 --window 6 --seed 3"
mpirun -np 3 "$TCET_BIN" search --save-dir "$WORK/ref" $ARGS > /dev/null || fail "reference run"

# 1. kill -9 of every process after the first checkpoint, resume with --save-dir.
R=$WORK/kill
TCET_TEST_SCORE_DELAY_US=2000 start_job -np 3 "$TCET_BIN" search --save-dir "$R" $ARGS --checkpoint-every 0.3
wait_file "$R/checkpoint.h5"
sleep 0.3
kill_job
no_ranks_left "$R"
c=$($PY -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); print(f.attrs['committed'], f.attrs['finished'])" "$R/checkpoint.h5")
echo "killed with checkpoint at: $c"
case "$c" in "3000 "*) fail "run finished before the kill: slow it down";; esac
mpirun -np 3 "$TCET_BIN" search --save-dir "$R" $ARGS > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "resume after kill"; }
grep -q "resuming at iteration" "$WORK/out" || fail "did not resume"
same_run "$WORK/ref" "$R"
# events.jsonl was cut back to the checkpoint: every candidate exactly once, in order
$PY -c "
import json, sys
ids = [e['id'] for e in map(json.loads, open(sys.argv[1])) if e['event'] == 'candidate']
assert ids == list(range(3000)), (len(ids), ids[:3])" "$R/events.jsonl" || fail "events.jsonl after resume"

# 2. SIGTERM to rank 0 while workers are busy: exit 75 within 30 s, no rank left.
R=$WORK/term
TCET_TEST_SCORE_DELAY_US=3000 start_job -np 3 "$TCET_BIN" search --save-dir "$R" $ARGS --checkpoint-every 100
wait_file "$R/search.log"
sleep 0.5
t0=$(date +%s)
kill -TERM "$(master_pid "$R")"
wait "$JOB"; rc=$?
t1=$(date +%s)
[ "$rc" = 75 ] || { cat "$WORK/job.out"; fail "SIGTERM: exit $rc, expected 75"; }
[ $((t1 - t0)) -le 30 ] || fail "SIGTERM took $((t1 - t0)) s"
no_ranks_left "$R"
grep -q "stopped by signal 15" "$R/search.log" || fail "no stop message in search.log"
[ -f "$R/best_structure.txt" ] && fail "an interrupted run wrote best_structure.txt"
# resume with another number of ranks: the same final state
mpirun -np 2 "$TCET_BIN" search --resume "$R" > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "resume after SIGTERM"; }
same_run "$WORK/ref" "$R"
# a finished run says so and exits 0
"$TCET_BIN" search --resume "$R" > "$WORK/out" 2>&1 || fail "finished run: exit $?"
grep -q "already finished" "$WORK/out" || fail "finished run not reported"

# 3. SIGUSR1 to mpirun is forwarded to every rank: workers ignore it, rank 0 stops.
R=$WORK/usr1
TCET_TEST_SCORE_DELAY_US=3000 start_job -np 3 "$TCET_BIN" search --save-dir "$R" $ARGS
wait_file "$R/search.log"
sleep 0.5
kill -USR1 "$JOB"
wait "$JOB"; rc=$?
[ "$rc" = 75 ] || { cat "$WORK/job.out"; fail "SIGUSR1: exit $rc, expected 75"; }
no_ranks_left "$R"
"$TCET_BIN" search --resume "$R" > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "resume after SIGUSR1"; }
same_run "$WORK/ref" "$R"

# 4. single rank (in-process scoring): SIGINT
R=$WORK/int
TCET_TEST_SCORE_DELAY_US=3000 "$TCET_BIN" search --save-dir "$R" $ARGS > "$WORK/job.out" 2>&1 &
JOB=$!
wait_file "$R/search.log"
sleep 0.5
kill -INT "$JOB"
wait "$JOB"; rc=$?
[ "$rc" = 75 ] || fail "SIGINT single rank: exit $rc"
mpirun -np 3 "$TCET_BIN" search --resume "$R" > /dev/null 2>&1 || fail "resume after SIGINT"
same_run "$WORK/ref" "$R"
# 5. a worker busy with a long candidate: rank 0 checkpoints, waits the grace
# period (shortened here) and aborts the job with 75; nothing is left running.
R=$WORK/busy
TCET_STOP_GRACE_S=1 TCET_TEST_SCORE_DELAY_US=20000000 start_job -np 3 "$TCET_BIN" search --save-dir "$R" $ARGS
wait_file "$R/search.log"
sleep 0.5
t0=$(date +%s)
kill -TERM "$(master_pid "$R")"
wait "$JOB"; rc=$?
t1=$(date +%s)
[ "$rc" = 75 ] || { cat "$WORK/job.out"; fail "busy workers: exit $rc, expected 75"; }
[ $((t1 - t0)) -le 30 ] || fail "busy workers: stop took $((t1 - t0)) s"
no_ranks_left "$R"
grep -q "aborting them" "$R/search.log" || fail "no abort message"
"$TCET_BIN" search --resume "$R" > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "resume after abort"; }
same_run "$WORK/ref" "$R"
echo PASS
