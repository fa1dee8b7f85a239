/*
 * helpers.h - the function tables that make up the environment (private to
 * src/expr). Each helpers_*.c file defines one table; env.c registers them.
 */
#ifndef PHALANX_EXPR_HELPERS_H
#define PHALANX_EXPR_HELPERS_H

#include "expr.h"

/* expr-lang builtins: len, upper, split, now, duration, ... (builtins.c) */
extern const struct expr_func expr_builtins[];
extern const size_t expr_builtins_count;

/* CrowdSec helpers, by family. */
/* Upper Lower Trim* Split* Replace* Sprintf ... */
extern const struct expr_func expr_helpers_strings[];
extern const size_t expr_helpers_strings_count;
/* JsonExtract* UnmarshalJSON ParseKV ToJsonString ... */
extern const struct expr_func expr_helpers_json[];
extern const size_t expr_helpers_json_count;
/* time, URL, B64, Distance, FloatApproxEqual, stash, ... */
extern const struct expr_func expr_helpers_misc[];
extern const size_t expr_helpers_misc_count;
extern const struct expr_func expr_helpers_ip[]; /* IpInRange IsIP* IpToRange GeoIP* ... */
extern const size_t expr_helpers_ip_count;
/* File RegexpInFile FileMap LookupFile MatchKnownBot */
extern const struct expr_func expr_helpers_data[];
extern const size_t expr_helpers_data_count;
/*
 * File(name) with f, a pure helper of one string (Upper, Lower, ...), applied
 * to every line: what `any(File(x), {Upper(#) ...})` iterates over once the
 * compiler has moved the call out of the loop. Built on first use per (file,
 * f) with vm as scratch, then shared read-only by every thread until
 * expr_data_reset(). File()'s empty array when the file is not loaded.
 * 0, or -1 with the error of f (out of memory) in vm.
 */
int expr_data_file_mapped(struct expr_vm *vm, const char *name, size_t len,
                          const struct expr_func *f, struct expr_value *ret);
/* HTTP*, LookupHost, CrowdsecCTI, decisions counts */
extern const struct expr_func expr_helpers_net[];
extern const size_t expr_helpers_net_count;
extern const struct expr_func expr_helpers_xml[]; /* XMLGetNodeValue XMLGetAttributeValue */
extern const size_t expr_helpers_xml_count;

/*
 * Regexes with RE2-like behaviour on PCRE2 (matches operator, Match-like
 * helpers, RegexpInFile): compiled with JIT and run under a match limit and a
 * depth limit. Returns NULL with a message in err (256 bytes) on a bad pattern.
 */
struct expr_regex;
struct expr_regex *expr_regex_compile(const char *pat, size_t len, char *err, size_t errsize);
/* 1 match, 0 no match, -1 limit hit or error. Thread-safe (per-thread match data). */
int expr_regex_match(const struct expr_regex *re, const char *s, size_t len);
void expr_regex_free(struct expr_regex *re);

/*
 * Go library behaviour shared by the helpers_*.c files (helpers_strings.c).
 * expr_go_parse_float is strconv.ParseFloat(s, 64): 0, -EINVAL on a syntax
 * error (*ret = 0) or -ERANGE on overflow (*ret = +-Inf, as Go returns).
 * expr_go_trim_space is strings.TrimSpace (Unicode white space, both ends).
 */
int expr_go_parse_float(const char *s, size_t len, double *ret);
void expr_go_trim_space(const char **s, size_t *len);

/*
 * Argument access shared by the helper families (helpers_args.c).
 * expr_helper_type_error fails the call with the panic text of a failed Go
 * type assertion (interface {} is <type>, not <want>) and returns -1.
 * expr_helper_arg_strv reads args[i] with expr's argument-check text
 * ("cannot use <kind> as argument (type string) to call <fn>"): 0 or -1.
 */
struct strv;
const char *expr_helper_type_name(const struct expr_value *v);
int expr_helper_type_error(struct expr_vm *vm, const struct expr_value *v, const char *want);
int expr_helper_arg_strv(struct expr_vm *vm, const char *fn, const struct expr_value *args,
                         size_t i, struct strv *ret);

/*
 * The accessors below are inline, and fail with a literal -1, so that the
 * static analyser sees that their out-parameters are set whenever they
 * return 0 (it cannot look into another file). expr_helper_arg_float takes
 * an int too, as expr converts integer constants passed to a float64
 * parameter at compile time.
 */
static inline int
expr_helper_oom(struct expr_vm *vm)
{
    expr_vm_error(vm, "out of memory");
    return -1;
}

static inline int
expr_helper_arg_str(struct expr_vm *vm, const struct expr_value *v, const char **p, size_t *n)
{
    if (v->kind != EXPR_STRING) {
        expr_helper_type_error(vm, v, "string");
        return -1;
    }
    *p = v->u.s.ptr != NULL ? v->u.s.ptr : "";
    *n = v->u.s.len;
    return 0;
}

static inline int
expr_helper_arg_int(struct expr_vm *vm, const struct expr_value *v, int64_t *ret)
{
    if (v->kind != EXPR_INT) {
        expr_helper_type_error(vm, v, "int");
        return -1;
    }
    *ret = v->u.i;
    return 0;
}

static inline int
expr_helper_arg_float(struct expr_vm *vm, const struct expr_value *v, double *ret)
{
    if (v->kind == EXPR_FLOAT)
        *ret = v->u.f;
    else if (v->kind == EXPR_INT)
        *ret = (double)v->u.i;
    else {
        expr_helper_type_error(vm, v, "float64");
        return -1;
    }
    return 0;
}

/* Reads string argument i of a helper into (p, n), or returns -1 from the helper. */
#define EXPR_S_ARG(i, p, n)                                                                        \
    do {                                                                                           \
        if (expr_helper_arg_str(vm, &args[i], &(p), &(n)) != 0)                                    \
            return -1;                                                                             \
    } while (0)

#endif
