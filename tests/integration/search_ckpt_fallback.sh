# The previous checkpoint is kept beside the latest (checkpoint.prev.h5).  A
# latest checkpoint corrupted on disk: the resume warns, continues from the
# previous one (losing at most the one checkpoint interval between them) and
# ends with the population of an uninterrupted run.  Both damaged: exit 4.
. "$(dirname "$0")/search_lib.sh"
T=$TCET_BIN
A="--proxy params --evolution-max-iter 1500 --population-size 32 --budget-model-size 5e5 --max-layers 18 --window 1 --seed 8"
R=$WORK/run
committed() { $PY -c "import h5py,sys; print(int(h5py.File(sys.argv[1],'r').attrs['committed']))" "$1"; }

TCET_TEST_SCORE_DELAY_US=2000 "$T" search --save-dir "$R" $A --checkpoint-every 0.25 > "$WORK/job.out" 2>&1 &
JOB=$!
wait_file "$R/checkpoint.prev.h5"
sleep 0.3
kill -TERM "$JOB"; wait "$JOB"; rc=$?
[ $rc = 75 ] || { cat "$WORK/job.out"; fail "stop: exit $rc, expected 75"; }
ls "$R" | grep -q tmp && fail "tmp files left: $(ls "$R")"
L=$(committed "$R/checkpoint.h5"); P=$(committed "$R/checkpoint.prev.h5")
[ "$P" -gt 0 ] && [ "$P" -le "$L" ] && [ "$L" -lt 1500 ] || fail "latest $L, previous $P"
# the previous checkpoint is the one written just before the latest: its
# committed count is the next-to-last checkpoint event of events.jsonl
want=$(grep '"event":"checkpoint"' "$R/events.jsonl" | tail -2 | head -1 | grep -o '"committed":[0-9]*' | cut -d: -f2)
[ "$P" = "$want" ] || fail "previous checkpoint at $P, the one before the latest was at $want"
echo "stopped: latest at $L, previous at $P"
cp -r "$R" "$WORK/copy"

# corrupt the latest in the middle (the seal catches it)
size=$(stat -c %s "$R/checkpoint.h5")
printf '\377\377\377\377' | dd of="$R/checkpoint.h5" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
cp "$R/checkpoint.h5" "$WORK/damaged.h5"
# the tools show the previous checkpoint, as a resume will use it
"$T" inspect "$R" > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "inspect with a corrupt latest: exit $?"; }
grep -q "WARNING: the latest checkpoint .* is unusable.*showing the previous checkpoint" "$WORK/out" &&
    grep -q "^checkpoint $R/checkpoint.prev.h5" "$WORK/out" && grep -q "iteration $P / 1500" "$WORK/out" ||
    { cat "$WORK/out"; fail "inspect does not show the previous checkpoint"; }
"$T" search --resume "$R" > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "resume after a corrupt latest: exit $?"; }
grep -q "WARNING: the latest checkpoint $R/checkpoint.h5 is unusable (.*corrupt.*); resuming from the previous checkpoint $R/checkpoint.prev.h5 (iteration $P)" "$WORK/out" ||
    { cat "$WORK/out"; fail "no fall-back warning"; }
grep -q "resuming at iteration $P/1500" "$WORK/out" || { cat "$WORK/out"; fail "did not resume at $P"; }
cmp -s "$R/checkpoint.h5.damaged" "$WORK/damaged.h5" || fail "the damaged checkpoint was not kept aside unchanged"
echo "lost $((L - P)) iterations (one checkpoint interval at most)"
"$T" search --save-dir "$WORK/straight" $A > /dev/null 2>&1 || fail "uninterrupted run"
same_run "$R" "$WORK/straight"
$PY - "$R/events.jsonl" <<'PYEOF' || fail "events.jsonl after the fall-back"
import json, sys
ids = [e['id'] for e in map(json.loads, open(sys.argv[1])) if e['event'] == 'candidate']
assert ids == list(range(1500)), 'candidate ids not 0..1499 exactly once'
PYEOF

# the latest missing (e.g. lost between two renames): the previous one, with a warning
C=$WORK/copy
rm "$C/checkpoint.h5"
"$T" search --resume "$C" > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "resume without a latest: exit $?"; }
grep -q "is unusable (it is missing); resuming from the previous checkpoint" "$WORK/out" || { cat "$WORK/out"; fail "missing latest: warning"; }
same_run "$C" "$WORK/straight"

# both damaged: refused, exit 4, both reasons named, nothing touched
B=$WORK/both; mkdir -p "$B"
cp "$WORK/damaged.h5" "$B/checkpoint.h5"; head -c 1000 "$WORK/damaged.h5" > "$B/checkpoint.prev.h5"
"$T" search --resume "$B" > "$WORK/out" 2>&1; rc=$?
[ $rc = 4 ] || { cat "$WORK/out"; fail "both damaged: exit $rc, expected 4"; }
grep -q "corrupt.*previous checkpoint is unusable too.*truncated" "$WORK/out" || { cat "$WORK/out"; fail "both damaged: message"; }
cmp -s "$B/checkpoint.h5" "$WORK/damaged.h5" || fail "both damaged: latest modified"
echo "PASS"
