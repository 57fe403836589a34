#!/bin/bash
# GPU binding of worker ranks under mpirun for faked node layouts
# (TCET_TEST_NODES names each rank's node, TCET_TEST_GPUS each node's GPUs;
# scoring stays on the CPU): each worker takes its node-local GPU, and the
# two refused layouts end every rank with exit 6 and a message naming them.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/search_lib.sh"
ARGS="--proxy params --dataset synthetic --evolution-max-iter 40 --population-size 8 --budget-model-size 5e5"

# 1. Two nodes of two GPUs, the master on node a with two workers.
TCET_TEST_NODES=a,a,a,b,b TCET_TEST_GPUS="a=G0+G1;b=G2+G3" \
  mpirun -np 5 -x TCET_TEST_NODES -x TCET_TEST_GPUS "$TCET_BIN" search --save-dir "$WORK/ok" $ARGS \
  > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "two-node layout refused"; }
for want in "rank 1: node a, local worker 0, GPU 0 (G0)" "rank 2: node a, local worker 1, GPU 1 (G1)" \
            "rank 3: node b, local worker 0, GPU 0 (G2)" "rank 4: node b, local worker 1, GPU 1 (G3)"; do
  grep -qF "binding: $want" "$WORK/out" || { cat "$WORK/out"; fail "missing binding line: $want"; }
done
# 2. Three workers for two GPUs on one node: refused, ranks named, exit 6, nothing started.
TCET_TEST_NODES=a,a,a,a TCET_TEST_GPUS="a=G0+G1" \
  mpirun -np 4 -x TCET_TEST_NODES -x TCET_TEST_GPUS "$TCET_BIN" search --save-dir "$WORK/share" $ARGS \
  > "$WORK/out" 2>&1
rc=$?
[ "$rc" = 6 ] || { cat "$WORK/out"; fail "sharing: exit $rc, expected 6"; }
grep -q "worker ranks 1 and 3 on node a would share GPU G0" "$WORK/out" || { cat "$WORK/out"; fail "sharing message"; }
[ ! -e "$WORK/share/checkpoint.h5" ] || fail "a refused layout wrote a checkpoint"
# ... unless asked for
TCET_ALLOW_GPU_SHARING=1 TCET_TEST_NODES=a,a,a,a TCET_TEST_GPUS="a=G0+G1" \
  mpirun -np 4 -x TCET_ALLOW_GPU_SHARING -x TCET_TEST_NODES -x TCET_TEST_GPUS "$TCET_BIN" search \
  --save-dir "$WORK/share2" $ARGS > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "TCET_ALLOW_GPU_SHARING refused"; }
grep -qF "binding: rank 3: node a, local worker 2, GPU 0 (G0)" "$WORK/out" || { cat "$WORK/out"; fail "shared binding"; }
# 3. A worker on a GPU-less node while a GPU of node a is idle: refused.
TCET_TEST_NODES=a,a,b TCET_TEST_GPUS="a=G0+G1" \
  mpirun -np 3 -x TCET_TEST_NODES -x TCET_TEST_GPUS "$TCET_BIN" search --save-dir "$WORK/idle" $ARGS \
  > "$WORK/out" 2>&1
rc=$?
[ "$rc" = 6 ] || { cat "$WORK/out"; fail "idle GPU: exit $rc, expected 6"; }
grep -q "worker rank 2 on node b has no GPU while GPU G1 of node a is idle" "$WORK/out" || { cat "$WORK/out"; fail "idle message"; }
# --backend cpu: no GPU wanted, nothing refused
TCET_TEST_NODES=a,a,b TCET_TEST_GPUS="a=G0+G1" \
  mpirun -np 3 -x TCET_TEST_NODES -x TCET_TEST_GPUS "$TCET_BIN" search --save-dir "$WORK/cpu" $ARGS --backend cpu \
  > "$WORK/out" 2>&1 || { cat "$WORK/out"; fail "--backend cpu refused"; }
grep -qF "binding: rank 2: node b, local worker 0, no GPU" "$WORK/out" || { cat "$WORK/out"; fail "cpu binding line"; }
echo "binding layouts: ok"
