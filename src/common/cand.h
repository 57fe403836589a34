/* A candidate: its status, the result of scoring it, and the record the
 * population, the history and the checkpoint keep of it.
 *
 * One result type travels the whole way (docs/architecture.md): the scorer
 * fills it (worker/scorer.h), the worker's latency filter may set it instead
 * (worker/task.h), the RESULT message carries it (common/msg.h) and the
 * master commits it into a tcet_cand (master/search.c). */
#ifndef TCET_CAND_H
#define TCET_CAND_H

#include <stddef.h>
#include <stdint.h>

/* Candidate status: one enum for the scorer, the worker, the messages and
 * the checkpoint (its values are stored there: never renumber them). */
typedef enum {
    TCET_CAND_OK = 0,
    TCET_CAND_NONFINITE = 1,   /* score -9999, raw score kept */
    TCET_CAND_FAILED = 2,      /* score -9999, reason kept */
    TCET_CAND_REJ_LAYERS = 3,  /* budget filters: not scored */
    TCET_CAND_REJ_PARAMS = 4,
    TCET_CAND_REJ_FLOPS = 5,
    TCET_CAND_REJ_LATENCY = 6,
    TCET_CAND_PENDING = 7,     /* generated, result not committed yet */
    TCET_CAND_NSTATUS
} tcet_cand_status;
const char *tcet_cand_status_name(int status);
static inline int tcet_cand_is_rejected(int s) { return s >= TCET_CAND_REJ_LAYERS && s <= TCET_CAND_REJ_LATENCY; }

/* The score of a failed or non-finite candidate. */
#define TCET_FAIL_SCORE (-9999.0)
/* Longest reason a result carries, NUL included. */
#define TCET_REASON_LEN 160

/* What scoring one candidate produced. */
typedef struct {
    double score;          /* what the population sees: raw, or -9999 on failure */
    double raw;            /* as computed (may be NaN or ±inf) */
    double seconds;        /* wall time of this candidate */
    double latency;        /* seconds/image of the budget network, +inf when not measured */
    int32_t status;        /* tcet_cand_status */
    char reason[TCET_REASON_LEN]; /* why it failed / was non-finite ("" when OK) */
} tcet_cand_result;

typedef struct {
    int64_t id;          /* = the iteration that generated it */
    int64_t parent;      /* id of the parent, -1 = the initial structure */
    int64_t birth;       /* number of committed iterations of the population it was generated from */
    char *structure;     /* canonical string (owned) */
    double score;        /* what the population sees (-9999 on failure) */
    double raw_score;    /* as computed (may be NaN/inf) */
    double params, flops;/* reference counters of the budget (reslink) network */
    double latency;      /* seconds/image, +inf when not measured */
    double seconds;      /* scoring wall time */
    int32_t layers;      /* Σ sub_layers */
    int32_t status;      /* tcet_cand_status */
    char *reason;        /* owned, "" when none */
} tcet_cand;

void tcet_cand_free(tcet_cand *c);
void tcet_cand_copy(tcet_cand *dst, const tcet_cand *src); /* deep copy */
/* The best of c[0..n): the first member with the highest score (ties go to
 * the earliest, as the reference's population order); -1 when n == 0. */
long tcet_cand_best(const tcet_cand *c, size_t n);

#endif
