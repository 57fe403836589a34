/* Stop requests by signal (see signals.h). */
#include "master/signals.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_sig = 0;

/* The first signal asks for a clean stop (checkpoint, exit 75).  A second
 * one means the user no longer wants to wait (e.g. a checkpoint write hung on
 * a dead file system): restore the default action and re-raise, so the
 * process dies as it would without tcet's handler.  signal() and raise() are
 * async-signal-safe; the checkpoint on disk is the previous complete one. */
static void on_signal(int sig)
{
    if (stop_sig != 0 && (sig == SIGINT || sig == SIGTERM)) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_sig = sig;
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
}

void tcet_signals_worker(void)
{
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
}

int tcet_stop_signal(void) { return (int)stop_sig; }
