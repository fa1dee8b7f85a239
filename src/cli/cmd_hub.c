/*
 * cmd_hub.c - `phalanx hub list|update|upgrade|types`, cscli's hub command:
 * the index download and the views over every item type at once.
 */
#include "cli/cli.h"
#include "cli/hub_cli.h"

#include <jansson.h>

/* The types `hub list` and `hub upgrade` cover, in cscli's order. */
static const enum hub_type list_types[] = { HUB_COLLECTIONS, HUB_PARSERS, HUB_SCENARIOS,
                                            HUB_POSTOVERFLOWS, HUB_CONTEXTS };

static void
usage(FILE *out)
{
    fprintf(out,
            "Hub management\n\n"
            "List/update parsers/scenarios/postoverflows/collections/contexts from the hub.\n"
            "The index and items are fetched from $PHALANX_HUB_URL, else cscli.hub_url of\n"
            "config.yaml, else https://cdn-hub.crowdsec.net/crowdsecurity/<cscli.hub_branch>;\n"
            "an http(s):// URL, a file:// URL or a directory (a local copy of the hub).\n"
            "Data files of a local hub come from $PHALANX_HUB_DATA_DIR, else <hub>/data.\n\n"
            "Usage:\n"
            "  phalanx hub [command]\n\n"
            "Available Commands:\n"
            "  list        List installed configs (-a: all)\n"
            "  types       List supported item types\n"
            "  update      Download the latest index (catalog of available configurations)\n"
            "  upgrade     Upgrade all configurations to their latest version (--force)\n\n"
            "Flags:\n"
            "  -h, --help   help for hub\n\n"
            "Global Flags:\n"
            "  -c, --config string   path to the configuration file\n"
            "  -o, --output string   Output format: human, json, raw.\n");
}

static int
types(const struct cli_globals *g)
{
    if (g->format == CLI_OUT_JSON) {
        json_t *a = json_array();
        for (int t = 0; a != NULL && t < HUB_NTYPES; t++)
            json_array_append_new(a, json_string(hub_type_name((enum hub_type)t)));
        json_dumpf(a, stdout, JSON_INDENT(2));
        printf("\n");
        json_decref(a);
        return 0;
    }
    for (int t = 0; t < HUB_NTYPES; t++)
        printf("%s\n", hub_type_name((enum hub_type)t));
    return 0;
}

static int
upgrade_all(struct hub *h, bool force)
{
    struct cli_hub_ui ui = { .label = "Upgrading" };
    struct hub_opts o = { .force = force, .note = cli_hub_note, .note_arg = &ui };
    struct hub_error err = { { 0 } };
    int rc = 0;
    for (size_t i = 0; i < h->nitems; i++)
        ui.total += h->items[i].installed && !h->items[i].local;
    for (size_t k = 0; k < ARRAY_SIZE(list_types); k++) {
        for (size_t i = 0; i < h->nitems; i++) {
            struct hub_item *it = &h->items[i];
            if (it->type != list_types[k] || !it->installed || it->local)
                continue;
            if (hub_upgrade(h, it, &o, &err) < 0) {
                char line[sizeof(err.message) + 8];
                snprintf(line, sizeof(line), "Error: %s", err.message);
                cli_hub_note(&ui, line);
                rc = 1;
            }
            ui.offset++;
            cli_hub_progress(&ui, 0, ui.total);
        }
    }
    cli_hub_ui_end(&ui);
    fprintf(stderr, "Run 'sudo systemctl reload phalanxd' for the new configuration to be "
                    "effective.\n");
    return rc;
}

int
cli_cmd_hub(int argc, char **argv)
{
    struct cli_globals g;
    const char *action = NULL;
    bool all = false, force = false;
    struct hub_config cfg = { 0 };
    struct hub *h = NULL;
    int rc = 1;

    cli_globals_init(&g);
    for (int i = 1; i < argc;) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        int r = cli_globals_take(&g, argc, argv, &i);
        if (r < 0)
            return 1;
        if (r > 0)
            continue;
        const char *s = argv[i++];
        if (strcmp(s, "-a") == 0 || strcmp(s, "--all") == 0)
            all = true;
        else if (strcmp(s, "--force") == 0)
            force = true;
        else if (s[0] == '-')
            return cli_fail("unknown flag: %s", s);
        else if (action == NULL)
            action = s;
        else
            return cli_fail("unexpected argument '%s' for 'phalanx hub %s'", s, action);
    }
    if (action == NULL) {
        usage(stdout);
        return 0;
    }
    if (strcmp(action, "types") == 0)
        return types(&g);
    if (strcmp(action, "list") != 0 && strcmp(action, "update") != 0 &&
        strcmp(action, "upgrade") != 0) {
        fprintf(stderr,
                "Error: unknown command \"%s\" for \"phalanx hub\"\n"
                "Run 'phalanx hub --help' for usage.\n",
                action);
        return 1;
    }
    if (cli_hub_config(&g, &cfg) != 0)
        goto out;
    if (strcmp(action, "update") == 0) {
        struct hub_error err = { { 0 } };
        struct cli_hub_ui ui = { .label = "Downloading the index" };
        struct hub_opts o = { .progress = cli_hub_progress, .progress_arg = &ui };
        int r = hub_update_index(&cfg, &o, &err);
        cli_hub_ui_end(&ui);
        if (r < 0) {
            rc = cli_fail("failed to update the hub index: %s", err.message);
            goto out;
        }
        fprintf(stderr, "Wrote the new index from %s to %s\n", cfg.hub_url, cfg.index_path);
        rc = 0;
        goto out;
    }
    if (cli_hub_open(&cfg, &h) != 0)
        goto out;
    if (strcmp(action, "list") == 0)
        rc = cli_hub_list(h, list_types, ARRAY_SIZE(list_types), all, NULL, 0, &g);
    else
        rc = upgrade_all(h, force);
out:
    hub_free(h);
    hub_config_clear(&cfg);
    return rc;
}
