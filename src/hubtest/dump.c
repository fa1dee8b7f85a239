/*
 * dump.c - results/parser-dump.yaml in the shape crowdsec's -dump-data
 * writes it (yaml.v3 of dumps.ParserResults): stages and node names as sorted
 * map keys, each result {idx, evt, success}, the event with pipeline.Event's
 * yaml tags and omitempty rules. Strings are written double-quoted (JSON
 * escapes are YAML escapes) and Unmarshaled as flow-style JSON, so any YAML
 * reader gets back the same values even if the text differs from yaml.v3's.
 * Overflow events (bucket-dump.yaml, bucketpour-dump.yaml) add their
 * Overflow, the alerts as flow-style JSON of the API models.
 * The asserts are evaluated on the results in memory; these files are what a
 * person reads with --no-clean.
 */
#include "hubtest/internal.h"

#include "common/gotime.h"

static void
put_str(FILE *f, const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    if (j == NULL) {
        fputs("\"\"", f);
        return;
    }
    json_dumpf(j, f, JSON_ENCODE_ANY);
    json_decref(j);
}

static void
put_strv_field(FILE *f, int indent, const char *key, struct strv v)
{
    if (v.len == 0)
        return;
    fprintf(f, "%*s%s: ", indent, "", key);
    put_str(f, v.ptr, v.len);
    fputc('\n', f);
}

static int
cmp_entry(const void *a, const void *b)
{
    const struct strmap_entry *x = *(const struct strmap_entry *const *)a;
    const struct strmap_entry *y = *(const struct strmap_entry *const *)b;
    return strv_cmp(x->key, y->key);
}

static void
put_strmap(FILE *f, int indent, const char *key, const struct strmap *m)
{
    size_t n = strmap_len(m);
    if (n == 0)
        return;
    const struct strmap_entry **sorted = malloc(n * sizeof(*sorted));
    if (sorted == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        sorted[i] = strmap_at(m, i);
    qsort(sorted, n, sizeof(*sorted), cmp_entry);
    fprintf(f, "%*s%s:\n", indent, "", key);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%*s", indent + 4, "");
        put_str(f, sorted[i]->key.ptr, sorted[i]->key.len);
        fputs(": ", f);
        put_str(f, sorted[i]->value.ptr, sorted[i]->value.len);
        fputc('\n', f);
    }
    free(sorted);
}

static void
put_time(FILE *f, int indent, const char *key, struct gotime t, bool omitempty)
{
    /* Go's zero time.Time is omitted by omitempty (IsZero). */
    if (omitempty && t.unix_ns == 0 && t.offset_s == 0)
        return;
    char buf[GOTIME_RFC3339_MAX];
    gotime_format_rfc3339nano(t, buf, sizeof(buf));
    fprintf(f, "%*s%s: %s\n", indent, "", key, buf);
}

static void
put_cstr_field(FILE *f, int indent, const char *key, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return;
    fprintf(f, "%*s%s: ", indent, "", key);
    put_str(f, s, strlen(s));
    fputc('\n', f);
}

/* A models.Alert as flow-style JSON (the API's field names, which yaml.v3 lowercases alike). */
static void
put_alert(FILE *f, const struct alert *a)
{
    json_t *j = alert_to_json(a);
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    fputs(text != NULL ? text : "{}", f);
    free(text);
    json_decref(j);
}

/* pipeline.RuntimeAlert with its yaml tags (omitempty). */
static void
put_overflow(FILE *f, int indent, const struct runtime_alert *r)
{
    if (r->mapkey == NULL && r->bucket_id == NULL && !r->whitelisted && !r->reprocess &&
        r->nsources == 0 && r->alert == NULL && r->napi_alerts == 0)
        return;
    fprintf(f, "%*sOverflow:\n", indent, "");
    indent += 4;
    put_cstr_field(f, indent, "MapKey", r->mapkey);
    put_cstr_field(f, indent, "BucketId", r->bucket_id);
    if (r->whitelisted)
        fprintf(f, "%*sWhitelisted: true\n", indent, "");
    if (r->reprocess)
        fprintf(f, "%*sReprocess: true\n", indent, "");
    if (r->nsources > 0) {
        fprintf(f, "%*sSources:\n", indent, "");
        for (size_t i = 0; i < r->nsources; i++) {
            const struct source *s = &r->sources[i].source;
            fprintf(f, "%*s", indent + 4, "");
            put_str(f, r->sources[i].key, strlen(r->sources[i].key));
            fputs(":\n", f);
            put_cstr_field(f, indent + 8, "ip", s->ip);
            put_cstr_field(f, indent + 8, "range", s->range);
            put_cstr_field(f, indent + 8, "as_name", s->as_name);
            put_cstr_field(f, indent + 8, "as_number", s->as_number);
            put_cstr_field(f, indent + 8, "cn", s->cn);
            fprintf(f, "%*slatitude: %.9g\n", indent + 8, "", (double)s->latitude);
            fprintf(f, "%*slongitude: %.9g\n", indent + 8, "", (double)s->longitude);
            put_cstr_field(f, indent + 8, "scope", s->scope);
            put_cstr_field(f, indent + 8, "value", s->value);
        }
    }
    if (r->alert != NULL) {
        fprintf(f, "%*sAlert: ", indent, "");
        put_alert(f, r->alert);
        fputc('\n', f);
    }
    if (r->napi_alerts > 0) {
        fprintf(f, "%*sAPIAlerts:\n", indent, "");
        for (size_t i = 0; i < r->napi_alerts; i++) {
            fprintf(f, "%*s- ", indent + 4, "");
            put_alert(f, r->api_alerts[i]);
            fputc('\n', f);
        }
    }
}

void
hubtest_dump_event(FILE *f, int indent, const struct event *e)
{
    if (e->type != 0)
        fprintf(f, "%*sType: %d\n", indent, "", e->type);
    if (e->expect_mode != 0)
        fprintf(f, "%*sExpectMode: %d\n", indent, "", e->expect_mode);
    if (e->whitelisted)
        fprintf(f, "%*sWhitelisted: true\n", indent, "");
    put_strv_field(f, indent, "WhitelistReason", e->whitelist_reason);
    put_strv_field(f, indent, "Stage", e->stage);
    fprintf(f, "%*sLine:\n", indent, "");
    put_strv_field(f, indent + 4, "Raw", e->line.raw);
    put_strv_field(f, indent + 4, "Src", e->line.src);
    put_time(f, indent + 4, "time", e->line.time, false);
    put_strmap(f, indent + 4, "Labels", &e->line.labels);
    fprintf(f, "%*sprocess: %s\n", indent + 4, "", e->line.process ? "true" : "false");
    put_strv_field(f, indent + 4, "Module", e->line.module);
    put_strmap(f, indent, "Parsed", &e->parsed);
    put_strmap(f, indent, "Enriched", &e->enriched);
    if (e->unmarshaled != NULL && json_object_size(e->unmarshaled) > 0) {
        char *text = json_dumps(e->unmarshaled, JSON_COMPACT | JSON_SORT_KEYS);
        if (text != NULL)
            fprintf(f, "%*sUnmarshaled: %s\n", indent, "", text);
        free(text);
    }
    put_time(f, indent, "Time", e->time, true);
    put_strv_field(f, indent, "StrTime", e->str_time);
    put_strv_field(f, indent, "StrTimeFormat", e->str_time_format);
    put_strv_field(f, indent, "MarshaledTime", e->marshaled_time);
    if (e->process)
        fprintf(f, "%*sProcess: true\n", indent, "");
    put_strmap(f, indent, "Meta", &e->meta);
    put_overflow(f, indent, &e->overflow);
}

static int
cmp_stage(const void *a, const void *b)
{
    return strcmp((*(const struct parser_stage_results *const *)a)->name,
                  (*(const struct parser_stage_results *const *)b)->name);
}

static int
cmp_node(const void *a, const void *b)
{
    return strcmp((*(const struct parser_node_results *const *)a)->name,
                  (*(const struct parser_node_results *const *)b)->name);
}

static int
put_stage(FILE *f, const struct parser_stage_results *s)
{
    fputs(s->name, f);
    fputs(":\n", f);
    if (s->len == 0)
        return 0;
    const struct parser_node_results **nodes = malloc(s->len * sizeof(*nodes));
    if (nodes == NULL)
        return -1;
    for (size_t i = 0; i < s->len; i++)
        nodes[i] = &s->nodes[i];
    qsort(nodes, s->len, sizeof(*nodes), cmp_node);
    for (size_t i = 0; i < s->len; i++) {
        const struct parser_node_results *n = nodes[i];
        fputs("    ", f);
        put_str(f, n->name, strlen(n->name));
        if (n->len == 0) {
            fputs(": []\n", f);
            continue;
        }
        fputs(":\n", f);
        for (size_t k = 0; k < n->len; k++) {
            fprintf(f, "        - idx: %" PRId64 "\n", n->items[k].idx);
            fputs("          evt:\n", f);
            hubtest_dump_event(f, 14, n->items[k].evt);
            fprintf(f, "          success: %s\n", n->items[k].success ? "true" : "false");
        }
    }
    free(nodes);
    return 0;
}

int
hubtest_dump_write(const char *path, const struct parser_results *results, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    const struct parser_stage_results **stages = NULL;
    if (results->len > 0) {
        stages = malloc(results->len * sizeof(*stages));
        if (stages == NULL) {
            rc = -1;
            goto out;
        }
        for (size_t i = 0; i < results->len; i++)
            stages[i] = &results->stages[i];
        qsort(stages, results->len, sizeof(*stages), cmp_stage);
    }
    for (size_t i = 0; i < results->len && rc == 0; i++)
        rc = put_stage(f, stages[i]);
out:
    free(stages);
    if (fclose(f) != 0 || rc != 0) {
        snprintf(err, errlen, "%s: could not write the parser dump", path);
        return -1;
    }
    return 0;
}
