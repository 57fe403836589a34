/* Scaffolding shared by the golden-file tests; see golden_support.h. */
#include "golden_support.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "worker/proxies.h" /* tcet_scorer_set_golden */

tcet_golden *golden_open_case(const char *path)
{
    tcet_golden *g = NULL;
    int rc = tcet_golden_open(path, &g);
    if (rc) fprintf(stderr, "%s\n", tcet_error_message());
    assert_int_equal(rc, 0);
    return g;
}

double golden_read_scalar(const tcet_golden *g, const char *dset)
{
    double v;
    assert_int_equal(tcet_golden_read_f64(g, dset, &v, 1), 0);
    return v;
}

double *golden_read_array(const tcet_golden *g, const char *dset, size_t count)
{
    double *v = xmalloc(count * sizeof *v);
    assert_int_equal(tcet_golden_read_f64(g, dset, v, count), 0);
    return v;
}

int golden_is_flip_case(const tcet_golden *g) { return strcmp(g->case_name, "adv_synflow_const") == 0; }

int golden_official_raised(const tcet_golden *g, const char *dset)
{
    hid_t d = H5Dopen2((hid_t)g->file, dset, H5P_DEFAULT);
    assert_true(d >= 0);
    int raised = 0;
    if (H5Aexists(d, "error") > 0) {
        hid_t a = H5Aopen(d, "error", H5P_DEFAULT);
        hid_t t = H5Aget_type(a);
        char buf[1024] = {0};
        if (H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0) {
            char *s = NULL;
            hid_t mt = H5Tcopy(H5T_C_S1);
            assert_true(H5Tset_size(mt, H5T_VARIABLE) >= 0);
            assert_true(H5Aread(a, mt, &s) >= 0);
            snprintf(buf, sizeof buf, "%s", s ? s : "");
            H5free_memory(s);
            H5Tclose(mt);
        } else if (H5Tget_class(t) == H5T_STRING && H5Tget_size(t) < sizeof buf) {
            /* read with the file type: a NULLTERM memory type of the same
             * size would drop the last character of a NULLPAD "none" */
            assert_true(H5Aread(a, t, buf) >= 0);
        }
        raised = strncmp(buf, "none", 4) != 0;
        H5Tclose(t);
        H5Aclose(a);
    }
    H5Dclose(d);
    return raised;
}

void golden_net_build(tcet_net *net, tcet_backend *be, const tcet_golden *g, int batch)
{
    memset(net, 0, sizeof *net);
    /* the file's network: with its residual shortcuts iff no_reslink = 0 */
    assert_int_equal(tcet_net_build_arch_res(net, be, &g->arch, 1, !g->no_reslink, g->num_classes,
                                             g->resolution, TCET_F32, batch), 0);
    const float **arrays;
    size_t *counts;
    tcet_golden_param_arrays(g->params, g->nparams, &arrays, &counts);
    assert_int_equal(tcet_net_load_params(net, g->nparams, arrays, counts), 0);
    free(arrays);
    free(counts);
}

void golden_score(tcet_backend *be, const tcet_golden *g, int proxy, tcet_score_result *res,
                  tcet_scorer **sc)
{
    golden_score_dtype(be, g, proxy, TCET_F32, res, sc);
}

void golden_score_dtype(tcet_backend *be, const tcet_golden *g, int proxy, int dtype, tcet_score_result *res,
                        tcet_scorer **sc)
{
    tcet_score_config cfg = {.proxy = proxy, .mode = TCET_MODE_LOG, .batch_size = g->batch_size,
                             .resolution = g->resolution, .num_classes = g->num_classes,
                             .gamma = 1e-2, .seed = 1, .zico_batches = 2,
                             .reslink = !g->no_reslink, .dtype = dtype};
    assert_int_equal(tcet_scorer_create(&cfg, be, sc), 0);
    tcet_scorer_set_golden(*sc, g);
    tcet_scorer_score(*sc, 0, &g->arch, res);
    if (res->r.status != TCET_CAND_OK)
        fprintf(stderr, "%s %s: %s\n", g->case_name, tcet_proxy_name(proxy), res->r.reason);
}

void golden_score_once(tcet_backend *be, const tcet_golden *g, int proxy, tcet_score_result *res)
{
    tcet_scorer *sc;
    golden_score(be, g, proxy, res, &sc);
    res->layers = NULL; /* owned by the scorer, gone with it */
    tcet_scorer_destroy(sc);
}

long golden_gram_mismatches(tcet_backend *be, const tcet_golden *g, int *layers_bad, size_t *entries)
{
    tcet_net net;
    golden_net_build(&net, be, g, g->batch_size);
    assert_int_equal(tcet_net_set_input(&net, g->input), 0);
    assert_int_equal(tcet_net_forward(&net, 0, 0), 0);
    int n = g->batch_size, L = net.nscored;
    size_t cnt;
    assert_int_equal(tcet_golden_count(g, "/expected/naswot/gram", &cnt), 0);
    assert_int_equal(cnt, (size_t)L * n * n);
    int64_t *gram = xmalloc(cnt * sizeof *gram);
    assert_int_equal(tcet_golden_read_i64(g, "/expected/naswot/gram", gram, cnt), 0);
    double *K = xmalloc((size_t)n * n * sizeof *K);
    int64_t *pos = xmalloc((size_t)n * sizeof *pos);
    long bad = 0;
    *layers_bad = 0;
    for (int l = 0; l < L; l++) {
        tcet_net_op *o = tcet_net_layer(&net, l);
        assert_int_equal(be->gram_codes(be, n, o->out_count / n, o->y, K, pos), 0);
        long lb = 0;
        for (int i = 0; i < n * n; i++) lb += K[i] != (double)gram[(size_t)l * n * n + i];
        if (lb) {
            fprintf(stderr, "%s layer %d: %ld Gram entries differ\n", g->case_name, l, lb);
            (*layers_bad)++;
        }
        bad += lb;
    }
    *entries = cnt;
    free(gram);
    free(K);
    free(pos);
    tcet_net_free(&net);
    return bad;
}

void golden_check_foresight_totals(tcet_backend *be, const tcet_golden *g)
{
    tcet_scorer *sc;
    tcet_score_result res;
    golden_score(be, g, TCET_PROXY_SYNFLOW, &res, &sc);
    assert_int_equal(res.r.status, TCET_CAND_OK);
    assert_rel_close(res.r.raw, golden_read_scalar(g, "/expected/synflow_total_foresight"), 1e-9);
    tcet_scorer_destroy(sc);

    golden_score(be, g, TCET_PROXY_SNIP, &res, &sc);
    assert_int_equal(res.r.status, TCET_CAND_OK);
    size_t L;
    assert_int_equal(tcet_golden_count(g, "/expected/snip/sum", &L), 0);
    double *sum = golden_read_array(g, "/expected/snip/sum", L), total = 0;
    for (size_t l = 0; l < L; l++) total += sum[l];
    if (total == 0.0) assert_true(res.r.raw == 0.0);
    else assert_rel_close(res.r.raw, total, 1e-4);
    free(sum);
    tcet_scorer_destroy(sc);
}
