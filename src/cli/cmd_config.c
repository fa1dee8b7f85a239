/*
 * cmd_config.c - `phalanx config show [--key X] | backup DIR | restore DIR`,
 * cscli's config command.
 *
 * show prints cscli 1.4's summary of config.yaml; --key takes cscli's
 * struct path (Config.ConfigPaths.HubDir) or a YAML path (config_paths.hub_dir)
 * and prints that value. backup writes what cscli 1.4 backs up: for each item
 * type, upstream-<type>.json listing the installed hub items plus copies of the
 * local and tainted ones, and config.yaml, simulation, acquisition (file and
 * directory), profiles and both credentials files; restore reinstalls the
 * upstream items from the hub and copies the rest back.
 */
#include "cli/cli.h"
#include "cli/hub_cli.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/str.h"
#include "config/config.h"

/* Everything config.yaml says (the tree) plus the hub's view with defaults. */
struct cfgview {
    struct ytree *tree;
    const struct ynode *root;
    struct hub_config hub;
};

static void
cfgview_clear(struct cfgview *v)
{
    ytree_free(v->tree);
    hub_config_clear(&v->hub);
    memset(v, 0, sizeof(*v));
}

static int
cfgview_load(const struct cli_globals *g, struct cfgview *v)
{
    FILE *f = fopen(g->config, "rb");
    struct str buf = { 0 };
    int rc = 1;
    if (f == NULL)
        return cli_fail("%s: %s", g->config, strerror(errno));
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf.len + n > (16u << 20) || str_append(&buf, chunk, n) < 0) {
            cli_fail("%s: too big", g->config);
            goto out;
        }
    }
    char err[256];
    int line = 0;
    if (ytree_parse(buf.buf != NULL ? buf.buf : "", buf.len, &v->tree, err, sizeof(err), &line) !=
        0) {
        cli_fail("%s:%d: %s", g->config, line, err);
        goto out;
    }
    v->root = v->tree->ndocs > 0 ? v->tree->docs[0] : NULL;
    if (cli_hub_config(g, &v->hub) != 0)
        goto out;
    rc = 0;
out:
    fclose(f);
    str_free(&buf);
    return rc;
}

/* The scalar at a dotted YAML path, or NULL. */
static const char *
get(const struct cfgview *v, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    const struct ynode *n = v->root;
    char *save = NULL;
    for (char *seg = strtok_r(buf, ".", &save); seg != NULL && n != NULL;
         seg = strtok_r(NULL, ".", &save))
        n = ynode_map_get(n, seg);
    return n != NULL && n->type == YNODE_SCALAR && !ynode_is_null(n) ? n->str : NULL;
}

static const char *
dflt(const char *s, const char *d)
{
    return s != NULL ? s : d;
}

/* cscli prints folders without their trailing slash. */
static const char *
folder(char *buf, size_t len, const char *p)
{
    snprintf(buf, len, "%s", p);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    return buf;
}

static void
show_summary(const struct cfgview *v)
{
    char b1[4096];
    printf("Global:\n");
    printf("   - Configuration Folder   : %s\n", folder(b1, sizeof(b1), v->hub.config_dir));
    printf("   - Data Folder            : %s\n", folder(b1, sizeof(b1), v->hub.data_dir));
    printf("   - Hub Folder             : %s\n", folder(b1, sizeof(b1), v->hub.hub_dir));
    printf("   - Simulation File        : %s\n", v->hub.simulation_path);
    printf("   - Log Folder             : %s\n", dflt(get(v, "common.log_dir"), ""));
    printf("   - Log level              : %s\n", dflt(get(v, "common.log_level"), ""));
    printf("   - Log Media              : %s\n", dflt(get(v, "common.log_media"), ""));
    if (ynode_map_get(v->root, "crowdsec_service") != NULL) {
        printf("Crowdsec:\n");
        printf("  - Acquisition File        : %s\n",
               dflt(get(v, "crowdsec_service.acquisition_path"), ""));
        printf("  - Parsers routines        : %s\n",
               dflt(get(v, "crowdsec_service.parser_routines"), "1"));
        if (get(v, "crowdsec_service.acquisition_dir") != NULL)
            printf("  - Acquisition Folder      : %s\n",
                   get(v, "crowdsec_service.acquisition_dir"));
    }
    printf("cscli:\n");
    printf("  - Output                  : %s\n", dflt(get(v, "cscli.output"), "human"));
    printf("  - Hub Branch              : %s\n", dflt(get(v, "cscli.hub_branch"), ""));
    printf("  - Hub Folder              : %s\n", folder(b1, sizeof(b1), v->hub.hub_dir));
    printf("  - Hub URL                 : %s\n", v->hub.hub_url);
    if (get(v, "api.client.credentials_path") != NULL) {
        printf("API Client:\n");
        printf("  - Credentials File        : %s\n", get(v, "api.client.credentials_path"));
    }
    const struct ynode *server = ynode_map_get(ynode_map_get(v->root, "api"), "server");
    if (server != NULL) {
        printf("Local API Server:\n");
        printf("  - Listen URL              : %s\n", dflt(get(v, "api.server.listen_uri"), ""));
        printf("  - Profile File            : %s\n", dflt(get(v, "api.server.profiles_path"), ""));
        const struct ynode *tips = ynode_map_get(server, "trusted_ips");
        if (tips != NULL && tips->type == YNODE_SEQ) {
            printf("  - Trusted IPs: \n");
            for (size_t i = 0; i < tips->n; i++) {
                if (tips->items[i]->type == YNODE_SCALAR)
                    printf("      - %s\n", tips->items[i]->str);
            }
        }
    }
    if (ynode_map_get(v->root, "db_config") != NULL) {
        printf("  - Database:\n");
        printf("      - Type                : %s\n", dflt(get(v, "db_config.type"), ""));
        if (get(v, "db_config.db_path") != NULL)
            printf("      - Path                : %s\n", get(v, "db_config.db_path"));
        if (get(v, "db_config.host") != NULL)
            printf("      - Host                : %s\n", get(v, "db_config.host"));
        if (get(v, "db_config.flush.max_age") != NULL)
            printf("      - Flush age           : %s\n", get(v, "db_config.flush.max_age"));
        if (get(v, "db_config.flush.max_items") != NULL)
            printf("      - Flush size          : %s\n", get(v, "db_config.flush.max_items"));
    }
}

/* cscli's Go field names whose YAML key is not their snake_case. */
static const struct {
    const char *go, *yaml;
} aliases[] = {
    { "crowdsec", "crowdsec_service" },
    { "credentialsfilepath", "credentials_path" },
    { "dbconfig", "db_config" },
    { "onlineclient", "online_client" },
};

/* A map key equal to seg once case and underscores are ignored (or an alias). */
static const struct ynode *
key_lookup(const struct ynode *map, const char *seg)
{
    if (map == NULL || map->type != YNODE_MAP)
        return NULL;
    const char *want = seg;
    for (size_t a = 0; a < ARRAY_SIZE(aliases); a++) {
        if (strcasecmp(seg, aliases[a].go) == 0)
            want = aliases[a].yaml;
    }
    for (size_t i = 0; i + 1 < map->n * 2; i += 2) {
        const char *k = map->items[i]->str;
        const char *p = k, *q = want;
        while (*p != '\0' && *q != '\0') {
            if (*p == '_') {
                p++;
                continue;
            }
            if (*q == '_') {
                q++;
                continue;
            }
            if ((*p | 0x20) != (*q | 0x20))
                break;
            p++;
            q++;
        }
        while (*p == '_')
            p++;
        while (*q == '_')
            q++;
        if (*p == '\0' && *q == '\0')
            return map->items[i + 1];
    }
    return NULL;
}

static json_t *
to_json(const struct ynode *n, int depth)
{
    if (n == NULL || depth > YTREE_MAX_DEPTH)
        return json_null();
    if (n->type == YNODE_SCALAR)
        return ynode_is_null(n) ? json_null() : json_string(n->str);
    if (n->type == YNODE_SEQ) {
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && i < n->n; i++)
            json_array_append_new(a, to_json(n->items[i], depth + 1));
        return a;
    }
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < n->n; i++)
        json_object_set_new(o, n->items[2 * i]->str, to_json(n->items[2 * i + 1], depth + 1));
    return o;
}

static int
show_key(const struct cfgview *v, const char *key)
{
    char buf[512];
    if ((size_t)snprintf(buf, sizeof(buf), "%s", key) >= sizeof(buf))
        return cli_fail("key too long");
    char *p = buf;
    if (strncmp(p, "Config.", 7) == 0)
        p += 7;
    /* The key without case and underscores, for the defaults below (strtok_r cuts p). */
    char norm[512];
    size_t j = 0;
    for (const char *c = p; *c != '\0' && j + 1 < sizeof(norm); c++) {
        if (*c != '_')
            norm[j++] = (char)(*c >= 'A' && *c <= 'Z' ? *c + 'a' - 'A' : *c);
    }
    norm[j] = '\0';
    const struct ynode *n = v->root;
    char *save = NULL;
    char path[512] = "";
    for (char *seg = strtok_r(p, ".", &save); seg != NULL; seg = strtok_r(NULL, ".", &save)) {
        n = key_lookup(n, seg);
        size_t l = strlen(path);
        snprintf(path + l, sizeof(path) - l, "%s%s", l ? "." : "", seg);
        if (n == NULL)
            break;
    }
    if (n == NULL) {
        /* Paths the hub fills with defaults when config.yaml leaves them out. */
        static const char *const segs[] = { "configpaths.configdir",      "configpaths.datadir",
                                            "configpaths.hubdir",         "configpaths.indexpath",
                                            "configpaths.simulationpath", "cscli.hubbranch" };
        const char *const vals[] = { v->hub.config_dir, v->hub.data_dir,        v->hub.hub_dir,
                                     v->hub.index_path, v->hub.simulation_path, v->hub.hub_branch };
        for (size_t i = 0; i < ARRAY_SIZE(segs); i++) {
            if (strcmp(norm, segs[i]) == 0) {
                printf("%s\n", vals[i]);
                return 0;
            }
        }
        return cli_fail("no such key in the configuration: %s", key);
    }
    if (n->type == YNODE_SCALAR) {
        printf("%s\n", ynode_is_null(n) ? "" : n->str);
        return 0;
    }
    json_t *val = to_json(n, 0);
    json_dumpf(val, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("\n");
    json_decref(val);
    return 0;
}

/* ---- backup / restore ---- */

static int
copy_file(const char *src, const char *dst)
{
    struct hub_error err = { { 0 } };
    if (hub_fetch(src, dst, &err) < 0)
        return cli_fail("%s", err.message);
    return 0;
}

static int
path_in(char *buf, size_t len, const char *dir, const char *name)
{
    size_t n = strlen(dir);
    if ((size_t)snprintf(buf, len, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name) >= len)
        return cli_fail("%s/%s: path too long", dir, name);
    return 0;
}

/* The files backed up besides the items: config.yaml key, name in the backup. */
static const struct {
    const char *key;
    const char *name;
} extra_files[] = {
    { "crowdsec_service.acquisition_path", "acquis.yaml" },
    { "api.server.profiles_path", "profiles.yaml" },
    { "api.client.credentials_path", "local_api_credentials.yaml" },
    { "api.server.online_client.credentials_path", "online_api_credentials.yaml" },
};

static int
backup_items(const struct hub *h, const char *dir)
{
    static const enum hub_type types[] = { HUB_PARSERS, HUB_POSTOVERFLOWS, HUB_SCENARIOS,
                                           HUB_CONTEXTS, HUB_COLLECTIONS };
    char tdir[4096], p[4096], file[4096];
    for (size_t k = 0; k < ARRAY_SIZE(types); k++) {
        const char *tn = hub_type_name(types[k]);
        if (path_in(tdir, sizeof(tdir), dir, tn) != 0)
            return 1;
        if (mkdir(tdir, 0700) < 0 && errno != EEXIST)
            return cli_fail("while creating %s: %s", tdir, strerror(errno));
        json_t *up = json_array();
        for (size_t i = 0; up != NULL && i < h->nitems; i++) {
            const struct hub_item *it = &h->items[i];
            if (it->type != types[k] || !it->installed)
                continue;
            if (!it->local && !it->tainted) {
                json_array_append_new(up, json_string(it->name));
                continue;
            }
            /* Local and tainted items are kept as files, in their stage directory. */
            if (it->stage != NULL) {
                if ((size_t)snprintf(p, sizeof(p), "%s/%s/%s", tdir, it->stage, it->fname) >=
                    sizeof(p))
                    return cli_fail("%s: path too long", it->fname);
            } else if (path_in(p, sizeof(p), tdir, it->fname) != 0) {
                return 1;
            }
            if (copy_file(it->local_path, p) != 0) {
                json_decref(up);
                return 1;
            }
            fprintf(stderr, "Saved %s %s to %s\n", tn, it->name, p);
        }
        snprintf(file, sizeof(file), "upstream-%s.json", tn);
        if (path_in(p, sizeof(p), tdir, file) != 0 || json_dump_file(up, p, JSON_INDENT(1)) != 0) {
            json_decref(up);
            return cli_fail("while writing %s", p);
        }
        fprintf(stderr, "Wrote %zu entries for %s to %s\n", json_array_size(up), tn, p);
        json_decref(up);
    }
    return 0;
}

/* Copies every regular file of src (one level) into dst. */
static int
copy_dir(const char *src, const char *dst)
{
    DIR *d = opendir(src);
    if (d == NULL)
        return 0;
    struct dirent *de;
    int rc = 0;
    char a[4096], b[4096];
    size_t count = 0;
    while (rc == 0 && (de = readdir(d)) != NULL && count++ < 100000) {
        struct stat st;
        if (de->d_name[0] == '.' || path_in(a, sizeof(a), src, de->d_name) != 0 ||
            stat(a, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (path_in(b, sizeof(b), dst, de->d_name) != 0 || copy_file(a, b) != 0)
            rc = 1;
    }
    closedir(d);
    return rc;
}

static int
backup(const struct cfgview *v, const struct cli_globals *g, const char *dir)
{
    struct hub *h = NULL;
    char p[4096];
    int rc = 1;
    if (mkdir(dir, 0700) < 0)
        return cli_fail("while creating %s: %s", dir, strerror(errno));
    if (cli_hub_open(&v->hub, &h) != 0 || backup_items(h, dir) != 0)
        goto out;
    if (path_in(p, sizeof(p), dir, "config.yaml") != 0 || copy_file(g->config, p) != 0)
        goto out;
    if (access(v->hub.simulation_path, F_OK) == 0 &&
        (path_in(p, sizeof(p), dir, "simulation.yaml") != 0 ||
         copy_file(v->hub.simulation_path, p) != 0))
        goto out;
    for (size_t i = 0; i < ARRAY_SIZE(extra_files); i++) {
        const char *src = get(v, extra_files[i].key);
        if (src == NULL || access(src, F_OK) != 0)
            continue;
        if (path_in(p, sizeof(p), dir, extra_files[i].name) != 0 || copy_file(src, p) != 0)
            goto out;
    }
    const char *adir = get(v, "crowdsec_service.acquisition_dir");
    if (adir != NULL) {
        if (path_in(p, sizeof(p), dir, "acquis") != 0 || (mkdir(p, 0700) < 0 && errno != EEXIST) ||
            copy_dir(adir, p) != 0)
            goto out;
    }
    printf("Backup done in %s\n", dir);
    rc = 0;
out:
    hub_free(h);
    return rc;
}

static int
restore_items(const struct cfgview *v, const char *dir)
{
    static const enum hub_type types[] = { HUB_PARSERS, HUB_POSTOVERFLOWS, HUB_SCENARIOS,
                                           HUB_CONTEXTS, HUB_COLLECTIONS };
    struct hub *h = NULL;
    char tdir[4096], p[4096], file[4096];
    int rc = 0;
    struct hub_opts o = { .note = cli_hub_note };
    struct hub_error err = { { 0 } };
    if (cli_hub_open(&v->hub, &h) != 0)
        return 1;
    for (size_t k = 0; k < ARRAY_SIZE(types); k++) {
        const char *tn = hub_type_name(types[k]);
        snprintf(file, sizeof(file), "upstream-%s.json", tn);
        if (path_in(tdir, sizeof(tdir), dir, tn) != 0 || path_in(p, sizeof(p), tdir, file) != 0) {
            rc = 1;
            break;
        }
        json_t *up = json_load_file(p, 0, NULL);
        size_t i;
        json_t *name;
        json_array_foreach(up, i, name)
        {
            struct hub_item *it =
                json_is_string(name) ? hub_find(h, types[k], json_string_value(name)) : NULL;
            if (it == NULL) {
                fprintf(stderr, "Error: can't find %s %s in the hub index\n", tn,
                        json_is_string(name) ? json_string_value(name) : "?");
                rc = 1;
                continue;
            }
            if (hub_install(h, it, &o, &err) < 0 || hub_scan(h, &err) < 0) {
                fprintf(stderr, "Error: %s\n", err.message);
                rc = 1;
            }
        }
        json_decref(up);
        /* The local files, stage directories included. */
        DIR *d = opendir(tdir);
        struct dirent *de;
        size_t count = 0;
        while (d != NULL && (de = readdir(d)) != NULL && count++ < 100000) {
            char src[4096], dst[4096], sub[4096];
            struct stat st;
            if (de->d_name[0] == '.' || strncmp(de->d_name, "upstream-", 9) == 0 ||
                path_in(src, sizeof(src), tdir, de->d_name) != 0 || stat(src, &st) < 0)
                continue;
            if (S_ISDIR(st.st_mode)) {
                snprintf(sub, sizeof(sub), "%s/%s", tn, de->d_name);
                if (path_in(dst, sizeof(dst), v->hub.config_dir, sub) != 0 ||
                    copy_dir(src, dst) != 0)
                    rc = 1;
                continue;
            }
            snprintf(sub, sizeof(sub), "%s/%s", tn, de->d_name);
            if (path_in(dst, sizeof(dst), v->hub.config_dir, sub) != 0 || copy_file(src, dst) != 0)
                rc = 1;
        }
        if (d != NULL)
            closedir(d);
    }
    hub_free(h);
    return rc;
}

static int
restore(const struct cfgview *v, const char *dir)
{
    char p[4096], dst[4096];
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return cli_fail("%s: not a backup directory", dir);
    int rc = restore_items(v, dir);
    if (path_in(p, sizeof(p), dir, "config.yaml") == 0 && access(p, F_OK) == 0 &&
        (path_in(dst, sizeof(dst), v->hub.config_dir, "config.yaml") != 0 ||
         copy_file(p, dst) != 0))
        rc = 1;
    if (path_in(p, sizeof(p), dir, "simulation.yaml") == 0 && access(p, F_OK) == 0 &&
        copy_file(p, v->hub.simulation_path) != 0)
        rc = 1;
    for (size_t i = 0; i < ARRAY_SIZE(extra_files); i++) {
        const char *to = get(v, extra_files[i].key);
        if (path_in(p, sizeof(p), dir, extra_files[i].name) != 0 || access(p, F_OK) != 0)
            continue;
        if (to == NULL) {
            fprintf(stderr, "Warning: %s is in the backup but %s is not set; not restored\n",
                    extra_files[i].name, extra_files[i].key);
            continue;
        }
        if (copy_file(p, to) != 0)
            rc = 1;
    }
    const char *adir = get(v, "crowdsec_service.acquisition_dir");
    if (adir != NULL && path_in(p, sizeof(p), dir, "acquis") == 0 && copy_dir(p, adir) != 0)
        rc = 1;
    if (rc == 0)
        printf("Restore done from %s\n", dir);
    return rc;
}

static void
usage(FILE *out)
{
    fprintf(out, "Allows to view current config\n\n"
                 "Usage:\n"
                 "  phalanx config [command]\n\n"
                 "Available Commands:\n"
                 "  backup      Backup current config\n"
                 "  restore     Restore config in backup \"directory\"\n"
                 "  show        Displays current config\n\n"
                 "Flags:\n"
                 "  -h, --help         help for config\n"
                 "      --key string   Display only this value (Config.ConfigPaths.HubDir or "
                 "config_paths.hub_dir)\n");
}

int
cli_cmd_config(int argc, char **argv)
{
    struct cli_globals g;
    const char *action = NULL, *key = NULL, *dir = NULL;
    enum { CONFIG_SHOW, CONFIG_BACKUP, CONFIG_RESTORE } act;
    struct cfgview v = { 0 };
    int rc = 1;

    cli_globals_init(&g);
    for (int i = 1; i < argc;) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        int r = cli_globals_take(&g, argc, argv, &i);
        if (r < 0)
            return 1;
        if (r > 0)
            continue;
        const char *a = argv[i++];
        if (strcmp(a, "--key") == 0) {
            if (i >= argc)
                return cli_fail("flag needs an argument: --key");
            key = argv[i++];
        } else if (strncmp(a, "--key=", 6) == 0) {
            key = a + 6;
        } else if (a[0] == '-') {
            return cli_fail("unknown flag: %s", a);
        } else if (action == NULL) {
            action = a;
        } else if (dir == NULL) {
            dir = a;
        } else {
            return cli_fail("too many arguments");
        }
    }
    if (action == NULL) {
        usage(stdout);
        return 0;
    }
    if (strcmp(action, "show") == 0) {
        act = CONFIG_SHOW;
    } else if (strcmp(action, "backup") == 0) {
        act = CONFIG_BACKUP;
    } else if (strcmp(action, "restore") == 0) {
        act = CONFIG_RESTORE;
    } else {
        fprintf(stderr,
                "Error: unknown command \"%s\" for \"phalanx config\"\n"
                "Run 'phalanx config --help' for usage.\n",
                action);
        return 1;
    }
    if (act != CONFIG_SHOW && dir == NULL)
        return cli_fail("'phalanx config %s' needs a directory", action);
    if (cfgview_load(&g, &v) != 0)
        goto out;
    if (act == CONFIG_SHOW) {
        if (key != NULL) {
            rc = show_key(&v, key);
        } else if (g.format == CLI_OUT_JSON) {
            json_t *j = to_json(v.root, 0);
            json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            printf("\n");
            json_decref(j);
            rc = 0;
        } else {
            show_summary(&v);
            rc = 0;
        }
    } else if (act == CONFIG_BACKUP) {
        rc = backup(&v, &g, dir);
    } else {
        rc = restore(&v, dir);
    }
out:
    cfgview_clear(&v);
    return rc;
}
