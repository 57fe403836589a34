#!/bin/bash
# Numerical conditioning of the proxies on NAS-Bench-201 cells
# (docs/validation.md#numerical-conditioning-on-nas-bench-201): the same
# architectures scored by three equally valid implementations,
#   f32     float32, the default CPU path (im2col + OpenBLAS; oneDNN weight gradients)
#   onednn  float32 with TCET_CPU_CONV=onednn (another summation order in
#           every k x k convolution's forward and data gradient)
#   f64     --precision float64 (every proxy but te-nas in double)
# and, per proxy, the median and largest relative difference |a - b| / |b| of
# the totals over the architectures; then the same for the per-layer SNIP
# sums of T-CET(SNIP) on a few of them.  Not a ctest test (~15 minutes on 2
# CPU ranks at the default size).  Resumable: the rows stay in OUT/*.csv.
#   tests/perf/nb201_conditioning.sh [OUT_DIR] [EVERY] [SPLIT]   (needs mpirun; build/tcet)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${TCET_BIN:-$ROOT/build/tcet}
T=$ROOT/tests/data/nb201/zc_nasbench201.json
OUT=${1:-nb201-conditioning}
EVERY=${2:-36}
SPLIT=${3:-cifar10}
P=${TCET_PROXIES:-tcet-snip,tcet-synflow,snip,naswot,gradnorm,zico,zen}
mkdir -p "$OUT" && cd "$OUT"
export OPENBLAS_NUM_THREADS=1
V() { mpirun --oversubscribe -np 3 "$B" validate nb201 --table "$T" --split "$SPLIT" --dataset synthetic --proxy "$P" \
      --every "$EVERY" --backend cpu "$@" >/dev/null; }
V --out f32.csv
TCET_CPU_CONV=onednn V --out onednn.csv
V --precision float64 --out f64.csv

# rows: structure,proxy -> raw_score of the ok rows (CSV fields: index,"structure",proxy,score,raw,status,...)
rows() { awk -F, '$6 == "ok" { print $2 "," $3 "," $5 }' "$1" | sort; }
compare() { # A B: per proxy, n, median and max of |a - b| / |b|
    join -t, -j1 <(rows "$1" | awk -F, '{ print $1 "@" $2 "," $3 }') \
                 <(rows "$2" | awk -F, '{ print $1 "@" $2 "," $3 }') |
        awk -F, '{ split($1, k, "@"); d = $2 - $3; if (d < 0) d = -d; b = $3 < 0 ? -$3 : $3;
                   r = b > 0 ? d / b : (d > 0 ? 1e300 : 0); print k[2], r }' |
        sort -k1,1 -k2,2g |
        awk -v what="$1 vs $2" '
            function flush() { if (n) printf "%-26s %-14s %4d  %9.2e  %9.2e\n", what, p, n, v[int((n + 1) / 2)], v[n] }
            $1 != p { flush(); p = $1; n = 0 }
            { v[++n] = $2 }
            END { flush() }'
}
printf '%-26s %-14s %4s  %9s  %9s\n' "comparison" "proxy" "n" "median" "max"
compare f32.csv f64.csv
compare onednn.csv f64.csv
compare f32.csv onednn.csv

# per-layer SNIP sums of T-CET(SNIP) on the first 4 architectures
echo
echo "T-CET(SNIP) per-layer SNIP sums, largest |f32 - f64| / |f64| over the layers (and of the total):"
awk -F, 'NR > 1 && $3 == "tcet-snip" { print $2 }' f32.csv | tr -d '"' | head -4 | while read -r s; do
    for prec in float32 float64; do
        "$B" score "$s" --proxy tcet-snip --num-classes 10 --dataset synthetic --backend cpu \
            --precision $prec --json 2>/dev/null | awk -F': ' '/"sum"/ { gsub(",", "", $2); print $2 }' >layers-$prec.txt
    done
    paste layers-float32.txt layers-float64.txt |
        awk -v s="$s" '{ d = $1 - $2; if (d < 0) d = -d; b = $2 < 0 ? -$2 : $2; r = b > 0 ? d / b : 0;
                         if (r > m) m = r; t1 += $1; t2 += $2 }
                       END { dt = t1 - t2; if (dt < 0) dt = -dt; printf "  %s  layers %d  max %.2e  total %.2e\n", s, NR, m, dt / (t2 < 0 ? -t2 : t2) }'
done
