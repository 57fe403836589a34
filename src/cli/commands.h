/* Subcommands of the tcet executable; each lives in src/cli/cmd_<name>.c and
 * returns a process exit code (docs/exit-codes.md). */
#ifndef TCET_COMMANDS_H
#define TCET_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_proxies(int argc, char **argv);
int cmd_validate(int argc, char **argv);

/* info_nb201.c: `tcet info` of a NAS-Bench-201 cell (cmd_info dispatches) */
#include "common/arch.h"
int info_nb201(const tcet_arch *a, int classes, int res, int json);
/* cmd_info.c: the "layers" array of `tcet info --json`, every Conv2d/Linear
 * of the plan; zennas adds each layer's block and groups. */
#include "common/json.h"
#include "common/plan.h"
void info_json_layers(tcet_json *j, const tcet_plan *p, int zennas);

/* run_args.c: --help and the RUN argument of inspect, plot and export.
 * help: usage(stdout) and -1 (the command exits 0); no run: usage(stderr)
 * and TCET_ERR_USAGE; a run that does not open: its error printed, its
 * status returned; else 0 with *r open (tcet_run_close). */
#include <stdio.h>
#include "master/report.h"
int cli_open_run(int help, const char *path, void (*usage)(FILE *), tcet_run *r);

#endif
