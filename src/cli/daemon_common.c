/*
 * daemon_common.c - the `common:` section of config.yaml for phalanxd's live
 * mode, as CrowdSec reads it: log_media (stdout, file, syslog), log_dir,
 * log_level, and pid_dir (where phalanxd.pid is written while it runs).
 * With log_media: file, stderr is reopened on log_dir/phalanxd.log, so every
 * line, ours and the libraries', lands there.
 */
#include "cli/daemon.h"
#include "cli/output.h"
#include "common/log.h"
#include "config/config.h"

#include <fcntl.h>
#include <unistd.h>

/* The scalar value of common.<key>, or NULL. */
static const char *
common_str(const struct ynode *common, const char *key)
{
    const struct ynode *v = ynode_map_get(common, key);
    return v != NULL && v->type == YNODE_SCALAR && !ynode_is_null(v) ? v->str : NULL;
}

int
daemon_common_apply(const char *config, char *pid_path, size_t pid_size)
{
    size_t len = 0;
    char *buf = cli_read_small_file(config, &len), err[256];
    struct ytree *t = NULL;
    int line = 0, rc = 1;
    enum log_level level = LOG_LEVEL_INFO;

    pid_path[0] = '\0';
    if (buf == NULL) {
        fprintf(stderr, "phalanxd: %s: %s\n", config, strerror(errno));
        return 1;
    }
    if (ytree_parse(buf, len, &t, err, sizeof(err), &line) != 0) {
        fprintf(stderr, "phalanxd: %s:%d: %s\n", config, line, err);
        goto out;
    }
    const struct ynode *common = ynode_map_get(t->ndocs > 0 ? t->docs[0] : NULL, "common");
    const char *media = common_str(common, "log_media");
    const char *dir = common_str(common, "log_dir");
    const char *lvl = common_str(common, "log_level");
    const char *pid_dir = common_str(common, "pid_dir");
    if (lvl != NULL && log_level_parse(lvl, &level) != 0) {
        fprintf(stderr,
                "phalanxd: %s: common.log_level '%s' is not one of error, warning, info, "
                "debug, trace\n",
                config, lvl);
        goto out;
    }
    if (media == NULL || strcmp(media, "stdout") == 0) {
        log_init("phalanxd", level, LOG_TARGET_STDERR);
    } else if (strcmp(media, "syslog") == 0) {
        log_init("phalanxd", level, LOG_TARGET_SYSLOG);
    } else if (strcmp(media, "file") == 0) {
        char path[4096];
        if ((size_t)snprintf(path, sizeof(path), "%s/phalanxd.log",
                             dir != NULL ? dir : "/var/log") >= sizeof(path) ||
            freopen(path, "a", stderr) == NULL) {
            fprintf(stdout, "phalanxd: cannot log to %s: %s (check common.log_dir)\n", path,
                    strerror(errno));
            goto out;
        }
        setvbuf(stderr, NULL, _IOLBF, 0);
        log_init("phalanxd", level, LOG_TARGET_STDERR);
    } else {
        fprintf(stderr, "phalanxd: %s: common.log_media '%s' is not stdout, file or syslog\n",
                config, media);
        goto out;
    }
    if (pid_dir != NULL) {
        char line_buf[32];
        int fd;
        if ((size_t)snprintf(pid_path, pid_size, "%s/phalanxd.pid", pid_dir) >= pid_size ||
            (fd = open(pid_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
            log_error("cannot write the pid file in %s: %s (check common.pid_dir)", pid_dir,
                      strerror(errno));
            pid_path[0] = '\0';
            goto out;
        }
        int n = snprintf(line_buf, sizeof(line_buf), "%ld\n", (long)getpid());
        bool ok = write(fd, line_buf, (size_t)n) == n;
        if (close(fd) != 0 || !ok) {
            log_error("cannot write %s: %s", pid_path, strerror(errno));
            unlink(pid_path);
            pid_path[0] = '\0';
            goto out;
        }
    }
    rc = 0;
out:
    ytree_free(t);
    free(buf);
    return rc;
}
