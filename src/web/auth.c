/* Users (STORE/users.db), Argon2id password hashes, lock-outs and in-memory sessions: the only
 * file that includes argon2.h. See auth.h for the contracts. */
#include "web/auth.h"

#include "base/alloc.h"
#include "base/hash.h"
#include "base/utf8.h"

#include <argon2.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define APPLICATION_ID 0x43465553 /* "CFUS" in PRAGMA application_id: a users.db of ours */
#define SCHEMA_VERSION 1
#define BUSY_TIMEOUT_MS 10000
#define SALT_BYTES 16
#define HASH_BYTES 32
#define TOKEN_BYTES 32
#define LOCKS_MAX 8192 /* tracked names and addresses; unlocked ones make room first */
#define KEY_MAX 96     /* "u:" + name or "a:" + address */

/* Failed logins of one account ("u:name", lower case) or one address ("a:peer"). */
typedef struct lock_entry {
    char key[KEY_MAX];
    int failures;
    time_t last_failure;
    time_t locked_until; /* 0: not locked */
} lock_entry;

typedef struct session {
    unsigned char id_hash[CF_SHA256_SIZE]; /* SHA-256 of the id; the id itself is not kept */
    char user[CF_AUTH_NAME_MAX + 1];
    long long generation; /* the user's generation at login: a new password or disable ends it */
    char csrf[CF_AUTH_TOKEN_HEX];
    char ward[CF_WARD_SIZE]; /* cf_auth_session_set_ward */
    time_t last_used;
} session;

struct cf_auth {
    pthread_mutex_t mutex; /* guards everything below */
    sqlite3 *db;
    char *path;
    char operator_name[CF_AUTH_NAME_MAX + 1];
    uint32_t m_kib, t;
    char *dummy_hash; /* hashed for unknown names so that they take as long as known ones */
    session *sessions;
    size_t n_sessions, cap_sessions;
    lock_entry *locks;
    size_t n_locks, cap_locks;
};

static const char *const role_names[] = {"nurse", "clerk", "admin"};

const char *cf_role_name(cf_role role)
{
    if ((unsigned)role >= sizeof role_names / sizeof role_names[0])
        return "?";
    return role_names[role];
}

bool cf_role_parse(const char *s, cf_role *out)
{
    if (s == NULL)
        return false;
    for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
        if (strcmp(s, role_names[i]) == 0) {
            *out = (cf_role)i;
            return true;
        }
    return false;
}

/* Fills buf with len random bytes from the kernel. */
static bool random_bytes(unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        got += (size_t)n;
    }
    return true;
}

static void to_hex(const unsigned char *bytes, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * len] = '\0';
}

/* A fresh 256-bit token as 64 hex digits. */
static bool random_token(char out[CF_AUTH_TOKEN_HEX])
{
    unsigned char bytes[TOKEN_BYTES];
    if (!random_bytes(bytes, sizeof bytes))
        return false;
    to_hex(bytes, sizeof bytes, out);
    return true;
}

bool cf_auth_csrf_ok(const cf_session *s, const char *token)
{
    if (s == NULL || token == NULL || strnlen(token, CF_AUTH_TOKEN_HEX) != CF_AUTH_TOKEN_HEX - 1 ||
        strnlen(s->csrf, CF_AUTH_TOKEN_HEX) != CF_AUTH_TOKEN_HEX - 1)
        return false;
    /* Every byte is looked at whatever differs, so the time says nothing of where. */
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < CF_AUTH_TOKEN_HEX - 1; i++)
        diff |= (unsigned char)(s->csrf[i] ^ token[i]);
    return diff == 0;
}

bool cf_auth_name_check(const char *name, cf_diag *diag)
{
    if (name == NULL || name[0] == '\0') {
        cf_diag_error(diag, NULL, 0, "a user name is needed");
        return false;
    }
    size_t len = strnlen(name, CF_AUTH_NAME_MAX + 1);
    if (len > CF_AUTH_NAME_MAX) {
        cf_diag_error(diag, NULL, 0, "a user name has at most %d characters", CF_AUTH_NAME_MAX);
        return false;
    }
    if (!isalnum((unsigned char)name[0]) || (unsigned char)name[0] >= 0x80) {
        cf_diag_error(diag, NULL, 0, "a user name starts with a letter or digit (A-Z, a-z, 0-9)");
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-' || c == '@';
        if (!ok) {
            cf_diag_error(diag, NULL, 0,
                          "a user name holds only the letters A-Z and a-z, digits and . _ - @ "
                          "(character %zu is not one of them)",
                          i + 1);
            return false;
        }
    }
    return true;
}

bool cf_auth_password_check(const char *password, cf_diag *diag)
{
    if (password == NULL) {
        cf_diag_error(diag, NULL, 0, "a password is needed");
        return false;
    }
    size_t len = strnlen(password, CF_AUTH_PASSWORD_MAX + 1);
    if (len > CF_AUTH_PASSWORD_MAX) {
        cf_diag_error(diag, NULL, 0, "a password has at most %d bytes", CF_AUTH_PASSWORD_MAX);
        return false;
    }
    if (cf_utf8_check(password, len) != len) {
        cf_diag_error(diag, NULL, 0, "the password is not valid UTF-8 text");
        return false;
    }
    size_t chars = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t n = cf_utf8_decode(password + i, len - i, &cp);
        if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
            cf_diag_error(diag, NULL, 0, "a password has no control characters (tab, newline ...)");
            return false;
        }
        i += n;
        chars++;
    }
    if (chars < CF_AUTH_PASSWORD_MIN) {
        cf_diag_error(diag, NULL, 0, "a password has at least %d characters (this one has %zu)",
                      CF_AUTH_PASSWORD_MIN, chars);
        return false;
    }
    return true;
}

/* ---- users.db ---- */

static cf_status db_error(cf_auth *a, cf_diag *diag, const char *what)
{
    int code = a->db ? sqlite3_errcode(a->db) & 0xff : SQLITE_ERROR;
    cf_diag_error(diag, a->path, 0, "cannot %s: %s", what,
                  a->db ? sqlite3_errmsg(a->db) : "out of memory");
    if (code == SQLITE_CANTOPEN || code == SQLITE_READONLY || code == SQLITE_PERM)
        return CF_ERR_CANTCREAT;
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
        return CF_ERR_DATA;
    if (code == SQLITE_IOERR || code == SQLITE_FULL || code == SQLITE_BUSY)
        return CF_ERR_IO;
    return CF_ERR_INTERNAL;
}

static cf_status exec(cf_auth *a, const char *sql, cf_diag *diag, const char *what)
{
    if (sqlite3_exec(a->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(a, diag, what);
    return CF_OK;
}

/* The single integer a query such as "PRAGMA user_version" returns (-1 on failure). */
static long long query_int(cf_auth *a, const char *sql)
{
    sqlite3_stmt *s = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(a->db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static const char schema_sql[] =
    "BEGIN IMMEDIATE;"
    "CREATE TABLE users ("
    " name TEXT PRIMARY KEY COLLATE NOCASE,"
    " role TEXT NOT NULL CHECK (role IN ('nurse', 'clerk', 'admin')),"
    " hash TEXT NOT NULL,"
    " disabled INTEGER NOT NULL DEFAULT 0,"
    " generation INTEGER NOT NULL DEFAULT 1,"
    " created_at INTEGER NOT NULL,"
    " changed_at INTEGER NOT NULL);"
    "CREATE TABLE user_events ("
    " id INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '',"
    " operator TEXT NOT NULL);"
    /* Users are disabled, never deleted (events name them); their history is append-only. */
    "CREATE TRIGGER users_keep BEFORE DELETE ON users"
    " BEGIN SELECT RAISE(ABORT, 'users are disabled, never deleted'); END;"
    "CREATE TRIGGER user_events_keep_update BEFORE UPDATE ON user_events"
    " BEGIN SELECT RAISE(ABORT, 'user events are never changed'); END;"
    "CREATE TRIGGER user_events_keep_delete BEFORE DELETE ON user_events"
    " BEGIN SELECT RAISE(ABORT, 'user events are never deleted'); END;"
    "PRAGMA application_id = 1128682835;" /* APPLICATION_ID */
    "PRAGMA user_version = 1;"
    "COMMIT;";

/* Creates the tables of an empty users.db, or checks that a non-empty one is ours. */
static cf_status migrate(cf_auth *a, cf_diag *diag)
{
    long long app = query_int(a, "PRAGMA application_id");
    long long version = query_int(a, "PRAGMA user_version");
    long long tables = query_int(a, "SELECT count(*) FROM sqlite_master");
    if (app < 0 || version < 0 || tables < 0)
        return db_error(a, diag, "be read");
    if (app == 0 && version == 0 && tables == 0) {
        cf_status st = exec(a, schema_sql, diag, "be set up");
        if (st != CF_OK)
            sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
    if (app != APPLICATION_ID) {
        cf_diag_error(diag, a->path, 0, "is not a consentform user list");
        return CF_ERR_DATA;
    }
    if (version > SCHEMA_VERSION) {
        cf_diag_error(diag, a->path, 0,
                      "was made by a newer consentform (user list version %lld; this one reads "
                      "%d)",
                      version, SCHEMA_VERSION);
        return CF_ERR_DATA;
    }
    return CF_OK;
}

/* Creates users.db 0660 when it is missing (whatever the umask); an existing file keeps its
 * mode. */
static cf_status create_file(const char *path, cf_diag *diag)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0660);
    if (fd < 0) {
        if (errno == EEXIST)
            return CF_OK;
        cf_diag_error(diag, path, 0, "cannot be created: %s", strerror(errno));
        return CF_ERR_CANTCREAT;
    }
    cf_status st = CF_OK;
    if (fchmod(fd, 0660) != 0) {
        cf_diag_error(diag, path, 0, "cannot be made 0660: %s", strerror(errno));
        st = CF_ERR_CANTCREAT;
    }
    close(fd);
    return st;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = cf_malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

cf_status cf_auth_open(const char *store_dir, cf_auth **out, cf_diag *diag)
{
    *out = NULL;
    cf_status st = CF_OK;
    char *store_id = NULL;
    cf_auth *a = cf_calloc(1, sizeof *a);
    if (a == NULL)
        return CF_ERR_NOMEM;
    pthread_mutex_init(&a->mutex, NULL);
    a->m_kib = CF_AUTH_DEFAULT_M_KIB;
    a->t = CF_AUTH_DEFAULT_T;
    const char *cost = getenv("CONSENTFORM_TEST_ARGON2");
    if (cost != NULL && strcmp(cost, "fast") == 0) {
        a->m_kib = 1024;
        a->t = 1;
    }
    snprintf(a->operator_name, sizeof a->operator_name, "unknown");
    store_id = join(store_dir, "store-id");
    a->path = join(store_dir, "users.db");
    if (store_id == NULL || a->path == NULL) {
        st = CF_ERR_NOMEM;
        goto done;
    }
    struct stat sb;
    if (stat(store_id, &sb) != 0) {
        cf_diag_error(diag, store_dir, 0,
                      "is not a consentform store (no store-id; make one with `consentform "
                      "archive init`)");
        st = CF_ERR_NOINPUT;
        goto done;
    }
    st = create_file(a->path, diag);
    if (st != CF_OK)
        goto done;
    if (sqlite3_open_v2(a->path, &a->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        st = db_error(a, diag, "be opened");
        goto done;
    }
    sqlite3_busy_timeout(a->db, BUSY_TIMEOUT_MS);
    st = exec(a, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL", diag, "be set up");
    if (st == CF_OK)
        st = migrate(a, diag);
done:
    cf_free(store_id);
    if (st != CF_OK) {
        cf_auth_close(a);
        return st;
    }
    *out = a;
    return CF_OK;
}

void cf_auth_close(cf_auth *auth)
{
    if (auth == NULL)
        return;
    if (auth->db)
        sqlite3_close(auth->db);
    if (auth->sessions)
        memset(auth->sessions, 0, auth->cap_sessions * sizeof *auth->sessions);
    cf_free(auth->sessions);
    cf_free(auth->locks);
    cf_free(auth->dummy_hash);
    cf_free(auth->path);
    pthread_mutex_destroy(&auth->mutex);
    cf_free(auth);
}

void cf_auth_set_cost(cf_auth *auth, uint32_t m_kib, uint32_t t)
{
    pthread_mutex_lock(&auth->mutex);
    auth->m_kib = m_kib < 8 ? 8 : m_kib;
    auth->t = t < 1 ? 1 : t;
    pthread_mutex_unlock(&auth->mutex);
}

void cf_auth_set_operator(cf_auth *auth, const char *operator_name)
{
    pthread_mutex_lock(&auth->mutex);
    snprintf(auth->operator_name, sizeof auth->operator_name, "%s",
             operator_name && operator_name[0] ? operator_name : "unknown");
    pthread_mutex_unlock(&auth->mutex);
}

/* Appends a row to user_events (mutex held, inside the caller's transaction or alone). */
static cf_status add_event(cf_auth *a, long long at, const char *name, const char *action,
                           const char *detail, cf_diag *diag)
{
    sqlite3_stmt *s = NULL;
    cf_status st = CF_OK;
    if (sqlite3_prepare_v2(a->db,
                           "INSERT INTO user_events (at, name, action, detail, operator) "
                           "VALUES (?, ?, ?, ?, ?)",
                           -1, &s, NULL) != SQLITE_OK) {
        st = db_error(a, diag, "record the change");
        goto done;
    }
    sqlite3_bind_int64(s, 1, at);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, detail, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 5, a->operator_name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE)
        st = db_error(a, diag, "record the change");
done:
    sqlite3_finalize(s);
    return st;
}

/* A user's row (mutex held). */
typedef struct user_row {
    bool found;
    char name[CF_AUTH_NAME_MAX + 1]; /* as it was added */
    cf_role role;
    bool disabled;
    long long generation;
    char *hash; /* caller frees */
} user_row;

static cf_status find_user(cf_auth *a, const char *name, bool want_hash, user_row *row,
                           cf_diag *diag)
{
    memset(row, 0, sizeof *row);
    sqlite3_stmt *s = NULL;
    cf_status st = CF_OK;
    if (sqlite3_prepare_v2(a->db,
                           "SELECT name, role, disabled, generation, hash FROM users "
                           "WHERE name = ?",
                           -1, &s, NULL) != SQLITE_OK) {
        st = db_error(a, diag, "be read");
        goto done;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        goto done;
    if (rc != SQLITE_ROW) {
        st = db_error(a, diag, "be read");
        goto done;
    }
    row->found = true;
    snprintf(row->name, sizeof row->name, "%s", (const char *)sqlite3_column_text(s, 0));
    if (!cf_role_parse((const char *)sqlite3_column_text(s, 1), &row->role)) {
        cf_diag_error(diag, a->path, 0, "names an unknown role for user %s", row->name);
        st = CF_ERR_DATA;
        goto done;
    }
    row->disabled = sqlite3_column_int(s, 2) != 0;
    row->generation = sqlite3_column_int64(s, 3);
    if (want_hash) {
        row->hash = cf_strdup((const char *)sqlite3_column_text(s, 4));
        if (row->hash == NULL)
            st = CF_ERR_NOMEM;
    }
done:
    sqlite3_finalize(s);
    return st;
}

/* An Argon2id encoded hash of password with a fresh salt and the given costs (caller frees). */
static cf_status hash_password(const char *password, uint32_t m_kib, uint32_t t, char **out,
                               cf_diag *diag)
{
    *out = NULL;
    unsigned char salt[SALT_BYTES];
    if (!random_bytes(salt, sizeof salt)) {
        cf_diag_error(diag, NULL, 0, "no random bytes from the kernel: %s", strerror(errno));
        return CF_ERR_INTERNAL;
    }
    size_t len = argon2_encodedlen(t, m_kib, 1, SALT_BYTES, HASH_BYTES, Argon2_id);
    char *encoded = cf_malloc(len);
    if (encoded == NULL)
        return CF_ERR_NOMEM;
    int rc = argon2id_hash_encoded(t, m_kib, 1, password, strlen(password), salt, sizeof salt,
                                   HASH_BYTES, encoded, len);
    if (rc != ARGON2_OK) {
        cf_free(encoded);
        cf_diag_error(diag, NULL, 0, "cannot hash the password: %s", argon2_error_message(rc));
        return rc == ARGON2_MEMORY_ALLOCATION_ERROR ? CF_ERR_NOMEM : CF_ERR_INTERNAL;
    }
    *out = encoded;
    return CF_OK;
}

/* Removes the sessions of user (mutex held). */
static void end_sessions_of(cf_auth *a, const char *user)
{
    for (size_t i = 0; i < a->n_sessions;) {
        if (strcasecmp(a->sessions[i].user, user) == 0)
            a->sessions[i] = a->sessions[--a->n_sessions];
        else
            i++;
    }
}

cf_status cf_auth_user_add(cf_auth *a, const char *name, cf_role role, const char *password,
                           cf_diag *d)
{
    if (!cf_auth_name_check(name, d) || !cf_auth_password_check(password, d))
        return CF_ERR_DATA;
    if ((unsigned)role > CF_ROLE_ADMIN) {
        cf_diag_error(d, NULL, 0, "unknown role");
        return CF_ERR_USAGE;
    }
    pthread_mutex_lock(&a->mutex);
    uint32_t m = a->m_kib, t = a->t;
    pthread_mutex_unlock(&a->mutex);
    char *hash = NULL;
    sqlite3_stmt *s = NULL;
    cf_status st = hash_password(password, m, t, &hash, d);
    if (st != CF_OK)
        return st;
    pthread_mutex_lock(&a->mutex);
    user_row row;
    long long now = (long long)time(NULL);
    st = exec(a, "BEGIN IMMEDIATE", d, "be changed");
    if (st != CF_OK)
        goto done;
    st = find_user(a, name, false, &row, d);
    if (st != CF_OK)
        goto rollback;
    if (row.found) {
        cf_diag_error(d, NULL, 0, "user %s exists already%s", row.name,
                      row.disabled ? " (disabled; a name is never given to someone else)" : "");
        st = CF_ERR_EXISTS;
        goto rollback;
    }
    if (sqlite3_prepare_v2(a->db,
                           "INSERT INTO users (name, role, hash, created_at, changed_at) "
                           "VALUES (?, ?, ?, ?, ?)",
                           -1, &s, NULL) != SQLITE_OK) {
        st = db_error(a, d, "be changed");
        goto rollback;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, cf_role_name(role), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, now);
    sqlite3_bind_int64(s, 5, now);
    if (sqlite3_step(s) != SQLITE_DONE) {
        st = db_error(a, d, "be changed");
        goto rollback;
    }
    char detail[32];
    snprintf(detail, sizeof detail, "role %s", cf_role_name(role));
    st = add_event(a, now, name, "added", detail, d);
    if (st == CF_OK)
        st = exec(a, "COMMIT", d, "be changed");
rollback:
    if (st != CF_OK)
        sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
done:
    pthread_mutex_unlock(&a->mutex);
    sqlite3_finalize(s);
    cf_free(hash);
    return st;
}

/* Sets a user's password (hash non-NULL) or disables the user, with its event. */
static cf_status change_user(cf_auth *a, const char *name, const char *hash, cf_diag *d)
{
    if (!cf_auth_name_check(name, d))
        return CF_ERR_DATA;
    sqlite3_stmt *s = NULL;
    user_row row;
    long long now = (long long)time(NULL);
    pthread_mutex_lock(&a->mutex);
    cf_status st = exec(a, "BEGIN IMMEDIATE", d, "be changed");
    if (st != CF_OK)
        goto done;
    st = find_user(a, name, false, &row, d);
    if (st != CF_OK)
        goto rollback;
    if (!row.found) {
        cf_diag_error(d, a->path, 0, "has no user %s", name);
        st = CF_ERR_NOINPUT;
        goto rollback;
    }
    if (row.disabled) {
        if (hash == NULL) {
            cf_diag_add(d, CF_DIAG_NOTE, NULL, 0, 0, "user %s was disabled already", row.name);
            st = CF_OK;
        } else {
            cf_diag_error(d, NULL, 0, "user %s is disabled and stays so", row.name);
            st = CF_ERR_DATA;
        }
        goto rollback;
    }
    const char *sql = hash ? "UPDATE users SET hash = ?, generation = generation + 1, "
                             "changed_at = ? WHERE name = ?"
                           : "UPDATE users SET disabled = 1, generation = generation + 1, "
                             "changed_at = ? WHERE name = ?";
    if (sqlite3_prepare_v2(a->db, sql, -1, &s, NULL) != SQLITE_OK) {
        st = db_error(a, d, "be changed");
        goto rollback;
    }
    int i = 1;
    if (hash)
        sqlite3_bind_text(s, i++, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, i++, now);
    sqlite3_bind_text(s, i, row.name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE) {
        st = db_error(a, d, "be changed");
        goto rollback;
    }
    st = add_event(a, now, row.name, hash ? "password-changed" : "disabled", "", d);
    if (st == CF_OK)
        st = exec(a, "COMMIT", d, "be changed");
    if (st == CF_OK)
        end_sessions_of(a, row.name);
rollback:
    if (st != CF_OK || row.disabled)
        sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
done:
    pthread_mutex_unlock(&a->mutex);
    sqlite3_finalize(s);
    return st;
}

cf_status cf_auth_user_passwd(cf_auth *a, const char *name, const char *password, cf_diag *d)
{
    if (!cf_auth_name_check(name, d) || !cf_auth_password_check(password, d))
        return CF_ERR_DATA;
    pthread_mutex_lock(&a->mutex);
    uint32_t m = a->m_kib, t = a->t;
    pthread_mutex_unlock(&a->mutex);
    char *hash = NULL;
    cf_status st = hash_password(password, m, t, &hash, d);
    if (st == CF_OK)
        st = change_user(a, name, hash, d);
    cf_free(hash);
    return st;
}

cf_status cf_auth_user_disable(cf_auth *a, const char *name, cf_diag *d)
{
    return change_user(a, name, NULL, d);
}

cf_status cf_auth_user_each(cf_auth *a, void (*fn)(void *ctx, const cf_auth_user_info *user),
                            void *ctx, size_t *count, cf_diag *d)
{
    size_t n = 0;
    sqlite3_stmt *s = NULL;
    cf_status st = CF_OK;
    pthread_mutex_lock(&a->mutex);
    if (sqlite3_prepare_v2(a->db,
                           "SELECT name, role, disabled, created_at, changed_at FROM users "
                           "ORDER BY name",
                           -1, &s, NULL) != SQLITE_OK) {
        st = db_error(a, d, "be read");
        goto done;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cf_auth_user_info u = {.name = (const char *)sqlite3_column_text(s, 0),
                               .disabled = sqlite3_column_int(s, 2) != 0,
                               .created_at = sqlite3_column_int64(s, 3),
                               .changed_at = sqlite3_column_int64(s, 4)};
        if (!cf_role_parse((const char *)sqlite3_column_text(s, 1), &u.role)) {
            cf_diag_error(d, a->path, 0, "names an unknown role for user %s", u.name);
            st = CF_ERR_DATA;
            goto done;
        }
        fn(ctx, &u);
        n++;
    }
    if (rc != SQLITE_DONE)
        st = db_error(a, d, "be read");
done:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&a->mutex);
    if (count)
        *count = n;
    return st;
}

/* ---- lock-outs ---- */

static void lock_key(char key[KEY_MAX], char kind, const char *s)
{
    snprintf(key, KEY_MAX, "%c:%s", kind, s ? s : "");
    if (kind == 'u')
        for (char *p = key; *p; p++)
            *p = (char)tolower((unsigned char)*p);
}

/* The entry of key, or NULL (mutex held). */
static lock_entry *find_lock(cf_auth *a, const char *key)
{
    for (size_t i = 0; i < a->n_locks; i++)
        if (strcmp(a->locks[i].key, key) == 0)
            return &a->locks[i];
    return NULL;
}

static bool is_locked(cf_auth *a, const char *key, time_t now)
{
    lock_entry *e = find_lock(a, key);
    return e != NULL && e->locked_until != 0 && now < e->locked_until;
}

/* The entry of key, made when missing; NULL when the table is full of live locks. Entries with
 * nothing to remember (failures forgotten, lock over) make room first, then the unlocked entry
 * whose last failure is oldest. */
static lock_entry *get_lock(cf_auth *a, const char *key, time_t now)
{
    lock_entry *e = find_lock(a, key);
    if (e)
        return e;
    if (a->n_locks == LOCKS_MAX) {
        size_t victim = LOCKS_MAX;
        for (size_t i = 0; i < a->n_locks; i++) {
            lock_entry *c = &a->locks[i];
            bool locked = c->locked_until != 0 && now < c->locked_until;
            if (locked)
                continue;
            if (now - c->last_failure >= CF_AUTH_LOCK_SECONDS) {
                victim = i;
                break;
            }
            if (victim == LOCKS_MAX || c->last_failure < a->locks[victim].last_failure)
                victim = i;
        }
        if (victim == LOCKS_MAX)
            return NULL;
        a->locks[victim] = a->locks[--a->n_locks];
    }
    if (a->n_locks == a->cap_locks) {
        lock_entry *grown =
            cf_grow_array(a->locks, &a->cap_locks, a->n_locks + 1, sizeof *a->locks, 64);
        if (grown == NULL)
            return NULL;
        a->locks = grown;
    }
    e = &a->locks[a->n_locks++];
    memset(e, 0, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", key);
    return e;
}

/* Counts one failure for e; true when it reaches the limit. */
static bool count_failure(lock_entry *e, time_t now)
{
    if (e == NULL)
        return false;
    if (e->locked_until != 0 && now >= e->locked_until) {
        e->locked_until = 0;
        e->failures = 0;
    }
    if (now - e->last_failure >= CF_AUTH_LOCK_SECONDS)
        e->failures = 0;
    e->failures++;
    e->last_failure = now;
    return e->failures >= CF_AUTH_LOCK_FAILURES;
}

static void clear_lock(cf_auth *a, const char *key)
{
    lock_entry *e = find_lock(a, key);
    if (e)
        *e = a->locks[--a->n_locks];
}

/* ---- sessions ---- */

/* SHA-256 of a session id given as 64 hex digits; false for anything else. */
static bool id_hash(const char *session_id, unsigned char out[CF_SHA256_SIZE])
{
    if (session_id == NULL || strnlen(session_id, CF_AUTH_TOKEN_HEX) != CF_AUTH_TOKEN_HEX - 1)
        return false;
    for (size_t i = 0; i < CF_AUTH_TOKEN_HEX - 1; i++)
        if (!isxdigit((unsigned char)session_id[i]))
            return false;
    cf_sha256 ctx;
    cf_sha256_init(&ctx);
    cf_sha256_update(&ctx, session_id, CF_AUTH_TOKEN_HEX - 1);
    cf_sha256_final(&ctx, out);
    return true;
}

static session *find_session(cf_auth *a, const unsigned char hash[CF_SHA256_SIZE])
{
    for (size_t i = 0; i < a->n_sessions; i++)
        if (memcmp(a->sessions[i].id_hash, hash, CF_SHA256_SIZE) == 0)
            return &a->sessions[i];
    return NULL;
}

/* A new session slot (mutex held): ended sessions are dropped, and when the table is full the
 * one unused longest gives way. NULL when out of memory. */
static session *new_session(cf_auth *a, time_t now)
{
    size_t oldest = 0;
    for (size_t i = 0; i < a->n_sessions;) {
        if (now - a->sessions[i].last_used >= CF_AUTH_IDLE_SECONDS) {
            a->sessions[i] = a->sessions[--a->n_sessions];
            continue;
        }
        if (a->sessions[i].last_used < a->sessions[oldest].last_used)
            oldest = i;
        i++;
    }
    if (a->n_sessions == CF_AUTH_SESSIONS_MAX)
        a->sessions[oldest] = a->sessions[--a->n_sessions];
    if (a->n_sessions == a->cap_sessions) {
        session *grown = cf_grow_array(a->sessions, &a->cap_sessions, a->n_sessions + 1,
                                       sizeof *a->sessions, 16);
        if (grown == NULL)
            return NULL;
        a->sessions = grown;
    }
    session *s = &a->sessions[a->n_sessions++];
    memset(s, 0, sizeof *s);
    return s;
}

/* The hash that unknown names are checked against (made once, with this cf_auth's costs). */
static const char *dummy_hash(cf_auth *a)
{
    pthread_mutex_lock(&a->mutex);
    const char *h = a->dummy_hash;
    uint32_t m = a->m_kib, t = a->t;
    pthread_mutex_unlock(&a->mutex);
    if (h)
        return h;
    char *made = NULL;
    if (hash_password("not the password of anyone", m, t, &made, NULL) != CF_OK)
        return NULL;
    pthread_mutex_lock(&a->mutex);
    if (a->dummy_hash == NULL)
        a->dummy_hash = made;
    else
        cf_free(made);
    h = a->dummy_hash;
    pthread_mutex_unlock(&a->mutex);
    return h;
}

cf_login_result cf_auth_login(cf_auth *a, const char *name, const char *password, const char *peer,
                              time_t now, char session_id[CF_AUTH_TOKEN_HEX], cf_session *out)
{
    session_id[0] = '\0';
    memset(out, 0, sizeof *out);
    if (name == NULL)
        name = "";
    if (password == NULL)
        password = "";
    char user_key[KEY_MAX], peer_key[KEY_MAX];
    lock_key(user_key, 'u', name);
    lock_key(peer_key, 'a', peer);
    bool valid_name = cf_auth_name_check(name, NULL);
    size_t pw_len = strnlen(password, CF_AUTH_PASSWORD_MAX + 1);

    pthread_mutex_lock(&a->mutex);
    if (is_locked(a, user_key, now) || is_locked(a, peer_key, now)) {
        pthread_mutex_unlock(&a->mutex);
        return CF_LOGIN_LOCKED;
    }
    user_row row = {0};
    if (valid_name && find_user(a, name, true, &row, NULL) != CF_OK)
        row.found = false;
    pthread_mutex_unlock(&a->mutex);

    /* The slow part, outside the lock. An unknown name is checked against a hash of its own so
     * that it takes as long as a known one. */
    bool match = false;
    if (row.found && row.hash && pw_len <= CF_AUTH_PASSWORD_MAX)
        match = argon2id_verify(row.hash, password, pw_len) == ARGON2_OK;
    else {
        const char *h = dummy_hash(a);
        if (h)
            (void)argon2id_verify(h, password, pw_len > CF_AUTH_PASSWORD_MAX ? 0 : pw_len);
    }
    cf_free(row.hash);
    row.hash = NULL;

    cf_login_result result = CF_LOGIN_BAD;
    pthread_mutex_lock(&a->mutex);
    /* A lock set while this password was being checked holds too. */
    if (is_locked(a, user_key, now) || is_locked(a, peer_key, now)) {
        result = CF_LOGIN_LOCKED;
    } else if (!match) {
        lock_entry *u = get_lock(a, user_key, now);
        bool lock_user = count_failure(u, now);
        lock_entry *p = get_lock(a, peer_key, now);
        bool lock_peer = count_failure(p, now);
        if (lock_user || lock_peer) {
            /* Both: the account against any address, the address against any account. */
            u = get_lock(a, user_key, now);
            if (u)
                u->locked_until = now + CF_AUTH_LOCK_SECONDS;
            p = get_lock(a, peer_key, now);
            if (p)
                p->locked_until = now + CF_AUTH_LOCK_SECONDS;
            char detail[KEY_MAX + 64];
            snprintf(detail, sizeof detail, "account and address %s locked for 15 minutes",
                     peer ? peer : "");
            (void)add_event(a, (long long)now, valid_name ? name : "(not a user name)", "locked",
                            detail, NULL);
        }
    } else if (row.disabled) {
        result = CF_LOGIN_DISABLED;
    } else {
        clear_lock(a, user_key);
        clear_lock(a, peer_key);
        session *s = new_session(a, now);
        char id[CF_AUTH_TOKEN_HEX];
        if (s != NULL && random_token(id) && random_token(s->csrf) && id_hash(id, s->id_hash)) {
            snprintf(s->user, sizeof s->user, "%s", row.name);
            s->generation = row.generation;
            s->last_used = now;
            memcpy(session_id, id, CF_AUTH_TOKEN_HEX);
            snprintf(out->user, sizeof out->user, "%s", row.name);
            out->role = row.role;
            memcpy(out->csrf, s->csrf, CF_AUTH_TOKEN_HEX);
            out->ward[0] = '\0';
            result = CF_LOGIN_OK;
        } else if (s != NULL) {
            a->n_sessions--; /* the slot just taken */
        }
    }
    pthread_mutex_unlock(&a->mutex);
    return result;
}

bool cf_auth_session_get(cf_auth *a, const char *session_id, time_t now, cf_session *out)
{
    unsigned char hash[CF_SHA256_SIZE];
    if (!id_hash(session_id, hash))
        return false;
    bool ok = false;
    pthread_mutex_lock(&a->mutex);
    session *s = find_session(a, hash);
    if (s == NULL)
        goto done;
    user_row row;
    if (now - s->last_used >= CF_AUTH_IDLE_SECONDS ||
        find_user(a, s->user, false, &row, NULL) != CF_OK || !row.found || row.disabled ||
        row.generation != s->generation) {
        *s = a->sessions[--a->n_sessions];
        goto done;
    }
    if (now > s->last_used)
        s->last_used = now;
    memset(out, 0, sizeof *out);
    snprintf(out->user, sizeof out->user, "%s", row.name);
    out->role = row.role;
    memcpy(out->csrf, s->csrf, CF_AUTH_TOKEN_HEX);
    memcpy(out->ward, s->ward, sizeof out->ward);
    ok = true;
done:
    pthread_mutex_unlock(&a->mutex);
    return ok;
}

void cf_auth_session_set_ward(cf_auth *a, const char *session_id, const char *ward)
{
    unsigned char hash[CF_SHA256_SIZE];
    if (!id_hash(session_id, hash))
        return;
    pthread_mutex_lock(&a->mutex);
    session *s = find_session(a, hash);
    if (s != NULL)
        snprintf(s->ward, sizeof s->ward, "%s", ward != NULL ? ward : "");
    pthread_mutex_unlock(&a->mutex);
}

void cf_auth_logout(cf_auth *a, const char *session_id)
{
    unsigned char hash[CF_SHA256_SIZE];
    if (!id_hash(session_id, hash))
        return;
    pthread_mutex_lock(&a->mutex);
    session *s = find_session(a, hash);
    if (s)
        *s = a->sessions[--a->n_sessions];
    pthread_mutex_unlock(&a->mutex);
}
