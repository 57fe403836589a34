#!/bin/bash
# The measurements of docs/validation.md (not a ctest test: ~2 CPU hours at
# full size).  Resumable: every run keeps its rows in OUT/<split>-*.csv, so
# rerunning continues where a previous run stopped.
#   tests/perf/nb201_validation.sh [OUT_DIR]      (needs mpirun; build/tcet)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${TCET_BIN:-$ROOT/build/tcet}
T=$ROOT/tests/data/nb201/zc_nasbench201.json
OUT=${1:-nb201-validation}
mkdir -p "$OUT" && cd "$OUT"
export OPENBLAS_NUM_THREADS=1
V() { mpirun -np 3 "$B" validate nb201 --table "$T" --dataset synthetic --json "$@"; }
P=naswot,snip,gradnorm,tcet-snip,tcet-synflow,zen,zico,naswot-layerwise
for s in cifar10 cifar100 ImageNet16-120; do
    V --split $s --proxy params,flops,synflow --out $s-cheap.csv --svg $s-cheap.svg >$s-cheap.json
done
V --split cifar10 --proxy $P --every 10 --out cifar10-e10.csv --svg cifar10-e10.svg >cifar10-e10.json
V --split ImageNet16-120 --proxy $P --every 10 --out ImageNet16-120-e10.csv --svg ImageNet16-120-e10.svg >ImageNet16-120-e10.json
V --split cifar100 --proxy $P --every 25 --out cifar100-e25.csv --svg cifar100-e25.svg >cifar100-e25.json
cp cifar10-e10.csv cifar10-full.csv
V --split cifar10 --proxy naswot --out cifar10-full.csv >cifar10-full-naswot.json
V --split cifar10 --proxy snip --out cifar10-full.csv >cifar10-full-snip.json
