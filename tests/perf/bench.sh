#!/bin/bash
# Before/after table of `tcet bench`.
#
#   tests/perf/bench.sh BEFORE AFTER [--rounds N] [tcet bench options...]
#
# BEFORE and AFTER are each a tcet executable (run now) or a saved
# `tcet bench --json` file.  Executables are run alternately for N rounds
# (default 2) so that both see the same load on a shared machine; per row the
# table shows the best (least disturbed) per-candidate median and min over
# the rounds, the speedup of the medians, the effective GFLOP/s of both and
# their fraction of the best cblas_sgemm 1024^3 rate each side measured in
# the same run, and the targets for ZenNet-1M at batch 64, res 32, 1 thread:
# T-CET(SNIP) and T-CET(Synflow) at >= 65 % of that sgemm rate.  An
# executable may be a wrapper script (e.g. one that sets TCET_CPU_ISA or
# TCET_CPU_CONV and runs tcet).  Default bench options:
#   --structures init,zennet-1m,zennet-2m --repeat 5 --threads 1
set -u
[ $# -ge 2 ] || { sed -n '2,14p' "$0"; exit 2; }
BEFORE=$1 AFTER=$2
shift 2
ROUNDS=2
if [ "${1:-}" = "--rounds" ]; then ROUNDS=$2; shift 2; fi
OPTS=("$@")
[ ${#OPTS[@]} -gt 0 ] || OPTS=(--structures init,zennet-1m,zennet-2m --repeat 5 --threads 1)
export OPENBLAS_NUM_THREADS=1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# one JSON per (side, round); a JSON file input is used as its only round
run_side() { # side exe-or-json round
    if [ -x "$2" ] && [ ! -d "$2" ] && ! head -c1 "$2" | grep -q '{'; then
        "$2" bench "${OPTS[@]}" --json >"$TMP/$1.$3.json" 2>"$TMP/$1.err" ||
            { cat "$TMP/$1.err" >&2; echo "bench.sh: $2 failed" >&2; exit 1; }
    elif [ "$3" = 1 ]; then
        cp "$2" "$TMP/$1.$3.json"
    fi
}
for r in $(seq 1 "$ROUNDS"); do
    run_side before "$BEFORE" "$r"
    run_side after "$AFTER" "$r"
done

# "side name proxy median min gflops" lines
extract() { # side
    for f in "$TMP/$1".*.json; do
        sed -nE 's/^ *"([a-z_0-9]+)": *"?(.*[^",])"?,?$/\1 \2/p' "$f" |
            awk -v side="$1" '$1 == "name" { n = $2 } $1 == "proxy" { p = $2 } $1 == "median_s" { m = $2 }
                $1 == "min_s" { mn = $2 } $1 == "gflops" { print side, n, p, m, mn, $2 }
                $1 ~ /^(setup|naswot_fwd|gram|logdet|saliency_fwd|backward|reduce|other)$/ {
                    print side, n, p, "phase", $1, $2 }
                $1 == "sgemm_gflops" { print side, "sgemm", "-", 0, 0, $2 }'
    done
}
{ extract before; extract after; } | awk '
$4 == "phase" { k = $2 " " $3; if (!((k, $1, $5) in ph) || $6 < ph[k, $1, $5]) ph[k, $1, $5] = $6
  if (!($5 in phseen)) { phseen[$5] = 1; phorder[++nph] = $5 }
  next }
{ k = $2 " " $3
  if (!(k in seen)) { seen[k] = 1; order[++n] = k }
  if ($2 == "sgemm") { if ($6 > sg[$1]) sg[$1] = $6; next }
  if (!((k, $1) in med) || $4 < med[k, $1]) { med[k, $1] = $4; gf[k, $1] = $6 }
  if (!((k, $1) in mn) || $5 < mn[k, $1]) mn[k, $1] = $5 }
END {
  printf "%-12s %-13s %10s %10s %10s %10s %8s %9s %9s %7s %7s  %s\n", "structure", "proxy", "before_med",
         "before_min", "after_med", "after_min", "speedup", "GF/s_bef", "GF/s_aft", "%sg_bef", "%sg_aft", "target"
  for (i = 1; i <= n; i++) {
    split(order[i], a, " "); if (a[1] == "sgemm") continue
    k = order[i]; t = ""
    if (!((k, "before") in med) || !((k, "after") in med)) { printf "%-12s %-13s (only on one side)\n", a[1], a[2]; continue }
    fb = sg["before"] > 0 ? 100 * gf[k, "before"] / sg["before"] : 0
    fa = sg["after"] > 0 ? 100 * gf[k, "after"] / sg["after"] : 0
    if (a[1] == "zennet-1m" && (a[2] == "tcet-snip" || a[2] == "tcet-synflow"))
        t = (fa >= 65 ? ">= 65 % of sgemm: met" : ">= 65 % of sgemm: NOT met")
    printf "%-12s %-13s %10.4f %10.4f %10.4f %10.4f %7.2fx %9.1f %9.1f %6.1f%% %6.1f%%  %s\n", a[1], a[2],
           med[k, "before"], mn[k, "before"], med[k, "after"], mn[k, "after"], med[k, "before"] / med[k, "after"],
           gf[k, "before"], gf[k, "after"], fb, fa, t
  }
  printf "cblas_sgemm 1024^3 (best seen): before run %.1f GFLOP/s, after run %.1f GFLOP/s\n", sg["before"], sg["after"]
  printf "\ntime by phase (seconds per candidate, best round), before -> after:\n%-12s %-13s", "structure", "proxy"
  for (j = 1; j <= nph; j++) printf " %17s", phorder[j]
  printf "\n"
  for (i = 1; i <= n; i++) {
    split(order[i], a, " "); if (a[1] == "sgemm") continue
    printf "%-12s %-13s", a[1], a[2]
    for (j = 1; j <= nph; j++) printf " %8.4f->%-7.4f", ph[order[i], "before", phorder[j]], ph[order[i], "after", phorder[j]]
    printf "\n"
  }
}'
