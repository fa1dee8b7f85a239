/*
 * model.h - CrowdSec's data model as plain C structs: the pipeline event
 * (pipeline.Event with its Line, RuntimeAlert and AppsecEvent), the API
 * shapes (models.Alert, Source, Decision, Event, Meta), a bucket's queue and
 * state (pipeline.Queue, leakybucket.Leaky), and hubtest's parser dump
 * (dumps.ParserResults).
 *
 * Nothing here knows about expressions: the bindings that expose these
 * structs to expressions live one layer up (src/exprenv). Field names in the
 * comments are CrowdSec's Go names, which is what hub expressions use.
 *
 * Memory: an event owns one arena; every string and map entry of the event
 * (Line, Parsed, Meta, Enriched, ...) is copied into it, so creating and
 * destroying an event costs a couple of mallocs. Unmarshaled is a jansson
 * tree (refcounted, freed with the event). Alerts outlive events (they go to
 * the API, the store, the CLI), so they use plain malloc'd strings.
 */
#ifndef PHALANX_MODEL_H
#define PHALANX_MODEL_H

#include "common/arena.h"
#include "common/common.h"
#include "common/gotime.h"
#include "common/str.h"

#include <jansson.h>
#include <stdatomic.h>

/* --- struct strmap: Go's map[string]string on the parsing hot path --- */

struct strmap_entry {
    struct strv key;   /* NUL-terminated, in the owner's arena */
    struct strv value; /* NUL-terminated, in the owner's arena */
};

/*
 * An insertion-ordered string -> string map. Lookups are linear while the map
 * is small (the common case for Parsed/Meta) and go through an open-addressing
 * index above STRMAP_LINEAR_MAX entries. All memory comes from the arena
 * passed to the mutating calls, which must be the same one every time.
 * A zeroed struct is an empty map.
 */
#define STRMAP_LINEAR_MAX  16
#define STRMAP_MAX_ENTRIES (1u << 20) /* hard bound; set fails with -E2BIG beyond */

struct strmap {
    struct strmap_entry *entries;
    size_t len, cap;
    uint32_t *index; /* slot -> entry index + 1 (0 = empty), NULL while small */
    size_t index_cap;
};

/* Value for key, or NULL. */
const struct strv *strmap_get(const struct strmap *m, const char *key, size_t keylen);
const struct strv *strmap_get_cstr(const struct strmap *m, const char *key);
/* Inserts or replaces (keeps the original position); copies both strings. 0, -ENOMEM, -E2BIG. */
int strmap_set(struct strmap *m, struct arena *a, const char *key, size_t keylen, const char *value,
               size_t valuelen);
int strmap_set_cstr(struct strmap *m, struct arena *a, const char *key, const char *value);
/* Removes key, keeping the order of the others; 0 or -ENOENT. */
int strmap_del(struct strmap *m, const char *key, size_t keylen);
static inline size_t
strmap_len(const struct strmap *m)
{
    return m->len;
}
/* i-th entry in insertion order (i < len). */
static inline const struct strmap_entry *
strmap_at(const struct strmap *m, size_t i)
{
    return &m->entries[i];
}
/* Forgets every entry (the arena memory is reclaimed by the arena). */
void strmap_clear(struct strmap *m);
/* Copies every entry of src into dst (dst's arena a). */
int strmap_copy(struct strmap *dst, struct arena *a, const struct strmap *src);

/* --- API shapes (pkg/models) --- */

/* models.MetaItems0 */
struct meta_item {
    char *key;
    char *value;
};

/* models.Meta: a list of key/value items. */
struct meta_list {
    struct meta_item *items;
    size_t len;
};

/* models.Source. scope/value are Go *string: NULL = nil. */
struct source {
    char *as_name;   /* AsName */
    char *as_number; /* AsNumber */
    char *cn;        /* Cn */
    char *ip;        /* IP */
    char *range;     /* Range */
    char *scope;     /* Scope */
    char *value;     /* Value */
    float latitude;  /* Latitude (Go float32) */
    float longitude; /* Longitude */
};

/* models.Decision */
struct decision {
    int64_t id;     /* ID */
    char *uuid;     /* UUID */
    char *duration; /* Duration */
    char *origin;   /* Origin */
    char *scenario; /* Scenario */
    char *scope;    /* Scope */
    char *type;     /* Type */
    char *value;    /* Value */
    char *until;    /* Until */
    bool simulated; /* Simulated */
    /* Simulated is a Go *bool with omitempty: JSON carries it when set or true. */
    bool simulated_set;
};

/* models.Event: one event of an alert. */
struct alert_event {
    char *timestamp;       /* Timestamp */
    struct meta_list meta; /* Meta, sorted by key when built from a bucket */
};

/* models.Alert. The Go *string fields are NULL when absent. */
struct alert {
    int64_t id;                 /* ID */
    char *uuid;                 /* UUID */
    char *machine_id;           /* MachineID */
    char *created_at;           /* CreatedAt */
    char *kind;                 /* Kind */
    char *scenario;             /* Scenario */
    char *scenario_hash;        /* ScenarioHash */
    char *scenario_version;     /* ScenarioVersion */
    char *message;              /* Message */
    char *start_at;             /* StartAt */
    char *stop_at;              /* StopAt */
    char *leakspeed;            /* Leakspeed */
    int32_t events_count;       /* EventsCount */
    int32_t capacity;           /* Capacity */
    bool simulated;             /* Simulated */
    bool remediation;           /* Remediation */
    struct alert_event *events; /* Events */
    size_t nevents;
    struct meta_list meta;      /* Meta */
    struct decision *decisions; /* Decisions */
    size_t ndecisions;
    struct source *source; /* Source (owned; NULL = nil) */
    char **labels;         /* Labels */
    size_t nlabels;
    /*
     * Capacity, EventsCount and Simulated are Go pointers: ALERT_ABSENT_* bits
     * mark them nil (JSON null, a validation failure). Zero = all present.
     */
    unsigned absent;
};

#define ALERT_ABSENT_CAPACITY     1u
#define ALERT_ABSENT_EVENTS_COUNT 2u
#define ALERT_ABSENT_SIMULATED    4u

struct alert *alert_new(void);
void alert_free(struct alert *a);
/* Releases what an alert holds and zeroes it (for alerts embedded in arrays). */
void alert_clear(struct alert *a);
void source_clear(struct source *s);
void decision_clear(struct decision *d);
void alert_event_clear(struct alert_event *e);
/* Replaces *dst with a copy of s (NULL s sets NULL); 0 or -ENOMEM. */
int model_strset(char **dst, const char *s);
/* Appends a meta item (copies); 0 or -ENOMEM. */
int meta_append(struct meta_list *m, const char *key, const char *value);
/* Value of key in a meta list, "" when absent (models' GetMeta). */
const char *meta_get(const struct meta_list *m, const char *key);
void meta_clear(struct meta_list *m);
/* Grows an alert's arrays by one zeroed element; NULL on OOM. */
struct alert_event *alert_add_event(struct alert *a);
struct decision *alert_add_decision(struct alert *a);
int alert_add_label(struct alert *a, const char *label);
/* GetScope()/GetValue(): the source's scope/value, "" without one. */
const char *alert_scope(const struct alert *a);
const char *alert_value(const struct alert *a);

/* --- pipeline.RuntimeAlert --- */

struct source_entry {
    char *key; /* the source value (IP, range, ...) */
    struct source source;
};

struct runtime_alert {
    char *mapkey;    /* Mapkey */
    char *bucket_id; /* BucketId */
    bool whitelisted;
    bool reprocess;
    struct source_entry *sources; /* Sources, insertion-ordered */
    size_t nsources;
    struct alert *alert;       /* Alert (owned unless it is one of api_alerts) */
    struct alert **api_alerts; /* APIAlerts (owned) */
    size_t napi_alerts;
};

void runtime_alert_clear(struct runtime_alert *r);
/* Source for key or NULL. */
struct source *runtime_alert_source(const struct runtime_alert *r, const char *key);
/* Adds (or returns the existing) source for key; NULL on OOM. */
struct source *runtime_alert_add_source(struct runtime_alert *r, const char *key);
/* Appends an owned alert to APIAlerts; 0 or -ENOMEM (the alert is then freed). */
int runtime_alert_add_api_alert(struct runtime_alert *r, struct alert *a);

/* --- pipeline.AppsecEvent --- */

struct appsec_event {
    bool has_in_band_matches;  /* HasInBandMatches */
    bool has_out_band_matches; /* HasOutBandMatches */
    json_t *matched_rules;     /* MatchedRules: JSON array of objects, or NULL */
    struct strmap vars;        /* Vars */
    struct strmap hook_vars;   /* HookVars */
};

/* --- pipeline.Event --- */

enum event_type { EVENT_LOG = 0, EVENT_OVFLW = 1, EVENT_APPSEC = 2 };
enum event_mode { EVENT_LIVE = 0, EVENT_TIMEMACHINE = 1 };

/* pipeline.Line */
struct line {
    struct strv raw;      /* Raw */
    struct strv src;      /* Src */
    struct gotime time;   /* Time (acquisition time) */
    struct strmap labels; /* Labels */
    bool process;         /* Process */
    struct strv module;   /* Module */
};

struct event {
    struct arena arena;            /* every string and map entry below */
    int type;                      /* Type: enum event_type */
    int expect_mode;               /* ExpectMode: enum event_mode */
    bool whitelisted;              /* Whitelisted */
    struct strv whitelist_reason;  /* WhitelistReason */
    struct strv stage;             /* Stage */
    struct line line;              /* Line */
    struct strmap parsed;          /* Parsed */
    struct strmap enriched;        /* Enriched */
    struct strmap meta;            /* Meta */
    json_t *unmarshaled;           /* Unmarshaled: JSON object or NULL (= empty) */
    struct runtime_alert overflow; /* Overflow */
    struct gotime time;            /* Time */
    struct strv str_time;          /* StrTime */
    struct strv str_time_format;   /* StrTimeFormat */
    struct strv marshaled_time;    /* MarshaledTime */
    bool process;                  /* Process */
    struct appsec_event appsec;    /* Appsec */
    /*
     * Holders beyond the first (event_ref); event_free releases one and frees
     * the event with the last. A shared event is read-only.
     */
    atomic_uint shares;
};

/* A new empty event of the given type and mode (Go's MakeEvent); NULL on OOM. */
struct event *event_new(int type, int expect_mode, bool process);
void event_free(struct event *e);
/* A deep copy (own arena, Unmarshaled shared by reference count); NULL on OOM. */
struct event *event_clone(const struct event *e);
/*
 * Another reference to e, released by event_free: the cheap alternative to
 * event_clone for a holder that only reads, once nobody writes e any more
 * (bucket queues keep poured events so). Thread-safe.
 */
struct event *event_ref(const struct event *e);
/* Copies s into the event's arena and points *dst at it; 0 or -ENOMEM. */
int event_set_str(struct event *e, struct strv *dst, const char *s, size_t len);
/* SetMeta / SetParsed / SetEnriched: copy into the event; 0 or -ENOMEM. */
int event_set_meta(struct event *e, const char *key, const char *value);
int event_set_parsed(struct event *e, const char *key, const char *value);
int event_set_enriched(struct event *e, const char *key, const char *value);
/* GetType(): "log", "overflow" or "unknown" (APPSEC too, as in CrowdSec). */
const char *event_type_name(const struct event *e);
/*
 * GetMeta(key): for an overflow, the first non-empty value of key in the
 * events of APIAlerts; for a log, Meta[key]; else "".
 */
const char *event_get_meta(const struct event *e, const char *key);

/* --- pipeline.Queue and a list of events --- */

/* A []Event: owned event pointers. */
struct event_list {
    struct event **items;
    size_t len, cap;
};

void event_list_clear(struct event_list *l); /* frees the events */
/* Appends e (takes ownership; on failure e is freed); 0 or -ENOMEM. */
int event_list_push(struct event_list *l, struct event *e);

struct queue {
    struct event_list queue; /* Queue */
    int64_t l;               /* L: capacity; INT64_MAX for "unbounded" (-1 at creation) */
};

/* NewQueue(l): l == -1 means unbounded. */
void queue_init(struct queue *q, int64_t l);
void queue_clear(struct queue *q);
/* Add(): drops the oldest while len > L, then appends (takes ownership); 0 or -ENOMEM. */
int queue_add(struct queue *q, struct event *e);

/* --- leakybucket.Leaky and the parts of its BucketFactory/BucketSpec expressions read --- */

struct bucket_spec {
    char *name;         /* Name */
    char *description;  /* Description */
    char *type;         /* Type */
    int64_t capacity;   /* Capacity */
    char *leakspeed;    /* LeakSpeed */
    char *duration;     /* Duration */
    char *filter;       /* Filter */
    char *groupby;      /* GroupBy */
    char *distinct;     /* Distinct */
    char *blackhole;    /* Blackhole */
    char *version;      /* ScenarioVersion */
    int64_t cache_size; /* CacheSize */
    bool reprocess;     /* Reprocess */
    bool debug;         /* Debug */
};

struct bucket_factory {
    struct bucket_spec spec; /* Spec */
    char *bucket_name;       /* BucketName */
    char *filename;          /* Filename */
    char *data_dir;          /* DataDir */
    bool simulated;          /* Simulated */
};

void bucket_factory_clear(struct bucket_factory *f);

struct leaky {
    int mode;                             /* Mode: enum event_mode */
    struct queue *queue;                  /* Queue (borrowed or owned by the bucket code) */
    char *mapkey;                         /* Mapkey */
    char *uuid;                           /* Uuid */
    struct gotime first_ts;               /* First_ts */
    struct gotime last_ts;                /* Last_ts */
    struct gotime ovflw_ts;               /* Ovflw_ts */
    int64_t total_count;                  /* Total_count */
    int64_t duration_ns;                  /* Duration */
    const struct bucket_factory *factory; /* Factory (borrowed) */
};

/* --- dumps.ParserResults: map[stage]map[node][]ParserResult --- */

struct parser_result {
    int64_t idx;       /* Idx */
    struct event *evt; /* Evt (owned) */
    bool success;      /* Success */
};

struct parser_node_results {
    char *name;
    struct parser_result *items;
    size_t len, cap;
};

struct parser_stage_results {
    char *name;
    struct parser_node_results *nodes;
    size_t len, cap;
};

struct parser_results {
    struct parser_stage_results *stages;
    size_t len, cap;
};

void parser_results_clear(struct parser_results *r);
/* The list for (stage, node), created empty if missing; NULL on OOM. */
struct parser_node_results *parser_results_node(struct parser_results *r, const char *stage,
                                                const char *node);
/* Appends a result (takes ownership of evt, freed on failure); 0 or -ENOMEM. */
int parser_results_add(struct parser_results *r, const char *stage, const char *node, int64_t idx,
                       struct event *evt, bool success);
const struct parser_stage_results *parser_results_stage(const struct parser_results *r,
                                                        const char *stage, size_t len);
const struct parser_node_results *parser_stage_node(const struct parser_stage_results *s,
                                                    const char *node, size_t len);

/* --- JSON codec of the API shapes (alert_json.c) --- */

/*
 * CrowdSec's pkg/models JSON: field names, omitempty and nil-vs-empty as Go's
 * encoding/json. Arrays: a NULL pointer is Go's nil slice (JSON null), a
 * non-NULL pointer with length 0 an empty one ([]); Alert.meta is omitempty
 * either way. Float32 fields become JSON integers when integral, else reals.
 * The encoders return a new reference, NULL on OOM or a non-finite float
 * (Go's encoder fails on those too).
 */
json_t *alert_to_json(const struct alert *a);
json_t *decision_to_json(const struct decision *d);
json_t *alerts_to_json_array(const struct alert *a, size_t n);
json_t *decisions_to_json_array(const struct decision *d, size_t n);

/*
 * Decoders, Go's json.Unmarshal into the models: unknown fields ignored, keys
 * matched exactly first then case-insensitively, null leaves a field nil,
 * a JSON type that does not fit is an error worded like Go's
 * ("json: cannot unmarshal number into Go struct field Alert.events.timestamp
 * of type string"). Required fields are not checked here (alert_validate).
 * 0, or -EINVAL with the message in err, or -ENOMEM; *ret is written only on
 * success (a zeroed struct on entry is not needed; it is overwritten).
 * Arrays: *ret is a malloc'd array (non-NULL even when empty) of *ret_n
 * items, freed with alert_clear/decision_clear on each then free().
 */
int alert_from_json(const json_t *j, struct alert *ret, char *err, size_t errlen);
int decision_from_json(const json_t *j, struct decision *ret, char *err, size_t errlen);
int alerts_from_json_array(const json_t *j, struct alert **ret, size_t *ret_n, char *err,
                           size_t errlen);
int decisions_from_json_array(const json_t *j, struct decision **ret, size_t *ret_n, char *err,
                              size_t errlen);

/*
 * The swagger's required fields, with go-openapi's message (the LAPI's 422):
 * "validation failure list:\nscenario in body is required\n...". The array
 * form stops at the first invalid alert and prefixes its index ("0.scenario
 * in body is required"), as models.AddAlertsRequest does. 0 or -EINVAL.
 */
int alert_validate(const struct alert *a, char *err, size_t errlen);
int alerts_validate(const struct alert *a, size_t n, char *err, size_t errlen);
int decision_validate(const struct decision *d, char *err, size_t errlen);

/*
 * Serializes j as Go's encoding/json prints these models: compact, object keys
 * sorted (the models declare their fields alphabetically), <, >, &, U+2028 and
 * U+2029 escaped, every real printed as a Go float32. Only for documents whose
 * reals are float32 (all of pkg/models). malloc'd; NULL on OOM, a non-finite
 * real or nesting deeper than 64.
 */
char *model_json_dumps(const json_t *j);
/* Go's strconv.FormatFloat(f, 'f' or 'e', -1, 32) as encoding/json picks; length or -EINVAL. */
int model_format_float32(float f, char *buf, size_t len);

#endif
