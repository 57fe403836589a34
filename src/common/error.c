#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

/* One error slot per thread: workers score on one thread, the master's
 * signal handling never touches it. */
static _Thread_local char g_msg[2048];
static _Thread_local int g_code;

static void append(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void append(const char *fmt, ...)
{
    size_t len = strlen(g_msg);
    if (len + 1 >= sizeof g_msg) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg + len, sizeof g_msg - len, fmt, ap);
    va_end(ap);
}

int tcet_fail(int code, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    g_code = code;
    if (getenv("TCET_DEBUG")) append(" [%s:%d]", file, line);
    return code;
}

int tcet_trace(int code, const char *file, int line, const char *what)
{
    if (g_code == 0) { /* failure not recorded by the callee: say where */
        g_code = code;
        snprintf(g_msg, sizeof g_msg, "%s failed", what);
    }
    if (getenv("TCET_DEBUG")) append("\n  from %s:%d (%s)", file, line, what);
    return code;
}

const char *tcet_error_message(void) { return g_msg; }
int tcet_error_code(void) { return g_code; }
void tcet_error_clear(void) { g_msg[0] = 0; g_code = 0; }
void tcet_error_print(void) { fprintf(stderr, "tcet: error: %s\n", g_msg[0] ? g_msg : "unknown failure"); }

_Noreturn void tcet_die(const char *file, int line, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "tcet: fatal: %s (at %s:%d)\n", buf, file, line);
    fflush(stderr);
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    int size = 1;
    if (init && !fin) MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (init && !fin && size > 1) MPI_Abort(MPI_COMM_WORLD, TCET_ERR_RUNTIME);
    exit(TCET_ERR_RUNTIME);
}

void *tcet_xmalloc_at(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p) tcet_die(file, line, "out of memory allocating %zu bytes (hint: reduce --batch-size or the network size)", n);
    return p;
}

void *tcet_xcalloc_at(size_t n, size_t size, const char *file, int line)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) tcet_die(file, line, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *tcet_xrealloc_at(void *old, size_t n, const char *file, int line)
{
    void *p = realloc(old, n ? n : 1);
    if (!p) tcet_die(file, line, "out of memory reallocating to %zu bytes", n);
    return p;
}

char *tcet_xstrdup_at(const char *s, const char *file, int line)
{
    size_t n = strlen(s) + 1;
    char *p = tcet_xmalloc_at(n, file, line);
    memcpy(p, s, n);
    return p;
}
