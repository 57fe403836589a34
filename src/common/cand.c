/* The candidate record (cand.h). */
#include "common/cand.h"

#include <stdlib.h>

#include "common/error.h"

static const char *const status_names[TCET_CAND_NSTATUS] = {
    "ok", "nonfinite", "failed", "rejected_layers", "rejected_params", "rejected_flops", "rejected_latency",
    "pending"};

const char *tcet_cand_status_name(int s)
{
    return s >= 0 && s < TCET_CAND_NSTATUS ? status_names[s] : "unknown";
}

void tcet_cand_free(tcet_cand *c)
{
    free(c->structure);
    free(c->reason);
    c->structure = c->reason = NULL;
}

void tcet_cand_copy(tcet_cand *dst, const tcet_cand *src)
{
    *dst = *src;
    dst->structure = xstrdup(src->structure ? src->structure : "");
    dst->reason = xstrdup(src->reason ? src->reason : "");
}

long tcet_cand_best(const tcet_cand *c, size_t n)
{
    long b = -1;
    for (size_t i = 0; i < n; i++)
        if (b < 0 || c[i].score > c[b].score) b = (long)i;
    return b;
}
