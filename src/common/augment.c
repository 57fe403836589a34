#include "augment.h"

#include <math.h>
#include <stddef.h>

tcet_crop tcet_aug_pad_crop_draw(tcet_rng *r, int h, int w, int pad, int out)
{
    tcet_crop c;
    /* torchvision RandomCrop: i = randint(0, H + 2p - out), j likewise. */
    c.top = (int)tcet_rng_below(r, (uint64_t)(h + 2 * pad - out + 1)) - pad;
    c.left = (int)tcet_rng_below(r, (uint64_t)(w + 2 * pad - out + 1)) - pad;
    c.height = out;
    c.width = out;
    c.flip = tcet_rng_uniform(r) < 0.5;
    return c;
}

tcet_crop tcet_aug_resized_crop_draw(tcet_rng *r, int h, int w)
{
    const double scale_lo = 0.08, scale_hi = 1.0;
    const double ratio_lo = 3.0 / 4.0, ratio_hi = 4.0 / 3.0;
    const double area = (double)h * (double)w;
    const double lr_lo = log(ratio_lo), lr_hi = log(ratio_hi);
    tcet_crop c = {0, 0, h, w, 0};
    int found = 0;
    for (int attempt = 0; attempt < 10 && !found; attempt++) {
        double target = area * (scale_lo + (scale_hi - scale_lo) * tcet_rng_uniform(r));
        double aspect = exp(lr_lo + (lr_hi - lr_lo) * tcet_rng_uniform(r));
        /* Python's round() is round-half-even, like nearbyint(). */
        int cw = (int)nearbyint(sqrt(target * aspect));
        int ch = (int)nearbyint(sqrt(target / aspect));
        if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
            c.top = (int)tcet_rng_below(r, (uint64_t)(h - ch + 1));
            c.left = (int)tcet_rng_below(r, (uint64_t)(w - cw + 1));
            c.height = ch;
            c.width = cw;
            found = 1;
        }
    }
    if (!found) {
        /* Centre crop with the aspect ratio clamped into [3/4, 4/3]. */
        double in_ratio = (double)w / (double)h;
        int cw = w, ch = h;
        if (in_ratio < ratio_lo) {
            ch = (int)nearbyint(cw / ratio_lo);
        } else if (in_ratio > ratio_hi) {
            cw = (int)nearbyint(ch * ratio_hi);
        }
        if (ch > h) ch = h;
        if (cw > w) cw = w;
        c.top = (h - ch) / 2;
        c.left = (w - cw) / 2;
        c.height = ch;
        c.width = cw;
    }
    c.flip = tcet_rng_uniform(r) < 0.5;
    return c;
}

/* Byte at (y, x, channel) of the source, 0 outside it (zero padding). */
static double pixel(const uint8_t *img, int h, int w, int hwc, int y, int x, int ch)
{
    if (y < 0 || y >= h || x < 0 || x >= w) return 0.0;
    if (hwc) return img[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)ch];
    return img[((size_t)ch * (size_t)h + (size_t)y) * (size_t)w + (size_t)x];
}

/* Source coordinate of output index o (half-pixel centres, clamped), split
 * into the lower neighbour and its weight. */
static void src_coord(int o, int in, int out, int *i0, int *i1, double *frac)
{
    if (in == out) {
        *i0 = *i1 = o;
        *frac = 0.0;
        return;
    }
    double s = ((double)o + 0.5) * ((double)in / (double)out) - 0.5;
    if (s < 0.0) s = 0.0;
    if (s > (double)(in - 1)) s = (double)(in - 1);
    int f = (int)floor(s);
    *i0 = f;
    *i1 = f + 1 < in ? f + 1 : in - 1;
    *frac = s - (double)f;
}

void tcet_aug_render(const uint8_t *img, int h, int w, int layout_hwc, const tcet_crop *crop,
                     int out, const double mean[3], const double std[3], float *dst)
{
    for (int oy = 0; oy < out; oy++) {
        int y0, y1;
        double fy;
        src_coord(oy, crop->height, out, &y0, &y1, &fy);
        for (int ox = 0; ox < out; ox++) {
            /* Flip mirrors the output column: out[x] = crop[out - 1 - x]. */
            int sx = crop->flip ? out - 1 - ox : ox;
            int x0, x1;
            double fx;
            src_coord(sx, crop->width, out, &x0, &x1, &fx);
            for (int ch = 0; ch < 3; ch++) {
                int ty0 = crop->top + y0, ty1 = crop->top + y1;
                int tx0 = crop->left + x0, tx1 = crop->left + x1;
                double v;
                if (fy == 0.0 && fx == 0.0) {
                    v = pixel(img, h, w, layout_hwc, ty0, tx0, ch);
                } else {
                    double a = pixel(img, h, w, layout_hwc, ty0, tx0, ch);
                    double b = pixel(img, h, w, layout_hwc, ty0, tx1, ch);
                    double c = pixel(img, h, w, layout_hwc, ty1, tx0, ch);
                    double d = pixel(img, h, w, layout_hwc, ty1, tx1, ch);
                    double top = a + (b - a) * fx, bot = c + (d - c) * fx;
                    v = top + (bot - top) * fy;
                }
                dst[((size_t)ch * (size_t)out + (size_t)oy) * (size_t)out + (size_t)ox] =
                    (float)((v / 255.0 - mean[ch]) / std[ch]);
            }
        }
    }
}
