/*
 * sigs.c - the Go signatures expr-lang's checker sees for our functions.
 *
 * expr-lang 1.17 type-checks calls at compile time: the CrowdSec helpers are
 * registered with Go signatures (expr_lib.go, e.g. Upper is func(string)
 * string), most string builtins with the signatures of the strings package,
 * and len/abs/int/... with a validator of their own. A call it rejects must
 * fail to compile here too ("cannot use int as argument (type string) to call
 * Upper"), so the compiler asks this table about the functions of the default
 * tables; functions added by other tables (context extras) stay unchecked.
 *
 * A signature is a list of overloads separated by ';', each a list of Go
 * parameter types separated by ',' ("" = no parameter), the last one possibly
 * "...T" (variadic). Only the types the compiler knows how to check appear:
 * string, int, float64, bool, any, []string, map[string]interface {} and *T (a pointer:
 * only nil or unknown values). The builtins with a validator of their own
 * are described by struct expr_validator (internal.h) instead.
 */
#include <string.h>

#include "common/common.h"
#include "helpers.h"
#include "internal.h"

struct sig_entry {
    const char *name;
    const char *sig;
};

/* builtin/builtin.go Types of v1.17.8, in its order. */
static const struct sig_entry builtin_sigs[] = {
    { "trim", "string;string,string" },
    { "trimPrefix", "string,string;string" },
    { "trimSuffix", "string,string;string" },
    { "upper", "string" },
    { "lower", "string" },
    { "split", "string,string;string,string,int" },
    { "splitAfter", "string,string;string,string,int" },
    { "replace", "string,string,string,int;string,string,string" },
    { "repeat", "string,int" },
    { "indexOf", "string,string" },
    { "lastIndexOf", "string,string" },
    { "hasPrefix", "string,string" },
    { "hasSuffix", "string,string" },
    { "fromJSON", "string" },
    { "toBase64", "string" },
    { "fromBase64", "string" },
    { "duration", "string" },
    { "timezone", "string" },
};

/* The signatures of pkg/exprhelpers/expr_lib.go (CrowdSec v1.6). */
static const struct sig_entry helper_sigs[] = {
    { "CrowdsecCTI", "string" },
    { "Distance", "string,string,string,string" },
    { "GetFromStash", "string,string" },
    { "Atof", "string" },
    { "JsonExtract", "string,string" },
    { "JsonExtractUnescape", "string,...string" },
    { "JsonExtractLib", "string,...string" },
    { "JsonExtractSlice", "string,string" },
    { "JsonExtractObject", "string,string" },
    { "ToJsonString", "any" },
    { "File", "string" },
    { "RegexpInFile", "string,string" },
    { "FileMap", "string" },
    { "LookupFile", "string,string" },
    { "MatchKnownBot", "string,string,string,...string" },
    { "Upper", "string" },
    { "Lower", "string" },
    { "IpInRange", "string,string" },
    { "TimeNow", "" },
    { "ParseUri", "string" },
    { "ParseQuery", "string" },
    { "ExtractQueryParam", "string,string" },
    { "PathUnescape", "string" },
    { "QueryUnescape", "string" },
    { "PathEscape", "string" },
    { "QueryEscape", "string" },
    { "XMLGetAttributeValue", "string,string,string" },
    { "XMLGetNodeValue", "string,string" },
    { "IpToRange", "string,string" },
    { "IsIPV6", "string" },
    { "IsIPV4", "string" },
    { "IsIP", "string" },
    { "LookupHost", "string" },
    { "GetDecisionsCount", "string" },
    { "GetActiveDecisionsCount", "string" },
    { "GetActiveDecisionsTimeLeft", "string" },
    { "GetDecisionsSinceCount", "string,string" },
    { "Sprintf", "string,...any" },
    { "ParseUnix", "string" },
    { "Fields", "string" },
    { "Index", "string,string" },
    { "IndexAny", "string,string" },
    { "Join", "[]string,string" },
    { "Split", "string,string" },
    { "SplitAfter", "string,string" },
    { "SplitAfterN", "string,string,int" },
    { "SplitN", "string,string,int" },
    { "Replace", "string,string,string,int" },
    { "ReplaceAll", "string,string,string" },
    { "Trim", "string,string" },
    { "TrimLeft", "string,string" },
    { "TrimRight", "string,string" },
    { "TrimSpace", "string" },
    { "TrimPrefix", "string,string" },
    { "TrimSuffix", "string,string" },
    { "Get", "[]string,int" },
    { "ToString", "any" },
    { "Match", "string,string" },
    { "KeyExists", "string,map[string]interface {}" },
    { "LogInfo", "string,...any" },
    { "B64Decode", "string" },
    { "UnmarshalJSON", "string,map[string]interface {},string" },
    { "ParseKV", "string,map[string]interface {},string" },
    { "ParseKVLax", "string,map[string]interface {},string" },
    { "Hostname", "" },
    { "FloatApproxEqual", "float64,float64" },
    { "LibInjectionIsSQLI", "string" },
    { "LibInjectionIsXSS", "string" },
    { "GeoIPEnrich", "string" },
    { "GeoIPASNEnrich", "string" },
    { "GeoIPRangeEnrich", "string" },
    { "IPToCountry", "string" },
    { "HTTPGet", "string" },
    { "HTTPHead", "string" },
    { "HTTPPost", "string,string,string" },
    { "HTTPRequest", "string,string,map[string]interface {},string" },
};

static bool
in_table(const struct expr_func *f, const struct expr_func *t, size_t n)
{
    /* Compare addresses as integers: relational operators on unrelated arrays are undefined. */
    uintptr_t p = (uintptr_t)f, lo = (uintptr_t)t, hi = (uintptr_t)(t + n);
    return p >= lo && p < hi;
}

static const char *
find_sig(const struct sig_entry *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].sig;
    return NULL;
}

const char *
expr_func_sig(const struct expr_func *f)
{
    static const struct {
        const struct expr_func *funcs;
        const size_t *n;
    } helpers[] = {
        { expr_helpers_strings, &expr_helpers_strings_count },
        { expr_helpers_json, &expr_helpers_json_count },
        { expr_helpers_misc, &expr_helpers_misc_count },
        { expr_helpers_ip, &expr_helpers_ip_count },
        { expr_helpers_data, &expr_helpers_data_count },
        { expr_helpers_net, &expr_helpers_net_count },
        { expr_helpers_xml, &expr_helpers_xml_count },
    };
    if (!f || !f->name)
        return NULL;
    if (in_table(f, expr_builtins, expr_builtins_count))
        return find_sig(builtin_sigs, ARRAY_SIZE(builtin_sigs), f->name);
    for (size_t i = 0; i < ARRAY_SIZE(helpers); i++)
        if (in_table(f, helpers[i].funcs, *helpers[i].n))
            return find_sig(helper_sigs, ARRAY_SIZE(helper_sigs), f->name);
    return NULL;
}

/* builtin.go Validate functions of v1.17.8: their arity wording and argument classes. */
static const struct expr_validator validators[] = {
    { "len", 1, 1, EXPR_VALIDATE_LEN },       { "abs", 1, 1, EXPR_VALIDATE_NUMBER },
    { "ceil", 1, 1, EXPR_VALIDATE_NUMBER },   { "floor", 1, 1, EXPR_VALIDATE_NUMBER },
    { "round", 1, 1, EXPR_VALIDATE_NUMBER },  { "int", 1, 1, EXPR_VALIDATE_CONVERT },
    { "float", 1, 1, EXPR_VALIDATE_CONVERT }, { "now", 0, 0, EXPR_VALIDATE_NONE },
    { "date", 1, 3, EXPR_VALIDATE_NONE },     { "first", 1, 1, EXPR_VALIDATE_NONE },
    { "last", 1, 1, EXPR_VALIDATE_NONE },     { "take", 2, 2, EXPR_VALIDATE_NONE },
    { "keys", 1, 1, EXPR_VALIDATE_NONE },     { "values", 1, 1, EXPR_VALIDATE_NONE },
    { "toPairs", 1, 1, EXPR_VALIDATE_NONE },  { "fromPairs", 1, 1, EXPR_VALIDATE_NONE },
    { "reverse", 1, 1, EXPR_VALIDATE_NONE },  { "uniq", 1, 1, EXPR_VALIDATE_NONE },
    { "concat", 1, -1, EXPR_VALIDATE_NONE },  { "flatten", 1, 1, EXPR_VALIDATE_NONE },
};

const struct expr_validator *
expr_func_validator(const struct expr_func *f)
{
    if (!f || !f->name || !in_table(f, expr_builtins, expr_builtins_count))
        return NULL;
    for (size_t i = 0; i < ARRAY_SIZE(validators); i++)
        if (strcmp(validators[i].name, f->name) == 0)
            return &validators[i];
    return NULL;
}
