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
    { "alerts", "Manage alerts", cli_cmd_alerts },
    { "allowlists", "Manage centralized allowlists", cli_cmd_allowlists },
    { "bouncers", "Manage bouncers [requires local API]", cli_cmd_bouncers },
    { "decisions", "Manage decisions", cli_cmd_decisions },
    { "collections", "Manage collections from hub", cli_cmd_items },
    { "config", "Allows to view current config", cli_cmd_config },
    { "contexts", "Manage contexts from hub", cli_cmd_items },
    { "explain", "Explain log pipeline", cli_cmd_explain },
    { "expr", "Compile and evaluate an expression (CrowdSec's expr language)", cli_cmd_expr },
    { "hub", "Manage hub index", cli_cmd_hub },
    { "hubtest", "Run functional tests on hub configurations", cli_cmd_hubtest },
    { "lapi", "Manage interaction with Local API (LAPI)", cli_cmd_lapi },
    { "machines", "Manage local API machines [requires local API]", cli_cmd_machines },
    { "parsers", "Manage parsers from hub", cli_cmd_items },
    { "postoverflows", "Manage postoverflows from hub", cli_cmd_items },
    { "scenarios", "Manage scenarios from hub", cli_cmd_items },
    { "simulation", "Manage simulation status of scenarios", cli_cmd_simulation },
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

/* Global flags cobra accepts before the command: how many arguments argv[i] takes (0 = none). */
static int
leading_global(char **argv, int i, int argc)
{
    static const char *const with_value[] = { "-c", "--config", "-o", "--output", "--color" };
    static const char *const alone[] = { "--debug", "--info", "--warning", "--error", "--trace" };
    for (size_t k = 0; k < ARRAY_SIZE(with_value); k++)
        if (strcmp(argv[i], with_value[k]) == 0 && i + 1 < argc)
            return 2;
    for (size_t k = 0; k < ARRAY_SIZE(alone); k++)
        if (strcmp(argv[i], alone[k]) == 0)
            return 1;
    if (strncmp(argv[i], "--config=", 9) == 0 || strncmp(argv[i], "--output=", 9) == 0 ||
        strncmp(argv[i], "--color=", 8) == 0)
        return 1;
    return 0;
}

int
cli_phalanx_main(int argc, char **argv)
{
    /*
     * `phalanx -c X -o json decisions list`: the global flags before the command move after
     * it, where every command's parser takes them (argv's pointers are ours to reorder).
     */
    int lead = 1, n;
    while (lead < argc && (n = leading_global(argv, lead, argc)) > 0)
        lead += n;
    if (lead > 1 && lead < argc) {
        char *globals[16];
        int ng = lead - 1;
        if (ng > (int)ARRAY_SIZE(globals)) {
            fprintf(stderr, "Error: too many global flags\n");
            return 1;
        }
        memcpy(globals, argv + 1, (size_t)ng * sizeof(*globals));
        memmove(argv + 1, argv + lead, (size_t)(argc - lead) * sizeof(*argv));
        memcpy(argv + 1 + (argc - lead), globals, (size_t)ng * sizeof(*globals));
    }
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
