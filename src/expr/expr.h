/*
 * expr.h - CrowdSec's expression language (expr-lang 1.17), compiled to
 * bytecode once and evaluated many times.
 *
 * Three objects:
 *   struct expr_env      what names exist: variables (with static types) and
 *                        functions. Built at load time, then read-only.
 *   struct expr_program  one compiled expression; immutable, shareable between
 *                        threads.
 *   struct expr_vm       an evaluation context (value stack + scratch arena);
 *                        one per thread. Every value an evaluation creates
 *                        (strings, arrays, maps) lives in the vm's arena and is
 *                        valid until the next expr_eval() on the same vm.
 *
 * Values follow Go's semantics: int is int64, float is float64, "/" always
 * gives a float, a missing map key gives the map's zero value. Host data
 * (events, alerts, queues) is exposed without copying through classes: a
 * class lists fields and methods; the compiler resolves `evt.Meta.source_ip`
 * to field slots when the static type is known and rejects unknown members.
 */
#ifndef PHALANX_EXPR_H
#define PHALANX_EXPR_H

#include "common/common.h"
#include "common/gotime.h"

struct expr_env;
struct expr_program;
struct expr_vm;
struct expr_class;
struct expr_array;
struct expr_map;

enum expr_kind {
    EXPR_NIL = 0,
    EXPR_BOOL,
    EXPR_INT,
    EXPR_FLOAT,
    EXPR_STRING,
    EXPR_ARRAY,
    EXPR_MAP,
    EXPR_OBJECT,   /* host object: class + pointer */
    EXPR_TIME,     /* Go time.Time */
    EXPR_DURATION, /* Go time.Duration (ns) */
    EXPR_FUNC,     /* a closure value; only inside predicates, never returned */
    EXPR_ANY,      /* static typing only: unknown until run time */
};

struct expr_value {
    uint8_t kind; /* enum expr_kind */
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            const char *ptr; /* borrowed: arena, program constants or host memory */
            size_t len;
        } s;
        struct expr_array *a;
        struct expr_map *m;
        struct {
            const struct expr_class *cls;
            const void *ptr; /* borrowed host object */
        } o;
        struct gotime t;
        int64_t d;
    } u;
};

struct expr_array {
    size_t len;
    size_t cap;
    struct expr_value *items;
};

struct expr_map_entry {
    const char *key; /* map keys are strings, as in every map CrowdSec exposes */
    size_t keylen;
    struct expr_value value;
};

/* An insertion-ordered map; lookups are linear below 16 entries, hashed above. */
struct expr_map {
    size_t len;
    size_t cap;
    struct expr_map_entry *entries;
    uint32_t *index; /* optional hash index (arena), NULL while small */
    /*
     * Set by groupBy when a key was not a string (Go's map[any][]any): such keys are stored as
     * %v prints them, and indexing the map with an int, float or bool looks that text up.
     */
    bool go_keys;
};

/* A static type: a kind, plus the class when kind == EXPR_OBJECT. */
struct expr_type {
    uint8_t kind; /* enum expr_kind; EXPR_ANY = dynamic */
    const struct expr_class *cls;
    const struct expr_type *elem; /* element type of arrays/maps when known, else NULL */
};

#define EXPR_T_ANY    ((struct expr_type){ .kind = EXPR_ANY })
#define EXPR_T(k)     ((struct expr_type){ .kind = (k) })
#define EXPR_T_OBJ(c) ((struct expr_type){ .kind = EXPR_OBJECT, .cls = (c) })

/* Value constructors (no allocation). */
static inline struct expr_value
expr_nil(void)
{
    return (struct expr_value){ .kind = EXPR_NIL };
}
static inline struct expr_value
expr_bool(bool b)
{
    return (struct expr_value){ .kind = EXPR_BOOL, .u.b = b };
}
static inline struct expr_value
expr_int(int64_t i)
{
    return (struct expr_value){ .kind = EXPR_INT, .u.i = i };
}
static inline struct expr_value
expr_float(double f)
{
    return (struct expr_value){ .kind = EXPR_FLOAT, .u.f = f };
}
/* Borrows p: it must outlive the evaluation (host memory, constants). */
static inline struct expr_value
expr_strv(const char *p, size_t n)
{
    return (struct expr_value){ .kind = EXPR_STRING, .u.s = { p, n } };
}
static inline struct expr_value
expr_object(const struct expr_class *cls, const void *ptr)
{
    if (ptr == NULL)
        return expr_nil();
    return (struct expr_value){ .kind = EXPR_OBJECT, .u.o = { cls, ptr } };
}
static inline struct expr_value
expr_time(struct gotime t)
{
    return (struct expr_value){ .kind = EXPR_TIME, .u.t = t };
}
static inline struct expr_value
expr_duration(int64_t ns)
{
    return (struct expr_value){ .kind = EXPR_DURATION, .u.d = ns };
}

/*
 * Host classes. Every callback returns 0, or -1 after expr_vm_error() for a
 * run-time error. ret is written only on success.
 */
struct expr_field {
    const char *name;
    struct expr_type type;
    int (*get)(const void *obj, struct expr_vm *vm, struct expr_value *ret);
};

struct expr_method {
    const char *name;
    int min_args, max_args; /* max_args -1 = variadic */
    struct expr_type ret_type;
    int (*call)(const void *obj, struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                struct expr_value *ret);
};

struct expr_class {
    const char *name; /* shown in errors, e.g. "Event" */
    const struct expr_field *fields;
    size_t nfields;
    const struct expr_method *methods;
    size_t nmethods;
    /*
     * Optional container behaviour, for host maps and slices (evt.Meta,
     * queue.Queue). A class with index() accepts obj[key] and obj.key (maps)
     * when the member is not a field.
     */
    bool is_map;                /* obj.key means obj["key"]; `in` tests keys */
    struct expr_type elem_type; /* static type of obj[x] */
    int (*index)(const void *obj, struct expr_vm *vm, const struct expr_value *key,
                 struct expr_value *ret); /* missing map key => zero value, not an error */
    size_t (*len)(const void *obj);
    /* i-th element (slices) or i-th key (maps), for iteration, slicing and len. */
    int (*at)(const void *obj, struct expr_vm *vm, size_t i, struct expr_value *ret);
    bool (*has)(const void *obj, const struct expr_value *key); /* `key in obj` */
    /* Optional in-place update for helpers such as UnmarshalJSON/ParseKV/SetMeta. */
    int (*set)(const void *obj, struct expr_vm *vm, const struct expr_value *key,
               const struct expr_value *val);
};

/* Functions: builtins, CrowdSec helpers and context extras (hubtest's basename). */
struct expr_func {
    const char *name;
    int min_args, max_args; /* max_args -1 = variadic */
    struct expr_type ret_type;
    int (*call)(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                struct expr_value *ret);
};

/* A compile or run-time error, with the place it happened. */
struct expr_error {
    int line;   /* 1-based; 0 = unknown (run-time errors) */
    int column; /* 1-based */
    char message[256];
    char excerpt[512]; /* the source line and a caret under the column, "" if none */
};

/* Environment. expr_env_new() already holds the expr-lang builtins. */
struct expr_env *expr_env_new(void);
void expr_env_free(struct expr_env *env);
/* Declares a variable; returns its slot (>= 0), or -EEXIST / -ENOMEM. */
int expr_env_add_var(struct expr_env *env, const char *name, struct expr_type type);
/* Adds functions (borrowed table, must outlive env); a later name shadows an earlier one. */
int expr_env_add_funcs(struct expr_env *env, const struct expr_func *funcs, size_t n);
/* Adds the 83 CrowdSec helpers (exprhelpers); see helpers.h for their outside state. */
int expr_env_add_crowdsec_helpers(struct expr_env *env);
size_t expr_env_nvars(const struct expr_env *env);

/*
 * Compiles src against env (borrowed; must outlive the program). Returns NULL
 * and fills err on a syntax error, unknown name, wrong arity or unknown member
 * of a typed object. expect is the static type the caller needs (EXPR_T_ANY,
 * or EXPR_T(EXPR_BOOL) for filters: a non-bool static type is then an error).
 */
struct expr_program *expr_compile(const struct expr_env *env, const char *src, size_t len,
                                  struct expr_type expect, struct expr_error *err);
void expr_program_free(struct expr_program *p);
const char *expr_program_source(const struct expr_program *p);
/* The static type the compiler inferred for the result. */
struct expr_type expr_program_type(const struct expr_program *p);
/* Whether p calls a method of a host object (evt.SetMeta(...) may write the event). */
bool expr_program_calls_methods(const struct expr_program *p);
/* Writes a disassembly, for `phalanx expr --disasm` and debugging. */
void expr_program_dump(const struct expr_program *p, FILE *out);

/*
 * The shape of a program, read from its syntax (shape.c): what a caller that
 * runs it on every event can compute from its own data instead. A member is
 * var.field.key (or var.field["key"]) where var is a variable of a host class
 * and field one of its fields whose class is a map of strings (evt.Meta.x):
 * reading it cannot fail and gives "" for a missing key. Kinds:
 *   EXPR_SHAPE_MEMBER  the program is that one member (its value is the member's value);
 *   EXPR_SHAPE_IN      its first conjunct (the leftmost operand of its top-level && / and
 *                      chain, or the whole program) is M == "c", "c" == M or
 *                      M in ["c1", ...] with string constants: when M's value is none of
 *                      values the program is false, with no error and nothing else run;
 *                      exact: the program is that conjunct alone, so it is true otherwise;
 *   EXPR_SHAPE_EMPTY   its first conjunct is false, with no error, when every member of
 *                      members is "" (Upper(evt.Meta.http_path) contains '/x' || ...).
 * Shapes are only reported where the equivalence is exact; EXPR_SHAPE_NONE otherwise.
 */
enum expr_shape_kind { EXPR_SHAPE_NONE, EXPR_SHAPE_MEMBER, EXPR_SHAPE_IN, EXPR_SHAPE_EMPTY };
#define EXPR_SHAPE_MAX_MEMBERS 8

struct expr_shape_member {
    int var;     /* variable slot */
    char *field; /* field of the variable's class, e.g. "Meta" */
    char *key;   /* the map key (no NUL inside) */
    size_t keylen;
};

struct expr_shape_value {
    char *ptr; /* NUL-terminated copy */
    size_t len;
};

struct expr_shape {
    int kind; /* enum expr_shape_kind */
    bool exact;
    struct expr_shape_member members[EXPR_SHAPE_MAX_MEMBERS];
    size_t nmembers;
    struct expr_shape_value *values; /* EXPR_SHAPE_IN */
    size_t nvalues;
};

/* Fills *ret (kind NONE when nothing fits); expr_shape_clear() it. 0 or -ENOMEM. */
int expr_program_shape(const struct expr_program *p, struct expr_shape *ret);
void expr_shape_clear(struct expr_shape *s);

struct expr_vm *expr_vm_new(void);
void expr_vm_free(struct expr_vm *vm);

/*
 * Evaluates p with vars[slot] for every variable of its env (borrowed).
 * Returns 0 with *ret set (valid until the next eval on vm), or -1 with err
 * filled (run-time error: the caller decides; filters treat it as false).
 */
int expr_eval(struct expr_vm *vm, const struct expr_program *p, const struct expr_value *vars,
              struct expr_value *ret, struct expr_error *err);
/* Convenience for filters: 1 = true, 0 = false or not a bool, -1 = run-time error. */
int expr_eval_bool(struct expr_vm *vm, const struct expr_program *p, const struct expr_value *vars,
                   struct expr_error *err);

/* --- for helpers and host classes, during an evaluation --- */

/* Records a run-time error message; returns -1 so callers can `return expr_vm_error(...)`. */
int expr_vm_error(struct expr_vm *vm, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Scratch memory that lives until the next eval on vm; NULL on OOM or over the vm's limit. */
void *expr_vm_alloc(struct expr_vm *vm, size_t size);
/* A string copied into the vm's arena (kind STRING), or NIL on OOM. */
struct expr_value expr_vm_str(struct expr_vm *vm, const char *p, size_t n);
struct expr_value expr_vm_strf(struct expr_vm *vm, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* New empty array/map in the vm's arena; NULL on OOM. */
struct expr_array *expr_vm_array(struct expr_vm *vm, size_t cap);
struct expr_map *expr_vm_map(struct expr_vm *vm, size_t cap);
int expr_array_push(struct expr_vm *vm, struct expr_array *a, struct expr_value v);
/* Inserts or replaces; the key is borrowed (copy it with expr_vm_str first if needed). */
int expr_map_set(struct expr_vm *vm, struct expr_map *m, const char *key, size_t keylen,
                 struct expr_value v);
/* Returns a pointer to the value or NULL. */
const struct expr_value *expr_map_get(const struct expr_map *m, const char *key, size_t keylen);
/* Calls a closure value (EXPR_FUNC) with one argument, for helpers that take predicates. */
int expr_vm_call_closure(struct expr_vm *vm, const struct expr_value *fn,
                         const struct expr_value *arg, struct expr_value *ret);

/* --- value utilities (value.c) --- */

/* Go-ish type names: "string", "int", "map[string]interface {}"... */
const char *expr_kind_name(enum expr_kind k);
bool expr_value_truthy(const struct expr_value *v); /* only true for bool true */
/* Go == semantics (int and float compare numerically; deep for arrays/maps). */
bool expr_value_equal(const struct expr_value *a, const struct expr_value *b);
/* Length of string (bytes), array, map, or host container; -1 if no length. */
int64_t expr_value_len(const struct expr_value *v);
/* Element i of an array or host slice (0 <= i < len). */
int expr_value_at(struct expr_vm *vm, const struct expr_value *v, size_t i, struct expr_value *ret);
/* Converts a host object/map tree to plain values (arrays, maps) in the vm's arena. */
int expr_value_materialize(struct expr_vm *vm, const struct expr_value *v, struct expr_value *ret);

/*
 * Formatting like Go: fmt's %v (expr_value_format_go: used by string(),
 * Sprintf("%v"), statics), and encoding/json (expr_value_to_json: toJSON with
 * indent as expr-lang does, and `phalanx expr` output). Both append to out and
 * return 0 or -ENOMEM; to_json also fails with -EINVAL (NaN/Inf, a func) or
 * -ELOOP (nesting), with Go's message on vm when vm is not NULL.
 */
struct str;
int expr_value_format_go(struct expr_vm *vm, const struct expr_value *v, struct str *out);
int expr_value_to_json(struct expr_vm *vm, const struct expr_value *v, bool indent,
                       struct str *out);
/* Parses JSON text into values in the vm's arena (fromJSON, JSON env files); 0 or -1 with vm
 * error. */
int expr_value_from_json(struct expr_vm *vm, const char *text, size_t len, struct expr_value *ret);
/* Go's strconv.FormatFloat(f, 'g', -1, 64) as fmt %v prints it (1e+06, 1e-05, 123456, 0.0001). */
size_t expr_format_float(double f, char *buf, size_t size);

/*
 * --- outside state of the CrowdSec helpers (helpers_*.c) ---
 *
 * Process-wide and set up at load time (single-threaded), then read by any
 * number of evaluating threads. The stash is the exception: it is written at
 * run time and locks internally.
 */
enum expr_data_type { EXPR_DATA_STRING, EXPR_DATA_REGEXP, EXPR_DATA_MAP, EXPR_DATA_BOTS };
/* A data entry's type: as the loaders spell it ("string", "regexp" or "regex", "map", "bots"); 0 or
 * -1. */
int expr_data_type_parse(const char *s, enum expr_data_type *ret);
/*
 * Loads data_dir/dest_file for File()/RegexpInFile()/FileMap()/LookupFile(),
 * keyed by dest_file. Loading the same file twice is a no-op. A bad regexp
 * line is an error naming the file and line. 0 or -1 with err filled.
 */
int expr_data_load(const char *data_dir, const char *dest_file, enum expr_data_type type,
                   struct expr_error *err);
void expr_data_reset(void); /* forgets every loaded file (tests, reload) */

/* Declares a stash cache for GetFromStash/SetInStash: at most size keys, each kept ttl_ns. */
int expr_stash_declare(const char *name, size_t size, int64_t ttl_ns);
void expr_stash_reset(void);
/* Stores key=val in a declared stash (parsers' stash: directive); ttl_ns < 0 = the stash's ttl. */
int expr_stash_set(const char *name, const char *key, size_t keylen, const char *val, size_t vallen,
                   int64_t ttl_ns);

/* GetDecisionsCount & co; without a provider they return 0 (and TimeLeft 0s). */
struct expr_decisions_provider {
    void *ctx;
    /* since_ns: Unix ns cut-off (created at or after), 0 = no bound */
    int64_t (*count)(void *ctx, const char *value, bool active_only, int64_t since_ns);
    int64_t (*time_left_ns)(void *ctx, const char *value);
};
/* The provider is borrowed; NULL clears it. */
void expr_set_decisions_provider(const struct expr_decisions_provider *p);

/* GeoIP databases for GeoIPEnrich/GeoIPASNEnrich/GeoIPRangeEnrich/IPToCountry; NULL path = none. */
int expr_geoip_open(const char *city_mmdb, const char *asn_mmdb, struct expr_error *err);
void expr_geoip_close(void);

/* CrowdsecCTI: without a key it fails with "cti is disabled", as CrowdSec (ErrDisabled) does. */
void expr_set_cti_key(const char *key);

/*
 * The clock behind now(), TimeNow() and "year 0" fills. NULL restores the wall
 * clock; hubtest pins it so yearless logs always parse to the same year.
 */
void expr_set_clock(struct gotime (*now)(void));
struct gotime expr_clock_now(void);

#endif
