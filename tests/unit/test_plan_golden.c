/* The plan and the reference counters against every golden case produced by
 * the official PyTorch code: /expected counters and the /layers table
 * (Conv2d/Linear modules in named_modules() order), and the BN module names
 * implied by /params. */
#include "test_support.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arch.h"
#include "common/counters.h"
#include "common/plan.h"

static void read_attr_str(hid_t f, const char *name, char *buf, size_t cap)
{
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    assert_true(a >= 0);
    hid_t t = H5Aget_type(a);
    assert_true(t >= 0);
    size_t n = H5Tget_size(t);
    assert_true(n + 1 <= cap);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, n + 1);
    memset(buf, 0, cap);
    if (H5Tis_variable_str(t) > 0) {
        char *v = NULL;
        hid_t vt = H5Tcopy(H5T_C_S1);
        H5Tset_size(vt, H5T_VARIABLE);
        assert_true(H5Aread(a, vt, &v) >= 0);
        snprintf(buf, cap, "%s", v);
        H5free_memory(v);
        H5Tclose(vt);
    } else {
        assert_true(H5Aread(a, mt, buf) >= 0);
    }
    H5Tclose(mt);
    H5Tclose(t);
    H5Aclose(a);
}

static long long read_attr_int(hid_t f, const char *name)
{
    long long v = 0;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Aread(a, H5T_NATIVE_LLONG, &v) >= 0);
    H5Aclose(a);
    return v;
}

static double read_scalar_d(hid_t f, const char *path)
{
    double v = 0;
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) >= 0);
    H5Dclose(d);
    return v;
}

/* 1-D integer dataset; returns its length, fills out (malloc'd). */
static int read_ints(hid_t f, const char *path, long long **out)
{
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t s = H5Dget_space(d);
    hsize_t n = 0;
    assert_int_equal(H5Sget_simple_extent_ndims(s), 1);
    H5Sget_simple_extent_dims(s, &n, NULL);
    *out = calloc(n ? n : 1, sizeof **out);
    assert_true(H5Dread(d, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) >= 0);
    H5Sclose(s);
    H5Dclose(d);
    return (int)n;
}

/* 1-D fixed-length string dataset -> n strings of width w+1 (malloc'd). */
static int read_strs(hid_t f, const char *path, char **out, size_t *width)
{
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t t = H5Dget_type(d);
    size_t w = H5Tget_size(t) + 1;
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, w);
    H5Tset_strpad(mt, H5T_STR_NULLTERM);
    hid_t s = H5Dget_space(d);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(s, &n, NULL);
    *out = calloc(n ? n : 1, w);
    assert_true(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) >= 0);
    H5Sclose(s);
    H5Tclose(mt);
    H5Tclose(t);
    H5Dclose(d);
    *width = w;
    return (int)n;
}

typedef struct {
    char (*names)[256];
    int n, cap;
} name_list;

static herr_t collect(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    name_list *l = op;
    if (l->n < l->cap) snprintf(l->names[l->n++], 256, "%s", name);
    return 0;
}

static void check_case(const char *path)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    char st[TCET_MAX_STRUCT + 1];
    read_attr_str(f, "structure", st, sizeof st);
    int classes = (int)read_attr_int(f, "num_classes");
    int res = (int)read_attr_int(f, "resolution");
    int reslink = !read_attr_int(f, "no_reslink");
    tcet_arch a;
    tcet_parse_error pe;
    assert_int_equal(tcet_arch_parse(st, &a, &pe), 0);

    /* counters of the network the case was built with */
    tcet_counts c;
    assert_int_equal(tcet_count(&a, reslink, classes, res, &c), 0);
    assert_true(c.params == read_scalar_d(f, "/expected/params_model_size"));
    assert_true(c.flops == read_scalar_d(f, "/expected/flops"));
    long long *v = NULL;
    hid_t d = H5Dopen2(f, "/expected/num_layers", H5P_DEFAULT);
    long long nl = 0, tp = 0;
    assert_true(H5Dread(d, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, &nl) >= 0);
    H5Dclose(d);
    d = H5Dopen2(f, "/expected/torch_param_count", H5P_DEFAULT);
    assert_true(H5Dread(d, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, &tp) >= 0);
    H5Dclose(d);
    assert_int_equal(c.layers, nl);
    assert_int_equal(c.true_params, tp);

    /* the layer table */
    tcet_plan p;
    tcet_plan_opts o = {reslink, 1, classes, res};
    assert_int_equal(tcet_plan_build(&a, &o, &p), 0);
    char *names = NULL;
    size_t w = 0;
    int L = read_strs(f, "/layers/name", &names, &w);
    assert_int_equal(L, p.num_scored);
    assert_int_equal(L, c.scored_layers);
    static const char *fields[] = {"in_channels", "out_channels", "kernel", "stride", "padding",
                                   "groups", "has_bias", "in_hw", "out_hw", "numel"};
    long long *col[10];
    for (int k = 0; k < 10; k++) {
        char q[64];
        snprintf(q, sizeof q, "/layers/%s", fields[k]);
        assert_int_equal(read_ints(f, q, &col[k]), L);
    }
    int li = 0;
    for (int i = 0; i < p.n; i++) {
        const tcet_op *op = &p.ops[i];
        if (op->kind != TCET_OP_CONV && op->kind != TCET_OP_LINEAR) continue;
        assert_string_equal(op->name, names + (size_t)li * w);
        long long numel = op->kind == TCET_OP_LINEAR ? (long long)op->cin * op->cout
                                                     : (long long)op->cout * (op->cin / op->groups) * op->k * op->k;
        long long mine[10] = {op->cin, op->cout, op->k, op->stride, op->pad, op->groups,
                              op->bias, op->hin, op->hout, numel};
        for (int k = 0; k < 10; k++) {
            if (mine[k] != col[k][li])
                print_error("%s layer %d (%s) %s: plan %lld, golden %lld\n", path, li, op->name, fields[k], mine[k], col[k][li]);
            assert_int_equal(mine[k], col[k][li]);
        }
        li++;
    }
    assert_int_equal(li, L);

    /* BN modules: /params keys NNNN_<name>.running_var in order */
    name_list nlst = {calloc(4096, 256), 0, 4096};
    hid_t g = H5Gopen2(f, "/params", H5P_DEFAULT);
    assert_true(g >= 0);
    assert_true(H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect, &nlst) >= 0);
    H5Gclose(g);
    int bi = 0;
    for (int i = 0; i < nlst.n; i++) {
        const char *nm = strchr(nlst.names[i], '_') + 1;
        size_t ln = strlen(nm), sl = strlen(".running_var");
        if (ln < sl || strcmp(nm + ln - sl, ".running_var")) continue;
        while (bi < p.n && p.ops[bi].kind != TCET_OP_BN) bi++;
        assert_true(bi < p.n);
        assert_int_equal(strncmp(p.ops[bi].name, nm, ln - sl), 0);
        assert_int_equal(strlen(p.ops[bi].name), ln - sl);
        bi++;
    }
    while (bi < p.n && p.ops[bi].kind != TCET_OP_BN) bi++;
    assert_int_equal(bi, p.n); /* no BN left over */

    /* bn = 0 (Synflow copy): same convs and names, no BN ops */
    tcet_plan q;
    tcet_plan_opts o2 = {reslink, 0, classes, res};
    assert_int_equal(tcet_plan_build(&a, &o2, &q), 0);
    int ci = 0;
    for (int i = 0; i < q.n; i++) {
        assert_int_not_equal(q.ops[i].kind, TCET_OP_BN);
        if (q.ops[i].kind != TCET_OP_CONV && q.ops[i].kind != TCET_OP_LINEAR) continue;
        assert_string_equal(q.ops[i].name, names + (size_t)ci * w);
        ci++;
    }
    assert_int_equal(ci, L);

    free(nlst.names);
    for (int k = 0; k < 10; k++) free(col[k]);
    free(names);
    free(v);
    tcet_plan_free(&p);
    tcet_plan_free(&q);
    H5Fclose(f);
}

static void golden_cases(void **state)
{
    const char *paths[64];
    int n = test_golden_cases(paths, 64);
    assert_true(n >= 7);
    for (int i = 0; i < n; i++) check_case(paths[i]);
}

/* The residual (budget) network: §2 order with projections after their block's
 * inner convs, and the held-out bottleneck_reslink numbers quoted in §9.3. */
static void reslink_plan(void **state)
{
    const char *s = "SuperConvK3BNRELU(3,16,1,1)SuperResK1K3K1(16,32,2,8,1)SuperResK1K5K1(32,48,2,16,2)"
                    "SuperConvK1BNRELU(48,64,1,1)";
    tcet_arch a;
    assert_int_equal(tcet_arch_parse(s, &a, NULL), 0);
    tcet_counts c;
    assert_int_equal(tcet_count(&a, 1, 10, 32, &c), 0);
    assert_true(c.params == 40305.0);
    assert_true(c.flops == 3510656.0);
    assert_int_equal(c.layers, 5);
    assert_int_equal(c.true_params, 40970);
    tcet_plan p;
    tcet_plan_opts o = {1, 1, 10, 32};
    assert_int_equal(tcet_plan_build(&a, &o, &p), 0);
    assert_int_equal(p.num_scored, 23);
    assert_int_equal(c.scored_layers, 23);
    int k = 0, begins = 0, ends = 0;
    const tcet_op *convs[32];
    for (int i = 0; i < p.n; i++) {
        begins += p.ops[i].kind == TCET_OP_RES_BEGIN;
        ends += p.ops[i].kind == TCET_OP_RES_END;
        if (p.ops[i].kind == TCET_OP_CONV || p.ops[i].kind == TCET_OP_LINEAR) convs[k++] = &p.ops[i];
    }
    assert_int_equal(begins, 6); /* 2 wrappers per K1KXK1 sub-layer: 2 + 4 */
    assert_int_equal(ends, 6);
    assert_string_equal(convs[1]->name, "module_list.1.module_list.0.module_list.0.netblock");
    assert_string_equal(convs[3]->name, "module_list.1.module_list.0.module_list.6.netblock");
    assert_string_equal(convs[4]->name, "module_list.1.module_list.0.proj.0");
    assert_int_equal(convs[4]->is_proj, 1);
    assert_int_equal(convs[4]->bias, 1);
    assert_int_equal(convs[4]->cin, 16);
    assert_int_equal(convs[4]->cout, 32);
    assert_int_equal(convs[4]->stride, 2);
    assert_int_equal(convs[4]->hin, 32);
    assert_int_equal(convs[4]->hout, 16);
    assert_string_equal(convs[5]->name, "module_list.1.module_list.2.module_list.0.netblock");
    assert_string_equal(convs[22]->name, "fc_linear.netblock");
    /* the op after the projection conv is its BN, named proj.1, then RES_END, RELU */
    int i4 = (int)(convs[4] - p.ops);
    assert_int_equal(p.ops[i4 + 1].kind, TCET_OP_BN);
    assert_string_equal(p.ops[i4 + 1].name, "module_list.1.module_list.0.proj.1");
    assert_int_equal(p.ops[i4 + 2].kind, TCET_OP_RES_END);
    assert_int_equal(p.ops[i4 + 2].res_has_proj, 1);
    assert_int_equal(p.ops[i4 + 3].kind, TCET_OP_RELU);
    /* block B of the same sub-layer: identity shortcut, no projection */
    int ib = (int)(convs[7] - p.ops) + 2; /* conv, bn -> RES_END */
    assert_int_equal(p.ops[ib].kind, TCET_OP_RES_END);
    assert_int_equal(p.ops[ib].res_has_proj, 0);
    tcet_plan_free(&p);
}

/* §2 example: IDW with reslink has a projection in block B when btl != out. */
static void idw_reslink_order(void **state)
{
    tcet_arch a;
    assert_int_equal(tcet_arch_parse("SuperResIDWE2K3(32,48,2,40,1)", &a, NULL), 0);
    tcet_plan p;
    tcet_plan_opts o = {1, 1, 10, 32};
    assert_int_equal(tcet_plan_build(&a, &o, &p), 0);
    /* conv(32→80,k1), dw(80,k3,s2), conv(80→40,k1), proj(32→40,s2), conv(40→96), dw(96), conv(96→48), proj(40→48,s1), Linear */
    static const int want[9][5] = {{32, 80, 1, 1, 1}, {80, 80, 3, 2, 80}, {80, 40, 1, 1, 1}, {32, 40, 1, 2, 1},
                                   {40, 96, 1, 1, 1}, {96, 96, 3, 1, 96}, {96, 48, 1, 1, 1}, {40, 48, 1, 1, 1},
                                   {48, 10, 1, 1, 1}};
    int k = 0;
    for (int i = 0; i < p.n; i++) {
        const tcet_op *op = &p.ops[i];
        if (op->kind != TCET_OP_CONV && op->kind != TCET_OP_LINEAR) continue;
        assert_true(k < 9);
        assert_int_equal(op->cin, want[k][0]);
        assert_int_equal(op->cout, want[k][1]);
        assert_int_equal(op->k, want[k][2]);
        assert_int_equal(op->stride, want[k][3]);
        assert_int_equal(op->groups, want[k][4]);
        assert_int_equal(op->is_proj, k == 3 || k == 7);
        k++;
    }
    assert_int_equal(k, 9);
    tcet_plan_free(&p);
}

/* True PyTorch output sizes at odd resolutions: (h + 2p - k) / s + 1. */
static void odd_resolution(void **state)
{
    tcet_arch a;
    assert_int_equal(tcet_arch_parse("SuperConvK7BNRELU(3,8,2,1)SuperResK5K5(8,8,2,8,1)", &a, NULL), 0);
    tcet_plan p;
    tcet_plan_opts o = {0, 1, 10, 7};
    assert_int_equal(tcet_plan_build(&a, &o, &p), 0);
    assert_int_equal(p.ops[0].hin, 7);
    assert_int_equal(p.ops[0].hout, 4); /* (7 + 6 - 7) / 2 + 1 */
    assert_int_equal(p.ops[0].pad, 3);
    int k = 0;
    for (int i = 0; i < p.n; i++)
        if (p.ops[i].kind == TCET_OP_CONV && k++ == 1) assert_int_equal(p.ops[i].hout, 2); /* (4+4-5)/2+1 */
    tcet_plan_free(&p);
    /* too small: a 7x7 conv on a 1x1 input with pad 3 is fine, but channels must chain */
    assert_int_equal(tcet_arch_parse("SuperConvK3BNRELU(3,8,1,1)SuperConvK3BNRELU(16,8,1,1)", &a, NULL), 0);
    assert_int_equal(tcet_plan_build(&a, &o, &p), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(golden_cases),
        cmocka_unit_test(reslink_plan),
        cmocka_unit_test(idw_reslink_order),
        cmocka_unit_test(odd_resolution),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
