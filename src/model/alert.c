/*
 * alert.c - models.Alert, Source, Decision, Event and pipeline.RuntimeAlert:
 * construction and release.
 *
 * Alerts travel from the bucket code to the API client, the LAPI, the store
 * and the CLI, so unlike events they own plain malloc'd strings and can be
 * freed one by one. The JSON codec lives with the API code.
 */
#include "model/model.h"

int
model_strset(char **dst, const char *s)
{
    char *copy = NULL;

    if (s != NULL) {
        copy = strdup(s);
        if (copy == NULL)
            return -ENOMEM;
    }
    free(*dst);
    *dst = copy;
    return 0;
}

int
meta_append(struct meta_list *m, const char *key, const char *value)
{
    struct meta_item *grown = realloc(m->items, (m->len + 1) * sizeof(*grown));

    if (grown == NULL)
        return -ENOMEM;
    m->items = grown;
    grown[m->len] = (struct meta_item){ strdup(key), strdup(value) };
    if (grown[m->len].key == NULL || grown[m->len].value == NULL) {
        free(grown[m->len].key);
        free(grown[m->len].value);
        return -ENOMEM;
    }
    m->len++;
    return 0;
}

const char *
meta_get(const struct meta_list *m, const char *key)
{
    for (size_t i = 0; i < m->len; i++) {
        if (m->items[i].key != NULL && strcmp(m->items[i].key, key) == 0)
            return m->items[i].value != NULL ? m->items[i].value : "";
    }
    return "";
}

void
meta_clear(struct meta_list *m)
{
    for (size_t i = 0; i < m->len; i++) {
        free(m->items[i].key);
        free(m->items[i].value);
    }
    free(m->items);
    m->items = NULL;
    m->len = 0;
}

void
source_clear(struct source *s)
{
    free(s->as_name);
    free(s->as_number);
    free(s->cn);
    free(s->ip);
    free(s->range);
    free(s->scope);
    free(s->value);
    memset(s, 0, sizeof(*s));
}

void
decision_clear(struct decision *d)
{
    free(d->uuid);
    free(d->duration);
    free(d->origin);
    free(d->scenario);
    free(d->scope);
    free(d->type);
    free(d->value);
    free(d->until);
    memset(d, 0, sizeof(*d));
}

void
alert_event_clear(struct alert_event *e)
{
    free(e->timestamp);
    meta_clear(&e->meta);
    memset(e, 0, sizeof(*e));
}

struct alert *
alert_new(void)
{
    return calloc(1, sizeof(struct alert));
}

void
alert_clear(struct alert *a)
{
    char **strs[] = { &a->uuid,     &a->machine_id,    &a->created_at,       &a->kind,
                      &a->scenario, &a->scenario_hash, &a->scenario_version, &a->message,
                      &a->start_at, &a->stop_at,       &a->leakspeed };

    for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
        free(*strs[i]);
    for (size_t i = 0; i < a->nevents; i++)
        alert_event_clear(&a->events[i]);
    free(a->events);
    meta_clear(&a->meta);
    for (size_t i = 0; i < a->ndecisions; i++)
        decision_clear(&a->decisions[i]);
    free(a->decisions);
    if (a->source != NULL) {
        source_clear(a->source);
        free(a->source);
    }
    for (size_t i = 0; i < a->nlabels; i++)
        free(a->labels[i]);
    free(a->labels);
    memset(a, 0, sizeof(*a));
}

void
alert_free(struct alert *a)
{
    if (a == NULL)
        return;
    alert_clear(a);
    free(a);
}

struct alert_event *
alert_add_event(struct alert *a)
{
    struct alert_event *grown = realloc(a->events, (a->nevents + 1) * sizeof(*grown));

    if (grown == NULL)
        return NULL;
    a->events = grown;
    memset(&grown[a->nevents], 0, sizeof(*grown));
    return &grown[a->nevents++];
}

struct decision *
alert_add_decision(struct alert *a)
{
    struct decision *grown = realloc(a->decisions, (a->ndecisions + 1) * sizeof(*grown));

    if (grown == NULL)
        return NULL;
    a->decisions = grown;
    memset(&grown[a->ndecisions], 0, sizeof(*grown));
    return &grown[a->ndecisions++];
}

int
alert_add_label(struct alert *a, const char *label)
{
    char **grown = realloc(a->labels, (a->nlabels + 1) * sizeof(*grown));

    if (grown == NULL)
        return -ENOMEM;
    a->labels = grown;
    grown[a->nlabels] = strdup(label);
    if (grown[a->nlabels] == NULL)
        return -ENOMEM;
    a->nlabels++;
    return 0;
}

const char *
alert_scope(const struct alert *a)
{
    return a->source != NULL && a->source->scope != NULL ? a->source->scope : "";
}

const char *
alert_value(const struct alert *a)
{
    return a->source != NULL && a->source->value != NULL ? a->source->value : "";
}

void
runtime_alert_clear(struct runtime_alert *r)
{
    bool alert_shared = false;

    free(r->mapkey);
    free(r->bucket_id);
    for (size_t i = 0; i < r->nsources; i++) {
        free(r->sources[i].key);
        source_clear(&r->sources[i].source);
    }
    free(r->sources);
    for (size_t i = 0; i < r->napi_alerts; i++) {
        if (r->api_alerts[i] == r->alert)
            alert_shared = true;
        alert_free(r->api_alerts[i]);
    }
    free(r->api_alerts);
    if (!alert_shared)
        alert_free(r->alert);
    memset(r, 0, sizeof(*r));
}

struct source *
runtime_alert_source(const struct runtime_alert *r, const char *key)
{
    for (size_t i = 0; i < r->nsources; i++) {
        if (strcmp(r->sources[i].key, key) == 0)
            return &r->sources[i].source;
    }
    return NULL;
}

struct source *
runtime_alert_add_source(struct runtime_alert *r, const char *key)
{
    struct source *s = runtime_alert_source(r, key);

    if (s != NULL)
        return s;
    struct source_entry *grown = realloc(r->sources, (r->nsources + 1) * sizeof(*grown));
    if (grown == NULL)
        return NULL;
    r->sources = grown;
    memset(&grown[r->nsources], 0, sizeof(*grown));
    grown[r->nsources].key = strdup(key);
    if (grown[r->nsources].key == NULL)
        return NULL;
    return &grown[r->nsources++].source;
}

int
runtime_alert_add_api_alert(struct runtime_alert *r, struct alert *a)
{
    struct alert **grown = realloc(r->api_alerts, (r->napi_alerts + 1) * sizeof(*grown));

    if (grown == NULL) {
        if (a != r->alert)
            alert_free(a);
        return -ENOMEM;
    }
    r->api_alerts = grown;
    grown[r->napi_alerts++] = a;
    return 0;
}
