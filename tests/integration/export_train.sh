# tcet export emits the training commands of the reference scripts for the
# run's kind of dataset, flag by flag (tests/data/export/*.flags, written down
# from the ZenNAS and T-CET scripts): CIFAR-10 and CIFAR-100 for a CIFAR run,
# ts_train_image_classification.py with the teacher flags (and --use_se for a
# FLOPs-budget run) for ImageNet.  A run on synthetic images is labelled as
# such in search.log, inspect, plot and export.
. "$(dirname "$0")/search_lib.sh"
T=$TCET_BIN
EXP=$TCET_TEST_DATA/export

# compare the python commands of train.sh with the expected files, in order
check_train() { # train.sh, export dir, expected files...
    local sh=$1 dir=$2; shift 2
    $PY - "$sh" "$dir" "$EXP" "$@" <<'PYEOF' || fail "train.sh of $dir does not match the reference commands"
import os, shlex, sys
sh, d, exp, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
text = open(sh).read().replace('\\\n', ' ')
got = [shlex.split(l) for l in text.split('\n') if l.startswith('python ')]
def expected(name):
    toks = []
    for l in open(os.path.join(exp, name + '.flags')):
        if l.strip() and not l.startswith('#'): toks += l.split()
    struct = os.path.realpath(d) + '/best_structure.txt'
    return [t.replace('STRUCT', struct).replace('SAVE', '$save_dir') for t in toks]
want = [expected(n) for n in names]
if len(got) != len(want): sys.exit(f'{len(got)} commands, expected {len(want)}: {got}')
for g, w, n in zip(got, want, names):
    if g != w:
        for i, (a, b) in enumerate(zip(g, w)):
            if a != b: sys.exit(f'{n}: token {i}: {a!r}, expected {b!r}')
        sys.exit(f'{n}: {len(g)} tokens, expected {len(w)}: {g[len(w):] or w[len(g):]}')
    print(f'{n}: {len(g)} tokens match')
PYEOF
    grep -q "save_dir=$(realpath "$dir")/train" "$sh" || fail "train.sh save_dir"
    bash -n "$sh" || fail "train.sh is not valid bash"
}

# --- CIFAR: both commands of the CIFAR scripts
C=$WORK/cifar
"$T" search --save-dir "$C" --proxy params --evolution-max-iter 20 --population-size 8 --budget-model-size 5e5 \
    --seed 2 > /dev/null 2>&1 || fail "CIFAR search"
"$T" export "$C" > "$WORK/c.out" || fail "CIFAR export"
check_train "$C/export/train.sh" "$C/export" cifar10 cifar100
grep -q "ts_train\|teacher" "$C/export/train.sh" && fail "CIFAR train.sh has ImageNet flags"
grep -q "SYNTHETIC" "$C/export/train.sh" "$C/export/summary.txt" "$C/search.log" && fail "a params run is not synthetic"

# --- ImageNet, FLOPs budget (IDW_fixfc): the teacher-student trainer with --use_se
I=$WORK/imnet
INIT='SuperConvK3BNRELU(3,8,2,1)SuperResIDWE6K3(8,32,2,8,1)SuperResIDWE6K3(32,48,2,32,1)SuperResIDWE6K3(48,96,2,48,1)SuperResIDWE6K3(96,128,2,96,1)SuperConvK1BNRELU(128,2048,1,1)'
"$T" search --save-dir "$I" --proxy params --search-space IDW_fixfc --init-structure "$INIT" \
    --input-image-size 224 --num-classes 1000 --budget-flops 600e6 --max-layers 14 \
    --evolution-max-iter 20 --population-size 8 > /dev/null 2>&1 || fail "ImageNet FLOPs search"
"$T" export "$I" -o "$WORK/imx" > /dev/null || fail "ImageNet export"
check_train "$WORK/imx/train.sh" "$WORK/imx" imagenet_flops
grep -q "horovodrun" "$WORK/imx/train.sh" && fail "train.sh mentions horovodrun; the scripts run plain python"

# --- ImageNet, latency budget (XXBL): the same trainer, without --use_se
L=$WORK/lat
LINIT='SuperConvK3BNRELU(3,32,2,1)SuperResK3K3(32,64,2,32,1)SuperResK3K3(64,128,2,64,1)SuperResK3K3(128,256,2,128,1)SuperResK3K3(256,512,2,256,1)SuperConvK1BNRELU(256,512,1,1)'
"$T" search --save-dir "$L" --proxy params --init-structure "$LINIT" --input-image-size 224 --num-classes 1000 \
    --max-layers 10 --evolution-max-iter 20 --population-size 8 > /dev/null 2>&1 || fail "ImageNet latency-space search"
"$T" export "$L" > /dev/null || fail "latency export"
check_train "$L/export/train.sh" "$L/export" imagenet_latency

# --- a run on synthetic images says so everywhere
S=$WORK/syn
"$T" search --save-dir "$S" --proxy tcet-snip --dataset synthetic --evolution-max-iter 4 --population-size 4 \
    --batch-size 4 --budget-model-size 3e5 > "$WORK/s.out" 2>&1 || { cat "$WORK/s.out"; fail "synthetic search"; }
grep -q "^data: SYNTHETIC" "$S/search.log" || fail "search.log does not say SYNTHETIC"
grep -q "data: SYNTHETIC" "$WORK/s.out" || fail "the search output does not say SYNTHETIC"
"$T" inspect "$S" | grep -q "^data       SYNTHETIC data" || fail "inspect does not say SYNTHETIC"
"$T" plot "$S" -o "$WORK/s.svg" > /dev/null || fail "plot"
grep -q "proxy tcet-snip on SYNTHETIC data" "$WORK/s.svg" || fail "plot does not say SYNTHETIC"
"$T" export "$S" > "$WORK/e.out" || fail "synthetic export"
grep -q "^# WARNING: this structure was searched on SYNTHETIC data" "$S/export/train.sh" || fail "train.sh: no SYNTHETIC warning"
grep -q "searched on SYNTHETIC data" "$S/export/summary.txt" || fail "summary: no SYNTHETIC"
grep -q "searched on SYNTHETIC data" "$WORK/e.out" || fail "export output: no SYNTHETIC"
echo "PASS: export commands match the reference scripts; synthetic runs labelled"
