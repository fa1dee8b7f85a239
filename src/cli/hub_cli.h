/*
 * hub_cli.h - what `phalanx hub` and the item commands (collections, parsers,
 * scenarios, postoverflows, contexts) share: loading the hub from the
 * configuration and listing items as cscli lists them.
 */
#ifndef PHALANX_CLI_HUB_CLI_H
#define PHALANX_CLI_HUB_CLI_H

#include "cli/output.h"
#include "hub/hub.h"

/* Reads g->config into *cfg; 0, or 1 after printing the error. */
int cli_hub_config(const struct cli_globals *g, struct hub_config *cfg);
/* Loads the index and the installed state; 0, or 1 after printing the error. */
int cli_hub_open(const struct hub_config *cfg, struct hub **ret);
/*
 * Prints the items of the given types (installed ones, or all with all;
 * only the named ones when nnames > 0) in g's format. 0, or 1 on error.
 */
int cli_hub_list(const struct hub *h, const enum hub_type *types, size_t ntypes, bool all,
                 char *const *names, size_t nnames, const struct cli_globals *g);
/* hub_opts.note: one line on stderr. */
void cli_hub_note(void *arg, const char *msg);

#endif
