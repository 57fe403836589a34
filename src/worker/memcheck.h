/* Memory a candidate may still take (see memcheck.c). */
#ifndef TCET_MEMCHECK_H
#define TCET_MEMCHECK_H

#include <stddef.h>

/* Bytes this process may still allocate: the smallest of the cgroup limit
 * minus its usage (cgroup v2 memory.max/memory.current of this process's
 * cgroup and its ancestors; v1 memory.limit_in_bytes/usage_in_bytes), the
 * kernel's MemAvailable, and TCET_MEMORY_LIMIT (bytes, suffix K/M/G allowed:
 * an operator's cap, also the tests' injected limit).  `what` receives which
 * one it was ("cgroup memory.max", "MemAvailable", ...).  SIZE_MAX when
 * nothing is known. */
size_t tcet_memory_available(char *what, size_t cap);
/* Parse "123", "64K", "1.5G" (powers of 1024); 0 on success. */
int tcet_parse_bytes(const char *s, size_t *out);

#endif
