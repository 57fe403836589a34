/* ColorJitter(0.4, 0.4, 0.4, 0.2) of the ImageNet-style augmentation (spec
 * §8): hand-derived values of each adjustment, identities, clamping, the
 * random order, the documented draws, the HDF5 batch path with and without
 * jitter, and reference outputs of torchvision
 * 0.14.1's functional adjust_* (tensor path, float32) hard-coded below. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"

#include "common/augment.h"
#include "common/data.h"
#include "common/error.h"
#include "common/rng.h"

/* Grayscale weights of torchvision's rgb_to_grayscale. */
#define GRAY(r, g, b) (0.2989 * (r) + 0.587 * (g) + 0.114 * (b))

static void set_px(float *img, float r, float g, float b)
{
    img[0] = r;
    img[1] = g;
    img[2] = b;
}

static void expect_px(const float *img, double r, double g, double b, double tol)
{
    assert_true(fabs(img[0] - r) <= tol);
    assert_true(fabs(img[1] - g) <= tol);
    assert_true(fabs(img[2] - b) <= tol);
}

static void test_brightness(void **state)
{
    (void)state;
    float p[3];
    set_px(p, 0.5f, 0.25f, 1.0f);
    tcet_aug_adjust_brightness(p, 1, 1.5f);
    expect_px(p, 0.75, 0.375, 1.0, 1e-7); /* 1.5 clamps to 1 */
    set_px(p, 0.5f, 0.25f, 1.0f);
    tcet_aug_adjust_brightness(p, 1, 0.0f);
    expect_px(p, 0.0, 0.0, 0.0, 0.0); /* factor 0: black */
    set_px(p, 0.5f, 0.25f, 1.0f);
    tcet_aug_adjust_brightness(p, 1, 1.0f);
    expect_px(p, 0.5, 0.25, 1.0, 0.0); /* factor 1: identity, exactly */
}

static void test_contrast(void **state)
{
    (void)state;
    /* One pixel: the mean is its own gray value 0.4102. */
    float p[3];
    const double g = GRAY(0.5, 0.25, 1.0);
    assert_true(fabs(g - 0.4102) < 1e-12);
    set_px(p, 0.5f, 0.25f, 1.0f);
    tcet_aug_adjust_contrast(p, 1, 0.0f);
    expect_px(p, g, g, g, 1e-6);
    set_px(p, 0.5f, 0.25f, 1.0f);
    tcet_aug_adjust_contrast(p, 1, 2.0f);
    expect_px(p, 1.0 - g, 0.5 - g, 1.0, 1e-6); /* 2x - g, blue 1.5898 clamps */
    set_px(p, 0.5f, 0.25f, 1.0f);
    tcet_aug_adjust_contrast(p, 1, 1.0f);
    expect_px(p, 0.5, 0.25, 1.0, 0.0);
    /* 2x2 gray image 0, .2, .4, .6: mean over all pixels 0.9999 * 0.3; a
     * per-pixel gray (that would leave it unchanged) is wrong. */
    const float v[4] = {0.0f, 0.2f, 0.4f, 0.6f};
    float img[12];
    for (int c = 0; c < 3; c++) memcpy(img + 4 * c, v, sizeof v);
    tcet_aug_adjust_contrast(img, 4, 0.5f);
    const double m = 0.9999 * 0.3;
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 4; i++)
            assert_true(fabs(img[4 * c + i] - (0.5 * v[i] + 0.5 * m)) < 1e-6);
    /* Clamping below: factor 3 sends 0 to -2m -> 0 and 0.6 to 1.8 - 2m -> 1. */
    for (int c = 0; c < 3; c++) memcpy(img + 4 * c, v, sizeof v);
    tcet_aug_adjust_contrast(img, 4, 3.0f);
    assert_true(img[0] == 0.0f && img[3] == 1.0f);
    assert_true(fabs(img[1] - (0.6 - 2 * m)) < 1e-6);
}

static void test_saturation(void **state)
{
    (void)state;
    float p[3];
    const double g = GRAY(0.5, 0.25, 1.0);
    set_px(p, 0.5f, 0.25f, 1.0f);
    tcet_aug_adjust_saturation(p, 1, 0.0f); /* factor 0: grayscale */
    expect_px(p, g, g, g, 1e-6);
    set_px(p, 0.5f, 0.25f, 1.0f);
    tcet_aug_adjust_saturation(p, 1, 1.0f);
    expect_px(p, 0.5, 0.25, 1.0, 0.0);
    set_px(p, 0.5f, 0.25f, 1.0f);
    tcet_aug_adjust_saturation(p, 1, 1.5f); /* 1.5x - 0.5g */
    expect_px(p, 0.75 - 0.5 * g, 0.375 - 0.5 * g, 1.0, 1e-6);
    /* Per pixel, unlike contrast: a 2-pixel gray image is unchanged. */
    float img[6] = {0.1f, 0.7f, 0.1f, 0.7f, 0.1f, 0.7f};
    tcet_aug_adjust_saturation(img, 2, 0.3f);
    assert_true(fabs(img[0] - (0.3 * 0.1 + 0.7 * 0.9999 * 0.1)) < 1e-6);
    assert_true(fabs(img[1] - (0.3 * 0.7 + 0.7 * 0.9999 * 0.7)) < 1e-6);
}

static void test_hue(void **state)
{
    (void)state;
    float p[3];
    set_px(p, 1.0f, 0.0f, 0.0f);
    tcet_aug_adjust_hue(p, 1, 1.0f / 3.0f); /* red -> green */
    expect_px(p, 0.0, 1.0, 0.0, 1e-6);
    set_px(p, 1.0f, 0.0f, 0.0f);
    tcet_aug_adjust_hue(p, 1, -1.0f / 3.0f); /* red -> blue (mod 1 of a negative) */
    expect_px(p, 0.0, 0.0, 1.0, 1e-6);
    set_px(p, 1.0f, 0.0f, 0.0f);
    tcet_aug_adjust_hue(p, 1, 0.5f); /* red -> cyan */
    expect_px(p, 0.0, 1.0, 1.0, 1e-6);
    /* Orange (1, .5, 0) has h = 1/12; +1/12 is yellow (1, 1, 0). */
    set_px(p, 1.0f, 0.5f, 0.0f);
    tcet_aug_adjust_hue(p, 1, 1.0f / 12.0f);
    expect_px(p, 1.0, 1.0, 0.0, 1e-6);
    /* Half-saturated, darker: (0.8, 0.4, 0.4) has h=0, s=.5, v=.8; +1/3 ->
     * (0.4, 0.8, 0.4). */
    set_px(p, 0.8f, 0.4f, 0.4f);
    tcet_aug_adjust_hue(p, 1, 1.0f / 3.0f);
    expect_px(p, 0.4, 0.8, 0.4, 1e-6);
    /* Grays have no hue: unchanged by any shift. */
    set_px(p, 0.3f, 0.3f, 0.3f);
    tcet_aug_adjust_hue(p, 1, 0.2f);
    expect_px(p, 0.3f, 0.3f, 0.3f, 0.0);
    /* Shift 0: identity up to float rounding. */
    set_px(p, 0.9f, 0.1f, 0.3f);
    tcet_aug_adjust_hue(p, 1, 0.0f);
    expect_px(p, 0.9, 0.1, 0.3, 1e-6);
}

/* torchvision.transforms.functional.adjust_* on this CHW float32 tensor
 * (torchvision 0.14.1, torch 1.13; same code as 0.13 for these functions). */
static const float TV_IN[12] = {0.9f, 0.2f, 0.5f, 0.0f, 0.1f, 0.6f,
                                0.5f, 1.0f, 0.3f, 0.8f, 0.25f, 0.4f};

static void expect_tv(const float *got, const float *want)
{
    for (int i = 0; i < 12; i++) {
        if (fabsf(got[i] - want[i]) > 2e-6f) {
            print_error("element %d: %.9g, torchvision %.9g\n", i, got[i], want[i]);
            fail();
        }
    }
}

static void test_torchvision_reference(void **state)
{
    (void)state;
    static const float b13[12] = {1.0f, 0.25999999f, 0.649999976f, 0.0f, 0.129999995f, 0.780000031f,
                                  0.649999976f, 1.0f, 0.390000015f, 1.0f, 0.324999988f,
                                  0.519999981f};
    static const float c14[12] = {1.0f, 0.0830859989f, 0.503085971f, 0.0f, 0.0f, 0.643086016f,
                                  0.503085971f, 1.0f, 0.223086014f, 0.923085988f, 0.153085992f,
                                  0.363085985f};
    static const float c06[12] = {0.736914039f, 0.316914022f, 0.496914029f, 0.196914002f,
                                  0.25691402f, 0.556914032f, 0.496914029f, 0.796914041f,
                                  0.376914024f, 0.676914036f, 0.346913993f, 0.436914027f};
    static const float s14[12] = {1.0f, 0.0787279904f, 0.511420012f, 0.0f, 0.0f, 0.638728023f,
                                  0.511420012f, 1.0f, 0.275236011f, 0.918727994f, 0.161419988f,
                                  0.306959987f};
    static const float s06[12] = {0.684764028f, 0.321272016f, 0.488580018f, 0.253040016f,
                                  0.204764009f, 0.561272025f, 0.488580018f, 0.85304004f,
                                  0.324764013f, 0.68127203f, 0.338580012f, 0.493040025f};
    static const float h02[12] = {0.899999976f, 0.519999981f, 0.25f, 0.0f, 0.859999835f, 0.2f,
                                  0.5f, 0.400000095f, 0.100000046f, 0.8f, 0.299999952f, 1.0f};
    static const float hm015[12] = {0.779999554f, 0.2f, 0.5f, 0.500000238f, 0.100000046f, 0.8f,
                                    0.274999917f, 1.0f, 0.899999976f, 0.460000038f, 0.25f, 0.0f};
    /* ColorJitter forward with order [hue, brightness, saturation, contrast]. */
    static const float chain[12] = {0.954070926f, 0.234666571f, 0.428641975f, 0.100635543f,
                                    0.475350708f, 0.276906341f, 0.587041974f, 0.980635643f,
                                    0.17967099f, 0.868266642f, 0.323041886f, 0.980635643f};
    float x[12];
    memcpy(x, TV_IN, sizeof x);
    tcet_aug_adjust_brightness(x, 4, 1.3f);
    expect_tv(x, b13);
    memcpy(x, TV_IN, sizeof x);
    tcet_aug_adjust_contrast(x, 4, 1.4f);
    expect_tv(x, c14);
    memcpy(x, TV_IN, sizeof x);
    tcet_aug_adjust_contrast(x, 4, 0.6f);
    expect_tv(x, c06);
    memcpy(x, TV_IN, sizeof x);
    tcet_aug_adjust_saturation(x, 4, 1.4f);
    expect_tv(x, s14);
    memcpy(x, TV_IN, sizeof x);
    tcet_aug_adjust_saturation(x, 4, 0.6f);
    expect_tv(x, s06);
    memcpy(x, TV_IN, sizeof x);
    tcet_aug_adjust_hue(x, 4, 0.2f);
    expect_tv(x, h02);
    memcpy(x, TV_IN, sizeof x);
    tcet_aug_adjust_hue(x, 4, -0.15f);
    expect_tv(x, hm015);
    tcet_jitter j = {{3, 0, 2, 1}, 1.2f, 1.1f, 0.8f, 0.1f};
    memcpy(x, TV_IN, sizeof x);
    tcet_aug_color_jitter(x, 4, &j);
    expect_tv(x, chain);
}

static int order_code(const tcet_jitter *j)
{
    int seen = 0, code = 0;
    for (int k = 0; k < 4; k++) {
        assert_true(j->order[k] >= 0 && j->order[k] < 4);
        assert_false(seen & (1 << j->order[k]));
        seen |= 1 << j->order[k];
        code = code * 4 + j->order[k];
    }
    return code;
}

static void test_draw_ranges_and_orders(void **state)
{
    (void)state;
    enum { DRAWS = 24000 };
    static int count[256];
    memset(count, 0, sizeof count);
    double sum_b = 0, sum_h = 0;
    float lo = 10, hi = -10, hlo = 10, hhi = -10;
    for (int id = 0; id < DRAWS; id++) {
        tcet_rng r;
        tcet_rng_seed(&r, 5, TCET_STREAM_AUGMENT, (uint64_t)id);
        tcet_jitter j = tcet_aug_jitter_draw(&r);
        count[order_code(&j)]++;
        const float f[3] = {j.brightness, j.contrast, j.saturation};
        for (int k = 0; k < 3; k++) {
            assert_true(f[k] >= 0.6f && f[k] <= 1.4f);
            lo = fminf(lo, f[k]);
            hi = fmaxf(hi, f[k]);
        }
        assert_true(j.hue >= -0.2f && j.hue <= 0.2f);
        hlo = fminf(hlo, j.hue);
        hhi = fmaxf(hhi, j.hue);
        sum_b += j.brightness;
        sum_h += j.hue;
    }
    /* All 24 orders, each near 1000 (binomial sd ~31). */
    int distinct = 0;
    for (int c = 0; c < 256; c++) {
        if (count[c] == 0) continue;
        distinct++;
        assert_true(count[c] > 850 && count[c] < 1150);
    }
    assert_int_equal(distinct, 24);
    /* The ranges are filled: [0.6, 1.4] and [-0.2, 0.2], means 1 and 0. */
    assert_true(lo < 0.601f && hi > 1.399f && hlo < -0.199f && hhi > 0.199f);
    assert_true(fabs(sum_b / DRAWS - 1.0) < 0.01 && fabs(sum_h / DRAWS) < 0.005);
}

static void test_documented_draws_and_determinism(void **state)
{
    (void)state;
    tcet_rng a, b, c;
    tcet_rng_seed(&a, 11, TCET_STREAM_AUGMENT, 42);
    tcet_rng_seed(&b, 11, TCET_STREAM_AUGMENT, 42);
    tcet_rng_seed(&c, 11, TCET_STREAM_AUGMENT, 43);
    tcet_jitter ja = tcet_aug_jitter_draw(&a);
    /* docs: Fisher-Yates with below(4), below(3), below(2), then one uniform
     * each for brightness, contrast, saturation, hue. */
    int ord[4] = {0, 1, 2, 3};
    for (int i = 3; i > 0; i--) {
        int k = (int)tcet_rng_below(&b, (uint64_t)(i + 1));
        int t = ord[i];
        ord[i] = ord[k];
        ord[k] = t;
    }
    assert_memory_equal(ord, ja.order, sizeof ord);
    assert_true(ja.brightness == (float)(0.6 + 0.8 * tcet_rng_uniform(&b)));
    assert_true(ja.contrast == (float)(0.6 + 0.8 * tcet_rng_uniform(&b)));
    assert_true(ja.saturation == (float)(0.6 + 0.8 * tcet_rng_uniform(&b)));
    assert_true(ja.hue == (float)(-0.2 + 0.4 * tcet_rng_uniform(&b)));
    /* Both generators are now at the same point: same next draw. */
    assert_true(tcet_rng_next(&a) == tcet_rng_next(&b));
    tcet_jitter jc = tcet_aug_jitter_draw(&c);
    assert_false(jc.brightness == ja.brightness && jc.hue == ja.hue);
}

static void test_render_jitter(void **state)
{
    (void)state;
    /* Constant gray 2x2 image (byte 100), order saturation, hue, brightness,
     * contrast: saturation 0.5 blends v with its gray 0.9999 v (torchvision's
     * weights sum to 0.9999) -> 0.99995 v; hue leaves grays alone;
     * brightness 1.2 scales; contrast 1 is the identity. */
    uint8_t img[2 * 2 * 3];
    memset(img, 100, sizeof img);
    const double mean[3] = {0.485, 0.456, 0.406}, sd[3] = {0.229, 0.224, 0.225};
    tcet_crop crop = {0, 0, 2, 2, 0};
    tcet_jitter j = {{2, 3, 0, 1}, 1.2f, 1.0f, 0.5f, 0.15f};
    float out[12], plain[12];
    tcet_aug_render_jitter(img, 2, 2, 1, &crop, &j, 2, mean, sd, out);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 4; i++)
            assert_rel_close(out[4 * c + i],
                             ((100.0 / 255.0) * 0.99995 * 1.2 - mean[c]) / sd[c], 1e-5);
    /* NULL jitter is the plain render, bit for bit. */
    tcet_aug_render_jitter(img, 2, 2, 1, &crop, NULL, 2, mean, sd, out);
    tcet_aug_render(img, 2, 2, 1, &crop, 2, mean, sd, plain);
    assert_memory_equal(out, plain, sizeof out);
    /* Clamping happens in [0,1] before normalisation: brightness 1.4 of a
     * byte-250 image saturates at 1. */
    memset(img, 250, sizeof img);
    tcet_jitter up = {{0, 1, 2, 3}, 1.4f, 1.0f, 1.0f, 0.0f};
    tcet_aug_render_jitter(img, 2, 2, 1, &crop, &up, 2, mean, sd, out);
    for (int c = 0; c < 3; c++) assert_rel_close(out[4 * c], (1.0 - mean[c]) / sd[c], 1e-6);
}

/* End to end through an HDF5 set of constant gray images (byte 128): every
 * jitter keeps an image gray and constant, so each batch image is one value
 * v·k with k in [0.6·0.99994, 1.4] (brightness times the 0.9999-weight
 * gray blends of contrast/saturation) and k differs between images;
 * TCET_NO_COLOR_JITTER=1 gives exactly v. */
static void test_hdf5_dataset_jitter(void **state)
{
    (void)state;
    char dir[] = "/tmp/tcet_test_jitter_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/gray.h5", dir);
    enum { N = 8, S = 6, R = 4 };
    uint8_t img[N * S * S * 3];
    int lab[N];
    memset(img, 128, sizeof img);
    for (int i = 0; i < N; i++) lab[i] = i;
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    hsize_t d4[4] = {N, S, S, 3}, d1[1] = {N};
    hid_t s4 = H5Screate_simple(4, d4, NULL), s1 = H5Screate_simple(1, d1, NULL);
    hid_t di = H5Dcreate2(f, "images", H5T_STD_U8LE, s4, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t dl = H5Dcreate2(f, "labels", H5T_STD_I32LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(di >= 0 && dl >= 0);
    assert_true(H5Dwrite(di, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, img) >= 0);
    assert_true(H5Dwrite(dl, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, lab) >= 0);
    H5Dclose(di);
    H5Dclose(dl);
    H5Sclose(s4);
    H5Sclose(s1);
    H5Fclose(f);
    const double mean[3] = {0.485, 0.456, 0.406}, sd[3] = {0.229, 0.224, 0.225};
    const double v = 128.0 / 255.0;
    for (int off = 0; off < 2; off++) {
        if (off) setenv("TCET_NO_COLOR_JITTER", "1", 1);
        tcet_dataset *ds = NULL;
        assert_int_equal(tcet_dataset_open("hdf5", path, R, N, &ds), TCET_OK);
        unsetenv("TCET_NO_COLOR_JITTER");
        assert_int_equal(strstr(tcet_dataset_describe(ds), "no ColorJitter") != NULL, off);
        float x[N * 3 * R * R];
        int32_t y[N];
        assert_int_equal(tcet_dataset_batch(ds, 3, TCET_STREAM_BATCH, 1, N, x, y), TCET_OK);
        double kmin = 10, kmax = 0;
        for (int i = 0; i < N; i++) {
            const float *xi = x + (size_t)i * 3 * R * R;
            double k = (xi[0] * sd[0] + mean[0]) / v;
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < R * R; p++)
                    assert_true(fabs((xi[c * R * R + p] * sd[c] + mean[c]) / v - k) < 1e-5);
            if (off) assert_true(fabs(k - 1.0) < 1e-6);
            kmin = fmin(kmin, k);
            kmax = fmax(kmax, k);
        }
        if (!off) {
            assert_true(kmin >= 0.6 * 0.99994 - 1e-6 && kmax <= 1.4 + 1e-6);
            assert_true(kmax - kmin > 0.05); /* 8 independent brightness draws */
        }
        tcet_dataset_close(ds);
    }
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brightness),
        cmocka_unit_test(test_contrast),
        cmocka_unit_test(test_saturation),
        cmocka_unit_test(test_hue),
        cmocka_unit_test(test_torchvision_reference),
        cmocka_unit_test(test_draw_ranges_and_orders),
        cmocka_unit_test(test_documented_draws_and_determinism),
        cmocka_unit_test(test_render_jitter),
        cmocka_unit_test(test_hdf5_dataset_jitter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
