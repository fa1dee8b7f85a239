/*
 * output.c - what every `phalanx` command prints through: the global flags,
 * result tables and the progress bar.
 *
 * Human tables copy the look of cscli's (ASCII boxes, or rounded Unicode ones
 * with colour; centred headers, cells left-aligned with one space of padding)
 * so that screenshots and habits carry over; raw tables are CSV written the way
 * Go's encoding/csv writes them, since scripts parse cscli's -o raw.
 */
#include "cli/output.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "apiclient/apiclient.h"
#include "common/gotime.h"
#include "common/str.h"
#include "config/config.h"
#include "model/model.h"

#include <jansson.h>

void
cli_globals_init(struct cli_globals *g)
{
    const char *env = getenv("PHALANX_CONFIG");
    const char *nocolor = getenv("NO_COLOR");
    g->config = (env != NULL && env[0] != '\0') ? env : CLI_DEFAULT_CONFIG;
    g->format = CLI_OUT_HUMAN;
    g->color = isatty(STDOUT_FILENO) && (nocolor == NULL || nocolor[0] == '\0');
    g->debug = false;
}

/*
 * Matches argv[*i] against a flag that takes a value, in the spellings cobra
 * accepts: "-o json", "-ojson", "--output json", "--output=json". Sets *ret_value
 * and advances *i past what was consumed; returns 1 on a match, 0 when argv[*i]
 * is another flag, -1 when the value is missing.
 */
static int
take_valued(int argc, char **argv, int *i, const char *shortf, const char *longf,
            const char **ret_value)
{
    const char *a = argv[*i];
    size_t llen = strlen(longf);
    if (strcmp(a, longf) == 0 || (shortf != NULL && strcmp(a, shortf) == 0)) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "Error: flag needs an argument: %s\n", a);
            return -1;
        }
        *ret_value = argv[*i + 1];
        *i += 2;
        return 1;
    }
    if (strncmp(a, longf, llen) == 0 && a[llen] == '=') {
        *ret_value = a + llen + 1;
        *i += 1;
        return 1;
    }
    if (shortf != NULL && strncmp(a, shortf, 2) == 0 && a[2] != '\0') {
        *ret_value = a[2] == '=' ? a + 3 : a + 2;
        *i += 1;
        return 1;
    }
    return 0;
}

int
cli_globals_take(struct cli_globals *g, int argc, char **argv, int *i)
{
    static const char *const log_flags[] = { "--info", "--warning", "--error", "--trace" };
    const char *a = argv[*i];
    const char *v = NULL;
    int r;

    if (strcmp(a, "--debug") == 0) {
        g->debug = true;
        *i += 1;
        return 1;
    }
    for (size_t k = 0; k < ARRAY_SIZE(log_flags); k++) {
        if (strcmp(a, log_flags[k]) == 0) {
            *i += 1;
            return 1;
        }
    }
    if ((r = take_valued(argc, argv, i, "-c", "--config", &v)) != 0) {
        if (r > 0)
            g->config = v;
        return r;
    }
    if ((r = take_valued(argc, argv, i, "-o", "--output", &v)) != 0) {
        if (r < 0)
            return r;
        if (strcmp(v, "human") == 0)
            g->format = CLI_OUT_HUMAN;
        else if (strcmp(v, "json") == 0)
            g->format = CLI_OUT_JSON;
        else if (strcmp(v, "raw") == 0)
            g->format = CLI_OUT_RAW;
        else {
            fprintf(stderr, "Error: invalid output format '%s': use -o human, -o json or -o raw\n",
                    v);
            return -1;
        }
        return 1;
    }
    if ((r = take_valued(argc, argv, i, NULL, "--color", &v)) != 0) {
        if (r < 0)
            return r;
        if (strcmp(v, "yes") == 0) {
            g->color = true;
        } else if (strcmp(v, "no") == 0) {
            g->color = false;
        } else if (strcmp(v, "auto") == 0) {
            const char *nocolor = getenv("NO_COLOR");
            g->color = isatty(STDOUT_FILENO) && (nocolor == NULL || nocolor[0] == '\0');
        } else {
            fprintf(stderr, "Error: invalid --color '%s': use yes, no or auto\n", v);
            return -1;
        }
        return 1;
    }
    return 0;
}

struct cli_table {
    size_t ncols;
    size_t nrows;
    size_t cap;
    char **headers;     /* ncols */
    char **cells;       /* nrows * ncols, row-major */
    size_t *hide_order; /* columns a narrow terminal may hide, first hidden first */
    size_t nhide;
};

static char *
dup_cell(const char *s)
{
    return strdup(s != NULL ? s : "");
}

struct cli_table *
cli_table_new(const char *const *headers, size_t ncols)
{
    struct cli_table *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->ncols = ncols;
    t->headers = calloc(ncols > 0 ? ncols : 1, sizeof(char *));
    if (t->headers == NULL)
        goto fail;
    for (size_t c = 0; c < ncols; c++) {
        if ((t->headers[c] = dup_cell(headers[c])) == NULL)
            goto fail;
    }
    return t;
fail:
    cli_table_free(t);
    return NULL;
}

int
cli_table_add(struct cli_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        char **n = realloc(t->cells, ncap * (t->ncols ? t->ncols : 1) * sizeof(char *));
        if (n == NULL)
            return -ENOMEM;
        t->cells = n;
        t->cap = ncap;
    }
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t c = 0; c < t->ncols; c++) {
        if ((row[c] = dup_cell(cells[c])) == NULL) {
            for (size_t k = 0; k < c; k++)
                free(row[k]);
            return -ENOMEM;
        }
    }
    t->nrows++;
    return 0;
}

int
cli_table_set_hide_order(struct cli_table *t, const size_t *cols, size_t n)
{
    size_t *v = malloc((n > 0 ? n : 1) * sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (cols[i] < t->ncols)
            v[k++] = cols[i];
    }
    free(t->hide_order);
    t->hide_order = v;
    t->nhide = k;
    return 0;
}

size_t
cli_table_rows(const struct cli_table *t)
{
    return t != NULL ? t->nrows : 0;
}

/*
 * Display width in terminal columns of the first len bytes of s: one per
 * code point, two for those past U+FFFF (4-byte sequences: the emoji of
 * status columns, which terminals draw double-width).
 */
static size_t
display_width_n(const char *s, size_t len)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; len > 0 && *p != '\0'; p++, len--) {
        if ((*p & 0xC0) != 0x80)
            w += *p >= 0xF0 ? 2 : 1;
    }
    return w;
}

static size_t
display_width(const char *s)
{
    return display_width_n(s, SIZE_MAX);
}

static void
put_repeat(FILE *out, const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        fputs(s, out);
}

/* The box characters: ASCII without colour, rounded Unicode with it, as cscli's newTable. */
struct box {
    const char *h, *v;
    const char *tl, *tm, *tr; /* top */
    const char *ml, *mm, *mr; /* under the header */
    const char *bl, *bm, *br; /* bottom */
};

static const struct box box_ascii = { "-", "|", "+", "+", "+", "+", "+", "+", "+", "+", "+" };
static const struct box box_rounded = { "─", "│", "╭", "┬", "╮", "├", "┼", "┤", "╰", "┴", "╯" };

#define COLOR_LINE   "\033[90m" /* bright black, as cscli's borders */
#define COLOR_HEADER "\033[3m"  /* italic, as cscli's headers */
#define COLOR_RESET  "\033[0m"

static void
print_rule(FILE *out, const struct box *bx, bool color, const size_t *width, size_t ncols,
           const char *left, const char *mid, const char *right)
{
    if (color)
        fputs(COLOR_LINE, out);
    fputs(left, out);
    for (size_t c = 0; c < ncols; c++) {
        put_repeat(out, bx->h, width[c] + 2);
        fputs(c + 1 < ncols ? mid : right, out);
    }
    if (color)
        fputs(COLOR_RESET, out);
    fputc('\n', out);
}

static void
print_bar(FILE *out, const struct box *bx, bool color)
{
    fprintf(out, "%s%s%s", color ? COLOR_LINE : "", bx->v, color ? COLOR_RESET : "");
}

/* The byte length of the first n code points of s (all of s when shorter). */
static size_t
prefix_bytes(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t cps = 0;
    while (*p != '\0') {
        if ((*p & 0xC0) != 0x80) {
            if (cps == n)
                break;
            cps++;
        }
        p++;
    }
    return (size_t)(p - (const unsigned char *)s);
}

/*
 * The next line of a cell wrapped at w columns: *ret_len bytes of s, and
 * where the following line starts. Breaks after the last space that fits, as
 * cscli's tables wrap words, else inside the word.
 */
static const char *
wrap_piece(const char *s, size_t w, size_t *ret_len)
{
    if (display_width(s) <= w) {
        *ret_len = strlen(s);
        return s + *ret_len;
    }
    size_t cut = prefix_bytes(s, w);
    /* A space right after the cut, or the last one before it, ends the line. */
    for (size_t k = cut; k > 0; k--) {
        if (s[k] == ' ') {
            *ret_len = k;
            return s + k + 1;
        }
    }
    *ret_len = cut;
    return s + cut;
}

/* Cells are wrapped down to this width before a column is narrowed further. */
enum { WRAP_MIN = 10 };

/* The longest word of s: a header is narrowed no further (it wraps at its spaces). */
static size_t
longest_word(const char *s)
{
    size_t best = 0, cur = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == ' ')
            cur = 0;
        else if ((*p & 0xC0) != 0x80 && ++cur > best)
            best = cur;
    }
    return best;
}

static size_t
table_width(const size_t *width, const bool *shown, size_t ncols)
{
    size_t total = 1;
    for (size_t c = 0; c < ncols; c++)
        total += shown[c] ? width[c] + 3 : 0;
    return total;
}

/*
 * Which columns to show and how wide, within max_width (0: no limit), so
 * that an 80-column terminal gets a readable table: the natural widths when
 * they fit; else columns empty in every row go, then the table's optional
 * columns (hide_order) one by one until the rest fits (values stay whole
 * rather than wrapped), then the widest columns are narrowed and their cells
 * wrap: first down to WRAP_MIN or their header's longest word, at last to 1.
 */
static void
fit_columns(const struct cli_table *t, size_t *width, bool *shown, size_t max_width)
{
    size_t ncols = t->ncols;
    if (max_width == 0 || table_width(width, shown, ncols) <= max_width)
        return;
    for (size_t c = 0; c < ncols; c++) {
        bool empty = true;
        for (size_t r = 0; r < t->nrows && empty; r++)
            empty = t->cells[r * ncols + c][0] == '\0';
        if (empty && t->nrows > 0)
            shown[c] = false;
    }
    size_t *floor_w = calloc(ncols ? ncols : 1, sizeof(size_t));
    if (floor_w == NULL)
        return;
    for (size_t c = 0; c < ncols; c++)
        floor_w[c] = MIN(width[c], MAX(longest_word(t->headers[c]), (size_t)WRAP_MIN));
    for (size_t k = 0; k < t->nhide && table_width(width, shown, ncols) > max_width; k++)
        shown[t->hide_order[k]] = false;
    for (int pass = 0; pass < 2; pass++) {
        while (table_width(width, shown, ncols) > max_width) {
            size_t widest = ncols;
            for (size_t c = 0; c < ncols; c++) {
                size_t lim = pass == 0 ? floor_w[c] : 1;
                if (shown[c] && width[c] > lim && (widest == ncols || width[c] > width[widest]))
                    widest = c;
            }
            if (widest == ncols)
                break;
            width[widest]--;
        }
    }
    free(floor_w);
}

/* One row of cells (or the header), as many lines as its longest wrapped cell needs. */
static void
print_cells(FILE *out, const struct box *bx, bool color, char *const *cells, const size_t *width,
            const bool *shown, size_t ncols, bool header)
{
    const char *rest[64];
    const char **cur = ncols <= ARRAY_SIZE(rest) ? rest : calloc(ncols, sizeof(char *));
    if (cur == NULL)
        return;
    for (size_t c = 0; c < ncols; c++)
        cur[c] = shown[c] ? cells[c] : "";
    /* Each line consumes at least one code point of every unfinished cell. */
    for (bool first = true;; first = false) {
        bool more = first;
        for (size_t c = 0; c < ncols && !more; c++)
            more = *cur[c] != '\0';
        if (!more)
            break;
        print_bar(out, bx, color);
        for (size_t c = 0; c < ncols; c++) {
            if (!shown[c])
                continue;
            size_t len;
            const char *piece = cur[c];
            cur[c] = wrap_piece(cur[c], width[c], &len);
            size_t pw = display_width_n(piece, len);
            size_t pad = pw < width[c] ? width[c] - pw : 0, left = header ? pad / 2 : 0;
            bool italic = header && color && len > 0;
            fputc(' ', out);
            /* Centred as cscli's headers: the odd space goes to the right. */
            put_repeat(out, " ", left);
            fprintf(out, "%s%.*s%s", italic ? COLOR_HEADER : "", (int)len, piece,
                    italic ? COLOR_RESET : "");
            put_repeat(out, " ", pad - left);
            fputc(' ', out);
            print_bar(out, bx, color);
        }
        fputc('\n', out);
    }
    if (cur != rest)
        free((void *)cur);
}

static void
print_human(const struct cli_table *t, FILE *out, bool color, size_t max_width)
{
    const struct box *bx = color ? &box_rounded : &box_ascii;
    size_t n = t->ncols ? t->ncols : 1;
    size_t *width = calloc(n, sizeof(size_t));
    bool *shown = calloc(n, sizeof(bool));
    size_t *vis = calloc(n, sizeof(size_t));
    if (width == NULL || shown == NULL || vis == NULL)
        goto out;
    for (size_t c = 0; c < t->ncols; c++) {
        shown[c] = true;
        width[c] = MAX(display_width(t->headers[c]), 1);
        for (size_t r = 0; r < t->nrows; r++)
            width[c] = MAX(width[c], display_width(t->cells[r * t->ncols + c]));
    }
    fit_columns(t, width, shown, max_width);
    /* Rules are drawn over the shown columns only. */
    size_t nvis = 0;
    for (size_t c = 0; c < t->ncols; c++) {
        if (shown[c])
            vis[nvis++] = width[c];
    }
    print_rule(out, bx, color, vis, nvis, bx->tl, bx->tm, bx->tr);
    print_cells(out, bx, color, t->headers, width, shown, t->ncols, true);
    print_rule(out, bx, color, vis, nvis, bx->ml, bx->mm, bx->mr);
    for (size_t r = 0; r < t->nrows; r++)
        print_cells(out, bx, color, t->cells + r * t->ncols, width, shown, t->ncols, false);
    print_rule(out, bx, color, vis, nvis, bx->bl, bx->bm, bx->br);
    /* Say what a narrow terminal hid, unless it held nothing. */
    bool first = true;
    for (size_t c = 0; c < t->ncols; c++) {
        bool empty = true;
        for (size_t r = 0; r < t->nrows && empty; r++)
            empty = t->cells[r * t->ncols + c][0] == '\0';
        if (shown[c] || empty)
            continue;
        fprintf(out, "%s%s", first ? "Hidden to fit the terminal: " : ", ", t->headers[c]);
        first = false;
    }
    if (!first)
        fputs(" (-o raw shows every column)\n", out);
out:
    free(width);
    free(shown);
    free(vis);
}

size_t
cli_output_columns(FILE *out)
{
    struct winsize ws;
    int fd = fileno(out);
    if (fd >= 0 && isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *env = getenv("COLUMNS");
    char *end;
    long n = env != NULL ? strtol(env, &end, 10) : 0;
    if (n > 0 && n < 100000 && *end == '\0')
        return (size_t)n;
    return fd >= 0 && isatty(fd) ? 80 : 0;
}

/* Go's encoding/csv quoting rule (fieldNeedsQuotes), so output matches cscli's byte for byte. */
static bool
csv_needs_quotes(const char *s)
{
    if (s[0] == '\0')
        return false;
    if (strcmp(s, "\\.") == 0)
        return true;
    if (strpbrk(s, ",\"\r\n") != NULL)
        return true;
    return s[0] == ' ' || s[0] == '\t' || s[0] == '\v' || s[0] == '\f';
}

static void
csv_cell(FILE *out, const char *s)
{
    if (!csv_needs_quotes(s)) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

static void
csv_row(FILE *out, char *const *cells, size_t ncols)
{
    for (size_t c = 0; c < ncols; c++) {
        if (c > 0)
            fputc(',', out);
        csv_cell(out, cells[c]);
    }
    fputc('\n', out);
}

void
cli_table_print(const struct cli_table *t, FILE *out, const struct cli_globals *g)
{
    cli_table_print_width(t, out, g, cli_output_columns(out));
}

void
cli_table_print_width(const struct cli_table *t, FILE *out, const struct cli_globals *g,
                      size_t max_width)
{
    if (t == NULL)
        return;
    if (g != NULL && g->format == CLI_OUT_RAW) {
        csv_row(out, t->headers, t->ncols);
        for (size_t r = 0; r < t->nrows; r++)
            csv_row(out, t->cells + r * t->ncols, t->ncols);
        return;
    }
    print_human(t, out, g != NULL && g->color, max_width);
}

void
cli_table_free(struct cli_table *t)
{
    if (t == NULL)
        return;
    if (t->headers != NULL) {
        for (size_t c = 0; c < t->ncols; c++)
            free(t->headers[c]);
    }
    for (size_t k = 0; k < t->nrows * t->ncols; k++)
        free(t->cells[k]);
    free(t->cells);
    free(t->headers);
    free(t->hide_order);
    free(t);
}

int
cli_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("Error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

struct cli_progress {
    char *label;
    uint64_t total, done;
    int last_permille; /* redraw only when the bar moves: the caller may call per item */
    int width;         /* of the bar itself, so that the whole line fits the terminal */
};

enum { PROGRESS_WIDTH = 40, PROGRESS_MIN_WIDTH = 10 };

/* Columns of the terminal on stderr: its window size, else $COLUMNS, else 80. */
static int
terminal_columns(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *env = getenv("COLUMNS");
    long n = env != NULL ? strtol(env, NULL, 10) : 0;
    return n > 0 && n < 10000 ? (int)n : 80;
}

static int
decimal_digits(uint64_t v)
{
    int n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/*
 * The bar's width for "label [bar] 100% total/total" to stay within the
 * terminal's columns less one (writing the last column wraps on some
 * terminals, and a wrapped line can no longer be redrawn with \r).
 */
static void
progress_fit(struct cli_progress *p)
{
    int fixed = (int)display_width(p->label) + 2 + 2 + 4 + 1 + 2 * decimal_digits(p->total) + 1;
    int w = terminal_columns() - 1 - fixed;
    p->width = w > PROGRESS_WIDTH       ? PROGRESS_WIDTH
               : w < PROGRESS_MIN_WIDTH ? PROGRESS_MIN_WIDTH
                                        : w;
}

struct cli_progress *
cli_progress_new(const char *label, uint64_t total)
{
    if (!isatty(STDERR_FILENO))
        return NULL;
    struct cli_progress *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->label = strdup(label != NULL ? label : "");
    if (p->label == NULL) {
        free(p);
        return NULL;
    }
    p->total = total;
    p->last_permille = -1;
    progress_fit(p);
    cli_progress_set(p, 0);
    return p;
}

void
cli_progress_set(struct cli_progress *p, uint64_t done)
{
    if (p == NULL)
        return;
    if (done > p->total)
        done = p->total;
    p->done = done;
    int permille = p->total > 0 ? (int)(done * 1000 / p->total) : 1000;
    if (permille == p->last_permille)
        return;
    p->last_permille = permille;
    int filled = permille * p->width / 1000;
    fprintf(stderr, "\r%s [", p->label);
    for (int k = 0; k < p->width; k++)
        fputc(k < filled ? '=' : (k == filled ? '>' : ' '), stderr);
    fprintf(stderr, "] %3d%% %llu/%llu", permille / 10, (unsigned long long)done,
            (unsigned long long)p->total);
    fflush(stderr);
}

void
cli_progress_set_total(struct cli_progress *p, uint64_t total)
{
    if (p == NULL || p->total == total)
        return;
    p->total = total;
    p->last_permille = -1;
    progress_fit(p);
    cli_progress_set(p, p->done);
}

void
cli_progress_print(struct cli_progress *p, const char *line)
{
    if (p == NULL) {
        fprintf(stderr, "%s\n", line);
        return;
    }
    fprintf(stderr, "\r\033[K%s\n", line);
    p->last_permille = -1;
    cli_progress_set(p, p->done);
}

void
cli_progress_free(struct cli_progress *p)
{
    if (p == NULL)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    free(p->label);
    free(p);
}

/* --- subcommand flags --- */

static const struct cli_flag *
find_flag(const struct cli_flag *flags, size_t n, const char *a, const char **ret_inline)
{
    *ret_inline = NULL;
    for (size_t k = 0; k < n; k++) {
        const char *lf = flags[k].longf, *sf = flags[k].shortf;
        size_t llen = strlen(lf);
        if (strcmp(a, lf) == 0 || (sf != NULL && strcmp(a, sf) == 0))
            return &flags[k];
        if (strncmp(a, lf, llen) == 0 && a[llen] == '=') {
            *ret_inline = a + llen + 1;
            return &flags[k];
        }
        if (sf != NULL && flags[k].kind != CLI_FLAG_BOOL && strncmp(a, sf, 2) == 0 &&
            a[2] != '\0' && a[1] != '-') {
            *ret_inline = a[2] == '=' ? a + 3 : a + 2;
            return &flags[k];
        }
    }
    return NULL;
}

static int
set_flag(const struct cli_flag *f, const char *name, const char *v, const char *usage_cmd)
{
    switch (f->kind) {
    case CLI_FLAG_STRING: *(const char **)f->dst = v; return 0;
    case CLI_FLAG_BOOL:
        if (v == NULL || strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
            *(bool *)f->dst = true;
            return 0;
        }
        if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
            *(bool *)f->dst = false;
            return 0;
        }
        break;
    case CLI_FLAG_INT: {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno == 0 && end != v && *end == '\0') {
            *(long *)f->dst = n;
            return 0;
        }
        break;
    }
    }
    fprintf(stderr, "Error: invalid argument \"%s\" for \"%s\" flag\nRun '%s --help' for usage.\n",
            v, name, usage_cmd);
    return 1;
}

int
cli_flags_parse(struct cli_globals *g, const struct cli_flag *flags, size_t nflags, int argc,
                char **argv, int first, const char **pos, size_t max_pos, size_t *ret_npos,
                const char *usage_cmd)
{
    size_t npos = 0;
    int i = first;

    while (i < argc) {
        const char *a = argv[i], *inl;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return CLI_FLAGS_HELP;
        int r = cli_globals_take(g, argc, argv, &i);
        if (r < 0)
            return 1;
        if (r > 0)
            continue;
        const struct cli_flag *f =
            a[0] == '-' && a[1] != '\0' ? find_flag(flags, nflags, a, &inl) : NULL;
        if (f != NULL) {
            const char *v = inl;
            if (v == NULL && f->kind != CLI_FLAG_BOOL) {
                if (i + 1 >= argc) {
                    fprintf(stderr,
                            "Error: flag needs an argument: %s\nRun '%s --help' for usage.\n", a,
                            usage_cmd);
                    return 1;
                }
                v = argv[++i];
            }
            if (set_flag(f, f->longf, v, usage_cmd) != 0)
                return 1;
            i++;
            continue;
        }
        if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "Error: unknown flag: %s\nRun '%s --help' for usage.\n", a, usage_cmd);
            return 1;
        }
        if (npos == max_pos) {
            fprintf(stderr, "Error: unexpected argument \"%s\"\nRun '%s --help' for usage.\n", a,
                    usage_cmd);
            return 1;
        }
        pos[npos++] = a;
        i++;
    }
    if (ret_npos != NULL)
        *ret_npos = npos;
    return 0;
}

/* --- query strings and JSON layout --- */

static int
query_escape(struct str *q, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        int rc;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            rc = str_append_char(q, (char)*p);
        } else if (*p == ' ') {
            rc = str_append_char(q, '+');
        } else {
            char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            rc = str_append(q, e, 3);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
cli_query_add(struct str *q, const char *key, const char *value)
{
    if ((q->len > 0 && str_append_char(q, '&') < 0) || query_escape(q, key) < 0 ||
        str_append_char(q, '=') < 0 || query_escape(q, value) < 0)
        return -ENOMEM;
    return 0;
}

static int
newline_indent(struct str *o, const char *indent, int depth)
{
    if (str_append_char(o, '\n') < 0)
        return -ENOMEM;
    for (int k = 0; k < depth; k++) {
        if (str_append_cstr(o, indent) < 0)
            return -ENOMEM;
    }
    return 0;
}

char *
cli_json_indent(const char *src, const char *indent)
{
    struct str o = STR_INIT;
    bool in_str = false, esc = false, need_indent = false;
    int depth = 0, rc = 0;

    for (const char *p = src; *p != '\0' && rc == 0; p++) {
        char c = *p;
        if (in_str) {
            rc = str_append_char(&o, c);
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        /* An empty object or array stays "{}" / "[]", as in Go. */
        if (need_indent && c != ']' && c != '}') {
            need_indent = false;
            depth++;
            rc = newline_indent(&o, indent, depth);
            if (rc < 0)
                break;
        } else if (need_indent) {
            need_indent = false;
            rc = str_append_char(&o, c);
            continue;
        }
        switch (c) {
        case '"':
            in_str = true;
            rc = str_append_char(&o, c);
            break;
        case '{':
        case '[':
            rc = str_append_char(&o, c);
            need_indent = true;
            break;
        case ',':
            rc = str_append_char(&o, c);
            if (rc == 0)
                rc = newline_indent(&o, indent, depth);
            break;
        case ':': rc = str_append_cstr(&o, ": "); break;
        case '}':
        case ']':
            depth--;
            rc = newline_indent(&o, indent, depth);
            if (rc == 0)
                rc = str_append_char(&o, c);
            break;
        default: rc = str_append_char(&o, c); break;
        }
    }
    if (rc < 0) {
        str_free(&o);
        return NULL;
    }
    if (o.buf == NULL)
        return strdup("");
    return str_steal(&o);
}

/* --- the Local API, as the machine --- */

char *
cli_read_small_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    struct str b = STR_INIT;
    char chunk[4096];
    size_t n;

    if (f == NULL)
        return NULL;
    /* A config file bigger than 1 MiB is a mistake, not a config. */
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < (1u << 20)) {
        if (str_append(&b, chunk, n) < 0) {
            str_free(&b);
            fclose(f);
            return NULL;
        }
    }
    fclose(f);
    if (b.buf == NULL && str_append(&b, "", 0) < 0)
        return NULL;
    *ret_len = b.len;
    return str_steal(&b);
}

int
cli_client_settings(const char *config, char **ret_path, bool *ret_insecure)
{
    size_t len = 0;
    char *buf = cli_read_small_file(config, &len), err[256];
    struct ytree *t = NULL;
    int line = 0, rc = 1;

    if (buf == NULL)
        return cli_fail("unable to read the configuration '%s': %s (give another one with -c)",
                        config, strerror(errno));
    if (ytree_parse(buf, len, &t, err, sizeof(err), &line) != 0) {
        cli_fail("%s:%d: %s", config, line, err);
        goto out;
    }
    const struct ynode *root = t->ndocs > 0 ? t->docs[0] : NULL;
    const struct ynode *client = ynode_map_get(ynode_map_get(root, "api"), "client");
    const struct ynode *cp = ynode_map_get(client, "credentials_path");
    const struct ynode *sk = ynode_map_get(client, "insecure_skip_verify");
    if (cp == NULL || cp->type != YNODE_SCALAR || ynode_is_null(cp)) {
        cli_fail("%s has no api.client.credentials_path: the local API client is not configured "
                 "(register this machine with 'phalanx lapi register' or add the setting)",
                 config);
        goto out;
    }
    if ((*ret_path = strdup(cp->str)) == NULL)
        goto out;
    *ret_insecure = sk != NULL && ynode_bool_value(sk) == 1;
    rc = 0;
out:
    ytree_free(t);
    free(buf);
    return rc;
}

int
cli_lapi_connect(const struct cli_globals *g, struct apiclient **ret, char **ret_login)
{
    struct apiclient_credentials creds = { 0 };
    struct apiclient_error err = { { 0 }, 0 };
    char *path = NULL;
    bool insecure = false;
    int rc = 1;

    if (cli_client_settings(g->config, &path, &insecure) != 0)
        return 1;
    if (apiclient_credentials_load(path, &creds, &err) != 0) {
        cli_fail("unable to load the local API credentials: %s (check api.client.credentials_path "
                 "in %s)",
                 err.message, g->config);
        goto out;
    }
    creds.insecure_skip_verify = insecure;
    if ((*ret = apiclient_new(&creds, NULL, &err)) == NULL) {
        cli_fail("unable to create the local API client: %s", err.message);
        goto out;
    }
    if (ret_login != NULL && (*ret_login = strdup(creds.login ? creds.login : "")) == NULL) {
        apiclient_free(*ret);
        *ret = NULL;
        goto out;
    }
    rc = 0;
out:
    apiclient_credentials_clear(&creds);
    free(path);
    return rc;
}

int
cli_lapi_call(struct apiclient *c, const char *what, const char *method, const char *path_query,
              const char *body, size_t body_len, char **ret_body)
{
    struct apiclient_error err = { { 0 }, 0 };
    long status = 0;
    char *answer = NULL;

    if (ret_body != NULL)
        *ret_body = NULL;
    if (apiclient_request(c, method, path_query, body, body_len, &status, &answer, &err) != 0) {
        free(answer);
        return cli_fail("%s: %s (is the local API running? check 'phalanx lapi status')", what,
                        err.message);
    }
    if (status < 200 || status > 299) {
        json_t *j = answer != NULL ? json_loads(answer, 0, NULL) : NULL;
        const char *msg = json_string_value(json_object_get(j, "message"));
        cli_fail("%s: the local API answered %ld: %s", what, status,
                 msg != NULL ? msg : (answer != NULL ? answer : "(empty body)"));
        json_decref(j);
        free(answer);
        return 1;
    }
    if (ret_body != NULL)
        *ret_body = answer;
    else
        free(answer);
    return 0;
}

/* --- alerts and decisions, shared by `decisions` and `alerts` --- */

/* types.NormalizeScope */
const char *
cli_normalize_scope(const char *scope)
{
    static const char *const known[] = { "Ip", "Range", "AS", "Country" };
    for (size_t i = 0; scope != NULL && i < ARRAY_SIZE(known); i++) {
        if (strcasecmp(scope, known[i]) == 0)
            return known[i];
    }
    return scope;
}

static bool
valid_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static bool
valid_cidr(const char *s)
{
    const char *slash = strchr(s, '/');
    char addr[64];
    unsigned char buf[16];
    if (slash == NULL || (size_t)(slash - s) >= sizeof(addr) || slash[1] == '\0')
        return false;
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    int family = inet_pton(AF_INET, addr, buf) == 1    ? 32
                 : inet_pton(AF_INET6, addr, buf) == 1 ? 128
                                                       : 0;
    char *end;
    errno = 0;
    long bits = strtol(slash + 1, &end, 10);
    return family != 0 && errno == 0 && *end == '\0' && bits >= 0 && bits <= family &&
           (slash[1] != '0' || slash[2] == '\0') && slash[1] != '+' && slash[1] != '-';
}

/* clialert.SanitizeScope: checks -i / -r and normalizes the scope. 0 or 1 (printed). */
int
cli_sanitize_scope(const char **scope, const char *ip, const char *range)
{
    if (range != NULL && range[0] != '\0' && !valid_cidr(range))
        return cli_fail("%s is not a valid range (expected an address/prefix like 1.2.3.0/24)",
                        range);
    if (ip != NULL && ip[0] != '\0' && !valid_ip(ip))
        return cli_fail("%s is not a valid ip", ip);
    *scope = cli_normalize_scope(*scope);
    return 0;
}

/* Parses the LAPI's GET /v1/alerts answer ("null" or an array). 0 or 1 (printed). */
int
cli_alerts_parse(const char *body, struct alert **ret, size_t *ret_n)
{
    json_error_t jerr;
    char msg[256];
    json_t *j = json_loads(body != NULL ? body : "null", JSON_DECODE_ANY, &jerr);

    *ret = NULL;
    *ret_n = 0;
    if (j == NULL)
        return cli_fail("the local API sent invalid JSON: %s", jerr.text);
    if (json_is_null(j)) {
        json_decref(j);
        return 0;
    }
    int rc = alerts_from_json_array(j, ret, ret_n, msg, sizeof(msg));
    json_decref(j);
    if (rc != 0)
        return cli_fail("unexpected answer from the local API: %s", msg);
    return 0;
}

void
cli_alerts_free(struct alert *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        alert_clear(&v[i]);
    free(v);
}

/* Prints alerts as Go's json.MarshalIndent(alerts, "", indent) does; "[]" for none. */
int
cli_alerts_print_json(const struct alert *v, size_t n, const char *indent, bool newline)
{
    if (n == 0) {
        printf("[]\n");
        return 0;
    }
    json_t *j = alerts_to_json_array(v, n);
    char *compact = j != NULL ? model_json_dumps(j) : NULL;
    char *pretty = compact != NULL ? cli_json_indent(compact, indent) : NULL;
    json_decref(j);
    free(compact);
    if (pretty == NULL)
        return cli_fail("out of memory while formatting JSON");
    fputs(pretty, stdout);
    if (newline)
        fputc('\n', stdout);
    free(pretty);
    return 0;
}

/* Source.GetAsNumberName */
void
cli_as_number_name(const struct source *s, char *buf, size_t size)
{
    const char *num = s != NULL && s->as_number != NULL ? s->as_number : "";
    const char *name = s != NULL && s->as_name != NULL ? s->as_name : "";
    snprintf(buf, size, "%s%s%s", strcmp(num, "0") == 0 ? "" : num, name[0] ? " " : "", name);
}

const char *
cli_format_time(int64_t ns, bool nano, char *buf, size_t size)
{
    if (ns <= 0) {
        buf[0] = '\0';
        return buf;
    }
    if (nano) {
        gotime_format_rfc3339nano((struct gotime){ ns, 0 }, buf, size);
    } else {
        time_t t = (time_t)(ns / 1000000000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    return buf;
}

int
cli_print_json(struct json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    json_decref(v);
    if (s == NULL)
        return cli_fail("out of memory");
    puts(s);
    free(s);
    return 0;
}
