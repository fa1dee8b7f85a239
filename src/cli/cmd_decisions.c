/*
 * cmd_decisions.c - `phalanx decisions list|add|delete|import`, cscli's
 * decisions command, through the Local API with the machine's credentials.
 *
 * As in cscli, "list" is GET /v1/alerts with has_active_decision=true (the
 * decisions are shown with the alert that carries them, deduplicated on
 * simulated:type:scope:value), "add" and "import" post one alert carrying
 * the decisions, and "delete" expires them with DELETE /v1/decisions.
 */
#include "cli/cli.h"
#include "cli/output.h"

#include <inttypes.h>
#include <jansson.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "apiclient/apiclient.h"
#include "common/str.h"
#include "model/model.h"

#define IMPORT_MAX_BYTES (512u << 20) /* an import file beyond 512 MiB is refused */

/* Go's "events": [] (an empty, non-nil slice): a non-NULL pointer with no element. */
static struct alert_event no_event;

static int
qadd(struct str *q, const char *key, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return 0;
    return cli_query_add(q, key, value);
}

static const char *
nz(const char *s)
{
    return s != NULL ? s : "";
}

/* --- list --- */

static void
list_usage(void)
{
    printf("List decisions from LAPI\n\n"
           "Usage:\n  phalanx decisions list [options] [flags]\n\n"
           "Examples:\n"
           "phalanx decisions list -i 1.2.3.4\n"
           "phalanx decisions list -r 1.2.3.0/24\n"
           "phalanx decisions list -s crowdsecurity/ssh-bf\n"
           "phalanx decisions list --origin lists --scenario list_name\n\n"
           "Flags:\n"
           "  -a, --all               Include decisions from Central API\n"
           "      --since string      restrict to alerts newer than since (ie. 4h, 30d)\n"
           "      --until string      restrict to alerts older than until (ie. 4h, 30d)\n"
           "  -t, --type string       restrict to this decision type (ie. ban,captcha)\n"
           "      --scope string      restrict to this scope (ie. ip,range,session)\n"
           "      --origin string     the value to match for the specified origin (cscli,"
           "crowdsec,console,cscli-import,lists,CAPI ...)\n"
           "  -v, --value string      restrict to this value (ie. 1.2.3.4,userName)\n"
           "  -s, --scenario string   restrict to this scenario (ie. crowdsecurity/ssh-bf)\n"
           "  -i, --ip string         restrict to alerts from this source ip (shorthand for "
           "--scope ip --value <IP>)\n"
           "  -r, --range string      restrict to alerts from this source range (shorthand for "
           "--scope range --value <RANGE>)\n"
           "  -l, --limit int         number of alerts to get (use 0 to remove the limit) "
           "(default 100)\n"
           "      --no-simu           exclude decisions in simulation mode\n"
           "  -m, --machine           print machines that triggered decisions\n"
           "      --contained         query decisions contained by range\n"
           "  -h, --help              help for list\n");
}

/* The "cheat" of cscli's decisionsToTable: one row per simulated:type:scope:value. */
static size_t
dedup_decisions(struct alert *v, size_t n)
{
    struct str key = STR_INIT;
    size_t skipped = 0;
    /* A small open-addressing set of the keys seen, sized for every decision. */
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += v[i].ndecisions;
    size_t cap = 16;
    while (cap < total * 2)
        cap *= 2;
    char **set = calloc(cap, sizeof(char *));
    if (set == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t kept = 0;
        for (size_t k = 0; k < v[i].ndecisions; k++) {
            struct decision *d = &v[i].decisions[k];
            str_clear(&key);
            if (str_appendf(&key, "%s:%s:%s:%s", d->simulated ? "true" : "false", nz(d->type),
                            nz(d->scope), nz(d->value)) < 0)
                goto out;
            uint64_t h = 1469598103934665603ull;
            for (size_t c = 0; c < key.len; c++)
                h = (h ^ (unsigned char)key.buf[c]) * 1099511628211ull;
            size_t slot = (size_t)h & (cap - 1);
            bool dup = false;
            while (set[slot] != NULL) {
                if (strcmp(set[slot], key.buf) == 0) {
                    dup = true;
                    break;
                }
                slot = (slot + 1) & (cap - 1);
            }
            if (dup) {
                decision_clear(d);
                skipped++;
                continue;
            }
            if ((set[slot] = strdup(key.buf)) == NULL)
                goto out;
            if (kept != k)
                v[i].decisions[kept] = *d;
            kept++;
        }
        v[i].ndecisions = kept;
    }
out:
    for (size_t i = 0; i < cap; i++)
        free(set[i]);
    free(set);
    str_free(&key);
    return skipped;
}

static int
print_decisions(struct alert *v, size_t n, const struct cli_globals *g, bool machine)
{
    static const char *const raw_hdr[] = { "id",         "source",    "ip",       "reason",
                                           "action",     "country",   "as",       "events_count",
                                           "expiration", "simulated", "alert_id", "machine" };
    static const char *const human_hdr[] = { "ID",         "Source",   "Scope:Value", "Reason",
                                             "Action",     "Country",  "AS",          "Events",
                                             "expiration", "Alert ID", "Machine" };
    size_t skipped = dedup_decisions(v, n);
    int rc = 0;

    if (g->format == CLI_OUT_JSON)
        return cli_alerts_print_json(v, n, " ", true);
    if (g->format == CLI_OUT_HUMAN && n == 0) {
        printf("No active decisions\n");
        return 0;
    }
    bool raw = g->format == CLI_OUT_RAW;
    size_t ncols = (raw ? 11 : 10) + (machine ? 1 : 0);
    const char *hdr[12];
    for (size_t c = 0; c < ncols; c++)
        hdr[c] = raw ? raw_hdr[c] : human_hdr[c < 10 ? c : 10];
    /* What an 80-column terminal can do without, least needed first. */
    static const size_t hide[] = { 9, 1, 7, 10, 6, 5 };
    struct cli_table *t = cli_table_new(hdr, ncols);
    if (t == NULL || cli_table_set_hide_order(t, hide, ARRAY_SIZE(hide)) < 0) {
        cli_table_free(t);
        return cli_fail("out of memory");
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct alert *a = &v[i];
        char id[24], ev[16], aid[24], as[256], sv[1024], type[256], dur[128];
        snprintf(aid, sizeof(aid), "%" PRId64, a->id);
        snprintf(ev, sizeof(ev), "%" PRId32, a->events_count);
        cli_as_number_name(a->source, as, sizeof(as));
        for (size_t k = 0; k < a->ndecisions; k++) {
            const struct decision *d = &a->decisions[k];
            snprintf(id, sizeof(id), "%" PRId64, d->id);
            snprintf(sv, sizeof(sv), "%s:%s", nz(d->scope), nz(d->value));
            snprintf(type, sizeof(type), "%s%s", !raw && a->simulated ? "(simul)" : "",
                     nz(d->type));
            /* An expired decision is shown in red, as cscli does. */
            snprintf(dur, sizeof(dur), "%s%s%s",
                     !raw && g->color && nz(d->duration)[0] == '-' ? "\033[31m" : "",
                     nz(d->duration),
                     !raw && g->color && nz(d->duration)[0] == '-' ? "\033[0m" : "");
            const char *cells[12];
            size_t c = 0;
            cells[c++] = id;
            cells[c++] = nz(d->origin);
            cells[c++] = sv;
            cells[c++] = nz(d->scenario);
            cells[c++] = type;
            cells[c++] = a->source != NULL ? nz(a->source->cn) : "";
            cells[c++] = as;
            cells[c++] = ev;
            cells[c++] = dur;
            if (raw)
                cells[c++] = d->simulated ? "true" : "false";
            cells[c++] = aid;
            if (machine)
                cells[c++] = nz(a->machine_id);
            if (cli_table_add(t, cells) != 0)
                rc = cli_fail("out of memory");
        }
    }
    if (rc == 0) {
        cli_table_print(t, stdout, g);
        if (!raw && skipped > 0)
            printf("%zu duplicated entries skipped\n", skipped);
    }
    cli_table_free(t);
    return rc;
}

static int
decisions_list(struct cli_globals *g, int argc, char **argv)
{
    const char *since = NULL, *until = NULL, *type = NULL, *scope = NULL, *origin = NULL;
    const char *value = NULL, *scenario = NULL, *ip = NULL, *range = NULL;
    bool all = false, nosimu = false, machine = false, contained = false;
    long limit = 100;
    const struct cli_flag flags[] = {
        { "-a", "--all", CLI_FLAG_BOOL, &all },
        { NULL, "--since", CLI_FLAG_STRING, &since },
        { NULL, "--until", CLI_FLAG_STRING, &until },
        { "-t", "--type", CLI_FLAG_STRING, &type },
        { NULL, "--scope", CLI_FLAG_STRING, &scope },
        { NULL, "--origin", CLI_FLAG_STRING, &origin },
        { "-v", "--value", CLI_FLAG_STRING, &value },
        { "-s", "--scenario", CLI_FLAG_STRING, &scenario },
        { "-i", "--ip", CLI_FLAG_STRING, &ip },
        { "-r", "--range", CLI_FLAG_STRING, &range },
        { "-l", "--limit", CLI_FLAG_INT, &limit },
        { NULL, "--no-simu", CLI_FLAG_BOOL, &nosimu },
        { "-m", "--machine", CLI_FLAG_BOOL, &machine },
        { NULL, "--contained", CLI_FLAG_BOOL, &contained },
    };
    struct apiclient *c = NULL;
    struct str q = STR_INIT;
    struct alert *v = NULL;
    size_t n = 0;
    char *body = NULL, num[32];
    int rc = cli_flags_parse(g, flags, ARRAY_SIZE(flags), argc, argv, 1, NULL, 0, NULL,
                             "phalanx decisions list");

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
    /* The keys in go-querystring's (sorted) order, as cscli sends them. */
    if ((contained && qadd(&q, "contains", "false") < 0) || qadd(&q, "decision_type", type) < 0 ||
        qadd(&q, "has_active_decision", "true") < 0 ||
        qadd(&q, "include_capi", all ? "true" : "false") < 0 || qadd(&q, "ip", ip) < 0 ||
        qadd(&q, "limit", num) < 0 || qadd(&q, "origin", origin) < 0 ||
        qadd(&q, "range", range) < 0 || qadd(&q, "scenario", scenario) < 0 ||
        qadd(&q, "scope", scope) < 0 || (nosimu && qadd(&q, "simulated", "false") < 0) ||
        qadd(&q, "since", since) < 0 || qadd(&q, "until", until) < 0 ||
        qadd(&q, "value", value) < 0) {
        str_free(&q);
        return cli_fail("out of memory");
    }
    struct str path = STR_INIT;
    rc = 1;
    if (str_appendf(&path, "/v1/alerts?%s", q.buf) < 0) {
        cli_fail("out of memory");
        goto out;
    }
    if (cli_lapi_connect(g, &c, NULL) != 0)
        goto out;
    if (cli_lapi_call(c, "unable to retrieve decisions", "GET", path.buf, NULL, 0, &body) != 0)
        goto out;
    if (cli_alerts_parse(body, &v, &n) != 0)
        goto out;
    rc = print_decisions(v, n, g, machine);
out:
    cli_alerts_free(v, n);
    free(body);
    apiclient_free(c);
    str_free(&path);
    str_free(&q);
    return rc;
}

/* --- add --- */

static void
utc_now_rfc3339(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* POST /v1/alerts with one alert; 0 or 1 (printed). */
static int
post_alert(struct apiclient *c, const struct alert *a, const char *what)
{
    json_t *arr = json_array();
    char *body = NULL;
    int rc;

    if (arr == NULL || json_array_append_new(arr, alert_to_json(a)) != 0 ||
        (body = model_json_dumps(arr)) == NULL) {
        json_decref(arr);
        return cli_fail("out of memory");
    }
    json_decref(arr);
    rc = cli_lapi_call(c, what, "POST", "/v1/alerts", body, strlen(body), NULL);
    free(body);
    return rc;
}

static void
add_usage(void)
{
    printf("Add decision to LAPI\n\n"
           "Usage:\n  phalanx decisions add [options] [flags]\n\n"
           "Examples:\n"
           "phalanx decisions add --ip 1.2.3.4\n"
           "phalanx decisions add --range 1.2.3.0/24\n"
           "phalanx decisions add --ip 1.2.3.4 --duration 24h --type captcha\n"
           "phalanx decisions add --scope username --value foobar\n\n"
           "Flags:\n"
           "  -i, --ip string         Source ip (shorthand for --scope ip --value <IP>)\n"
           "  -r, --range string      Range source ip (shorthand for --scope range --value "
           "<RANGE>)\n"
           "  -d, --duration string   Decision duration (ie. 1h,4h,30m) (default \"4h\")\n"
           "  -v, --value string      The value (ie. --scope username --value foobar)\n"
           "      --scope string      Decision scope (ie. ip,range,username) (default \"Ip\")\n"
           "  -R, --reason string     Decision reason (ie. scenario-name)\n"
           "  -t, --type string       Decision type (ie. ban,captcha,throttle) (default "
           "\"ban\")\n"
           "  -B, --bypass-allowlist  Add decision even if value is in allowlist\n"
           "  -h, --help              help for add\n");
}

static int
decisions_add(struct cli_globals *g, int argc, char **argv)
{
    const char *ip = NULL, *range = NULL, *duration = "4h", *value = NULL, *scope = "Ip";
    const char *reason = NULL, *type = "ban";
    bool bypass = false;
    const struct cli_flag flags[] = {
        { "-i", "--ip", CLI_FLAG_STRING, &ip },
        { "-r", "--range", CLI_FLAG_STRING, &range },
        { "-d", "--duration", CLI_FLAG_STRING, &duration },
        { "-v", "--value", CLI_FLAG_STRING, &value },
        { NULL, "--scope", CLI_FLAG_STRING, &scope },
        { "-R", "--reason", CLI_FLAG_STRING, &reason },
        { "-t", "--type", CLI_FLAG_STRING, &type },
        /* The Local API has no allowlists, so there is nothing to bypass. */
        { "-B", "--bypass-allowlist", CLI_FLAG_BOOL, &bypass },
    };
    struct apiclient *c = NULL;
    char *login = NULL, *reason_buf = NULL, now[32];
    int rc = cli_flags_parse(g, flags, ARRAY_SIZE(flags), argc, argv, 1, NULL, 0, NULL,
                             "phalanx decisions add");

    if (rc == CLI_FLAGS_HELP) {
        add_usage();
        return 0;
    }
    if (rc != 0)
        return rc;
    if (cli_sanitize_scope(&scope, ip, range) != 0)
        return 1;
    if (ip != NULL && ip[0] != '\0') {
        value = ip;
        scope = "Ip";
    } else if (range != NULL && range[0] != '\0') {
        value = range;
        scope = "Range";
    } else if (value == NULL || value[0] == '\0') {
        return cli_fail("missing arguments, a value is required (--ip, --range or --scope and "
                        "--value)");
    }
    if (cli_lapi_connect(g, &c, &login) != 0)
        return 1;
    if (reason == NULL || reason[0] == '\0') {
        if (asprintf(&reason_buf, "manual '%s' from '%s'", type, login) < 0) {
            reason_buf = NULL;
            rc = cli_fail("out of memory");
            goto out;
        }
        reason = reason_buf;
    }
    utc_now_rfc3339(now, sizeof(now));
    struct decision d = { .duration = (char *)duration,
                          .scope = (char *)scope,
                          .value = (char *)value,
                          .type = (char *)type,
                          .scenario = (char *)reason,
                          .origin = (char *)"cscli" };
    struct source src = { .ip = (char *)value, .scope = (char *)scope, .value = (char *)value };
    struct alert a = { .capacity = 0,
                       .decisions = &d,
                       .ndecisions = 1,
                       .events_count = 1,
                       .leakspeed = (char *)"0",
                       .message = (char *)reason,
                       .scenario_hash = (char *)"",
                       .scenario = (char *)reason,
                       .scenario_version = (char *)"",
                       .source = &src,
                       .start_at = now,
                       .stop_at = now,
                       .created_at = now,
                       .remediation = true,
                       .kind = (char *)"cscli" };
    /* "events": [] (an empty, non-nil slice in Go): a non-NULL pointer with no element. */
    a.events = &no_event;
    rc = post_alert(c, &a, "unable to add the decision");
    if (rc == 0)
        fprintf(stderr, "Decision successfully added\n");
out:
    free(reason_buf);
    free(login);
    apiclient_free(c);
    return rc;
}

/* --- delete --- */

static void
delete_usage(void)
{
    printf("Delete decisions\n\n"
           "Usage:\n  phalanx decisions delete [options] [flags]\n\n"
           "Aliases:\n  delete, remove\n\n"
           "Examples:\n"
           "phalanx decisions delete -r 1.2.3.0/24\n"
           "phalanx decisions delete -i 1.2.3.4\n"
           "phalanx decisions delete --id 42\n"
           "phalanx decisions delete --type captcha\n"
           "phalanx decisions delete --origin lists --scenario list_name\n\n"
           "Flags:\n"
           "  -i, --ip string         Source ip (shorthand for --scope ip --value <IP>)\n"
           "  -r, --range string      Range source ip (shorthand for --scope range --value "
           "<RANGE>)\n"
           "  -t, --type string       the decision type (ie. ban,captcha)\n"
           "  -v, --value string      the value to match for in the specified scope\n"
           "  -s, --scenario string   the scenario name (ie. crowdsecurity/ssh-bf)\n"
           "      --scope string      the scope of the decisions (ie. ip,range,username)\n"
           "      --origin string     the value to match for the specified origin (cscli,"
           "crowdsec,console,cscli-import,lists,CAPI ...)\n"
           "      --id string         decision id\n"
           "      --all               delete all decisions\n"
           "      --contained         query decisions contained by range\n"
           "  -h, --help              help for delete\n");
}

static int
decisions_delete(struct cli_globals *g, int argc, char **argv)
{
    const char *ip = NULL, *range = NULL, *type = NULL, *value = NULL, *scenario = NULL;
    const char *scope = NULL, *origin = NULL, *id = NULL;
    bool all = false, contained = false;
    const struct cli_flag flags[] = {
        { "-i", "--ip", CLI_FLAG_STRING, &ip },
        { "-r", "--range", CLI_FLAG_STRING, &range },
        { "-t", "--type", CLI_FLAG_STRING, &type },
        { "-v", "--value", CLI_FLAG_STRING, &value },
        { "-s", "--scenario", CLI_FLAG_STRING, &scenario },
        { NULL, "--scope", CLI_FLAG_STRING, &scope },
        { NULL, "--origin", CLI_FLAG_STRING, &origin },
        { NULL, "--id", CLI_FLAG_STRING, &id },
        { NULL, "--all", CLI_FLAG_BOOL, &all },
        { NULL, "--contained", CLI_FLAG_BOOL, &contained },
    };
    struct apiclient *c = NULL;
    struct str path = STR_INIT, q = STR_INIT;
    char *body = NULL;
    json_t *j = NULL;
    int rc = cli_flags_parse(g, flags, ARRAY_SIZE(flags), argc, argv, 1, NULL, 0, NULL,
                             "phalanx decisions delete");

    if (rc == CLI_FLAGS_HELP) {
        delete_usage();
        return 0;
    }
    if (rc != 0)
        return rc;
    const char *const given[] = { ip, range, type, value, scenario, scope, origin, id };
    bool any = all;
    for (size_t i = 0; i < ARRAY_SIZE(given); i++)
        any = any || (given[i] != NULL && given[i][0] != '\0');
    if (!any)
        return cli_fail("at least one filter or --all must be specified (see 'phalanx decisions "
                        "delete --help')");
    if (cli_sanitize_scope(&scope, ip, range) != 0)
        return 1;
    rc = 1;
    if (id != NULL && id[0] != '\0') {
        char *end;
        errno = 0;
        long long n = strtoll(id, &end, 10);
        if (errno != 0 || *end != '\0' || end == id) {
            cli_fail("id '%s' is not an integer", id);
            goto out;
        }
        if (str_appendf(&path, "/v1/decisions/%lld", n) < 0)
            goto oom;
    } else {
        /*
         * CrowdSec's ExpireDecisionsWithFilter knows the scope as "scopes" (cscli sends "scope",
         * which it refuses); "scopes" works with both Local APIs.
         */
        if ((contained && qadd(&q, "contains", "false") < 0) || qadd(&q, "ip", ip) < 0 ||
            qadd(&q, "origin", origin) < 0 || qadd(&q, "range", range) < 0 ||
            qadd(&q, "scenario", scenario) < 0 || qadd(&q, "scopes", scope) < 0 ||
            qadd(&q, "type", type) < 0 || qadd(&q, "value", value) < 0)
            goto oom;
        if (str_appendf(&path, "/v1/decisions%s%s", q.len > 0 ? "?" : "", q.len > 0 ? q.buf : "") <
            0)
            goto oom;
    }
    if (cli_lapi_connect(g, &c, NULL) != 0)
        goto out;
    if (cli_lapi_call(c, id != NULL ? "unable to delete decision" : "unable to delete decisions",
                      "DELETE", path.buf, NULL, 0, &body) != 0)
        goto out;
    j = json_loads(body != NULL ? body : "", 0, NULL);
    const char *nb = json_string_value(json_object_get(j, "nbDeleted"));
    fprintf(stderr, "%s decision(s) deleted\n", nb != NULL ? nb : "0");
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

/* --- import --- */

struct import_item {
    char *duration, *reason, *scope, *type, *value;
};

struct import_list {
    struct import_item *v;
    size_t n, cap;
};

static void
import_list_clear(struct import_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].duration);
        free(l->v[i].reason);
        free(l->v[i].scope);
        free(l->v[i].type);
        free(l->v[i].value);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static struct import_item *
import_push(struct import_list *l)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 1024;
        struct import_item *nv = realloc(l->v, ncap * sizeof(*nv));
        if (nv == NULL)
            return NULL;
        l->v = nv;
        l->cap = ncap;
    }
    struct import_item *it = &l->v[l->n++];
    memset(it, 0, sizeof(*it));
    return it;
}

static char *
trim_dup(const char *p, size_t len)
{
    while (len > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\v' || *p == '\f')) {
        p++;
        len--;
    }
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r' ||
                       p[len - 1] == '\v' || p[len - 1] == '\f'))
        len--;
    return strndup(p, len);
}

/* "values": one value per line (bufio.Scanner: the last line needs no newline). */
static int
parse_values(const char *buf, size_t len, struct import_list *l)
{
    size_t start = 0;
    while (start < len) {
        const char *nl = memchr(buf + start, '\n', len - start);
        size_t end = nl != NULL ? (size_t)(nl - buf) : len;
        struct import_item *it = import_push(l);
        if (it == NULL || (it->value = trim_dup(buf + start, end - start)) == NULL)
            return cli_fail("out of memory");
        start = end + 1;
    }
    return 0;
}

/*
 * The string member key of o into *ret (NULL when absent or null): 0, -1 when
 * it is not a string, -ENOMEM.
 */
static int
json_field(const json_t *o, const char *key, char **ret)
{
    /* encoding/json matches keys case-insensitively when there is no exact match. */
    const char *k;
    json_t *v = json_object_get(o, key), *it;
    *ret = NULL;
    if (v == NULL) {
        json_object_foreach((json_t *)o, k, it)
        {
            if (strcasecmp(k, key) == 0) {
                v = it;
                break;
            }
        }
    }
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    if ((*ret = strdup(json_string_value(v))) == NULL)
        return -ENOMEM;
    return 0;
}

static int
parse_json(const char *buf, size_t len, struct import_list *l)
{
    static const char *const keys[] = { "duration", "reason", "scope", "type", "value" };
    json_error_t jerr;
    json_t *j = json_loadb(buf, len, 0, &jerr);
    size_t i;
    json_t *o;

    if (j == NULL)
        return cli_fail("unable to parse json: line %d: %s", jerr.line, jerr.text);
    if (!json_is_array(j)) {
        json_decref(j);
        return cli_fail("unable to parse json: expected an array of decisions like "
                        "[{\"value\": \"1.2.3.4\"}]");
    }
    json_array_foreach(j, i, o)
    {
        if (!json_is_object(o)) {
            json_decref(j);
            return cli_fail("unable to parse json: item %zu is not an object", i);
        }
        struct import_item *it = import_push(l);
        if (it == NULL) {
            json_decref(j);
            return cli_fail("out of memory");
        }
        char **dst[] = { &it->duration, &it->reason, &it->scope, &it->type, &it->value };
        for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
            int r = json_field(o, keys[k], dst[k]);
            if (r == -ENOMEM) {
                json_decref(j);
                return cli_fail("out of memory");
            }
            if (r < 0) {
                json_decref(j);
                return cli_fail("unable to parse json: item %zu: '%s' must be a string", i,
                                keys[k]);
            }
        }
    }
    json_decref(j);
    return 0;
}

/* One CSV record (RFC 4180, as encoding/csv reads it) from *pos; fields into f (max nf). */
static int
csv_record(const char *buf, size_t len, size_t *pos, struct str *f, size_t nf, size_t *ret_n)
{
    size_t n = 0, p = *pos;
    bool more = true;
    while (more) {
        struct str cur = STR_INIT;
        more = false;
        if (p < len && buf[p] == '"') {
            p++;
            for (;;) {
                if (p >= len) {
                    str_free(&cur);
                    return -1;
                }
                if (buf[p] == '"') {
                    if (p + 1 < len && buf[p + 1] == '"') {
                        if (str_append_char(&cur, '"') < 0) {
                            str_free(&cur);
                            return -ENOMEM;
                        }
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (str_append_char(&cur, buf[p++]) < 0) {
                    str_free(&cur);
                    return -ENOMEM;
                }
            }
        } else {
            size_t s = p;
            while (p < len && buf[p] != ',' && buf[p] != '\n')
                p++;
            size_t e = p;
            if (e > s && buf[e - 1] == '\r')
                e--;
            if (str_append(&cur, buf + s, e - s) < 0) {
                str_free(&cur);
                return -ENOMEM;
            }
        }
        if (p < len && buf[p] == '\r')
            p++;
        if (p < len && buf[p] == ',') {
            p++;
            more = true;
        } else if (p < len && buf[p] == '\n') {
            p++;
        } else if (p < len) {
            str_free(&cur);
            return -1;
        }
        if (n < nf) {
            str_free(&f[n]);
            f[n] = cur;
        } else {
            str_free(&cur);
        }
        n++;
    }
    *pos = p;
    *ret_n = n;
    return 0;
}

static int
parse_csv(const char *buf, size_t len, struct import_list *l)
{
    static const char *const keys[] = { "duration", "reason", "scope", "type", "value" };
    enum { MAXF = 32 };
    struct str f[MAXF];
    int col[5] = { -1, -1, -1, -1, -1 };
    size_t pos = 0, n = 0, line = 1, nhdr;
    int rc = 0;

    memset(f, 0, sizeof(f));
    if (csv_record(buf, len, &pos, f, MAXF, &nhdr) != 0) {
        rc = cli_fail("unable to parse csv: bad header line");
        goto out;
    }
    for (size_t c = 0; c < MIN(nhdr, (size_t)MAXF); c++) {
        for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
            if (f[c].buf != NULL && strcmp(f[c].buf, keys[k]) == 0)
                col[k] = (int)c;
        }
    }
    while (pos < len) {
        line++;
        for (size_t c = 0; c < MAXF; c++)
            str_clear(&f[c]);
        if (csv_record(buf, len, &pos, f, MAXF, &n) != 0) {
            rc = cli_fail("unable to parse csv: line %zu: bad quoting", line);
            goto out;
        }
        if (n == 1 && (f[0].buf == NULL || f[0].len == 0))
            continue; /* encoding/csv skips empty lines */
        if (n != nhdr) {
            rc = cli_fail("unable to parse csv: record on line %zu: wrong number of fields", line);
            goto out;
        }
        struct import_item *it = import_push(l);
        if (it == NULL) {
            rc = cli_fail("out of memory");
            goto out;
        }
        char **dst[] = { &it->duration, &it->reason, &it->scope, &it->type, &it->value };
        for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
            if (col[k] < 0 || f[col[k]].buf == NULL || f[col[k]].len == 0)
                continue;
            if ((*dst[k] = strdup(f[col[k]].buf)) == NULL) {
                rc = cli_fail("out of memory");
                goto out;
            }
        }
    }
out:
    for (size_t c = 0; c < MAXF; c++)
        str_free(&f[c]);
    return rc;
}

static char *
read_input(const char *path, size_t *ret_len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    struct str b = STR_INIT;
    char chunk[65536];
    size_t n;

    if (f == NULL)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n > IMPORT_MAX_BYTES || str_append(&b, chunk, n) < 0) {
            errno = b.len + n > IMPORT_MAX_BYTES ? EFBIG : ENOMEM;
            str_free(&b);
            if (f != stdin)
                fclose(f);
            return NULL;
        }
    }
    if (f != stdin)
        fclose(f);
    if (b.buf == NULL && str_append(&b, "", 0) < 0)
        return NULL;
    *ret_len = b.len;
    return str_steal(&b);
}

static void
import_usage(void)
{
    printf("Import decisions from a file or pipe\n\n"
           "expected format:\n"
           "csv  : any of duration,reason,scope,type,value, with a header line\n"
           "json :`{\"duration\": \"24h\", \"reason\": \"my_scenario\", \"scope\": \"ip\", "
           "\"type\": \"ban\", \"value\": \"x.y.z.z\"}`\n\n"
           "Usage:\n  phalanx decisions import [options] [flags]\n\n"
           "Examples:\n"
           "decisions.csv:\nduration,scope,value\n24h,ip,1.2.3.4\n\n"
           "$ phalanx decisions import -i decisions.csv\n\n"
           "decisions.json:\n"
           "[{\"duration\": \"4h\", \"scope\": \"ip\", \"type\": \"ban\", \"value\": "
           "\"1.2.3.4\"}]\n\n"
           "The file format is detected from the extension, but can be forced with the "
           "--format option\nwhich is required when reading from standard input.\n\n"
           "Raw values, standard input:\n\n"
           "$ echo \"1.2.3.4\" | phalanx decisions import -i - --format values\n\n"
           "Flags:\n"
           "  -i, --input string      Input file\n"
           "  -d, --duration string   Decision duration: 1h,4h,30m (default \"4h\")\n"
           "      --scope string      Decision scope: ip,range,username (default \"Ip\")\n"
           "  -R, --reason string     Decision reason: <scenario-name> (default \"manual\")\n"
           "  -t, --type string       Decision type: ban,captcha,throttle (default \"ban\")\n"
           "      --batch int         Split import in batches of N decisions\n"
           "      --format string     Input format: 'json', 'csv' or 'values' (each line is a "
           "value, no headers)\n"
           "  -h, --help              help for import\n");
}

static bool
has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int
decisions_import(struct cli_globals *g, int argc, char **argv)
{
    const char *input = NULL, *duration = "4h", *scope = "Ip", *reason = "manual";
    const char *type = "ban", *format = NULL;
    long batch = 0;
    const struct cli_flag flags[] = {
        { "-i", "--input", CLI_FLAG_STRING, &input },
        { "-d", "--duration", CLI_FLAG_STRING, &duration },
        { NULL, "--scope", CLI_FLAG_STRING, &scope },
        { "-R", "--reason", CLI_FLAG_STRING, &reason },
        { "-t", "--type", CLI_FLAG_STRING, &type },
        { NULL, "--batch", CLI_FLAG_INT, &batch },
        { NULL, "--format", CLI_FLAG_STRING, &format },
    };
    struct import_list l = { 0 };
    struct apiclient *c = NULL;
    struct decision *decs = NULL;
    struct cli_progress *bar = NULL;
    char *buf = NULL, *scen = NULL;
    size_t len = 0;
    int rc = cli_flags_parse(g, flags, ARRAY_SIZE(flags), argc, argv, 1, NULL, 0, NULL,
                             "phalanx decisions import");

    if (rc == CLI_FLAGS_HELP) {
        import_usage();
        return 0;
    }
    if (rc != 0)
        return rc;
    if (input == NULL || input[0] == '\0')
        return cli_fail("required flag \"input\" not set: give the file with -i FILE (or -i - "
                        "--format values for standard input)");
    const char *const defaults[][2] = {
        { duration, "duration" }, { scope, "scope" }, { reason, "reason" }, { type, "type" }
    };
    for (size_t k = 0; k < ARRAY_SIZE(defaults); k++) {
        if (defaults[k][0] == NULL || defaults[k][0][0] == '\0')
            return cli_fail("default %s cannot be empty", defaults[k][1]);
    }
    if (batch < 0)
        return cli_fail("--batch must be 0 (one request) or a positive number of decisions");
    if (format == NULL || format[0] == '\0')
        format = has_suffix(input, ".json") ? "json" : has_suffix(input, ".csv") ? "csv" : NULL;
    if (format == NULL)
        return cli_fail("unable to guess format from file extension, please provide a format "
                        "with --format flag");
    if (strcmp(format, "values") != 0 && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0)
        return cli_fail("invalid format '%s', expected one of 'json', 'csv', 'values'", format);
    if ((buf = read_input(input, &len)) == NULL)
        return cli_fail("unable to read from %s: %s", strcmp(input, "-") == 0 ? "stdin" : input,
                        strerror(errno));
    printf("Parsing %s\n", format);
    fflush(stdout);
    rc = strcmp(format, "values") == 0 ? parse_values(buf, len, &l)
         : strcmp(format, "json") == 0 ? parse_json(buf, len, &l)
                                       : parse_csv(buf, len, &l);
    free(buf);
    buf = NULL;
    if (rc != 0)
        goto out;
    rc = 1;
    if (l.n == 0) {
        cli_fail("no decisions found in %s", input);
        goto out;
    }
    if ((decs = calloc(l.n, sizeof(*decs))) == NULL) {
        cli_fail("out of memory");
        goto out;
    }
    for (size_t i = 0; i < l.n; i++) {
        struct import_item *it = &l.v[i];
        if (it->value == NULL || it->value[0] == '\0') {
            cli_fail("item %zu: missing 'value'", i);
            goto out;
        }
        decs[i] = (struct decision){ .value = it->value,
                                     .duration = it->duration ? it->duration : (char *)duration,
                                     .origin = (char *)"cscli-import",
                                     .scenario = it->reason ? it->reason : (char *)reason,
                                     .type = it->type ? it->type : (char *)type,
                                     .scope = it->scope ? it->scope : (char *)scope,
                                     .simulated = false,
                                     .simulated_set = true };
    }
    if (l.n > 1000)
        printf("You are about to add %zu decisions, this may take a while\n", l.n);
    if (batch > 0)
        printf("batch size: %ld\n", batch);
    fflush(stdout);
    size_t chunk = batch > 0 ? (size_t)batch : l.n;
    if (cli_lapi_connect(g, &c, NULL) != 0)
        goto out;
    bar = cli_progress_new("Importing decisions", l.n);
    const char *label = strcmp(input, "-") == 0 ? "stdin" : input;
    for (size_t off = 0; off < l.n; off += chunk) {
        size_t cnt = MIN(chunk, l.n - off);
        char now[32];
        utc_now_rfc3339(now, sizeof(now));
        free(scen);
        if (asprintf(&scen, "import %s: %zu IPs", label, cnt) < 0) {
            scen = NULL;
            cli_fail("out of memory");
            goto out;
        }
        struct source src = { .scope = (char *)"", .value = (char *)"" };
        struct alert a = { .created_at = now,
                           .scenario = scen,
                           .message = (char *)"",
                           .events = &no_event,
                           .source = &src,
                           .start_at = now,
                           .stop_at = now,
                           .capacity = 0,
                           .simulated = false,
                           .events_count = (int32_t)cnt,
                           .leakspeed = (char *)"",
                           .scenario_hash = (char *)"",
                           .scenario_version = (char *)"",
                           .decisions = decs + off,
                           .ndecisions = cnt,
                           .kind = (char *)"cscli" };
        if (post_alert(c, &a, "unable to import decisions") != 0)
            goto out;
        cli_progress_set(bar, off + cnt);
    }
    cli_progress_free(bar);
    bar = NULL;
    printf("Imported %zu decisions\n", l.n);
    rc = 0;
out:
    cli_progress_free(bar);
    free(scen);
    free(decs);
    import_list_clear(&l);
    apiclient_free(c);
    return rc;
}

/* --- the command --- */

static void
decisions_usage(FILE *out)
{
    fprintf(out, "Add/List/Delete/Import decisions from LAPI\n\n"
                 "Usage:\n  phalanx decisions [action] [flags]\n  phalanx decisions [command]\n\n"
                 "Aliases:\n  decisions, decision\n\n"
                 "Examples:\nphalanx decisions [action] [filter]\n\n"
                 "Available Commands:\n"
                 "  add         Add decision to LAPI\n"
                 "  delete      Delete decisions\n"
                 "  import      Import decisions from a file or pipe\n"
                 "  list        List decisions from LAPI\n\n"
                 "Flags:\n  -h, --help   help for decisions\n\n"
                 "Global Flags:\n"
                 "  -c, --config string   path to phalanx configuration file (default "
                 "\"" CLI_DEFAULT_CONFIG "\")\n"
                 "  -o, --output string   Output format: human, json, raw\n"
                 "      --color string    Output color: yes, no, auto (default \"auto\")\n"
                 "      --debug           Set logging to debug\n\n"
                 "Use \"phalanx decisions [command] --help\" for more information about a "
                 "command.\n");
}

int
cli_cmd_decisions(int argc, char **argv)
{
    struct cli_globals g;
    int i = 1;

    cli_globals_init(&g);
    /* Global flags may come before the action: "phalanx decisions -o json list". */
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            decisions_usage(stdout);
            return 0;
        }
        int r = cli_globals_take(&g, argc, argv, &i);
        if (r < 0)
            return 1;
        if (r == 0)
            return cli_fail("unknown flag: %s (run 'phalanx decisions --help')", argv[i]);
    }
    if (i >= argc) {
        decisions_usage(stdout);
        return 0;
    }
    const char *action = argv[i];
    int sub_argc = argc - i;
    char **sub_argv = argv + i;
    if (strcmp(action, "list") == 0)
        return decisions_list(&g, sub_argc, sub_argv);
    if (strcmp(action, "add") == 0)
        return decisions_add(&g, sub_argc, sub_argv);
    if (strcmp(action, "delete") == 0 || strcmp(action, "remove") == 0)
        return decisions_delete(&g, sub_argc, sub_argv);
    if (strcmp(action, "import") == 0)
        return decisions_import(&g, sub_argc, sub_argv);
    fprintf(stderr,
            "Error: unknown command \"%s\" for \"phalanx decisions\"\n"
            "Run 'phalanx decisions --help' for usage.\n",
            action);
    return 1;
}
