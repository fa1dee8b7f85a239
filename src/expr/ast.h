/*
 * ast.h - the syntax tree the parser builds and the compiler consumes
 * (private to src/expr).
 *
 * Every node lives in the compile arena and carries its source position so
 * compile errors can point at it. Sugar is removed by the parser:
 *   a | f(b)            -> f(a, b)            (AST_CALL)
 *   .field  (in closure) -> #.field           (AST_MEMBER on AST_POINTER)
 *   if c {a} else {b}   -> c ? a : b          (AST_CONDITIONAL)
 *   not in / not matches / ... -> AST_UNARY(NOT, AST_BINARY(...))
 *   a; b                -> AST_SEQUENCE
 */
#ifndef PHALANX_EXPR_AST_H
#define PHALANX_EXPR_AST_H

#include "common/arena.h"
#include "expr.h"

enum ast_kind {
    AST_NIL,
    AST_BOOL,        /* b */
    AST_INT,         /* i */
    AST_FLOAT,       /* f */
    AST_STRING,      /* str, len (escapes already decoded) */
    AST_IDENT,       /* name: a variable, a let-bound name, or (as callee) a function */
    AST_ENV,         /* $env */
    AST_POINTER,     /* #, #index, #acc: name is "" / "index" / "acc" (or a let-free #name) */
    AST_MEMBER,      /* left.name, left?.name (optional) */
    AST_INDEX,       /* left[right], left?.[right] (optional) */
    AST_SLICE,       /* left[from:to]; from/to may be NULL */
    AST_CALL,        /* name(args): function or predicate; callee NULL */
    AST_METHOD,      /* left.name(args): method call on a host object */
    AST_UNARY,       /* op left */
    AST_BINARY,      /* left op right */
    AST_CONDITIONAL, /* cond ? left : right */
    AST_ARRAY,       /* [args] */
    AST_MAP,      /* {keys[i]: args[i]} ; keys are AST nodes (strings/idents become AST_STRING) */
    AST_CLOSURE,  /* { left }: predicate body; evaluated per element with # bound */
    AST_LET,      /* let name = cond; left   (left is the rest of the program) */
    AST_SEQUENCE, /* args[0]; args[1]; ... value of the last */
};

enum ast_op {
    OP_NONE,
    /* unary */
    OP_NOT,
    OP_NEG,
    OP_PLUS,
    /* binary, lowest precedence first */
    OP_OR,
    OP_AND,
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_GT,
    OP_LE,
    OP_GE,
    OP_IN,
    OP_MATCHES,
    OP_CONTAINS,
    OP_STARTSWITH,
    OP_ENDSWITH,
    OP_RANGE, /* .. */
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_MOD,
    OP_POW,      /* ** and ^ */
    OP_COALESCE, /* ?? */
};

struct ast_node {
    uint8_t kind;  /* enum ast_kind */
    uint8_t op;    /* enum ast_op for UNARY/BINARY */
    bool optional; /* ?. / ?.[ on MEMBER, INDEX, METHOD */
    /*
     * chain: this MEMBER/INDEX/METHOD is the outermost node of an optional
     * chain (expr-lang's ChainNode). A nil met by any optional access inside
     * it (down the left operands, up to a node that is itself a chain end)
     * makes the whole chain nil: a?.b.c is nil when a is nil, while in
     * a?.b[0] the chain ends at a?.b and nil[0] is then evaluated.
     */
    bool chain;
    int line, column; /* 1-based position of the node's first token (operator for binary) */
    const char *name; /* NUL-terminated, in the arena: IDENT, POINTER, MEMBER, CALL, METHOD, LET */
    const char *str;  /* AST_STRING bytes (may contain NUL), in the arena */
    size_t len;       /* AST_STRING length */
    bool b;
    int64_t i;
    double f;
    struct ast_node *left, *right; /* operands; MEMBER/INDEX/SLICE/METHOD object is left */
    struct ast_node *cond;         /* CONDITIONAL condition, LET value */
    struct ast_node *from, *to;    /* SLICE bounds (NULL = open) */
    struct ast_node **args; /* CALL/METHOD arguments, ARRAY items, MAP values, SEQUENCE items */
    struct ast_node **keys; /* MAP keys */
    size_t nargs;
};

struct parse_error {
    int line, column;
    char message[256];
};

/*
 * Parses src into a tree allocated from arena. Returns the root, or NULL with
 * err filled ("unexpected token X", "unterminated string", ...). The parser
 * knows the predicate names (all any none one filter map find findIndex
 * findLast findLastIndex count sum groupBy sortBy reduce) so that their second
 * argument is wrapped in AST_CLOSURE whether or not it was written in braces.
 */
struct ast_node *ast_parse(struct arena *arena, const char *src, size_t len,
                           struct parse_error *err);

/* Prints the tree as an S-expression, for tests: (== (. evt Meta) "x"). */
void ast_dump(const struct ast_node *n, FILE *out);

#endif
