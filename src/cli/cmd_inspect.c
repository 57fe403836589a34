/* tcet inspect: placeholder until its issue lands. */
#include <stdio.h>

#include "commands.h"
#include "common/error.h"

int cmd_inspect(int argc, char **argv)
{
    fprintf(stderr, "tcet: error: 'tcet inspect' is not available in this build yet\n");
    return TCET_ERR_RUNTIME;
}
