/* Image augmentation for the training batches (spec §8): CIFAR
 * RandomCrop(32, padding 4) + flip, ImageNet-style RandomResizedCrop with
 * bilinear resize + flip, and per-channel normalisation.  Each routine writes
 * one normalised CHW float image; the random draws come from the caller's
 * keyed generator, in a fixed documented order (docs/data.md). */
#ifndef TCET_AUGMENT_H
#define TCET_AUGMENT_H

#include <stdint.h>

#include "rng.h"

/* Where a crop window lies in the source image (possibly padded). */
typedef struct {
    int top, left;     /* offsets; may be negative for padding (CIFAR) */
    int height, width; /* window size in source pixels */
    int flip;          /* 1: mirror horizontally after cropping */
} tcet_crop;

/* CIFAR: pad by `pad` zero bytes on every side, take an out x out window at
 * top/left offsets uniform in {0..2*pad + h - out} (drawn top first, then
 * left), then flip with probability 1/2 (one uniform draw < 0.5).  The
 * returned offsets are relative to the unpadded image (top - pad). */
tcet_crop tcet_aug_pad_crop_draw(tcet_rng *r, int h, int w, int pad, int out);

/* torchvision RandomResizedCrop.get_params(scale=(0.08,1), ratio=(3/4,4/3)):
 * 10 attempts of (area fraction uniform, log-ratio uniform, top, left), then
 * the centre crop of the clamped ratio; followed by one flip draw. */
tcet_crop tcet_aug_resized_crop_draw(tcet_rng *r, int h, int w);

/* Normalised output x[c][y][x] = (v/255 - mean[c]) / std[c] of the window
 * `crop` resampled to out x out (nearest = exact copy when the window size
 * equals out; otherwise bilinear with half-pixel centres, edge clamped, like
 * torchvision/PIL-free bilinear with antialias off).  Pixels outside the
 * source (padding) have byte value 0.  `layout_hwc` selects the source
 * layout: 0 = planar CHW, 1 = interleaved HWC. */
void tcet_aug_render(const uint8_t *img, int h, int w, int layout_hwc, const tcet_crop *crop,
                     int out, const double mean[3], const double std[3], float *dst);

#endif
