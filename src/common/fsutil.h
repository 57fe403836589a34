/* Files of the run directory, opened without following links, and HDF5
 * failures reported with the system's reason.
 *
 * tcet owns a fixed set of names in its run directory (.lock, search.log,
 * events.jsonl, checkpoint.h5, best_structure.txt and their temporary
 * files).  A symbolic link or a non-regular file under one of those names is
 * never followed or written through: it is refused with TCET_ERR_CHECKPOINT
 * (exit 4) naming it, so a job running as root cannot be made to overwrite
 * another file.  The run directory itself may be a link. */
#ifndef TCET_FSUTIL_H
#define TCET_FSUTIL_H

#include <sys/types.h>

/* open(2) with O_NOFOLLOW | O_CLOEXEC added; the result must be a regular
 * file.  0 and *fd on success; TCET_ERR_CHECKPOINT for a link or a
 * non-regular file, TCET_ERR_RUNTIME ("cannot open PATH: reason") else. */
int tcet_open_own(const char *path, int flags, mode_t mode, int *fd);
/* 0 when `path` is absent or a regular file; the refusal above otherwise. */
int tcet_check_own(const char *path);
/* Refuse links and non-regular files under every name tcet writes in `dir`. */
int tcet_check_run_files(const char *dir);
/* mkdir -p of the run directory: 0, or TCET_ERR_RUNTIME ("cannot create run
 * directory PART: reason"). */
int tcet_mkdir_run_dir(const char *dir);

/* HDF5 prints its diagnostic stack on every failed call unless told not to:
 * tcet turns it off process-wide (one line per failure, from tcet) unless
 * TCET_DEBUG_HDF5 is set in the environment. */
void tcet_h5_errors_init(void); /* first HDF5 call of the process */
/* The reason of the last failed HDF5 call, for one-line messages: the
 * system's error text when the failure was a system call ("No space left on
 * device"), else HDF5's innermost description; "" when the stack is empty. */
const char *tcet_h5_reason(char *buf, size_t cap);
/* tcet_fail() with ": <tcet_h5_reason>" appended (CHECK_H5 uses it). */
int tcet_fail_h5(int code, const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
