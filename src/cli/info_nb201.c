/* `tcet info` for a NAS-Bench-201 cell: the cell, every Conv2d/Linear layer
 * of the network (the T-CET layer axis) and the counters (docs/nb201.md). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "common/error.h"
#include "common/json.h"
#include "common/nb201.h"
#include "common/plan.h"

int info_nb201(const tcet_arch *a, int classes, int res, int json)
{
    tcet_nb201_counts c;
    TCET_TRY(tcet_nb201_count(a, classes, res, &c));
    tcet_plan p;
    tcet_plan_opts o = {.reslink = 0, .bn = 1, .num_classes = classes, .resolution = res};
    TCET_TRY(tcet_nb201_plan(a, &o, &p));
    char s[256], t[64];
    tcet_nb201_print(a, s, sizeof s);
    tcet_nb201_print_tuple(a, t, sizeof t);
    /* NASLib's FLOPs convention (docs/nb201.md) */
    double naslib_flops = (double)(c.conv_macs + c.fc_macs + 3 * c.bn_elems + c.pool_flops + 32LL * res + 64);
    if (json) {
        tcet_json j;
        json_begin(&j, stdout, 1);
        json_obj_open(&j, NULL);
        json_str(&j, "structure", s);
        json_str(&j, "tuple", t);
        json_str(&j, "search_space", "nb201");
        json_int(&j, "num_classes", classes);
        json_int(&j, "resolution", res);
        json_arr_open(&j, "edges");
        for (int e = 0; e < TCET_NB201_EDGES; e++) {
            json_obj_open(&j, NULL);
            json_int(&j, "from", tcet_nb201_edge_from[e]);
            json_int(&j, "to", tcet_nb201_edge_to[e]);
            json_str(&j, "op", tcet_nb201_op_name(a->cell[e]));
            json_obj_close(&j);
        }
        json_arr_close(&j);
        json_obj_open(&j, "counters");
        json_int(&j, "params", c.params);
        json_int(&j, "flops", c.conv_macs + c.fc_macs);
        json_num(&j, "naslib_flops", naslib_flops);
        json_int(&j, "scored_layers", c.convs + 1);
        json_int(&j, "bn", c.bns);
        json_int(&j, "pools", c.pools);
        json_obj_close(&j);
        info_json_layers(&j, &p, 0);
        json_obj_close(&j);
        json_end(&j);
    } else {
        printf("structure: %s\n", s);
        printf("NASLib tuple: %s\n", t);
        printf("search space NAS-Bench-201, classes %d, resolution %d\n\ncell edges:\n", classes, res);
        for (int e = 0; e < TCET_NB201_EDGES; e++)
            printf("  %d -> %d  %s\n", tcet_nb201_edge_from[e], tcet_nb201_edge_to[e], tcet_nb201_op_name(a->cell[e]));
        printf("\nConv2d/Linear layers in PyTorch module order (the T-CET layer axis):\n");
        printf("  %3s  %-34s %-6s %5s %5s %2s %2s %5s %5s\n", "#", "name", "kind", "cin", "cout", "k", "s", "hin",
               "hout");
        int li = 0;
        for (int i = 0; i < p.n; i++) {
            const tcet_op *op = &p.ops[i];
            if (op->kind != TCET_OP_CONV && op->kind != TCET_OP_LINEAR) continue;
            printf("  %3d  %-34s %-6s %5d %5d %2d %2d %5d %5d\n", li++, op->name,
                   op->kind == TCET_OP_CONV ? "conv" : "linear", op->cin, op->cout, op->k, op->stride, op->hin,
                   op->hout);
        }
        printf("\n%-34s %14lld\n", "params (exact, affine BN)", c.params);
        printf("%-34s %14lld\n", "FLOPs (conv + classifier MACs)", c.conv_macs + c.fc_macs);
        printf("%-34s %14.0f\n", "FLOPs, NASLib's convention", naslib_flops);
        printf("%-34s %14d\n", "Conv/Linear layers", c.convs + 1);
    }
    tcet_plan_free(&p);
    return 0;
}
