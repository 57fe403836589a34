# Signals during a stop lose nothing beyond the candidates in flight:
#  1. TERM, TERM and USR1 20 ms apart to every rank while the final (large)
#     checkpoint is written: it is written once and completely, exit 75;
#  2. TERM to mpirun (Open MPI: SIGCONT to every rank, SIGTERM after
#     odls_base_sigkill_timeout seconds, SIGKILL after as many again): rank 0
#     writes its checkpoint within that time;
#  3. kill -9 of mpirun: no rank outlives it; rank 0 logs the launcher's death
#     (from its signal handler: Open MPI may end it right after, docs/search.md).
# 2 and 3 resume to the uninterrupted result.
. "$(dirname "$0")/search_lib.sh"
T=$TCET_BIN
ranks() { pgrep -f -- "^$T search --save-dir $1 " | tr '\n' ' '; }
stop_iter() { grep -o 'stopped by signal [0-9]* at iteration [0-9]*' "$1/search.log" | tail -1 | awk '{print $NF}'; }
ck_committed() { $PY -c "import h5py,sys; print(h5py.File(sys.argv[1],'r').attrs['committed'])" "$1/checkpoint.h5"; }

# 1. A history of a few hundred thousand candidates: the final checkpoint
# takes a while to write.
R=$WORK/double
mpirun -np 2 "$T" search --save-dir "$R" --proxy params --evolution-max-iter 50000000 --population-size 64 --window 256 \
    --seed 2 > "$WORK/double.out" 2>&1 &
JOB=$!
wait_file "$R/search.log"; sleep 2.5
P=$(ranks "$R"); [ -n "$P" ] || fail "no ranks"
kill -TERM $P; sleep 0.02; kill -TERM $P; sleep 0.02; kill -USR1 $P
wait $JOB; rc=$?
[ $rc = 75 ] || { tail -20 "$WORK/double.out"; fail "TERM,TERM,USR1: exit $rc, expected 75"; }
grep -q "[12] further signal(s) arrived while stopping: noted" "$R/search.log" ||
    { tail -5 "$R/search.log"; fail "the further signals were not noted"; }
ls "$R" | grep -q '\.tmp\.' && fail "a checkpoint tmp file was left"
s=$(stop_iter "$R"); c=$(ck_committed "$R")
[ -n "$s" ] && [ "$s" = "$c" ] || fail "checkpoint holds $c iterations, the stop was at $s"
"$T" inspect "$R" > /dev/null || fail "checkpoint unreadable"
grep -o 'written in [0-9.]* s' "$R/search.log" | tail -1 | sed "s/^/final checkpoint of $c iterations /"
no_ranks_left "$R"

ARGS="--proxy params --evolution-max-iter 3000 --population-size 32 --budget-model-size 5e5 --max-layers 18 --window 6 --seed 3"
mpirun -np 3 "$T" search --save-dir "$WORK/ref" $ARGS > /dev/null 2>&1 || fail "reference run"

# 2. TERM to mpirun, with time for the checkpoint (docs/search.md).
R=$WORK/mpirun-term
OMPI_MCA_odls_base_sigkill_timeout=2 TCET_TEST_SCORE_DELAY_US=10000 mpirun -np 3 "$T" search --save-dir "$R" $ARGS > "$WORK/term.out" 2>&1 &
JOB=$!
wait_file "$R/search.log"; sleep 1
kill -TERM $JOB
wait $JOB; rc=$?
grep -q "stopped by signal 15" "$R/search.log" || { cat "$WORK/term.out"; fail "TERM to mpirun: rank 0 did not stop cleanly (exit $rc)"; }
[ "$(stop_iter "$R")" = "$(ck_committed "$R")" ] || fail "TERM to mpirun: checkpoint behind the stop"
no_ranks_left "$R"
echo "TERM to mpirun: mpirun exit $rc, checkpoint at iteration $(ck_committed "$R")"
mpirun -np 3 "$T" search --resume "$R" > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "resume after TERM to mpirun"; }
same_run "$WORK/ref" "$R"

# 3. kill -9 of mpirun: the ranks follow it within a second.
R=$WORK/mpirun-kill
TCET_TEST_SCORE_DELAY_US=3000 mpirun -np 3 "$T" search --save-dir "$R" $ARGS > "$WORK/kill.out" 2>&1 &
JOB=$!
wait_file "$R/search.log"; sleep 1
kill -9 $JOB; wait $JOB 2>/dev/null
sleep 1
left=$(ranks "$R"); [ -z "$left" ] || { kill -9 $left; fail "ranks outlived mpirun: $left"; }
grep -q "the launcher (mpirun or srun) is gone" "$R/search.log" || fail "rank 0 did not notice mpirun's death"
ls "$R" | grep -q '\.tmp\.' && fail "kill -9 mpirun: a checkpoint tmp file was left"
if grep -q "stopped by signal" "$R/search.log"; then
    [ "$(stop_iter "$R")" = "$(ck_committed "$R")" ] || fail "kill -9 mpirun: checkpoint behind the stop"
    echo "kill -9 of mpirun: no rank left after 1 s, checkpoint at iteration $(ck_committed "$R")"
else
    # Open MPI ended rank 0 (lost connection to its server) before the stop
    # got to its checkpoint: what is on disk must be a complete earlier one.
    echo "kill -9 of mpirun: no rank left after 1 s; Open MPI ended rank 0 before its final checkpoint"
fi
if [ -f "$R/checkpoint.h5" ]; then
    "$T" inspect "$R" > /dev/null || fail "kill -9 mpirun: checkpoint unreadable"
    mpirun -np 2 "$T" search --resume "$R" > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "resume after kill -9 mpirun"; }
    same_run "$WORK/ref" "$R"
fi
echo PASS
