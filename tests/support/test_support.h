/* Helpers shared by the cmocka tests. */
#ifndef TCET_TEST_SUPPORT_H
#define TCET_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/backend.h"

/* Path of a file under tests/data ($TCET_TEST_DATA); returns a static buffer. */
const char *test_data_path(const char *rel);
/* The golden case files (tests/data/golden/NAME.h5). Returns how many were
 * found and fills names (static storage) up to max. Also includes
 * $TCET_GOLDEN_EXTRA (a directory of further cases) when set. */
int test_golden_cases(const char **paths, int max);
/* |a - b| <= tol * max(|b|, tiny); prints both on failure. */
#define assert_rel_close(a, b, tol) test_assert_rel_close((a), (b), (tol), #a, __FILE__, __LINE__)
void test_assert_rel_close(double a, double b, double tol, const char *what, const char *file, int line);
/* The CPU backend (one thread) of a test group: *be created (0, or -1 for
 * cmocka's group setup) and destroyed (0). */
int test_cpu_backend(tcet_backend **be);
int test_cpu_backend_free(tcet_backend **be);
/* Run a shell command, capture stdout into a malloc'd buffer, return its exit status. */
int test_run_capture(const char *cmd, char **out);

#endif
