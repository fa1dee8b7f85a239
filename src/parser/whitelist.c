/*
 * whitelist.c - a node's `whitelist:` (whitelist.go): addresses and CIDRs
 * compared with the event's IP sources (Meta.source_ip for a log, the keys
 * of Overflow.Sources for an overflow), then boolean expressions. The first
 * match marks the event whitelisted with the node's reason (and the overflow
 * too); a whitelist never makes its node fail.
 */
#include "common/common.h"

#include "config/config.h"
#include "exprenv/exprenv.h"
#include "parser/internal.h"

static const char *const wl_keys[] = { "reason", "ip", "cidr", "expression" };

void
parser_whitelist_clear(struct parser_whitelist *wl)
{
    if (wl == NULL)
        return;
    free(wl->reason);
    free(wl->ips);
    free(wl->cidrs);
    for (size_t i = 0; wl->exprs != NULL && i < wl->nexprs; i++)
        expr_program_free(wl->exprs[i]);
    free(wl->exprs);
    memset(wl, 0, sizeof(*wl));
}

/* Go's netip.ParsePrefix wants "addr/bits"; a bare address is refused. */
static int
parse_prefix(const char *s, struct ip_range *ret)
{
    if (strchr(s, '/') == NULL)
        return -EINVAL;
    return ip_range_parse_cidr(s, strlen(s), ret);
}

int
parser_whitelist_decode(struct parser_loader *ld, const struct ynode *y,
                        struct parser_whitelist *ret)
{
    char **l = NULL;
    size_t n = 0;
    int rc;

    memset(ret, 0, sizeof(*ret));
    if ((rc = parser_yaml_check_keys(ld, y, "parser.Whitelist", wl_keys, ARRAY_SIZE(wl_keys))) <
            0 ||
        (rc = parser_yaml_string(ld, parser_yaml_get(y, "reason"), "reason", &ret->reason)) < 0)
        goto out;

    const struct ynode *ips = parser_yaml_get(y, "ip");
    if ((rc = parser_yaml_string_list(ld, ips, "ip", &l, &n)) < 0)
        goto out;
    if (n > 0 && (ret->ips = calloc(n, sizeof(*ret->ips))) == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++, ret->nips++)
        if (ip_parse(l[i], strlen(l[i]), &ret->ips[i]) < 0) {
            rc = parser_load_fail(ld, ips->items[i]->line,
                                  "key \"ip\": parsing whitelist: ParseAddr(\"%.60s\"): invalid",
                                  l[i]);
            goto out;
        }
    parser_string_list_free(l, n);
    l = NULL;

    const struct ynode *cidrs = parser_yaml_get(y, "cidr");
    if ((rc = parser_yaml_string_list(ld, cidrs, "cidr", &l, &n)) < 0)
        goto out;
    if (n > 0 && (ret->cidrs = calloc(n, sizeof(*ret->cidrs))) == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++, ret->ncidrs++)
        if (parse_prefix(l[i], &ret->cidrs[i]) < 0) {
            rc = parser_load_fail(ld, cidrs->items[i]->line,
                                  "key \"cidr\": parsing whitelist: netip.ParsePrefix(\"%.60s\"): "
                                  "invalid",
                                  l[i]);
            goto out;
        }
    parser_string_list_free(l, n);
    l = NULL;

    const struct ynode *ex = parser_yaml_get(y, "expression");
    if ((rc = parser_yaml_string_list(ld, ex, "expression", &l, &n)) < 0)
        goto out;
    if (n > 0 && (ret->exprs = calloc(n, sizeof(*ret->exprs))) == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        if ((rc = parser_compile_expr(ld, ex->items[i], "expression", true,
                                      &ret->exprs[ret->nexprs])) < 0)
            goto out;
        /* validation pass: count it all the same, so the node is not "empty" */
        if (ret->exprs[ret->nexprs] != NULL || !ld->compile)
            ret->nexprs++;
    }
    rc = 0;
    goto out;
oom:
    rc = parser_load_fail(ld, y->line, "out of memory");
out:
    parser_string_list_free(l, n);
    if (rc < 0)
        parser_whitelist_clear(ret);
    return rc;
}

/* ParseIPSources() compared with the node's addresses and ranges. */
static bool
check_ips(const struct parser_whitelist *wl, const struct event *evt)
{
    struct ip_addr src;

    if (wl->nips == 0 && wl->ncidrs == 0)
        return false;
    if (evt->type == EVENT_LOG) {
        const struct strv *v = strmap_get_cstr(&evt->meta, "source_ip");
        if (v == NULL || ip_parse(v->ptr, v->len, &src) < 0)
            return false;
        for (size_t i = 0; i < wl->nips; i++)
            if (ip_cmp(&wl->ips[i], &src) == 0)
                return true;
        for (size_t i = 0; i < wl->ncidrs; i++)
            if (ip_range_contains(&wl->cidrs[i], &src))
                return true;
        return false;
    }
    if (evt->type != EVENT_OVFLW)
        return false;
    for (size_t s = 0; s < evt->overflow.nsources; s++) {
        const char *k = evt->overflow.sources[s].key;
        if (k == NULL || ip_parse(k, strlen(k), &src) < 0)
            continue;
        for (size_t i = 0; i < wl->nips; i++)
            if (ip_cmp(&wl->ips[i], &src) == 0)
                return true;
        for (size_t i = 0; i < wl->ncidrs; i++)
            if (ip_range_contains(&wl->cidrs[i], &src))
                return true;
    }
    return false;
}

int
parser_whitelist_check(const struct parser_set *ps, struct parser_worker *w,
                       const struct parser_whitelist *wl, struct event *evt)
{
    struct expr_error err;
    bool hit = check_ips(wl, evt);

    for (size_t i = 0; !hit && i < wl->nexprs; i++) {
        w->vars[EXPRENV_SLOT_EVT] = exprenv_event_value(evt);
        int r = expr_eval_bool(w->vm, wl->exprs[i], w->vars, &err);
        if (r < 0) {
            /* an evaluation error ends the check: not whitelisted (whitelist.go) */
            PARSER_COUNT(ps, expr_errors);
            return 0;
        }
        hit = r == 1;
    }
    if (hit && !evt->whitelisted) {
        evt->whitelisted = true;
        const char *reason = wl->reason ? wl->reason : "";
        if (event_set_str(evt, &evt->whitelist_reason, reason, strlen(reason)) < 0)
            return -ENOMEM;
        if (evt->type == EVENT_OVFLW || ps->postoverflow)
            evt->overflow.whitelisted = true;
    }
    return hit ? 1 : 0;
}
