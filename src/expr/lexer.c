/*
 * lexer.c - the tokenizer of the expression language.
 *
 * A port of expr-lang 1.17's state-machine lexer (the files of parser/lexer): same
 * token boundaries, same escapes, same error messages and error positions
 * (expr-lang counts positions in runes, so we do too). Strings are decoded
 * here, into the arena, the way expr-lang's unescape() does it: \xNN and octal
 * escapes give the rune of that value encoded in UTF-8, invalid UTF-8 bytes
 * become U+FFFD, and a lone CR becomes LF.
 *
 * Character classes follow Go's unicode package exactly for ASCII; for other
 * runes they are an approximation (see expr_lex_rune_is_alnum()).
 */
#include "lexer.h"

#include "internal.h"

#define RUNE_EOF   (-1)
#define RUNE_ERROR 0xFFFD

/*
 * Runes outside ASCII that are neither letters nor decimal digits in Go's
 * unicode tables, as far as blocks of punctuation, symbols, marks and private
 * use go. Everything else beyond ASCII counts as a letter: expressions in the
 * wild name their variables in ASCII, and a too-generous class only accepts
 * identifiers that expr-lang would reject, it never splits a valid one.
 */
static const struct {
    int32_t lo, hi;
} non_alnum_ranges[] = {
    { 0x80, 0xA9 },       { 0xAB, 0xB4 },        { 0xB6, 0xB9 },     { 0xBB, 0xBF },
    { 0xD7, 0xD7 },       { 0xF7, 0xF7 },        { 0x2C2, 0x2C5 },   { 0x2D2, 0x2DF },
    { 0x300, 0x36F },     { 0x2000, 0x206F },    { 0x20A0, 0x20FF }, { 0x2190, 0x2BFF },
    { 0x3000, 0x3004 },   { 0x3008, 0x3020 },    { 0xD800, 0xF8FF }, { 0xFE00, 0xFE0F },
    { 0xFE30, 0xFE4F },   { 0xFF01, 0xFF0F },    { 0xFF1A, 0xFF20 }, { 0xFFF0, 0xFFFF },
    { 0x1F000, 0x1FAFF }, { 0xE0000, 0x10FFFF },
};

static bool
rune_is_alnum(int32_t r)
{
    if (r < 0)
        return false;
    if (r < 0x80)
        return r == '_' || r == '$' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') ||
               (r >= '0' && r <= '9');
    if (expr_rune_is_space(r))
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(non_alnum_ranges); i++)
        if (r >= non_alnum_ranges[i].lo && r <= non_alnum_ranges[i].hi)
            return false;
    return true;
}

static bool
rune_is_alpha(int32_t r)
{
    return rune_is_alnum(r) && !(r >= '0' && r <= '9');
}

bool
expr_lex_is_identifier(const char *s, size_t len)
{
    size_t i = 0, sz;
    if (len == 0)
        return false;
    int32_t r = expr_utf8_decode(s, len, &sz);
    if (!rune_is_alpha(r))
        return false;
    for (i = sz; i < len; i += sz) {
        r = expr_utf8_decode(s + i, len - i, &sz);
        if (!rune_is_alnum(r))
            return false;
    }
    return true;
}

/* strconv.IsPrint, exact for ASCII and Latin-1, approximate beyond. */
static bool
rune_is_print(int32_t r)
{
    if (r < 0x20 || (r >= 0x7F && r <= 0xA0) || r == 0xAD)
        return false;
    if ((r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F) ||
        (r >= 0x205F && r <= 0x206F) || r == 0x3000 || r == 0xFEFF)
        return false;
    if ((r >= 0xD800 && r <= 0xDFFF) || (r >= 0xE000 && r <= 0xF8FF) ||
        (r >= 0xE0000 && r <= 0xE007F) || r > 0x10FFFF)
        return false;
    return true;
}

size_t
expr_lex_quote(char *buf, size_t size, size_t used, const char *s, size_t len)
{
    char tmp[16];
    if (size == 0)
        return 0;
#define PUT(str, n)                                                                                \
    do {                                                                                           \
        size_t n_ = (n);                                                                           \
        if (used + n_ < size) {                                                                    \
            memcpy(buf + used, (str), n_);                                                         \
            used += n_;                                                                            \
        }                                                                                          \
    } while (0)
    PUT("\"", 1);
    for (size_t i = 0; i < len;) {
        size_t sz;
        int32_t r = expr_utf8_decode(s + i, len - i, &sz);
        if (r == RUNE_ERROR && sz == 1) {
            snprintf(tmp, sizeof(tmp), "\\x%02x", (unsigned char)s[i]);
            PUT(tmp, 4);
        } else if (r == '"' || r == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)r;
            PUT(tmp, 2);
        } else if (rune_is_print(r)) {
            PUT(s + i, sz);
        } else {
            const char *esc = NULL;
            switch (r) {
            case '\a': esc = "\\a"; break;
            case '\b': esc = "\\b"; break;
            case '\f': esc = "\\f"; break;
            case '\n': esc = "\\n"; break;
            case '\r': esc = "\\r"; break;
            case '\t': esc = "\\t"; break;
            case '\v': esc = "\\v"; break;
            default: break;
            }
            if (esc)
                PUT(esc, 2);
            else if (r < ' ' || r == 0x7F)
                PUT(tmp, (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", (unsigned)r));
            else if (r < 0x10000)
                PUT(tmp, (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", (unsigned)r));
            else
                PUT(tmp, (size_t)snprintf(tmp, sizeof(tmp), "\\U%08x", (unsigned)r));
        }
        i += sz;
    }
    PUT("\"", 1);
#undef PUT
    buf[used < size ? used : size - 1] = '\0';
    return used;
}

void
expr_lex_describe(const struct expr_lex_token *tok, char *buf, size_t size)
{
    static const char *const kinds[] = {
        [EXPR_LEX_EOF] = "EOF",           [EXPR_LEX_IDENT] = "Identifier",
        [EXPR_LEX_NUMBER] = "Number",     [EXPR_LEX_STRING] = "String",
        [EXPR_LEX_OPERATOR] = "Operator", [EXPR_LEX_BRACKET] = "Bracket",
        [EXPR_LEX_BYTES] = "Bytes",
    };
    if (size == 0)
        return;
    const char *kind = tok->kind < ARRAY_SIZE(kinds) ? kinds[tok->kind] : "?";
    int n = snprintf(buf, size, "%s", kind);
    if (tok->len == 0 || n < 0 || (size_t)n + 1 >= size)
        return;
    size_t used = (size_t)n;
    buf[used++] = '(';
    buf[used] = '\0';
    used = expr_lex_quote(buf, size, used, tok->val, tok->len);
    if (used + 1 < size) {
        buf[used++] = ')';
        buf[used] = '\0';
    }
}

void
expr_lex_init(struct expr_lexer *lx, struct arena *arena, const char *src, size_t len)
{
    memset(lx, 0, sizeof(*lx));
    lx->arena = arena;
    lx->src = src;
    lx->len = len;
    lx->start.line = lx->end.line = lx->prev.line = 1;
}

void
expr_lex_locate(const struct expr_lexer *lx, size_t rune, int *line, int *column)
{
    /* file.Error.Bind: count runes up to the position; a newline ends its line. */
    size_t i = 0, n = 0, sz;
    int l = 1, c = 0;
    while (i < lx->len && n < rune) {
        int32_t r = expr_utf8_decode(lx->src + i, lx->len - i, &sz);
        if (r == '\n') {
            l++;
            c = 0;
        } else {
            c++;
        }
        i += sz;
        n++;
    }
    *line = l;
    *column = c + 1;
}

static int32_t
lx_next(struct expr_lexer *lx)
{
    if (lx->end.byte >= lx->len) {
        lx->eof = true;
        return RUNE_EOF;
    }
    size_t sz;
    int32_t r = expr_utf8_decode(lx->src + lx->end.byte, lx->len - lx->end.byte, &sz);
    lx->prev = lx->end;
    lx->end.byte += sz;
    lx->end.rune++;
    if (r == '\n') {
        lx->end.line++;
        lx->end.col = 0;
    } else {
        lx->end.col++;
    }
    return r;
}

static int32_t
lx_peek(const struct expr_lexer *lx)
{
    if (lx->end.byte >= lx->len)
        return RUNE_EOF;
    size_t sz;
    return expr_utf8_decode(lx->src + lx->end.byte, lx->len - lx->end.byte, &sz);
}

/* Undoes the last lx_next(); only one step back is ever needed. */
static void
lx_backup(struct expr_lexer *lx)
{
    if (lx->eof)
        lx->eof = false;
    else if (lx->end.rune > 0)
        lx->end = lx->prev;
}

static bool
lx_accept(struct expr_lexer *lx, const char *valid)
{
    int32_t r = lx_peek(lx);
    if (r > 0 && r < 0x80 && strchr(valid, (int)r)) {
        lx_next(lx);
        return true;
    }
    return false;
}

static void
lx_accept_run(struct expr_lexer *lx, const char *valid)
{
    /* Each step consumes a byte of the bounded input, so this terminates. */
    while (lx_accept(lx, valid)) {
    }
}

static void
lx_emit_value(struct expr_lexer *lx, uint8_t kind, const char *val, size_t len)
{
    if (lx->qlen < EXPR_LEX_QUEUE) {
        struct expr_lex_token *t = &lx->queue[(lx->qhead + lx->qlen) % EXPR_LEX_QUEUE];
        t->kind = kind;
        t->val = val;
        t->len = len;
        t->pos = lx->start;
        lx->qlen++;
    }
    lx->start = lx->end;
}

static void
lx_emit(struct expr_lexer *lx, uint8_t kind)
{
    lx_emit_value(lx, kind, lx->src + lx->start.byte, lx->end.byte - lx->start.byte);
}

static void
lx_skip(struct expr_lexer *lx)
{
    lx->start = lx->end;
}

static void PRINTF_LIKE(2, 3) lx_error(struct expr_lexer *lx, const char *fmt, ...)
{
    if (lx->failed)
        return;
    size_t end = lx->end.rune;
    if (lx->eof)
        end++;
    lx->failed = true;
    lx->err_rune = end - 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->message, sizeof(lx->message), fmt, ap);
    va_end(ap);
}

static int
digit_val(int32_t ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return 16;
}

static int32_t
scan_digits(struct expr_lexer *lx, int32_t ch, int base, int n)
{
    while (n > 0 && digit_val(ch) < base) {
        ch = lx_next(lx);
        n--;
    }
    if (n > 0)
        lx_error(lx, "invalid char escape");
    return ch;
}

static int32_t
scan_escape(struct expr_lexer *lx, int32_t quote)
{
    int32_t ch = lx_next(lx);
    switch (ch) {
    case 'a':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
    case '\\': ch = lx_next(lx); break;
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7': ch = scan_digits(lx, ch, 8, 3); break;
    case 'x': ch = scan_digits(lx, lx_next(lx), 16, 2); break;
    case 'u':
        if (lx_peek(lx) == '{') {
            lx_next(lx);
            int digits = 0;
            while (lx_peek(lx) != '}') {
                if (digit_val(lx_peek(lx)) >= 16 || digits >= 6) {
                    lx_error(lx, "invalid char escape");
                    return RUNE_EOF;
                }
                lx_next(lx);
                digits++;
            }
            if (digits == 0) {
                lx_error(lx, "invalid char escape");
                return RUNE_EOF;
            }
            lx_next(lx);
            ch = lx_next(lx);
            break;
        }
        ch = scan_digits(lx, lx_next(lx), 16, 4);
        break;
    case 'U': ch = scan_digits(lx, lx_next(lx), 16, 8); break;
    default:
        if (ch == quote) {
            ch = lx_next(lx);
            break;
        }
        lx_error(lx, "invalid char escape");
        break;
    }
    return ch;
}

static void
scan_string(struct expr_lexer *lx, int32_t quote)
{
    int32_t ch = lx_next(lx);
    while (ch != quote) {
        if (ch == '\n' || ch == RUNE_EOF) {
            lx_error(lx, "literal not terminated");
            return;
        }
        if (ch == '\\')
            ch = scan_escape(lx, quote);
        else
            ch = lx_next(lx);
    }
}

static int
unhex(unsigned char c)
{
    int v = digit_val(c);
    return v < 16 ? v : -1;
}

/*
 * expr-lang's unescape() of a quoted literal (quotes included in s). Returns
 * the decoded bytes in the arena, or NULL with *msg set.
 */
static char *
unescape(struct arena *arena, const char *s, size_t n, bool bytes, size_t *ret_len,
         const char **msg)
{
    *msg = "unable to unescape string";
    if (n < 2 || s[0] != s[n - 1] || (s[0] != '"' && s[0] != '\''))
        return NULL;
    s++;
    n -= 2;
    /* Every escape shrinks or keeps its size, except an invalid byte (3 bytes of U+FFFD). */
    if (n > (SIZE_MAX - 1) / 3)
        return NULL;
    char *out = arena_alloc(arena, 3 * n + 1);
    if (!out) {
        *msg = "out of memory";
        return NULL;
    }
    size_t o = 0, i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r') {
            /* newlineNormalizer: CRLF and lone CR both become LF */
            out[o++] = '\n';
            i += (i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
            continue;
        }
        if (c >= 0x80) {
            size_t sz;
            int32_t r = expr_utf8_decode(s + i, n - i, &sz);
            o += expr_utf8_encode(r, out + o);
            i += sz;
            continue;
        }
        if (c != '\\') {
            out[o++] = (char)c;
            i++;
            continue;
        }
        if (i + 1 >= n) {
            *msg = "unable to unescape string, found '\\' as last character";
            return NULL;
        }
        c = (unsigned char)s[i + 1];
        i += 2;
        int32_t v = 0;
        switch (c) {
        case 'a': out[o++] = '\a'; continue;
        case 'b': out[o++] = '\b'; continue;
        case 'f': out[o++] = '\f'; continue;
        case 'n': out[o++] = '\n'; continue;
        case 'r': out[o++] = '\r'; continue;
        case 't': out[o++] = '\t'; continue;
        case 'v': out[o++] = '\v'; continue;
        case '\\':
        case '\'':
        case '"':
        case '`':
        case '?': out[o++] = (char)c; continue;
        case 'x':
        case 'X':
        case 'u':
        case 'U': {
            /* Bytes literals take \xNN as a raw byte and have no \u escapes. */
            if (bytes) {
                if ((c != 'x' && c != 'X') || n - i < 2 || unhex((unsigned char)s[i]) < 0 ||
                    unhex((unsigned char)s[i + 1]) < 0)
                    return NULL;
                out[o++] = (char)(unhex((unsigned char)s[i]) * 16 + unhex((unsigned char)s[i + 1]));
                i += 2;
                continue;
            }
            if (c == 'u' && i < n && s[i] == '{') {
                i++;
                int digits = 0;
                while (i < n && s[i] != '}') {
                    int x = unhex((unsigned char)s[i]);
                    if (x < 0 || digits >= 6)
                        return NULL;
                    v = (v << 4) | x;
                    i++;
                    digits++;
                }
                if (i >= n || digits == 0)
                    return NULL;
                i++;
            } else {
                size_t want = (c == 'x' || c == 'X') ? 2 : c == 'u' ? 4 : 8;
                if (n - i < want)
                    return NULL;
                for (size_t j = 0; j < want; j++) {
                    int x = unhex((unsigned char)s[i + j]);
                    if (x < 0)
                        return NULL;
                    /* 8 hex digits can exceed int32: stop growing once out of range */
                    if (v <= 0x10FFFF)
                        v = (v << 4) | x;
                }
                i += want;
            }
            if (v > 0x10FFFF)
                return NULL;
            o += expr_utf8_encode(v, out + o);
            continue;
        }
        case '0':
        case '1':
        case '2':
        case '3':
            if (n - i < 2) {
                *msg = "unable to unescape octal sequence in string";
                return NULL;
            }
            v = c - '0';
            for (int j = 0; j < 2; j++) {
                unsigned char x = (unsigned char)s[i + (size_t)j];
                if (x < '0' || x > '7') {
                    *msg = "unable to unescape octal sequence in string";
                    return NULL;
                }
                v = v * 8 + (x - '0');
            }
            i += 2;
            if (bytes)
                out[o++] = (char)v;
            else
                o += expr_utf8_encode(v, out + o);
            continue;
        default: return NULL;
        }
    }
    out[o] = '\0';
    *ret_len = o;
    return out;
}

static void
scan_raw_string(struct expr_lexer *lx, int32_t quote)
{
    size_t escaped = 0;
    for (;;) {
        int32_t ch = lx_next(lx);
        while (ch == quote && lx_peek(lx) == quote) {
            lx_next(lx);
            ch = lx_next(lx);
            escaped++;
        }
        if (ch == quote)
            break;
        if (ch == RUNE_EOF) {
            lx_error(lx, "literal not terminated");
            return;
        }
    }
    const char *str = lx->src + lx->start.byte + 1;
    size_t n = lx->end.byte - lx->start.byte - 2;
    if (escaped == 0) {
        lx_emit_value(lx, EXPR_LEX_STRING, str, n);
        return;
    }
    char *out = arena_alloc(lx->arena, n + 1);
    if (!out) {
        lx_error(lx, "out of memory");
        return;
    }
    /* A doubled backtick stands for one: drop the first of each pair. */
    size_t o = 0;
    bool skipped = false;
    for (size_t i = 0; i < n; i++) {
        if (str[i] == (char)quote) {
            if (!skipped) {
                skipped = true;
                continue;
            }
            skipped = false;
        }
        out[o++] = str[i];
    }
    out[o] = '\0';
    lx_emit_value(lx, EXPR_LEX_STRING, out, o);
}

static bool
scan_number(struct expr_lexer *lx)
{
    const char *digits = "0123456789_";
    if (lx_accept(lx, "0")) {
        if (lx_accept(lx, "xX"))
            digits = "0123456789abcdefABCDEF_";
        else if (lx_accept(lx, "oO"))
            digits = "01234567_";
        else if (lx_accept(lx, "bB"))
            digits = "01_";
    }
    lx_accept_run(lx, digits);
    struct expr_lex_pos end = lx->end, prev = lx->prev;
    if (lx_accept(lx, ".")) {
        /* 1..2 is a range: leave the dot for the operator. */
        if (lx_peek(lx) == '.') {
            lx->end = end;
            lx->prev = prev;
            return true;
        }
        lx_accept_run(lx, digits);
    }
    if (lx_accept(lx, "eE")) {
        lx_accept(lx, "+-");
        lx_accept_run(lx, digits);
    }
    if (rune_is_alnum(lx_peek(lx))) {
        lx_next(lx);
        return false;
    }
    return true;
}

static void
lex_number(struct expr_lexer *lx)
{
    if (!scan_number(lx)) {
        char q[128];
        expr_lex_quote(q, sizeof(q), 0, lx->src + lx->start.byte, lx->end.byte - lx->start.byte);
        lx_error(lx, "bad number syntax: %s", q);
        return;
    }
    lx_emit(lx, EXPR_LEX_NUMBER);
}

static bool
word_is(const struct expr_lexer *lx, const char *w)
{
    size_t n = lx->end.byte - lx->start.byte;
    return strlen(w) == n && memcmp(lx->src + lx->start.byte, w, n) == 0;
}

static bool
word_is_negatable(const struct expr_lexer *lx)
{
    return word_is(lx, "in") || word_is(lx, "matches") || word_is(lx, "contains") ||
           word_is(lx, "startsWith") || word_is(lx, "endsWith");
}

static void
lex_not(struct expr_lexer *lx)
{
    lx_emit(lx, EXPR_LEX_OPERATOR);
    lx_accept_run(lx, " ");
    lx_skip(lx);
    struct expr_lex_pos end = lx->end, prev = lx->prev;
    for (;;) {
        int32_t r = lx_next(lx);
        if (!rune_is_alnum(r)) {
            lx_backup(lx);
            break;
        }
    }
    if (word_is_negatable(lx)) {
        lx_emit(lx, EXPR_LEX_OPERATOR);
    } else {
        lx->end = end;
        lx->prev = prev;
    }
}

static void
lex_identifier(struct expr_lexer *lx)
{
    for (;;) {
        int32_t r = lx_next(lx);
        if (!rune_is_alnum(r)) {
            lx_backup(lx);
            break;
        }
    }
    if (word_is(lx, "not")) {
        lex_not(lx);
        return;
    }
    static const char *const keywords[] = { "in",         "or",       "and", "matches", "contains",
                                            "startsWith", "endsWith", "let", "if",      "else" };
    for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
        if (word_is(lx, keywords[i])) {
            lx_emit(lx, EXPR_LEX_OPERATOR);
            return;
        }
    }
    lx_emit(lx, EXPR_LEX_IDENT);
}

static void
lex_pointer(struct expr_lexer *lx)
{
    lx_accept(lx, "#");
    lx_emit(lx, EXPR_LEX_OPERATOR);
    for (;;) {
        int32_t r = lx_next(lx);
        if (!rune_is_alnum(r)) {
            lx_backup(lx);
            break;
        }
    }
    if (lx->end.byte > lx->start.byte)
        lx_emit(lx, EXPR_LEX_IDENT);
}

static void
lex_comment_line(struct expr_lexer *lx)
{
    for (;;) {
        int32_t r = lx_next(lx);
        if (r == RUNE_EOF || r == '\n')
            break;
    }
    lx_skip(lx);
}

static void
lex_comment_block(struct expr_lexer *lx)
{
    for (;;) {
        int32_t r = lx_next(lx);
        if (r == RUNE_EOF) {
            lx_error(lx, "unclosed comment");
            return;
        }
        if (r == '*' && lx_accept(lx, "/"))
            break;
    }
    lx_skip(lx);
}

static void
lex_quoted(struct expr_lexer *lx, int32_t quote, uint8_t kind)
{
    scan_string(lx, quote);
    if (lx->failed)
        return;
    const char *word = lx->src + lx->start.byte;
    size_t n = lx->end.byte - lx->start.byte;
    if (kind == EXPR_LEX_BYTES) {
        word++; /* the b prefix */
        n--;
    }
    const char *msg;
    size_t len = 0;
    char *str = unescape(lx->arena, word, n, kind == EXPR_LEX_BYTES, &len, &msg);
    if (!str) {
        lx_error(lx, "%s", msg);
        return;
    }
    lx_emit_value(lx, kind, str, len);
}

/* One step of expr-lang's root state: consumes blanks or produces tokens. */
static void
lex_root(struct expr_lexer *lx)
{
    int32_t r = lx_next(lx);
    if (r == RUNE_EOF) {
        /* expr-lang places EOF on the last rune of the input. */
        struct expr_lex_token *t = &lx->queue[(lx->qhead + lx->qlen) % EXPR_LEX_QUEUE];
        t->kind = EXPR_LEX_EOF;
        t->val = "";
        t->len = 0;
        t->pos = lx->end;
        t->pos.rune = lx->end.rune > 0 ? lx->end.rune - 1 : 0;
        expr_lex_locate(lx, t->pos.rune, &t->pos.line, &t->pos.col);
        t->pos.col--;
        lx->qlen++;
        lx->done = true;
        lx->start = lx->end;
        return;
    }
    if (expr_rune_is_space(r)) {
        lx_skip(lx);
        return;
    }
    switch (r) {
    case '\'':
    case '"': lex_quoted(lx, r, EXPR_LEX_STRING); return;
    case '`': scan_raw_string(lx, r); return;
    case '?':
        lx_accept(lx, ".?");
        lx_emit(lx, EXPR_LEX_OPERATOR);
        return;
    case '/':
        if (lx_accept(lx, "/"))
            lex_comment_line(lx);
        else if (lx_accept(lx, "*"))
            lex_comment_block(lx);
        else
            lx_emit(lx, EXPR_LEX_OPERATOR);
        return;
    case '#': lex_pointer(lx); return;
    case '|':
        lx_accept(lx, "|");
        lx_emit(lx, EXPR_LEX_OPERATOR);
        return;
    case ':':
        lx_accept(lx, ":");
        lx_emit(lx, EXPR_LEX_OPERATOR);
        return;
    case '(':
    case '[':
    case '{':
    case ')':
    case ']':
    case '}': lx_emit(lx, EXPR_LEX_BRACKET); return;
    case ',':
    case ';':
    case '%':
    case '+':
    case '-':
    case '^': lx_emit(lx, EXPR_LEX_OPERATOR); return;
    case '&':
    case '!':
    case '=':
    case '*':
    case '<':
    case '>':
        lx_accept(lx, "&=*");
        lx_emit(lx, EXPR_LEX_OPERATOR);
        return;
    case '.':
        if (lx_accept(lx, "0123456789")) {
            lx_backup(lx);
            lex_number(lx);
            return;
        }
        lx_accept(lx, ".");
        lx_emit(lx, EXPR_LEX_OPERATOR);
        return;
    default: break;
    }
    if ((r == 'b' || r == 'B') && (lx_peek(lx) == '\'' || lx_peek(lx) == '"')) {
        lex_quoted(lx, lx_next(lx), EXPR_LEX_BYTES);
        return;
    }
    if (r >= '0' && r <= '9') {
        lx_backup(lx);
        lex_number(lx);
        return;
    }
    if (rune_is_alnum(r)) {
        lx_backup(lx);
        lex_identifier(lx);
        return;
    }
    if (rune_is_print(r)) {
        char ch[8];
        size_t n = expr_utf8_encode(r, ch);
        ch[n] = '\0';
        lx_error(lx, "unrecognized character: U+%04X '%s'", (unsigned)r, ch);
    } else {
        lx_error(lx, "unrecognized character: U+%04X", (unsigned)r);
    }
}

int
expr_lex_next(struct expr_lexer *lx, struct expr_lex_token *tok)
{
    /* Each lex_root() call consumes at least one rune or ends the input. */
    while (!lx->failed && lx->qlen == 0 && !lx->done)
        lex_root(lx);
    if (lx->failed)
        return -1;
    if (lx->qlen == 0)
        return 1;
    *tok = lx->queue[lx->qhead];
    lx->qhead = (lx->qhead + 1) % EXPR_LEX_QUEUE;
    lx->qlen--;
    return 0;
}
