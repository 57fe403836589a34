/* tcet plot: a self-contained SVG report of a run (docs/jobs.md "Looking
 * at a run"): the best and median population score over the iterations
 * (replayed from the checkpoint's history) and the score against the
 * parameter count of every candidate scored ok.  Plain SVG 1.1, no scripts,
 * no external fonts or files.  Element ids (stable, used by the tests):
 * series-best, series-median (polylines; data-final = the value after the last
 * committed iteration), series-scatter (a group of circles), point-best (the
 * best candidate, highlighted; data-id = its candidate id). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"
#include "commands.h"
#include "common/error.h"
#include "master/report.h"

enum { MAX_LINE_POINTS = 2000, MAX_SCATTER = 20000 };

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tcet plot RUN_DIR|checkpoint.h5 -o report.svg [--title TEXT]\n\n"
            "Write a self-contained SVG: best and median population score over the\n"
            "iterations, and score vs parameters of every candidate scored ok (at most %d\n"
            "points, evenly thinned, the best always kept; failed and rejected candidates are\n"
            "counted in the caption, not drawn). View it in a browser or convert it, e.g.\n"
            "rsvg-convert report.svg -o report.png.\n\n"
            "  -o, --output FILE   the SVG to write (required; '-' = stdout)\n"
            "  --title TEXT        heading (default: the run directory)\n\n"
            "exit codes: 0 ok, 1 cannot write, 2 usage, 4 checkpoint refused\n",
            MAX_SCATTER);
}

typedef struct {
    double x0, x1, y0, y1;       /* data range */
    double px, py, pw, ph;       /* plot area in SVG units */
} frame;

static double fx(const frame *f, double x) { return f->px + (x - f->x0) / (f->x1 - f->x0) * f->pw; }
static double fy(const frame *f, double y) { return f->py + f->ph - (y - f->y0) / (f->y1 - f->y0) * f->ph; }

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about n ticks. */
static double nice_step(double span, int n)
{
    double raw = span / n, p = pow(10.0, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void widen(double *lo, double *hi)
{
    if (!isfinite(*lo) || !isfinite(*hi)) {
        *lo = 0;
        *hi = 1;
    }
    if (*hi - *lo < 1e-12 * (fabs(*hi) + 1)) {
        double d = fabs(*hi) * 0.05 + 0.5;
        *lo -= d;
        *hi += d;
    } else {
        double d = 0.04 * (*hi - *lo);
        *lo -= d;
        *hi += d;
    }
}

static void esc(FILE *o, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '&': fputs("&amp;", o); break;
        case '"': fputs("&quot;", o); break;
        default: fputc(*s, o);
        }
    }
}

static void axes(FILE *o, const frame *f, const char *xlabel, const char *ylabel, double xscale)
{
    fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#444\"/>\n", f->px, f->py, f->pw, f->ph);
    double sx = nice_step(f->x1 - f->x0, 6), sy = nice_step(f->y1 - f->y0, 6);
    fprintf(o, "<g class=\"ticks\" font-size=\"11\" fill=\"#333\">\n");
    for (double x = ceil(f->x0 / sx) * sx; x <= f->x1 + 1e-9 * sx; x += sx) {
        double X = fx(f, x);
        fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                X, f->py, X, f->py + f->ph, X, f->py + f->ph + 15, fabs(x) < 1e-12 * sx ? 0 : x / xscale);
    }
    for (double y = ceil(f->y0 / sy) * sy; y <= f->y1 + 1e-9 * sy; y += sy) {
        double Y = fy(f, y);
        fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.6g</text>\n",
                f->px, Y, f->px + f->pw, Y, f->px - 5, Y + 4, fabs(y) < 1e-12 * sy ? 0 : y);
    }
    fprintf(o, "</g>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\">%s</text>\n",
            f->px + f->pw / 2, f->py + f->ph + 34, xlabel);
    fprintf(o, "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\" "
               "font-size=\"13\">%s</text>\n", f->px - 62, f->py + f->ph / 2, ylabel);
}

static int write_svg(FILE *o, const tcet_run *r, const char *title)
{
    const tcet_checkpoint *ck = &r->ck;
    tcet_pop_point *pts = xmalloc(MAX_LINE_POINTS * sizeof *pts);
    size_t np = tcet_run_trajectory(r, pts, MAX_LINE_POINTS);

    /* Panel 1 ranges: failure scores (-9999) would flatten the curves, so the
     * y range covers the other values and lower points are clamped. */
    const double fail = -9999.0;
    double y0 = INFINITY, y1 = -INFINITY;
    for (size_t i = 0; i < np; i++) {
        double v[2] = {pts[i].best, pts[i].median};
        for (int k = 0; k < 2; k++)
            if (isfinite(v[k]) && v[k] != fail) {
                if (v[k] < y0) y0 = v[k];
                if (v[k] > y1) y1 = v[k];
            }
    }
    widen(&y0, &y1);
    frame f1 = {0, (double)(ck->nhist ? ck->nhist : 1), y0, y1, 90, 70, 760, 300};

    /* Panel 2: ok candidates, thinned evenly, best kept. */
    size_t nok = 0, best_i = (size_t)-1;
    for (size_t i = 0; i < ck->nhist; i++) {
        const tcet_cand *c = &ck->history[i];
        if (c->status != TCET_CAND_OK || !isfinite(c->score)) continue;
        nok++;
        if (best_i == (size_t)-1 || c->score > ck->history[best_i].score) best_i = i;
    }
    size_t stride = nok > MAX_SCATTER ? (nok + MAX_SCATTER - 1) / MAX_SCATTER : 1;
    double ax0 = INFINITY, ax1 = -INFINITY, ay0 = INFINITY, ay1 = -INFINITY;
    for (size_t i = 0; i < ck->nhist; i++) {
        const tcet_cand *c = &ck->history[i];
        if (c->status != TCET_CAND_OK || !isfinite(c->score)) continue;
        ax0 = fmin(ax0, c->params);
        ax1 = fmax(ax1, c->params);
        ay0 = fmin(ay0, c->score);
        ay1 = fmax(ay1, c->score);
    }
    widen(&ax0, &ax1);
    widen(&ay0, &ay1);
    frame f2 = {ax0, ax1, ay0, ay1, 90, 470, 760, 300};

    const uint64_t *k = ck->counts;
    uint64_t rejected = k[TCET_CAND_REJ_LAYERS] + k[TCET_CAND_REJ_PARAMS] + k[TCET_CAND_REJ_FLOPS] +
                        k[TCET_CAND_REJ_LATENCY];
    char proxy[64], data[TCET_PATH_MAX + 128];
    int synthetic = 0;
    tcet_run_config(r, "proxy", proxy, sizeof proxy);
    tcet_run_data_label(r, data, sizeof data, &synthetic);

    fprintf(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"900\" "
               "height=\"840\" viewBox=\"0 0 900 840\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n"
               "<title>");
    esc(o, title);
    fprintf(o, "</title>\n<rect width=\"900\" height=\"840\" fill=\"white\"/>\n"
               "<text x=\"450\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">");
    esc(o, title);
    fprintf(o, "</text>\n<text x=\"450\" y=\"44\" text-anchor=\"middle\" font-size=\"12\" fill=\"#333\">"
               "proxy %s%s, %s, %llu / %ld iterations: %llu ok, %llu non-finite, %llu failed, %llu rejected"
               "</text>\n",
            proxy, synthetic ? " on SYNTHETIC data" : "", ck->finished ? "finished" : "in progress", (unsigned long long)ck->committed,
            ck->config.max_iter, (unsigned long long)k[TCET_CAND_OK],
            (unsigned long long)k[TCET_CAND_NONFINITE], (unsigned long long)k[TCET_CAND_FAILED],
            (unsigned long long)rejected);

    /* Panel 1. */
    fprintf(o, "<text x=\"90\" y=\"62\" font-size=\"13\" font-weight=\"bold\">Population score over "
               "iterations</text>\n");
    axes(o, &f1, "iteration", "score", 1.0);
    const char *ids[2] = {"series-best", "series-median"}, *cols[2] = {"#c0392b", "#2471a3"};
    for (int s = 0; s < 2; s++) {
        size_t cnt = 0;
        for (size_t i = 0; i < np; i++) cnt += isfinite(s ? pts[i].median : pts[i].best);
        double last = np ? (s ? pts[np - 1].median : pts[np - 1].best) : NAN;
        fprintf(o, "<polyline id=\"%s\" data-points=\"%zu\" data-final=\"%.17g\" fill=\"none\" "
                   "stroke=\"%s\" stroke-width=\"2\" points=\"", ids[s], cnt, last, cols[s]);
        for (size_t i = 0; i < np; i++) {
            double v = s ? pts[i].median : pts[i].best;
            if (!isfinite(v)) continue;
            if (v < f1.y0) v = f1.y0;
            fprintf(o, "%.2f,%.2f ", fx(&f1, (double)pts[i].iter), fy(&f1, v));
        }
        fprintf(o, "\"/>\n");
    }
    /* Legend. */
    fprintf(o, "<g id=\"legend\" font-size=\"12\">\n"
               "<line x1=\"530\" y1=\"58\" x2=\"555\" y2=\"58\" stroke=\"%s\" stroke-width=\"2\"/>"
               "<text x=\"560\" y=\"62\">best in population</text>\n"
               "<line x1=\"690\" y1=\"58\" x2=\"715\" y2=\"58\" stroke=\"%s\" stroke-width=\"2\"/>"
               "<text x=\"720\" y=\"62\">median of population</text>\n</g>\n",
            cols[0], cols[1]);

    /* Panel 2. */
    fprintf(o, "<text x=\"90\" y=\"462\" font-size=\"13\" font-weight=\"bold\">Score vs parameters "
               "(%zu scored ok%s)</text>\n",
            nok, stride > 1 ? ", thinned" : "");
    axes(o, &f2, "parameters (millions, reference counter of the budget network)", "score", 1e6);
    fprintf(o, "<g id=\"series-scatter\" data-points=\"%zu\" fill=\"#2471a3\" fill-opacity=\"0.45\">\n",
            nok > MAX_SCATTER ? (nok + stride - 1) / stride : nok);
    size_t seen = 0;
    for (size_t i = 0; i < ck->nhist; i++) {
        const tcet_cand *c = &ck->history[i];
        if (c->status != TCET_CAND_OK || !isfinite(c->score)) continue;
        if (seen++ % stride != 0) continue;
        fprintf(o, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\"/>\n", fx(&f2, c->params), fy(&f2, c->score));
    }
    fprintf(o, "</g>\n");
    if (best_i != (size_t)-1) {
        const tcet_cand *c = &ck->history[best_i];
        fprintf(o, "<circle id=\"point-best\" data-id=\"%lld\" cx=\"%.2f\" cy=\"%.2f\" r=\"5\" "
                   "fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\"/>\n"
                   "<g id=\"legend-scatter\" font-size=\"12\"><circle cx=\"590\" cy=\"458\" r=\"3\" "
                   "fill=\"#2471a3\"/><text x=\"600\" y=\"462\">scored candidate</text>"
                   "<circle cx=\"720\" cy=\"458\" r=\"5\" fill=\"none\" stroke=\"#c0392b\" "
                   "stroke-width=\"2\"/><text x=\"730\" y=\"462\">best (id %lld)</text></g>\n",
                (long long)c->id, fx(&f2, c->params), fy(&f2, c->score), (long long)c->id);
    }
    fprintf(o, "</svg>\n");
    free(pts);
    return ferror(o) ? TCET_FAIL(TCET_ERR_RUNTIME, "writing the SVG failed") : TCET_OK;
}

int cmd_plot(int argc, char **argv)
{
    const char *path = NULL, *out = NULL, *title = NULL;
    int help = 0;
    const arg_spec flags[] = {{"--output", ARG_STR, &out, 0, 0, "-o"}, {"--title", ARG_STR, &title, 0, 0, NULL}};
    if (arg_parse("plot", argc, argv, flags, 2, NULL, NULL, "run", &path, &help)) goto fail;
    if (!help && path && !out) {
        usage(stderr);
        fprintf(stderr, "\ntcet: error: tcet plot needs -o FILE.svg\n");
        return TCET_ERR_USAGE;
    }
    tcet_run r;
    int rc_open = cli_open_run(help, path, usage, &r);
    if (rc_open) return rc_open < 0 ? 0 : rc_open;
    FILE *o = strcmp(out, "-") ? fopen(out, "w") : stdout;
    if (!o) {
        tcet_run_close(&r);
        TCET_FAIL(TCET_ERR_RUNTIME, "%s: cannot write the SVG (check the directory exists and is writable)", out);
        goto fail;
    }
    int rc = write_svg(o, &r, title ? title : r.run_dir);
    if (o != stdout && fclose(o) != 0 && rc == TCET_OK)
        rc = TCET_FAIL(TCET_ERR_RUNTIME, "%s: writing failed (disk full?)", out);
    tcet_run_close(&r);
    if (rc) goto fail;
    if (o != stdout) fprintf(stderr, "tcet plot: wrote %s\n", out);
    return 0;
fail:
    tcet_error_print();
    return tcet_error_code() ? tcet_error_code() : TCET_ERR_USAGE;
}
