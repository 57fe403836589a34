# --backend cuda without a usable GPU fails with exit 6 and the reason (a job
# that lands on a CPU node must not run a hundred times slower unnoticed);
# --backend auto falls back to the CPU.  In a CUDA build the GPUs are hidden
# (CUDA_VISIBLE_DEVICES=""), so the runtime's own reason is shown.
. "$(dirname "$0")/search_lib.sh"
T=$TCET_BIN
A="--proxy params --evolution-max-iter 6 --population-size 4 --budget-model-size 5e5"
if "$T" --version | grep -q cuda; then
    export CUDA_VISIBLE_DEVICES=""
    want="no usable GPU: cudaGetDeviceCount"
else
    want="this tcet was built without CUDA"
fi
expect6() { # what, command...
    local what=$1; shift
    "$@" > "$WORK/out" 2>&1; local rc=$?
    [ $rc = 6 ] || { cat "$WORK/out"; fail "$what: exit $rc, expected 6"; }
    grep -q -- "--backend cuda: $want" "$WORK/out" || { cat "$WORK/out"; fail "$what: no reason"; }
    [ "$(grep -c 'error' "$WORK/out")" = 1 ] || { cat "$WORK/out"; fail "$what: not one error line"; }
    echo "$what: exit 6: $(grep error "$WORK/out")"
}
expect6 "search (one rank)" "$T" search --save-dir "$WORK/r1" $A --backend cuda
[ -e "$WORK/r1/checkpoint.h5" ] && fail "a refused backend must not leave a checkpoint"
expect6 "search (mpirun -np 3)" mpirun -np 3 "$T" search --save-dir "$WORK/r3" $A --backend cuda
expect6 "score" "$T" score 'SuperConvK3BNRELU(3,8,1,1)' --proxy params --backend cuda
expect6 "bench" "$T" bench --structures init --proxies params --repeat 1 --backend cuda
# auto: falls back to the CPU and finishes
"$T" search --save-dir "$WORK/auto" $A --backend auto > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "--backend auto failed"; }
[ -s "$WORK/auto/best_structure.txt" ] || fail "--backend auto: no result"
if [ -n "${CUDA_VISIBLE_DEVICES+x}" ]; then
    grep -q "notice: --backend auto: no usable GPU" "$WORK/out" || { cat "$WORK/out"; fail "--backend auto: no notice"; }
fi
echo "PASS"
