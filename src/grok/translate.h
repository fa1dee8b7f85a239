/*
 * translate.h - private to src/grok: Go regexp syntax to PCRE2 syntax.
 *
 * Grok patterns are written for Go's regexp (RE2) syntax. PCRE2 reads most of
 * it the same way; grok_translate() rewrites what differs and rejects what Go
 * would reject but PCRE2 would accept (lookaround, backreferences, possessive
 * quantifiers, verbs), so a pattern loads here exactly when it loads in
 * CrowdSec. Capturing groups keep their number: Go and PCRE2 both number them
 * by opening parenthesis, and grokky's field table relies on those numbers.
 */
#ifndef PHALANX_GROK_TRANSLATE_H
#define PHALANX_GROK_TRANSLATE_H

#include "common/common.h"
#include "common/str.h"

/*
 * Appends the PCRE2 form of the Go regex src[0..len) to out and sets
 * *ret_ncap to its number of capturing groups. Named groups (?P<x>...) become
 * plain capturing groups: only grok's %{X:field} names are fields. Returns 0,
 * -EINVAL with a message in errbuf, or -ENOMEM.
 */
int grok_translate(const char *src, size_t len, struct str *out, int *ret_ncap, char *errbuf,
                   size_t errlen);

/*
 * Finds the top-level alternatives of a regex produced by grok_translate():
 * writes the offset of each top-level '|' to ret_bars (up to max) and returns
 * their count, or -1 when the regex cannot be split without changing its
 * meaning (a top-level flag group such as (?i) also governs later branches)
 * or has more than max bars.
 */
int grok_split_alternatives(const char *pcre, size_t len, size_t *ret_bars, size_t max);

/*
 * 1 when the whole of s is one capturing group "(...)", 2 when it is one
 * plain non-capturing group "(?:...)", else 0.
 */
int grok_whole_group(const char *pcre, size_t len);

/*
 * The longest run of plain ASCII characters that every match of the PCRE2
 * regex s[0..len) (as grok_translate() writes it, compiled without caseless
 * or extended flags) contains, copied to buf (at most cap <=
 * GROK_LITERAL_MAX bytes); returns its length, 0 when there is none or the
 * regex holds something this conservative scan does not read (a top-level
 * alternative, a flag setting, \Q, \x{..}). Groups and classes are skipped
 * whole; a quantified atom leaves the run. A subject without the literal
 * cannot match, which lets the matcher skip the regex.
 */
#define GROK_LITERAL_MAX 64
size_t grok_required_literal(const char *s, size_t len, char *buf, size_t cap);

#endif
