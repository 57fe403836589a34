#!/bin/bash
# Numerical conditioning of the proxies (docs/validation.md#numerical-conditioning-on-nas-bench-201,
# docs/proxies.md#numerical-conditioning): the same architectures scored by
# three equally valid implementations,
#   f32     float32, the default CPU path (im2col + OpenBLAS; oneDNN weight gradients)
#   onednn  float32 with TCET_CPU_CONV=onednn (another summation order in
#           every k x k convolution's forward and data gradient)
#   f64     --precision float64 (every proxy but te-nas in double)
# and, per proxy, the median and largest relative difference |a - b| / |b| of
# the totals over the architectures; then, for T-CET(SNIP), the largest
# difference of a single layer's SNIP sum on a few of them.  Not a ctest test.
# Resumable: the rows stay in OUT/*.csv.
#
#   tests/perf/conditioning.sh nb201 OUT [EVERY [SPLIT]]   every EVERY-th NAS-Bench-201 cell
#                                                          (default 36: 21 cells; cifar10)
#   tests/perf/conditioning.sh zennet OUT                  ZenNet-1M and ZenNet-2M (100 classes)
# Needs mpirun and build/tcet (TCET_BIN); TCET_PROXIES overrides the proxy list.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${TCET_BIN:-$ROOT/build/tcet}
KIND=${1:?usage: conditioning.sh nb201|zennet OUT [EVERY [SPLIT]]}
OUT=${2:?usage: conditioning.sh nb201|zennet OUT [EVERY [SPLIT]]}
P=${TCET_PROXIES:-tcet-snip,tcet-synflow,snip,naswot,gradnorm,gradnorm-zc,zico,zen}
mkdir -p "$OUT" && cd "$OUT"
export OPENBLAS_NUM_THREADS=1
MPI="mpirun --oversubscribe -np 3"
case $KIND in
nb201)
    T=$ROOT/tests/data/nb201/zc_nasbench201.json
    EVERY=${3:-36} SPLIT=${4:-cifar10}
    CLASSES=$(case $SPLIT in cifar10) echo 10 ;; cifar100) echo 100 ;; *) echo 120 ;; esac)
    RES=$(case $SPLIT in ImageNet16-120) echo 16 ;; *) echo 32 ;; esac)
    V() { $MPI "$B" validate nb201 --table "$T" --split "$SPLIT" --dataset synthetic --proxy "$P" \
          --every "$EVERY" --backend cpu "$@" >/dev/null; } ;;
zennet)
    CLASSES=100 RES=32
    S1='SuperConvK3BNRELU(3,88,1,1)SuperResK1K7K1(88,120,1,16,1)SuperResK1K7K1(120,192,2,16,3)SuperResK1K5K1(192,224,1,24,4)SuperResK1K5K1(224,96,2,24,2)SuperResK1K3K1(96,168,2,40,3)SuperResK1K3K1(168,112,1,48,3)SuperConvK1BNRELU(112,512,1,1)'
    S2='SuperConvK3BNRELU(3,32,1,1)SuperResK1K5K1(32,120,1,40,1)SuperResK1K5K1(120,176,2,32,3)SuperResK1K7K1(176,272,1,24,3)SuperResK1K3K1(272,176,1,56,3)SuperResK1K3K1(176,176,1,64,4)SuperResK1K5K1(176,216,2,40,2)SuperResK1K3K1(216,72,2,56,2)SuperConvK1BNRELU(72,512,1,1)'
    printf '# ZenNet-1M\n%s\n# ZenNet-2M\n%s\n' "$S1" "$S2" >structures.txt
    V() { $MPI "$B" score @structures.txt --num-classes 100 --dataset synthetic --proxy "$P" \
          --backend cpu "$@" >/dev/null; } ;;
*) echo "conditioning.sh: unknown kind '$KIND' (nb201 or zennet)" >&2; exit 2 ;;
esac
V --out f32.csv
TCET_CPU_CONV=onednn V --out onednn.csv
V --precision float64 --out f64.csv

# rows: structure@proxy,raw_score of the ok rows (CSV fields: index,"structure",proxy,score,raw,status,...)
rows() { awk -F, '$6 == "ok" { print $2 "@" $3 "," $5 }' "$1" | sort; }
compare() { # A B: per proxy, n, median and max of |a - b| / |b|
    join -t, -j1 <(rows "$1") <(rows "$2") |
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

echo
echo "T-CET(SNIP) per-layer SNIP sums: largest |a - f64| / |f64| over the layers, a = f32 / onednn:"
awk -F, 'NR > 1 && $3 == "tcet-snip" { print $2 }' f32.csv | tr -d '"' | head -4 | while read -r s; do
    for v in f32 onednn f64; do
        conv=auto prec=float32
        [ $v = onednn ] && conv=onednn
        [ $v = f64 ] && prec=float64
        TCET_CPU_CONV=$conv "$B" score "$s" --proxy tcet-snip --num-classes "$CLASSES" --resolution "$RES" \
            --dataset synthetic --backend cpu --precision $prec --json 2>/dev/null |
            awk -F': ' '/"sum"/ { gsub(",", "", $2); print $2 }' >layers-$v.txt
    done
    paste layers-f32.txt layers-onednn.txt layers-f64.txt |
        awk -v s="${s:0:60}" '{ b = $3 < 0 ? -$3 : $3; if (b == 0) next
                                d1 = ($1 - $3) / b; d2 = ($2 - $3) / b; if (d1 < 0) d1 = -d1; if (d2 < 0) d2 = -d2
                                if (d1 > m1) m1 = d1; if (d2 > m2) m2 = d2 }
                              END { printf "  %-60s layers %3d  f32 %.2e  onednn %.2e\n", s, NR, m1, m2 }'
done
