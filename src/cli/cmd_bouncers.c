/*
 * cmd_bouncers.c - `phalanx bouncers add NAME [-k KEY] [-o raw] | list |
 * delete NAME`: cscli's bouncer management, acting on the database named
 * by the configuration (-c) directly, as cscli does. Only the SHA-512 of a
 * key is stored, so a generated key is shown once.
 */
#include "cli/cli.h"
#include "lapi/lapi.h"
#include "store/store.h"

#include <time.h>

#define DEFAULT_CONFIG "/etc/phalanx/config.yaml"

static void
bouncers_usage(FILE *out)
{
    fprintf(out,
            "Manage bouncers [requires local API]\n\n"
            "Usage:\n"
            "  phalanx bouncers [command]\n\n"
            "Available Commands:\n"
            "  add         add a single bouncer to the database (-k KEY, -o raw)\n"
            "  delete      delete bouncer(s) from the database\n"
            "  list        list all bouncers within the database\n\n"
            "Flags:\n"
            "  -c string   configuration file (default \"%s\")\n"
            "  -h, --help  help for bouncers\n",
            DEFAULT_CONFIG);
}

static void
print_time(int64_t ns)
{
    char buf[32];
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    if (ns <= 0 || gmtime_r(&t, &tm) == NULL) {
        printf("%-21s", "-");
        return;
    }
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%-21s", buf);
}

static int
bouncers_list(struct store *s)
{
    struct store_bouncer *v = NULL;
    size_t n = 0;
    struct store_error err = { { 0 } };

    if (store_bouncer_list(s, &v, &n, &err) != 0) {
        fprintf(stderr, "Error: unable to list bouncers: %s\n", err.msg);
        return 1;
    }
    printf("%-30s %-16s %-6s %-21s %-24s %-10s\n", "NAME", "IP ADDRESS", "VALID", "LAST API PULL",
           "TYPE", "VERSION");
    for (size_t i = 0; i < n; i++) {
        printf("%-30s %-16s %-6s ", v[i].name, v[i].ip_address ? v[i].ip_address : "",
               v[i].revoked ? "✖️" : "✔️");
        print_time(v[i].last_pull);
        printf(" %-24s %-10s\n", v[i].type ? v[i].type : "", v[i].version ? v[i].version : "");
        store_bouncer_clear(&v[i]);
    }
    free(v);
    return 0;
}

static int
bouncers_add(struct store *s, const char *name, const char *key, bool raw)
{
    char gen[128], hash[LAPI_SHA512_HEX_LEN + 1];
    struct store_error err = { { 0 } };
    struct timespec ts;

    if (key == NULL) {
        if (lapi_api_key_generate(gen, sizeof(gen)) != 0) {
            fprintf(stderr, "Error: unable to generate an API key\n");
            return 1;
        }
        key = gen;
    }
    lapi_api_key_hash(key, hash);
    clock_gettime(CLOCK_REALTIME, &ts);
    struct store_bouncer b = {
        .name = (char *)name,
        .api_key = hash,
        .ip_address = (char *)"",
        .type = (char *)"",
        .version = (char *)"",
        .auth_type = (char *)"api-key",
        .last_pull = -1,
    };
    int rc = store_bouncer_create(s, &b, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, NULL, &err);
    if (rc == -EEXIST) {
        fprintf(stderr, "Error: unable to create bouncer: bouncer %s already exists\n", name);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "Error: unable to create bouncer: %s\n", err.msg);
        return 1;
    }
    if (raw)
        printf("%s\n", key);
    else
        printf("API key for '%s':\n\n   %s\n\nPlease keep this key since you will not be able to "
               "retrieve it!\n",
               name, key);
    return 0;
}

int
cli_cmd_bouncers(int argc, char **argv)
{
    const char *config = DEFAULT_CONFIG, *key = NULL, *pos[3] = { NULL, NULL, NULL };
    size_t npos = 0;
    bool raw = false;
    struct store *s = NULL;
    struct lapi_error lerr = { { 0 } };
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            bouncers_usage(stdout);
            return 0;
        } else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) {
            config = argv[++i];
        } else if ((strcmp(a, "-k") == 0 || strcmp(a, "--key") == 0) && i + 1 < argc) {
            key = argv[++i];
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && i + 1 < argc) {
            raw = strcmp(argv[++i], "raw") == 0;
        } else if (a[0] == '-' || npos == ARRAY_SIZE(pos)) {
            fprintf(stderr,
                    "Error: unknown flag or argument: %s\nRun 'phalanx bouncers --help' "
                    "for usage.\n",
                    a);
            return 1;
        } else {
            pos[npos++] = a;
        }
    }
    if (npos == 0) {
        bouncers_usage(stdout);
        return 0;
    }
    bool is_add = strcmp(pos[0], "add") == 0, is_del = strcmp(pos[0], "delete") == 0;
    bool is_list = strcmp(pos[0], "list") == 0;
    if (!is_add && !is_del && !is_list) {
        fprintf(stderr, "Error: unknown command \"%s\" for \"phalanx bouncers\"\n", pos[0]);
        return 1;
    }
    if ((is_add || is_del) && npos != 2) {
        fprintf(stderr, "Error: phalanx bouncers %s needs exactly one bouncer name\n", pos[0]);
        return 1;
    }
    if (key != NULL && strlen(key) < 1) {
        fprintf(stderr, "Error: the key given with -k is empty\n");
        return 1;
    }
    if (lapi_store_open(config, &s, &lerr) != 0) {
        fprintf(stderr, "Error: %s\n", lerr.msg);
        return 1;
    }
    if (is_list) {
        rc = bouncers_list(s);
    } else if (is_add) {
        rc = bouncers_add(s, pos[1], key, raw);
    } else {
        struct store_error err = { { 0 } };
        if (store_bouncer_delete(s, pos[1], &err) != 0) {
            fprintf(stderr, "Error: unable to delete bouncer '%s': %s\n", pos[1],
                    err.msg[0] ? err.msg : "not found");
        } else {
            fprintf(stderr, "bouncer '%s' deleted successfully\n", pos[1]);
            rc = 0;
        }
    }
    store_close(s);
    return rc;
}
