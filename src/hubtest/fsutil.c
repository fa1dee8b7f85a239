/*
 * fsutil.c - the few file-system chores of a test runtime: Go's filepath.Abs
 * (lexical, no symlink resolution, as crowdsec names the log in Line.Src),
 * mkdir -p, rm -r of a runtime, and a path's last component.
 */
#include "hubtest/internal.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

/* Go's filepath.Abs: joined with the working directory, then cleaned lexically. */
int
hubtest_path_abs(const char *path, char *out, size_t size)
{
    char joined[PATH_MAX];
    if (path[0] == '/') {
        if ((size_t)snprintf(joined, sizeof(joined), "%s", path) >= sizeof(joined))
            return -1;
    } else {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return -1;
        if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", cwd, path) >= sizeof(joined))
            return -1;
    }
    /* Clean: drop empty and "." components, let ".." eat the previous one. */
    size_t starts[PATH_MAX / 2];
    size_t depth = 0, len = 0;
    const char *p = joined;
    while (*p != '\0') {
        while (*p == '/')
            p++;
        const char *e = p;
        while (*e != '\0' && *e != '/')
            e++;
        size_t n = (size_t)(e - p);
        if (n == 0)
            break;
        if (n == 1 && p[0] == '.') {
            /* skip */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (depth > 0)
                len = starts[--depth];
        } else {
            if (len + 1 + n + 1 > size || depth >= ARRAY_SIZE(starts))
                return -1;
            starts[depth++] = len;
            out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
        }
        p = e;
    }
    if (len == 0) {
        if (size < 2)
            return -1;
        out[len++] = '/';
    }
    out[len] = '\0';
    return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void
hubtest_remove_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
hubtest_mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s", dir) >= sizeof(tmp))
        return -1;
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

const char *
hubtest_base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s != NULL ? s + 1 : path;
}
