/*
 * cmd_items.c - `phalanx collections|parsers|scenarios|postoverflows|contexts
 * list|install|remove|upgrade|inspect`, cscli's item commands: the work is
 * src/hub's, this file parses flags, prints results in -o human|json|raw as
 * cscli does, and says what to do next.
 */
#include "cli/cli.h"
#include "cli/hub_cli.h"

#include <jansson.h>

#define RELOAD_HINT                                                                                \
    "Run 'sudo systemctl reload phalanxd' for the new configuration to be effective."

int
cli_hub_config(const struct cli_globals *g, struct hub_config *cfg)
{
    struct hub_error err = { { 0 } };
    if (hub_config_load(g->config, cfg, &err) < 0)
        return cli_fail("%s", err.message);
    return 0;
}

int
cli_hub_open(const struct hub_config *cfg, struct hub **ret)
{
    struct hub_error err = { { 0 } };
    if (hub_load(cfg, ret, &err) < 0)
        return cli_fail("%s", err.message);
    return 0;
}

void
cli_hub_note(void *arg, const char *msg)
{
    const struct cli_hub_ui *ui = arg;
    cli_progress_print(ui != NULL ? ui->bar : NULL, msg);
}

void
cli_hub_progress(void *arg, uint64_t done, uint64_t total)
{
    struct cli_hub_ui *ui = arg;
    uint64_t all = ui->total > 0 ? ui->total : total;
    if (ui->bar == NULL)
        ui->bar = cli_progress_new(ui->label, all);
    else if (ui->total == 0)
        cli_progress_set_total(ui->bar, all);
    cli_progress_set(ui->bar, ui->offset + done);
}

void
cli_hub_ui_end(struct cli_hub_ui *ui)
{
    cli_progress_free(ui->bar);
    ui->bar = NULL;
}

/* cscli's emoji for a status: local, not installed, warning, fine. */
static const char *
status_emoji(const struct hub_item *it)
{
    if (it->local)
        return "\xf0\x9f\x8f\xa0"; /* house */
    if (!it->installed)
        return "\xf0\x9f\x9a\xab"; /* prohibited */
    if (it->tainted || !it->uptodate)
        return "\xe2\x9a\xa0\xef\xb8\x8f"; /* warning */
    return "\xe2\x9c\x94\xef\xb8\x8f";     /* check mark */
}

static bool
selected(const struct hub_item *it, bool all, char *const *names, size_t nnames)
{
    if (nnames > 0) {
        for (size_t i = 0; i < nnames; i++) {
            if (strcmp(names[i], it->name) == 0)
                return true;
        }
        return false;
    }
    return all || it->installed;
}

static void
upper(char *dst, size_t len, const char *s)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < len; i++)
        dst[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i]);
    dst[i] = '\0';
}

static int
list_json(const struct hub *h, const enum hub_type *types, size_t ntypes, bool all,
          char *const *names, size_t nnames)
{
    json_t *root = json_object();
    int rc = 1;
    if (root == NULL)
        return cli_fail("out of memory");
    /* cscli's JSON comes from a Go map: type keys sorted, items in struct order. */
    enum hub_type sorted[HUB_NTYPES];
    size_t ns = 0;
    for (size_t k = 0; k < ntypes && ns < HUB_NTYPES; k++) {
        size_t j = ns++;
        while (j > 0 && strcmp(hub_type_name(sorted[j - 1]), hub_type_name(types[k])) > 0) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = types[k];
    }
    types = sorted;
    ntypes = ns;
    for (size_t k = 0; k < ntypes; k++) {
        json_t *arr = json_array();
        if (arr == NULL || json_object_set_new(root, hub_type_name(types[k]), arr) < 0)
            goto out;
        for (size_t i = 0; i < h->nitems; i++) {
            const struct hub_item *it = &h->items[i];
            if (it->type != types[k] || !selected(it, all, names, nnames))
                continue;
            char st[64], utf8[96];
            hub_item_status(it, st, sizeof(st));
            snprintf(utf8, sizeof(utf8), "%s  %s", status_emoji(it), st);
            json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", it->name,
                                  "local_version", it->local_version ? it->local_version : "",
                                  "local_path", it->local_path ? it->local_path : "", "description",
                                  it->description ? it->description : "", "utf8_status", utf8,
                                  "status", st);
            if (o == NULL || json_array_append_new(arr, o) < 0)
                goto out;
        }
    }
    if (json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER) < 0)
        goto out;
    printf("\n");
    rc = 0;
out:
    json_decref(root);
    return rc != 0 ? cli_fail("out of memory") : 0;
}

int
cli_hub_list(const struct hub *h, const enum hub_type *types, size_t ntypes, bool all,
             char *const *names, size_t nnames, const struct cli_globals *g)
{
    if (g->format == CLI_OUT_JSON)
        return list_json(h, types, ntypes, all, names, nnames);
    for (size_t k = 0; k < ntypes; k++) {
        static const char *const human_h[] = { "Name", "\xf0\x9f\x93\xa6 Status", "Version",
                                               "Local Path" };
        static const char *const raw_h[] = { "name", "status", "version", "description" };
        bool raw = g->format == CLI_OUT_RAW;
        struct cli_table *t = cli_table_new(raw ? raw_h : human_h, 4);
        if (t == NULL)
            return cli_fail("out of memory");
        for (size_t i = 0; i < h->nitems; i++) {
            const struct hub_item *it = &h->items[i];
            if (it->type != types[k] || !selected(it, all, names, nnames))
                continue;
            char st[64], cell[96];
            hub_item_status(it, st, sizeof(st));
            const char *lv = it->local_version;
            if (raw) {
                const char *row[] = { it->name, st, lv != NULL && lv[0] ? lv : "n/a",
                                      it->description };
                if (cli_table_add(t, row) < 0)
                    goto oom;
            } else {
                snprintf(cell, sizeof(cell), "%s %s", status_emoji(it), st);
                const char *row[] = { it->name, cell, lv, it->local_path };
                if (cli_table_add(t, row) < 0)
                    goto oom;
            }
            continue;
        oom:
            cli_table_free(t);
            return cli_fail("out of memory");
        }
        if (!raw) {
            char title[64];
            upper(title, sizeof(title), hub_type_name(types[k]));
            printf("\n%s\n", title);
        }
        cli_table_print(t, stdout, g);
        cli_table_free(t);
    }
    return 0;
}

/* ---- inspect ---- */

/* A YAML scalar: quoted when plain text would read as something else. */
static void
yaml_scalar(const char *s)
{
    bool plain = s[0] != '\0' && strchr("-?:,[]{}#&*!|>'\"%@` ", s[0]) == NULL &&
                 strstr(s, ": ") == NULL && strstr(s, " #") == NULL && s[strlen(s) - 1] != ' ' &&
                 s[strlen(s) - 1] != ':';
    if (plain) {
        /* Numbers, booleans and null would change type. */
        char *end = NULL;
        (void)strtod(s, &end);
        static const char *const words[] = { "true", "false", "yes", "no", "on",
                                             "off",  "null",  "y",   "n",  "~" };
        if (end != NULL && *end == '\0')
            plain = false;
        for (size_t i = 0; plain && i < ARRAY_SIZE(words); i++) {
            if (strcasecmp(s, words[i]) == 0)
                plain = false;
        }
    }
    for (const char *p = s; plain && *p; p++) {
        if ((unsigned char)*p < 0x20)
            plain = false;
    }
    if (plain) {
        printf("%s\n", s);
        return;
    }
    json_t *j = json_string(s);
    char *d = j != NULL ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    printf("%s\n", d != NULL ? d : "\"\"");
    free(d);
    json_decref(j);
}

static void
yaml_kv(const char *key, const char *val)
{
    if (val == NULL)
        return;
    printf("%s: ", key);
    yaml_scalar(val);
}

static json_t *
str_array(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static int
inspect(const struct hub_item *it, const struct cli_globals *g)
{
    if (g->format == CLI_OUT_JSON) {
        json_t *o = json_object();
        if (o == NULL)
            return cli_fail("out of memory");
        json_object_set_new(o, "type", json_string(hub_type_name(it->type)));
        if (it->stage)
            json_object_set_new(o, "stage", json_string(it->stage));
        json_object_set_new(o, "name", json_string(it->name));
        json_object_set_new(o, "filename", json_string(it->fname));
        json_object_set_new(o, "description", json_string(it->description));
        if (it->author)
            json_object_set_new(o, "author", json_string(it->author));
        json_object_set_new(o, "belongs_to_collections", str_array(it->belongs_to, it->nbelongs));
        if (it->remote_path)
            json_object_set_new(o, "remote_path", json_string(it->remote_path));
        if (it->version)
            json_object_set_new(o, "version", json_string(it->version));
        json_object_set_new(o, "local_path", json_string(it->local_path ? it->local_path : ""));
        json_object_set_new(o, "localversion",
                            json_string(it->local_version ? it->local_version : ""));
        json_object_set_new(o, "localhash", json_string(it->local_hash ? it->local_hash : ""));
        json_object_set_new(o, "installed", json_boolean(it->installed));
        json_object_set_new(o, "downloaded", json_boolean(it->downloaded));
        json_object_set_new(o, "uptodate", json_boolean(it->uptodate));
        json_object_set_new(o, "tainted", json_boolean(it->tainted));
        json_object_set_new(o, "local", json_boolean(it->local));
        for (int t = 0; t < HUB_NTYPES; t++) {
            if (it->ndeps[t] > 0)
                json_object_set_new(o, hub_type_name((enum hub_type)t),
                                    str_array(it->deps[t], it->ndeps[t]));
        }
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("\n");
        json_decref(o);
        return 0;
    }
    yaml_kv("type", hub_type_name(it->type));
    yaml_kv("stage", it->stage);
    yaml_kv("name", it->name);
    yaml_kv("filename", it->fname);
    yaml_kv("description", it->description);
    yaml_kv("author", it->author);
    if (it->nbelongs > 0) {
        printf("belongs_to_collections:\n");
        for (size_t i = 0; i < it->nbelongs; i++) {
            printf("- ");
            yaml_scalar(it->belongs_to[i]);
        }
    }
    yaml_kv("remote_path", it->remote_path);
    yaml_kv("version", it->version);
    yaml_kv("local_path", it->local_path);
    yaml_kv("localversion", it->local_version);
    yaml_kv("localhash", it->local_hash);
    printf("installed: %s\ndownloaded: %s\nuptodate: %s\ntainted: %s\nlocal: %s\n",
           it->installed ? "true" : "false", it->downloaded ? "true" : "false",
           it->uptodate ? "true" : "false", it->tainted ? "true" : "false",
           it->local ? "true" : "false");
    for (int t = 0; t < HUB_NTYPES; t++) {
        if (it->ndeps[t] == 0)
            continue;
        printf("%s:\n", hub_type_name((enum hub_type)t));
        for (size_t i = 0; i < it->ndeps[t]; i++) {
            printf("- ");
            yaml_scalar(it->deps[t][i]);
        }
    }
    return 0;
}

/* ---- the command ---- */

static void
usage(FILE *out, const char *type)
{
    fprintf(out,
            "Manage %s from the hub\n\n"
            "Usage:\n"
            "  phalanx %s [command]\n\n"
            "Available Commands:\n"
            "  inspect     Inspect given %s\n"
            "  install     Install given %s\n"
            "  list        List all %s or given one\n"
            "  remove      Remove given %s\n"
            "  upgrade     Upgrade given %s\n\n"
            "Flags:\n"
            "  -h, --help   help for %s\n\n"
            "install flags: -d/--download-only, --force, --ignore (continue after an error)\n"
            "remove flags: --all, --force, --purge (delete the downloaded file too)\n"
            "upgrade flags: -a/--all, --force\n"
            "list flags: -a/--all (include items not installed)\n\n"
            "Global Flags:\n"
            "  -c, --config string   path to the configuration file (default \"%s\")\n"
            "  -o, --output string   Output format: human, json, raw.\n\n"
            "Items are fetched from $PHALANX_HUB_URL, cscli.hub_url, or CrowdSec's hub CDN\n"
            "for cscli.hub_branch; a local hub is a directory or a file:// URL.\n",
            type, type, type, type, type, type, type, type, CLI_DEFAULT_CONFIG);
}

struct item_args {
    const char *action;
    char **names;
    size_t nnames;
    bool all, force, purge, download_only, ignore;
};

static int
parse_args(int argc, char **argv, struct cli_globals *g, struct item_args *a)
{
    for (int i = 1; i < argc;) {
        int r = cli_globals_take(g, argc, argv, &i);
        if (r < 0)
            return 1;
        if (r > 0)
            continue;
        const char *s = argv[i++];
        if (strcmp(s, "-a") == 0 || strcmp(s, "--all") == 0)
            a->all = true;
        else if (strcmp(s, "--force") == 0)
            a->force = true;
        else if (strcmp(s, "--purge") == 0)
            a->purge = true;
        else if (strcmp(s, "-d") == 0 || strcmp(s, "--download-only") == 0)
            a->download_only = true;
        else if (strcmp(s, "--ignore") == 0)
            a->ignore = true;
        else if (s[0] == '-' && s[1] != '\0')
            return cli_fail("unknown flag: %s", s);
        else if (a->action == NULL)
            a->action = s;
        else
            a->names[a->nnames++] = (char *)s;
    }
    return 0;
}

/* The number of items installing `it` goes through (itself and its dependencies); 0 when unknown.
 */
static size_t
install_units(const struct hub *h, struct hub_item *it)
{
    struct hub_item **list = NULL;
    size_t n = 0;
    struct hub_error err = { { 0 } };
    if (it == NULL || hub_deps_resolve(h, it, &list, &n, &err) < 0)
        return 0;
    free(list);
    return n;
}

static void
step_done(struct cli_hub_ui *ui, uint64_t units)
{
    ui->offset += units;
    cli_hub_progress(ui, 0, ui->total);
}

static int
run_op(struct hub *h, enum hub_type type, const struct item_args *a, const char *cmd)
{
    int op = strcmp(a->action, "install") == 0 ? 0 : strcmp(a->action, "remove") == 0 ? 1 : 2;
    struct cli_hub_ui ui = { .label = op == 0 ? "Installing" : op == 1 ? "Removing" : "Upgrading" };
    struct hub_opts o = { .force = a->force,
                          .download_only = a->download_only,
                          .purge = a->purge,
                          .note = cli_hub_note,
                          .note_arg = &ui };
    struct hub_error err = { { 0 } };
    bool changed = false;
    int rc = 0;

    if (a->nnames == 0 && !(a->all && op != 0))
        return cli_fail("specify at least one %s to %s or '--all'", cmd, a->action);
    /* One bar over the whole command: every item an install goes through, or each item acted on. */
    if (op == 0) {
        o.progress = cli_hub_progress;
        o.progress_arg = &ui;
        for (size_t i = 0; i < a->nnames; i++)
            ui.total += install_units(h, hub_find(h, type, a->names[i]));
    } else {
        ui.total = a->nnames;
        for (size_t i = 0; a->all && i < h->nitems; i++) {
            const struct hub_item *it = &h->items[i];
            ui.total += it->type == type && it->installed && !it->local;
        }
    }
    if (a->all && op != 0) {
        /* Names are captured first: hub_scan below reorders the items. */
        for (size_t i = 0; i < h->nitems; i++) {
            struct hub_item *it = &h->items[i];
            if (it->type != type || !it->installed || it->local)
                continue;
            struct hub_opts oa = o;
            if (op == 1)
                oa.force = true; /* --all removes everything, as cscli */
            int r = op == 1 ? hub_remove(h, it, &oa, &err) : hub_upgrade(h, it, &oa, &err);
            if (r < 0) {
                char line[sizeof(err.message) + 8];
                snprintf(line, sizeof(line), "Error: %s", err.message);
                cli_hub_note(&ui, line);
                rc = 1;
            } else {
                changed = true;
            }
            step_done(&ui, 1);
        }
    }
    for (size_t i = 0; i < a->nnames; i++) {
        if (hub_scan(h, &err) < 0) {
            cli_hub_ui_end(&ui);
            return cli_fail("%s", err.message);
        }
        struct hub_item *it = hub_find(h, type, a->names[i]);
        if (it == NULL) {
            cli_hub_ui_end(&ui);
            fprintf(stderr, "Error: can't find '%s' in %s\n", a->names[i], cmd);
            rc = 1;
            if (op == 0 && !a->ignore)
                break;
            continue;
        }
        size_t units = op == 0 ? install_units(h, it) : 1;
        int r = op == 0   ? hub_install(h, it, &o, &err)
                : op == 1 ? hub_remove(h, it, &o, &err)
                          : hub_upgrade(h, it, &o, &err);
        if (r < 0) {
            cli_hub_ui_end(&ui);
            fprintf(stderr, "Error: %s\n", err.message);
            rc = 1;
            if (op == 0 && !a->ignore)
                break;
            continue;
        }
        if (op == 0)
            ui.offset += units; /* hub_install moved the bar itself */
        else
            step_done(&ui, units);
        changed = true;
    }
    cli_hub_ui_end(&ui);
    if (changed && !a->download_only)
        fprintf(stderr, "%s\n", RELOAD_HINT);
    return rc;
}

int
cli_cmd_items(int argc, char **argv)
{
    const char *cmd = argv[0];
    int t = hub_type_from_name(cmd);
    struct cli_globals g;
    struct item_args a = { 0 };
    struct hub_config cfg = { 0 };
    struct hub *h = NULL;
    int rc = 1;

    if (t < 0)
        return cli_fail("unknown item type '%s'", cmd);
    cli_globals_init(&g);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout, cmd);
            return 0;
        }
    }
    a.names = calloc((size_t)argc + 1, sizeof(char *));
    if (a.names == NULL)
        return cli_fail("out of memory");
    if (parse_args(argc, argv, &g, &a) != 0)
        goto out;
    if (a.action == NULL) {
        usage(stdout, cmd);
        rc = 0;
        goto out;
    }
    bool known = strcmp(a.action, "list") == 0 || strcmp(a.action, "install") == 0 ||
                 strcmp(a.action, "remove") == 0 || strcmp(a.action, "upgrade") == 0 ||
                 strcmp(a.action, "inspect") == 0;
    if (!known) {
        fprintf(stderr,
                "Error: unknown command \"%s\" for \"phalanx %s\"\n"
                "Run 'phalanx %s --help' for usage.\n",
                a.action, cmd, cmd);
        goto out;
    }
    if (cli_hub_config(&g, &cfg) != 0 || cli_hub_open(&cfg, &h) != 0)
        goto out;
    if (strcmp(a.action, "list") == 0) {
        enum hub_type ty = (enum hub_type)t;
        rc = cli_hub_list(h, &ty, 1, a.all, a.names, a.nnames, &g);
    } else if (strcmp(a.action, "inspect") == 0) {
        if (a.nnames == 0) {
            rc = cli_fail("specify the %s to inspect", cmd);
            goto out;
        }
        rc = 0;
        for (size_t i = 0; i < a.nnames; i++) {
            const struct hub_item *it = hub_find(h, (enum hub_type)t, a.names[i]);
            if (it == NULL) {
                rc = cli_fail("can't find '%s' in %s", a.names[i], cmd);
                continue;
            }
            if (inspect(it, &g) != 0)
                rc = 1;
        }
    } else {
        rc = run_op(h, (enum hub_type)t, &a, cmd);
    }
out:
    hub_free(h);
    hub_config_clear(&cfg);
    free(a.names);
    return rc;
}
