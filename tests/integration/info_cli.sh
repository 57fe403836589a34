#!/bin/bash
# tcet info: published counters of ZenNet-1M (docs/semantics.md#self-check-counts), JSON output, and
# one clear message with exit code 2 for bad input.
set -u
BIN=${TCET_BIN:?TCET_BIN not set}
fail() { echo "FAIL: $*" >&2; exit 1; }
Z1M='SuperConvK3BNRELU(3,88,1,1)SuperResK1K7K1(88,120,1,16,1)SuperResK1K7K1(120,192,2,16,3)SuperResK1K5K1(192,224,1,24,4)SuperResK1K5K1(224,96,2,24,2)SuperResK1K3K1(96,168,2,40,3)SuperResK1K3K1(168,112,1,48,3)SuperConvK1BNRELU(112,512,1,1)'
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# --- text output: budget params/FLOPs 1 031 185 / 155 216 928; scoring 897 217 / 131 012 736
"$BIN" info "$Z1M" --num-classes 100 --resolution 32 >"$TMP/out.txt" || fail "tcet info exited $?"
grep -Eq '^params +1031185 +897217$' "$TMP/out.txt" || { cat "$TMP/out.txt"; fail "params line"; }
grep -Eq '^FLOPs +155216928 +131012736$' "$TMP/out.txt" || fail "FLOPs line"
grep -Eq '^layers \(sum of L\) +18 +18$' "$TMP/out.txt" || fail "layers line"
grep -Eq '^Conv/Linear layers +105 +99$' "$TMP/out.txt" || fail "scored layers line"
grep -Eq '^true torch params +1040844 +905052$' "$TMP/out.txt" || fail "true params line"
grep -q 'module_list.1.module_list.3.netblock' "$TMP/out.txt" || fail "layer names"
grep -Eq '^ +98 +fc_linear.netblock +linear +512 +100 ' "$TMP/out.txt" || fail "fc row"
# defaults are 100 classes at 32
"$BIN" info "$Z1M" | grep -Eq '^params +1031185 ' || fail "defaults"

# --- @file (first line, stripped)
printf '  %s  \nignored\n' "$Z1M" >"$TMP/s.txt"
"$BIN" info "@$TMP/s.txt" | grep -Eq '^FLOPs +155216928 ' || fail "@file"

# --- JSON
"$BIN" info "$Z1M" --json >"$TMP/out.json" || fail "--json exited $?"
if [ -x /usr/bin/python3 ]; then
    /usr/bin/python3 - "$TMP/out.json" "$Z1M" <<'PY' || fail "json content"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["structure"] == sys.argv[2]
assert d["budget"]["params"] == 1031185 and d["budget"]["flops"] == 155216928 and d["budget"]["layers"] == 18
assert d["scoring"]["params"] == 897217 and d["scoring"]["flops"] == 131012736 and d["scoring"]["scored_layers"] == 99
assert d["true_params"] == 1040844
L = d["layers"]
assert len(L) == 99 and L[-1]["name"] == "fc_linear.netblock" and L[-1]["kind"] == "linear"
assert L[2] == {"name": "module_list.1.module_list.3.netblock", "kind": "conv", "block": 1, "cin": 16, "cout": 16,
                "k": 7, "stride": 1, "groups": 1, "hin": 32, "hout": 32}, L[2]
assert d["candidates"] == [9, 810, 1350, 1620, 1296, 2160, 2430, 9], d["candidates"]
PY
else
    grep -q '"params": 1031185' "$TMP/out.json" || fail "json params"
    grep -q '"flops": 155216928' "$TMP/out.json" || fail "json flops"
fi

# --- IDW init at 224 with 1000 classes (docs/semantics.md#reference-counters: 2 813 889 / 162 396 776), IDW_fixfc candidates
IDW='SuperConvK3BNRELU(3,8,2,1)SuperResIDWE6K3(8,32,2,8,1)SuperResIDWE6K3(32,48,2,32,1)SuperResIDWE6K3(48,96,2,48,1)SuperResIDWE6K3(96,128,2,96,1)SuperConvK1BNRELU(128,2048,1,1)'
"$BIN" info "$IDW" --num-classes 1000 --resolution 224 >"$TMP/idw.txt" || fail "idw"
grep -Eq '^params +2813889 ' "$TMP/idw.txt" || fail "idw params"
grep -Eq '^FLOPs +162396776 ' "$TMP/idw.txt" || fail "idw flops"
grep -q 'search space IDW_fixfc' "$TMP/idw.txt" || fail "idw default space"

# --- bad inputs: exit 2 and a message naming the column
check_bad() {
    local out rc
    out=$("$BIN" info "$@" 2>&1 >/dev/null); rc=$?
    [ $rc -eq 2 ] || fail "exit $rc (want 2) for: $*"
    echo "$out" | grep -q -e "$EXPECT" || fail "message '$out' lacks '$EXPECT' for: $*"
    [ "$(echo "$out" | wc -l)" -eq 1 ] || fail "message not one line: $out"
}
EXPECT='^tcet: error: unknown block name .SuperFoo. at column 1$' check_bad 'SuperFoo(3,8,1,1)'
EXPECT='at column 26$' check_bad 'SuperConvK3BNRELU(3,8,1,1'
EXPECT='column 21' check_bad 'SuperConvK3BNRELU(3,x,1,1)'
EXPECT='column 23' check_bad 'SuperConvK3BNRELU(3,8,0,1)'
EXPECT='trailing.*column 27' check_bad 'SuperConvK3BNRELU(3,8,1,1)junk'
EXPECT='empty.*column 1' check_bad ''
EXPECT="structure file '$TMP/missing.txt'" check_bad "@$TMP/missing.txt"
EXPECT='--num-classes' check_bad "$Z1M" --num-classes 0
EXPECT='--resolution' check_bad "$Z1M" --resolution abc
EXPECT='--search-space' check_bad "$Z1M" --search-space foo
EXPECT='unknown option' check_bad "$Z1M" --frobnicate
"$BIN" info >/dev/null 2>&1; [ $? -eq 2 ] || fail "no argument should exit 2"
"$BIN" info --help | grep -q 'usage: tcet info' || fail "--help"
echo "info_cli: all checks passed"
