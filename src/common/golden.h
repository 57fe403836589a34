/* Reader for the golden reference files (tests/data/golden/README.md, layout 1).
 *
 * tcet_golden_open reads the root attributes, /input, /labels, /params/...
 * (state_dict order) and every /aux tensor present; /expected/... datasets are
 * read on demand with tcet_golden_read_*.  Errors are TCET_ERR_DATA with the
 * file and the dataset named. */
#ifndef TCET_GOLDEN_H
#define TCET_GOLDEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/arch.h"

typedef struct {
    char name[160];        /* e.g. "0003_module_list.0.module_list.1.netblock.running_mean" */
    int ndim;
    size_t dims[4];
    size_t count;
    float *data;           /* float datasets */
    int32_t *idata;        /* integer datasets (labels) */
} tcet_golden_tensor;

typedef struct {
    char path[512];
    char case_name[64];
    char structure[TCET_MAX_STRUCT];
    char edit[32];
    tcet_arch arch;
    int resolution, num_classes, batch_size, no_reslink;
    float *input;          /* [N,3,R,R] */
    int32_t *labels;       /* [N] */
    int nparams;
    tcet_golden_tensor *params;       /* /params/..., state_dict order */
    int ngauss;
    tcet_golden_tensor *gauss;        /* /aux/gaussian_params/... (may be 0) */
    tcet_golden_tensor rand_input1, rand_input2, tenas_input; /* count 0 when absent */
    tcet_golden_tensor gradnorm_labels;                       /* idata */
    int64_t file;          /* hid_t, kept open for tcet_golden_read_* */
} tcet_golden;

int tcet_golden_open(const char *path, tcet_golden **out);
void tcet_golden_close(tcet_golden *g);
/* 1 when the dataset exists. */
int tcet_golden_has(const tcet_golden *g, const char *dset);
/* Element count of a dataset (TCET_ERR_DATA when missing). */
int tcet_golden_count(const tcet_golden *g, const char *dset, size_t *count);
/* Read a numeric dataset converted to double / int64; `count` must equal
 * its element count (TCET_ERR_DATA otherwise). */
int tcet_golden_read_f64(const tcet_golden *g, const char *dset, double *buf, size_t count);
int tcet_golden_read_i64(const tcet_golden *g, const char *dset, int64_t *buf, size_t count);
/* Element `index` of a fixed-length string dataset (e.g. /layers/name). */
int tcet_golden_read_string(const tcet_golden *g, const char *dset, size_t index, char *buf, size_t cap);
/* Pointer arrays for tcet_net_load_params over params (or gauss); caller frees both. */
void tcet_golden_param_arrays(const tcet_golden_tensor *t, int n, const float ***arrays, size_t **counts);

#endif
