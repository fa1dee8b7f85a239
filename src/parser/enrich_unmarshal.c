/*
 * enrich_unmarshal.c - the UnmarshalJSON enricher (CrowdSec's
 * pkg/parser/enrich_unmarshal.go).
 *
 * Whatever the static's value, it decodes the event's Line.Raw into
 * Unmarshaled with encoding/json's rules for a map target: an object's keys
 * are merged into the existing map (later duplicates win), JSON null leaves
 * it nil. Anything else (invalid JSON, an array...) is an error CrowdSec
 * only logs, the event keeping the map it had: here it returns 0 with
 * nothing changed. Unlike encoding/json, jansson refuses invalid UTF-8 and
 * integers beyond int64 instead of replacing or rounding them.
 */
#include "common/common.h"

#include "parser/enrich_internal.h"

int
enrich_unmarshal_json(struct enrich_ctx *ctx, const char *input, size_t len, struct event *evt)
{
    json_error_t jerr;
    /* JSON_DECODE_ANY: a top-level null is valid for encoding/json; duplicates: last wins. */
    json_t *doc = json_loadb(evt->line.raw.ptr ? evt->line.raw.ptr : "", evt->line.raw.len,
                             JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!doc)
        return 0;
    if (json_is_null(doc)) {
        /* json.Unmarshal of null into a map sets the map to nil. */
        json_decref(doc);
        json_decref(evt->unmarshaled);
        evt->unmarshaled = NULL;
        return 0;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        return 0;
    }
    if (!evt->unmarshaled) {
        evt->unmarshaled = doc;
        return 0;
    }
    /* The map may be shared with clones of the event (event_clone): copy before writing. */
    if (evt->unmarshaled->refcount > 1) {
        json_t *copy = json_copy(evt->unmarshaled);
        if (!copy) {
            json_decref(doc);
            return -ENOMEM;
        }
        json_decref(evt->unmarshaled);
        evt->unmarshaled = copy;
    }
    int rc = json_object_update(evt->unmarshaled, doc) == 0 ? 0 : -ENOMEM;
    json_decref(doc);
    return rc;
}
