/*
 * config.c - the keys of CrowdSec's config.yaml the agent needs
 * (config_paths, crowdsec_service) with CrowdSec's defaults, read with
 * libyaml's document API. Other sections and keys are left to their owners
 * (phalanxd -t checks the section names).
 */
#include "agent/internal.h"

#include <limits.h>
#include <stdarg.h>
#include <yaml.h>

void
agent_errorf(struct agent_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

void
agent_config_clear(struct agent_config *c)
{
    free(c->config_dir);
    free(c->data_dir);
    free(c->simulation_path);
    free(c->hub_dir);
    free(c->index_path);
    free(c->pattern_dir);
    free(c->console_context_path);
    free(c->acquisition_path);
    free(c->acquisition_dir);
    free(c->credentials_path);
    memset(c, 0, sizeof(*c));
}

static yaml_node_t *
map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k != NULL && k->type == YAML_SCALAR_NODE &&
            strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

/* A string key: copied into *dst when present and non-empty. 0, or -1 with err. */
static int
get_str(yaml_document_t *doc, yaml_node_t *sec, const char *section, const char *key, char **dst,
        struct agent_error *err)
{
    yaml_node_t *n = map_get(doc, sec, key);
    if (n == NULL)
        return 0;
    if (n->type != YAML_SCALAR_NODE) {
        agent_errorf(err, "line %zu: %s.%s must be a string", n->start_mark.line + 1, section, key);
        return -1;
    }
    if (n->data.scalar.length == 0)
        return 0;
    char *s = strdup((const char *)n->data.scalar.value);
    if (s == NULL) {
        agent_errorf(err, "out of memory");
        return -1;
    }
    free(*dst);
    *dst = s;
    return 0;
}

static int
get_uint(yaml_document_t *doc, yaml_node_t *sec, const char *section, const char *key,
         unsigned long long max, unsigned long long *dst, struct agent_error *err)
{
    yaml_node_t *n = map_get(doc, sec, key);
    if (n == NULL)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long v = 0;
    if (n->type == YAML_SCALAR_NODE && n->data.scalar.value[0] != '-')
        v = strtoull((const char *)n->data.scalar.value, &end, 10);
    if (n->type != YAML_SCALAR_NODE || end == NULL || end == (char *)n->data.scalar.value ||
        *end != '\0' || errno != 0 || v > max) {
        agent_errorf(err, "line %zu: %s.%s must be an integer from 0 to %llu",
                     n->start_mark.line + 1, section, key, max);
        return -1;
    }
    *dst = v;
    return 0;
}

static char *
join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    size_t total = n + strlen(name) + 2;
    char *s = malloc(total);
    if (s != NULL) {
        bool slash = n > 0 && dir[n - 1] == '/';
        snprintf(s, total, "%s%s%s", dir, slash ? "" : "/", name);
    }
    return s;
}

int
agent_config_load(const char *path, struct agent_config *ret, struct agent_error *err)
{
    FILE *f = fopen(path, "rb");
    yaml_parser_t parser;
    yaml_document_t doc;
    bool have_doc = false;
    int rc = -1;
    struct agent_config c = { 0 };
    unsigned long long pr = 1, br = 1, orr = 1, mb = AGENT_DEFAULT_MAX_BUCKETS, mbs = 0, ccl = 0;

    if (f == NULL) {
        agent_errorf(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        agent_errorf(err, "out of memory");
        return -1;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        agent_errorf(err, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
                     parser.problem_mark.column + 1,
                     parser.problem ? parser.problem : "syntax error");
        goto out;
    }
    have_doc = true;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    yaml_node_t *paths = map_get(&doc, root, "config_paths");
    yaml_node_t *svc = map_get(&doc, root, "crowdsec_service");
    yaml_node_t *api = map_get(&doc, root, "api");
    yaml_node_t *client = api != NULL ? map_get(&doc, api, "client") : NULL;
    char *enable = NULL;
    struct agent_error e = { { 0 } };
    if (get_str(&doc, paths, "config_paths", "config_dir", &c.config_dir, &e) < 0 ||
        get_str(&doc, paths, "config_paths", "data_dir", &c.data_dir, &e) < 0 ||
        get_str(&doc, paths, "config_paths", "simulation_path", &c.simulation_path, &e) < 0 ||
        get_str(&doc, paths, "config_paths", "hub_dir", &c.hub_dir, &e) < 0 ||
        get_str(&doc, paths, "config_paths", "index_path", &c.index_path, &e) < 0 ||
        get_str(&doc, paths, "config_paths", "pattern_dir", &c.pattern_dir, &e) < 0 ||
        get_uint(&doc, svc, "crowdsec_service", "parser_routines", AGENT_MAX_ROUTINES, &pr, &e) <
            0 ||
        get_uint(&doc, svc, "crowdsec_service", "buckets_routines", AGENT_MAX_ROUTINES, &br, &e) <
            0 ||
        get_uint(&doc, svc, "crowdsec_service", "output_routines", AGENT_MAX_ROUTINES, &orr, &e) <
            0 ||
        get_uint(&doc, svc, "crowdsec_service", "max_buckets", SIZE_MAX / 2, &mb, &e) < 0 ||
        get_uint(&doc, svc, "crowdsec_service", "max_buckets_per_scenario", SIZE_MAX / 2, &mbs,
                 &e) < 0 ||
        get_str(&doc, svc, "crowdsec_service", "console_context_path", &c.console_context_path,
                &e) < 0 ||
        /* Over 4000 means 4000 (NewAlertContext); a negative length would hang CrowdSec. */
        get_uint(&doc, svc, "crowdsec_service", "console_context_value_length", INT_MAX, &ccl, &e) <
            0 ||
        get_str(&doc, svc, "crowdsec_service", "acquisition_path", &c.acquisition_path, &e) < 0 ||
        get_str(&doc, svc, "crowdsec_service", "acquisition_dir", &c.acquisition_dir, &e) < 0 ||
        get_str(&doc, svc, "crowdsec_service", "enable", &enable, &e) < 0 ||
        get_str(&doc, client, "api.client", "credentials_path", &c.credentials_path, &e) < 0) {
        free(enable);
        agent_errorf(err, "%s: %.900s", path, e.message);
        goto out;
    }
    /*
     * The agent runs when config.yaml has a crowdsec_service section whose enable is not
     * false, as in CrowdSec (a config without the section is a Local API alone).
     */
    c.enable = svc != NULL;
    if (enable != NULL) {
        bool no = strcmp(enable, "false") == 0 || strcmp(enable, "no") == 0 ||
                  strcmp(enable, "off") == 0 || strcmp(enable, "False") == 0;
        bool yes = strcmp(enable, "true") == 0 || strcmp(enable, "yes") == 0 ||
                   strcmp(enable, "on") == 0 || strcmp(enable, "True") == 0;
        free(enable);
        if (!no && !yes) {
            agent_errorf(err, "%s: crowdsec_service.enable must be true or false", path);
            goto out;
        }
        c.enable = c.enable && yes;
    }
    /* CrowdSec's defaults (csconfig.NewDefaultConfig and the Load* fill-ins). */
    if (c.config_dir == NULL && (c.config_dir = strdup("/etc/crowdsec/")) == NULL)
        goto oom;
    if (c.data_dir == NULL && c.enable) {
        agent_errorf(err, "%s: config_paths.data_dir is required (where the items' data files are)",
                     path);
        goto out;
    }
    /* A Local API alone needs no data dir; a replay with this config gets CrowdSec's default. */
    if (c.data_dir == NULL && (c.data_dir = strdup("/var/lib/crowdsec/data/")) == NULL)
        goto oom;
    if (c.hub_dir == NULL && (c.hub_dir = join(c.config_dir, "hub")) == NULL)
        goto oom;
    if (c.index_path == NULL && (c.index_path = join(c.hub_dir, ".index.json")) == NULL)
        goto oom;
    if (c.pattern_dir == NULL && (c.pattern_dir = join(c.config_dir, "patterns")) == NULL)
        goto oom;
    /* Routine counts below 1 mean 1, as CrowdSec starts at least one of each. */
    c.parser_routines = pr > 0 ? (unsigned)pr : 1;
    c.buckets_routines = br > 0 ? (unsigned)br : 1;
    c.output_routines = orr > 0 ? (unsigned)orr : 1;
    c.max_buckets = (size_t)mb;
    c.max_buckets_per_scenario = (size_t)mbs;
    c.console_context_value_length = (size_t)ccl;
    *ret = c;
    memset(&c, 0, sizeof(c));
    rc = 0;
    goto out;
oom:
    agent_errorf(err, "out of memory");
out:
    agent_config_clear(&c);
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}
