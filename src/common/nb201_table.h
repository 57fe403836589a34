/* NASLib's NAS-Bench-201 zero-cost table (JSON): per split ("cifar10",
 * "cifar100", "ImageNet16-120") an object keyed by the six-index tuple,
 * each entry holding "val_accuracy" and, per NASLib proxy, {"score": ..,
 * "time": ..} (docs/validation.md). */
#ifndef TCET_NB201_TABLE_H
#define TCET_NB201_TABLE_H

#include "arch.h"

#define TCET_NB201_TABLE_MAXPROXY 24

typedef struct {
    tcet_arch arch;            /* parsed from the key */
    char key[40];              /* the key as written, e.g. "(0, 2, 3, 2, 3, 1)" */
    double val_accuracy;
    double score[TCET_NB201_TABLE_MAXPROXY]; /* per table proxy; NaN where absent */
} tcet_nb201_row;

typedef struct {
    int n;
    tcet_nb201_row *rows;      /* in file order */
    int nproxy;
    char proxy[TCET_NB201_TABLE_MAXPROXY][24]; /* NASLib proxy names seen, first-seen order */
} tcet_nb201_table;

/* Load one split.  TCET_ERR_DATA (file, offset and what was expected) for
 * unreadable or malformed files, a missing split, a bad key. */
int tcet_nb201_table_load(const char *path, const char *split, tcet_nb201_table *t);
void tcet_nb201_table_free(tcet_nb201_table *t);
/* Index of a NASLib proxy name in t->proxy, or -1. */
int tcet_nb201_table_proxy(const tcet_nb201_table *t, const char *name);

#endif
