/* Error reporting and propagation for tcet.
 *
 * Convention (PETSc-like): functions that can fail return an int status,
 * 0 on success or one of the tcet_status codes below.  The failing site
 * records a message with TCET_FAIL(); every caller that passes the failure
 * up with TCET_TRY() appends "file:line" context, so the user sees what went
 * wrong and where.  main() turns the status into the documented exit code
 * (docs/exit-codes.md) and prints tcet_error_message().
 *
 * Library failures (MPI, HDF5, CUDA, cuDNN, cuBLAS, allocation) are wrapped
 * by the CHECK_* macros, which name the call, the file and line and a hint.
 */
#ifndef TCET_ERROR_H
#define TCET_ERROR_H

#include <stddef.h>

/* Documented process exit codes (docs/exit-codes.md). */
enum tcet_status {
    TCET_OK = 0,
    TCET_ERR_RUNTIME = 1,     /* I/O, MPI, backend or other runtime failure */
    TCET_ERR_USAGE = 2,       /* bad flag, bad structure string, bad value */
    TCET_ERR_DATA = 3,        /* missing or malformed dataset / golden file */
    TCET_ERR_CHECKPOINT = 4,  /* checkpoint refused: corrupt, truncated, other run */
    TCET_ERR_NOMEM = 5,       /* the network does not fit in the memory left (a failed
                                 xmalloc dies with TCET_ERR_RUNTIME instead) */
    TCET_ERR_BACKEND = 6,     /* compute backend failure (CUDA/cuDNN/BLAS) */
    TCET_EXIT_INTERRUPTED = 75 /* stopped by a signal, checkpoint written: resume */
};

/* Record a failure: formats the message, keeps file/line, returns `code`. */
int tcet_fail(int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Append a context frame to the current failure; returns `code`. */
int tcet_trace(int code, const char *file, int line, const char *what);
/* The message of the last failure ("" if none) and its status code. */
const char *tcet_error_message(void);
int tcet_error_code(void);
void tcet_error_clear(void);
/* Print "tcet: error: <message>" to stderr. */
void tcet_error_print(void);
/* Unrecoverable: print message with location and abort the process (and the
 * MPI job when MPI is initialised). */
_Noreturn void tcet_die(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define TCET_FAIL(code, ...) tcet_fail((code), __FILE__, __LINE__, __VA_ARGS__)
#define TCET_TRY(expr)                                                   \
    do {                                                                 \
        int tcet_rc_ = (expr);                                           \
        if (tcet_rc_ != 0) return tcet_trace(tcet_rc_, __FILE__, __LINE__, #expr); \
    } while (0)

/* Allocation: xmalloc/xcalloc/xrealloc never return NULL; they die with the
 * call site and size (an out-of-memory worker cannot do anything useful). */
void *tcet_xmalloc_at(size_t n, const char *file, int line);
void *tcet_xcalloc_at(size_t n, size_t size, const char *file, int line);
void *tcet_xrealloc_at(void *p, size_t n, const char *file, int line);
char *tcet_xstrdup_at(const char *s, const char *file, int line);
#define xmalloc(n) tcet_xmalloc_at((n), __FILE__, __LINE__)
#define xcalloc(n, s) tcet_xcalloc_at((n), (s), __FILE__, __LINE__)
#define xrealloc(p, n) tcet_xrealloc_at((p), (n), __FILE__, __LINE__)
#define xstrdup(s) tcet_xstrdup_at((s), __FILE__, __LINE__)
/* Check an allocation made elsewhere (e.g. by a library). */
#define CHECK_ALLOC(p)                                                   \
    do {                                                                 \
        if ((p) == NULL) tcet_die(__FILE__, __LINE__, "out of memory: %s returned NULL " \
                                  "(hint: reduce --batch-size or the network size)", #p); \
    } while (0)

#endif
