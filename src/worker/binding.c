/* GPU binding of the worker ranks (binding.h). */
#include "worker/binding.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "common/error.h"

int tcet_bind_plan(int nranks, const tcet_bind_in *in, int want_gpu, int allow_sharing, tcet_bind_out *out,
                   char *err, size_t cap)
{
    if (cap) err[0] = 0;
    int first = nranks > 1 ? 1 : 0; /* rank 0 scores only when it is alone */
    for (int r = 0; r < nranks; r++) out[r] = (tcet_bind_out){.worker = r >= first, .local_index = -1, .device = -1};
    /* node-local worker indices, in rank order */
    for (int r = first; r < nranks; r++) {
        int k = 0;
        for (int q = first; q < r; q++) k += !strcmp(in[q].node, in[r].node);
        out[r].local_index = k;
    }
    if (!want_gpu) return 0;
    /* each worker takes the first free GPU of its list, starting at its index */
    for (int r = first; r < nranks; r++) {
        int n = in[r].ngpus;
        if (n <= 0) continue;
        int chosen = -1;
        for (int j = 0; j < n && chosen < 0; j++) {
            int d = (out[r].local_index + j) % n;
            int taken = 0;
            for (int q = first; q < r && !taken; q++)
                taken = out[q].device >= 0 && !strcmp(in[q].node, in[r].node) &&
                        !strcmp(in[q].gpu[out[q].device], in[r].gpu[d]);
            if (!taken) chosen = d;
        }
        if (chosen >= 0) {
            out[r].device = chosen;
            continue;
        }
        /* every GPU it sees is taken: sharing */
        int d = out[r].local_index % n, other = -1;
        for (int q = first; q < r && other < 0; q++)
            if (out[q].device >= 0 && !strcmp(in[q].node, in[r].node) &&
                !strcmp(in[q].gpu[out[q].device], in[r].gpu[d]))
                other = q;
        if (!allow_sharing)
            return TCET_FAIL(TCET_ERR_BACKEND,
                             "worker ranks %d and %d on node %s would share GPU %s (%d GPU%s visible to rank %d): "
                             "start one worker rank per GPU and use --lanes K to score K candidates at once on "
                             "each (docs/jobs.md), or set TCET_ALLOW_GPU_SHARING=1 to share it",
                             other, r, in[r].node, in[r].gpu[d], n, n == 1 ? "" : "s", r);
        out[r].device = d;
    }
    /* a worker without a GPU while a GPU of the job is idle */
    for (int r = first; r < nranks; r++) {
        if (out[r].device >= 0) continue;
        for (int q = 0; q < nranks; q++)
            for (int g = 0; g < in[q].ngpus; g++) {
                int used = 0;
                for (int u = first; u < nranks && !used; u++)
                    used = out[u].device >= 0 && !strcmp(in[u].node, in[q].node) &&
                           !strcmp(in[u].gpu[out[u].device], in[q].gpu[g]);
                if (!used)
                    return TCET_FAIL(TCET_ERR_BACKEND,
                                     "worker rank %d on node %s has no GPU while GPU %s of node %s is idle: "
                                     "place one worker rank per GPU (docs/jobs.md, \"Layouts\"), or pass "
                                     "--backend cpu to score on CPUs only",
                                     r, in[r].node, in[q].gpu[g], in[q].node);
            }
    }
    if (cap) snprintf(err, cap, "%s", "");
    return 0;
}

/* ---- gathering ---------------------------------------------------------- */

/* Entry `index` of a comma-separated list (NULL if absent). */
static int list_entry(const char *list, int index, char *out, size_t cap)
{
    const char *p = list;
    for (int i = 0; i < index && p; i++) {
        p = strchr(p, ',');
        if (p) p++;
    }
    if (!p || !*p) return -1;
    size_t n = strcspn(p, ",");
    if (n == 0 || n >= cap) return -1;
    memcpy(out, p, n);
    out[n] = 0;
    return 0;
}

/* TCET_TEST_GPUS="a=G0+G1;b=G2": the GPUs of node `node` */
static int fake_gpus(const char *spec, const char *node, tcet_bind_in *in)
{
    size_t nl = strlen(node);
    for (const char *p = spec; p && *p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL) {
        if (strncmp(p, node, nl) || p[nl] != '=') continue;
        const char *q = p + nl + 1;
        while (*q && *q != ';' && in->ngpus < TCET_BIND_MAX_GPUS) {
            size_t n = strcspn(q, "+;");
            if (n == 0 || n >= TCET_GPU_UUID_LEN) return TCET_FAIL(TCET_ERR_USAGE, "TCET_TEST_GPUS: bad entry");
            memcpy(in->gpu[in->ngpus], q, n);
            in->gpu[in->ngpus++][n] = 0;
            q += n;
            if (*q == '+') q++;
        }
        return 0;
    }
    return 0; /* a node without GPUs */
}

int tcet_bind_workers(const tcet_mpi *mpi, const char *backend, tcet_bind_out *mine, char **summary)
{
    if (summary) *summary = NULL;
    tcet_bind_in self;
    memset(&self, 0, sizeof self);
    const char *nodes = getenv("TCET_TEST_NODES"), *gpus = getenv("TCET_TEST_GPUS");
    int rc = 0;
    if (nodes) {
        if (list_entry(nodes, mpi->rank, self.node, sizeof self.node))
            rc = TCET_FAIL(TCET_ERR_USAGE, "TCET_TEST_NODES names no node for rank %d", mpi->rank);
    } else {
        int len = 0;
        char name[MPI_MAX_PROCESSOR_NAME];
        CHECK_MPI(MPI_Get_processor_name(name, &len));
        snprintf(self.node, sizeof self.node, "%.255s", name);
    }
    int want_gpu = strcmp(backend, "cpu") != 0;
    if (!rc && want_gpu) {
        if (gpus) rc = fake_gpus(gpus, self.node, &self);
        else self.ngpus = tcet_gpu_uuids(self.gpu, TCET_BIND_MAX_GPUS);
    }
    int worst = 0;
    CHECK_MPI(MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
    if (worst) {
        if (!rc) tcet_fail(worst, __FILE__, __LINE__, "another rank could not describe its node");
        return worst;
    }
    tcet_bind_in *all = mpi->rank == 0 ? xcalloc((size_t)mpi->size, sizeof *all) : NULL;
    CHECK_MPI(MPI_Gather(&self, (int)sizeof self, MPI_BYTE, all, (int)sizeof self, MPI_BYTE, 0, MPI_COMM_WORLD));
    tcet_bind_out *plan = xcalloc((size_t)mpi->size, sizeof *plan);
    char err[1024] = "";
    if (mpi->rank == 0) {
        rc = tcet_bind_plan(mpi->size, all, want_gpu, getenv("TCET_ALLOW_GPU_SHARING") != NULL, plan, err, sizeof err);
        if (rc) snprintf(err, sizeof err, "%s", tcet_error_message());
    }
    CHECK_MPI(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
    CHECK_MPI(MPI_Bcast(err, (int)sizeof err, MPI_CHAR, 0, MPI_COMM_WORLD));
    CHECK_MPI(MPI_Bcast(plan, (int)(sizeof *plan * (size_t)mpi->size), MPI_BYTE, 0, MPI_COMM_WORLD));
    *mine = plan[mpi->rank];
    if (rc) {
        if (mpi->rank != 0) tcet_fail(rc, __FILE__, __LINE__, "%s", err);
    } else if (mpi->rank == 0 && summary) {
        size_t cap = (size_t)mpi->size * 256 + 1, len = 0;
        char *s = xmalloc(cap);
        s[0] = 0;
        for (int r = 0; r < mpi->size; r++) {
            if (!plan[r].worker) continue;
            const tcet_bind_in *x = &all[r];
            if (plan[r].device >= 0)
                len += (size_t)snprintf(s + len, cap - len, "rank %d: node %s, local worker %d, GPU %d (%s)%s\n", r,
                                        x->node, plan[r].local_index, plan[r].device, x->gpu[plan[r].device],
                                        gpus ? " [simulated by TCET_TEST_GPUS]" : "");
            else
                len += (size_t)snprintf(s + len, cap - len, "rank %d: node %s, local worker %d, no GPU\n", r, x->node,
                                        plan[r].local_index);
        }
        *summary = s;
    }
    free(plan);
    free(all);
    return rc;
}
