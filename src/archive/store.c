/* The archive store (see archive.h): the SQLite index (this is the only file that includes
 * sqlite3.h), the rules every change follows, and the queries over it. Objects are written by
 * objects.c before the index row that names them is committed. */
#include "archive/archive.h"

#include "archive/content.h"
#include "archive/objects.h"
#include "archive/record.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/utf8.h"
#include "data/ward.h"

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
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCHEMA_VERSION 6
#define STORE_ID_HEX 32 /* hex digits of a store id */
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
    bool may_create; /* init and rebuild-index only: an index at schema 0 may be made */
    pthread_mutex_t lock;
    /* The record objects of the change under way, written by finish() (see "Record objects
     * and rolled-back changes"); under lock. */
    struct staged_record *staged;
    size_t n_staged, cap_staged;
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
    /* 2: every row has an immutable record object beside it, the events form a hash chain
     * (prev_hash), the store has an id (also in STORE/store-id, so that an index from another
     * store is refused), and rows cannot be updated. The records of rows made before are
     * written by add_records() in the same transaction; the UPDATE triggers come after it. */
    "ALTER TABLE documents ADD COLUMN record_hash TEXT REFERENCES files(hash);"
    "ALTER TABLE events ADD COLUMN record_hash TEXT REFERENCES files(hash);"
    "ALTER TABLE events ADD COLUMN prev_hash TEXT;"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "DROP TRIGGER events_append_only_update;",
    /* 3: the form's fingerprint (form_sha256: the SHA-256 of what the form says) with each
     * document issued, and the registry of form texts: the fingerprint each form id@version
     * was first issued with, and by which document. The registry is derived from the document
     * records (rebuild-index restores it, verify checks it), and is never changed. Documents
     * issued before have no fingerprint: the first issue of a form after this update
     * registers its text. */
    "ALTER TABLE documents ADD COLUMN form_sha256 TEXT;"
    "CREATE TABLE forms ("
    "  form_id TEXT NOT NULL,"
    "  form_version TEXT NOT NULL,"
    "  form_sha256 TEXT NOT NULL,"
    "  first_document TEXT NOT NULL REFERENCES documents(id),"
    "  PRIMARY KEY (form_id, form_version));"
    "CREATE TRIGGER forms_keep BEFORE DELETE ON forms"
    "  BEGIN SELECT RAISE(ABORT, 'the registry of form texts is never changed'); END;"
    "CREATE TRIGGER forms_no_update BEFORE UPDATE ON forms"
    "  BEGIN SELECT RAISE(ABORT, 'the registry of form texts is never changed'); END;",
    /* 4: events for filing scans (signature-missing, inbox-assigned, inbox-filed: the CHECK
     * is part of the table, so the table is made again with the same rows), and the inbox. */
    "CREATE TABLE events3 ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  document_id TEXT NOT NULL REFERENCES documents(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('issued', 'signed-copy-added', 'verified', 'voided',"
    "    'signature-missing', 'inbox-assigned', 'inbox-filed')),"
    "  at INTEGER NOT NULL,"
    "  operator TEXT NOT NULL,"
    "  file_hash TEXT REFERENCES files(hash),"
    "  version INTEGER,"
    "  reason TEXT,"
    "  record_hash TEXT REFERENCES files(hash),"
    "  prev_hash TEXT);"
    "INSERT INTO events3 SELECT seq, document_id, kind, at, operator, file_hash, version, reason,"
    "  record_hash, prev_hash FROM events;"
    "DROP TABLE events;"
    "ALTER TABLE events3 RENAME TO events;"
    "CREATE INDEX events_document ON events(document_id);"
    "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TABLE inbox ("
    "  record_hash TEXT PRIMARY KEY REFERENCES files(hash),"
    "  file_hash TEXT NOT NULL REFERENCES files(hash),"
    "  source TEXT NOT NULL,"
    "  page INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  payload TEXT,"
    "  at INTEGER NOT NULL,"
    "  operator TEXT NOT NULL);"
    "CREATE INDEX inbox_file ON inbox(file_hash);"
    "CREATE TRIGGER inbox_keep BEFORE DELETE ON inbox"
    "  BEGIN SELECT RAISE(ABORT, 'inbox items are never deleted'); END;"
    "CREATE TRIGGER inbox_no_update BEFORE UPDATE ON inbox"
    "  BEGIN SELECT RAISE(ABORT, 'inbox items are never changed'); END;",
    /* 5: the ward a document was issued for (kept in its record object too, as "ward";
     * documents issued before have none), and the event of a download ("downloaded": what was
     * sent, and to whom, before the bytes left): the CHECK is part of the table, so the events
     * table is made again with the same rows, as in 4. */
    "ALTER TABLE documents ADD COLUMN ward TEXT;"
    "CREATE INDEX documents_ward ON documents(ward, issued_at);"
    "CREATE TABLE events4 ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  document_id TEXT NOT NULL REFERENCES documents(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('issued', 'signed-copy-added', 'verified', 'voided',"
    "    'signature-missing', 'inbox-assigned', 'inbox-filed', 'downloaded')),"
    "  at INTEGER NOT NULL,"
    "  operator TEXT NOT NULL,"
    "  file_hash TEXT REFERENCES files(hash),"
    "  version INTEGER,"
    "  reason TEXT,"
    "  record_hash TEXT REFERENCES files(hash),"
    "  prev_hash TEXT);"
    "INSERT INTO events4 SELECT seq, document_id, kind, at, operator, file_hash, version, reason,"
    "  record_hash, prev_hash FROM events;"
    "DROP TABLE events;"
    "ALTER TABLE events4 RENAME TO events;"
    "CREATE INDEX events_document ON events(document_id);"
    "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
    /* 6: the event of a document sent to a print queue (sent-to-printer: the queue and the job
     * in its reason); the events table is made again with the same rows, as in 4 and 5. */
    "CREATE TABLE events6 ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  document_id TEXT NOT NULL REFERENCES documents(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('issued', 'signed-copy-added', 'verified', 'voided',"
    "    'signature-missing', 'inbox-assigned', 'inbox-filed', 'downloaded',"
    "    'sent-to-printer')),"
    "  at INTEGER NOT NULL,"
    "  operator TEXT NOT NULL,"
    "  file_hash TEXT REFERENCES files(hash),"
    "  version INTEGER,"
    "  reason TEXT,"
    "  record_hash TEXT REFERENCES files(hash),"
    "  prev_hash TEXT);"
    "INSERT INTO events6 SELECT seq, document_id, kind, at, operator, file_hash, version, reason,"
    "  record_hash, prev_hash FROM events;"
    "DROP TABLE events;"
    "ALTER TABLE events6 RENAME TO events;"
    "CREATE INDEX events_document ON events(document_id);"
    "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
};

/* Run after migration 2's SQL and add_records(). */
static const char *const update_triggers =
    "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER documents_no_update BEFORE UPDATE ON documents"
    "  BEGIN SELECT RAISE(ABORT, 'documents are never changed'); END;"
    "CREATE TRIGGER files_no_update BEFORE UPDATE ON files"
    "  BEGIN SELECT RAISE(ABORT, 'files are never changed'); END;"
    "CREATE TRIGGER meta_keep BEFORE DELETE ON meta"
    "  BEGIN SELECT RAISE(ABORT, 'the store id is never removed'); END;"
    "CREATE TRIGGER meta_no_update BEFORE UPDATE ON meta"
    "  BEGIN SELECT RAISE(ABORT, 'the store id is never changed'); END;";

/* What to do when the index is lost: said by every refusal to use a missing, empty, damaged
 * or foreign index. */
#define RESTORE_HINT                                                                               \
    "; nothing was changed. Restore index.sqlite (with index.sqlite-wal, if the backup has one) "  \
    "from the latest backup of this store, or rebuild it from the objects with `consentform "      \
    "archive rebuild-index STORE`"

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
        hint = "; the index is damaged" RESTORE_HINT;
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

/* True when s has a character that prints: not only Unicode White_Space (NBSP, ideographic
 * space, EN/EM/thin spaces, line separators ...) and default-ignorable characters. */
static bool has_visible(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        size_t k = cf_utf8_decode(s + i, n - i, &cp);
        if (k == 0)
            return true; /* not reached: text_ok checked the UTF-8 */
        i += k;
        bool blank = cp == 0x20 || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 || cp == 0xA0 ||
                     cp == 0xAD || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200F) ||
                     (cp >= 0x2028 && cp <= 0x202F) || (cp >= 0x205F && cp <= 0x2064) ||
                     cp == 0x3000 || cp == 0xFEFF || cp == 0x180E;
        if (!blank)
            return true;
    }
    return false;
}

/* need_visible: every value must have a character that prints (a scan filed by hand names its
 * patient; a label of spaces names nobody). */
static cf_status check_labels(const cf_archive_label *labels, size_t n, bool need_visible,
                              cf_diag *diag)
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
        if (need_visible && !has_visible(labels[i].value)) {
            cf_diag_error(diag, NULL, 0, "label field %s is empty; give the patient's value",
                          labels[i].key);
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
    /* What a tool records when it has no user name names nobody: the record must say who. */
    if (st == CF_OK && strcasecmp(op, "unknown") == 0) {
        cf_diag_error(diag, NULL, 0,
                      "the operator name \"unknown\" names nobody; give the "
                      "operator's name (--operator NAME)");
        st = CF_ERR_DATA;
    }
    return st;
}

/* ---- opening -------------------------------------------------------------------------- */

static cf_status add_records(cf_archive *a, cf_diag *diag);
static cf_status insert_inbox_row(cf_archive *a, const cf_record_inbox *i, const char *record,
                                  cf_diag *diag);
static cf_status set_store_id(cf_archive *a, cf_diag *diag);
static void drop_staged(cf_archive *a);
static cf_status begin_as(cf_archive *a, cf_diag *diag, const char *what);
static cf_status finish_as(cf_archive *a, cf_status st, cf_diag *diag, const char *what);

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
    /* Schema 0 is an empty index: what a failed copy or restore leaves, or another program's
     * database. Only init (on an empty store) and rebuild-index may fill it. */
    if (v == 0 && !a->may_create) {
        cf_diag_error(diag, a->index, 0, "is empty or not an archive index" RESTORE_HINT);
        return CF_ERR_DATA;
    }
    if (a->read_only) {
        cf_diag_error(diag, a->index, 0,
                      "the store needs an update to schema %d; run any archive command that "
                      "changes it (e.g. `consentform archive verify --record`) once",
                      SCHEMA_VERSION);
        return CF_ERR_DATA;
    }
    cf_status st = begin_as(a, diag, "start a schema update");
    if (st == CF_OK) {
        v = user_version(a); /* again: another process may have updated it meanwhile */
        if (v < 0 || v > SCHEMA_VERSION)
            st = db_error(a, diag, "be read");
    }
    for (int k = v; st == CF_OK && k >= 0 && k < SCHEMA_VERSION; k++) {
        st = exec(a, migrations[k], diag, "update its schema");
        if (st == CF_OK && k == 1)
            st = set_store_id(a, diag);
        if (st == CF_OK && k == 1)
            st = add_records(a, diag);
        if (st == CF_OK && k == 1)
            st = exec(a, update_triggers, diag, "update its schema");
        if (st == CF_OK) {
            char sql[64];
            snprintf(sql, sizeof sql, "PRAGMA user_version = %d", k + 1);
            st = exec(a, sql, diag, "update its schema");
        }
    }
    st = finish_as(a, st, diag, "commit a schema update");
    /* A new index went through every migration: the tables made again (events, in 4, 5 and
     * 6) leave free pages behind, which a new store need not carry. Nothing is lost when this
     * cannot be done. */
    if (st == CF_OK && v == 0)
        (void)sqlite3_exec(a->db, "VACUUM", NULL, NULL, NULL);
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

/* The store's id as STORE/store-id holds it (32 hex digits and a newline), or "" when the file
 * is missing. CF_ERR_DATA when the file is there but is not such an id. */
static cf_status read_store_id(const cf_archive *a, char id[STORE_ID_HEX + 1], cf_diag *diag)
{
    id[0] = '\0';
    char *path = join(a->dir, "store-id");
    if (path == NULL)
        return CF_ERR_NOMEM;
    FILE *f = fopen(path, "r");
    cf_status st = CF_OK;
    if (f != NULL) {
        char line[80] = "";
        if (fgets(line, sizeof line, f) == NULL || strlen(line) != STORE_ID_HEX + 1 ||
            strspn(line, "0123456789abcdef") != STORE_ID_HEX || line[STORE_ID_HEX] != '\n') {
            cf_diag_error(diag, path, 0, "is not a store id; it was changed by hand");
            st = CF_ERR_DATA;
        } else {
            memcpy(id, line, STORE_ID_HEX);
            id[STORE_ID_HEX] = '\0';
        }
        fclose(f);
    } else if (errno != ENOENT) {
        cf_diag_error(diag, path, 0, "cannot be read: %s", strerror(errno));
        st = CF_ERR_NOINPUT;
    }
    cf_free(path);
    return st;
}

/* Migration 2: gives the store its id, kept both in the index and in STORE/store-id (0400).
 * A store-id file that is already there (rebuild-index) is kept. */
static cf_status set_store_id(cf_archive *a, cf_diag *diag)
{
    char id[STORE_ID_HEX + 1];
    cf_status st = read_store_id(a, id, diag);
    if (st != CF_OK)
        return st;
    if (id[0] == '\0') {
        unsigned char noise[STORE_ID_HEX / 2];
        if (getrandom(noise, sizeof noise, 0) != (ssize_t)sizeof noise) {
            cf_diag_error(diag, a->dir, 0, "no random numbers for the store id: %s",
                          strerror(errno));
            return CF_ERR_INTERNAL;
        }
        for (size_t i = 0; i < sizeof noise; i++)
            snprintf(id + 2 * i, 3, "%02x", noise[i]);
        char line[STORE_ID_HEX + 2];
        snprintf(line, sizeof line, "%s\n", id);
        char *path = join(a->dir, "store-id");
        if (path == NULL)
            return CF_ERR_NOMEM;
        st = cf_file_write_atomic(path, line, strlen(line), /*force*/ false, diag);
        if (st == CF_OK)
            (void)chmod(path, cf_object_shared(a->objects) ? 0440 : 0400);
        cf_free(path);
        if (st != CF_OK)
            return st;
    }
    sqlite3_stmt *s = prepare(a, "INSERT OR REPLACE INTO meta(key, value) VALUES ('store_id', ?)");
    if (s == NULL)
        return db_error(a, diag, "update its schema");
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    st = sqlite3_step(s) == SQLITE_DONE ? CF_OK : db_error(a, diag, "update its schema");
    sqlite3_finalize(s);
    return st;
}

/* An index from another store (a backup of the wrong store restored here) is refused: the ids
 * in the index and in STORE/store-id must agree. */
static cf_status check_store_id(cf_archive *a, cf_diag *diag)
{
    char id[STORE_ID_HEX + 1];
    cf_status st = read_store_id(a, id, diag);
    if (st != CF_OK)
        return st;
    sqlite3_stmt *s = prepare(a, "SELECT value FROM meta WHERE key = 'store_id'");
    const unsigned char *in_index = NULL;
    if (s != NULL && sqlite3_step(s) == SQLITE_ROW)
        in_index = sqlite3_column_text(s, 0);
    if (id[0] == '\0') {
        cf_diag_error(diag, a->dir, 0,
                      "has lost its store-id file; copy it back from the latest backup of this "
                      "store (the index says the id is %s); nothing was changed",
                      in_index != NULL ? (const char *)in_index : "missing");
        st = CF_ERR_DATA;
    } else if (in_index == NULL || strcmp((const char *)in_index, id) != 0) {
        cf_diag_error(diag, a->index, 0,
                      "belongs to another store (its store id is %s, this "
                      "store's is %s)" RESTORE_HINT,
                      in_index != NULL ? (const char *)in_index : "missing", id);
        st = CF_ERR_DATA;
    }
    sqlite3_finalize(s);
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
    drop_staged(a);
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
    /* An index that is empty beside objects is not an init cut off but a lost index: making
     * it afresh would hide every record. */
    struct stat st;
    if (stat(a->objects, &st) == 0 && !dir_is_empty(a->objects)) {
        cf_diag_error(diag, a->index, 0,
                      "is empty or not an archive index, and the store holds objects" RESTORE_HINT);
        return CF_ERR_DATA;
    }
    a->read_only = false;
    a->may_create = true;
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

/* Makes path (a folder of a new store) 0700, or for a group's store setgid 2770 in gid. */
static cf_status make_private(const char *path, long gid, cf_diag *diag)
{
    mode_t mode = gid >= 0 ? 02770 : 0700;
    if ((gid >= 0 && chown(path, (uid_t)-1, (gid_t)gid) != 0) || chmod(path, mode) != 0) {
        cf_diag_error(diag, path, 0, "cannot be given mode %04o: %s", (unsigned)mode,
                      strerror(errno));
        return CF_ERR_CANTCREAT;
    }
    return CF_OK;
}

cf_status cf_archive_init(const char *dir, cf_diag *diag)
{
    return cf_archive_init_group(dir, -1, diag);
}

cf_status cf_archive_init_group(const char *dir, long gid, cf_diag *diag)
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
        }
    }
    if (s == CF_OK)
        s = make_private(dir, gid, diag);
    if (s == CF_OK && mkdir(a->objects, 0700) != 0 && errno != EEXIST) {
        cf_diag_error(diag, a->objects, 0, "cannot create: %s", strerror(errno));
        s = CF_ERR_CANTCREAT;
    }
    if (s == CF_OK)
        s = make_private(a->objects, gid, diag);
    /* The index is made owner-only (or group-only) before SQLite opens it; its -wal and -shm
     * files take the same mode and owners from it. */
    if (s == CF_OK) {
        mode_t mode = gid >= 0 ? 0660 : 0600;
        int fd = open(a->index, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd < 0 || (gid >= 0 && fchown(fd, (uid_t)-1, (gid_t)gid) != 0) ||
            fchmod(fd, mode) != 0) {
            cf_diag_error(diag, a->index, 0, "cannot create: %s", strerror(errno));
            s = CF_ERR_CANTCREAT;
        }
        if (fd >= 0)
            close(fd);
    }
    a->may_create = true;
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
    struct stat objects_st;
    bool has_objects = stat(a->objects, &objects_st) == 0 && S_ISDIR(objects_st.st_mode);
    if (e == ENOENT && has_objects) {
        cf_diag_error(diag, a->index, 0, "is missing" RESTORE_HINT);
        s = CF_ERR_DATA;
    } else if (e == 0 && st.st_size == 0) {
        cf_diag_error(diag, a->index, 0, "is empty (0 bytes)" RESTORE_HINT);
        s = CF_ERR_DATA;
    } else if (e != 0) {
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
    if (s == CF_OK)
        s = check_store_id(a, diag);
    if (s != CF_OK) {
        cf_archive_close(a);
        return s;
    }
    *out = a;
    return CF_OK;
}

/* ---- record objects and rolled-back changes ------------------------------------------- */

/* Record objects and rolled-back changes. Every row has a record object, and rebuild-index
 * restores the store from those objects alone, so an object written for a change that is then
 * rolled back (a refused download, an I/O error or a full disk at a row or at COMMIT) must
 * not stay among them: it would come back as an event that never happened, and as a second
 * branch of the chain it could even win over the events committed after it.
 *
 * So a change stages its record objects in memory while it inserts its rows (write_record,
 * stage_record) and finish() writes them only once every row is in, just before COMMIT, in
 * this order:
 *   1. STORE/pending-records lists their names (one a line, then "end" and the SHA-256 of
 *      those lines) and is synced (fdatasync): from here on a crash leaves a list of what
 *      may have been written; a list cut off before (its "end" line missing or not matching)
 *      lists nothing, as none of its objects was written yet;
 *   2. the objects are written (each synced, as always);
 *   3. COMMIT; the list is emptied.
 * A change that fails at any step is rolled back, and then, under the write lock again, each
 * object on the list that no committed files row names is moved to STORE/rolled-back/ (kept,
 * never deleted, but out of objects/) and the list is emptied (settle_pending). A crash
 * between 1 and 3 leaves the list: the next change settles it in begin(), under the write
 * lock, where no other change can be under way, so the files table says exactly which of the
 * listed objects were committed. rebuild-index, which has no index to ask, restores none of
 * the listed objects and reports each one (only a store cut off by a crash and not changed
 * since has a list that is not empty). Tracking the objects a process wrote (and removing them
 * on rollback) alone would not do: a crash between an object and COMMIT would still leave it.
 *
 * Every record object is written (or, when it is there already, checked) under the write
 * lock, so a rollback that moves an object aside never races with another change that uses
 * the same object. The PDF and scan objects, which rebuild-index restores only where a record
 * names them, are written before a change begins (outside the lock, in parallel), and so is
 * the record of a document being issued (see register_issued). Emptying the list after COMMIT
 * is not synced: a crash may bring the list back, and the next change then finds every object
 * on it committed. */

#define PENDING_RECORDS "pending-records"
#define ROLLED_BACK "rolled-back"
#define PENDING_MAX ((size_t)256 << 20) /* bytes of a pending-records list that is read */

typedef struct staged_record {
    char hex[CF_SHA256_HEX_SIZE];
    char *json; /* owned */
    size_t len;
} staged_record;

static void drop_staged(cf_archive *a)
{
    for (size_t i = 0; i < a->n_staged; i++)
        cf_free(a->staged[i].json);
    cf_free(a->staged);
    a->staged = NULL;
    a->n_staged = a->cap_staged = 0;
}

/* Keeps json (taken, freed here on failure) as the record object hex of the change under
 * way, written by finish(). */
static cf_status stage_record(cf_archive *a, char *json, size_t len, const char *hex)
{
    /* No search for the same name staged before: records of one change differ (each event has
     * its own seq), and an object written twice is found sound the second time. */
    staged_record *grown =
        cf_grow_array(a->staged, &a->cap_staged, a->n_staged + 1, sizeof *grown, 8);
    if (grown == NULL) {
        cf_free(json);
        return CF_ERR_NOMEM;
    }
    a->staged = grown;
    staged_record *r = &a->staged[a->n_staged++];
    snprintf(r->hex, sizeof r->hex, "%s", hex);
    r->json = json;
    r->len = len;
    return CF_OK;
}

/* The status for a failed write: a full or failing disk is an I/O error, anything else means
 * the store cannot be written to. */
static cf_status write_error(int e)
{
    return e == ENOSPC || e == EDQUOT || e == EIO ? CF_ERR_IO : CF_ERR_CANTCREAT;
}

/* Step 1: the names of the staged objects into STORE/pending-records, synced. */
static cf_status write_pending(cf_archive *a, cf_diag *diag)
{
    char *path = join(a->dir, PENDING_RECORDS);
    cf_buf b;
    cf_buf_init(&b, (a->n_staged + 1) * CF_SHA256_HEX_SIZE + 8); /* a cap */
    for (size_t i = 0; i < a->n_staged; i++)
        cf_buf_printf(&b, "%s\n", a->staged[i].hex);
    char sum[CF_SHA256_HEX_SIZE];
    cf_sha256_hex(b.data != NULL ? b.data : "", b.len, sum);
    cf_buf_printf(&b, "end %s\n", sum);
    if (path == NULL || b.error != CF_OK) {
        cf_free(path);
        cf_buf_cleanup(&b);
        return CF_ERR_NOMEM;
    }
    mode_t mode = cf_object_shared(a->objects) ? 0660 : 0600;
    bool made = true;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0 && errno == EEXIST) {
        made = false;
        fd = open(path, O_WRONLY | O_CLOEXEC);
    }
    int e = fd < 0 ? errno : 0;
    if (e == 0 && made && fchmod(fd, mode) != 0)
        e = errno;
    for (size_t done = 0; e == 0 && done < b.len;) {
        ssize_t w = pwrite(fd, b.data + done, b.len - done, (off_t)done);
        if (w > 0)
            done += (size_t)w;
        else if (w == 0)
            e = EIO;
        else if (errno != EINTR)
            e = errno;
    }
    if (e == 0 && fdatasync(fd) != 0)
        e = errno;
    if (fd >= 0 && close(fd) != 0 && e == 0)
        e = errno;
    if (e == 0 && made) {
        /* The list's name must last as long as the objects it lists. */
        int dfd = open(a->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL))
            e = errno;
        if (dfd >= 0)
            close(dfd);
    }
    if (e != 0)
        cf_diag_error(diag, path, 0, "cannot write to the store: %s; nothing was changed",
                      strerror(e));
    cf_free(path);
    cf_buf_cleanup(&b);
    return e == 0 ? CF_OK : write_error(e);
}

/* Empties STORE/pending-records (sync: also syncs it, after objects were moved aside): its
 * first byte made the empty line that ends the list. The file keeps its size, so that this
 * and the next list are writes in place, without the flushes that a file cut to nothing and
 * written again costs on some file systems. */
static void clear_pending(cf_archive *a, bool sync)
{
    char *path = join(a->dir, PENDING_RECORDS);
    int fd = path != NULL ? open(path, O_WRONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        if (pwrite(fd, "\n", 1, 0) == 1 && sync)
            (void)fdatasync(fd);
        close(fd);
    }
    cf_free(path);
}

/* The names STORE/pending-records lists, one a line, into *list (caller frees with cf_free;
 * NULL when it lists nothing: missing, emptied, or cut off before its "end" line). */
static cf_status read_pending(const char *path, char **list, size_t *len, cf_diag *diag)
{
    *list = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return CF_OK;
    char first = '\n';
    bool empty = pread(fd, &first, 1, 0) != 1 || first == '\n';
    close(fd);
    if (empty)
        return CF_OK;
    char *text = NULL;
    size_t n = 0;
    cf_status st = cf_file_read(path, PENDING_MAX, &text, &n, diag);
    if (st != CF_OK)
        return st;
    size_t at = 0;
    while (at + CF_SHA256_HEX_SIZE <= n && text[at + CF_SHA256_HEX_SIZE - 1] == '\n' &&
           strspn(text + at, "0123456789abcdef") == CF_SHA256_HEX_SIZE - 1)
        at += CF_SHA256_HEX_SIZE;
    char sum[CF_SHA256_HEX_SIZE];
    cf_sha256_hex(text, at, sum);
    if (at > 0 && n - at >= 4 + CF_SHA256_HEX_SIZE && memcmp(text + at, "end ", 4) == 0 &&
        memcmp(text + at + 4, sum, CF_SHA256_HEX_SIZE - 1) == 0 &&
        text[at + 4 + CF_SHA256_HEX_SIZE - 1] == '\n') {
        *list = text;
        *len = at;
    } else {
        cf_free(text);
    }
    return CF_OK;
}

/* Moves the object hex out of objects/ into STORE/rolled-back/ (a link there, then the name
 * in objects/ removed; an identical copy kept there before is enough). A missing object is
 * fine: it was never written, or was moved before. Returns 0 or an errno. */
static int roll_back_object(cf_archive *a, const char *hex)
{
    char from[4200], to[4200], sub[4200], aside[4200];
    if (snprintf(sub, sizeof sub, "%s/%.2s", a->objects, hex) >= (int)sizeof sub ||
        snprintf(from, sizeof from, "%s/%.2s/%s", a->objects, hex, hex + 2) >= (int)sizeof from ||
        snprintf(aside, sizeof aside, "%s/" ROLLED_BACK, a->dir) >= (int)sizeof aside ||
        snprintf(to, sizeof to, "%s/" ROLLED_BACK "/%s", a->dir, hex) >= (int)sizeof to)
        return ENAMETOOLONG;
    struct stat st;
    if (lstat(from, &st) != 0)
        return errno == ENOENT ? 0 : errno;
    mode_t mode = cf_object_shared(a->objects) ? 02770 : 0700;
    if (mkdir(aside, mode) == 0) {
        if (chmod(aside, mode) != 0)
            return errno;
    } else if (errno != EEXIST) {
        return errno;
    }
    if (link(from, to) != 0 && errno != EEXIST)
        return errno;
    int fd = open(aside, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int e = fd < 0 || (fsync(fd) != 0 && errno != EINVAL) ? errno : 0;
    if (fd >= 0)
        close(fd);
    if (e == 0 && unlink(from) != 0)
        e = errno;
    fd = e == 0 ? open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (e == 0 && (fd < 0 || (fsync(fd) != 0 && errno != EINVAL)))
        e = errno;
    if (fd >= 0)
        close(fd);
    return e;
}

static bool file_known(cf_archive *a, const char *hash);

/* Settles a list left in STORE/pending-records: each listed object that no files row names
 * belongs to a change that was not committed and is moved to STORE/rolled-back/; then the
 * list is emptied. Must run under the write lock (inside BEGIN IMMEDIATE), where no change of
 * another process or thread is under way. */
static cf_status settle_pending(cf_archive *a, cf_diag *diag)
{
    char *path = join(a->dir, PENDING_RECORDS);
    if (path == NULL)
        return CF_ERR_NOMEM;
    char *list = NULL;
    size_t len = 0;
    cf_status s = read_pending(path, &list, &len, diag);
    if (s == CF_OK && list == NULL) {
        cf_free(path);
        return CF_OK;
    }
    int e = 0;
    for (size_t at = 0; s == CF_OK && e == 0 && at < len; at += CF_SHA256_HEX_SIZE) {
        list[at + CF_SHA256_HEX_SIZE - 1] = '\0';
        if (!file_known(a, list + at))
            e = roll_back_object(a, list + at);
    }
    cf_free(list);
    if (s == CF_OK && e != 0) {
        cf_diag_error(diag, a->dir, 0,
                      "cannot move aside the record objects of a change that was not committed "
                      "(" PENDING_RECORDS " lists them): %s; nothing was changed",
                      strerror(e));
        s = write_error(e);
    }
    if (s == CF_OK)
        clear_pending(a, /*sync*/ true);
    cf_free(path);
    return s;
}

/* Step 2: writes the staged objects. */
static cf_status write_staged(cf_archive *a, cf_diag *diag)
{
    cf_status st = write_pending(a, diag);
    for (size_t i = 0; st == CF_OK && i < a->n_staged; i++)
        st = cf_object_write(a->objects, a->staged[i].hex, (const unsigned char *)a->staged[i].json,
                             a->staged[i].len, NULL, diag);
    return st;
}

static cf_status begin_as(cf_archive *a, cf_diag *diag, const char *what)
{
    drop_staged(a);
    cf_status st = exec(a, "BEGIN IMMEDIATE", diag, what);
    /* A new index (init, rebuild-index) has no files rows to settle a list against. */
    if (st == CF_OK && !a->may_create) {
        st = settle_pending(a, diag);
        if (st != CF_OK)
            (void)sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return st;
}

static cf_status begin(cf_archive *a, cf_diag *diag)
{
    return begin_as(a, diag, "start a change");
}

/* Commits when st is CF_OK (the staged record objects written first), otherwise rolls back
 * and moves aside what was written for the change; returns the outcome. */
static cf_status finish_as(cf_archive *a, cf_status st, cf_diag *diag, const char *what)
{
    bool staged = a->n_staged > 0;
    if (st == CF_OK && staged)
        st = write_staged(a, diag);
    if (st == CF_OK)
        st = exec(a, "COMMIT", diag, what);
    if (st == CF_OK) {
        if (staged)
            clear_pending(a, /*sync*/ false);
        drop_staged(a);
        return st;
    }
    (void)sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    /* Settled under the write lock, taken again: a failed COMMIT may have let it go, and
     * another change may have committed the same bytes meanwhile. The staged objects are
     * settled too: a change that failed before step 1 has no list, but may have written a
     * document's record before it began. When this cannot be done the list stays, for the
     * next change to settle. */
    if (staged && !a->may_create &&
        sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
        for (size_t i = 0; i < a->n_staged; i++)
            if (!file_known(a, a->staged[i].hex))
                (void)roll_back_object(a, a->staged[i].hex);
        (void)settle_pending(a, NULL);
        (void)sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    }
    drop_staged(a);
    return st;
}

static cf_status finish(cf_archive *a, cf_status st, cf_diag *diag)
{
    return finish_as(a, st, diag, "commit a change");
}

/* ---- index rows and their record objects ---------------------------------------------- */

/* Every event of the store takes its time from the real clock: SOURCE_DATE_EPOCH makes the
 * PDF bytes reproducible and must never date the archive (an archive of 2001 for a form
 * printed today). */
static long long real_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return (long long)time(NULL);
    return (long long)ts.tv_sec;
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

/* Adds the files row of a record object (json, taken) and stages the object, which finish()
 * writes just before COMMIT; its name into hex. */
static cf_status write_record(cf_archive *a, char *json, long long at, char hex[CF_SHA256_HEX_SIZE],
                              cf_diag *diag)
{
    if (json == NULL)
        return CF_ERR_NOMEM;
    size_t len = strlen(json);
    cf_sha256_hex(json, len, hex);
    cf_status st = add_file_row(a, hex, len, CF_RECORD_MEDIA_TYPE, at, diag);
    if (st != CF_OK) {
        cf_free(json);
        return st;
    }
    return stage_record(a, json, len, hex);
}

/* The last event of the store (its seq and record), to chain the next one onto. */
static cf_status chain_head(cf_archive *a, long long *seq, char prev[CF_SHA256_HEX_SIZE],
                            cf_diag *diag)
{
    *seq = 0;
    prev[0] = '\0';
    sqlite3_stmt *s = prepare(a, "SELECT seq, record_hash FROM events ORDER BY seq DESC LIMIT 1");
    if (s == NULL)
        return db_error(a, diag, "be read");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(s, 0);
        const unsigned char *h = sqlite3_column_text(s, 1);
        if (h != NULL)
            snprintf(prev, CF_SHA256_HEX_SIZE, "%s", (const char *)h);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? CF_OK : db_error(a, diag, "be read");
}

/* The record object of document id ("" when it has none). */
static cf_status document_record_of(cf_archive *a, const char *id, char hex[CF_SHA256_HEX_SIZE],
                                    cf_diag *diag)
{
    hex[0] = '\0';
    sqlite3_stmt *s = prepare(a, "SELECT record_hash FROM documents WHERE id = ?");
    if (s == NULL)
        return db_error(a, diag, "be read");
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
        snprintf(hex, CF_SHA256_HEX_SIZE, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? CF_OK : db_error(a, diag, "be read");
}

/* Inserts an events row as e says, with its record object (named in record) and e->prev. */
static cf_status insert_event_row(cf_archive *a, const cf_record_event *e, const char *record,
                                  cf_diag *diag)
{
    sqlite3_stmt *s = prepare(a, "INSERT INTO events(seq, document_id, kind, at, operator, "
                                 "file_hash, version, reason, record_hash, prev_hash) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (s == NULL)
        return db_error(a, diag, "record an event");
    sqlite3_bind_int64(s, 1, e->seq);
    sqlite3_bind_text(s, 2, e->document_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, e->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, e->at);
    sqlite3_bind_text(s, 5, e->operator_name, -1, SQLITE_STATIC);
    if (e->file_hash[0] != '\0')
        sqlite3_bind_text(s, 6, e->file_hash, -1, SQLITE_STATIC);
    if (e->version > 0)
        sqlite3_bind_int(s, 7, e->version);
    if (e->reason != NULL)
        sqlite3_bind_text(s, 8, e->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 9, record, -1, SQLITE_STATIC);
    if (e->prev[0] != '\0')
        sqlite3_bind_text(s, 10, e->prev, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? CF_OK : db_error(a, diag, "record an event");
}

/* Appends an event: its row, and its record object (chained onto the store's last event),
 * staged for finish(). Runs inside the caller's transaction, which keeps the chain's head
 * still. */
static cf_status add_event(cf_archive *a, const char *id, const char *kind, long long at,
                           const char *op, const char *hash, int version, const char *reason,
                           cf_diag *diag)
{
    cf_record_event e = {.document_id = (char *)(uintptr_t)id,
                         .kind = (char *)(uintptr_t)kind,
                         .operator_name = (char *)(uintptr_t)op,
                         .reason = (char *)(uintptr_t)reason,
                         .at = at,
                         .version = version};
    if (hash != NULL)
        snprintf(e.file_hash, sizeof e.file_hash, "%s", hash);
    cf_status st = chain_head(a, &e.seq, e.prev, diag);
    if (st == CF_OK)
        st = document_record_of(a, id, e.document_record, diag);
    if (st == CF_OK && e.document_record[0] == '\0') {
        cf_diag_error(diag, a->dir, 0,
                      "document %s has no record object; run `consentform "
                      "archive verify`",
                      id);
        st = CF_ERR_DATA;
    }
    e.seq++;
    char record[CF_SHA256_HEX_SIZE];
    if (st == CF_OK)
        st = write_record(a, cf_record_event_write(&e, NULL), at, record, diag);
    if (st == CF_OK)
        st = insert_event_row(a, &e, record, diag);
    return st;
}

/* What the index knows of one document. */
typedef struct document_state {
    bool known;
    bool registered;                      /* issued from this store (not filed unregistered) */
    char issued_hash[CF_SHA256_HEX_SIZE]; /* "" when none */
    char form_id[NAME_MAX_BYTES + 1];
    char *labels; /* its labels JSON; freed by document_state_cleanup */
} document_state;

static void document_state_cleanup(document_state *d)
{
    cf_free(d->labels);
    d->labels = NULL;
}

static cf_status find_document(cf_archive *a, const char *id, document_state *d, cf_diag *diag)
{
    document_state_cleanup(d);
    memset(d, 0, sizeof *d);
    sqlite3_stmt *s =
        prepare(a, "SELECT issued_hash, registered, form_id, labels FROM documents WHERE id = ?");
    if (s == NULL)
        return db_error(a, diag, "be read");
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    cf_status st = rc == SQLITE_ROW || rc == SQLITE_DONE ? CF_OK : db_error(a, diag, "be read");
    if (rc == SQLITE_ROW) {
        d->known = true;
        d->registered = sqlite3_column_int(s, 1) != 0;
        const unsigned char *h = sqlite3_column_text(s, 0);
        if (h != NULL)
            snprintf(d->issued_hash, sizeof d->issued_hash, "%s", (const char *)h);
        const unsigned char *f = sqlite3_column_text(s, 2);
        snprintf(d->form_id, sizeof d->form_id, "%s", f != NULL ? (const char *)f : "");
        const unsigned char *l = sqlite3_column_text(s, 3);
        d->labels = cf_strdup(l != NULL ? (const char *)l : "{}");
        if (d->labels == NULL)
            st = CF_ERR_NOMEM;
    }
    sqlite3_finalize(s);
    return st;
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

/* Inserts a documents row as d says, its record object named record; a document with a form
 * fingerprint registers it for its form id@version unless one is registered already (the
 * callers compare: cf_archive_register_issued refuses another, rebuild-index reports it). */
static cf_status insert_document_row(cf_archive *a, const cf_record_document *d, const char *record,
                                     cf_diag *diag)
{
    sqlite3_stmt *s = prepare(a, "INSERT INTO documents(id, form_id, form_version, labels, "
                                 "hospital_no, issued_at, issued_hash, registered, record_hash, "
                                 "form_sha256, ward) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (s == NULL)
        return db_error(a, diag, "record a document");
    char hn[LABEL_VALUE_MAX + 1];
    cf_record_labels_get(d->labels, "hospital_no", hn, sizeof hn);
    sqlite3_bind_text(s, 1, d->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, d->form_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, d->form_version, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, d->labels, -1, SQLITE_STATIC);
    if (hn[0] != '\0')
        sqlite3_bind_text(s, 5, hn, -1, SQLITE_STATIC);
    if (d->issued_at >= 0)
        sqlite3_bind_int64(s, 6, d->issued_at);
    if (d->issued_hash[0] != '\0')
        sqlite3_bind_text(s, 7, d->issued_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 8, d->registered ? 1 : 0);
    sqlite3_bind_text(s, 9, record, -1, SQLITE_STATIC);
    if (d->form_sha256[0] != '\0')
        sqlite3_bind_text(s, 10, d->form_sha256, -1, SQLITE_STATIC);
    if (d->ward != NULL && d->ward[0] != '\0')
        sqlite3_bind_text(s, 11, d->ward, -1, SQLITE_STATIC);
    cf_status st = sqlite3_step(s) == SQLITE_DONE ? CF_OK : db_error(a, diag, "record a document");
    sqlite3_finalize(s);
    if (st != CF_OK || d->form_sha256[0] == '\0')
        return st;
    s = prepare(a, "INSERT OR IGNORE INTO forms(form_id, form_version, form_sha256, "
                   "first_document) VALUES (?, ?, ?, ?)");
    if (s == NULL)
        return db_error(a, diag, "record a form's text");
    sqlite3_bind_text(s, 1, d->form_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, d->form_version, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, d->form_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, d->id, -1, SQLITE_STATIC);
    st = sqlite3_step(s) == SQLITE_DONE ? CF_OK : db_error(a, diag, "record a form's text");
    sqlite3_finalize(s);
    return st;
}

/* The fingerprint the registry holds for form_id@version into hex and the document that
 * registered it into first (both "" when none). Called under the lock. */
static cf_status registered_form(cf_archive *a, const char *form_id, const char *version,
                                 char hex[CF_SHA256_HEX_SIZE], char first[CF_ARCHIVE_ID_MAX + 1],
                                 cf_diag *diag)
{
    hex[0] = first[0] = '\0';
    sqlite3_stmt *s = prepare(a, "SELECT form_sha256, first_document FROM forms "
                                 "WHERE form_id = ? AND form_version = ?");
    if (s == NULL)
        return db_error(a, diag, "be read");
    sqlite3_bind_text(s, 1, form_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, version, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        snprintf(hex, CF_SHA256_HEX_SIZE, "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(first, CF_ARCHIVE_ID_MAX + 1, "%s", (const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? CF_OK : db_error(a, diag, "be read");
}

/* Refuses a document whose form text is not the one registered for its form id@version. */
static cf_status same_form_text(cf_archive *a, const char *form_id, const char *version,
                                const char *form_sha256, cf_diag *diag)
{
    char hex[CF_SHA256_HEX_SIZE], first[CF_ARCHIVE_ID_MAX + 1];
    if (form_sha256 == NULL || form_sha256[0] == '\0')
        return CF_OK;
    cf_status st = registered_form(a, form_id, version, hex, first, diag);
    if (st != CF_OK || hex[0] == '\0' || strcmp(hex, form_sha256) == 0)
        return st;
    cf_diag_error(diag, a->dir, 0,
                  "the text of %s %s changed: raise its version (this text has fingerprint "
                  "%.12s…, the store registered %.12s… with document %s); nothing was changed",
                  form_id, version, form_sha256, hex, first);
    return CF_ERR_DATA;
}

cf_status cf_archive_form_fingerprint(cf_archive *a, const char *form_id, const char *version,
                                      char hex[CF_SHA256_HEX_SIZE],
                                      char first_document[CF_ARCHIVE_ID_MAX + 1], cf_diag *diag)
{
    pthread_mutex_lock(&a->lock);
    cf_status st =
        registered_form(a, form_id, version != NULL ? version : "", hex, first_document, diag);
    pthread_mutex_unlock(&a->lock);
    return st;
}

/* A document about to be recorded: its record and the record object's bytes and name. */
typedef struct document_draft {
    cf_record_document d; /* labels owned; the other strings borrowed from the caller */
    char *json;
    char record[CF_SHA256_HEX_SIZE];
} document_draft;

static void draft_cleanup(document_draft *x)
{
    cf_free(x->d.labels);
    cf_free(x->json);
    x->d.labels = x->json = NULL;
}

static cf_status draft_document(const char *id, const char *form_id, const char *version,
                                const char *form_sha256, const cf_archive_label *labels,
                                size_t n_labels, long long issued_at, const char *hash,
                                bool registered, const char *layout, const char *ward,
                                document_draft *x)
{
    memset(x, 0, sizeof *x);
    x->d = (cf_record_document){
        .id = (char *)(uintptr_t)id,
        .form_id = (char *)(uintptr_t)form_id,
        .form_version = (char *)(uintptr_t)(version != NULL ? version : ""),
        .labels = cf_record_labels_write(labels, n_labels),
        .issued_at = registered ? issued_at : -1,
        .registered = registered,
        .scan_layout = (char *)(uintptr_t)layout,
        .ward = (char *)(uintptr_t)(ward != NULL && ward[0] != '\0' ? ward : NULL)};
    if (hash != NULL)
        snprintf(x->d.issued_hash, sizeof x->d.issued_hash, "%s", hash);
    if (form_sha256 != NULL)
        snprintf(x->d.form_sha256, sizeof x->d.form_sha256, "%s", form_sha256);
    x->json = x->d.labels != NULL ? cf_record_document_write(&x->d, NULL) : NULL;
    if (x->json == NULL) {
        draft_cleanup(x);
        return CF_ERR_NOMEM;
    }
    cf_sha256_hex(x->json, strlen(x->json), x->record);
    return CF_OK;
}

/* The files row of the draft's record object and the document row, the object staged for
 * finish() (in a transaction). */
static cf_status insert_draft(cf_archive *a, const document_draft *x, long long at, cf_diag *diag)
{
    char *json = cf_strdup(x->json);
    if (json == NULL)
        return CF_ERR_NOMEM;
    size_t len = strlen(json);
    cf_status st = add_file_row(a, x->record, len, CF_RECORD_MEDIA_TYPE, at, diag);
    if (st == CF_OK)
        st = insert_document_row(a, &x->d, x->record, diag);
    if (st == CF_OK)
        return stage_record(a, json, len, x->record);
    cf_free(json);
    return st;
}

/* Records a document: its row, its record object staged for finish(). */
static cf_status insert_document(cf_archive *a, const char *id, const char *form_id,
                                 const char *version, const char *form_sha256,
                                 const cf_archive_label *labels, size_t n_labels,
                                 long long issued_at, const char *hash, bool registered,
                                 const char *ward, cf_diag *diag)
{
    document_draft x;
    cf_status st = draft_document(id, form_id, version, form_sha256, labels, n_labels, issued_at,
                                  hash, registered, /*layout*/ NULL, ward, &x);
    if (st == CF_OK)
        st = insert_draft(a, &x, issued_at, diag);
    draft_cleanup(&x);
    return st;
}

/* Migration 2: a record object for every document and event made before records existed, the
 * events chained in their order. Runs inside the migration's transaction. */
static cf_status add_records(cf_archive *a, cf_diag *diag)
{
    sqlite3_stmt *s =
        prepare(a, "SELECT id, form_id, form_version, labels, issued_at, "
                   "issued_hash, registered FROM documents WHERE record_hash IS NULL");
    if (s == NULL)
        return db_error(a, diag, "update its schema");
    cf_status st = CF_OK;
    int rc;
    while (st == CF_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        cf_record_document d = {
            .id = (char *)(uintptr_t)sqlite3_column_text(s, 0),
            .form_id = (char *)(uintptr_t)sqlite3_column_text(s, 1),
            .form_version = (char *)(uintptr_t)sqlite3_column_text(s, 2),
            .issued_at = sqlite3_column_type(s, 4) != SQLITE_NULL ? sqlite3_column_int64(s, 4) : -1,
            .registered = sqlite3_column_int(s, 6) != 0};
        /* The labels of schema 1 were written by hand; jansson reads them, and the record
         * holds them in canonical form (verify compares values, not spelling). */
        d.labels = (char *)(uintptr_t)sqlite3_column_text(s, 3);
        if (sqlite3_column_text(s, 5) != NULL)
            snprintf(d.issued_hash, sizeof d.issued_hash, "%s",
                     (const char *)sqlite3_column_text(s, 5));
        char record[CF_SHA256_HEX_SIZE];
        st = write_record(a, cf_record_document_write(&d, NULL), real_now(), record, diag);
        /* The row's labels in the canonical form its record holds (show prints the same
         * before and after a rebuild). */
        char *canonical = st == CF_OK ? cf_record_labels_canonical(d.labels) : NULL;
        if (st == CF_OK && canonical == NULL)
            st = CF_ERR_NOMEM;
        sqlite3_stmt *u = st == CF_OK ? prepare(a, "UPDATE documents SET record_hash = ?1, "
                                                   "labels = ?2 WHERE id = ?3")
                                      : NULL;
        if (st == CF_OK && u == NULL)
            st = db_error(a, diag, "update its schema");
        if (u != NULL) {
            sqlite3_bind_text(u, 1, record, -1, SQLITE_STATIC);
            sqlite3_bind_text(u, 2, canonical, -1, SQLITE_STATIC);
            sqlite3_bind_text(u, 3, d.id, -1, SQLITE_STATIC);
            if (sqlite3_step(u) != SQLITE_DONE)
                st = db_error(a, diag, "update its schema");
        }
        sqlite3_finalize(u);
        cf_free(canonical);
    }
    if (st == CF_OK && rc != SQLITE_DONE)
        st = db_error(a, diag, "update its schema");
    sqlite3_finalize(s);
    if (st != CF_OK)
        return st;

    /* Events: one after another in their order, each chained onto the one before. */
    s = prepare(a, "SELECT e.seq, e.document_id, e.kind, e.at, e.operator, e.file_hash, "
                   "e.version, e.reason, d.record_hash FROM events e JOIN documents d ON "
                   "d.id = e.document_id WHERE e.record_hash IS NULL ORDER BY e.seq");
    if (s == NULL)
        return db_error(a, diag, "update its schema");
    char prev[CF_SHA256_HEX_SIZE] = "";
    while (st == CF_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        cf_record_event e = {.seq = sqlite3_column_int64(s, 0),
                             .document_id = (char *)(uintptr_t)sqlite3_column_text(s, 1),
                             .kind = (char *)(uintptr_t)sqlite3_column_text(s, 2),
                             .at = sqlite3_column_int64(s, 3),
                             .operator_name = (char *)(uintptr_t)sqlite3_column_text(s, 4),
                             .reason = (char *)(uintptr_t)sqlite3_column_text(s, 7),
                             .version = sqlite3_column_int(s, 6)};
        if (sqlite3_column_text(s, 5) != NULL)
            snprintf(e.file_hash, sizeof e.file_hash, "%s",
                     (const char *)sqlite3_column_text(s, 5));
        snprintf(e.document_record, sizeof e.document_record, "%s",
                 (const char *)sqlite3_column_text(s, 8));
        memcpy(e.prev, prev, sizeof prev);
        char record[CF_SHA256_HEX_SIZE];
        st = write_record(a, cf_record_event_write(&e, NULL), e.at, record, diag);
        sqlite3_stmt *u = st == CF_OK ? prepare(a, "UPDATE events SET record_hash = ?1, "
                                                   "prev_hash = ?2 WHERE seq = ?3")
                                      : NULL;
        if (st == CF_OK && u == NULL)
            st = db_error(a, diag, "update its schema");
        if (u != NULL) {
            sqlite3_bind_text(u, 1, record, -1, SQLITE_STATIC);
            if (prev[0] != '\0')
                sqlite3_bind_text(u, 2, prev, -1, SQLITE_STATIC);
            sqlite3_bind_int64(u, 3, e.seq);
            if (sqlite3_step(u) != SQLITE_DONE)
                st = db_error(a, diag, "update its schema");
        }
        sqlite3_finalize(u);
        memcpy(prev, record, sizeof prev);
    }
    if (st == CF_OK && rc != SQLITE_DONE)
        st = db_error(a, diag, "update its schema");
    sqlite3_finalize(s);
    return st;
}

/* ---- changes -------------------------------------------------------------------------- */

/* register_issued on an id the index already holds: the same PDF again is a second issue of
 * the same document (printed again), recorded as an event; anything else is refused. */
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

static cf_status register_issued(cf_archive *a, const char *id, const char *form_id,
                                 const char *form_version, const char *form_sha256,
                                 const cf_archive_label *labels, size_t n_labels,
                                 const unsigned char *pdf, size_t len, const char *layout_json,
                                 const char *ward, const char *op, cf_diag *diag);

cf_status cf_archive_register_issued(cf_archive *a, const char *id, const char *form_id,
                                     const char *form_version, const char *form_sha256,
                                     const cf_archive_label *labels, size_t n_labels,
                                     const unsigned char *pdf, size_t len, long long issued_at,
                                     const char *op, cf_diag *diag)
{
    return cf_archive_register_issued_layout(a, id, form_id, form_version, form_sha256, labels,
                                             n_labels, pdf, len, NULL, /*ward*/ NULL, issued_at, op,
                                             diag);
}

void cf_archive_scan_layout_cleanup(cf_archive_scan_layout *layout)
{
    if (layout == NULL)
        return;
    cf_free(layout->qr);
    cf_free(layout->lines);
    cf_free(layout->groups);
    memset(layout, 0, sizeof *layout);
}

cf_status cf_archive_register_issued_layout(cf_archive *a, const char *id, const char *form_id,
                                            const char *form_version, const char *form_sha256,
                                            const cf_archive_label *labels, size_t n_labels,
                                            const unsigned char *pdf, size_t len,
                                            const cf_archive_scan_layout *layout, const char *ward,
                                            long long issued_at, const char *op, cf_diag *diag)
{
    (void)issued_at; /* the PDF's own date; the archive records the real time (real_now) */
    char *layout_json = NULL;
    if (layout != NULL && layout->pages > 0) {
        layout_json = cf_record_scan_layout_write(layout);
        if (layout_json == NULL)
            return CF_ERR_NOMEM;
    }
    cf_status st = register_issued(a, id, form_id, form_version, form_sha256, labels, n_labels, pdf,
                                   len, layout_json, ward, op, diag);
    cf_free(layout_json);
    return st;
}

/* Checks a ward given to the store: "" or NULL (none), or what cf_ward_clean keeps as it is. */
static cf_status check_ward(const char *id, const char *ward, cf_diag *diag)
{
    char clean[CF_WARD_SIZE];
    const char *why = NULL;
    if (ward == NULL || (cf_ward_clean(ward, clean, &why) == CF_OK && strcmp(clean, ward) == 0))
        return CF_OK;
    cf_diag_error(diag, NULL, 0, "document %s: the ward %s", id,
                  why != NULL ? why : "has white space around it");
    return CF_ERR_DATA;
}

/* cf_archive_register_issued_layout with the layout as its JSON (NULL: none). */
static cf_status register_issued(cf_archive *a, const char *id, const char *form_id,
                                 const char *form_version, const char *form_sha256,
                                 const cf_archive_label *labels, size_t n_labels,
                                 const unsigned char *pdf, size_t len, const char *layout_json,
                                 const char *ward, const char *op, cf_diag *diag)
{
    cf_status st = check_change(a, id, op, diag);
    if (st == CF_OK)
        st = check_text("form id", form_id, NAME_MAX_BYTES, /*may_be_empty*/ false, diag);
    if (st == CF_OK)
        st = check_text("form version", form_version, NAME_MAX_BYTES, /*may_be_empty*/ true, diag);
    if (st == CF_OK && form_sha256 != NULL && form_sha256[0] != '\0' &&
        (strlen(form_sha256) != CF_SHA256_HEX_SIZE - 1 ||
         strspn(form_sha256, "0123456789abcdef") != CF_SHA256_HEX_SIZE - 1)) {
        cf_diag_error(diag, NULL, 0, "document %s: the form's fingerprint is not a SHA-256", id);
        st = CF_ERR_DATA;
    }
    if (st == CF_OK)
        st = check_labels(labels, n_labels, /*need_visible*/ false, diag);
    if (st == CF_OK)
        st = check_ward(id, ward, diag);
    if (st == CF_OK && (pdf == NULL || cf_archive_sniff(pdf, len) == NULL ||
                        strcmp(cf_archive_sniff(pdf, len), "application/pdf") != 0)) {
        cf_diag_error(diag, NULL, 0, "document %s: the issued copy is not a PDF", id);
        st = CF_ERR_DATA;
    }
    if (st != CF_OK)
        return st;
    long long now = real_now();
    char hex[CF_SHA256_HEX_SIZE];
    cf_sha256_hex(pdf, len, hex);
    document_state doc = {0};
    /* A look first, so that a refused registration writes no object. */
    pthread_mutex_lock(&a->lock);
    st = find_document(a, id, &doc, diag);
    if (st == CF_OK && !doc.known)
        st = same_form_text(a, form_id, form_version, form_sha256, diag);
    pthread_mutex_unlock(&a->lock);
    if (st == CF_OK && doc.known)
        st = already_registered(a, id, &doc, hex, diag);
    /* The object is written outside the lock, so the threads of a batch sync their files at
     * the same time; only the index rows and the small record objects (which must not outlive
     * a change that is rolled back: see "Record objects and rolled-back changes") are
     * serialised. For a second issue this checks the stored copy and repairs it if it was
     * damaged. */
    if (st == CF_OK)
        st = cf_object_write(a->objects, hex, pdf, len, NULL, diag);
    /* The document's record object, for a new document, is written outside the lock too;
     * it is also staged, so that finish() checks it under the lock (and writes it again if a
     * change that failed meanwhile moved it aside) and a rollback moves it aside. One left by
     * a crash before the change began is named by no event, so rebuild-index never restores
     * it (verify notes it). */
    document_draft draft = {0};
    bool drafted = false;
    if (st == CF_OK && !doc.known) {
        st = draft_document(id, form_id, form_version, form_sha256, labels, n_labels, now, hex,
                            /*registered*/ true, layout_json, ward, &draft);
        drafted = st == CF_OK;
        if (st == CF_OK)
            st = cf_object_write(a->objects, draft.record, (const unsigned char *)draft.json,
                                 strlen(draft.json), NULL, diag);
    }
    if (st != CF_OK) {
        draft_cleanup(&draft);
        document_state_cleanup(&doc);
        return st;
    }
    pthread_mutex_lock(&a->lock);
    st = begin(a, diag);
    if (st == CF_OK) {
        st = find_document(a, id, &doc, diag); /* another process may have been quicker */
        if (st == CF_OK && doc.known) {
            st = already_registered(a, id, &doc, hex, diag);
            if (st == CF_OK)
                st = add_event(a, id, "issued", now, op, hex, 0, NULL, diag);
        } else {
            /* Another process may have registered the form's text meanwhile. */
            if (st == CF_OK)
                st = same_form_text(a, form_id, form_version, form_sha256, diag);
            if (st == CF_OK)
                st = add_file_row(a, hex, len, "application/pdf", now, diag);
            if (st == CF_OK && drafted)
                st = insert_draft(a, &draft, now, diag);
            else if (st == CF_OK)
                st = insert_document(a, id, form_id, form_version, form_sha256, labels, n_labels,
                                     now, hex, /*registered*/ true, ward, diag);
            if (st == CF_OK)
                st = add_event(a, id, "issued", now, op, hex, 0, NULL, diag);
        }
        st = finish(a, st, diag);
    }
    pthread_mutex_unlock(&a->lock);
    draft_cleanup(&draft);
    document_state_cleanup(&doc);
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
                    "document %s: this scan was filed before, as version %d", id, same);
        return CF_OK;
    }
    *proceed = true;
    *next = highest + 1;
    return CF_OK;
}

/* A scan filed unregistered onto an id the store holds must be of the same form and patient:
 * every label value given must be the stored one. The message names the fields, never their
 * values. */
static cf_status same_patient(const cf_archive *a, const char *id, const document_state *doc,
                              const char *form_id, const cf_archive_label *labels, size_t n,
                              cf_diag *diag)
{
    char differ[400] = "";
    size_t used = 0;
    if (form_id != NULL && strcmp(form_id, doc->form_id) != 0)
        used += (size_t)snprintf(differ, sizeof differ, "form");
    for (size_t i = 0; i < n; i++) {
        char stored[LABEL_VALUE_MAX + 1];
        cf_record_labels_get(doc->labels, labels[i].key, stored, sizeof stored);
        if (strcmp(stored, labels[i].value) != 0 && used < sizeof differ)
            used += (size_t)snprintf(differ + used, sizeof differ - used, "%s%s",
                                     used > 0 ? ", " : "", labels[i].key);
    }
    if (used == 0)
        return CF_OK;
    cf_diag_error(diag, a->dir, 0,
                  "document %s is already in the store for another patient or form: the values "
                  "given differ from the stored ones (%s); check the id and the label; nothing "
                  "was filed",
                  id, differ);
    return CF_ERR_DATA;
}

/* The scan must not be the unsigned copy that was printed: not byte for byte, and not the
 * same pages (a PDF rewritten by some program keeps its pages' content). */
static cf_status not_the_issued_copy(cf_archive *a, const char *id, const document_state *doc,
                                     const char *hex, const char *fingerprint, cf_diag *diag)
{
    bool same = false;
    if (doc->issued_hash[0] != '\0' && strcmp(doc->issued_hash, hex) == 0)
        same = true;
    if (!same && fingerprint != NULL && fingerprint[0] != '\0' && doc->issued_hash[0] != '\0') {
        char *issued = NULL;
        size_t len = 0;
        int pages = 0;
        char issued_print[CF_SHA256_HEX_SIZE], why[200];
        if (cf_object_load(a->objects, doc->issued_hash, &issued, &len, NULL) == CF_OK &&
            cf_content_pdf_check((const unsigned char *)issued, len, &pages, issued_print, why,
                                 sizeof why) &&
            strcmp(issued_print, fingerprint) == 0)
            same = true;
        cf_free(issued);
    }
    if (!same) {
        /* Nor the issued copy of any other document. */
        sqlite3_stmt *s = prepare(a, "SELECT id FROM documents WHERE issued_hash = ?");
        if (s == NULL)
            return db_error(a, diag, "be read");
        sqlite3_bind_text(s, 1, hex, -1, SQLITE_STATIC);
        same = sqlite3_step(s) == SQLITE_ROW;
        sqlite3_finalize(s);
    }
    if (!same)
        return CF_OK;
    cf_diag_error(diag, a->dir, 0,
                  "document %s: this is the unsigned copy that was printed, not a scan of the "
                  "signed form; nothing was filed",
                  id);
    return CF_ERR_DATA;
}

/* A scan must be what its first bytes claim: a PDF that opens with its pages, an image whose
 * every pixel decodes. fingerprint gets a PDF's page-content hash ("" for an image). */
static cf_status check_scan_content(const char *type, const unsigned char *data, size_t len,
                                    char fingerprint[CF_SHA256_HEX_SIZE], cf_diag *diag)
{
    char why[300];
    int pages = 0;
    fingerprint[0] = '\0';
    bool ok = strcmp(type, "application/pdf") == 0
                  ? cf_content_pdf_check(data, len, &pages, fingerprint, why, sizeof why)
                  : cf_content_image_check(type, data, len, why, sizeof why);
    if (ok)
        return CF_OK;
    if (strcmp(why, "out of memory") == 0)
        return CF_ERR_NOMEM;
    cf_diag_error(diag, NULL, 0, "the scan claims to be %s but %s; nothing was filed",
                  strcmp(type, "application/pdf") == 0 ? "a PDF" : type, why);
    return CF_ERR_DATA;
}

cf_status cf_archive_add_scan(cf_archive *a, const char *id, const unsigned char *data, size_t len,
                              long long at, const char *op, const char *form_id,
                              const cf_archive_label *labels, size_t n_labels, int *version,
                              bool *already_filed, cf_diag *diag)
{
    (void)at; /* events take the real time (real_now) */
    *version = 0;
    if (already_filed != NULL)
        *already_filed = false;
    cf_status st = check_change(a, id, op, diag);
    bool unregistered = labels != NULL;
    if (st == CF_OK && unregistered)
        st = check_labels(labels, n_labels, /*need_visible*/ true, diag);
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
    char fingerprint[CF_SHA256_HEX_SIZE];
    st = check_scan_content(type, data, len, fingerprint, diag);
    if (st != CF_OK)
        return st;
    long long now = real_now();
    char hex[CF_SHA256_HEX_SIZE];
    cf_sha256_hex(data, len, hex);
    bool proceed = false;
    int next = 0;
    document_state doc = {0};
    pthread_mutex_lock(&a->lock);
    st = scan_plan(a, id, hex, unregistered, &proceed, version, &next, &doc, diag);
    if (st == CF_OK && doc.known && unregistered)
        st = same_patient(a, id, &doc, form_id, labels, n_labels, diag);
    if (st == CF_OK && doc.known)
        st = not_the_issued_copy(a, id, &doc, hex, fingerprint, diag);
    pthread_mutex_unlock(&a->lock);
    /* The object is written (or, when it is there, checked and repaired if damaged) even when
     * the scan was filed before: the genuine bytes are never thrown away. */
    bool repaired = false;
    if (st == CF_OK)
        st = cf_object_write(a->objects, hex, data, len, &repaired, diag);
    if (st == CF_OK && repaired)
        cf_diag_add(diag, CF_DIAG_NOTE, a->dir, 0, 0,
                    "document %s: the stored copy of this scan was damaged and has been repaired "
                    "from the file given (the damaged copy is kept in damaged/)",
                    id);
    if (st != CF_OK || !proceed) {
        if (already_filed != NULL)
            *already_filed = st == CF_OK;
        if (st != CF_OK)
            *version = 0;
        document_state_cleanup(&doc);
        return st;
    }
    pthread_mutex_lock(&a->lock);
    st = begin(a, diag);
    if (st == CF_OK) {
        /* Planned again inside the transaction: another process may have filed meanwhile. */
        st = scan_plan(a, id, hex, unregistered, &proceed, version, &next, &doc, diag);
        if (st == CF_OK && proceed) {
            if (!doc.known)
                st = insert_document(a, id, form_id, NULL, NULL, labels, n_labels, now, NULL,
                                     /*registered*/ false, /*ward*/ NULL, diag);
            else if (unregistered)
                st = same_patient(a, id, &doc, form_id, labels, n_labels, diag);
            if (st == CF_OK)
                st = add_file_row(a, hex, len, type, now, diag);
            if (st == CF_OK)
                st = add_event(a, id, "signed-copy-added", now, op, hex, next, NULL, diag);
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
    document_state_cleanup(&doc);
    return st;
}

cf_status cf_archive_void(cf_archive *a, const char *id, const char *reason, long long at,
                          const char *op, cf_diag *diag)
{
    (void)at; /* events take the real time (real_now) */
    cf_status st = check_change(a, id, op, diag);
    if (st == CF_OK)
        st = check_text("reason for voiding", reason, REASON_MAX, /*may_be_empty*/ false, diag);
    if (st != CF_OK)
        return st;
    pthread_mutex_lock(&a->lock);
    st = begin(a, diag);
    if (st == CF_OK) {
        document_state doc = {0};
        st = find_document(a, id, &doc, diag);
        if (st == CF_OK && !doc.known) {
            cf_diag_error(diag, a->dir, 0, "no document %s in the store", id);
            st = CF_ERR_NOINPUT;
        }
        if (st == CF_OK)
            st = add_event(a, id, "voided", real_now(), op, NULL, 0, reason, diag);
        st = finish(a, st, diag);
        document_state_cleanup(&doc);
    }
    pthread_mutex_unlock(&a->lock);
    return st;
}

/* The object sent by a download of document id and the version to record (0: none), for
 * cf_archive_record_downloads. */
static cf_status download_object(cf_archive *a, const char *id, const document_state *doc,
                                 cf_archive_download what, int version, char hash[65],
                                 cf_diag *diag)
{
    hash[0] = '\0';
    if (what != CF_ARCHIVE_DOWNLOAD_SIGNED) {
        if (doc->issued_hash[0] == '\0') {
            cf_diag_error(diag, a->dir, 0, "document %s has no issued PDF in this store", id);
            return CF_ERR_DATA;
        }
        snprintf(hash, 65, "%s", doc->issued_hash);
        return CF_OK;
    }
    sqlite3_stmt *s = prepare(a, "SELECT file_hash FROM events WHERE document_id = ? AND kind = "
                                 "'signed-copy-added' AND version = ? ORDER BY seq LIMIT 1");
    if (s == NULL)
        return db_error(a, diag, "be read");
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, version);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
        snprintf(hash, 65, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_error(a, diag, "be read");
    if (hash[0] == '\0') {
        cf_diag_error(diag, a->dir, 0, "document %s has no signed copy version %d", id, version);
        return CF_ERR_NOINPUT;
    }
    return CF_OK;
}

cf_status cf_archive_record_downloads(cf_archive *a, const char *const *ids, size_t n,
                                      cf_archive_download what, int version, const char *run,
                                      const char *op, cf_diag *diag)
{
    if (n == 0 || ids == NULL) {
        cf_diag_error(diag, a->dir, 0, "a download names no document");
        return CF_ERR_DATA;
    }
    cf_status st = CF_OK;
    for (size_t i = 0; st == CF_OK && i < n; i++)
        st = check_change(a, ids[i], op, diag);
    if (st == CF_OK && what == CF_ARCHIVE_DOWNLOAD_LIST_ZIP)
        st = check_text("name of the list run", run, NAME_MAX_BYTES, /*may_be_empty*/ false, diag);
    if (st == CF_OK && what == CF_ARCHIVE_DOWNLOAD_SIGNED && version <= 0) {
        cf_diag_error(diag, a->dir, 0, "document %s: signed copies are numbered from 1", ids[0]);
        st = CF_ERR_DATA;
    }
    if (st != CF_OK)
        return st;
    char reason[300];
    if (what == CF_ARCHIVE_DOWNLOAD_ISSUED)
        snprintf(reason, sizeof reason, "issued PDF");
    else if (what == CF_ARCHIVE_DOWNLOAD_SIGNED)
        snprintf(reason, sizeof reason, "signed copy version %d", version);
    else
        snprintf(reason, sizeof reason, "issued PDF in list ZIP %s (%zu document%s)", run, n,
                 n == 1 ? "" : "s");
    /* The hash of what each document's download sent, found for every id before the first
     * event is added (a refusal then stages nothing; record objects of a change rolled back
     * never stay in objects/ anyway: see "Record objects and rolled-back changes"). */
    char(*hashes)[65] = cf_calloc(n, sizeof *hashes);
    if (hashes == NULL)
        return CF_ERR_NOMEM;
    pthread_mutex_lock(&a->lock);
    st = begin(a, diag);
    if (st == CF_OK) {
        for (size_t i = 0; st == CF_OK && i < n; i++) {
            document_state doc = {0};
            st = find_document(a, ids[i], &doc, diag);
            if (st == CF_OK && !doc.known) {
                cf_diag_error(diag, a->dir, 0, "no document %s in the store", ids[i]);
                st = CF_ERR_NOINPUT;
            }
            if (st == CF_OK)
                st = download_object(a, ids[i], &doc, what, version, hashes[i], diag);
            document_state_cleanup(&doc);
        }
        long long now = real_now();
        for (size_t i = 0; st == CF_OK && i < n; i++)
            st = add_event(a, ids[i], "downloaded", now, op, hashes[i],
                           what == CF_ARCHIVE_DOWNLOAD_SIGNED ? version : 0, reason, diag);
        st = finish(a, st, diag);
    }
    pthread_mutex_unlock(&a->lock);
    cf_free(hashes);
    return st;
}

/* ---- queries -------------------------------------------------------------------------- */

void cf_archive_wards_cleanup(cf_archive_wards *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->count; i++)
        cf_free(w->names[i]);
    cf_free(w->names);
    memset(w, 0, sizeof *w);
}

cf_status cf_archive_ward_list(cf_archive *a, long long from, long long before,
                               cf_archive_wards *out, cf_diag *diag)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    pthread_mutex_lock(&a->lock);
    sqlite3_stmt *s = prepare(a, "SELECT DISTINCT ward FROM documents WHERE ward IS NOT NULL"
                                 " AND (?1 IS NULL OR issued_at >= ?1)"
                                 " AND (?2 IS NULL OR issued_at < ?2) ORDER BY ward");
    cf_status st = s != NULL ? CF_OK : db_error(a, diag, "be read");
    if (s != NULL && from != 0)
        sqlite3_bind_int64(s, 1, from);
    if (s != NULL && before != 0)
        sqlite3_bind_int64(s, 2, before);
    int rc = SQLITE_DONE;
    while (st == CF_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        char **grown = cf_grow_array(out->names, &cap, out->count + 1, sizeof *grown, 16);
        char *name = cf_strdup((const char *)sqlite3_column_text(s, 0));
        if (grown != NULL)
            out->names = grown;
        if (grown == NULL || name == NULL) {
            cf_free(name);
            st = CF_ERR_NOMEM;
            break;
        }
        out->names[out->count++] = name;
    }
    if (st == CF_OK && rc != SQLITE_DONE)
        st = db_error(a, diag, "be read");
    sqlite3_finalize(s);
    pthread_mutex_unlock(&a->lock);
    return st;
}

static void format_time(long long t, char *out, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t < 0 || gmtime_r(&tt, &tm) == NULL)
        snprintf(out, size, "-");
    else
        strftime(out, size, "%Y-%m-%d %H:%M UTC", &tm);
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

void cf_archive_issued_cleanup(cf_archive_issued *issued)
{
    if (issued == NULL)
        return;
    cf_archive_scan_layout_cleanup(&issued->layout);
    memset(issued, 0, sizeof *issued);
}

cf_status cf_archive_issued_get(cf_archive *a, const char *id, cf_archive_issued *out,
                                cf_diag *diag)
{
    memset(out, 0, sizeof *out);
    cf_status st = check_id(a, id, diag);
    if (st != CF_OK)
        return st;
    char record[CF_SHA256_HEX_SIZE] = "";
    pthread_mutex_lock(&a->lock);
    sqlite3_stmt *s = prepare(
        a, "SELECT d.form_id, d.form_version, d.registered, d.record_hash,"
           " (SELECT COUNT(*) FROM events e WHERE e.document_id = d.id AND e.kind = 'voided'),"
           " (SELECT COUNT(*) FROM events e WHERE e.document_id = d.id AND e.kind = "
           "'signed-copy-added'),"
           " EXISTS (SELECT 1 FROM events m WHERE m.document_id = d.id AND m.kind = "
           "'signature-missing' AND m.seq > (SELECT MAX(c.seq) FROM events c WHERE "
           "c.document_id = d.id AND c.kind = 'signed-copy-added'))"
           " FROM documents d WHERE d.id = ?");
    int rc = SQLITE_ERROR;
    if (s != NULL) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(s);
    }
    if (rc == SQLITE_ROW) {
        const unsigned char *f = sqlite3_column_text(s, 0), *v = sqlite3_column_text(s, 1),
                            *r = sqlite3_column_text(s, 3);
        snprintf(out->form_id, sizeof out->form_id, "%s", f != NULL ? (const char *)f : "");
        snprintf(out->form_version, sizeof out->form_version, "%s",
                 v != NULL ? (const char *)v : "");
        out->registered = sqlite3_column_int(s, 2) != 0;
        snprintf(record, sizeof record, "%s", r != NULL ? (const char *)r : "");
        out->voided = sqlite3_column_int(s, 4) > 0;
        out->signed_copies = sqlite3_column_int(s, 5);
        out->signature_missing = sqlite3_column_int(s, 6) != 0;
    } else if (rc == SQLITE_DONE) {
        cf_diag_error(diag, NULL, 0, "document %s is not in the archive", id);
        st = CF_ERR_NOINPUT;
    } else {
        st = db_error(a, diag, "be read");
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&a->lock);
    if (st != CF_OK || record[0] == '\0')
        return st;
    /* The layout is kept in the document's record object only. */
    char *json = NULL;
    size_t len = 0;
    st = cf_object_load(a->objects, record, &json, &len, diag);
    cf_record_document d = {0};
    if (st == CF_OK && cf_record_document_read(json, len, &d) != CF_OK) {
        cf_diag_error(diag, NULL, 0, "document %s: its record object %s is damaged", id, record);
        st = CF_ERR_DATA;
    }
    if (st == CF_OK && d.scan_layout != NULL &&
        cf_record_scan_layout_read(d.scan_layout, &out->layout) != CF_OK) {
        cf_archive_scan_layout_cleanup(&out->layout);
        cf_diag_error(diag, NULL, 0, "document %s: its record's scan layout is damaged", id);
        st = CF_ERR_DATA;
    }
    cf_record_document_cleanup(&d);
    cf_free(json);
    return st;
}

void cf_archive_rows_cleanup(cf_archive_rows *rows)
{
    if (rows == NULL)
        return;
    for (size_t i = 0; i < rows->count; i++) {
        cf_free(rows->rows[i].form_id);
        cf_free(rows->rows[i].form_version);
        cf_free(rows->rows[i].patient_name);
        cf_free(rows->rows[i].hospital_no);
        cf_free(rows->rows[i].missing_reason);
        cf_free(rows->rows[i].ward);
    }
    cf_free(rows->rows);
    memset(rows, 0, sizeof *rows);
}

cf_archive_state cf_archive_row_state(const cf_archive_row *r)
{
    if (r->voided)
        return CF_ARCHIVE_STATE_VOID;
    if (r->signed_copies > 0 && !r->signature_missing)
        return CF_ARCHIVE_STATE_SIGNED;
    if (r->signature_missing)
        return CF_ARCHIVE_STATE_SIGNATURE_MISSING;
    return r->issued_at >= 0 ? CF_ARCHIVE_STATE_SIGNATURE_MISSING : CF_ARCHIVE_STATE_ISSUED;
}

/* True when the row's state is what the filter asks for. */
static bool state_matches(const cf_archive_row *r, cf_archive_state want)
{
    cf_archive_state st = cf_archive_row_state(r);
    switch (want) {
    case CF_ARCHIVE_STATE_ANY:
        return true;
    case CF_ARCHIVE_STATE_ISSUED:
        return st != CF_ARCHIVE_STATE_VOID && r->issued_at >= 0;
    default:
        return st == want;
    }
}

cf_status cf_archive_query(cf_archive *a, const cf_archive_filter *f, cf_archive_rows *rows,
                           cf_diag *diag)
{
    memset(rows, 0, sizeof *rows);
    pthread_mutex_lock(&a->lock);
    const char *sql =
        "SELECT d.id, d.form_id, d.form_version, d.issued_at, d.labels,"
        " (SELECT COUNT(*) FROM events e WHERE e.document_id = d.id AND e.kind = "
        "'signed-copy-added'),"
        " (SELECT COUNT(*) FROM events e WHERE e.document_id = d.id AND e.kind = 'voided'),"
        /* The reason of a signature-missing event that no signed copy filed later answers. */
        " (SELECT m.reason FROM events m WHERE m.document_id = d.id AND m.kind = "
        "'signature-missing' AND m.seq > (SELECT MAX(c.seq) FROM events c WHERE c.document_id = "
        "d.id AND c.kind = 'signed-copy-added') ORDER BY m.seq DESC LIMIT 1),"
        " d.ward"
        " FROM documents d"
        " WHERE (?1 IS NULL OR d.hospital_no = ?1) AND (?2 IS NULL OR d.form_id = ?2)"
        " AND (?3 IS NULL OR d.issued_at >= ?3) AND (?4 IS NULL OR d.issued_at < ?4)"
        " AND (?5 IS NULL OR d.ward = ?5)"
        " ORDER BY d.issued_at, d.id";
    sqlite3_stmt *s = prepare(a, sql);
    cf_status st = s != NULL ? CF_OK : db_error(a, diag, "be read");
    if (s != NULL) {
        if (f->hospital_no != NULL)
            sqlite3_bind_text(s, 1, f->hospital_no, -1, SQLITE_STATIC);
        if (f->form_id != NULL)
            sqlite3_bind_text(s, 2, f->form_id, -1, SQLITE_STATIC);
        if (f->issued_from != 0)
            sqlite3_bind_int64(s, 3, f->issued_from);
        if (f->issued_before != 0)
            sqlite3_bind_int64(s, 4, f->issued_before);
        if (f->ward != NULL)
            sqlite3_bind_text(s, 5, f->ward, -1, SQLITE_STATIC);
    }
    cf_archive_state want = f->unsigned_only ? CF_ARCHIVE_STATE_SIGNATURE_MISSING : f->state;
    int rc = SQLITE_DONE;
    while (st == CF_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        cf_archive_row r;
        memset(&r, 0, sizeof r);
        snprintf(r.id, sizeof r.id, "%s", (const char *)sqlite3_column_text(s, 0));
        r.issued_at = sqlite3_column_type(s, 3) != SQLITE_NULL ? sqlite3_column_int64(s, 3) : -1;
        r.signed_copies = sqlite3_column_int(s, 5);
        r.voided = sqlite3_column_int(s, 6) > 0;
        r.signature_missing = sqlite3_column_type(s, 7) != SQLITE_NULL;
        if (!state_matches(&r, want))
            continue;
        const unsigned char *missing = sqlite3_column_text(s, 7);
        const char *labels = (const char *)sqlite3_column_text(s, 4);
        char name[LABEL_VALUE_MAX + 1], hn[LABEL_VALUE_MAX + 1];
        cf_record_labels_get(labels, "patient_name", name, sizeof name);
        cf_record_labels_get(labels, "hospital_no", hn, sizeof hn);
        if (f->patient_name != NULL && strstr(name, f->patient_name) == NULL)
            continue;
        const unsigned char *form = sqlite3_column_text(s, 1), *version = sqlite3_column_text(s, 2);
        r.form_id = cf_strdup(form != NULL ? (const char *)form : "");
        r.form_version = cf_strdup(version != NULL ? (const char *)version : "");
        r.patient_name = cf_strdup(name);
        r.hospital_no = cf_strdup(hn);
        r.missing_reason = cf_strdup(missing != NULL ? (const char *)missing : "");
        const unsigned char *ward = sqlite3_column_text(s, 8);
        r.ward = cf_strdup(ward != NULL ? (const char *)ward : "");
        cf_archive_row *grown =
            cf_grow_array(rows->rows, &rows->cap, rows->count + 1, sizeof *grown, 16);
        if (grown == NULL || r.form_id == NULL || r.form_version == NULL ||
            r.patient_name == NULL || r.hospital_no == NULL || r.missing_reason == NULL ||
            r.ward == NULL) {
            cf_free(r.ward);
            cf_free(r.missing_reason);
            cf_free(r.form_id);
            cf_free(r.form_version);
            cf_free(r.patient_name);
            cf_free(r.hospital_no);
            if (grown != NULL)
                rows->rows = grown;
            st = CF_ERR_NOMEM;
            break;
        }
        rows->rows = grown;
        rows->rows[rows->count++] = r;
    }
    if (st == CF_OK && rc != SQLITE_DONE)
        st = db_error(a, diag, "be read");
    sqlite3_finalize(s);
    pthread_mutex_unlock(&a->lock);
    return st;
}

cf_status cf_archive_list(cf_archive *a, const cf_archive_filter *f, FILE *out, size_t *count,
                          cf_diag *diag)
{
    *count = 0;
    cf_archive_rows rows;
    cf_status st = cf_archive_query(a, f, &rows, diag);
    for (size_t i = 0; st == CF_OK && i < rows.count; i++) {
        const cf_archive_row *r = &rows.rows[i];
        char when[40], status[40], form[420];
        format_time(r->issued_at, when, sizeof when);
        if (r->voided)
            snprintf(status, sizeof status, "void");
        else if (r->signed_copies > 0)
            snprintf(status, sizeof status, "signed(%d)", r->signed_copies);
        else
            snprintf(status, sizeof status, "unsigned");
        form_name(form, sizeof form, (const unsigned char *)r->form_id,
                  (const unsigned char *)r->form_version);
        fprintf(out, "%s  %s  %s  %-10s  %s  %s  %s\n", r->id, form, when, status,
                r->ward[0] != '\0' ? r->ward : "—", r->hospital_no, r->patient_name);
        (*count)++;
    }
    cf_archive_rows_cleanup(&rows);
    return st;
}

/* Prepares the query of one document's record (form_id, form_version, labels, issued_at,
 * issued_hash, registered, form_sha256, ward) and steps to its row; CF_ERR_NOINPUT for an unknown
 * id. */
static cf_status query_document(cf_archive *a, const char *id, sqlite3_stmt **s, cf_diag *diag)
{
    if (sqlite3_prepare_v2(a->db,
                           "SELECT form_id, form_version, labels, issued_at, issued_hash, "
                           "registered, form_sha256, ward FROM documents WHERE id = ?",
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
    const unsigned char *ward = sqlite3_column_text(s, 7);
    fprintf(out, "document %s\n  form      %s%s\n  labels    %s\n  issued    %s\n  ward      %s\n",
            id, form, sqlite3_column_int(s, 5) ? "" : " (filed without being issued here)",
            (const char *)sqlite3_column_text(s, 2), when, ward != NULL ? (const char *)ward : "—");
    if (sqlite3_column_type(s, 4) != SQLITE_NULL)
        fprintf(out, "  issued PDF sha256 %s\n", (const char *)sqlite3_column_text(s, 4));
    if (sqlite3_column_type(s, 6) != SQLITE_NULL)
        fprintf(out, "  form_sha256 %s\n", (const char *)sqlite3_column_text(s, 6));
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

/* Columns of a document row, in the order of DOCUMENT_COLUMNS, as a record (strings borrowed
 * from the statement, valid until its next step). */
#define DOCUMENT_COLUMNS                                                                           \
    "id, form_id, form_version, labels, issued_at, issued_hash, registered, record_hash, "         \
    "hospital_no, form_sha256, ward"
static void document_from_row(sqlite3_stmt *s, cf_record_document *d)
{
    memset(d, 0, sizeof *d);
    d->id = (char *)(uintptr_t)sqlite3_column_text(s, 0);
    d->form_id = (char *)(uintptr_t)sqlite3_column_text(s, 1);
    d->form_version = (char *)(uintptr_t)sqlite3_column_text(s, 2);
    d->labels = (char *)(uintptr_t)sqlite3_column_text(s, 3);
    d->issued_at = sqlite3_column_type(s, 4) != SQLITE_NULL ? sqlite3_column_int64(s, 4) : -1;
    if (sqlite3_column_text(s, 5) != NULL)
        snprintf(d->issued_hash, sizeof d->issued_hash, "%s",
                 (const char *)sqlite3_column_text(s, 5));
    d->registered = sqlite3_column_int(s, 6) != 0;
    if (sqlite3_column_text(s, 9) != NULL)
        snprintf(d->form_sha256, sizeof d->form_sha256, "%s",
                 (const char *)sqlite3_column_text(s, 9));
    d->ward = (char *)(uintptr_t)sqlite3_column_text(s, 10);
}

/* Likewise for an event row (EVENT_COLUMNS); document_record is left "". */
#define EVENT_COLUMNS                                                                              \
    "e.seq, e.document_id, e.kind, e.at, e.operator, e.file_hash, e.version, e.reason, "           \
    "e.prev_hash, e.record_hash"
static void event_from_row(sqlite3_stmt *s, cf_record_event *e)
{
    memset(e, 0, sizeof *e);
    e->seq = sqlite3_column_int64(s, 0);
    e->document_id = (char *)(uintptr_t)sqlite3_column_text(s, 1);
    e->kind = (char *)(uintptr_t)sqlite3_column_text(s, 2);
    e->at = sqlite3_column_int64(s, 3);
    e->operator_name = (char *)(uintptr_t)sqlite3_column_text(s, 4);
    if (sqlite3_column_text(s, 5) != NULL)
        snprintf(e->file_hash, sizeof e->file_hash, "%s", (const char *)sqlite3_column_text(s, 5));
    e->version = sqlite3_column_type(s, 6) != SQLITE_NULL ? sqlite3_column_int(s, 6) : 0;
    e->reason = (char *)(uintptr_t)sqlite3_column_text(s, 7);
    if (sqlite3_column_text(s, 8) != NULL)
        snprintf(e->prev, sizeof e->prev, "%s", (const char *)sqlite3_column_text(s, 8));
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
    cf_record_export *x = NULL;
    char document_record[CF_SHA256_HEX_SIZE] = "";
    sqlite3_stmt *s = prepare(a, "SELECT " DOCUMENT_COLUMNS " FROM documents WHERE id = ?");
    cf_status st = s != NULL ? CF_OK : db_error(a, diag, "be read");
    if (st == CF_OK) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_ROW) {
            cf_diag_error(diag, a->dir, 0, "no document %s in the store", id);
            st = CF_ERR_NOINPUT;
        }
    }
    if (st == CF_OK) {
        cf_record_document d;
        document_from_row(s, &d);
        if (sqlite3_column_text(s, 7) != NULL)
            snprintf(document_record, sizeof document_record, "%s",
                     (const char *)sqlite3_column_text(s, 7));
        x = cf_record_export_new(&d);
        if (x == NULL)
            st = CF_ERR_NOMEM;
        if (st == CF_OK && d.issued_hash[0] != '\0')
            st = export_object(a, d.issued_hash, dir, "issued.pdf", force, diag);
    }
    sqlite3_finalize(s);
    s = NULL;
    if (st == CF_OK) {
        s = prepare(a, "SELECT " EVENT_COLUMNS ", f.media_type FROM events e LEFT JOIN files f "
                       "ON f.hash = e.file_hash WHERE e.document_id = ? ORDER BY e.seq");
        if (s == NULL)
            st = db_error(a, diag, "be read");
        else
            sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    }
    while (st == CF_OK && sqlite3_step(s) == SQLITE_ROW) {
        cf_record_event e;
        event_from_row(s, &e);
        memcpy(e.document_record, document_record, sizeof document_record);
        char name[64] = "";
        if (strcmp(e.kind, "signed-copy-added") == 0 && e.file_hash[0] != '\0') {
            const char *type = (const char *)sqlite3_column_text(s, 10);
            snprintf(name, sizeof name, "signed-%d.%s", e.version,
                     extension(type != NULL ? type : "application/pdf"));
            st = export_object(a, e.file_hash, dir, name, force, diag);
        }
        cf_record_export_event(x, &e, name[0] != '\0' ? name : NULL);
    }
    sqlite3_finalize(s);
    size_t len = 0;
    char *json = cf_record_export_finish(x, &len);
    x = NULL;
    if (st == CF_OK && json == NULL)
        st = CF_ERR_NOMEM;
    if (st == CF_OK) {
        char *path = join(dir, "record.json");
        st = path != NULL ? cf_file_write_atomic(path, json, len, force, diag) : CF_ERR_NOMEM;
        cf_free(path);
    }
    cf_free(json);
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

/* "document ID (patient NAME, hospital no HN)" from a labels JSON, into out. verify prints
 * for the person who asked (like list), so it names the patient a problem concerns. */
static void patient_of(const char *id, const char *labels, char *out, size_t size)
{
    char name[256], hn[256];
    cf_record_labels_get(labels, "patient_name", name, sizeof name);
    cf_record_labels_get(labels, "hospital_no", hn, sizeof hn);
    snprintf(out, size, "document %s (patient %s, hospital no %s)", id != NULL ? id : "?",
             name[0] != '\0' ? name : "?", hn[0] != '\0' ? hn : "?");
}

/* The registry of form texts against the documents: a line to out for every document whose
 * form fingerprint is not the one registered for its form id@version (*problems counts them);
 * with registered_too, also for every registry row that no document with its fingerprint
 * backs (a row added or edited by hand). Used by verify and after rebuild-index. */
static cf_status check_form_registry(cf_archive *a, FILE *out, bool registered_too,
                                     size_t *problems, cf_diag *diag)
{
    sqlite3_stmt *s = prepare(
        a, "SELECT d.id, d.labels, d.form_id, d.form_version, d.form_sha256, f.form_sha256, "
           "f.first_document FROM documents d LEFT JOIN forms f ON f.form_id = d.form_id AND "
           "f.form_version = d.form_version WHERE d.form_sha256 IS NOT NULL AND "
           "(f.form_sha256 IS NULL OR f.form_sha256 <> d.form_sha256) ORDER BY d.id");
    if (s == NULL)
        return db_error(a, diag, "be read");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        char who[700];
        patient_of((const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
                   who, sizeof who);
        const char *registered = (const char *)sqlite3_column_text(s, 5);
        if (registered == NULL)
            fprintf(out,
                    "%s: its form %s %s (fingerprint %.12s…) is missing from the registry of "
                    "form texts (the registry was edited by hand)\n",
                    who, (const char *)sqlite3_column_text(s, 2),
                    (const char *)sqlite3_column_text(s, 3),
                    (const char *)sqlite3_column_text(s, 4));
        else
            fprintf(out,
                    "%s: its form %s %s has fingerprint %.12s…, but the registry of form texts "
                    "holds %.12s… (from document %s): two texts under one version\n",
                    who, (const char *)sqlite3_column_text(s, 2),
                    (const char *)sqlite3_column_text(s, 3),
                    (const char *)sqlite3_column_text(s, 4), registered,
                    (const char *)sqlite3_column_text(s, 6));
        (*problems)++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return db_error(a, diag, "be read");
    if (!registered_too)
        return CF_OK;
    s = prepare(a, "SELECT f.form_id, f.form_version, f.form_sha256, f.first_document FROM forms f "
                   "LEFT JOIN documents d ON d.id = f.first_document AND d.form_id = f.form_id "
                   "AND d.form_version = f.form_version AND d.form_sha256 = f.form_sha256 "
                   "WHERE d.id IS NULL ORDER BY f.form_id, f.form_version");
    if (s == NULL)
        return db_error(a, diag, "be read");
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        fprintf(out,
                "registry of form texts: %s %s is registered with fingerprint %.12s… by "
                "document %s, which has no such record (the registry was edited by hand)\n",
                (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
                (const char *)sqlite3_column_text(s, 2), (const char *)sqlite3_column_text(s, 3));
        (*problems)++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? CF_OK : db_error(a, diag, "be read");
}

/* The document (and patient) behind the object hash, as the index says; out gets "" when no
 * row names it. The labels of the document's record object are preferred to its row's, which
 * may have been edited. */
static void who_has(cf_archive *a, const char *hash, char *out, size_t size)
{
    out[0] = '\0';
    sqlite3_stmt *s = prepare(a, "SELECT id, labels, record_hash FROM documents"
                                 " WHERE issued_hash = ?1 OR record_hash = ?1"
                                 " UNION ALL SELECT d.id, d.labels, d.record_hash FROM events e"
                                 " JOIN documents d ON d.id = e.document_id"
                                 " WHERE e.file_hash = ?1 OR e.record_hash = ?1 LIMIT 1");
    if (s == NULL)
        return;
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *labels = (const char *)sqlite3_column_text(s, 1);
        const char *record = (const char *)sqlite3_column_text(s, 2);
        char *json = NULL;
        size_t len = 0;
        cf_record_document d = {0};
        if (record != NULL && strcmp(record, hash) != 0 && cf_object_is_hash(record) &&
            cf_object_load(a->objects, record, &json, &len, NULL) == CF_OK &&
            cf_record_document_read(json, len, &d) == CF_OK)
            labels = d.labels;
        patient_of((const char *)sqlite3_column_text(s, 0), labels, out, size);
        cf_record_document_cleanup(&d);
        cf_free(json);
    }
    sqlite3_finalize(s);
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
        char who[700] = "";
        if (r.state != CF_OBJECT_SOUND || r.size != size)
            who_has(v->a, hex, who, sizeof who);
        const char *sep = who[0] != '\0' ? "; " : "";
        switch (r.state) {
        case CF_OBJECT_MISSING:
            finding(v, false, "objects/%.2s/%s: missing (the index records it)%s%s", hex, hex + 2,
                    sep, sep[0] ? who : "");
            break;
        case CF_OBJECT_UNREADABLE:
            finding(v, false, "objects/%.2s/%s: cannot be read: %s%s%s", hex, hex + 2,
                    strerror(r.error), sep, sep[0] ? who : "");
            break;
        case CF_OBJECT_CHANGED:
            finding(v, false, "objects/%.2s/%s: content changed (its SHA-256 is now %s)%s%s", hex,
                    hex + 2, r.actual_hex, sep, sep[0] ? who : "");
            break;
        case CF_OBJECT_SOUND:
            if (r.size != size)
                finding(v, false, "objects/%.2s/%s: %lld bytes, the index says %lld%s%s", hex,
                        hex + 2, r.size, size, sep, sep[0] ? who : "");
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
    sqlite3_stmt *s = prepare(v->a, "SELECT id, issued_hash, labels FROM documents"
                                    " WHERE issued_hash IS NOT NULL"
                                    " AND issued_hash NOT IN (SELECT hash FROM files)"
                                    " UNION ALL SELECT e.document_id, e.file_hash, d.labels"
                                    " FROM events e LEFT JOIN documents d ON d.id = e.document_id"
                                    " WHERE e.file_hash IS NOT NULL"
                                    " AND e.file_hash NOT IN (SELECT hash FROM files)");
    if (s == NULL)
        return db_error(v->a, diag, "be read");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        char who[700];
        patient_of((const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 2),
                   who, sizeof who);
        finding(v, false, "%s: names object %.70s, which the index does not hold", who,
                (const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? CF_OK : db_error(v->a, diag, "be read");
}

static bool same_text(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* The first field in which a document row differs from its record, or NULL. */
static const char *document_difference(const cf_record_document *row, const char *hospital_no,
                                       const cf_record_document *rec)
{
    char hn[LABEL_VALUE_MAX + 1];
    cf_record_labels_get(rec->labels, "hospital_no", hn, sizeof hn);
    if (!same_text(row->id, rec->id))
        return "id";
    if (!same_text(row->form_id, rec->form_id) || !same_text(row->form_version, rec->form_version))
        return "form and version";
    if (!cf_record_labels_equal(row->labels, rec->labels))
        return "label values";
    if (!same_text(hospital_no, hn[0] != '\0' ? hn : NULL))
        return "hospital number column";
    if (row->issued_at != rec->issued_at)
        return "time of issue";
    if (strcmp(row->issued_hash, rec->issued_hash) != 0)
        return "issued PDF";
    if (row->registered != rec->registered)
        return "registration";
    if (strcmp(row->form_sha256, rec->form_sha256) != 0)
        return "form fingerprint";
    if (!same_text(row->ward, rec->ward))
        return "ward";
    return NULL;
}

/* 4. Every document row against its record object. */
static cf_status verify_documents(verify_run *v, cf_diag *diag)
{
    sqlite3_stmt *s = prepare(v->a, "SELECT " DOCUMENT_COLUMNS " FROM documents ORDER BY id");
    if (s == NULL)
        return db_error(v->a, diag, "be read");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cf_record_document row;
        document_from_row(s, &row);
        const char *record = (const char *)sqlite3_column_text(s, 7);
        const char *hospital_no = (const char *)sqlite3_column_text(s, 8);
        char who[700], was[700];
        patient_of(row.id, row.labels, who, sizeof who);
        if (record == NULL || !cf_object_is_hash(record)) {
            finding(v, false,
                    "%s: the index row has no record object (it was added or edited "
                    "by hand)",
                    who);
            continue;
        }
        char *json = NULL;
        size_t len = 0;
        cf_record_document rec = {0};
        if (cf_object_load(v->a->objects, record, &json, &len, NULL) != CF_OK) {
            /* Reported by verify_files (changed or missing), naming the document. */
            cf_free(json);
            continue;
        }
        if (cf_record_document_read(json, len, &rec) != CF_OK) {
            finding(v, false, "%s: its record object objects/%.2s/%s is not a document record", who,
                    record, record + 2);
        } else {
            const char *field = document_difference(&row, hospital_no, &rec);
            if (field != NULL) {
                patient_of(rec.id, rec.labels, was, sizeof was);
                finding(v, false,
                        "%s: the index row was edited (its %s do not match its record "
                        "object objects/%.2s/%s, which says %s)",
                        who, field, record, record + 2, was);
            }
        }
        cf_record_document_cleanup(&rec);
        cf_free(json);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? CF_OK : db_error(v->a, diag, "be read");
}

/* The first field in which an event row differs from its record, or NULL. */
static const char *event_difference(const cf_record_event *row, const cf_record_event *rec)
{
    if (row->seq != rec->seq)
        return "sequence number";
    if (!same_text(row->document_id, rec->document_id))
        return "document";
    if (!same_text(row->kind, rec->kind))
        return "kind";
    if (row->at != rec->at)
        return "time";
    if (!same_text(row->operator_name, rec->operator_name))
        return "operator";
    if (strcmp(row->file_hash, rec->file_hash) != 0)
        return "file";
    if (row->version != rec->version)
        return "version";
    if (!same_text(row->reason, rec->reason))
        return "reason";
    return NULL;
}

/* 5. Every event row against its record object, and the chain: each event names the record
 * of the event before it, and the record of its own document. */
static cf_status verify_events(verify_run *v, cf_diag *diag)
{
    sqlite3_stmt *s = prepare(v->a, "SELECT " EVENT_COLUMNS ", d.labels, d.record_hash "
                                    "FROM events e LEFT JOIN documents d ON d.id = e.document_id "
                                    "ORDER BY e.seq");
    if (s == NULL)
        return db_error(v->a, diag, "be read");
    char expected_prev[CF_SHA256_HEX_SIZE] = "";
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cf_record_event row;
        event_from_row(s, &row);
        const char *record = (const char *)sqlite3_column_text(s, 9);
        const char *labels = (const char *)sqlite3_column_text(s, 10);
        const char *document_record = (const char *)sqlite3_column_text(s, 11);
        char who[700];
        patient_of(row.document_id, labels, who, sizeof who);
        if (strcmp(row.prev, expected_prev) != 0)
            finding(v, false,
                    "%s: event %lld (%s) breaks the chain: it follows %s, the index "
                    "has %s before it (an event was removed, inserted or edited)",
                    who, row.seq, row.kind != NULL ? row.kind : "?",
                    row.prev[0] != '\0' ? row.prev : "nothing",
                    expected_prev[0] != '\0' ? expected_prev : "nothing");
        if (record == NULL || !cf_object_is_hash(record)) {
            finding(v, false,
                    "%s: event %lld has no record object (it was added or edited by "
                    "hand)",
                    who, row.seq);
            expected_prev[0] = '\0';
            continue;
        }
        snprintf(expected_prev, sizeof expected_prev, "%s", record);
        char *json = NULL;
        size_t len = 0;
        cf_record_event rec = {0};
        if (cf_object_load(v->a->objects, record, &json, &len, NULL) != CF_OK) {
            cf_free(json);
            continue; /* reported by verify_files */
        }
        if (cf_record_event_read(json, len, &rec) != CF_OK) {
            finding(v, false, "%s: the record object of event %lld is not an event record", who,
                    row.seq);
        } else {
            const char *field = event_difference(&row, &rec);
            if (field != NULL)
                finding(v, false,
                        "%s: event %lld (%s) was edited in the index (%s differs from "
                        "its record object objects/%.2s/%s)",
                        who, row.seq, rec.kind, field, record, record + 2);
            if (strcmp(rec.prev, row.prev) != 0)
                finding(v, false,
                        "%s: event %lld breaks the chain: its record follows %s, its "
                        "row %s",
                        who, row.seq, rec.prev[0] != '\0' ? rec.prev : "nothing",
                        row.prev[0] != '\0' ? row.prev : "nothing");
            if (document_record == NULL || strcmp(rec.document_record, document_record) != 0)
                finding(v, false,
                        "%s: event %lld belongs to document record %.16s…, not to the "
                        "one the index row names",
                        who, row.seq, rec.document_record);
        }
        cf_record_event_cleanup(&rec);
        cf_free(json);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? CF_OK : db_error(v->a, diag, "be read");
}

/* 6. Every file under objects/ is a recorded object. One the index does not name is what an
 * add cut off between its object and its row leaves: a note, not a problem. */
/* Every inbox row against its record object. */
static cf_status verify_inbox(verify_run *v, cf_diag *diag)
{
    sqlite3_stmt *s = prepare(v->a, "SELECT record_hash, file_hash, source, page, reason, "
                                    "payload, at, operator FROM inbox ORDER BY record_hash");
    if (s == NULL)
        return db_error(v->a, diag, "be read");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *record = (const char *)sqlite3_column_text(s, 0);
        char *json = NULL;
        size_t len = 0;
        cf_record_inbox rec;
        memset(&rec, 0, sizeof rec);
        if (cf_object_load(v->a->objects, record, &json, &len, NULL) != CF_OK ||
            cf_record_inbox_read(json, len, &rec) != CF_OK) {
            finding(v, false, "inbox item %.12s: its record object is missing or damaged", record);
        } else {
            const unsigned char *payload = sqlite3_column_text(s, 5);
            bool same = strcmp(rec.file_hash, (const char *)sqlite3_column_text(s, 1)) == 0 &&
                        strcmp(rec.source, (const char *)sqlite3_column_text(s, 2)) == 0 &&
                        rec.page == (unsigned)sqlite3_column_int64(s, 3) &&
                        strcmp(rec.reason, (const char *)sqlite3_column_text(s, 4)) == 0 &&
                        same_text(rec.payload, payload != NULL ? (const char *)payload : NULL) &&
                        rec.at == sqlite3_column_int64(s, 6) &&
                        strcmp(rec.operator_name, (const char *)sqlite3_column_text(s, 7)) == 0;
            if (!same)
                finding(v, false,
                        "inbox item %.12s (%s page %u): the index differs from its record "
                        "object (edited by hand)",
                        record, rec.source, rec.page);
            else if (!file_known(v->a, rec.file_hash))
                finding(v, false, "inbox item %.12s (%s page %u): its page object is not recorded",
                        record, rec.source, rec.page);
        }
        cf_record_inbox_cleanup(&rec);
        cf_free(json);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? CF_OK : db_error(v->a, diag, "be read");
}

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

/* 7. Privacy: the store and its index stay owner-only, or for a group's store (setgid folder)
 * group-only. */
static void verify_modes(verify_run *v)
{
    struct stat st;
    bool shared = cf_object_shared(v->a->objects);
    mode_t others = shared ? 007 : 077;
    if (stat(v->a->dir, &st) == 0 && (st.st_mode & others) != 0)
        finding(v, true, "%s: note: others may open the store (mode %03o; it should be %s)",
                v->a->dir, (unsigned)(st.st_mode & 0777), shared ? "2770" : "700");
    if (stat(v->a->index, &st) == 0 && (st.st_mode & others) != 0)
        finding(v, true, "index.sqlite: note: others may read it (mode %03o; it should be %s)",
                (unsigned)(st.st_mode & 0777), shared ? "660" : "600");
}

/* 8. A list of record objects left by a change that a crash cut off: the next change settles
 * it (what was not committed goes to STORE/rolled-back/). */
static void verify_pending(verify_run *v)
{
    char *path = join(v->a->dir, PENDING_RECORDS);
    char *list = NULL;
    size_t len = 0;
    if (path != NULL && read_pending(path, &list, &len, NULL) == CF_OK && list != NULL)
        finding(v, true,
                PENDING_RECORDS
                ": note: lists the record objects of a change that was cut off; "
                "the next change moves those that were not committed to " ROLLED_BACK "/");
    cf_free(list);
    cf_free(path);
}

static cf_status record_verified(cf_archive *a, const char *op, cf_diag *diag)
{
    cf_status st = begin(a, diag);
    if (st != CF_OK)
        return st;
    long long now = real_now();
    sqlite3_stmt *s = prepare(a, "SELECT id FROM documents ORDER BY id");
    if (s == NULL)
        st = db_error(a, diag, "record the verification");
    int rc = SQLITE_DONE;
    while (st == CF_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        char id[CF_ARCHIVE_ID_MAX + 1];
        snprintf(id, sizeof id, "%s", (const char *)sqlite3_column_text(s, 0));
        st = add_event(a, id, "verified", now, op, NULL, 0, NULL, diag);
    }
    if (st == CF_OK && rc != SQLITE_DONE)
        st = db_error(a, diag, "record the verification");
    sqlite3_finalize(s);
    return finish(a, st, diag);
}

cf_status cf_archive_verify(cf_archive *a, FILE *out, bool record, long long at, const char *op,
                            size_t *problems, cf_diag *diag)
{
    (void)at; /* events take the real time (real_now) */
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
        if (st == CF_OK)
            st = verify_documents(&v, diag);
        if (st == CF_OK)
            st = verify_events(&v, diag);
        if (st == CF_OK)
            st = check_form_registry(a, out, /*registered_too*/ true, &v.problems, diag);
        if (st == CF_OK)
            st = verify_inbox(&v, diag);
        if (st == CF_OK && cf_object_scan_dir(a->objects, verify_entry, &v, diag) != CF_OK)
            finding(&v, false, "objects: cannot be read");
        (void)sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL);
    }
    verify_modes(&v);
    verify_pending(&v);
    if (st == CF_OK && record && v.problems == 0)
        st = record_verified(a, op, diag);
    fprintf(out, "%zu object%s checked: %zu problem%s, %zu note%s\n", v.objects,
            v.objects == 1 ? "" : "s", v.problems, v.problems == 1 ? "" : "s", v.notes,
            v.notes == 1 ? "" : "s");
    pthread_mutex_unlock(&a->lock);
    *problems = v.problems;
    return st;
}

/* ---- rebuild-index -------------------------------------------------------------------- */

/* A record object found under objects/. */
typedef struct found_record {
    char hex[CF_SHA256_HEX_SIZE];
    cf_record_document document; /* for a document record */
    cf_record_event event;       /* for an event record */
    size_t len;
    long long depth; /* events: how many events from the start of the chain (0: not known) */
    bool on_chain;
} found_record;

typedef struct rebuild_run {
    cf_archive *a;
    FILE *out;
    char (*inbox)[CF_SHA256_HEX_SIZE]; /* inbox item records found */
    size_t n_inbox, cap_inbox;
    found_record *documents, *events;
    size_t n_documents, n_events, cap_documents, cap_events;
    char *pending;    /* the names STORE/pending-records lists, one a line (read_pending) */
    size_t n_pending; /* bytes in pending */
    size_t problems, notes;
    cf_status status;
} rebuild_run;

/* True when STORE/pending-records lists hex: an object of a change cut off by a crash before
 * it was settled, which may or may not have been committed. */
static bool pending_lists(const rebuild_run *r, const char *hex)
{
    for (size_t at = 0; at < r->n_pending; at += CF_SHA256_HEX_SIZE)
        if (memcmp(r->pending + at, hex, CF_SHA256_HEX_SIZE - 1) == 0)
            return true;
    return false;
}

static int by_hex(const void *x, const void *y)
{
    return strcmp(((const found_record *)x)->hex, ((const found_record *)y)->hex);
}

static found_record *find_record(found_record *array, size_t n, const char *hex)
{
    found_record key;
    memset(&key, 0, sizeof key);
    snprintf(key.hex, sizeof key.hex, "%s", hex);
    return bsearch(&key, array, n, sizeof *array, by_hex);
}

/* Reads every object that is a record of ours (JSON starting with '{'); scans and PDFs are
 * recognised by their first byte and not read further. */
static bool collect_record(void *context, cf_object_entry kind, const char *path, const char *hex)
{
    rebuild_run *r = context;
    (void)path;
    if (kind != CF_OBJECT_ENTRY_OBJECT)
        return true;
    char full[4200];
    snprintf(full, sizeof full, "%s/%.2s/%s", r->a->objects, hex, hex + 2);
    FILE *f = fopen(full, "rb");
    int first = f != NULL ? fgetc(f) : EOF;
    if (f != NULL)
        fclose(f);
    if (first != '{')
        return true;
    /* Without the index that knew, a record of a change cut off before it was settled cannot
     * be told from one that was committed: it is not restored, and said. */
    if (pending_lists(r, hex)) {
        fprintf(r->out,
                "objects/%.2s/%s: written by a change that a crash cut off (" PENDING_RECORDS
                " lists it); whether it was committed only the index knew: not restored\n",
                hex, hex + 2);
        r->problems++;
        return true;
    }
    char *json = NULL;
    size_t len = 0;
    if (cf_object_load(r->a->objects, hex, &json, &len, NULL) != CF_OK) {
        fprintf(r->out,
                "objects/%.2s/%s: damaged (its content no longer matches its name); "
                "not used\n",
                hex, hex + 2);
        r->problems++;
        return true;
    }
    char k = cf_record_kind(json, len);
    found_record rec;
    memset(&rec, 0, sizeof rec);
    snprintf(rec.hex, sizeof rec.hex, "%s", hex);
    rec.len = len;
    if (k == 'd' && cf_record_document_read(json, len, &rec.document) == CF_OK) {
        found_record *grown =
            cf_grow_array(r->documents, &r->cap_documents, r->n_documents + 1, sizeof *grown, 64);
        if (grown == NULL) {
            r->status = CF_ERR_NOMEM;
            cf_record_document_cleanup(&rec.document);
        } else {
            r->documents = grown;
            r->documents[r->n_documents++] = rec;
        }
    } else if (k == 'e' && cf_record_event_read(json, len, &rec.event) == CF_OK) {
        found_record *grown =
            cf_grow_array(r->events, &r->cap_events, r->n_events + 1, sizeof *grown, 64);
        if (grown == NULL) {
            r->status = CF_ERR_NOMEM;
            cf_record_event_cleanup(&rec.event);
        } else {
            r->events = grown;
            r->events[r->n_events++] = rec;
        }
    } else if (k == 'i') {
        char(*grown)[CF_SHA256_HEX_SIZE] =
            cf_grow_array(r->inbox, &r->cap_inbox, r->n_inbox + 1, sizeof *grown, 64);
        if (grown == NULL) {
            r->status = CF_ERR_NOMEM;
        } else {
            r->inbox = grown;
            snprintf(r->inbox[r->n_inbox++], CF_SHA256_HEX_SIZE, "%s", hex);
        }
    } else {
        cf_record_document_cleanup(&rec.document);
        cf_record_event_cleanup(&rec.event);
    }
    cf_free(json);
    return r->status == CF_OK;
}

/* The depth of event e in the chain (1 for the first event), walking back through prev links
 * without recursion; -1 when its chain does not reach a start (a record is missing). */
static long long event_depth(rebuild_run *r, found_record *e)
{
    /* Walk up to a known depth or a start, then fill the depths in on the way back. */
    size_t steps = 0;
    found_record *p = e;
    long long base = 0;
    while (p->depth == 0) {
        if (p->event.prev[0] == '\0') {
            base = 0;
            break;
        }
        found_record *up = find_record(r->events, r->n_events, p->event.prev);
        if (up == NULL || ++steps > r->n_events) {
            base = -1;
            break;
        }
        p = up;
    }
    if (p->depth != 0)
        base = p->depth;
    /* Second walk: number the events from p (or the broken end) down to e. */
    long long total = 0;
    for (found_record *q = e; q != NULL && q->depth == 0;) {
        total++;
        if (q->event.prev[0] == '\0')
            break;
        q = find_record(r->events, r->n_events, q->event.prev);
    }
    if (base < 0)
        return -1;
    long long d = base + total;
    for (found_record *q = e; q != NULL && q->depth == 0; d--) {
        q->depth = d;
        if (q->event.prev[0] == '\0')
            break;
        q = find_record(r->events, r->n_events, q->event.prev);
    }
    return e->depth;
}

/* Adds a files row for an object the records name (a PDF or scan), from the object itself. */
static cf_status restore_file_row(rebuild_run *r, const char *hex, long long at, const char *whose,
                                  cf_diag *diag)
{
    char full[4200];
    snprintf(full, sizeof full, "%s/%.2s/%s", r->a->objects, hex, hex + 2);
    struct stat st;
    unsigned char head[8] = {0};
    size_t n = 0;
    FILE *f = fopen(full, "rb");
    if (f != NULL) {
        n = fread(head, 1, sizeof head, f);
        fclose(f);
    }
    const char *type = cf_archive_sniff(head, n);
    if (f == NULL || stat(full, &st) != 0) {
        fprintf(r->out, "objects/%.2s/%s: missing; %s names it (restored as missing)\n", hex,
                hex + 2, whose);
        r->problems++;
        st.st_size = 0;
    }
    return add_file_row(r->a, hex, (size_t)st.st_size,
                        type != NULL ? type : "application/octet-stream", at, diag);
}

/* Fills the new index from the records: the longest chain of events from the start, the
 * documents they belong to, and the files they name. */
static cf_status restore_rows(rebuild_run *r, size_t *documents, size_t *events, cf_diag *diag)
{
    found_record *tail = NULL;
    for (size_t i = 0; i < r->n_events; i++) {
        found_record *e = &r->events[i];
        if (event_depth(r, e) <= 0)
            continue;
        /* The longest chain wins; between chains of the same length (a change cut off after
         * its record was written, and the next change made instead), the later one. */
        if (tail == NULL || e->depth > tail->depth ||
            (e->depth == tail->depth &&
             (e->event.at > tail->event.at ||
              (e->event.at == tail->event.at && strcmp(e->hex, tail->hex) > 0))))
            tail = e;
    }
    size_t n_chain = 0;
    for (found_record *q = tail; q != NULL;) {
        q->on_chain = true;
        n_chain++;
        q = q->event.prev[0] != '\0' ? find_record(r->events, r->n_events, q->event.prev) : NULL;
    }
    found_record **chain = cf_calloc(n_chain > 0 ? n_chain : 1, sizeof *chain);
    if (chain == NULL)
        return CF_ERR_NOMEM;
    size_t k = n_chain;
    for (found_record *q = tail; q != NULL;) {
        chain[--k] = q;
        q = q->event.prev[0] != '\0' ? find_record(r->events, r->n_events, q->event.prev) : NULL;
    }
    cf_status st = CF_OK;
    for (size_t i = 0; st == CF_OK && i < n_chain; i++) {
        cf_record_event *e = &chain[i]->event;
        found_record *d = find_record(r->documents, r->n_documents, e->document_record);
        char who[700];
        patient_of(e->document_id, d != NULL ? d->document.labels : NULL, who, sizeof who);
        if (d == NULL) {
            fprintf(r->out,
                    "%s: event %lld (%s) names document record %.16s…, which is "
                    "missing; the event cannot be restored\n",
                    who, e->seq, e->kind, e->document_record);
            r->problems++;
            continue;
        }
        if (!d->on_chain) {
            d->on_chain = true;
            if (d->document.issued_hash[0] != '\0')
                st = restore_file_row(r, d->document.issued_hash, e->at, who, diag);
            if (st == CF_OK)
                st = add_file_row(r->a, d->hex, d->len, CF_RECORD_MEDIA_TYPE, e->at, diag);
            if (st == CF_OK)
                st = insert_document_row(r->a, &d->document, d->hex, diag);
            if (st == CF_OK)
                (*documents)++;
        }
        if (st == CF_OK && e->file_hash[0] != '\0')
            st = restore_file_row(r, e->file_hash, e->at, who, diag);
        if (st == CF_OK)
            st =
                add_file_row(r->a, chain[i]->hex, chain[i]->len, CF_RECORD_MEDIA_TYPE, e->at, diag);
        if (st == CF_OK)
            st = insert_event_row(r->a, e, chain[i]->hex, diag);
        if (st == CF_OK)
            (*events)++;
    }
    cf_free(chain);
    for (size_t i = 0; st == CF_OK && i < r->n_events; i++) {
        if (!r->events[i].on_chain) {
            fprintf(r->out,
                    "objects/%.2s/%s: note: an event of document %s not on the chain (a "
                    "change cut off before its commit); not restored\n",
                    r->events[i].hex, r->events[i].hex + 2, r->events[i].event.document_id);
            r->notes++;
        }
    }
    for (size_t i = 0; st == CF_OK && i < r->n_documents; i++) {
        if (!r->documents[i].on_chain) {
            fprintf(r->out,
                    "objects/%.2s/%s: note: a record of document %s that no event "
                    "names (a change cut off before its commit); not restored\n",
                    r->documents[i].hex, r->documents[i].hex + 2, r->documents[i].document.id);
            r->notes++;
        }
    }
    return st;
}

/* The inbox rows from their records (and the files rows of their pages). */
static cf_status restore_inbox(rebuild_run *r, cf_diag *diag)
{
    cf_status st = CF_OK;
    for (size_t i = 0; st == CF_OK && i < r->n_inbox; i++) {
        char *json = NULL;
        size_t len = 0;
        cf_record_inbox rec;
        memset(&rec, 0, sizeof rec);
        if (cf_object_load(r->a->objects, r->inbox[i], &json, &len, NULL) == CF_OK &&
            cf_record_inbox_read(json, len, &rec) == CF_OK) {
            char whose[64];
            snprintf(whose, sizeof whose, "inbox item %.12s", r->inbox[i]);
            st = restore_file_row(r, rec.file_hash, rec.at, whose, diag);
            if (st == CF_OK)
                st = add_file_row(r->a, r->inbox[i], len, CF_RECORD_MEDIA_TYPE, rec.at, diag);
            if (st == CF_OK)
                st = insert_inbox_row(r->a, &rec, r->inbox[i], diag);
        }
        cf_record_inbox_cleanup(&rec);
        cf_free(json);
    }
    return st;
}

/* Moves path (if it exists) aside to path.replaced-TIME: nothing is deleted. */
static cf_status move_aside(const char *path, long long now, cf_diag *diag)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return CF_OK;
    size_t n = strlen(path) + 48;
    char *aside = cf_malloc(n);
    if (aside == NULL)
        return CF_ERR_NOMEM;
    snprintf(aside, n, "%s.replaced-%lld", path, now);
    cf_status s = CF_OK;
    if (rename(path, aside) != 0) {
        cf_diag_error(diag, path, 0, "cannot be moved aside: %s", strerror(errno));
        s = CF_ERR_CANTCREAT;
    }
    cf_free(aside);
    return s;
}

cf_status cf_archive_rebuild_index(const char *dir, bool force, FILE *out, size_t *documents,
                                   size_t *events, size_t *problems, cf_diag *diag)
{
    *documents = *events = *problems = 0;
    cf_archive *a = archive_new(dir);
    if (a == NULL)
        return CF_ERR_NOMEM;
    char *final_index = a->index;
    a->index = NULL;
    rebuild_run r = {.a = a, .out = out, .status = CF_OK};
    cf_status st = CF_OK;
    struct stat sb;
    if (stat(a->objects, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        cf_diag_error(diag, dir, 0,
                      "has no objects folder: it is not an archive store, and "
                      "nothing can be rebuilt from it");
        st = CF_ERR_NOINPUT;
        goto done;
    }
    if (check_writable(&(cf_archive){.dir = a->dir, .objects = a->objects, .index = a->dir},
                       diag) != CF_OK) {
        st = CF_ERR_CANTCREAT;
        goto done;
    }
    /* A sound index of this store is replaced only on request. */
    if (!force && stat(final_index, &sb) == 0) {
        cf_archive *existing = NULL;
        if (cf_archive_open(dir, /*read_only*/ true, &existing, NULL) == CF_OK) {
            cf_archive_close(existing);
            cf_diag_error(diag, final_index, 0,
                          "opens as this store's index; `archive verify` checks it. To rebuild "
                          "it from the objects anyway give --force (the current index is kept "
                          "beside it as index.sqlite.replaced-TIME)");
            st = CF_ERR_EXISTS;
            goto done;
        }
    }
    char *pending_path = join(a->dir, PENDING_RECORDS);
    if (pending_path == NULL) {
        st = CF_ERR_NOMEM;
        goto done;
    }
    st = read_pending(pending_path, &r.pending, &r.n_pending, diag);
    cf_free(pending_path);
    if (st == CF_OK)
        st = cf_object_scan_dir(a->objects, collect_record, &r, diag);
    if (st == CF_OK)
        st = r.status;
    if (st != CF_OK)
        goto done;
    qsort(r.documents, r.n_documents, sizeof *r.documents, by_hex);
    qsort(r.events, r.n_events, sizeof *r.events, by_hex);

    /* The new index is made beside the old one and renamed into place when complete. */
    size_t n = strlen(final_index) + 16;
    a->index = cf_malloc(n);
    if (a->index == NULL) {
        st = CF_ERR_NOMEM;
        goto done;
    }
    snprintf(a->index, n, "%s.rebuild", final_index);
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", a->index, suffixes[i]);
        (void)unlink(p); /* a rebuild cut off before; never the real index */
    }
    mode_t index_mode = cf_object_shared(a->objects) ? 0660 : 0600;
    int fd = open(a->index, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, index_mode);
    if (fd < 0 || fchmod(fd, index_mode) != 0) {
        cf_diag_error(diag, a->index, 0, "cannot create: %s", strerror(errno));
        st = CF_ERR_CANTCREAT;
        if (fd >= 0)
            close(fd);
        goto done;
    }
    close(fd);
    a->may_create = true;
    st = open_db(a, diag);
    if (st == CF_OK)
        st = migrate(a, diag);
    if (st == CF_OK)
        st = begin(a, diag);
    if (st == CF_OK) {
        st = restore_rows(&r, documents, events, diag);
        /* The registry of form texts came back with the documents, the first of each form
         * id@version registering its text; a later one with another text is reported. */
        if (st == CF_OK)
            st = check_form_registry(a, out, /*registered_too*/ false, &r.problems, diag);
        if (st == CF_OK)
            st = restore_inbox(&r, diag);
        st = finish(a, st, diag);
    }
    sqlite3_close(a->db);
    a->db = NULL;
    long long now = real_now();
    for (size_t i = 0; st == CF_OK && i < 4; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", final_index, suffixes[i]);
        st = move_aside(p, now, diag);
    }
    if (st == CF_OK && rename(a->index, final_index) != 0) {
        cf_diag_error(diag, final_index, 0, "cannot be put in place: %s", strerror(errno));
        st = CF_ERR_CANTCREAT;
    }
    if (st == CF_OK)
        sync_dir(a->dir);
    else if (a->index != NULL)
        (void)unlink(a->index);
    if (st == CF_OK)
        fprintf(out,
                "restored %zu document%s and %zu event%s from %zu record objects: %zu "
                "problem%s, %zu note%s\n",
                *documents, *documents == 1 ? "" : "s", *events, *events == 1 ? "" : "s",
                r.n_documents + r.n_events, r.problems, r.problems == 1 ? "" : "s", r.notes,
                r.notes == 1 ? "" : "s");
done:
    for (size_t i = 0; i < r.n_documents; i++)
        cf_record_document_cleanup(&r.documents[i].document);
    for (size_t i = 0; i < r.n_events; i++)
        cf_record_event_cleanup(&r.events[i].event);
    cf_free(r.documents);
    cf_free(r.events);
    cf_free(r.inbox);
    cf_free(r.pending);
    *problems = r.problems;
    cf_free(a->index);
    a->index = final_index;
    cf_archive_close(a);
    return st;
}

/* ---- the inbox -------------------------------------------------------------------------- */

void cf_archive_object_path(const cf_archive *a, const char *hex, char *out, size_t size)
{
    snprintf(out, size, "%s/%.2s/%s", a->objects, hex, hex + 2);
}

/* The open item whose page object is file_hash, its record into record ("" when none). */
static cf_status open_item_of(cf_archive *a, const char *file_hash, char record[65], cf_diag *diag)
{
    record[0] = '\0';
    sqlite3_stmt *s = prepare(a, "SELECT i.record_hash FROM inbox i WHERE i.file_hash = ? AND "
                                 "NOT EXISTS (SELECT 1 FROM events e WHERE e.kind = "
                                 "'inbox-filed' AND substr(e.reason, 7, 64) = i.record_hash)");
    if (s == NULL)
        return db_error(a, diag, "be read");
    sqlite3_bind_text(s, 1, file_hash, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        snprintf(record, 65, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? CF_OK : db_error(a, diag, "be read");
}

static cf_status insert_inbox_row(cf_archive *a, const cf_record_inbox *i, const char *record,
                                  cf_diag *diag)
{
    sqlite3_stmt *s = prepare(a, "INSERT OR IGNORE INTO inbox(record_hash, file_hash, source, "
                                 "page, reason, payload, at, operator) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (s == NULL)
        return db_error(a, diag, "record an inbox item");
    sqlite3_bind_text(s, 1, record, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, i->file_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, i->source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, i->page);
    sqlite3_bind_text(s, 5, i->reason, -1, SQLITE_STATIC);
    if (i->payload != NULL)
        sqlite3_bind_text(s, 6, i->payload, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, i->at);
    sqlite3_bind_text(s, 8, i->operator_name, -1, SQLITE_STATIC);
    cf_status st =
        sqlite3_step(s) == SQLITE_DONE ? CF_OK : db_error(a, diag, "record an inbox item");
    sqlite3_finalize(s);
    return st;
}

/* An inbox item's id: the first CF_ARCHIVE_INBOX_ID hex digits of its record object's hash. */
static void inbox_id_of(const char record[65], char id[CF_ARCHIVE_INBOX_ID + 1])
{
    memcpy(id, record, CF_ARCHIVE_INBOX_ID);
    id[CF_ARCHIVE_INBOX_ID] = '\0';
}

cf_status cf_archive_inbox_add(cf_archive *a, const unsigned char *page_pdf, size_t len,
                               const char *source, unsigned page, const char *reason,
                               const char *payload, const char *op,
                               char id[CF_ARCHIVE_INBOX_ID + 1], cf_diag *diag)
{
    id[0] = '\0';
    cf_status st = check_change(a, "INBOX", op, diag);
    if (st == CF_OK)
        st = check_text("source file name", source, REASON_MAX, /*may_be_empty*/ false, diag);
    if (st == CF_OK)
        st = check_text("reason", reason, REASON_MAX, /*may_be_empty*/ false, diag);
    if (st == CF_OK && payload != NULL)
        st = check_text("QR text", payload, REASON_MAX, /*may_be_empty*/ true, diag);
    if (st == CF_OK && (page_pdf == NULL || len == 0 || len > CF_ARCHIVE_SCAN_MAX || page == 0)) {
        cf_diag_error(diag, source, 0, "page %u: no page to keep in the inbox", page);
        st = CF_ERR_DATA;
    }
    if (st != CF_OK)
        return st;
    long long now = real_now();
    cf_record_inbox item = {.source = (char *)(uintptr_t)source,
                            .reason = (char *)(uintptr_t)reason,
                            .operator_name = (char *)(uintptr_t)op,
                            .payload = (char *)(uintptr_t)payload,
                            .page = page,
                            .at = now};
    cf_sha256_hex(page_pdf, len, item.file_hash);
    char record[65] = "";
    pthread_mutex_lock(&a->lock);
    st = open_item_of(a, item.file_hash, record, diag);
    pthread_mutex_unlock(&a->lock);
    if (st == CF_OK && record[0] != '\0') {
        inbox_id_of(record, id);
        return CF_OK;
    }
    /* The page object first (outside the lock), then the rows in one transaction; the item's
     * record object is written by finish(), so that a change rolled back leaves no item for
     * rebuild-index to restore. */
    char *json = st == CF_OK ? cf_record_inbox_write(&item, NULL) : NULL;
    if (st == CF_OK && json == NULL)
        st = CF_ERR_NOMEM;
    if (st == CF_OK)
        st = cf_object_write(a->objects, item.file_hash, page_pdf, len, NULL, diag);
    if (st == CF_OK) {
        size_t json_len = strlen(json);
        cf_sha256_hex(json, json_len, record);
        pthread_mutex_lock(&a->lock);
        st = begin(a, diag);
        if (st == CF_OK) {
            st = add_file_row(a, item.file_hash, len, "application/pdf", now, diag);
            if (st == CF_OK)
                st = add_file_row(a, record, json_len, CF_RECORD_MEDIA_TYPE, now, diag);
            if (st == CF_OK)
                st = insert_inbox_row(a, &item, record, diag);
            if (st == CF_OK) {
                st = stage_record(a, json, json_len, record);
                json = NULL;
            }
            st = finish(a, st, diag);
        }
        pthread_mutex_unlock(&a->lock);
    }
    cf_free(json);
    if (st == CF_OK)
        inbox_id_of(record, id);
    return st;
}

void cf_archive_inbox_cleanup(cf_archive_inbox *inbox)
{
    if (inbox == NULL)
        return;
    for (size_t i = 0; i < inbox->count; i++) {
        cf_free(inbox->items[i].source);
        cf_free(inbox->items[i].reason);
        cf_free(inbox->items[i].payload);
    }
    cf_free(inbox->items);
    memset(inbox, 0, sizeof *inbox);
}

cf_status cf_archive_inbox_list(cf_archive *a, cf_archive_inbox *out, cf_diag *diag)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&a->lock);
    sqlite3_stmt *s = prepare(
        a, "SELECT i.record_hash, i.file_hash, i.source, i.page, i.reason, i.payload, i.at,"
           " (SELECT e.document_id || ' ' || e.reason FROM events e WHERE e.kind = "
           "'inbox-assigned' AND substr(e.reason, 7, 64) = i.record_hash ORDER BY e.seq DESC "
           "LIMIT 1)"
           " FROM inbox i WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.kind = "
           "'inbox-filed' AND substr(e.reason, 7, 64) = i.record_hash)"
           " ORDER BY i.at, i.source, i.page, i.record_hash");
    cf_status st = s != NULL ? CF_OK : db_error(a, diag, "be read");
    int rc = SQLITE_DONE;
    while (st == CF_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        cf_archive_inbox_item *grown =
            cf_grow_array(out->items, &out->cap, out->count + 1, sizeof *grown, 16);
        if (grown == NULL) {
            st = CF_ERR_NOMEM;
            break;
        }
        out->items = grown;
        cf_archive_inbox_item *it = &out->items[out->count];
        memset(it, 0, sizeof *it);
        const char *rec = (const char *)sqlite3_column_text(s, 0);
        snprintf(it->record, sizeof it->record, "%s", rec);
        snprintf(it->id, sizeof it->id, "%s", rec);
        snprintf(it->file_hash, sizeof it->file_hash, "%s",
                 (const char *)sqlite3_column_text(s, 1));
        const unsigned char *payload = sqlite3_column_text(s, 5);
        it->source = cf_strdup((const char *)sqlite3_column_text(s, 2));
        it->page = (unsigned)sqlite3_column_int64(s, 3);
        it->reason = cf_strdup((const char *)sqlite3_column_text(s, 4));
        it->payload = cf_strdup(payload != NULL ? (const char *)payload : "");
        it->at = sqlite3_column_int64(s, 6);
        out->count++;
        if (it->source == NULL || it->reason == NULL || it->payload == NULL)
            st = CF_ERR_NOMEM;
        /* "DOCID inbox HEX page N" */
        const unsigned char *assigned = sqlite3_column_text(s, 7);
        const char *text = (const char *)assigned;
        const char *space = text != NULL ? strchr(text, ' ') : NULL;
        const char *page = text != NULL ? strstr(text, " page ") : NULL;
        if (space != NULL && page != NULL && (size_t)(space - text) <= CF_ARCHIVE_ID_MAX) {
            char *end = NULL;
            unsigned long n = strtoul(page + 6, &end, 10);
            if (end != page + 6 && *end == '\0' && n > 0 && n < 100000) {
                snprintf(it->assigned_id, sizeof it->assigned_id, "%.*s", (int)(space - text),
                         text);
                it->assigned_page = (unsigned)n;
            }
        }
    }
    if (st == CF_OK && rc != SQLITE_DONE)
        st = db_error(a, diag, "be read");
    sqlite3_finalize(s);
    pthread_mutex_unlock(&a->lock);
    return st;
}

cf_status cf_archive_inbox_mark(cf_archive *a, const char *item_record, const char *id,
                                unsigned page, bool filed, const char *op, cf_diag *diag)
{
    cf_status st = check_change(a, id, op, diag);
    if (st != CF_OK)
        return st;
    if (!cf_object_is_hash(item_record)) {
        cf_diag_error(diag, NULL, 0, "%s is not an inbox item", item_record);
        return CF_ERR_DATA;
    }
    char reason[128];
    snprintf(reason, sizeof reason, "inbox %s page %u", item_record, page);
    pthread_mutex_lock(&a->lock);
    st = begin(a, diag);
    if (st == CF_OK) {
        st = add_event(a, id, filed ? "inbox-filed" : "inbox-assigned", real_now(), op, NULL, 0,
                       reason, diag);
        st = finish(a, st, diag);
    }
    pthread_mutex_unlock(&a->lock);
    return st;
}

cf_status cf_archive_sent_to_printer(cf_archive *a, const char *const *ids, size_t n,
                                     const char *queue, int job, const char *op, cf_diag *diag)
{
    if (n == 0)
        return CF_OK;
    cf_status st = check_change(a, ids[0], op, diag);
    for (size_t i = 1; i < n && st == CF_OK; i++)
        st = check_id(a, ids[i], diag);
    if (st == CF_OK)
        st = check_text("print queue", queue, NAME_MAX_BYTES, /*may_be_empty*/ false, diag);
    if (st != CF_OK)
        return st;
    char reason[NAME_MAX_BYTES + 64];
    snprintf(reason, sizeof reason, "print queue %s job %d", queue, job);
    pthread_mutex_lock(&a->lock);
    st = begin(a, diag);
    if (st == CF_OK) {
        /* Every id is checked before the first event is added (see "Record objects and
         * rolled-back changes" for what a change rolled back after that leaves). */
        for (size_t i = 0; i < n && st == CF_OK; i++) {
            document_state doc = {0};
            st = find_document(a, ids[i], &doc, diag);
            if (st == CF_OK && !doc.known) {
                cf_diag_error(diag, a->dir, 0, "no document %s in the store", ids[i]);
                st = CF_ERR_NOINPUT;
            }
            document_state_cleanup(&doc);
        }
        long long now = real_now();
        for (size_t i = 0; i < n && st == CF_OK; i++)
            st = add_event(a, ids[i], "sent-to-printer", now, op, NULL, 0, reason, diag);
        st = finish(a, st, diag);
    }
    pthread_mutex_unlock(&a->lock);
    return st;
}

cf_status cf_archive_signature_missing(cf_archive *a, const char *id, const char *reason,
                                       const char *op, cf_diag *diag)
{
    cf_status st = check_change(a, id, op, diag);
    if (st == CF_OK)
        st = check_text("reason", reason, REASON_MAX, /*may_be_empty*/ false, diag);
    if (st != CF_OK)
        return st;
    pthread_mutex_lock(&a->lock);
    st = begin(a, diag);
    if (st == CF_OK) {
        st = add_event(a, id, "signature-missing", real_now(), op, NULL, 0, reason, diag);
        st = finish(a, st, diag);
    }
    pthread_mutex_unlock(&a->lock);
    return st;
}
