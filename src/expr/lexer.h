/*
 * lexer.h - the tokenizer of the expression language (private to src/expr).
 *
 * It follows expr-lang 1.17's lexer token for token, because the parser's
 * decisions (and its error messages, which quote tokens) depend on how the
 * source was cut: `not in` is two tokens, `1..2` is Number Operator Number,
 * `.5` is a number, `#index` is Operator("#") Identifier("index"). Tokens are
 * produced lazily, one per call, so that a syntax error early in the input is
 * reported before a lexical error later in it, as expr-lang does.
 */
#ifndef PHALANX_EXPR_LEXER_H
#define PHALANX_EXPR_LEXER_H

#include "common/arena.h"
#include "common/common.h"

enum expr_lex_kind {
    EXPR_LEX_EOF,
    EXPR_LEX_IDENT,
    EXPR_LEX_NUMBER,
    EXPR_LEX_STRING,
    EXPR_LEX_OPERATOR,
    EXPR_LEX_BRACKET,
    EXPR_LEX_BYTES, /* b"..." (expr-lang 1.17 bytes literal); value is the decoded bytes */
};

/* A place in the source: byte offset, rune index, 1-based line, 0-based column in runes. */
struct expr_lex_pos {
    size_t byte;
    size_t rune;
    int line;
    int col;
};

struct expr_lex_token {
    uint8_t kind;    /* enum expr_lex_kind */
    const char *val; /* source slice, or decoded string bytes in the arena */
    size_t len;
    struct expr_lex_pos pos; /* where the token starts */
};

#define EXPR_LEX_QUEUE 4

struct expr_lexer {
    struct arena *arena;
    const char *src;
    size_t len;
    struct expr_lex_pos start, end, prev; /* prev: end before the last next(), for backup */
    bool eof;                             /* the last next() hit the end of the input */
    bool done;                            /* the EOF token has been produced */
    struct expr_lex_token queue[EXPR_LEX_QUEUE];
    unsigned qhead, qlen;
    bool failed;
    size_t err_rune; /* rune index of the error */
    char message[256];
};

void expr_lex_init(struct expr_lexer *lx, struct arena *arena, const char *src, size_t len);

/*
 * Produces the next token. Returns 0 with *tok set, 1 when the EOF token was
 * already returned (the caller asked for more), or -1 on a lexical error (then
 * lx->message and lx->err_rune say what and where; every later call fails too).
 */
int expr_lex_next(struct expr_lexer *lx, struct expr_lex_token *tok);

/* Converts a rune index to expr-lang's 1-based line and column. */
void expr_lex_locate(const struct expr_lexer *lx, size_t rune, int *line, int *column);

/*
 * Writes a token as expr-lang prints it in messages: EOF, Identifier("foo"),
 * Operator("=="), String("a\n") (Go-quoted). Always NUL-terminates.
 */
void expr_lex_describe(const struct expr_lex_token *tok, char *buf, size_t size);

/* Appends s as a Go-quoted string ("a\"b\n") to buf of size bytes; returns the new length. */
size_t expr_lex_quote(char *buf, size_t size, size_t used, const char *s, size_t len);

/* Whether a string is a valid expr-lang identifier (letters, digits, _ and $). */
bool expr_lex_is_identifier(const char *s, size_t len);

#endif
