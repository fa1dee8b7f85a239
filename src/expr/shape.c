/*
 * shape.c - what a compiled program's syntax tells without running it, for
 * callers that run the same programs on every event and want to skip the ones
 * whose outcome is already known (scenario filters, groupby, distinct).
 *
 * Everything here reads the program's source again (the compiled code keeps
 * no tree) and recognises a few shapes whose value depends only on members
 * var.field.key of string-valued host maps (evt.Meta.log_type): such a read
 * cannot fail and gives "" for a missing key, so the caller can compute the
 * same thing from its own data. A shape is reported only when the
 * equivalence is exact, errors included: when in doubt, EXPR_SHAPE_NONE.
 */
#include "common/common.h"

#include "expr/ast.h"
#include "expr/bytecode.h"
#include "expr/helpers.h"
#include "expr/internal.h"

#define SHAPE_MAX_VALUES 64
#define SHAPE_MAX_DEPTH  32

struct shape_ctx {
    const struct expr_env *env;
    struct expr_shape *out;
    bool oom;
};

static const struct expr_field *
class_field(const struct expr_class *cls, const char *name)
{
    for (size_t i = 0; cls != NULL && i < cls->nfields; i++)
        if (strcmp(cls->fields[i].name, name) == 0)
            return &cls->fields[i];
    return NULL;
}

/*
 * Whether n is var.field.key (or var.field["key"]) where var is a variable of
 * a host class, field one of its fields whose class is a map of strings, and
 * key a constant that no field of the map class shadows; its parts in *ret
 * (borrowed from the tree).
 */
static bool
member_of(const struct expr_env *env, const struct ast_node *n, const char **ret_var,
          const char **ret_field, const char **ret_key, size_t *ret_keylen, int *ret_slot)
{
    const char *key;
    size_t keylen;
    struct expr_type vt;

    if (n == NULL || n->optional)
        return false;
    if (n->kind == AST_MEMBER && n->name != NULL) {
        key = n->name;
        keylen = strlen(key);
    } else if (n->kind == AST_INDEX && n->right != NULL && n->right->kind == AST_STRING &&
               n->right->str != NULL && memchr(n->right->str, 0, n->right->len) == NULL) {
        key = n->right->str;
        keylen = n->right->len;
    } else {
        return false;
    }
    const struct ast_node *fn = n->left, *vn = fn != NULL ? fn->left : NULL;
    if (fn == NULL || fn->kind != AST_MEMBER || fn->optional || fn->name == NULL || vn == NULL ||
        vn->kind != AST_IDENT || vn->name == NULL)
        return false;
    int slot = expr_env_find_var(env, vn->name, &vt);
    if (slot < 0 || vt.kind != EXPR_OBJECT || vt.cls == NULL)
        return false;
    const struct expr_field *f = class_field(vt.cls, fn->name);
    if (f == NULL || f->type.kind != EXPR_OBJECT || f->type.cls == NULL)
        return false;
    const struct expr_class *mc = f->type.cls;
    if (!mc->is_map || mc->index == NULL || mc->elem_type.kind != EXPR_STRING)
        return false;
    if (n->kind == AST_MEMBER && class_field(mc, key) != NULL)
        return false;
    *ret_var = vn->name;
    *ret_field = fn->name;
    *ret_key = key;
    *ret_keylen = keylen;
    *ret_slot = slot;
    return true;
}

/* Adds n's member to the shape (once). False when n is no member or there are too many. */
static bool
add_member(struct shape_ctx *c, const struct ast_node *n)
{
    const char *var, *field, *key;
    size_t keylen;
    int slot;
    struct expr_shape *s = c->out;

    if (!member_of(c->env, n, &var, &field, &key, &keylen, &slot))
        return false;
    for (size_t i = 0; i < s->nmembers; i++)
        if (s->members[i].var == slot && strcmp(s->members[i].field, field) == 0 &&
            s->members[i].keylen == keylen && memcmp(s->members[i].key, key, keylen) == 0)
            return true;
    if (s->nmembers == EXPR_SHAPE_MAX_MEMBERS)
        return false;
    struct expr_shape_member *m = &s->members[s->nmembers];
    m->var = slot;
    m->field = strdup(field);
    m->key = malloc(keylen + 1);
    if (m->field == NULL || m->key == NULL) {
        free(m->field);
        free(m->key);
        c->oom = true;
        return false;
    }
    memcpy(m->key, key, keylen);
    m->key[keylen] = '\0';
    m->keylen = keylen;
    s->nmembers++;
    return true;
}

/*
 * Whether n, a call, is one of the engine's own string helpers that map ""
 * to "" without an error (a context function of the same name does not
 * count, as in the compiler's folding).
 */
static bool
is_empty_preserving(const struct expr_env *env, const struct ast_node *n)
{
    static const char *const names[] = {
        "Upper", "Lower", "PathUnescape", "QueryUnescape", "TrimSpace", "upper", "lower",
    };

    if (n->kind != AST_CALL || n->nargs != 1 || n->name == NULL)
        return false;
    const struct expr_func *f = expr_env_find_func(env, n->name);
    if (f == NULL)
        return false;
    bool ours = false;
    for (size_t i = 0; i < expr_helpers_strings_count && !ours; i++)
        ours = f == &expr_helpers_strings[i];
    for (size_t i = 0; i < expr_helpers_misc_count && !ours; i++)
        ours = f == &expr_helpers_misc[i];
    for (size_t i = 0; i < expr_builtins_count && !ours; i++)
        ours = f == &expr_builtins[i];
    if (!ours)
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcmp(names[i], n->name) == 0)
            return true;
    return false;
}

/* Whether n is "" when every member it reads is "" (members added to the shape). */
static bool
empty_when_empty(struct shape_ctx *c, const struct ast_node *n, int depth)
{
    if (n == NULL || depth > SHAPE_MAX_DEPTH)
        return false;
    if (n->kind == AST_MEMBER || n->kind == AST_INDEX)
        return add_member(c, n);
    if (is_empty_preserving(c->env, n))
        return empty_when_empty(c, n->args[0], depth + 1);
    return false;
}

/* Whether n is a non-empty string constant, or Upper/Lower of one (case maps keep length > 0). */
static bool
nonempty_const(const struct expr_env *env, const struct ast_node *n, int depth)
{
    if (n == NULL || depth > SHAPE_MAX_DEPTH)
        return false;
    if (n->kind == AST_STRING)
        return n->len > 0;
    if (is_empty_preserving(env, n) &&
        (strcmp(n->name, "Upper") == 0 || strcmp(n->name, "Lower") == 0 ||
         strcmp(n->name, "upper") == 0 || strcmp(n->name, "lower") == 0))
        return nonempty_const(env, n->args[0], depth + 1);
    return false;
}

/* Whether n is false, without an error, when every member it reads is "". */
static bool
false_when_empty(struct shape_ctx *c, const struct ast_node *n, int depth)
{
    if (n == NULL || depth > SHAPE_MAX_DEPTH || n->kind != AST_BINARY)
        return false;
    switch (n->op) {
    case OP_OR: /* false || false */
        return false_when_empty(c, n->left, depth + 1) && false_when_empty(c, n->right, depth + 1);
    case OP_AND: /* false && anything: the right side is not evaluated */
        return false_when_empty(c, n->left, depth + 1);
    case OP_CONTAINS:
    case OP_STARTSWITH:
    case OP_ENDSWITH: /* "" contains "x" */
        return nonempty_const(c->env, n->right, 0) && empty_when_empty(c, n->left, depth + 1);
    case OP_EQ:
        return (nonempty_const(c->env, n->right, 0) && empty_when_empty(c, n->left, depth + 1)) ||
               (nonempty_const(c->env, n->left, 0) && empty_when_empty(c, n->right, depth + 1));
    case OP_IN: {
        const struct ast_node *a = n->right;
        if (a == NULL || a->kind != AST_ARRAY)
            return false;
        for (size_t i = 0; i < a->nargs; i++)
            if (!nonempty_const(c->env, a->args[i], 0))
                return false;
        return empty_when_empty(c, n->left, depth + 1);
    }
    default: return false;
    }
}

static bool
add_value(struct shape_ctx *c, const struct ast_node *n)
{
    struct expr_shape *s = c->out;

    if (n == NULL || n->kind != AST_STRING || s->nvalues == SHAPE_MAX_VALUES)
        return false;
    if (s->values == NULL && (s->values = calloc(SHAPE_MAX_VALUES, sizeof(*s->values))) == NULL) {
        c->oom = true;
        return false;
    }
    struct expr_shape_value *v = &s->values[s->nvalues];
    v->ptr = malloc(n->len + 1);
    if (v->ptr == NULL) {
        c->oom = true;
        return false;
    }
    if (n->len > 0)
        memcpy(v->ptr, n->str, n->len);
    v->ptr[n->len] = '\0';
    v->len = n->len;
    s->nvalues++;
    return true;
}

/* M == "c", "c" == M, M in ["c1", ...]: the constants into the shape. */
static bool
member_in_values(struct shape_ctx *c, const struct ast_node *n)
{
    if (n->kind != AST_BINARY)
        return false;
    if (n->op == OP_EQ) {
        if (n->right != NULL && n->right->kind == AST_STRING && add_member(c, n->left))
            return add_value(c, n->right);
        if (n->left != NULL && n->left->kind == AST_STRING && add_member(c, n->right))
            return add_value(c, n->left);
        return false;
    }
    if (n->op != OP_IN || n->right == NULL || n->right->kind != AST_ARRAY)
        return false;
    for (size_t i = 0; i < n->right->nargs; i++)
        if (n->right->args[i] == NULL || n->right->args[i]->kind != AST_STRING)
            return false;
    if (!add_member(c, n->left))
        return false;
    for (size_t i = 0; i < n->right->nargs; i++)
        if (!add_value(c, n->right->args[i]))
            return false;
    return true;
}

static void
shape_reset(struct expr_shape *s)
{
    for (size_t i = 0; i < s->nmembers; i++) {
        free(s->members[i].field);
        free(s->members[i].key);
    }
    for (size_t i = 0; i < s->nvalues; i++)
        free(s->values[i].ptr);
    free(s->values);
    memset(s, 0, sizeof(*s));
}

void
expr_shape_clear(struct expr_shape *s)
{
    if (s != NULL)
        shape_reset(s);
}

/* Fills ret from the tree (see expr.h); ret is empty (NONE) when no shape fits. */
static void
shape_of(struct shape_ctx *c, const struct ast_node *root)
{
    struct expr_shape *ret = c->out;

    if (add_member(c, root)) {
        ret->kind = EXPR_SHAPE_MEMBER;
        return;
    }
    /* The first conjunct: evaluated first, and its false ends the program. */
    const struct ast_node *first = root;
    while (first->kind == AST_BINARY && first->op == OP_AND && first->left != NULL)
        first = first->left;
    if (member_in_values(c, first) && ret->nmembers == 1) {
        ret->kind = EXPR_SHAPE_IN;
        ret->exact = first == root;
        return;
    }
    shape_reset(ret);
    if (false_when_empty(c, first, 0) && ret->nmembers > 0) {
        ret->kind = EXPR_SHAPE_EMPTY;
        return;
    }
    shape_reset(ret);
}

int
expr_program_shape(const struct expr_program *p, struct expr_shape *ret)
{
    struct arena arena;
    struct parse_error perr;
    struct shape_ctx c = { .env = p->env, .out = ret };

    memset(ret, 0, sizeof(*ret));
    arena_init(&arena, 4096);
    const struct ast_node *root = ast_parse(&arena, p->source, p->srclen, &perr);
    if (root != NULL)
        shape_of(&c, root);
    arena_free(&arena);
    if (c.oom) {
        shape_reset(ret);
        return -ENOMEM;
    }
    return 0;
}
