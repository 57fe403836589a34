/* tcet search: evolutionary search (docs/search.md).  Rank 0 parses the
 * options, decides fresh run / resume / refusal and broadcasts the resulting
 * configuration; every other rank only scores. */
#include <fcntl.h>
#include <mpi.h>
#include <errno.h>
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
        long b = tcet_cand_best(ck->population, ck->npop);
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

/* The checkpoint of a run directory: the latest, or, when the latest fails
 * its seal (a disk fault, a file system without atomic rename) or is
 * missing, the previous one kept beside it, with a warning.  *fell_back is
 * set then, so that the damaged latest is moved aside before the run writes
 * (otherwise the next rotation would keep it as "previous"). */
static int read_checkpoint(const char *dir, tcet_checkpoint *ck, int *fell_back)
{
    char latest[TCET_PATH_MAX + 32], prev[TCET_PATH_MAX + 32];
    snprintf(latest, sizeof latest, "%s/%s", dir, TCET_CKPT_NAME);
    snprintf(prev, sizeof prev, "%s/%s", dir, TCET_CKPT_PREV_NAME);
    *fell_back = 0;
    int have_latest = file_exists(latest);
    int rc = have_latest ? tcet_checkpoint_read(latest, ck) : TCET_ERR_CHECKPOINT;
    if (rc == 0 || !file_exists(prev)) {
        if (rc && !have_latest) return TCET_FAIL(TCET_ERR_CHECKPOINT, "no %s in %s", TCET_CKPT_NAME, dir);
        return rc;
    }
    char why[600];
    snprintf(why, sizeof why, "%s", have_latest ? tcet_error_message() : "it is missing");
    tcet_error_clear();
    memset(ck, 0, sizeof *ck);
    if (tcet_checkpoint_read(prev, ck)) {
        char why_prev[600];
        snprintf(why_prev, sizeof why_prev, "%s", tcet_error_message());
        tcet_error_clear();
        return TCET_FAIL(TCET_ERR_CHECKPOINT, "%s (and the previous checkpoint is unusable too: %s); start a new run "
                         "in another --save-dir", why, why_prev);
    }
    fprintf(stderr, "tcet: WARNING: the latest checkpoint %s is unusable (%s); resuming from the previous checkpoint "
                    "%s (iteration %llu): the work since it is redone\n",
            latest, why, prev, (unsigned long long)ck->committed);
    *fell_back = have_latest;
    return 0;
}

/* After a fall-back: keep the damaged latest for inspection, out of the way
 * of the rotation (checkpoint.h5 -> checkpoint.prev.h5 at the next write). */
static int set_aside_damaged(const char *dir)
{
    char latest[TCET_PATH_MAX + 32], aside[TCET_PATH_MAX + 48];
    snprintf(latest, sizeof latest, "%s/%s", dir, TCET_CKPT_NAME);
    snprintf(aside, sizeof aside, "%s/%s.damaged", dir, TCET_CKPT_NAME);
    if (rename(latest, aside))
        return TCET_FAIL(TCET_ERR_RUNTIME, "cannot move the damaged %s aside to %s: %s (hint: check the permissions "
                         "of %s)", latest, aside, strerror(errno), dir);
    fprintf(stderr, "tcet: the damaged checkpoint was kept as %s\n", aside);
    return 0;
}

/* --resume: only the flags that do not change the run (see
 * tcet_config_resume_refused) may come with it; name every other one. */
static int refuse_resume_flags(int argc, char **argv, const tcet_search_config *cfg, uint64_t mask)
{
    for (int k = 0; tcet_config_flag(k); k++)
        if (!strcmp(tcet_config_flag(k), "--save-dir") && !strcmp(cfg->save_dir, cfg->resume))
            mask &= ~(1ULL << k); /* the same directory again is harmless */
    char refused[1024];
    int n = tcet_config_resume_refused(mask, refused, sizeof refused);
    int preset = 0;
    for (int i = 1; i < argc; i++) preset |= !strcmp(argv[i], "--preset") || !strncmp(argv[i], "--preset=", 9);
    if (!n && !preset) return 0;
    return TCET_FAIL(TCET_ERR_USAGE, "--resume %s continues the run with the configuration in its checkpoint; %s%s%s "
                     "cannot be given with it (only --backend, --threads, --lanes, --checkpoint-every and a longer "
                     "--evolution-max-iter may change on resume, docs/search.md); start a new run in another "
                     "--save-dir to change the others", cfg->resume, preset ? "--preset" : "", preset && n ? ", " : "",
                     refused);
}

/* A new run: infer the kind of --data when --dataset is not given, and
 * refuse synthetic data nobody asked for. */
static int resolve_data(tcet_search_config *cfg)
{
    if (cfg->data[0] && !strcmp(cfg->dataset, "synthetic") && cfg->dataset_explicit == 1)
        return TCET_FAIL(TCET_ERR_USAGE, "--dataset synthetic reads no data, but --data %s was given: drop one of "
                         "them (--data alone recognises the kind of dataset)", cfg->data);
    if (cfg->data[0] && cfg->dataset_explicit != 1) { /* --data alone (a preset's choice gives way) */
        char kind[32];
        TCET_TRY(tcet_dataset_infer(cfg->data, kind, sizeof kind));
        snprintf(cfg->dataset, sizeof cfg->dataset, "%s", kind);
    }
    if (!cfg->data_missing) return 0;
    if (strcmp(cfg->dataset, "synthetic"))
        return TCET_FAIL(TCET_ERR_USAGE, "--preset %s scores on %s images, but no --data was given: pass "
                         "--dataset/--data (e.g. --data DIR, docs/data.md), or --dataset synthetic to score on "
                         "synthetic noise images on purpose", cfg->preset[0] ? cfg->preset : "", cfg->dataset);
    return TCET_FAIL(TCET_ERR_USAGE, "proxy %s scores on training images, but no data was given: pass "
                     "--dataset/--data (e.g. --dataset cifar100 --data DIR, docs/data.md), or --dataset synthetic "
                     "to score on synthetic noise images on purpose", tcet_proxy_name(cfg->proxy));
}

/* --print-config: the resolved configuration and what would be read. */
static void print_config(const tcet_search_config *cfg, const tcet_checkpoint *ck, int nworkers)
{
    char *text = tcet_config_to_text(cfg, 0);
    printf("# tcet search --print-config: nothing was started\n");
    if (ck)
        printf("# run: resumes %s/%s at iteration %llu of %ld%s\n", cfg->save_dir, TCET_CKPT_NAME,
               (unsigned long long)ck->committed, cfg->max_iter, ck->finished ? " (finished)" : "");
    else
        printf("# run: new, in %s\n", cfg->save_dir);
    printf("# ranks: 1 master + %d worker rank(s), window %d\n", nworkers, cfg->window);
    fputs(text, stdout);
    free(text);
    char files[TCET_PATH_MAX + 64];
    tcet_dataset_files(cfg->dataset, cfg->data, files, sizeof files);
    if (strcmp(cfg->dataset, "synthetic"))
        printf("data: %s, reads %s\n", cfg->dataset, files);
    else if (tcet_config_proxy_reads_images(cfg->proxy))
        printf("data: SYNTHETIC (N(0,1) images, uniform random labels; nothing is read): scores are not "
               "comparable with published ones\n");
    else
        printf("data: none (proxy %s does not read training images)\n", tcet_proxy_name(cfg->proxy));
}

/* Rank 0: options -> configuration, and the checkpoint to resume from.
 * *lock_fd receives the run-directory lock, held until the run ends.
 * dry_run (--print-config): print the resolved configuration, take no
 * lock, write nothing. */
static int prepare(int argc, char **argv, int nworkers, int dry_run, tcet_search_config *cfg, tcet_checkpoint *ck,
                   int *have_ck, int *lock_fd)
{
    int help = 0, fell_back = 0;
    uint64_t mask = 0;
    *have_ck = 0;
    TCET_TRY(tcet_config_parse_args(argc, argv, cfg, &help, &mask));
    if (help) {
        tcet_config_usage(stdout);
        return EXIT_QUIETLY;
    }
    if (cfg->resume[0]) TCET_TRY(refuse_resume_flags(argc, argv, cfg, mask));
    else TCET_TRY(resolve_data(cfg));
    TCET_TRY(tcet_config_validate(cfg));
    char path[TCET_PATH_MAX + 32];
    if (cfg->resume[0]) {
        snprintf(path, sizeof path, "%s/%s", cfg->resume, TCET_CKPT_NAME);
        /* Lock first (a live run may not have written its first checkpoint
         * yet), but never create the directory of a mistyped --resume. */
        if (file_exists(cfg->resume) && !dry_run) TCET_TRY(tcet_rundir_lock(cfg->resume, lock_fd));
        if (!file_exists(cfg->resume))
            return TCET_FAIL(TCET_ERR_CHECKPOINT, "--resume %s: no such run directory", cfg->resume);
        char prev[TCET_PATH_MAX + 32];
        snprintf(prev, sizeof prev, "%s/%s", cfg->resume, TCET_CKPT_PREV_NAME);
        tcet_search_config logged;
        int from_log = 0;
        if (!file_exists(path) && !file_exists(prev)) {
            /* Stopped before its first checkpoint was complete: nothing to
             * resume, but search.log records what was started. */
            if (config_from_log(cfg->resume, &logged))
                return TCET_FAIL(TCET_ERR_CHECKPOINT, "--resume %s: no %s there (not a tcet run directory, or "
                                 "its checkpoint was removed)", cfg->resume, TCET_CKPT_NAME);
            from_log = 1;
        } else {
            TCET_TRY(read_checkpoint(cfg->resume, ck, &fell_back));
            *have_ck = 1;
        }
        const tcet_search_config *base = from_log ? &logged : &ck->config;
        tcet_search_config merged = *base;
        tcet_config_overlay(&merged, cfg, mask);
        snprintf(merged.save_dir, sizeof merged.save_dir, "%s", cfg->resume);
        merged.resume[0] = 0;
        if (merged.max_iter < base->max_iter)
            return TCET_FAIL(TCET_ERR_USAGE, "--evolution-max-iter %ld is shorter than the run's %ld: a resumed run "
                             "may only get a longer iteration budget", merged.max_iter, base->max_iter);
        tcet_search_config same = merged; /* a longer budget is the same run, continued */
        same.max_iter = base->max_iter;
        if (from_log) {
            char logpath[TCET_PATH_MAX + 32];
            snprintf(logpath, sizeof logpath, "%s/search.log", cfg->resume);
            TCET_TRY(refuse_other(logpath, &same, base));
            fprintf(stderr, "tcet: NOTICE: %s has no %s: the run was stopped before its first checkpoint was "
                            "complete, so there is nothing to resume; starting it afresh with the configuration "
                            "recorded in %s (the same as rerunning its original command)\n",
                    cfg->resume, TCET_CKPT_NAME, logpath);
        } else {
            TCET_TRY(refuse_other(path, &same, base));
        }
        *cfg = merged;
    } else {
        snprintf(path, sizeof path, "%s/%s", cfg->save_dir, TCET_CKPT_NAME);
        /* Before anything in the directory is read or written. */
        if (!dry_run) TCET_TRY(tcet_rundir_lock(cfg->save_dir, lock_fd));
        char prev[TCET_PATH_MAX + 32];
        snprintf(prev, sizeof prev, "%s/%s", cfg->save_dir, TCET_CKPT_PREV_NAME);
        if (file_exists(path) || file_exists(prev)) {
            TCET_TRY(read_checkpoint(cfg->save_dir, ck, &fell_back));
            *have_ck = 1;
            if (cfg->window == 0) cfg->window = ck->config.window;
            TCET_TRY(refuse_other(path, cfg, &ck->config));
        } else {
            char best[TCET_PATH_MAX + 32];
            snprintf(best, sizeof best, "%s/best_structure.txt", cfg->save_dir);
            if (file_exists(best) && !dry_run) { /* the reference's skip rule */
                printf("%s exists and there is no checkpoint: nothing to do\n", best);
                return EXIT_QUIETLY;
            }
        }
    }
    int extend = *have_ck && ck->finished && (uint64_t)cfg->max_iter > ck->committed;
    if (*have_ck && ck->finished && !extend && !dry_run) return finished_run(cfg, ck);
    if (cfg->window == 0) cfg->window = tcet_default_window(nworkers, cfg->lanes);
    TCET_TRY(tcet_config_validate(cfg));
    if (dry_run) {
        print_config(cfg, *have_ck ? ck : NULL, nworkers);
        return EXIT_QUIETLY;
    }
    if (fell_back) TCET_TRY(set_aside_damaged(cfg->save_dir));
    if (extend)
        printf("the finished run in %s continues: %llu -> %ld iterations\n", cfg->save_dir,
               (unsigned long long)ck->committed, cfg->max_iter);
    if (!strcmp(cfg->dataset, "synthetic") && tcet_config_proxy_reads_images(cfg->proxy))
        fprintf(stderr, "tcet: NOTICE: scoring on SYNTHETIC data (N(0,1) images, uniform labels), as asked: scores "
                        "are not comparable with published ones; pass --dataset cifar100 --data DIR "
                        "(or cifar10/hdf5) for real images\n");
    return 0;
}

/* The run's dataset (NULL: synthetic) and the scorer configuration every
 * scoring thread uses. */
static int open_data(const tcet_search_config *cfg, tcet_dataset **ds, tcet_score_config *sc_cfg)
{
    if (strcmp(cfg->dataset, "synthetic"))
        TCET_TRY(tcet_dataset_open(cfg->dataset, cfg->data, cfg->resolution, cfg->num_classes, ds));
    /* A batch larger than the dataset would fail every candidate one by one
     * (and the run would "succeed" with an empty population): refuse it now. */
    TCET_TRY(tcet_dataset_check_batch(*ds, cfg->batch_size, cfg->proxy));
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
        /* --print-config / --dry-run are not options of the run: take them out */
        int dry_run = 0, n = 0;
        char **args = xcalloc((size_t)argc + 1, sizeof *args);
        for (int i = 0; i < argc; i++) {
            if (i > 0 && (!strcmp(argv[i], "--print-config") || !strcmp(argv[i], "--dry-run"))) dry_run = 1;
            else args[n++] = argv[i];
        }
        code = prepare(n, args, mpi.size - 1, dry_run, &cfg, &ck, &have_ck, &lock_fd);
        free(args);
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
