/*
 * exprenv.h - CrowdSec's data model as seen by expressions, and the
 * environments (variables + helpers) of every place CrowdSec evaluates one.
 *
 * The model (src/model) stays plain C; this module sits above both it and the
 * expression engine and describes each struct as a struct expr_class with the
 * Go field and method names hub expressions use (evt.Meta.source_ip,
 * evt.Time.Hour(), queue.Queue[-1], leaky.Total_count,
 * results[0].Overflow.Alert.Events[0].GetMeta("k")). Values are never copied:
 * an EXPR_OBJECT points into the event/alert, which must outlive the
 * evaluation.
 *
 * Variables of each context, in slot order (spec section 6):
 *   plain            none (the caller adds its own with expr_env_add_var)
 *   parser, scenario evt
 *   condition        evt, queue, leaky
 *   overflow_filter  queue, signal, leaky
 *   profile          Alert
 *   alert_context    evt, match, req
 *   hubtest_parser   results (map[stage]map[node][]ParserResult)
 *   hubtest_scenario results ([]Event)
 *   hubtest          results (dynamic)
 * The hubtest contexts also have basename(string) string (Go's filepath.Base).
 */
#ifndef PHALANX_EXPRENV_H
#define PHALANX_EXPRENV_H

#include "expr/expr.h"
#include "model/model.h"

enum exprenv_context {
    EXPRENV_PLAIN,
    EXPRENV_PARSER,
    EXPRENV_SCENARIO,
    EXPRENV_CONDITION,
    EXPRENV_OVERFLOW_FILTER,
    EXPRENV_PROFILE,
    EXPRENV_ALERT_CONTEXT,
    EXPRENV_HUBTEST_PARSER,
    EXPRENV_HUBTEST_SCENARIO,
    EXPRENV_HUBTEST,
};
#define EXPRENV_NCONTEXTS (EXPRENV_HUBTEST + 1)

/* Variable slots (the index into the vars array given to expr_eval). */
enum {
    EXPRENV_SLOT_EVT = 0, /* parser, scenario, condition, alert_context */
    EXPRENV_SLOT_COND_QUEUE = 1,
    EXPRENV_SLOT_COND_LEAKY = 2,
    EXPRENV_SLOT_OVFL_QUEUE = 0,
    EXPRENV_SLOT_OVFL_SIGNAL = 1,
    EXPRENV_SLOT_OVFL_LEAKY = 2,
    EXPRENV_SLOT_ALERT = 0, /* profile */
    EXPRENV_SLOT_CTX_MATCH = 1,
    EXPRENV_SLOT_CTX_REQ = 2,
    EXPRENV_SLOT_RESULTS = 0, /* hubtest contexts */
};

/* A new env for ctx (owned: expr_env_free()), with the builtins, the CrowdSec helpers and the
 * context's vars. */
struct expr_env *exprenv_new(enum exprenv_context ctx);
int exprenv_context_parse(const char *name,
                          enum exprenv_context *ret); /* "parser", "scenario", ... */
const char *exprenv_context_name(enum exprenv_context ctx);
/* Number of variables exprenv_new(ctx) declares (the size of the vars array). */
size_t exprenv_context_nvars(enum exprenv_context ctx);
/* Name of the i-th variable of ctx, or NULL. */
const char *exprenv_context_var(enum exprenv_context ctx, size_t i);

/* The classes, for callers that build values or check static types. */
extern const struct expr_class exprenv_event_class;          /* pipeline.Event */
extern const struct expr_class exprenv_line_class;           /* pipeline.Line */
extern const struct expr_class exprenv_strmap_class;         /* map[string]string */
extern const struct expr_class exprenv_json_object_class;    /* map[string]any (jansson object) */
extern const struct expr_class exprenv_json_array_class;     /* []any (jansson array) */
extern const struct expr_class exprenv_appsec_class;         /* pipeline.AppsecEvent */
extern const struct expr_class exprenv_runtime_alert_class;  /* pipeline.RuntimeAlert */
extern const struct expr_class exprenv_alert_class;          /* models.Alert */
extern const struct expr_class exprenv_source_class;         /* models.Source */
extern const struct expr_class exprenv_decision_class;       /* models.Decision */
extern const struct expr_class exprenv_alert_event_class;    /* models.Event */
extern const struct expr_class exprenv_meta_item_class;      /* models.MetaItems0 */
extern const struct expr_class exprenv_queue_class;          /* pipeline.Queue */
extern const struct expr_class exprenv_event_list_class;     /* []pipeline.Event */
extern const struct expr_class exprenv_leaky_class;          /* leakybucket.Leaky */
extern const struct expr_class exprenv_parser_results_class; /* dumps.ParserResults */
extern const struct expr_class exprenv_parser_result_class;  /* dumps.ParserResult */

/* Values to put in the vars array (borrowed pointers; NULL gives nil). */
struct expr_value exprenv_event_value(const struct event *e);
struct expr_value exprenv_queue_value(const struct queue *q);
struct expr_value exprenv_leaky_value(const struct leaky *l);
struct expr_value exprenv_runtime_alert_value(const struct runtime_alert *r);
struct expr_value exprenv_alert_value(const struct alert *a);
struct expr_value exprenv_event_list_value(const struct event_list *l);
struct expr_value exprenv_parser_results_value(const struct parser_results *r);
/* A JSON value as an expression value: objects and arrays as host containers, the rest as scalars.
 */
struct expr_value exprenv_json_value(const json_t *j);

/*
 * Loaders from JSON written with Go's field names (pipeline.Event as
 * encoding/json or a user writes it: {"Meta": {"source_ip": "1.2.3.4"},
 * "Time": "2024-01-01T10:00:00Z", "Line": {"Labels": {"type": "syslog"}}}).
 * Keys match Go names or their json tags, case-insensitively, as
 * encoding/json does. Unknown keys are errors (so typos show). They return 0,
 * or -1 with a message in err (errlen bytes).
 */
int exprenv_event_from_json(const json_t *obj, struct event *ret, char *err, size_t errlen);
int exprenv_alert_from_json(const json_t *obj, struct alert *ret, char *err, size_t errlen);
int exprenv_source_from_json(const json_t *obj, struct source *ret, char *err, size_t errlen);
int exprenv_runtime_alert_from_json(const json_t *obj, struct runtime_alert *ret, char *err,
                                    size_t errlen);
/* {"Queue": [Event...], "L": n} (a bare array is the Queue); L defaults to -1. */
int exprenv_queue_from_json(const json_t *obj, struct queue *ret, char *err, size_t errlen);
/* {"Total_count": 3, "First_ts": "RFC3339", "Mapkey": "..", "Factory": {"Spec": {"Name": ..}}} */
int exprenv_leaky_from_json(const json_t *obj, struct leaky *ret, struct bucket_factory *factory,
                            char *err, size_t errlen);
/* {"stage": {"node": [{"Idx": 0, "Evt": Event, "Success": true}]}} */
int exprenv_parser_results_from_json(const json_t *obj, struct parser_results *ret, char *err,
                                     size_t errlen);

/*
 * The variables of a context filled from one JSON object keyed by variable
 * name ({"evt": {...}, "queue": {...}}); a missing variable gets an empty
 * object of its type (an empty event, an empty queue...). Owns everything it
 * built. For EXPRENV_PLAIN use expr_value_from_json per key instead.
 */
struct exprenv_vars;
int exprenv_vars_from_json(enum exprenv_context ctx, const json_t *env, struct exprenv_vars **ret,
                           char *err, size_t errlen);
const struct expr_value *exprenv_vars_values(const struct exprenv_vars *v);
void exprenv_vars_free(struct exprenv_vars *v);

#endif
