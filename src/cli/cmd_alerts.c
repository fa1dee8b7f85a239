/*
 * cmd_alerts.c - `phalanx alerts list|inspect|delete|flush`, cscli's alerts
 * command. list, inspect and delete go through the Local API with the
 * machine's credentials; flush works on the database directly (the store's
 * retention pass), as cscli does, so it must run where the LAPI runs.
 */
#include "cli/cli.h"
#include "cli/output.h"

#include <inttypes.h>
#include <jansson.h>
#include <time.h>

#include "apiclient/apiclient.h"
#include "common/gotime.h"
#include "common/str.h"
#include "lapi/lapi.h"
#include "model/model.h"
#include "store/store.h"

static const char *
nz(const char *s)
{
    return s != NULL ? s : "";
}

static int
qadd(struct str *q, const char *key, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return 0;
    return cli_query_add(q, key, value);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* decisionsFromAlert: "ban:2 (simul)captcha:1", keys sorted. */
static void
decisions_summary(const struct alert *a, struct str *out)
{
    char **keys = calloc(a->ndecisions + 1, sizeof(char *));
    size_t *counts = calloc(a->ndecisions + 1, sizeof(size_t));
    size_t nk = 0;

    str_clear(out);
    if (keys == NULL || counts == NULL)
        goto out;
    for (size_t i = 0; i < a->ndecisions; i++) {
        const struct decision *d = &a->decisions[i];
        char k[256];
        size_t j;
        snprintf(k, sizeof(k), "%s%s", d->simulated ? "(simul)" : "", nz(d->type));
        for (j = 0; j < nk; j++) {
            if (strcmp(keys[j], k) == 0)
                break;
        }
        if (j == nk) {
            if ((keys[nk] = strdup(k)) == NULL)
                goto out;
            nk++;
        }
        counts[j]++;
    }
    /* Sort keys with their counts: sort pairs "key\0count" by key. */
    for (size_t i = 0; i < nk; i++) {
        char *pair;
        if (asprintf(&pair, "%s%c%zu", keys[i], '\0', counts[i]) < 0)
            goto out;
        free(keys[i]);
        keys[i] = pair;
    }
    qsort(keys, nk, sizeof(char *), cmp_str);
    for (size_t i = 0; i < nk; i++) {
        const char *count = keys[i] + strlen(keys[i]) + 1;
        str_appendf(out, "%s%s:%s", i > 0 ? " " : "", keys[i], count);
    }
out:
    for (size_t i = 0; keys != NULL && i < nk; i++)
        free(keys[i]);
    free(keys);
    free(counts);
}

/* --- list --- */

static void
list_usage(void)
{
    printf("List alerts with optional filters\n\n"
           "Usage:\n  phalanx alerts list [filters] [flags]\n\n"
           "Examples:\n"
           "phalanx alerts list\n"
           "phalanx alerts list --ip 1.2.3.4\n"
           "phalanx alerts list --range 1.2.3.0/24\n"
           "phalanx alerts list --origin lists\n"
           "phalanx alerts list -s crowdsecurity/ssh-bf\n"
           "phalanx alerts list --type ban\n\n"
           "Flags:\n"
           "  -a, --all               Include decisions from Central API\n"
           "      --until string      restrict to alerts older than until (ie. 4h, 30d)\n"
           "      --since string      restrict to alerts newer than since (ie. 4h, 30d)\n"
           "  -i, --ip string         restrict to alerts from this source ip (shorthand for "
           "--scope ip --value <IP>)\n"
           "  -s, --scenario string   the scenario (ie. crowdsecurity/ssh-bf)\n"
           "  -r, --range string      restrict to alerts from this range (shorthand for --scope "
           "range --value <RANGE/X>)\n"
           "      --type string       restrict to alerts with given decision type (ie. ban, "
           "captcha)\n"
           "      --scope string      restrict to alerts of this scope (ie. ip,range)\n"
           "  -v, --value string      the value to match for in the specified scope\n"
           "      --origin string     the value to match for the specified origin (cscli,"
           "crowdsec,console,cscli-import,lists,CAPI ...)\n"
           "      --kind string       the value to match for the specified kind (cscli,"
           "crowdsec ...)\n"
           "      --contained         query decisions contained by range\n"
           "  -m, --machine           print machines that sent alerts\n"
           "  -l, --limit int         limit size of alerts list table (0 to view all alerts) "
           "(default 50)\n"
           "  -h, --help              help for list\n");
}

static int
print_alerts(const struct alert *v, size_t n, const struct cli_globals *g, bool machine)
{
    static const char *const raw_hdr[] = { "id", "scope",     "value",      "reason", "country",
                                           "as", "decisions", "created_at", "kind",   "machine" };
    static const char *const human_hdr[] = { "ID",        "value",      "reason", "country", "as",
                                             "decisions", "created_at", "kind",   "machine" };
    struct str dec = STR_INIT;
    int rc = 0;

    if (g->format == CLI_OUT_JSON)
        return cli_alerts_print_json(v, n, " ", true);
    if (g->format == CLI_OUT_HUMAN && n == 0) {
        printf("No active alerts\n");
        return 0;
    }
    bool raw = g->format == CLI_OUT_RAW;
    size_t ncols = (raw ? 9 : 8) + (machine ? 1 : 0);
    /* What an 80-column terminal can do without, least needed first. */
    static const size_t hide[] = { 7, 8, 4, 3, 5 };
    struct cli_table *t = cli_table_new(raw ? raw_hdr : human_hdr, ncols);
    if (t == NULL || cli_table_set_hide_order(t, hide, ARRAY_SIZE(hide)) < 0) {
        cli_table_free(t);
        return cli_fail("out of memory");
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct alert *a = &v[i];
        const char *scope = a->source != NULL ? nz(a->source->scope) : "";
        const char *value = a->source != NULL ? nz(a->source->value) : "";
        char id[24], as[256], shown[1024];
        snprintf(id, sizeof(id), "%" PRId64, a->id);
        cli_as_number_name(a->source, as, sizeof(as));
        decisions_summary(a, &dec);
        if (a->ndecisions > 1)
            snprintf(shown, sizeof(shown), "%s (%zu %ss)", scope, a->ndecisions,
                     nz(a->decisions[0].scope));
        else
            snprintf(shown, sizeof(shown), "%s%s%s", scope, value[0] ? ":" : "", value);
        const char *cells[10];
        size_t c = 0;
        cells[c++] = id;
        if (raw) {
            cells[c++] = scope;
            cells[c++] = value;
        } else {
            cells[c++] = shown;
        }
        cells[c++] = nz(a->scenario);
        cells[c++] = a->source != NULL ? nz(a->source->cn) : "";
        cells[c++] = as;
        cells[c++] = dec.buf != NULL ? dec.buf : "";
        /* cscli's human table shows the start in its created_at column, raw the creation. */
        cells[c++] = raw ? nz(a->created_at) : nz(a->start_at);
        cells[c++] = nz(a->kind);
        if (machine)
            cells[c++] = nz(a->machine_id);
        if (cli_table_add(t, cells) != 0)
            rc = cli_fail("out of memory");
    }
    if (rc == 0)
        cli_table_print(t, stdout, g);
    cli_table_free(t);
    str_free(&dec);
    return rc;
}

static int
alerts_list(struct cli_globals *g, int argc, char **argv)
{
    const char *since = NULL, *until = NULL, *type = NULL, *scope = NULL, *origin = NULL;
    const char *value = NULL, *scenario = NULL, *ip = NULL, *range = NULL, *kind = NULL;
    bool all = false, machine = false, contained = false;
    long limit = 50;
    const struct cli_flag flags[] = {
        { "-a", "--all", CLI_FLAG_BOOL, &all },
        { NULL, "--until", CLI_FLAG_STRING, &until },
        { NULL, "--since", CLI_FLAG_STRING, &since },
        { "-i", "--ip", CLI_FLAG_STRING, &ip },
        { "-s", "--scenario", CLI_FLAG_STRING, &scenario },
        { "-r", "--range", CLI_FLAG_STRING, &range },
        { NULL, "--type", CLI_FLAG_STRING, &type },
        { NULL, "--scope", CLI_FLAG_STRING, &scope },
        { "-v", "--value", CLI_FLAG_STRING, &value },
        { NULL, "--origin", CLI_FLAG_STRING, &origin },
        { NULL, "--kind", CLI_FLAG_STRING, &kind },
        { NULL, "--contained", CLI_FLAG_BOOL, &contained },
        { "-m", "--machine", CLI_FLAG_BOOL, &machine },
        { "-l", "--limit", CLI_FLAG_INT, &limit },
    };
    struct apiclient *c = NULL;
    struct str q = STR_INIT, path = STR_INIT;
    struct alert *v = NULL;
    size_t n = 0;
    char *body = NULL, num[32];
    int rc = cli_flags_parse(g, flags, ARRAY_SIZE(flags), argc, argv, 1, NULL, 0, NULL,
                             "phalanx alerts list");

    if (rc == CLI_FLAGS_HELP) {
        list_usage();
        return 0;
    }
    if (rc != 0)
        return rc;
    if (cli_sanitize_scope(&scope, ip, range) != 0)
        return 1;
    if (all)
        limit = 0;
    snprintf(num, sizeof(num), "%ld", limit);
    rc = 1;
    if ((contained && qadd(&q, "contains", "false") < 0) || qadd(&q, "decision_type", type) < 0 ||
        qadd(&q, "include_capi", all ? "true" : "false") < 0 || qadd(&q, "ip", ip) < 0 ||
        qadd(&q, "kind", kind) < 0 || qadd(&q, "limit", num) < 0 ||
        qadd(&q, "origin", origin) < 0 || qadd(&q, "range", range) < 0 ||
        qadd(&q, "scenario", scenario) < 0 || qadd(&q, "scope", scope) < 0 ||
        qadd(&q, "since", since) < 0 || qadd(&q, "until", until) < 0 ||
        qadd(&q, "value", value) < 0 || str_appendf(&path, "/v1/alerts?%s", q.buf) < 0) {
        cli_fail("out of memory");
        goto out;
    }
    if (cli_lapi_connect(g, &c, NULL) != 0)
        goto out;
    if (cli_lapi_call(c, "unable to list alerts", "GET", path.buf, NULL, 0, &body) != 0)
        goto out;
    if (cli_alerts_parse(body, &v, &n) != 0)
        goto out;
    rc = print_alerts(v, n, g, machine);
out:
    cli_alerts_free(v, n);
    free(body);
    apiclient_free(c);
    str_free(&path);
    str_free(&q);
    return rc;
}

/* --- inspect --- */

static int
cmp_meta(const void *a, const void *b)
{
    return strcmp(nz(((const struct meta_item *)a)->key), nz(((const struct meta_item *)b)->key));
}

static int
print_kv_table(const struct meta_list *m, const struct cli_globals *g, bool json_values)
{
    static const char *const hdr[] = { "Key", "Value" };
    struct cli_table *t = cli_table_new(hdr, 2);
    int rc = 0;

    if (t == NULL)
        return cli_fail("out of memory");
    if (m->len > 0)
        qsort(m->items, m->len, sizeof(m->items[0]), cmp_meta);
    for (size_t i = 0; i < m->len && rc == 0; i++) {
        const char *k = nz(m->items[i].key), *val = nz(m->items[i].value);
        if (!json_values) {
            const char *cells[] = { k, val };
            rc = cli_table_add(t, cells) != 0 ? cli_fail("out of memory") : 0;
            continue;
        }
        /* Alert context values are JSON arrays of strings; one row per string. */
        json_t *arr = json_loads(val, JSON_DECODE_ANY, NULL);
        if (!json_is_array(arr)) {
            json_decref(arr);
            cli_table_free(t);
            return cli_fail("unknown context value type '%s'", val);
        }
        size_t j;
        json_t *it;
        json_array_foreach(arr, j, it)
        {
            const char *cells[] = { k, nz(json_string_value(it)) };
            if (cli_table_add(t, cells) != 0)
                rc = cli_fail("out of memory");
        }
        json_decref(arr);
    }
    if (rc == 0)
        cli_table_print(t, stdout, g);
    cli_table_free(t);
    return rc;
}

static int
print_active_decisions(const struct alert *a, const struct cli_globals *g)
{
    static const char *const hdr[] = { "ID", "scope:value", "action", "expiration", "created_at" };
    struct cli_table *t = cli_table_new(hdr, 5);
    int rc = 0;

    if (t == NULL)
        return cli_fail("out of memory");
    for (size_t i = 0; i < a->ndecisions && rc == 0; i++) {
        const struct decision *d = &a->decisions[i];
        char id[24], sv[1024];
        /* An expired decision has a negative remaining duration: not shown. */
        if (nz(d->duration)[0] == '-')
            continue;
        snprintf(id, sizeof(id), "%" PRId64, d->id);
        snprintf(sv, sizeof(sv), "%s%s%s", nz(d->scope), nz(d->value)[0] ? ":" : "", nz(d->value));
        const char *cells[] = { id, sv, nz(d->type), nz(d->duration), nz(a->created_at) };
        if (cli_table_add(t, cells) != 0)
            rc = cli_fail("out of memory");
    }
    if (rc == 0 && cli_table_rows(t) > 0) {
        printf("Active Decisions\n");
        cli_table_print(t, stdout, g);
    }
    cli_table_free(t);
    return rc;
}

static int
display_alert(struct alert *a, const struct cli_globals *g, bool details)
{
    const struct source *s = a->source;
    int rc;

    printf("\n################################################################################"
           "################\n\n");
    printf(" - ID           : %" PRId64 "\n", a->id);
    printf(" - Date         : %s\n", nz(a->created_at));
    printf(" - Machine      : %s\n", nz(a->machine_id));
    printf(" - Simulation   : %s\n", a->simulated ? "true" : "false");
    printf(" - Remediation  : %s\n", a->remediation ? "true" : "false");
    printf(" - Kind         : %s\n", nz(a->kind));
    printf(" - Reason       : %s\n", nz(a->scenario));
    printf(" - Events Count : %" PRId32 "\n", a->events_count);
    printf(" - Scope:Value  : %s%s%s\n", s != NULL ? nz(s->scope) : "",
           s != NULL && nz(s->value)[0] ? ":" : "", s != NULL ? nz(s->value) : "");
    printf(" - Country      : %s\n", s != NULL ? nz(s->cn) : "");
    printf(" - AS           : %s\n", s != NULL ? nz(s->as_name) : "");
    printf(" - Begin        : %s\n", nz(a->start_at));
    printf(" - End          : %s\n", nz(a->stop_at));
    printf(" - UUID         : %s\n\n", nz(a->uuid));
    if ((rc = print_active_decisions(a, g)) != 0)
        return rc;
    if (a->meta.len > 0) {
        printf("\n - Context  :\n");
        if ((rc = print_kv_table(&a->meta, g, true)) != 0)
            return rc;
    }
    if (details) {
        printf("\n - Events  :\n");
        for (size_t i = 0; i < a->nevents; i++) {
            printf("\n- Date: %s\n", nz(a->events[i].timestamp));
            if ((rc = print_kv_table(&a->events[i].meta, g, false)) != 0)
                return rc;
        }
    }
    return 0;
}

static int
alerts_inspect(struct cli_globals *g, int argc, char **argv)
{
    bool details = false;
    const struct cli_flag flags[] = { { "-d", "--details", CLI_FLAG_BOOL, &details } };
    const char *ids[64];
    size_t nids = 0;
    struct apiclient *c = NULL;
    int rc = cli_flags_parse(g, flags, ARRAY_SIZE(flags), argc, argv, 1, ids, ARRAY_SIZE(ids),
                             &nids, "phalanx alerts inspect");

    if (rc == CLI_FLAGS_HELP) {
        printf("Show info about an alert\n\n"
               "Usage:\n  phalanx alerts inspect \"alert_id\" [flags]\n\n"
               "Examples:\nphalanx alerts inspect 123\n\n"
               "Flags:\n"
               "  -d, --details   show alerts with events\n"
               "  -h, --help      help for inspect\n");
        return 0;
    }
    if (rc != 0)
        return rc;
    if (nids == 0)
        return cli_fail("requires at least 1 arg(s): the id of the alert to inspect (see "
                        "'phalanx alerts list')");
    if (g->format == CLI_OUT_RAW)
        return cli_fail("-o raw is not available for 'alerts inspect': use -o human or -o json");
    if (cli_lapi_connect(g, &c, NULL) != 0)
        return 1;
    for (size_t i = 0; i < nids && rc == 0; i++) {
        char *end, path[64], what[96], msg[256], *body = NULL;
        errno = 0;
        long id = strtol(ids[i], &end, 10);
        if (errno != 0 || end == ids[i] || *end != '\0' || id < INT32_MIN || id > INT32_MAX) {
            rc = cli_fail("bad alert id %s", ids[i]);
            break;
        }
        snprintf(path, sizeof(path), "/v1/alerts/%ld", id);
        snprintf(what, sizeof(what), "can't find alert with id %s", ids[i]);
        if ((rc = cli_lapi_call(c, what, "GET", path, NULL, 0, &body)) != 0)
            break;
        json_t *j = json_loads(nz(body), 0, NULL);
        struct alert a = { 0 };
        if (j == NULL || alert_from_json(j, &a, msg, sizeof(msg)) != 0) {
            rc = cli_fail("unexpected answer from the local API for alert %s", ids[i]);
        } else if (g->format == CLI_OUT_JSON) {
            /* json.MarshalIndent(alert, "", "  "): the object alone, two-space indent. */
            json_t *o = alert_to_json(&a);
            char *compact = o != NULL ? model_json_dumps(o) : NULL;
            char *pretty = compact != NULL ? cli_json_indent(compact, "  ") : NULL;
            if (pretty != NULL)
                printf("%s\n", pretty);
            else
                rc = cli_fail("out of memory while formatting JSON");
            free(pretty);
            free(compact);
            json_decref(o);
        } else {
            rc = display_alert(&a, g, details);
        }
        alert_clear(&a);
        json_decref(j);
        free(body);
    }
    apiclient_free(c);
    return rc;
}

/* --- delete --- */

static int
alerts_delete(struct cli_globals *g, int argc, char **argv)
{
    const char *scope = NULL, *value = NULL, *scenario = NULL, *ip = NULL, *range = NULL;
    const char *id = NULL;
    bool all = false, contained = false;
    const struct cli_flag flags[] = {
        { NULL, "--scope", CLI_FLAG_STRING, &scope },
        { "-v", "--value", CLI_FLAG_STRING, &value },
        { "-s", "--scenario", CLI_FLAG_STRING, &scenario },
        { "-i", "--ip", CLI_FLAG_STRING, &ip },
        { "-r", "--range", CLI_FLAG_STRING, &range },
        { NULL, "--id", CLI_FLAG_STRING, &id },
        { "-a", "--all", CLI_FLAG_BOOL, &all },
        { NULL, "--contained", CLI_FLAG_BOOL, &contained },
    };
    struct apiclient *c = NULL;
    struct str q = STR_INIT, path = STR_INIT;
    char *body = NULL;
    json_t *j = NULL;
    int rc = cli_flags_parse(g, flags, ARRAY_SIZE(flags), argc, argv, 1, NULL, 0, NULL,
                             "phalanx alerts delete");

    if (rc == CLI_FLAGS_HELP) {
        printf("Delete alerts\n/!\\ This command can be used only on the same machine than the "
               "local API.\n\n"
               "Usage:\n  phalanx alerts delete [filters] [--all] [flags]\n\n"
               "Aliases:\n  delete, remove\n\n"
               "Examples:\nphalanx alerts delete --ip 1.2.3.4\n"
               "phalanx alerts delete --range 1.2.3.0/24\n"
               "phalanx alerts delete -s crowdsecurity/ssh-bf\n\n"
               "Flags:\n"
               "      --scope string      the scope (ie. ip,range)\n"
               "  -v, --value string      the value to match for in the specified scope\n"
               "  -s, --scenario string   the scenario (ie. crowdsecurity/ssh-bf)\n"
               "  -i, --ip string         Source ip (shorthand for --scope ip --value <IP>)\n"
               "  -r, --range string      Range source ip (shorthand for --scope range --value "
               "<RANGE>)\n"
               "      --id string         alert ID\n"
               "  -a, --all               delete all alerts\n"
               "      --contained         query decisions contained by range\n"
               "  -h, --help              help for delete\n");
        return 0;
    }
    if (rc != 0)
        return rc;
    const char *const given[] = { scope, value, scenario, ip, range, id };
    bool any = all;
    for (size_t i = 0; i < ARRAY_SIZE(given); i++)
        any = any || (given[i] != NULL && given[i][0] != '\0');
    if (!any)
        return cli_fail("at least one filter or --all must be specified (see 'phalanx alerts "
                        "delete --help')");
    rc = 1;
    if (id != NULL && id[0] != '\0') {
        char *end;
        errno = 0;
        long long n = strtoll(id, &end, 10);
        if (errno != 0 || *end != '\0' || end == id) {
            cli_fail("id '%s' is not an integer", id);
            goto out;
        }
        if (str_appendf(&path, "/v1/alerts/%lld", n) < 0)
            goto oom;
    } else if (all) {
        if (str_appendf(&path, "/v1/alerts?limit=0") < 0)
            goto oom;
    } else {
        if (cli_sanitize_scope(&scope, ip, range) != 0)
            goto out;
        if ((contained && qadd(&q, "contains", "false") < 0) || qadd(&q, "ip", ip) < 0 ||
            qadd(&q, "limit", "0") < 0 || qadd(&q, "range", range) < 0 ||
            qadd(&q, "scenario", scenario) < 0 || qadd(&q, "scope", scope) < 0 ||
            qadd(&q, "value", value) < 0 || str_appendf(&path, "/v1/alerts?%s", q.buf) < 0)
            goto oom;
    }
    if (cli_lapi_connect(g, &c, NULL) != 0)
        goto out;
    if (cli_lapi_call(c, id != NULL ? "unable to delete alert" : "unable to delete alerts",
                      "DELETE", path.buf, NULL, 0, &body) != 0)
        goto out;
    j = json_loads(nz(body), 0, NULL);
    const char *nb = json_string_value(json_object_get(j, "nbDeleted"));
    fprintf(stderr, "%s alert(s) deleted\n", nb != NULL ? nb : "0");
    rc = 0;
    goto out;
oom:
    cli_fail("out of memory");
out:
    json_decref(j);
    free(body);
    apiclient_free(c);
    str_free(&path);
    str_free(&q);
    return rc;
}

/* --- flush --- */

enum { FLUSH_STEPS = 20 };

/*
 * store_flush in steps a progress bar can follow: a run without limits first
 * (orphans, and the number of alerts), then the count limit approached in
 * FLUSH_STEPS - 1 runs, each deleting a part of what the final run would
 * (alerts with ids below a higher bound; ids do not move), then the run with
 * the real limits. *ret_deleted: the alerts removed. 0, or -1 with serr.
 */
static int
flush_steps(struct store *s, const struct store_flush_config *fc, int64_t now, int64_t *ret_deleted,
            struct store_error *serr)
{
    const struct store_flush_config none = { 0 };
    struct store_flush_report rep = { 0 };
    int64_t deleted = 0;
    int rc = -1;

    if (store_flush_run(s, &none, now, &rep, serr) != 0)
        return -1;
    int64_t total = rep.total_alerts;
    int steps = fc->max_items > 0 && total > fc->max_items ? FLUSH_STEPS : 1;
    struct cli_progress *bar = cli_progress_new("Flushing alerts", (uint64_t)steps + 1);
    cli_progress_set(bar, 1);
    for (int k = 1; k < steps; k++) {
        struct store_flush_config part = { .max_items =
                                               total - (total - fc->max_items) * k / steps };
        if (store_flush_run(s, &part, now, &rep, serr) != 0)
            goto out;
        deleted += rep.by_age + rep.by_count;
        cli_progress_set(bar, (uint64_t)k + 1);
    }
    if (store_flush_run(s, fc, now, &rep, serr) != 0)
        goto out;
    deleted += rep.by_age + rep.by_count;
    cli_progress_set(bar, (uint64_t)steps + 1);
    *ret_deleted = deleted;
    rc = 0;
out:
    cli_progress_free(bar);
    return rc;
}

static int
alerts_flush(struct cli_globals *g, int argc, char **argv)
{
    const char *max_age = "7d";
    long max_items = 5000;
    const struct cli_flag flags[] = {
        { NULL, "--max-items", CLI_FLAG_INT, &max_items },
        { NULL, "--max-age", CLI_FLAG_STRING, &max_age },
    };
    struct lapi_error lerr = { { 0 } };
    struct store_error serr = { { 0 } };
    struct store *s = NULL;
    int64_t age = 0, deleted = 0;
    struct timespec ts;
    int rc = cli_flags_parse(g, flags, ARRAY_SIZE(flags), argc, argv, 1, NULL, 0, NULL,
                             "phalanx alerts flush");

    if (rc == CLI_FLAGS_HELP) {
        printf("Flush alerts\n/!\\ This command can be used only on the same machine than the "
               "local API\n\n"
               "Usage:\n  phalanx alerts flush [flags]\n\n"
               "Examples:\nphalanx alerts flush --max-items 1000 --max-age 7d\n\n"
               "Flags:\n"
               "      --max-items int     Maximum number of alert items to keep in the database "
               "(default 5000)\n"
               "      --max-age string    Maximum age of alert items to keep in the database "
               "(default \"7d\")\n"
               "  -h, --help              help for flush\n");
        return 0;
    }
    if (rc != 0)
        return rc;
    if (gotime_parse_duration_days(max_age, strlen(max_age), &age) != 0 || age < 0)
        return cli_fail("invalid --max-age '%s': use a duration like 12h, 7d or 1d12h", max_age);
    if (max_items < 0)
        return cli_fail("--max-items must be 0 (no count limit) or a positive number");
    if (lapi_store_open(g->config, &s, &lerr) != 0)
        return cli_fail("%s (alerts flush works on the local API's database: run it where the "
                        "local API runs)",
                        lerr.msg);
    fprintf(stderr, "Flushing alerts. !! This may take a long time !!\n");
    clock_gettime(CLOCK_REALTIME, &ts);
    struct store_flush_config fc = { .max_age = age, .max_items = max_items };
    if (flush_steps(s, &fc, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, &deleted, &serr) != 0) {
        rc = cli_fail("unable to flush alerts: %s", serr.msg);
    } else {
        fprintf(stderr, "Alerts flushed (%" PRId64 " deleted)\n", deleted);
        rc = 0;
    }
    store_close(s);
    return rc;
}

/* --- the command --- */

static void
alerts_usage(FILE *out)
{
    fprintf(out, "Manage alerts\n\n"
                 "Usage:\n  phalanx alerts [action] [flags]\n  phalanx alerts [command]\n\n"
                 "Aliases:\n  alerts, alert\n\n"
                 "Available Commands:\n"
                 "  delete      Delete alerts\n"
                 "  flush       Flush alerts\n"
                 "  inspect     Show info about an alert\n"
                 "  list        List alerts\n\n"
                 "Flags:\n  -h, --help   help for alerts\n\n"
                 "Global Flags:\n"
                 "  -c, --config string   path to phalanx configuration file (default "
                 "\"" CLI_DEFAULT_CONFIG "\")\n"
                 "  -o, --output string   Output format: human, json, raw\n"
                 "      --color string    Output color: yes, no, auto (default \"auto\")\n"
                 "      --debug           Set logging to debug\n\n"
                 "Use \"phalanx alerts [command] --help\" for more information about a "
                 "command.\n");
}

int
cli_cmd_alerts(int argc, char **argv)
{
    struct cli_globals g;
    int i = 1;

    cli_globals_init(&g);
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            alerts_usage(stdout);
            return 0;
        }
        int r = cli_globals_take(&g, argc, argv, &i);
        if (r < 0)
            return 1;
        if (r == 0)
            return cli_fail("unknown flag: %s (run 'phalanx alerts --help')", argv[i]);
    }
    if (i >= argc) {
        alerts_usage(stdout);
        return 0;
    }
    const char *action = argv[i];
    int sub_argc = argc - i;
    char **sub_argv = argv + i;
    if (strcmp(action, "list") == 0)
        return alerts_list(&g, sub_argc, sub_argv);
    if (strcmp(action, "inspect") == 0)
        return alerts_inspect(&g, sub_argc, sub_argv);
    if (strcmp(action, "delete") == 0 || strcmp(action, "remove") == 0)
        return alerts_delete(&g, sub_argc, sub_argv);
    if (strcmp(action, "flush") == 0)
        return alerts_flush(&g, sub_argc, sub_argv);
    fprintf(stderr,
            "Error: unknown command \"%s\" for \"phalanx alerts\"\n"
            "Run 'phalanx alerts --help' for usage.\n",
            action);
    return 1;
}
