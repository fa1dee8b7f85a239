/*
 * daemon.c - the command line of `phalanxd`, with CrowdSec's flag syntax
 * (Go's flag package: -flag, --flag, -flag=value, -flag value).
 *
 * What it does today: -version, -h, and -t (test the configuration file
 * named by -c: a YAML syntax check that reports file:line:column, and the
 * checks that need no other module). It does not start the agent or the
 * Local API, and says so instead of pretending to.
 */
#include <yaml.h>

#include "cli/cli.h"

#define DEFAULT_CONFIG "/etc/phalanx/config.yaml"

static void
daemon_usage(FILE *out)
{
    fprintf(out,
            "Usage of phalanxd:\n"
            "  -c string\n"
            "    \tconfiguration file (default \"%s\")\n"
            "  -t\ttest configuration and exit\n"
            "  -version\n"
            "    \tdisplay version\n"
            "  -h\tshow this help\n",
            DEFAULT_CONFIG);
}

/* Top-level sections of CrowdSec's config.yaml (pkg/csconfig Config, decoded with KnownFields). */
static const char *const config_sections[] = {
    "common",    "prometheus", "crowdsec_service", "cscli",
    "db_config", "api",        "config_paths",     "plugin_config",
};

static bool
known_section(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(config_sections); i++) {
        if (strcmp(config_sections[i], name) == 0)
            return true;
    }
    return false;
}

/*
 * Parses the YAML file event by event: syntax errors come back with their
 * position; the first document must be a mapping whose keys are known
 * sections. Prints the problems and returns the number found (or -1 when
 * the file cannot be opened).
 */
static int
check_config(const char *path)
{
    FILE *f = fopen(path, "rb");
    yaml_parser_t parser;
    yaml_event_t ev;
    int problems = 0, depth = 0, docs = 0;
    bool expect_key = false, top_is_map = false, done = false;

    if (f == NULL) {
        fprintf(stderr,
                "phalanxd: cannot open configuration file %s: %s; pass the right "
                "path with -c\n",
                path, strerror(errno));
        return -1;
    }
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        fprintf(stderr, "phalanxd: out of memory\n");
        return -1;
    }
    yaml_parser_set_input_file(&parser, f);
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            fprintf(stderr, "%s:%zu:%zu: %s%s%s\n", path, parser.problem_mark.line + 1,
                    parser.problem_mark.column + 1,
                    parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
                    parser.context ? parser.context : "");
            problems++;
            break;
        }
        size_t line = ev.start_mark.line + 1;
        bool node = ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT ||
                    ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT;

        if (ev.type == YAML_STREAM_END_EVENT)
            done = true;
        else if (ev.type == YAML_DOCUMENT_START_EVENT)
            docs++;
        if (node && docs == 1 && depth == 0) {
            /* An empty document is fine (CrowdSec fills defaults); anything else must be a mapping.
             */
            if (ev.type == YAML_MAPPING_START_EVENT) {
                top_is_map = true;
                expect_key = true;
            } else if (ev.type != YAML_SCALAR_EVENT || ev.data.scalar.length > 0) {
                fprintf(stderr,
                        "%s:%zu: the configuration must be a mapping of sections "
                        "(common, config_paths, api, ...)\n",
                        path, line);
                problems++;
            }
        } else if (node && docs == 1 && depth == 1 && top_is_map) {
            if (expect_key && ev.type == YAML_SCALAR_EVENT &&
                !known_section((const char *)ev.data.scalar.value)) {
                fprintf(stderr,
                        "%s:%zu: unknown section '%s'; CrowdSec accepts only common, "
                        "prometheus, crowdsec_service, cscli, db_config, api, "
                        "config_paths and plugin_config\n",
                        path, line, (const char *)ev.data.scalar.value);
                problems++;
            }
            expect_key = !expect_key;
        }
        if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT)
            depth++;
        else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
            depth--;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return problems;
}

/* Matches "-name", "--name", "-name=value", "--name=value"; *ret_value set for the = forms. */
static bool
flag_is(const char *arg, const char *name, const char **ret_value)
{
    size_t n = strlen(name);

    if (arg[0] != '-')
        return false;
    arg += arg[1] == '-' ? 2 : 1;
    if (strncmp(arg, name, n) != 0)
        return false;
    if (arg[n] == '\0') {
        *ret_value = NULL;
        return true;
    }
    if (arg[n] == '=') {
        *ret_value = arg + n + 1;
        return true;
    }
    return false;
}

int
cli_phalanxd_main(int argc, char **argv)
{
    const char *config = DEFAULT_CONFIG;
    const char *value;
    bool test = false, version = false;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0 || arg[0] != '-' || arg[1] == '\0') {
            fprintf(stderr, "phalanxd: unexpected argument \"%s\"\n", arg);
            daemon_usage(stderr);
            return 2;
        }
        if (flag_is(arg, "h", &value) || flag_is(arg, "help", &value)) {
            daemon_usage(stdout);
            return 0;
        } else if (flag_is(arg, "version", &value)) {
            version = true;
        } else if (flag_is(arg, "t", &value)) {
            test = true;
        } else if (flag_is(arg, "c", &value)) {
            if (value == NULL) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "flag needs an argument: -c\n");
                    daemon_usage(stderr);
                    return 2;
                }
                value = argv[++i];
            }
            config = value;
        } else {
            fprintf(stderr, "flag provided but not defined: %s\n", arg);
            daemon_usage(stderr);
            return 2;
        }
    }
    if (version) {
        printf("version: v%s\n", PHALANX_VERSION);
        return 0;
    }
    if (test) {
        int problems = check_config(config);
        if (problems != 0) {
            if (problems > 0)
                fprintf(stderr,
                        "phalanxd: configuration test failed: %d problem%s in %s; fix "
                        "them and run phalanxd -t again\n",
                        problems, problems > 1 ? "s" : "", config);
            return 1;
        }
        printf("phalanxd: configuration file %s: test OK\n", config);
        return 0;
    }
    fprintf(stderr,
            "phalanxd: this build cannot run the agent or the Local API yet; use -t to "
            "check %s or -version\n",
            config);
    return 1;
}
