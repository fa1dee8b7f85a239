/*
 * parser.c - builds the syntax tree of an expr-lang 1.17 expression.
 *
 * A port of expr-lang's precedence-climbing parser (parser/parser.go), so that
 * every expression CrowdSec accepts is cut the same way: the binary operator
 * table and its quirks (comparison chains a < b < c become (a < b) and
 * (b < c); `??` cannot be mixed with other operators without parentheses; a
 * pipe `x | f(y)` calls f(x, y) and further operators then apply to the call;
 * `.field` and `#` only exist inside predicate arguments; true/false/nil and
 * numbers take no postfix). Errors carry expr-lang's messages and positions.
 * The first error stops the parse: expr-lang keeps going but only reports the
 * first one, which is the same thing except for exotic inputs where a later
 * lexical error would override it.
 *
 * Nodes are allocated in the caller's arena. Recursion is bounded by
 * PARSE_MAX_DEPTH and the node count by expr-lang's default MaxNodes.
 */
#include "common/common.h"

#include <math.h>

#include "ast.h"
#include "lexer.h"

#define PARSE_MAX_DEPTH 128
#define PARSE_MAX_NODES 10000

struct parser {
    struct arena *arena;
    struct expr_lexer lx;
    struct expr_lex_token cur, stash;
    bool has_stash;
    bool failed;
    struct parse_error *err;
    int depth;           /* recursion depth, bounded */
    int predicate_depth; /* > 0 inside a predicate argument: # and .f are allowed */
    size_t nodes;
};

static void
error_at(struct parser *p, const struct expr_lex_token *tok, const char *msg)
{
    if (p->failed)
        return;
    p->failed = true;
    p->err->line = tok->pos.line;
    p->err->column = tok->pos.col + 1;
    /* Long messages (quoting long tokens) are cut to the error struct's size. */
    size_t n = strlen(msg);
    if (n >= sizeof(p->err->message))
        n = sizeof(p->err->message) - 1;
    memcpy(p->err->message, msg, n);
    p->err->message[n] = '\0';
}

static void
error_unexpected(struct parser *p, const struct expr_lex_token *tok)
{
    char desc[200];
    expr_lex_describe(tok, desc, sizeof(desc));
    char msg[256];
    snprintf(msg, sizeof(msg), "unexpected token %s", desc);
    error_at(p, tok, msg);
}

static void
next(struct parser *p)
{
    if (p->has_stash) {
        p->cur = p->stash;
        p->has_stash = false;
        return;
    }
    if (p->failed)
        return;
    int rc = expr_lex_next(&p->lx, &p->cur);
    if (rc == 1) {
        error_at(p, &p->cur, "unexpected end of expression");
    } else if (rc < 0) {
        p->failed = true;
        expr_lex_locate(&p->lx, p->lx.err_rune, &p->err->line, &p->err->column);
        snprintf(p->err->message, sizeof(p->err->message), "%s", p->lx.message);
    }
}

static bool
tok_is(const struct expr_lex_token *t, uint8_t kind, const char *val)
{
    return t->kind == kind && (!val || (strlen(val) == t->len && memcmp(t->val, val, t->len) == 0));
}

static bool
is_op(const struct parser *p, const char *val)
{
    return tok_is(&p->cur, EXPR_LEX_OPERATOR, val);
}

static bool
is_bracket(const struct parser *p, const char *val)
{
    return tok_is(&p->cur, EXPR_LEX_BRACKET, val);
}

static void
expect(struct parser *p, uint8_t kind, const char *val)
{
    if (tok_is(&p->cur, kind, val)) {
        next(p);
        return;
    }
    error_unexpected(p, &p->cur);
}

static struct ast_node *
new_node(struct parser *p, uint8_t kind, const struct expr_lex_token *at)
{
    if (p->failed)
        return NULL;
    if (++p->nodes > PARSE_MAX_NODES) {
        error_at(p, &p->cur, "compilation failed: expression exceeds maximum allowed nodes");
        return NULL;
    }
    struct ast_node *n = arena_zalloc(p->arena, sizeof(*n));
    if (!n) {
        error_at(p, &p->cur, "out of memory");
        return NULL;
    }
    n->kind = kind;
    n->line = at->pos.line;
    n->column = at->pos.col + 1;
    return n;
}

static const char *
tok_name(struct parser *p, const struct expr_lex_token *t)
{
    char *s = arena_strndup(p->arena, t->val, t->len);
    if (!s)
        error_at(p, &p->cur, "out of memory");
    return s;
}

/* Appends to a growing node array; *cap tracks its capacity. */
static bool
push(struct parser *p, struct ast_node ***arr, size_t *n, size_t *cap, struct ast_node *x)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        struct ast_node **a = arena_realloc(p->arena, *arr, *cap * sizeof(struct ast_node *),
                                            ncap * sizeof(struct ast_node *));
        if (!a) {
            error_at(p, &p->cur, "out of memory");
            return false;
        }
        *arr = a;
        *cap = ncap;
    }
    (*arr)[(*n)++] = x;
    return true;
}

struct binop {
    const char *text;
    uint8_t op;
    int precedence;
    bool right_assoc;
};

/* parser/operator/operator.go */
static const struct binop binops[] = {
    { "|", OP_NONE, 0, false },
    { "or", OP_OR, 10, false },
    { "||", OP_OR, 10, false },
    { "and", OP_AND, 15, false },
    { "&&", OP_AND, 15, false },
    { "==", OP_EQ, 20, false },
    { "!=", OP_NE, 20, false },
    { "<", OP_LT, 20, false },
    { ">", OP_GT, 20, false },
    { ">=", OP_GE, 20, false },
    { "<=", OP_LE, 20, false },
    { "in", OP_IN, 20, false },
    { "matches", OP_MATCHES, 20, false },
    { "contains", OP_CONTAINS, 20, false },
    { "startsWith", OP_STARTSWITH, 20, false },
    { "endsWith", OP_ENDSWITH, 20, false },
    { "..", OP_RANGE, 25, false },
    { "+", OP_ADD, 30, false },
    { "-", OP_SUB, 30, false },
    { "*", OP_MUL, 60, false },
    { "/", OP_DIV, 60, false },
    { "%", OP_MOD, 60, false },
    { "**", OP_POW, 100, true },
    { "^", OP_POW, 100, true },
    { "??", OP_COALESCE, 500, false },
};

/*
 * Looks an operator up by its text only, whatever the token kind, as
 * expr-lang does: after `not` even a string token "in" acts as the operator.
 */
static const struct binop *
find_binop(const struct expr_lex_token *t)
{
    for (size_t i = 0; i < ARRAY_SIZE(binops); i++)
        if (t->len == strlen(binops[i].text) && memcmp(t->val, binops[i].text, t->len) == 0)
            return &binops[i];
    return NULL;
}

static bool
is_comparison(const struct expr_lex_token *t)
{
    return tok_is(t, EXPR_LEX_OPERATOR, "<") || tok_is(t, EXPR_LEX_OPERATOR, ">") ||
           tok_is(t, EXPR_LEX_OPERATOR, "<=") || tok_is(t, EXPR_LEX_OPERATOR, ">=");
}

static bool
is_negatable(const struct expr_lex_token *t)
{
    static const char *const ops[] = { "contains", "matches", "startsWith", "endsWith", "in" };
    for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
        if (t->len == strlen(ops[i]) && memcmp(t->val, ops[i], t->len) == 0)
            return true;
    return false;
}

/* Argument kinds of the predicate builtins (parser.go's predicates table). */
enum { ARG_EXPR = 1, ARG_PREDICATE = 2, ARG_OPTIONAL = 0x80 };

static const struct {
    const char *name;
    uint8_t args[3];
    size_t nargs;
} predicates[] = {
    { "all", { ARG_EXPR, ARG_PREDICATE }, 2 },
    { "none", { ARG_EXPR, ARG_PREDICATE }, 2 },
    { "any", { ARG_EXPR, ARG_PREDICATE }, 2 },
    { "one", { ARG_EXPR, ARG_PREDICATE }, 2 },
    { "filter", { ARG_EXPR, ARG_PREDICATE }, 2 },
    { "map", { ARG_EXPR, ARG_PREDICATE }, 2 },
    { "count", { ARG_EXPR, ARG_PREDICATE | ARG_OPTIONAL }, 2 },
    { "sum", { ARG_EXPR, ARG_PREDICATE | ARG_OPTIONAL }, 2 },
    { "find", { ARG_EXPR, ARG_PREDICATE }, 2 },
    { "findIndex", { ARG_EXPR, ARG_PREDICATE }, 2 },
    { "findLast", { ARG_EXPR, ARG_PREDICATE }, 2 },
    { "findLastIndex", { ARG_EXPR, ARG_PREDICATE }, 2 },
    { "groupBy", { ARG_EXPR, ARG_PREDICATE }, 2 },
    { "sortBy", { ARG_EXPR, ARG_PREDICATE, ARG_EXPR | ARG_OPTIONAL }, 3 },
    { "reduce", { ARG_EXPR, ARG_PREDICATE, ARG_EXPR | ARG_OPTIONAL }, 3 },
};

static struct ast_node *parse_expression(struct parser *p, int precedence);
static struct ast_node *parse_sequence(struct parser *p);
static struct ast_node *parse_postfix(struct parser *p, struct ast_node *node);

static bool
enter(struct parser *p)
{
    if (p->failed)
        return false;
    if (++p->depth > PARSE_MAX_DEPTH) {
        error_at(p, &p->cur, "expression too deeply nested");
        return false;
    }
    return true;
}

static struct ast_node *
leave(struct parser *p, struct ast_node *n)
{
    p->depth--;
    return p->failed ? NULL : n;
}

static struct ast_node *
new_binary(struct parser *p, uint8_t op, struct ast_node *l, struct ast_node *r,
           const struct expr_lex_token *at)
{
    struct ast_node *n = new_node(p, AST_BINARY, at);
    if (n) {
        n->op = op;
        n->left = l;
        n->right = r;
    }
    return n;
}

static struct ast_node *
parse_sequence(struct parser *p)
{
    struct ast_node *first = parse_expression(p, 0);
    if (!first)
        return NULL;
    struct ast_node **items = NULL;
    size_t n = 0, cap = 0;
    if (!push(p, &items, &n, &cap, first))
        return NULL;
    while (is_op(p, ";") && !p->failed) {
        next(p);
        if (p->cur.kind == EXPR_LEX_EOF)
            break;
        struct ast_node *x = parse_expression(p, 0);
        if (!x || !push(p, &items, &n, &cap, x))
            return NULL;
    }
    if (p->failed)
        return NULL;
    if (n == 1)
        return first;
    struct ast_node *seq = new_node(p, AST_SEQUENCE, &p->cur);
    if (!seq)
        return NULL;
    seq->line = first->line;
    seq->column = first->column;
    seq->args = items;
    seq->nargs = n;
    return seq;
}

/* let name = value; rest */
static struct ast_node *
parse_let(struct parser *p)
{
    expect(p, EXPR_LEX_OPERATOR, "let");
    struct expr_lex_token name = p->cur;
    expect(p, EXPR_LEX_IDENT, NULL);
    expect(p, EXPR_LEX_OPERATOR, "=");
    struct ast_node *value = parse_expression(p, 0);
    expect(p, EXPR_LEX_OPERATOR, ";");
    struct ast_node *rest = parse_sequence(p);
    struct ast_node *n = new_node(p, AST_LET, &name);
    if (!n || !value || !rest)
        return NULL;
    n->name = tok_name(p, &name);
    n->cond = value;
    n->left = rest;
    return p->failed ? NULL : n;
}

/* if c { a } else { b }, else-if chains included */
static struct ast_node *
parse_if(struct parser *p)
{
    if (!enter(p))
        return NULL;
    struct expr_lex_token at = p->cur;
    next(p);
    struct ast_node *cond = parse_expression(p, 0);
    expect(p, EXPR_LEX_BRACKET, "{");
    struct ast_node *a = parse_sequence(p);
    expect(p, EXPR_LEX_BRACKET, "}");
    expect(p, EXPR_LEX_OPERATOR, "else");
    struct ast_node *b;
    if (is_op(p, "if")) {
        b = parse_if(p);
    } else {
        expect(p, EXPR_LEX_BRACKET, "{");
        b = parse_sequence(p);
        expect(p, EXPR_LEX_BRACKET, "}");
    }
    struct ast_node *n = new_node(p, AST_CONDITIONAL, &at);
    if (n) {
        n->cond = cond;
        n->left = a;
        n->right = b;
    }
    return leave(p, n);
}

/* The ternary `c ? a : b` and the elvis form `a ?: b`, only at precedence 0. */
static struct ast_node *
parse_conditional(struct parser *p, struct ast_node *node)
{
    while (is_op(p, "?") && !p->failed) {
        struct expr_lex_token at = p->cur;
        struct ast_node *a, *b;
        next(p);
        if (!is_op(p, ":")) {
            a = parse_expression(p, 0);
            expect(p, EXPR_LEX_OPERATOR, ":");
            b = parse_expression(p, 0);
        } else {
            next(p);
            a = node; /* shared: a ?: b evaluates a twice, as expr-lang does */
            b = parse_expression(p, 0);
        }
        struct ast_node *n = new_node(p, AST_CONDITIONAL, &at);
        if (!n)
            return NULL;
        n->cond = node;
        n->left = a;
        n->right = b;
        node = n;
    }
    return p->failed ? NULL : node;
}

/* a < b <= c  ->  (a < b) and (b <= c); the middle operand is shared. */
static struct ast_node *
parse_comparison(struct parser *p, struct ast_node *left, struct expr_lex_token tok, int prec)
{
    struct ast_node *root = NULL;
    /* Each round consumes a comparison operator of the bounded input. */
    for (;;) {
        struct ast_node *rhs = parse_expression(p, prec + 1);
        if (!rhs)
            return NULL;
        const struct binop *op = find_binop(&tok);
        if (!op) {
            error_unexpected(p, &tok);
            return NULL;
        }
        struct ast_node *cmp = new_binary(p, op->op, left, rhs, &tok);
        if (!cmp)
            return NULL;
        root = root ? new_binary(p, OP_AND, root, cmp, &tok) : cmp;
        if (!root)
            return NULL;
        left = rhs;
        tok = p->cur;
        if (!is_comparison(&tok) || p->failed)
            break;
        next(p);
    }
    return root;
}

static struct ast_node *
parse_closure(struct parser *p)
{
    struct expr_lex_token start = p->cur;
    bool braces = false;
    if (is_bracket(p, "{")) {
        next(p);
        braces = true;
    }
    p->predicate_depth++;
    struct ast_node *body;
    if (braces) {
        body = parse_sequence(p);
    } else {
        body = parse_expression(p, 0);
        if (is_op(p, ";"))
            error_at(p, &p->cur, "wrap predicate with brackets { and }");
    }
    p->predicate_depth--;
    if (braces)
        expect(p, EXPR_LEX_BRACKET, "}");
    struct ast_node *n = new_node(p, AST_CLOSURE, &start);
    if (!n || !body)
        return NULL;
    n->left = body;
    return n;
}

/* (a, b, c) after a callee; `have` arguments came from a pipe. */
static bool
parse_arguments(struct parser *p, struct ast_node ***args, size_t *n, size_t *cap)
{
    size_t offset = *n;
    expect(p, EXPR_LEX_BRACKET, "(");
    while (!is_bracket(p, ")") && !p->failed) {
        if (*n > offset)
            expect(p, EXPR_LEX_OPERATOR, ",");
        if (is_bracket(p, ")"))
            break;
        struct ast_node *x = parse_expression(p, 0);
        if (!x || !push(p, args, n, cap, x))
            return false;
    }
    expect(p, EXPR_LEX_BRACKET, ")");
    return !p->failed;
}

/* name(...) with `piped` (NULL or the left side of a pipe) as first argument. */
static struct ast_node *
parse_call(struct parser *p, const struct expr_lex_token *name, struct ast_node *piped)
{
    struct ast_node **args = NULL;
    size_t n = 0, cap = 0;
    if (piped && !push(p, &args, &n, &cap, piped))
        return NULL;
    size_t pi = ARRAY_SIZE(predicates);
    for (size_t i = 0; i < ARRAY_SIZE(predicates); i++)
        if (tok_is(name, EXPR_LEX_IDENT, predicates[i].name))
            pi = i;
    if (pi < ARRAY_SIZE(predicates)) {
        expect(p, EXPR_LEX_BRACKET, "(");
        size_t first = n, count = predicates[pi].nargs - first;
        for (size_t i = 0; i < count && !p->failed; i++) {
            uint8_t kind = predicates[pi].args[first + i];
            if (kind & ARG_OPTIONAL) {
                if (is_bracket(p, ")"))
                    break;
            } else if (is_bracket(p, ")")) {
                char msg[64];
                snprintf(msg, sizeof(msg), "expected at least %zu arguments", count);
                error_at(p, &p->cur, msg);
                return NULL;
            }
            if (i > 0)
                expect(p, EXPR_LEX_OPERATOR, ",");
            struct ast_node *x = (kind & ARG_EXPR) ? parse_expression(p, 0) : parse_closure(p);
            if (!x || !push(p, &args, &n, &cap, x))
                return NULL;
        }
        if (is_op(p, ","))
            next(p);
        expect(p, EXPR_LEX_BRACKET, ")");
    } else if (!parse_arguments(p, &args, &n, &cap)) {
        return NULL;
    }
    struct ast_node *call = new_node(p, AST_CALL, name);
    if (!call)
        return NULL;
    call->name = tok_name(p, name);
    call->args = args;
    call->nargs = n;
    return p->failed ? NULL : call;
}

static struct ast_node *
parse_array(struct parser *p)
{
    struct expr_lex_token at = p->cur;
    struct ast_node **items = NULL;
    size_t n = 0, cap = 0;
    expect(p, EXPR_LEX_BRACKET, "[");
    while (!is_bracket(p, "]") && !p->failed) {
        if (n > 0) {
            expect(p, EXPR_LEX_OPERATOR, ",");
            if (is_bracket(p, "]"))
                break;
        }
        struct ast_node *x = parse_expression(p, 0);
        if (!x || !push(p, &items, &n, &cap, x))
            return NULL;
    }
    expect(p, EXPR_LEX_BRACKET, "]");
    struct ast_node *arr = new_node(p, AST_ARRAY, &at);
    if (!arr)
        return NULL;
    arr->args = items;
    arr->nargs = n;
    return arr;
}

static struct ast_node *
parse_map(struct parser *p)
{
    struct expr_lex_token at = p->cur;
    struct ast_node **keys = NULL, **values = NULL;
    size_t nk = 0, capk = 0, nv = 0, capv = 0;
    expect(p, EXPR_LEX_BRACKET, "{");
    while (!is_bracket(p, "}") && !p->failed) {
        if (nv > 0) {
            expect(p, EXPR_LEX_OPERATOR, ",");
            if (is_bracket(p, "}"))
                break;
            if (is_op(p, ",")) {
                error_unexpected(p, &p->cur);
                return NULL;
            }
        }
        struct ast_node *key = NULL;
        uint8_t k = p->cur.kind;
        if (k == EXPR_LEX_NUMBER || k == EXPR_LEX_STRING || k == EXPR_LEX_IDENT) {
            /* A number or identifier key is its source text, as a string. */
            key = new_node(p, AST_STRING, &p->cur);
            if (!key)
                return NULL;
            key->str = tok_name(p, &p->cur);
            key->len = p->cur.len;
            next(p);
        } else if (is_bracket(p, "(")) {
            key = parse_expression(p, 0);
        } else {
            char desc[200];
            expr_lex_describe(&p->cur, desc, sizeof(desc));
            char msg[320];
            snprintf(msg, sizeof(msg),
                     "a map key must be a quoted string, a number, a identifier, or an expression "
                     "enclosed in parentheses (unexpected token %s)",
                     desc);
            error_at(p, &p->cur, msg);
        }
        expect(p, EXPR_LEX_OPERATOR, ":");
        struct ast_node *value = parse_expression(p, 0);
        if (!key || !value || !push(p, &keys, &nk, &capk, key) ||
            !push(p, &values, &nv, &capv, value))
            return NULL;
    }
    expect(p, EXPR_LEX_BRACKET, "}");
    struct ast_node *map = new_node(p, AST_MAP, &at);
    if (!map)
        return NULL;
    map->keys = keys;
    map->args = values;
    map->nargs = nv;
    return map;
}

/* strconv.ParseInt(s, base, 64) of a literal already stripped of its prefix. */
static bool
parse_uint_digits(const char *s, size_t n, int base, int64_t *out, const char **why)
{
    uint64_t v = 0;
    *why = "invalid syntax";
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        int d = s[i] >= '0' && s[i] <= '9'   ? s[i] - '0'
                : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
                : s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10
                                             : 99;
        if (d >= base)
            return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) {
            *why = "value out of range";
            return false;
        }
        v = v * (uint64_t)base + (uint64_t)d;
    }
    if (v > (uint64_t)INT64_MAX) {
        *why = "value out of range";
        return false;
    }
    *out = (int64_t)v;
    return true;
}

/* strconv.ParseFloat(s, 64) restricted to what a Number token can hold. */
static bool
parse_float(const char *s, size_t n, double *out, const char **why)
{
    size_t i = 0, mant = 0;
    *why = "invalid syntax";
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
        mant++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            mant++;
        }
    }
    if (mant == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exp = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            exp++;
        }
        if (exp == 0)
            return false;
    }
    if (i != n)
        return false;
    char *end;
    double d = strtod(s, &end);
    if (isinf(d)) {
        *why = "value out of range";
        return false;
    }
    *out = d;
    return true;
}

static struct ast_node *
parse_number(struct parser *p, const struct expr_lex_token *tok)
{
    /* Underscores may appear anywhere: expr-lang strips them all first. */
    char buf[256];
    size_t n = 0;
    for (size_t i = 0; i < tok->len; i++) {
        if (tok->val[i] == '_')
            continue;
        if (n + 1 >= sizeof(buf)) {
            error_at(p, &p->cur, "invalid integer literal: number too long");
            return NULL;
        }
        buf[n++] = tok->val[i];
    }
    buf[n] = '\0';
    char q[300];
    expr_lex_quote(q, sizeof(q), 0, buf, n);
    const char *why;
    bool hexa = n >= 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X');
    bool bin = n >= 2 && buf[0] == '0' && (buf[1] == 'b' || buf[1] == 'B');
    bool oct = n >= 2 && buf[0] == '0' && (buf[1] == 'o' || buf[1] == 'O');
    bool flt = !hexa && (memchr(buf, '.', n) || memchr(buf, 'e', n) || memchr(buf, 'E', n));
    int64_t iv = 0;
    if (flt) {
        double d = 0;
        if (!parse_float(buf, n, &d, &why)) {
            char msg[400];
            snprintf(msg, sizeof(msg), "invalid float literal: strconv.ParseFloat: parsing %s: %s",
                     q, why);
            error_at(p, &p->cur, msg);
            return NULL;
        }
        struct ast_node *f = new_node(p, AST_FLOAT, tok);
        if (f)
            f->f = d;
        return f;
    }
    const char *what = hexa ? "hex" : bin ? "binary" : oct ? "octal" : "integer";
    bool ok = hexa  ? parse_uint_digits(buf + 2, n - 2, 16, &iv, &why)
              : bin ? parse_uint_digits(buf + 2, n - 2, 2, &iv, &why)
              : oct ? parse_uint_digits(buf + 2, n - 2, 8, &iv, &why)
                    : parse_uint_digits(buf, n, 10, &iv, &why);
    if (!ok) {
        char msg[400];
        snprintf(msg, sizeof(msg), "invalid %s literal: strconv.ParseInt: parsing %s: %s", what, q,
                 why);
        error_at(p, &p->cur, msg);
        return NULL;
    }
    struct ast_node *i = new_node(p, AST_INT, tok);
    if (i)
        i->i = iv;
    return i;
}

static struct ast_node *
parse_secondary(struct parser *p)
{
    struct expr_lex_token tok = p->cur;
    struct ast_node *node = NULL;
    switch (tok.kind) {
    case EXPR_LEX_IDENT:
        next(p);
        if (tok_is(&tok, EXPR_LEX_IDENT, "true") || tok_is(&tok, EXPR_LEX_IDENT, "false")) {
            node = new_node(p, AST_BOOL, &tok);
            if (node)
                node->b = tok.val[0] == 't';
            return node;
        }
        if (tok_is(&tok, EXPR_LEX_IDENT, "nil"))
            return new_node(p, AST_NIL, &tok);
        if (is_bracket(p, "(")) {
            node = parse_call(p, &tok, NULL);
        } else {
            bool env = tok_is(&tok, EXPR_LEX_IDENT, "$env");
            node = new_node(p, env ? AST_ENV : AST_IDENT, &tok);
            if (node)
                node->name = tok_name(p, &tok);
        }
        break;
    case EXPR_LEX_NUMBER: next(p); return p->failed ? NULL : parse_number(p, &tok);
    case EXPR_LEX_STRING:
        next(p);
        node = new_node(p, AST_STRING, &tok);
        if (node) {
            node->str = tok.val;
            node->len = tok.len;
        }
        break;
    case EXPR_LEX_BYTES:
        error_at(p, &tok, "bytes literals (b\"...\") are not supported");
        return NULL;
    default:
        if (is_bracket(p, "["))
            node = parse_array(p);
        else if (is_bracket(p, "{"))
            node = parse_map(p);
        else
            error_unexpected(p, &tok);
        break;
    }
    if (!node)
        return NULL;
    return parse_postfix(p, node);
}

static struct ast_node *
parse_primary(struct parser *p)
{
    struct expr_lex_token tok = p->cur;
    if (tok.kind == EXPR_LEX_OPERATOR) {
        uint8_t op = OP_NONE;
        int prec = 0;
        if (tok_is(&tok, EXPR_LEX_OPERATOR, "not") || tok_is(&tok, EXPR_LEX_OPERATOR, "!")) {
            op = OP_NOT;
            prec = 50;
        } else if (tok_is(&tok, EXPR_LEX_OPERATOR, "-")) {
            op = OP_NEG;
            prec = 90;
        } else if (tok_is(&tok, EXPR_LEX_OPERATOR, "+")) {
            op = OP_PLUS;
            prec = 90;
        }
        if (op != OP_NONE) {
            next(p);
            struct ast_node *x = parse_expression(p, prec);
            struct ast_node *u = new_node(p, AST_UNARY, &tok);
            if (!u || !x)
                return NULL;
            u->op = op;
            u->left = x;
            return parse_postfix(p, u);
        }
    }
    if (is_bracket(p, "(")) {
        next(p);
        struct ast_node *x = parse_sequence(p);
        expect(p, EXPR_LEX_BRACKET, ")");
        if (!x || p->failed)
            return NULL;
        return parse_postfix(p, x);
    }
    if (p->predicate_depth > 0 && (is_op(p, "#") || is_op(p, "."))) {
        struct expr_lex_token name = { .kind = EXPR_LEX_IDENT, .val = "", .len = 0 };
        if (is_op(p, "#")) {
            next(p);
            if (p->cur.kind == EXPR_LEX_IDENT) {
                name = p->cur;
                next(p);
            }
        }
        struct ast_node *ptr = new_node(p, AST_POINTER, &tok);
        if (!ptr)
            return NULL;
        ptr->name = tok_name(p, &name);
        return parse_postfix(p, ptr);
    }
    if (is_op(p, "::")) {
        /* ::name(...) calls the builtin even when the environment overrides it. */
        next(p);
        struct expr_lex_token name = p->cur;
        expect(p, EXPR_LEX_IDENT, NULL);
        if (p->failed)
            return NULL;
        struct ast_node *call = parse_call(p, &name, NULL);
        return call ? parse_postfix(p, call) : NULL;
    }
    return parse_secondary(p);
}

static bool
is_chain(const struct ast_node *n)
{
    return (n->kind == AST_MEMBER || n->kind == AST_INDEX || n->kind == AST_METHOD) && n->chain;
}

/* .name  ?.name  .name(args)  [i]  ?.[i]  [a:b] */
static struct ast_node *
parse_postfix(struct parser *p, struct ast_node *node)
{
    struct expr_lex_token tok = p->cur;
    /* Each round consumes at least one token of the bounded input. */
    while ((tok.kind == EXPR_LEX_OPERATOR || tok.kind == EXPR_LEX_BRACKET) && !p->failed) {
        bool optional = tok_is(&tok, EXPR_LEX_OPERATOR, "?.");
        if (optional || tok_is(&tok, EXPR_LEX_OPERATOR, ".")) {
            next(p);
            struct expr_lex_token prop = p->cur;
            if (optional && tok_is(&prop, EXPR_LEX_BRACKET, "[")) {
                tok = prop;
                goto bracket;
            }
            next(p);
            if (prop.kind != EXPR_LEX_IDENT &&
                (prop.kind != EXPR_LEX_OPERATOR || !expr_lex_is_identifier(prop.val, prop.len))) {
                error_at(p, &p->cur, "expected name");
                return NULL;
            }
            if (p->failed)
                return NULL;
            /* A member of a chain extends it: (a?.b).c is a?.b.c. */
            bool chain = is_chain(node);
            node->chain = false;
            struct ast_node *m;
            if (is_bracket(p, "(")) {
                struct ast_node **args = NULL;
                size_t n = 0, cap = 0;
                if (!parse_arguments(p, &args, &n, &cap))
                    return NULL;
                m = new_node(p, AST_METHOD, &prop);
                if (!m)
                    return NULL;
                m->args = args;
                m->nargs = n;
            } else {
                m = new_node(p, AST_MEMBER, &prop);
                if (!m)
                    return NULL;
            }
            m->name = tok_name(p, &prop);
            m->left = node;
            m->optional = optional;
            m->chain = chain || optional;
            node = m;
        } else if (tok_is(&tok, EXPR_LEX_BRACKET, "[")) {
        bracket:
            next(p);
            struct ast_node *from = NULL, *to = NULL;
            bool slice = false;
            if (is_op(p, ":")) {
                slice = true;
                next(p);
                if (!is_bracket(p, "]") && !(to = parse_expression(p, 0)))
                    return NULL;
            } else {
                if (!(from = parse_expression(p, 0)))
                    return NULL;
                if (is_op(p, ":")) {
                    slice = true;
                    next(p);
                    if (!is_bracket(p, "]") && !(to = parse_expression(p, 0)))
                        return NULL;
                }
            }
            struct ast_node *x = new_node(p, slice ? AST_SLICE : AST_INDEX, &tok);
            if (!x)
                return NULL;
            x->left = node;
            if (slice) {
                x->from = from;
                x->to = to;
            } else {
                x->right = from;
                x->optional = optional;
                x->chain = optional;
            }
            expect(p, EXPR_LEX_BRACKET, "]");
            node = x;
        } else {
            break;
        }
        if (p->failed)
            return NULL;
        tok = p->cur;
    }
    return p->failed ? NULL : node;
}

static struct ast_node *
parse_expression_inner(struct parser *p, int precedence)
{
    if (precedence == 0 && is_op(p, "let"))
        return parse_let(p);
    if (precedence == 0 && is_op(p, "if"))
        return parse_if(p);

    struct ast_node *left = parse_primary(p);
    if (!left)
        return NULL;
    const char *prev = NULL;
    struct expr_lex_token optok = p->cur;
    /* Each round consumes an operator token of the bounded input. */
    while (optok.kind == EXPR_LEX_OPERATOR && !p->failed) {
        bool negate = tok_is(&optok, EXPR_LEX_OPERATOR, "not");
        struct expr_lex_token nottok = optok;
        if (negate) {
            struct expr_lex_token backup = p->cur;
            next(p);
            if (p->failed)
                return NULL;
            if (!is_negatable(&p->cur)) {
                error_unexpected(p, &p->cur);
                return NULL;
            }
            const struct binop *b = find_binop(&p->cur);
            if (!b) {
                error_unexpected(p, &p->cur);
                return NULL;
            }
            if (b->precedence < precedence) {
                p->stash = p->cur;
                p->has_stash = true;
                p->cur = backup;
                break;
            }
            nottok = p->cur;
            optok = p->cur;
        }
        const struct binop *op = find_binop(&optok);
        if (!op || op->precedence < precedence)
            break;
        next(p);
        if (p->failed)
            return NULL;
        if (op->op == OP_NONE) {
            /* pipe: x | f(args) -> f(x, args) */
            struct expr_lex_token ident = p->cur;
            expect(p, EXPR_LEX_IDENT, NULL);
            if (p->failed)
                return NULL;
            left = parse_call(p, &ident, left);
            if (!left)
                return NULL;
        } else if (prev && strcmp(prev, "??") == 0 && op->op != OP_COALESCE) {
            char opname[64];
            snprintf(opname, sizeof(opname), "%.*s", (int)optok.len, optok.val);
            char msg[200];
            snprintf(msg, sizeof(msg),
                     "Operator (%s) and coalesce expressions (?\?) cannot be mixed. Wrap either by "
                     "parentheses.",
                     opname);
            error_at(p, &optok, msg);
            return NULL;
        } else if (is_comparison(&optok)) {
            left = parse_comparison(p, left, optok, op->precedence);
            if (!left)
                return NULL;
        } else {
            struct ast_node *right =
                parse_expression(p, op->right_assoc ? op->precedence : op->precedence + 1);
            if (!right)
                return NULL;
            left = new_binary(p, op->op, left, right, &optok);
            if (!left)
                return NULL;
            if (negate) {
                struct ast_node *u = new_node(p, AST_UNARY, &nottok);
                if (!u)
                    return NULL;
                u->op = OP_NOT;
                u->left = left;
                left = u;
            }
        }
        prev = op->text;
        optok = p->cur;
    }
    if (p->failed)
        return NULL;
    if (precedence == 0)
        left = parse_conditional(p, left);
    return left;
}

static struct ast_node *
parse_expression(struct parser *p, int precedence)
{
    if (!enter(p))
        return NULL;
    return leave(p, parse_expression_inner(p, precedence));
}

struct ast_node *
ast_parse(struct arena *arena, const char *src, size_t len, struct parse_error *err)
{
    struct parser p = { .arena = arena, .err = err };
    memset(err, 0, sizeof(*err));
    expr_lex_init(&p.lx, arena, src, len);
    next(&p);
    struct ast_node *root = p.failed ? NULL : parse_sequence(&p);
    if (!p.failed && p.cur.kind != EXPR_LEX_EOF)
        error_unexpected(&p, &p.cur);
    return p.failed ? NULL : root;
}

/*
 * ast_dump format (one line, no trailing newline):
 *   nil true false 42 1.5 "go-quoted"     literals; floats in the shortest %g
 *                                         that round-trips, with ".0" added
 *                                         when it would read as an integer
 *   name  $env  #  #index                 IDENT, ENV, POINTER
 *   (. x name) (?. x name)                MEMBER
 *   ([] x i) (?[] x i)                    INDEX
 *   ([:] x from to)                       SLICE, "_" for an open end
 *   (call f a b)                          CALL
 *   (.call x m a b) (?.call x m a b)      METHOD
 *   (chain X)                             X carries the chain flag
 *   (not x) (- x) (+ x)                   UNARY
 *   (op l r)                              BINARY; op is or and == != < > <= >=
 *                                         in matches contains startsWith
 *                                         endsWith .. + - * / % ** ??
 *   (? c a b)                             CONDITIONAL
 *   [a b]  {k: v, k: v}                   ARRAY, MAP
 *   (fn body)                             CLOSURE
 *   (let x value body)                    LET
 *   (seq a b c)                           SEQUENCE
 */
static const char *const op_names[] = {
    [OP_NONE] = "?",
    [OP_NOT] = "not",
    [OP_NEG] = "-",
    [OP_PLUS] = "+",
    [OP_OR] = "or",
    [OP_AND] = "and",
    [OP_EQ] = "==",
    [OP_NE] = "!=",
    [OP_LT] = "<",
    [OP_GT] = ">",
    [OP_LE] = "<=",
    [OP_GE] = ">=",
    [OP_IN] = "in",
    [OP_MATCHES] = "matches",
    [OP_CONTAINS] = "contains",
    [OP_STARTSWITH] = "startsWith",
    [OP_ENDSWITH] = "endsWith",
    [OP_RANGE] = "..",
    [OP_ADD] = "+",
    [OP_SUB] = "-",
    [OP_MUL] = "*",
    [OP_DIV] = "/",
    [OP_MOD] = "%",
    [OP_POW] = "**",
    [OP_COALESCE] = "??",
};

static void
dump_float(double f, FILE *out)
{
    char buf[64];
    if (isnan(f)) {
        fputs("NaN", out);
        return;
    }
    if (isinf(f)) {
        fputs(f > 0 ? "+Inf" : "-Inf", out);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, f);
        if (strtod(buf, NULL) == f)
            break;
    }
    fputs(buf, out);
    if (!strpbrk(buf, ".e"))
        fputs(".0", out);
}

static void dump(const struct ast_node *n, FILE *out, int depth);

static void
dump_list(struct ast_node *const *items, size_t n, FILE *out, int depth)
{
    for (size_t i = 0; i < n; i++) {
        fputc(' ', out);
        dump(items[i], out, depth);
    }
}

static void
dump_body(const struct ast_node *n, FILE *out, int depth)
{
    switch (n->kind) {
    case AST_NIL: fputs("nil", out); break;
    case AST_BOOL: fputs(n->b ? "true" : "false", out); break;
    case AST_INT: fprintf(out, "%lld", (long long)n->i); break;
    case AST_FLOAT: dump_float(n->f, out); break;
    case AST_STRING: {
        /* An escape is at most 4 bytes per input byte (\xNN), plus quotes and NUL. */
        size_t size = 4 * n->len + 3;
        char *q = malloc(size);
        if (!q)
            break;
        expr_lex_quote(q, size, 0, n->str, n->len);
        fputs(q, out);
        free(q);
        break;
    }
    case AST_IDENT: fputs(n->name, out); break;
    case AST_ENV: fputs("$env", out); break;
    case AST_POINTER: fprintf(out, "#%s", n->name); break;
    case AST_MEMBER:
        fputs(n->optional ? "(?. " : "(. ", out);
        dump(n->left, out, depth);
        fprintf(out, " %s)", n->name);
        break;
    case AST_INDEX:
        fputs(n->optional ? "(?[] " : "([] ", out);
        dump(n->left, out, depth);
        fputc(' ', out);
        dump(n->right, out, depth);
        fputc(')', out);
        break;
    case AST_SLICE:
        fputs("([:] ", out);
        dump(n->left, out, depth);
        fputc(' ', out);
        dump(n->from, out, depth);
        fputc(' ', out);
        dump(n->to, out, depth);
        fputc(')', out);
        break;
    case AST_CALL:
        fprintf(out, "(call %s", n->name);
        dump_list(n->args, n->nargs, out, depth);
        fputc(')', out);
        break;
    case AST_METHOD:
        fputs(n->optional ? "(?.call " : "(.call ", out);
        dump(n->left, out, depth);
        fprintf(out, " %s", n->name);
        dump_list(n->args, n->nargs, out, depth);
        fputc(')', out);
        break;
    case AST_UNARY:
    case AST_BINARY:
        fprintf(out, "(%s ", n->op < ARRAY_SIZE(op_names) ? op_names[n->op] : "?");
        dump(n->left, out, depth);
        if (n->kind == AST_BINARY) {
            fputc(' ', out);
            dump(n->right, out, depth);
        }
        fputc(')', out);
        break;
    case AST_CONDITIONAL:
        fputs("(? ", out);
        dump(n->cond, out, depth);
        fputc(' ', out);
        dump(n->left, out, depth);
        fputc(' ', out);
        dump(n->right, out, depth);
        fputc(')', out);
        break;
    case AST_ARRAY:
        fputc('[', out);
        for (size_t i = 0; i < n->nargs; i++) {
            if (i)
                fputc(' ', out);
            dump(n->args[i], out, depth);
        }
        fputc(']', out);
        break;
    case AST_MAP:
        fputc('{', out);
        for (size_t i = 0; i < n->nargs; i++) {
            if (i)
                fputs(", ", out);
            dump(n->keys[i], out, depth);
            fputs(": ", out);
            dump(n->args[i], out, depth);
        }
        fputc('}', out);
        break;
    case AST_CLOSURE:
        fputs("(fn ", out);
        dump(n->left, out, depth);
        fputc(')', out);
        break;
    case AST_LET:
        fprintf(out, "(let %s ", n->name);
        dump(n->cond, out, depth);
        fputc(' ', out);
        dump(n->left, out, depth);
        fputc(')', out);
        break;
    case AST_SEQUENCE:
        fputs("(seq", out);
        dump_list(n->args, n->nargs, out, depth);
        fputc(')', out);
        break;
    default: fputs("?", out); break;
    }
}

static void
dump(const struct ast_node *n, FILE *out, int depth)
{
    if (!n) {
        fputc('_', out);
        return;
    }
    /* Trees come from ast_parse, whose depth is bounded; this guards hand-made ones. */
    if (depth > 4 * PARSE_MAX_DEPTH) {
        fputs("...", out);
        return;
    }
    bool chain = is_chain(n);
    if (chain)
        fputs("(chain ", out);
    dump_body(n, out, depth + 1);
    if (chain)
        fputc(')', out);
}

void
ast_dump(const struct ast_node *n, FILE *out)
{
    dump(n, out, 0);
}
