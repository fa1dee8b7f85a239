/*
 * test_lapi_auth.c - the Local API's credential helpers and configuration
 * reader: SHA-512 key hashes, generated keys, bcrypt hashing and checking
 * (including hashes made by other bcrypt implementations), and config.yaml's
 * api.server / db_config as phalanxd reads them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <unistd.h>

#include "lapi/lapi.h"

static void
test_api_key_hash(void **state)
{
    static const struct {
        const char *key, *hex;
    } cases[] = {
        { "abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                 "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" },
        { "", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
              "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[LAPI_SHA512_HEX_LEN + 1];
        lapi_api_key_hash(cases[i].key, out);
        if (strcmp(out, cases[i].hex) != 0)
            fail_msg("case %zu (%s): got %s", i, cases[i].key, out);
    }
}

static void
test_api_key_generate(void **state)
{
    char a[128], b[128];
    assert_int_equal(lapi_api_key_generate(a, sizeof(a)), 0);
    assert_int_equal(lapi_api_key_generate(b, sizeof(b)), 0);
    /* 32 bytes in base64 without padding: 43 characters. */
    assert_int_equal(strlen(a), 43);
    assert_string_not_equal(a, b);
    assert_null(strchr(a, '='));
    assert_int_equal(lapi_api_key_generate(a, 10), -ENOSPC);
}

static void
test_bcrypt(void **state)
{
    static const struct {
        const char *password, *hash;
        bool ok;
    } cases[] = {
        /* OpenBSD/John the Ripper test vectors: other implementations' $2a$ hashes verify. */
        { "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", true },
        { "U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", true },
        { "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", false },
        { "x", "not a hash", false },
        { "x", "", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (lapi_password_check(cases[i].password, cases[i].hash) != cases[i].ok)
            fail_msg("case %zu: %s against %s should be %s", i, cases[i].password, cases[i].hash,
                     cases[i].ok ? "accepted" : "refused");
    }
    char *h = lapi_password_hash("S3cret!pw");
    assert_non_null(h);
    assert_memory_equal(h, "$2b$10$", 7);
    assert_int_equal(strlen(h), 60);
    assert_true(lapi_password_check("S3cret!pw", h));
    assert_false(lapi_password_check("S3cret!pW", h));
    free(h);
}

static char *
write_tmp(const char *text)
{
    char *path = strdup("/tmp/lapi-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void
test_config(void **state)
{
    static const struct {
        const char *yaml;
        int rc;
        bool enable;
        const char *listen, *type, *dsn, *profiles, *err;
    } cases[] = {
        { "db_config:\n  type: sqlite\n  db_path: /var/lib/x.db\n", 0, true, "127.0.0.1:8080",
          "sqlite", "/var/lib/x.db", NULL, NULL },
        { "api:\n  server:\n    enable: false\n    listen_uri: 0.0.0.0:9090\n"
          "    profiles_path: /etc/p.yaml\ndb_config:\n  db_path: /x.db\n",
          0, false, "0.0.0.0:9090", "sqlite", "/x.db", "/etc/p.yaml", NULL },
        { "db_config:\n  type: postgresql\n  host: 127.0.0.1\n  port: 5432\n  user: cs\n"
          "  password: \"it's\"\n  db_name: crowdsec\n",
          0, true, "127.0.0.1:8080", "postgres",
          "host='127.0.0.1' port='5432' user='cs' password='it\\'s' dbname='crowdsec' "
          "sslmode='disable'",
          NULL, NULL },
        { "db_config:\n  type: mysql\n", -1, true, NULL, NULL, NULL, NULL, "not supported" },
        { "db_config:\n  type: sqlite\n", -1, true, NULL, NULL, NULL, NULL, "db_path" },
        { "api:\n  server:\n    enable: maybe\ndb_config:\n  db_path: /x\n", -1, true, NULL, NULL,
          NULL, NULL, "must be a boolean" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *path = write_tmp(cases[i].yaml);
        struct lapi_config c = { 0 };
        struct lapi_error err = { { 0 } };
        int rc = lapi_config_load(path, &c, &err);
        unlink(path);
        free(path);
        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, want %d (%s)", i, rc, cases[i].rc, err.msg);
        if (rc != 0) {
            if (strstr(err.msg, cases[i].err) == NULL)
                fail_msg("case %zu: error '%s' lacks '%s'", i, err.msg, cases[i].err);
            continue;
        }
        assert_int_equal(c.enable, cases[i].enable);
        assert_string_equal(c.listen_uri, cases[i].listen);
        assert_string_equal(c.db_type, cases[i].type);
        assert_string_equal(c.db_dsn, cases[i].dsn);
        if (cases[i].profiles == NULL)
            assert_null(c.profiles_path);
        else
            assert_string_equal(c.profiles_path, cases[i].profiles);
        lapi_config_clear(&c);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_key_hash),
        cmocka_unit_test(test_api_key_generate),
        cmocka_unit_test(test_bcrypt),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
