/* Image augmentation for the training batches (docs/semantics.md#data): CIFAR
 * RandomCrop(32, padding 4) + flip, ImageNet-style RandomResizedCrop with
 * bilinear resize + flip, and per-channel normalisation.  Each routine writes
 * one normalised CHW float image; the random draws come from the caller's
 * keyed generator, in a fixed documented order (docs/data.md). */
#ifndef TCET_AUGMENT_H
#define TCET_AUGMENT_H

#include <stddef.h>
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

/* torchvision ColorJitter(0.4, 0.4, 0.4, 0.2) parameters of one image
 * (docs/semantics.md#data): brightness/contrast/saturation factors in [0.6, 1.4], hue shift
 * in [-0.2, 0.2], applied in the order order[0..3] (0 brightness,
 * 1 contrast, 2 saturation, 3 hue). */
typedef struct {
    int order[4];
    float brightness, contrast, saturation, hue;
} tcet_jitter;

/* ColorJitter.get_params: first a uniform permutation of {0,1,2,3}
 * (Fisher-Yates, tcet_rng_below(4), (3), (2)), then one uniform draw each for
 * brightness, contrast, saturation and hue, in that order. */
tcet_jitter tcet_aug_jitter_draw(tcet_rng *r);

/* Single adjustments on a planar CHW float image in [0,1] with `npix`
 * pixels per channel, in place; torchvision functional_tensor semantics
 * (float32, clamp to [0,1] after each blend; grayscale = 0.2989 R + 0.587 G
 * + 0.114 B as torchvision's rgb_to_grayscale). */
void tcet_aug_adjust_brightness(float *img, size_t npix, float factor);
void tcet_aug_adjust_contrast(float *img, size_t npix, float factor);
void tcet_aug_adjust_saturation(float *img, size_t npix, float factor);
/* RGB -> HSV, h = (h + shift) mod 1, HSV -> RGB; shift in [-0.5, 0.5]. */
void tcet_aug_adjust_hue(float *img, size_t npix, float shift);
/* The four adjustments of `j` in j->order. */
void tcet_aug_color_jitter(float *img, size_t npix, const tcet_jitter *j);

/* tcet_aug_render with ColorJitter `j` applied to the resampled [0,1] image
 * before normalisation; j == NULL is tcet_aug_render. */
void tcet_aug_render_jitter(const uint8_t *img, int h, int w, int layout_hwc,
                            const tcet_crop *crop, const tcet_jitter *j, int out,
                            const double mean[3], const double std[3], float *dst);

#endif
