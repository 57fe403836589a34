#!/bin/bash
# tcet inspect / plot / export on a run made here (a tiny `tcet search --proxy
# params` with two injected scoring failures).  Expectations come from reading
# the checkpoint independently with h5py, from the independent counter model
# tests/tools/zennas_count.py, and from hand-set numbers (iterations, ids).
set -u
: "${TCET_BIN:?TCET_BIN not set (run through ctest)}"
SRC=${TCET_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
# Under ASan: slow unwinding, so that the Open MPI leak suppressions
# (tests/lsan.supp) match frames in dlopen'ed MCA components.
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"; fi
$PY -c 'import h5py, numpy' 2>/dev/null || { echo "SKIPPED: /usr/bin/python3 with h5py+numpy needed"; exit 77; }
W=$(mktemp -d /tmp/tcet_report_test.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

RUN=$W/run
# Ids 3 and 9 fail on purpose (if they pass the budget filters and get scored).
TCET_INJECT_FAILURES="3:error,9:nan" "$TCET_BIN" search --save-dir "$RUN" --proxy params \
    --population-size 16 --evolution-max-iter 300 --budget-model-size 1e6 --max-layers 18 \
    --seed 5 --checkpoint-every 1 > "$W/search.out" 2>&1 || { cat "$W/search.out"; fail "search failed"; }
[ -f "$RUN/checkpoint.h5" ] || fail "no checkpoint"

# ---- inspect --json against the checkpoint read with h5py ----------------
"$TCET_BIN" inspect "$RUN" --json --top 5 > "$W/inspect.json" || fail "inspect --json exit $?"
$PY - "$RUN/checkpoint.h5" "$W/inspect.json" <<'PYEOF' || fail "inspect --json disagrees with the checkpoint"
import sys, json, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r'); j = json.load(open(sys.argv[2]))
dec = lambda v: v.decode() if isinstance(v, bytes) else str(v)
hist, pop = f['history'][...], f['population'][...]
assert j['iteration'] == 300 and j['max_iter'] == 300 and j['finished'] is True, (j['iteration'], j['finished'])
names = ['ok', 'nonfinite', 'failed', 'rejected_layers', 'rejected_params', 'rejected_flops', 'rejected_latency']
st = hist['status']
for i, n in enumerate(names):
    assert j['counts'][n] == int((st == i).sum()), (n, j['counts'][n], int((st == i).sum()))
assert j['scored'] == int((st <= 2).sum())
assert j['rejected']['params'] == int((st == 4).sum()) and j['rejected']['layers'] == int((st == 3).sum())
assert sum(j['counts'][n] for n in names) == 300
# best 5 distinct structures among ok candidates: score desc, id asc
ok = [(-float(h['score']), int(h['id']), dec(h['structure'])) for h in hist if h['status'] == 0]
ok.sort(); top, seen = [], set()
for s, i, t in ok:
    if t in seen: continue
    seen.add(t); top.append((i, -s, t))
    if len(top) == 5: break
got = [(b['id'], b['score'], b['structure']) for b in j['best']]
assert got == top, (got, top)
assert [b['rank'] for b in j['best']] == [1, 2, 3, 4, 5]
hp = {int(h['id']): h for h in hist}
for b in j['best']:
    h = hp[b['id']]
    assert b['params'] == float(h['params']) and b['flops'] == float(h['flops']) and b['layers'] == int(h['layers'])
# population members in order, best = first maximum, median
members = [(m['id'], m['score'], m['structure']) for m in j['population']['members']]
assert members == [(int(p['id']), float(p['score']), dec(p['structure'])) for p in pop]
sc = [float(p['score']) for p in pop]
assert j['population']['best'] == max(sc) and j['population']['median'] == float(np.median(sc))
assert j['population']['best_structure'] == dec(pop[sc.index(max(sc))]['structure'])
# failures grouped: the injected ids that were scored
inj = {3: 'failed', 9: 'nonfinite'}
exp = sorted((inj[i], i) for i in inj if int(hp[i]['status']) in (1, 2))
assert sorted((g['status'], g['first_id']) for g in j['failures']) == exp, (j['failures'], exp)
assert all(g['count'] == 1 and g['reason'] for g in j['failures'])
assert j['config']['proxy'] == 'params' and j['config']['population_size'] == '16' and j['config']['seed'] == '5'
print('inspect --json OK:', len(ok), 'ok candidates, failures', exp)
PYEOF

"$TCET_BIN" inspect "$RUN" > "$W/inspect.txt" || fail "inspect exit $?"
for want in "finished: iteration 300 / 300 (100.0%)" "proxy      params on synthetic, seed 5" \
            "population_size = 16" "best 10 distinct structures:" "rank score" "failures:"; do
    grep -qF "$want" "$W/inspect.txt" || { cat "$W/inspect.txt"; fail "inspect text lacks '$want'"; }
done
TOP1=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["best"][0]["structure"])' "$W/inspect.json")
grep -qF "  1    " "$W/inspect.txt" && grep -qF "$TOP1" "$W/inspect.txt" || fail "inspect text lacks the best structure"
# The checkpoint file itself is accepted too.
"$TCET_BIN" inspect "$RUN/checkpoint.h5" --json | grep -q '"iteration": 300' || fail "inspect FILE"

# ---- plot ---------------------------------------------------------------
"$TCET_BIN" plot "$RUN" -o "$W/report.svg" 2> "$W/plot.err" || { cat "$W/plot.err"; fail "plot exit"; }
$PY - "$W/report.svg" "$RUN/checkpoint.h5" <<'PYEOF' || fail "SVG content"
import sys, h5py, numpy as np, xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
f = h5py.File(sys.argv[2], 'r'); hist = f['history'][...]
ids = {e.get('id'): e for e in root.iter() if e.get('id')}
for k in ('series-best', 'series-median', 'series-scatter', 'point-best', 'legend'):
    assert k in ids, k
# replay: append scored candidates, trim the minimum beyond 16
pop, best, med = [], [], []
for h in hist:
    if h['status'] in (0, 1, 2):
        pop.append(float(h['score']) if np.isfinite(h['score']) else -9999.0)
        if len(pop) > 16: pop.remove(min(pop))
    if pop: best.append(max(pop)); med.append(float(np.median(pop)))
pb, pm = ids['series-best'], ids['series-median']
assert float(pb.get('data-final')) == best[-1], (pb.get('data-final'), best[-1])
assert float(pm.get('data-final')) == med[-1], (pm.get('data-final'), med[-1])
npts = len(pb.get('points').split())
assert npts == int(pb.get('data-points')) == len(best), (npts, len(best))
okn = int((hist['status'] == 0).sum())
circles = list(ids['series-scatter'].iter(ns + 'circle'))
assert len(circles) == okn == int(ids['series-scatter'].get('data-points')), (len(circles), okn)
ok = [h for h in hist if h['status'] == 0]
bi = max(ok, key=lambda h: (float(h['score']), -int(h['id'])))
assert int(ids['point-best'].get('data-id')) == int(bi['id'])
texts = ' '.join(t.text or '' for t in root.iter(ns + 'text'))
for w in ('iteration', 'score', 'parameters', 'best in population', 'median of population'):
    assert w in texts, w
print('SVG OK:', npts, 'line points,', len(circles), 'scatter points')
PYEOF
if ! command -v rsvg-convert >/dev/null; then
    timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends librsvg2-bin >/dev/null 2>&1
fi
if command -v rsvg-convert >/dev/null; then
    rsvg-convert "$W/report.svg" -o "$W/report.png" || fail "rsvg-convert rejected the SVG"
    $PY - "$W/report.png" <<'PYEOF' || fail "PNG"
import sys, struct
b = open(sys.argv[1], 'rb').read()
assert b[:8] == b'\x89PNG\r\n\x1a\n' and len(b) > 5000, len(b)
w, h = struct.unpack('>II', b[16:24]); assert (w, h) == (900, 840), (w, h)
print('PNG OK', len(b), 'bytes')
PYEOF
else
    echo "################ WARNING: rsvg-convert missing and not installable: PNG rendering NOT checked"
fi

# ---- export ---------------------------------------------------------------
"$TCET_BIN" export "$RUN" > "$W/export.out" || { cat "$W/export.out"; fail "export exit"; }
E=$RUN/export
for x in best_structure.txt summary.txt train.sh; do [ -s "$E/$x" ] || fail "export did not write $x"; done
cmp "$E/best_structure.txt" "$RUN/best_structure.txt" || fail "exported structure differs from the search's best_structure.txt"
bash -n "$E/train.sh" || fail "train.sh is not valid bash"
for want in "train_image_classification.py --dataset cifar100 --num_classes 100" "--epochs 1440" \
            "--arch Masternet.py:MasterNet" "--plainnet_struct_txt $E/best_structure.txt" "--wd 5e-4"; do
    grep -qF -- "$want" "$E/train.sh" || fail "train.sh lacks '$want'"
    grep -qF -- "$want" "$W/export.out" || fail "export output lacks '$want'"
done
$PY - "$SRC/tests/tools" "$E/best_structure.txt" "$E/summary.txt" <<'PYEOF' || fail "summary counters"
import sys, re
sys.path.insert(0, sys.argv[1]); import zennas_count as z
s = open(sys.argv[2]).read()
c = z.masternet_counts(z.parse(s), 32, 100)
t = open(sys.argv[3]).read()
p = int(re.search(r'params, reference counter \(budget net\)\s+(\d+)', t).group(1))
fl = int(re.search(r'FLOPs, reference counter \(budget net\)\s+(\d+)', t).group(1))
L = int(re.search(r'layers \(sum of sub-layers\)\s+(\d+)', t).group(1))
tp = int(re.search(r'trainable params \(PyTorch numel\)\s+(\d+)', t).group(1))
assert (p, fl, L, tp) == (round(c['size']), round(c['flops']), c['layers'], c['true_params']), ((p, fl, L, tp), c)
assert p <= 1e6 and L <= 18, (p, L)   # the budgets of the run
assert s in t
print('summary OK: params', p, 'FLOPs', fl, 'layers', L)
PYEOF
"$TCET_BIN" export "$RUN" -o "$W/exp2" > /dev/null && cmp "$W/exp2/best_structure.txt" "$E/best_structure.txt" || fail "export -o"

# ---- an interrupted run: the tools say it is not finished ------------------
if command -v mpirun >/dev/null; then
    U=$W/unfinished
    TCET_TEST_SCORE_DELAY_US=3000 mpirun -np 2 "$TCET_BIN" search --save-dir "$U" --proxy params \
        --population-size 16 --evolution-max-iter 3000 --budget-model-size 1e6 --seed 5 \
        --checkpoint-every 0.5 > "$W/unf.out" 2>&1 &
    P=$!
    for _ in $(seq 300); do [ -f "$U/checkpoint.h5" ] && break; sleep 0.1; done
    sleep 0.3
    kill -USR1 "$P"; wait "$P"; rc=$?
    [ "$rc" = 75 ] || { cat "$W/unf.out"; fail "interrupted search: exit $rc, expected 75"; }
    "$TCET_BIN" inspect "$U" > "$W/unf.txt" || fail "inspect of an interrupted run"
    grep -q "in progress (or interrupted): iteration [0-9]* / 3000" "$W/unf.txt" || { cat "$W/unf.txt"; fail "inspect: unfinished state"; }
    "$TCET_BIN" export "$U" | grep -q "RUN NOT FINISHED: best so far" || fail "export of an unfinished run must say so"
    "$TCET_BIN" plot "$U" -o "$W/unf.svg" 2>/dev/null && grep -q "in progress, [0-9]* / 3000 iterations" "$W/unf.svg" || fail "plot of an unfinished run"
else
    echo "################ WARNING: no mpirun: the interrupted-run checks were NOT run"
fi

# ---- refusals with documented exit codes ---------------------------------
"$TCET_BIN" inspect "$W/nope" > /dev/null 2>&1; [ $? = 2 ] || fail "inspect of a missing run must exit 2"
mkdir -p "$W/empty"
"$TCET_BIN" export "$W/empty" > /dev/null 2>&1; [ $? = 2 ] || fail "export of a dir without checkpoint must exit 2"
"$TCET_BIN" plot "$RUN" > /dev/null 2>&1; [ $? = 2 ] || fail "plot without -o must exit 2"
head -c 3000 "$RUN/checkpoint.h5" > "$W/trunc.h5"
"$TCET_BIN" inspect "$W/trunc.h5" > /dev/null 2> "$W/trunc.err"; rc=$?
[ $rc = 4 ] || { cat "$W/trunc.err"; fail "inspect of a truncated checkpoint must exit 4, got $rc"; }
echo "PASS: inspect, plot, export"
