/*
 * cmd_simulation.c - `phalanx simulation enable|disable|status`, cscli's
 * simulation command: edits config_paths.simulation_path, a YAML file of
 * `simulation: bool` (global mode) and `exclusions: [scenario...]`.
 *
 * The exclusions mean the opposite of the global switch, as in CrowdSec:
 * with simulation off they are the scenarios simulated, with it on the ones
 * that are not. The file is rewritten as cscli rewrites it (comments are
 * lost, empty exclusions left out); a missing file reads as simulation off.
 */
#include "cli/cli.h"
#include "cli/hub_cli.h"

#include <unistd.h>

#include <jansson.h>

#include "common/str.h"
#include "config/config.h"

#define RELOAD_HINT                                                                                \
    "Run 'sudo systemctl reload phalanxd' for the new configuration to be effective."
#define MAX_EXCLUSIONS 100000

struct sim {
    bool global;
    char **excl;
    size_t n;
};

static void
sim_clear(struct sim *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->excl[i]);
    free(s->excl);
    memset(s, 0, sizeof(*s));
}

static int
sim_add(struct sim *s, const char *name)
{
    if (s->n >= MAX_EXCLUSIONS)
        return -E2BIG;
    char **e = realloc(s->excl, (s->n + 1) * sizeof(*e));
    if (e == NULL)
        return -ENOMEM;
    s->excl = e;
    if ((e[s->n] = strdup(name)) == NULL)
        return -ENOMEM;
    s->n++;
    return 0;
}

static ssize_t
sim_find(const struct sim *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->excl[i], name) == 0)
            return (ssize_t)i;
    }
    return -1;
}

static void
sim_del(struct sim *s, size_t i)
{
    free(s->excl[i]);
    memmove(&s->excl[i], &s->excl[i + 1], (s->n - i - 1) * sizeof(*s->excl));
    s->n--;
}

static int
sim_load(const char *path, struct sim *s)
{
    FILE *f = fopen(path, "rb");
    struct str buf = { 0 };
    struct ytree *t = NULL;
    int rc = 1;
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        return cli_fail("%s: %s", path, strerror(errno));
    }
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf.len + n > (16u << 20) || str_append(&buf, chunk, n) < 0) {
            cli_fail("%s: too big", path);
            goto out;
        }
    }
    char err[256];
    int line = 0;
    if (ytree_parse(buf.buf != NULL ? buf.buf : "", buf.len, &t, err, sizeof(err), &line) != 0) {
        cli_fail("while reading yaml file %s: line %d: %s", path, line, err);
        goto out;
    }
    const struct ynode *root = t->ndocs > 0 ? t->docs[0] : NULL;
    const struct ynode *g = ynode_map_get(root, "simulation");
    if (g != NULL && !ynode_is_null(g)) {
        int b = g->type == YNODE_SCALAR ? ynode_bool_value(g) : -1;
        if (b < 0) {
            cli_fail("%s: line %d: simulation must be a boolean", path, g->line);
            goto out;
        }
        s->global = b == 1;
    }
    const struct ynode *ex = ynode_map_get(root, "exclusions");
    if (ex != NULL && ex->type == YNODE_SEQ) {
        for (size_t i = 0; i < ex->n; i++) {
            if (ex->items[i]->type != YNODE_SCALAR) {
                cli_fail("%s: line %d: exclusions must be scenario names", path,
                         ex->items[i]->line);
                goto out;
            }
            if (sim_add(s, ex->items[i]->str) < 0) {
                cli_fail("%s: too many exclusions", path);
                goto out;
            }
        }
    } else if (ex != NULL && !ynode_is_null(ex)) {
        cli_fail("%s: line %d: exclusions must be a list", path, ex->line);
        goto out;
    }
    rc = 0;
out:
    fclose(f);
    str_free(&buf);
    ytree_free(t);
    return rc;
}

static int
sim_save(const char *path, const struct sim *s)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return cli_fail("%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return cli_fail("while writing %s: %s", tmp, strerror(errno));
    fprintf(f, "simulation: %s\n", s->global ? "true" : "false");
    if (s->n > 0) {
        fprintf(f, "exclusions:\n");
        for (size_t i = 0; i < s->n; i++) {
            const char *e = s->excl[i];
            if (e[0] != '\0' && e[0] != '-' &&
                strspn(e, "abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789/_.-") == strlen(e)) {
                fprintf(f, "- %s\n", e);
                continue;
            }
            /* JSON strings are valid YAML double-quoted scalars. */
            json_t *j = json_string(e);
            char *d = j != NULL ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
            fprintf(f, "- %s\n", d != NULL ? d : "\"\"");
            free(d);
            json_decref(j);
        }
    }
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return cli_fail("while writing %s: %s", path, strerror(e));
    }
    return 0;
}

static void
usage(FILE *out)
{
    fprintf(out, "Manage simulation status of scenarios\n\n"
                 "Usage:\n"
                 "  phalanx simulation [command]\n\n"
                 "Examples:\n"
                 "phalanx simulation status\n"
                 "phalanx simulation enable crowdsecurity/ssh-bf\n"
                 "phalanx simulation disable crowdsecurity/ssh-bf\n\n"
                 "Available Commands:\n"
                 "  disable     Disable the simulation mode. Disable only specified scenarios\n"
                 "  enable      Enable the simulation, globally or on specified scenarios\n"
                 "  status      Show simulation mode status\n\n"
                 "Flags:\n"
                 "  -g, --global   Enable/disable global simulation (reverse mode)\n"
                 "  -h, --help     help for simulation\n");
}

static void
status(const struct sim *s)
{
    printf("global simulation: %s\n", s->global ? "enabled" : "disabled");
    if (s->n == 0)
        return;
    printf("%s\n",
           s->global ? "Scenarios not in simulation mode :" : "Scenarios in simulation mode :");
    for (size_t i = 0; i < s->n; i++)
        printf("  - %s\n", s->excl[i]);
}

/* Checks a scenario against the hub: 0 fine (maybe with a warning), 1 unknown. */
static int
check_scenario(const struct hub *h, const char *name)
{
    if (h == NULL)
        return 0;
    const struct hub_item *it = hub_find(h, HUB_SCENARIOS, name);
    if (it == NULL) {
        fprintf(stderr, "Error: '%s' doesn't exist or is not a scenario\n", name);
        return 1;
    }
    if (!it->installed)
        fprintf(stderr, "Warning: '%s' isn't enabled\n", name);
    return 0;
}

int
cli_cmd_simulation(int argc, char **argv)
{
    struct cli_globals g;
    const char *action = NULL;
    bool global = false;
    char **names = NULL;
    size_t nnames = 0;
    struct hub_config cfg = { 0 };
    struct hub *h = NULL;
    struct sim s = { 0 };
    int rc = 1;

    cli_globals_init(&g);
    names = calloc((size_t)argc + 1, sizeof(*names));
    if (names == NULL)
        return cli_fail("out of memory");
    for (int i = 1; i < argc;) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            rc = 0;
            goto out;
        }
        int r = cli_globals_take(&g, argc, argv, &i);
        if (r < 0)
            goto out;
        if (r > 0)
            continue;
        const char *a = argv[i++];
        if (strcmp(a, "-g") == 0 || strcmp(a, "--global") == 0)
            global = true;
        else if (a[0] == '-') {
            cli_fail("unknown flag: %s", a);
            goto out;
        } else if (action == NULL)
            action = a;
        else
            names[nnames++] = (char *)a;
    }
    if (action == NULL) {
        usage(stdout);
        rc = 0;
        goto out;
    }
    bool enable = strcmp(action, "enable") == 0;
    if (!enable && strcmp(action, "disable") != 0 && strcmp(action, "status") != 0) {
        fprintf(stderr,
                "Error: unknown command \"%s\" for \"phalanx simulation\"\n"
                "Run 'phalanx simulation --help' for usage.\n",
                action);
        goto out;
    }
    if (cli_hub_config(&g, &cfg) != 0 || sim_load(cfg.simulation_path, &s) != 0)
        goto out;
    if (strcmp(action, "status") == 0) {
        status(&s);
        rc = 0;
        goto out;
    }
    if (global && nnames > 0) {
        cli_fail("use either --global or scenario names, not both");
        goto out;
    }
    if (!global && nnames == 0) {
        usage(stdout);
        rc = 0;
        goto out;
    }
    rc = 0;
    if (global) {
        /* Switching the global mode drops the exclusions, which meant the opposite. */
        for (size_t i = s.n; i > 0; i--)
            sim_del(&s, i - 1);
        s.global = enable;
        printf("global simulation: %s\n", enable ? "enabled" : "disabled");
    } else {
        struct hub_error err = { { 0 } };
        if (hub_load(&cfg, &h, &err) < 0) {
            h = NULL; /* without an index, names are taken as given */
        }
        for (size_t i = 0; i < nnames; i++) {
            const char *n = names[i];
            if (enable && check_scenario(h, n) != 0) {
                rc = 1;
                continue;
            }
            ssize_t at = sim_find(&s, n);
            /* In global mode an exclusion takes a scenario out of the simulation. */
            bool want_listed = enable != s.global;
            if (want_listed && at >= 0) {
                fprintf(stderr, "Warning: simulation for '%s' already %s\n", n,
                        enable ? "enabled" : "disabled");
            } else if (!want_listed && at < 0) {
                if (enable)
                    fprintf(stderr, "Warning: simulation for '%s' already enabled\n", n);
                else
                    fprintf(stderr, "Warning: %s isn't in simulation mode\n", n);
            } else if (want_listed) {
                if (sim_add(&s, n) < 0) {
                    cli_fail("too many exclusions");
                    goto out;
                }
                printf("simulation mode for '%s' %s\n", n, enable ? "enabled" : "disabled");
            } else {
                sim_del(&s, (size_t)at);
                printf("simulation mode for '%s' %s\n", n, enable ? "enabled" : "disabled");
            }
        }
    }
    if (sim_save(cfg.simulation_path, &s) != 0) {
        rc = 1;
        goto out;
    }
    fprintf(stderr, "%s\n", RELOAD_HINT);
out:
    sim_clear(&s);
    hub_free(h);
    hub_config_clear(&cfg);
    free(names);
    return rc;
}
