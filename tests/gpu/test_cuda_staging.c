/* Upload staging of the CUDA backend (pinned ring, backend_cuda.c): uploads
 * return without waiting for their copy, so the test rewrites the caller's
 * host buffer right after every upload and then checks, after one download,
 * that the device holds what was passed at each call; with a 1 MiB ring the
 * ring wraps many times, a 3 MiB upload takes the unstaged path, and
 * TCET_CUDA_STAGING_MB=0 disables the ring.  Skipped (77) without a GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#ifdef TCET_HAVE_CUDA
#include "kernels/cuda/backend_cuda.h"

#define DEV_BYTES (8u << 20)

static void check_uploads(const char *staging_mb, int expect_ring)
{
    setenv("TCET_CUDA_STAGING_MB", staging_mb, 1);
    tcet_backend *be = NULL;
    assert_int_equal(tcet_backend_cuda_create(0, &be), 0);
    unsetenv("TCET_CUDA_STAGING_MB");
    unsigned char *dev = be->alloc(be, DEV_BYTES);
    assert_non_null(dev);
    unsigned char *want = calloc(DEV_BYTES, 1), *got = malloc(DEV_BYTES), *src = malloc(3u << 20);
    assert_int_equal(be->zero(be, dev, DEV_BYTES), 0);
    unsigned seed = 12345;
    size_t off = 0;
    for (int i = 0; i < 400; i++) {
        size_t len = i == 200 ? (3u << 20) : 1 + (size_t)(rand_r(&seed) % 60000);
        if (off + len > DEV_BYTES) off = 0;
        for (size_t j = 0; j < len; j++) src[j] = (unsigned char)rand_r(&seed);
        memcpy(want + off, src, len);
        assert_int_equal(be->upload(be, dev + off, src, len), 0);
        memset(src, 0xA5, len); /* the caller reuses its buffer at once */
        off += len;
    }
    assert_int_equal(be->download(be, got, dev, DEV_BYTES), 0);
    assert_memory_equal(got, want, DEV_BYTES);
    tcet_cuda_stats st;
    assert_int_equal(tcet_cuda_get_stats(be, &st), 0);
    print_message("staging %s MiB: ring %zu bytes, %ld wraps, %ld unstaged uploads\n", staging_mb,
                  st.staging_bytes, st.staging_wraps, st.unstaged_uploads);
    if (expect_ring) {
        assert_true(st.staging_bytes == (1u << 20));
        assert_true(st.staging_wraps > 0);
        assert_true(st.unstaged_uploads >= 1); /* the 3 MiB one */
    } else {
        assert_true(st.staging_bytes == 0);
        assert_int_equal(st.unstaged_uploads, 400);
    }
    be->release(be, dev);
    be->destroy(be);
    free(want);
    free(got);
    free(src);
}

static void ring_of_1_mib(void **s) { (void)s; check_uploads("1", 1); }
static void ring_disabled(void **s) { (void)s; check_uploads("0", 0); }

int main(void)
{
    if (tcet_cuda_device_count() == 0) {
        printf("SKIP: no CUDA device\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ring_of_1_mib),
        cmocka_unit_test(ring_disabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
    printf("SKIP: built without CUDA\n");
    return 77;
}
#endif
