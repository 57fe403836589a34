/* How many workers one master keeps busy (docs/jobs.md, "Sizing a job").
 *
 * Runs the real master loop (generation, budget filters, dispatch, in-order
 * commit, events.jsonl, checkpoints) against simulated workers
 * (tests/support/master_sim.h) that spend a fixed wall-clock time per
 * candidate, for a range of worker counts, and prints per count: candidates
 * committed and scored per second, the master's CPU time per candidate
 * (the simulator's own CPU time subtracted) and the workers' idle fraction
 * 1 - busy / (workers x time from the first task to the last result).
 *
 *   tcet_master_throughput [--workers 8,16,...] [--delay-ms 50] [--jitter 0]
 *                          [--seconds 10] [--window-per-worker K] [--preset NAME]
 *
 * --window-per-worker K sets --window to K x workers (0: the search's default). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/config.h"
#include "common/error.h"
#include "common/mpi_util.h"
#include "master/search.h"
#include "master_sim.h"

static double process_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

static int run_one(const char *preset, int nworkers, double delay, double jitter, double seconds, int wpw)
{
    char dir[] = "/tmp/tcet_master_tp.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    /* Iterations for about `seconds` of work at full speed; about 45 % of the
     * children of the CIFAR presets are rejected by the budgets, unscored. */
    long iters = (long)(seconds * nworkers / delay / 0.55);
    char a_iters[32], a_window[32], a_dir[64];
    snprintf(a_iters, sizeof a_iters, "%ld", iters);
    snprintf(a_window, sizeof a_window, "%d", wpw > 0 ? wpw * nworkers : 0);
    snprintf(a_dir, sizeof a_dir, "%s", dir);
    char *argv[] = {"search", "--preset", (char *)preset, "--dataset", "synthetic", "--proxy", "params",
                    "--evolution-max-iter", a_iters, "--window", a_window, "--save-dir", a_dir, NULL};
    int argc = (int)(sizeof argv / sizeof argv[0]) - 1;
    tcet_search_config cfg;
    int help = 0;
    if (tcet_config_parse_args(argc, argv, &cfg, &help, NULL)) {
        tcet_error_print();
        return 1;
    }
    if (cfg.window == 0) cfg.window = tcet_default_window(nworkers, cfg.lanes);
    tcet_transport t;
    tcet_sim *sim = tcet_sim_create(nworkers, delay, jitter, cfg.num_classes, cfg.resolution, &t);
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w"); /* the master's progress lines */
    double c0 = process_cpu(), t0 = tcet_now();
    tcet_master_args args = {&cfg, NULL, nworkers, NULL, "sim", &t};
    int rc = tcet_master_run(&args);
    double wall = tcet_now() - t0, cpu = process_cpu() - c0;
    fclose(stdout);
    stdout = saved;
    tcet_sim_stats st;
    tcet_sim_stats_get(sim, &st);
    tcet_sim_destroy(sim);
    if (rc) {
        tcet_error_print();
        return 1;
    }
    double span = st.last_result - st.first_task;
    double idle = span > 0 ? 1 - st.busy_s / (nworkers * span) : 0;
    double master_cpu = cpu - st.sim_cpu_s;
    printf("%8d %8d %9ld %10.0f %10.0f %10.0f %12.1f %9.1f %%\n", nworkers, cfg.window, iters, (double)iters / span,
           (double)st.tasks / span, nworkers / delay, 1e6 * master_cpu / (double)iters, 100 * idle);
    (void)wall;
    fflush(stdout);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *workers = "8,16,32,64,128,256", *preset = "cifar-params1M-params";
    double delay = 0.05, jitter = 0, seconds = 10;
    int wpw = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--workers") && i + 1 < argc) workers = argv[++i];
        else if (!strcmp(argv[i], "--delay-ms") && i + 1 < argc) delay = atof(argv[++i]) / 1000;
        else if (!strcmp(argv[i], "--jitter") && i + 1 < argc) jitter = atof(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--window-per-worker") && i + 1 < argc) wpw = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--preset") && i + 1 < argc) preset = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--workers 8,16,...] [--delay-ms 50] [--jitter 0] [--seconds 10] "
                            "[--window-per-worker K] [--preset NAME]\n", argv[0]);
            return 2;
        }
    }
    if (delay <= 0 || seconds <= 0) {
        fprintf(stderr, "--delay-ms and --seconds must be positive\n");
        return 2;
    }
    printf("master throughput: preset %s (Params proxy), simulated workers, %.1f ms per candidate (jitter %.0f %%), "
           "about %.0f s per row\n", preset, 1e3 * delay, 100 * jitter, seconds);
    printf("%8s %8s %9s %10s %10s %10s %12s %11s\n", "workers", "window", "iters", "commit/s", "scored/s",
           "ideal/s", "master_us/it", "idle");
    char *list = strdup(workers);
    int rc = 0;
    for (char *tok = strtok(list, ","); tok && !rc; tok = strtok(NULL, ",")) {
        int n = atoi(tok);
        if (n < 1) {
            fprintf(stderr, "bad worker count '%s'\n", tok);
            rc = 2;
            break;
        }
        rc = run_one(preset, n, delay, jitter, seconds, wpw);
    }
    free(list);
    return rc;
}
