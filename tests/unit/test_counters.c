/* Reference counters against the published numbers of docs/semantics.md#reference-counters, docs/semantics.md#self-check-counts
 * (computed there by an independent implementation and corroborated by the
 * ZenNAS README and the official code's golden files). */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/arch.h"
#include "common/counters.h"
#include "common/mutate.h"

typedef struct {
    const char *name, *s;
    int res, classes, layers;
    double params, flops;
    double true_m;          /* true params no-SE, in the table's unit (M), 3 decimals; 0 = compare true_k */
    double true_k;          /* in K, 1 decimal (05M row) */
    double sc_params, sc_flops; /* scoring network; 0 where §9.3 gives none */
    int sc_layers;
} zennet;

static const zennet Z[] = {
    {"05M", "SuperConvK3BNRELU(3,64,1,1)SuperResK1K5K1(64,168,1,16,3)SuperResK1K3K1(168,80,2,32,4)SuperResK1K5K1(80,112,2,16,3)SuperResK1K5K1(112,144,1,24,3)SuperResK1K3K1(144,32,2,40,1)SuperConvK1BNRELU(32,512,1,1)",
     32, 100, 16, 540297, 135024896, 0, 546.6, 485873, 121772416, 87},
    {"1M", "SuperConvK3BNRELU(3,88,1,1)SuperResK1K7K1(88,120,1,16,1)SuperResK1K7K1(120,192,2,16,3)SuperResK1K5K1(192,224,1,24,4)SuperResK1K5K1(224,96,2,24,2)SuperResK1K3K1(96,168,2,40,3)SuperResK1K3K1(168,112,1,48,3)SuperConvK1BNRELU(112,512,1,1)",
     32, 100, 18, 1031185, 155216928, 1.041, 0, 897217, 131012736, 99},
    {"2M", "SuperConvK3BNRELU(3,32,1,1)SuperResK1K5K1(32,120,1,40,1)SuperResK1K5K1(120,176,2,32,3)SuperResK1K7K1(176,272,1,24,3)SuperResK1K3K1(272,176,1,56,3)SuperResK1K3K1(176,176,1,64,4)SuperResK1K5K1(176,216,2,40,2)SuperResK1K3K1(216,72,2,56,2)SuperConvK1BNRELU(72,512,1,1)",
     32, 100, 20, 2015081, 478208032, 2.028, 0, 1808625, 439515776, 111},
    {"400M", "SuperConvK3BNRELU(3,16,2,1)SuperResIDWE1K7(16,40,2,40,1)SuperResIDWE1K7(40,64,2,64,1)SuperResIDWE4K7(64,96,2,96,5)SuperResIDWE2K7(96,224,2,224,5)SuperConvK1BNRELU(224,2048,1,1)",
     224, 1000, 14, 5673833, 399976216, 5.698, 0, 5642561, 398356864, 75},
    {"600M", "SuperConvK3BNRELU(3,24,2,1)SuperResIDWE1K7(24,48,2,48,1)SuperResIDWE2K7(48,72,2,72,1)SuperResIDWE6K7(72,96,2,88,5)SuperResIDWE4K7(96,192,2,168,5)SuperConvK1BNRELU(192,2048,1,1)",
     224, 1000, 14, 7088025, 597745802, 7.126, 0, 6691777, 566228904, 75},
    {"900M", "SuperConvK3BNRELU(3,16,2,1)SuperResIDWE1K7(16,48,2,72,1)SuperResIDWE2K7(48,72,2,64,3)SuperResIDWE2K7(72,152,2,144,3)SuperResIDWE2K7(152,360,2,352,4)SuperResIDWE4K7(360,288,1,264,3)SuperConvK1BNRELU(288,2048,1,1)",
     224, 1000, 16, 13249321, 908691864, 13.300, 0, 11677129, 788071896, 87},
    {"01ms", "SuperConvK3BNRELU(3,24,2,1)SuperResK3K3(24,32,2,64,1)SuperResK5K5(32,64,2,32,1)SuperResK5K5(64,168,2,96,1)SuperResK1K5K1(168,320,1,120,1)SuperResK1K5K1(320,640,2,304,3)SuperResK1K5K1(640,512,1,384,1)SuperConvK1BNRELU(512,2384,1,1)",
     224, 1000, 10, 30050273, 1746251272, 30.069, 0, 0, 0, 39},
    {"02ms", "SuperConvK3BNRELU(3,24,2,1)SuperResK1K5K1(24,32,2,32,1)SuperResK1K7K1(32,104,2,64,1)SuperResK1K5K1(104,512,2,160,1)SuperResK1K5K1(512,344,1,192,1)SuperResK1K5K1(344,688,2,320,4)SuperResK1K5K1(688,680,1,304,3)SuperConvK1BNRELU(680,2552,1,1)",
     224, 1000, 13, 49651521, 3399515612, 49.682, 0, 0, 0, 69},
    {"03ms", "SuperConvK3BNRELU(3,24,2,1)SuperResK1K5K1(24,64,2,32,1)SuperResK1K3K1(64,128,2,128,1)SuperResK1K7K1(128,432,2,128,1)SuperResK1K5K1(432,272,1,160,1)SuperResK1K5K1(272,848,2,384,4)SuperResK1K5K1(848,848,1,320,3)SuperResK1K5K1(848,456,1,320,3)SuperConvK1BNRELU(456,6704,1,1)",
     224, 1000, 16, 85333321, 4851721884, 85.379, 0, 0, 0, 87},
    {"05ms", "SuperConvK3BNRELU(3,8,2,1)SuperResK1K7K1(8,64,2,32,1)SuperResK1K3K1(64,152,2,128,1)SuperResK1K5K1(152,640,2,192,4)SuperResK1K5K1(640,640,1,192,2)SuperResK1K5K1(640,1536,2,384,4)SuperResK1K5K1(1536,816,1,384,3)SuperResK1K5K1(816,816,1,384,3)SuperConvK1BNRELU(816,5304,1,1)",
     224, 1000, 20, 118113153, 8281355000, 118.180, 0, 0, 0, 111},
    {"08ms", "SuperConvK3BNRELU(3,16,2,1)SuperResK1K5K1(16,64,2,64,1)SuperResK1K3K1(64,240,2,128,2)SuperResK1K7K1(240,640,2,160,3)SuperResK1K7K1(640,768,1,192,4)SuperResK1K5K1(768,1536,2,384,5)SuperResK1K5K1(1536,1536,1,384,3)SuperResK1K5K1(1536,2304,1,384,5)SuperConvK1BNRELU(2304,4912,1,1)",
     224, 1000, 25, 182399457, 13856146544, 182.504, 0, 0, 0, 141},
    {"12ms", "SuperConvK3BNRELU(3,32,2,1)SuperResK1K5K1(32,80,2,32,1)SuperResK1K7K1(80,432,2,128,5)SuperResK1K7K1(432,640,2,192,3)SuperResK1K7K1(640,1008,1,160,5)SuperResK1K7K1(1008,976,1,160,4)SuperResK1K5K1(976,2304,2,384,5)SuperResK1K5K1(2304,2496,1,384,5)SuperConvK1BNRELU(2496,3072,1,1)",
     224, 1000, 30, 180473441, 21841846720, 180.594, 0, 0, 0, 171},
};

static void zennet_table(void **state)
{
    for (size_t i = 0; i < sizeof Z / sizeof Z[0]; i++) {
        const zennet *z = &Z[i];
        tcet_arch a;
        assert_int_equal(tcet_arch_parse(z->s, &a, NULL), 0);
        tcet_counts b, s;
        assert_int_equal(tcet_count(&a, 1, z->classes, z->res, &b), 0);
        assert_int_equal(tcet_count(&a, 0, z->classes, z->res, &s), 0);
        if (b.params != z->params || b.flops != z->flops)
            print_error("%s: budget params %.0f flops %.0f, want %.0f %.0f\n", z->name, b.params, b.flops, z->params, z->flops);
        assert_true(b.params == z->params);
        assert_true(b.flops == z->flops);
        assert_int_equal(b.layers, z->layers);
        assert_int_equal(s.layers, z->layers);
        if (z->true_m > 0) assert_true(fabs(round(b.true_params / 1e3) / 1e3 - z->true_m) < 1e-9);
        else assert_true(fabs(round(b.true_params / 1e2) / 10 - z->true_k) < 1e-9);
        if (z->sc_params > 0) {
            assert_true(s.params == z->sc_params);
            assert_true(s.flops == z->sc_flops);
        }
        assert_int_equal(s.scored_layers, z->sc_layers);
    }
}

/* §9.3: ZenNet-1M scoring network has 905 052 true torch parameters. */
static void zennet1m_scoring_true(void **state)
{
    tcet_arch a;
    assert_int_equal(tcet_arch_parse(Z[1].s, &a, NULL), 0);
    tcet_counts s;
    assert_int_equal(tcet_count(&a, 0, 100, 32, &s), 0);
    assert_int_equal(s.true_params, 905052);
    /* §9.3 finding 5: with a 10-class head the CIFAR nets fit their budgets */
    static const double ten[3] = {494217, 985105, 1969001};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tcet_arch_parse(Z[i].s, &a, NULL), 0);
        assert_int_equal(tcet_count(&a, 1, 10, 32, &s), 0);
        assert_true(s.params == ten[i]);
    }
}

/* §3 worked numbers for the scripts' initial structures. */
static void init_structures(void **state)
{
    tcet_arch a;
    tcet_counts c;
    assert_int_equal(tcet_arch_parse("SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,1,8,1)SuperResK3K3(16,32,2,16,1)"
                                     "SuperResK3K3(32,64,2,32,1)SuperResK3K3(64,64,2,32,1)SuperConvK1BNRELU(64,128,1,1)",
                                     &a, NULL), 0);
    assert_int_equal(tcet_count(&a, 1, 100, 32, &c), 0);
    assert_true(c.params == 101721);
    assert_true(c.flops == 6550784);
    assert_int_equal(c.layers, 6);
    /* scoring network = golden case "init": 94 761 / 6 318 080, 11 layers */
    assert_int_equal(tcet_count(&a, 0, 100, 32, &c), 0);
    assert_true(c.params == 94761);
    assert_true(c.flops == 6318080);
    assert_int_equal(c.scored_layers, 11);
    assert_int_equal(tcet_arch_parse("SuperConvK3BNRELU(3,8,2,1)SuperResIDWE6K3(8,32,2,8,1)SuperResIDWE6K3(32,48,2,32,1)"
                                     "SuperResIDWE6K3(48,96,2,48,1)SuperResIDWE6K3(96,128,2,96,1)SuperConvK1BNRELU(128,2048,1,1)",
                                     &a, NULL), 0);
    assert_int_equal(tcet_count(&a, 1, 1000, 224, &c), 0);
    assert_true(c.params == 2813889);
    assert_true(c.flops == 162396776);
    assert_int_equal(c.layers, 6);
}

/* Hand-derived single blocks: the projection FLOPs quirk and floor division. */
static void hand_derived(void **state)
{
    tcet_arch a;
    tcet_counts c;
    /* SuperResK3K3(16,32,2,16,1) @ R=7, 10 classes, reslink:
     * conv1 16*16*9 = 2304 params, FLOPs (2304*49)//4 = 28224; r -> 3
     * BN(16): 16, 9*16 = 144; conv2 16*32*9 = 4608, 4608*9 = 41472; BN(32): 32, 288
     * proj: 16*32+32 = 544 params, FLOPs 544 * (3/2)^2 = 1224
     * FC: 32*10 + 1 = 321 params, 320 FLOPs */
    assert_int_equal(tcet_arch_parse("SuperResK3K3(16,32,2,16,1)", &a, NULL), 0);
    assert_int_equal(tcet_count(&a, 1, 10, 7, &c), 0);
    assert_true(c.params == 2304 + 16 + 4608 + 32 + 544 + 321);
    assert_true(c.flops == 28224 + 144 + 41472 + 288 + 1224 + 320);
    assert_int_equal(c.scored_layers, 4);
    /* true: BN 2C, projection conv bias + BN 2C, full FC bias */
    assert_int_equal(c.true_params, 2304 + 32 + 4608 + 64 + (512 + 32 + 64) + 330);
    assert_int_equal(tcet_count(&a, 0, 10, 7, &c), 0);
    assert_true(c.params == 2304 + 16 + 4608 + 32 + 321);
    assert_true(c.flops == 28224 + 144 + 41472 + 288 + 320);
    assert_int_equal(c.scored_layers, 3);
    /* odd projection FLOPs: R=14, stride 2 -> r_out 7, (7/2)^2 = 12.25 (real arithmetic) */
    assert_int_equal(tcet_count(&a, 1, 10, 14, &c), 0);
    double conv = 2304.0 * 196 / 4 + 49 * 16 + 4608.0 * 49 + 49 * 32;
    assert_true(c.flops == conv + 544 * 12.25 + 320);
    /* a fractional total: SuperResK3K3(2,3,2,8,1) @ 14: 144*196//4 = 7056, BN 49*8 = 392,
     * 216*49 = 10584, BN 49*3 = 147, proj (6+3)*12.25 = 110.25, FC 30 */
    assert_int_equal(tcet_arch_parse("SuperResK3K3(2,3,2,8,1)", &a, NULL), 0);
    assert_int_equal(tcet_count(&a, 1, 10, 14, &c), 0);
    assert_true(c.flops == 18319.25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zennet_table),
        cmocka_unit_test(zennet1m_scoring_true),
        cmocka_unit_test(init_structures),
        cmocka_unit_test(hand_derived),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
