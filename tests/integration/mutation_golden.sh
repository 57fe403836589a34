#!/bin/bash
# tcet info --candidates --json reproduces the reference's mutation candidate
# multisets exactly (tests/data/mutation/README.md): for every block of each
# parent, the same distinct candidates, the same count of each, the same list
# length.  Held-out files of the same layout: TCET_MUTATION_EXTRA=/dir.
set -u
BIN=${TCET_BIN:?TCET_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
DATA="$HERE/../data/mutation"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
files=("$DATA"/*.json)
if [ -n "${TCET_MUTATION_EXTRA:-}" ]; then
  files+=("$TCET_MUTATION_EXTRA"/*.json)
fi
fail=0
n=0
for f in "${files[@]}"; do
  [ -f "$f" ] || { echo "FAIL: $f: no such file"; fail=1; continue; }
  read -r parent space < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["parent"], d["search_space"])' "$f")
  out="$TMP/$(basename "$f")"
  if ! "$BIN" info "$parent" --search-space "$space" --candidates --json >"$out" 2>"$TMP/err"; then
    echo "FAIL: $f: tcet info exited non-zero:"; cat "$TMP/err"; fail=1; continue
  fi
  python3 - "$f" "$out" <<'PY' || fail=1
import json, sys
want = json.load(open(sys.argv[1]))
got = json.load(open(sys.argv[2]))
name = sys.argv[1].rsplit("/", 1)[-1]
errs = []
for k in ("parent", "search_space"):
    if got.get(k) != want[k]:
        errs.append("%s: %r != %r" % (k, got.get(k), want[k]))
if got.get("mutation_weights") != "reference":
    errs.append("mutation_weights %r" % got.get("mutation_weights"))
gb, wb = got.get("blocks", []), want["blocks"]
if len(gb) != len(wb):
    errs.append("%d blocks, want %d" % (len(gb), len(wb)))
for i, (g, w) in enumerate(zip(gb, wb)):
    if g["block"] != w["block"] or g["list_length"] != w["list_length"]:
        errs.append("block %d: %s/%d != %s/%d" % (i, g["block"], g["list_length"], w["block"], w["list_length"]))
    gc = [(c["block"], c["count"]) for c in g["candidates"]]
    wc = [(c["block"], c["count"]) for c in w["candidates"]]
    if gc != wc:
        missing = sorted(set(wc) - set(gc))[:3]
        extra = sorted(set(gc) - set(wc))[:3]
        errs.append("block %d (%s): %d candidates vs %d; missing %s; extra %s" % (i, w["block"], len(gc), len(wc), missing, extra))
    if sum(c for _, c in gc) != g["list_length"]:
        errs.append("block %d: counts sum to %d, list_length %d" % (i, sum(c for _, c in gc), g["list_length"]))
if errs:
    print("FAIL: %s:\n  %s" % (name, "\n  ".join(errs)))
    sys.exit(1)
print("ok: %s: %d blocks, %d distinct candidates, %d list entries" % (
    name, len(wb), sum(len(b["candidates"]) for b in wb), sum(b["list_length"] for b in wb)))
PY
  n=$((n + 1))
done
# Uniform weights: every count 1, list length = distinct candidates.
"$BIN" info "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["parent"])' "$DATA/init_cifar.json")" \
  --candidates --mutation-weights uniform --json >"$TMP/uniform.json" || fail=1
python3 - "$TMP/uniform.json" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
assert d["mutation_weights"] == "uniform"
for b in d["blocks"]:
    assert b["list_length"] == len(b["candidates"]), b["block"]
    assert all(c["count"] == 1 for c in b["candidates"]), b["block"]
print("ok: uniform weights: %s" % [b["list_length"] for b in d["blocks"]])
PY
# Bad values are usage errors.
"$BIN" info 'SuperConvK3BNRELU(3,8,1,1)' --candidates --mutation-weights equal >/dev/null 2>"$TMP/err"
rc=$?
[ $rc -eq 2 ] && grep -q "reference or uniform" "$TMP/err" || { echo "FAIL: --mutation-weights equal: rc $rc"; cat "$TMP/err"; fail=1; }
echo "$n golden files checked"
exit $fail
