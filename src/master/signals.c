/* Stop requests by signal (see signals.h). */
#include "master/signals.h"

#include <signal.h>
#include <sys/prctl.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_sig = 0;
static volatile sig_atomic_t further = 0;     /* signals after the first, before the seal */
static volatile sig_atomic_t sealed_code = -1; /* >= 0: the final checkpoint is on disk */
static volatile sig_atomic_t log_fd = -1;      /* search.log, for the launcher-death line */
static volatile sig_atomic_t gone_noted = 0;   /* that line is written */
static pid_t launcher = 0;

/* The launcher's death is logged from the handler itself, with write(2)
 * (async-signal-safe), before anything else can happen: Open MPI's runtime
 * sees the same death as a lost connection to its server and ends the
 * process from its progress thread (exit status 195) within a fraction of a
 * millisecond.  That race cannot be won by the main loop on a loaded
 * machine; the handler usually runs first, and the checkpoint on disk is
 * complete either way (checkpoint writes are atomic renames). */
static void note_launcher_death(void)
{
    static const char line[] = "the launcher (mpirun or srun) is gone: the workers end with it; rank 0 stops "
                               "(final checkpoint, unless the MPI runtime ends it first; the last one on disk "
                               "is complete either way)\n";
    if (gone_noted || launcher == 0 || getppid() == launcher) return;
    gone_noted = 1;
    if (log_fd >= 0) {
        ssize_t n = write(log_fd, line, sizeof line - 1);
        (void)n; /* nothing more can be done about a failed write here */
    }
}

/* The first signal asks for a clean stop (final checkpoint, exit 75).  Until
 * that checkpoint is sealed, further TERM/INT/USR1 are only counted: a second
 * Ctrl-C or a SLURM TERM right after the warning must not kill the process in
 * the middle of its last write.  Once it is sealed, a further TERM or INT ends
 * the process at once with the exit code it would have had (the checkpoint is
 * complete; only the wait for busy workers is cut short).  _exit() is
 * async-signal-safe; the run-directory lock dies with the process. */
static void on_signal(int sig)
{
    if (sig == SIGTERM) note_launcher_death();
    if (sealed_code >= 0) {
        if (sig == SIGINT || sig == SIGTERM) _exit((int)sealed_code);
        return;
    }
    if (stop_sig == 0) stop_sig = sig;
    else further = further + 1;
}

void tcet_signals_master(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* the loop polls the flag; no call needs interrupting */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    /* stderr is a pipe to the launcher: once it is gone, a message there must
     * not kill rank 0 before its checkpoint (the write fails with EPIPE). */
    signal(SIGPIPE, SIG_IGN);
}

void tcet_signals_log_fd(int fd) { log_fd = fd; }

int tcet_signals_launcher_noted(void) { return (int)gone_noted; }

void tcet_signals_worker(void)
{
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
}

int tcet_stop_signal(void) { return (int)stop_sig; }

int tcet_signals_further(void) { return (int)further; }

void tcet_signals_sealed(int exit_code) { sealed_code = exit_code; }

void tcet_signals_follow_launcher(int rank)
{
    launcher = getppid();
    /* Rank 0: the stop request (checkpoint, then exit without waiting for
     * workers that died with the launcher); workers: nothing to save. */
    prctl(PR_SET_PDEATHSIG, rank == 0 ? SIGTERM : SIGKILL);
    if (getppid() != launcher) raise(rank == 0 ? SIGTERM : SIGKILL); /* it died before prctl */
}

int tcet_signals_launcher_gone(void) { return launcher != 0 && getppid() != launcher; }
