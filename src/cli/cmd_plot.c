/* tcet plot: placeholder until its issue lands. */
#include <stdio.h>

#include "commands.h"
#include "common/error.h"

int cmd_plot(int argc, char **argv)
{
    fprintf(stderr, "tcet: error: 'tcet plot' is not available in this build yet\n");
    return TCET_ERR_RUNTIME;
}
