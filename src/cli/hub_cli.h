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
/*
 * What one command's hub operations print through: their notes on stderr
 * and, on a TTY, one progress bar over all of them. total is the number of
 * units of the whole command (0: each call's own total); offset counts the
 * units of the operations already finished.
 */
struct cli_hub_ui {
    const char *label;
    uint64_t total, offset;
    struct cli_progress *bar;
};
/* hub_opts.note: one line on stderr (above the bar); arg is a struct cli_hub_ui * or NULL. */
void cli_hub_note(void *arg, const char *msg);
/* hub_opts.progress with a struct cli_hub_ui *: starts the bar at the first call. */
void cli_hub_progress(void *arg, uint64_t done, uint64_t total);
/* Clears the bar. */
void cli_hub_ui_end(struct cli_hub_ui *ui);

#endif
