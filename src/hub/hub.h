/*
 * hub.h - CrowdSec hub items managed the way cscli manages them.
 *
 * The index (hub_dir/.index.json) names every item of every type with its
 * versions and their sha256 digests. Items are downloaded to
 * hub_dir/<type>/[<stage>/]<author>/<name>.yaml and enabled as symlinks
 * config_dir/<type>/[<stage>/]<name>.yaml; a plain file there is a local item.
 * An installed item whose sha256 is none of its versions' digests is tainted;
 * a collection is tainted when one of its dependencies is tainted or missing.
 * Data files named by an item's `data:` entries go to data_dir.
 *
 * Items are fetched from a base: http(s) (libcurl), file:// or a plain
 * directory (a local hub, e.g. a git checkout of crowdsecurity/hub). The base
 * is $PHALANX_HUB_URL, else cscli.hub_url of config.yaml, else
 * https://cdn-hub.crowdsec.net/crowdsecurity/<cscli.hub_branch>. For a local
 * hub, data files come from $PHALANX_HUB_DATA_DIR (a directory), else
 * <base>/data, looked up by the dest_file name.
 *
 * Library code never prints: operations report what they did through the
 * optional hub_opts.note callback and fail with a message in struct hub_error.
 */
#ifndef PHALANX_HUB_H
#define PHALANX_HUB_H

#include "common/common.h"

/* Upper bounds on what an index may hold (it is downloaded). */
#define HUB_MAX_ITEMS     100000
#define HUB_MAX_DEPS      4096
#define HUB_MAX_DEPTH     32
#define HUB_MAX_FILE_SIZE (64u << 20)

enum hub_type {
    HUB_PARSERS,
    HUB_POSTOVERFLOWS,
    HUB_SCENARIOS,
    HUB_CONTEXTS,
    HUB_APPSEC_CONFIGS,
    HUB_APPSEC_RULES,
    HUB_COLLECTIONS,
    HUB_NTYPES
};

/* "parsers", "postoverflows", ...; hub_type_from_name returns -1 for an unknown name. */
const char *hub_type_name(enum hub_type t);
int hub_type_from_name(const char *name);
/* parsers and postoverflows live under a stage directory. */
bool hub_type_has_stage(enum hub_type t);

struct hub_error {
    char message[1024];
};

/* What the hub needs from config.yaml (all strings owned). */
struct hub_config {
    char *config_dir;      /* config_paths.config_dir, default /etc/crowdsec/ */
    char *data_dir;        /* config_paths.data_dir, default /var/lib/crowdsec/data/ */
    char *hub_dir;         /* config_paths.hub_dir, default config_dir/hub */
    char *index_path;      /* config_paths.index_path, default hub_dir/.index.json */
    char *simulation_path; /* config_paths.simulation_path, default config_dir/simulation.yaml */
    char *hub_branch;      /* cscli.hub_branch, default "master" */
    char *hub_url;         /* the base items are fetched from (see above) */
    char *data_url;        /* $PHALANX_HUB_DATA_DIR or NULL */
};

/* Reads path; 0, or -1 with err. *ret is cleared first and owned by the caller. */
int hub_config_load(const char *path, struct hub_config *ret, struct hub_error *err);
void hub_config_clear(struct hub_config *c);

struct hub_version {
    char *version;
    char *digest; /* sha256, lowercase hex */
    bool deprecated;
};

struct hub_item {
    enum hub_type type;
    char *name;        /* "author/name" for hub items, the file name for local ones */
    char *author;      /* NULL for local items */
    char *stage;       /* parsers/postoverflows only */
    char *fname;       /* "sshd-logs.yaml" */
    char *remote_path; /* "parsers/s01-parse/crowdsecurity/sshd-logs.yaml"; NULL when local */
    char *version;     /* latest version */
    char *description;
    struct hub_version *versions;
    size_t nversions;
    char **deps[HUB_NTYPES]; /* collections: names of the items they pull, per type */
    size_t ndeps[HUB_NTYPES];

    /* State on disk, filled by hub_scan. */
    bool installed;      /* enabled in config_dir */
    bool downloaded;     /* present in hub_dir */
    bool local;          /* a plain file in config_dir, unknown to the hub */
    bool tainted;        /* installed content matches no version (or a dependency is tainted) */
    bool uptodate;       /* installed at the latest version (cscli: false when not installed) */
    char *local_path;    /* the installed path, or NULL */
    char *local_version; /* the version its hash matches, "?" when tainted, NULL when none */
    char *local_hash;    /* sha256 of the installed content */
    char **belongs_to;   /* installed collections that include it */
    size_t nbelongs;
};

struct hub {
    struct hub_config cfg;  /* a copy */
    struct hub_item *items; /* sorted by (type, name) */
    size_t nitems;
};

/*
 * Loads the index file (cfg->index_path) and scans the installed state.
 * 0, or -1 with err (a missing index says to run `phalanx hub update`).
 */
int hub_load(const struct hub_config *cfg, struct hub **ret, struct hub_error *err);
/* An empty hub for cfg, then hub_load_index_buf + hub_scan (what hub_load does). */
struct hub *hub_new(const struct hub_config *cfg);
/* Replaces the index items with those of the JSON text buf. 0, -1 with err. */
int hub_load_index_buf(struct hub *h, const char *buf, size_t len, struct hub_error *err);
/* Recomputes every item's state from hub_dir and config_dir. 0, -1 with err. */
int hub_scan(struct hub *h, struct hub_error *err);
void hub_free(struct hub *h);

struct hub_item *hub_find(const struct hub *h, enum hub_type t, const char *name);

/* "enabled", "disabled,update-available", "enabled,local", "enabled,tainted" as cscli. */
const char *hub_item_status(const struct hub_item *it, char *buf, size_t len);
/* The latest version's digest, or NULL. */
const char *hub_item_latest_digest(const struct hub_item *it);

/*
 * The items it needs, dependencies before their dependents, it last, each once
 * (a cycle between collections is followed once). Missing dependencies and
 * nesting deeper than HUB_MAX_DEPTH fail. *ret is a malloc'd array of borrowed
 * pointers. 0, -1 with err.
 */
int hub_deps_resolve(const struct hub *h, struct hub_item *it, struct hub_item ***ret,
                     size_t *ret_n, struct hub_error *err);

/* sha256 of a file, lowercase hex. 0 or -errno. */
int hub_sha256_file(const char *path, char ret_hex[65]);

struct hub_opts {
    bool force;
    bool download_only;
    bool purge;
    /* Called with one line for each thing done or skipped (may be NULL). */
    void (*note)(void *arg, const char *msg);
    void *note_arg;
    /*
     * Called as work advances (may be NULL): by hub_install with the items of
     * the dependency list done out of their number, by hub_update_index with
     * the bytes of the index received out of its size (0 while unknown).
     */
    void (*progress)(void *arg, uint64_t done, uint64_t total);
    void *progress_arg;
};

/*
 * Install (download + data files + symlink, collections with their
 * dependencies), remove (refused for local items, tainted ones and items an
 * installed collection needs, unless force; collections take along the
 * dependencies no other installed collection needs; purge deletes the
 * downloaded file), upgrade (installed items not at the latest version;
 * tainted ones only with force). Each returns 0, or -1 with err. The caller
 * runs hub_scan afterwards for a fresh state.
 */
int hub_install(struct hub *h, struct hub_item *it, const struct hub_opts *o,
                struct hub_error *err);
int hub_remove(struct hub *h, struct hub_item *it, const struct hub_opts *o, struct hub_error *err);
int hub_upgrade(struct hub *h, struct hub_item *it, const struct hub_opts *o,
                struct hub_error *err);

/*
 * Fetches <hub_url>/.index.json into cfg->index_path (checking it parses);
 * o (may be NULL) only for its progress callback. 0, -1 with err.
 */
int hub_update_index(const struct hub_config *cfg, const struct hub_opts *o, struct hub_error *err);

/*
 * Copies or downloads url (http(s)://, file:// or a path) to dest atomically
 * (dest.tmp then rename), creating dest's directories. 0, -1 with err.
 */
int hub_fetch(const char *url, const char *dest, struct hub_error *err);

#endif
