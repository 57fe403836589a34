/* A single-process stand-in for Open MPI's libmpi.so.40, for GPU machines
 * whose image has CUDA but no MPI (tests/gpu/pack.sh, tests/gpu/run.sh).
 *
 * tcet links libmpi, but its GPU checks (the test binaries, `tcet score`,
 * `tcet bench`, a single-rank `tcet search`) run one process: rank 0 of 1.
 * This library provides exactly the MPI calls tcet makes, with that
 * meaning: collectives copy, probes find nothing, and point-to-point calls
 * (which a size-1 run never makes) abort with a message.  Built against
 * Open MPI's mpi.h, so the handles are Open MPI's (the predefined objects
 * are in mpi_stub_data.c).  Not for anything else. */
#define _POSIX_C_SOURCE 200809L /* gethostname */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int inited, finalized;

static size_t type_size(MPI_Datatype t)
{
    if (t == MPI_INT) return sizeof(int);
    if (t == MPI_CHAR || t == MPI_BYTE) return 1;
    fprintf(stderr, "tcet MPI stub: unsupported datatype\n");
    abort();
}

static int no_peer(const char *call)
{
    fprintf(stderr, "tcet MPI stub: %s needs a second rank; this stub runs one process only "
                    "(run without mpirun, or use a real MPI)\n", call);
    abort();
}

int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
{
    (void)argc;
    (void)argv;
    *provided = required;
    inited = 1;
    return MPI_SUCCESS;
}
int MPI_Initialized(int *flag) { *flag = inited; return MPI_SUCCESS; }
int MPI_Finalized(int *flag) { *flag = finalized; return MPI_SUCCESS; }
int MPI_Finalize(void) { finalized = 1; return MPI_SUCCESS; }
int MPI_Abort(MPI_Comm comm, int code) { (void)comm; fflush(NULL); exit(code); }
int MPI_Comm_rank(MPI_Comm comm, int *rank) { (void)comm; *rank = 0; return MPI_SUCCESS; }
int MPI_Comm_size(MPI_Comm comm, int *size) { (void)comm; *size = 1; return MPI_SUCCESS; }
int MPI_Comm_split_type(MPI_Comm comm, int type, int key, MPI_Info info, MPI_Comm *out)
{
    (void)type;
    (void)key;
    (void)info;
    *out = comm;
    return MPI_SUCCESS;
}
int MPI_Comm_free(MPI_Comm *comm) { *comm = NULL; return MPI_SUCCESS; }
int MPI_Get_processor_name(char *name, int *len)
{
    if (gethostname(name, MPI_MAX_PROCESSOR_NAME)) snprintf(name, MPI_MAX_PROCESSOR_NAME, "localhost");
    name[MPI_MAX_PROCESSOR_NAME - 1] = 0;
    *len = (int)strlen(name);
    return MPI_SUCCESS;
}
int MPI_Allreduce(const void *in, void *out, int count, MPI_Datatype t, MPI_Op op, MPI_Comm comm)
{
    (void)op;
    (void)comm;
    if (in != MPI_IN_PLACE) memcpy(out, in, (size_t)count * type_size(t));
    return MPI_SUCCESS;
}
int MPI_Bcast(void *buf, int count, MPI_Datatype t, int root, MPI_Comm comm)
{
    (void)buf;
    (void)count;
    (void)t;
    (void)root;
    (void)comm;
    return MPI_SUCCESS;
}
int MPI_Gather(const void *in, int incount, MPI_Datatype intype, void *out, int outcount, MPI_Datatype outtype,
               int root, MPI_Comm comm)
{
    (void)outcount;
    (void)outtype;
    (void)root;
    (void)comm;
    if (in != MPI_IN_PLACE) memcpy(out, in, (size_t)incount * type_size(intype));
    return MPI_SUCCESS;
}
int MPI_Iprobe(int source, int tag, MPI_Comm comm, int *flag, MPI_Status *status)
{
    (void)source;
    (void)tag;
    (void)comm;
    (void)status;
    *flag = 0;
    return MPI_SUCCESS;
}
int MPI_Get_count(const MPI_Status *status, MPI_Datatype t, int *count)
{
    (void)status;
    (void)t;
    *count = 0;
    return MPI_SUCCESS;
}
int MPI_Test(MPI_Request *req, int *flag, MPI_Status *status)
{
    (void)status;
    *flag = 1;
    *req = MPI_REQUEST_NULL;
    return MPI_SUCCESS;
}
int MPI_Wait(MPI_Request *req, MPI_Status *status)
{
    (void)status;
    *req = MPI_REQUEST_NULL;
    return MPI_SUCCESS;
}
int MPI_Send(const void *b, int c, MPI_Datatype t, int d, int tag, MPI_Comm comm)
{
    (void)b, (void)c, (void)t, (void)d, (void)tag, (void)comm;
    return no_peer("MPI_Send");
}
int MPI_Isend(const void *b, int c, MPI_Datatype t, int d, int tag, MPI_Comm comm, MPI_Request *r)
{
    (void)b, (void)c, (void)t, (void)d, (void)tag, (void)comm, (void)r;
    return no_peer("MPI_Isend");
}
int MPI_Recv(void *b, int c, MPI_Datatype t, int s, int tag, MPI_Comm comm, MPI_Status *st)
{
    (void)b, (void)c, (void)t, (void)s, (void)tag, (void)comm, (void)st;
    return no_peer("MPI_Recv");
}
int MPI_Error_string(int code, char *s, int *len)
{
    *len = snprintf(s, MPI_MAX_ERROR_STRING, "MPI error %d (single-process stub)", code);
    return MPI_SUCCESS;
}
