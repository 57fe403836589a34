/* Run-directory lock (see rundir_lock.h). */
#include "master/rundir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/error.h"
#include "common/fsutil.h"

/* The holder's pid: F_GETLK knows it on a local file system; the file's
 * content is the fallback (NFS may report no pid). */
static long holder_pid(int fd)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fl.l_pid > 0) return (long)fl.l_pid;
    char buf[32] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    return n > 0 ? strtol(buf, NULL, 10) : 0;
}

int tcet_rundir_lock(const char *dir, int *fd_out)
{
    *fd_out = -1;
    TCET_TRY(tcet_mkdir_run_dir(dir));
    char path[TCET_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/.lock", dir);
    int fd = -1;
    TCET_TRY(tcet_open_own(path, O_RDWR | O_CREAT, 0666, &fd));
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET; /* l_start = l_len = 0: the whole file */
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int err = errno;
        long pid = (err == EACCES || err == EAGAIN) ? holder_pid(fd) : 0;
        close(fd);
        if (err == EACCES || err == EAGAIN)
            return TCET_FAIL(TCET_ERR_CHECKPOINT,
                             "run directory %s is in use by another tcet (pid %ld); wait for it to end, or "
                             "use another --save-dir", dir, pid);
        return TCET_FAIL(TCET_ERR_RUNTIME, "cannot lock %s: %s", path, strerror(err));
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)n, 0) != n) {
        int err = errno;
        close(fd);
        return TCET_FAIL(TCET_ERR_RUNTIME, "cannot write %s: %s", path, strerror(err));
    }
    *fd_out = fd;
    /* Every other file tcet writes here: no link, no directory under its names. */
    int rc = tcet_check_run_files(dir);
    if (rc) {
        close(fd);
        *fd_out = -1;
        return rc;
    }
    return 0;
}

void tcet_rundir_unlock(int fd)
{
    if (fd >= 0) close(fd);
}
