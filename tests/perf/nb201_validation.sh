#!/bin/bash
# The measurements of docs/validation.md (not a ctest test: the whole
# CIFAR-10 table with every proxy but te-nas is ~13,000 CPU seconds, about
# 1.8 h on 2 scoring ranks).  Resumable: every run keeps its rows in
# OUT/<split>-*.csv, so rerunning continues where a previous run stopped.
#   tests/perf/nb201_validation.sh [OUT_DIR]      (needs mpirun; build/tcet)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${TCET_BIN:-$ROOT/build/tcet}
T=$ROOT/tests/data/nb201/zc_nasbench201.json
OUT=${1:-nb201-validation}
mkdir -p "$OUT" && cd "$OUT"
export OPENBLAS_NUM_THREADS=1
M=(mpirun --oversubscribe -np 3 "$B" validate nb201 --table "$T" --dataset synthetic --backend cpu --json)
V() { "${M[@]}" "$@"; }
CHEAP=params,flops,synflow
P=synflow-zennas,naswot,snip,gradnorm,gradnorm-zc,tcet-snip,tcet-synflow,zen,zico,naswot-layerwise
# the whole CIFAR-10 table with every proxy but te-nas (its speed: docs/validation.md#speed)
TIME=()   # CPU time of the run when GNU time is there (Debian package `time`)
[ -x /usr/bin/time ] && TIME=(/usr/bin/time -v -o cifar10-full.time)
"${TIME[@]}" "${M[@]}" --split cifar10 --proxy $CHEAP,$P --out cifar10-full.csv \
    --svg cifar10-full.svg >cifar10-full.json
for s in cifar100 ImageNet16-120; do
    V --split $s --proxy $CHEAP --out $s-cheap.csv --svg $s-cheap.svg >$s-cheap.json
done
V --split ImageNet16-120 --proxy $P --every 10 --out ImageNet16-120-e10.csv --svg ImageNet16-120-e10.svg >ImageNet16-120-e10.json
V --split cifar100 --proxy $P --every 25 --out cifar100-e25.csv --svg cifar100-e25.svg >cifar100-e25.json
