/*
 * event.c - pipeline.Event, its Queue, the []Event lists hubtest reads, the
 * bucket factory's owned strings and dumps.ParserResults.
 *
 * An event is one malloc for the struct plus its arena's chunks; everything
 * a parser writes into it (captures, statics, meta) lands in the arena, so an
 * event dies in a handful of frees whatever its size.
 */
#include "model/model.h"

/*
 * The first chunk of an event's arena. A parsed sshd line needs ~2.5 KiB and
 * an nginx access line ~5 KiB: with 6 KiB both fit in one chunk, where 2 KiB
 * took two (2 + 4 KiB, the same memory) and so two mallocs and two frees,
 * usually in different threads (parsed by a worker, freed by a shard).
 */
#define EVENT_ARENA_CHUNK 6144

struct event *
event_new(int type, int expect_mode, bool process)
{
    struct event *e = calloc(1, sizeof(*e));

    if (e == NULL)
        return NULL;
    arena_init(&e->arena, EVENT_ARENA_CHUNK);
    e->type = type;
    e->expect_mode = expect_mode;
    e->process = process;
    return e;
}

void
event_free(struct event *e)
{
    if (e == NULL)
        return;
    /* Shared: drop one holder; the last one (no shares left) frees. */
    if (atomic_load_explicit(&e->shares, memory_order_acquire) != 0 &&
        atomic_fetch_sub_explicit(&e->shares, 1, memory_order_acq_rel) != 0)
        return;
    json_decref(e->unmarshaled);
    json_decref(e->appsec.matched_rules);
    runtime_alert_clear(&e->overflow);
    arena_free(&e->arena);
    free(e);
}

int
event_set_str(struct event *e, struct strv *dst, const char *s, size_t len)
{
    char *copy = arena_strndup(&e->arena, s, len);

    if (copy == NULL)
        return -ENOMEM;
    *dst = (struct strv){ copy, len };
    return 0;
}

int
event_set_meta(struct event *e, const char *key, const char *value)
{
    return strmap_set_cstr(&e->meta, &e->arena, key, value);
}

int
event_set_parsed(struct event *e, const char *key, const char *value)
{
    return strmap_set_cstr(&e->parsed, &e->arena, key, value);
}

int
event_set_enriched(struct event *e, const char *key, const char *value)
{
    return strmap_set_cstr(&e->enriched, &e->arena, key, value);
}

const char *
event_type_name(const struct event *e)
{
    switch (e->type) {
    case EVENT_LOG: return "log";
    case EVENT_OVFLW: return "overflow";
    default: return "unknown";
    }
}

const char *
event_get_meta(const struct event *e, const char *key)
{
    if (e->type == EVENT_OVFLW) {
        for (size_t i = 0; i < e->overflow.napi_alerts; i++) {
            const struct alert *a = e->overflow.api_alerts[i];
            for (size_t j = 0; j < a->nevents; j++) {
                const char *v = meta_get(&a->events[j].meta, key);
                if (*v != '\0')
                    return v;
            }
        }
    } else if (e->type == EVENT_LOG) {
        const struct strv *v = strmap_get_cstr(&e->meta, key);
        if (v != NULL)
            return v->ptr;
    }
    return "";
}

static int
copy_strv(struct event *dst, struct strv *to, const struct strv *from)
{
    if (from->ptr == NULL) {
        *to = (struct strv){ 0 };
        return 0;
    }
    return event_set_str(dst, to, from->ptr, from->len);
}

static int
copy_source(struct source *dst, const struct source *src)
{
    int r = 0;

    r |= model_strset(&dst->as_name, src->as_name);
    r |= model_strset(&dst->as_number, src->as_number);
    r |= model_strset(&dst->cn, src->cn);
    r |= model_strset(&dst->ip, src->ip);
    r |= model_strset(&dst->range, src->range);
    r |= model_strset(&dst->scope, src->scope);
    r |= model_strset(&dst->value, src->value);
    dst->latitude = src->latitude;
    dst->longitude = src->longitude;
    return r ? -ENOMEM : 0;
}

static struct alert *
alert_clone(const struct alert *a)
{
    struct alert *c = alert_new();
    int r = 0;

    if (c == NULL)
        return NULL;
    c->id = a->id;
    c->events_count = a->events_count;
    c->capacity = a->capacity;
    c->simulated = a->simulated;
    c->remediation = a->remediation;
    r |= model_strset(&c->uuid, a->uuid);
    r |= model_strset(&c->machine_id, a->machine_id);
    r |= model_strset(&c->created_at, a->created_at);
    r |= model_strset(&c->kind, a->kind);
    r |= model_strset(&c->scenario, a->scenario);
    r |= model_strset(&c->scenario_hash, a->scenario_hash);
    r |= model_strset(&c->scenario_version, a->scenario_version);
    r |= model_strset(&c->message, a->message);
    r |= model_strset(&c->start_at, a->start_at);
    r |= model_strset(&c->stop_at, a->stop_at);
    r |= model_strset(&c->leakspeed, a->leakspeed);
    for (size_t i = 0; r == 0 && i < a->nevents; i++) {
        struct alert_event *e = alert_add_event(c);
        if (e == NULL || model_strset(&e->timestamp, a->events[i].timestamp) < 0) {
            r = -ENOMEM;
            break;
        }
        for (size_t j = 0; r == 0 && j < a->events[i].meta.len; j++)
            r = meta_append(&e->meta, a->events[i].meta.items[j].key,
                            a->events[i].meta.items[j].value);
    }
    for (size_t i = 0; r == 0 && i < a->meta.len; i++)
        r = meta_append(&c->meta, a->meta.items[i].key, a->meta.items[i].value);
    for (size_t i = 0; r == 0 && i < a->ndecisions; i++) {
        const struct decision *s = &a->decisions[i];
        struct decision *d = alert_add_decision(c);
        if (d == NULL) {
            r = -ENOMEM;
            break;
        }
        d->id = s->id;
        d->simulated = s->simulated;
        r |= model_strset(&d->uuid, s->uuid);
        r |= model_strset(&d->duration, s->duration);
        r |= model_strset(&d->origin, s->origin);
        r |= model_strset(&d->scenario, s->scenario);
        r |= model_strset(&d->scope, s->scope);
        r |= model_strset(&d->type, s->type);
        r |= model_strset(&d->value, s->value);
        r |= model_strset(&d->until, s->until);
    }
    if (r == 0 && a->source != NULL) {
        c->source = calloc(1, sizeof(*c->source));
        r = c->source == NULL ? -ENOMEM : copy_source(c->source, a->source);
    }
    for (size_t i = 0; r == 0 && i < a->nlabels; i++)
        r = alert_add_label(c, a->labels[i]);
    if (r != 0) {
        alert_free(c);
        return NULL;
    }
    return c;
}

static int
runtime_alert_copy(struct runtime_alert *dst, const struct runtime_alert *src)
{
    if (model_strset(&dst->mapkey, src->mapkey) < 0 ||
        model_strset(&dst->bucket_id, src->bucket_id) < 0)
        return -ENOMEM;
    dst->whitelisted = src->whitelisted;
    dst->reprocess = src->reprocess;
    for (size_t i = 0; i < src->nsources; i++) {
        struct source *s = runtime_alert_add_source(dst, src->sources[i].key);
        if (s == NULL || copy_source(s, &src->sources[i].source) < 0)
            return -ENOMEM;
    }
    for (size_t i = 0; i < src->napi_alerts; i++) {
        struct alert *a = alert_clone(src->api_alerts[i]);
        if (a == NULL || runtime_alert_add_api_alert(dst, a) < 0)
            return -ENOMEM;
        if (src->api_alerts[i] == src->alert)
            dst->alert = a;
    }
    if (src->alert != NULL && dst->alert == NULL) {
        dst->alert = alert_clone(src->alert);
        if (dst->alert == NULL)
            return -ENOMEM;
    }
    return 0;
}

struct event *
event_clone(const struct event *e)
{
    struct event *c = event_new(e->type, e->expect_mode, e->process);

    if (c == NULL)
        return NULL;
    c->whitelisted = e->whitelisted;
    c->time = e->time;
    c->line.time = e->line.time;
    c->line.process = e->line.process;
    c->appsec.has_in_band_matches = e->appsec.has_in_band_matches;
    c->appsec.has_out_band_matches = e->appsec.has_out_band_matches;
    if (e->unmarshaled != NULL)
        c->unmarshaled = json_incref(e->unmarshaled);
    if (e->appsec.matched_rules != NULL)
        c->appsec.matched_rules = json_incref(e->appsec.matched_rules);
    if (copy_strv(c, &c->whitelist_reason, &e->whitelist_reason) < 0 ||
        copy_strv(c, &c->stage, &e->stage) < 0 || copy_strv(c, &c->line.raw, &e->line.raw) < 0 ||
        copy_strv(c, &c->line.src, &e->line.src) < 0 ||
        copy_strv(c, &c->line.module, &e->line.module) < 0 ||
        copy_strv(c, &c->str_time, &e->str_time) < 0 ||
        copy_strv(c, &c->str_time_format, &e->str_time_format) < 0 ||
        copy_strv(c, &c->marshaled_time, &e->marshaled_time) < 0 ||
        strmap_copy(&c->line.labels, &c->arena, &e->line.labels) < 0 ||
        strmap_copy(&c->parsed, &c->arena, &e->parsed) < 0 ||
        strmap_copy(&c->enriched, &c->arena, &e->enriched) < 0 ||
        strmap_copy(&c->meta, &c->arena, &e->meta) < 0 ||
        strmap_copy(&c->appsec.vars, &c->arena, &e->appsec.vars) < 0 ||
        strmap_copy(&c->appsec.hook_vars, &c->arena, &e->appsec.hook_vars) < 0 ||
        runtime_alert_copy(&c->overflow, &e->overflow) < 0) {
        event_free(c);
        return NULL;
    }
    return c;
}

struct event *
event_ref(const struct event *e)
{
    /* The count is the one field a reader may change: that is what const cannot say. */
    struct event *m = (struct event *)e;
    atomic_fetch_add_explicit(&m->shares, 1, memory_order_relaxed);
    return m;
}

void
event_list_clear(struct event_list *l)
{
    for (size_t i = 0; i < l->len; i++)
        event_free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

int
event_list_push(struct event_list *l, struct event *e)
{
    if (l->len == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        struct event **grown = realloc(l->items, ncap * sizeof(*grown));
        if (grown == NULL) {
            event_free(e);
            return -ENOMEM;
        }
        l->items = grown;
        l->cap = ncap;
    }
    l->items[l->len++] = e;
    return 0;
}

void
queue_init(struct queue *q, int64_t l)
{
    memset(q, 0, sizeof(*q));
    q->l = l == -1 ? INT64_MAX : l;
}

void
queue_clear(struct queue *q)
{
    event_list_clear(&q->queue);
}

int
queue_add(struct queue *q, struct event *e)
{
    size_t drop = 0;

    /* Go keeps up to L+1 events: it drops while len > L, then appends. */
    while (q->l >= 0 && q->queue.len - drop > (uint64_t)q->l)
        drop++;
    if (drop > 0) {
        for (size_t i = 0; i < drop; i++)
            event_free(q->queue.items[i]);
        memmove(q->queue.items, q->queue.items + drop,
                (q->queue.len - drop) * sizeof(*q->queue.items));
        q->queue.len -= drop;
    }
    return event_list_push(&q->queue, e);
}

void
bucket_factory_clear(struct bucket_factory *f)
{
    struct bucket_spec *s = &f->spec;

    free(s->name);
    free(s->description);
    free(s->type);
    free(s->leakspeed);
    free(s->duration);
    free(s->filter);
    free(s->groupby);
    free(s->distinct);
    free(s->blackhole);
    free(s->version);
    free(f->bucket_name);
    free(f->filename);
    free(f->data_dir);
    memset(f, 0, sizeof(*f));
}

void
parser_results_clear(struct parser_results *r)
{
    for (size_t i = 0; i < r->len; i++) {
        struct parser_stage_results *s = &r->stages[i];
        for (size_t j = 0; j < s->len; j++) {
            struct parser_node_results *n = &s->nodes[j];
            for (size_t k = 0; k < n->len; k++)
                event_free(n->items[k].evt);
            free(n->items);
            free(n->name);
        }
        free(s->nodes);
        free(s->name);
    }
    free(r->stages);
    memset(r, 0, sizeof(*r));
}

const struct parser_stage_results *
parser_results_stage(const struct parser_results *r, const char *stage, size_t len)
{
    for (size_t i = 0; i < r->len; i++) {
        if (strlen(r->stages[i].name) == len && memcmp(r->stages[i].name, stage, len) == 0)
            return &r->stages[i];
    }
    return NULL;
}

const struct parser_node_results *
parser_stage_node(const struct parser_stage_results *s, const char *node, size_t len)
{
    for (size_t i = 0; i < s->len; i++) {
        if (strlen(s->nodes[i].name) == len && memcmp(s->nodes[i].name, node, len) == 0)
            return &s->nodes[i];
    }
    return NULL;
}

struct parser_node_results *
parser_results_node(struct parser_results *r, const char *stage, const char *node)
{
    struct parser_stage_results *s =
        (struct parser_stage_results *)parser_results_stage(r, stage, strlen(stage));

    if (s == NULL) {
        if (r->len == r->cap) {
            size_t ncap = r->cap ? r->cap * 2 : 4;
            struct parser_stage_results *grown = realloc(r->stages, ncap * sizeof(*grown));
            if (grown == NULL)
                return NULL;
            r->stages = grown;
            r->cap = ncap;
        }
        s = &r->stages[r->len];
        memset(s, 0, sizeof(*s));
        s->name = strdup(stage);
        if (s->name == NULL)
            return NULL;
        r->len++;
    }
    struct parser_node_results *n =
        (struct parser_node_results *)parser_stage_node(s, node, strlen(node));
    if (n != NULL)
        return n;
    if (s->len == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 4;
        struct parser_node_results *grown = realloc(s->nodes, ncap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        s->nodes = grown;
        s->cap = ncap;
    }
    n = &s->nodes[s->len];
    memset(n, 0, sizeof(*n));
    n->name = strdup(node);
    if (n->name == NULL)
        return NULL;
    s->len++;
    return n;
}

int
parser_results_add(struct parser_results *r, const char *stage, const char *node, int64_t idx,
                   struct event *evt, bool success)
{
    struct parser_node_results *n = parser_results_node(r, stage, node);

    if (n == NULL)
        goto oom;
    if (n->len == n->cap) {
        size_t ncap = n->cap ? n->cap * 2 : 4;
        struct parser_result *grown = realloc(n->items, ncap * sizeof(*grown));
        if (grown == NULL)
            goto oom;
        n->items = grown;
        n->cap = ncap;
    }
    n->items[n->len++] = (struct parser_result){ .idx = idx, .evt = evt, .success = success };
    return 0;
oom:
    event_free(evt);
    return -ENOMEM;
}
