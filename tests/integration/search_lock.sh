# One tcet per run directory and the second stop signal.
. "$(dirname "$0")/search_lib.sh"
T=$TCET_BIN
ARGS="--proxy params --evolution-max-iter 400 --population-size 32 --budget-model-size 5e5 --max-layers 18 --window 1 --seed 11"

# Undisturbed reference run.
"$T" search --save-dir "$WORK/ref" $ARGS > /dev/null 2>&1 || fail "reference run failed"

# First run, slowed down (50 ms per candidate: several seconds even on a
# loaded machine, where each tcet start-up under ASan takes a second or more)
# so that the second ones start while it is alive.
L=$WORK/locked
TCET_TEST_SCORE_DELAY_US=50000 "$T" search --save-dir "$L" $ARGS > "$WORK/first.out" 2>&1 &
FIRST=$!
wait_file "$L/search.log"; sleep 0.3
# A stale tmp of the first run's checkpoint must survive the second attempt.
touch "$L/checkpoint.h5.tmp.$FIRST"
for how in "--save-dir $L $ARGS" "--resume $L"; do
    "$T" search $how > "$WORK/second.out" 2>&1; rc=$?
    [ $rc = 4 ] || { cat "$WORK/second.out"; fail "second tcet ($how): exit $rc, expected 4"; }
    grep -q "run directory $L is in use by another tcet (pid $FIRST)" "$WORK/second.out" ||
        { cat "$WORK/second.out"; fail "message does not name the first run's pid $FIRST"; }
done
[ -e "$L/checkpoint.h5.tmp.$FIRST" ] || fail "the second tcet removed the first one's tmp file"
rm -f "$L/checkpoint.h5.tmp.$FIRST"
kill -0 "$FIRST" 2>/dev/null || fail "the first run ended before the second attempts were made (test too fast)"
echo "second tcet on a live run directory: exit 4, names pid $FIRST"
wait "$FIRST"; rc=$?
[ $rc = 0 ] || { cat "$WORK/first.out"; fail "first run: exit $rc"; }
same_run "$WORK/ref" "$L"
# events.jsonl: each of the 400 candidates exactly once, as in the reference
n=$(grep -c '"event":"candidate"' "$L/events.jsonl")
u=$(grep -o '"event":"candidate","id":[0-9]*' "$L/events.jsonl" | sort -u | wc -l)
[ "$n" = 400 ] && [ "$u" = 400 ] || fail "events.jsonl has $n candidate events ($u distinct), expected 400"
grep -q "^$FIRST\$" "$L/.lock" || fail ".lock does not hold the first run's pid"
# The lock dies with its process: a new tcet may now use the directory.
"$T" search --save-dir "$L" $ARGS > "$WORK/out" 2>&1; rc=$?
[ $rc = 0 ] && grep -q "already finished" "$WORK/out" || { cat "$WORK/out"; fail "rerun after the first ended: exit $rc"; }
echo "first run identical to an undisturbed one; directory free again afterwards"

# Second SIGTERM: the first one starts the clean stop, which then waits for a
# busy worker (5 s per candidate); the second, after the checkpoint is sealed,
# must end the master at once.
S=$WORK/sig
export TCET_STOP_GRACE_S=30
TCET_TEST_SCORE_DELAY_US=5000000 mpirun -np 2 "$T" search --save-dir "$S" $ARGS > "$WORK/sig.out" 2>&1 &
JOB=$!
wait_file "$S/search.log"; sleep 1
M=$(master_pid "$S"); [ -n "$M" ] || fail "no master pid in search.log"
kill -TERM "$M"
for _ in $(seq 100); do grep -q "stopped by signal" "$S/search.log" && break; sleep 0.05; done
grep -q "stopped by signal" "$S/search.log" || fail "first SIGTERM did not start the stop"
t0=$(date +%s%N)
kill -TERM "$M"
for _ in $(seq 40); do kill -0 "$M" 2>/dev/null || break; sleep 0.05; done
kill -0 "$M" 2>/dev/null && { kill_job; fail "master still alive 2 s after the second SIGTERM"; }
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait "$JOB"; rc=$?
# (the checkpoint was sealed before the second TERM: the master ends at once
# with the code it would have had, 75; a TERM during the write itself is only
# noted, see search_signals)
# the checkpoint written by the first signal is intact and resumable
"$T" search --resume "$S" --evolution-max-iter 400 > "$WORK/out" 2>&1 </dev/null &
R=$!
# signal it once it runs its loop (it logs "resuming" with its handlers installed)
for _ in $(seq 300); do grep -q "resuming at iteration" "$WORK/out" 2>/dev/null && break; sleep 0.1; done
kill -TERM "$R" 2>/dev/null; wait "$R"; rc2=$?
[ $rc2 = 75 ] || [ $rc2 = 0 ] || { cat "$WORK/out"; fail "resume after a second-signal kill: exit $rc2"; }
no_ranks_left "$S"
echo "second SIGTERM ended the master in $ms ms (mpirun exit $rc); checkpoint still resumable"
echo "PASS"
