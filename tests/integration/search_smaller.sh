# Smaller faults: events.jsonl cut inside a line before the checkpoint's
# offset; a run killed before its first checkpoint was complete, then asked to
# --resume.
. "$(dirname "$0")/search_lib.sh"
T=$TCET_BIN
ARGS="--proxy params --evolution-max-iter 1500 --population-size 16 --window 2 --seed 9"
"$T" search --save-dir "$WORK/ref" $ARGS > /dev/null 2>&1 || fail "reference run"

# 1. events.jsonl cut in the middle of a line, before the checkpoint's offset.
R=$WORK/cut
TCET_TEST_SCORE_DELAY_US=2000 "$T" search --save-dir "$R" $ARGS > "$WORK/out" 2>&1 &
P=$!
wait_file "$R/search.log"; sleep 0.5
kill -TERM $P; wait $P; rc=$?
[ $rc = 75 ] || { cat "$WORK/out"; fail "SIGTERM: exit $rc"; }
off=$($PY -c "import h5py,sys; print(h5py.File(sys.argv[1],'r').attrs['events_offset'])" "$R/checkpoint.h5")
# cut 40 bytes into the 11th line
cut=$(( $(head -n 10 "$R/events.jsonl" | wc -c) + 40 ))
[ $cut -lt "$off" ] || fail "run too short to cut before the offset ($cut >= $off)"
truncate -s $cut "$R/events.jsonl"
"$T" search --resume "$R" > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "resume after the cut"; }
grep -q "events were lost.*its last, cut line was removed" "$WORK/out" || { cat "$WORK/out"; fail "no warning"; }
$PY - "$R/events.jsonl" <<'PYEOF' || fail "events.jsonl after the cut"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]   # every line is one JSON object
ids = [e['id'] for e in ev if e['event'] == 'candidate']
assert ids[:10] == list(range(10)), ids[:12]
assert ids[10] > 10 and ids[-1] == 1499 and ids == sorted(ids), (ids[10], ids[-1])
print('events.jsonl: every line parses;', len(ids), 'candidates, hole after id 9 up to', ids[10])
PYEOF
same_run "$WORK/ref" "$R"

# 2. Killed before the first checkpoint existed (here: during its write, a
# partial tmp file left): --resume starts afresh with the recorded
# configuration, and says so.
R=$WORK/first
TCET_TEST_SCORE_DELAY_US=2000 "$T" search --save-dir "$R" $ARGS --checkpoint-every 1000 > "$WORK/out" 2>&1 &
P=$!
wait_file "$R/search.log"; sleep 0.3
kill -9 $P; wait $P 2>/dev/null
[ -e "$R/checkpoint.h5" ] && fail "a checkpoint exists: the kill came too late"
head -c 3000 "$WORK/ref/checkpoint.h5" > "$R/checkpoint.h5.tmp.$P"
"$T" search --resume "$R" > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "--resume without a checkpoint: exit $?"; }
grep -q "NOTICE: $R has no checkpoint.h5: the run was stopped before its first checkpoint was complete, so there is nothing to resume; starting it afresh" "$WORK/out" ||
    { cat "$WORK/out"; fail "no notice"; }
same_run "$WORK/ref" "$R"
ls "$R" | grep -q '\.tmp\.' && fail "partial tmp left"
# An identity option given with --resume is refused by name (as with a checkpoint).
rm -rf "$R"; mkdir -p "$R"; sed -n '1,/^$/p' "$WORK/ref/search.log" > "$R/search.log"
"$T" search --resume "$R" --seed 10 > "$WORK/out" 2>&1; rc=$?
[ $rc = 2 ] && grep -q -- "--seed cannot be given with it" "$WORK/out" || { cat "$WORK/out"; fail "--seed change: exit $rc"; }
# A directory that never was a run is still refused.
mkdir -p "$WORK/empty"
"$T" search --resume "$WORK/empty" > "$WORK/out" 2>&1; rc=$?
[ $rc = 4 ] && grep -q "no checkpoint.h5 there" "$WORK/out" || { cat "$WORK/out"; fail "empty dir: exit $rc"; }
echo PASS
