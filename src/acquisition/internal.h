/*
 * internal.h - what a datasource type implements (private to
 * src/acquisition): acquisition.c decodes the common keys and the document,
 * then hands the rest to the type's table of functions.
 */
#ifndef PHALANX_ACQUISITION_INTERNAL_H
#define PHALANX_ACQUISITION_INTERNAL_H

#include "acquisition/acquisition.h"
#include "config/config.h"

#include <pthread.h>
#include <stdatomic.h>

struct acq_source {
    const struct acq_source_ops *ops;
    struct acq_common common;
    char *describe; /* acq_describe(), set by configure */
    void *priv;     /* the type's state, owned by it (ops->free) */
    acq_emit_fn emit;
    void *emit_ctx;
    acq_warn_fn warn;
    void *warn_ctx;
    atomic_bool stopping; /* set by acq_stop before ops->stop */
    atomic_bool running;  /* set by ops->start, cleared by the type when its thread ends */
    _Atomic uint64_t lines, truncated, errors, reopens;
};

struct acq_source_ops {
    const char *type; /* the source: value */
    /*
     * The keys of this type (besides the common ones), for the strict key
     * check; NULL-terminated.
     */
    const char *const *keys;
    /*
     * Decodes the type's keys of doc (a map; the common keys are already in
     * s->common) and sets s->describe. Errors name s->common.file and the
     * node's line. 0 or -1 with err.
     */
    int (*configure)(struct acq_source *s, const struct ynode *doc, struct acq_error *err);
    /* From a DSN's part after "type://" (cat mode). 0 or -1 with err. NULL: no DSN form. */
    int (*configure_dsn)(struct acq_source *s, const char *rest, struct acq_error *err);
    /* Opens and spawns the type's thread(s). -1 with err: unavailable (skipped, warned). */
    int (*start)(struct acq_source *s, struct acq_error *err);
    /* Wakes and joins the thread(s) (s->stopping is already set). Called only after start. */
    void (*stop)(struct acq_source *s);
    /* Frees s->priv; NULL ok. */
    void (*free)(struct acq_source *s);
};

extern const struct acq_source_ops acq_file_ops;
extern const struct acq_source_ops acq_syslog_ops;
extern const struct acq_source_ops acq_journalctl_ops;

void acq_errorf(struct acq_error *err, const char *fmt, ...) PRINTF_LIKE(2, 3);
void acq_warnf(struct acq_source *s, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Emits one line (fills module, src, time and common; counts it). The emit callback's return. */
int acq_emit_line(struct acq_source *s, const char *src, const char *line, size_t len,
                  bool truncated);

/*
 * Decoders of a type's keys for configure, yaml.v2-like: a key that is absent
 * or null leaves *ret untouched and returns 0; a value of the wrong shape is
 * -1 with "FILE:LINE: KEY: expected ..." in err. Strings are malloc'ed (the
 * caller frees; acq_strings_free for lists). A string list must be a
 * sequence of scalars (a lone scalar is refused, as yaml.v2 does).
 * acq_config_errorf always returns -1.
 */
int acq_config_errorf(const struct acq_source *s, int line, struct acq_error *err, const char *fmt,
                      ...) PRINTF_LIKE(4, 5);
int acq_yaml_string(const struct acq_source *s, const struct ynode *doc, const char *key,
                    char **ret, struct acq_error *err);
int acq_yaml_bool(const struct acq_source *s, const struct ynode *doc, const char *key, bool *ret,
                  struct acq_error *err);
int acq_yaml_int(const struct acq_source *s, const struct ynode *doc, const char *key,
                 long long min, long long max, long long *ret, struct acq_error *err);
int acq_yaml_duration(const struct acq_source *s, const struct ynode *doc, const char *key,
                      int64_t *ret_ns, struct acq_error *err);
int acq_yaml_strings(const struct acq_source *s, const struct ynode *doc, const char *key,
                     char ***ret, size_t *ret_n, struct acq_error *err);
void acq_strings_free(char **v, size_t n);

#endif
