/* Training data for the proxies (docs/semantics.md#data, docs/semantics.md#default-data).
 *
 * A dataset hands out batches keyed by (run seed, candidate id): which
 * images form the batch and how each is augmented depend on nothing else, so
 * a candidate's batch does not depend on the worker that scores it. */
#ifndef TCET_DATA_H
#define TCET_DATA_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    TCET_DATA_SYNTHETIC = 0, /* N(0,1) images, uniform labels (the default) */
    TCET_DATA_CIFAR10,       /* data_batch_{1..5}.bin */
    TCET_DATA_CIFAR100,      /* train.bin, fine labels */
    TCET_DATA_HDF5           /* uint8 HWC images + labels, ImageNet-style */
} tcet_data_kind;

typedef struct tcet_dataset tcet_dataset;

/* kind: "synthetic", "cifar10", "cifar100", "hdf5". Checks the files fully
 * (existence, sizes, label range, shapes) before returning; errors are
 * TCET_ERR_DATA with a message naming the file and what to do. */
int tcet_dataset_open(const char *kind, const char *path, int resolution, int num_classes,
                      tcet_dataset **out);
void tcet_dataset_close(tcet_dataset *ds);
/* The kind of the dataset at path, from what is there (--data without
 * --dataset): a directory holding train.bin (or cifar-100-binary/) is
 * "cifar100", one holding data_batch_1.bin (or cifar-10-batches-bin/) is
 * "cifar10"; a file is "hdf5" when it has the HDF5 signature, "cifar100" when
 * named train.bin, "cifar10" when named data_batch_N.bin.  Anything else
 * (missing, both CIFARs, unknown) is TCET_ERR_DATA naming the path and
 * --dataset. */
int tcet_dataset_infer(const char *path, char *kind, size_t cap);
/* The files a dataset of this kind at path reads, for --print-config (no
 * data is read; "" for synthetic). */
void tcet_dataset_files(const char *kind, const char *path, char *out, size_t cap);
/* One line for logs, e.g. "CIFAR-100 train (50000 images) from DIR". */
const char *tcet_dataset_describe(const tcet_dataset *ds);
int tcet_dataset_kind(const tcet_dataset *ds);
/* "synthetic", "cifar10", "cifar100", "hdf5" (the --dataset names); "?" out of range. */
const char *tcet_data_kind_name(int kind);
/* Number of training images; 0 for NULL and for synthetic data (which has
 * no fixed size, any batch fits): lets callers refuse a batch larger than the dataset up front. */
size_t tcet_dataset_count(const tcet_dataset *ds);
/* Refuse a batch larger than the dataset up front (it would fail every
 * candidate one by one): `proxy` draws batch_size distinct images per batch,
 * ZiCo two batches.  0, or TCET_ERR_DATA naming the dataset, the counts and
 * the remedy.  Synthetic data (count 0) always fits. */
int tcet_dataset_check_batch(const tcet_dataset *ds, int batch_size, int proxy);
/* Fill x[n,3,R,R] (normalised, augmented) and labels[n] for candidate `id`
 * of run `seed`; `stream` separates independent batches of one candidate
 * (e.g. TCET_STREAM_BATCH for SNIP, TCET_STREAM_NASWOT for the run's fixed
 * NASWOT batch). */
int tcet_dataset_batch(const tcet_dataset *ds, uint64_t seed, uint64_t stream, uint64_t id,
                       int n, float *x, int32_t *labels);

#endif
