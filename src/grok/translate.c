/*
 * translate.c - Go regexp syntax to PCRE2 syntax, for grok patterns.
 *
 * One left-to-right scan over the Go regex (package regexp/syntax rules).
 * What both engines read alike is copied; what differs is rewritten:
 *   \s, \S       RE2's [\t\n\f\r ] (PCRE2's \s also takes \v)
 *   \v           a vertical tab (PCRE2: any vertical space)
 *   \0NN, \1NN   octal escapes (PCRE2 reads \1.. as backreferences)
 *   {            a '{' that does not start a Go repeat is escaped, since
 *                PCRE2 reads some of those ({,n}) as quantifiers
 *   (?P<x>, (?<x>  plain capturing groups (names are grokky's business)
 * and what Go rejects is rejected here too: lookaround, atomic groups,
 * comments, (*VERB), backreferences, possessive or stacked quantifiers,
 * repeats above 1000, unknown escapes, duplicate group names. The one
 * deliberate gap: \S inside a bracket class stays PCRE2's \S (excludes \v).
 */
#include "grok/translate.h"

#include <ctype.h>

#define GO_MAX_REPEAT 1000
#define GO_MAX_NAMES  256

struct scan {
    const char *s;
    size_t len, i;
    struct str *out;
    char *errbuf;
    size_t errlen;
    int ncap;
    int depth;
    bool last_quant; /* the previous token was a quantifier (with its lazy '?') */
    struct strv names[GO_MAX_NAMES];
    size_t nnames;
};

static int
fail(struct scan *sc, const char *what)
{
    snprintf(sc->errbuf, sc->errlen, "error parsing regexp: %s at offset %zu", what, sc->i);
    return -EINVAL;
}

static int
emit(struct scan *sc, const char *p, size_t n)
{
    return str_append(sc->out, p, n);
}

static bool
is_octal(char c)
{
    return c >= '0' && c <= '7';
}

static bool
is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool
is_word(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_alnum(char c)
{
    return is_word(c) && c != '_';
}

/* Reads an octal escape starting at s[i] (the first digit); Go takes up to three digits. */
static int
emit_octal(struct scan *sc)
{
    unsigned v = 0;
    size_t n = 0;

    while (n < 3 && sc->i < sc->len && is_octal(sc->s[sc->i])) {
        v = v * 8 + (unsigned)(sc->s[sc->i] - '0');
        sc->i++;
        n++;
    }
    return str_appendf(sc->out, "\\x{%x}", v);
}

/* \x: Go takes exactly two hex digits or {hex...} up to U+10FFFF. */
static int
emit_hex(struct scan *sc)
{
    size_t start = sc->i - 2; /* at the backslash */
    const char *s = sc->s;

    if (sc->i < sc->len && s[sc->i] == '{') {
        size_t j = sc->i + 1;
        unsigned long v = 0;
        while (j < sc->len && is_hex(s[j])) {
            v = v * 16 + (unsigned long)(s[j] <= '9' ? s[j] - '0' : (s[j] | 0x20) - 'a' + 10);
            if (v > 0x10FFFF)
                return fail(sc, "invalid escape sequence");
            j++;
        }
        if (j == sc->i + 1 || j >= sc->len || s[j] != '}')
            return fail(sc, "invalid escape sequence");
        sc->i = j + 1;
    } else {
        if (sc->i + 1 >= sc->len || !is_hex(s[sc->i]) || !is_hex(s[sc->i + 1]))
            return fail(sc, "invalid escape sequence");
        sc->i += 2;
    }
    return emit(sc, s + start, sc->i - start);
}

/* \p / \P: one letter or {Name}; PCRE2 knows the same names for what grok uses. */
static int
emit_property(struct scan *sc)
{
    size_t start = sc->i - 2;

    if (sc->i >= sc->len)
        return fail(sc, "invalid character class range");
    if (sc->s[sc->i] == '{') {
        const char *close = memchr(sc->s + sc->i, '}', sc->len - sc->i);
        if (close == NULL)
            return fail(sc, "invalid character class range");
        sc->i = (size_t)(close - sc->s) + 1;
    } else {
        sc->i++;
    }
    return emit(sc, sc->s + start, sc->i - start);
}

/* sc->i is on a backslash. */
static int
escape(struct scan *sc, bool in_class)
{
    if (sc->i + 1 >= sc->len)
        return fail(sc, "trailing backslash at end of expression");
    char c = sc->s[sc->i + 1];
    sc->i += 2;
    switch (c) {
    case '0': sc->i--; return emit_octal(sc);
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
        /* a lone digit would be a backreference, which Go does not have */
        if (sc->i >= sc->len || !is_octal(sc->s[sc->i]))
            return fail(sc, "invalid escape sequence");
        sc->i--;
        return emit_octal(sc);
    case 'x': return emit_hex(sc);
    case 'p':
    case 'P': return emit_property(sc);
    case 'a':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'd':
    case 'D':
    case 'w':
    case 'W': return emit(sc, sc->s + sc->i - 2, 2);
    case 'v': return emit(sc, "\\x0b", 4);
    case 's': return in_class ? emit(sc, "\\t\\n\\f\\r ", 9) : emit(sc, "[\\t\\n\\f\\r ]", 11);
    case 'S': return in_class ? emit(sc, "\\S", 2) : emit(sc, "[^\\t\\n\\f\\r ]", 12);
    case 'b':
    case 'B':
    case 'A':
    case 'z':
        if (in_class)
            return fail(sc, "invalid escape sequence");
        return emit(sc, sc->s + sc->i - 2, 2);
    case 'Q': {
        if (in_class)
            return fail(sc, "invalid escape sequence");
        /* literal text up to \E or the end, copied as is: PCRE2 reads it the same way */
        size_t start = sc->i - 2, j = sc->i;
        while (j < sc->len && !(sc->s[j] == '\\' && j + 1 < sc->len && sc->s[j + 1] == 'E'))
            j++;
        sc->i = j < sc->len ? j + 2 : j;
        return emit(sc, sc->s + start, sc->i - start);
    }
    default:
        if ((unsigned char)c >= 0x80 || is_alnum(c))
            return fail(sc, "invalid escape sequence");
        return emit(sc, sc->s + sc->i - 2, 2);
    }
}

/* A bracket class; sc->i is on '['. */
static int
bracket(struct scan *sc)
{
    int rc;

    if ((rc = emit(sc, "[", 1)) < 0)
        return rc;
    sc->i++;
    if (sc->i < sc->len && sc->s[sc->i] == '^') {
        if ((rc = emit(sc, "^", 1)) < 0)
            return rc;
        sc->i++;
    }
    if (sc->i < sc->len && sc->s[sc->i] == ']') { /* a leading ']' is literal in both */
        if ((rc = emit(sc, "\\]", 2)) < 0)
            return rc;
        sc->i++;
    }
    while (sc->i < sc->len) {
        char c = sc->s[sc->i];
        if (c == ']') {
            sc->i++;
            return emit(sc, "]", 1);
        }
        if (c == '\\') {
            rc = escape(sc, true);
        } else if (c == '[' && sc->i + 1 < sc->len && sc->s[sc->i + 1] == ':') {
            /* a POSIX class such as [:alpha:]; both engines know the same ASCII names */
            const char *end = NULL;
            for (size_t j = sc->i + 2; j + 1 < sc->len; j++) {
                if (sc->s[j] == ':' && sc->s[j + 1] == ']') {
                    end = sc->s + j + 2;
                    break;
                }
                if (sc->s[j] == ']')
                    break;
            }
            if (end != NULL) {
                rc = emit(sc, sc->s + sc->i, (size_t)(end - (sc->s + sc->i)));
                sc->i = (size_t)(end - sc->s);
            } else {
                rc = emit(sc, "\\[", 2);
                sc->i++;
            }
        } else if (c == '[') {
            /* PCRE2 would read [. and [= as collating elements */
            rc = emit(sc, "\\[", 2);
            sc->i++;
        } else {
            rc = emit(sc, &sc->s[sc->i], 1);
            sc->i++;
        }
        if (rc < 0)
            return rc;
    }
    return fail(sc, "missing closing ]");
}

/* Records a group name; Go rejects a name used twice in one regex. */
static int
add_name(struct scan *sc, const char *p, size_t n)
{
    struct strv name = { p, n };

    for (size_t k = 0; k < sc->nnames; k++)
        if (strv_eq(sc->names[k], name))
            return fail(sc, "duplicate capture group name");
    if (sc->nnames == GO_MAX_NAMES)
        return fail(sc, "too many capture group names");
    sc->names[sc->nnames++] = name;
    return 0;
}

/* sc->i is on '(' followed by '?'. */
static int
perl_group(struct scan *sc)
{
    const char *s = sc->s;
    size_t j = sc->i + 2;
    int rc;

    if (j < sc->len && (s[j] == '<' || (s[j] == 'P' && j + 1 < sc->len && s[j + 1] == '<'))) {
        j += s[j] == 'P' ? 2 : 1;
        size_t start = j;
        while (j < sc->len && is_word(s[j]))
            j++;
        if (j == start || j >= sc->len || s[j] != '>')
            return fail(sc, "invalid named capture");
        if ((rc = add_name(sc, s + start, j - start)) < 0)
            return rc;
        sc->i = j + 1;
        sc->ncap++;
        sc->depth++;
        return emit(sc, "(", 1);
    }
    /* flags: [imsU]* optionally followed by -[imsU]+, then ')' or ':' */
    bool neg = false, saw = false;
    for (; j < sc->len; j++) {
        char c = s[j];
        if (c == 'i' || c == 'm' || c == 's' || c == 'U') {
            saw = true;
        } else if (c == '-' && !neg) {
            neg = true;
            saw = false;
        } else if ((c == ')' || c == ':') && (!neg || saw)) {
            size_t start = sc->i;
            sc->i = j + 1;
            if (c == ':')
                sc->depth++;
            return emit(sc, s + start, sc->i - start);
        } else {
            break;
        }
    }
    return fail(sc, "invalid or unsupported Perl syntax");
}

/* Tries to read a Go repeat {n}, {n,} or {n,m} at sc->i; true and its end when it is one. */
static bool
go_repeat(const struct scan *sc, size_t *ret_end, long *ret_min, long *ret_max)
{
    const char *s = sc->s;
    size_t j = sc->i + 1;
    long lo = 0, hi;

    if (j >= sc->len || s[j] < '0' || s[j] > '9')
        return false;
    while (j < sc->len && s[j] >= '0' && s[j] <= '9') {
        lo = MIN(lo * 10 + (s[j] - '0'), 100000L);
        j++;
    }
    hi = lo;
    if (j < sc->len && s[j] == ',') {
        j++;
        hi = -1;
        if (j < sc->len && s[j] >= '0' && s[j] <= '9') {
            hi = 0;
            while (j < sc->len && s[j] >= '0' && s[j] <= '9') {
                hi = MIN(hi * 10 + (s[j] - '0'), 100000L);
                j++;
            }
        }
    }
    if (j >= sc->len || s[j] != '}')
        return false;
    *ret_end = j + 1;
    *ret_min = lo;
    *ret_max = hi;
    return true;
}

/* A quantifier at sc->i spanning [sc->i, end); copies it and a lazy '?' after it. */
static int
quantifier(struct scan *sc, size_t end)
{
    int rc;

    if (sc->last_quant)
        return fail(sc, "invalid nested repetition operator");
    if ((rc = emit(sc, sc->s + sc->i, end - sc->i)) < 0)
        return rc;
    sc->i = end;
    if (sc->i < sc->len && sc->s[sc->i] == '?') {
        if ((rc = emit(sc, "?", 1)) < 0)
            return rc;
        sc->i++;
    }
    sc->last_quant = true;
    return 0;
}

int
grok_translate(const char *src, size_t len, struct str *out, int *ret_ncap, char *errbuf,
               size_t errlen)
{
    struct scan sc = { .s = src, .len = len, .out = out, .errbuf = errbuf, .errlen = errlen };
    int rc = 0;

    while (sc.i < sc.len && rc == 0) {
        char c = src[sc.i];
        bool quant = false;
        size_t end;
        long lo, hi;

        switch (c) {
        case '\\': rc = escape(&sc, false); break;
        case '[': rc = bracket(&sc); break;
        case '(':
            if (sc.i + 1 < sc.len && src[sc.i + 1] == '?') {
                rc = perl_group(&sc);
            } else if (sc.i + 1 < sc.len && src[sc.i + 1] == '*') {
                rc = fail(&sc, "missing argument to repetition operator");
            } else {
                sc.ncap++;
                sc.depth++;
                rc = emit(&sc, "(", 1);
                sc.i++;
            }
            break;
        case ')':
            if (--sc.depth < 0)
                return fail(&sc, "unexpected )");
            rc = emit(&sc, ")", 1);
            sc.i++;
            break;
        case '*':
        case '+':
        case '?':
            quant = true;
            rc = quantifier(&sc, sc.i + 1);
            break;
        case '{':
            if (go_repeat(&sc, &end, &lo, &hi)) {
                if (lo > GO_MAX_REPEAT || hi > GO_MAX_REPEAT || (hi >= 0 && hi < lo))
                    return fail(&sc, "invalid repeat count");
                quant = true;
                rc = quantifier(&sc, end);
            } else {
                rc = emit(&sc, "\\{", 2);
                sc.i++;
            }
            break;
        default:
            rc = emit(&sc, &src[sc.i], 1);
            sc.i++;
            break;
        }
        if (!quant)
            sc.last_quant = false;
    }
    if (rc < 0)
        return rc;
    if (sc.depth > 0)
        return fail(&sc, "missing closing )");
    *ret_ncap = sc.ncap;
    return 0;
}

/* Skips the escape or bracket class at s[i]; returns the index of its last byte. */
static size_t
skip_atom(const char *s, size_t len, size_t i)
{
    if (s[i] == '\\') {
        if (i + 1 < len && s[i + 1] == 'Q') {
            size_t j = i + 2;
            while (j + 1 < len && !(s[j] == '\\' && s[j + 1] == 'E'))
                j++;
            return MIN(j + 1, len - 1);
        }
        return MIN(i + 1, len - 1);
    }
    size_t j = i + 1; /* on '[' */
    if (j < len && s[j] == '^')
        j++;
    while (j < len && s[j] != ']') {
        if (s[j] == '\\') {
            j += 2;
        } else if (s[j] == '[' && j + 1 < len && s[j + 1] == ':') {
            const char *end = strstr(s + j + 2, ":]");
            j = end ? (size_t)(end - s) + 2 : len;
        } else {
            j++;
        }
    }
    return MIN(j, len - 1);
}

int
grok_whole_group(const char *s, size_t len)
{
    int depth = 0;

    if (len < 2 || s[0] != '(' || s[len - 1] != ')')
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' || s[i] == '[')
            i = skip_atom(s, len, i);
        else if (s[i] == '(')
            depth++;
        else if (s[i] == ')' && --depth == 0)
            if (i != len - 1)
                return 0;
    }
    if (s[1] != '?')
        return 1;
    return len >= 3 && s[2] == ':' ? 2 : 0;
}

int
grok_split_alternatives(const char *s, size_t len, size_t *ret_bars, size_t max)
{
    size_t n = 0;
    int depth = 0;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\\' || c == '[') {
            i = skip_atom(s, len, i);
        } else if (c == '(') {
            if (depth == 0 && i + 1 < len && s[i + 1] == '?') {
                size_t j = i + 2;
                while (j < len && strchr("imsU-", s[j]) != NULL && s[j] != '\0')
                    j++;
                if (j < len && s[j] == ')')
                    return -1;
            }
            depth++;
        } else if (c == ')') {
            depth--;
        } else if (c == '|' && depth == 0) {
            if (n == max)
                return -1;
            ret_bars[n++] = i;
        }
    }
    return (int)n;
}

/* The class at s[i] == '['; the index of its closing ']', or len when unterminated. */
static size_t
class_end(const char *s, size_t len, size_t i)
{
    size_t j = i + 1;

    if (j < len && s[j] == '^')
        j++;
    if (j < len && s[j] == ']') /* a ']' first is a member */
        j++;
    while (j < len && s[j] != ']') {
        if (s[j] == '\\') {
            j += 2;
        } else if (s[j] == '[' && j + 1 < len &&
                   (s[j + 1] == ':' || s[j + 1] == '.' || s[j + 1] == '=')) {
            char close = s[j + 1];
            size_t k = j + 2;
            while (k + 1 < len && !(s[k] == close && s[k + 1] == ']'))
                k++;
            j = k + 2;
        } else {
            j++;
        }
    }
    return MIN(j, len);
}

/* The group at s[i] == '('; the index of its closing ')', or len when unbalanced. */
static size_t
group_end(const char *s, size_t len, size_t i)
{
    int depth = 0;

    for (size_t j = i; j < len; j++) {
        if (s[j] == '\\')
            j++;
        else if (s[j] == '[')
            j = class_end(s, len, j);
        else if (s[j] == '(')
            depth++;
        else if (s[j] == ')' && --depth == 0)
            return j;
    }
    return len;
}

size_t
grok_required_literal(const char *s, size_t len, char *buf, size_t cap)
{
    char run[GROK_LITERAL_MAX];
    size_t rlen = 0, best = 0;

    if (cap == 0)
        return 0;
/* Keeps the current run if it is the longest so far, and starts a new one. */
#define END_RUN()                                                                                  \
    do {                                                                                           \
        if (rlen > best && rlen <= cap) {                                                          \
            memcpy(buf, run, rlen);                                                                \
            best = rlen;                                                                           \
        }                                                                                          \
        rlen = 0;                                                                                  \
    } while (0)

    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') {
            unsigned char d = i + 1 < len ? (unsigned char)s[i + 1] : 0;
            /* An escaped punctuation character stands for itself; a one-letter class or
             * assertion (\d, \b) or a control character ends the run; any other form (\Q,
             * \x{..}, \p{..}, \1) is not read here: give up. */
            if (d != 0 && strchr("dDwWsSbBAzZGhHvVRntrfae", d) != NULL) {
                END_RUN();
                i += 2;
                continue;
            }
            if (d < 0x21 || d > 0x7e || isalnum(d))
                return 0;
            if (rlen < sizeof(run))
                run[rlen++] = (char)d;
            else
                END_RUN();
            i += 2;
        } else if (c == '(') {
            /* Groups are skipped whole. A flag setting such as (?i) or (?x) changes how the
             * text after it reads, a conditional or comment is not skipped safely: give up. */
            if (i + 1 < len && s[i + 1] == '?' &&
                (i + 2 >= len || strchr(":<P=!>|", s[i + 2]) == NULL))
                return 0;
            END_RUN();
            i = group_end(s, len, i);
            if (i >= len)
                return 0;
            i++;
        } else if (c == '[') {
            END_RUN();
            i = class_end(s, len, i);
            if (i >= len)
                return 0;
            i++;
        } else if (c == '|' || c == ')') {
            return 0; /* a top-level alternative: nothing is required by all of them */
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            /* The previous atom repeats or is optional: it leaves the run, which ends. */
            if (rlen > 0)
                rlen--;
            END_RUN();
            i++;
            if (c == '{') {
                while (i < len && (isdigit((unsigned char)s[i]) || s[i] == ','))
                    i++;
                if (i >= len || s[i] != '}')
                    return 0; /* a brace that is no quantifier: not worth reading */
                i++;
            }
            if (i < len && (s[i] == '?' || s[i] == '+'))
                i++; /* lazy or possessive */
        } else if (c == '.' || c == '^' || c == '$' || c < 0x20 || c > 0x7e) {
            END_RUN();
            i++;
        } else {
            if (rlen < sizeof(run)) {
                run[rlen++] = (char)c;
            } else {
                END_RUN();
                run[rlen++] = (char)c;
            }
            i++;
        }
    }
    END_RUN();
#undef END_RUN
    return best;
}
