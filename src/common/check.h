/* Checked calls into MPI and HDF5.  Each macro names the call, its file and
 * line and a hint.  MPI failures are fatal (the job cannot continue with a
 * broken communicator); HDF5 failures are returned as TCET_ERR_RUNTIME so the
 * caller can refuse a file without touching it. */
#ifndef TCET_CHECK_H
#define TCET_CHECK_H

#include <mpi.h>

#include "error.h"
#include "fsutil.h"

#define CHECK_MPI(call)                                                          \
    do {                                                                         \
        int tcet_mpi_rc_ = (call);                                               \
        if (tcet_mpi_rc_ != MPI_SUCCESS) {                                       \
            char tcet_mpi_s_[MPI_MAX_ERROR_STRING];                              \
            int tcet_mpi_l_ = 0;                                                 \
            MPI_Error_string(tcet_mpi_rc_, tcet_mpi_s_, &tcet_mpi_l_);           \
            tcet_die(__FILE__, __LINE__, "%s failed: %s (hint: check the mpirun/srun " \
                     "launch line and that every rank runs the same tcet)", #call, tcet_mpi_s_); \
        }                                                                        \
    } while (0)

/* HDF5: a negative hid_t / herr_t means failure.  CHECK_H5 returns
 * TCET_ERR_RUNTIME from the enclosing function; CHECK_H5_GOTO records `code`
 * and jumps to a cleanup label (so handles are closed and files left intact).
 * The variadic part is a printf format literal (the hint) and its arguments;
 * the reason HDF5 recorded (e.g. the system's "No space left on device") is
 * appended to it. */
#define CHECK_H5(call, ...)                                                      \
    do {                                                                         \
        if ((long long)(call) < 0)                                               \
            return tcet_fail_h5(TCET_ERR_RUNTIME, __FILE__, __LINE__, __VA_ARGS__); \
    } while (0)

#define CHECK_H5_GOTO(call, label, code, ...)                                    \
    do {                                                                         \
        if ((long long)(call) < 0) {                                             \
            tcet_fail_h5((code), __FILE__, __LINE__, __VA_ARGS__);               \
            goto label;                                                          \
        }                                                                        \
    } while (0)

#endif
