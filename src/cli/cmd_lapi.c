/*
 * cmd_lapi.c - `phalanx lapi status|register`, as cscli's: status logs in
 * with the machine's credentials (api.client.credentials_path) and says
 * whether the Local API answers; register creates a machine account through
 * POST /v1/watchers (to be validated on the Local API's host with `phalanx
 * machines validate`) and writes the credentials file.
 */
#include "apiclient/apiclient.h"
#include "cli/cli.h"
#include "cli/output.h"

#include <sys/random.h>
#include <unistd.h>

static void
lapi_usage(FILE *out)
{
    fprintf(out, "Manage interaction with Local API (LAPI)\n\n"
                 "Usage:\n"
                 "  phalanx lapi [command]\n\n"
                 "Available Commands:\n"
                 "  register    Register a machine to Local API (LAPI) [-u URL] [--machine NAME] "
                 "[-f FILE]\n"
                 "  status      Check authentication to Local API (LAPI)\n");
}

static int
lapi_status(const struct cli_globals *g)
{
    struct apiclient_credentials creds = { 0 };
    struct apiclient_error err = { { 0 }, 0 };
    struct apiclient *c = NULL;
    char *path = NULL, *body = NULL;
    bool insecure = false;
    long status = 0;
    int rc = 1;

    if (cli_client_settings(g->config, &path, &insecure) != 0)
        return 1;
    if (apiclient_credentials_load(path, &creds, &err) != 0) {
        cli_fail("unable to load the local API credentials: %s", err.message);
        goto out;
    }
    creds.insecure_skip_verify = insecure;
    fprintf(stderr, "Loaded credentials from %s\n", path);
    fprintf(stderr, "Trying to authenticate with username %s on %s\n",
            creds.login ? creds.login : "", creds.url);
    if ((c = apiclient_new(&creds, NULL, &err)) == NULL) {
        cli_fail("unable to create the local API client: %s", err.message);
        goto out;
    }
    if (apiclient_request(c, "GET", "/v1/heartbeat", NULL, 0, &status, &body, &err) != 0) {
        cli_fail("failed to authenticate to Local API (LAPI): %s (is phalanxd running, and are "
                 "the credentials of %s validated?)",
                 err.message, path);
        goto out;
    }
    if (status / 100 != 2) {
        cli_fail("failed to authenticate to Local API (LAPI): HTTP %ld", status);
        goto out;
    }
    fprintf(stderr, "You can successfully interact with Local API (LAPI)\n");
    rc = 0;
out:
    free(body);
    apiclient_free(c);
    apiclient_credentials_clear(&creds);
    free(path);
    return rc;
}

static int
lapi_register(const struct cli_globals *g, const char *url, const char *machine, const char *file)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    struct apiclient_error err = { { 0 }, 0 };
    char password[65], name[128], *path = NULL;
    unsigned char r[64];
    bool insecure = false;
    int rc = 1;

    if (url == NULL)
        return cli_fail("please give the URL of the Local API with -u (e.g. "
                        "http://127.0.0.1:8080/)");
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return cli_fail("unable to generate a password");
    for (size_t i = 0; i < 64; i++)
        password[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
    password[64] = '\0';
    if (machine == NULL) {
        if (gethostname(name, sizeof(name)) != 0)
            snprintf(name, sizeof(name), "phalanx-agent");
        name[sizeof(name) - 1] = '\0';
        machine = name;
    }
    if (file == NULL) {
        if (cli_client_settings(g->config, &path, &insecure) != 0)
            return 1;
        file = path;
    }
    struct apiclient_credentials creds = { .url = (char *)url,
                                           .login = (char *)machine,
                                           .password = password,
                                           .insecure_skip_verify = insecure };
    if (apiclient_register(&creds, &err) != 0) {
        cli_fail("api client register ('%s'): %s", url, err.message);
        goto out;
    }
    fprintf(stderr, "Successfully registered to Local API (LAPI)\n");
    if (strcmp(file, "-") == 0) {
        printf("url: %s\nlogin: %s\npassword: %s\n", url, machine, password);
    } else if (apiclient_credentials_save(file, &creds, &err) != 0) {
        cli_fail("unable to write the credentials: %s", err.message);
        goto out;
    } else {
        fprintf(stderr, "Local API credentials written to '%s'\n", file);
    }
    fprintf(stderr,
            "Run 'phalanx machines validate %s' on the Local API's host, then restart "
            "phalanxd.\n",
            machine);
    rc = 0;
out:
    free(path);
    return rc;
}

int
cli_cmd_lapi(int argc, char **argv)
{
    struct cli_globals g;
    const char *pos[4], *url = NULL, *machine = NULL, *file = NULL;
    size_t npos = 0;
    const struct cli_flag flags[] = {
        { "-u", "--url", CLI_FLAG_STRING, &url },
        { NULL, "--machine", CLI_FLAG_STRING, &machine },
        { "-f", "--file", CLI_FLAG_STRING, &file },
    };

    cli_globals_init(&g);
    int rc = cli_flags_parse(&g, flags, ARRAY_SIZE(flags), argc, argv, 1, pos, ARRAY_SIZE(pos),
                             &npos, "phalanx lapi");
    if (rc == CLI_FLAGS_HELP || (rc == 0 && npos == 0)) {
        lapi_usage(stdout);
        return 0;
    }
    if (rc != 0)
        return rc;
    if (npos != 1)
        return cli_fail("phalanx lapi %s takes no argument", pos[0]);
    if (strcmp(pos[0], "status") == 0)
        return lapi_status(&g);
    if (strcmp(pos[0], "register") == 0)
        return lapi_register(&g, url, machine, file);
    return cli_fail("unknown command \"%s\" for \"phalanx lapi\" (see phalanx lapi --help)",
                    pos[0]);
}
