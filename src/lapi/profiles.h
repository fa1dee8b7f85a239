/*
 * profiles.h - CrowdSec's profiles.yaml: the rules by which the Local API
 * turns an alert without decisions into decisions (pkg/csprofiles,
 * pkg/csconfig/profiles.go, controllers/v1/alerts.go; spec section 9).
 *
 * A profile is a list of filters over `Alert` (OR'ed), the decisions to
 * attach when one is true, and what to do next (on_success, on_failure,
 * on_error). Filters and duration_expr are compiled once at load time; the
 * loaded set is read-only afterwards, so any number of request threads may
 * call profiles_apply() at once, each with its own expr_vm.
 */
#ifndef PHALANX_LAPI_PROFILES_H
#define PHALANX_LAPI_PROFILES_H

#include "common/common.h"
#include "expr/expr.h"
#include "model/model.h"

struct profiles;

/* A load error: the file, its 1-based line (0 when unknown) and what is wrong. */
struct profiles_error {
    char file[512];
    int line;
    char message[512];
};

/*
 * Loads a multi-document profiles.yaml, decoded strictly as yaml.v3 with
 * KnownFields (keys: name, debug, filters, decisions{type, duration, scope,
 * origin, simulated}, duration_expr, notifications, on_success, on_failure,
 * on_error). Returns an owned set (profiles_free), or NULL with err filled.
 */
struct profiles *profiles_load(const char *path, struct profiles_error *err);
/* The same from memory; name is what errors call the file. */
struct profiles *profiles_load_buffer(const char *name, const char *buf, size_t len,
                                      struct profiles_error *err);
void profiles_free(struct profiles *p);

/*
 * Applies the profiles to one alert as CrowdSec's POST /v1/alerts does: for
 * an alert without decisions, fills a->decisions (type, duration, scope,
 * value, origin "crowdsec", scenario, simulated, until = stop_at + duration)
 * from the first matching profile. An alert that already has decisions
 * (cscli) is left alone. Returns 0, or -1 with the message in err (errlen
 * bytes) when a filter fails and the profile's on_error is unset: the caller
 * answers HTTP 500 with that message and stores nothing.
 */
int profiles_apply(const struct profiles *p, struct expr_vm *vm, struct alert *a, char *err,
                   size_t errlen);

#endif
