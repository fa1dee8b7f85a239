/*
 * compile.c - turns the parser's tree into bytecode for vm.c, type-checking
 * it against the environment on the way.
 *
 * One pass over the tree does both jobs: each node is emitted and returns its
 * static type (EXPR_ANY when only the run time can tell). Static types are
 * what make the common filters cheap: `evt.Meta.source_ip` on a typed Event
 * becomes a field slot and a constant map key, never a by-name search; a
 * constant `in [..]` list becomes a hash set; a constant `matches` pattern is
 * compiled once. They also turn mistakes into load-time errors with a
 * position and a caret excerpt: unknown names, wrong arity, unknown members
 * of a typed host class, type mismatches between known types.
 *
 * Predicates (all, any, filter, map, reduce, ...) are compiled inline as
 * loops over a scope of local slots (see bytecode.h); closures handed to
 * ordinary functions are compiled in place behind a jump and called back
 * through expr_vm_call_closure(). Literal subtrees are folded to constants by
 * running the vm's own operators on them.
 *
 * Left spines (operator chains like Sigma's 1,000-term `||` filters, and
 * member/index chains) are walked with loops; only genuine nesting recurses,
 * bounded by CC_DEPTH_MAX.
 */
#include "common/common.h"

#include "common/str.h"
#include "expr/ast.h"
#include "expr/bytecode.h"

/*
 * Genuine nesting (right operands, arguments, brackets) recurses. The hub
 * needs a depth of 7; 128 levels of the costliest path fit in well under
 * 1 MiB of stack even with ASan's large frames.
 */
#define CC_DEPTH_MAX  128
#define CC_LOCALS_MAX 4096
#define CC_LETS_MAX   128
#define CC_SCOPES_MAX 64

struct cc_let {
    const char *name;
    int32_t slot;
    struct expr_type type;
};

struct cc_scope {
    int32_t base;
    struct expr_type item;
    bool has_index, has_acc; /* #index (map, reduce) and #acc (reduce), as expr-lang's checker */
    /* Loop-invariant pure calls of the body are memoized (cc_memo_ok) in slots memo_lo..memo_hi. */
    bool memo;
    int32_t memo_lo, memo_hi;
    /* The collection is File(x) mapped through this helper: its calls on # read # (cc_file_map). */
    const struct expr_func *mapped;
};

struct cc {
    struct expr_program *p;
    const struct expr_env *env;
    struct expr_error *err;
    struct expr_vm *fold_vm; /* scratch vm for constant folding and type inference */
    bool failed;
    int depth;
    struct cc_let lets[CC_LETS_MAX];
    size_t nlets;
    struct cc_scope scopes[CC_SCOPES_MAX];
    size_t nscopes;
    bool in_memo; /* compiling a memoized sub-expression: nothing inside it is memoized again */
    /* Left spines being walked (cc_binary, cc_chain), innermost last; shared by nested walks. */
    const struct ast_node **spine;
    size_t nspine, spinecap;
};

static int cc_node(struct cc *c, const struct ast_node *n, struct expr_type *ret);
static int cc_dispatch(struct cc *c, const struct ast_node *n, struct expr_type *ret);
static int cc_memo(struct cc *c, const struct ast_node *n, struct expr_type *ret);
static bool cc_memo_candidate(struct cc *c, const struct ast_node *n);

/* --- errors ------------------------------------------------------------- */

/*
 * Fills err: message, position, and an excerpt made of the source line and
 * a caret line under the column (tabs are kept so the caret lines up).
 */
void
expr_error_set(struct expr_error *err, const char *src, size_t srclen, int line, int column,
               const char *msg)
{
    if (!err)
        return;
    err->line = line;
    err->column = column;
    snprintf(err->message, sizeof(err->message), "%s", msg ? msg : "");
    err->excerpt[0] = '\0';
    if (!src || line <= 0)
        return;
    size_t pos = 0;
    for (int l = 1; l < line && pos < srclen; pos++)
        if (src[pos] == '\n')
            l++;
    size_t end = pos;
    while (end < srclen && src[end] != '\n')
        end++;
    size_t linelen = end - pos;
    if (linelen && src[pos + linelen - 1] == '\r')
        linelen--;
    size_t room = sizeof(err->excerpt) - 1;
    size_t shown = MIN(linelen, room / 2);
    size_t o = 0;
    memcpy(err->excerpt, src + pos, shown);
    o = shown;
    err->excerpt[o++] = '\n';
    size_t caret = column > 0 ? (size_t)(column - 1) : 0;
    for (size_t i = 0; i < caret && o < room - 1; i++)
        err->excerpt[o++] = (i < linelen && src[pos + i] == '\t') ? '\t' : ' ';
    err->excerpt[o++] = '^';
    err->excerpt[o] = '\0';
}

static int cc_error(struct cc *c, const struct ast_node *n, const char *fmt, ...) PRINTF_LIKE(3, 4);

static int
cc_error(struct cc *c, const struct ast_node *n, const char *fmt, ...)
{
    if (c->failed)
        return -1;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    expr_error_set(c->err, c->p->source, c->p->srclen, n ? n->line : 0, n ? n->column : 0, msg);
    c->failed = true;
    return -1;
}

static int
cc_oom(struct cc *c, const struct ast_node *n)
{
    return cc_error(c, n, "out of memory");
}

/* --- types -------------------------------------------------------------- */

static const char *
type_name(struct expr_type t)
{
    if (t.kind == EXPR_OBJECT && t.cls && t.cls->name)
        return t.cls->name;
    if (t.kind == EXPR_NIL)
        return "nil";
    return expr_kind_name((enum expr_kind)t.kind);
}

static const struct expr_type *
type_dup(struct cc *c, struct expr_type t)
{
    struct expr_type *p = arena_alloc(&c->p->arena, sizeof(*p));
    if (p)
        *p = t;
    return p;
}

static struct expr_type
type_array_of(struct cc *c, struct expr_type elem)
{
    struct expr_type t = EXPR_T(EXPR_ARRAY);
    if (elem.kind != EXPR_ANY)
        t.elem = type_dup(c, elem);
    return t;
}

static bool
type_known(struct expr_type t)
{
    return t.kind != EXPR_ANY;
}

/* Element type when iterating or indexing t; ANY when unknown. */
static struct expr_type
type_elem(struct expr_type t)
{
    if ((t.kind == EXPR_ARRAY || t.kind == EXPR_MAP) && t.elem)
        return *t.elem;
    if (t.kind == EXPR_OBJECT && t.cls && (t.cls->index || t.cls->at))
        return t.cls->elem_type;
    return EXPR_T_ANY;
}

static bool
type_iterable(struct expr_type t)
{
    if (t.kind == EXPR_ANY || t.kind == EXPR_ARRAY)
        return true;
    return t.kind == EXPR_OBJECT && t.cls && !t.cls->is_map && t.cls->at && t.cls->len;
}

static bool
type_same(struct expr_type a, struct expr_type b)
{
    return a.kind == b.kind && a.cls == b.cls;
}

/* Go's time.Weekday and time.Month are integer types: they compare with numbers. */
static bool
type_number_like(struct expr_type t)
{
    return t.kind == EXPR_INT || t.kind == EXPR_FLOAT ||
           (t.kind == EXPR_OBJECT && (t.cls == &expr_weekday_class || t.cls == &expr_month_class));
}

/* expr-lang's Nature.ComparableTo: may == / != apply to these static types? */
static bool
types_comparable(struct expr_type l, struct expr_type r)
{
    if (!type_known(l) || !type_known(r) || l.kind == EXPR_NIL || r.kind == EXPR_NIL)
        return true;
    if (type_number_like(l) && type_number_like(r))
        return true;
    if (l.kind == EXPR_ARRAY && r.kind == EXPR_ARRAY)
        return true;
    return type_same(l, r);
}

/* --- emission ----------------------------------------------------------- */

#define GROW(c, arr, n, cap, node)                                                                 \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            size_t ncap_ = (cap) ? (cap)*2 : 16;                                                   \
            void *np_ = realloc((arr), ncap_ * sizeof(*(arr)));                                    \
            if (!np_)                                                                              \
                return cc_oom((c), (node));                                                        \
            (arr) = np_;                                                                           \
            (cap) = ncap_;                                                                         \
        }                                                                                          \
    } while (0)

static int32_t
cc_emit(struct cc *c, const struct ast_node *n, int op, int32_t a, int32_t b)
{
    struct expr_program *p = c->p;
    if (c->failed)
        return -1;
    if (p->ncode >= INT32_MAX / 2)
        return cc_error(c, n, "expression too large");
    GROW(c, p->code, p->ncode, p->codecap, n);
    struct bc_insn *i = &p->code[p->ncode];
    i->op = (uint8_t)op;
    i->a = a;
    i->b = b;
    i->line = n ? n->line : 0;
    i->column = n ? n->column : 0;
    return (int32_t)p->ncode++;
}

static int32_t
cc_here(struct cc *c)
{
    return (int32_t)c->p->ncode;
}

/* Points the jump at `at` to the current end of the code. */
static void
cc_patch(struct cc *c, int32_t at)
{
    if (at >= 0 && !c->failed)
        c->p->code[at].a = cc_here(c);
}

static int32_t
cc_const(struct cc *c, const struct ast_node *n, struct expr_value v)
{
    struct expr_program *p = c->p;
    GROW(c, p->consts, p->nconsts, p->constcap, n);
    p->consts[p->nconsts] = v;
    return (int32_t)p->nconsts++;
}

static int32_t
cc_const_str(struct cc *c, const struct ast_node *n, const char *s, size_t len)
{
    char *copy = arena_strndup(&c->p->arena, s ? s : "", s ? len : 0);
    if (!copy)
        return cc_oom(c, n);
    return cc_const(c, n, expr_strv(copy, s ? len : 0));
}

#define POOL_ADD(c, n, arr, cnt, cap, item)                                                        \
    do {                                                                                           \
        GROW(c, arr, cnt, cap, n);                                                                 \
        (arr)[cnt] = (item);                                                                       \
        return (int32_t)(cnt)++;                                                                   \
    } while (0)

static int32_t
cc_field(struct cc *c, const struct ast_node *n, const struct expr_field *f)
{
    struct expr_program *p = c->p;
    for (size_t i = 0; i < p->nfields; i++)
        if (p->fields[i] == f)
            return (int32_t)i;
    POOL_ADD(c, n, p->fields, p->nfields, p->fieldcap, f);
}

static int32_t
cc_method(struct cc *c, const struct ast_node *n, const struct expr_method *m)
{
    struct expr_program *p = c->p;
    for (size_t i = 0; i < p->nmethods; i++)
        if (p->methods[i] == m)
            return (int32_t)i;
    POOL_ADD(c, n, p->methods, p->nmethods, p->methodcap, m);
}

static int32_t
cc_func(struct cc *c, const struct ast_node *n, const struct expr_func *f)
{
    struct expr_program *p = c->p;
    for (size_t i = 0; i < p->nfuncs; i++)
        if (p->funcs[i] == f)
            return (int32_t)i;
    POOL_ADD(c, n, p->funcs, p->nfuncs, p->funccap, f);
}

static int32_t
cc_local(struct cc *c, const struct ast_node *n, int32_t count)
{
    if (c->p->nlocals > CC_LOCALS_MAX - count)
        return cc_error(c, n, "expression too complex (too many local slots)");
    int32_t slot = c->p->nlocals;
    c->p->nlocals += count;
    return slot;
}

/* Pushes x on the shared spine stack; a walk pops its part by restoring nspine. */
static int
cc_spine_push(struct cc *c, const struct ast_node *x)
{
    GROW(c, c->spine, c->nspine, c->spinecap, x);
    c->spine[c->nspine++] = x;
    return 0;
}

/* --- constant folding --------------------------------------------------- */

static bool
is_literal(const struct ast_node *n)
{
    return n->kind == AST_NIL || n->kind == AST_BOOL || n->kind == AST_INT ||
           n->kind == AST_FLOAT || n->kind == AST_STRING;
}

static int
op_to_bc(int op)
{
    switch (op) {
    case OP_EQ: return BC_EQ;
    case OP_NE: return BC_NE;
    case OP_LT: return BC_LT;
    case OP_GT: return BC_GT;
    case OP_LE: return BC_LE;
    case OP_GE: return BC_GE;
    case OP_ADD: return BC_ADD;
    case OP_SUB: return BC_SUB;
    case OP_MUL: return BC_MUL;
    case OP_DIV: return BC_DIV;
    case OP_MOD: return BC_MOD;
    case OP_POW: return BC_POW;
    case OP_RANGE: return BC_RANGE;
    case OP_IN: return BC_IN;
    case OP_MATCHES: return BC_MATCHES;
    case OP_CONTAINS: return BC_CONTAINS;
    case OP_STARTSWITH: return BC_STARTSWITH;
    case OP_ENDSWITH: return BC_ENDSWITH;
    default: return -1;
    }
}

static const char *
op_text(int op)
{
    switch (op) {
    case OP_NOT: return "!";
    case OP_NEG: return "-";
    case OP_PLUS: return "+";
    case OP_OR: return "||";
    case OP_AND: return "&&";
    case OP_EQ: return "==";
    case OP_NE: return "!=";
    case OP_LT: return "<";
    case OP_GT: return ">";
    case OP_LE: return "<=";
    case OP_GE: return ">=";
    case OP_IN: return "in";
    case OP_MATCHES: return "matches";
    case OP_CONTAINS: return "contains";
    case OP_STARTSWITH: return "startsWith";
    case OP_ENDSWITH: return "endsWith";
    case OP_RANGE: return "..";
    case OP_ADD: return "+";
    case OP_SUB: return "-";
    case OP_MUL: return "*";
    case OP_DIV: return "/";
    case OP_MOD: return "%";
    case OP_POW: return "**";
    case OP_COALESCE: return "??";
    default: return "?";
    }
}

static struct expr_vm *
cc_fold_vm(struct cc *c)
{
    if (!c->fold_vm)
        c->fold_vm = expr_vm_new();
    return c->fold_vm;
}

/*
 * Evaluates a pure literal subtree (numbers, strings, bools, nil, unary and
 * arithmetic/comparison operators on them). Returns true with *ret (strings
 * copied into the program arena) when the subtree folds without error;
 * anything that would fail is left to the run time so the error keeps its
 * run-time form.
 */
static bool cc_fold_binop(struct cc *c, const struct ast_node *n, const struct expr_value *a,
                          struct expr_value *ret, int depth);
static bool cc_fold_call(struct cc *c, const struct ast_node *n, struct expr_value *ret, int depth);

static bool
cc_fold(struct cc *c, const struct ast_node *n, struct expr_value *ret, int depth)
{
    if (depth > 32)
        return false;
    switch (n->kind) {
    case AST_NIL: *ret = expr_nil(); return true;
    case AST_BOOL: *ret = expr_bool(n->b); return true;
    case AST_INT: *ret = expr_int(n->i); return true;
    case AST_FLOAT: *ret = expr_float(n->f); return true;
    case AST_STRING: {
        char *s = arena_strndup(&c->p->arena, n->str ? n->str : "", n->str ? n->len : 0);
        if (!s)
            return false;
        *ret = expr_strv(s, n->str ? n->len : 0);
        return true;
    }
    case AST_UNARY: {
        struct expr_value v;
        if (!n->left || !cc_fold(c, n->left, &v, depth + 1))
            return false;
        if (n->op == OP_NOT && v.kind == EXPR_BOOL)
            *ret = expr_bool(!v.u.b);
        else if (n->op == OP_NEG && v.kind == EXPR_INT)
            *ret = expr_int((int64_t)(0 - (uint64_t)v.u.i));
        else if (n->op == OP_NEG && v.kind == EXPR_FLOAT)
            *ret = expr_float(-v.u.f);
        else if (n->op == OP_PLUS && (v.kind == EXPR_INT || v.kind == EXPR_FLOAT))
            *ret = v;
        else
            return false;
        return true;
    }
    case AST_BINARY: {
        struct expr_value a;
        if (!n->left || !cc_fold(c, n->left, &a, depth + 1))
            return false;
        return cc_fold_binop(c, n, &a, ret, depth);
    }
    case AST_CALL: return cc_fold_call(c, n, ret, depth);
    default: return false;
    }
}

/*
 * Folds the binary node n whose left operand is already the constant *a:
 * the right operand must fold too and the operator must succeed. Used by
 * cc_fold and, step by step, by the left-spine loop of cc_binary.
 */
static bool
cc_fold_binop(struct cc *c, const struct ast_node *n, const struct expr_value *a,
              struct expr_value *ret, int depth)
{
    int bc = op_to_bc(n->op);
    if (bc < 0 || bc == BC_RANGE || bc == BC_IN || bc == BC_MATCHES || bc == BC_CONTAINS ||
        bc == BC_STARTSWITH || bc == BC_ENDSWITH)
        return false;
    struct expr_value b, r;
    if (!n->right || !cc_fold(c, n->right, &b, depth + 1))
        return false;
    /* A mismatched == is a compile error (cc_binary_tail), not a folded false. */
    if (bc == BC_EQ || bc == BC_NE) {
        struct expr_type ta = EXPR_T(a->kind);
        struct expr_type tb = EXPR_T(b.kind);
        if (!types_comparable(ta, tb))
            return false;
    }
    struct expr_vm *vm = cc_fold_vm(c);
    if (!vm)
        return false;
    vm->has_error = false;
    int rc = expr_vm_binop(vm, bc, a, &b, &r);
    if (rc == 0 && r.kind == EXPR_STRING) {
        char *s = arena_strndup(&c->p->arena, r.u.s.ptr, r.u.s.len);
        if (!s)
            rc = -1;
        else
            r.u.s.ptr = s;
    }
    arena_reset(&vm->arena);
    if (rc < 0)
        return false;
    *ret = r;
    return true;
}

/* A literal array [..] of foldable items, built in the program arena. */
static bool
cc_fold_array(struct cc *c, const struct ast_node *n, struct expr_value *ret)
{
    if (n->kind != AST_ARRAY)
        return false;
    for (size_t i = 0; i < n->nargs; i++)
        if (!is_literal(n->args[i]) && n->args[i]->kind != AST_UNARY &&
            n->args[i]->kind != AST_BINARY)
            return false;
    struct expr_array *a = arena_zalloc(&c->p->arena, sizeof(*a));
    struct expr_value *items =
        arena_alloc(&c->p->arena, (n->nargs ? n->nargs : 1) * sizeof(*items));
    if (!a || !items)
        return false;
    for (size_t i = 0; i < n->nargs; i++)
        if (!cc_fold(c, n->args[i], &items[i], 0))
            return false;
    a->items = items;
    a->len = a->cap = n->nargs;
    ret->kind = EXPR_ARRAY;
    ret->u.a = a;
    return true;
}

static struct expr_type
value_type(struct cc *c, const struct expr_value *v)
{
    if (v->kind != EXPR_ARRAY)
        return EXPR_T(v->kind);
    struct expr_type elem = EXPR_T_ANY;
    for (size_t i = 0; i < v->u.a->len; i++) {
        struct expr_type t = EXPR_T(v->u.a->items[i].kind);
        if (i == 0)
            elem = t;
        else if (!type_same(elem, t))
            elem = EXPR_T_ANY;
    }
    return type_array_of(c, elem);
}

/* --- operators ---------------------------------------------------------- */

static bool
kind_is_scalar(int k)
{
    return k == EXPR_NIL || k == EXPR_BOOL || k == EXPR_INT || k == EXPR_FLOAT ||
           k == EXPR_STRING || k == EXPR_TIME || k == EXPR_DURATION;
}

/*
 * Result type of an arithmetic/ordering operator on two known scalar types,
 * found by running the vm's operator on sample values; -1 if the types do
 * not support it (a compile error, as in expr-lang's checker).
 */
static int
cc_binop_type(struct cc *c, int bc, struct expr_type l, struct expr_type r, struct expr_type *ret)
{
    if (!type_known(l) || !type_known(r) || !kind_is_scalar(l.kind) || !kind_is_scalar(r.kind)) {
        *ret = EXPR_T_ANY;
        if (bc >= BC_LT && bc <= BC_GE)
            *ret = EXPR_T(EXPR_BOOL);
        else if (bc == BC_DIV || bc == BC_POW)
            *ret = EXPR_T(EXPR_FLOAT);
        else if (bc == BC_MOD)
            *ret = EXPR_T(EXPR_INT);
        return 0;
    }
    struct expr_value a = { .kind = l.kind }, b = { .kind = r.kind }, out;
    if (a.kind == EXPR_INT)
        a.u.i = 1;
    if (b.kind == EXPR_INT)
        b.u.i = 1;
    if (a.kind == EXPR_STRING)
        a.u.s.ptr = "";
    if (b.kind == EXPR_STRING)
        b.u.s.ptr = "";
    struct expr_vm *vm = cc_fold_vm(c);
    if (!vm)
        return -1;
    vm->has_error = false;
    int rc = expr_vm_binop(vm, bc, &a, &b, &out);
    arena_reset(&vm->arena);
    if (rc < 0)
        return -1;
    *ret = EXPR_T(out.kind);
    return 0;
}

static int
cc_check_bool(struct cc *c, const struct ast_node *n, struct expr_type t, const char *op,
              struct expr_type other)
{
    if (type_known(t) && t.kind != EXPR_BOOL)
        return cc_error(c, n, "invalid operation: %s (mismatched types %s and %s)", op,
                        type_name(t), type_name(other));
    return 0;
}

/* Order of the set: shorter first, then by bytes. */
static int
strset_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return alen < blen ? -1 : 1;
    return alen ? memcmp(a, b, alen) : 0;
}

static int
strset_qsort_cmp(const void *x, const void *y)
{
    const struct strv *a = x, *b = y;
    return strset_cmp(a->ptr, a->len, b->ptr, b->len);
}

/* Below this many items a linear scan (lengths first) is cheaper than halving. */
#define STRSET_LINEAR_MAX 8

bool
expr_strset_has(const struct bc_strset *set, const char *s, size_t n)
{
    const struct strv *it = set->items;
    if (set->n <= STRSET_LINEAR_MAX) {
        for (size_t i = 0; i < set->n; i++)
            if (it[i].len == n && bc_bytes_eq(it[i].ptr, s, n))
                return true;
        return false;
    }
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strset_cmp(it[mid].ptr, it[mid].len, s, n);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Builds the set for `x in [constant list]`: the strings of the list (borrowed from it). */
static int32_t
cc_string_set(struct cc *c, const struct ast_node *n, const struct expr_array *a)
{
    struct expr_program *p = c->p;
    struct bc_strset set = { .items = malloc((a->len ? a->len : 1) * sizeof(struct strv)) };
    if (!set.items)
        return cc_oom(c, n);
    for (size_t i = 0; i < a->len; i++) {
        const struct expr_value *v = &a->items[i];
        if (v->kind == EXPR_STRING)
            set.items[set.n++] = (struct strv){ v->u.s.ptr ? v->u.s.ptr : "", v->u.s.len };
    }
    if (set.n > 1)
        qsort(set.items, set.n, sizeof(struct strv), strset_qsort_cmp);
    if (p->nsets == p->setcap) {
        size_t ncap = p->setcap ? p->setcap * 2 : 4;
        struct bc_strset *ns = realloc(p->sets, ncap * sizeof(*ns));
        if (!ns) {
            free(set.items);
            return cc_oom(c, n);
        }
        p->sets = ns;
        p->setcap = ncap;
    }
    p->sets[p->nsets] = set;
    return (int32_t)p->nsets++;
}

static int32_t
cc_regex(struct cc *c, const struct ast_node *n, const char *pat, size_t len)
{
    struct expr_program *p = c->p;
    char msg[256];
    struct expr_regex *re = expr_regex_compile(pat, len, msg, sizeof(msg));
    if (!re)
        return cc_error(c, n, "%s", msg);
    if (p->nregexes == p->regexcap) {
        size_t ncap = p->regexcap ? p->regexcap * 2 : 4;
        struct expr_regex **nr = realloc(p->regexes, ncap * sizeof(*nr));
        if (!nr) {
            expr_regex_free(re);
            return cc_oom(c, n);
        }
        p->regexes = nr;
        p->regexcap = ncap;
    }
    p->regexes[p->nregexes] = re;
    return (int32_t)p->nregexes++;
}

/*
 * Finishes the binary node n whose left operand (of static type l) is already
 * compiled. The short-circuit operators (&& || ??) do not patch their jump:
 * they link it into *pending (through the jumps' `a` operands, -1 ends the
 * list) so that a run of the same operator can jump straight to its end.
 */
/* cc_regex for a folded pattern: -1 without an error when the pattern does not compile. */
static int32_t
cc_regex_try(struct cc *c, const struct ast_node *n, const struct expr_value *pat)
{
    char msg[256];
    struct expr_regex *re = expr_regex_compile(pat->u.s.ptr, pat->u.s.len, msg, sizeof(msg));
    if (!re)
        return -1;
    expr_regex_free(re);
    return cc_regex(c, n, pat->u.s.ptr, pat->u.s.len);
}

static int
cc_binary_tail(struct cc *c, const struct ast_node *n, struct expr_type l, int32_t *pending,
               struct expr_type *ret)
{
    struct expr_type r;
    int32_t j;
    int bc;

    switch (n->op) {
    case OP_AND:
    case OP_OR:
        j = cc_emit(c, n, n->op == OP_AND ? BC_JUMP_IF_FALSE : BC_JUMP_IF_TRUE, *pending, 0);
        *pending = j;
        cc_emit(c, n, BC_POP, 0, 0);
        if (cc_node(c, n->right, &r) < 0)
            return -1;
        if (cc_check_bool(c, n, l, op_text(n->op), r) < 0 ||
            cc_check_bool(c, n, r, op_text(n->op), l) < 0)
            return -1;
        *ret = EXPR_T(EXPR_BOOL);
        return 0;
    case OP_COALESCE:
        j = cc_emit(c, n, BC_JUMP_IF_NOT_NIL, *pending, 0);
        *pending = j;
        cc_emit(c, n, BC_POP, 0, 0);
        if (cc_node(c, n->right, &r) < 0)
            return -1;
        *ret = type_same(l, r) ? l : EXPR_T_ANY;
        return 0;
    case OP_IN: {
        struct expr_value arr;
        if (cc_fold_array(c, n->right, &arr)) {
            int32_t k = cc_const(c, n->right, arr);
            int32_t s = cc_string_set(c, n, arr.u.a);
            cc_emit(c, n, BC_IN_SET, s, k);
            *ret = EXPR_T(EXPR_BOOL);
            return 0;
        }
        if (cc_node(c, n->right, &r) < 0)
            return -1;
        if (type_known(r) && r.kind != EXPR_ARRAY && r.kind != EXPR_MAP && r.kind != EXPR_OBJECT &&
            r.kind != EXPR_NIL)
            return cc_error(c, n, "invalid operation: in (mismatched types %s and %s)",
                            type_name(l), type_name(r));
        cc_emit(c, n, BC_IN, 0, 0);
        *ret = EXPR_T(EXPR_BOOL);
        return 0;
    }
    case OP_MATCHES:
        if (type_known(l) && l.kind != EXPR_STRING && l.kind != EXPR_NIL)
            return cc_error(c, n, "invalid operation: matches (mismatched types %s and string)",
                            type_name(l));
        struct expr_value pat;
        if (n->right->kind == AST_STRING) {
            int32_t re = cc_regex(c, n->right, n->right->str, n->right->len);
            if (re < 0)
                return -1;
            cc_emit(c, n, BC_MATCHES_CONST, re, 0);
        } else if (n->right->kind == AST_CALL && cc_fold(c, n->right, &pat, 0) &&
                   pat.kind == EXPR_STRING && cc_regex_try(c, n->right, &pat) >= 0) {
            /*
             * A pattern folded from pure calls (matches Upper('...')): compiled
             * once here, unless it is invalid, which stays a run-time error.
             */
            cc_emit(c, n, BC_MATCHES_CONST, (int32_t)c->p->nregexes - 1, 0);
        } else {
            if (cc_node(c, n->right, &r) < 0)
                return -1;
            cc_emit(c, n, BC_MATCHES, 0, 0);
        }
        *ret = EXPR_T(EXPR_BOOL);
        return 0;
    default: break;
    }

    bc = op_to_bc(n->op);
    if (bc < 0)
        return cc_error(c, n, "unknown operator (%s)", op_text(n->op));
    if (cc_node(c, n->right, &r) < 0)
        return -1;
    switch (bc) {
    case BC_EQ:
    case BC_NE:
        if (!types_comparable(l, r))
            return cc_error(c, n, "invalid operation: %s (mismatched types %s and %s)",
                            op_text(n->op), type_name(l), type_name(r));
        *ret = EXPR_T(EXPR_BOOL);
        break;
    case BC_CONTAINS:
    case BC_STARTSWITH:
    case BC_ENDSWITH:
        if ((type_known(l) && l.kind != EXPR_STRING && l.kind != EXPR_NIL) ||
            (type_known(r) && r.kind != EXPR_STRING && r.kind != EXPR_NIL))
            return cc_error(c, n, "invalid operation: %s (mismatched types %s and %s)",
                            op_text(n->op), type_name(l), type_name(r));
        *ret = EXPR_T(EXPR_BOOL);
        break;
    case BC_RANGE:
        if ((type_known(l) && l.kind != EXPR_INT) || (type_known(r) && r.kind != EXPR_INT))
            return cc_error(c, n, "invalid operation: .. (mismatched types %s and %s)",
                            type_name(l), type_name(r));
        *ret = type_array_of(c, EXPR_T(EXPR_INT));
        break;
    default:
        if (cc_binop_type(c, bc, l, r, ret) < 0)
            return cc_error(c, n, "invalid operation: %s (mismatched types %s and %s)",
                            op_text(n->op), type_name(l), type_name(r));
        break;
    }
    cc_emit(c, n, bc, 0, 0);
    return 0;
}

/* Points every jump of a pending list (see cc_binary_tail) at the current end of the code. */
static void
cc_patch_list(struct cc *c, int32_t head)
{
    int32_t here = cc_here(c);
    /* Each jump links to an earlier one, so the walk ends. */
    while (head >= 0 && !c->failed) {
        int32_t next = c->p->code[head].a;
        c->p->code[head].a = here;
        head = next;
    }
}

/* Pushes the folded constant v; returns its static type. */
static struct expr_type
cc_emit_value(struct cc *c, const struct ast_node *n, struct expr_value v)
{
    if (v.kind == EXPR_NIL)
        cc_emit(c, n, BC_NIL, 0, 0);
    else if (v.kind == EXPR_BOOL)
        cc_emit(c, n, v.u.b ? BC_TRUE : BC_FALSE, 0, 0);
    else
        cc_emit(c, n, BC_CONST, cc_const(c, n, v), 0);
    return EXPR_T(v.kind);
}

/*
 * Binary operators. The parser builds `a || b || c` as ((a || b) || c) and
 * hub filters generated from Sigma rules chain 1,000 and more terms, so the
 * left spine (every binary node reached through left operands, whatever its
 * operator) is walked with a loop: the innermost left operand is compiled
 * first, then each operator outwards. Only right operands recurse, and they
 * count against CC_DEPTH_MAX. Literal prefixes of the spine are folded step
 * by step; a run of one short-circuit operator jumps straight to its end.
 */
static int
cc_binary(struct cc *c, const struct ast_node *n, struct expr_type *ret)
{
    size_t base = c->nspine, len;
    const struct ast_node *x;
    struct expr_value acc;
    struct expr_type l = EXPR_T_ANY;
    int32_t pending = -1;
    int rc = -1;

    for (x = n; x->kind == AST_BINARY; x = x->left) {
        if (!x->left || !x->right) {
            cc_error(c, x, "missing operand");
            goto out;
        }
        if (cc_spine_push(c, x) < 0)
            goto out;
    }
    len = c->nspine - base;
    bool folding = cc_fold(c, x, &acc, 0);
    if (!folding && cc_node(c, x, &l) < 0)
        goto out;
    /* Nested walks push above base and may move the stack: index it afresh each time. */
    for (size_t i = len; i-- > 0;) {
        const struct ast_node *b = c->spine[base + i];
        if (folding) {
            struct expr_value v;
            if (cc_fold_binop(c, b, &acc, &v, 0)) {
                acc = v;
                continue;
            }
            l = cc_emit_value(c, b->left, acc);
            folding = false;
        }
        if (cc_binary_tail(c, b, l, &pending, &l) < 0)
            goto out;
        if (pending >= 0 && (i == 0 || c->spine[base + i - 1]->op != b->op)) {
            cc_patch_list(c, pending);
            pending = -1;
        }
    }
    if (folding)
        l = cc_emit_value(c, n, acc);
    *ret = l;
    rc = 0;
out:
    c->nspine = base;
    return c->failed ? -1 : rc;
}

static int
cc_unary(struct cc *c, const struct ast_node *n, struct expr_type *ret)
{
    struct expr_type t;
    if (cc_node(c, n->left, &t) < 0)
        return -1;
    switch (n->op) {
    case OP_NOT:
        if (type_known(t) && t.kind != EXPR_BOOL)
            return cc_error(c, n, "invalid operation: ! (mismatched type %s)", type_name(t));
        cc_emit(c, n, BC_NOT, 0, 0);
        *ret = EXPR_T(EXPR_BOOL);
        return 0;
    case OP_NEG:
    case OP_PLUS:
        if (type_known(t) && t.kind != EXPR_INT && t.kind != EXPR_FLOAT)
            return cc_error(c, n, "invalid operation: %s (mismatched type %s)", op_text(n->op),
                            type_name(t));
        cc_emit(c, n, n->op == OP_NEG ? BC_NEG : BC_PLUS, 0, 0);
        *ret = t;
        return 0;
    default: return cc_error(c, n, "unknown operator (%s)", op_text(n->op));
    }
}

/* --- names, members, calls ---------------------------------------------- */

static const struct cc_let *
cc_find_let(const struct cc *c, const char *name)
{
    for (size_t i = c->nlets; i-- > 0;)
        if (strcmp(c->lets[i].name, name) == 0)
            return &c->lets[i];
    return NULL;
}

static const struct expr_field *
find_field(const struct expr_class *cls, const char *name)
{
    for (size_t i = 0; cls && i < cls->nfields; i++)
        if (strcmp(cls->fields[i].name, name) == 0)
            return &cls->fields[i];
    return NULL;
}

static const struct expr_method *
find_method(const struct expr_class *cls, const char *name)
{
    for (size_t i = 0; cls && i < cls->nmethods; i++)
        if (strcmp(cls->methods[i].name, name) == 0)
            return &cls->methods[i];
    return NULL;
}

/* The class holding the methods of a static type, or NULL. */
static const struct expr_class *
method_class(struct expr_type t)
{
    if (t.kind == EXPR_OBJECT)
        return t.cls;
    if (t.kind == EXPR_TIME)
        return &expr_time_class;
    if (t.kind == EXPR_DURATION)
        return &expr_duration_class;
    return NULL;
}

static bool
is_chain(const struct ast_node *n)
{
    return n->kind == AST_MEMBER || n->kind == AST_INDEX || n->kind == AST_SLICE ||
           n->kind == AST_METHOD;
}

/* obj.name on an object of static type t (already on the stack). */
static int
cc_member_of(struct cc *c, const struct ast_node *n, struct expr_type t, const char *name,
             size_t namelen, struct expr_type *ret)
{
    if (t.kind == EXPR_OBJECT && t.cls) {
        const struct expr_field *f = find_field(t.cls, name);
        if (f) {
            cc_emit(c, n, BC_FIELD, cc_field(c, n, f), 0);
            *ret = f->type;
            return 0;
        }
        if (t.cls->is_map && t.cls->index) {
            cc_emit(c, n, BC_MAPKEY, cc_const_str(c, n, name, namelen), 0);
            *ret = t.cls->elem_type;
            return 0;
        }
        if (find_method(t.cls, name))
            return cc_error(c, n, "type %s has no field %s (it is a method: call it)", type_name(t),
                            name);
        return cc_error(c, n, "type %s has no field %s", type_name(t), name);
    }
    if (t.kind == EXPR_MAP) {
        cc_emit(c, n, BC_MAPKEY, cc_const_str(c, n, name, namelen), 0);
        *ret = type_elem(t);
        return 0;
    }
    if (t.kind == EXPR_ANY) {
        cc_emit(c, n, BC_MEMBER, cc_const_str(c, n, name, namelen), 0);
        *ret = EXPR_T_ANY;
        return 0;
    }
    return cc_error(c, n, "type %s has no field %s", type_name(t), name);
}

static int cc_args(struct cc *c, const struct ast_node *n);

static int
cc_arity(struct cc *c, const struct ast_node *n, const char *name, int min, int max)
{
    int got = (int)n->nargs;
    if (got < min)
        return cc_error(c, n, "not enough arguments to call %s", name);
    if (max >= 0 && got > max)
        return cc_error(c, n, "too many arguments to call %s", name);
    return 0;
}

/*
 * $env.name and $env["name"] are the variable itself when it exists: returns
 * its slot (and type), or -1.
 */
static int
env_var_slot(const struct cc *c, const struct ast_node *n, struct expr_type *ret_type)
{
    if (!n->left || n->left->kind != AST_ENV)
        return -1;
    if (n->kind == AST_MEMBER)
        return expr_env_find_var(c->env, n->name, ret_type);
    if (n->kind == AST_INDEX && n->right && n->right->kind == AST_STRING && n->right->str &&
        !memchr(n->right->str, 0, n->right->len))
        return expr_env_find_var(c->env, n->right->str, ret_type);
    return -1;
}

/*
 * Finishes the member, index, slice or method node n whose object (of
 * static type t) is already on the stack.
 */
static int
cc_chain_node(struct cc *c, const struct ast_node *n, struct expr_type t, struct expr_type *ret)
{
    struct expr_type k;

    switch (n->kind) {
    case AST_MEMBER: return cc_member_of(c, n, t, n->name, strlen(n->name), ret);

    case AST_INDEX:
        /* A constant key on a typed object resolves like a member. */
        if (n->right->kind == AST_STRING &&
            ((t.kind == EXPR_OBJECT && t.cls && (t.cls->is_map || !t.cls->at)) ||
             t.kind == EXPR_MAP) &&
            !memchr(n->right->str, 0, n->right->len)) {
            if (t.kind == EXPR_OBJECT && t.cls->is_map && t.cls->index) {
                cc_emit(c, n, BC_MAPKEY, cc_const_str(c, n, n->right->str, n->right->len), 0);
                *ret = t.cls->elem_type;
                return 0;
            }
            return cc_member_of(c, n, t, n->right->str, n->right->len, ret);
        }
        if (n->right->kind == AST_STRING && type_known(t) && t.kind != EXPR_ARRAY &&
            t.kind != EXPR_MAP && t.kind != EXPR_OBJECT)
            return cc_error(c, n, "type %s has no field %.*s", type_name(t),
                            (int)MIN(n->right->len, 200), n->right->str);
        if (cc_node(c, n->right, &k) < 0)
            return -1;
        if (t.kind == EXPR_ARRAY && type_known(k) && k.kind != EXPR_INT && k.kind != EXPR_FLOAT)
            return cc_error(c, n->right,
                            "array elements can only be selected using an integer (got %s)",
                            type_name(k));
        /* expr-lang's checker indexes only maps, arrays and structs (not even strings). */
        if (type_known(t) && t.kind != EXPR_ARRAY && t.kind != EXPR_MAP && t.kind != EXPR_OBJECT)
            return cc_error(c, n, "type %s[%s] is undefined", type_name(t), type_name(k));
        cc_emit(c, n, BC_INDEX, 0, 0);
        *ret = type_elem(t);
        return 0;

    case AST_SLICE: {
        int flags = 0;
        if (type_known(t) && t.kind != EXPR_ARRAY && t.kind != EXPR_STRING &&
            !(t.kind == EXPR_OBJECT && type_iterable(t)))
            return cc_error(c, n, "cannot slice %s", type_name(t));
        if (n->from) {
            if (cc_node(c, n->from, &k) < 0)
                return -1;
            if (type_known(k) && k.kind != EXPR_INT)
                return cc_error(c, n->from, "non-integer slice index %s", type_name(k));
            flags |= 1;
        }
        if (n->to) {
            if (cc_node(c, n->to, &k) < 0)
                return -1;
            if (type_known(k) && k.kind != EXPR_INT)
                return cc_error(c, n->to, "non-integer slice index %s", type_name(k));
            flags |= 2;
        }
        cc_emit(c, n, BC_SLICE, flags, 0);
        if (t.kind == EXPR_OBJECT)
            *ret = type_array_of(c, type_elem(t));
        else
            *ret = t;
        return 0;
    }

    case AST_METHOD: {
        const struct expr_class *cls = method_class(t);
        if (type_known(t) && !cls)
            return cc_error(c, n, "type %s has no method %s", type_name(t), n->name);
        const struct expr_method *m = cls ? find_method(cls, n->name) : NULL;
        if (cls && !m) {
            if (find_field(cls, n->name))
                return cc_error(c, n, "%s is not callable", n->name);
            return cc_error(c, n, "type %s has no method %s", type_name(t), n->name);
        }
        if (m && cc_arity(c, n, n->name, m->min_args, m->max_args) < 0)
            return -1;
        if (cc_args(c, n) < 0)
            return -1;
        if (m) {
            cc_emit(c, n, BC_METHOD, cc_method(c, n, m), (int32_t)n->nargs);
            *ret = m->ret_type;
        } else {
            cc_emit(c, n, BC_METHOD_DYN, cc_const_str(c, n, n->name, strlen(n->name)),
                    (int32_t)n->nargs);
            *ret = EXPR_T_ANY;
        }
        return 0;
    }
    default: return cc_error(c, n, "unknown node kind %d", n->kind);
    }
}

/*
 * A chain of member accesses, indexes, slices and method calls: a.b[0].c(x).
 * The parser builds it left-deep and fuzzed input nests it thousands deep, so
 * the left spine is walked with a loop, innermost object first. Each `?.`
 * adds a nil check whose jump is linked into a pending list (through the
 * jumps' `a` operands); a node that ends an optional chain (ast.h) points
 * the pending jumps at its end, where the nil they carry is the chain's value.
 */
static int
cc_chain(struct cc *c, const struct ast_node *n, struct expr_type *ret)
{
    size_t base = c->nspine, i;
    const struct ast_node *x;
    struct expr_type t = EXPR_T_ANY;
    int32_t pending = -1;
    int rc = -1;

    for (x = n; is_chain(x); x = x->left) {
        if (!x->left) {
            cc_error(c, x, "missing expression");
            goto out;
        }
        if (cc_spine_push(c, x) < 0)
            goto out;
    }
    i = c->nspine - base;
    /* cc_node() only sends chain nodes here, so the spine holds at least n itself. */
    if (i == 0) {
        cc_error(c, n, "unexpected node kind %d in a member chain", n->kind);
        goto out;
    }
    int slot = env_var_slot(c, c->spine[base + i - 1], &t);
    if (slot >= 0) {
        cc_emit(c, c->spine[base + i - 1], BC_LOAD_VAR, slot, 0);
        i--;
    } else if (cc_node(c, x, &t) < 0) {
        goto out;
    }
    while (i-- > 0) {
        const struct ast_node *m = c->spine[base + i];
        if (m->optional)
            pending = cc_emit(c, m, BC_JUMP_IF_NIL, pending, 0);
        if (cc_chain_node(c, m, t, &t) < 0)
            goto out;
        if (m->chain && pending >= 0) {
            cc_patch_list(c, pending);
            pending = -1;
        }
    }
    /* The parser marks every chain end; this only guards hand-built trees. */
    cc_patch_list(c, pending);
    *ret = t;
    rc = 0;
out:
    c->nspine = base;
    return c->failed ? -1 : rc;
}

/*
 * A closure passed to a function: its body is compiled here behind a jump,
 * with a scope of its own whose item slot expr_vm_call_closure() fills.
 */
static int
cc_closure_value(struct cc *c, const struct ast_node *n)
{
    struct expr_program *p = c->p;
    if (c->nscopes >= CC_SCOPES_MAX)
        return cc_error(c, n, "closures nested too deeply");
    int32_t base = cc_local(c, n, SCOPE_SLOTS);
    if (base < 0)
        return -1;
    int32_t over = cc_emit(c, n, BC_JUMP, 0, 0);
    int32_t entry = cc_here(c);
    c->scopes[c->nscopes++] = (struct cc_scope){ .base = base, .item = EXPR_T_ANY };
    struct expr_type t;
    int rc = cc_node(c, n->left, &t);
    c->nscopes--;
    if (rc < 0)
        return -1;
    cc_emit(c, n, BC_RETURN, 0, 0);
    cc_patch(c, over);
    GROW(c, p->closures, p->nclosures, p->closurecap, n);
    p->closures[p->nclosures] = (struct bc_closure){ .prog = p, .entry = entry, .scope = base };
    cc_emit(c, n, BC_CLOSURE, (int32_t)p->nclosures++, 0);
    return 0;
}

/* Compiles the arguments, keeping the static types of the first cap of them. */
static int
cc_args_typed(struct cc *c, const struct ast_node *n, struct expr_type *types, size_t cap)
{
    for (size_t i = 0; i < n->nargs; i++) {
        struct expr_type t = EXPR_T_ANY;
        int rc = n->args[i]->kind == AST_CLOSURE ? cc_closure_value(c, n->args[i])
                                                 : cc_node(c, n->args[i], &t);
        if (rc < 0)
            return -1;
        if (i < cap)
            types[i] = t;
    }
    return 0;
}

static int
cc_args(struct cc *c, const struct ast_node *n)
{
    for (size_t i = 0; i < n->nargs; i++) {
        struct expr_type t;
        int rc = n->args[i]->kind == AST_CLOSURE ? cc_closure_value(c, n->args[i])
                                                 : cc_node(c, n->args[i], &t);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* --- predicates --------------------------------------------------------- */

enum pred_kind {
    P_ALL,
    P_ANY,
    P_NONE,
    P_ONE,
    P_FILTER,
    P_MAP,
    P_FIND,
    P_FINDINDEX,
    P_FINDLAST,
    P_FINDLASTINDEX,
    P_COUNT,
    P_SUM,
    P_GROUPBY,
    P_SORTBY,
    P_REDUCE,
};

static const struct {
    const char *name;
    int kind, min, max;
} predicates[] = {
    { "all", P_ALL, 2, 2 },           { "any", P_ANY, 2, 2 },
    { "none", P_NONE, 2, 2 },         { "one", P_ONE, 2, 2 },
    { "filter", P_FILTER, 2, 2 },     { "map", P_MAP, 2, 2 },
    { "find", P_FIND, 2, 2 },         { "findIndex", P_FINDINDEX, 2, 2 },
    { "findLast", P_FINDLAST, 2, 2 }, { "findLastIndex", P_FINDLASTINDEX, 2, 2 },
    { "count", P_COUNT, 1, 2 },       { "sum", P_SUM, 1, 2 },
    { "groupBy", P_GROUPBY, 2, 2 },   { "sortBy", P_SORTBY, 2, 3 },
    { "reduce", P_REDUCE, 2, 3 },
};

/* The body of a predicate argument: a closure's expression, or the argument itself. */
static const struct ast_node *
pred_body(const struct ast_node *arg)
{
    return arg->kind == AST_CLOSURE ? arg->left : arg;
}

/*
 * --- loop-invariant calls in predicate bodies ------------------------------
 *
 * Hub filters test every line of a data file against the same transformed
 * field: any(File('x'), {Upper(evt.Parsed.http_args) contains Upper(#)}).
 * Three rewrites keep the semantics and drop the per-item work:
 * - a pure call whose arguments do not depend on the loop (constants, names,
 *   member and index chains on them, nested pure calls) is evaluated the
 *   first time the body needs it and then read from a local slot until the
 *   loop ends (MEMO_GET / MEMO_SET; MEMO_CLEAR before the loop). It is only
 *   done in bodies without method calls (SetMeta could change the event
 *   between items) and without `let` (a name could then change per item).
 * - in any/all/none/one/count over File('literal') whose body uses # only
 *   as the argument of one pure helper P, the loop runs over the file's lines
 *   already mapped through P (FILE_MAP, computed once per file) and P(#)
 *   reads #.
 * - any(coll, {X op #}) with X invariant and op one of == contains
 *   startsWith endsWith gets a SCAN instruction between X and the item: once
 *   X is known it tests the items in C (cc_scan_op).
 * The pure helpers never fail on strings, and data file lines are strings.
 */
#define CC_WALK_MAX 64

/* Whether a node under n (n included, down to CC_WALK_MAX levels) is a method call, a let or
 * deeper. */
static bool
ast_blocks_memo(const struct ast_node *n, int depth)
{
    if (!n)
        return false;
    if (depth > CC_WALK_MAX || n->kind == AST_METHOD || n->kind == AST_LET)
        return true;
    if (ast_blocks_memo(n->left, depth + 1) || ast_blocks_memo(n->right, depth + 1) ||
        ast_blocks_memo(n->cond, depth + 1) || ast_blocks_memo(n->from, depth + 1) ||
        ast_blocks_memo(n->to, depth + 1))
        return true;
    for (size_t i = 0; i < n->nargs; i++)
        if ((n->args && ast_blocks_memo(n->args[i], depth + 1)) ||
            (n->keys && ast_blocks_memo(n->keys[i], depth + 1)))
            return true;
    return false;
}

static bool
is_predicate_name(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(predicates); i++)
        if (strcmp(predicates[i].name, name) == 0)
            return true;
    return false;
}

static bool cc_func_is_pure(const struct expr_func *f);

/* Whether n has the same value for every item of the enclosing loops. */
static bool
cc_invariant(struct cc *c, const struct ast_node *n, int depth)
{
    if (!n || depth > CC_WALK_MAX)
        return false;
    switch (n->kind) {
    case AST_NIL:
    case AST_BOOL:
    case AST_INT:
    case AST_FLOAT:
    case AST_STRING:
    case AST_IDENT: return true;
    case AST_MEMBER: return cc_invariant(c, n->left, depth + 1);
    case AST_INDEX:
        return cc_invariant(c, n->left, depth + 1) && cc_invariant(c, n->right, depth + 1);
    case AST_CALL: {
        if (is_predicate_name(n->name))
            return false;
        const struct expr_func *f = expr_env_find_func(c->env, n->name);
        if (!f || !cc_func_is_pure(f))
            return false;
        for (size_t i = 0; i < n->nargs; i++)
            if (!cc_invariant(c, n->args[i], depth + 1))
                return false;
        return true;
    }
    default: return false;
    }
}

/*
 * Whether n is worth memoizing in the innermost loop: an invariant member or
 * index chain (a map lookup per item otherwise), or an invariant pure call
 * with at least one non-literal argument (all-literal calls are folded).
 */
static bool
cc_memo_candidate(struct cc *c, const struct ast_node *n)
{
    if (c->nscopes == 0 || !c->scopes[c->nscopes - 1].memo || c->in_memo)
        return false;
    if (n->kind == AST_MEMBER || n->kind == AST_INDEX)
        return cc_invariant(c, n, 0);
    if (n->kind != AST_CALL || is_predicate_name(n->name))
        return false;
    const struct expr_func *f = expr_env_find_func(c->env, n->name);
    if (!f || !cc_func_is_pure(f))
        return false;
    bool variable = false;
    for (size_t i = 0; i < n->nargs; i++) {
        if (!cc_invariant(c, n->args[i], 1))
            return false;
        variable |= !is_literal(n->args[i]);
    }
    return variable;
}

static bool
is_item_pointer(const struct ast_node *n)
{
    return n && n->kind == AST_POINTER && n->name && n->name[0] == '\0';
}

/*
 * Whether every pointer (#, #index, ...) under n is a bare # that is the only
 * argument of a call to f, with no closure in between (a nested predicate
 * would rebind #). *uses counts them.
 */
static bool
body_maps_item(struct cc *c, const struct ast_node *n, const struct expr_func *f, int depth,
               size_t *uses)
{
    if (!n)
        return true;
    if (depth > CC_WALK_MAX || n->kind == AST_POINTER || n->kind == AST_CLOSURE ||
        n->kind == AST_LET)
        return false;
    if (n->kind == AST_CALL && n->nargs == 1 && is_item_pointer(n->args[0]) &&
        !is_predicate_name(n->name) && expr_env_find_func(c->env, n->name) == f) {
        (*uses)++;
        return true;
    }
    if (!body_maps_item(c, n->left, f, depth + 1, uses) ||
        !body_maps_item(c, n->right, f, depth + 1, uses) ||
        !body_maps_item(c, n->cond, f, depth + 1, uses) ||
        !body_maps_item(c, n->from, f, depth + 1, uses) ||
        !body_maps_item(c, n->to, f, depth + 1, uses))
        return false;
    for (size_t i = 0; i < n->nargs; i++)
        if ((n->args && !body_maps_item(c, n->args[i], f, depth + 1, uses)) ||
            (n->keys && !body_maps_item(c, n->keys[i], f, depth + 1, uses)))
            return false;
    return true;
}

/* The first pure one-argument helper applied to # under n, or NULL. */
static const struct expr_func *
body_item_func(struct cc *c, const struct ast_node *n, int depth)
{
    if (!n || depth > CC_WALK_MAX)
        return NULL;
    if (n->kind == AST_CALL && n->nargs == 1 && is_item_pointer(n->args[0]) &&
        !is_predicate_name(n->name)) {
        const struct expr_func *f = expr_env_find_func(c->env, n->name);
        return f && cc_func_is_pure(f) && f->min_args <= 1 && (f->max_args < 0 || f->max_args >= 1)
                   ? f
                   : NULL;
    }
    const struct ast_node *kids[] = { n->left, n->right, n->cond, n->from, n->to };
    for (size_t i = 0; i < ARRAY_SIZE(kids); i++) {
        const struct expr_func *f = body_item_func(c, kids[i], depth + 1);
        if (f)
            return f;
    }
    for (size_t i = 0; n->args && i < n->nargs; i++) {
        const struct expr_func *f = body_item_func(c, n->args[i], depth + 1);
        if (f)
            return f;
    }
    return NULL;
}

/*
 * For `kind(File('lit'), {... P(#) ...})`: P when the loop can run over the
 * mapped lines (see above), else NULL.
 */
static const struct expr_func *
cc_file_map(struct cc *c, const struct ast_node *n, int kind)
{
    if (kind != P_ALL && kind != P_ANY && kind != P_NONE && kind != P_ONE && kind != P_COUNT)
        return NULL;
    const struct ast_node *coll = n->args[0];
    if (n->nargs != 2 || coll->kind != AST_CALL || strcmp(coll->name, "File") != 0 ||
        coll->nargs != 1 || coll->args[0]->kind != AST_STRING)
        return NULL;
    const struct expr_func *file = expr_env_find_func(c->env, "File");
    bool ours = false;
    for (size_t i = 0; file && i < expr_helpers_data_count; i++)
        ours |= file == &expr_helpers_data[i];
    if (!ours)
        return NULL;
    const struct ast_node *body = pred_body(n->args[1]);
    const struct expr_func *f = body_item_func(c, body, 0);
    size_t uses = 0;
    if (!f || !body_maps_item(c, body, f, 0, &uses) || uses == 0)
        return NULL;
    return f;
}

/*
 * any(coll, {X op #}) (or op P(#) over mapped lines) with X invariant and op
 * one of == contains startsWith endsWith: the body is compiled with a SCAN
 * between X and the item, which tests the items natively once X is known.
 */
static int
cc_scan_op(struct cc *c, const struct ast_node *n, int kind, const struct expr_func *mapped,
           bool memo)
{
    if (kind != P_ANY || !memo || n->nargs != 2)
        return -1;
    const struct ast_node *b = pred_body(n->args[1]);
    if (b->kind != AST_BINARY || !b->left || !b->right)
        return -1;
    int op;
    switch (b->op) {
    case OP_EQ: op = BC_SCAN_EQ; break;
    case OP_CONTAINS: op = BC_SCAN_CONTAINS; break;
    case OP_STARTSWITH: op = BC_SCAN_STARTSWITH; break;
    case OP_ENDSWITH: op = BC_SCAN_ENDSWITH; break;
    default: return -1;
    }
    const struct ast_node *r = b->right;
    bool item = is_item_pointer(r) ||
                (mapped && r->kind == AST_CALL && r->nargs == 1 && is_item_pointer(r->args[0]) &&
                 !is_predicate_name(r->name) && expr_env_find_func(c->env, r->name) == mapped);
    return item && cc_invariant(c, b->left, 0) ? op : -1;
}

static int
cc_predicate(struct cc *c, const struct ast_node *n, int kind, struct expr_type *ret)
{
    struct expr_type coll, t;
    const char *name = n->name;
    const struct expr_func *mapped = cc_file_map(c, n, kind);
    if (mapped) {
        const struct ast_node *fa = n->args[0]->args[0];
        cc_emit(c, n->args[0], BC_FILE_MAP, cc_const_str(c, fa, fa->str ? fa->str : "", fa->len),
                cc_func(c, n->args[0], mapped));
        coll = EXPR_T(EXPR_ARRAY);
    } else if (cc_node(c, n->args[0], &coll) < 0) {
        return -1;
    }
    if (!type_iterable(coll))
        return cc_error(c, n->args[0], "builtin %s takes only array (got %s)", name,
                        type_name(coll));
    if (c->nscopes >= CC_SCOPES_MAX)
        return cc_error(c, n, "predicates nested too deeply");
    int32_t s = cc_local(c, n, SCOPE_SLOTS);
    if (s < 0)
        return -1;
    bool memo = n->nargs >= 2 && !ast_blocks_memo(pred_body(n->args[1]), 0);
    int32_t clear = memo ? cc_emit(c, n, BC_MEMO_CLEAR, 0, 0) : -1;
    bool rev = kind == P_FINDLAST || kind == P_FINDLASTINDEX;
    cc_emit(c, n, rev ? BC_BEGIN_REV : BC_BEGIN, s, 0);

    int32_t empty_jump = -1;
    if (kind == P_SUM) {
        cc_emit(c, n, BC_CONST, cc_const(c, n, expr_int(0)), 0);
        cc_emit(c, n, BC_STORE, s + SCOPE_ACC, 0);
    } else if (kind == P_REDUCE && n->nargs == 3) {
        if (cc_node(c, n->args[2], &t) < 0)
            return -1;
        cc_emit(c, n, BC_STORE, s + SCOPE_ACC, 0);
    } else if (kind == P_REDUCE) {
        /* No initial value: the first element is the accumulator; empty input is an error. */
        empty_jump = cc_emit(c, n, BC_NEXT, s, 0);
        cc_emit(c, n, BC_LOAD, s + SCOPE_ITEM, 0);
        cc_emit(c, n, BC_STORE, s + SCOPE_ACC, 0);
        /* STEP jumps over the THROW below, to the loop head. */
        cc_emit(c, n, BC_STEP, s, cc_here(c) + 2);
        if (!c->failed)
            c->p->code[empty_jump].b = cc_here(c);
        cc_emit(c, n, BC_THROW,
                cc_const_str(c, n, "reduce of empty array with no initial value", 43), 0);
    }

    int32_t loop = cc_here(c);
    int32_t next = cc_emit(c, n, rev ? BC_NEXT_REV : BC_NEXT, s, 0);
    c->scopes[c->nscopes++] = (struct cc_scope){ .base = s,
                                                 .item = type_elem(coll),
                                                 .has_index = kind == P_MAP || kind == P_REDUCE,
                                                 .has_acc = kind == P_REDUCE,
                                                 .memo = memo,
                                                 .memo_lo = -1,
                                                 .memo_hi = -1,
                                                 .mapped = mapped };
    struct expr_type bt = EXPR_T_ANY;
    int rc = 0;
    int scan_op = cc_scan_op(c, n, kind, mapped, memo);
    int32_t scan = -1;
    if (scan_op >= 0) {
        /* The body `X op #` by hand, so that SCAN sits between X and the item. */
        const struct ast_node *b = pred_body(n->args[1]);
        struct expr_type l;
        int32_t pending = -1;
        rc = cc_node(c, b->left, &l);
        if (rc == 0) {
            scan = cc_emit(c, n, scan_op, next, 0);
            rc = cc_binary_tail(c, b, l, &pending, &bt);
        }
    } else if (n->nargs >= 2) {
        rc = cc_node(c, pred_body(n->args[1]), &bt);
    } else {
        cc_emit(c, n, BC_LOAD, s + SCOPE_ITEM, 0);
    }
    const struct cc_scope *done = &c->scopes[--c->nscopes];
    if (rc < 0)
        return -1;
    if (clear >= 0 && !c->failed) {
        /* Slots between lo and hi that are not memos belong to the body, which sets them before
         * use. */
        if (done->memo_lo >= 0) {
            c->p->code[clear].a = done->memo_lo;
            c->p->code[clear].b = done->memo_hi - done->memo_lo + 1;
        } else {
            c->p->code[clear].op = BC_NOP;
        }
    }
    bool want_bool = kind <= P_FINDLASTINDEX && kind != P_MAP;
    if (kind == P_COUNT && n->nargs == 2)
        want_bool = true;
    if (want_bool && type_known(bt) && bt.kind != EXPR_BOOL)
        return cc_error(c, n->args[1], "predicate should return boolean (got %s)", type_name(bt));

    int32_t j, brk = -1;
    int step = rev ? BC_STEP_REV : BC_STEP;
    switch (kind) {
    case P_ALL:
    case P_ANY:
    case P_NONE:
        if (kind == P_NONE)
            cc_emit(c, n, BC_NOT, 0, 0);
        brk = cc_emit(c, n, kind == P_ANY ? BC_JUMP_IF_TRUE : BC_JUMP_IF_FALSE, 0, 0);
        cc_emit(c, n, BC_POP, 0, 0);
        cc_emit(c, n, step, s, loop);
        c->p->code[next].b = cc_here(c);
        cc_emit(c, n, kind == P_ANY ? BC_FALSE : BC_TRUE, 0, 0);
        cc_patch(c, brk);
        if (scan >= 0 && !c->failed)
            c->p->code[scan].b = c->p->code[brk].a;
        *ret = EXPR_T(EXPR_BOOL);
        break;
    case P_ONE:
    case P_COUNT:
        j = cc_emit(c, n, BC_JUMP_IF_FALSE, 0, 0);
        cc_emit(c, n, BC_INC_LOCAL, s + SCOPE_COUNT, 0);
        cc_patch(c, j);
        cc_emit(c, n, BC_POP, 0, 0);
        cc_emit(c, n, step, s, loop);
        c->p->code[next].b = cc_here(c);
        cc_emit(c, n, BC_LOAD, s + SCOPE_COUNT, 0);
        if (kind == P_ONE) {
            cc_emit(c, n, BC_CONST, cc_const(c, n, expr_int(1)), 0);
            cc_emit(c, n, BC_EQ, 0, 0);
            *ret = EXPR_T(EXPR_BOOL);
        } else {
            *ret = EXPR_T(EXPR_INT);
        }
        break;
    case P_FILTER:
        j = cc_emit(c, n, BC_JUMP_IF_FALSE, 0, 0);
        cc_emit(c, n, BC_POP, 0, 0);
        cc_emit(c, n, BC_LOAD, s + SCOPE_ITEM, 0);
        cc_emit(c, n, BC_ACC_PUSH, s, 0);
        cc_emit(c, n, step, s, loop);
        cc_patch(c, j);
        cc_emit(c, n, BC_POP, 0, 0);
        cc_emit(c, n, step, s, loop);
        c->p->code[next].b = cc_here(c);
        cc_emit(c, n, BC_ACC_ARRAY, s, 0);
        *ret = type_array_of(c, type_elem(coll));
        break;
    case P_MAP:
        cc_emit(c, n, BC_ACC_PUSH, s, 0);
        cc_emit(c, n, step, s, loop);
        c->p->code[next].b = cc_here(c);
        cc_emit(c, n, BC_ACC_ARRAY, s, 0);
        *ret = type_array_of(c, bt);
        break;
    case P_FIND:
    case P_FINDLAST:
    case P_FINDINDEX:
    case P_FINDLASTINDEX:
        j = cc_emit(c, n, BC_JUMP_IF_FALSE, 0, 0);
        cc_emit(c, n, BC_POP, 0, 0);
        if (kind == P_FIND || kind == P_FINDLAST)
            cc_emit(c, n, BC_LOAD, s + SCOPE_ITEM, 0);
        else
            cc_emit(c, n, BC_LOAD, s + SCOPE_INDEX, 0);
        brk = cc_emit(c, n, BC_JUMP, 0, 0);
        cc_patch(c, j);
        cc_emit(c, n, BC_POP, 0, 0);
        cc_emit(c, n, step, s, loop);
        c->p->code[next].b = cc_here(c);
        cc_emit(c, n, BC_NIL, 0, 0);
        cc_patch(c, brk);
        *ret = (kind == P_FIND || kind == P_FINDLAST) ? type_elem(coll) : EXPR_T_ANY;
        break;
    case P_SUM:
        cc_emit(c, n, BC_LOAD, s + SCOPE_ACC, 0);
        cc_emit(c, n, BC_ADD, 0, 0);
        cc_emit(c, n, BC_STORE, s + SCOPE_ACC, 0);
        cc_emit(c, n, step, s, loop);
        c->p->code[next].b = cc_here(c);
        cc_emit(c, n, BC_LOAD, s + SCOPE_ACC, 0);
        *ret = (bt.kind == EXPR_INT || bt.kind == EXPR_FLOAT) ? bt : EXPR_T_ANY;
        break;
    case P_GROUPBY:
        cc_emit(c, n, BC_GROUP_ADD, s, 0);
        cc_emit(c, n, step, s, loop);
        c->p->code[next].b = cc_here(c);
        cc_emit(c, n, BC_ACC_MAP, s, 0);
        *ret = EXPR_T(EXPR_MAP);
        break;
    case P_SORTBY:
        cc_emit(c, n, BC_SORT_ADD, s, 0);
        cc_emit(c, n, step, s, loop);
        c->p->code[next].b = cc_here(c);
        if (n->nargs == 3) {
            if (cc_node(c, n->args[2], &t) < 0)
                return -1;
            if (type_known(t) && t.kind != EXPR_STRING)
                return cc_error(c, n->args[2], "sortBy order argument must be a string (got %s)",
                                type_name(t));
        } else {
            cc_emit(c, n, BC_CONST, cc_const_str(c, n, "asc", 3), 0);
        }
        cc_emit(c, n, BC_SORT_END, s, 0);
        *ret = type_array_of(c, type_elem(coll));
        break;
    case P_REDUCE:
        cc_emit(c, n, BC_STORE, s + SCOPE_ACC, 0);
        cc_emit(c, n, step, s, loop);
        c->p->code[next].b = cc_here(c);
        cc_emit(c, n, BC_LOAD, s + SCOPE_ACC, 0);
        *ret = EXPR_T_ANY;
        break;
    default: return cc_error(c, n, "unknown builtin %s", name);
    }
    return c->failed ? -1 : 0;
}

/* --- compile-time argument checks (expr-lang's checker) ------------------- */

#define CC_SIG_ARGS 16

/* Whether a value of static type t (argument node a) may be passed as Go type `in`. */
static bool
sig_assignable(const char *in, size_t inlen, struct expr_type t, const struct ast_node *a)
{
    if (!type_known(t) || (inlen == 3 && memcmp(in, "any", 3) == 0))
        return true;
    if (t.kind == EXPR_NIL)
        return in[0] == '*';
    if (in[0] == '*')
        return false;
    if (inlen == 6 && memcmp(in, "string", 6) == 0)
        return t.kind == EXPR_STRING;
    if (inlen == 3 && memcmp(in, "int", 3) == 0)
        return t.kind == EXPR_INT;
    if (inlen == 7 && memcmp(in, "float64", 7) == 0)
        return t.kind == EXPR_FLOAT || t.kind == EXPR_INT; /* integers are converted */
    if (inlen == 4 && memcmp(in, "bool", 4) == 0)
        return t.kind == EXPR_BOOL;
    if (inlen == 8 && memcmp(in, "[]string", 8) == 0) {
        /*
         * Only what is surely not a []string is refused: an array literal is
         * []interface{}; an array of unknown elements may be a host []string.
         */
        if (t.kind == EXPR_OBJECT)
            return t.cls && t.cls->at && !t.cls->is_map;
        if (t.kind != EXPR_ARRAY)
            return false;
        if (a->kind == AST_ARRAY)
            return false;
        return !t.elem || !type_known(*t.elem) || t.elem->kind == EXPR_STRING;
    }
    if (inlen == 23 && memcmp(in, "map[string]interface {}", 23) == 0)
        return t.kind == EXPR_MAP || (t.kind == EXPR_OBJECT && t.cls && t.cls->is_map);
    return true;
}

/* Go's name of a static type in checker messages ("[]interface {}" for an array literal). */
static const char *
sig_type_name(struct expr_type t, const struct ast_node *a)
{
    if (t.kind == EXPR_ARRAY && t.elem && t.elem->kind == EXPR_STRING && a->kind != AST_ARRAY)
        return "[]string";
    return type_name(t);
}

/*
 * checkArguments() of one overload [sig, end): 0, or -1 with its message in
 * msg (the caller reports the last overload's error, as expr-lang does).
 */
static int
sig_check_one(const char *sig, const char *end, const struct ast_node *n,
              const struct expr_type *types, char *msg, size_t msgsize)
{
    const char *params[CC_SIG_ARGS];
    size_t lens[CC_SIG_ARGS], np = 0;
    bool variadic = false;
    for (const char *p = sig; p < end && np < CC_SIG_ARGS;) {
        const char *q = memchr(p, ',', (size_t)(end - p));
        if (!q)
            q = end;
        if (q - p > 3 && memcmp(p, "...", 3) == 0) {
            variadic = true;
            p += 3;
        }
        params[np] = p;
        lens[np++] = (size_t)(q - p);
        p = q + 1;
    }
    size_t got = n->nargs;
    if (variadic ? got + 1 < np : got != np) {
        snprintf(msg, msgsize, "%s arguments to call %s", got < np ? "not enough" : "too many",
                 n->name);
        return -1;
    }
    for (size_t i = 0; i < got && i < CC_SIG_ARGS; i++) {
        size_t k = variadic && i >= np - 1 ? np - 1 : i;
        if (sig_assignable(params[k], lens[k], types[i], n->args[i]))
            continue;
        if (types[i].kind == EXPR_NIL)
            snprintf(msg, msgsize, "cannot use nil as argument (type %.*s) to call %s",
                     (int)lens[k], params[k], n->name);
        else
            snprintf(msg, msgsize, "cannot use %s as argument (type %.*s) to call %s",
                     sig_type_name(types[i], n->args[i]), (int)lens[k], params[k], n->name);
        return -1;
    }
    return 0;
}

static int
cc_check_sig(struct cc *c, const struct ast_node *n, const char *sig, const struct expr_type *types)
{
    char msg[200] = "";
    const char *p = sig;
    /* One round per overload of a short constant string. */
    for (;;) {
        const char *end = strchr(p, ';');
        if (!end)
            end = p + strlen(p);
        if (sig_check_one(p, end, n, types, msg, sizeof(msg)) == 0)
            return 0;
        if (*end == '\0')
            break;
        p = end + 1;
    }
    return cc_error(c, n, "%s", msg);
}

static bool
validate_class_ok(enum expr_validate_class cls, struct expr_type t)
{
    if (!type_known(t) || t.kind == EXPR_NIL)
        return cls == EXPR_VALIDATE_NONE || !type_known(t);
    /* time.Weekday and time.Month are ints to reflect's Kind(), which the validators test. */
    if (t.kind == EXPR_OBJECT && (t.cls == &expr_weekday_class || t.cls == &expr_month_class))
        return cls != EXPR_VALIDATE_LEN;
    switch (cls) {
    case EXPR_VALIDATE_NONE: return true;
    case EXPR_VALIDATE_LEN:
        return t.kind == EXPR_STRING || t.kind == EXPR_ARRAY || t.kind == EXPR_MAP ||
               (t.kind == EXPR_OBJECT && t.cls && (t.cls->len || t.cls->is_map));
    case EXPR_VALIDATE_NUMBER: return t.kind == EXPR_INT || t.kind == EXPR_FLOAT;
    case EXPR_VALIDATE_CONVERT:
        return t.kind == EXPR_INT || t.kind == EXPR_FLOAT || t.kind == EXPR_STRING;
    }
    return true;
}

/* A builtin with its own validator: expr-lang's arity wording, then the argument class. */
static int
cc_check_validator(struct cc *c, const struct ast_node *n, const struct expr_validator *v,
                   const struct expr_type *types)
{
    int got = (int)n->nargs;
    if (v->max_args < 0 && got < v->min_args)
        return cc_error(c, n, "invalid number of arguments (expected at least %d, got %d)",
                        v->min_args, got);
    if (v->min_args != v->max_args && v->max_args >= 0) {
        if (got < v->min_args)
            return cc_error(c, n, "invalid number of arguments (expected at least %d, got %d)",
                            v->min_args, got);
        if (got > v->max_args)
            return cc_error(c, n, "invalid number of arguments (expected at most %d, got %d)",
                            v->max_args, got);
    } else if (v->max_args >= 0 && got != v->min_args) {
        return cc_error(c, n, "invalid number of arguments (expected %d, got %d)", v->min_args,
                        got);
    }
    if (got >= 1 && !validate_class_ok(v->arg_class, types[0]))
        return cc_error(c, n, "invalid argument for %s (type %s)", v->name,
                        types[0].kind == EXPR_NIL ? "%!s(<nil>)" : type_name(types[0]));
    return 0;
}

/*
 * String helpers without side effects whose result depends on their
 * arguments only: a call with constant arguments is evaluated once here
 * (`Upper('literal')` costs nothing per event). Only the entries of the
 * engine's own tables count, so a context function of the same name is
 * still called at run time.
 */
static const char *const pure_funcs[] = {
    "Upper",      "Lower", "TrimSpace", "Trim", "TrimLeft",   "TrimRight",  "TrimPrefix",
    "TrimSuffix", "upper", "lower",     "trim", "trimPrefix", "trimSuffix",
};

static bool
func_in_table(const struct expr_func *f, const struct expr_func *table, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (f == &table[i])
            return true;
    return false;
}

static bool
cc_func_is_pure(const struct expr_func *f)
{
    if (!func_in_table(f, expr_helpers_strings, expr_helpers_strings_count) &&
        !func_in_table(f, expr_builtins, expr_builtins_count))
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(pure_funcs); i++)
        if (strcmp(pure_funcs[i], f->name) == 0)
            return true;
    return false;
}

#define CC_FOLD_ARGS 4

/*
 * Calls n's function when it is pure and its arguments all fold to
 * strings (nested pure calls included); true with the result (copied into
 * the program arena) in *ret. A call that fails is left to the run time,
 * which reports the error.
 */
static bool
cc_fold_call(struct cc *c, const struct ast_node *n, struct expr_value *ret, int depth)
{
    const struct expr_func *f = expr_env_find_func(c->env, n->name);
    if (!f || !cc_func_is_pure(f) || n->nargs > CC_FOLD_ARGS || (int)n->nargs < f->min_args ||
        (f->max_args >= 0 && (int)n->nargs > f->max_args))
        return false;
    /* With string arguments in the accepted count, every signature check of these passes. */
    struct expr_value args[CC_FOLD_ARGS];
    for (size_t i = 0; i < n->nargs; i++)
        if (!cc_fold(c, n->args[i], &args[i], depth + 1) || args[i].kind != EXPR_STRING)
            return false;
    struct expr_vm *vm = cc_fold_vm(c);
    if (!vm)
        return false;
    vm->has_error = false;
    struct expr_value r;
    int rc = f->call(vm, args, n->nargs, &r);
    if (rc == 0 && !vm->has_error && r.kind == EXPR_STRING) {
        char *s = arena_strndup(&c->p->arena, r.u.s.ptr, r.u.s.len);
        if (s)
            *ret = expr_strv(s, r.u.s.len);
        else
            rc = -1;
    } else {
        rc = -1;
    }
    vm->has_error = false;
    arena_reset(&vm->arena);
    return rc == 0;
}

static int cc_call_func(struct cc *c, const struct ast_node *n, const struct expr_func *f,
                        struct expr_type *ret);

static int
cc_call(struct cc *c, const struct ast_node *n, struct expr_type *ret)
{
    for (size_t i = 0; i < ARRAY_SIZE(predicates); i++) {
        if (strcmp(predicates[i].name, n->name) != 0)
            continue;
        if ((int)n->nargs < predicates[i].min || (int)n->nargs > predicates[i].max)
            return cc_error(c, n, "invalid number of arguments (expected %d, got %zu)",
                            predicates[i].min, n->nargs);
        return cc_predicate(c, n, predicates[i].kind, ret);
    }
    const struct expr_func *f = expr_env_find_func(c->env, n->name);
    if (!f) {
        if (cc_find_let(c, n->name) || expr_env_find_var(c->env, n->name, NULL) >= 0)
            return cc_error(c, n, "%s is not callable", n->name);
        return cc_error(c, n, "unknown name %s", n->name);
    }
    if (c->nscopes > 0 && c->scopes[c->nscopes - 1].mapped == f && n->nargs == 1 &&
        is_item_pointer(n->args[0])) {
        /* The loop runs over the lines already mapped through f (cc_file_map). */
        cc_emit(c, n, BC_LOAD, c->scopes[c->nscopes - 1].base + SCOPE_ITEM, 0);
        *ret = f->ret_type;
        return c->failed ? -1 : 0;
    }
    return cc_call_func(c, n, f, ret);
}

/* A call of function f (not a predicate): arguments, checks, folding, BC_CALL. */
static int
cc_call_func(struct cc *c, const struct ast_node *n, const struct expr_func *f,
             struct expr_type *ret)
{
    const char *sig = expr_func_sig(f);
    const struct expr_validator *v = expr_func_validator(f);
    if (!sig && !v)
        if (cc_arity(c, n, n->name, f->min_args, f->max_args) < 0)
            return -1;
    struct expr_type types[CC_SIG_ARGS];
    int32_t args_at = cc_here(c);
    if (cc_args_typed(c, n, types, CC_SIG_ARGS) < 0)
        return -1;
    if (n->nargs <= CC_SIG_ARGS) {
        if (sig && cc_check_sig(c, n, sig, types) < 0)
            return -1;
        if (v && cc_check_validator(c, n, v, types) < 0)
            return -1;
    }
    if (cc_arity(c, n, n->name, f->min_args, f->max_args) < 0)
        return -1;
    /*
     * Folded arguments were compiled to constant pushes only (no jumps), so
     * dropping them leaves the code consistent.
     */
    struct expr_value folded;
    if (!c->failed && cc_fold_call(c, n, &folded, 0)) {
        c->p->ncode = (size_t)args_at;
        *ret = cc_emit_value(c, n, folded);
        return c->failed ? -1 : 0;
    }
    cc_emit(c, n, BC_CALL, cc_func(c, n, f), (int32_t)n->nargs);
    *ret = f->ret_type;
    return 0;
}

/* --- the other nodes ---------------------------------------------------- */

static int
cc_ident(struct cc *c, const struct ast_node *n, struct expr_type *ret)
{
    const struct cc_let *l = cc_find_let(c, n->name);
    if (l) {
        cc_emit(c, n, BC_LOAD, l->slot, 0);
        *ret = l->type;
        return 0;
    }
    int slot = expr_env_find_var(c->env, n->name, ret);
    if (slot < 0)
        return cc_error(c, n, "unknown name %s", n->name);
    cc_emit(c, n, BC_LOAD_VAR, slot, 0);
    return 0;
}

static int
cc_pointer(struct cc *c, const struct ast_node *n, struct expr_type *ret)
{
    if (c->nscopes == 0)
        return cc_error(c, n, "cannot use pointer accessor outside predicate");
    const struct cc_scope *s = &c->scopes[c->nscopes - 1];
    const char *name = n->name ? n->name : "";
    if (name[0] == '\0') {
        cc_emit(c, n, BC_LOAD, s->base + SCOPE_ITEM, 0);
        *ret = s->item;
    } else if (strcmp(name, "index") == 0 && s->has_index) {
        cc_emit(c, n, BC_LOAD, s->base + SCOPE_INDEX, 0);
        *ret = EXPR_T(EXPR_INT);
    } else if (strcmp(name, "acc") == 0 && s->has_acc) {
        cc_emit(c, n, BC_LOAD, s->base + SCOPE_ACC, 0);
        *ret = EXPR_T_ANY;
    } else {
        return cc_error(c, n, "unknown pointer #%s", name);
    }
    return 0;
}

static int
cc_let(struct cc *c, const struct ast_node *n, struct expr_type *ret)
{
    struct expr_type vt;
    if (expr_env_find_var(c->env, n->name, NULL) >= 0)
        return cc_error(c, n, "cannot redeclare variable %s", n->name);
    if (expr_env_find_func(c->env, n->name))
        return cc_error(c, n, "cannot redeclare function %s", n->name);
    if (cc_find_let(c, n->name))
        return cc_error(c, n, "cannot redeclare %s", n->name);
    if (c->nlets >= CC_LETS_MAX)
        return cc_error(c, n, "too many let bindings");
    if (cc_node(c, n->cond, &vt) < 0)
        return -1;
    int32_t slot = cc_local(c, n, 1);
    if (slot < 0)
        return -1;
    cc_emit(c, n, BC_STORE, slot, 0);
    c->lets[c->nlets++] = (struct cc_let){ .name = n->name, .slot = slot, .type = vt };
    int rc = cc_node(c, n->left, ret);
    c->nlets--;
    return rc;
}

/* cond ? left : right */
static int
cc_conditional(struct cc *c, const struct ast_node *n, struct expr_type *ret)
{
    struct expr_type t, u;
    if (cc_node(c, n->cond, &t) < 0)
        return -1;
    if (type_known(t) && t.kind != EXPR_BOOL)
        return cc_error(c, n->cond, "non-bool expression (type %s) used as condition",
                        type_name(t));
    int32_t j = cc_emit(c, n, BC_JUMP_IF_FALSE, 0, 0);
    cc_emit(c, n, BC_POP, 0, 0);
    if (cc_node(c, n->left, &t) < 0)
        return -1;
    int32_t k = cc_emit(c, n, BC_JUMP, 0, 0);
    cc_patch(c, j);
    cc_emit(c, n, BC_POP, 0, 0);
    if (cc_node(c, n->right, &u) < 0)
        return -1;
    cc_patch(c, k);
    *ret = type_same(t, u) ? t : EXPR_T_ANY;
    return 0;
}

/* [items]: a constant when every item folds. */
static int
cc_array(struct cc *c, const struct ast_node *n, struct expr_type *ret)
{
    struct expr_type t, u = EXPR_T_ANY;
    struct expr_value v;
    if (cc_fold_array(c, n, &v)) {
        cc_emit(c, n, BC_CONST, cc_const(c, n, v), 0);
        *ret = value_type(c, &v);
        return 0;
    }
    for (size_t i = 0; i < n->nargs; i++) {
        if (cc_node(c, n->args[i], &t) < 0)
            return -1;
        u = i == 0 ? t : (type_same(u, t) ? u : EXPR_T_ANY);
    }
    cc_emit(c, n, BC_ARRAY, (int32_t)n->nargs, 0);
    *ret = type_array_of(c, u);
    return 0;
}

/* {key: value, ...} */
static int
cc_map(struct cc *c, const struct ast_node *n, struct expr_type *ret)
{
    struct expr_type t;
    for (size_t i = 0; i < n->nargs; i++) {
        if (cc_node(c, n->keys[i], &t) < 0)
            return -1;
        if (type_known(t) && t.kind != EXPR_STRING)
            return cc_error(c, n->keys[i], "cannot use %s as type string in map key", type_name(t));
        if (cc_node(c, n->args[i], &t) < 0)
            return -1;
    }
    cc_emit(c, n, BC_MAP, (int32_t)n->nargs, 0);
    *ret = EXPR_T(EXPR_MAP);
    return 0;
}

/* a; b; c: the value of the last. */
static int
cc_sequence(struct cc *c, const struct ast_node *n, struct expr_type *ret)
{
    if (n->nargs == 0)
        return cc_error(c, n, "empty sequence expression");
    for (size_t i = 0; i < n->nargs; i++) {
        if (cc_node(c, n->args[i], ret) < 0)
            return -1;
        if (i + 1 < n->nargs)
            cc_emit(c, n, BC_POP, 0, 0);
    }
    return 0;
}

/* Literals, unary and binary operators: folded to a constant when they can be. */
static int
cc_operator(struct cc *c, const struct ast_node *n, struct expr_type *ret)
{
    struct expr_value v;
    if (cc_fold(c, n, &v, 0)) {
        *ret = cc_emit_value(c, n, v);
        return 0;
    }
    if (n->kind == AST_UNARY)
        return cc_unary(c, n, ret);
    if (n->kind == AST_BINARY)
        return cc_binary(c, n, ret);
    return cc_oom(c, n);
}

/*
 * Compiles any node; the only entry to recursion, so it counts the depth.
 * It stays a thin dispatcher: its frame is paid once per nesting level
 * (frames are large under ASan, and callers may run on small thread stacks).
 */
static int
cc_node(struct cc *c, const struct ast_node *n, struct expr_type *ret)
{
    int rc;

    /* Callers may read *ret after a failure, so it is always written. */
    *ret = EXPR_T_ANY;
    if (c->failed)
        return -1;
    if (!n)
        return cc_error(c, NULL, "missing expression");
    if (c->depth >= CC_DEPTH_MAX)
        return cc_error(c, n, "expression nested too deeply");
    c->depth++;
    rc = cc_memo_candidate(c, n) ? cc_memo(c, n, ret) : cc_dispatch(c, n, ret);
    c->depth--;
    return c->failed ? -1 : rc;
}

/*
 * n computed the first time the loop body reaches it, then read back from a
 * slot until the loop ends (MEMO_CLEAR before it empties the slot).
 */
static int
cc_memo(struct cc *c, const struct ast_node *n, struct expr_type *ret)
{
    int32_t slot = cc_local(c, n, 1);
    if (slot < 0)
        return -1;
    struct cc_scope *sc = &c->scopes[c->nscopes - 1];
    if (sc->memo_lo < 0)
        sc->memo_lo = slot;
    sc->memo_hi = slot;
    int32_t get = cc_emit(c, n, BC_MEMO_GET, slot, 0);
    c->in_memo = true;
    int rc = cc_dispatch(c, n, ret);
    c->in_memo = false;
    if (rc < 0)
        return -1;
    cc_emit(c, n, BC_MEMO_SET, slot, 0);
    if (!c->failed)
        c->p->code[get].b = cc_here(c);
    return c->failed ? -1 : 0;
}

static int
cc_dispatch(struct cc *c, const struct ast_node *n, struct expr_type *ret)
{
    int rc;
    switch (n->kind) {
    case AST_NIL:
    case AST_BOOL:
    case AST_INT:
    case AST_FLOAT:
    case AST_STRING:
    case AST_UNARY:
    case AST_BINARY: rc = cc_operator(c, n, ret); break;
    case AST_IDENT: rc = cc_ident(c, n, ret); break;
    case AST_ENV:
        rc = cc_emit(c, n, BC_LOAD_ENV, 0, 0) < 0 ? -1 : 0;
        *ret = EXPR_T(EXPR_MAP);
        break;
    case AST_POINTER: rc = cc_pointer(c, n, ret); break;
    case AST_MEMBER:
    case AST_INDEX:
    case AST_SLICE:
    case AST_METHOD: rc = cc_chain(c, n, ret); break;
    case AST_CALL: rc = cc_call(c, n, ret); break;
    case AST_CONDITIONAL: rc = cc_conditional(c, n, ret); break;
    case AST_ARRAY: rc = cc_array(c, n, ret); break;
    case AST_MAP: rc = cc_map(c, n, ret); break;
    case AST_CLOSURE: rc = cc_error(c, n, "unexpected closure outside a function call"); break;
    case AST_LET: rc = cc_let(c, n, ret); break;
    case AST_SEQUENCE: rc = cc_sequence(c, n, ret); break;
    default: rc = cc_error(c, n, "unknown node kind %d", n->kind); break;
    }
    return rc;
}

/* --- superinstructions -------------------------------------------------- */

/*
 * Marks every instruction some jump or closure call can land on: a fused op
 * may only swallow instructions that are reached from the one before.
 */
static bool *
fuse_targets(const struct expr_program *p)
{
    bool *t = calloc(p->ncode + 1, sizeof(bool));
    if (!t)
        return NULL;
    for (size_t i = 0; i < p->ncode; i++) {
        const struct bc_insn *in = &p->code[i];
        int32_t to = -1;
        switch (in->op) {
        case BC_JUMP:
        case BC_JUMP_IF_FALSE:
        case BC_JUMP_IF_TRUE:
        case BC_JUMP_IF_NIL:
        case BC_JUMP_IF_NOT_NIL: to = in->a; break;
        case BC_NEXT:
        case BC_NEXT_REV:
        case BC_STEP:
        case BC_STEP_REV:
        case BC_MEMO_GET: to = in->b; break;
        case BC_SCAN_EQ:
        case BC_SCAN_CONTAINS:
        case BC_SCAN_STARTSWITH:
        case BC_SCAN_ENDSWITH:
            to = in->b;
            if (in->a >= 0 && (size_t)in->a <= p->ncode)
                t[in->a] = true;
            break;
        default: break;
        }
        if (to >= 0 && (size_t)to <= p->ncode)
            t[to] = true;
    }
    for (size_t i = 0; i < p->nclosures; i++)
        if (p->closures[i].entry >= 0 && (size_t)p->closures[i].entry <= p->ncode)
            t[p->closures[i].entry] = true;
    return t;
}

/* The superinstruction for the sequence at code[i..], or -1; *ret_len is its length. */
static int
fuse_at(const struct expr_program *p, size_t i, const bool *target)
{
    const struct bc_insn *in = &p->code[i];
    size_t left = p->ncode - i;
    int second = left >= 2 && !target[i + 1] ? p->code[i + 1].op : -1;
    int third = left >= 3 && !target[i + 2] ? p->code[i + 2].op : -1;

    switch (in->op) {
    case BC_LOAD_VAR:
        if (second == BC_FIELD && third == BC_MAPKEY)
            return BC_VAR_FIELD_MAPKEY;
        if (second == BC_FIELD)
            return BC_VAR_FIELD;
        if (second == BC_MAPKEY)
            return BC_VAR_MAPKEY;
        return -1;
    case BC_CONST:
        switch (second) {
        case BC_EQ: return BC_EQ_CONST;
        case BC_NE: return BC_NE_CONST;
        case BC_CONTAINS: return BC_CONTAINS_CONST;
        case BC_STARTSWITH: return BC_STARTSWITH_CONST;
        case BC_ENDSWITH: return BC_ENDSWITH_CONST;
        case BC_INDEX: return BC_INDEX_CONST;
        default: return -1;
        }
    case BC_JUMP_IF_FALSE: return second == BC_POP ? BC_JUMP_IF_FALSE_POP : -1;
    case BC_JUMP_IF_TRUE: return second == BC_POP ? BC_JUMP_IF_TRUE_POP : -1;
    default: return -1;
    }
}

/*
 * The last pass: rewrites common sequences into one superinstruction each
 * (see EXPR_OPCODES), so that `evt.Meta.x == "y" && ...` runs in a few
 * dispatches without pushing constants. The other instructions of a
 * sequence keep their place and operands (the vm skips them; the
 * disassembly shows them). No instruction but the first of a sequence may
 * be a jump target. Only an optimisation: on allocation failure the code is
 * left as it is.
 */
static void
cc_fuse(struct expr_program *p)
{
    bool *target = fuse_targets(p);
    if (!target)
        return;
    for (size_t i = 0; i < p->ncode; i++) {
        struct bc_insn *in = &p->code[i];
        int op = fuse_at(p, i, target);
        if (op < 0)
            continue;
        if (op == BC_VAR_FIELD || op == BC_VAR_MAPKEY || op == BC_VAR_FIELD_MAPKEY)
            in->b = p->code[i + 1].a;
        in->op = (uint8_t)op;
        i += (size_t)expr_opcode_len(op) - 1;
    }
    free(target);
}

/* --- program ------------------------------------------------------------ */

struct expr_program *
expr_compile(const struct expr_env *env, const char *src, size_t len, struct expr_type expect,
             struct expr_error *err)
{
    struct expr_program *p = calloc(1, sizeof(*p));
    struct arena ast_arena;
    arena_init(&ast_arena, 8192);
    struct cc c = { .p = p, .env = env, .err = err };
    if (err)
        memset(err, 0, sizeof(*err));
    if (!p)
        goto oom;
    arena_init(&p->arena, 4096);
    p->env = env;
    p->source = malloc(len + 1);
    if (!p->source)
        goto oom;
    if (len)
        memcpy(p->source, src, len);
    p->source[len] = '\0';
    p->srclen = len;

    struct parse_error perr = { 0 };
    struct ast_node *root = ast_parse(&ast_arena, p->source, len, &perr);
    if (!root) {
        expr_error_set(err, p->source, len, perr.line, perr.column, perr.message);
        goto fail;
    }
    struct expr_type t;
    if (cc_node(&c, root, &t) < 0)
        goto fail;
    if (expect.kind == EXPR_BOOL && type_known(t) && t.kind != EXPR_BOOL) {
        cc_error(&c, root, "expected bool, but got %s", type_name(t));
        goto fail;
    }
    cc_emit(&c, root, BC_RETURN, 0, 0);
    if (c.failed)
        goto fail;
    p->main_end = (int32_t)p->ncode;
    p->type = t;
    cc_fuse(p);
    arena_free(&ast_arena);
    expr_vm_free(c.fold_vm);
    free(c.spine);
    return p;
oom:
    expr_error_set(err, NULL, 0, 0, 0, "out of memory");
fail:
    arena_free(&ast_arena);
    expr_vm_free(c.fold_vm);
    free(c.spine);
    expr_program_free(p);
    return NULL;
}

void
expr_program_free(struct expr_program *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nregexes; i++)
        expr_regex_free(p->regexes[i]);
    for (size_t i = 0; i < p->nsets; i++)
        free(p->sets[i].items);
    free(p->regexes);
    free(p->sets);
    free(p->code);
    free(p->consts);
    free(p->fields);
    free(p->methods);
    free(p->funcs);
    free(p->closures);
    free(p->source);
    arena_free(&p->arena);
    free(p);
}

const char *
expr_program_source(const struct expr_program *p)
{
    return p ? p->source : NULL;
}

struct expr_type
expr_program_type(const struct expr_program *p)
{
    return p ? p->type : EXPR_T_ANY;
}

bool
expr_program_calls_methods(const struct expr_program *p)
{
    for (size_t i = 0; p && i < p->ncode; i++)
        if (p->code[i].op == BC_METHOD || p->code[i].op == BC_METHOD_DYN)
            return true;
    return false;
}

static const char *const opcode_names[BC_COUNT_] = {
#define CC_OPCODE_NAME(name, len) [BC_##name] = #name,
    EXPR_OPCODES(CC_OPCODE_NAME)
#undef CC_OPCODE_NAME
};

static const unsigned char opcode_lens[BC_COUNT_] = {
#define CC_OPCODE_LEN(name, len) [BC_##name] = (len),
    EXPR_OPCODES(CC_OPCODE_LEN)
#undef CC_OPCODE_LEN
};

const char *
expr_opcode_name(int op)
{
    if (op < 0 || op >= BC_COUNT_ || !opcode_names[op])
        return "?";
    return opcode_names[op];
}

int
expr_opcode_len(int op)
{
    if (op < 0 || op >= BC_COUNT_)
        return 1;
    return opcode_lens[op];
}

static void
dump_value(const struct expr_value *v, FILE *out)
{
    switch (v->kind) {
    case EXPR_INT: fprintf(out, "%lld", (long long)v->u.i); break;
    case EXPR_FLOAT: fprintf(out, "%g", v->u.f); break;
    case EXPR_STRING:
        fprintf(out, "\"%.*s\"", v->u.s.len > 60 ? 60 : (int)v->u.s.len, v->u.s.ptr);
        break;
    case EXPR_ARRAY: fprintf(out, "[%zu items]", v->u.a->len); break;
    default: fputs(expr_kind_name((enum expr_kind)v->kind), out); break;
    }
}

/*
 * One instruction per line: index, opcode, operands, and what the operands
 * name (constant, field, method, function) after a semicolon.
 */
void
expr_program_dump(const struct expr_program *p, FILE *out)
{
    if (!p || !out)
        return;
    fprintf(out, "; %s\n; %zu instructions, %zu constants, %d local slots\n", p->source, p->ncode,
            p->nconsts, p->nlocals);
    /* The instructions a superinstruction stands for are shown after it, marked with '|'. */
    size_t covered = 0;
    for (size_t i = 0; i < p->ncode; i++) {
        const struct bc_insn *in = &p->code[i];
        char mark = covered > 0 ? '|' : ' ';
        if (covered > 0)
            covered--;
        else
            covered = (size_t)expr_opcode_len(in->op) - 1;
        fprintf(out, "%04zu %c%-17s %5d %5d", i, mark, expr_opcode_name(in->op), in->a, in->b);
        switch (in->op) {
        case BC_VAR_FIELD:
        case BC_VAR_FIELD_MAPKEY:
            fprintf(out, "  ; %s.%s", expr_env_var_name(p->env, (size_t)in->a),
                    p->fields[in->b]->name);
            break;
        case BC_VAR_MAPKEY:
            fprintf(out, "  ; %s[", expr_env_var_name(p->env, (size_t)in->a));
            dump_value(&p->consts[in->b], out);
            fputc(']', out);
            break;
        case BC_EQ_CONST:
        case BC_NE_CONST:
        case BC_CONTAINS_CONST:
        case BC_STARTSWITH_CONST:
        case BC_ENDSWITH_CONST:
        case BC_INDEX_CONST:
        case BC_CONST:
        case BC_MEMBER:
        case BC_MAPKEY:
        case BC_METHOD_DYN:
        case BC_THROW:
            fputs("  ; ", out);
            dump_value(&p->consts[in->a], out);
            break;
        case BC_IN_SET:
            fputs("  ; ", out);
            dump_value(&p->consts[in->b], out);
            break;
        case BC_FIELD: fprintf(out, "  ; .%s", p->fields[in->a]->name); break;
        case BC_METHOD: fprintf(out, "  ; .%s()", p->methods[in->a]->name); break;
        case BC_CALL: fprintf(out, "  ; %s()", p->funcs[in->a]->name); break;
        case BC_LOAD_VAR: fprintf(out, "  ; %s", expr_env_var_name(p->env, (size_t)in->a)); break;
        default: break;
        }
        fputc('\n', out);
    }
}
