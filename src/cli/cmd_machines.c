/*
 * cmd_machines.c - `phalanx machines add NAME -p PASS [--force] |
 * validate NAME | delete NAME`: cscli's machine (agent) management, acting
 * on the database named by the configuration (-c) directly. Machines added
 * here are validated at once, as with cscli; passwords are stored as bcrypt.
 */
#include "cli/cli.h"
#include "lapi/lapi.h"
#include "store/store.h"

#include <time.h>

#define DEFAULT_CONFIG "/etc/phalanx/config.yaml"

static void
machines_usage(FILE *out)
{
    fprintf(out,
            "Manage local API machines [requires local API]\n\n"
            "Usage:\n"
            "  phalanx machines [command]\n\n"
            "Available Commands:\n"
            "  add         add a single machine to the database (-p PASSWORD, --force)\n"
            "  delete      delete machine(s) by name\n"
            "  validate    validate a machine to access the local API\n\n"
            "Flags:\n"
            "  -c string   configuration file (default \"%s\")\n"
            "  -h, --help  help for machines\n",
            DEFAULT_CONFIG);
}

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
machines_add(struct store *s, const char *name, const char *password, bool force)
{
    struct store_error err = { { 0 } };
    char *hash;
    int rc;

    if (password == NULL || password[0] == '\0') {
        fprintf(stderr, "Error: please provide a password with -p\n");
        return 1;
    }
    if (strlen(password) > 72) {
        fprintf(stderr, "Error: the password is longer than bcrypt's 72 bytes\n");
        return 1;
    }
    if ((hash = lapi_password_hash(password)) == NULL) {
        fprintf(stderr, "Error: unable to hash the password\n");
        return 1;
    }
    struct store_machine m = {
        .machine_id = (char *)name,
        .password = hash,
        .ip_address = (char *)"",
        .scenarios = (char *)"",
        .version = (char *)"",
        .auth_type = (char *)"password",
        .is_validated = true,
    };
    rc = store_machine_create(s, &m, now_ns(), NULL, &err);
    if (rc == -EEXIST && force) {
        if (store_machine_delete(s, name, &err) == 0)
            rc = store_machine_create(s, &m, now_ns(), NULL, &err);
    }
    free(hash);
    if (rc == -EEXIST) {
        fprintf(stderr,
                "Error: unable to create machine: user '%s': user already exist "
                "(use --force to replace it)\n",
                name);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "Error: unable to create machine: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "Machine '%s' successfully added to the local API.\n", name);
    return 0;
}

int
cli_cmd_machines(int argc, char **argv)
{
    const char *config = DEFAULT_CONFIG, *password = NULL, *pos[3] = { NULL, NULL, NULL };
    size_t npos = 0;
    bool force = false;
    struct store *s = NULL;
    struct lapi_error lerr = { { 0 } };
    struct store_error err = { { 0 } };
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            machines_usage(stdout);
            return 0;
        } else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) {
            config = argv[++i];
        } else if ((strcmp(a, "-p") == 0 || strcmp(a, "--password") == 0) && i + 1 < argc) {
            password = argv[++i];
        } else if (strcmp(a, "--force") == 0) {
            force = true;
        } else if (a[0] == '-' || npos == ARRAY_SIZE(pos)) {
            fprintf(stderr,
                    "Error: unknown flag or argument: %s\nRun 'phalanx machines --help' "
                    "for usage.\n",
                    a);
            return 1;
        } else {
            pos[npos++] = a;
        }
    }
    if (npos == 0) {
        machines_usage(stdout);
        return 0;
    }
    const char *cmd = pos[0];
    if (strcmp(cmd, "add") != 0 && strcmp(cmd, "delete") != 0 && strcmp(cmd, "validate") != 0) {
        fprintf(stderr, "Error: unknown command \"%s\" for \"phalanx machines\"\n", cmd);
        return 1;
    }
    if (npos != 2) {
        fprintf(stderr, "Error: phalanx machines %s needs exactly one machine name\n", cmd);
        return 1;
    }
    if (lapi_store_open(config, &s, &lerr) != 0) {
        fprintf(stderr, "Error: %s\n", lerr.msg);
        return 1;
    }
    if (strcmp(cmd, "add") == 0) {
        rc = machines_add(s, pos[1], password, force);
    } else if (strcmp(cmd, "validate") == 0) {
        if (store_machine_set_validated(s, pos[1], true, now_ns(), &err) != 0) {
            fprintf(stderr, "Error: unable to validate machine '%s': %s\n", pos[1], err.msg);
        } else {
            fprintf(stderr, "machine '%s' validated successfully\n", pos[1]);
            rc = 0;
        }
    } else {
        if (store_machine_delete(s, pos[1], &err) != 0) {
            fprintf(stderr, "Error: unable to delete machine '%s': %s\n", pos[1],
                    err.msg[0] ? err.msg : "not found");
        } else {
            fprintf(stderr, "machine '%s' deleted successfully\n", pos[1]);
            rc = 0;
        }
    }
    store_close(s);
    return rc;
}
