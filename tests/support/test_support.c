#include "test_support.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

const char *test_data_path(const char *rel)
{
    static char buf[4096];
    const char *root = getenv("TCET_TEST_DATA");
    snprintf(buf, sizeof buf, "%s/%s", root ? root : "tests/data", rel);
    return buf;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int scan_dir(const char *dir, const char **paths, int n, int max)
{
    static char store[256][1024];
    static int used;
    DIR *d = opendir(dir);
    if (!d) return n;
    int start = n;
    struct dirent *e;
    while ((e = readdir(d)) && n < max && used < 256) {
        size_t l = strlen(e->d_name);
        if (l > 3 && !strcmp(e->d_name + l - 3, ".h5")) {
            snprintf(store[used], sizeof store[used], "%s/%s", dir, e->d_name);
            paths[n++] = store[used++];
        }
    }
    closedir(d);
    qsort(paths + start, (size_t)(n - start), sizeof *paths, cmp_str);
    return n;
}

int test_golden_cases(const char **paths, int max)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_data_path("golden"));
    int n = scan_dir(dir, paths, 0, max);
    const char *extra = getenv("TCET_GOLDEN_EXTRA");
    if (extra && *extra) n = scan_dir(extra, paths, n, max);
    return n;
}

void test_assert_rel_close(double a, double b, double tol, const char *what, const char *file, int line)
{
    double scale = fabs(b) > 1e-300 ? fabs(b) : 1e-300;
    int ok = (isnan(a) && isnan(b)) || (a == b) || (fabs(a - b) <= tol * scale);
    if (!ok) {
        print_error("%s = %.17g, expected %.17g (rel err %.3g > %.3g)\n", what, a, b, fabs(a - b) / scale, tol);
        _fail(file, line);
    }
}

int test_run_capture(const char *cmd, char **out)
{
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += r;
        if (cap - len < 1024) buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    int st = pclose(p);
    if (out) *out = buf;
    else free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int test_cpu_backend(tcet_backend **be)
{
    *be = tcet_backend_cpu_create(1);
    return *be ? 0 : -1;
}

int test_cpu_backend_free(tcet_backend **be)
{
    if (*be) (*be)->destroy(*be);
    *be = NULL;
    return 0;
}
