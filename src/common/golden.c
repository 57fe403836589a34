/* Reader for the golden reference files (see golden.h and
 * tests/data/golden/README.md).  Every failure is TCET_ERR_DATA and names the
 * file and the dataset. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "common/check.h"
#include "common/error.h"
#include "common/golden.h"

#define GFAIL(g, ...) golden_fail((g)->path, __FILE__, __LINE__, __VA_ARGS__)

static int golden_fail(const char *path, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int golden_fail(const char *path, const char *file, int line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tcet_fail(TCET_ERR_DATA, file, line, "%s: %s", path, msg);
}

static hid_t fid(const tcet_golden *g) { return (hid_t)g->file; }

static int read_attr_i64(tcet_golden *g, const char *name, long long *out)
{
    if (H5Aexists(fid(g), name) <= 0)
        return GFAIL(g, "root attribute '%s' missing: not a tcet golden file?", name);
    hid_t a = H5Aopen(fid(g), name, H5P_DEFAULT);
    if (a < 0) return GFAIL(g, "cannot open attribute '%s'", name);
    int64_t v = 0;
    herr_t e = H5Aread(a, H5T_NATIVE_INT64, &v);
    H5Aclose(a);
    if (e < 0) return GFAIL(g, "attribute '%s' is not an integer", name);
    *out = (long long)v;
    return 0;
}

static int read_attr_str(tcet_golden *g, const char *name, char *buf, size_t cap, int required)
{
    buf[0] = '\0';
    if (H5Aexists(fid(g), name) <= 0) {
        if (!required) return 0;
        return GFAIL(g, "root attribute '%s' missing: not a tcet golden file?", name);
    }
    int rc = 0;
    hid_t a = H5Aopen(fid(g), name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    if (a < 0 || t < 0 || H5Tget_class(t) != H5T_STRING) {
        rc = GFAIL(g, "attribute '%s' is not a string", name);
        goto done;
    }
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        if (H5Aread(a, mt, &s) < 0 || !s) rc = GFAIL(g, "cannot read attribute '%s'", name);
        else {
            snprintf(buf, cap, "%s", s);
            H5free_memory(s);
        }
        H5Tclose(mt);
    } else {
        size_t sz = H5Tget_size(t);
        char *tmp = xcalloc(sz + 1, 1);
        if (H5Aread(a, t, tmp) < 0) rc = GFAIL(g, "cannot read attribute '%s'", name);
        else {
            if (sz + 1 > cap) {
                free(tmp);
                rc = GFAIL(g, "attribute '%s' longer than %zu bytes", name, cap - 1);
                goto done;
            }
            snprintf(buf, cap, "%s", tmp);
        }
        free(tmp);
    }
done:
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return rc;
}

int tcet_golden_has(const tcet_golden *g, const char *dset)
{
    /* check every path component: H5Lexists fails on a missing parent */
    char path[256];
    snprintf(path, sizeof path, "%s", dset);
    for (char *p = path + 1; ; p++) {
        char c = *p;
        if (c == '/' || c == '\0') {
            *p = '\0';
            if (H5Lexists(fid(g), path, H5P_DEFAULT) <= 0) return 0;
            *p = c;
            if (c == '\0') break;
        }
    }
    return 1;
}

/* Open a dataset and get its shape; TCET_ERR_DATA if missing. */
static int open_dset(const tcet_golden *g, const char *dset, hid_t *d, int *ndim, hsize_t dims[8],
                     size_t *count)
{
    if (!tcet_golden_has(g, dset))
        return GFAIL(g, "dataset %s missing: not a tcet golden file?", dset);
    *d = H5Dopen2(fid(g), dset, H5P_DEFAULT);
    if (*d < 0) return GFAIL(g, "cannot open dataset %s", dset);
    hid_t s = H5Dget_space(*d);
    int nd = s >= 0 ? H5Sget_simple_extent_ndims(s) : -1;
    if (nd < 0 || nd > 8) {
        if (s >= 0) H5Sclose(s);
        H5Dclose(*d);
        return GFAIL(g, "dataset %s: bad dataspace", dset);
    }
    H5Sget_simple_extent_dims(s, dims, NULL);
    H5Sclose(s);
    size_t c = 1;
    for (int i = 0; i < nd; i++) c *= (size_t)dims[i];
    *ndim = nd;
    *count = c;
    return 0;
}

int tcet_golden_count(const tcet_golden *g, const char *dset, size_t *count)
{
    hid_t d = H5I_INVALID_HID;
    int nd = 0;
    hsize_t dims[8];
    TCET_TRY(open_dset(g, dset, &d, &nd, dims, count));
    H5Dclose(d);
    return 0;
}

static int read_typed(const tcet_golden *g, const char *dset, hid_t mtype, void *buf, size_t count,
                      const size_t *want_dims, int want_nd)
{
    hid_t d = H5I_INVALID_HID;
    int nd = 0;
    hsize_t dims[8];
    size_t have;
    TCET_TRY(open_dset(g, dset, &d, &nd, dims, &have));
    int bad = have != count;
    if (!bad && want_dims) {
        bad = nd != want_nd;
        for (int i = 0; !bad && i < nd; i++) bad = dims[i] != want_dims[i];
    }
    if (bad) {
        H5Dclose(d);
        char shape[128] = "";
        size_t o = 0;
        for (int i = 0; i < nd && o < sizeof shape; i++)
            o += (size_t)snprintf(shape + o, sizeof shape - o, "%s%llu", i ? "," : "",
                                  (unsigned long long)dims[i]);
        return GFAIL(g, "dataset %s has shape [%s] (%zu values), expected %zu values", dset, shape,
                     have, count);
    }
    herr_t e = H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    H5Dclose(d);
    if (e < 0) return GFAIL(g, "cannot read dataset %s as a number array", dset);
    return 0;
}

int tcet_golden_read_f64(const tcet_golden *g, const char *dset, double *buf, size_t count)
{
    return read_typed(g, dset, H5T_NATIVE_DOUBLE, buf, count, NULL, 0);
}

int tcet_golden_read_i64(const tcet_golden *g, const char *dset, int64_t *buf, size_t count)
{
    return read_typed(g, dset, H5T_NATIVE_INT64, buf, count, NULL, 0);
}

int tcet_golden_read_string(const tcet_golden *g, const char *dset, size_t index, char *buf, size_t cap)
{
    hid_t d = H5I_INVALID_HID;
    int nd = 0;
    hsize_t dims[8];
    size_t count;
    buf[0] = '\0';
    TCET_TRY(open_dset(g, dset, &d, &nd, dims, &count));
    int rc = 0;
    hid_t t = H5Dget_type(d);
    if (t < 0 || H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) > 0) {
        rc = GFAIL(g, "dataset %s is not a fixed-length string array", dset);
    } else if (index >= count) {
        rc = GFAIL(g, "dataset %s has %zu strings, index %zu requested", dset, count, index);
    } else {
        size_t sz = H5Tget_size(t);
        char *all = xcalloc(count * sz + 1, 1);
        if (H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, all) < 0) {
            rc = GFAIL(g, "cannot read dataset %s", dset);
        } else {
            size_t len = strnlen(all + index * sz, sz);
            if (len + 1 > cap) len = cap - 1;
            memcpy(buf, all + index * sz, len);
            buf[len] = '\0';
        }
        free(all);
    }
    if (t >= 0) H5Tclose(t);
    H5Dclose(d);
    return rc;
}

/* Read a whole float dataset into a tensor (shape kept). */
static int read_tensor(const tcet_golden *g, const char *dset, const char *name, int integer,
                       tcet_golden_tensor *t)
{
    hid_t d = H5I_INVALID_HID;
    int nd = 0;
    hsize_t dims[8];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    TCET_TRY(open_dset(g, dset, &d, &nd, dims, &t->count));
    t->ndim = nd > 4 ? 4 : nd;
    for (int i = 0; i < t->ndim; i++) t->dims[i] = (size_t)dims[i];
    herr_t e;
    if (integer) {
        t->idata = xmalloc((t->count ? t->count : 1) * sizeof(int32_t));
        e = H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->idata);
    } else {
        t->data = xmalloc((t->count ? t->count : 1) * sizeof(float));
        e = H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data);
    }
    H5Dclose(d);
    if (e < 0) return GFAIL(g, "cannot read dataset %s", dset);
    return 0;
}

typedef struct {
    int n, cap;
    char (*names)[160];
} name_list;

static herr_t collect_name(hid_t loc, const char *name, const H5L_info_t *info, void *op)
{
    name_list *l = op;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->names = xrealloc(l->names, (size_t)l->cap * sizeof *l->names);
    }
    snprintf(l->names[l->n++], sizeof l->names[0], "%s", name);
    return 0;
}

/* Read every dataset of a group in name (= index) order. */
static int read_group(tcet_golden *g, const char *group, tcet_golden_tensor **out, int *n)
{
    *out = NULL;
    *n = 0;
    if (!tcet_golden_has(g, group))
        return GFAIL(g, "group %s missing: not a tcet golden file?", group);
    hid_t grp = H5Gopen2(fid(g), group, H5P_DEFAULT);
    if (grp < 0) return GFAIL(g, "cannot open group %s", group);
    name_list l = {0, 0, NULL};
    hsize_t idx = 0;
    herr_t e = H5Literate(grp, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, &l);
    H5Gclose(grp);
    if (e < 0) {
        free(l.names);
        return GFAIL(g, "cannot list group %s", group);
    }
    tcet_golden_tensor *t = xcalloc((size_t)(l.n ? l.n : 1), sizeof *t);
    int rc = 0;
    for (int i = 0; i < l.n && rc == 0; i++) {
        char path[400];
        snprintf(path, sizeof path, "%s/%s", group, l.names[i]);
        rc = read_tensor(g, path, l.names[i], 0, &t[i]);
    }
    *out = t;
    *n = l.n;
    free(l.names);
    return rc;
}

static void free_tensor(tcet_golden_tensor *t)
{
    free(t->data);
    free(t->idata);
    t->data = NULL;
    t->idata = NULL;
}

void tcet_golden_close(tcet_golden *g)
{
    if (!g) return;
    for (int i = 0; i < g->nparams; i++) free_tensor(&g->params[i]);
    for (int i = 0; i < g->ngauss; i++) free_tensor(&g->gauss[i]);
    free(g->params);
    free(g->gauss);
    free_tensor(&g->rand_input1);
    free_tensor(&g->rand_input2);
    free_tensor(&g->tenas_input);
    free_tensor(&g->gradnorm_labels);
    free(g->input);
    free(g->labels);
    if (g->file > 0) H5Fclose(fid(g));
    free(g);
}

static int open_body(tcet_golden *g)
{
    long long v;
    TCET_TRY(read_attr_str(g, "structure", g->structure, sizeof g->structure, 1));
    TCET_TRY(read_attr_str(g, "case", g->case_name, sizeof g->case_name, 0));
    TCET_TRY(read_attr_str(g, "edit", g->edit, sizeof g->edit, 0));
    TCET_TRY(read_attr_i64(g, "resolution", &v));
    g->resolution = (int)v;
    TCET_TRY(read_attr_i64(g, "num_classes", &v));
    g->num_classes = (int)v;
    TCET_TRY(read_attr_i64(g, "batch_size", &v));
    g->batch_size = (int)v;
    TCET_TRY(read_attr_i64(g, "no_reslink", &v));
    g->no_reslink = (int)v;
    if (g->resolution < 1 || g->resolution > 4096 || g->num_classes < 1 || g->batch_size < 1)
        return GFAIL(g, "implausible attributes (resolution %d, classes %d, batch %d)",
                     g->resolution, g->num_classes, g->batch_size);
    tcet_parse_error pe;
    if (tcet_arch_parse(g->structure, &g->arch, &pe) != 0)
        return GFAIL(g, "structure attribute does not parse (column %d: %s)", pe.column, pe.msg);

    size_t n = (size_t)g->batch_size, r = (size_t)g->resolution;
    size_t in_dims[4] = {n, 3, r, r};
    g->input = xmalloc(n * 3 * r * r * sizeof(float));
    TCET_TRY(read_typed(g, "/input", H5T_NATIVE_FLOAT, g->input, n * 3 * r * r, in_dims, 4));
    g->labels = xmalloc(n * sizeof(int32_t));
    size_t lab_dims[1] = {n};
    TCET_TRY(read_typed(g, "/labels", H5T_NATIVE_INT32, g->labels, n, lab_dims, 1));
    for (size_t i = 0; i < n; i++)
        if (g->labels[i] < 0 || g->labels[i] >= g->num_classes)
            return GFAIL(g, "/labels[%zu] = %d outside [0, %d)", i, g->labels[i], g->num_classes);
    TCET_TRY(read_group(g, "/params", &g->params, &g->nparams));
    if (tcet_golden_has(g, "/aux/gaussian_params"))
        TCET_TRY(read_group(g, "/aux/gaussian_params", &g->gauss, &g->ngauss));
    if (tcet_golden_has(g, "/aux/rand_input1"))
        TCET_TRY(read_tensor(g, "/aux/rand_input1", "rand_input1", 0, &g->rand_input1));
    if (tcet_golden_has(g, "/aux/rand_input2"))
        TCET_TRY(read_tensor(g, "/aux/rand_input2", "rand_input2", 0, &g->rand_input2));
    if (tcet_golden_has(g, "/aux/tenas_input"))
        TCET_TRY(read_tensor(g, "/aux/tenas_input", "tenas_input", 0, &g->tenas_input));
    if (tcet_golden_has(g, "/aux/gradnorm_labels"))
        TCET_TRY(read_tensor(g, "/aux/gradnorm_labels", "gradnorm_labels", 1, &g->gradnorm_labels));
    return 0;
}

int tcet_golden_open(const char *path, tcet_golden **out)
{
    *out = NULL;
    if (access(path, R_OK) != 0)
        return TCET_FAIL(TCET_ERR_DATA, "%s: cannot read the golden file (does it exist?)", path);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported by tcet, not the HDF5 stack */
    if (H5Fis_hdf5(path) <= 0)
        return TCET_FAIL(TCET_ERR_DATA, "%s: not an HDF5 file", path);
    tcet_golden *g = xcalloc(1, sizeof *g);
    snprintf(g->path, sizeof g->path, "%s", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        free(g);
        return TCET_FAIL(TCET_ERR_DATA, "%s: cannot open the HDF5 file", path);
    }
    g->file = (int64_t)f;
    int rc = open_body(g);
    if (rc) {
        tcet_golden_close(g);
        return rc;
    }
    *out = g;
    return 0;
}

void tcet_golden_param_arrays(const tcet_golden_tensor *t, int n, const float ***arrays, size_t **counts)
{
    *arrays = xmalloc((size_t)(n ? n : 1) * sizeof **arrays);
    *counts = xmalloc((size_t)(n ? n : 1) * sizeof **counts);
    for (int i = 0; i < n; i++) {
        (*arrays)[i] = t[i].data;
        (*counts)[i] = t[i].count;
    }
}
