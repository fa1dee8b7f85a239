/*
 * items.c - loads what is installed under config_dir the way CrowdSec's
 * agent does: parsers/<stage>/<name>.yaml (stages and files in name order),
 * scenarios/<name>.yaml, postoverflows/<stage>/<name>.yaml, simulation.yaml, the
 * alert context (alertcontext.c), and the grok patterns (our base set, which
 * grokky has built in, then pattern_dir).
 * A scenario file that is a hub item (usually a symlink into the hub) takes
 * its version from the hub index, as cwhub does for installed items.
 */
#include "agent/internal.h"

#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <sys/stat.h>
#include <yaml.h>

struct name_list {
    char **items;
    size_t len, cap;
};

static void
name_list_clear(struct name_list *l)
{
    for (size_t i = 0; i < l->len; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

static int
name_list_push(struct name_list *l, const char *s)
{
    if (l->len == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        char **n = realloc(l->items, ncap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        l->items = n;
        l->cap = ncap;
    }
    if ((l->items[l->len] = strdup(s)) == NULL)
        return -ENOMEM;
    l->len++;
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool
has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/*
 * Entries of dir (sorted): directories when want_dirs, else regular files
 * (symlinks followed) ending in .yaml or .yml. A missing dir is empty.
 * On error ret is left empty, so the caller has nothing to free.
 */
static int
list_dir(const char *dir, bool want_dirs, struct name_list *ret)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[PATH_MAX];
    if (d == NULL)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
            continue;
        if (stat(path, &st) != 0)
            continue;
        if (want_dirs ? !S_ISDIR(st.st_mode)
                      : !S_ISREG(st.st_mode) ||
                            !(has_suffix(de->d_name, ".yaml") || has_suffix(de->d_name, ".yml")))
            continue;
        if (name_list_push(ret, de->d_name) < 0) {
            closedir(d);
            name_list_clear(ret);
            return -ENOMEM;
        }
    }
    closedir(d);
    if (ret->len > 0)
        qsort(ret->items, ret->len, sizeof(*ret->items), cmp_str);
    return 0;
}

/* parsers/<stage>/<file> under config_dir/kind; NULL with err->message "" when none. */
static struct parser_set *
load_parsers(struct agent *a, const char *kind, bool postoverflow, struct agent_error *err)
{
    struct name_list stages = { 0 }, paths = { 0 }, stage_of = { 0 };
    struct parser_item *items = NULL;
    struct parser_set *ps = NULL;
    char dir[PATH_MAX], sdir[PATH_MAX], path[PATH_MAX];

    err->message[0] = '\0';
    if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", a->cfg.config_dir, kind) >= sizeof(dir))
        goto oom;
    if (list_dir(dir, true, &stages) < 0)
        goto oom;
    for (size_t i = 0; i < stages.len; i++) {
        struct name_list files = { 0 };
        if ((size_t)snprintf(sdir, sizeof(sdir), "%s/%s", dir, stages.items[i]) >= sizeof(sdir))
            continue;
        if (list_dir(sdir, false, &files) < 0)
            goto oom;
        for (size_t j = 0; j < files.len; j++) {
            if ((size_t)snprintf(path, sizeof(path), "%s/%s", sdir, files.items[j]) >= sizeof(path))
                continue;
            if (name_list_push(&paths, path) < 0 ||
                name_list_push(&stage_of, stages.items[i]) < 0) {
                name_list_clear(&files);
                goto oom;
            }
        }
        name_list_clear(&files);
    }
    if (paths.len == 0)
        goto out;
    if ((items = calloc(paths.len, sizeof(*items))) == NULL)
        goto oom;
    for (size_t i = 0; i < paths.len; i++) {
        items[i].path = paths.items[i];
        items[i].stage = stage_of.items[i];
    }
    struct parser_options po = {
        .data_dir = a->cfg.data_dir,
        .grok = a->grok,
        .postoverflow = postoverflow,
    };
    struct parser_error perr = { 0 };
    ps = parser_set_load(items, paths.len, &po, &perr);
    if (ps == NULL) {
        if (perr.line > 0)
            agent_errorf(err, "%s:%d: %s", perr.file, perr.line, perr.message);
        else
            agent_errorf(err, "%s%s%s", perr.file, perr.file[0] ? ": " : "", perr.message);
    }
    goto out;
oom:
    agent_errorf(err, "%s: out of memory or unreadable", dir);
out:
    free(items);
    name_list_clear(&stages);
    name_list_clear(&paths);
    name_list_clear(&stage_of);
    return ps;
}

/* simulation.yaml: `simulation: bool` and `exclusions: [scenario names]`. */
static int
load_simulation(const char *path, bool *ret_sim, struct name_list *ret_excl,
                struct agent_error *err)
{
    FILE *f;
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = -1;

    *ret_sim = false;
    if (path == NULL || (f = fopen(path, "rb")) == NULL)
        return 0; /* no file: no simulation, as CrowdSec */
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        agent_errorf(err, "out of memory");
        return -1;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        agent_errorf(err, "%s:%zu: %s", path, parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "syntax error");
        goto out_parser;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    rc = 0;
    if (root != NULL && root->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(&doc, p->key);
            yaml_node_t *v = yaml_document_get_node(&doc, p->value);
            if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE)
                continue;
            const char *key = (const char *)k->data.scalar.value;
            if (strcmp(key, "simulation") == 0 && v->type == YAML_SCALAR_NODE) {
                *ret_sim = strcmp((const char *)v->data.scalar.value, "true") == 0;
            } else if (strcmp(key, "exclusions") == 0 && v->type == YAML_SEQUENCE_NODE) {
                for (yaml_node_item_t *it = v->data.sequence.items.start;
                     it < v->data.sequence.items.top; it++) {
                    yaml_node_t *e = yaml_document_get_node(&doc, *it);
                    if (e != NULL && e->type == YAML_SCALAR_NODE &&
                        name_list_push(ret_excl, (const char *)e->data.scalar.value) < 0) {
                        agent_errorf(err, "out of memory");
                        rc = -1;
                    }
                }
            }
        }
    }
    yaml_document_delete(&doc);
out_parser:
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}

/* The hub index's version of the item whose file is path, or NULL. */
static const char *
index_version(json_t *index, const char *hub_dir, const char *path)
{
    char real[PATH_MAX], item[PATH_MAX], itemreal[PATH_MAX];
    json_t *sec = json_object_get(index, "scenarios");
    const char *name;
    json_t *v;

    if (sec == NULL || realpath(path, real) == NULL)
        return NULL;
    json_object_foreach(sec, name, v)
    {
        const char *rel = json_string_value(json_object_get(v, "path"));
        if (rel == NULL ||
            (size_t)snprintf(item, sizeof(item), "%s/%s", hub_dir, rel) >= sizeof(item) ||
            realpath(item, itemreal) == NULL || strcmp(itemreal, real) != 0)
            continue;
        return json_string_value(json_object_get(v, "version"));
    }
    return NULL;
}

static struct bucket_set *
load_scenarios(struct agent *a, struct agent_error *err)
{
    struct name_list files = { 0 }, paths = { 0 }, excl = { 0 };
    struct bucket_file *bf = NULL;
    struct bucket_set *set = NULL;
    json_t *index = NULL;
    char dir[PATH_MAX], path[PATH_MAX];
    bool sim = false;

    err->message[0] = '\0';
    if ((size_t)snprintf(dir, sizeof(dir), "%s/scenarios", a->cfg.config_dir) >= sizeof(dir))
        goto oom;
    if (list_dir(dir, false, &files) < 0)
        goto oom;
    if (load_simulation(a->cfg.simulation_path, &sim, &excl, err) < 0)
        goto out;
    index = json_load_file(a->cfg.index_path, 0, NULL);
    if ((bf = calloc(files.len ? files.len : 1, sizeof(*bf))) == NULL)
        goto oom;
    for (size_t i = 0; i < files.len; i++) {
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, files.items[i]) >= sizeof(path) ||
            name_list_push(&paths, path) < 0)
            goto oom;
        bf[i].path = paths.items[i];
        bf[i].version = index != NULL ? index_version(index, a->cfg.hub_dir, path) : NULL;
    }
    struct bucket_options bo = {
        .data_dir = a->cfg.data_dir,
        .simulation = sim,
        .exclusions = (const char *const *)excl.items,
        .nexclusions = excl.len,
    };
    struct bucket_error berr = { 0 };
    set = bucket_set_load(bf, files.len, &bo, &berr);
    if (set == NULL) {
        if (berr.line > 0)
            agent_errorf(err, "%s:%d: %s", berr.file, berr.line, berr.message);
        else
            agent_errorf(err, "%s%s%s", berr.file, berr.file[0] ? ": " : "", berr.message);
    }
    goto out;
oom:
    agent_errorf(err, "%s: out of memory or unreadable", dir);
out:
    json_decref(index);
    free(bf);
    name_list_clear(&files);
    name_list_clear(&paths);
    name_list_clear(&excl);
    return set;
}

static int
copy_config(struct agent_config *dst, const struct agent_config *src)
{
    *dst = *src;
    /* The daemon's keys stay with the caller's copy. */
    dst->acquisition_path = dst->acquisition_dir = dst->credentials_path = NULL;
    dst->config_dir = strdup(src->config_dir);
    dst->data_dir = strdup(src->data_dir);
    dst->simulation_path = src->simulation_path ? strdup(src->simulation_path) : NULL;
    dst->hub_dir = strdup(src->hub_dir);
    dst->index_path = strdup(src->index_path);
    dst->pattern_dir = strdup(src->pattern_dir);
    dst->console_context_path =
        src->console_context_path ? strdup(src->console_context_path) : NULL;
    if (dst->config_dir == NULL || dst->data_dir == NULL || dst->hub_dir == NULL ||
        dst->index_path == NULL || dst->pattern_dir == NULL ||
        (src->simulation_path != NULL && dst->simulation_path == NULL) ||
        (src->console_context_path != NULL && dst->console_context_path == NULL))
        return -ENOMEM;
    return 0;
}

struct agent *
agent_new(const struct agent_config *cfg, const char *base_patterns, struct agent_error *err)
{
    struct agent *a = calloc(1, sizeof(*a));
    struct grok_error gerr = { 0 };

    if (a == NULL || copy_config(&a->cfg, cfg) < 0 || (a->grok = grok_library_new()) == NULL) {
        agent_errorf(err, "out of memory");
        goto fail;
    }
    if ((base_patterns != NULL && grok_library_load_dir(a->grok, base_patterns, &gerr) < 0) ||
        (is_dir(a->cfg.pattern_dir) &&
         grok_library_load_dir(a->grok, a->cfg.pattern_dir, &gerr) < 0)) {
        agent_errorf(err, "patterns: %s%s%s", gerr.file, gerr.file[0] ? ": " : "", gerr.message);
        goto fail;
    }
    if ((a->parsers = load_parsers(a, "parsers", false, err)) == NULL) {
        if (err->message[0] == '\0')
            agent_errorf(err, "no parser installed in %s/parsers/<stage>/: nothing could be parsed",
                         a->cfg.config_dir);
        goto fail;
    }
    a->postoverflows = load_parsers(a, "postoverflows", true, err);
    if (a->postoverflows == NULL && err->message[0] != '\0')
        goto fail;
    if ((a->scenarios = load_scenarios(a, err)) == NULL) {
        if (err->message[0] == '\0')
            agent_errorf(err, "out of memory loading scenarios");
        goto fail;
    }
    for (size_t i = 0; i < bucket_set_count(a->scenarios); i++)
        a->has_reprocess |= bucket_set_factory(a->scenarios, i)->spec.reprocess;
    /* After the scenarios, as CrowdSec compiles the context in LoadBuckets. */
    if (agent_context_load(&a->cfg, &a->context, err) < 0)
        goto fail;
    if (agent_context_count(a->context) == 0) {
        agent_context_free(a->context);
        a->context = NULL;
    }
    return a;
fail:
    agent_free(a);
    return NULL;
}

void
agent_free(struct agent *a)
{
    if (a == NULL)
        return;
    agent_context_free(a->context);
    bucket_set_free(a->scenarios);
    parser_set_free(a->postoverflows);
    parser_set_free(a->parsers);
    grok_library_free(a->grok);
    agent_config_clear(&a->cfg);
    free(a);
}

size_t
agent_scenario_count(const struct agent *a)
{
    return bucket_set_count(a->scenarios);
}

const char *
agent_scenario_name(const struct agent *a, size_t i)
{
    return bucket_set_factory(a->scenarios, i)->spec.name;
}
