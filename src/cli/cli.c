/*
 * cli.c - `phalanx`: the command table and the top-level usage, shaped like
 * cscli's (cobra) help so users of CrowdSec find their way.
 */
#include "cli/cli.h"

struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

static const struct cli_command commands[] = {
    { "bouncers", "Manage bouncers [requires local API]", cli_cmd_bouncers },
    { "explain", "Explain log pipeline", cli_cmd_explain },
    { "expr", "Compile and evaluate an expression (CrowdSec's expr language)", cli_cmd_expr },
    { "hubtest", "Run functional tests on hub configurations", cli_cmd_hubtest },
    { "lapi", "Manage interaction with Local API (LAPI)", cli_cmd_lapi },
    { "machines", "Manage local API machines [requires local API]", cli_cmd_machines },
    { "version", "Display version", cli_cmd_version },
};

static void
usage(FILE *out)
{
    fprintf(out, "phalanx is the main command line tool of Phalanx, a CrowdSec-compatible\n"
                 "security engine.\n\n"
                 "Usage:\n"
                 "  phalanx [command]\n\n"
                 "Available Commands:\n");
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-11s %s\n", "help", "Help about any command");
    fprintf(out, "\nFlags:\n"
                 "  -h, --help      help for phalanx\n"
                 "  -v, --version   version for phalanx\n\n"
                 "Use \"phalanx [command] --help\" for more information about a command.\n");
}

int
cli_cmd_version(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("Display version\n\nUsage:\n  phalanx version [flags]\n\nFlags:\n"
               "  -h, --help   help for version\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr,
                "Error: unknown argument \"%s\" for \"phalanx version\"\n"
                "Run 'phalanx version --help' for usage.\n",
                argv[1]);
        return 1;
    }
    printf("version: v%s\n", PHALANX_VERSION);
    printf("Platform: linux\n");
    printf("Constraint_parser: >= 1.0, <= 3.0\n");
    printf("Constraint_scenario: >= 1.0, <= 3.0\n");
    printf("Constraint_api: v1\n");
    return 0;
}

static const struct cli_command *
find_command(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

int
cli_phalanx_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "-v") == 0 || strcmp(name, "--version") == 0)
        return cli_cmd_version(1, &argv[1]);
    if (strcmp(name, "help") == 0) {
        const struct cli_command *topic = argc > 2 ? find_command(argv[2]) : NULL;
        if (topic != NULL) {
            char *help_argv[] = { argv[2], (char *)"--help", NULL };
            return topic->run(2, help_argv);
        }
        usage(stdout);
        return 0;
    }
    const struct cli_command *cmd = find_command(name);
    if (cmd == NULL) {
        fprintf(stderr,
                "Error: unknown command \"%s\" for \"phalanx\"\n"
                "Run 'phalanx --help' for usage.\n",
                name);
        return 1;
    }
    return cmd->run(argc - 1, argv + 1);
}
