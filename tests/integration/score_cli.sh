#!/bin/bash
# tcet score: T-CET of the golden 'tiny' case (official 1552.703 / 1693.6866638242673),
# Params/Flops of its structure, JSON fields, the non-finite/failed policy
# (-9999 with reason, raw kept) via TCET_INJECT_FAILURES, and exit codes.
set -u
BIN=${TCET_BIN:?TCET_BIN not set}
DATA=${TCET_TEST_DATA:?TCET_TEST_DATA not set}
G="$DATA/golden/tiny.h5"
fail() { echo "FAIL: $*" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
TINY='SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)'
# a JSON number field, by name (first occurrence)
field() { grep -m1 "\"$1\":" "$2" | sed -E 's/.*": *"?([^",]*)"?,?$/\1/'; }

# --- golden T-CET(SNIP): float32 total 1552.703
"$BIN" score --golden "$G" --proxy tcet-snip --json >"$TMP/snip.json" 2>"$TMP/err" || fail "tcet-snip exited $?"
s=$(field score "$TMP/snip.json")
[ "$(printf '%.7g' "$s")" = "1552.703" ] || { cat "$TMP/snip.json"; fail "tcet-snip score $s"; }
[ "$(field status "$TMP/snip.json")" = "ok" ] || fail "status"
[ "$(grep -c '"name":' "$TMP/snip.json")" = 5 ] || fail "5 layers expected"
grep -q '"name": "fc_linear.netblock"' "$TMP/snip.json" || fail "fc layer row"
for k in proxy raw_score reason seconds layers naswot sum std ratio log term; do
    grep -q "\"$k\":" "$TMP/snip.json" || fail "JSON field $k missing"
done
grep -q SYNTHETIC "$TMP/err" && fail "golden scoring must not open the synthetic set"

# --- golden T-CET(Synflow): float64 total 1693.6866638242673 (1e-9 relative)
"$BIN" score --golden "$G" --proxy tcet-synflow --json >"$TMP/syn.json" || fail "tcet-synflow exited $?"
s=$(field score "$TMP/syn.json")
awk -v s="$s" 'BEGIN { d = s - 1693.6866638242673; if (d < 0) d = -d; exit !(d <= 1.7e-6) }' ||
    fail "tcet-synflow score $s"

# --- text mode: total and per-layer table
"$BIN" score --golden "$G" --proxy tcet-snip >"$TMP/snip.txt" || fail "text mode exited $?"
grep -Eq '^score +1552\.703' "$TMP/snip.txt" || { cat "$TMP/snip.txt"; fail "text score"; }
grep -Eq '^ +4 +fc_linear\.netblock +0 ' "$TMP/snip.txt" || fail "text FC row (NASWOT 0)"

# --- structure mode: reference counters of the scoring network (golden: 2841 / 817472)
[ "$("$BIN" score "$TINY" --proxy params --num-classes 10 --json | grep -m1 '"score"' | grep -c '2841')" = 1 ] ||
    fail "params"
[ "$("$BIN" score "$TINY" --proxy flops --num-classes 10 --json | grep -m1 '"score"' | grep -c '817472')" = 1 ] ||
    fail "flops"
# default-initialised T-CET on synthetic data is finite and reproducible
a=$("$BIN" score "$TINY" --proxy tcet-snip --batch-size 8 --seed 3 --json 2>/dev/null | grep -m1 '"score"')
b=$("$BIN" score "$TINY" --proxy tcet-snip --batch-size 8 --seed 3 --json 2>/dev/null | grep -m1 '"score"')
[ -n "$a" ] && [ "$a" = "$b" ] || fail "same seed, different score: $a / $b"
echo "$a" | grep -q -- '-9999' && fail "synthetic T-CET failed: $a"

# --- failure policy: NaN ⇒ -9999, raw kept as null + "nan"; injected error ⇒ failed
TCET_INJECT_FAILURES="5:error,0:nan" "$BIN" score --golden "$G" --proxy tcet-snip --json >"$TMP/nan.json" ||
    fail "nan injection exited $?"
[ "$(field score "$TMP/nan.json")" = "-9999" ] || fail "nan score"
[ "$(field status "$TMP/nan.json")" = "nonfinite" ] || fail "nan status"
grep -q '"raw_score": null' "$TMP/nan.json" || fail "raw_score null"
grep -q '"raw_score_text": "nan"' "$TMP/nan.json" || fail "raw_score_text"
TCET_INJECT_FAILURES="0:error" "$BIN" score --golden "$G" --proxy tcet-snip --json >"$TMP/err.json" ||
    fail "error injection exited $?"
[ "$(field status "$TMP/err.json")" = "failed" ] || fail "failed status"
grep -q '"reason": "injected failure"' "$TMP/err.json" || fail "injected reason"

# --- exit codes
"$BIN" score --golden "$G" --proxy tcet-snip --bogus-flag >/dev/null 2>"$TMP/e1"
[ $? = 2 ] || fail "bad flag must exit 2"
grep -q "unknown option '--bogus-flag'" "$TMP/e1" || fail "bad flag message"
"$BIN" score --golden "$G" --proxy no-such-proxy >/dev/null 2>&1
[ $? = 2 ] || fail "unknown proxy must exit 2"
"$BIN" score "$TINY" >/dev/null 2>&1
[ $? = 2 ] || fail "missing --proxy must exit 2"
"$BIN" score --golden "$TMP/missing.h5" --proxy tcet-snip >/dev/null 2>"$TMP/e3"
[ $? = 3 ] || fail "missing golden file must exit 3"
grep -q "missing.h5" "$TMP/e3" || fail "missing file message"
echo "not hdf5" >"$TMP/bad.h5"
"$BIN" score --golden "$TMP/bad.h5" --proxy tcet-snip >/dev/null 2>&1
[ $? = 3 ] || fail "non-HDF5 golden file must exit 3"
"$BIN" score 'SuperFoo(3,8,1,1)' --proxy params >/dev/null 2>&1
[ $? = 2 ] || fail "bad structure must exit 2"
"$BIN" score "$TINY" --proxy params --seed " -1" >/dev/null 2>"$TMP/e4"
[ $? = 2 ] || fail "a seed with a sign or blank must exit 2"
grep -q "non-negative integer" "$TMP/e4" || fail "seed message"
"$BIN" score --proxy params >/dev/null 2>"$TMP/e5"
[ $? = 2 ] || fail "nothing to score must exit 2"
grep -q "nothing to score" "$TMP/e5" || fail "nothing-to-score message"
# a dataset smaller than one batch is refused before scoring (exit 3)
if /usr/bin/python3 -c 'import h5py, numpy' 2>/dev/null; then
  /usr/bin/python3 -c "
import h5py, numpy as np, sys
with h5py.File(sys.argv[1], 'w') as f:
    f['images'] = np.zeros((10, 40, 40, 3), np.uint8); f['labels'] = np.arange(10)
" "$TMP/small.h5"
  "$BIN" score "$TINY" --proxy tcet-snip --dataset hdf5 --data "$TMP/small.h5" --num-classes 10 >/dev/null 2>"$TMP/e6"
  [ $? = 3 ] || fail "batch larger than the dataset must exit 3"
  grep -q "fewer than the 64 one batch needs" "$TMP/e6" || fail "small dataset message"
  "$BIN" score "$TINY" --proxy tcet-snip --dataset hdf5 --data "$TMP/small.h5" --num-classes 10 --batch-size 8 >/dev/null 2>&1
  [ $? = 0 ] || fail "a batch that fits the dataset must score"
fi
echo "score_cli: ok"
