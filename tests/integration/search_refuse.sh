# Checkpoints that must be refused (exit 4, file left byte-identical):
# truncated, corrupted, another configuration, another format version.
. "$(dirname "$0")/search_lib.sh"
ARGS="--proxy params --evolution-max-iter 1500 --population-size 32 --budget-model-size 5e5 --max-layers 18 --window 4 --seed 9"
R=$WORK/run
TCET_TEST_SCORE_DELAY_US=4000 "$TCET_BIN" search --save-dir "$R" $ARGS > /dev/null 2>&1 &
JOB=$!
wait_file "$R/search.log"
sleep 0.4
kill -TERM "$JOB"
wait "$JOB"; [ $? = 75 ] || fail "could not make an unfinished checkpoint"
CK=$R/checkpoint.h5
cp "$CK" "$WORK/orig.h5"

expect_refused() { # dir, description, extra args...
    local dir=$1 what=$2; shift 2
    cp "$dir/checkpoint.h5" "$WORK/before.h5"
    "$TCET_BIN" search --save-dir "$dir" $ARGS "$@" > "$WORK/out" 2>&1; local rc=$?
    [ $rc = 4 ] || { cat "$WORK/out"; fail "$what: exit $rc, expected 4"; }
    cmp -s "$dir/checkpoint.h5" "$WORK/before.h5" || fail "$what: checkpoint modified"
    grep -q "error" "$WORK/out" || fail "$what: no message"
    echo "refused ($what): $(grep error "$WORK/out" | head -1)"
}
mk() { rm -rf "$WORK/$1"; mkdir -p "$WORK/$1"; cp "$WORK/orig.h5" "$WORK/$1/checkpoint.h5"; }

# another configuration: a different seed, window or budget
expect_refused "$R" "other seed" --seed 10
expect_refused "$R" "other window" --window 5
expect_refused "$R" "other budget" --budget-model-size 4e5
"$TCET_BIN" search --resume "$R" --max-layers 17 > "$WORK/out" 2>&1; [ $? = 2 ] && grep -q -- "--max-layers cannot be given" "$WORK/out" || fail "--resume with another --max-layers: not refused by name (exit 2)"
# truncated
mk trunc; size=$(stat -c %s "$WORK/orig.h5"); head -c $((size / 2)) "$WORK/orig.h5" > "$WORK/trunc/checkpoint.h5"
expect_refused "$WORK/trunc" "truncated"
mk trunc2; head -c $((size - 100)) "$WORK/orig.h5" > "$WORK/trunc2/checkpoint.h5"
expect_refused "$WORK/trunc2" "truncated by 100 bytes"
# corrupted: one byte of a structure string (global heap, no HDF5 checksum covers it)
mk corrupt
off=$(grep -abo 'SuperResK' "$WORK/corrupt/checkpoint.h5" | head -1 | cut -d: -f1)
[ -n "$off" ] || fail "no structure string found in the file"
printf 'X' | dd of="$WORK/corrupt/checkpoint.h5" bs=1 seek=$((off + 5)) conv=notrunc 2>/dev/null
expect_refused "$WORK/corrupt" "corrupted string"
# corrupted: a byte in the middle of the file
mk corrupt2
printf '\377\377\377\377' | dd of="$WORK/corrupt2/checkpoint.h5" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
cmp -s "$WORK/orig.h5" "$WORK/corrupt2/checkpoint.h5" && fail "corrupt2: bytes unchanged"
# the whole-file seal catches it before HDF5 reads anything (even unused space)
expect_refused "$WORK/corrupt2" "4 bytes overwritten mid-file"
# corrupted seal header itself
mk corrupt3
printf 'X' | dd of="$WORK/corrupt3/checkpoint.h5" bs=1 seek=3 conv=notrunc 2>/dev/null
expect_refused "$WORK/corrupt3" "header damaged"
# one byte appended
mk longer; cp "$WORK/orig.h5" "$WORK/longer/checkpoint.h5"; printf 'x' >> "$WORK/longer/checkpoint.h5"
expect_refused "$WORK/longer" "extended by one byte"
# another format version
mk fmt
$PY -c "import h5py,sys; f=h5py.File(sys.argv[1],'r+'); f.attrs.modify('format_version', 99)" "$WORK/fmt/checkpoint.h5"
expect_refused "$WORK/fmt" "format version 99"
grep -q "format 99" "$WORK/out" || fail "format message"
# not HDF5 at all
mk garbage; echo "hello" > "$WORK/garbage/checkpoint.h5"
expect_refused "$WORK/garbage" "not HDF5"
# --resume of a directory without a checkpoint
"$TCET_BIN" search --resume "$WORK/nothing" > "$WORK/out" 2>&1; [ $? = 4 ] || fail "--resume without checkpoint"
# the original is still resumable and finishes
cmp -s "$CK" "$WORK/orig.h5" || fail "original modified"
"$TCET_BIN" search --resume "$R" > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "resume of the good checkpoint"; }
[ -f "$R/best_structure.txt" ] || fail "no best_structure.txt"
# usage errors: exit 2
"$TCET_BIN" search --save-dir "$WORK/u" --population-size 0 > /dev/null 2>&1; [ $? = 2 ] || fail "bad value not exit 2"
"$TCET_BIN" search --save-dir "$WORK/u" --preset nope > /dev/null 2>&1; [ $? = 2 ] || fail "bad preset not exit 2"
"$TCET_BIN" search --help | grep -q "cifar-params1M-tcet-snip" || fail "--help lacks presets"
echo PASS
