/* Unit tests of src/web/auth.c: roles, the name and password rules, users.db (mode 0660, the
 * user_events history, refusals), login with a wrong password and an unknown name, lock-out of
 * the account and of the address after 5 failures (and its end after 15 minutes), idle expiry of
 * sessions at 15 minutes using the `now` argument, disabled users and new passwords ending
 * sessions, logout, the CSRF comparison, and logins from several threads. Hashing costs are
 * lowered with cf_auth_set_cost except in the one test that checks the defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "archive/archive.h"
#include "base/diag.h"
#include "web/auth.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char root[256];
static char store[300];

static const char pw_anna[] = "correct horse battery";
static const char pw_ben[] = "another long secret";
static const time_t t0 = 1800000000;

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/cf-auth-test-XXXXXX");
    if (mkdtemp(root) == NULL)
        return -1;
    snprintf(store, sizeof store, "%s/store", root);
    return cf_archive_init(store, NULL) == CF_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

/* A cf_auth on the test store with cheap hashing and two users: anna (nurse), ben (admin). */
static cf_auth *open_with_users(void)
{
    cf_auth *a = NULL;
    cf_diag *d = cf_diag_new();
    assert_int_equal(cf_auth_open(store, &a, d), CF_OK);
    cf_auth_set_cost(a, 64, 1);
    cf_auth_set_operator(a, "it-desk");
    cf_status st = cf_auth_user_add(a, "anna", CF_ROLE_NURSE, pw_anna, d);
    assert_true(st == CF_OK || st == CF_ERR_EXISTS);
    st = cf_auth_user_add(a, "ben", CF_ROLE_ADMIN, pw_ben, d);
    assert_true(st == CF_OK || st == CF_ERR_EXISTS);
    cf_diag_free(d);
    return a;
}

/* The rows of a query on users.db joined as "a|b;c|d;" into out. */
static void query(const char *sql, char *out, size_t size)
{
    char path[400];
    snprintf(path, sizeof path, "%s/users.db", store);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    out[0] = '\0';
    while (sqlite3_step(s) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(s); i++) {
            const char *v = (const char *)sqlite3_column_text(s, i);
            strncat(out, v ? v : "NULL", size - strlen(out) - 1);
            strncat(out, i + 1 < sqlite3_column_count(s) ? "|" : ";", size - strlen(out) - 1);
        }
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static void test_roles(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool ok;
        cf_role role;
    } cases[] = {
        {"nurse", true, CF_ROLE_NURSE}, {"clerk", true, CF_ROLE_CLERK},
        {"admin", true, CF_ROLE_ADMIN}, {"Admin", false, CF_ROLE_NURSE},
        {"", false, CF_ROLE_NURSE},     {"administrator", false, CF_ROLE_NURSE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cf_role r = CF_ROLE_NURSE;
        assert_int_equal(cf_role_parse(cases[i].text, &r), cases[i].ok);
        if (cases[i].ok) {
            assert_int_equal(r, cases[i].role);
            assert_string_equal(cf_role_name(r), cases[i].text);
        }
    }
    cf_role r;
    assert_false(cf_role_parse(NULL, &r));
    assert_string_equal(cf_role_name((cf_role)7), "?");
}

static void test_name_and_password_rules(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        bool ok;
    } names[] = {
        {"anna", true},
        {"chan.tm", true},
        {"ward7-clerk_2", true},
        {"a@hosp", true},
        {"", false},
        {"-anna", false},
        {".anna", false},
        {"an na", false},
        {"an/na", false},
        {"陳大文", false},
        {"anna\n", false},
        {"a'b", false},
        {"0123456789012345678901234567890123456789012345678901234567890123", false},
        {"012345678901234567890123456789012345678901234567890123456789012", true},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        cf_diag *d = cf_diag_new();
        if (cf_auth_name_check(names[i].name, d) != names[i].ok)
            fail_msg("name \"%s\": expected %s", names[i].name, names[i].ok ? "ok" : "refused");
        assert_int_equal(cf_diag_error_count(d), names[i].ok ? 0 : 1);
        cf_diag_free(d);
    }
    static const struct {
        const char *password;
        bool ok;
        const char *why;
    } passwords[] = {
        {"123456789", false, "at least 10 characters (this one has 9)"},
        {"1234567890", true, NULL},
        {"護士站密碼護士站密碼", true, NULL}, /* 10 characters, 30 bytes */
        {"護士站密碼護士站密", false, "this one has 9"},
        {"tab\there is long", false, "control characters"},
        {"bad \xff utf-8 bytes", false, "not valid UTF-8"},
        {"", false, "at least 10"},
    };
    for (size_t i = 0; i < sizeof passwords / sizeof passwords[0]; i++) {
        cf_diag *d = cf_diag_new();
        if (cf_auth_password_check(passwords[i].password, d) != passwords[i].ok)
            fail_msg("password case %zu: expected %s", i, passwords[i].ok ? "ok" : "refused");
        if (passwords[i].why)
            assert_true(cf_diag_contains(d, passwords[i].why));
        cf_diag_free(d);
    }
    char long_pw[CF_AUTH_PASSWORD_MAX + 2];
    memset(long_pw, 'x', sizeof long_pw - 1);
    long_pw[sizeof long_pw - 1] = '\0';
    assert_false(cf_auth_password_check(long_pw, NULL));
    assert_false(cf_auth_password_check(NULL, NULL));
}

static void test_users_db(void **state)
{
    (void)state;
    cf_auth *a = open_with_users();
    char path[400];
    snprintf(path, sizeof path, "%s/users.db", store);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0660);

    cf_diag *d = cf_diag_new();
    /* Names are unique without case; a short password is refused before anything is written. */
    assert_int_equal(cf_auth_user_add(a, "ANNA", CF_ROLE_CLERK, pw_ben, d), CF_ERR_EXISTS);
    assert_true(cf_diag_contains(d, "user anna exists already"));
    assert_int_equal(cf_auth_user_add(a, "carl", CF_ROLE_CLERK, "short", d), CF_ERR_DATA);
    assert_int_equal(cf_auth_user_add(a, "bad name", CF_ROLE_CLERK, pw_ben, d), CF_ERR_DATA);
    assert_int_equal(cf_auth_user_passwd(a, "nobody", pw_ben, d), CF_ERR_NOINPUT);
    assert_int_equal(cf_auth_user_disable(a, "nobody", d), CF_ERR_NOINPUT);
    assert_int_equal(cf_auth_user_add(a, "carl", CF_ROLE_CLERK, "carl's password", d), CF_OK);
    assert_int_equal(cf_auth_user_passwd(a, "Carl", "carl's new password", d), CF_OK);
    assert_int_equal(cf_auth_user_disable(a, "carl", d), CF_OK);
    cf_diag_clear(d);
    /* A disabled user keeps the row and the name; a second disable is a note. */
    assert_int_equal(cf_auth_user_disable(a, "carl", d), CF_OK);
    assert_true(cf_diag_contains(d, "was disabled already"));
    assert_int_equal(cf_diag_error_count(d), 0);
    assert_int_equal(cf_auth_user_add(a, "carl", CF_ROLE_CLERK, pw_ben, d), CF_ERR_EXISTS);
    assert_int_equal(cf_auth_user_passwd(a, "carl", pw_ben, d), CF_ERR_DATA);

    char out[2048];
    query("SELECT name, role, disabled, generation FROM users ORDER BY name", out, sizeof out);
    assert_string_equal(out, "anna|nurse|0|1;ben|admin|0|1;carl|clerk|1|3;");
    query("SELECT name, action, detail, operator FROM user_events WHERE name = 'carl' ORDER BY id",
          out, sizeof out);
    assert_string_equal(out, "carl|added|role clerk|it-desk;carl|password-changed||it-desk;"
                             "carl|disabled||it-desk;");
    query("SELECT count(*) FROM user_events WHERE at < 1700000000", out, sizeof out);
    assert_string_equal(out, "0;");
    /* The hash is Argon2id with a salt of its own, never the password. */
    query("SELECT count(*) FROM users WHERE hash LIKE '$argon2id$v=19$m=64,t=1,p=1$%'", out,
          sizeof out);
    assert_string_equal(out, "3;");
    query("SELECT count(DISTINCT substr(hash, 1, 50)) FROM users", out, sizeof out);
    assert_string_equal(out, "3;");
    cf_auth_close(a);

    /* Users and their history cannot be deleted or rewritten. */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM users", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE user_events SET name = 'x'", NULL, NULL, NULL),
                         SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM user_events", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    cf_diag_free(d);
}

static void test_open_refusals(void **state)
{
    (void)state;
    cf_auth *a = NULL;
    cf_diag *d = cf_diag_new();
    char dir[400];
    snprintf(dir, sizeof dir, "%s/not-a-store", root);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(cf_auth_open(dir, &a, d), CF_ERR_NOINPUT);
    assert_true(cf_diag_contains(d, "is not a consentform store"));
    assert_null(a);
    char path[500];
    snprintf(path, sizeof path, "%s/users.db", dir);
    assert_int_not_equal(access(path, F_OK), 0);

    /* A users.db that some other program made is left alone. */
    snprintf(path, sizeof path, "%s/store-id", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("0123456789abcdef0123456789abcdef\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/users.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    cf_diag_clear(d);
    assert_int_equal(cf_auth_open(dir, &a, d), CF_ERR_DATA);
    assert_true(cf_diag_contains(d, "is not a consentform user list"));

    /* Nor one from a newer version. */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TABLE t; PRAGMA application_id = 1128682835; "
                                  "PRAGMA user_version = 9",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    cf_diag_clear(d);
    assert_int_equal(cf_auth_open(dir, &a, d), CF_ERR_DATA);
    assert_true(cf_diag_contains(d, "newer consentform"));
    cf_diag_free(d);
}

static void test_login_and_wrong_password(void **state)
{
    (void)state;
    cf_auth *a = open_with_users();
    char id[CF_AUTH_TOKEN_HEX];
    cf_session s;
    assert_int_equal(cf_auth_login(a, "anna", "wrong password!", "10.0.0.1", t0, id, &s),
                     CF_LOGIN_BAD);
    assert_string_equal(id, "");
    assert_int_equal(cf_auth_login(a, "nobody", pw_anna, "10.0.0.1", t0, id, &s), CF_LOGIN_BAD);
    assert_int_equal(cf_auth_login(a, "anna", NULL, NULL, t0, id, &s), CF_LOGIN_BAD);
    assert_int_equal(cf_auth_login(a, "ANNA", pw_anna, "10.0.0.1", t0, id, &s), CF_LOGIN_OK);
    assert_int_equal(strlen(id), 64);
    assert_int_equal(strspn(id, "0123456789abcdef"), 64);
    assert_string_equal(s.user, "anna"); /* as the user was added */
    assert_int_equal(s.role, CF_ROLE_NURSE);
    assert_int_equal(strlen(s.csrf), 64);
    assert_string_not_equal(s.csrf, id);

    cf_session got;
    assert_true(cf_auth_session_get(a, id, t0 + 10, &got));
    assert_string_equal(got.user, "anna");
    assert_string_equal(got.csrf, s.csrf);
    /* A second login is a second session with other tokens. */
    char id2[CF_AUTH_TOKEN_HEX];
    cf_session s2;
    assert_int_equal(cf_auth_login(a, "anna", pw_anna, "10.0.0.1", t0, id2, &s2), CF_LOGIN_OK);
    assert_string_not_equal(id, id2);
    assert_string_not_equal(s.csrf, s2.csrf);
    /* Anything but a live id is no session. */
    char other[CF_AUTH_TOKEN_HEX];
    memcpy(other, id, sizeof other);
    other[0] = other[0] == '0' ? '1' : '0';
    assert_false(cf_auth_session_get(a, other, t0, &got));
    assert_false(cf_auth_session_get(a, NULL, t0, &got));
    assert_false(cf_auth_session_get(a, "", t0, &got));
    assert_false(cf_auth_session_get(a, s.csrf, t0, &got));
    /* Logout ends that session only. */
    cf_auth_logout(a, id);
    assert_false(cf_auth_session_get(a, id, t0 + 20, &got));
    assert_true(cf_auth_session_get(a, id2, t0 + 20, &got));
    cf_auth_logout(a, "not a session");
    cf_auth_logout(a, NULL);
    cf_auth_close(a);
}

static void test_lockout_of_account(void **state)
{
    (void)state;
    cf_auth *a = open_with_users();
    char id[CF_AUTH_TOKEN_HEX];
    cf_session s;
    /* Five failures from five addresses lock the account against every address. */
    for (int i = 0; i < 4; i++) {
        char peer[32];
        snprintf(peer, sizeof peer, "10.0.1.%d", i);
        assert_int_equal(cf_auth_login(a, "anna", "wrong password!", peer, t0 + i, id, &s),
                         CF_LOGIN_BAD);
    }
    /* Four are not enough (and the right password clears the count)... */
    assert_int_equal(cf_auth_login(a, "anna", pw_anna, "10.0.1.9", t0 + 5, id, &s), CF_LOGIN_OK);
    for (int i = 0; i < 5; i++) {
        char peer[32];
        snprintf(peer, sizeof peer, "10.0.2.%d", i);
        assert_int_equal(cf_auth_login(a, "anna", "wrong password!", peer, t0 + 10 + i, id, &s),
                         CF_LOGIN_BAD);
    }
    /* ...five are: the right password from a fresh address is LOCKED, names in any case. */
    assert_int_equal(cf_auth_login(a, "anna", pw_anna, "10.0.3.1", t0 + 20, id, &s),
                     CF_LOGIN_LOCKED);
    assert_string_equal(id, "");
    assert_int_equal(cf_auth_login(a, "Anna", pw_anna, "10.0.3.2", t0 + 30, id, &s),
                     CF_LOGIN_LOCKED);
    /* The address of the fifth failure is locked too, for everyone. */
    assert_int_equal(cf_auth_login(a, "ben", pw_ben, "10.0.2.4", t0 + 30, id, &s), CF_LOGIN_LOCKED);
    assert_int_equal(cf_auth_login(a, "ben", pw_ben, "10.0.2.3", t0 + 30, id, &s), CF_LOGIN_OK);
    /* 15 minutes after the lock it is over. */
    assert_int_equal(cf_auth_login(a, "anna", pw_anna, "10.0.3.1", t0 + 14 + 899, id, &s),
                     CF_LOGIN_LOCKED);
    assert_int_equal(cf_auth_login(a, "anna", pw_anna, "10.0.3.1", t0 + 14 + 900, id, &s),
                     CF_LOGIN_OK);
    /* The lock was written down. */
    char out[1024];
    query("SELECT name, action, detail FROM user_events WHERE action = 'locked'", out, sizeof out);
    assert_string_equal(out, "anna|locked|account and address 10.0.2.4 locked for 15 minutes;");
    cf_auth_close(a);
}

static void test_lockout_of_address(void **state)
{
    (void)state;
    cf_auth *a = open_with_users();
    char id[CF_AUTH_TOKEN_HEX];
    cf_session s;
    /* One address guessing five names (known or not) is locked for every name. */
    const char *names[] = {"x1", "x2", "ben", "x4", "x5"};
    for (int i = 0; i < 5; i++)
        assert_int_equal(cf_auth_login(a, names[i], "wrong password!", "192.0.2.7", t0 + i, id, &s),
                         CF_LOGIN_BAD);
    assert_int_equal(cf_auth_login(a, "anna", pw_anna, "192.0.2.7", t0 + 10, id, &s),
                     CF_LOGIN_LOCKED);
    /* Other addresses are not, nor the names it tried before the fifth. */
    assert_int_equal(cf_auth_login(a, "anna", pw_anna, "192.0.2.8", t0 + 10, id, &s), CF_LOGIN_OK);
    assert_int_equal(cf_auth_login(a, "ben", pw_ben, "192.0.2.8", t0 + 10, id, &s), CF_LOGIN_OK);
    /* Failures spread over more than 15 minutes are forgotten and never lock. */
    for (int i = 0; i < 8; i++)
        assert_int_equal(cf_auth_login(a, "ben", "wrong password!", "192.0.2.9",
                                       t0 + 2000 + (time_t)i * 900, id, &s),
                         CF_LOGIN_BAD);
    assert_int_equal(cf_auth_login(a, "ben", pw_ben, "192.0.2.9", t0 + 2000 + 7 * 900 + 1, id, &s),
                     CF_LOGIN_OK);
    cf_auth_close(a);
}

static void test_idle_expiry(void **state)
{
    (void)state;
    cf_auth *a = open_with_users();
    char id[CF_AUTH_TOKEN_HEX];
    cf_session s, got;
    assert_int_equal(cf_auth_login(a, "anna", pw_anna, "::1", t0, id, &s), CF_LOGIN_OK);
    /* Each use within 15 minutes keeps it alive for 15 more... */
    assert_true(cf_auth_session_get(a, id, t0 + 899, &got));
    assert_true(cf_auth_session_get(a, id, t0 + 899 + 899, &got));
    assert_true(cf_auth_session_get(a, id, t0 + 899 + 899 + 899, &got));
    /* ...15 minutes without use end it, for good. */
    assert_false(cf_auth_session_get(a, id, t0 + 3 * 899 + 900, &got));
    assert_false(cf_auth_session_get(a, id, t0 + 3 * 899 + 1, &got));
    cf_auth_close(a);
}

static void test_disabled_user_and_new_password(void **state)
{
    (void)state;
    cf_auth *a = open_with_users();
    cf_diag *d = cf_diag_new();
    assert_int_equal(cf_auth_user_add(a, "dora", CF_ROLE_CLERK, "dora's password", d), CF_OK);
    char id[CF_AUTH_TOKEN_HEX], id_b[CF_AUTH_TOKEN_HEX];
    cf_session s, got;
    assert_int_equal(cf_auth_login(a, "dora", "dora's password", "::1", t0, id, &s), CF_LOGIN_OK);
    assert_int_equal(s.role, CF_ROLE_CLERK);
    assert_int_equal(cf_auth_login(a, "ben", pw_ben, "::1", t0, id_b, &s), CF_LOGIN_OK);

    /* A new password ends the user's sessions (only that user's). */
    assert_int_equal(cf_auth_user_passwd(a, "dora", "dora's new password", d), CF_OK);
    assert_false(cf_auth_session_get(a, id, t0 + 1, &got));
    assert_true(cf_auth_session_get(a, id_b, t0 + 1, &got));
    assert_int_equal(cf_auth_login(a, "dora", "dora's password", "::1", t0 + 2, id, &s),
                     CF_LOGIN_BAD);
    assert_int_equal(cf_auth_login(a, "dora", "dora's new password", "::1", t0 + 2, id, &s),
                     CF_LOGIN_OK);

    /* Disabling, also through another cf_auth (the command while the server runs), ends them. */
    cf_auth *other = NULL;
    assert_int_equal(cf_auth_open(store, &other, d), CF_OK);
    assert_int_equal(cf_auth_user_disable(other, "dora", d), CF_OK);
    cf_auth_close(other);
    assert_false(cf_auth_session_get(a, id, t0 + 3, &got));
    /* The right password of a disabled user says so; a wrong one is just wrong. */
    assert_int_equal(cf_auth_login(a, "dora", "dora's new password", "::1", t0 + 4, id, &s),
                     CF_LOGIN_DISABLED);
    assert_string_equal(id, "");
    assert_int_equal(cf_auth_login(a, "dora", "not her password", "::1", t0 + 4, id, &s),
                     CF_LOGIN_BAD);
    cf_diag_free(d);
    cf_auth_close(a);
}

static void test_csrf_compare(void **state)
{
    (void)state;
    cf_session s;
    memset(&s, 0, sizeof s);
    memset(s.csrf, 'a', 64);
    s.csrf[64] = '\0';
    char token[CF_AUTH_TOKEN_HEX];
    memcpy(token, s.csrf, sizeof token);
    assert_true(cf_auth_csrf_ok(&s, token));
    static const size_t where[] = {0, 1, 31, 62, 63};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        memcpy(token, s.csrf, sizeof token);
        token[where[i]] = 'b';
        assert_false(cf_auth_csrf_ok(&s, token));
    }
    memcpy(token, s.csrf, sizeof token);
    token[63] = '\0';
    assert_false(cf_auth_csrf_ok(&s, token)); /* a prefix */
    assert_false(cf_auth_csrf_ok(&s, ""));
    assert_false(cf_auth_csrf_ok(&s, NULL));
    char longer[80];
    snprintf(longer, sizeof longer, "%sa", s.csrf);
    assert_false(cf_auth_csrf_ok(&s, longer));
    /* A session with no token accepts none, not even an empty one. */
    cf_session empty;
    memset(&empty, 0, sizeof empty);
    assert_false(cf_auth_csrf_ok(&empty, ""));
}

static void test_default_costs(void **state)
{
    (void)state;
    unsetenv("CONSENTFORM_TEST_ARGON2");
    cf_auth *a = NULL;
    assert_int_equal(cf_auth_open(store, &a, NULL), CF_OK);
    assert_int_equal(cf_auth_user_add(a, "erin", CF_ROLE_NURSE, "erin's password", NULL), CF_OK);
    char out[256];
    query("SELECT count(*) FROM users WHERE name = 'erin' AND "
          "hash LIKE '$argon2id$v=19$m=65536,t=3,p=1$%'",
          out, sizeof out);
    assert_string_equal(out, "1;");
    struct timespec b, e;
    clock_gettime(CLOCK_MONOTONIC, &b);
    char id[CF_AUTH_TOKEN_HEX];
    cf_session s;
    assert_int_equal(cf_auth_login(a, "erin", "erin's password", "::1", t0, id, &s), CF_LOGIN_OK);
    clock_gettime(CLOCK_MONOTONIC, &e);
    printf("# login at m=64 MiB, t=3: %.0f ms\n",
           (double)(e.tv_sec - b.tv_sec) * 1e3 + (double)(e.tv_nsec - b.tv_nsec) / 1e6);
    cf_auth_close(a);

    /* The test setting makes new hashes cheap. */
    setenv("CONSENTFORM_TEST_ARGON2", "fast", 1);
    assert_int_equal(cf_auth_open(store, &a, NULL), CF_OK);
    assert_int_equal(cf_auth_user_add(a, "finn", CF_ROLE_NURSE, "finn's password", NULL), CF_OK);
    query("SELECT count(*) FROM users WHERE name = 'finn' AND "
          "hash LIKE '$argon2id$v=19$m=1024,t=1,p=1$%'",
          out, sizeof out);
    assert_string_equal(out, "1;");
    unsetenv("CONSENTFORM_TEST_ARGON2");
    cf_auth_close(a);
}

typedef struct login_job {
    cf_auth *auth;
    int index;
    int ok;
} login_job;

static void *login_thread(void *arg)
{
    login_job *job = arg;
    char peer[32];
    snprintf(peer, sizeof peer, "10.9.0.%d", job->index);
    for (int i = 0; i < 20; i++) {
        char id[CF_AUTH_TOKEN_HEX];
        cf_session s, got;
        const char *pw = (i % 2) ? pw_anna : pw_ben;
        const char *name = (i % 2) ? "anna" : "ben";
        if (cf_auth_login(job->auth, name, pw, peer, t0, id, &s) == CF_LOGIN_OK &&
            cf_auth_session_get(job->auth, id, t0 + 1, &got) && strcmp(got.user, name) == 0)
            job->ok++;
        cf_auth_logout(job->auth, id);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    cf_auth *a = open_with_users();
    login_job jobs[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (login_job){a, i, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, login_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(jobs[i].ok, 20);
    }
    cf_auth_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_name_and_password_rules),
        cmocka_unit_test_setup_teardown(test_users_db, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_and_wrong_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockout_of_account, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockout_of_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_user_and_new_password, setup, teardown),
        cmocka_unit_test(test_csrf_compare),
        cmocka_unit_test_setup_teardown(test_default_costs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
