/* Master/worker messages, packed to bytes and sent as MPI_BYTE (received with
 * MPI_Probe + MPI_Get_count, so lengths are never guessed).  Byte order is the
 * host's: all ranks of one job are assumed to share an architecture.
 *
 *   TASK    master -> worker  u32 n, then n x { u64 id, u64 seed, u16 len, char structure[len] }
 *   RESULT  worker -> master  u32 n, then n x { u64 id, f64 score, f64 raw, i32 status,
 *                                               f64 seconds, f64 latency, u16 len, char reason[len] }
 *   STOP    master -> worker  empty: stop after the current candidate
 *   BYE     worker -> master  empty: the worker has stopped and will finalize
 * Several tasks travel in one message so that cheap proxies (params, flops)
 * are not limited by the message rate. */
#ifndef TCET_MSG_H
#define TCET_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "common/cand.h"

enum { TCET_TAG_TASK = 11, TCET_TAG_RESULT = 12, TCET_TAG_STOP = 13, TCET_TAG_BYE = 14 };
/* Task messages the master keeps outstanding per worker: with two, a worker
 * (its lanes) starts on the next batch while the master answers the last
 * one, so neither the round trip nor a batch's slowest candidate leaves it
 * idle.  A worker accepts up to TCET_LANES_MAX_JOBS (worker/lanes.h). */
#define TCET_TASK_DEPTH 2

typedef struct {
    uint64_t id, seed;
    const char *structure; /* points into the message buffer when unpacked */
    int len;
} tcet_msg_task;

/* A growable byte buffer. */
typedef struct {
    unsigned char *p;
    size_t len, cap;
} tcet_buf;

void tcet_buf_free(tcet_buf *b);

/* Packing: begin writes the count placeholder, add appends one record and
 * bumps the count. */
void tcet_msg_begin(tcet_buf *b);
void tcet_msg_add_task(tcet_buf *b, uint64_t id, uint64_t seed, const char *structure);
/* A result travels as the candidate id and its tcet_cand_result (common/cand.h). */
void tcet_msg_add_result(tcet_buf *b, uint64_t id, const tcet_cand_result *r);
uint32_t tcet_msg_count(const tcet_buf *b);

/* Unpacking with bounds checks; return 0 or TCET_ERR_RUNTIME on a malformed
 * message. *pos starts at 0 and advances; the count is read first. */
int tcet_msg_read_count(const unsigned char *p, size_t len, size_t *pos, uint32_t *n);
int tcet_msg_next_task(const unsigned char *p, size_t len, size_t *pos, tcet_msg_task *t);
int tcet_msg_next_result(const unsigned char *p, size_t len, size_t *pos, uint64_t *id, tcet_cand_result *r);

#endif
