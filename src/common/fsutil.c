/* Run-directory files without links; HDF5 failure reasons (see fsutil.h). */
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/error.h"

static const char *kind(mode_t m)
{
    if (S_ISLNK(m)) return "a symbolic link";
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a named pipe";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
    return "not a regular file";
}

static int refuse(const char *path, mode_t m)
{
    return TCET_FAIL(TCET_ERR_CHECKPOINT,
                     "%s is %s, where tcet keeps a file of its own; tcet does not follow links or write into "
                     "other kinds of files in a run directory (it could overwrite another file). Remove or "
                     "rename it, or use another --save-dir",
                     path, kind(m));
}

int tcet_check_own(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) return 0;
        return TCET_FAIL(TCET_ERR_RUNTIME, "cannot examine %s: %s", path, strerror(errno));
    }
    return S_ISREG(st.st_mode) ? 0 : refuse(path, st.st_mode);
}

int tcet_open_own(const char *path, int flags, mode_t mode, int *fd_out)
{
    *fd_out = -1;
    /* O_NONBLOCK: a named pipe put there must not block the open. */
    int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode);
    if (fd < 0) {
        int err = errno;
        struct stat st;
        if ((err == ELOOP || err == EISDIR || err == ENXIO) && lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
            return refuse(path, st.st_mode);
        return TCET_FAIL(TCET_ERR_RUNTIME, "cannot open %s: %s", path, strerror(err));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return TCET_FAIL(TCET_ERR_RUNTIME, "cannot examine %s: %s", path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return refuse(path, st.st_mode);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        int err = errno;
        close(fd);
        return TCET_FAIL(TCET_ERR_RUNTIME, "fcntl %s: %s", path, strerror(err));
    }
    *fd_out = fd;
    return 0;
}

int tcet_check_run_files(const char *dir)
{
    static const char *const names[] = {".lock", "search.log", "events.jsonl", "checkpoint.h5", "best_structure.txt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        TCET_TRY(tcet_check_own(p));
    }
    return 0;
}

/* ---- HDF5 ---------------------------------------------------------------- */
void tcet_h5_errors_init(void)
{
    /* A file whose H5Fclose failed (disk full) stays half-closed in the
     * library, and HDF5's own clean-up at exit then crashes on it: skip that
     * clean-up (the process is ending; the kernel closes the files). */
    H5dont_atexit();
    const char *d = getenv("TCET_DEBUG_HDF5");
    if (!(d && *d && strcmp(d, "0"))) H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

typedef struct {
    char *buf;
    size_t cap;
    int found_sys; /* a system call's error text was found */
} reason_walk;

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    reason_walk *w = data;
    const char *d = e->desc ? e->desc : "";
    const char *m = strstr(d, "error message = '");
    if (m && !w->found_sys) {
        m += strlen("error message = '");
        const char *q = strchr(m, '\'');
        size_t len = q ? (size_t)(q - m) : strlen(m);
        if (len >= w->cap) len = w->cap - 1;
        memcpy(w->buf, m, len);
        w->buf[len] = 0;
        w->found_sys = 1;
    } else if (n == 0 && !w->found_sys && d[0]) {
        snprintf(w->buf, w->cap, "%s", d); /* innermost: the most specific */
    }
    return 0;
}

const char *tcet_h5_reason(char *buf, size_t cap)
{
    buf[0] = 0;
    if (cap < 2) return buf;
    reason_walk w = {buf, cap, 0};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, &w);
    return buf;
}

int tcet_fail_h5(int code, const char *file, int line, const char *fmt, ...)
{
    char what[1024], why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    tcet_h5_reason(why, sizeof why);
    if (why[0]) return tcet_fail(code, file, line, "%s: %s", what, why);
    return tcet_fail(code, file, line, "%s", what);
}

int tcet_mkdir_run_dir(const char *dir)
{
    char part[TCET_PATH_MAX];
    snprintf(part, sizeof part, "%s", dir);
    for (char *q = part + 1;; q++) {
        if (*q != '/' && *q != 0) continue;
        char saved = *q;
        *q = 0;
        if (mkdir(part, 0777) && errno != EEXIST)
            return TCET_FAIL(TCET_ERR_RUNTIME, "cannot create run directory %s: %s", part, strerror(errno));
        *q = saved;
        if (!saved) break;
    }
    return 0;
}
