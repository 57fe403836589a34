# Synthetic data only when asked: every preset whose reference script scores on
# real images, and a search with an image-reading proxy and no data flags,
# refuse with exit 2 and one line naming --dataset/--data and --dataset
# synthetic; --data alone infers the kind (CIFAR-10, CIFAR-100, HDF5) and a
# file path works; --print-config shows the resolved configuration and the
# data without starting; score and bench say what they scored on.
. "$(dirname "$0")/search_lib.sh"
T=$TCET_BIN
cd "$WORK"

# tiny CIFAR-100 / CIFAR-10 binary sets and an HDF5 set
mkdir -p c100 c10 both/cifar-100-binary both/cifar-10-batches-bin
$PY - <<'PYEOF' || fail "cannot make the test data"
import numpy as np, h5py
r = np.random.default_rng(0); n = 40
rec = np.zeros((n, 3074), np.uint8); rec[:, 0] = r.integers(0, 20, n); rec[:, 1] = r.integers(0, 100, n)
rec[:, 2:] = r.integers(0, 256, (n, 3072)); rec.tofile('c100/train.bin'); rec.tofile('both/cifar-100-binary/train.bin')
for k in range(1, 6):
    rec = np.zeros((n, 3073), np.uint8); rec[:, 0] = r.integers(0, 10, n); rec[:, 1:] = r.integers(0, 256, (n, 3072))
    rec.tofile(f'c10/data_batch_{k}.bin'); rec.tofile(f'both/cifar-10-batches-bin/data_batch_{k}.bin')
with h5py.File('set.h5', 'w') as f:
    f['images'] = r.integers(0, 256, (n, 40, 40, 3)).astype(np.uint8); f['labels'] = r.integers(0, 10, n).astype(np.int32)
open('notes.txt', 'w').write('not a dataset\n')
PYEOF

refused2() { # what, args... : exit 2, one error line naming both ways out, nothing created
    local what=$1; shift
    "$T" search --save-dir "$WORK/never" "$@" > out 2>&1; local rc=$?
    [ $rc = 2 ] || { cat out; fail "$what: exit $rc, expected 2"; }
    [ "$(wc -l < out)" = 1 ] || { cat out; fail "$what: not one line"; }
    grep -q -- "--dataset/--data" out && grep -q -- "--dataset synthetic" out || { cat out; fail "$what: message"; }
    [ -e "$WORK/never" ] && fail "$what: the run directory was created"
    return 0
}
refused2 "no data flags" 
refused2 "image proxy, no data" --proxy tcet-synflow --evolution-max-iter 5
# Independent expectation: the presets whose reference scripts score on real
# images (T-CET and ZiCo; the ImageNet T-CET(SNIP) 450M/1G scripts run Params).
need_data="cifar-params1M-tcet-snip cifar-params1M-tcet-synflow cifar-params1M-zico imagenet-flops600M-tcet-snip imagenet-flops450M-tcet-synflow"
presets=$("$T" search --help | sed -n '/^presets:/,/^$/p' | awk 'NF && $1 != "presets:" {print $1}')
[ "$(echo "$presets" | wc -l)" -ge 26 ] || fail "preset list from --help: $presets"
for p in $need_data; do
    echo "$presets" | grep -qx -- "$p" || fail "preset $p missing from --help"
    refused2 "preset $p without --data" --preset "$p"
    grep -q -- "--preset $p scores on" out || { cat out; fail "$p: message does not name the preset"; }
done
"$T" search --save-dir x --preset cifar-params1M-tcet-snip --dataset synthetic --print-config > out 2>&1 || { cat out; fail "--dataset synthetic"; }
grep -q "^data: SYNTHETIC" out || fail "--dataset synthetic: not labelled"
# the other presets start without data: a sample of each kind (the whole list
# is checked by the unit test of the presets' data needs)
for p in cifar-params1M-zen imagenet-flops450M-tcet-snip imagenet-latency12ms-zen demo-cifar-tcet-snip-synthetic; do
    echo "$presets" | grep -qx -- "$p" || fail "preset $p missing from --help"
    "$T" search --save-dir x --preset "$p" --print-config > out 2>&1 || { cat out; fail "preset $p --print-config: exit $?"; }
    case $p in
    *-synthetic) grep -q "^data: SYNTHETIC" out || { cat out; fail "$p: not labelled synthetic"; } ;;
    *) grep -q "^data: none (proxy" out || { cat out; fail "$p: expected no data"; } ;;
    esac
done
"$T" search --save-dir x --preset demo-cifar-tcet-snip-synthetic --data c100 --print-config > out 2>&1 &&
    grep -q "^data: cifar100, reads c100/train.bin" out || { cat out; fail "the demo preset with --data"; }
echo "$presets" | grep -q "^demo-cifar-tcet-snip-synthetic$" || fail "the demo preset's name does not say synthetic"
"$T" search --save-dir x --preset demo-cifar-tcet-snip > out 2>&1; [ $? = 2 ] || fail "old demo name accepted"
[ -e x ] && fail "--print-config created the run directory"
echo "refusals: no data flags, image proxy, $(echo $need_data | wc -w) presets; the others print-config"

# --- --data alone: the kind is inferred; files and directories
A="--proxy tcet-snip --evolution-max-iter 4 --population-size 4 --batch-size 8 --budget-model-size 3e5"
kind() { # path, expected kind, expected "reads"
    "$T" search --save-dir r $A --data "$1" --print-config > out 2>&1 || { cat out; fail "--data $1: exit $?"; }
    grep -q "^dataset = $2\$" out || { cat out; fail "--data $1: not $2"; }
    grep -qF "data: $2, reads $3" out || { cat out; fail "--data $1: reads"; }
}
kind c100 cifar100 c100/train.bin
kind c100/train.bin cifar100 c100/train.bin
kind c10 cifar10 "c10/data_batch_{1..5}.bin"
kind c10/data_batch_2.bin cifar10 "c10/data_batch_{1..5}.bin"
kind both/cifar-100-binary cifar100 both/cifar-100-binary/train.bin
kind set.h5 hdf5 set.h5
# the preset's own dataset is overridden by what --data holds
"$T" search --save-dir r --preset cifar-params1M-tcet-snip --data c10 --print-config | grep -q "^dataset = cifar10$" ||
    fail "--data c10 with a cifar100 preset"
bad3() { "$T" search --save-dir r $A --data "$1" > out 2>&1; local rc=$?
    [ $rc = 3 ] || { cat out; fail "--data $1: exit $rc, expected 3"; }
    grep -q -- "$2" out || { cat out; fail "--data $1: message"; }; }
"$T" search --save-dir r $A --data c10 --dataset synthetic > out 2>&1; [ $? = 2 ] && grep -q "reads no data" out ||
    { cat out; fail "--dataset synthetic with --data"; }
bad3 missing "no such file or directory"
bad3 notes.txt "cannot tell what kind of dataset"
bad3 both "holds both CIFAR-10 and CIFAR-100"
bad3 . "no CIFAR binary files there"
# a real run from a file path (docs/data.md: "directory or file")
"$T" search --save-dir run $A --data c100/train.bin > out 2>&1 || { cat out; fail "search --data c100/train.bin"; }
grep -q "^dataset = cifar100$" run/search.log && grep -q "^data: cifar100 from c100/train.bin" run/search.log ||
    fail "search.log of a --data file run"
grep -q '"status":"ok"' run/events.jsonl || fail "nothing scored on the CIFAR file"
"$T" inspect run | grep -q "^data       cifar100 data from c100/train.bin" || fail "inspect data line"
echo "inference: CIFAR-100/10 directories and files, HDF5; a run from train.bin"

# --- --print-config of a resume shows the checkpoint's configuration
"$T" search --resume run --evolution-max-iter 9 --print-config > out 2>&1 || { cat out; fail "resume --print-config"; }
grep -q "^# run: resumes run/checkpoint.h5 at iteration 4 of 9 (finished)" out && grep -q "^evolution_max_iter = 9$" out ||
    { cat out; fail "resume --print-config content"; }
"$T" search --dry-run --save-dir r $A --data c10 | grep -q "^# tcet search --print-config: nothing was started" ||
    fail "--dry-run"
[ -e r ] && fail "--print-config created the run directory"

# --- the README's search examples run as written (they pass the data they need)
mkdir -p data/cifar-100-binary && cp c100/train.bin data/cifar-100-binary/
grep -E '^(mpirun -np [0-9]+ )?tcet search ' "$TCET_SOURCE_DIR/README.md" | grep -v -- '\.\.\.\|--resume' |
    sed -e 's/ *#.*//' -e 's/^mpirun -np [0-9]* //' -e 's/ --print-config//' > readme.cmds
[ "$(wc -l < readme.cmds)" -ge 2 ] || fail "README search examples not found: $(cat readme.cmds)"
while read -r line; do
    eval "\"\$T\" ${line#tcet } --print-config" > out 2>&1 || { cat out; fail "README example refused: $line"; }
    grep -q "^data: cifar100, reads data/cifar-100-binary/train.bin" out || { cat out; fail "README example data: $line"; }
done < readme.cmds
echo "README examples: $(wc -l < readme.cmds) resolve with their data"

# --- the demo preset runs on synthetic data and says so (shortened here)
mpirun -np 3 "$T" search --preset demo-cifar-tcet-snip-synthetic --save-dir demo --evolution-max-iter 6 \
    --batch-size 8 > out 2>&1 || { cat out; fail "demo preset"; }
grep -q "^data: SYNTHETIC" out && grep -q "^data: SYNTHETIC" demo/search.log || { cat out; fail "demo not labelled"; }

# --- score and bench say what they scored on
S='SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,1,8,1)SuperConvK1BNRELU(16,32,1,1)'
"$T" score "$S" --proxy tcet-snip --batch-size 8 --json 2>/dev/null | grep -q '"dataset": "synthetic"' || fail "score JSON dataset"
"$T" score "$S" --proxy tcet-snip --batch-size 8 2>/dev/null | grep -q "^data     SYNTHETIC" || fail "score text data"
"$T" score "$S" --proxy tcet-snip --batch-size 8 --data c10 --json | grep -q '"dataset": "cifar10"' || fail "score --data c10"
"$T" score "$S" --proxy tcet-snip --batch-size 8 --data c100/train.bin | grep -q "^data     CIFAR-100" || fail "score --data file"
"$T" bench --structures init --proxies params --repeat 1 --json | grep -q '"dataset": "synthetic"' || fail "bench JSON dataset"
"$T" bench --structures init --proxies params --repeat 1 --warmup 0 | grep -q "^dataset  synthetic" || fail "bench text dataset"
echo "PASS"
