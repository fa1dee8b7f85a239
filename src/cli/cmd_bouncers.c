/*
 * cmd_bouncers.c - `phalanx bouncers add|list|inspect|delete|prune`: cscli's
 * bouncer management, acting on the database named by the configuration
 * directly, as cscli does. Only the SHA-512 of a key is stored, so a generated
 * key is shown once.
 */
#include "cli/cli.h"
#include "cli/output.h"
#include "common/gotime.h"
#include "lapi/lapi.h"
#include "store/store.h"

#include <jansson.h>
#include <time.h>

#define PRUNE_DEFAULT_NS ((int64_t)60 * 60 * 1000000000) /* cscli: 60m without a pull */

static void
bouncers_usage(FILE *out)
{
    fprintf(out,
            "To list/add/delete/prune bouncers.\n"
            "Note: This command requires database direct access, so is intended to be run on "
            "Local API/master.\n\n"
            "Usage:\n"
            "  phalanx bouncers [command]\n\n"
            "Available Commands:\n"
            "  add         add a single bouncer to the database (NAME [-k KEY])\n"
            "  delete      delete bouncer(s) from the database (NAME...)\n"
            "  inspect     inspect a bouncer by name\n"
            "  list        list all bouncers within the database\n"
            "  prune       delete bouncers that have not pulled for -d DURATION (default 60m) "
            "[--force]\n\n"
            "Global Flags:\n"
            "  -c, --config string   configuration file (default \"%s\")\n"
            "  -o, --output string   Output format: human, json, raw\n",
            CLI_DEFAULT_CONFIG);
}

/* ent.Bouncer's JSON (api_key is the stored SHA-512, as cscli shows it). */
static json_t *
bouncer_json(const struct store_bouncer *b)
{
    char t[64];
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(b->id));
    json_object_set_new(o, "created_at",
                        json_string(cli_format_time(b->created_at, true, t, sizeof(t))));
    json_object_set_new(o, "updated_at",
                        json_string(cli_format_time(b->updated_at, true, t, sizeof(t))));
    json_object_set_new(o, "name", json_string(b->name));
    json_object_set_new(o, "api_key", json_string(b->api_key ? b->api_key : ""));
    json_object_set_new(o, "revoked", json_boolean(b->revoked));
    json_object_set_new(o, "ip_address", json_string(b->ip_address ? b->ip_address : ""));
    json_object_set_new(o, "type", json_string(b->type ? b->type : ""));
    json_object_set_new(o, "version", json_string(b->version ? b->version : ""));
    /* ent's `until` (a time.Time, so never omitted) is set when the bouncer is
     * made and never changed by CrowdSec: its creation time. */
    json_object_set_new(o, "until",
                        json_string(cli_format_time(b->created_at, true, t, sizeof(t))));
    json_object_set_new(o, "last_pull",
                        json_string(cli_format_time(b->last_pull, true, t, sizeof(t))));
    json_object_set_new(o, "auth_type", json_string(b->auth_type ? b->auth_type : ""));
    return o;
}

static int
bouncers_list(struct store *s, const struct cli_globals *g)
{
    struct store_bouncer *v = NULL;
    size_t n = 0;
    struct store_error err = { { 0 } };
    int rc = 0;

    if (store_bouncer_list(s, &v, &n, &err) != 0)
        return cli_fail("unable to list bouncers: %s", err.msg);
    if (g->format == CLI_OUT_JSON) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, bouncer_json(&v[i]));
        rc = cli_print_json(a);
    } else {
        bool raw = g->format == CLI_OUT_RAW;
        static const char *const human[] = { "Name", "IP Address", "Valid",    "Last API pull",
                                             "Type", "Version",    "Auth Type" };
        static const char *const csv[] = { "name", "ip",      "revoked",  "last_pull",
                                           "type", "version", "auth_type" };
        /* Type, Version, Auth Type: what an 80-column terminal can do without. */
        static const size_t hide[] = { 4, 5, 6 };
        struct cli_table *t = cli_table_new(raw ? csv : human, 7);
        if (t != NULL && cli_table_set_hide_order(t, hide, ARRAY_SIZE(hide)) < 0) {
            cli_table_free(t);
            t = NULL;
        }
        for (size_t i = 0; t != NULL && i < n; i++) {
            char lp[64];
            const char *valid =
                raw ? (v[i].revoked ? "pending" : "validated") : (v[i].revoked ? "🚫" : "✔️");
            const char *cells[] = {
                v[i].name,     v[i].ip_address,
                valid,         cli_format_time(v[i].last_pull, false, lp, sizeof(lp)),
                v[i].type,     v[i].version,
                v[i].auth_type
            };
            if (cli_table_add(t, cells) < 0)
                rc = cli_fail("out of memory");
        }
        if (t == NULL)
            rc = cli_fail("out of memory");
        else
            cli_table_print(t, stdout, g);
        cli_table_free(t);
    }
    for (size_t i = 0; i < n; i++)
        store_bouncer_clear(&v[i]);
    free(v);
    return rc;
}

static int
bouncers_inspect(struct store *s, const struct cli_globals *g, const char *name)
{
    struct store_bouncer b = { 0 };
    struct store_error err = { { 0 } };

    int rc = store_bouncer_get_by_name(s, name, &b, &err);
    if (rc == -ENOENT)
        return cli_fail("bouncer '%s' not found (see 'phalanx bouncers list')", name);
    if (rc != 0)
        return cli_fail("unable to read bouncer '%s': %s", name, err.msg);
    if (g->format == CLI_OUT_JSON) {
        rc = cli_print_json(bouncer_json(&b));
    } else {
        char c[64], u[64], p[64];
        static const char *const hdr[] = { "Field", "Value" };
        struct cli_table *t = cli_table_new(hdr, 2);
        const char *rows[][2] = {
            { "Name", b.name },
            { "Created At", cli_format_time(b.created_at, false, c, sizeof(c)) },
            { "Last Update", cli_format_time(b.updated_at, false, u, sizeof(u)) },
            { "Revoked?", b.revoked ? "true" : "false" },
            { "IP Address", b.ip_address },
            { "Type", b.type },
            { "Version", b.version },
            { "Last Pull", cli_format_time(b.last_pull, false, p, sizeof(p)) },
            { "Auth type", b.auth_type },
            { "Auto Created", b.auto_created ? "true" : "false" },
        };
        rc = t == NULL ? cli_fail("out of memory") : 0;
        for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(rows); i++)
            if (cli_table_add(t, rows[i]) < 0)
                rc = cli_fail("out of memory");
        if (rc == 0 && cli_inspect_metrics_rows(t, s, "RC", b.name) < 0)
            rc = cli_fail("out of memory");
        if (rc == 0)
            cli_table_print(t, stdout, g);
        cli_table_free(t);
    }
    store_bouncer_clear(&b);
    return rc;
}

static int
bouncers_add(struct store *s, const struct cli_globals *g, const char *name, const char *key)
{
    char gen[128], hash[LAPI_SHA512_HEX_LEN + 1];
    struct store_error err = { { 0 } };

    if (key == NULL) {
        if (lapi_api_key_generate(gen, sizeof(gen)) != 0)
            return cli_fail("unable to generate an API key");
        key = gen;
    } else if (key[0] == '\0') {
        return cli_fail("the key given with -k is empty");
    }
    lapi_api_key_hash(key, hash);
    struct store_bouncer b = {
        .name = (char *)name,
        .api_key = hash,
        .ip_address = (char *)"",
        .type = (char *)"",
        .version = (char *)"",
        .auth_type = (char *)"api-key",
        .last_pull = -1,
    };
    int rc = store_bouncer_create(s, &b, gotime_now().unix_ns, NULL, &err);
    if (rc == -EEXIST)
        return cli_fail("unable to create bouncer: bouncer %s already exists (delete it first, or "
                        "choose another name)",
                        name);
    if (rc != 0)
        return cli_fail("unable to create bouncer: %s", err.msg);
    if (g->format == CLI_OUT_RAW)
        printf("%s\n", key);
    else if (g->format == CLI_OUT_JSON)
        return cli_print_json(json_string(key));
    else
        printf("API key for '%s':\n\n   %s\n\nPlease keep this key since you will not be able to "
               "retrieve it!\n",
               name, key);
    return 0;
}

static int
bouncers_prune(struct store *s, int64_t max_age, bool force)
{
    struct store_bouncer *v = NULL;
    size_t n = 0, pruned = 0;
    struct store_error err = { { 0 } };
    int64_t now = gotime_now().unix_ns;
    int rc = 0;

    if (store_bouncer_list(s, &v, &n, &err) != 0)
        return cli_fail("unable to list bouncers: %s", err.msg);
    for (size_t i = 0; i < n; i++) {
        int64_t seen = v[i].last_pull > 0 ? v[i].last_pull : v[i].created_at;
        if (now - seen <= max_age)
            continue;
        if (!force) {
            fprintf(stderr, "would prune bouncer '%s' (use --force to delete)\n", v[i].name);
            continue;
        }
        if (store_bouncer_delete(s, v[i].name, &err) != 0)
            rc = cli_fail("unable to delete bouncer '%s': %s", v[i].name, err.msg);
        else
            pruned++;
    }
    if (force)
        fprintf(stderr, "%zu bouncer(s) pruned\n", pruned);
    for (size_t i = 0; i < n; i++)
        store_bouncer_clear(&v[i]);
    free(v);
    return rc;
}

int
cli_cmd_bouncers(int argc, char **argv)
{
    struct cli_globals g;
    const char *pos[64], *key = NULL, *duration = NULL;
    size_t npos = 0;
    bool force = false;
    struct store *s = NULL;
    struct lapi_error lerr = { { 0 } };
    struct store_error err = { { 0 } };
    const struct cli_flag flags[] = {
        { "-k", "--key", CLI_FLAG_STRING, &key },
        { "-d", "--duration", CLI_FLAG_STRING, &duration },
        { NULL, "--force", CLI_FLAG_BOOL, &force },
    };

    cli_globals_init(&g);
    int rc = cli_flags_parse(&g, flags, ARRAY_SIZE(flags), argc, argv, 1, pos, ARRAY_SIZE(pos),
                             &npos, "phalanx bouncers");
    if (rc == CLI_FLAGS_HELP || (rc == 0 && npos == 0)) {
        bouncers_usage(stdout);
        return 0;
    }
    if (rc != 0)
        return rc;
    const char *cmd = pos[0];
    bool one_name = strcmp(cmd, "add") == 0 || strcmp(cmd, "inspect") == 0;
    if (!one_name && strcmp(cmd, "list") != 0 && strcmp(cmd, "delete") != 0 &&
        strcmp(cmd, "prune") != 0)
        return cli_fail("unknown command \"%s\" for \"phalanx bouncers\" (see phalanx bouncers "
                        "--help)",
                        cmd);
    if (one_name && npos != 2)
        return cli_fail("phalanx bouncers %s needs exactly one bouncer name", cmd);
    if (strcmp(cmd, "delete") == 0 && npos < 2)
        return cli_fail("phalanx bouncers delete needs at least one bouncer name");
    int64_t max_age = PRUNE_DEFAULT_NS;
    if (duration != NULL && gotime_parse_duration(duration, strlen(duration), &max_age) < 0)
        return cli_fail("invalid duration '%s' for -d (e.g. 60m, 2h)", duration);
    if (lapi_store_open(g.config, &s, &lerr) != 0)
        return cli_fail("%s", lerr.msg);
    rc = 0;
    if (strcmp(cmd, "add") == 0) {
        rc = bouncers_add(s, &g, pos[1], key);
    } else if (strcmp(cmd, "list") == 0) {
        rc = bouncers_list(s, &g);
    } else if (strcmp(cmd, "inspect") == 0) {
        rc = bouncers_inspect(s, &g, pos[1]);
    } else if (strcmp(cmd, "prune") == 0) {
        rc = bouncers_prune(s, max_age, force);
    } else {
        for (size_t i = 1; i < npos; i++) {
            if (store_bouncer_delete(s, pos[i], &err) != 0)
                rc = cli_fail("unable to delete bouncer '%s': %s", pos[i],
                              err.msg[0] ? err.msg : "not found");
            else
                fprintf(stderr, "bouncer '%s' deleted successfully\n", pos[i]);
        }
    }
    store_close(s);
    return rc;
}
