/* tcet search: evolutionary search (docs/search.md).  Rank 0 parses the
 * options, decides fresh run / resume / refusal and broadcasts the resulting
 * configuration; every other rank only scores. */
#include <fcntl.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "common/check.h"
#include "common/checkpoint.h"
#include "common/config.h"
#include "common/data.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/mpi_util.h"
#include "kernels/backend.h"
#include "master/rundir_lock.h"
#include "master/search.h"
#include "master/signals.h"
#include "worker/scorer.h"
#include "worker/binding.h"
#include "worker/lanes.h"
#include "worker/worker_loop.h"
#include "worker/selfcheck.h"

enum { EXIT_QUIETLY = -1 }; /* help shown, or the run is already finished */

static int file_exists(const char *p) { return access(p, F_OK) == 0; }

static int refuse_other(const char *path, const tcet_search_config *a, const tcet_search_config *b)
{
    char detail[512];
    if (!tcet_config_identity_diff(a, b, detail, sizeof detail)) return 0;
    return TCET_FAIL(TCET_ERR_CHECKPOINT,
                     "%s belongs to another configuration (%s; requested vs checkpoint). Use another "
                     "--save-dir for a new run, or resume without changing these options. The file was not touched.",
                     path, detail);
}

/* A finished run must have its best_structure.txt.  Older tcet wrote the
 * finished checkpoint first, so a crash in between (or an empty population)
 * left a "finished" run without it: recreate it from the checkpoint's
 * population, or fail when there is nothing to recreate it from. */
static int finished_run(const tcet_search_config *cfg, const tcet_checkpoint *ck)
{
    char best[TCET_PATH_MAX + 32];
    snprintf(best, sizeof best, "%s/best_structure.txt", cfg->save_dir);
    if (!file_exists(best)) {
        long b = -1;
        for (size_t i = 0; i < ck->npop; i++)
            if (b < 0 || ck->population[i].score > ck->population[b].score) b = (long)i;
        if (b < 0)
            return TCET_FAIL(TCET_ERR_RUNTIME, "the run in %s finished with an empty population (every candidate "
                             "was rejected or failed): there is no best structure. Start a new run with looser "
                             "budgets in another --save-dir.", cfg->save_dir);
        const char *st = ck->population[b].structure;
        TCET_TRY(tcet_write_file_atomic(best, st, strlen(st)));
        printf("%s was missing; recreated from the checkpoint's population (id %lld, score %.17g)\n", best,
               (long long)ck->population[b].id, ck->population[b].score);
    }
    printf("the run in %s already finished (%llu iterations); best structure in %s\n", cfg->save_dir,
           (unsigned long long)ck->committed, best);
    return EXIT_QUIETLY;
}

/* A run stopped before its first checkpoint was complete (a kill during
 * that write) has a search.log but no checkpoint.h5.  Nothing of it can be
 * resumed, but its configuration is in search.log (the block after its
 * "search started" line): 0 and *out when the last session recorded there
 * started that run afresh; 1 when there is none (or the last session was a
 * resume, i.e. a checkpoint existed and has since been removed). */
static int config_from_log(const char *dir, tcet_search_config *out)
{
    char path[TCET_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/search.log", dir);
    int fd = -1;
    if (access(path, F_OK) || tcet_open_own(path, O_RDONLY, 0, &fd)) {
        tcet_error_clear();
        return 1;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return 1;
    }
    char *text = NULL, line[TCET_MAX_STRUCT + TCET_PATH_MAX + 64];
    size_t len = 0, cap = 0;
    int in_block = 0, started = 0;
    while (fgets(line, sizeof line, f)) {
        int head = !strncmp(line, "tcet ", 5) && (strstr(line, " search started in ") || strstr(line, " search resumed in "));
        if (head) {
            started = strstr(line, " search started in ") != NULL;
            in_block = 1;
            len = 0;
            continue;
        }
        if (!in_block) continue;
        if (line[0] == '\n' || !strstr(line, " = ")) {
            in_block = 0;
            continue;
        }
        size_t n = strlen(line);
        if (len + n + 1 > cap) {
            cap = 2 * (len + n + 1);
            text = xrealloc(text, cap);
        }
        memcpy(text + len, line, n + 1);
        len += n;
    }
    fclose(f);
    int rc = 1;
    if (started && len > 0 && tcet_config_from_text(text, out) == 0) rc = 0;
    tcet_error_clear();
    free(text);
    return rc;
}

/* Threads and backend may change on resume (they are not part of the run's
 * identity), but the reduction order of BLAS/cuDNN depends on them: say so.
 * `backend` is the one resolved now; checkpoints from before the "backend"
 * attribute fall back to the requested values in their configuration. */
static void warn_changed_compute(const tcet_search_config *now, const char *backend, const tcet_checkpoint *ck)
{
    int threads0 = ck->backend[0] ? ck->threads : ck->config.threads;
    const char *backend0 = ck->backend[0] ? ck->backend : ck->config.backend;
    if (now->threads != threads0)
        fprintf(stderr, "tcet: WARNING: scores from here on will not match an uninterrupted run: threads %d -> %d\n",
                threads0, now->threads);
    if (strcmp(backend0, "auto") && strcmp(backend0, backend))
        fprintf(stderr, "tcet: WARNING: scores from here on will not match an uninterrupted run: backend %s -> %s\n",
                backend0, backend);
}

/* Rank 0: options -> configuration, and the checkpoint to resume from.
 * *lock_fd receives the run-directory lock, held until the run ends. */
static int prepare(int argc, char **argv, int nworkers, tcet_search_config *cfg, tcet_checkpoint *ck, int *have_ck,
                   int *lock_fd)
{
    int help = 0;
    uint64_t mask = 0;
    *have_ck = 0;
    TCET_TRY(tcet_config_parse_args(argc, argv, cfg, &help, &mask));
    if (help) {
        tcet_config_usage(stdout);
        return EXIT_QUIETLY;
    }
    TCET_TRY(tcet_config_validate(cfg));
    char path[TCET_PATH_MAX + 32];
    if (cfg->resume[0]) {
        snprintf(path, sizeof path, "%s/%s", cfg->resume, TCET_CKPT_NAME);
        /* Lock first (a live run may not have written its first checkpoint
         * yet), but never create the directory of a mistyped --resume. */
        if (file_exists(cfg->resume)) TCET_TRY(tcet_rundir_lock(cfg->resume, lock_fd));
        tcet_search_config logged;
        int from_log = 0;
        if (!file_exists(path)) {
            if (!file_exists(cfg->resume) || config_from_log(cfg->resume, &logged))
                return TCET_FAIL(TCET_ERR_CHECKPOINT, "--resume %s: no %s there (not a tcet run directory, or "
                                 "its checkpoint was removed)", cfg->resume, TCET_CKPT_NAME);
            from_log = 1;
        } else {
            TCET_TRY(tcet_checkpoint_read(path, ck));
            *have_ck = 1;
        }
        const tcet_search_config *base = from_log ? &logged : &ck->config;
        tcet_search_config merged = *base;
        tcet_config_overlay(&merged, cfg, mask);
        snprintf(merged.save_dir, sizeof merged.save_dir, "%s", cfg->resume);
        merged.resume[0] = 0;
        if (from_log) {
            char logpath[TCET_PATH_MAX + 32];
            snprintf(logpath, sizeof logpath, "%s/search.log", cfg->resume);
            TCET_TRY(refuse_other(logpath, &merged, base));
            fprintf(stderr, "tcet: NOTICE: %s has no %s: the run was stopped before its first checkpoint was "
                            "complete, so there is nothing to resume; starting it afresh with the configuration "
                            "recorded in %s (the same as rerunning its original command)\n",
                    cfg->resume, TCET_CKPT_NAME, logpath);
        } else {
            TCET_TRY(refuse_other(path, &merged, base));
        }
        *cfg = merged;
    } else {
        snprintf(path, sizeof path, "%s/%s", cfg->save_dir, TCET_CKPT_NAME);
        /* Before anything in the directory is read or written. */
        TCET_TRY(tcet_rundir_lock(cfg->save_dir, lock_fd));
        if (file_exists(path)) {
            TCET_TRY(tcet_checkpoint_read(path, ck));
            *have_ck = 1;
            if (cfg->window == 0) cfg->window = ck->config.window;
            TCET_TRY(refuse_other(path, cfg, &ck->config));
        } else {
            char best[TCET_PATH_MAX + 32];
            snprintf(best, sizeof best, "%s/best_structure.txt", cfg->save_dir);
            if (file_exists(best)) { /* the reference's skip rule */
                printf("%s exists and there is no checkpoint: nothing to do\n", best);
                return EXIT_QUIETLY;
            }
        }
    }
    if (*have_ck && ck->finished) return finished_run(cfg, ck);
    if (cfg->window == 0) cfg->window = tcet_default_window(nworkers, cfg->lanes);
    TCET_TRY(tcet_config_validate(cfg));
    if (!strcmp(cfg->dataset, "synthetic") &&
        (cfg->proxy == TCET_PROXY_TCET_SNIP || cfg->proxy == TCET_PROXY_TCET_SYNFLOW ||
         cfg->proxy == TCET_PROXY_NASWOT_LAYERWISE || cfg->proxy == TCET_PROXY_SNIP || cfg->proxy == TCET_PROXY_ZICO))
        fprintf(stderr, "tcet: NOTICE: scoring on SYNTHETIC data (N(0,1) images, uniform labels): scores "
                        "are not comparable with published ones; pass --dataset cifar100 --data DIR "
                        "(or cifar10/hdf5) for real images (spec §11.7)\n");
    return 0;
}

/* The run's dataset (NULL: synthetic) and the scorer configuration every
 * scoring thread uses. */
static int open_data(const tcet_search_config *cfg, tcet_dataset **ds, tcet_score_config *sc_cfg)
{
    if (strcmp(cfg->dataset, "synthetic"))
        TCET_TRY(tcet_dataset_open(cfg->dataset, cfg->data, cfg->resolution, cfg->num_classes, ds));
    /* A batch larger than the dataset would fail every candidate one by one
     * (and the run would "succeed" with an empty population): refuse it now.
     * ZiCo scores on two distinct batches. */
    size_t have = tcet_dataset_count(*ds);
    size_t need = (size_t)cfg->batch_size * (cfg->proxy == TCET_PROXY_ZICO ? 2u : 1u);
    if (have > 0 && have < need)
        return TCET_FAIL(TCET_ERR_DATA, "%s has %zu images but %s needs %zu distinct images per candidate "
                         "(--batch-size %d); lower --batch-size or use a larger dataset",
                         tcet_dataset_describe(*ds), have, cfg->proxy == TCET_PROXY_ZICO ? "ZiCo (2 batches)" : "a batch",
                         need, cfg->batch_size);
    memset(sc_cfg, 0, sizeof *sc_cfg);
    sc_cfg->proxy = cfg->proxy;
    sc_cfg->mode = cfg->mode;
    sc_cfg->batch_size = cfg->batch_size;
    sc_cfg->resolution = cfg->resolution;
    sc_cfg->num_classes = cfg->num_classes;
    sc_cfg->gamma = cfg->gamma;
    sc_cfg->seed = cfg->seed;
    sc_cfg->same_batch = cfg->same_batch;
    sc_cfg->zico_batches = 2;
    sc_cfg->data = *ds;
    return 0;
}

/* Scoring resources of this rank: a worker rank gets cfg->lanes lanes; a
 * single-rank run scores in-process on one backend + scorer. */
static int make_scoring(const tcet_search_config *cfg, const tcet_mpi *mpi, int device, tcet_dataset **ds,
                        tcet_lanes **lanes, tcet_backend **be, tcet_scorer **sc)
{
    tcet_score_config sc_cfg;
    TCET_TRY(open_data(cfg, ds, &sc_cfg));
    if (device < 0) device = 0; /* no GPU planned: a CPU backend (device unused) */
    if (mpi->rank > 0)
        return tcet_lanes_create(cfg->lanes, cfg->backend, device, cfg->threads, &sc_cfg, cfg, lanes);
    if (cfg->lanes > 1)
        fprintf(stderr, "tcet: notice: --lanes %d applies to worker ranks; a single-rank run scores one "
                        "candidate at a time (run under mpirun -n 2 or more to use lanes)\n", cfg->lanes);
    TCET_TRY(tcet_backend_create_checked(cfg->backend, device, cfg->threads, be));
    return tcet_scorer_create(&sc_cfg, *be, sc);
}

/* One line per worker rank on the master's stdout: which device scores
 * (rank 0 gathers them so that the lines are not interleaved). */
static void log_devices(const tcet_mpi *mpi, tcet_lanes *lanes, int nlanes)
{
    char mine[160] = "";
    if (lanes)
        snprintf(mine, sizeof mine, "%.120s, %d lane%s", tcet_lanes_backend(lanes, 0)->device, nlanes,
                 nlanes == 1 ? "" : "s");
    char *all = mpi->rank == 0 ? xmalloc(sizeof mine * (size_t)mpi->size) : NULL;
    CHECK_MPI(MPI_Gather(mine, (int)sizeof mine, MPI_CHAR, all, (int)sizeof mine, MPI_CHAR, 0, MPI_COMM_WORLD));
    if (mpi->rank == 0) {
        for (int r = 1; r < mpi->size; r++) printf("worker rank %d: %s\n", r, all + (size_t)r * sizeof mine);
        fflush(stdout);
    }
    free(all);
}

int cmd_search(int argc, char **argv)
{
    tcet_mpi mpi;
    tcet_mpi_init(&mpi);
    if (mpi.rank > 0) tcet_signals_worker(); /* only rank 0 acts on signals */
    if (mpi.size > 1) tcet_signals_follow_launcher(mpi.rank);
    tcet_search_config cfg;
    tcet_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    int have_ck = 0, code = 0, lock_fd = -1;
    char *text = NULL;
    if (mpi.rank == 0) {
        code = prepare(argc, argv, mpi.size - 1, &cfg, &ck, &have_ck, &lock_fd);
        if (code > 0) tcet_error_print();
        if (code == 0) text = tcet_config_to_text(&cfg, 0);
    }
    tcet_mpi_bcast_text(&code, &text);
    if (code != 0) {
        free(text);
        if (have_ck) tcet_checkpoint_free(&ck);
        tcet_rundir_unlock(lock_fd);
        tcet_mpi_finalize(&mpi);
        return mpi.rank == 0 && code > 0 ? code : 0;
    }
    if (mpi.rank > 0 && tcet_config_from_text(text, &cfg)) tcet_die(__FILE__, __LINE__, "%s", tcet_error_message());
    free(text);

    tcet_backend *be = NULL;
    tcet_dataset *ds = NULL;
    tcet_scorer *sc = NULL;
    tcet_lanes *lanes = NULL;
    int setup = 0, worst = 0;
    /* Which GPU each worker takes (worker/binding.h): refused layouts end
     * every rank here with exit 6, before any data is read. */
    tcet_bind_out bind;
    char *binding = NULL;
    int brc = tcet_bind_workers(&mpi, cfg.backend, &bind, &binding);
    if (brc) {
        if (mpi.rank == 0) tcet_error_print();
        if (have_ck) tcet_checkpoint_free(&ck);
        tcet_rundir_unlock(lock_fd);
        tcet_mpi_finalize(&mpi);
        return mpi.rank == 0 ? brc : 0;
    }
    if (binding && mpi.size > 1) {
        for (char *line = strtok(binding, "\n"); line; line = strtok(NULL, "\n")) printf("binding: %s\n", line);
        fflush(stdout);
    }
    free(binding);
    if (mpi.rank > 0 || mpi.size == 1) {
        setup = make_scoring(&cfg, &mpi, bind.device, &ds, &lanes, &be, &sc);
        if (lanes) be = tcet_lanes_backend(lanes, 0); /* for its name; owned by the lanes */
    }
    CHECK_MPI(MPI_Allreduce(&setup, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
    /* Every worker opens the same data, so they usually fail alike: only the
     * lowest failing rank prints, not one identical line per rank. */
    int my_fail = setup ? mpi.rank : mpi.size, first_fail = mpi.size;
    CHECK_MPI(MPI_Allreduce(&my_fail, &first_fail, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
    if (setup && mpi.rank == first_fail) tcet_error_print();
    int rc = worst;
    /* The backend the scoring ranks resolved ("auto" -> cpu/cuda): rank 1,
     * or rank 0 when it scores itself. */
    char backend[16] = "";
    if (!worst) {
        if (be) snprintf(backend, sizeof backend, "%s", be->name);
        CHECK_MPI(MPI_Bcast(backend, (int)sizeof backend, MPI_CHAR, mpi.size == 1 ? 0 : 1, MPI_COMM_WORLD));
        if (mpi.rank == 0 && have_ck) warn_changed_compute(&cfg, backend, &ck);
    }
    if (!worst && mpi.size > 1) log_devices(&mpi, lanes, cfg.lanes);
    if (!worst) {
        tcet_worker w;
        tcet_worker_init(&w, sc, be, &cfg);
        if (mpi.rank > 0) {
            rc = tcet_worker_loop(lanes);
        } else {
            tcet_master_args a = {&cfg, have_ck ? &ck : NULL, mpi.size - 1, mpi.size == 1 ? &w : NULL, backend, NULL};
            rc = tcet_master_run(&a);
            if (rc && rc != TCET_EXIT_INTERRUPTED) tcet_error_print();
        }
        tcet_worker_free(&w);
    }
    if (lanes) {
        tcet_lanes_destroy(lanes); /* its backends and scorers with it */
        be = NULL;
    }
    if (sc) tcet_scorer_destroy(sc);
    if (be) be->destroy(be);
    if (ds) tcet_dataset_close(ds);
    if (have_ck) tcet_checkpoint_free(&ck);
    tcet_rundir_unlock(lock_fd);
    tcet_mpi_finalize(&mpi);
    return mpi.rank == 0 ? rc : 0;
}
