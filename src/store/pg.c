/*
 * pg.c - the PostgreSQL backend (libpq), for fleets where several phalanxd
 * nodes share one database.
 *
 * Every statement goes through PQexecParams with typed parameters (int8,
 * float8, text), so values never become SQL text; the connection is a plain
 * libpq conninfo string. Results are read in text format and converted
 * here, which keeps the row readers identical to SQLite's. Queries that
 * read rows run in libpq's single-row mode: a million-row decision stream
 * is handed over row by row instead of being held whole in a PGresult.
 */
#include "store/internal.h"

#include <libpq-fe.h>

#define PG_INT8OID   20
#define PG_TEXTOID   25
#define PG_FLOAT8OID 701

struct pg_row {
    PGresult *res;
    int row;
};

static int
pg_open(const char *dsn, void **ret_conn, struct store_error *err)
{
    PGconn *c = PQconnectdb(dsn);
    PGresult *res;

    if (!c)
        return -ENOMEM;
    if (PQstatus(c) != CONNECTION_OK) {
        int rc = store_seterr(err, -EIO, "postgres: %s", PQerrorMessage(c));
        PQfinish(c);
        return rc;
    }
    /* Our queries and notices need nothing else; keep warnings out of stderr. */
    res = PQexec(c, "SET client_min_messages TO warning");
    PQclear(res);
    *ret_conn = c;
    return 0;
}

static void
pg_close(void *conn)
{
    if (conn)
        PQfinish(conn);
}

/* A failed result as an error: unique violations are -EEXIST, the rest -EIO. */
static int
pg_result_error(const PGresult *res, struct store_error *err)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return store_seterr(err, state && strcmp(state, "23505") == 0 ? -EEXIST : -EIO, "postgres: %s",
                        PQresultErrorMessage(res));
}

static int64_t
pg_changes(PGresult *res)
{
    const char *t = PQcmdTuples(res);
    return t && *t ? strtoll(t, NULL, 10) : 0;
}

/*
 * A query whose rows go to on_row, one PGresult per row (single-row mode),
 * so memory does not grow with the result. libpq must be read to the end
 * whatever happens: after on_row stops the scan or a row fails, the rest is
 * drained unseen and the first failure is returned.
 */
static int
pg_exec_rows(PGconn *conn, const char *sql, int nparams, const Oid *types,
             const char *const *values, sql_row_fn on_row, void *ctx, int64_t *ret_changes,
             struct store_error *err)
{
    struct pg_row pr = { 0 };
    struct sql_row row = { .be = &store_pg_backend, .impl = &pr };
    int rc = 0;

    if (!PQsendQueryParams(conn, sql, nparams, types, values, NULL, NULL, 0))
        return store_seterr(err, -EIO, "postgres: %s", PQerrorMessage(conn));
    /* Refused only when the query is not the latest sent; then rows simply come at once. */
    PQsetSingleRowMode(conn);
    while ((pr.res = PQgetResult(conn)) != NULL) {
        ExecStatusType st = PQresultStatus(pr.res);
        if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            int n = PQntuples(pr.res);
            for (pr.row = 0; rc == 0 && pr.row < n; pr.row++)
                rc = on_row(&row, ctx);
            if (rc == 0 && st != PGRES_SINGLE_TUPLE && ret_changes)
                *ret_changes = pg_changes(pr.res);
        } else if (rc == 0) {
            rc = pg_result_error(pr.res, err);
        }
        PQclear(pr.res);
    }
    return rc;
}

static int
pg_exec(void *conn, const char *sql, const struct sql_val *params, size_t nparams,
        sql_row_fn on_row, void *ctx, int64_t *ret_changes, struct store_error *err)
{
    Oid types[SQLB_MAX_PARAMS] = { 0 };
    const char *values[SQLB_MAX_PARAMS] = { NULL };
    char nums[SQLB_MAX_PARAMS][32];
    struct pg_row pr = { 0 };
    ExecStatusType st;
    int rc = 0;

    if (nparams > SQLB_MAX_PARAMS)
        return store_seterr(err, -E2BIG, "too many parameters");
    for (size_t i = 0; i < nparams; i++) {
        switch (params[i].type) {
        case SQL_NULL:
            types[i] = PG_TEXTOID;
            values[i] = NULL;
            break;
        case SQL_INT:
            types[i] = PG_INT8OID;
            snprintf(nums[i], sizeof(nums[i]), "%lld", (long long)params[i].i);
            values[i] = nums[i];
            break;
        case SQL_REAL:
            types[i] = PG_FLOAT8OID;
            snprintf(nums[i], sizeof(nums[i]), "%.17g", params[i].d);
            values[i] = nums[i];
            break;
        case SQL_TEXT:
            types[i] = PG_TEXTOID;
            values[i] = params[i].s;
            break;
        }
    }
    if (on_row)
        return pg_exec_rows(conn, sql, (int)nparams, types, values, on_row, ctx, ret_changes, err);
    pr.res = PQexecParams(conn, sql, (int)nparams, types, values, NULL, NULL, 0);
    if (!pr.res)
        return store_seterr(err, -ENOMEM, "postgres: %s", PQerrorMessage(conn));
    st = PQresultStatus(pr.res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = pg_result_error(pr.res, err);
    else if (ret_changes)
        *ret_changes = pg_changes(pr.res);
    PQclear(pr.res);
    return rc;
}

static int
pg_begin(void *conn, struct store_error *err)
{
    return pg_exec(conn, "BEGIN", NULL, 0, NULL, NULL, NULL, err);
}

static bool
pg_col_null(const struct sql_row *r, int col)
{
    const struct pg_row *pr = r->impl;
    return PQgetisnull(pr->res, pr->row, col);
}

static const char *
pg_col_text(const struct sql_row *r, int col)
{
    const struct pg_row *pr = r->impl;
    return PQgetvalue(pr->res, pr->row, col);
}

static int64_t
pg_col_int(const struct sql_row *r, int col)
{
    const char *t = pg_col_text(r, col);
    /* Booleans computed by a query (EXISTS) come back as "t"/"f". */
    if (t[0] == 't')
        return 1;
    return strtoll(t, NULL, 10);
}

static double
pg_col_real(const struct sql_row *r, int col)
{
    return strtod(pg_col_text(r, col), NULL);
}

const struct store_backend store_pg_backend = {
    .name = "postgres",
    .id_column = "BIGSERIAL PRIMARY KEY",
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .begin = pg_begin,
    .col_null = pg_col_null,
    .col_int = pg_col_int,
    .col_real = pg_col_real,
    .col_text = pg_col_text,
};
