/*
 * litfilter.h - a literal prefilter for lists of regexes (private to
 * src/expr). RegexpInFile runs hundreds of regexes such as `\bsqlmap\b`
 * against every user agent, and nearly all of them cannot match because the
 * plain text they require is not there.
 *
 * For each pattern the longest run of plain characters that every match must
 * contain is extracted, conservatively: a construct the extractor does not
 * fully understand (alternation, flags other than (?i), \Q, \p, numeric
 * escapes, comments) leaves the pattern without a literal, and such a
 * pattern is always a candidate. One pass over the subject, ASCII case
 * folded, finds which literals occur; a pattern whose literal does not occur
 * cannot match. Folding only makes the test looser, so case-sensitive and
 * case-insensitive patterns share one table (under (?i) the letters that
 * Unicode folds to non-ASCII runes, k and s, end a literal). The filter only
 * decides which regexes need to run; it never decides a result.
 */
#ifndef PHALANX_EXPR_LITFILTER_H
#define PHALANX_EXPR_LITFILTER_H

#include "common/common.h"

#define LITFILTER_LITERAL_MAX 64

struct litfilter;

/*
 * The longest literal every match of pat (PCRE2 source, as the data files
 * hold it) contains, unescaped and cut to LITFILTER_LITERAL_MAX bytes, into
 * buf; returns its length, 0 when the extractor cannot vouch for one.
 */
size_t litfilter_required(const char *pat, size_t len, char buf[LITFILTER_LITERAL_MAX]);

/* A filter over n patterns; NULL on out of memory. */
struct litfilter *litfilter_new(const char *const *pats, const size_t *lens, size_t n);
void litfilter_free(struct litfilter *f);

/*
 * Sets cand[i] for every pattern i that may match s: those without a literal
 * and those whose literal occurs in s (ASCII case-insensitively); clears the
 * others. cand has room for the n patterns of litfilter_new.
 */
void litfilter_candidates(const struct litfilter *f, const char *s, size_t len, bool *cand);

#endif
