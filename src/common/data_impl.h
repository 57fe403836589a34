/* Internals shared by the dataset readers (data.c, data_cifar.c,
 * data_hdf5.c).  Not part of the public interface: use common/data.h. */
#ifndef TCET_DATA_IMPL_H
#define TCET_DATA_IMPL_H

#include <stdint.h>

#include "data.h"

/* Pixel layout of the images held in memory. */
typedef enum {
    TCET_PIX_CHW = 0, /* CIFAR binary: R plane, G plane, B plane */
    TCET_PIX_HWC = 1  /* HDF5 image sets: interleaved RGB rows */
} tcet_pix_layout;

struct tcet_dataset {
    tcet_data_kind kind;
    int resolution;   /* output R (batches are n x 3 x R x R) */
    int num_classes;  /* labels are in [0, num_classes) */
    char desc[640];   /* tcet_dataset_describe() */
    /* Real datasets only: every image loaded once, all the same size. */
    int64_t count;    /* number of images */
    int height, width;
    tcet_pix_layout layout;
    uint8_t *pixels;  /* count * 3 * height * width bytes */
    int32_t *labels;  /* count */
    double mean[3], std[3];
    /* 1: ColorJitter(0.4,0.4,0.4,0.2) after crop/flip (HDF5 sets unless
     * TCET_NO_COLOR_JITTER=1; docs/data.md).  0 for CIFAR and synthetic. */
    int color_jitter;
    /* HDF5 sets too large to preload: images are read per batch from the
     * open file (handles < 0 when unused). */
    int64_t h5_file, h5_images;
};

int tcet_data_open_cifar(tcet_dataset *ds, int cifar100, const char *dir);
/* Where the CIFAR files are: dir itself, its cifar-100-binary /
 * cifar-10-batches-bin subdirectory, or (given a file) the file's directory;
 * *single receives the file when a CIFAR-100 train file was named. */
void tcet_data_cifar_locate(const char *path, int cifar100, char *dir, size_t cap, const char **single);
int tcet_data_open_hdf5(tcet_dataset *ds, const char *path);
/* Lazily read image i (H*W*3 bytes, HWC) when pixels == NULL. */
int tcet_data_hdf5_read(const tcet_dataset *ds, int64_t i, uint8_t *buf);
void tcet_data_hdf5_close(tcet_dataset *ds);

/* Key of the generator for one part of a batch: `part` separates the image
 * choice, the augmentation and synthetic content of the same (stream, id). */
uint64_t tcet_data_subkey(uint64_t stream, uint64_t part);

#endif
