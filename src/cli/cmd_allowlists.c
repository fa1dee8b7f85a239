/*
 * cmd_allowlists.c - `phalanx allowlists create|add|remove|list|inspect|
 * delete|check`: CrowdSec 1.6's centralized allowlists (cscli allowlists),
 * acting on the database named by the configuration directly. Every command
 * reads the store, where cscli reads `list`, `inspect` and `check` through
 * the Local API: the answers are the same, and this way they work while
 * phalanxd is down.
 *
 * `add` refuses values already in the list (even expired ones, as cscli),
 * skips what is not an IP or CIDR, and then expires the active decisions the
 * list now covers (ApplyAllowlistsToExistingDecisions).
 */
#include "cli/cli.h"
#include "cli/output.h"
#include "common/gotime.h"
#include "lapi/lapi.h"
#include "model/model.h"
#include "store/store.h"

#include <jansson.h>

#define MAX_VALUES 1024

static void
allowlists_usage(FILE *out)
{
    fprintf(out,
            "Manage centralized allowlists\n\n"
            "Usage:\n"
            "  phalanx allowlists [command]\n\n"
            "Available Commands:\n"
            "  add         Add content to an allowlist (NAME VALUE... [-e DURATION] [-d COMMENT])\n"
            "  check       Check if a value is in an allowlist (VALUE...)\n"
            "  create      Create a new allowlist (NAME -d DESCRIPTION)\n"
            "  delete      Delete an allowlist (NAME)\n"
            "  inspect     Inspect an allowlist (NAME)\n"
            "  list        List all allowlists\n"
            "  remove      Remove content from an allowlist (NAME VALUE...)\n\n"
            "Global Flags:\n"
            "  -c, --config string   configuration file (default \"%s\")\n"
            "  -o, --output string   Output format: human, json, raw\n",
            CLI_DEFAULT_CONFIG);
}

/* strfmt.DateTime's text: RFC3339 with milliseconds, Go's zero time for 0. */
static const char *
fmt_millis(int64_t ns, char *buf, size_t size)
{
    struct gotime_fields f;

    if (ns == 0) {
        snprintf(buf, size, "0001-01-01T00:00:00.000Z");
        return buf;
    }
    gotime_fields((struct gotime){ ns, 0 }, &f);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", f.year, f.month, f.day, f.hour,
             f.minute, f.second, f.nanosecond / 1000000);
    return buf;
}

/* time.RFC3339, in seconds. */
static const char *
fmt_seconds(int64_t ns, char *buf, size_t size)
{
    struct gotime_fields f;

    gotime_fields((struct gotime){ ns, 0 }, &f);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", f.year, f.month, f.day, f.hour, f.minute,
             f.second);
    return buf;
}

static bool
item_live(const struct store_allowlist_item *it, int64_t now)
{
    return it->expires_at == 0 || it->expires_at >= now;
}

static size_t
live_count(const struct store_allowlist *a, int64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < a->nitems; i++)
        n += item_live(&a->items[i], now);
    return n;
}

static void
set_nonempty(json_t *o, const char *key, const char *v)
{
    if (v != NULL && v[0] != '\0')
        json_object_set_new(o, key, json_string(v));
}

/* models.GetAllowlistResponse, as the LAPI answers it with content. */
static json_t *
allowlist_json(const struct store_allowlist *a, int64_t now)
{
    char t[40];
    json_t *o = json_object(), *items = json_array();

    if (o == NULL || items == NULL) {
        json_decref(o);
        json_decref(items);
        return NULL;
    }
    set_nonempty(o, "allowlist_id", a->allowlist_id);
    if (a->from_console)
        json_object_set_new(o, "console_managed", json_true());
    json_object_set_new(o, "created_at", json_string(fmt_millis(a->created_at, t, sizeof(t))));
    set_nonempty(o, "description", a->description);
    for (size_t i = 0; i < a->nitems; i++) {
        const struct store_allowlist_item *it = &a->items[i];
        if (!item_live(it, now))
            continue;
        json_t *j = json_object();
        if (j == NULL)
            continue;
        json_object_set_new(j, "created_at", json_string(fmt_millis(it->created_at, t, sizeof(t))));
        set_nonempty(j, "description", it->comment);
        json_object_set_new(j, "expiration", json_string(fmt_millis(it->expires_at, t, sizeof(t))));
        set_nonempty(j, "value", it->value);
        json_array_append_new(items, j);
    }
    json_object_set_new(o, "items", items);
    set_nonempty(o, "name", a->name);
    json_object_set_new(o, "updated_at", json_string(fmt_millis(a->updated_at, t, sizeof(t))));
    return o;
}

/* json.Encoder with SetIndent("", "  "). */
static int
print_model_json(json_t *j)
{
    char *compact = j != NULL ? model_json_dumps(j) : NULL;
    char *indented = compact != NULL ? cli_json_indent(compact, "  ") : NULL;

    json_decref(j);
    free(compact);
    if (indented == NULL)
        return cli_fail("failed to serialize");
    printf("%s\n", indented);
    free(indented);
    return 0;
}

static int
print_table(const char *const *hdr, size_t ncols, const char *const *cells, size_t nrows,
            const struct cli_globals *g)
{
    struct cli_table *t = cli_table_new(hdr, ncols);
    int rc = t == NULL ? cli_fail("out of memory") : 0;

    for (size_t i = 0; rc == 0 && i < nrows; i++)
        if (cli_table_add(t, cells + i * ncols) < 0)
            rc = cli_fail("out of memory");
    if (rc == 0)
        cli_table_print(t, stdout, g);
    cli_table_free(t);
    return rc;
}

static int
cmd_list(struct store *s, const struct cli_globals *g)
{
    struct store_allowlist *v = NULL;
    struct store_error err = { { 0 } };
    size_t n = 0;
    int64_t now = gotime_now().unix_ns;
    int rc = 0;

    if (store_allowlist_list(s, true, &v, &n, &err) != 0)
        return cli_fail("unable to list allowlists: %s", err.msg);
    if (g->format == CLI_OUT_JSON) {
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && i < n; i++)
            json_array_append_new(a, allowlist_json(&v[i], now));
        rc = print_model_json(a);
        goto out;
    }
    bool raw = g->format == CLI_OUT_RAW;
    static const char *const human[] = { "Name",       "Description",        "Created at",
                                         "Updated at", "Managed by Console", "Size" };
    static const char *const csv[] = { "name",       "description",     "created_at",
                                       "updated_at", "console_managed", "size" };
    char(*buf)[4][40] = calloc(n + 1, sizeof(*buf));
    const char **cells = calloc((n + 1) * 6, sizeof(*cells));
    if (buf == NULL || cells == NULL) {
        rc = cli_fail("out of memory");
    } else {
        for (size_t i = 0; i < n; i++) {
            const char **c = cells + i * 6;
            c[0] = v[i].name;
            c[1] = v[i].description;
            c[2] = raw ? fmt_seconds(v[i].created_at, buf[i][0], sizeof(buf[i][0]))
                       : fmt_millis(v[i].created_at, buf[i][0], sizeof(buf[i][0]));
            c[3] = raw ? fmt_seconds(v[i].updated_at, buf[i][1], sizeof(buf[i][1]))
                       : fmt_millis(v[i].updated_at, buf[i][1], sizeof(buf[i][1]));
            c[4] =
                raw ? (v[i].from_console ? "true" : "false") : (v[i].from_console ? "yes" : "no");
            snprintf(buf[i][2], sizeof(buf[i][2]), "%zu", live_count(&v[i], now));
            c[5] = buf[i][2];
        }
        rc = print_table(raw ? csv : human, 6, cells, n, g);
    }
    free(buf);
    free(cells);
out:
    store_allowlists_free(v, n);
    return rc;
}

static int
cmd_inspect(struct store *s, const struct cli_globals *g, const char *name)
{
    struct store_allowlist a = { 0 };
    struct store_error err = { { 0 } };
    int64_t now = gotime_now().unix_ns;
    int rc;

    if (store_allowlist_get(s, name, true, &a, &err) != 0)
        return cli_fail("unable to get allowlist: %s", err.msg);
    if (g->format == CLI_OUT_JSON) {
        rc = print_model_json(allowlist_json(&a, now));
        store_allowlist_clear(&a);
        return rc;
    }
    bool raw = g->format == CLI_OUT_RAW;
    char(*buf)[2][40] = calloc(a.nitems + 1, sizeof(*buf));
    const char **cells = calloc((a.nitems + 1) * 7, sizeof(*cells));
    size_t rows = 0;
    if (buf == NULL || cells == NULL) {
        rc = cli_fail("out of memory");
        goto out;
    }
    for (size_t i = 0; i < a.nitems; i++) {
        const struct store_allowlist_item *it = &a.items[i];
        if (!item_live(it, now))
            continue;
        const char **c = cells + rows * 7;
        const char *exp = "never";
        if (it->expires_at != 0)
            exp = raw ? fmt_seconds(it->expires_at, buf[rows][0], sizeof(buf[rows][0]))
                      : fmt_millis(it->expires_at, buf[rows][0], sizeof(buf[rows][0]));
        const char *created = fmt_seconds(it->created_at, buf[rows][1], sizeof(buf[rows][1]));
        if (raw) {
            c[0] = a.name;
            c[1] = a.description;
            c[2] = it->value;
            c[3] = it->comment;
            c[4] = exp;
            c[5] = created;
            c[6] = a.from_console ? "true" : "false";
        } else {
            c[0] = it->value;
            c[1] = it->comment;
            c[2] = exp;
            c[3] = created;
        }
        rows++;
    }
    if (raw) {
        static const char *const csv[] = { "name",       "description", "value",          "comment",
                                           "expiration", "created_at",  "console_managed" };
        rc = print_table(csv, 7, cells, rows, g);
        goto out;
    }
    char ca[40], ua[40];
    const char *info[] = {
        "Name",
        a.name,
        "Description",
        a.description,
        "Created at",
        fmt_millis(a.created_at, ca, sizeof(ca)),
        "Updated at",
        fmt_millis(a.updated_at, ua, sizeof(ua)),
        "Managed by Console",
        a.from_console ? "yes" : "no",
    };
    char title[300];
    snprintf(title, sizeof(title), "Allowlist: %s", a.name);
    const char *const ihdr[] = { title, "" };
    rc = print_table(ihdr, 2, info, ARRAY_SIZE(info) / 2, g);
    printf("\n");
    /* The item rows were laid out 7 wide; the human table has 4 columns. */
    for (size_t i = 0; i < rows; i++)
        memmove(cells + i * 4, cells + i * 7, 4 * sizeof(*cells));
    static const char *const chdr[] = { "Value", "Comment", "Expiration", "Created at" };
    if (rc == 0)
        rc = print_table(chdr, 4, cells, rows, g);
out:
    free(buf);
    free(cells);
    store_allowlist_clear(&a);
    return rc;
}

static int
cmd_create(struct store *s, const char *name, const char *description)
{
    struct store_error err = { { 0 } };

    if (store_allowlist_create(s, name, description, gotime_now().unix_ns, NULL, &err) != 0)
        return cli_fail("%s", err.msg);
    printf("allowlist '%s' created successfully\n", name);
    return 0;
}

static int
cmd_delete(struct store *s, const char *name)
{
    struct store_allowlist a = { 0 };
    struct store_error err = { { 0 } };

    if (store_allowlist_get(s, name, false, &a, &err) != 0)
        return cli_fail("%s", err.msg);
    if (a.from_console) {
        int rc = cli_fail("allowlist %s is managed by console, cannot delete with phalanx", name);
        store_allowlist_clear(&a);
        return rc;
    }
    store_allowlist_clear(&a);
    if (store_allowlist_delete(s, name, &err) != 0)
        return cli_fail("%s", err.msg);
    printf("allowlist '%s' deleted successfully\n", name);
    return 0;
}

static bool
has_value(const struct store_allowlist *a, const char *v)
{
    for (size_t i = 0; i < a->nitems; i++)
        if (strcmp(a->items[i].value, v) == 0)
            return true;
    return false;
}

static int
cmd_add(struct store *s, const char *name, const char *const *values, size_t n,
        const char *expiration, const char *comment)
{
    struct store_allowlist a = { 0 };
    struct store_error err = { { 0 } };
    struct store_allowlist_entry *add = NULL;
    int64_t now = gotime_now().unix_ns, dur = 0, deleted = 0;
    size_t nadd = 0, added = 0;
    int rc = 0;

    if (expiration != NULL && gotime_parse_duration_days(expiration, strlen(expiration), &dur) != 0)
        return cli_fail("invalid argument \"%s\" for \"-e, --expiration\" flag: invalid duration",
                        expiration);
    if (store_allowlist_get(s, name, true, &a, &err) != 0)
        return cli_fail("%s", err.msg);
    if (a.from_console) {
        rc = cli_fail("allowlist %s is managed by console, cannot update with phalanx", name);
        goto out;
    }
    if ((add = calloc(n > 0 ? n : 1, sizeof(*add))) == NULL) {
        rc = cli_fail("out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (has_value(&a, values[i])) {
            fprintf(stderr, "value %s already in allowlist\n", values[i]);
            continue;
        }
        add[nadd++] = (struct store_allowlist_entry){
            .value = values[i],
            .comment = comment != NULL ? comment : "",
            .expires_at = dur != 0 ? now + dur : 0,
        };
    }
    if (nadd == 0) {
        printf("no new values for allowlist\n");
        goto out;
    }
    if (store_allowlist_add(s, a.id, add, nadd, now, &added, &err) != 0) {
        rc = cli_fail("unable to add values to allowlist: %s", err.msg);
        goto out;
    }
    /* What the store skipped: say which, as CrowdSec logs them. */
    for (size_t i = 0; added < nadd && i < nadd; i++) {
        struct store_strings tmp = { 0 };
        struct store_error verr = { { 0 } };
        if (store_allowlist_match(s, add[i].value, now, &tmp, &verr) == -EINVAL)
            fprintf(stderr, "%s\n", verr.msg);
        store_strings_clear(&tmp);
    }
    if (added > 0)
        printf("added %zu values to allowlist %s\n", added, name);
    if (store_allowlist_apply(s, now, &deleted, &err) != 0) {
        rc = cli_fail("unable to apply allowlists to existing decisions: %s", err.msg);
        goto out;
    }
    if (deleted > 0)
        printf("%lld decisions deleted by allowlists\n", (long long)deleted);
out:
    free(add);
    store_allowlist_clear(&a);
    return rc;
}

static int
cmd_remove(struct store *s, const char *name, const char *const *values, size_t n)
{
    struct store_allowlist a = { 0 };
    struct store_error err = { { 0 } };
    const char **rm = NULL;
    size_t nrm = 0;
    int64_t removed = 0;
    int rc = 0;

    if (store_allowlist_get(s, name, true, &a, &err) != 0)
        return cli_fail("%s", err.msg);
    if (a.from_console) {
        rc = cli_fail("allowlist %s is managed by console, cannot delete with phalanx", name);
        goto out;
    }
    if ((rm = calloc(n > 0 ? n : 1, sizeof(*rm))) == NULL) {
        rc = cli_fail("out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (has_value(&a, values[i]))
            rm[nrm++] = values[i];
    if (nrm == 0) {
        printf("no value to remove from allowlist\n");
        goto out;
    }
    if (store_allowlist_remove(s, a.id, rm, nrm, &removed, &err) != 0) {
        rc = cli_fail("unable to remove values from allowlist: %s", err.msg);
        goto out;
    }
    if (removed > 0)
        printf("removed %lld values from allowlist %s\n", (long long)removed, name);
out:
    free(rm);
    store_allowlist_clear(&a);
    return rc;
}

static int
cmd_check(struct store *s, const char *const *values, size_t n)
{
    int64_t now = gotime_now().unix_ns;

    for (size_t i = 0; i < n; i++) {
        struct store_strings reasons = { 0 };
        struct store_error err = { { 0 } };
        struct str joined = STR_INIT;
        if (store_allowlist_match(s, values[i], now, &reasons, &err) != 0)
            return cli_fail("cannot check if %s is in allowlist: %s", values[i], err.msg);
        for (size_t k = 0; k < reasons.n; k++)
            if ((k > 0 && str_append_cstr(&joined, ", ") < 0) ||
                str_append_cstr(&joined, reasons.v[k]) < 0) {
                str_free(&joined);
                store_strings_clear(&reasons);
                return cli_fail("out of memory");
            }
        if (reasons.n == 0)
            printf("%s is not allowlisted\n", values[i]);
        else
            printf("%s is allowlisted by item %s\n", values[i], joined.buf);
        str_free(&joined);
        store_strings_clear(&reasons);
    }
    return 0;
}

int
cli_cmd_allowlists(int argc, char **argv)
{
    struct cli_globals g;
    const char *pos[MAX_VALUES + 2], *desc = NULL, *expiration = NULL;
    size_t npos = 0;
    struct store *s = NULL;
    struct lapi_error lerr = { { 0 } };
    const struct cli_flag flags[] = {
        { "-d", "--description", CLI_FLAG_STRING, &desc },
        { "-e", "--expiration", CLI_FLAG_STRING, &expiration },
        { NULL, "--comment", CLI_FLAG_STRING, &desc },
    };
    static const struct {
        const char *name;
        size_t min, max; /* positional arguments after the subcommand */
    } subs[] = {
        { "create", 1, 1 },         { "delete", 1, 1 },           { "inspect", 1, 1 },
        { "list", 0, 0 },           { "add", 2, MAX_VALUES + 1 }, { "remove", 2, MAX_VALUES + 1 },
        { "check", 1, MAX_VALUES },
    };

    cli_globals_init(&g);
    int rc = cli_flags_parse(&g, flags, ARRAY_SIZE(flags), argc, argv, 1, pos, ARRAY_SIZE(pos),
                             &npos, "phalanx allowlists");
    if (rc == CLI_FLAGS_HELP || (rc == 0 && npos == 0)) {
        allowlists_usage(stdout);
        return 0;
    }
    if (rc != 0)
        return rc;
    const char *cmd = pos[0];
    size_t k = 0;
    while (k < ARRAY_SIZE(subs) && strcmp(subs[k].name, cmd) != 0)
        k++;
    if (k == ARRAY_SIZE(subs))
        return cli_fail("unknown command \"%s\" for \"phalanx allowlists\" (see phalanx allowlists "
                        "--help)",
                        cmd);
    if (npos - 1 < subs[k].min || npos - 1 > subs[k].max)
        return cli_fail("phalanx allowlists %s takes %s%zu argument(s), got %zu", cmd,
                        subs[k].min == subs[k].max ? "" : "at least ", subs[k].min, npos - 1);
    if (strcmp(cmd, "create") == 0 && desc == NULL)
        return cli_fail("required flag(s) \"description\" not set");
    if (lapi_store_open(g.config, &s, &lerr) != 0)
        return cli_fail("%s", lerr.msg);
    if (strcmp(cmd, "create") == 0)
        rc = cmd_create(s, pos[1], desc);
    else if (strcmp(cmd, "delete") == 0)
        rc = cmd_delete(s, pos[1]);
    else if (strcmp(cmd, "inspect") == 0)
        rc = cmd_inspect(s, &g, pos[1]);
    else if (strcmp(cmd, "list") == 0)
        rc = cmd_list(s, &g);
    else if (strcmp(cmd, "add") == 0)
        rc = cmd_add(s, pos[1], pos + 2, npos - 2, expiration, desc);
    else if (strcmp(cmd, "remove") == 0)
        rc = cmd_remove(s, pos[1], pos + 2, npos - 2);
    else
        rc = cmd_check(s, pos + 1, npos - 1);
    store_close(s);
    return rc;
}

/*
 * The base metrics of the latest usage-metrics push of a machine ("LP") or
 * a bouncer ("RC"), as rows of `machines inspect` / `bouncers inspect`
 * (cscli's clientinfo): "OS" (name/version, "?" when unknown), one "Feature
 * Flags" row per flag, and for machines one "Datasources" row per type and
 * one "Collections" row per collection. Lives here, with the other command
 * that reads what the LAPI's newer endpoints stored.
 */
int
cli_inspect_metrics_rows(struct cli_table *t, struct store *s, const char *type, const char *by)
{
    struct store_metrics m = { 0 };
    struct store_error err = { { 0 } };
    char os[600] = "";
    int rc = 0;

    if (store_metrics_latest(s, type, by, &m, &err) == 0) {
        snprintf(os, sizeof(os), "%s%s%s", m.os_name,
                 m.os_name[0] != '\0' && m.os_version[0] != '\0' ? "/" : "", m.os_version);
    }
    const char *row[2] = { "OS", os[0] != '\0' ? os : "?" };
    if (cli_table_add(t, row) < 0)
        rc = -ENOMEM;
    /* strings.Split of the comma-joined list, bounded by the stored text. */
    for (char *p = m.feature_flags; rc == 0 && p != NULL && *p != '\0';) {
        char *comma = strchr(p, ',');
        if (comma != NULL)
            *comma = '\0';
        const char *ff[2] = { "Feature Flags", p };
        if (cli_table_add(t, ff) < 0)
            rc = -ENOMEM;
        p = comma != NULL ? comma + 1 : NULL;
    }
    json_t *ds = m.datasources != NULL ? json_loads(m.datasources, 0, NULL) : NULL;
    const char *k;
    json_t *v;
    json_object_foreach(ds, k, v)
    {
        char cell[300];
        snprintf(cell, sizeof(cell), "%s: %lld", k, (long long)json_integer_value(v));
        const char *r[2] = { "Datasources", cell };
        if (rc == 0 && cli_table_add(t, r) < 0)
            rc = -ENOMEM;
    }
    json_decref(ds);
    json_t *hub = m.hub_items != NULL ? json_loads(m.hub_items, 0, NULL) : NULL;
    json_t *colls = json_object_get(hub, "collections");
    for (size_t i = 0; rc == 0 && i < json_array_size(colls); i++) {
        const char *name = json_string_value(json_object_get(json_array_get(colls, i), "name"));
        const char *r[2] = { "Collections", name != NULL ? name : "" };
        if (cli_table_add(t, r) < 0)
            rc = -ENOMEM;
    }
    json_decref(hub);
    store_metrics_clear(&m);
    return rc;
}
