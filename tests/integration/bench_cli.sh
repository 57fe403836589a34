#!/bin/bash
# tcet bench (docs/performance.md): a small functional check, NOT a timing assertion.
# The CIFAR init structure (docs/semantics.md#script-settings-and-presets), batch 16, one timed candidate:
#  - every JSON field is present, the run did not fail, scores are finite;
#  - ref_flops = 2 x reference mult-adds of the scoring network x images,
#    where the mult-adds come from the docs/semantics.md#reference-counters closed forms by hand
#    (6 318 080 per image, see below), images = 16 + 3*16 (T-CET SNIP) and
#    16 + 3 (T-CET Synflow, batch-1 saliency pass);
#  - times > 0, min <= median <= max, gflops = ref_flops / median_s;
#  - the phases add up to the candidate's time (one repeat: exactly);
#  - the CPU kernels' path ("isa") is the one `tcet --version` reports, and
#    TCET_CPU_ISA forces it (generic here; a path this CPU lacks exits 6);
#  - sgemm_gflops is the higher of the before/after measurements and each
#    row's sgemm_fraction = gflops / sgemm_gflops;
#  - text mode prints the table; usage mistakes exit 2.
set -u
BIN=${TCET_BIN:?TCET_BIN not set}
fail() { echo "FAIL: $*" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Scoring network of the init structure (no residual links), mult-adds per
# image at res 32 (conv: cin*cout*k^2*ho^2; BN: c*ho^2; FC: 128*100):
#   convs 221184+589824+1179648+589824+1179648+589824+1179648+294912+294912+131072 = 6250496
#   BN    8192+8192+16384+4096+8192+2048+4096+512+1024+2048                        =   54784
#   FC                                                                              =   12800
PER_IMAGE=6318080
B=16

"$BIN" bench --structures init --proxies tcet-snip,tcet-synflow --batch-size $B --repeat 1 --json \
    >"$TMP/b.json" 2>"$TMP/err" || { cat "$TMP/err"; fail "bench --json exited $?"; }

# flatten to "key value" lines (one JSON field per line in the pretty output)
sed -nE 's/^ *"([a-z_0-9]+)": *"?(.*[^",])"?,?$/\1 \2/p' "$TMP/b.json" >"$TMP/kv"
for k in backend device cpu_model isa blas_core batch_size resolution num_classes threads repeat warmup sgemm_gflops \
    sgemm_gflops_before sgemm_gflops_after; do
    grep -q "^$k " "$TMP/kv" || fail "top-level field $k missing"
done
[ "$(grep -c '^name ' "$TMP/kv")" = 2 ] || fail "2 result rows expected"
awk -v pi=$PER_IMAGE -v b=$B '
function fail(m) { print "FAIL: " m > "/dev/stderr"; bad = 1 }
function rel(a, e) { d = a - e; if (d < 0) d = -d; return d / (e < 0 ? -e : e) }
$1 == "batch_size" && $2 != b { fail("batch_size " $2) }
$1 == "sgemm_gflops" { sg = $2; if (!($2 > 0)) fail("sgemm_gflops " $2) }
$1 == "sgemm_gflops_before" { sgb = $2 }
$1 == "sgemm_gflops_after" { sga = $2 }
$1 == "sgemm_fraction" { frac[row] = $2 }
$1 == "name" { row++; name[row] = $2; nph[row] = 0; phsum[row] = 0 }
$1 == "proxy" { proxy[row] = $2 }
$1 == "failed" { failed[row] = $2 }
$1 == "score" { score[row] = $2 }
$1 == "ref_flops" { ref[row] = $2 }
$1 == "median_s" { med[row] = $2 }
$1 == "min_s" { mn[row] = $2 }
$1 == "max_s" { mx[row] = $2 }
$1 == "gflops" { gf[row] = $2 }
$1 ~ /^(setup|naswot_fwd|gram|logdet|saliency_fwd|backward|reduce|other)$/ {
    nph[row]++; phsum[row] += $2; if ($2 < 0) fail("negative phase " $1) }
END {
    for (r = 1; r <= row; r++) {
        want = (proxy[r] == "tcet-snip") ? 2 * pi * (b + 3 * b) : 2 * pi * (b + 3)
        if (name[r] != "init") fail("row " r " name " name[r])
        if (failed[r] != "false") fail("row " r " failed")
        if (score[r] == "null" || score[r] == "") fail("row " r " score not finite")
        if (rel(ref[r], want) > 1e-12) fail("row " r " (" proxy[r] ") ref_flops " ref[r] " != " want)
        if (!(med[r] > 0) || !(mn[r] > 0)) fail("row " r " non-positive time")
        if (mn[r] > med[r] || med[r] > mx[r]) fail("row " r " min/median/max out of order")
        if (rel(gf[r], ref[r] / med[r] * 1e-9) > 1e-9) fail("row " r " gflops " gf[r] " != ref/time")
        if (rel(frac[r], gf[r] / sg) > 1e-9) fail("row " r " sgemm_fraction " frac[r] " != gflops / sgemm")
        if (nph[r] != 8) fail("row " r ": " nph[r] " phases, 8 expected")
        if (rel(phsum[r], med[r]) > 1e-6) fail("row " r " phases sum " phsum[r] " != time " med[r])
    }
    if (sg != (sgb > sga ? sgb : sga)) fail("sgemm_gflops " sg " is not the higher of " sgb ", " sga)
    if (proxy[1] != "tcet-snip" || proxy[2] != "tcet-synflow") fail("proxy order " proxy[1] "," proxy[2])
    exit bad
}' "$TMP/kv" || { cat "$TMP/b.json"; fail "JSON contents"; }

# the kernels' path: the one --version names, and forced by TCET_CPU_ISA
want_isa=$("$BIN" --version | sed -nE 's/.*CPU kernels: ([a-z0-9-]+) .*/\1/p')
[ -n "$want_isa" ] || fail "tcet --version names no CPU kernels path"
grep -q "^isa $want_isa\$" "$TMP/kv" || fail "bench isa is not '$want_isa' (tcet --version)"
TCET_CPU_ISA=generic "$BIN" bench --structures init --proxies tcet-synflow --batch-size 8 --repeat 1 --warmup 0 \
    --no-sgemm --json >"$TMP/g.json" 2>/dev/null || fail "TCET_CPU_ISA=generic bench exited $?"
grep -q '"isa": "generic"' "$TMP/g.json" || { cat "$TMP/g.json"; fail "TCET_CPU_ISA=generic not honoured"; }
grep -q '"sgemm_fraction": null' "$TMP/g.json" || fail "sgemm_fraction without sgemm should be null"
lacking=$("$BIN" --version | grep -oE '[a-z0-9-]+ \(not on this CPU\)' | head -1 | cut -d' ' -f1)
if [ -n "$lacking" ]; then
    TCET_CPU_ISA=$lacking "$BIN" bench --structures init --repeat 1 >/dev/null 2>"$TMP/err"
    rc=$?
    [ $rc = 6 ] || fail "TCET_CPU_ISA=$lacking (not on this CPU) exited $rc, expected 6"
    grep -q "TCET_CPU_ISA=$lacking" "$TMP/err" || fail "TCET_CPU_ISA=$lacking: no message"
fi
TCET_CPU_ISA=nosuch "$BIN" bench --structures init --repeat 1 >/dev/null 2>"$TMP/err"
rc=$?
[ $rc = 2 ] || fail "TCET_CPU_ISA=nosuch exited $rc, expected 2"

# OpenBLAS's kernels: bench names the ones --version names; a user's
# OPENBLAS_CORETYPE is left as it is (docs/performance.md#openblas-kernels)
want_blas=$("$BIN" --version | sed -nE 's/^OpenBLAS kernels: (.*)$/\1/p')
[ -n "$want_blas" ] || fail "tcet --version names no OpenBLAS kernels"
grep -qF "blas_core $want_blas" "$TMP/kv" || fail "bench blas_core is not '$want_blas' (tcet --version)"
# tcet's own marker of a forced choice counts only in the run it started
TCET_BLAS_PICKED=Bogus "$BIN" --version | grep -q Bogus && fail "a stale TCET_BLAS_PICKED is reported as OpenBLAS's pick"
if [ "$want_isa" != generic ]; then
    got=$(OPENBLAS_CORETYPE=Haswell "$BIN" --version | sed -nE 's/^OpenBLAS kernels: (.*)$/\1/p')
    [ "$got" = Haswell ] || fail "OPENBLAS_CORETYPE=Haswell: --version says '$got'"
fi

# text mode: the table and the phase table
"$BIN" bench --structures init --proxies tcet-snip --batch-size 8 --repeat 1 --warmup 0 --no-sgemm \
    >"$TMP/b.txt" 2>/dev/null || fail "text mode exited $?"
grep -Eq '^init +tcet-snip +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +- +[0-9.]+ [a-z0-9-]+$' "$TMP/b.txt" || { cat "$TMP/b.txt"; fail "text row"; }
grep -q 'time by phase' "$TMP/b.txt" || fail "phase table missing"

# usage mistakes: exit 2 with a message
for args in "--structures nosuch" "--proxies nosuch" "--repeat 0" "--bogus" "NotAStructure(1)"; do
    # shellcheck disable=SC2086
    "$BIN" bench $args --repeat 1 >/dev/null 2>"$TMP/err"
    rc=$?
    [ $rc = 2 ] || fail "'bench $args' exited $rc, expected 2"
    grep -q 'error' "$TMP/err" || fail "'bench $args': no message"
done
echo "bench_cli: ok"
