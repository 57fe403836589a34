#!/usr/bin/env bash
# One-shot check of the CUDA backend on a GPU machine (H100/H200), within a
# time budget (BUDGET seconds, default 450 < 8 minutes), GPU steps first:
#   1. binaries: the prebuilt bundle .gpu/ when present (tests/gpu/pack.sh, run
#      where tcet builds: for GPU images without cmocka/HDF5/MPI/OpenBLAS), else
#      configure (CUDA ON, sm_ARCH, Release, -Werror) and build into BUILD
#   2. the gpu tests     every op CUDA vs CPU (BN bitwise), fp16 ops, lanes, staging,
#                        golden parity of every proxy on the GPU
#   3. tcet bench on the GPU ZenNet-1M / ZenNet-2M, batch 64, res 32: T-CET SNIP and Synflow
#                        per candidate (steady state) and throughput with 1, 2, 4, 8 lanes
#   4. latency filter    budget network, fp16 on the GPU (as a search), fp32 GPU and CPU
#   5. cold start        `tcet score --backend cuda` as separate processes (first candidate)
#   6. CPU references    tcet bench on the CPU; the CPU golden tests (build mode only)
# The table goes to stdout and is written into $OUT/gpu_table.txt AS IT GROWS
# (with the full log in $OUT/gpu_log.txt), so a kill keeps what was measured.
# Exit status: 0 when every step passed, 1 otherwise.
# Usage: tests/gpu/run.sh   (env: BUDGET=450, PREBUILT=auto|0, ARCH=90, BUILD=build-gpu,
#                            WERROR=ON, REPEATS=10)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-gpu}
ARCH=${ARCH:-90}
WERROR=${WERROR:-ON}
REPEATS=${REPEATS:-10}
BUDGET=${BUDGET:-450}
NPROC=$(nproc 2>/dev/null || echo 4)
START=$(date +%s)
FAILS=0
ZENNET_1M='SuperConvK3BNRELU(3,88,1,1)SuperResK1K7K1(88,120,1,16,1)SuperResK1K7K1(120,192,2,16,3)SuperResK1K5K1(192,224,1,24,4)SuperResK1K5K1(224,96,2,24,2)SuperResK1K3K1(96,168,2,40,3)SuperResK1K3K1(168,112,1,48,3)SuperConvK1BNRELU(112,512,1,1)'
if [ -n "${OUT:-}" ]; then
    mkdir -p "$OUT"
    LOG=$OUT/gpu_log.txt
    TABLE=$OUT/gpu_table.txt
else
    LOG=$(mktemp /tmp/tcet-gpu-log.XXXXXX)
    TABLE=$(mktemp /tmp/tcet-gpu-table.XXXXXX)
fi
: >"$LOG"
: >"$TABLE"
GEN=Ninja KEEP_GOING="-k 0"
command -v ninja >/dev/null 2>&1 || { GEN="Unix Makefiles"; KEEP_GOING=-k; }

export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

elapsed() { echo $(($(date +%s) - START)); }
left() { echo $((BUDGET - $(elapsed))); }
say() { echo "== $* ($(elapsed) s)" | tee -a "$LOG"; }
row() { printf '%s\n' "$*" >>"$TABLE"; }
finish() {
    local rc=$?
    row ""
    row "tcet GPU check, $(date -u '+%Y-%m-%d %H:%M UTC'), $(elapsed) s, $FAILS failed step(s)"
    echo
    cat "$TABLE"
    [ -n "${OUT:-}" ] || rm -f "$TABLE" "$LOG"
    [ $rc -eq 0 ] && [ $FAILS -gt 0 ] && rc=1
    exit $rc
}
trap finish EXIT

# run_step NAME LIMIT STDOUT CMD...: run with min(LIMIT, time left), stdout to
# the file STDOUT (or the log), stderr to the log; record the verdict.
run_step() {
    local name=$1 limit=$2 out=$3
    shift 3
    local l
    l=$(left)
    [ "$limit" -gt "$l" ] && limit=$l
    if [ "$limit" -le 5 ]; then
        row "$(printf '%-34s %s' "$name" "SKIPPED (time budget of ${BUDGET}s spent)")"
        FAILS=$((FAILS + 1))
        return 1
    fi
    say "$name"
    timeout "$limit" "$@" >>"$out" 2>>"$LOG"
    local rc=$?
    local verdict=ok
    [ $rc -ne 0 ] && verdict="FAILED (exit $rc)"
    [ $rc -eq 124 ] && verdict="TIMED OUT after ${limit}s"
    [ $rc -eq 77 ] && verdict="SKIPPED: no usable GPU (exit 77)"
    [ $rc -ne 0 ] && FAILS=$((FAILS + 1))
    row "$(printf '%-34s %s' "$name" "$verdict")"
    return $rc
}
step() { local name=$1 limit=$2; shift 2; run_step "$name" "$limit" "$LOG" "$@"; }
# capture NAME LIMIT CMD...: a step whose stdout (a table) also goes into the table.
capture() {
    local name=$1 limit=$2
    shift 2
    local tmp rc
    tmp=$(mktemp /tmp/tcet-gpu-step.XXXXXX)
    run_step "$name" "$limit" "$tmp" "$@"
    rc=$?
    cat "$tmp" >>"$LOG"
    sed 's/^/    /' "$tmp" >>"$TABLE"
    rm -f "$tmp"
    return $rc
}

{
    echo "host: $(hostname), $NPROC CPUs"
    nvidia-smi -L 2>&1 || echo "nvidia-smi not available"
    nvcc --version 2>&1 | tail -1
} >>"$LOG"
GPU_NAME=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
row "GPU: ${GPU_NAME:-unknown}; CPUs: $NPROC; budget ${BUDGET}s"
row ""
row "step                               result"

GPU_TESTS=(test_cuda_ops test_cuda_golden test_cuda_f16 test_cuda_lanes test_cuda_staging)
if [ "${PREBUILT:-auto}" != 0 ] && [ -x "$ROOT/.gpu/bin/tcet" ]; then
    # ---- prebuilt (tests/gpu/pack.sh): the machine has CUDA but not tcet's other
    # build dependencies.  Use its own copy of a library where it has one (its
    # glibc fits it), the carried one otherwise, cuDNN/cuBLAS from its pip wheels.
    say "prebuilt bundle"
    BIN=$ROOT/.gpu/bin
    LIBS=$(mktemp -d /tmp/tcet-gpu-libs.XXXXXX)
    mkdir -p "$LIBS/all" "$LIBS/use"
    tar -C "$LIBS/all" -xJf "$ROOT/.gpu/libs.tar.xz"
    for f in "$LIBS"/all/*; do
        n=$(basename "$f")
        ldconfig -p 2>/dev/null | grep -q " $n " || ln -s "$f" "$LIBS/use/$n"
    done
    NV=$(python3 -c 'import glob, os, nvidia
roots = list(nvidia.__path__)
dirs = {os.path.dirname(p) for r in roots for p in glob.glob(os.path.join(r, "**", "lib*.so*"), recursive=True)}
print(":".join(sorted(dirs)))' 2>>"$LOG")
    export LD_LIBRARY_PATH="$LIBS/use${NV:+:$NV}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    if ! "$BIN/tcet" --version >>"$LOG" 2>&1; then
        # e.g. the carried Open MPI needs a newer glibc: one process needs no MPI
        export LD_LIBRARY_PATH="$ROOT/.gpu/stub:$LD_LIBRARY_PATH"
        row "$(printf '%-34s %s' "MPI" "single-process stub (.gpu/stub)")"
    fi
    { echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; ldd "$BIN/tcet"; } >>"$LOG" 2>&1
    missing=$(ldd "$BIN/tcet" "$BIN/test_cuda_ops" 2>&1 | grep "not found" | sort -u | tr -s ' \t\n' ' ')
    [ -z "$missing" ] || { row "libraries not found: $missing"; FAILS=$((FAILS + 1)); exit 1; }
else
    # ---- build here (needs cmocka, HDF5, MPI, OpenBLAS/LAPACKE, cuDNN headers)
    step "configure (CUDA ON, sm_$ARCH)" 120 \
        cmake -S "$ROOT" -B "$BUILD" -G "$GEN" -DCMAKE_BUILD_TYPE=Release -DTCET_WERROR="$WERROR" \
        -DTCET_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCH" || { row "(no build tools? run tests/gpu/pack.sh where tcet builds and carry .gpu)"; exit 1; }
    BIN=$BUILD/tests
    rm -f "$BUILD/tcet" "${GPU_TESTS[@]/#/$BIN/}" # a failed build must not leave binaries of an earlier run
    # keep going: a broken unrelated target must not hide the GPU results; when
    # warnings-as-errors is what failed, retry once without it and say so.
    if ! step "build" 300 cmake --build "$BUILD" -j "$NPROC" -- $KEEP_GOING && [ "$WERROR" != OFF ]; then
        step "configure without -Werror (retry)" 60 cmake -S "$ROOT" -B "$BUILD" -DTCET_WERROR=OFF
        if step "build without -Werror (retry)" 300 cmake --build "$BUILD" -j "$NPROC" -- $KEEP_GOING; then
            FAILS=$((FAILS - 1)) # the build is usable; the table says it needed the retry
        fi
    fi
    cp "$BUILD/tcet" "$BIN/tcet" 2>/dev/null
fi
TCET=$BIN/tcet
for f in "$TCET" "${GPU_TESTS[@]/#/$BIN/}"; do
    [ -x "$f" ] || { row "missing: $f"; FAILS=$((FAILS + 1)); exit 1; }
done
row "$(printf '%-34s %s' "tcet --version" "$("$TCET" --version 2>&1)")"

# The gpu tests, run directly (exit 77 = no usable GPU: a failure here).
export TCET_TEST_DATA=$ROOT/tests/data TCET_SOURCE_DIR=$ROOT TCET_BIN=$TCET
for t in "${GPU_TESTS[@]}"; do
    step "$t" 150 "$BIN/$t"
done
grep -E "T-CET|Gram:|cuda .* official|CUDA backend: |ZenNet-1M (budget net|latency)|lanes? +[0-9.]+ candidates/s|staging .* MiB|bn_timing|self-check" "$LOG" \
    | awk '!seen[$0]++' | head -60 | sed 's/^/    /' >>"$TABLE"

row ""
row "tcet bench on the GPU: per candidate (steady state, median of $REPEATS) and lanes throughput"
capture "bench GPU" 150 "$TCET" bench --backend cuda --structures zennet-1m,zennet-2m \
    --proxies tcet-snip,tcet-synflow --repeat "$REPEATS" --lanes 1,2,4,8 --no-sgemm

row ""
row "latency filter: ZenNet-1M budget network, batch 64, res 32, eval, 3 warm-ups + 1 timed forward"
capture "latency filter" 90 bash -o pipefail -c '"$1" --latency "$2" 64 32 5 | grep "^LATENCY" | sed "s/^LATENCY //"' _ \
    "$BIN/test_cuda_f16" "$ZENNET_1M"

# Cold start: a fresh process per candidate (CUDA context, cuDNN heuristics, arena growth).
row ""
row "cold start: tcet score ZenNet-1M --backend cuda, 3 processes: wall s / first-candidate s"
for proxy in tcet-snip tcet-synflow; do
    line="$proxy:"
    for r in 1 2 3; do
        [ "$(left)" -lt 20 ] && { line="$line (time budget)"; break; }
        t0=$(date +%s.%N)
        json=$(timeout 30 "$TCET" score "$ZENNET_1M" --proxy "$proxy" --batch-size 64 --resolution 32 --backend cuda --json 2>>"$LOG")
        rc=$?
        t1=$(date +%s.%N)
        sec=$(printf '%s\n' "$json" | sed -n 's/.*"seconds": *\([-0-9.eE+]*\).*/\1/p' | head -1)
        if [ $rc -ne 0 ]; then line="$line exit $rc;"; FAILS=$((FAILS + 1)); continue; fi
        line="$line $(awk -v a="$t0" -v b="$t1" -v s="${sec:-nan}" 'BEGIN { printf "%.2f/%.3f", b - a, s }')"
    done
    row "    $line"
done

# ---- CPU references last: the GPU numbers are what this run is for
row ""
row "tcet bench on the CPU (ZenNet-1M): 1 lane, and one lane per core"
capture "bench CPU" 90 "$TCET" bench --backend cpu --structures zennet-1m --proxies tcet-snip,tcet-synflow \
    --repeat 3 --warmup 1 --lanes "1,$NPROC"
if [ "$BIN" = "$BUILD/tests" ]; then
    step "ctest golden (CPU)" 150 ctest --test-dir "$BUILD" -R "golden" -LE gpu -j "$NPROC" --output-on-failure
fi
