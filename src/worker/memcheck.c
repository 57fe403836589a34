/* Memory available to a worker (see memcheck.h). */
#include "worker/memcheck.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tcet_parse_bytes(const char *s, size_t *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0)) return 1;
    double m = 1;
    switch (*end) {
    case 'k': case 'K': m = 1024.0; end++; break;
    case 'm': case 'M': m = 1024.0 * 1024; end++; break;
    case 'g': case 'G': m = 1024.0 * 1024 * 1024; end++; break;
    case 't': case 'T': m = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: break;
    }
    if (*end == 'B' || *end == 'b') end++;
    if (*end) return 1;
    v *= m;
    *out = v >= (double)SIZE_MAX ? SIZE_MAX : (size_t)v;
    return 0;
}

/* First number in a file; 0 on success ("max" -> SIZE_MAX). */
static int read_num(const char *path, size_t *out)
{
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    char buf[64] = "";
    int ok = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    if (!ok) return 1;
    if (!strncmp(buf, "max", 3)) {
        *out = SIZE_MAX;
        return 0;
    }
    char *end;
    unsigned long long v = strtoull(buf, &end, 10);
    if (end == buf) return 1;
    *out = (size_t)v;
    return 0;
}

static void take(size_t *best, char *what, size_t cap, size_t v, const char *name)
{
    if (v < *best) {
        *best = v;
        snprintf(what, cap, "%s", name);
    }
}

/* limit - usage for the cgroup at `dir` and each ancestor below `root`. */
static void cgroup_walk(const char *root, const char *rel, const char *lim_name, const char *use_name,
                        size_t *best, char *what, size_t cap, const char *label)
{
    char path[1024];
    snprintf(path, sizeof path, "%s%s", root, rel);
    for (;;) {
        char f1[1200], f2[1200];
        size_t lim, use;
        snprintf(f1, sizeof f1, "%s/%s", path, lim_name);
        snprintf(f2, sizeof f2, "%s/%s", path, use_name);
        /* v1 reports "no limit" as a huge page-rounded number */
        if (read_num(f1, &lim) == 0 && lim < ((size_t)1 << 60) && read_num(f2, &use) == 0)
            take(best, what, cap, lim > use ? lim - use : 0, label);
        char *slash = strrchr(path, '/');
        if (!slash || (size_t)(slash - path) < strlen(root)) break;
        *slash = 0;
    }
}

size_t tcet_memory_available(char *what, size_t cap)
{
    size_t best = SIZE_MAX;
    if (cap) what[0] = 0;
    const char *inj = getenv("TCET_MEMORY_LIMIT");
    size_t v;
    if (inj && *inj && tcet_parse_bytes(inj, &v) == 0) take(&best, what, cap, v, "TCET_MEMORY_LIMIT");
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (f) {
        char line[1024];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c2) continue;
            *c2 = 0;
            const char *ctrl = c1 + 1, *rel = c2 + 1;
            if (!strcmp(ctrl, "") && !strncmp(line, "0", 1))
                cgroup_walk("/sys/fs/cgroup", strcmp(rel, "/") ? rel : "", "memory.max", "memory.current", &best,
                            what, cap, "cgroup memory.max");
            else if (strstr(ctrl, "memory"))
                cgroup_walk("/sys/fs/cgroup/memory", strcmp(rel, "/") ? rel : "", "memory.limit_in_bytes",
                            "memory.usage_in_bytes", &best, what, cap, "cgroup memory.limit_in_bytes");
        }
        fclose(f);
    }
    f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) take(&best, what, cap, (size_t)kb * 1024, "MemAvailable");
        fclose(f);
    }
    return best;
}
