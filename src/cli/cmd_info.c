/* tcet info: expand a structure string and print its blocks, the layers of the
 * scoring network and the reference counters of both network variants
 * (docs/semantics.md#structure-strings, docs/semantics.md#mutation): "budget" = residual network (what the budget filters see),
 * "scoring" = no residual links (what every proxy scores). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"
#include "commands.h"
#include "common/arch.h"
#include "common/counters.h"
#include "common/error.h"
#include "common/json.h"
#include "common/mutate.h"
#include "common/plan.h"
#include "common/rng.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tcet info <structure | @file> [options]\n\n"
            "Expand a ZenNAS structure string: its super blocks, the Conv/Linear layers of the\n"
            "scoring network, and the reference counters (docs/semantics.md#reference-counters) of the budget network\n"
            "(residual links, as checked against --budget-*) and of the scoring network\n"
            "(no residual links, as scored by the proxies).\n\n"
            "  <structure>            e.g. 'SuperConvK3BNRELU(3,8,1,1)SuperConvK1BNRELU(8,64,1,1)'\n"
            "  @file                  read the first line of a file\n"
            "  --num-classes N        classifier width (default 100)\n"
            "  --resolution R         input resolution (default 32; also --input-image-size)\n"
            "  --search-space S       XXBL or IDW_fixfc (also xxbl, idw), for the mutation candidates\n"
            "                         (default: IDW_fixfc if the structure has IDW blocks, else XXBL)\n"
            "  --candidates           list every block's mutation candidates with their weight (how\n"
            "                         often each occurs in the list a replacement is drawn from), the\n"
            "                         distinct count and the list length (docs/semantics.md)\n"
            "  --mutation-weights W   reference (default) or uniform, for --candidates\n"
            "  --json                 machine-readable output\n"
            "  --help                 this text\n\n"
            "exit codes: 0 ok, 2 bad structure or option\n");
}

static int cmp_str(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* --candidates: per block, every distinct candidate and how often it occurs
 * in the list the mutation draws from.  Candidates are sorted by string
 * (byte order) so that the JSON diffs cleanly against a listing made from
 * the reference's own list. */
static int print_candidates(const tcet_arch *a, int space, int weights, int json)
{
    char s[TCET_MAX_STRUCT + 1];
    tcet_arch_print(a, s, sizeof s);
    tcet_json j;
    if (json) {
        json_begin(&j, stdout, 1);
        json_obj_open(&j, NULL);
        json_str(&j, "parent", s);
        json_str(&j, "search_space", tcet_space_name(space));
        json_str(&j, "mutation_weights", tcet_weights_name(weights));
        json_arr_open(&j, "blocks");
    } else {
        printf("structure: %s\nsearch space %s, mutation weights %s\n", s, tcet_space_name(space),
               tcet_weights_name(weights));
    }
    for (int id = 0; id < a->n; id++) {
        long n = tcet_candidate_count(a, id, space);
        long len = tcet_candidate_list_length(a, id, space, weights);
        typedef struct { char *str; long w; } entry;
        entry *e = xcalloc((size_t)n, sizeof *e);
        for (long i = 0; i < n; i++) {
            tcet_block b;
            char bs[128];
            tcet_candidate_at(a, id, space, i, &b);
            tcet_block_print(&b, bs, sizeof bs);
            e[i].str = xstrdup(bs);
            e[i].w = tcet_candidate_weight(a, id, space, weights, i);
        }
        qsort(e, (size_t)n, sizeof *e, cmp_str); /* str is the first member */
        char bs[128];
        tcet_block_print(&a->b[id], bs, sizeof bs);
        if (json) {
            json_obj_open(&j, NULL);
            json_str(&j, "block", bs);
            json_int(&j, "list_length", len);
            json_arr_open(&j, "candidates");
        } else {
            printf("\nblock %d: %s: %ld distinct candidates, list length %ld\n  %6s  %s\n", id, bs, n, len, "count",
                   "candidate (probability = count / list length)");
        }
        for (long i = 0; i < n; i++) {
            if (json) {
                json_obj_open(&j, NULL);
                json_str(&j, "block", e[i].str);
                json_int(&j, "count", e[i].w);
                json_obj_close(&j);
            } else {
                printf("  %6ld  %s\n", e[i].w, e[i].str);
            }
            free(e[i].str);
        }
        free(e);
        if (json) {
            json_arr_close(&j);
            json_obj_close(&j);
        }
    }
    if (json) {
        json_arr_close(&j);
        json_obj_close(&j);
        json_end(&j);
    }
    return 0;
}

static const char *kind_name(int kind)
{
    return kind == TCET_OP_LINEAR ? "linear" : "conv";
}

void info_json_layers(tcet_json *j, const tcet_plan *p, int zennas)
{
    json_arr_open(j, "layers");
    for (int i = 0; i < p->n; i++) {
        const tcet_op *op = &p->ops[i];
        if (op->kind != TCET_OP_CONV && op->kind != TCET_OP_LINEAR) continue;
        json_obj_open(j, NULL);
        json_str(j, "name", op->name);
        json_str(j, "kind", kind_name(op->kind));
        if (zennas) json_int(j, "block", op->block);
        json_int(j, "cin", op->cin);
        json_int(j, "cout", op->cout);
        json_int(j, "k", op->k);
        json_int(j, "stride", op->stride);
        if (zennas) json_int(j, "groups", op->groups);
        json_int(j, "hin", op->hin);
        json_int(j, "hout", op->hout);
        json_obj_close(j);
    }
    json_arr_close(j);
}

/* Hidden test helper (crosscheck_python.sh): N mutated structures, chained
 * from earlier children, one per line with tcet's counters and candidate
 * counts, tab-separated. */
static int random_mutations(const tcet_arch *root, int space, int weights, long n, uint64_t seed, int classes,
                            int res)
{
    enum { POOL = 32 };
    static tcet_arch pool[POOL];
    int npool = 0;
    tcet_rng rng;
    tcet_rng_seed(&rng, seed, TCET_STREAM_MUTATION, 0);
    char s[TCET_MAX_STRUCT + 1];
    for (long it = 0; it < n; it++) {
        const tcet_arch *parent = npool > 0 && tcet_rng_below(&rng, 4) ? &pool[tcet_rng_below(&rng, (uint64_t)npool)] : root;
        tcet_arch c;
        tcet_mutate(parent, parent == root ? 1 : 2, space, weights, &rng, &c);
        tcet_counts b, sc;
        TCET_TRY(tcet_count(&c, 1, classes, res, &b));
        TCET_TRY(tcet_count(&c, 0, classes, res, &sc));
        /* keep the chain realistic (a budget, as in a search) */
        int wide = 0;
        for (int i = 0; i < c.n; i++) wide |= c.b[i].out > 4096 || c.b[i].btl > 4096;
        if (!wide && b.layers <= 40 && c.n < TCET_MAX_BLOCKS - 8) {
            if (npool < POOL) pool[npool++] = c;
            else pool[tcet_rng_below(&rng, POOL)] = c;
        }
        tcet_arch_print(&c, s, sizeof s);
        printf("%s\t%.17g\t%.17g\t%d\t%.17g\t%.17g\t%d\t%d\t%lld\t%lld\t", s, b.params, b.flops, b.layers, sc.params,
               sc.flops, sc.scored_layers, b.scored_layers, b.true_params, sc.true_params);
        for (int i = 0; i < c.n; i++) printf("%s%ld", i ? "," : "", tcet_candidate_count(&c, i, space));
        printf("\n");
    }
    return 0;
}

int cmd_info(int argc, char **argv)
{
    const char *structure = NULL, *weights_name = NULL, *space_name = NULL;
    int classes = 100, res = 32, space = -1, json = 0, candidates = 0, weights = TCET_WEIGHTS_REFERENCE, help = 0;
    long nmut = 0;
    uint64_t seed = 1;
    const arg_spec flags[] = {
        {"--json", ARG_SWITCH, &json, 1, 0, NULL},
        {"--candidates", ARG_SWITCH, &candidates, 1, 0, NULL},
        {"--mutation-weights", ARG_STR, &weights_name, 0, 0, NULL},
        {"--num-classes", ARG_INT, &classes, 1, 1000000, NULL},
        {"--resolution", ARG_INT, &res, 1, 4096, NULL},
        {"--search-space", ARG_STR, &space_name, 0, 0, NULL},
        {"--random-mutations", ARG_LONG, &nmut, 1, 100000000, NULL}, /* hidden: tests */
        {"--seed", ARG_U64, &seed, 0, 0, NULL},
    };
    if (arg_parse("info", argc, argv, flags, (int)(sizeof flags / sizeof flags[0]), NULL, NULL, "structure",
                  &structure, &help))
        goto fail;
    if (help) {
        usage(stdout);
        return 0;
    }
    if (weights_name && (weights = tcet_weights_parse(weights_name)) < 0) {
        TCET_FAIL(TCET_ERR_USAGE, "--mutation-weights expects reference or uniform, got '%s'", weights_name);
        goto fail;
    }
    if (space_name && (space = tcet_space_parse(space_name)) < 0) {
        TCET_FAIL(TCET_ERR_USAGE, "--search-space expects XXBL or IDW_fixfc (xxbl, idw), got '%s'", space_name);
        goto fail;
    }
    if (!structure) {
        usage(stderr);
        return TCET_ERR_USAGE;
    }
    tcet_arch a;
    if (tcet_arch_load(structure, &a)) goto fail;
    if (a.grammar == TCET_GRAMMAR_NB201) {
        if (info_nb201(&a, classes, res, json)) goto fail;
        return 0;
    }
    if (space < 0) {
        space = TCET_SPACE_XXBL;
        for (int i = 0; i < a.n; i++)
            if (a.b[i].family == TCET_FAM_IDW) space = TCET_SPACE_IDW_FIXFC;
    }
    if (nmut > 0) {
        if (random_mutations(&a, space, weights, nmut, seed, classes, res)) goto fail;
        return 0;
    }
    if (candidates) return print_candidates(&a, space, weights, json);

    tcet_counts bud, sco;
    if (tcet_count(&a, 1, classes, res, &bud) || tcet_count(&a, 0, classes, res, &sco)) goto fail;
    tcet_plan p;
    tcet_plan_opts o = {0, 1, classes, res};
    char plan_err[512] = "";
    if (tcet_plan_build(&a, &o, &p)) {
        /* counters stay meaningful (the reference counts unchained strings too) */
        snprintf(plan_err, sizeof plan_err, "%s", tcet_error_message());
        tcet_error_clear();
        memset(&p, 0, sizeof p);
    }
    char s[TCET_MAX_STRUCT + 1], nm[64];
    tcet_arch_print(&a, s, sizeof s);

    if (json) {
        tcet_json j;
        json_begin(&j, stdout, 1);
        json_obj_open(&j, NULL);
        json_str(&j, "structure", s);
        json_int(&j, "num_classes", classes);
        json_int(&j, "resolution", res);
        json_str(&j, "search_space", tcet_space_name(space));
        json_arr_open(&j, "blocks");
        for (int i = 0; i < a.n; i++) {
            const tcet_block *b = &a.b[i];
            json_obj_open(&j, NULL);
            json_str(&j, "name", tcet_block_name(b, nm, sizeof nm));
            json_int(&j, "in", b->in);
            json_int(&j, "out", b->out);
            json_int(&j, "stride", b->stride);
            json_int(&j, "btl", b->btl);
            json_int(&j, "sub_layers", b->layers);
            json_obj_close(&j);
        }
        json_arr_close(&j);
        const tcet_counts *cs[2] = {&bud, &sco};
        const char *keys[2] = {"budget", "scoring"};
        for (int v = 0; v < 2; v++) {
            json_obj_open(&j, keys[v]);
            json_num(&j, "params", cs[v]->params);
            json_num(&j, "flops", cs[v]->flops);
            json_int(&j, "layers", cs[v]->layers);
            json_int(&j, "scored_layers", cs[v]->scored_layers);
            json_int(&j, "true_params", cs[v]->true_params);
            json_obj_close(&j);
        }
        json_int(&j, "true_params", bud.true_params);
        if (plan_err[0]) json_str(&j, "plan_error", plan_err);
        info_json_layers(&j, &p, 1);
        json_arr_open(&j, "candidates");
        for (int i = 0; i < a.n; i++) json_int(&j, NULL, tcet_candidate_count(&a, i, space));
        json_arr_close(&j);
        json_obj_close(&j);
        json_end(&j);
    } else {
        printf("structure: %s\n", s);
        printf("classes %d, resolution %d, search space %s\n\n", classes, res, tcet_space_name(space));
        printf("blocks:\n  %3s  %-18s %6s %6s %6s %6s %4s %11s %11s\n", "#", "block", "in", "out", "stride", "btl", "L",
               "resolution", "candidates");
        for (int i = 0; i < a.n; i++) {
            const tcet_block *b = &a.b[i];
            int hin = 0, hout = 0; /* true sizes from the plan (first/last op of the block) */
            for (int k = 0; k < p.n; k++)
                if (p.ops[k].block == i) {
                    if (!hin) hin = p.ops[k].hin;
                    hout = p.ops[k].hout;
                }
            char rs[32] = "-";
            if (hin) snprintf(rs, sizeof rs, "%d->%d", hin, hout);
            printf("  %3d  %-18s %6d %6d %6d %6d %4d %11s %11ld\n", i, tcet_block_name(b, nm, sizeof nm), b->in, b->out,
                   b->stride, b->btl, b->layers, rs, tcet_candidate_count(&a, i, space));
        }
        if (plan_err[0]) {
            printf("\nlayers: not available: %s\n", plan_err);
        } else {
            printf("\nscoring network (no residual links), Conv2d/Linear layers in PyTorch module order:\n");
            printf("  %3s  %-44s %-6s %6s %6s %2s %2s %6s %5s %5s\n", "#", "name", "kind", "cin", "cout", "k", "s",
                   "groups", "hin", "hout");
            int li = 0;
            for (int i = 0; i < p.n; i++) {
                const tcet_op *op = &p.ops[i];
                if (op->kind != TCET_OP_CONV && op->kind != TCET_OP_LINEAR) continue;
                printf("  %3d  %-44s %-6s %6d %6d %2d %2d %6d %5d %5d\n", li++, op->name, kind_name(op->kind), op->cin,
                       op->cout, op->k, op->stride, op->groups, op->hin, op->hout);
            }
        }
        printf("\n%-22s %18s %18s\n", "counters", "budget (reslink)", "scoring (plain)");
        printf("%-22s ", "params");
        printf("%18.0f %18.0f\n", bud.params, sco.params);
        printf("%-22s ", "FLOPs");
        char fb[64], fs[64];
        snprintf(fb, sizeof fb, bud.flops == floor(bud.flops) ? "%.0f" : "%.2f", bud.flops);
        snprintf(fs, sizeof fs, sco.flops == floor(sco.flops) ? "%.0f" : "%.2f", sco.flops);
        printf("%18s %18s\n", fb, fs);
        printf("%-22s %18d %18d\n", "layers (sum of L)", bud.layers, sco.layers);
        printf("%-22s %18d %18d\n", "Conv/Linear layers", bud.scored_layers, sco.scored_layers);
        printf("%-22s %18lld %18lld\n", "true torch params", bud.true_params, sco.true_params);
    }
    tcet_plan_free(&p);
    return 0;
fail:
    tcet_error_print();
    return tcet_error_code() ? tcet_error_code() : TCET_ERR_USAGE;
}
