/* The archive store (see archive.h): the SQLite index (this is the only file that includes
 * sqlite3.h), the rules every change follows, and the queries over it. Objects are written by
 * objects.c before the index row that names them is committed. */
#include "archive/archive.h"

#include "archive/objects.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/utf8.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCHEMA_VERSION 1
#define LABELS_MAX 64
#define LABEL_KEY_MAX 64
#define LABEL_VALUE_MAX 1024
#define NAME_MAX_BYTES 200 /* form ids, versions, operator names */
#define REASON_MAX 2000
#define BUSY_TIMEOUT_MS 10000

struct cf_archive {
    char *dir;     /* the store folder as given */
    char *objects; /* dir/objects */
    char *index;   /* dir/index.sqlite */
    sqlite3 *db;   /* the one connection; every use is under lock */
    bool read_only;
    pthread_mutex_t lock;
};

/* Schema migrations: entry v takes a store from version v to v + 1. */
static const char *const migrations[SCHEMA_VERSION] = {
    "CREATE TABLE files ("
    "  hash TEXT PRIMARY KEY,"
    "  size INTEGER NOT NULL,"
    "  media_type TEXT NOT NULL,"
    "  added_at INTEGER NOT NULL);"
    "CREATE TABLE documents ("
    "  id TEXT PRIMARY KEY,"
    "  form_id TEXT NOT NULL,"
    "  form_version TEXT NOT NULL,"
    "  labels TEXT NOT NULL,"
    "  hospital_no TEXT,"
    "  issued_at INTEGER,"
    "  issued_hash TEXT REFERENCES files(hash),"
    "  registered INTEGER NOT NULL);"
    "CREATE INDEX documents_hospital_no ON documents(hospital_no);"
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  document_id TEXT NOT NULL REFERENCES documents(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('issued', 'signed-copy-added', 'verified', 'voided')),"
    "  at INTEGER NOT NULL,"
    "  operator TEXT NOT NULL,"
    "  file_hash TEXT REFERENCES files(hash),"
    "  version INTEGER,"
    "  reason TEXT);"
    "CREATE INDEX events_document ON events(document_id);"
    "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER documents_keep BEFORE DELETE ON documents"
    "  BEGIN SELECT RAISE(ABORT, 'documents are never deleted'); END;"
    "CREATE TRIGGER files_keep BEFORE DELETE ON files"
    "  BEGIN SELECT RAISE(ABORT, 'files are never deleted'); END;",
};

/* ---- helpers -------------------------------------------------------------------------- */

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = cf_malloc(n);
    if (s != NULL)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

/* Reports a failed SQLite call on the index and maps it to a status. what completes "the
 * archive index could not ...". */
static cf_status db_error(cf_archive *a, cf_diag *diag, const char *what)
{
    int code = a->db != NULL ? sqlite3_errcode(a->db) & 0xff : SQLITE_NOMEM;
    const char *why = a->db != NULL ? sqlite3_errmsg(a->db) : "out of memory";
    const char *hint = "";
    cf_status st = CF_ERR_INTERNAL;
    switch (code) {
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        hint = "; the store cannot be written by this user, and nothing was changed";
        st = CF_ERR_CANTCREAT;
        break;
    case SQLITE_CANTOPEN:
        hint = "; check that the store's folder and files belong to this user";
        st = CF_ERR_CANTCREAT;
        break;
    case SQLITE_FULL:
        hint = "; the disk is full, and nothing was changed";
        st = CF_ERR_IO;
        break;
    case SQLITE_IOERR:
        st = CF_ERR_IO;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        hint = "; another program kept the store busy; try again";
        st = CF_ERR_IO;
        break;
    case SQLITE_NOMEM:
        st = CF_ERR_NOMEM;
        break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        hint = "; the index is damaged";
        st = CF_ERR_DATA;
        break;
    default:
        break;
    }
    cf_diag_error(diag, a->index, 0, "the archive index could not %s: %s%s", what, why, hint);
    return st;
}

static cf_status exec(cf_archive *a, const char *sql, cf_diag *diag, const char *what)
{
    char *err = NULL;
    if (sqlite3_exec(a->db, sql, NULL, NULL, &err) == SQLITE_OK)
        return CF_OK;
    sqlite3_free(err);
    return db_error(a, diag, what);
}

static sqlite3_stmt *prepare(cf_archive *a, const char *sql)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(a->db, sql, -1, &s, NULL) != SQLITE_OK) {
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

/* Document ids are made elsewhere (render/docid.c) and opaque here; the store only insists on
 * what keeps them harmless: a short run of digits, capital letters and hyphens. */
static bool valid_id(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;
    if (n == 0 || n > CF_ARCHIVE_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'Z') || id[i] == '-'))
            return false;
    return true;
}

static cf_status check_id(const cf_archive *a, const char *id, cf_diag *diag)
{
    if (valid_id(id))
        return CF_OK;
    cf_diag_error(diag, a->dir, 0,
                  "\"%.40s\" is not a document id (at most %d digits, capital letters and "
                  "hyphens)",
                  id != NULL ? id : "", CF_ARCHIVE_ID_MAX);
    return CF_ERR_DATA;
}

/* True when s is valid UTF-8 of at most max bytes, without control characters. */
static bool text_ok(const char *s, size_t max)
{
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    if (n > max || cf_utf8_check(s, n) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* Checks a text argument; the message names what it is, never its value (it may be a patient's). */
static cf_status check_text(const char *what, const char *s, size_t max, bool may_be_empty,
                            cf_diag *diag)
{
    if (text_ok(s, max) && (may_be_empty || s[0] != '\0'))
        return CF_OK;
    cf_diag_error(diag, NULL, 0, "the %s is %s", what,
                  s == NULL || (s[0] == '\0' && !may_be_empty)
                      ? "missing"
                      : "not plain UTF-8 text of a sensible length");
    return CF_ERR_DATA;
}

static cf_status check_labels(const cf_archive_label *labels, size_t n, cf_diag *diag)
{
    if (n > LABELS_MAX || (n > 0 && labels == NULL)) {
        cf_diag_error(diag, NULL, 0, "a document has at most %d label fields", LABELS_MAX);
        return CF_ERR_LIMIT;
    }
    for (size_t i = 0; i < n; i++) {
        if (!text_ok(labels[i].key, LABEL_KEY_MAX) || labels[i].key[0] == '\0') {
            cf_diag_error(diag, NULL, 0, "label field %zu has no usable name", i + 1);
            return CF_ERR_DATA;
        }
        if (!text_ok(labels[i].value, LABEL_VALUE_MAX)) {
            cf_diag_error(diag, NULL, 0,
                          "the value of label field %s is not plain UTF-8 text of at most %d "
                          "bytes",
                          labels[i].key, LABEL_VALUE_MAX);
            return CF_ERR_DATA;
        }
    }
    return CF_OK;
}

/* What every change needs: a writable store, a document id, an operator. */
static cf_status check_change(const cf_archive *a, const char *id, const char *op, cf_diag *diag)
{
    if (a->read_only) {
        cf_diag_error(diag, a->dir, 0, "the store was opened read-only; nothing was changed");
        return CF_ERR_CANTCREAT;
    }
    cf_status st = check_id(a, id, diag);
    if (st == CF_OK)
        st = check_text("operator name", op, NAME_MAX_BYTES, /*may_be_empty*/ false, diag);
    return st;
}

/* ---- opening -------------------------------------------------------------------------- */

/* Migrations run in one transaction, so a store is always at one schema version. */
static int user_version(cf_archive *a)
{
    sqlite3_stmt *s = prepare(a, "PRAGMA user_version");
    int v = -1;
    if (s != NULL && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

static cf_status migrate(cf_archive *a, cf_diag *diag)
{
    int v = user_version(a);
    if (v < 0)
        return db_error(a, diag, "be read");
    if (v > SCHEMA_VERSION) {
        cf_diag_error(diag, a->index, 0,
                      "this store was made by a newer consentform (schema %d; this one knows "
                      "%d); nothing was changed",
                      v, SCHEMA_VERSION);
        return CF_ERR_DATA;
    }
    if (v == SCHEMA_VERSION)
        return CF_OK;
    if (a->read_only) {
        cf_diag_error(diag, a->index, 0,
                      "the store needs an update to schema %d; run any archive command that "
                      "changes it (e.g. `consentform archive verify --record`) once",
                      SCHEMA_VERSION);
        return CF_ERR_DATA;
    }
    cf_status st = exec(a, "BEGIN IMMEDIATE", diag, "start a schema update");
    if (st == CF_OK) {
        v = user_version(a); /* again: another process may have updated it meanwhile */
        if (v < 0 || v > SCHEMA_VERSION)
            st = db_error(a, diag, "be read");
    }
    for (int k = v; st == CF_OK && k >= 0 && k < SCHEMA_VERSION; k++) {
        st = exec(a, migrations[k], diag, "update its schema");
        if (st == CF_OK) {
            char sql[64];
            snprintf(sql, sizeof sql, "PRAGMA user_version = %d", k + 1);
            st = exec(a, sql, diag, "update its schema");
        }
    }
    if (st == CF_OK)
        st = exec(a, "COMMIT", diag, "commit a schema update");
    if (st != CF_OK)
        (void)sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

/* "file:PATH?immutable=1" with the characters URIs reserve escaped. */
static char *immutable_uri(const char *path)
{
    cf_buf b;
    cf_buf_init(&b, 3 * strlen(path) + 32);
    cf_buf_append_str(&b, "file:");
    for (const char *p = path; *p != '\0'; p++) {
        if (*p == '%' || *p == '?' || *p == '#' || (p == path + 1 && path[0] == '/' && *p == '/'))
            cf_buf_printf(&b, "%%%02X", (unsigned)(unsigned char)*p);
        else
            cf_buf_putc(&b, *p);
    }
    cf_buf_append_str(&b, "?immutable=1");
    if (b.error != CF_OK) {
        cf_buf_cleanup(&b);
        return NULL;
    }
    return cf_buf_take(&b, NULL);
}

/* Opens the connection and reads from it once, so that a store that cannot be read fails here. */
static int connect_index(cf_archive *a, const char *name, int flags)
{
    if (a->db != NULL)
        sqlite3_close(a->db);
    a->db = NULL;
    int rc = sqlite3_open_v2(name, &a->db, flags | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_busy_timeout(a->db, BUSY_TIMEOUT_MS);
    return sqlite3_exec(a->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
}

static cf_status open_db(cf_archive *a, cf_diag *diag)
{
    int rc =
        connect_index(a, a->index, a->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
    bool dir_writable = faccessat(AT_FDCWD, a->dir, W_OK, AT_EACCESS) == 0;
    /* A write that was cut off (a hot journal, a WAL needing recovery) cannot be undone by a
     * read-only connection. Where this user may write, SQLite is let to finish it; the handle
     * stays read-only for this module, which changes nothing through it. */
    if (rc != SQLITE_OK && a->read_only && dir_writable &&
        ((rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN))
        rc = connect_index(a, a->index, SQLITE_OPEN_READWRITE);
    /* A read-only look at a store in a folder this user cannot write: WAL mode needs a
     * shared-memory file beside the index that SQLite cannot make there. No process of this
     * user can change the store either, so it is opened as immutable, unless a write was cut
     * off (a non-empty -wal file), whose changes that would not see. */
    if (rc != SQLITE_OK && a->read_only && !dir_writable) {
        char *wal = join(a->dir, "index.sqlite-wal");
        if (wal == NULL)
            return CF_ERR_NOMEM;
        struct stat st;
        bool pending = stat(wal, &st) == 0 && st.st_size > 0;
        cf_free(wal);
        if (pending) {
            cf_diag_error(diag, a->dir, 0,
                          "holds changes not yet merged into its index (a write was cut off) "
                          "and cannot be read while the store is read-only to this user; make "
                          "it writable and run `consentform archive verify --record` once");
            return CF_ERR_CANTCREAT;
        }
        char *uri = immutable_uri(a->index);
        if (uri == NULL)
            return CF_ERR_NOMEM;
        rc = connect_index(a, uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
        cf_free(uri);
    }
    if (rc != SQLITE_OK)
        return db_error(a, diag, "be opened");
    cf_status st = exec(a, "PRAGMA foreign_keys = ON", diag, "be set up");
    if (st == CF_OK && !a->read_only)
        st = exec(a, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL", diag, "be set up");
    return st;
}

static cf_archive *archive_new(const char *dir)
{
    cf_archive *a = cf_calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->dir = cf_strdup(dir);
    a->objects = join(dir, "objects");
    a->index = join(dir, "index.sqlite");
    if (a->dir == NULL || a->objects == NULL || a->index == NULL) {
        cf_free(a->dir);
        cf_free(a->objects);
        cf_free(a->index);
        cf_free(a);
        return NULL;
    }
    pthread_mutex_init(&a->lock, NULL);
    return a;
}

void cf_archive_close(cf_archive *a)
{
    if (a == NULL)
        return;
    if (a->db != NULL)
        sqlite3_close(a->db);
    pthread_mutex_destroy(&a->lock);
    cf_free(a->dir);
    cf_free(a->objects);
    cf_free(a->index);
    cf_free(a);
}

/* True when dir holds nothing, or only an empty objects folder (an init cut off early). */
static bool dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (strcmp(e->d_name, "objects") == 0) {
            char *sub = join(dir, "objects");
            empty = sub != NULL && dir_is_empty(sub);
            cf_free(sub);
        } else {
            empty = false;
        }
    }
    closedir(d);
    return empty;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* init on a folder that has an index already. An index at schema 0 is an init that was cut off
 * (SQLite had not yet committed the tables): it is finished. Anything else is a store. */
static cf_status resume_init(cf_archive *a, cf_diag *diag)
{
    /* A quiet look first: a finished store may be read-only to this user. */
    a->read_only = true;
    if (open_db(a, NULL) == CF_OK && user_version(a) != 0) {
        cf_diag_error(diag, a->dir, 0, "is already an archive store; nothing was changed");
        return CF_ERR_EXISTS;
    }
    a->read_only = false;
    cf_status s = open_db(a, diag);
    if (s == CF_OK && mkdir(a->objects, 0700) != 0 && errno != EEXIST) {
        cf_diag_error(diag, a->objects, 0, "cannot create: %s", strerror(errno));
        s = CF_ERR_CANTCREAT;
    }
    if (s == CF_OK)
        s = migrate(a, diag);
    if (s == CF_OK)
        cf_diag_add(diag, CF_DIAG_NOTE, a->dir, 0, 0,
                    "finished making this store (an earlier init was cut off)");
    return s;
}

cf_status cf_archive_init(const char *dir, cf_diag *diag)
{
    cf_archive *a = archive_new(dir);
    if (a == NULL)
        return CF_ERR_NOMEM;
    cf_status s = CF_OK;
    struct stat st;
    if (stat(a->index, &st) == 0) {
        s = resume_init(a, diag);
        cf_archive_close(a);
        return s;
    }
    if (mkdir(dir, 0700) != 0) {
        int e = errno;
        if (e != EEXIST) {
            cf_diag_error(diag, dir, 0, "cannot create the store folder: %s", strerror(e));
            s = e == ENOENT ? CF_ERR_NOINPUT : CF_ERR_CANTCREAT;
        } else if (!dir_is_empty(dir)) {
            cf_diag_error(diag, dir, 0, "is not empty; a new store needs an empty or new folder");
            s = CF_ERR_EXISTS;
        } else if (chmod(dir, 0700) != 0) {
            cf_diag_error(diag, dir, 0, "cannot be made private: %s", strerror(errno));
            s = CF_ERR_CANTCREAT;
        }
    }
    if (s == CF_OK && mkdir(a->objects, 0700) != 0 && errno != EEXIST) {
        cf_diag_error(diag, a->objects, 0, "cannot create: %s", strerror(errno));
        s = CF_ERR_CANTCREAT;
    }
    /* The index is made owner-only before SQLite opens it; its -wal and -shm files take the
     * same mode from it. */
    if (s == CF_OK) {
        int fd = open(a->index, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            cf_diag_error(diag, a->index, 0, "cannot create: %s", strerror(errno));
            s = CF_ERR_CANTCREAT;
        } else {
            close(fd);
        }
    }
    if (s == CF_OK)
        s = open_db(a, diag);
    if (s == CF_OK)
        s = migrate(a, diag);
    cf_archive_close(a);
    if (s == CF_OK)
        sync_dir(dir);
    return s;
}

/* A store about to be changed must be writable all through: checked up front, so that a
 * read-only store fails with its name before any work, not half-way. */
static cf_status check_writable(const cf_archive *a, cf_diag *diag)
{
    const char *paths[] = {a->dir, a->objects, a->index};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (faccessat(AT_FDCWD, paths[i], W_OK, AT_EACCESS) != 0) {
            cf_diag_error(diag, paths[i], 0,
                          "cannot write to the archive store: %s; nothing was changed",
                          strerror(errno));
            return CF_ERR_CANTCREAT;
        }
    }
    return CF_OK;
}

cf_status cf_archive_open(const char *dir, bool read_only, cf_archive **out, cf_diag *diag)
{
    *out = NULL;
    cf_archive *a = archive_new(dir);
    if (a == NULL)
        return CF_ERR_NOMEM;
    a->read_only = read_only;
    cf_status s = CF_OK;
    struct stat st;
    int e = stat(a->index, &st) != 0 ? errno : S_ISREG(st.st_mode) ? 0 : ENOENT;
    if (e != 0) {
        if (e == ENOENT || e == ENOTDIR)
            cf_diag_error(diag, dir, 0,
                          "is not an archive store (make one with `consentform archive init`)");
        else
            cf_diag_error(diag, dir, 0, "cannot be opened: %s", strerror(e));
        s = CF_ERR_NOINPUT;
    } else if (stat(a->objects, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cf_diag_error(diag, a->objects, 0, "is missing: this store has lost its objects folder");
        s = CF_ERR_DATA;
    } else if (!read_only) {
        s = check_writable(a, diag);
    }
    if (s == CF_OK)
        s = open_db(a, diag);
    if (s == CF_OK)
        s = migrate(a, diag);
    if (s != CF_OK) {
        cf_archive_close(a);
        return s;
    }
    *out = a;
    return CF_OK;
}

/* ---- index rows ----------------------------------------------------------------------- */

static void json_string(cf_buf *b, const char *s)
{
    cf_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)(s != NULL ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') {
            cf_buf_putc(b, '\\');
            cf_buf_putc(b, (char)*p);
        } else if (*p < 0x20 || *p == 0x7f) {
            cf_buf_printf(b, "\\u%04x", (unsigned)*p);
        } else {
            cf_buf_putc(b, (char)*p);
        }
    }
    cf_buf_putc(b, '"');
}

static char *labels_json(const cf_archive_label *labels, size_t n)
{
    cf_buf b;
    cf_buf_init(&b, 1u << 20);
    cf_buf_putc(&b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            cf_buf_append_str(&b, ", ");
        json_string(&b, labels[i].key);
        cf_buf_append_str(&b, ": ");
        json_string(&b, labels[i].value);
    }
    cf_buf_putc(&b, '}');
    if (b.error != CF_OK) {
        cf_buf_cleanup(&b);
        return NULL;
    }
    return cf_buf_take(&b, NULL);
}

static const char *label_value(const cf_archive_label *labels, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(labels[i].key, key) == 0)
            return labels[i].value;
    return NULL;
}

static cf_status add_file_row(cf_archive *a, const char *hex, size_t len, const char *type,
                              long long at, cf_diag *diag)
{
    sqlite3_stmt *s = prepare(a, "INSERT OR IGNORE INTO files(hash, size, media_type, added_at) "
                                 "VALUES (?, ?, ?, ?)");
    if (s == NULL)
        return db_error(a, diag, "record a file");
    sqlite3_bind_text(s, 1, hex, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)len);
    sqlite3_bind_text(s, 3, type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, at);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? CF_OK : db_error(a, diag, "record a file");
}

static cf_status add_event(cf_archive *a, const char *id, const char *kind, long long at,
                           const char *op, const char *hash, int version, const char *reason,
                           cf_diag *diag)
{
    sqlite3_stmt *s = prepare(a, "INSERT INTO events(document_id, kind, at, operator, file_hash, "
                                 "version, reason) VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (s == NULL)
        return db_error(a, diag, "record an event");
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, at);
    sqlite3_bind_text(s, 4, op, -1, SQLITE_STATIC);
    if (hash != NULL)
        sqlite3_bind_text(s, 5, hash, -1, SQLITE_STATIC);
    if (version > 0)
        sqlite3_bind_int(s, 6, version);
    if (reason != NULL)
        sqlite3_bind_text(s, 7, reason, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? CF_OK : db_error(a, diag, "record an event");
}

/* What the index knows of one document. */
typedef struct document_state {
    bool known;
    bool registered;                      /* issued from this store (not filed unregistered) */
    char issued_hash[CF_SHA256_HEX_SIZE]; /* "" when none */
} document_state;

static cf_status find_document(cf_archive *a, const char *id, document_state *d, cf_diag *diag)
{
    memset(d, 0, sizeof *d);
    sqlite3_stmt *s = prepare(a, "SELECT issued_hash, registered FROM documents WHERE id = ?");
    if (s == NULL)
        return db_error(a, diag, "be read");
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        d->known = true;
        d->registered = sqlite3_column_int(s, 1) != 0;
        const unsigned char *h = sqlite3_column_text(s, 0);
        if (h != NULL)
            snprintf(d->issued_hash, sizeof d->issued_hash, "%s", (const char *)h);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? CF_OK : db_error(a, diag, "be read");
}

/* The version of the signed copy of id whose bytes hash to hex (0: none), and the highest
 * version filed so far. */
static cf_status scan_versions(cf_archive *a, const char *id, const char *hex, int *same,
                               int *highest, cf_diag *diag)
{
    *same = 0;
    *highest = 0;
    sqlite3_stmt *s =
        prepare(a, "SELECT COALESCE(MIN(CASE WHEN file_hash = ?2 THEN version END), 0),"
                   " COALESCE(MAX(version), 0) FROM events"
                   " WHERE document_id = ?1 AND kind = 'signed-copy-added'");
    if (s == NULL)
        return db_error(a, diag, "be read");
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, hex, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *same = sqlite3_column_int(s, 0);
        *highest = sqlite3_column_int(s, 1);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? CF_OK : db_error(a, diag, "be read");
}

static cf_status insert_document(cf_archive *a, const char *id, const char *form_id,
                                 const char *version, const cf_archive_label *labels,
                                 size_t n_labels, long long issued_at, const char *hash,
                                 bool registered, cf_diag *diag)
{
    char *json = labels_json(labels, n_labels);
    if (json == NULL)
        return CF_ERR_NOMEM;
    sqlite3_stmt *s = prepare(a, "INSERT INTO documents(id, form_id, form_version, labels, "
                                 "hospital_no, issued_at, issued_hash, registered) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (s == NULL) {
        cf_free(json);
        return db_error(a, diag, "record a document");
    }
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, form_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, version != NULL ? version : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, json, -1, SQLITE_STATIC);
    const char *hn = label_value(labels, n_labels, "hospital_no");
    if (hn != NULL)
        sqlite3_bind_text(s, 5, hn, -1, SQLITE_STATIC);
    if (registered)
        sqlite3_bind_int64(s, 6, issued_at);
    if (hash != NULL)
        sqlite3_bind_text(s, 7, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 8, registered ? 1 : 0);
    cf_status st = sqlite3_step(s) == SQLITE_DONE ? CF_OK : db_error(a, diag, "record a document");
    sqlite3_finalize(s);
    cf_free(json);
    return st;
}

static cf_status begin(cf_archive *a, cf_diag *diag)
{
    return exec(a, "BEGIN IMMEDIATE", diag, "start a change");
}

/* Commits when st is CF_OK, otherwise rolls back; returns the outcome. */
static cf_status finish(cf_archive *a, cf_status st, cf_diag *diag)
{
    if (st == CF_OK)
        st = exec(a, "COMMIT", diag, "commit a change");
    if (st != CF_OK)
        (void)sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

/* ---- changes -------------------------------------------------------------------------- */

/* register_issued on an id the index already holds: the same PDF again is a re-run of the same
 * job (nothing to do); anything else is refused. */
static cf_status already_registered(const cf_archive *a, const char *id, const document_state *d,
                                    const char *hex, cf_diag *diag)
{
    if (d->registered && strcmp(d->issued_hash, hex) == 0)
        return CF_OK;
    if (d->registered)
        cf_diag_error(diag, a->dir, 0,
                      "document %s is already registered with another PDF (sha256 %.16s…); "
                      "nothing was changed",
                      id, d->issued_hash);
    else
        cf_diag_error(diag, a->dir, 0,
                      "document %s is already in the store, filed as a signed copy that was not "
                      "issued here; nothing was changed",
                      id);
    return CF_ERR_EXISTS;
}

cf_status cf_archive_register_issued(cf_archive *a, const char *id, const char *form_id,
                                     const char *form_version, const cf_archive_label *labels,
                                     size_t n_labels, const unsigned char *pdf, size_t len,
                                     long long issued_at, const char *op, cf_diag *diag)
{
    cf_status st = check_change(a, id, op, diag);
    if (st == CF_OK)
        st = check_text("form id", form_id, NAME_MAX_BYTES, /*may_be_empty*/ false, diag);
    if (st == CF_OK)
        st = check_text("form version", form_version, NAME_MAX_BYTES, /*may_be_empty*/ true, diag);
    if (st == CF_OK)
        st = check_labels(labels, n_labels, diag);
    if (st == CF_OK && (pdf == NULL || cf_archive_sniff(pdf, len) == NULL ||
                        strcmp(cf_archive_sniff(pdf, len), "application/pdf") != 0)) {
        cf_diag_error(diag, NULL, 0, "document %s: the issued copy is not a PDF", id);
        st = CF_ERR_DATA;
    }
    if (st != CF_OK)
        return st;
    char hex[CF_SHA256_HEX_SIZE];
    cf_sha256_hex(pdf, len, hex);
    document_state doc;
    /* A look first, so that a refused or repeated registration writes no object. */
    pthread_mutex_lock(&a->lock);
    st = find_document(a, id, &doc, diag);
    pthread_mutex_unlock(&a->lock);
    if (st == CF_OK && doc.known)
        return already_registered(a, id, &doc, hex, diag);
    /* The object is written outside the lock, so the threads of a batch sync their files at
     * the same time; only the index rows are serialised. */
    if (st == CF_OK)
        st = cf_object_write(a->objects, hex, pdf, len, diag);
    if (st != CF_OK)
        return st;
    pthread_mutex_lock(&a->lock);
    st = begin(a, diag);
    if (st == CF_OK) {
        st = find_document(a, id, &doc, diag); /* another process may have been quicker */
        if (st == CF_OK && doc.known) {
            st = already_registered(a, id, &doc, hex, diag);
        } else {
            if (st == CF_OK)
                st = add_file_row(a, hex, len, "application/pdf", issued_at, diag);
            if (st == CF_OK)
                st = insert_document(a, id, form_id, form_version, labels, n_labels, issued_at, hex,
                                     /*registered*/ true, diag);
            if (st == CF_OK)
                st = add_event(a, id, "issued", issued_at, op, hex, 0, NULL, diag);
        }
        st = finish(a, st, diag);
    }
    pthread_mutex_unlock(&a->lock);
    return st;
}

/* Decides what add_scan does with the document as the index has it now: *proceed false when
 * the very same scan was filed before (its version in *version). */
static cf_status scan_plan(cf_archive *a, const char *id, const char *hex, bool unregistered,
                           bool *proceed, int *version, int *next, document_state *doc,
                           cf_diag *diag)
{
    *proceed = false;
    cf_status st = find_document(a, id, doc, diag);
    if (st != CF_OK)
        return st;
    if (!doc->known && !unregistered) {
        cf_diag_error(diag, a->dir, 0,
                      "document %s was never issued from this store; check the id, or file the "
                      "scan as unregistered with the patient's label values",
                      id);
        return CF_ERR_DATA;
    }
    int same = 0, highest = 0;
    if (doc->known && (st = scan_versions(a, id, hex, &same, &highest, diag)) != CF_OK)
        return st;
    if (same > 0) {
        *version = same;
        cf_diag_add(diag, CF_DIAG_NOTE, a->dir, 0, 0,
                    "document %s: this scan was filed before, as version %d; nothing was changed",
                    id, same);
        return CF_OK;
    }
    *proceed = true;
    *next = highest + 1;
    return CF_OK;
}

cf_status cf_archive_add_scan(cf_archive *a, const char *id, const unsigned char *data, size_t len,
                              long long at, const char *op, const char *form_id,
                              const cf_archive_label *labels, size_t n_labels, int *version,
                              bool *already_filed, cf_diag *diag)
{
    *version = 0;
    if (already_filed != NULL)
        *already_filed = false;
    cf_status st = check_change(a, id, op, diag);
    bool unregistered = labels != NULL;
    if (st == CF_OK && unregistered)
        st = check_labels(labels, n_labels, diag);
    if (st == CF_OK && unregistered)
        st = check_text("form id", form_id, NAME_MAX_BYTES, /*may_be_empty*/ false, diag);
    if (st != CF_OK)
        return st;
    if (len > CF_ARCHIVE_SCAN_MAX) {
        cf_diag_error(diag, NULL, 0, "the scan has %zu bytes; at most %zu MB is accepted", len,
                      CF_ARCHIVE_SCAN_MAX >> 20);
        return CF_ERR_LIMIT;
    }
    const char *type = cf_archive_sniff(data, len);
    if (type == NULL) {
        cf_diag_error(diag, NULL, 0, "the scan is not a PDF, PNG, JPEG or TIFF file");
        return CF_ERR_DATA;
    }
    char hex[CF_SHA256_HEX_SIZE];
    cf_sha256_hex(data, len, hex);
    bool proceed = false;
    int next = 0;
    document_state doc;
    pthread_mutex_lock(&a->lock);
    st = scan_plan(a, id, hex, unregistered, &proceed, version, &next, &doc, diag);
    pthread_mutex_unlock(&a->lock);
    if (st != CF_OK || !proceed) {
        if (already_filed != NULL)
            *already_filed = st == CF_OK;
        return st;
    }
    st = cf_object_write(a->objects, hex, data, len, diag);
    if (st != CF_OK)
        return st;
    pthread_mutex_lock(&a->lock);
    st = begin(a, diag);
    if (st == CF_OK) {
        /* Planned again inside the transaction: another process may have filed meanwhile. */
        st = scan_plan(a, id, hex, unregistered, &proceed, version, &next, &doc, diag);
        if (st == CF_OK && proceed) {
            if (!doc.known)
                st = insert_document(a, id, form_id, NULL, labels, n_labels, at, NULL,
                                     /*registered*/ false, diag);
            else if (unregistered)
                cf_diag_warning(diag, a->dir, 0,
                                "document %s is already in the store; the label values given "
                                "were not used",
                                id);
            if (st == CF_OK)
                st = add_file_row(a, hex, len, type, at, diag);
            if (st == CF_OK)
                st = add_event(a, id, "signed-copy-added", at, op, hex, next, NULL, diag);
        }
        st = finish(a, st, diag);
        if (st == CF_OK && proceed)
            *version = next;
        else if (st != CF_OK)
            *version = 0;
        if (already_filed != NULL)
            *already_filed = st == CF_OK && !proceed;
    }
    pthread_mutex_unlock(&a->lock);
    return st;
}

cf_status cf_archive_void(cf_archive *a, const char *id, const char *reason, long long at,
                          const char *op, cf_diag *diag)
{
    cf_status st = check_change(a, id, op, diag);
    if (st == CF_OK)
        st = check_text("reason for voiding", reason, REASON_MAX, /*may_be_empty*/ false, diag);
    if (st != CF_OK)
        return st;
    pthread_mutex_lock(&a->lock);
    st = begin(a, diag);
    if (st == CF_OK) {
        document_state doc;
        st = find_document(a, id, &doc, diag);
        if (st == CF_OK && !doc.known) {
            cf_diag_error(diag, a->dir, 0, "no document %s in the store", id);
            st = CF_ERR_NOINPUT;
        }
        if (st == CF_OK)
            st = add_event(a, id, "voided", at, op, NULL, 0, reason, diag);
        st = finish(a, st, diag);
    }
    pthread_mutex_unlock(&a->lock);
    return st;
}

/* ---- queries -------------------------------------------------------------------------- */

static void format_time(long long t, char *out, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t < 0 || gmtime_r(&tt, &tm) == NULL)
        snprintf(out, size, "-");
    else
        strftime(out, size, "%Y-%m-%d %H:%M UTC", &tm);
}

/* The value of "key" in a labels JSON object written by labels_json (enough for display). */
static void json_value(const char *json, const char *key, char *out, size_t size)
{
    char pattern[96];
    snprintf(pattern, sizeof pattern, "\"%s\": \"", key);
    out[0] = '\0';
    const char *p = json != NULL ? strstr(json, pattern) : NULL;
    if (p == NULL)
        return;
    p += strlen(pattern);
    size_t n = 0;
    while (*p && *p != '"' && n + 1 < size) {
        if (*p == '\\' && p[1] != '\0')
            p++;
        out[n++] = *p++;
    }
    out[n] = '\0';
}

/* "form@version", or the form alone when the version is not known (a scan filed unregistered). */
static void form_name(char *out, size_t size, const unsigned char *form,
                      const unsigned char *version)
{
    const char *f = form != NULL ? (const char *)form : "?";
    if (version != NULL && version[0] != '\0')
        snprintf(out, size, "%s@%s", f, (const char *)version);
    else
        snprintf(out, size, "%s", f);
}

cf_status cf_archive_list(cf_archive *a, const cf_archive_filter *f, FILE *out, size_t *count,
                          cf_diag *diag)
{
    *count = 0;
    pthread_mutex_lock(&a->lock);
    sqlite3_stmt *s = NULL;
    const char *sql =
        "SELECT d.id, d.form_id, d.form_version, d.issued_at, d.labels,"
        " (SELECT COUNT(*) FROM events e WHERE e.document_id = d.id AND e.kind = "
        "'signed-copy-added'),"
        " (SELECT COUNT(*) FROM events e WHERE e.document_id = d.id AND e.kind = 'voided')"
        " FROM documents d"
        " WHERE (?1 IS NULL OR d.hospital_no = ?1) AND (?2 IS NULL OR d.form_id = ?2)"
        " ORDER BY d.issued_at, d.id";
    cf_status st = CF_OK;
    if (sqlite3_prepare_v2(a->db, sql, -1, &s, NULL) != SQLITE_OK) {
        st = db_error(a, diag, "be read");
        pthread_mutex_unlock(&a->lock);
        return st;
    }
    if (f->hospital_no != NULL)
        sqlite3_bind_text(s, 1, f->hospital_no, -1, SQLITE_STATIC);
    if (f->form_id != NULL)
        sqlite3_bind_text(s, 2, f->form_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int signed_copies = sqlite3_column_int(s, 5), voided = sqlite3_column_int(s, 6);
        bool issued = sqlite3_column_type(s, 3) != SQLITE_NULL;
        if (f->unsigned_only && (signed_copies > 0 || voided > 0 || !issued))
            continue;
        char when[40], hn[256], name[256], status[40];
        format_time(issued ? sqlite3_column_int64(s, 3) : -1, when, sizeof when);
        const char *labels = (const char *)sqlite3_column_text(s, 4);
        json_value(labels, "hospital_no", hn, sizeof hn);
        json_value(labels, "patient_name", name, sizeof name);
        if (voided > 0)
            snprintf(status, sizeof status, "void");
        else if (signed_copies > 0)
            snprintf(status, sizeof status, "signed(%d)", signed_copies);
        else
            snprintf(status, sizeof status, "unsigned");
        char form[420];
        form_name(form, sizeof form, sqlite3_column_text(s, 1), sqlite3_column_text(s, 2));
        fprintf(out, "%s  %s  %s  %-10s  %s  %s\n", (const char *)sqlite3_column_text(s, 0), form,
                when, status, hn, name);
        (*count)++;
    }
    if (rc != SQLITE_DONE)
        st = db_error(a, diag, "be read");
    sqlite3_finalize(s);
    pthread_mutex_unlock(&a->lock);
    return st;
}

/* Prepares the query of one document's record (form_id, form_version, labels, issued_at,
 * issued_hash, registered) and steps to its row; CF_ERR_NOINPUT for an unknown id. */
static cf_status query_document(cf_archive *a, const char *id, sqlite3_stmt **s, cf_diag *diag)
{
    if (sqlite3_prepare_v2(a->db,
                           "SELECT form_id, form_version, labels, issued_at, issued_hash, "
                           "registered FROM documents WHERE id = ?",
                           -1, s, NULL) != SQLITE_OK)
        return db_error(a, diag, "be read");
    sqlite3_bind_text(*s, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(*s) != SQLITE_ROW) {
        cf_diag_error(diag, a->dir, 0, "no document %s in the store", id);
        return CF_ERR_NOINPUT;
    }
    return CF_OK;
}

cf_status cf_archive_show(cf_archive *a, const char *id, FILE *out, cf_diag *diag)
{
    if (check_id(a, id, diag) != CF_OK)
        return CF_ERR_DATA;
    pthread_mutex_lock(&a->lock);
    sqlite3_stmt *s = NULL;
    cf_status st = query_document(a, id, &s, diag);
    if (st != CF_OK)
        goto done;
    char when[40];
    format_time(sqlite3_column_type(s, 3) != SQLITE_NULL ? sqlite3_column_int64(s, 3) : -1, when,
                sizeof when);
    char form[420];
    form_name(form, sizeof form, sqlite3_column_text(s, 0), sqlite3_column_text(s, 1));
    fprintf(out, "document %s\n  form      %s%s\n  labels    %s\n  issued    %s\n", id, form,
            sqlite3_column_int(s, 5) ? "" : " (filed without being issued here)",
            (const char *)sqlite3_column_text(s, 2), when);
    if (sqlite3_column_type(s, 4) != SQLITE_NULL)
        fprintf(out, "  issued PDF sha256 %s\n", (const char *)sqlite3_column_text(s, 4));
    sqlite3_finalize(s);
    s = NULL;
    if (sqlite3_prepare_v2(a->db,
                           "SELECT seq, kind, at, operator, file_hash, version, reason FROM events "
                           "WHERE document_id = ? ORDER BY seq",
                           -1, &s, NULL) != SQLITE_OK) {
        st = db_error(a, diag, "be read");
        goto done;
    }
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    fprintf(out, "history\n");
    while (sqlite3_step(s) == SQLITE_ROW) {
        format_time(sqlite3_column_int64(s, 2), when, sizeof when);
        fprintf(out, "  %s  %-17s by %s", when, (const char *)sqlite3_column_text(s, 1),
                (const char *)sqlite3_column_text(s, 3));
        if (sqlite3_column_type(s, 5) != SQLITE_NULL)
            fprintf(out, "  version %d", sqlite3_column_int(s, 5));
        if (sqlite3_column_type(s, 4) != SQLITE_NULL)
            fprintf(out, "  sha256 %.16s…", (const char *)sqlite3_column_text(s, 4));
        if (sqlite3_column_type(s, 6) != SQLITE_NULL)
            fprintf(out, "  reason: %s", (const char *)sqlite3_column_text(s, 6));
        fputc('\n', out);
    }
done:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&a->lock);
    return st;
}

static const char *extension(const char *type)
{
    if (strcmp(type, "image/png") == 0)
        return "png";
    if (strcmp(type, "image/jpeg") == 0)
        return "jpg";
    if (strcmp(type, "image/tiff") == 0)
        return "tif";
    return "pdf";
}

static cf_status export_object(cf_archive *a, const char *hex, const char *dir, const char *name,
                               bool force, cf_diag *diag)
{
    char *data = NULL;
    size_t len = 0;
    cf_status st = cf_object_load(a->objects, hex, &data, &len, diag);
    if (st != CF_OK)
        return st;
    char *path = join(dir, name);
    st = path != NULL ? cf_file_write_atomic(path, data, len, force, diag) : CF_ERR_NOMEM;
    cf_free(path);
    cf_free(data);
    return st;
}

cf_status cf_archive_export(cf_archive *a, const char *id, const char *dir, bool force,
                            cf_diag *diag)
{
    if (check_id(a, id, diag) != CF_OK)
        return CF_ERR_DATA;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        cf_diag_error(diag, dir, 0, "cannot create: %s", strerror(errno));
        return CF_ERR_CANTCREAT;
    }
    pthread_mutex_lock(&a->lock);
    cf_buf json;
    cf_buf_init(&json, 1u << 24);
    sqlite3_stmt *s = NULL;
    cf_status st = query_document(a, id, &s, diag);
    if (st != CF_OK)
        goto done;
    cf_buf_append_str(&json, "{\n  \"document_id\": ");
    json_string(&json, id);
    cf_buf_append_str(&json, ",\n  \"form\": ");
    json_string(&json, (const char *)sqlite3_column_text(s, 0));
    cf_buf_append_str(&json, ",\n  \"form_version\": ");
    json_string(&json, (const char *)sqlite3_column_text(s, 1));
    cf_buf_append_str(&json, ",\n  \"labels\": ");
    cf_buf_append_str(&json, (const char *)sqlite3_column_text(s, 2));
    if (sqlite3_column_type(s, 3) != SQLITE_NULL)
        cf_buf_printf(&json, ",\n  \"issued_at\": %lld", (long long)sqlite3_column_int64(s, 3));
    if (sqlite3_column_type(s, 4) != SQLITE_NULL) {
        char hex[CF_SHA256_HEX_SIZE];
        snprintf(hex, sizeof hex, "%s", (const char *)sqlite3_column_text(s, 4));
        cf_buf_append_str(&json, ",\n  \"issued_pdf\": {\"file\": \"issued.pdf\", \"sha256\": ");
        json_string(&json, hex);
        cf_buf_append_str(&json, "}");
        st = export_object(a, hex, dir, "issued.pdf", force, diag);
    }
    sqlite3_finalize(s);
    s = NULL;
    if (st != CF_OK)
        goto done;
    cf_buf_append_str(&json, ",\n  \"events\": [");
    if (sqlite3_prepare_v2(a->db,
                           "SELECT e.kind, e.at, e.operator, e.file_hash, e.version, e.reason, "
                           "f.media_type FROM events e LEFT JOIN files f ON f.hash = e.file_hash "
                           "WHERE e.document_id = ? ORDER BY e.seq",
                           -1, &s, NULL) != SQLITE_OK) {
        st = db_error(a, diag, "be read");
        goto done;
    }
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    bool first = true;
    while (st == CF_OK && sqlite3_step(s) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(s, 0);
        cf_buf_append_str(&json, first ? "\n    {\"kind\": " : ",\n    {\"kind\": ");
        first = false;
        json_string(&json, kind);
        cf_buf_printf(&json,
                      ", \"at\": %lld, \"operator\": ", (long long)sqlite3_column_int64(s, 1));
        json_string(&json, (const char *)sqlite3_column_text(s, 2));
        if (strcmp(kind, "signed-copy-added") == 0 && sqlite3_column_type(s, 3) != SQLITE_NULL) {
            char hex[CF_SHA256_HEX_SIZE], name[64];
            snprintf(hex, sizeof hex, "%s", (const char *)sqlite3_column_text(s, 3));
            const char *type = (const char *)sqlite3_column_text(s, 6);
            snprintf(name, sizeof name, "signed-%d.%s", sqlite3_column_int(s, 4),
                     extension(type != NULL ? type : "application/pdf"));
            cf_buf_printf(&json, ", \"version\": %d, \"file\": ", sqlite3_column_int(s, 4));
            json_string(&json, name);
            cf_buf_append_str(&json, ", \"sha256\": ");
            json_string(&json, hex);
            st = export_object(a, hex, dir, name, force, diag);
        }
        if (sqlite3_column_type(s, 5) != SQLITE_NULL) {
            cf_buf_append_str(&json, ", \"reason\": ");
            json_string(&json, (const char *)sqlite3_column_text(s, 5));
        }
        cf_buf_putc(&json, '}');
    }
    cf_buf_append_str(&json, "\n  ]\n}\n");
    if (st == CF_OK && json.error != CF_OK)
        st = json.error;
    if (st == CF_OK) {
        char *path = join(dir, "record.json");
        st = path != NULL ? cf_file_write_atomic(path, json.data, json.len, force, diag)
                          : CF_ERR_NOMEM;
        cf_free(path);
    }
done:
    sqlite3_finalize(s);
    cf_buf_cleanup(&json);
    pthread_mutex_unlock(&a->lock);
    return st;
}

/* ---- verify --------------------------------------------------------------------------- */

/* True when some files row names hash. */
static bool file_known(cf_archive *a, const char *hash)
{
    sqlite3_stmt *s = prepare(a, "SELECT 1 FROM files WHERE hash = ?");
    bool found = false;
    if (s != NULL) {
        sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
        found = sqlite3_step(s) == SQLITE_ROW;
    }
    sqlite3_finalize(s);
    return found;
}

typedef struct verify_run {
    cf_archive *a;
    FILE *out;
    size_t objects, problems, notes;
} verify_run;

/* Prints one finding; a note does not make the store unsound. */
static void finding(verify_run *v, bool note, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void finding(verify_run *v, bool note, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(v->out, fmt, ap);
    va_end(ap);
    fputc('\n', v->out);
    if (note)
        v->notes++;
    else
        v->problems++;
}

/* 1. The index itself: SQLite's own check. */
static void verify_index(verify_run *v)
{
    sqlite3_stmt *s = prepare(v->a, "PRAGMA integrity_check");
    int rc = SQLITE_ERROR;
    while (s != NULL && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *msg = (const char *)sqlite3_column_text(s, 0);
        if (msg != NULL && strcmp(msg, "ok") != 0)
            finding(v, false, "index.sqlite: %s", msg);
    }
    if (rc != SQLITE_DONE)
        finding(v, false, "index.sqlite: cannot be checked: %s", sqlite3_errmsg(v->a->db));
    sqlite3_finalize(s);
}

/* 2. Every recorded file: present, the content its name says, the recorded size. */
static cf_status verify_files(verify_run *v, cf_diag *diag)
{
    sqlite3_stmt *s = prepare(v->a, "SELECT hash, size FROM files ORDER BY hash");
    if (s == NULL)
        return db_error(v->a, diag, "be read");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *hex = (const char *)sqlite3_column_text(s, 0);
        long long size = sqlite3_column_int64(s, 1);
        if (hex == NULL || !cf_object_is_hash(hex)) {
            finding(v, false, "index.sqlite: a file is recorded under the bad name \"%.70s\"",
                    hex != NULL ? hex : "");
            continue;
        }
        cf_object_report r;
        cf_object_check(v->a->objects, hex, &r);
        v->objects++;
        switch (r.state) {
        case CF_OBJECT_MISSING:
            finding(v, false, "objects/%.2s/%s: missing (the index records it)", hex, hex + 2);
            break;
        case CF_OBJECT_UNREADABLE:
            finding(v, false, "objects/%.2s/%s: cannot be read: %s", hex, hex + 2,
                    strerror(r.error));
            break;
        case CF_OBJECT_CHANGED:
            finding(v, false, "objects/%.2s/%s: content changed (its SHA-256 is now %s)", hex,
                    hex + 2, r.actual_hex);
            break;
        case CF_OBJECT_SOUND:
            if (r.size != size)
                finding(v, false, "objects/%.2s/%s: %lld bytes, the index says %lld", hex, hex + 2,
                        r.size, size);
            else if (r.writable)
                finding(v, true, "objects/%.2s/%s: note: writable (objects are kept read-only)",
                        hex, hex + 2);
            break;
        }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? CF_OK : db_error(v->a, diag, "be read");
}

/* 3. Every hash a document or an event names is a recorded file. */
static cf_status verify_references(verify_run *v, cf_diag *diag)
{
    sqlite3_stmt *s = prepare(v->a, "SELECT id, issued_hash FROM documents"
                                    " WHERE issued_hash IS NOT NULL"
                                    " AND issued_hash NOT IN (SELECT hash FROM files)"
                                    " UNION ALL SELECT document_id, file_hash FROM events"
                                    " WHERE file_hash IS NOT NULL"
                                    " AND file_hash NOT IN (SELECT hash FROM files)");
    if (s == NULL)
        return db_error(v->a, diag, "be read");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        finding(v, false, "document %s: names object %.70s, which the index does not hold",
                (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1));
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? CF_OK : db_error(v->a, diag, "be read");
}

/* 4. Every file under objects/ is a recorded object. One the index does not name is what an
 * add cut off between its object and its row leaves: a note, not a problem. */
static bool verify_entry(void *context, cf_object_entry kind, const char *path, const char *hex)
{
    verify_run *v = context;
    if (kind == CF_OBJECT_ENTRY_LEFTOVER)
        finding(v, true, "%s: note: left over from an interrupted write", path);
    else if (kind == CF_OBJECT_ENTRY_STRAY)
        finding(v, false, "%s: not an object of this store", path);
    else if (!file_known(v->a, hex))
        finding(v, true, "%s: note: not in the index (an add that was cut off)", path);
    return true;
}

/* 5. Privacy: the store and its index stay owner-only. */
static void verify_modes(verify_run *v)
{
    struct stat st;
    if (stat(v->a->dir, &st) == 0 && (st.st_mode & 077) != 0)
        finding(v, true, "%s: note: others may open the store (mode %03o; it should be 700)",
                v->a->dir, (unsigned)(st.st_mode & 0777));
    if (stat(v->a->index, &st) == 0 && (st.st_mode & 077) != 0)
        finding(v, true, "index.sqlite: note: others may read it (mode %03o; it should be 600)",
                (unsigned)(st.st_mode & 0777));
}

static cf_status record_verified(cf_archive *a, long long at, const char *op, cf_diag *diag)
{
    cf_status st = begin(a, diag);
    if (st != CF_OK)
        return st;
    sqlite3_stmt *s = prepare(a, "INSERT INTO events(document_id, kind, at, operator)"
                                 " SELECT id, 'verified', ?, ? FROM documents");
    if (s == NULL) {
        st = db_error(a, diag, "record the verification");
    } else {
        sqlite3_bind_int64(s, 1, at);
        sqlite3_bind_text(s, 2, op, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            st = db_error(a, diag, "record the verification");
    }
    sqlite3_finalize(s);
    return finish(a, st, diag);
}

cf_status cf_archive_verify(cf_archive *a, FILE *out, bool record, long long at, const char *op,
                            size_t *problems, cf_diag *diag)
{
    *problems = 0;
    if (record && check_change(a, "0", op, diag) != CF_OK)
        return a->read_only ? CF_ERR_CANTCREAT : CF_ERR_DATA;
    verify_run v = {.a = a, .out = out};
    pthread_mutex_lock(&a->lock);
    /* One read transaction, so the index does not move under the checks; objects written
     * meanwhile by other processes show up as notes at worst. */
    cf_status st = exec(a, "BEGIN", diag, "be read");
    if (st == CF_OK) {
        verify_index(&v);
        st = verify_files(&v, diag);
        if (st == CF_OK)
            st = verify_references(&v, diag);
        if (st == CF_OK && cf_object_scan_dir(a->objects, verify_entry, &v, diag) != CF_OK)
            finding(&v, false, "objects: cannot be read");
        (void)sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL);
    }
    verify_modes(&v);
    if (st == CF_OK && record && v.problems == 0)
        st = record_verified(a, at, op, diag);
    fprintf(out, "%zu object%s checked: %zu problem%s, %zu note%s\n", v.objects,
            v.objects == 1 ? "" : "s", v.problems, v.problems == 1 ? "" : "s", v.notes,
            v.notes == 1 ? "" : "s");
    pthread_mutex_unlock(&a->lock);
    *problems = v.problems;
    return st;
}
