/* tcet: training-free neural architecture search with T-CET. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "kernels/backend.h"
#include "kernels/cpu/backend_cpu.h"
#include "tcet_version.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"info", cmd_info, "expand a structure: blocks, layers, reference counters"},
    {"score", cmd_score, "score one structure (or a golden file) with a proxy"},
    {"search", cmd_search, "evolutionary search (MPI: rank 0 master, other ranks workers)"},
    {"inspect", cmd_inspect, "show a run: configuration, progress, best structures, failures"},
    {"plot", cmd_plot, "SVG report of a run's score history"},
    {"export", cmd_export, "best structure, its summary and the training command"},
    {"bench", cmd_bench, "time the proxies on fixed structures"},
    {"proxies", cmd_proxies, "list every proxy: what it measures, source, direction, cost"},
    {"validate", cmd_validate, "rank-correlate proxies with NAS-Bench-201 accuracies"},
};
enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *f)
{
    fprintf(f, "usage: tcet <command> [options]   (tcet <command> --help for details)\n\n"
               "T-CET training-free architecture search over the ZenNAS search space.\n\ncommands:\n");
    for (int i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n  --version  version and compiled backends\n"
               "\nexit codes: 0 ok, 1 runtime failure, 2 usage error, 3 data error,\n"
               "4 checkpoint refused, 5 out of memory, 6 backend failure,\n"
               "75 interrupted (checkpoint written; resume the run)\n");
}

/* OpenBLAS chose its GEMM kernels when it loaded, before main.  When that
 * choice is below the CPU (tcet_cpu_blas_core_want: a CPU newer than the
 * library gets its SSE3 fallback), run this same binary again with
 * OPENBLAS_CORETYPE set: it is read only at load time.  This happens before
 * MPI_Init and before tcet starts threads of its own (OpenBLAS's pool
 * threads end with the exec), so the process (same pid, same arguments and
 * environment) is what mpirun or srun launched.  TCET_BLAS_PICKED carries
 * what OpenBLAS had picked into the second run, which takes it out of the
 * environment again (no child inherits a stale one).  A user's own
 * OPENBLAS_CORETYPE is left alone. */
static void blas_core_fix(char **argv)
{
    const char *picked = getenv("TCET_BLAS_PICKED");
    if (picked) { /* the second run (which has OPENBLAS_CORETYPE; without it the variable is stale) */
        if (getenv("OPENBLAS_CORETYPE")) tcet_cpu_blas_core_note_forced(picked);
        unsetenv("TCET_BLAS_PICKED");
    }
    const char *want = tcet_cpu_blas_core_want();
    if (!want) return;
    char core[64];
    tcet_cpu_blas_core_describe(core, sizeof core);
    if (setenv("TCET_BLAS_PICKED", core, 1) || setenv("OPENBLAS_CORETYPE", want, 1)) return;
    execv("/proc/self/exe", argv);
    fprintf(stderr, "tcet: warning: cannot run again with OPENBLAS_CORETYPE=%s (execv /proc/self/exe: %s); "
                    "OpenBLAS keeps its %s kernels (set OPENBLAS_CORETYPE=%s yourself)\n",
            want, strerror(errno), core, want);
    unsetenv("TCET_BLAS_PICKED");
    unsetenv("OPENBLAS_CORETYPE");
}

int main(int argc, char **argv)
{
    blas_core_fix(argv);
    if (argc < 2) {
        usage(stderr);
        return TCET_ERR_USAGE;
    }
    const char *cmd = argv[1];
    tcet_h5_errors_init(); /* one line per failure; TCET_DEBUG_HDF5=1 shows HDF5's stack */
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("tcet %s (backends: %s)\n", TCET_VERSION, tcet_backends_compiled());
        char model[96], paths[192];
        tcet_cpu_model(model, sizeof model);
        tcet_cpu_isa_describe(paths, sizeof paths);
        int isa = TCET_CPU_ISA_GENERIC, rc = tcet_cpu_isa_select(&isa);
        printf("cpu: %s; CPU kernels: %s (built: %s)\n", model, rc ? "refused" : tcet_cpu_isa_name(isa), paths);
        char blas[128];
        tcet_cpu_blas_core_describe(blas, sizeof blas);
        printf("OpenBLAS kernels: %s\n", blas);
        if (rc) tcet_error_print();
        return rc;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    for (int i = 0; i < NCOMMANDS; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "tcet: error: unknown command '%s' (run 'tcet --help' for the list)\n", cmd);
    return TCET_ERR_USAGE;
}
