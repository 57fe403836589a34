#!/bin/bash
# tcet validate nb201: the whole CIFAR-10 table with the counters (no network
# runs): rho(params) equals rho of NASLib's params score to 3 decimals (the
# counts are exact); the JSON layout; Synflow on a few architectures runs
# and resumes from its result file; usage errors exit 2, a bad table 3.
set -u
BIN=${TCET_BIN:?TCET_BIN not set}
DATA=${TCET_TEST_DATA:?TCET_TEST_DATA not set}
T="$DATA/nb201/zc_nasbench201.json"
fail() { echo "FAIL: $*" >&2; exit 1; }
# MPI singletons: full unwinding so that LeakSanitizer sees (and suppresses) Open MPI's own frames
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"; fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

"$BIN" validate nb201 --table "$T" --split cifar10 --proxy params,flops,tcet-snip --dataset synthetic --limit 0 \
    >/dev/null 2>&1 && fail "--limit 0 must be refused"
"$BIN" validate nb201 --table "$T" --split cifar10 --proxy params,flops --dataset synthetic --json \
    --svg "$TMP/v.svg" >"$TMP/v.json" 2>"$TMP/err" || { cat "$TMP/err"; fail "validate exited $?"; }
python3 - "$TMP/v.json" <<'P' || fail "params/flops correlations"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["split"] == "cifar10" and d["n"] == 725, d
p = d["proxies"]["params"]
# the same values ranked the same way: identical rho (published 0.738 for this table)
assert round(p["spearman"], 3) == round(p["naslib_spearman"], 3) == 0.738, p
assert 0.5 < p["kendall"] < p["spearman"], p
f = d["proxies"]["flops"]
assert f["naslib_spearman"] is not None and abs(f["spearman"] - f["naslib_spearman"]) < 0.05, f
for k in ("spearman", "kendall", "naslib_spearman", "n_valid", "seconds"):
    assert k in p, k
P
grep -q "<svg" "$TMP/v.svg" && grep -q "params: rho 0.738" "$TMP/v.svg" || fail "SVG with rho in the title"

# a few architectures with Synflow (reads no images), resumed from the result file
OPTS="--table $T --split ImageNet16-120 --proxy synflow,tcet-synflow --dataset synthetic --limit 4 --batch-size 8 --json"
"$BIN" validate nb201 $OPTS --out "$TMP/r.csv" >"$TMP/a.json" 2>/dev/null || fail "synflow run"
"$BIN" validate nb201 $OPTS --out "$TMP/r.csv" >"$TMP/b.json" 2>"$TMP/err2" || fail "resumed run"
grep -q "holds 8 of the 8 rows" "$TMP/err2" || { cat "$TMP/err2"; fail "resume did not reuse the rows"; }
cmp -s "$TMP/a.json" "$TMP/b.json" || fail "resumed correlations differ"
grep -q '"tcet-synflow"' "$TMP/a.json" && grep -q '"naslib_spearman": null' "$TMP/a.json" || fail "null naslib rho for tcet-synflow"

# errors
"$BIN" validate nb201 --table "$T" --split cifar10 --proxy params >/dev/null 2>"$TMP/e1"
[ $? = 2 ] && grep -q -- "--dataset is required" "$TMP/e1" || fail "missing --dataset must exit 2"
"$BIN" validate nb201 --table "$T" --split cifar11 --proxy params --dataset synthetic >/dev/null 2>&1
[ $? = 2 ] || fail "bad split must exit 2"
echo '{"cifar10": {"(0, 9)": {}}}' >"$TMP/bad.json"
"$BIN" validate nb201 --table "$TMP/bad.json" --split cifar10 --proxy params --dataset synthetic >/dev/null 2>&1
[ $? = 3 ] || fail "bad table must exit 3"
"$BIN" proxies --json >"$TMP/p.json" || fail "tcet proxies"
python3 - "$TMP/p.json" <<'P' || fail "tcet proxies lists every proxy"
import json, sys
d = json.load(open(sys.argv[1]))
names = {x["name"] for x in d}
assert {"tcet-snip", "tcet-synflow", "naswot", "synflow", "snip", "gradnorm", "zen", "te-nas", "zico", "params", "flops", "random"} <= names
for x in d:
    assert x["reads_images"] in ("yes", "no", "none") and isinstance(x["higher_is_better"], bool)
P
# tcet info on a cell: both spellings, the layer axis and the counters (NASLib: 0.615386 M params, 88.307392 MFLOPs)
"$BIN" info '|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|' --num-classes 10 \
    --json >"$TMP/i.json" || fail "tcet info of a cell"
python3 - "$TMP/i.json" <<'P' || fail "tcet info counters"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["tuple"] == "(0, 2, 3, 2, 3, 1)" and d["search_space"] == "nb201", d
c = d["counters"]
assert c["params"] == 615386 and c["naslib_flops"] == 88307392 and c["flops"] == 86426240, c
# stem + 5 cells x 4 convs x 3 stages + 2 reductions x 3 convs + classifier
assert c["scored_layers"] == len(d["layers"]) == 1 + 60 + 6 + 1, c
assert d["layers"][0]["name"] == "stem.0" and d["layers"][-1]["name"] == "classifier"
P
echo "validate_cli: ok"
