/*
 * cmd_machines.c - `phalanx machines add|list|inspect|delete|validate|prune`:
 * cscli's machine (agent) management, acting on the database named by the
 * configuration directly, as cscli does. Machines added here are validated at
 * once; passwords are stored as bcrypt. `add --auto` makes up the password (and
 * the name when none is given) and writes the credentials file the agent reads.
 */
#include "apiclient/apiclient.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "common/gotime.h"
#include "lapi/lapi.h"
#include "store/store.h"

#include <jansson.h>
#include <sys/random.h>
#include <time.h>

#define PRUNE_DEFAULT_NS ((int64_t)10 * 60 * 1000000000) /* cscli: 10m without heartbeat */

static void
machines_usage(FILE *out)
{
    fprintf(out,
            "To list/add/delete/validate/prune machines.\n"
            "Note: This command requires database direct access, so is intended to be run on the "
            "local API machine.\n\n"
            "Usage:\n"
            "  phalanx machines [command]\n\n"
            "Available Commands:\n"
            "  add         add a machine to the database (NAME -p PASSWORD | --auto [-f FILE] [-u "
            "URL]) [--force]\n"
            "  delete      delete machines (NAME...)\n"
            "  inspect     inspect a machine by name\n"
            "  list        list machines\n"
            "  prune       delete machines without a heartbeat for -d DURATION (default 10m)\n"
            "              [--not-validated-only] [--force]\n"
            "  validate    validate a machine to access the local API\n\n"
            "Global Flags:\n"
            "  -c, --config string   configuration file (default \"%s\")\n"
            "  -o, --output string   Output format: human, json, raw\n",
            CLI_DEFAULT_CONFIG);
}

static int64_t
now_ns(void)
{
    return gotime_now().unix_ns;
}

/* RFC 3339 with nanoseconds (Go's time.Time JSON) into buf; "" for 0. */

/* cscli's heartbeat column: the age, with a warning sign past the prune default. */
static const char *
fmt_heartbeat(int64_t last, bool human, char *buf, size_t size)
{
    char d[32];
    if (last <= 0) {
        snprintf(buf, size, "%s-", human ? "⚠️ " : "");
        return buf;
    }
    int64_t age = now_ns() - last;
    age -= age % 1000000000; /* whole seconds, as cscli rounds */
    gotime_format_duration(age, d, sizeof(d));
    snprintf(buf, size, "%s%s", human && age > PRUNE_DEFAULT_NS / 10 * 6 ? "⚠️ " : "", d);
    return buf;
}

static json_t *
machine_json(const struct store_machine *m)
{
    char t[64];
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(m->id));
    json_object_set_new(o, "created_at",
                        json_string(cli_format_time(m->created_at, true, t, sizeof(t))));
    json_object_set_new(o, "updated_at",
                        json_string(cli_format_time(m->updated_at, true, t, sizeof(t))));
    json_object_set_new(o, "last_push",
                        json_string(cli_format_time(m->last_push, true, t, sizeof(t))));
    json_object_set_new(o, "last_heartbeat",
                        json_string(cli_format_time(m->last_heartbeat, true, t, sizeof(t))));
    json_object_set_new(o, "machineId", json_string(m->machine_id));
    /* ent's omitempty fields */
    if (m->ip_address && m->ip_address[0])
        json_object_set_new(o, "ipAddress", json_string(m->ip_address));
    if (m->scenarios && m->scenarios[0])
        json_object_set_new(o, "scenarios", json_string(m->scenarios));
    if (m->version && m->version[0])
        json_object_set_new(o, "version", json_string(m->version));
    json_object_set_new(o, "isValidated", json_boolean(m->is_validated));
    json_object_set_new(o, "auth_type", json_string(m->auth_type ? m->auth_type : ""));
    json_object_set_new(o, "edges", json_object());
    return o;
}

static int
machines_list(struct store *s, const struct cli_globals *g)
{
    struct store_machine *v = NULL;
    size_t n = 0;
    struct store_error err = { { 0 } };
    int rc = 0;

    if (store_machine_list(s, &v, &n, &err) != 0)
        return cli_fail("unable to list machines: %s", err.msg);
    if (g->format == CLI_OUT_JSON) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, machine_json(&v[i]));
        rc = cli_print_json(a);
    } else {
        bool raw = g->format == CLI_OUT_RAW;
        static const char *const human[] = { "Name",    "IP Address", "Last Update",   "Status",
                                             "Version", "Auth Type",  "Last Heartbeat" };
        static const char *const csv[] = { "machine_id", "ip_address", "updated_at",    "validated",
                                           "version",    "auth_type",  "last_heartbeat" };
        /* Version, Auth Type, Last Update: what an 80-column terminal can do without. */
        static const size_t hide[] = { 4, 5, 2 };
        struct cli_table *t = cli_table_new(raw ? csv : human, 7);
        if (t != NULL && cli_table_set_hide_order(t, hide, ARRAY_SIZE(hide)) < 0) {
            cli_table_free(t);
            t = NULL;
        }
        for (size_t i = 0; t != NULL && i < n; i++) {
            char up[64], hb[96];
            const char *status =
                raw ? (v[i].is_validated ? "true" : "false") : (v[i].is_validated ? "✔️" : "🚫");
            const char *cells[] = { v[i].machine_id,
                                    v[i].ip_address,
                                    cli_format_time(v[i].updated_at, false, up, sizeof(up)),
                                    status,
                                    v[i].version,
                                    v[i].auth_type,
                                    fmt_heartbeat(v[i].last_heartbeat, !raw, hb, sizeof(hb)) };
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
        store_machine_clear(&v[i]);
    free(v);
    return rc;
}

static int
machines_inspect(struct store *s, const struct cli_globals *g, const char *name)
{
    struct store_machine m = { 0 };
    struct store_error err = { { 0 } };

    int rc = store_machine_get(s, name, &m, &err);
    if (rc == -ENOENT)
        return cli_fail("machine '%s' not found (see 'phalanx machines list')", name);
    if (rc != 0)
        return cli_fail("unable to read machine '%s': %s", name, err.msg);
    if (g->format == CLI_OUT_JSON) {
        rc = cli_print_json(machine_json(&m));
    } else {
        char c[64], u[64], p[64], h[64];
        static const char *const hdr[] = { "Field", "Value" };
        struct cli_table *t = cli_table_new(hdr, 2);
        const char *rows[][2] = {
            { "Machine ID", m.machine_id },
            { "IP Address", m.ip_address },
            { "Created At", cli_format_time(m.created_at, false, c, sizeof(c)) },
            { "Last Update", cli_format_time(m.updated_at, false, u, sizeof(u)) },
            { "Last Push", cli_format_time(m.last_push, false, p, sizeof(p)) },
            { "Last Heartbeat", cli_format_time(m.last_heartbeat, false, h, sizeof(h)) },
            { "Validated?", m.is_validated ? "true" : "false" },
            { "Version", m.version },
            { "Auth Type", m.auth_type },
            { "Scenarios", m.scenarios },
        };
        rc = t == NULL ? cli_fail("out of memory") : 0;
        for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(rows); i++)
            if (cli_table_add(t, rows[i]) < 0)
                rc = cli_fail("out of memory");
        if (rc == 0 && cli_inspect_metrics_rows(t, s, "LP", m.machine_id) < 0)
            rc = cli_fail("out of memory");
        if (rc == 0)
            cli_table_print(t, stdout, g);
        cli_table_free(t);
    }
    store_machine_clear(&m);
    return rc;
}

/* n random characters from [a-zA-Z0-9] (cscli's generatePassword alphabet) into out. */
static int
random_alnum(char *out, size_t n)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char r[128];
    if (n >= sizeof(r) || getrandom(r, n, 0) != (ssize_t)n)
        return -EIO;
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[r[i] % (sizeof(alphabet) - 1)]; /* 256 % 62: a bias we accept */
    out[n] = '\0';
    return 0;
}

/* cscli's generateID: /etc/machine-id (or random hex) followed by 16 random characters. */
static int
generate_machine_id(char *out, size_t size)
{
    char mid[64] = "", tail[17];
    FILE *f = fopen("/etc/machine-id", "r");
    if (f != NULL) {
        if (fgets(mid, sizeof(mid), f) == NULL)
            mid[0] = '\0';
        fclose(f);
        mid[strcspn(mid, "\r\n")] = '\0';
    }
    if (strlen(mid) != 32) {
        unsigned char r[16];
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
            return -EIO;
        for (size_t i = 0; i < sizeof(r); i++)
            snprintf(mid + 2 * i, 3, "%02x", r[i]);
    }
    if (random_alnum(tail, 16) < 0)
        return -EIO;
    snprintf(out, size, "%s%s", mid, tail);
    return 0;
}

/* The URL of our own Local API: http://<api.server.listen_uri>/ */
static int
default_url(const char *config, char *out, size_t size)
{
    struct lapi_config c = { 0 };
    struct lapi_error err = { { 0 } };
    if (lapi_config_load(config, &c, &err) != 0)
        return cli_fail("%s", err.msg);
    snprintf(out, size, "http://%s/", c.listen_uri ? c.listen_uri : LAPI_DEFAULT_LISTEN);
    lapi_config_clear(&c);
    return 0;
}

struct add_opts {
    const char *password, *file, *url;
    bool autogen, force;
};

static int
machines_add(struct store *s, const struct cli_globals *g, const char *name,
             const struct add_opts *o)
{
    struct store_error err = { { 0 } };
    char gen_name[96], gen_pw[65], url[512];
    const char *password = o->password;
    char *hash = NULL, *cred_path = NULL;
    int rc;

    if (name == NULL) {
        if (!o->autogen)
            return cli_fail("please provide a name for the machine, or use --auto");
        if (generate_machine_id(gen_name, sizeof(gen_name)) < 0)
            return cli_fail("unable to generate a machine name");
        name = gen_name;
    }
    if (password == NULL && o->autogen) {
        if (random_alnum(gen_pw, 64) < 0)
            return cli_fail("unable to generate a password");
        password = gen_pw;
    }
    if (password == NULL || password[0] == '\0')
        return cli_fail("please provide a password with -p, or use --auto");
    if (strlen(password) > 72)
        return cli_fail("the password is longer than bcrypt's 72 bytes");
    if ((hash = lapi_password_hash(password)) == NULL)
        return cli_fail("unable to hash the password");
    struct store_machine m = {
        .machine_id = (char *)name,
        .password = hash,
        .ip_address = (char *)"",
        .scenarios = (char *)"",
        .version = (char *)"",
        .auth_type = (char *)"password",
        .is_validated = true,
    };
    rc = store_machine_create(s, &m, now_ns(), NULL, &err);
    if (rc == -EEXIST && o->force && store_machine_delete(s, name, &err) == 0)
        rc = store_machine_create(s, &m, now_ns(), NULL, &err);
    free(hash);
    if (rc == -EEXIST)
        return cli_fail("unable to create machine: user '%s': user already exist (use --force to "
                        "replace it)",
                        name);
    if (rc != 0)
        return cli_fail("unable to create machine: %s", err.msg);
    fprintf(stderr, "Machine '%s' successfully added to the local API.\n", name);
    if (!o->autogen && o->file == NULL)
        return 0;
    /* The credentials file: -f, else api.client.credentials_path; "-" = stdout. */
    const char *file = o->file;
    bool insecure = false;
    if (file == NULL) {
        if (cli_client_settings(g->config, &cred_path, &insecure) != 0)
            return 1;
        file = cred_path;
    }
    if (o->url != NULL)
        snprintf(url, sizeof(url), "%s", o->url);
    else if (default_url(g->config, url, sizeof(url)) != 0)
        goto fail;
    struct apiclient_credentials creds = { .url = url,
                                           .login = (char *)name,
                                           .password = (char *)password };
    if (strcmp(file, "-") == 0) {
        printf("url: %s\nlogin: %s\npassword: %s\n", url, name, password);
    } else {
        struct apiclient_error aerr = { { 0 }, 0 };
        if (apiclient_credentials_save(file, &creds, &aerr) != 0) {
            cli_fail("unable to write the credentials: %s", aerr.message);
            goto fail;
        }
        fprintf(stderr, "API credentials written to '%s'.\n", file);
    }
    free(cred_path);
    return 0;
fail:
    free(cred_path);
    return 1;
}

/* Deletes machines whose last heartbeat (or creation, if none) is older than max_age. */
static int
machines_prune(struct store *s, int64_t max_age, bool not_validated_only, bool force)
{
    struct store_machine *v = NULL;
    size_t n = 0, pruned = 0;
    struct store_error err = { { 0 } };
    int64_t now = now_ns();
    int rc = 0;

    if (store_machine_list(s, &v, &n, &err) != 0)
        return cli_fail("unable to list machines: %s", err.msg);
    for (size_t i = 0; i < n; i++) {
        int64_t seen = v[i].last_heartbeat > 0 ? v[i].last_heartbeat : v[i].created_at;
        bool stale = not_validated_only ? !v[i].is_validated : now - seen > max_age;
        if (!stale)
            continue;
        if (!force) {
            fprintf(stderr, "would prune machine '%s' (use --force to delete)\n", v[i].machine_id);
            continue;
        }
        if (store_machine_delete(s, v[i].machine_id, &err) != 0)
            rc = cli_fail("unable to delete machine '%s': %s", v[i].machine_id, err.msg);
        else
            pruned++;
    }
    if (force)
        fprintf(stderr, "%zu machine(s) pruned\n", pruned);
    for (size_t i = 0; i < n; i++)
        store_machine_clear(&v[i]);
    free(v);
    return rc;
}

int
cli_cmd_machines(int argc, char **argv)
{
    struct cli_globals g;
    struct add_opts ao = { 0 };
    const char *pos[64], *duration = NULL;
    size_t npos = 0;
    bool not_validated = false;
    struct store *s = NULL;
    struct lapi_error lerr = { { 0 } };
    struct store_error err = { { 0 } };
    const struct cli_flag flags[] = {
        { "-p", "--password", CLI_FLAG_STRING, &ao.password },
        { "-f", "--file", CLI_FLAG_STRING, &ao.file },
        { "-u", "--url", CLI_FLAG_STRING, &ao.url },
        { "-a", "--auto", CLI_FLAG_BOOL, &ao.autogen },
        { NULL, "--force", CLI_FLAG_BOOL, &ao.force },
        { "-d", "--duration", CLI_FLAG_STRING, &duration },
        { NULL, "--not-validated-only", CLI_FLAG_BOOL, &not_validated },
    };
    int rc;

    cli_globals_init(&g);
    rc = cli_flags_parse(&g, flags, ARRAY_SIZE(flags), argc, argv, 1, pos, ARRAY_SIZE(pos), &npos,
                         "phalanx machines");
    if (rc == CLI_FLAGS_HELP || (rc == 0 && npos == 0)) {
        machines_usage(stdout);
        return 0;
    }
    if (rc != 0)
        return rc;
    const char *cmd = pos[0];
    bool one_name = strcmp(cmd, "inspect") == 0 || strcmp(cmd, "validate") == 0;
    if (strcmp(cmd, "add") != 0 && strcmp(cmd, "list") != 0 && strcmp(cmd, "delete") != 0 &&
        strcmp(cmd, "prune") != 0 && !one_name)
        return cli_fail("unknown command \"%s\" for \"phalanx machines\" (see phalanx machines "
                        "--help)",
                        cmd);
    if (one_name && npos != 2)
        return cli_fail("phalanx machines %s needs exactly one machine name", cmd);
    if (strcmp(cmd, "add") == 0 && npos > 2)
        return cli_fail("phalanx machines add takes at most one machine name");
    if (strcmp(cmd, "delete") == 0 && npos < 2)
        return cli_fail("phalanx machines delete needs at least one machine name");
    int64_t max_age = PRUNE_DEFAULT_NS;
    if (duration != NULL && gotime_parse_duration(duration, strlen(duration), &max_age) < 0)
        return cli_fail("invalid duration '%s' for -d (e.g. 10m, 1h)", duration);
    if (lapi_store_open(g.config, &s, &lerr) != 0)
        return cli_fail("%s", lerr.msg);
    rc = 0;
    if (strcmp(cmd, "add") == 0) {
        rc = machines_add(s, &g, npos == 2 ? pos[1] : NULL, &ao);
    } else if (strcmp(cmd, "list") == 0) {
        rc = machines_list(s, &g);
    } else if (strcmp(cmd, "inspect") == 0) {
        rc = machines_inspect(s, &g, pos[1]);
    } else if (strcmp(cmd, "prune") == 0) {
        rc = machines_prune(s, max_age, not_validated, ao.force);
    } else if (strcmp(cmd, "validate") == 0) {
        if (store_machine_set_validated(s, pos[1], true, now_ns(), &err) != 0)
            rc = cli_fail("unable to validate machine '%s': %s", pos[1],
                          err.msg[0] ? err.msg : "not found");
        else
            fprintf(stderr, "machine '%s' validated successfully\n", pos[1]);
    } else {
        for (size_t i = 1; i < npos; i++) {
            if (store_machine_delete(s, pos[i], &err) != 0)
                rc = cli_fail("unable to delete machine '%s': %s", pos[i],
                              err.msg[0] ? err.msg : "not found");
            else
                fprintf(stderr, "machine '%s' deleted successfully\n", pos[i]);
        }
    }
    store_close(s);
    return rc;
}
