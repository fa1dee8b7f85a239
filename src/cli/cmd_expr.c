/*
 * cmd_expr.c - `phalanx expr`: compile an expression in one of CrowdSec's
 * contexts, evaluate it against an environment read from a JSON file, and
 * print the result as one line of JSON. It is how a hub author checks what a
 * filter or an assert does without running the whole engine.
 *
 * Exit status: 0 after printing a result, 1 on a compile or run-time error
 * (message and caret excerpt on stderr), 1 on a usage or environment error.
 */
#include <getopt.h>

#include "cli/cli.h"
#include "common/str.h"
#include "exprenv/exprenv.h"

#define ENV_FILE_MAX (64u << 20)

static void
expr_usage(FILE *out)
{
    fprintf(
        out,
        "Compile an expression, evaluate it and print its result as JSON.\n\n"
        "Usage:\n"
        "  phalanx expr [flags] EXPRESSION\n\n"
        "Examples:\n"
        "  phalanx expr '1 + 2 * 3'\n"
        "  phalanx expr --env env.json 'user.name startsWith \"ad\"'\n"
        "  phalanx expr --context parser --env evt.json 'evt.Meta.source_ip'\n"
        "  phalanx expr --context profile --env alert.json 'Alert.GetScope() == \"Ip\"'\n"
        "  phalanx expr -- '-1 + 2'\n\n"
        "Flags:\n"
        "  -e, --env FILE       JSON object whose keys are the variables. Without --context\n"
        "                       they are plain values (maps, arrays, strings, numbers, bools);\n"
        "                       with one, they fill the context's typed variables, written\n"
        "                       with CrowdSec's Go field names, e.g.\n"
        "                       {\"evt\": {\"Meta\": {\"source_ip\": \"1.2.3.4\"}}}\n"
        "  -c, --context NAME   plain, parser, scenario, condition, overflow_filter, profile,\n"
        "                       alert_context, hubtest_parser, hubtest_scenario or hubtest\n"
        "                       (default: plain)\n"
        "      --disasm         print the compiled bytecode before the result\n"
        "  -h, --help           help for expr\n");
}

/* Prints a compile or run-time error with its caret excerpt. */
static void
print_expr_error(const struct expr_error *err)
{
    fprintf(stderr, "error: %s\n", err->message[0] ? err->message : "unknown error");
    if (err->excerpt[0] != '\0') {
        size_t n = strlen(err->excerpt);
        fputs(err->excerpt, stderr);
        if (err->excerpt[n - 1] != '\n')
            fputc('\n', stderr);
    }
}

/* Reads a whole file (bounded); 0 or -errno. */
static int
read_file(const char *path, struct str *out)
{
    FILE *f = fopen(path, "rb");
    char buf[8192];
    size_t n;
    int r = 0;

    if (f == NULL)
        return -errno;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (out->len + n > ENV_FILE_MAX) {
            r = -EFBIG;
            break;
        }
        if (str_append(out, buf, n) < 0) {
            r = -ENOMEM;
            break;
        }
    }
    if (r == 0 && ferror(f))
        r = -EIO;
    fclose(f);
    if (r == 0 && out->buf == NULL)
        r = str_append(out, "", 0);
    return r;
}

/* The static type a plain variable gets from its value, as expr-lang infers it from a map env. */
static struct expr_type
plain_type(const struct expr_value *v)
{
    switch (v->kind) {
    case EXPR_NIL: return EXPR_T_ANY;
    case EXPR_OBJECT: return EXPR_T_OBJ(v->u.o.cls);
    default: return EXPR_T(v->kind);
    }
}

struct expr_run {
    enum exprenv_context ctx;
    const char *env_path;
    bool disasm;
    const char *src;
};

static int
run_expr(const struct expr_run *run)
{
    struct expr_env *env = NULL;
    struct expr_program *prog = NULL;
    struct expr_vm *vm = NULL, *holder = NULL;
    struct exprenv_vars *vars = NULL;
    struct expr_value *plain_vals = NULL;
    const struct expr_value *values = NULL;
    struct str text = STR_INIT, out = STR_INIT;
    struct expr_error err;
    struct expr_value result;
    json_t *json = NULL;
    char msg[512];
    int rc = 1, r;

    memset(&err, 0, sizeof(err));
    env = exprenv_new(run->ctx);
    vm = expr_vm_new();
    holder = expr_vm_new();
    if (env == NULL || vm == NULL || holder == NULL) {
        fprintf(stderr, "error: out of memory while setting up the expression environment\n");
        goto out;
    }
    if (run->env_path != NULL) {
        r = read_file(run->env_path, &text);
        if (r < 0) {
            fprintf(stderr, "error: cannot read environment file %s: %s\n", run->env_path,
                    strerror(-r));
            goto out;
        }
    }
    if (run->env_path != NULL) {
        json_error_t jerr;
        json = json_loadb(text.buf, text.len, JSON_REJECT_DUPLICATES, &jerr);
        if (json == NULL) {
            fprintf(stderr, "error: %s:%d:%d: invalid JSON: %s\n", run->env_path, jerr.line,
                    jerr.column, jerr.text);
            goto out;
        }
        if (!json_is_object(json)) {
            fprintf(stderr,
                    "error: %s must hold a JSON object whose keys are the variable "
                    "names, e.g. {\"x\": 1}\n",
                    run->env_path);
            goto out;
        }
    }
    if (run->ctx == EXPRENV_PLAIN) {
        struct expr_value root = expr_nil();
        if (run->env_path != NULL) {
            /* The holder vm is never evaluated on, so the values it holds stay valid. */
            if (expr_value_from_json(holder, text.buf, text.len, &root) < 0 ||
                root.kind != EXPR_MAP) {
                fprintf(stderr, "error: cannot convert %s to expression values\n", run->env_path);
                goto out;
            }
            plain_vals = calloc(root.u.m->len + 1, sizeof(*plain_vals));
            if (plain_vals == NULL)
                goto oom;
            for (size_t i = 0; i < root.u.m->len; i++) {
                const struct expr_map_entry *e = &root.u.m->entries[i];
                char name[256];
                snprintf(name, sizeof(name), "%.*s", (int)e->keylen, e->key);
                int slot = expr_env_add_var(env, name, plain_type(&e->value));
                if (slot < 0 || (size_t)slot > root.u.m->len) {
                    fprintf(stderr,
                            "error: cannot declare variable '%s' from %s (duplicate "
                            "or reserved name)\n",
                            name, run->env_path);
                    goto out;
                }
                plain_vals[slot] = e->value;
            }
        }
        values = plain_vals;
    } else {
        if (exprenv_vars_from_json(run->ctx, json, &vars, msg, sizeof(msg)) < 0) {
            fprintf(stderr, "error: %s: %s\n", run->env_path != NULL ? run->env_path : "env",
                    msg[0] ? msg : "out of memory");
            goto out;
        }
        values = exprenv_vars_values(vars);
    }

    static const struct expr_value no_vars[1];
    if (values == NULL)
        values = no_vars;
    prog = expr_compile(env, run->src, strlen(run->src), EXPR_T_ANY, &err);
    if (prog == NULL) {
        print_expr_error(&err);
        goto out;
    }
    if (run->disasm) {
        expr_program_dump(prog, stdout);
        fflush(stdout);
    }
    memset(&err, 0, sizeof(err));
    if (expr_eval(vm, prog, values, &result, &err) < 0) {
        print_expr_error(&err);
        goto out;
    }
    if (expr_value_to_json(vm, &result, false, &out) < 0)
        goto oom;
    printf("%.*s\n", (int)out.len, out.buf != NULL ? out.buf : "");
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "error: out of memory\n");
out:
    str_free(&text);
    str_free(&out);
    expr_program_free(prog);
    exprenv_vars_free(vars);
    json_decref(json);
    free(plain_vals);
    expr_vm_free(vm);
    expr_vm_free(holder);
    expr_env_free(env);
    return rc;
}

int
cli_cmd_expr(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "env", required_argument, NULL, 'e' },
        { "context", required_argument, NULL, 'c' },
        { "disasm", no_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct expr_run run = { .ctx = EXPRENV_PLAIN };
    int opt;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "e:c:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'e': run.env_path = optarg; break;
        case 'c':
            if (exprenv_context_parse(optarg, &run.ctx) < 0) {
                fprintf(stderr,
                        "Error: unknown context \"%s\"; use one of plain, parser, "
                        "scenario, condition, overflow_filter, profile, alert_context, "
                        "hubtest_parser, hubtest_scenario, hubtest\n",
                        optarg);
                return 1;
            }
            break;
        case 'd': run.disasm = true; break;
        case 'h': expr_usage(stdout); return 0;
        default:
            if (optopt != 0 && strchr("ec", optopt) != NULL)
                fprintf(stderr, "Error: flag needs an argument: -%c\n", optopt);
            else
                fprintf(stderr, "Error: unknown flag: %s\n", argv[optind - 1]);
            fprintf(stderr, "Run 'phalanx expr --help' for usage (put '--' before an "
                            "expression that starts with '-').\n");
            return 1;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr,
                "Error: phalanx expr takes exactly one EXPRESSION argument (got %d); "
                "quote the expression so the shell passes it as one word.\n"
                "Run 'phalanx expr --help' for usage.\n",
                argc - optind);
        return 1;
    }
    run.src = argv[optind];
    return run_expr(&run);
}
