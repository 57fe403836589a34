#!/bin/bash
# tcet score in batch mode on NAS-Bench-201 cells: one row per (structure, proxy)
# in table / CSV / JSON lines; the params column equals NASLib's table
# (x 1e6); 3 MPI ranks give the same rows as one process; a batch killed with
# SIGKILL (plus a torn last line) resumes keeping the rows written and ends
# with every row exactly once and the uninterrupted run's scores; a resume with
# other scoring settings (seed, precision, batch) is refused and changes nothing.
set -u
BIN=${TCET_BIN:?TCET_BIN not set}
DATA=${TCET_TEST_DATA:?TCET_TEST_DATA not set}
fail() { echo "FAIL: $*" >&2; exit 1; }
# MPI singletons: full unwinding so that LeakSanitizer sees (and suppresses) Open MPI's own frames
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"; fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cat >"$TMP/archs.txt" <<'A'
# six architectures of the CIFAR-10 table and the all-none cell
(0, 2, 3, 2, 3, 1)
(4, 0, 4, 1, 2, 0)
|none~0|+|skip_connect~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|none~2|

(3, 4, 4, 4, 4, 4)
(4, 0, 3, 2, 4, 3)
(2, 3, 2, 3, 4, 3)
(1, 1, 1, 1, 1, 1)
A
OPTS="--num-classes 10 --batch-size 8"

# --- CSV with the params column against the table (NASLib params x 1e6)
"$BIN" score @"$TMP/archs.txt" --proxy params,flops,naswot $OPTS --csv >"$TMP/a.csv" 2>"$TMP/err" || { cat "$TMP/err"; fail "batch exited $?"; }
[ "$(wc -l <"$TMP/a.csv")" = 22 ] || { cat "$TMP/a.csv"; fail "21 rows + header expected"; }
for pair in "0 615386" "1 316346" "2 802426" "3 101306" "4 372346" "5 643386" "6 73306"; do
    set -- $pair
    grep -q "^$1,\"[^\"]*\",params,$2," "$TMP/a.csv" || fail "params of row $1 is not $2"
done
# the all-none cell: NASWOT of a constant network is -inf, reported as -9999 (nonfinite)
grep -q '^6,.*,naswot,-9999,-inf,nonfinite,' "$TMP/a.csv" || { grep '^6,' "$TMP/a.csv"; fail "all-none naswot"; }

# the all-none cell and every proxy: the values docs/nb201.md defines (no proxy fails)
"$BIN" score '(1, 1, 1, 1, 1, 1)' --proxy naswot,zen,snip,synflow,tcet-snip,tcet-synflow,zico,gradnorm-zc,gradnorm,naswot-layerwise,te-nas \
    $OPTS --dataset synthetic --csv >"$TMP/none.csv" 2>"$TMP/err" || { cat "$TMP/err"; fail "all-none cell: exit $?"; }
python3 - "$TMP/none.csv" <<'P' || { cat "$TMP/none.csv"; fail "all-none cell values"; }
import csv, math, sys
r = {row['proxy']: row for row in csv.DictReader(open(sys.argv[1]))}
assert len(r) == 11, r.keys()
for p in ('naswot', 'zen'):
    assert r[p]['score'] == '-9999' and r[p]['raw_score'] == '-inf' and r[p]['status'] == 'nonfinite', r[p]
for p in ('snip', 'synflow', 'tcet-snip', 'tcet-synflow', 'zico', 'gradnorm-zc', 'te-nas'):
    assert r[p]['status'] == 'ok' and float(r[p]['score']) == 0.0, r[p]
for p in ('gradnorm', 'naswot-layerwise'):
    assert r[p]['status'] == 'ok' and math.isfinite(float(r[p]['score'])) and float(r[p]['score']) > 0, r[p]
P

# --- JSON lines from stdin, same scores
grep -v '^#' "$TMP/archs.txt" | "$BIN" score - --proxy params,flops,naswot $OPTS --json >"$TMP/a.jsonl" 2>/dev/null || fail "stdin batch"
[ "$(grep -c '"proxy":' "$TMP/a.jsonl")" = 21 ] || fail "21 JSON lines expected"
python3 - "$TMP/a.csv" "$TMP/a.jsonl" <<'P' || fail "CSV and JSON lines differ"
import csv, json, sys, math
a = {(r['index'], r['proxy']): float(r['score']) for r in csv.DictReader(open(sys.argv[1]))}
b = {(str(j['index']), j['proxy']): float(j['score']) for j in map(json.loads, open(sys.argv[2]))}
assert a == b, (a, b)
P

# --- table output names every row
"$BIN" score @"$TMP/archs.txt" --proxy params,flops $OPTS >"$TMP/a.txt" 2>/dev/null || fail "table"
[ "$(grep -c ' ok ' "$TMP/a.txt")" = 14 ] || { cat "$TMP/a.txt"; fail "table rows"; }

# --- uninterrupted reference with a slower proxy, then MPI (3 ranks) equals it
P2="tcet-snip,naswot"
"$BIN" score @"$TMP/archs.txt" --proxy $P2 $OPTS --out "$TMP/ref.csv" >/dev/null 2>&1 || fail "reference run"
if command -v mpirun >/dev/null; then
    mpirun -np 3 "$BIN" score @"$TMP/archs.txt" --proxy $P2 $OPTS --out "$TMP/mpi.csv" >/dev/null 2>"$TMP/mpierr" ||
        { cat "$TMP/mpierr"; fail "mpirun batch"; }
    python3 - "$TMP/ref.csv" "$TMP/mpi.csv" <<'P' || fail "3 ranks differ from one process"
import csv, sys
a = {(r['structure'], r['proxy']): r['raw_score'] for r in csv.DictReader(open(sys.argv[1]))}
b = {(r['structure'], r['proxy']): r['raw_score'] for r in csv.DictReader(open(sys.argv[2]))}
assert len(a) == 14 and a == b
P
fi

# --- kill -9 after a few rows, tear the last line, resume
"$BIN" score @"$TMP/archs.txt" --proxy $P2 $OPTS --out "$TMP/res.csv" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    [ -f "$TMP/res.csv" ] && [ "$(wc -l <"$TMP/res.csv")" -ge 4 ] && break
    sleep 0.02
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
have=$(($(wc -l <"$TMP/res.csv") - 1))
[ "$have" -ge 3 ] && [ "$have" -lt 14 ] || fail "killed run left $have rows (3..13 expected; machine too fast/slow?)"
printf '9,"(0, 1, 2' >>"$TMP/res.csv"   # a torn write
"$BIN" score @"$TMP/archs.txt" --proxy $P2 $OPTS --out "$TMP/res.csv" --json >"$TMP/res.jsonl" 2>"$TMP/err2" ||
    { cat "$TMP/err2"; fail "resume exited $?"; }
grep -q "holds $have of the 14 rows" "$TMP/err2" || { cat "$TMP/err2"; fail "resume message"; }
[ "$(grep -Ec '"resumed": ?true' "$TMP/res.jsonl")" = "$have" ] || fail "resumed rows flagged"
python3 - "$TMP/ref.csv" "$TMP/res.csv" <<'P' || fail "resumed file differs from the uninterrupted run"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[2])))
keys = [(r['structure'], r['proxy']) for r in rows]
assert len(keys) == 14 and len(set(keys)) == 14, keys
a = {(r['structure'], r['proxy']): r['raw_score'] for r in csv.DictReader(open(sys.argv[1]))}
b = {(r['structure'], r['proxy']): r['raw_score'] for r in rows}
assert a == b
P
# a file that is not a result file is refused, untouched
echo "hello" >"$TMP/other.csv"
"$BIN" score @"$TMP/archs.txt" --proxy params $OPTS --out "$TMP/other.csv" >/dev/null 2>"$TMP/err3"
[ $? = 2 ] || fail "foreign --out file must exit 2"
[ "$(cat "$TMP/other.csv")" = hello ] || fail "foreign file modified"
# a rerun asking for other scoring settings (seed, precision) is refused, the file untouched;
# another --threads is not a scoring setting and resumes
[ -f "$TMP/res.csv.settings" ] || fail "no settings file beside the result file"
cp "$TMP/res.csv" "$TMP/res.before"
for other in "--seed 2" "--precision float64" "--batch-size 4"; do
    # shellcheck disable=SC2086
    "$BIN" score @"$TMP/archs.txt" --proxy $P2 $OPTS $other --out "$TMP/res.csv" >/dev/null 2>"$TMP/err4"
    [ $? = 2 ] || { cat "$TMP/err4"; fail "resume with $other must exit 2"; }
    grep -q "other settings" "$TMP/err4" || { cat "$TMP/err4"; fail "no settings message for $other"; }
    cmp -s "$TMP/res.csv" "$TMP/res.before" || fail "result file modified by the refused $other"
done
"$BIN" score @"$TMP/archs.txt" --proxy $P2 $OPTS --threads 2 --out "$TMP/res.csv" >/dev/null 2>"$TMP/err5" ||
    { cat "$TMP/err5"; fail "resume with --threads 2"; }
echo "score_batch: ok"
