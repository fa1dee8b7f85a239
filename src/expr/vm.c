/*
 * vm.c - the stack machine that runs compiled expressions, and the arena
 * helpers every part of the engine uses to build values during an eval.
 *
 * One vm per thread. Its value stack is reserved once at its maximum size
 * (malloc'ed, so pages are only touched as the stack really grows): argument
 * arrays handed to helpers point into it and must stay valid while a helper
 * calls a closure back. Everything an evaluation creates lives in the vm's
 * arena, reset at the start of the next evaluation; the common filter shapes
 * (field access, ==, in, contains, &&) allocate nothing. Loops are bounded by
 * a step budget so that `1..1e9`-style input cannot stall a worker.
 *
 * Operator semantics follow expr-lang's vm/runtime: int op int wraps like
 * Go's int64, mixed numbers go to float64, `/` and `**` are always float,
 * `%` is for ints only, and type errors use Go's wording ("invalid
 * operation: int + string").
 */
#include <math.h>

#include "common/common.h"

#include "common/hashmap.h"
#include "common/str.h"
#include "expr/bytecode.h"

#define VM_STACK_MAX      65536
#define VM_STEP_MAX       10000000ULL
#define VM_ARENA_LIMIT    ((size_t)64 << 20)
#define VM_ARENA_CHUNK    16384
#define VM_RANGE_MAX      1000000 /* expr-lang's default memory budget */
#define VM_CALL_DEPTH_MAX 64
#define MAP_LINEAR_MAX    16
/* Dynamic `matches` patterns remembered per vm (hub filters use a few dozen at most). */
#define VM_REGEX_CACHE     64
#define VM_REGEX_KEY_MAX   4096 /* longer patterns are compiled for each match */
#define VM_REGEX_ERROR_MAX 256

/*
 * One compiled run-time pattern (or its compile error: a pattern that does
 * not compile fails the same way every time). key is a malloc'ed copy of the
 * pattern bytes; used is the clock bit.
 */
struct vm_regex_entry {
    char *key;
    size_t keylen;
    uint64_t hash;
    struct expr_regex *re;
    char *error; /* malloc'ed compile error when re is NULL */
    bool used;
};

struct vm_state {
    struct expr_value *stack;
    struct expr_value *sp; /* next free slot */
    struct expr_value *locals;
    size_t nlocals;
    const struct expr_value *vars;
    const struct expr_program *prog;
    uint64_t steps;
    int depth;
    int32_t err_ip;
    struct vm_regex_entry regex_cache[VM_REGEX_CACHE];
    size_t regex_hand; /* clock hand for replacement */
};

/* --- arena helpers ------------------------------------------------------ */

struct expr_vm *
expr_vm_new(void)
{
    struct expr_vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return NULL;
    arena_init(&vm->arena, VM_ARENA_CHUNK);
    vm->arena.limit = VM_ARENA_LIMIT;
    vm->state = calloc(1, sizeof(*vm->state));
    if (!vm->state)
        goto fail;
    vm->state->stack = malloc(VM_STACK_MAX * sizeof(struct expr_value));
    if (!vm->state->stack)
        goto fail;
    return vm;
fail:
    expr_vm_free(vm);
    return NULL;
}

void
expr_vm_free(struct expr_vm *vm)
{
    if (!vm)
        return;
    if (vm->state) {
        for (size_t i = 0; i < VM_REGEX_CACHE; i++) {
            struct vm_regex_entry *e = &vm->state->regex_cache[i];
            free(e->key);
            expr_regex_free(e->re);
            free(e->error);
        }
        free(vm->state->stack);
        free(vm->state->locals);
        free(vm->state);
    }
    arena_free(&vm->arena);
    free(vm);
}

int
expr_vm_error(struct expr_vm *vm, const char *fmt, ...)
{
    /* The first error wins: it is the cause, later ones are consequences. */
    if (vm->has_error)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vm->error, sizeof(vm->error), fmt, ap);
    va_end(ap);
    vm->has_error = true;
    return -1;
}

void *
expr_vm_alloc(struct expr_vm *vm, size_t size)
{
    return arena_alloc(&vm->arena, size);
}

struct expr_value
expr_vm_str(struct expr_vm *vm, const char *p, size_t n)
{
    char *s = arena_strndup(&vm->arena, p ? p : "", p ? n : 0);
    if (!s)
        return expr_nil();
    return expr_strv(s, p ? n : 0);
}

struct expr_value
expr_vm_strf(struct expr_vm *vm, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return expr_nil();
    if ((size_t)n < sizeof(small))
        return expr_vm_str(vm, small, (size_t)n);
    char *buf = arena_alloc(&vm->arena, (size_t)n + 1);
    if (!buf)
        return expr_nil();
    va_start(ap, fmt);
    vsnprintf(buf, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return expr_strv(buf, (size_t)n);
}

struct expr_array *
expr_vm_array(struct expr_vm *vm, size_t cap)
{
    struct expr_array *a = arena_alloc(&vm->arena, sizeof(*a));
    if (!a)
        return NULL;
    a->len = 0;
    a->cap = cap;
    a->items = NULL;
    if (cap) {
        if (cap > SIZE_MAX / sizeof(struct expr_value))
            return NULL;
        a->items = arena_alloc(&vm->arena, cap * sizeof(struct expr_value));
        if (!a->items)
            return NULL;
    }
    return a;
}

int
expr_array_push(struct expr_vm *vm, struct expr_array *a, struct expr_value v)
{
    if (a->len == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 4;
        if (ncap > SIZE_MAX / sizeof(struct expr_value))
            return -ENOMEM;
        struct expr_value *n =
            arena_realloc(&vm->arena, a->items, a->cap * sizeof(struct expr_value),
                          ncap * sizeof(struct expr_value));
        if (!n)
            return -ENOMEM;
        a->items = n;
        a->cap = ncap;
    }
    a->items[a->len++] = v;
    return 0;
}

struct expr_map *
expr_vm_map(struct expr_vm *vm, size_t cap)
{
    struct expr_map *m = arena_alloc(&vm->arena, sizeof(*m));
    if (!m)
        return NULL;
    m->len = 0;
    m->cap = cap;
    m->entries = NULL;
    m->index = NULL;
    m->go_keys = false;
    if (cap) {
        if (cap > SIZE_MAX / sizeof(struct expr_map_entry))
            return NULL;
        m->entries = arena_alloc(&vm->arena, cap * sizeof(struct expr_map_entry));
        if (!m->entries)
            return NULL;
    }
    return m;
}

/*
 * The hash index of a map holds entry positions + 1 (0 = empty slot) in an
 * open-addressing table twice the entries' capacity, rounded to a power of
 * two; it exists only once the map outgrows linear search.
 */
static size_t
map_index_size(size_t cap)
{
    size_t n = 32;
    while (n < cap * 2)
        n *= 2;
    return n;
}

static void
map_index_insert(uint32_t *index, size_t isize, const struct expr_map_entry *e, uint32_t pos)
{
    size_t mask = isize - 1;
    size_t h = (size_t)hash_bytes(e->key, e->keylen) & mask;
    while (index[h])
        h = (h + 1) & mask;
    index[h] = pos + 1;
}

static int
map_reindex(struct expr_vm *vm, struct expr_map *m)
{
    size_t isize = map_index_size(m->cap);
    uint32_t *index = arena_zalloc(&vm->arena, isize * sizeof(uint32_t));
    if (!index)
        return -ENOMEM;
    for (size_t i = 0; i < m->len; i++)
        map_index_insert(index, isize, &m->entries[i], (uint32_t)i);
    m->index = index;
    return 0;
}

static ptrdiff_t
map_find(const struct expr_map *m, const char *key, size_t keylen)
{
    if (!m->entries)
        return -1;
    if (m->index && m->cap > 0) {
        size_t mask = map_index_size(m->cap) - 1;
        size_t h = (size_t)hash_bytes(key, keylen) & mask;
        while (m->index[h]) {
            const struct expr_map_entry *e = &m->entries[m->index[h] - 1];
            if (e->keylen == keylen && (keylen == 0 || memcmp(e->key, key, keylen) == 0))
                return (ptrdiff_t)(m->index[h] - 1);
            h = (h + 1) & mask;
        }
        return -1;
    }
    for (size_t i = 0; i < m->len; i++) {
        const struct expr_map_entry *e = &m->entries[i];
        if (e->keylen == keylen && (keylen == 0 || memcmp(e->key, key, keylen) == 0))
            return (ptrdiff_t)i;
    }
    return -1;
}

int
expr_map_set(struct expr_vm *vm, struct expr_map *m, const char *key, size_t keylen,
             struct expr_value v)
{
    if (!key)
        key = "";
    ptrdiff_t i = map_find(m, key, keylen);
    if (i >= 0) {
        m->entries[i].value = v;
        return 0;
    }
    if (m->len >= UINT32_MAX - 1)
        return -ENOMEM;
    bool grew = false;
    /* entries is NULL exactly when cap is 0; testing both keeps the analyzer from guessing. */
    if (m->len == m->cap || !m->entries) {
        size_t ncap = m->cap ? m->cap * 2 : 4;
        if (ncap > SIZE_MAX / sizeof(struct expr_map_entry) / 2)
            return -ENOMEM;
        struct expr_map_entry *n =
            arena_realloc(&vm->arena, m->entries, m->cap * sizeof(struct expr_map_entry),
                          ncap * sizeof(struct expr_map_entry));
        if (!n)
            return -ENOMEM;
        m->entries = n;
        m->cap = ncap;
        grew = true;
    }
    struct expr_map_entry *e = &m->entries[m->len];
    e->key = key;
    e->keylen = keylen;
    e->value = v;
    m->len++;
    if (m->len > MAP_LINEAR_MAX && (grew || !m->index)) {
        if (map_reindex(vm, m) < 0) {
            m->len--;
            return -ENOMEM;
        }
    } else if (m->index) {
        map_index_insert(m->index, map_index_size(m->cap), e, (uint32_t)(m->len - 1));
    }
    return 0;
}

const struct expr_value *
expr_map_get(const struct expr_map *m, const char *key, size_t keylen)
{
    if (!m)
        return NULL;
    ptrdiff_t i = map_find(m, key ? key : "", key ? keylen : 0);
    return i >= 0 ? &m->entries[i].value : NULL;
}

/* --- operators ---------------------------------------------------------- */

/* Go's %T of a value, for error messages. */
static const char *
vm_type_name(const struct expr_value *v)
{
    if (v->kind == EXPR_NIL)
        return "<nil>";
    if (v->kind == EXPR_OBJECT && v->u.o.cls && v->u.o.cls->name)
        return v->u.o.cls->name;
    return expr_kind_name((enum expr_kind)v->kind);
}

static bool
is_num(const struct expr_value *v)
{
    return v->kind == EXPR_INT || v->kind == EXPR_FLOAT;
}

static double
num_f(const struct expr_value *v)
{
    return v->kind == EXPR_INT ? (double)v->u.i : v->u.f;
}

/* Go's int(float64) is implementation-defined out of range; we saturate to stay clear of UB. */
static int64_t
float_to_int(double f)
{
    if (isnan(f))
        return INT64_MIN;
    if (f >= 9223372036854775807.0)
        return INT64_MAX;
    if (f <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)f;
}

static int64_t
wrap_add(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static int64_t
wrap_sub(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

static int64_t
wrap_mul(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a * (uint64_t)b);
}

static const char *
binop_symbol(int op)
{
    switch (op) {
    case BC_ADD: return "+";
    case BC_SUB: return "-";
    case BC_MUL: return "*";
    case BC_DIV: return "/";
    case BC_MOD: return "%";
    case BC_POW: return "**";
    case BC_LT: return "<";
    case BC_GT: return ">";
    case BC_LE: return "<=";
    case BC_GE: return ">=";
    default: return "?";
    }
}

/* Three-way compare for < > <= >=; returns 0 with *ret_cmp, or -1 when the types do not order. */
static int
vm_compare(const struct expr_value *a, const struct expr_value *b, int *ret_cmp)
{
    if (a->kind == EXPR_INT && b->kind == EXPR_INT) {
        *ret_cmp = (a->u.i > b->u.i) - (a->u.i < b->u.i);
        return 0;
    }
    if (is_num(a) && is_num(b)) {
        double x = num_f(a), y = num_f(b);
        /* NaN orders with nothing: every comparison is false, as in Go. */
        if (isnan(x) || isnan(y)) {
            *ret_cmp = 2;
            return 0;
        }
        *ret_cmp = (x > y) - (x < y);
        return 0;
    }
    if (a->kind == EXPR_STRING && b->kind == EXPR_STRING) {
        *ret_cmp = strv_cmp((struct strv){ a->u.s.ptr, a->u.s.len },
                            (struct strv){ b->u.s.ptr, b->u.s.len });
        *ret_cmp = (*ret_cmp > 0) - (*ret_cmp < 0);
        return 0;
    }
    if (a->kind == EXPR_TIME && b->kind == EXPR_TIME) {
        *ret_cmp = (a->u.t.unix_ns > b->u.t.unix_ns) - (a->u.t.unix_ns < b->u.t.unix_ns);
        return 0;
    }
    if (a->kind == EXPR_DURATION && b->kind == EXPR_DURATION) {
        *ret_cmp = (a->u.d > b->u.d) - (a->u.d < b->u.d);
        return 0;
    }
    return -1;
}

static int
vm_concat(struct expr_vm *vm, const struct expr_value *a, const struct expr_value *b,
          struct expr_value *ret)
{
    size_t n = a->u.s.len + b->u.s.len;
    if (n < a->u.s.len)
        return expr_vm_error(vm, "memory budget exceeded");
    char *p = expr_vm_alloc(vm, n + 1);
    if (!p)
        return expr_vm_error(vm, "memory budget exceeded");
    if (a->u.s.len)
        memcpy(p, a->u.s.ptr, a->u.s.len);
    if (b->u.s.len)
        memcpy(p + a->u.s.len, b->u.s.ptr, b->u.s.len);
    p[n] = '\0';
    *ret = expr_strv(p, n);
    return 0;
}

/*
 * Arithmetic and ordering operators (op is a BC_* opcode). Used by the vm and
 * by the compiler to fold literal subtrees. 0 with *ret, or -1 after
 * expr_vm_error().
 */
int
expr_vm_binop(struct expr_vm *vm, int op, const struct expr_value *a, const struct expr_value *b,
              struct expr_value *ret)
{
    bool ints = a->kind == EXPR_INT && b->kind == EXPR_INT;
    bool nums = is_num(a) && is_num(b);
    int cmp;

    switch (op) {
    case BC_EQ: *ret = expr_bool(expr_value_equal(a, b)); return 0;
    case BC_NE: *ret = expr_bool(!expr_value_equal(a, b)); return 0;
    case BC_LT:
    case BC_GT:
    case BC_LE:
    case BC_GE:
        if (vm_compare(a, b, &cmp) < 0)
            break;
        if (cmp == 2)
            *ret = expr_bool(false);
        else if (op == BC_LT)
            *ret = expr_bool(cmp < 0);
        else if (op == BC_GT)
            *ret = expr_bool(cmp > 0);
        else if (op == BC_LE)
            *ret = expr_bool(cmp <= 0);
        else
            *ret = expr_bool(cmp >= 0);
        return 0;
    case BC_ADD:
        if (ints) {
            *ret = expr_int(wrap_add(a->u.i, b->u.i));
            return 0;
        }
        if (nums) {
            *ret = expr_float(num_f(a) + num_f(b));
            return 0;
        }
        if (a->kind == EXPR_STRING && b->kind == EXPR_STRING)
            return vm_concat(vm, a, b, ret);
        if (a->kind == EXPR_TIME && b->kind == EXPR_DURATION) {
            *ret = expr_time((struct gotime){ wrap_add(a->u.t.unix_ns, b->u.d), a->u.t.offset_s });
            return 0;
        }
        if (a->kind == EXPR_DURATION && b->kind == EXPR_TIME) {
            *ret = expr_time((struct gotime){ wrap_add(b->u.t.unix_ns, a->u.d), b->u.t.offset_s });
            return 0;
        }
        if (a->kind == EXPR_DURATION && b->kind == EXPR_DURATION) {
            *ret = expr_duration(wrap_add(a->u.d, b->u.d));
            return 0;
        }
        break;
    case BC_SUB:
        if (ints) {
            *ret = expr_int(wrap_sub(a->u.i, b->u.i));
            return 0;
        }
        if (nums) {
            *ret = expr_float(num_f(a) - num_f(b));
            return 0;
        }
        if (a->kind == EXPR_TIME && b->kind == EXPR_TIME) {
            *ret = expr_duration(wrap_sub(a->u.t.unix_ns, b->u.t.unix_ns));
            return 0;
        }
        if (a->kind == EXPR_TIME && b->kind == EXPR_DURATION) {
            *ret = expr_time((struct gotime){ wrap_sub(a->u.t.unix_ns, b->u.d), a->u.t.offset_s });
            return 0;
        }
        if (a->kind == EXPR_DURATION && b->kind == EXPR_DURATION) {
            *ret = expr_duration(wrap_sub(a->u.d, b->u.d));
            return 0;
        }
        break;
    case BC_MUL:
        if (ints) {
            *ret = expr_int(wrap_mul(a->u.i, b->u.i));
            return 0;
        }
        if (nums) {
            *ret = expr_float(num_f(a) * num_f(b));
            return 0;
        }
        /* Duration scaling: Go converts the other operand to Duration (truncating floats). */
        if ((a->kind == EXPR_DURATION && (is_num(b) || b->kind == EXPR_DURATION)) ||
            (b->kind == EXPR_DURATION && is_num(a))) {
            int64_t x = a->kind == EXPR_DURATION ? a->u.d
                        : a->kind == EXPR_INT    ? a->u.i
                                                 : float_to_int(a->u.f);
            int64_t y = b->kind == EXPR_DURATION ? b->u.d
                        : b->kind == EXPR_INT    ? b->u.i
                                                 : float_to_int(b->u.f);
            *ret = expr_duration(wrap_mul(x, y));
            return 0;
        }
        break;
    case BC_DIV:
        if (nums) {
            *ret = expr_float(num_f(a) / num_f(b));
            return 0;
        }
        break;
    case BC_MOD:
        if (ints) {
            if (b->u.i == 0)
                return expr_vm_error(vm, "runtime error: integer divide by zero");
            *ret = expr_int(b->u.i == -1 ? 0 : a->u.i % b->u.i);
            return 0;
        }
        break;
    case BC_POW:
        if (nums) {
            *ret = expr_float(pow(num_f(a), num_f(b)));
            return 0;
        }
        break;
    default: return expr_vm_error(vm, "unknown operator");
    }
    return expr_vm_error(vm, "invalid operation: %s %s %s", vm_type_name(a), binop_symbol(op),
                         vm_type_name(b));
}

static int
vm_not_bool(struct expr_vm *vm, const struct expr_value *v)
{
    return expr_vm_error(vm, "interface conversion: interface {} is %s, not bool", vm_type_name(v));
}

static int
vm_not_string(struct expr_vm *vm, const struct expr_value *v)
{
    return expr_vm_error(vm, "interface conversion: interface {} is %s, not string",
                         vm_type_name(v));
}

/* --- member access, indexing, slicing ---------------------------------- */

static const struct expr_field *
class_field(const struct expr_class *cls, const char *name, size_t len)
{
    for (size_t i = 0; cls && i < cls->nfields; i++)
        if (strlen(cls->fields[i].name) == len && memcmp(cls->fields[i].name, name, len) == 0)
            return &cls->fields[i];
    return NULL;
}

static const struct expr_method *
class_method(const struct expr_class *cls, const char *name, size_t len)
{
    for (size_t i = 0; cls && i < cls->nmethods; i++)
        if (strlen(cls->methods[i].name) == len && memcmp(cls->methods[i].name, name, len) == 0)
            return &cls->methods[i];
    return NULL;
}

/*
 * obj.name / obj["name"] resolved at run time: map key, host field, then
 * host map key. A missing map key gives nil, as for map[string]interface{}.
 */
static int
vm_member(struct expr_vm *vm, const struct expr_value *obj, const struct expr_value *key,
          bool fields, struct expr_value *ret)
{
    const char *name = key->u.s.ptr;
    size_t len = key->u.s.len;
    int n = len > 200 ? 200 : (int)len;

    switch (obj->kind) {
    case EXPR_MAP: {
        const struct expr_value *v = expr_map_get(obj->u.m, name, len);
        *ret = v ? *v : expr_nil();
        return 0;
    }
    case EXPR_OBJECT: {
        const struct expr_class *cls = obj->u.o.cls;
        const struct expr_field *f = fields ? class_field(cls, name, len) : NULL;
        if (f)
            return f->get(obj->u.o.ptr, vm, ret);
        if (cls->is_map && cls->index)
            return cls->index(obj->u.o.ptr, vm, key, ret);
        return expr_vm_error(vm, "cannot fetch %.*s from %s", n, name, vm_type_name(obj));
    }
    default: return expr_vm_error(vm, "cannot fetch %.*s from %s", n, name, vm_type_name(obj));
    }
}

static int
vm_index_int(struct expr_vm *vm, const struct expr_value *idx, int64_t *ret)
{
    if (idx->kind == EXPR_INT) {
        *ret = idx->u.i;
        return 0;
    }
    if (idx->kind == EXPR_FLOAT) {
        *ret = float_to_int(idx->u.f);
        return 0;
    }
    expr_vm_error(vm, "invalid operation: int(%s)", vm_type_name(idx));
    return -1;
}

static bool
is_host_slice(const struct expr_value *v)
{
    return v->kind == EXPR_OBJECT && !v->u.o.cls->is_map && v->u.o.cls->at && v->u.o.cls->len;
}

/* runtime.Fetch's "cannot fetch %v from %T": the key as Go prints it, the container's type. */
static int
vm_fetch_error(struct expr_vm *vm, const struct expr_value *key, const struct expr_value *obj)
{
    struct str k = STR_INIT;
    int rc;
    if (expr_value_format_go(vm, key, &k) < 0)
        rc = expr_vm_error(vm, "cannot fetch %s from %s", vm_type_name(key), vm_type_name(obj));
    else
        rc = expr_vm_error(vm, "cannot fetch %.*s from %s", k.len > 200 ? 200 : (int)k.len,
                           k.buf ? k.buf : "", vm_type_name(obj));
    str_free(&k);
    return rc;
}

/* m[key] on a groupBy map whose keys are stored as %v text (see struct expr_map). */
static int
vm_index_go_key(struct expr_vm *vm, const struct expr_map *m, const struct expr_value *key,
                struct expr_value *ret)
{
    struct str k = STR_INIT;
    if (expr_value_format_go(vm, key, &k) < 0) {
        str_free(&k);
        return expr_vm_error(vm, "memory budget exceeded");
    }
    const struct expr_value *v = expr_map_get(m, k.buf ? k.buf : "", k.len);
    *ret = v ? *v : expr_nil();
    str_free(&k);
    return 0;
}

static int
vm_index(struct expr_vm *vm, const struct expr_value *obj, const struct expr_value *key,
         struct expr_value *ret)
{
    int64_t i, len;

    switch (obj->kind) {
    case EXPR_ARRAY:
    case EXPR_STRING:
        if (vm_index_int(vm, key, &i) < 0)
            return -1;
        len = obj->kind == EXPR_ARRAY ? (int64_t)obj->u.a->len : (int64_t)obj->u.s.len;
        if (i < 0)
            i += len;
        if (i < 0 || i >= len)
            return expr_vm_error(vm, "index out of range: %lld (array length is %lld)",
                                 (long long)i, (long long)len);
        if (obj->kind == EXPR_ARRAY)
            *ret = obj->u.a->items[i];
        else
            *ret = expr_int((unsigned char)obj->u.s.ptr[i]); /* Go indexes strings by byte */
        return 0;
    case EXPR_MAP:
        if (key->kind == EXPR_NIL) {
            *ret = expr_nil();
            return 0;
        }
        if (key->kind != EXPR_STRING && obj->u.m->go_keys &&
            (key->kind == EXPR_INT || key->kind == EXPR_FLOAT || key->kind == EXPR_BOOL))
            return vm_index_go_key(vm, obj->u.m, key, ret);
        if (key->kind != EXPR_STRING)
            return expr_vm_error(vm,
                                 "reflect.Value.MapIndex: value of type %s is not assignable to "
                                 "type string",
                                 vm_type_name(key));
        return vm_member(vm, obj, key, false, ret);
    case EXPR_OBJECT: {
        const struct expr_class *cls = obj->u.o.cls;
        if (is_host_slice(obj)) {
            if (vm_index_int(vm, key, &i) < 0)
                return -1;
            len = (int64_t)cls->len(obj->u.o.ptr);
            if (i < 0)
                i += len;
            if (i < 0 || i >= len)
                return expr_vm_error(vm, "index out of range: %lld (array length is %lld)",
                                     (long long)i, (long long)len);
            return cls->at(obj->u.o.ptr, vm, (size_t)i, ret);
        }
        if (cls->is_map && cls->index)
            return cls->index(obj->u.o.ptr, vm, key, ret);
        if (key->kind == EXPR_STRING)
            return vm_member(vm, obj, key, true, ret);
        return vm_fetch_error(vm, key, obj);
    }
    default: return vm_fetch_error(vm, key, obj);
    }
}

/* expr-lang's runtime.Slice: negative bounds count from the end, everything is clamped. */
static void
slice_bounds(int64_t len, int64_t *a, int64_t *b)
{
    if (*a < 0)
        *a += len;
    if (*a < 0)
        *a = 0;
    if (*b < 0)
        *b += len;
    if (*b < 0)
        *b = 0;
    if (*b > len)
        *b = len;
    if (*a > *b)
        *a = *b;
}

static int
vm_slice(struct expr_vm *vm, const struct expr_value *obj, const struct expr_value *from,
         const struct expr_value *to, struct expr_value *ret)
{
    int64_t len;
    if (obj->kind == EXPR_ARRAY)
        len = (int64_t)obj->u.a->len;
    else if (obj->kind == EXPR_STRING)
        len = (int64_t)obj->u.s.len;
    else if (is_host_slice(obj))
        len = (int64_t)obj->u.o.cls->len(obj->u.o.ptr);
    else
        return expr_vm_error(vm, "cannot slice %s", vm_type_name(obj));

    int64_t a = 0, b = len;
    if (from && vm_index_int(vm, from, &a) < 0)
        return -1;
    if (to && vm_index_int(vm, to, &b) < 0)
        return -1;
    slice_bounds(len, &a, &b);

    if (obj->kind == EXPR_STRING) {
        *ret = expr_strv(obj->u.s.ptr + a, (size_t)(b - a));
        return 0;
    }
    struct expr_array *arr = expr_vm_array(vm, 0);
    if (!arr)
        return expr_vm_error(vm, "memory budget exceeded");
    if (obj->kind == EXPR_ARRAY) {
        /* Shares the items; cap == len so a later push copies instead of overwriting. */
        arr->items = obj->u.a->items ? obj->u.a->items + a : NULL;
        arr->len = arr->cap = (size_t)(b - a);
    } else {
        for (int64_t i = a; i < b; i++) {
            struct expr_value v;
            if (obj->u.o.cls->at(obj->u.o.ptr, vm, (size_t)i, &v) < 0)
                return -1;
            if (expr_array_push(vm, arr, v) < 0)
                return expr_vm_error(vm, "memory budget exceeded");
        }
    }
    ret->kind = EXPR_ARRAY;
    ret->u.a = arr;
    return 0;
}

/* needle in container (runtime.In). */
static int
vm_in(struct expr_vm *vm, const struct expr_value *needle, const struct expr_value *c, bool *ret)
{
    *ret = false;
    switch (c->kind) {
    case EXPR_NIL: return 0;
    case EXPR_ARRAY:
        for (size_t i = 0; i < c->u.a->len; i++) {
            if (expr_value_equal(&c->u.a->items[i], needle)) {
                *ret = true;
                break;
            }
        }
        return 0;
    case EXPR_MAP:
        if (needle->kind == EXPR_NIL)
            return 0;
        if (needle->kind != EXPR_STRING)
            return expr_vm_error(vm,
                                 "reflect.Value.MapIndex: value of type %s is not assignable to "
                                 "type string",
                                 vm_type_name(needle));
        *ret = expr_map_get(c->u.m, needle->u.s.ptr, needle->u.s.len) != NULL;
        return 0;
    case EXPR_OBJECT: {
        const struct expr_class *cls = c->u.o.cls;
        if (cls->has) {
            *ret = cls->has(c->u.o.ptr, needle);
            return 0;
        }
        if (is_host_slice(c)) {
            size_t n = cls->len(c->u.o.ptr);
            for (size_t i = 0; i < n; i++) {
                struct expr_value v;
                if (cls->at(c->u.o.ptr, vm, i, &v) < 0)
                    return -1;
                if (expr_value_equal(&v, needle)) {
                    *ret = true;
                    break;
                }
            }
            return 0;
        }
        if (needle->kind != EXPR_STRING)
            return expr_vm_error(vm, "cannot use %s as field name of %s", vm_type_name(needle),
                                 vm_type_name(c));
        *ret = class_field(cls, needle->u.s.ptr, needle->u.s.len) != NULL;
        return 0;
    }
    default: return expr_vm_error(vm, "operator \"in\" not defined on %s", vm_type_name(c));
    }
}

static int
vm_range(struct expr_vm *vm, const struct expr_value *a, const struct expr_value *b,
         struct expr_value *ret)
{
    int64_t lo, hi;
    if (vm_index_int(vm, a, &lo) < 0 || vm_index_int(vm, b, &hi) < 0)
        return -1;
    int64_t size = 0;
    if (hi >= lo) {
        if ((uint64_t)hi - (uint64_t)lo >= VM_RANGE_MAX)
            return expr_vm_error(vm, "memory budget exceeded");
        size = hi - lo + 1;
    }
    struct expr_array *arr = expr_vm_array(vm, (size_t)size);
    if (!arr)
        return expr_vm_error(vm, "memory budget exceeded");
    for (int64_t i = 0; i < size; i++)
        arr->items[i] = expr_int(lo + i);
    arr->len = (size_t)size;
    ret->kind = EXPR_ARRAY;
    ret->u.a = arr;
    return 0;
}

static int
vm_matches(struct expr_vm *vm, const struct expr_regex *re, const struct expr_value *s, bool *ret)
{
    if (s->kind != EXPR_STRING)
        return vm_not_string(vm, s);
    int rc = expr_regex_match(re, s->u.s.ptr, s->u.s.len);
    if (rc < 0)
        return expr_vm_error(vm, "regexp match limit exceeded");
    *ret = rc == 1;
    return 0;
}

/* FNV-1a over the pattern bytes. */
static uint64_t
vm_regex_hash(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/*
 * The cached compilation of pat (a hit sets the clock bit), or a fresh one
 * stored in place of the first entry whose clock bit is clear. NULL when
 * nothing could be cached (out of memory): the caller compiles for itself.
 */
static const struct vm_regex_entry *
vm_regex_cached(struct vm_state *st, const char *pat, size_t len)
{
    uint64_t h = vm_regex_hash(pat, len);
    for (size_t i = 0; i < VM_REGEX_CACHE; i++) {
        struct vm_regex_entry *e = &st->regex_cache[i];
        if (e->key && e->hash == h && e->keylen == len && memcmp(e->key, pat, len) == 0) {
            e->used = true;
            return e;
        }
    }
    struct vm_regex_entry *victim = NULL;
    /* Two turns of the clock clear every bit, so a victim is always found. */
    for (size_t n = 0; n < (size_t)2 * VM_REGEX_CACHE && !victim; n++) {
        struct vm_regex_entry *e = &st->regex_cache[st->regex_hand];
        st->regex_hand = (st->regex_hand + 1) % VM_REGEX_CACHE;
        if (e->key && e->used)
            e->used = false;
        else
            victim = e;
    }
    char *key = malloc(len + 1);
    if (!key || !victim) {
        free(key);
        return NULL;
    }
    memcpy(key, pat, len);
    key[len] = '\0';
    char msg[VM_REGEX_ERROR_MAX];
    struct expr_regex *re = expr_regex_compile(pat, len, msg, sizeof(msg));
    char *error = NULL;
    if (!re) {
        error = strdup(msg);
        if (!error) {
            free(key);
            return NULL;
        }
    }
    free(victim->key);
    expr_regex_free(victim->re);
    free(victim->error);
    *victim = (struct vm_regex_entry){
        .key = key, .keylen = len, .hash = h, .re = re, .error = error, .used = true
    };
    return victim;
}

/*
 * `s matches pattern` with a pattern known only at run time (`x matches
 * Upper(#)` over a data file): compiled once per vm and pattern, then reused.
 */
static int
vm_matches_dyn(struct expr_vm *vm, const struct expr_value *s, const struct expr_value *pat,
               bool *ret)
{
    *ret = false;
    if (s->kind == EXPR_NIL || pat->kind == EXPR_NIL)
        return 0;
    if (pat->kind != EXPR_STRING)
        return vm_not_string(vm, pat);
    const struct vm_regex_entry *e = NULL;
    if (pat->u.s.len <= VM_REGEX_KEY_MAX)
        e = vm_regex_cached(vm->state, pat->u.s.ptr, pat->u.s.len);
    if (e) {
        if (!e->re)
            return expr_vm_error(vm, "%s", e->error);
        return vm_matches(vm, e->re, s, ret);
    }
    char msg[VM_REGEX_ERROR_MAX];
    struct expr_regex *re = expr_regex_compile(pat->u.s.ptr, pat->u.s.len, msg, sizeof(msg));
    if (!re)
        return expr_vm_error(vm, "%s", msg);
    int rc = vm_matches(vm, re, s, ret);
    expr_regex_free(re);
    return rc;
}

/* contains / startsWith / endsWith; nil on either side is false (expr-lang's IsNil check). */
static int
vm_strop(struct expr_vm *vm, int op, const struct expr_value *a, const struct expr_value *b,
         bool *ret)
{
    *ret = false;
    if (a->kind == EXPR_NIL || b->kind == EXPR_NIL)
        return 0;
    if (a->kind != EXPR_STRING)
        return vm_not_string(vm, a);
    if (b->kind != EXPR_STRING)
        return vm_not_string(vm, b);
    const char *x = a->u.s.ptr, *y = b->u.s.ptr;
    size_t xn = a->u.s.len, yn = b->u.s.len;
    if (op == BC_CONTAINS)
        *ret = strv_find((struct strv){ x, xn }, (struct strv){ y, yn }) >= 0;
    else if (op == BC_STARTSWITH)
        *ret = xn >= yn && bc_bytes_eq(x, y, yn);
    else
        *ret = xn >= yn && (yn == 0 || bc_bytes_eq(x + (xn - yn), y, yn));
    return 0;
}

/* $env: every variable of the env in a fresh map. */
static int
vm_env_map(struct expr_vm *vm, const struct expr_program *p, const struct expr_value *vars,
           struct expr_value *ret)
{
    size_t n = expr_env_nvars(p->env);
    struct expr_map *m = expr_vm_map(vm, n);
    if (!m)
        return expr_vm_error(vm, "memory budget exceeded");
    for (size_t i = 0; i < n; i++) {
        const char *name = expr_env_var_name(p->env, i);
        if (expr_map_set(vm, m, name, strlen(name), vars[i]) < 0)
            return expr_vm_error(vm, "memory budget exceeded");
    }
    ret->kind = EXPR_MAP;
    ret->u.m = m;
    return 0;
}

/* --- predicate loops ---------------------------------------------------- */

static int
vm_begin(struct expr_vm *vm, struct expr_value *scope, const struct expr_value *coll, bool rev)
{
    int64_t len;
    if (coll->kind == EXPR_ARRAY)
        len = (int64_t)coll->u.a->len;
    else if (is_host_slice(coll))
        len = (int64_t)coll->u.o.cls->len(coll->u.o.ptr);
    else if (coll->kind == EXPR_NIL)
        return expr_vm_error(vm, "reflect: call of reflect.Value.Len on zero Value");
    else
        return expr_vm_error(vm, "cannot iterate over %s", vm_type_name(coll));
    scope[SCOPE_COLL] = *coll;
    scope[SCOPE_INDEX] = expr_int(rev ? len - 1 : 0);
    scope[SCOPE_LEN] = expr_int(len);
    scope[SCOPE_COUNT] = expr_int(0);
    scope[SCOPE_ACC] = expr_nil();
    scope[SCOPE_ITEM] = expr_nil();
    return 0;
}

static int
vm_item(struct expr_vm *vm, struct expr_value *scope)
{
    const struct expr_value *c = &scope[SCOPE_COLL];
    int64_t i = scope[SCOPE_INDEX].u.i;
    if (c->kind == EXPR_ARRAY) {
        scope[SCOPE_ITEM] = c->u.a->items[i];
        return 0;
    }
    return c->u.o.cls->at(c->u.o.ptr, vm, (size_t)i, &scope[SCOPE_ITEM]);
}

/* groupBy: acc[key] gets the item appended; keys are shown as Go's %v would print them. */
static int
vm_group_add(struct expr_vm *vm, struct expr_value *scope, const struct expr_value *key)
{
    if (scope[SCOPE_ACC].kind != EXPR_MAP) {
        struct expr_map *m = expr_vm_map(vm, 4);
        if (!m)
            return expr_vm_error(vm, "memory budget exceeded");
        scope[SCOPE_ACC].kind = EXPR_MAP;
        scope[SCOPE_ACC].u.m = m;
    }
    const char *k;
    size_t klen;
    struct str buf = STR_INIT;
    if (key->kind == EXPR_STRING) {
        k = key->u.s.ptr;
        klen = key->u.s.len;
    } else {
        scope[SCOPE_ACC].u.m->go_keys = true;
        if (expr_value_format_go(vm, key, &buf) < 0) {
            str_free(&buf);
            return expr_vm_error(vm, "memory budget exceeded");
        }
        struct expr_value copy = expr_vm_str(vm, buf.buf ? buf.buf : "", buf.len);
        str_free(&buf);
        if (copy.kind != EXPR_STRING)
            return expr_vm_error(vm, "memory budget exceeded");
        k = copy.u.s.ptr;
        klen = copy.u.s.len;
    }
    struct expr_map *m = scope[SCOPE_ACC].u.m;
    const struct expr_value *cur = expr_map_get(m, k, klen);
    struct expr_array *arr;
    if (cur && cur->kind == EXPR_ARRAY) {
        arr = cur->u.a;
    } else {
        arr = expr_vm_array(vm, 2);
        if (!arr)
            return expr_vm_error(vm, "memory budget exceeded");
        struct expr_value av = { .kind = EXPR_ARRAY, .u.a = arr };
        if (expr_map_set(vm, m, k, klen, av) < 0)
            return expr_vm_error(vm, "memory budget exceeded");
    }
    if (expr_array_push(vm, arr, scope[SCOPE_ITEM]) < 0)
        return expr_vm_error(vm, "memory budget exceeded");
    return 0;
}

/* sortBy keeps (key, item) pairs flattened in one array in the scope's acc. */
static int
vm_sort_add(struct expr_vm *vm, struct expr_value *scope, const struct expr_value *key)
{
    if (scope[SCOPE_ACC].kind != EXPR_ARRAY) {
        struct expr_array *a = expr_vm_array(vm, (size_t)scope[SCOPE_LEN].u.i * 2);
        if (!a)
            return expr_vm_error(vm, "memory budget exceeded");
        scope[SCOPE_ACC].kind = EXPR_ARRAY;
        scope[SCOPE_ACC].u.a = a;
    }
    struct expr_array *a = scope[SCOPE_ACC].u.a;
    if (expr_array_push(vm, a, *key) < 0 || expr_array_push(vm, a, scope[SCOPE_ITEM]) < 0)
        return expr_vm_error(vm, "memory budget exceeded");
    return 0;
}

/* Stable merge sort of pair indices by key; a key pair that does not order is an error. */
static int
vm_sort_end(struct expr_vm *vm, struct expr_value *scope, const struct expr_value *order,
            struct expr_value *ret)
{
    bool desc;
    if (order->kind != EXPR_STRING)
        return expr_vm_error(vm, "sortBy order argument must be a string");
    if (order->u.s.len == 3 && memcmp(order->u.s.ptr, "asc", 3) == 0)
        desc = false;
    else if (order->u.s.len == 4 && memcmp(order->u.s.ptr, "desc", 4) == 0)
        desc = true;
    else
        return expr_vm_error(vm, "unknown order, use asc or desc");

    size_t n = scope[SCOPE_ACC].kind == EXPR_ARRAY ? scope[SCOPE_ACC].u.a->len / 2 : 0;
    struct expr_array *out = expr_vm_array(vm, n);
    size_t *idx = expr_vm_alloc(vm, (n + 1) * sizeof(size_t) * 2);
    if (!out || !idx)
        return expr_vm_error(vm, "memory budget exceeded");
    size_t *tmp = idx + n + 1;
    const struct expr_value *pairs = n ? scope[SCOPE_ACC].u.a->items : NULL;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = MIN(lo + width, n), hi = MIN(lo + 2 * width, n);
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                const struct expr_value *x = &pairs[idx[i] * 2], *y = &pairs[idx[j] * 2];
                int cmp;
                if (vm_compare(x, y, &cmp) < 0)
                    return expr_vm_error(vm, "invalid operation: %s < %s", vm_type_name(x),
                                         vm_type_name(y));
                /* Take from the right only when it is strictly first: keeps equal keys in order. */
                bool right_first = desc ? (cmp == -1) : (cmp == 1);
                tmp[k++] = right_first ? idx[j++] : idx[i++];
            }
            while (i < mid)
                tmp[k++] = idx[i++];
            while (j < hi)
                tmp[k++] = idx[j++];
            memcpy(idx + lo, tmp + lo, (hi - lo) * sizeof(size_t));
        }
    }
    for (size_t i = 0; i < n; i++)
        out->items[i] = pairs[idx[i] * 2 + 1];
    out->len = n;
    ret->kind = EXPR_ARRAY;
    ret->u.a = out;
    return 0;
}

/* --- the interpreter ---------------------------------------------------- */

static int
vm_call_method(struct expr_vm *vm, const struct expr_method *m, struct expr_value *recv,
               const struct expr_value *args, size_t nargs, struct expr_value *ret)
{
    if (recv->kind == EXPR_NIL)
        return expr_vm_error(vm, "cannot fetch %s from <nil>", m->name);
    if ((int)nargs < m->min_args || (m->max_args >= 0 && (int)nargs > m->max_args))
        return expr_vm_error(vm, "invalid number of arguments: expected %d, got %zu", m->min_args,
                             nargs);
    /* Go value types (time, duration, weekday) receive the value itself. */
    const void *obj = recv->kind == EXPR_OBJECT ? recv->u.o.ptr : (const void *)recv;
    return m->call(obj, vm, args, nargs, ret);
}

static const struct expr_method *
vm_find_method(const struct expr_value *recv, const struct expr_value *name)
{
    const struct expr_class *cls = NULL;
    if (recv->kind == EXPR_OBJECT)
        cls = recv->u.o.cls;
    else if (recv->kind == EXPR_TIME)
        cls = &expr_time_class;
    else if (recv->kind == EXPR_DURATION)
        cls = &expr_duration_class;
    return class_method(cls, name->u.s.ptr, name->u.s.len);
}

/*
 * Stores a bool result over a stack slot: two stores, where assigning
 * expr_bool() makes gcc build the whole value in a temporary first.
 */
static inline void
vm_set_bool(struct expr_value *v, bool b)
{
    v->kind = EXPR_BOOL;
    v->u.i = 0;
    v->u.b = b;
}

/* Go == with the common case, two strings, inlined. */
static inline bool
vm_equal(const struct expr_value *a, const struct expr_value *b)
{
    if (a->kind == EXPR_STRING && b->kind == EXPR_STRING)
        return a->u.s.len == b->u.s.len && bc_bytes_eq(a->u.s.ptr, b->u.s.ptr, a->u.s.len);
    return expr_value_equal(a, b);
}

/*
 * top[key] for MAPKEY: host maps (evt.Meta) straight to their class, the
 * rest via vm_member. ret may be obj itself: the object is read before
 * anything is written (class callbacks write ret only on success).
 */
static inline int
vm_mapkey(struct expr_vm *vm, const struct expr_value *obj, const struct expr_value *key,
          struct expr_value *ret)
{
    if (obj->kind == EXPR_OBJECT && obj->u.o.cls->is_map && obj->u.o.cls->index) {
        const struct expr_class *cls = obj->u.o.cls;
        const void *ptr = obj->u.o.ptr;
        return cls->index(ptr, vm, key, ret);
    }
    struct expr_value r;
    if (vm_member(vm, obj, key, false, &r) < 0)
        return -1;
    *ret = r;
    return 0;
}

static int
vm_field_error(struct expr_vm *vm, const struct expr_field *f, const struct expr_value *obj)
{
    if (obj->kind == EXPR_NIL)
        return expr_vm_error(vm, "cannot get %s from <nil>", f->name);
    return expr_vm_error(vm, "cannot get %s from %s", f->name, vm_type_name(obj));
}

/* FIELD on obj: the getter of a host object, or Go's error. ret may be obj (see vm_mapkey). */
static inline int
vm_field(struct expr_vm *vm, const struct expr_field *f, const struct expr_value *obj,
         struct expr_value *ret)
{
    if (obj->kind != EXPR_OBJECT)
        return vm_field_error(vm, f, obj);
    const void *ptr = obj->u.o.ptr;
    return f->get(ptr, vm, ret);
}

/*
 * Dispatch: with gcc and clang every handler jumps straight to the next one
 * through a table of label addresses (one indirect branch per instruction,
 * predicted per handler); other compilers get the same handlers as a switch.
 * The stack pointer lives in a local; it is written back to the vm state
 * before anything that may run a closure (functions and methods) and on
 * return.
 */
#if defined(__GNUC__)
#define VM_THREADED 1
#else
#define VM_THREADED 0
#endif

#define OP(name) L_##name:
#if VM_THREADED
#define NEXT()                                                                                     \
    do {                                                                                           \
        insn = pc++;                                                                               \
        goto *vm_labels[insn->op];                                                                 \
    } while (0)
#define VM_LABEL(name, len) [BC_##name] = &&L_##name,
#else
#define NEXT() goto dispatch
#define VM_CASE(name, len)                                                                         \
    case BC_##name:                                                                                \
        goto L_##name;
#endif

#define TOP (sp[-1])
#define PUSH(v)                                                                                    \
    do {                                                                                           \
        if (sp == st->stack + VM_STACK_MAX)                                                        \
            goto overflow;                                                                         \
        *sp++ = (v);                                                                               \
    } while (0)
#define CHECK(expr)                                                                                \
    do {                                                                                           \
        if ((expr) < 0)                                                                            \
            goto fail;                                                                             \
    } while (0)
/* For the second half of a superinstruction: errors point at the instruction it stands for. */
#define CHECK2(expr)                                                                               \
    do {                                                                                           \
        if ((expr) < 0) {                                                                          \
            insn++;                                                                                \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)
#define SYNC() (st->sp = sp)
#define L      (st->locals)

/*
 * Runs p from entry until a BC_RETURN (the main body ends with one too). The
 * result is left on the stack. Returns 0, or -1 with the error in vm and the
 * failing instruction in state->err_ip.
 */
static int
vm_run(struct expr_vm *vm, const struct expr_program *p, int32_t entry)
{
    struct vm_state *st = vm->state;
    struct expr_value *sp = st->sp;
    const struct expr_value *const vars = st->vars;
    const struct bc_insn *const code = p->code;
    const struct bc_insn *pc = code + entry;
    const struct bc_insn *insn; /* the instruction being run; set by every dispatch */
    struct expr_value r;
    bool b;

#if VM_THREADED
    /* cppcheck-suppress assignBoolToPointer ; label addresses (&&L_x), a gcc/clang extension */
    static const void *const vm_labels[BC_COUNT_] = { EXPR_OPCODES(VM_LABEL) };
#endif
    NEXT();
#if !VM_THREADED
dispatch:
    insn = pc++;
    switch (insn->op) {
        EXPR_OPCODES(VM_CASE)
    default: expr_vm_error(vm, "invalid opcode %d", insn->op); goto fail;
    }
#endif
    OP(NOP) NEXT();
    OP(CONST)
    {
        PUSH(p->consts[insn->a]);
        NEXT();
    }
    OP(NIL)
    {
        PUSH(expr_nil());
        NEXT();
    }
    OP(TRUE)
    {
        PUSH(expr_bool(true));
        NEXT();
    }
    OP(FALSE)
    {
        PUSH(expr_bool(false));
        NEXT();
    }
    OP(POP)
    {
        sp--;
        NEXT();
    }
    OP(LOAD_VAR)
    {
        PUSH(vars[insn->a]);
        NEXT();
    }
    OP(LOAD_ENV)
    {
        CHECK(vm_env_map(vm, p, vars, &r));
        PUSH(r);
        NEXT();
    }
    OP(LOAD)
    {
        PUSH(L[insn->a]);
        NEXT();
    }
    OP(STORE)
    {
        L[insn->a] = *--sp;
        NEXT();
    }
    OP(INC_LOCAL)
    {
        L[insn->a].u.i++;
        NEXT();
    }
    OP(JUMP)
    {
        pc = code + insn->a;
        NEXT();
    }
    OP(JUMP_IF_FALSE)
    {
        if (TOP.kind != EXPR_BOOL) {
            vm_not_bool(vm, &TOP);
            goto fail;
        }
        if (!TOP.u.b)
            pc = code + insn->a;
        NEXT();
    }
    OP(JUMP_IF_TRUE)
    {
        if (TOP.kind != EXPR_BOOL) {
            vm_not_bool(vm, &TOP);
            goto fail;
        }
        if (TOP.u.b)
            pc = code + insn->a;
        NEXT();
    }
    OP(JUMP_IF_FALSE_POP)
    {
        if (TOP.kind != EXPR_BOOL) {
            vm_not_bool(vm, &TOP);
            goto fail;
        }
        if (!TOP.u.b) {
            pc = code + insn->a;
        } else {
            sp--;
            pc++;
        }
        NEXT();
    }
    OP(JUMP_IF_TRUE_POP)
    {
        if (TOP.kind != EXPR_BOOL) {
            vm_not_bool(vm, &TOP);
            goto fail;
        }
        if (TOP.u.b) {
            pc = code + insn->a;
        } else {
            sp--;
            pc++;
        }
        NEXT();
    }
    OP(JUMP_IF_NIL)
    {
        if (TOP.kind == EXPR_NIL)
            pc = code + insn->a;
        NEXT();
    }
    OP(JUMP_IF_NOT_NIL)
    {
        if (TOP.kind != EXPR_NIL)
            pc = code + insn->a;
        NEXT();
    }
    OP(BOOL_CHECK)
    {
        if (TOP.kind != EXPR_BOOL) {
            vm_not_bool(vm, &TOP);
            goto fail;
        }
        NEXT();
    }
    OP(FIELD)
    {
        CHECK(vm_field(vm, p->fields[insn->a], &TOP, &TOP));
        NEXT();
    }
    OP(VAR_FIELD)
    {
        if (sp == st->stack + VM_STACK_MAX)
            goto overflow;
        CHECK2(vm_field(vm, p->fields[insn->b], &vars[insn->a], sp));
        sp++;
        pc++;
        NEXT();
    }
    OP(MEMBER)
    {
        CHECK(vm_member(vm, &TOP, &p->consts[insn->a], true, &r));
        TOP = r;
        NEXT();
    }
    OP(MAPKEY)
    {
        CHECK(vm_mapkey(vm, &TOP, &p->consts[insn->a], &TOP));
        NEXT();
    }
    OP(VAR_FIELD_MAPKEY)
    {
        if (sp == st->stack + VM_STACK_MAX)
            goto overflow;
        CHECK2(vm_field(vm, p->fields[insn->b], &vars[insn->a], sp));
        /* pc is insn + 1 (the FIELD), pc[1] the MAPKEY with the key. */
        if (vm_mapkey(vm, sp, &p->consts[pc[1].a], sp) < 0) {
            insn += 2;
            goto fail;
        }
        sp++;
        pc += 2;
        NEXT();
    }
    OP(VAR_MAPKEY)
    {
        if (sp == st->stack + VM_STACK_MAX)
            goto overflow;
        CHECK2(vm_mapkey(vm, &vars[insn->a], &p->consts[insn->b], sp));
        sp++;
        pc++;
        NEXT();
    }
    OP(INDEX)
    {
        CHECK(vm_index(vm, &sp[-2], &TOP, &r));
        sp--;
        TOP = r;
        NEXT();
    }
    OP(INDEX_CONST)
    {
        if (sp == st->stack + VM_STACK_MAX)
            goto overflow;
        CHECK2(vm_index(vm, &TOP, &p->consts[insn->a], &r));
        TOP = r;
        pc++;
        NEXT();
    }
    OP(SLICE)
    {
        size_t n = 1 + ((insn->a & 1) != 0) + ((insn->a & 2) != 0);
        struct expr_value *base = sp - n;
        const struct expr_value *from = (insn->a & 1) ? &base[1] : NULL;
        const struct expr_value *to = (insn->a & 2) ? &base[n - 1] : NULL;
        CHECK(vm_slice(vm, base, from, to, &r));
        sp -= n - 1;
        TOP = r;
        NEXT();
    }
    OP(METHOD)
    OP(METHOD_DYN)
    {
        size_t nargs = (size_t)insn->b;
        struct expr_value *recv = sp - nargs - 1;
        const struct expr_method *m;
        if (insn->op == BC_METHOD) {
            m = p->methods[insn->a];
        } else {
            const struct expr_value *name = &p->consts[insn->a];
            m = vm_find_method(recv, name);
            if (!m) {
                int n = name->u.s.len > 200 ? 200 : (int)name->u.s.len;
                expr_vm_error(vm, "cannot fetch %.*s from %s", n, name->u.s.ptr,
                              vm_type_name(recv));
                goto fail;
            }
        }
        SYNC();
        CHECK(vm_call_method(vm, m, recv, recv + 1, nargs, &r));
        sp -= nargs;
        TOP = r;
        NEXT();
    }
    OP(CALL)
    {
        const struct expr_func *f = p->funcs[insn->a];
        size_t nargs = (size_t)insn->b;
        r = expr_nil();
        SYNC();
        CHECK(f->call(vm, sp - nargs, nargs, &r));
        sp -= nargs;
        PUSH(r);
        NEXT();
    }
    OP(CLOSURE)
    {
        r.kind = EXPR_FUNC;
        r.u.o.cls = NULL;
        r.u.o.ptr = &p->closures[insn->a];
        PUSH(r);
        NEXT();
    }
    OP(NOT)
    {
        if (TOP.kind != EXPR_BOOL) {
            vm_not_bool(vm, &TOP);
            goto fail;
        }
        TOP.u.b = !TOP.u.b;
        NEXT();
    }
    OP(NEG)
    {
        if (TOP.kind == EXPR_INT) {
            TOP.u.i = wrap_sub(0, TOP.u.i);
        } else if (TOP.kind == EXPR_FLOAT) {
            TOP.u.f = -TOP.u.f;
        } else {
            expr_vm_error(vm, "invalid operation: - %s", vm_type_name(&TOP));
            goto fail;
        }
        NEXT();
    }
    OP(PLUS)
    {
        if (!is_num(&TOP)) {
            expr_vm_error(vm, "invalid operation: + %s", vm_type_name(&TOP));
            goto fail;
        }
        NEXT();
    }
    OP(EQ)
    {
        b = vm_equal(&sp[-2], &TOP);
        sp--;
        vm_set_bool(&TOP, b);
        NEXT();
    }
    OP(NE)
    {
        b = !vm_equal(&sp[-2], &TOP);
        sp--;
        vm_set_bool(&TOP, b);
        NEXT();
    }
    OP(EQ_CONST)
    {
        b = vm_equal(&TOP, &p->consts[insn->a]);
        vm_set_bool(&TOP, b);
        pc++;
        NEXT();
    }
    OP(NE_CONST)
    {
        b = !vm_equal(&TOP, &p->consts[insn->a]);
        vm_set_bool(&TOP, b);
        pc++;
        NEXT();
    }
    OP(LT)
    OP(GT)
    OP(LE)
    OP(GE)
    OP(ADD)
    OP(SUB)
    OP(MUL)
    OP(DIV)
    OP(MOD)
    OP(POW)
    {
        CHECK(expr_vm_binop(vm, insn->op, &sp[-2], &TOP, &r));
        sp--;
        TOP = r;
        NEXT();
    }
    OP(RANGE)
    {
        CHECK(vm_range(vm, &sp[-2], &TOP, &r));
        sp--;
        TOP = r;
        NEXT();
    }
    OP(IN)
    {
        CHECK(vm_in(vm, &sp[-2], &TOP, &b));
        sp--;
        vm_set_bool(&TOP, b);
        NEXT();
    }
    OP(IN_SET)
    {
        if (TOP.kind == EXPR_STRING)
            b = expr_strset_has(&p->sets[insn->a], TOP.u.s.ptr, TOP.u.s.len);
        else
            CHECK(vm_in(vm, &TOP, &p->consts[insn->b], &b));
        vm_set_bool(&TOP, b);
        NEXT();
    }
    OP(MATCHES)
    {
        CHECK(vm_matches_dyn(vm, &sp[-2], &TOP, &b));
        sp--;
        vm_set_bool(&TOP, b);
        NEXT();
    }
    OP(MATCHES_CONST)
    {
        b = false;
        if (TOP.kind != EXPR_NIL)
            CHECK(vm_matches(vm, p->regexes[insn->a], &TOP, &b));
        vm_set_bool(&TOP, b);
        NEXT();
    }
    OP(CONTAINS)
    OP(STARTSWITH)
    OP(ENDSWITH)
    {
        CHECK(vm_strop(vm, insn->op, &sp[-2], &TOP, &b));
        sp--;
        vm_set_bool(&TOP, b);
        NEXT();
    }
    OP(CONTAINS_CONST)
    {
        CHECK2(vm_strop(vm, BC_CONTAINS, &TOP, &p->consts[insn->a], &b));
        vm_set_bool(&TOP, b);
        pc++;
        NEXT();
    }
    OP(STARTSWITH_CONST)
    {
        CHECK2(vm_strop(vm, BC_STARTSWITH, &TOP, &p->consts[insn->a], &b));
        vm_set_bool(&TOP, b);
        pc++;
        NEXT();
    }
    OP(ENDSWITH_CONST)
    {
        CHECK2(vm_strop(vm, BC_ENDSWITH, &TOP, &p->consts[insn->a], &b));
        vm_set_bool(&TOP, b);
        pc++;
        NEXT();
    }
    OP(ARRAY)
    {
        size_t n = (size_t)insn->a;
        struct expr_array *arr = expr_vm_array(vm, n);
        if (!arr) {
            expr_vm_error(vm, "memory budget exceeded");
            goto fail;
        }
        if (n)
            memcpy(arr->items, sp - n, n * sizeof(struct expr_value));
        arr->len = n;
        sp -= n;
        r.kind = EXPR_ARRAY;
        r.u.a = arr;
        PUSH(r);
        NEXT();
    }
    OP(MAP)
    {
        size_t n = (size_t)insn->a;
        struct expr_map *m = expr_vm_map(vm, n);
        if (!m) {
            expr_vm_error(vm, "memory budget exceeded");
            goto fail;
        }
        struct expr_value *kv = sp - 2 * n;
        for (size_t i = 0; i < n; i++) {
            if (kv[2 * i].kind != EXPR_STRING) {
                vm_not_string(vm, &kv[2 * i]);
                goto fail;
            }
            if (expr_map_set(vm, m, kv[2 * i].u.s.ptr, kv[2 * i].u.s.len, kv[2 * i + 1]) < 0) {
                expr_vm_error(vm, "memory budget exceeded");
                goto fail;
            }
        }
        sp -= 2 * n;
        r.kind = EXPR_MAP;
        r.u.m = m;
        PUSH(r);
        NEXT();
    }
    OP(BEGIN)
    OP(BEGIN_REV)
    {
        CHECK(vm_begin(vm, &L[insn->a], &TOP, insn->op == BC_BEGIN_REV));
        sp--;
        NEXT();
    }
    OP(NEXT)
    OP(NEXT_REV)
    {
        struct expr_value *s = &L[insn->a];
        bool end =
            insn->op == BC_NEXT ? s[SCOPE_INDEX].u.i >= s[SCOPE_LEN].u.i : s[SCOPE_INDEX].u.i < 0;
        if (end) {
            pc = code + insn->b;
            NEXT();
        }
        if (++st->steps > VM_STEP_MAX) {
            expr_vm_error(vm, "too many iterations (limit %llu per evaluation)",
                          (unsigned long long)VM_STEP_MAX);
            goto fail;
        }
        CHECK(vm_item(vm, s));
        NEXT();
    }
    OP(STEP)
    {
        L[insn->a + SCOPE_INDEX].u.i++;
        pc = code + insn->b;
        NEXT();
    }
    OP(STEP_REV)
    {
        L[insn->a + SCOPE_INDEX].u.i--;
        pc = code + insn->b;
        NEXT();
    }
    OP(ACC_PUSH)
    {
        struct expr_value *acc = &L[insn->a + SCOPE_ACC];
        if (acc->kind != EXPR_ARRAY) {
            struct expr_array *arr = expr_vm_array(vm, 4);
            if (!arr) {
                expr_vm_error(vm, "memory budget exceeded");
                goto fail;
            }
            acc->kind = EXPR_ARRAY;
            acc->u.a = arr;
        }
        if (expr_array_push(vm, acc->u.a, TOP) < 0) {
            expr_vm_error(vm, "memory budget exceeded");
            goto fail;
        }
        sp--;
        NEXT();
    }
    OP(ACC_ARRAY)
    OP(ACC_MAP)
    {
        struct expr_value *acc = &L[insn->a + SCOPE_ACC];
        int want = insn->op == BC_ACC_ARRAY ? EXPR_ARRAY : EXPR_MAP;
        if (acc->kind != want) {
            r.kind = (uint8_t)want;
            if (want == EXPR_ARRAY)
                r.u.a = expr_vm_array(vm, 0);
            else
                r.u.m = expr_vm_map(vm, 0);
            if (!r.u.a && !r.u.m) {
                expr_vm_error(vm, "memory budget exceeded");
                goto fail;
            }
            *acc = r;
        }
        PUSH(*acc);
        NEXT();
    }
    OP(GROUP_ADD)
    {
        CHECK(vm_group_add(vm, &L[insn->a], &TOP));
        sp--;
        NEXT();
    }
    OP(SORT_ADD)
    {
        CHECK(vm_sort_add(vm, &L[insn->a], &TOP));
        sp--;
        NEXT();
    }
    OP(SORT_END)
    {
        CHECK(vm_sort_end(vm, &L[insn->a], &TOP, &r));
        TOP = r;
        NEXT();
    }
    OP(THROW)
    {
        expr_vm_error(vm, "%s", p->consts[insn->a].u.s.ptr);
        goto fail;
    }
    OP(RETURN)
    {
        SYNC();
        return 0;
    }
    OP(MEMO_CLEAR)
    {
        for (int32_t i = 0; i < insn->b; i++)
            L[insn->a + i] = expr_nil();
        NEXT();
    }
    OP(MEMO_GET)
    {
        if (L[insn->a].kind != EXPR_NIL) {
            PUSH(L[insn->a]);
            pc = code + insn->b;
        }
        NEXT();
    }
    OP(MEMO_SET)
    {
        L[insn->a] = TOP;
        NEXT();
    }
    OP(SCAN_EQ)
    OP(SCAN_CONTAINS)
    OP(SCAN_STARTSWITH)
    OP(SCAN_ENDSWITH)
    {
        /*
         * The loop body is `X op #` and X is on top: test item after item
         * here, as the body would, until one matches (true to the break
         * target), the items end (back to NEXT, which ends the loop), or an
         * item needs the generic path (not a string for contains & co.: the
         * body then runs on it, with its error, and comes back here).
         */
        struct expr_value *s = &L[code[insn->a].a];
        if ((insn->op != BC_SCAN_EQ && TOP.kind != EXPR_STRING) || s[SCOPE_COLL].kind != EXPR_ARRAY)
            NEXT();
        const struct expr_value *items = s[SCOPE_COLL].u.a->items;
        const struct expr_value x = TOP;
        int64_t i = s[SCOPE_INDEX].u.i, len = s[SCOPE_LEN].u.i, first = i;
        b = false;
        for (; i < len; i++) {
            const struct expr_value *it = &items[i];
            /* NEXT counted the first item; the others are counted here as NEXT would. */
            if (i > first && ++st->steps > VM_STEP_MAX) {
                s[SCOPE_INDEX].u.i = i;
                expr_vm_error(vm, "too many iterations (limit %llu per evaluation)",
                              (unsigned long long)VM_STEP_MAX);
                goto fail;
            }
            if (insn->op == BC_SCAN_EQ) {
                b = vm_equal(&x, it);
            } else {
                if (it->kind != EXPR_STRING)
                    break;
                size_t xn = x.u.s.len, yn = it->u.s.len;
                if (insn->op == BC_SCAN_CONTAINS)
                    b = strv_find((struct strv){ x.u.s.ptr, xn },
                                  (struct strv){ it->u.s.ptr, yn }) >= 0;
                else if (insn->op == BC_SCAN_STARTSWITH)
                    b = xn >= yn && bc_bytes_eq(x.u.s.ptr, it->u.s.ptr, yn);
                else
                    b = xn >= yn &&
                        (yn == 0 || bc_bytes_eq(x.u.s.ptr + (xn - yn), it->u.s.ptr, yn));
            }
            if (b)
                break;
        }
        if (i < len) {
            s[SCOPE_INDEX].u.i = i;
            s[SCOPE_ITEM] = items[i];
            if (!b)
                NEXT(); /* the generic body for this item */
            sp--;
            PUSH(expr_bool(true));
            pc = code + insn->b;
            NEXT();
        }
        s[SCOPE_INDEX].u.i = len;
        sp--;
        pc = code + insn->a;
        NEXT();
    }
    OP(FILE_MAP)
    {
        const struct expr_value *name = &p->consts[insn->a];
        r = expr_nil();
        SYNC();
        CHECK(expr_data_file_mapped(vm, name->u.s.ptr, name->u.s.len, p->funcs[insn->b], &r));
        PUSH(r);
        NEXT();
    }
overflow:
    expr_vm_error(vm, "stack overflow");
fail:
    if (!vm->has_error)
        expr_vm_error(vm, "run-time error");
    if (st->err_ip < 0)
        st->err_ip = (int32_t)(insn - code);
    return -1;
}

#undef OP
#undef NEXT
#undef VM_LABEL
#undef VM_CASE
#undef TOP
#undef PUSH
#undef CHECK
#undef CHECK2
#undef SYNC
#undef L

int
expr_vm_call_closure(struct expr_vm *vm, const struct expr_value *fn, const struct expr_value *arg,
                     struct expr_value *ret)
{
    struct vm_state *st = vm->state;
    if (!fn || fn->kind != EXPR_FUNC || !fn->u.o.ptr)
        return expr_vm_error(vm, "invalid operation: cannot call non-function");
    const struct bc_closure *c = fn->u.o.ptr;
    if (st->depth >= VM_CALL_DEPTH_MAX)
        return expr_vm_error(vm, "closure calls nested too deeply");
    if (++st->steps > VM_STEP_MAX)
        return expr_vm_error(vm, "too many iterations (limit %llu per evaluation)",
                             (unsigned long long)VM_STEP_MAX);
    struct expr_value *scope = &st->locals[c->scope];
    scope[SCOPE_ITEM] = arg ? *arg : expr_nil();
    struct expr_value *sp = st->sp;
    st->depth++;
    int rc = vm_run(vm, c->prog, c->entry);
    st->depth--;
    if (rc < 0) {
        st->sp = sp;
        return -1;
    }
    *ret = st->sp[-1];
    st->sp = sp;
    return 0;
}

/* Fills err from the vm's error and the position of the failing instruction. */
static void
vm_fill_error(struct expr_vm *vm, const struct expr_program *p, struct expr_error *err)
{
    if (!err)
        return;
    int32_t ip = vm->state->err_ip;
    int line = 0, col = 0;
    if (ip >= 0 && (size_t)ip < p->ncode) {
        line = p->code[ip].line;
        col = p->code[ip].column;
    }
    expr_error_set(err, p->source, p->srclen, line, col, vm->error);
}

/* The cold end of expr_eval: grows the local slots for p, then runs it. */
static int
vm_eval_grow(struct expr_vm *vm, const struct expr_program *p, struct expr_value *ret,
             struct expr_error *err)
{
    struct vm_state *st = vm->state;
    struct expr_value *nl = realloc(st->locals, (size_t)p->nlocals * sizeof(*nl));
    if (!nl) {
        expr_vm_error(vm, "out of memory");
        vm_fill_error(vm, p, err);
        return -1;
    }
    st->locals = nl;
    st->nlocals = (size_t)p->nlocals;
    if (vm_run(vm, p, 0) < 0) {
        vm_fill_error(vm, p, err);
        return -1;
    }
    *ret = st->sp > st->stack ? st->sp[-1] : expr_nil();
    return 0;
}

/*
 * The per-evaluation setup is a handful of stores: the arena is only reset
 * when the last evaluation used it, and nothing else needs clearing.
 */
int
expr_eval(struct expr_vm *vm, const struct expr_program *p, const struct expr_value *vars,
          struct expr_value *ret, struct expr_error *err)
{
    struct vm_state *st = vm->state;
    if (vm->arena.used)
        arena_reset(&vm->arena);
    vm->has_error = false;
    vm->error[0] = '\0';
    st->sp = st->stack;
    st->steps = 0;
    st->depth = 0;
    st->err_ip = -1;
    st->vars = vars;
    st->prog = p;
    if ((size_t)p->nlocals > st->nlocals)
        return vm_eval_grow(vm, p, ret, err);
    if (vm_run(vm, p, 0) < 0) {
        vm_fill_error(vm, p, err);
        return -1;
    }
    *ret = st->sp > st->stack ? st->sp[-1] : expr_nil();
    return 0;
}

int
expr_eval_bool(struct expr_vm *vm, const struct expr_program *p, const struct expr_value *vars,
               struct expr_error *err)
{
    struct expr_value r;
    if (expr_eval(vm, p, vars, &r, err) < 0)
        return -1;
    return r.kind == EXPR_BOOL && r.u.b ? 1 : 0;
}
