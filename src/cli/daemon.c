/*
 * daemon.c - the command line of `phalanxd`, with CrowdSec's flag syntax
 * (Go's flag package: -flag, --flag, -flag=value, -flag value).
 *
 * What it does today: -version, -h, -t (test the configuration file named
 * by -c: a YAML syntax check that reports file:line:column, and the checks
 * that need no other module), and CrowdSec's replay / forensic mode:
 * -dsn file:///path -type T [-label k:v]... [-no-api] [-dump-data DIR]
 * [-order-event], which runs the agent pipeline (src/agent) over the file in
 * event time and exits when it is exhausted. Its alerts go to the JSON-lines
 * file named by -alerts-file (ours); without it, to the Local API of
 * api.client.credentials_path as crowdsec -dsn does, or stdout when the
 * configuration names none.
 * Without -dsn, phalanxd -c CONFIG runs the live mode (daemon_live.c): the
 * Local API and the agent reading acquis.yaml, until SIGINT/SIGTERM.
 */
#include <inttypes.h>
#include <sys/stat.h>
#include <yaml.h>

#include "agent/agent.h"
#include "cli/cli.h"
#include "cli/daemon.h"
#include "common/log.h"
#include "lapi/lapi.h"

#define DEFAULT_CONFIG "/etc/phalanx/config.yaml"

static void
daemon_usage(FILE *out)
{
    fprintf(out,
            "Usage of phalanxd:\n"
            "  -c string\n"
            "    \tconfiguration file (default \"%s\")\n"
            "  -dsn string\n"
            "    \tprocess a single data source in time-machine: file:///path/to/log[.gz]\n"
            "  -type string\n"
            "    \tlabels.type for the file in time-machine (required with -dsn)\n"
            "  -label value\n"
            "    \tadditional label k:v for the file in time-machine (repeatable)\n"
            "  -dump-data string\n"
            "    \tdump parsers/buckets raw outputs to this directory\n"
            "  -alerts-file string\n"
            "    \twrite alerts there, one JSON object a line, instead of sending them to the\n"
            "    \tLocal API of api.client (a replay without api.client prints them)\n"
            "  -no-api\tdisable the Local API\n"
            "  -no-capi\n"
            "    \tdisable the Central API\n"
            "  -no-cs\tdisable the agent\n"
            "  -order-event\n"
            "    \tenforce event ordering (always on in our replay)\n"
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

static bool
is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Our base grok set (grokky has it built in): as `phalanx hubtest` finds it. */
const char *
daemon_base_patterns(char *buf, size_t size)
{
    const char *root = getenv("PHALANX_SOURCE_ROOT");
    if (root != NULL && root[0] != '\0' &&
        (size_t)snprintf(buf, size, "%s/config/patterns", root) < size && is_dir(buf))
        return buf;
    if (is_dir("config/patterns"))
        return "config/patterns";
    if (is_dir("/etc/phalanx/patterns"))
        return "/etc/phalanx/patterns";
    return NULL;
}

static int
run_replay(const struct daemon_flags *fl)
{
    struct agent_config cfg = { 0 };
    struct agent_error err = { { 0 } };
    struct agent *a = NULL;
    struct agent_stats st;
    FILE *out = NULL;
    char pat[4096], *mem = NULL;
    size_t memlen = 0;
    bool to_lapi = false;
    int rc = 1;

    if (fl->type == NULL || fl->type[0] == '\0') {
        fprintf(stderr, "phalanxd: -type is mandatory with -dsn (e.g. -type nginx)\n");
        return 2;
    }
    if (agent_config_load(fl->config, &cfg, &err) < 0) {
        fprintf(stderr, "phalanxd: %s\n", err.message);
        return 1;
    }
    if ((a = agent_new(&cfg, daemon_base_patterns(pat, sizeof(pat)), &err)) == NULL) {
        fprintf(stderr, "phalanxd: loading the items of %s: %s\n", cfg.config_dir, err.message);
        goto out;
    }
    if (fl->alerts_file != NULL) {
        if ((out = fopen(fl->alerts_file, "w")) == NULL) {
            fprintf(stderr, "phalanxd: -alerts-file %s: %s\n", fl->alerts_file, strerror(errno));
            goto out;
        }
    } else if (fl->dump_dir == NULL && cfg.credentials_path != NULL) {
        /* As crowdsec -dsn: the alerts go to the Local API of api.client, once the replay ends. */
        if ((out = open_memstream(&mem, &memlen)) == NULL) {
            fprintf(stderr, "phalanxd: out of memory\n");
            goto out;
        }
        to_lapi = true;
    } else if (fl->dump_dir == NULL) {
        out = stdout;
    }
    struct agent_replay_options o = {
        .dsn = fl->dsn,
        .type = fl->type,
        .labels = fl->labels,
        .nlabels = fl->nlabels,
        .alerts = out,
        .dump_dir = fl->dump_dir,
    };
    if (agent_replay(a, &o, &st, &err) < 0) {
        fprintf(stderr, "phalanxd: replay of %s failed: %s\n", fl->dsn, err.message);
        goto out;
    }
    if (out != NULL && out != stdout && fclose(out) != 0) {
        out = NULL;
        fprintf(stderr, "phalanxd: -alerts-file %s: %s\n", fl->alerts_file, strerror(errno));
        goto out;
    }
    out = NULL;
    if (to_lapi && daemon_push_alerts(&cfg, a, fl->config, mem, memlen) != 0)
        goto out;
    fprintf(stderr,
            "phalanxd: replay done: %" PRIu64 " lines (%" PRIu64 " parsed, %" PRIu64
            " unparsed, %" PRIu64 " whitelisted, %" PRIu64 " too long), %" PRIu64 " pours, %" PRIu64
            " overflows (%" PRIu64 " whitelisted), %" PRIu64 " alerts, %" PRIu64
            " buckets evicted by the caps\n",
            st.lines, st.parsed, st.unparsed, st.whitelisted, st.too_long, st.poured, st.overflows,
            st.po_whitelisted, st.alerts, st.buckets.evicted);
    rc = 0;
out:
    if (out != NULL && out != stdout)
        fclose(out);
    free(mem);
    agent_free(a);
    agent_config_clear(&cfg);
    return rc;
}

/* Takes the value of a flag: the =value form, or the next argument. NULL when missing. */
static const char *
flag_value(const char *name, const char *value, int argc, char **argv, int *i)
{
    if (value != NULL)
        return value;
    if (*i + 1 >= argc) {
        fprintf(stderr, "flag needs an argument: -%s\n", name);
        daemon_usage(stderr);
        return NULL;
    }
    return argv[++*i];
}

int
cli_phalanxd_main(int argc, char **argv)
{
    struct daemon_flags fl = { .config = DEFAULT_CONFIG };
    const char *value;
    static const char *const string_flags[] = { "c",         "dsn",         "type",
                                                "dump-data", "alerts-file", "label" };
    static const char *const bool_flags[] = { "no-api", "no-capi", "order-event" };

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool known = false;
        if (strcmp(arg, "--") == 0 || arg[0] != '-' || arg[1] == '\0') {
            fprintf(stderr, "phalanxd: unexpected argument \"%s\"\n", arg);
            daemon_usage(stderr);
            return 2;
        }
        if (flag_is(arg, "h", &value) || flag_is(arg, "help", &value)) {
            daemon_usage(stdout);
            return 0;
        } else if (flag_is(arg, "version", &value)) {
            fl.version = true;
            continue;
        } else if (flag_is(arg, "t", &value)) {
            fl.test = true;
            continue;
        } else if (flag_is(arg, "no-cs", &value)) {
            fl.no_cs = true;
            continue;
        } else if (flag_is(arg, "no-api", &value)) {
            fl.no_api = true;
            continue;
        }
        for (size_t k = 0; k < ARRAY_SIZE(bool_flags) && !known; k++)
            known = flag_is(arg, bool_flags[k], &value);
        if (known)
            continue; /* accepted: there is no API to disable yet, and replay is always ordered */
        for (size_t k = 0; k < ARRAY_SIZE(string_flags); k++) {
            const char *name = string_flags[k];
            if (!flag_is(arg, name, &value))
                continue;
            known = true;
            if ((value = flag_value(name, value, argc, argv, &i)) == NULL)
                return 2;
            if (strcmp(name, "c") == 0) {
                fl.config = value;
            } else if (strcmp(name, "dsn") == 0) {
                fl.dsn = value;
            } else if (strcmp(name, "type") == 0) {
                fl.type = value;
            } else if (strcmp(name, "dump-data") == 0) {
                fl.dump_dir = value;
            } else if (strcmp(name, "alerts-file") == 0) {
                fl.alerts_file = value;
            } else {
                const char *colon = strchr(value, ':');
                if (colon == NULL || colon == value) {
                    fprintf(stderr, "invalid value \"%s\" for flag -label: expected key:value\n",
                            value);
                    return 2;
                }
                if (fl.nlabels == MAX_LABELS) {
                    fprintf(stderr, "phalanxd: more than %d -label flags\n", MAX_LABELS);
                    return 2;
                }
                /* The key is cut in place: argv strings are ours to modify. */
                *(char *)colon = '\0';
                fl.labels[fl.nlabels].key = value;
                fl.labels[fl.nlabels].value = colon + 1;
                fl.nlabels++;
            }
            break;
        }
        if (!known) {
            fprintf(stderr, "flag provided but not defined: %s\n", arg);
            daemon_usage(stderr);
            return 2;
        }
    }
    if (fl.version) {
        printf("version: v%s\n", PHALANX_VERSION);
        return 0;
    }
    if (fl.test) {
        int problems = check_config(fl.config);
        if (problems != 0) {
            if (problems > 0)
                fprintf(stderr,
                        "phalanxd: configuration test failed: %d problem%s in %s; fix "
                        "them and run phalanxd -t again\n",
                        problems, problems > 1 ? "s" : "", fl.config);
            return 1;
        }
        printf("phalanxd: configuration file %s: test OK\n", fl.config);
        return 0;
    }
    if (fl.dsn != NULL && !fl.no_cs)
        return run_replay(&fl);
    if (fl.type != NULL || fl.dump_dir != NULL || fl.nlabels > 0) {
        fprintf(stderr, "phalanxd: -type, -label and -dump-data need -dsn\n");
        return 2;
    }
    return daemon_run_live(&fl);
}
