/*
 * cli.h - the commands of `phalanx` (the admin CLI, CrowdSec's cscli) and the
 * option handling of `phalanxd`; the mains in src/bin only call these.
 *
 * Commands print their results to stdout and their errors to stderr, once,
 * with a sentence saying what to do; they return the process exit code.
 */
#ifndef PHALANX_CLI_H
#define PHALANX_CLI_H

#include "common/common.h"

/* `phalanx ARGS...`: returns the process exit code. */
int cli_phalanx_main(int argc, char **argv);
/* `phalanxd ARGS...`: returns the process exit code. */
int cli_phalanxd_main(int argc, char **argv);

/* Subcommands (argv[0] is the subcommand name). */
int cli_cmd_explain(int argc, char **argv);
int cli_cmd_expr(int argc, char **argv);
int cli_cmd_hubtest(int argc, char **argv);
int cli_cmd_version(int argc, char **argv);
int cli_cmd_bouncers(int argc, char **argv);
int cli_cmd_machines(int argc, char **argv);
int cli_cmd_alerts(int argc, char **argv);
int cli_cmd_decisions(int argc, char **argv);
int cli_cmd_lapi(int argc, char **argv);
int cli_cmd_hub(int argc, char **argv);
int cli_cmd_items(int argc, char **argv); /* argv[0]: collections, parsers, scenarios... */
int cli_cmd_simulation(int argc, char **argv);
int cli_cmd_config(int argc, char **argv);
int cli_cmd_allowlists(int argc, char **argv);

#endif
