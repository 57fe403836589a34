# Links and non-regular files in the run directory are refused (exit 4, the
# path named) and never written through: their targets stay byte-identical.
# The run directory itself may be a link.  Stale temporary files (links
# included) are removed without touching their targets.
. "$(dirname "$0")/search_lib.sh"
T=$TCET_BIN
ARGS="--proxy params --evolution-max-iter 60 --population-size 8 --seed 5"
TARGET=$WORK/precious
printf 'precious bytes\n\0\1\2 not to be overwritten\n' > "$TARGET"
cp "$TARGET" "$WORK/precious.orig"
intact() { cmp -s "$TARGET" "$WORK/precious.orig" || fail "$1: the link's target was modified"; }
refused() { # DIR NAME WHAT EXPECTED-KIND [tcet args...]
    local d=$1 name=$2 kind=$3; shift 3
    "$T" search "$@" > "$WORK/out" 2>&1; local rc=$?
    [ $rc = 4 ] || { cat "$WORK/out"; fail "$name as $kind: exit $rc, expected 4"; }
    grep -q "error: $d/$name is $kind" "$WORK/out" || { cat "$WORK/out"; fail "$name as $kind: message does not name it"; }
    intact "$name"
}
for name in .lock search.log events.jsonl checkpoint.h5 best_structure.txt; do
    D=$WORK/fresh-${name#.}; mkdir -p "$D"; ln -s "$TARGET" "$D/$name"
    refused "$D" "$name" "a symbolic link" --save-dir "$D" $ARGS
    [ -f "$D/checkpoint.h5" ] && [ "$name" != checkpoint.h5 ] && fail "$name: a checkpoint was written"
done
echo "fresh run: links under each of tcet's names refused, targets intact"

# Resume: a finished-or-not run whose files are replaced by links later.
R=$WORK/run
TCET_TEST_SCORE_DELAY_US=20000 "$T" search --save-dir "$R" $ARGS --evolution-max-iter 2000 --checkpoint-every 0.2 > "$WORK/first.out" 2>&1 &
P=$!
wait_file "$R/checkpoint.h5"; sleep 0.2
kill -TERM $P; wait $P; rc=$?
[ $rc = 75 ] || { cat "$WORK/first.out"; fail "interrupted run: exit $rc"; }
for name in events.jsonl search.log .lock; do
    mv "$R/$name" "$WORK/saved"; ln -s "$TARGET" "$R/$name"
    refused "$R" "$name" "a symbolic link" --resume "$R"
    rm "$R/$name"; mv "$WORK/saved" "$R/$name"
done
mkfifo "$R/saved.fifo"; mv "$R/events.jsonl" "$WORK/saved"; mv "$R/saved.fifo" "$R/events.jsonl"
refused "$R" events.jsonl "a named pipe" --resume "$R"
rm "$R/events.jsonl"; mv "$WORK/saved" "$R/events.jsonl"
mv "$R/checkpoint.h5" "$WORK/saved"; mkdir "$R/checkpoint.h5"
refused "$R" checkpoint.h5 "a directory" --resume "$R"
# tools that read a checkpoint say what it is, not "truncated": inspect shows
# the previous checkpoint with that warning, or exits 4 when there is none
"$T" inspect "$R" > "$WORK/out" 2>&1; rc=$?
[ $rc = 0 ] && grep -q "checkpoint.h5 is a directory, not a checkpoint file); showing the previous checkpoint" "$WORK/out" ||
    { cat "$WORK/out"; fail "inspect of a directory checkpoint beside a previous one: exit $rc"; }
mv "$R/checkpoint.prev.h5" "$WORK/saved.prev"
"$T" inspect "$R" > "$WORK/out" 2>&1; rc=$?
[ $rc = 4 ] && grep -q "checkpoint.h5 is a directory, not a checkpoint file" "$WORK/out" ||
    { cat "$WORK/out"; fail "inspect of a directory checkpoint: exit $rc"; }
mv "$WORK/saved.prev" "$R/checkpoint.prev.h5"
rmdir "$R/checkpoint.h5"; mv "$WORK/saved" "$R/checkpoint.h5"
echo "resume: links, a pipe and a directory refused with exit 4, targets intact"

# Stale temporary files, links included, are removed; their targets untouched.
ln -s "$TARGET" "$R/best_structure.txt.tmp.999999"
ln -s "$TARGET" "$R/checkpoint.h5.tmp.999998"
echo stale > "$R/best_structure.txt.tmp.999997"
# The run directory itself may be a link.
ln -s "$R" "$WORK/run-link"
"$T" search --resume "$WORK/run-link" > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "resume through a linked run directory"; }
intact "stale tmp"
ls "$R" | grep -q '\.tmp\.' && { ls -la "$R"; fail "stale tmp files left"; }
[ -f "$R/best_structure.txt" ] && [ ! -L "$R/best_structure.txt" ] || fail "no best_structure.txt"
"$T" search --save-dir "$WORK/ref" $ARGS --evolution-max-iter 2000 > /dev/null 2>&1 || fail "reference run"
same_run "$WORK/ref" "$R"
echo "linked run directory resumed to the uninterrupted result; stale tmp files removed"
echo PASS
