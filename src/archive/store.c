/* The archive store (see archive.h). */
#include "archive/archive.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/hash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCHEMA_VERSION 1

struct cf_archive {
    char *dir;
    char *objects;
    sqlite3 *db;
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

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = cf_malloc(n);
    if (s != NULL)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

static cf_status db_error(cf_archive *a, cf_diag *diag, const char *what)
{
    int code = sqlite3_errcode(a->db);
    cf_diag_error(diag, a->dir, 0, "the archive index could not %s: %s", what,
                  sqlite3_errmsg(a->db));
    if (code == SQLITE_READONLY || code == SQLITE_CANTOPEN || code == SQLITE_PERM)
        return CF_ERR_CANTCREAT;
    if (code == SQLITE_FULL || code == SQLITE_IOERR)
        return CF_ERR_IO;
    if (code == SQLITE_NOMEM)
        return CF_ERR_NOMEM;
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
        return CF_ERR_DATA;
    return CF_ERR_INTERNAL;
}

static cf_status exec(cf_archive *a, const char *sql, cf_diag *diag, const char *what)
{
    char *err = NULL;
    if (sqlite3_exec(a->db, sql, NULL, NULL, &err) == SQLITE_OK)
        return CF_OK;
    sqlite3_free(err);
    return db_error(a, diag, what);
}

static bool valid_id(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'Z') || id[i] == '-'))
            return false;
    return true;
}

static bool dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    struct dirent *e;
    bool empty = true;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = false;
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

static cf_status open_db(cf_archive *a, bool create, cf_diag *diag)
{
    char *path = join(a->dir, "index.sqlite");
    if (path == NULL)
        return CF_ERR_NOMEM;
    int flags = a->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (create)
        flags |= SQLITE_OPEN_CREATE;
    flags |= SQLITE_OPEN_FULLMUTEX;
    int rc = sqlite3_open_v2(path, &a->db, flags, NULL);
    if (rc == SQLITE_OK && create)
        (void)chmod(path, 0600); /* before the WAL files exist: SQLite gives them these bits */
    cf_free(path);
    if (rc != SQLITE_OK) {
        cf_status st = db_error(a, diag, "be opened");
        return st == CF_ERR_CANTCREAT && !create ? CF_ERR_NOINPUT : st;
    }
    sqlite3_busy_timeout(a->db, 10000);
    cf_status st = exec(a, "PRAGMA foreign_keys = ON;", diag, "be set up");
    if (st == CF_OK && !a->read_only)
        st = exec(a, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;", diag,
                  "be set up");
    return st;
}

static int user_version(cf_archive *a)
{
    sqlite3_stmt *s = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(a->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
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
        cf_diag_error(diag, a->dir, 0,
                      "this store was made by a newer consentform (schema %d; this one knows %d)",
                      v, SCHEMA_VERSION);
        return CF_ERR_DATA;
    }
    if (v == SCHEMA_VERSION)
        return CF_OK;
    if (a->read_only) {
        cf_diag_error(diag, a->dir, 0, "the store needs an update; open it writable once");
        return CF_ERR_DATA;
    }
    cf_status st = exec(a, "BEGIN IMMEDIATE", diag, "start a migration");
    for (int k = v; st == CF_OK && k < SCHEMA_VERSION; k++) {
        st = exec(a, migrations[k], diag, "update its schema");
        if (st == CF_OK) {
            char sql[64];
            snprintf(sql, sizeof sql, "PRAGMA user_version = %d", k + 1);
            st = exec(a, sql, diag, "update its schema");
        }
    }
    if (st == CF_OK)
        return exec(a, "COMMIT", diag, "commit a migration");
    (void)sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

static cf_archive *archive_new(const char *dir)
{
    cf_archive *a = cf_calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->dir = cf_strdup(dir);
    a->objects = join(dir, "objects");
    if (a->dir == NULL || a->objects == NULL) {
        cf_free(a->dir);
        cf_free(a->objects);
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
    cf_free(a);
}

cf_status cf_archive_init(const char *dir, cf_diag *diag)
{
    struct stat st;
    char *index = join(dir, "index.sqlite");
    if (index == NULL)
        return CF_ERR_NOMEM;
    bool exists = stat(index, &st) == 0;
    cf_free(index);
    if (exists) {
        cf_diag_error(diag, dir, 0, "is already an archive store; nothing was changed");
        return CF_ERR_EXISTS;
    }
    if (mkdir(dir, 0700) != 0) {
        if (errno != EEXIST) {
            cf_diag_error(diag, dir, 0, "cannot create the store folder: %s", strerror(errno));
            return CF_ERR_CANTCREAT;
        }
        if (!dir_is_empty(dir)) {
            cf_diag_error(diag, dir, 0, "is not empty; a new store needs an empty or new folder");
            return CF_ERR_EXISTS;
        }
        (void)chmod(dir, 0700);
    }
    cf_archive *a = archive_new(dir);
    if (a == NULL)
        return CF_ERR_NOMEM;
    cf_status s = CF_OK;
    if (mkdir(a->objects, 0700) != 0 && errno != EEXIST) {
        cf_diag_error(diag, a->objects, 0, "cannot create: %s", strerror(errno));
        s = CF_ERR_CANTCREAT;
    }
    if (s == CF_OK)
        s = open_db(a, true, diag);
    if (s == CF_OK)
        s = migrate(a, diag);
    cf_archive_close(a);
    if (s == CF_OK)
        sync_dir(dir);
    return s;
}

cf_status cf_archive_open(const char *dir, bool read_only, cf_archive **out, cf_diag *diag)
{
    *out = NULL;
    struct stat st;
    char *index = join(dir, "index.sqlite");
    if (index == NULL)
        return CF_ERR_NOMEM;
    bool exists = stat(index, &st) == 0 && S_ISREG(st.st_mode);
    cf_free(index);
    if (!exists) {
        cf_diag_error(diag, dir, 0, "is not an archive store (run `consentform archive init %s`)",
                      dir);
        return CF_ERR_NOINPUT;
    }
    cf_archive *a = archive_new(dir);
    if (a == NULL)
        return CF_ERR_NOMEM;
    a->read_only = read_only;
    cf_status s = open_db(a, false, diag);
    if (s == CF_OK)
        s = migrate(a, diag);
    if (s != CF_OK) {
        cf_archive_close(a);
        return s;
    }
    *out = a;
    return CF_OK;
}

const char *cf_archive_sniff(const unsigned char *d, size_t n)
{
    if (d == NULL)
        return NULL;
    if (n >= 5 && memcmp(d, "%PDF-", 5) == 0)
        return "application/pdf";
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return "image/jpeg";
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0))
        return "image/tiff";
    return NULL;
}

/* ---- objects -------------------------------------------------------------------------- */

static char *object_path(const cf_archive *a, const char *hex)
{
    size_t n = strlen(a->objects) + 80;
    char *p = cf_malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%.2s/%s", a->objects, hex, hex + 2);
    return p;
}

/* Stores data as an object named by its hash (already there: nothing to do). */
static cf_status put_object(cf_archive *a, const unsigned char *data, size_t len,
                            const char *hex, cf_diag *diag)
{
    char *path = object_path(a, hex);
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/%.2s", a->objects, hex);
    if (path == NULL)
        return CF_ERR_NOMEM;
    struct stat st;
    if (stat(path, &st) == 0 && (size_t)st.st_size == len) {
        cf_free(path);
        return CF_OK;
    }
    if (mkdir(sub, 0700) != 0 && errno != EEXIST) {
        cf_diag_error(diag, a->dir, 0, "cannot write to the store: %s", strerror(errno));
        cf_free(path);
        return errno == ENOSPC ? CF_ERR_IO : CF_ERR_CANTCREAT;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/.new-XXXXXX", sub);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        cf_diag_error(diag, a->dir, 0, "cannot write to the store: %s", strerror(e));
        cf_free(path);
        return e == ENOSPC ? CF_ERR_IO : CF_ERR_CANTCREAT;
    }
    cf_status s = CF_OK;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            cf_diag_error(diag, a->dir, 0, "cannot write to the store: %s",
                          strerror(w < 0 ? errno : EIO));
            s = CF_ERR_IO;
            break;
        }
        done += (size_t)w;
    }
    if (s == CF_OK && (fchmod(fd, 0400) != 0 || fsync(fd) != 0)) {
        cf_diag_error(diag, a->dir, 0, "cannot write to the store: %s", strerror(errno));
        s = CF_ERR_IO;
    }
    if (close(fd) != 0 && s == CF_OK) {
        cf_diag_error(diag, a->dir, 0, "cannot write to the store: %s", strerror(errno));
        s = CF_ERR_IO;
    }
    if (s == CF_OK && link(tmp, path) != 0 && errno != EEXIST) {
        cf_diag_error(diag, a->dir, 0, "cannot write to the store: %s", strerror(errno));
        s = CF_ERR_IO;
    }
    unlink(tmp);
    if (s == CF_OK)
        sync_dir(sub);
    cf_free(path);
    return s;
}

/* Reads an object back; CF_ERR_NOINPUT when it is missing. */
static cf_status read_object(const cf_archive *a, const char *hex, char **data, size_t *len,
                             cf_diag *diag)
{
    char *path = object_path(a, hex);
    if (path == NULL)
        return CF_ERR_NOMEM;
    cf_status s = cf_file_read(path, (size_t)1 << 31, data, len, diag);
    cf_free(path);
    return s;
}

/* ---- index ---------------------------------------------------------------------------- */

static void json_string(cf_buf *b, const char *s)
{
    cf_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)(s != NULL ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') {
            cf_buf_putc(b, '\\');
            cf_buf_putc(b, (char)*p);
        } else if (*p < 0x20) {
            cf_buf_printf(b, "\\u%04x", *p);
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
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(a->db,
                           "INSERT OR IGNORE INTO files(hash, size, media_type, added_at) "
                           "VALUES (?, ?, ?, ?)",
                           -1, &s, NULL) != SQLITE_OK)
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
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(a->db,
                           "INSERT INTO events(document_id, kind, at, operator, file_hash, "
                           "version, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           -1, &s, NULL) != SQLITE_OK)
        return db_error(a, diag, "record an event");
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, at);
    sqlite3_bind_text(s, 4, op != NULL && op[0] ? op : "unknown", -1, SQLITE_STATIC);
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

/* The issued hash of a document (copied into hash, "" when none); false when unknown. */
static bool find_document(cf_archive *a, const char *id, char hash[CF_SHA256_HEX_SIZE])
{
    sqlite3_stmt *s = NULL;
    bool found = false;
    hash[0] = '\0';
    if (sqlite3_prepare_v2(a->db, "SELECT issued_hash FROM documents WHERE id = ?", -1, &s,
                           NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        found = true;
        const unsigned char *h = sqlite3_column_text(s, 0);
        if (h != NULL)
            snprintf(hash, CF_SHA256_HEX_SIZE, "%s", (const char *)h);
    }
    sqlite3_finalize(s);
    return found;
}

static cf_status insert_document(cf_archive *a, const char *id, const char *form_id,
                                 const char *version, const cf_archive_label *labels,
                                 size_t n_labels, long long issued_at, const char *hash,
                                 bool registered, cf_diag *diag)
{
    char *json = labels_json(labels, n_labels);
    if (json == NULL)
        return CF_ERR_NOMEM;
    sqlite3_stmt *s = NULL;
    cf_status st = CF_OK;
    if (sqlite3_prepare_v2(a->db,
                           "INSERT INTO documents(id, form_id, form_version, labels, hospital_no, "
                           "issued_at, issued_hash, registered) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &s, NULL) != SQLITE_OK) {
        cf_free(json);
        return db_error(a, diag, "record a document");
    }
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, form_id != NULL ? form_id : "unknown", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, version != NULL ? version : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, json, -1, SQLITE_STATIC);
    const char *hn = label_value(labels, n_labels, "hospital_no");
    if (hn != NULL)
        sqlite3_bind_text(s, 5, hn, -1, SQLITE_STATIC);
    if (issued_at >= 0)
        sqlite3_bind_int64(s, 6, issued_at);
    if (hash != NULL)
        sqlite3_bind_text(s, 7, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 8, registered ? 1 : 0);
    if (sqlite3_step(s) != SQLITE_DONE)
        st = db_error(a, diag, "record a document");
    sqlite3_finalize(s);
    cf_free(json);
    return st;
}

static cf_status begin(cf_archive *a, cf_diag *diag)
{
    if (a->read_only) {
        cf_diag_error(diag, a->dir, 0, "the store was opened read-only");
        return CF_ERR_CANTCREAT;
    }
    return exec(a, "BEGIN IMMEDIATE", diag, "start a change");
}

static cf_status finish(cf_archive *a, cf_status st, cf_diag *diag)
{
    if (st == CF_OK)
        st = exec(a, "COMMIT", diag, "commit a change");
    if (st != CF_OK)
        (void)sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

cf_status cf_archive_register_issued(cf_archive *a, const char *id, const char *form_id,
                                     const char *form_version, const cf_archive_label *labels,
                                     size_t n_labels, const unsigned char *pdf, size_t len,
                                     long long issued_at, const char *op, cf_diag *diag)
{
    if (!valid_id(id)) {
        cf_diag_error(diag, a->dir, 0, "\"%s\" is not a document id", id != NULL ? id : "");
        return CF_ERR_DATA;
    }
    char hex[CF_SHA256_HEX_SIZE];
    cf_sha256_hex(pdf, len, hex);
    pthread_mutex_lock(&a->lock);
    cf_status st = a->read_only ? begin(a, diag) : put_object(a, pdf, len, hex, diag);
    if (st == CF_OK)
        st = begin(a, diag);
    if (st == CF_OK) {
        char existing[CF_SHA256_HEX_SIZE];
        if (find_document(a, id, existing)) {
            if (strcmp(existing, hex) != 0) {
                cf_diag_error(diag, a->dir, 0,
                              "document %s is already registered with another PDF; nothing "
                              "was changed",
                              id);
                st = CF_ERR_EXISTS;
            }
            st = finish(a, st == CF_OK ? CF_OK : st, diag);
            /* Same PDF again: a re-run of the same batch. */
            pthread_mutex_unlock(&a->lock);
            return st;
        }
        st = add_file_row(a, hex, len, "application/pdf", issued_at, diag);
        if (st == CF_OK)
            st = insert_document(a, id, form_id, form_version, labels, n_labels, issued_at, hex,
                                 true, diag);
        if (st == CF_OK)
            st = add_event(a, id, "issued", issued_at, op, hex, 0, NULL, diag);
        st = finish(a, st, diag);
    }
    pthread_mutex_unlock(&a->lock);
    return st;
}

cf_status cf_archive_add_scan(cf_archive *a, const char *id, const unsigned char *data,
                              size_t len, long long at, const char *op, const char *form_id,
                              const cf_archive_label *labels, size_t n_labels, int *version,
                              cf_diag *diag)
{
    *version = 0;
    if (!valid_id(id)) {
        cf_diag_error(diag, a->dir, 0, "\"%s\" is not a document id", id != NULL ? id : "");
        return CF_ERR_DATA;
    }
    const char *type = cf_archive_sniff(data, len);
    if (type == NULL) {
        cf_diag_error(diag, NULL, 0, "the scan is not a PDF, PNG, JPEG or TIFF file");
        return CF_ERR_DATA;
    }
    if (len > CF_ARCHIVE_SCAN_MAX) {
        cf_diag_error(diag, NULL, 0, "the scan is %zu MB; at most %zu MB is accepted",
                      len >> 20, CF_ARCHIVE_SCAN_MAX >> 20);
        return CF_ERR_LIMIT;
    }
    char hex[CF_SHA256_HEX_SIZE];
    cf_sha256_hex(data, len, hex);
    pthread_mutex_lock(&a->lock);
    cf_status st = begin(a, diag);
    char issued[CF_SHA256_HEX_SIZE];
    bool known = st == CF_OK && find_document(a, id, issued);
    (void)finish(a, CF_ERR_INTERNAL, diag); /* read only so far: roll back */
    if (st == CF_OK && !known && labels == NULL) {
        cf_diag_error(diag, a->dir, 0,
                      "document %s was never issued from this store; check the id, or file it "
                      "with --unregistered and the patient's label values",
                      id);
        st = CF_ERR_DATA;
    }
    if (st == CF_OK)
        st = put_object(a, data, len, hex, diag);
    if (st == CF_OK)
        st = begin(a, diag);
    if (st == CF_OK) {
        known = find_document(a, id, issued);
        if (!known)
            st = insert_document(a, id, form_id, NULL, labels, n_labels, -1, NULL, false, diag);
        sqlite3_stmt *s = NULL;
        int v = 0;
        if (st == CF_OK &&
            sqlite3_prepare_v2(a->db,
                               "SELECT COALESCE(MAX(version), 0) FROM events WHERE document_id = ? "
                               "AND kind = 'signed-copy-added'",
                               -1, &s, NULL) == SQLITE_OK) {
            sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
            if (sqlite3_step(s) == SQLITE_ROW)
                v = sqlite3_column_int(s, 0);
        } else if (st == CF_OK) {
            st = db_error(a, diag, "be read");
        }
        sqlite3_finalize(s);
        if (st == CF_OK)
            st = add_file_row(a, hex, len, type, at, diag);
        if (st == CF_OK)
            st = add_event(a, id, "signed-copy-added", at, op, hex, v + 1, NULL, diag);
        st = finish(a, st, diag);
        if (st == CF_OK)
            *version = v + 1;
    }
    pthread_mutex_unlock(&a->lock);
    return st;
}

cf_status cf_archive_void(cf_archive *a, const char *id, const char *reason, long long at,
                          const char *op, cf_diag *diag)
{
    if (reason == NULL || reason[0] == '\0') {
        cf_diag_error(diag, NULL, 0, "a reason is needed to void a document");
        return CF_ERR_DATA;
    }
    pthread_mutex_lock(&a->lock);
    cf_status st = begin(a, diag);
    char issued[CF_SHA256_HEX_SIZE];
    if (st == CF_OK && !find_document(a, id, issued)) {
        cf_diag_error(diag, a->dir, 0, "no document %s in the store", id);
        st = CF_ERR_NOINPUT;
    }
    if (st == CF_OK)
        st = add_event(a, id, "voided", at, op, NULL, 0, reason, diag);
    st = finish(a, st, diag);
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
        fprintf(out, "%s  %s@%s  %s  %-10s  %s  %s\n", (const char *)sqlite3_column_text(s, 0),
                (const char *)sqlite3_column_text(s, 1), (const char *)sqlite3_column_text(s, 2),
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
    pthread_mutex_lock(&a->lock);
    sqlite3_stmt *s = NULL;
    cf_status st = query_document(a, id, &s, diag);
    if (st != CF_OK)
        goto done;
    char when[40];
    format_time(sqlite3_column_type(s, 3) != SQLITE_NULL ? sqlite3_column_int64(s, 3) : -1, when,
                sizeof when);
    fprintf(out, "document %s\n  form      %s@%s%s\n  labels    %s\n  issued    %s\n", id,
            (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
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
    cf_status st = read_object(a, hex, &data, &len, diag);
    if (st != CF_OK)
        return st;
    char check[CF_SHA256_HEX_SIZE];
    cf_sha256_hex(data, len, check);
    if (strcmp(check, hex) != 0) {
        cf_diag_error(diag, a->dir, 0, "object %s has changed since it was stored; not exported",
                      hex);
        cf_free(data);
        return CF_ERR_DATA;
    }
    char *path = join(dir, name);
    st = path != NULL ? cf_file_write_atomic(path, data, len, force, diag) : CF_ERR_NOMEM;
    cf_free(path);
    cf_free(data);
    return st;
}

cf_status cf_archive_export(cf_archive *a, const char *id, const char *dir, bool force,
                            cf_diag *diag)
{
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
        cf_buf_printf(&json, ", \"at\": %lld, \"operator\": ", (long long)sqlite3_column_int64(s, 1));
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

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[n] == '\0';
}

/* True when some files row names hash. */
static bool file_known(cf_archive *a, const char *hash)
{
    sqlite3_stmt *s = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(a->db, "SELECT 1 FROM files WHERE hash = ?", -1, &s, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
        found = sqlite3_step(s) == SQLITE_ROW;
    }
    sqlite3_finalize(s);
    return found;
}

cf_status cf_archive_verify(cf_archive *a, FILE *out, bool record, long long at, const char *op,
                            size_t *problems, cf_diag *diag)
{
    *problems = 0;
    size_t objects = 0, notes = 0;
    pthread_mutex_lock(&a->lock);
    cf_status st = CF_OK;
    sqlite3_stmt *s = NULL;
    /* 1. The index itself. */
    if (sqlite3_prepare_v2(a->db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            const char *msg = (const char *)sqlite3_column_text(s, 0);
            if (msg != NULL && strcmp(msg, "ok") != 0) {
                fprintf(out, "index.sqlite: %s\n", msg);
                (*problems)++;
            }
        }
    }
    sqlite3_finalize(s);
    s = NULL;
    /* 2. Every recorded file: present, the recorded size, the content its name says. */
    if (sqlite3_prepare_v2(a->db, "SELECT hash, size FROM files ORDER BY hash", -1, &s, NULL) !=
        SQLITE_OK) {
        st = db_error(a, diag, "be read");
        goto done;
    }
    while (sqlite3_step(s) == SQLITE_ROW) {
        char hex[CF_SHA256_HEX_SIZE];
        snprintf(hex, sizeof hex, "%s", (const char *)sqlite3_column_text(s, 0));
        long long size = sqlite3_column_int64(s, 1);
        char *path = object_path(a, hex);
        if (path == NULL) {
            st = CF_ERR_NOMEM;
            break;
        }
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(out, "objects/%.2s/%s: missing (recorded in the index)\n", hex, hex + 2);
            (*problems)++;
            cf_free(path);
            continue;
        }
        cf_sha256 h;
        cf_sha256_init(&h);
        unsigned char buf[65536];
        long long total = 0;
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
            cf_sha256_update(&h, buf, (size_t)n);
            total += n;
        }
        struct stat sb;
        bool writable = fstat(fd, &sb) == 0 && (sb.st_mode & 0222) != 0;
        close(fd);
        unsigned char digest[CF_SHA256_SIZE];
        char got[CF_SHA256_HEX_SIZE];
        cf_sha256_final(&h, digest);
        cf_sha256_to_hex(digest, got);
        objects++;
        if (n < 0) {
            fprintf(out, "objects/%.2s/%s: cannot be read: %s\n", hex, hex + 2, strerror(errno));
            (*problems)++;
        } else if (strcmp(got, hex) != 0) {
            fprintf(out, "objects/%.2s/%s: content changed (its SHA-256 is now %s)\n", hex,
                    hex + 2, got);
            (*problems)++;
        } else if (total != size) {
            fprintf(out, "objects/%.2s/%s: %lld bytes, the index says %lld\n", hex, hex + 2,
                    total, size);
            (*problems)++;
        } else if (writable) {
            fprintf(out, "objects/%.2s/%s: note: writable (objects are kept read-only)\n", hex,
                    hex + 2);
            notes++;
        }
        cf_free(path);
    }
    sqlite3_finalize(s);
    s = NULL;
    /* 3. Every hash the documents and events name is a recorded file. */
    if (sqlite3_prepare_v2(a->db,
                           "SELECT id, issued_hash FROM documents WHERE issued_hash IS NOT NULL "
                           "UNION ALL SELECT document_id, file_hash FROM events WHERE file_hash "
                           "IS NOT NULL",
                           -1, &s, NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            const char *hash = (const char *)sqlite3_column_text(s, 1);
            if (!file_known(a, hash)) {
                fprintf(out, "document %s: names object %s, which the index does not hold\n",
                        (const char *)sqlite3_column_text(s, 0), hash);
                (*problems)++;
            }
        }
    }
    sqlite3_finalize(s);
    s = NULL;
    /* 4. Objects nobody refers to (an add interrupted between the object and its row). */
    DIR *d = opendir(a->objects);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strlen(e->d_name) != 2 || !is_hex(e->d_name, 2))
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", a->objects, e->d_name);
        DIR *d2 = opendir(sub);
        struct dirent *f;
        while (d2 != NULL && (f = readdir(d2)) != NULL) {
            if (f->d_name[0] == '.') {
                if (strncmp(f->d_name, ".new-", 5) == 0) {
                    fprintf(out, "objects/%s/%s: note: left over from an interrupted write\n",
                            e->d_name, f->d_name);
                    notes++;
                }
                continue;
            }
            char hex[CF_SHA256_HEX_SIZE] = "";
            if (strlen(f->d_name) == 62) {
                memcpy(hex, e->d_name, 2);
                memcpy(hex + 2, f->d_name, 63);
            }
            if (hex[0] == '\0' || !is_hex(hex, 64)) {
                fprintf(out, "objects/%s/%s: not an object of this store\n", e->d_name,
                        f->d_name);
                (*problems)++;
            } else if (!file_known(a, hex)) {
                fprintf(out, "objects/%s/%s: note: not in the index (an interrupted add)\n",
                        e->d_name, f->d_name);
                notes++;
            }
        }
        if (d2 != NULL)
            closedir(d2);
    }
    if (d != NULL)
        closedir(d);
    if (st == CF_OK && record && *problems == 0 && !a->read_only) {
        st = begin(a, diag);
        if (st == CF_OK) {
            char sql[256];
            snprintf(sql, sizeof sql,
                     "INSERT INTO events(document_id, kind, at, operator) SELECT id, 'verified', "
                     "%lld, ? FROM documents",
                     at);
            if (sqlite3_prepare_v2(a->db, sql, -1, &s, NULL) != SQLITE_OK) {
                st = db_error(a, diag, "record the verification");
            } else {
                sqlite3_bind_text(s, 1, op != NULL && op[0] ? op : "unknown", -1, SQLITE_STATIC);
                if (sqlite3_step(s) != SQLITE_DONE)
                    st = db_error(a, diag, "record the verification");
            }
            sqlite3_finalize(s);
            s = NULL;
            st = finish(a, st, diag);
        }
    }
    fprintf(out, "%zu object%s checked: %zu problem%s, %zu note%s\n", objects,
            objects == 1 ? "" : "s", *problems, *problems == 1 ? "" : "s", notes,
            notes == 1 ? "" : "s");
done:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&a->lock);
    return st;
}
