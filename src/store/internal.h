/*
 * internal.h - what the store's query code needs from a backend.
 *
 * A backend is a table of function pointers over one connection: run a
 * parameterised statement (text with $1..$N placeholders) and hand each
 * result row to a callback. Everything above it (schema, filters, the stream
 * rules) is written once in store.c, decisions.c, alerts.c and so on, so both
 * databases answer the same queries the same way; the one dialect difference
 * the schema needs is the auto-increment key type.
 */
#ifndef PHALANX_STORE_INTERNAL_H
#define PHALANX_STORE_INTERNAL_H

#include "common/str.h"
#include "store/store.h"

#include <pthread.h>

enum sql_type { SQL_NULL, SQL_INT, SQL_TEXT, SQL_REAL };

struct sql_val {
    enum sql_type type;
    int64_t i;
    double d;
    const char *s;
};

/* A result row, read through the backend that produced it. */
struct sql_row {
    const struct store_backend *be;
    void *impl;
};

typedef int (*sql_row_fn)(const struct sql_row *row, void *ctx);

struct store_backend {
    const char *name;
    const char *id_column; /* auto-increment primary key DDL */
    int (*open)(const char *dsn, void **ret_conn, struct store_error *err);
    void (*close)(void *conn);
    /*
     * Runs sql with params; on_row (may be NULL) sees each row and may stop
     * the scan by returning non-zero (that value is returned). ret_changes
     * (may be NULL) receives the number of rows changed. 0, -EEXIST on a
     * unique violation, -EIO with the message in err.
     */
    int (*exec)(void *conn, const char *sql, const struct sql_val *params, size_t nparams,
                sql_row_fn on_row, void *ctx, int64_t *ret_changes, struct store_error *err);
    int (*begin)(void *conn, struct store_error *err);
    bool (*col_null)(const struct sql_row *r, int col);
    int64_t (*col_int)(const struct sql_row *r, int col);
    double (*col_real)(const struct sql_row *r, int col);
    const char *(*col_text)(const struct sql_row *r, int col); /* "" for NULL */
};

extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_pg_backend;

struct store {
    const struct store_backend *be;
    void *conn;
    pthread_mutex_t lock;
};

/* A statement being built: fixed SQL text plus $N placeholders for every value. */
#define SQLB_MAX_PARAMS 96

struct sqlb {
    struct str sql;
    struct sql_val params[SQLB_MAX_PARAMS];
    size_t n;
    char *owned[SQLB_MAX_PARAMS]; /* copies made by sqlb_text_copy */
    size_t nowned;
    int error; /* sticky: -ENOMEM or -E2BIG */
};

void sqlb_init(struct sqlb *b);
void sqlb_free(struct sqlb *b);
void sqlb_sql(struct sqlb *b, const char *text);
/* Appends the placeholder for a new parameter. */
void sqlb_int(struct sqlb *b, int64_t v);
void sqlb_text(struct sqlb *b, const char *v);
/* Like sqlb_text with a copy of p[0..len) that the builder owns. */
void sqlb_text_copy(struct sqlb *b, const char *p, size_t len);

static inline struct sql_val
sql_int(int64_t v)
{
    return (struct sql_val){ .type = SQL_INT, .i = v };
}
static inline struct sql_val
sql_text(const char *v)
{
    return v ? (struct sql_val){ .type = SQL_TEXT, .s = v } : (struct sql_val){ .type = SQL_NULL };
}
static inline struct sql_val
sql_real(double v)
{
    return (struct sql_val){ .type = SQL_REAL, .d = v };
}

/* Calls with the store locked. */
int store_exec(struct store *s, const char *sql, const struct sql_val *params, size_t nparams,
               sql_row_fn on_row, void *ctx, int64_t *ret_changes, struct store_error *err);
int store_exec_b(struct store *s, struct sqlb *b, sql_row_fn on_row, void *ctx,
                 int64_t *ret_changes, struct store_error *err);
int store_begin(struct store *s, struct store_error *err);
int store_commit(struct store *s, struct store_error *err);
void store_rollback(struct store *s);
void store_lock(struct store *s);
void store_unlock(struct store *s);

/* Helpers for row readers. */
char *store_col_strdup(const struct sql_row *r, int col); /* NULL on OOM */
int store_seterr(struct store_error *err, int rc, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* The first value of key in p, or NULL. */
const char *store_param(const struct store_params *p, const char *key);

/* csnet.NewRange: an address or CIDR to (size, start/end ip, suffix). */
struct store_range {
    int size; /* 0 when no range was given */
    int64_t start_ip, start_sfx, end_ip, end_sfx;
};
int store_range_parse(const char *s, struct store_range *ret);
/* strconv.ParseBool. */
int store_parse_bool(const char *s, bool *ret);

/* Decision rows: the column list and its reader, shared by alerts.c. */
extern const char store_decision_columns[];
int store_decision_read(const struct sql_row *r, struct store_decision *d);
void store_decision_clear(struct store_decision *d);

#endif
