/*
 * credentials.c - local_api_credentials.yaml, the file cscli writes for a
 * machine (url, login, password and the optional TLS paths). It is read
 * strictly, as CrowdSec's yaml.UnmarshalStrict does: an unknown or repeated
 * key is an error naming the file and line. Saving writes a temporary file
 * with mode 0600 next to the target, fsyncs it and renames it over, so a crash
 * never leaves a half-written credentials file behind.
 */
#include "apiclient/apiclient.h"
#include "common/str.h"
#include "config/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file holds a few short lines; anything bigger is not a credentials file. */
#define CREDENTIALS_MAX_BYTES ((size_t)64 * 1024)

static int PRINTF_LIKE(2, 3) fail(struct apiclient_error *err, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL)
        return -1;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    err->status = 0;
    return -1;
}

static int
read_file(const char *path, char **ret, size_t *ret_len, struct apiclient_error *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    int rc = -1;

    if (f == NULL)
        return fail(err, "%s: %s", path, strerror(errno));
    if ((buf = malloc(CREDENTIALS_MAX_BYTES + 1)) == NULL) {
        fail(err, "%s: out of memory", path);
        goto out;
    }
    len = fread(buf, 1, CREDENTIALS_MAX_BYTES + 1, f);
    if (ferror(f)) {
        fail(err, "%s: read error", path);
        goto out;
    }
    if (len > CREDENTIALS_MAX_BYTES) {
        fail(err, "%s: larger than %zu bytes", path, CREDENTIALS_MAX_BYTES);
        goto out;
    }
    buf[len] = '\0';
    *ret = buf;
    *ret_len = len;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

/* Copies a scalar value into *dst (NULL when YAML null); -1 with err on another kind. */
static int
take_string(const char *path, const struct ynode *key, const struct ynode *v, char **dst,
            struct apiclient_error *err)
{
    if (v->type != YNODE_SCALAR)
        return fail(err, "%s:%d: %s: cannot unmarshal %s into string", path, v->line, key->str,
                    ynode_kind(v));
    free(*dst);
    *dst = NULL;
    if (ynode_is_null(v))
        return 0;
    if ((*dst = strndup(v->str, v->len)) == NULL)
        return fail(err, "%s: out of memory", path);
    return 0;
}

int
apiclient_credentials_load(const char *path, struct apiclient_credentials *ret,
                           struct apiclient_error *err)
{
    /* papi_url is written by newer cscli versions; it is accepted and ignored. */
    static const char *const keys[] = { "url",       "login",    "password", "ca_cert_path",
                                        "cert_path", "key_path", "papi_url" };
    struct apiclient_credentials c = { 0 };
    struct ytree *t = NULL;
    char *buf = NULL, msg[256];
    size_t len = 0;
    int line = 0, rc = -1;

    if (read_file(path, &buf, &len, err) != 0)
        return -1;
    int prc = ytree_parse(buf, len, &t, msg, sizeof(msg), &line);
    if (prc == -ENOMEM) {
        fail(err, "%s: out of memory", path);
        goto out;
    }
    if (prc != 0) {
        fail(err, "%s:%d: %s", path, line, msg);
        goto out;
    }
    const struct ynode *root = t->ndocs > 0 ? t->docs[0] : NULL;
    if (root == NULL || ynode_is_null(root)) {
        fail(err, "%s: empty credentials file", path);
        goto out;
    }
    const struct ynode *bad = NULL;
    switch (ynode_check_keys(root, keys, ARRAY_SIZE(keys), &bad)) {
    case YKEYS_OK: break;
    case YKEYS_NOT_MAP:
        fail(err, "%s:%d: cannot unmarshal %s into the credentials map", path, root->line,
             ynode_kind(root));
        goto out;
    case YKEYS_NOT_STRING: fail(err, "%s:%d: a key is not a string", path, bad->line); goto out;
    case YKEYS_UNKNOWN:
        fail(err, "%s:%d: field %s not found in type csconfig.ApiCredentialsCfg", path, bad->line,
             bad->str);
        goto out;
    case YKEYS_DUPLICATE:
        fail(err, "%s:%d: key \"%s\" already set in map", path, bad->line, bad->str);
        goto out;
    }
    for (size_t i = 0; i < root->n; i++) {
        const struct ynode *k = root->items[2 * i], *v = root->items[2 * i + 1];
        char **dst = NULL;
        if (strcmp(k->str, "url") == 0)
            dst = &c.url;
        else if (strcmp(k->str, "login") == 0)
            dst = &c.login;
        else if (strcmp(k->str, "password") == 0)
            dst = &c.password;
        else if (strcmp(k->str, "ca_cert_path") == 0)
            dst = &c.ca_cert_path;
        else if (strcmp(k->str, "cert_path") == 0)
            dst = &c.cert_path;
        else if (strcmp(k->str, "key_path") == 0)
            dst = &c.key_path;
        if (dst != NULL && take_string(path, k, v, dst, err) != 0)
            goto out;
    }
    if (c.url == NULL || c.url[0] == '\0') {
        fail(err, "%s:%d: no url in the credentials", path, root->line);
        goto out;
    }
    *ret = c;
    memset(&c, 0, sizeof(c));
    rc = 0;
out:
    apiclient_credentials_clear(&c);
    ytree_free(t);
    if (buf != NULL) {
        explicit_bzero(buf, len);
        free(buf);
    }
    return rc;
}

/* A YAML scalar: plain when that reads back as the same string, else double-quoted. */
/* Length of the valid UTF-8 sequence at s (shortest form, no surrogates), its code point in *cp; 0
 * if invalid. */
static size_t
utf8_decode(const char *s, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = u[0] >= 0xf0 ? 4 : u[0] >= 0xe0 ? 3 : u[0] >= 0xc0 ? 2 : 0;
    static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };

    if (n == 0 || u[0] > 0xf4)
        return 0;
    uint32_t v = u[0] & (0x3f >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (u[i] & 0x3f);
    }
    if (v < min[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

static int
yaml_scalar(struct str *b, const char *s)
{
    bool plain = s[0] != '\0';
    static const char *const reserved[] = { "null", "Null",  "NULL",  "~",     "true", "True",
                                            "TRUE", "false", "False", "FALSE", "yes",  "no",
                                            "on",   "off",   "y",     "n",     "Yes",  "No",
                                            "On",   "Off",   "YES",   "NO",    "ON",   "OFF" };
    for (size_t i = 0; plain && i < ARRAY_SIZE(reserved); i++)
        if (strcmp(s, reserved[i]) == 0)
            plain = false;
    if (plain && strchr("-?:,[]{}#&*!|>'\"%@` 0123456789.+", s[0]) != NULL)
        plain = false;
    for (const char *p = s; plain && *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        /* anything outside ASCII goes quoted, where the code points YAML reads as breaks or
         * refuses can be escaped */
        if (ch < 0x20 || ch >= 0x7f || ch == '#' || ch == '"' || ch == '\\')
            plain = false;
        else if (ch == ':' && (p[1] == ' ' || p[1] == '\0'))
            plain = false;
    }
    if (plain && s[strlen(s) - 1] == ' ')
        plain = false;
    if (plain)
        return str_append_cstr(b, s);
    if (str_append_char(b, '"') != 0)
        return -ENOMEM;
    for (const char *p = s; *p != '\0';) {
        unsigned char ch = (unsigned char)*p;
        int r;
        if (ch < 0x80) {
            if (ch == '"' || ch == '\\')
                r = str_appendf(b, "\\%c", ch);
            else if (ch < 0x20 || ch == 0x7f)
                r = str_appendf(b, "\\x%02x", ch);
            else
                r = str_append_char(b, (char)ch);
            p++;
        } else {
            uint32_t cp;
            size_t n = utf8_decode(p, &cp);
            if (n == 0)
                return -EINVAL; /* YAML files are UTF-8: such a value cannot be written */
            /* C1 controls and non-characters are refused raw by libyaml; U+0085, U+2028 and
             * U+2029 would read back as line breaks */
            if ((cp >= 0x80 && cp <= 0x9f) || cp == 0xfffe || cp == 0xffff)
                r = str_appendf(b, "\\u%04x", (unsigned)cp);
            else if (cp == 0x2028 || cp == 0x2029)
                r = str_appendf(b, "\\%c", cp == 0x2028 ? 'L' : 'P');
            else
                r = str_append(b, p, n);
            p += n;
        }
        if (r != 0)
            return -ENOMEM;
    }
    return str_append_char(b, '"');
}

static int
yaml_pair(struct str *b, const char *key, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return 0;
    int rc = str_appendf(b, "%s: ", key);
    if (rc == 0)
        rc = yaml_scalar(b, value);
    if (rc == 0)
        rc = str_append_char(b, '\n');
    return rc != 0 ? (rc == -EINVAL ? -EINVAL : -ENOMEM) : 0;
}

int
apiclient_credentials_save(const char *path, const struct apiclient_credentials *c,
                           struct apiclient_error *err)
{
    struct str b = { 0 };
    char *tmp = NULL;
    int fd = -1, rc = -1;

    int prc = yaml_pair(&b, "url", c->url);
    prc = prc != 0 ? prc : yaml_pair(&b, "login", c->login);
    prc = prc != 0 ? prc : yaml_pair(&b, "password", c->password);
    prc = prc != 0 ? prc : yaml_pair(&b, "ca_cert_path", c->ca_cert_path);
    prc = prc != 0 ? prc : yaml_pair(&b, "key_path", c->key_path);
    prc = prc != 0 ? prc : yaml_pair(&b, "cert_path", c->cert_path);
    if (prc != 0) {
        fail(err, "%s: %s", path,
             prc == -EINVAL ? "a value is not valid UTF-8, which a YAML file cannot hold"
                            : "out of memory");
        goto out;
    }
    size_t tlen = strlen(path) + 16;
    if ((tmp = malloc(tlen)) == NULL) {
        fail(err, "%s: out of memory", path);
        goto out;
    }
    snprintf(tmp, tlen, "%s.tmpXXXXXX", path);
    if ((fd = mkstemp(tmp)) < 0) {
        fail(err, "%s: cannot create a temporary file: %s", path, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto out;
    }
    if (fchmod(fd, 0600) != 0) {
        fail(err, "%s: chmod: %s", tmp, strerror(errno));
        goto out;
    }
    for (size_t off = 0; off < b.len;) {
        ssize_t w = write(fd, b.buf + off, b.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            fail(err, "%s: write: %s", tmp, strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        fail(err, "%s: fsync: %s", tmp, strerror(errno));
        goto out;
    }
    int cr = close(fd);
    fd = -1;
    if (cr != 0) {
        fail(err, "%s: close: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        fail(err, "%s: rename: %s", path, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (tmp != NULL) {
        unlink(tmp);
        free(tmp);
    }
    if (b.buf != NULL)
        explicit_bzero(b.buf, b.len);
    str_free(&b);
    return rc;
}

void
apiclient_credentials_clear(struct apiclient_credentials *c)
{
    if (c == NULL)
        return;
    free(c->url);
    free(c->login);
    if (c->password != NULL) {
        explicit_bzero(c->password, strlen(c->password));
        free(c->password);
    }
    free(c->ca_cert_path);
    free(c->cert_path);
    free(c->key_path);
    memset(c, 0, sizeof(*c));
}
