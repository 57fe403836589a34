# Disk full on a tiny tmpfs: the failing write is reported in one line with the
# file and the system's reason, HDF5's diagnostic stack stays off (on with
# TCET_DEBUG_HDF5=1), the previous checkpoint is intact, and after freeing
# space the run resumes to the uninterrupted result.
. "$(dirname "$0")/search_lib.sh"
T=$TCET_BIN
FS=$WORK/fs; mkdir -p "$FS"
mount -t tmpfs -o size=16m tmpfs "$FS" 2>/dev/null || { echo "SKIP: cannot mount a tmpfs (needs root)"; exit 77; }
trap 'umount "$FS" 2>/dev/null; rm -rf "$WORK"' EXIT
ARGS="--proxy params --evolution-max-iter 3000 --population-size 16 --seed 7"
"$T" search --save-dir "$WORK/ref" $ARGS > /dev/null 2>&1 || fail "reference run"
fill() { # leave $1 bytes free
    local av; av=$(df --output=avail -B1 "$FS" | tail -1)
    head -c $((av - $1)) /dev/zero > "$FS/fill" 2>/dev/null || true
}
for debug in 0 1; do
    R=$FS/run; rm -rf "$R" "$FS/fill"
    TCET_DEBUG_HDF5=$debug TCET_TEST_SCORE_DELAY_US=20000 "$T" search --save-dir "$R" $ARGS --checkpoint-every 0.4 > "$WORK/out" 2>&1 &
    P=$!
    wait_file "$R/checkpoint.h5"; sleep 0.1
    cp "$R/checkpoint.h5" "$WORK/ckpt.before"
    fill 16384   # room for a few events, not for the next checkpoint
    wait $P; rc=$?
    [ $rc = 1 ] || { cat "$WORK/out"; fail "disk full: exit $rc, expected 1"; }
    grep -q "^tcet: error: cannot write $R/checkpoint.h5.tmp.$P (H5Fflush): No space left on device; $R/checkpoint.h5 is unchanged\$" "$WORK/out" ||
        grep -q "^tcet: error: cannot write $R/events.jsonl: No space left on device\$" "$WORK/out" ||
        { cat "$WORK/out"; fail "no one-line message with the file and the reason"; }
    n=$(grep -c "HDF5-DIAG" "$WORK/out")
    if [ $debug = 0 ]; then [ "$n" = 0 ] || fail "HDF5 diagnostic stack printed ($n)"; 
    else [ "$n" -gt 0 ] || { cat "$WORK/out"; fail "TCET_DEBUG_HDF5=1: no HDF5 stack"; }; fi
    ls "$R" | grep -q '\.tmp\.' && fail "tmp file left"
    # the checkpoint on disk is the last complete one: readable, not damaged
    "$T" inspect "$R" > /dev/null 2>&1 || fail "checkpoint unreadable after disk full"
    echo "debug=$debug: $(grep '^tcet: error' "$WORK/out")"
done
rm -f "$FS/fill"
"$T" search --resume "$R" > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "resume after freeing space"; }
same_run "$WORK/ref" "$R"
echo PASS
