/* Opening the run of `tcet inspect`, `plot` and `export` (commands.h). */
#include <stdio.h>

#include "commands.h"
#include "common/error.h"

int cli_open_run(int help, const char *path, void (*usage)(FILE *), tcet_run *r)
{
    if (help) {
        usage(stdout);
        return -1;
    }
    if (!path) {
        usage(stderr);
        return TCET_ERR_USAGE;
    }
    if (tcet_run_open(path, r)) {
        tcet_run_close(r);
        tcet_error_print();
        return tcet_error_code() ? tcet_error_code() : TCET_ERR_USAGE;
    }
    return 0;
}
