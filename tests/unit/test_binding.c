/* GPU binding of worker ranks for faked layouts (worker/binding.h): 1, 2 and
 * 4 nodes, with and without a GPU on the master's node, all GPUs visible to
 * every rank or one per rank, and the two refused layouts. */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "test_support.h"
#include "worker/binding.h"

#define MAXR 64

typedef struct {
    int n;
    tcet_bind_in in[MAXR];
    tcet_bind_out out[MAXR];
    char err[1024];
} layout;

/* rank r on node nodes[r]; each rank sees the GPUs of its node ("N<node>-G<k>"),
 * all of them (per_task = 0) or only the one of its node-local slot. */
static void make(layout *L, int nranks, const int *node_of, const int *gpus_per_node, int per_task)
{
    memset(L, 0, sizeof *L);
    L->n = nranks;
    int seen[16] = {0};
    for (int r = 0; r < nranks; r++) {
        int nd = node_of[r];
        snprintf(L->in[r].node, sizeof L->in[r].node, "node%d", nd);
        int g = gpus_per_node[nd];
        if (per_task) { /* srun --gpus-per-task=1: the k-th task of the node sees GPU k only */
            int k = seen[nd]++;
            if (r > 0 && k < g + 1) { /* rank 0 gets none */
                int slot = r == 0 ? -1 : k - (node_of[0] == nd ? 1 : 0);
                if (slot >= 0 && slot < g) {
                    snprintf(L->in[r].gpu[0], TCET_GPU_UUID_LEN, "N%d-G%d", nd, slot);
                    L->in[r].ngpus = 1;
                }
            }
        } else {
            for (int k = 0; k < g; k++) snprintf(L->in[r].gpu[k], TCET_GPU_UUID_LEN, "N%d-G%d", nd, k);
            L->in[r].ngpus = g;
        }
    }
}

static int plan(layout *L, int allow)
{
    tcet_error_clear();
    int rc = tcet_bind_plan(L->n, L->in, 1, allow, L->out, L->err, sizeof L->err);
    if (rc) snprintf(L->err, sizeof L->err, "%s", tcet_error_message());
    return rc;
}

/* every worker has a GPU, no two workers of a node share one, all GPUs used */
static void check_one_per_gpu(const layout *L, int total_gpus)
{
    assert_int_equal(L->out[0].worker, 0);
    assert_int_equal(L->out[0].device, -1);
    int used = 0;
    for (int r = 1; r < L->n; r++) {
        assert_int_equal(L->out[r].worker, 1);
        assert_true(L->out[r].device >= 0);
        const char *u = L->in[r].gpu[L->out[r].device];
        for (int q = 1; q < r; q++)
            if (!strcmp(L->in[q].node, L->in[r].node)) assert_string_not_equal(L->in[q].gpu[L->out[q].device], u);
        used++;
    }
    assert_int_equal(used, total_gpus);
}

static void single_node(void **state)
{
    (void)state;
    layout L;
    /* master + 8 workers on one 8-GPU node: worker i -> device i (not rank i) */
    int nodes[9] = {0};
    int g8[1] = {8};
    make(&L, 9, nodes, g8, 0);
    assert_int_equal(plan(&L, 0), 0);
    check_one_per_gpu(&L, 8);
    for (int r = 1; r < 9; r++) {
        assert_int_equal(L.out[r].local_index, r - 1);
        assert_int_equal(L.out[r].device, r - 1);
    }
    /* the same with one GPU per task */
    make(&L, 9, nodes, g8, 1);
    assert_int_equal(plan(&L, 0), 0);
    check_one_per_gpu(&L, 8);
    /* a lone rank scores itself on device 0 */
    make(&L, 1, nodes, g8, 0);
    assert_int_equal(plan(&L, 0), 0);
    assert_int_equal(L.out[0].worker, 1);
    assert_int_equal(L.out[0].device, 0);
}

static void multi_node(void **state)
{
    (void)state;
    layout L;
    int g8[4] = {8, 8, 8, 8};
    /* 2 nodes: master on node 0 together with 8 workers, 8 workers on node 1 (17 ranks) */
    int two[17];
    for (int r = 0; r < 17; r++) two[r] = r < 9 ? 0 : 1;
    make(&L, 17, two, g8, 0);
    assert_int_equal(plan(&L, 0), 0);
    check_one_per_gpu(&L, 16);
    assert_int_equal(L.out[9].local_index, 0); /* first worker of node 1 */
    assert_int_equal(L.out[9].device, 0);
    assert_int_equal(L.out[8].local_index, 7);
    make(&L, 17, two, g8, 1);
    assert_int_equal(plan(&L, 0), 0);
    check_one_per_gpu(&L, 16);
    /* 4 nodes x 8 GPUs, the master on a GPU-less node of its own (33 ranks) */
    int four[33];
    int gm[5] = {0, 8, 8, 8, 8};
    for (int r = 0; r < 33; r++) four[r] = r == 0 ? 0 : 1 + (r - 1) / 8;
    make(&L, 33, four, gm, 0);
    assert_int_equal(plan(&L, 0), 0);
    check_one_per_gpu(&L, 32);
    for (int r = 1; r < 33; r++) assert_int_equal(L.out[r].device, (r - 1) % 8);
    /* 4 nodes, the master on node 0 with 8 workers: node 0 holds 9 ranks */
    for (int r = 0; r < 33; r++) four[r] = r < 9 ? 0 : 1 + (r - 9) / 8;
    make(&L, 33, four, g8, 0);
    assert_int_equal(plan(&L, 0), 0);
    check_one_per_gpu(&L, 32);
    /* ranks interleaved over nodes (round-robin placement) */
    int rr[17];
    for (int r = 0; r < 17; r++) rr[r] = r % 2;
    int g[2] = {8, 8};
    make(&L, 17, rr, g, 0);
    assert_int_equal(plan(&L, 0), 0);
    check_one_per_gpu(&L, 16);
}

static void refused(void **state)
{
    (void)state;
    layout L;
    /* 9 workers on an 8-GPU node: two would share */
    int nodes[10] = {0};
    int g8[1] = {8};
    make(&L, 10, nodes, g8, 0);
    assert_int_equal(plan(&L, 0), TCET_ERR_BACKEND);
    assert_non_null(strstr(L.err, "worker ranks 1 and 9 on node node0 would share GPU N0-G0"));
    assert_non_null(strstr(L.err, "--lanes"));
    assert_int_equal(plan(&L, 1), 0); /* TCET_ALLOW_GPU_SHARING */
    assert_int_equal(L.out[9].device, 0);
    /* 2 nodes: node 1 has no GPU while 2 of node 0's 4 are idle */
    int two[5] = {0, 0, 0, 1, 1};
    int g[2] = {4, 0};
    make(&L, 5, two, g, 0);
    assert_int_equal(plan(&L, 0), TCET_ERR_BACKEND);
    assert_non_null(strstr(L.err, "worker rank 3 on node node1 has no GPU while GPU N0-G2 of node node0 is idle"));
    /* no GPU anywhere: every worker on the CPU, nothing refused */
    int g0[2] = {0, 0};
    make(&L, 5, two, g0, 0);
    assert_int_equal(plan(&L, 0), 0);
    for (int r = 1; r < 5; r++) assert_int_equal(L.out[r].device, -1);
    /* --backend cpu: nothing planned, nothing refused */
    make(&L, 10, nodes, g8, 0);
    assert_int_equal(tcet_bind_plan(L.n, L.in, 0, 0, L.out, L.err, sizeof L.err), 0);
    for (int r = 0; r < 10; r++) assert_int_equal(L.out[r].device, -1);
    /* idle GPUs with every worker placed: allowed (fewer workers than GPUs) */
    int three[3] = {0, 0, 0};
    make(&L, 3, three, g8, 0);
    assert_int_equal(plan(&L, 0), 0);
    assert_int_equal(L.out[2].device, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(single_node), cmocka_unit_test(multi_node),
                                       cmocka_unit_test(refused)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
