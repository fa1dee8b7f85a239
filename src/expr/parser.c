/*
 * parser.c - parser of the expression language (being written).
 */
#include "common/common.h"

#include "ast.h"

struct ast_node *
ast_parse(struct arena *arena, const char *src, size_t len, struct parse_error *err)
{
    UNUSED(arena);
    UNUSED(src);
    UNUSED(len);
    err->line = 1;
    err->column = 1;
    snprintf(err->message, sizeof(err->message), "parser not built yet");
    return NULL;
}

void
ast_dump(const struct ast_node *n, FILE *out)
{
    UNUSED(n);
    fputs("nil", out);
}
