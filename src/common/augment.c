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

/* ---- ColorJitter (torchvision 0.13 ColorJitter / functional_tensor) ---- */

tcet_jitter tcet_aug_jitter_draw(tcet_rng *r)
{
    tcet_jitter j;
    /* torch.randperm(4): any uniform permutation will do, since torch's
     * generator cannot be reproduced anyway; Fisher-Yates from the top. */
    for (int i = 0; i < 4; i++) j.order[i] = i;
    for (int i = 3; i > 0; i--) {
        int k = (int)tcet_rng_below(r, (uint64_t)(i + 1));
        int t = j.order[i];
        j.order[i] = j.order[k];
        j.order[k] = t;
    }
    /* ColorJitter(0.4, 0.4, 0.4, 0.2): [max(0, 1 - 0.4), 1 + 0.4] and [-0.2, 0.2]. */
    j.brightness = (float)(0.6 + 0.8 * tcet_rng_uniform(r));
    j.contrast = (float)(0.6 + 0.8 * tcet_rng_uniform(r));
    j.saturation = (float)(0.6 + 0.8 * tcet_rng_uniform(r));
    j.hue = (float)(-0.2 + 0.4 * tcet_rng_uniform(r));
    return j;
}

/* torchvision _blend: clamp(r*a + (1-r)*b, 0, 1). */
static float blend(float a, float b, float r)
{
    float v = r * a + (1.0f - r) * b;
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

static float gray(float r, float g, float b)
{
    return 0.2989f * r + 0.587f * g + 0.114f * b;
}

void tcet_aug_adjust_brightness(float *img, size_t npix, float factor)
{
    for (size_t i = 0; i < 3 * npix; i++) img[i] = blend(img[i], 0.0f, factor);
}

void tcet_aug_adjust_contrast(float *img, size_t npix, float factor)
{
    float *r = img, *g = img + npix, *b = img + 2 * npix;
    double sum = 0.0; /* a double sum: the mean of a 224^2 image stays exact to float */
    for (size_t i = 0; i < npix; i++) sum += gray(r[i], g[i], b[i]);
    float mean = npix > 0 ? (float)(sum / (double)npix) : 0.0f;
    for (size_t i = 0; i < 3 * npix; i++) img[i] = blend(img[i], mean, factor);
}

void tcet_aug_adjust_saturation(float *img, size_t npix, float factor)
{
    float *r = img, *g = img + npix, *b = img + 2 * npix;
    for (size_t i = 0; i < npix; i++) {
        float l = gray(r[i], g[i], b[i]);
        r[i] = blend(r[i], l, factor);
        g[i] = blend(g[i], l, factor);
        b[i] = blend(b[i], l, factor);
    }
}

static float clamp01(float v)
{
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

void tcet_aug_adjust_hue(float *img, size_t npix, float shift)
{
    float *rp = img, *gp = img + npix, *bp = img + 2 * npix;
    for (size_t i = 0; i < npix; i++) {
        float r = rp[i], g = gp[i], b = bp[i];
        /* _rgb2hsv */
        float maxc = fmaxf(r, fmaxf(g, b)), minc = fminf(r, fminf(g, b));
        int eqc = maxc == minc;
        float cr = maxc - minc;
        float s = cr / (eqc ? 1.0f : maxc);
        float div = eqc ? 1.0f : cr;
        float rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
        float hh;
        if (maxc == r)
            hh = bc - gc;
        else if (maxc == g)
            hh = 2.0f + rc - bc;
        else
            hh = 4.0f + gc - rc;
        float h = fmodf(hh / 6.0f + 1.0f, 1.0f);
        float v = maxc;
        /* h = (h + shift) % 1.0 with Python's sign convention. */
        h = fmodf(h + shift, 1.0f);
        if (h < 0.0f) h += 1.0f;
        /* _hsv2rgb */
        float fi = floorf(h * 6.0f);
        float f = h * 6.0f - fi;
        int sector = ((int)fi % 6 + 6) % 6;
        float p = clamp01(v * (1.0f - s));
        float q = clamp01(v * (1.0f - s * f));
        float t = clamp01(v * (1.0f - s * (1.0f - f)));
        const float a1[6] = {v, q, p, p, t, v};
        const float a2[6] = {t, v, v, q, p, p};
        const float a3[6] = {p, p, t, v, v, q};
        rp[i] = a1[sector];
        gp[i] = a2[sector];
        bp[i] = a3[sector];
    }
}

void tcet_aug_color_jitter(float *img, size_t npix, const tcet_jitter *j)
{
    for (int k = 0; k < 4; k++) {
        switch (j->order[k]) {
        case 0: tcet_aug_adjust_brightness(img, npix, j->brightness); break;
        case 1: tcet_aug_adjust_contrast(img, npix, j->contrast); break;
        case 2: tcet_aug_adjust_saturation(img, npix, j->saturation); break;
        default: tcet_aug_adjust_hue(img, npix, j->hue); break;
        }
    }
}

void tcet_aug_render_jitter(const uint8_t *img, int h, int w, int layout_hwc,
                            const tcet_crop *crop, const tcet_jitter *j, int out,
                            const double mean[3], const double std[3], float *dst)
{
    if (j == NULL) {
        tcet_aug_render(img, h, w, layout_hwc, crop, out, mean, std, dst);
        return;
    }
    /* Resample to [0,1] floats in dst (mean 0, std 1 is v/255, as ToTensor),
     * jitter there, then normalise in place. */
    static const double zero[3] = {0.0, 0.0, 0.0}, one[3] = {1.0, 1.0, 1.0};
    tcet_aug_render(img, h, w, layout_hwc, crop, out, zero, one, dst);
    const size_t npix = (size_t)out * (size_t)out;
    tcet_aug_color_jitter(dst, npix, j);
    for (int ch = 0; ch < 3; ch++)
        for (size_t i = 0; i < npix; i++) {
            float *v = dst + (size_t)ch * npix + i;
            *v = (float)(((double)*v - mean[ch]) / std[ch]);
        }
}
