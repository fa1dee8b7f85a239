/*
 * cmd_hubtest.c - `phalanx hubtest run|list`: CrowdSec's `cscli hubtest`
 * against a hub checkout, with our own engine in-process (no crowdsec
 * binary, no LAPI). The runner is src/hubtest; this file handles flags and
 * prints results for people (-o human) or for tools (-o json: one array).
 *
 * Exit status of run: 0 when no test failed or errored, 1 otherwise or on a
 * usage error.
 */
#include <getopt.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "hubtest/hubtest.h"

#include <jansson.h>

static void
hubtest_usage(FILE *out)
{
    fprintf(out,
            "Run functional tests on hub configurations (parsers, scenarios, postoverflows).\n\n"
            "Usage:\n"
            "  phalanx hubtest run [--all | NAME...] --hub DIR [flags]\n"
            "  phalanx hubtest list --hub DIR\n\n"
            "Flags of run:\n"
            "      --all              run every test of HUB/.tests\n"
            "      --hub DIR          the hub (holds .tests/ and .index.json)\n"
            "      --now RFC3339      pin the clock (yearless log dates take its year)\n"
            "      --jobs N           tests run in parallel (default 1)\n"
            "  -o, --output FORMAT    human or json (default human)\n"
            "      --patterns DIR     base grok patterns (default $PHALANX_SOURCE_ROOT/config/\n"
            "                         patterns, ./config/patterns or /etc/phalanx/patterns)\n"
            "      --data-dir DIR     data files of the items (default HUB/data)\n"
            "      --geoip-dir DIR    GeoLite2-City.mmdb/GeoLite2-ASN.mmdb (or their\n"
            "                         GeoLite2-Test-* names) for the GeoIP tests\n"
            "      --no-clean         keep each test's runtime dir (results/parser-dump.yaml,\n"
            "                         bucket-dump.yaml, bucketpour-dump.yaml)\n"
            "      --clean            remove it (default)\n"
            "  -h, --help             help for hubtest\n\n"
            "A test passes when its parser asserts (unless ignore_parsers) and its scenario\n"
            "asserts (when it lists scenarios) all hold.\n");
}

static bool
is_dir(const char *path)
{
    struct stat st;
    return path != NULL && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *
default_patterns(char *buf, size_t size)
{
    const char *root = getenv("PHALANX_SOURCE_ROOT");
    if (root != NULL && root[0] != '\0' &&
        (size_t)snprintf(buf, size, "%s/config/patterns", root) < size && is_dir(buf))
        return buf;
    if (is_dir("config/patterns"))
        return "config/patterns";
    return "/etc/phalanx/patterns";
}

static int
print_json(const struct hubtest_result *res, size_t n)
{
    json_t *arr = json_array();
    if (arr == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct hubtest_result *r = &res[i];
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:s, s:I, s:o, s:I}", "name", r->name, "status",
            hubtest_status_name(r->status), "parser", hubtest_part_name(r->parser), "scenario",
            hubtest_part_name(r->scenario), "assertions", (json_int_t)r->assertions,
            "first_failure", r->first_failure != NULL ? json_string(r->first_failure) : json_null(),
            "lines", (json_int_t)r->lines);
        if (o == NULL) {
            json_decref(arr);
            return -1;
        }
        if (r->actual != NULL)
            json_object_set_new(o, "actual", json_string(r->actual));
        if (r->error != NULL)
            json_object_set_new(o, "error", json_string(r->error));
        if (r->runtime_dir != NULL)
            json_object_set_new(o, "runtime_dir", json_string(r->runtime_dir));
        json_array_append_new(arr, o);
    }
    int rc = json_dumpf(arr, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(arr);
    return rc;
}

static void
print_human(const struct hubtest_result *res, size_t n)
{
    size_t counts[4] = { 0 };
    for (size_t i = 0; i < n; i++) {
        const struct hubtest_result *r = &res[i];
        counts[r->status]++;
        switch (r->status) {
        case HUBTEST_PASS: printf("%s: pass (%zu assertions)\n", r->name, r->assertions); break;
        case HUBTEST_NOT_RUN:
            printf("%s: not run (parser: %s, scenario: %s)\n", r->name,
                   hubtest_part_name(r->parser), hubtest_part_name(r->scenario));
            break;
        case HUBTEST_FAIL:
            printf("%s: fail (%zu assertions; parser %s, scenario %s)\n", r->name, r->assertions,
                   hubtest_part_name(r->parser), hubtest_part_name(r->scenario));
            if (r->first_failure != NULL && r->first_failure[0] != '\0')
                printf("    first failure: %s\n", r->first_failure);
            if (r->actual != NULL)
                printf("    actual value:  %s\n", r->actual);
            if (r->error != NULL)
                printf("    %s\n", r->error);
            break;
        case HUBTEST_ERROR:
            printf("%s: error: %s\n", r->name, r->error != NULL ? r->error : "unknown");
            if (r->first_failure != NULL && r->first_failure[0] != '\0')
                printf("    at: %s\n", r->first_failure);
            break;
        }
        if (r->runtime_dir != NULL)
            printf("    runtime kept in %s\n", r->runtime_dir);
    }
    printf("\nhubtest: %zu pass, %zu fail, %zu error, %zu not run\n", counts[HUBTEST_PASS],
           counts[HUBTEST_FAIL], counts[HUBTEST_ERROR], counts[HUBTEST_NOT_RUN]);
}

static int usage_error(const char *fmt, ...) PRINTF_LIKE(1, 2);

static int
usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("Error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nRun 'phalanx hubtest --help' for usage.\n", stderr);
    return 1;
}

static int
hubtest_cmd_run(int argc, char **argv, bool list_only)
{
    static const struct option longopts[] = {
        { "all", no_argument, NULL, 'a' },
        { "hub", required_argument, NULL, 'H' },
        { "now", required_argument, NULL, 'N' },
        { "jobs", required_argument, NULL, 'j' },
        { "max-jobs", required_argument, NULL, 'j' },
        { "output", required_argument, NULL, 'o' },
        { "patterns", required_argument, NULL, 'p' },
        { "data-dir", required_argument, NULL, 'd' },
        { "geoip-dir", required_argument, NULL, 'g' },
        { "no-clean", no_argument, NULL, 'k' },
        { "clean", no_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct hubtest_options opts = { 0 };
    bool all = false, json = false;
    const char *now_text = NULL;
    unsigned long jobs = 1;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'a': all = true; break;
        case 'H': opts.hub_dir = optarg; break;
        case 'N': now_text = optarg; break;
        case 'j': {
            char *end;
            errno = 0;
            jobs = strtoul(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || jobs < 1 || jobs > 64)
                return usage_error("--jobs: expected a number from 1 to 64, got \"%s\"", optarg);
            break;
        }
        case 'o':
            if (strcmp(optarg, "json") == 0)
                json = true;
            else if (strcmp(optarg, "human") == 0)
                json = false;
            else
                return usage_error("-o: expected human or json, got \"%s\"", optarg);
            break;
        case 'p': opts.patterns_dir = optarg; break;
        case 'd': opts.data_dir = optarg; break;
        case 'g': opts.geoip_dir = optarg; break;
        case 'k': opts.keep_runtime = true; break;
        case 'c': opts.keep_runtime = false; break;
        case 'h': hubtest_usage(stdout); return 0;
        case ':': return usage_error("flag needs an argument: %s", argv[optind - 1]);
        default: return usage_error("unknown flag: %s", argv[optind - 1]);
        }
    }
    if (opts.hub_dir == NULL)
        return usage_error("%s", "--hub DIR is required");
    if (!is_dir(opts.hub_dir))
        return usage_error("hub directory %s does not exist", opts.hub_dir);
    char patbuf[4096];
    if (opts.patterns_dir == NULL)
        opts.patterns_dir = default_patterns(patbuf, sizeof(patbuf));
    if (!is_dir(opts.patterns_dir))
        return usage_error("pattern directory %s does not exist (see --patterns)",
                           opts.patterns_dir);

    char **names = NULL;
    size_t n = 0;
    int rc = 0;
    if (list_only || all) {
        rc = hubtest_list(opts.hub_dir, &names, &n);
        if (rc < 0) {
            fprintf(stderr, "Error: cannot list %s/.tests: %s\n", opts.hub_dir, strerror(-rc));
            return 1;
        }
        if (list_only) {
            for (size_t i = 0; i < n; i++)
                printf("%s\n", names[i]);
            hubtest_names_free(names, n);
            return 0;
        }
    } else {
        if (optind >= argc)
            return usage_error("%s", "please provide test to run or --all flag");
        n = (size_t)(argc - optind);
        names = calloc(n, sizeof(*names));
        if (names == NULL)
            return 1;
        for (size_t i = 0; i < n; i++) {
            names[i] = strdup(argv[optind + (int)i]);
            if (names[i] == NULL) {
                hubtest_names_free(names, n);
                return 1;
            }
        }
    }

    struct gotime now;
    if (now_text != NULL && gotime_parse_rfc3339(now_text, strlen(now_text), &now) < 0) {
        hubtest_names_free(names, n);
        return usage_error("--now: expected an RFC3339 time, got \"%s\"", now_text);
    }
    struct hubtest_result *res = calloc(n ? n : 1, sizeof(*res));
    if (res == NULL) {
        hubtest_names_free(names, n);
        return 1;
    }
    hubtest_global_init(now_text != NULL ? &now : NULL);
    rc = hubtest_run_many(&opts, names, n, (unsigned)jobs, res);
    hubtest_global_cleanup();
    int exit_code = 0;
    if (rc < 0) {
        fprintf(stderr, "Error: out of memory while running the tests\n");
        exit_code = 1;
    } else {
        if (json)
            print_json(res, n);
        else
            print_human(res, n);
        for (size_t i = 0; i < n; i++) {
            if (res[i].status == HUBTEST_FAIL || res[i].status == HUBTEST_ERROR)
                exit_code = 1;
        }
    }
    for (size_t i = 0; i < n; i++)
        hubtest_result_clear(&res[i]);
    free(res);
    hubtest_names_free(names, n);
    return exit_code;
}

int
cli_cmd_hubtest(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        hubtest_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return hubtest_cmd_run(argc - 1, argv + 1, false);
    if (strcmp(argv[1], "list") == 0)
        return hubtest_cmd_run(argc - 1, argv + 1, true);
    fprintf(stderr,
            "Error: unknown command \"%s\" for \"phalanx hubtest\"\n"
            "Run 'phalanx hubtest --help' for usage.\n",
            argv[1]);
    return 1;
}
