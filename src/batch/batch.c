/* The batch engine (see batch.h). */
#include "batch/batch.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/hash.h"
#include "batch/records.h"
#include "data/csv_write.h"
#include "data/field_rules.h"
#include "data/file_name.h"
#include "render/document.h"
#include "render/issue.h"
#include "render/pdf_join.h"
#include "render/render_pdf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A set of rows keyed by a text of theirs (file name, hospital number): slots hold 1-based row
 * indexes, and keys are read back from the records when compared, so a slot costs 4 bytes. */
typedef struct row_set {
    uint32_t *slots;
    size_t cap, size;
} row_set;

typedef struct input_file {
    dev_t dev;
    ino_t ino;
    const char *what;
} input_file;

typedef struct engine {
    const cf_batch_options *o;
    cf_diag *diag;
    cf_batch_records *rs;
    cf_buf template_buf;
    const char *name_template;
    long last_row;            /* row number of the list's last row: {row} is padded to its width */
    cf_csv_encoding encoding; /* what the list was read as, for the summary */
    char delimiter;
    char **extras; /* header names of the list's extra columns, for the manifest */
    size_t n_extras;
    char list_sha256[CF_SHA256_HEX_SIZE];
    input_file inputs[4];
    size_t n_inputs;
    bool combined_exists;
    dev_t combined_dev;
    ino_t combined_ino;
    row_set names, hospitals;
    /* the printing pass, shared by the workers */
    pthread_mutex_t lock;
    size_t next, done, total;
    bool stopped;
    cf_codepoints *font_base[CF_FONT_STYLE_COUNT];
    cf_pdf_fonts *run_fonts;       /* the fonts every document of the batch embeds; NULL: none */
    cf_layout_cache *layout_cache; /* bodies laid out once for the run; NULL: none */
    /* The content streams of shared page bodies, painted once for every worker; NULL: none
     * (no run fonts, $CONSENTFORM_NO_BODY_CACHE, or no memory: pages painted whole). */
    cf_body_streams *body_streams;
    /* The writer thread: PDFs written to their temporary files wait here (oldest at
     * queue_head) to be synced and given their names, while the next rows are drawn. */
    struct pending_file *queue;
    size_t queue_head, queue_len;
    bool writer_running, writer_quit;
    long fail_commit_row; /* $CONSENTFORM_FAIL_COMMIT_ROW: that row's commit fails (tests) */
    pthread_cond_t queue_changed;
    /* the form's status: judged once, on one day, for the whole run */
    char today[CF_FORM_DATE_SIZE];
    unsigned overrides; /* CF_FORM_ALLOW_* this run's documents are issued under */
    /* the form's fingerprint, computed once; and whether the earlier run's (--resume) is
       known to be the same, so that the rows kept from it are credited with it */
    char form_sha256[CF_SHA256_HEX_SIZE];
    bool earlier_form_sha256_same;
} engine;

static uint32_t hash_key(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Path of name inside the output folder; caller frees. */
static char *out_path(const engine *e, const char *name)
{
    size_t n = strlen(e->o->out_dir) + strlen(name) + 2;
    char *path = cf_malloc(n);
    if (path != NULL)
        snprintf(path, n, "%s/%s", e->o->out_dir, name);
    return path;
}

/* The text of a diagnostic added since mark (the first error), else the status's own text. */
static const char *first_error(const cf_diag *diag, size_t mark, cf_status st)
{
    for (size_t i = mark; i < cf_diag_size(diag); i++) {
        const cf_diag_entry *d = cf_diag_get(diag, i);
        if (d != NULL && d->severity == CF_DIAG_ERROR)
            return d->message;
    }
    return cf_status_message(st);
}

static cf_status fail_row(engine *e, size_t i, cf_status st, size_t mark)
{
    return cf_batch_records_fail(e->rs, i, st, first_error(e->diag, mark, st));
}

/* True when every cell is empty or only spaces: a spreadsheet's left-over row. */
static bool row_is_empty(const char *const *fields, size_t n_fields)
{
    for (size_t i = 0; i < n_fields; i++)
        for (const char *p = fields[i]; *p != '\0'; p++)
            if (*p != ' ' && *p != '\t')
                return false;
    return true;
}

/* SHA-256 of the open list, read with pread so that the reader's position is untouched. */
static cf_status hash_fd(int fd, char hex[CF_SHA256_HEX_SIZE])
{
    cf_sha256 h;
    unsigned char buf[65536], digest[CF_SHA256_SIZE];
    off_t off = 0;
    cf_sha256_init(&h);
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return CF_ERR_IO;
        if (n == 0)
            break;
        cf_sha256_update(&h, buf, (size_t)n);
        off += n;
    }
    cf_sha256_final(&h, digest);
    cf_sha256_to_hex(digest, hex);
    return CF_OK;
}

/* Keeps the header names of the list's extra columns (Ward, Bed ...): the manifest copies them
 * after its own columns. */
static cf_status keep_extra_names(engine *e, const cf_csv_map *map)
{
    size_t n = cf_csv_map_n_extras(map);
    if (n == 0)
        return CF_OK;
    e->extras = cf_calloc(n, sizeof *e->extras);
    if (e->extras == NULL)
        return CF_ERR_NOMEM;
    for (size_t j = 0; j < n; j++) {
        e->extras[j] = cf_strdup(cf_csv_map_get_extra(map, j));
        if (e->extras[j] == NULL)
            return CF_ERR_NOMEM;
        e->n_extras = j + 1;
    }
    return CF_OK;
}

/* A row that could not become a record still keeps its extra columns for the manifest, so a
 * failed row is found without going back to the spreadsheet. Returns failure (the row's own
 * status) or CF_ERR_NOMEM. */
static cf_status extras_only(const cf_csv_map *map, const char *const *fields, size_t n_fields,
                             long row, cf_record **out, cf_status failure)
{
    cf_record *record = cf_record_new(NULL, row);
    if (record == NULL)
        return CF_ERR_NOMEM;
    for (size_t j = 0; j < cf_csv_map_n_extras(map); j++) {
        size_t column = cf_csv_map_extra_column(map, j);
        if (column < n_fields &&
            cf_record_set_extra(record, cf_csv_map_get_extra(map, j), fields[column]) != CF_OK) {
            cf_record_free(record);
            return CF_ERR_NOMEM;
        }
    }
    *out = record;
    return failure;
}

/* Pass 1, the only reading of the list: every row checked and kept in the records. */
static cf_status read_list(engine *e)
{
    const cf_batch_options *o = e->o;
    cf_csv_reader *reader = NULL;
    cf_csv_map *map = NULL;
    cf_record *record = NULL;
    const char *const *fields;
    size_t n_fields;
    struct stat before, after;
    cf_status st = CF_OK;
    int fd = open(o->csv_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &before) != 0) {
        cf_diag_error(e->diag, o->csv_path, 0, "cannot open: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return CF_ERR_NOINPUT;
    }
    if (S_ISDIR(before.st_mode)) {
        cf_diag_error(e->diag, o->csv_path, 0, "is a folder, not a list");
        close(fd);
        return CF_ERR_NOINPUT;
    }
    if (S_ISREG(before.st_mode)) {
        st = hash_fd(fd, e->list_sha256);
        if (st != CF_OK)
            cf_diag_error(e->diag, o->csv_path, 0, "cannot read: %s", strerror(errno));
    }
    if (st == CF_OK)
        st = cf_csv_reader_open_fd(fd, o->csv_path, o->encoding, NULL, &reader, e->diag);
    if (st == CF_OK)
        st = cf_csv_reader_set_delimiter(reader, o->delimiter);
    if (st == CF_OK)
        st = cf_csv_next_row(reader, &fields, &n_fields);
    if (st == CF_OK) {
        e->encoding = cf_csv_reader_encoding(reader);
        e->delimiter = cf_csv_reader_delimiter(reader);
    }
    if (st == CF_OK && fields == NULL) {
        cf_diag_error(e->diag, o->csv_path, 1, "empty file: no header row");
        st = CF_ERR_DATA;
    }
    if (st == CF_OK)
        st = cf_csv_map_build(o->form, o->mappings, fields, n_fields, o->csv_path,
                              cf_csv_row_number(reader), &map, e->diag);
    if (st == CF_OK)
        st = keep_extra_names(e, map);
    while (st == CF_OK) {
        st = cf_csv_next_row(reader, &fields, &n_fields);
        if (st != CF_OK || fields == NULL)
            break;
        cf_batch_row row = {.row = cf_csv_row_number(reader), .state = CF_BATCH_ROW_READY};
        size_t mark = cf_diag_size(e->diag);
        cf_status row_st = CF_OK;
        if (row_is_empty(fields, n_fields)) {
            row.state = CF_BATCH_ROW_EMPTY;
        } else {
            row_st = cf_csv_row_record(map, fields, n_fields, row.row, &record, e->diag);
            if (row_st == CF_OK)
                row_st = cf_record_check(o->form, record, o->fonts, /*blank*/ false, e->diag);
            if (row_st == CF_ERR_NOMEM) {
                st = row_st;
                break;
            }
            if (row_st != CF_OK && record == NULL)
                row_st = extras_only(map, fields, n_fields, row.row, &record, row_st);
            if (row_st == CF_ERR_NOMEM) {
                st = row_st;
                break;
            }
            if (row_st != CF_OK) {
                row.state = CF_BATCH_ROW_FAILED;
                row.status = (uint8_t)row_st;
                row.message = cf_batch_records_intern(e->rs, first_error(e->diag, mark, row_st),
                                                      cf_status_message(row_st));
            }
        }
        st = cf_batch_records_add(e->rs, &row, record);
        cf_record_free(record);
        record = NULL;
    }
    /* A list rewritten in place while it was read would give rows of two versions. */
    if (st == CF_OK && S_ISREG(before.st_mode) &&
        (fstat(fd, &after) != 0 || after.st_size != before.st_size ||
         after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
         after.st_mtim.tv_nsec != before.st_mtim.tv_nsec)) {
        cf_diag_error(e->diag, o->csv_path, 0,
                      "the file changed while it was being read; nothing was printed");
        st = CF_ERR_DATA;
    }
    if (st == CF_OK)
        st = cf_batch_records_seal(e->rs);
    cf_record_free(record);
    cf_csv_map_free(map);
    cf_csv_reader_close(reader);
    close(fd);
    return st;
}

/* The file name of row i (its record given), into out. */
static cf_status row_name(engine *e, const cf_record *record, cf_buf *out, cf_diag *diag)
{
    return cf_file_name_expand_rows(e->name_template, record, e->o->form->id, e->o->form->version,
                                    e->last_row, out, diag);
}

/* Key of the row behind a slot, for comparison. */
typedef cf_status (*key_of)(engine *e, size_t index, cf_buf *key);

static cf_status name_key(engine *e, size_t index, cf_buf *key)
{
    cf_batch_row row;
    cf_record *record = NULL;
    cf_status st = cf_batch_records_get(e->rs, index, &row, &record, e->o->csv_path);
    if (st == CF_OK)
        st = row_name(e, record, key, NULL);
    cf_record_free(record);
    return st;
}

static cf_status hospital_key(engine *e, size_t index, cf_buf *key)
{
    char value[1024];
    cf_status st = cf_batch_records_value(e->rs, index, "hospital_no", value, sizeof value);
    cf_buf_reset(key);
    cf_buf_append_str(key, value);
    return st != CF_OK ? st : key->error;
}

/* Looks key up in set; *found gets the 0-based row index of an equal key or SIZE_MAX. When
 * absent and add_index is not SIZE_MAX, adds it. */
static cf_status set_find_add(engine *e, row_set *set, key_of get, const char *key,
                              size_t add_index, size_t *found)
{
    *found = SIZE_MAX;
    cf_status st = CF_OK;
    if (set->size * 2 >= set->cap) {
        /* Slots keep no hash: each key is read back from the records to place it anew. */
        size_t cap = set->cap ? set->cap * 2 : 1024;
        uint32_t *slots = cf_calloc(cap, sizeof *slots);
        if (slots == NULL)
            return CF_ERR_NOMEM;
        cf_buf k;
        cf_buf_init(&k, 1 << 16);
        for (size_t i = 0; i < set->cap; i++) {
            if (set->slots[i] == 0)
                continue;
            st = get(e, set->slots[i] - 1, &k);
            if (st != CF_OK)
                break;
            size_t j = hash_key(k.data != NULL ? k.data : "") & (cap - 1);
            while (slots[j] != 0)
                j = (j + 1) & (cap - 1);
            slots[j] = set->slots[i];
        }
        cf_buf_cleanup(&k);
        if (st != CF_OK) {
            cf_free(slots);
            return st;
        }
        cf_free(set->slots);
        set->slots = slots;
        set->cap = cap;
    }
    cf_buf other;
    cf_buf_init(&other, 1 << 16);
    size_t j = hash_key(key) & (set->cap - 1);
    st = CF_OK;
    while (set->slots[j] != 0) {
        st = get(e, set->slots[j] - 1, &other);
        if (st != CF_OK)
            break;
        if (strcmp(other.data != NULL ? other.data : "", key) == 0) {
            *found = set->slots[j] - 1;
            break;
        }
        j = (j + 1) & (set->cap - 1);
    }
    cf_buf_cleanup(&other);
    if (st == CF_OK && *found == SIZE_MAX && add_index != SIZE_MAX) {
        set->slots[j] = (uint32_t)(add_index + 1);
        set->size++;
    }
    return st;
}

/* Canonical form of the folder path lives in (an existing folder resolved; a missing last
 * component appended to its resolved parent); caller frees. */
static char *canonical_dir(const char *dir)
{
    char resolved[PATH_MAX];
    if (realpath(dir, resolved) != NULL)
        return cf_strdup(resolved);
    const char *slash = strrchr(dir, '/');
    char *parent = slash == NULL ? cf_strdup(".") : cf_strndup(dir, (size_t)(slash - dir));
    const char *last = slash == NULL ? dir : slash + 1;
    char *out = NULL;
    if (parent != NULL && realpath(parent[0] != '\0' ? parent : "/", resolved) != NULL) {
        size_t n = strlen(resolved) + strlen(last) + 2;
        out = cf_malloc(n);
        if (out != NULL)
            snprintf(out, n, "%s/%s", resolved, last);
    }
    cf_free(parent);
    /* Deeper than one missing folder: compared as given (creating it fails later anyway). */
    return out != NULL ? out : cf_strdup(dir);
}

static char *dir_part(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return cf_strdup(".");
    if (slash == path)
        return cf_strdup("/");
    return cf_strndup(path, (size_t)(slash - path));
}

static const char *base_part(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* Checks one output path before anything is written: never a symbolic link (dangling or not)
 * nor anything but a regular file; never an input (same device and inode); an existing file
 * counts in *existing unless may_replace. Returns CF_OK or CF_ERR_CANTCREAT. */
static cf_status check_output(engine *e, const char *path, long row, bool may_replace,
                              bool other_output_check, size_t *existing)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return CF_OK;
    if (S_ISLNK(st.st_mode)) {
        cf_diag_error(e->diag, path, 0,
                      "is a symbolic link; an output is never written through a link or "
                      "replaced (remove it, or choose another name)");
        return CF_ERR_CANTCREAT;
    }
    if (!S_ISREG(st.st_mode)) {
        cf_diag_error(e->diag, path, 0, "is not a regular file; only regular files are replaced");
        return CF_ERR_CANTCREAT;
    }
    for (size_t i = 0; i < e->n_inputs; i++)
        if (e->inputs[i].dev == st.st_dev && e->inputs[i].ino == st.st_ino) {
            cf_diag_error(e->diag, path, 0, "is the %s; it would be overwritten by an output",
                          e->inputs[i].what);
            return CF_ERR_CANTCREAT;
        }
    if (other_output_check && e->combined_exists && st.st_dev == e->combined_dev &&
        st.st_ino == e->combined_ino) {
        cf_diag_error(e->diag, path, row, "is the same file as --combined %s", e->o->combined);
        return CF_ERR_CANTCREAT;
    }
    if (!may_replace) {
        if (*existing < 10)
            cf_diag_error(e->diag, path, 0, "already exists");
        (*existing)++;
    }
    return CF_OK;
}

static void add_input(engine *e, const char *path, const char *what)
{
    struct stat st;
    if (path != NULL && stat(path, &st) == 0 && e->n_inputs < 4)
        e->inputs[e->n_inputs++] = (input_file){st.st_dev, st.st_ino, what};
}

/* Reads DIR/manifest-source.csv and refuses a resume for another list or form version. */
static cf_status resume_check_source(engine *e)
{
    const cf_batch_options *o = e->o;
    char *path = out_path(e, CF_BATCH_MANIFEST_SOURCE);
    cf_csv_reader *r = NULL;
    const char *const *f = NULL;
    size_t n = 0;
    char form_ref[512];
    snprintf(form_ref, sizeof form_ref, "%s@%s", o->form->id, o->form->version);
    cf_status st = path != NULL ? cf_csv_reader_open(path, CF_CSV_ENCODING_UTF8, NULL, &r, e->diag)
                                : CF_ERR_NOMEM;
    if (st == CF_OK)
        st = cf_csv_next_row(r, &f, &n); /* header */
    if (st == CF_OK && f != NULL)
        st = cf_csv_next_row(r, &f, &n);
    if (st == CF_OK && (f == NULL || n < 3)) {
        cf_diag_error(e->diag, path, 2, "holds no list and form to resume");
        st = CF_ERR_DATA;
    }
    if (st == CF_OK && (e->list_sha256[0] == '\0' || strcmp(f[1], e->list_sha256) != 0)) {
        cf_diag_error(e->diag, o->csv_path, 0,
                      "is not the list the manifest in %s was made from (its SHA-256 differs); "
                      "not resumed",
                      o->out_dir);
        st = CF_ERR_DATA;
    }
    if (st == CF_OK && strcmp(f[2], form_ref) != 0) {
        cf_diag_error(e->diag, o->out_dir, 0,
                      "the manifest was made with the form %s, not %s; not resumed", f[2],
                      form_ref);
        st = CF_ERR_DATA;
    }
    /* A sidecar of an earlier consentform has no fingerprint: the rows it kept are then not
     * credited with one. */
    if (st == CF_OK && n > 4 && f[4][0] != '\0' && strcmp(f[4], e->form_sha256) != 0) {
        cf_diag_error(e->diag, o->out_dir, 0,
                      "the manifest was made with another text of the form %s (fingerprint "
                      "%.12s…, now %.12s…); not resumed",
                      form_ref, f[4], e->form_sha256);
        st = CF_ERR_DATA;
    }
    e->earlier_form_sha256_same = st == CF_OK && n > 4 && f[4][0] != '\0';
    if (st == CF_ERR_NOINPUT)
        cf_diag_error(e->diag, o->out_dir, 0, "has no manifest of an earlier run to resume");
    cf_csv_reader_close(r);
    cf_free(path);
    return st;
}

/* Hex SHA-256 of the file at path; false when it cannot be read. */
static bool hash_file(const char *path, char hex[CF_SHA256_HEX_SIZE])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && hash_fd(fd, hex) == CF_OK;
    close(fd);
    return ok;
}

typedef struct resume_state {
    cf_csv_reader *reader;
    const char *const *f;
    size_t n;
    long row;          /* row number of the manifest row in f, LONG_MAX at the end */
    bool has_override; /* the earlier manifest has the override column (index 9) */
} resume_state;

static cf_status resume_advance(resume_state *rs)
{
    cf_status st = cf_csv_next_row(rs->reader, &rs->f, &rs->n);
    if (st != CF_OK || rs->f == NULL) {
        rs->row = LONG_MAX;
        return st;
    }
    char *end;
    rs->row = rs->n >= 6 ? strtol(rs->f[0], &end, 10) : 0;
    return CF_OK;
}

/* --resume: a row whose file from the earlier run is there with the manifest's SHA-256 is kept. */
static cf_status resume_row(engine *e, resume_state *rs, size_t i, cf_batch_row *row,
                            const char *name)
{
    while (rs->row < row->row) {
        cf_status st = resume_advance(rs);
        if (st != CF_OK)
            return st;
    }
    if (rs->row != row->row || strcmp(rs->f[1], "ok") != 0 || strcmp(rs->f[2], name) != 0 ||
        strlen(rs->f[4]) != CF_SHA256_HEX_SIZE - 1)
        return CF_OK;
    char *path = out_path(e, name);
    char hex[CF_SHA256_HEX_SIZE];
    bool same = path != NULL && hash_file(path, hex) && strcmp(hex, rs->f[4]) == 0;
    cf_free(path);
    if (!same)
        return CF_OK;
    row->state = CF_BATCH_ROW_PRINTED;
    row->kept = 1;
    /* A kept file keeps the override it was issued under. */
    unsigned earlier = 0;
    if (rs->has_override && rs->n > 9 && cf_form_override_parse(rs->f[9], &earlier))
        row->overrides = (uint8_t)earlier;
    snprintf(row->document_id, sizeof row->document_id, "%s", rs->f[3]);
    memcpy(row->sha256, hex, sizeof hex);
    row->pages = (uint32_t)strtoul(rs->f[5], NULL, 10);
    return cf_batch_records_update(e->rs, i, row);
}

/* Pass 2 (over the records): identity checks across rows, file names, and every output path
 * checked before the first write. */
static cf_status name_rows(engine *e)
{
    const cf_batch_options *o = e->o;
    size_t n = cf_batch_records_count(e->rs);
    cf_buf name, other;
    cf_buf_init(&name, 4096);
    cf_buf_init(&other, 4096);
    resume_state resume = {.row = LONG_MAX};
    size_t existing = 0, patients = 0;
    cf_status st = CF_OK, collision = CF_OK;
    char *manifest_path = out_path(e, CF_BATCH_MANIFEST);
    char *source_path = out_path(e, CF_BATCH_MANIFEST_SOURCE);
    char *out_canon = canonical_dir(o->out_dir);
    char *combined_dir = NULL;
    bool combined_in_out = false;
    if (manifest_path == NULL || source_path == NULL || out_canon == NULL) {
        st = CF_ERR_NOMEM;
        goto done;
    }
    if (o->combined != NULL) {
        char *d = dir_part(o->combined);
        combined_dir = d != NULL ? canonical_dir(d) : NULL;
        cf_free(d);
        combined_in_out = combined_dir != NULL && strcmp(combined_dir, out_canon) == 0;
        struct stat cs;
        if (lstat(o->combined, &cs) == 0 && S_ISREG(cs.st_mode)) {
            e->combined_exists = true;
            e->combined_dev = cs.st_dev;
            e->combined_ino = cs.st_ino;
        }
    }
    if (o->resume) {
        st = resume_check_source(e);
        if (st == CF_OK)
            st = cf_csv_reader_open(manifest_path, CF_CSV_ENCODING_UTF8, NULL, &resume.reader,
                                    e->diag);
        if (st == CF_OK)
            st = resume_advance(&resume); /* header */
        resume.has_override =
            st == CF_OK && resume.f != NULL && resume.n > 9 && strcmp(resume.f[9], "override") == 0;
        if (st == CF_OK)
            st = resume_advance(&resume);
        if (st != CF_OK)
            goto done;
    }
    bool per_row_files = !o->only_combined;
    for (size_t i = 0; i < n && st == CF_OK; i++) {
        cf_batch_row row;
        cf_record *record = NULL;
        st = cf_batch_records_get(e->rs, i, &row, &record, o->csv_path);
        if (st != CF_OK)
            break;
        if (row.state != CF_BATCH_ROW_EMPTY)
            patients++;
        if (row.state != CF_BATCH_ROW_READY) {
            cf_record_free(record);
            continue;
        }
        size_t mark = cf_diag_size(e->diag);
        /* One hospital number is one patient: with another name it is an error for both rows;
         * the same patient twice is an error for the second. */
        const char *hospital = cf_record_get(record, "hospital_no");
        if (hospital != NULL && hospital[0] != '\0') {
            size_t earlier;
            st = set_find_add(e, &e->hospitals, hospital_key, hospital, i, &earlier);
            if (st == CF_OK && earlier != SIZE_MAX) {
                char earlier_name[1024];
                cf_batch_row er;
                const char *now_name = cf_record_get(record, "patient_name");
                st = cf_batch_records_value(e->rs, earlier, "patient_name", earlier_name,
                                            sizeof earlier_name);
                if (st == CF_OK)
                    st = cf_batch_records_get(e->rs, earlier, &er, NULL, NULL);
                if (st == CF_OK && strcmp(earlier_name, now_name != NULL ? now_name : "") != 0) {
                    cf_diag_error(e->diag, o->csv_path, row.row,
                                  "has the hospital number of row %ld with another patient name; "
                                  "neither row is printed",
                                  er.row);
                    fail_row(e, i, CF_ERR_DATA, mark);
                    size_t mark2 = cf_diag_size(e->diag);
                    cf_diag_error(e->diag, o->csv_path, er.row,
                                  "has the hospital number of row %ld with another patient name; "
                                  "neither row is printed",
                                  row.row);
                    st = fail_row(e, earlier, CF_ERR_DATA, mark2);
                } else if (st == CF_OK) {
                    cf_diag_error(e->diag, o->csv_path, row.row,
                                  "is the same patient as row %ld (same name and hospital "
                                  "number); printed once",
                                  er.row);
                    st = fail_row(e, i, CF_ERR_DATA, mark);
                }
                cf_record_free(record);
                continue;
            }
        }
        cf_status row_st = st == CF_OK ? row_name(e, record, &name, e->diag) : st;
        cf_record_free(record);
        if (st != CF_OK)
            break;
        if (row_st != CF_OK) {
            st = fail_row(e, i, row_st, mark);
            continue;
        }
        size_t earlier = SIZE_MAX;
        st = set_find_add(e, &e->names, name_key, name.data, i, &earlier);
        if (st == CF_OK && earlier != SIZE_MAX) {
            cf_batch_row er;
            st = cf_batch_records_get(e->rs, earlier, &er, NULL, NULL);
            cf_diag_error(e->diag, o->csv_path, row.row,
                          "gives the file name %s, which row %ld already gives; use --name with "
                          "more fields to tell them apart",
                          name.data, er.row);
            if (st == CF_OK)
                st = fail_row(e, i, CF_ERR_DATA, mark);
            continue;
        }
        if (st == CF_OK && per_row_files && combined_in_out &&
            strcmp(base_part(o->combined), name.data) == 0) {
            cf_diag_error(e->diag, o->combined, 0,
                          "is also the file of row %ld; the print job would replace a patient's "
                          "form",
                          row.row);
            collision = CF_ERR_CANTCREAT;
        }
        if (st == CF_OK && o->resume)
            st = resume_row(e, &resume, i, &row, name.data);
        if (st == CF_OK && per_row_files && !row.kept) {
            char *path = out_path(e, name.data);
            if (path == NULL) {
                st = CF_ERR_NOMEM;
                break;
            }
            if (check_output(e, path, row.row, o->force, true, &existing) != CF_OK)
                collision = CF_ERR_CANTCREAT;
            cf_free(path);
        }
    }
    if (st != CF_OK)
        goto done;
    /* The manifest, its sidecar and the combined job: against the inputs and each other. */
    bool may_replace_manifest = o->force || o->resume;
    if (check_output(e, manifest_path, 0, may_replace_manifest, false, &existing) != CF_OK ||
        check_output(e, source_path, 0, may_replace_manifest, false, &existing) != CF_OK)
        collision = CF_ERR_CANTCREAT;
    if (o->combined != NULL && !o->check_only) {
        if (combined_in_out && (strcmp(base_part(o->combined), CF_BATCH_MANIFEST) == 0 ||
                                strcmp(base_part(o->combined), CF_BATCH_MANIFEST_SOURCE) == 0)) {
            cf_diag_error(e->diag, o->combined, 0, "is the batch's manifest");
            collision = CF_ERR_CANTCREAT;
        }
        if (check_output(e, o->combined, 0, o->force, false, &existing) != CF_OK)
            collision = CF_ERR_CANTCREAT;
    }
    if (o->archive_dir != NULL) {
        char *store = canonical_dir(o->archive_dir);
        if (store != NULL && (strcmp(store, out_canon) == 0 ||
                              (combined_dir != NULL && strcmp(store, combined_dir) == 0))) {
            cf_diag_error(e->diag, o->out_dir, 0,
                          "is the archive store's folder; write the PDFs elsewhere");
            collision = CF_ERR_CANTCREAT;
        }
        cf_free(store);
    }
    if (collision != CF_OK) {
        cf_diag_error(e->diag, o->out_dir, 0, "nothing was written");
        st = collision;
    } else if (existing > 0) {
        cf_diag_error(e->diag, o->out_dir, 0,
                      "%zu output file%s already exist%s; nothing was written (use --force to "
                      "replace them, --resume to continue a batch, or another --out-dir)",
                      existing, existing == 1 ? "" : "s", existing == 1 ? "s" : "");
        st = CF_ERR_EXISTS;
    } else if (patients == 0) {
        cf_diag_error(e->diag, o->csv_path, 0, "has a header row but no patients");
        st = CF_ERR_DATA;
    }
done:
    cf_csv_reader_close(resume.reader);
    cf_free(manifest_path);
    cf_free(source_path);
    cf_free(out_canon);
    cf_free(combined_dir);
    cf_buf_cleanup(&name);
    cf_buf_cleanup(&other);
    return st;
}

/* Takes the next row to print; false at the end or when told to stop. */
static bool next_job(engine *e, size_t *index, cf_batch_row *row, cf_record **record)
{
    bool found = false;
    pthread_mutex_lock(&e->lock);
    size_t n = cf_batch_records_count(e->rs);
    while (!found && e->next < n) {
        if (e->o->stop != NULL && *e->o->stop != 0) {
            e->stopped = true;
            break;
        }
        size_t i = e->next++;
        if (cf_batch_records_get(e->rs, i, row, NULL, NULL) != CF_OK ||
            row->state != CF_BATCH_ROW_READY)
            continue;
        if (cf_batch_records_get(e->rs, i, row, record, e->o->csv_path) != CF_OK) {
            cf_batch_records_fail(e->rs, i, CF_ERR_NOMEM, cf_status_message(CF_ERR_NOMEM));
            continue;
        }
        *index = i;
        found = true;
    }
    pthread_mutex_unlock(&e->lock);
    return found;
}

/* A row's PDF waiting for the writer thread. */
typedef struct pending_file {
    cf_atomic_file *file;
    size_t index;
    cf_batch_row row;
    cf_issue_result result;
    char *path; /* owned */
} pending_file;

/* Rows whose PDFs may wait for the disk at once (each holds an open temporary file). */
#define WRITER_QUEUE 32

/* What print_row tells its deliver hook. */
typedef struct deliver_ctx {
    engine *e;
    size_t index;
    const cf_batch_row *row;
    const char *path;
    bool queued;         /* the writer thread finishes the row */
    cf_status commit_st; /* committed here instead (no memory to queue it) */
} deliver_ctx;

/* The row's state once its file is in place (the writer, or print_row without one). */
static void row_printed(engine *e, size_t i, cf_batch_row *row, const cf_issue_result *result)
{
    row->state = CF_BATCH_ROW_PRINTED;
    row->pages = (uint32_t)result->pages;
    memcpy(row->document_id, result->document_id, sizeof row->document_id);
    memcpy(row->sha256, result->sha256, sizeof row->sha256);
    cf_batch_records_update(e->rs, i, row);
}

/* cf_issue_deliver_fn: queues the file for the writer thread (waiting while the queue is
 * full); when the path cannot be copied, commits it here. */
static void deliver(void *arg, cf_atomic_file *file, const cf_issue_result *result)
{
    deliver_ctx *d = arg;
    engine *e = d->e;
    char *path = cf_strdup(d->path);
    if (path == NULL) {
        cf_status st = cf_atomic_file_commit_in_run(file, e->diag);
        if (st != CF_OK && result->archived) {
            cf_issue_options o = {
                .archive = e->o->archive, .operator_name = e->o->operator_name, .path = d->path};
            cf_issue_result r = *result;
            cf_issue_undelivered(&o, result->document_id,
                                 "the PDF could not be written to its file", &r, e->diag);
        }
        d->commit_st = st;
        return;
    }
    /* The disk starts on it now, while this thread renders the next rows. */
    cf_atomic_file_start_sync(file);
    pthread_mutex_lock(&e->lock);
    while (e->queue_len == WRITER_QUEUE)
        pthread_cond_wait(&e->queue_changed, &e->lock);
    e->queue[(e->queue_head + e->queue_len) % WRITER_QUEUE] = (pending_file){
        .file = file, .index = d->index, .row = *d->row, .result = *result, .path = path};
    e->queue_len++;
    pthread_cond_broadcast(&e->queue_changed);
    pthread_mutex_unlock(&e->lock);
    d->queued = true;
}

/* The writer thread: syncs each queued PDF and moves it to its name, in the order queued; a
 * failure voids the archive record (made before) and fails the row. */
static void *writer(void *arg)
{
    engine *e = arg;
    const cf_batch_options *o = e->o;
    pthread_mutex_lock(&e->lock);
    for (;;) {
        while (e->queue_len == 0 && !e->writer_quit)
            pthread_cond_wait(&e->queue_changed, &e->lock);
        if (e->queue_len == 0)
            break;
        pending_file p = e->queue[e->queue_head];
        pthread_mutex_unlock(&e->lock);
        size_t mark = cf_diag_size(e->diag);
        cf_status st;
        if (p.row.row == e->fail_commit_row) {
            /* A disk that fails at the last step, for the tests of what follows. */
            cf_atomic_file_abort(p.file);
            cf_diag_error(e->diag, p.path, 0,
                          "cannot write: failure injected by CONSENTFORM_FAIL_COMMIT_ROW; no "
                          "file was written");
            st = CF_ERR_IO;
        } else {
            st = cf_atomic_file_commit_in_run(p.file, e->diag);
        }
        if (st != CF_OK && p.result.archived) {
            cf_issue_options io = {
                .archive = o->archive, .operator_name = o->operator_name, .path = p.path};
            cf_issue_undelivered(&io, p.result.document_id,
                                 "the PDF could not be written to its file", &p.result, e->diag);
        }
        pthread_mutex_lock(&e->lock);
        if (st == CF_OK)
            row_printed(e, p.index, &p.row, &p.result);
        else
            fail_row(e, p.index, st, mark);
        e->done++;
        if (o->progress != NULL)
            o->progress(o->progress_ctx, e->done, e->total);
        /* Taken off the queue only now: a full queue also waits for the disk. */
        e->queue_head = (e->queue_head + 1) % WRITER_QUEUE;
        e->queue_len--;
        pthread_cond_broadcast(&e->queue_changed);
        cf_free(p.path);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

/* Issues one row's document to its file. */
static void print_row(engine *e, size_t i, cf_batch_row *row, const cf_record *record,
                      cf_glyph_cache *cache)
{
    const cf_batch_options *o = e->o;
    size_t mark = cf_diag_size(e->diag);
    cf_buf name;
    cf_buf_init(&name, 4096);
    char *path = NULL;
    cf_render_options render = {
        .base = {e->font_base[0], e->font_base[1]},
        .glyph_cache = cache,
        .run_fonts = e->run_fonts,
        .body_streams = e->body_streams,
    };
    deliver_ctx dc = {.e = e, .index = i, .row = row};
    cf_issue_options io = {
        .document = {.paper = o->paper,
                     .created = o->created,
                     .sequence = (unsigned long)row->row,
                     .render = &render,
                     .layout_cache = e->layout_cache},
        .deliver = e->writer_running ? deliver : NULL,
        .deliver_ctx = &dc,
        .archive = o->archive,
        .operator_name = o->operator_name,
        .ward = o->ward,
        .force = o->force || o->resume,
        .in_run = true,
        .allow = o->allow,
        .today = e->today,
        .form_sha256 = e->form_sha256,
    };
    cf_issue_result result;
    cf_status st = row_name(e, record, &name, e->diag);
    if (st == CF_OK && (path = out_path(e, name.data)) == NULL)
        st = CF_ERR_NOMEM;
    io.path = path;
    dc.path = path;
    if (st == CF_OK)
        st = cf_issue_document(o->form, record, o->fonts, &io, &result, e->diag);
    pthread_mutex_lock(&e->lock);
    if (st == CF_OK)
        st = dc.commit_st;
    if (st == CF_OK && dc.queued) {
        /* The writer thread finishes the row. */
    } else {
        if (st == CF_OK && !dc.queued)
            row_printed(e, i, row, &result);
        else if (st != CF_OK)
            fail_row(e, i, st, mark);
        e->done++;
        if (o->progress != NULL)
            o->progress(o->progress_ctx, e->done, e->total);
    }
    pthread_mutex_unlock(&e->lock);
    cf_free(path);
    cf_buf_cleanup(&name);
}

static void *worker(void *arg)
{
    engine *e = arg;
    size_t i;
    cf_batch_row row;
    cf_record *record = NULL;
    /* Without a cache (out of memory) rows are still printed, only slower. */
    cf_glyph_cache *cache = cf_glyph_cache_new();
    while (next_job(e, &i, &row, &record)) {
        print_row(e, i, &row, record, cache);
        cf_record_free(record);
        record = NULL;
    }
    cf_glyph_cache_free(cache);
    return NULL;
}

/* The batch's fonts (cf_pdf_fonts), made on first use. */
static cf_status make_run_fonts(engine *e)
{
    const cf_batch_options *o = e->o;
    cf_status st = CF_OK;
    if (e->font_base[0] != NULL)
        return CF_OK;
    for (int f = 0; f < CF_FONT_STYLE_COUNT && st == CF_OK; f++)
        if ((e->font_base[f] = cf_codepoints_new()) == NULL)
            st = CF_ERR_NOMEM;
    if (st == CF_OK)
        st = cf_document_font_base(o->form, o->fonts, o->paper, e->font_base, e->diag);
    /* Subset, checked and compressed once for the whole batch. */
    if (st == CF_OK && cf_pdf_fonts_enabled())
        st = cf_pdf_fonts_new(o->fonts, (const cf_codepoints *const *)e->font_base, &e->run_fonts,
                              e->diag);
    /* The bodies' content streams, with the run fonts and unless the body cache is switched
     * off ($CONSENTFORM_NO_BODY_CACHE). Without memory for them, pages are painted whole: the
     * same pages, only slower. */
    if (st == CF_OK && e->run_fonts != NULL && cf_layout_cache_enabled())
        e->body_streams = cf_body_streams_new();
    return st;
}

/* Pass 3: the rows printed on o->jobs threads, from the records. */
static cf_status print_rows(engine *e)
{
    const cf_batch_options *o = e->o;
    size_t n = cf_batch_records_count(e->rs);
    cf_status st = CF_OK;
    for (size_t i = 0; i < n && st == CF_OK; i++) {
        cf_batch_row row;
        st = cf_batch_records_get(e->rs, i, &row, NULL, NULL);
        e->total += st == CF_OK && row.state == CF_BATCH_ROW_READY;
    }
    if (st != CF_OK || e->total == 0)
        return st;
    st = make_run_fonts(e);
    if (st != CF_OK)
        return st;
    long n_threads = o->jobs < 1 ? 1 : o->jobs > 64 ? 64 : o->jobs;
    pthread_t threads[64], writer_thread;
    long started = 0;
    /* Without a writer thread (no memory, no thread), each row is synced by its printer. */
    e->queue = cf_calloc(WRITER_QUEUE, sizeof *e->queue);
    const char *fail_at = getenv("CONSENTFORM_FAIL_COMMIT_ROW");
    e->fail_commit_row = fail_at != NULL ? strtol(fail_at, NULL, 10) : 0;
    bool have_writer = e->queue != NULL && pthread_create(&writer_thread, NULL, writer, e) == 0;
    e->writer_running = have_writer;
    for (long t = 1; t < n_threads; t++) {
        if (pthread_create(&threads[started], NULL, worker, e) != 0)
            break;
        started++;
    }
    worker(e);
    for (long t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    if (have_writer) {
        pthread_mutex_lock(&e->lock);
        e->writer_quit = true;
        pthread_cond_broadcast(&e->queue_changed);
        pthread_mutex_unlock(&e->lock);
        pthread_join(writer_thread, NULL);
        e->writer_running = false;
    }
    cf_free(e->queue);
    e->queue = NULL;
    /* Each PDF's data were fsynced before it got its name; the names now, all at once. */
    if (e->done > 0)
        st = cf_file_sync_dir(o->out_dir, e->diag);
    return st;
}

/* The combined print job is made in two passes over its rows, in parts of this many patients,
 * on o->jobs threads. The first lays every row out for the characters it draws (and gives it
 * its document id): every part is then written with the same fonts, as the join requires.
 * The second makes each part a PDF of its own, joined to the file in list order as soon as it
 * and the parts before it are done; threads work at most COMBINED_AHEAD parts each ahead of
 * the join, so memory stays that of a few parts. */
#define COMBINED_PART_PATIENTS 100
#define COMBINED_AHEAD 2

typedef struct combined_part {
    unsigned char *pdf; /* owned until joined */
    size_t len;
    cf_status st;
    bool done;
} combined_part;

typedef struct combined_job {
    engine *e;
    cf_doc_info info;
    bool scan;                                /* the first pass */
    cf_codepoints *sets[CF_FONT_STYLE_COUNT]; /* the job's characters, from the first pass */
    cf_status scan_st;                        /* the first pass's first failure */
    size_t *rows;                             /* indices of the rows in the job, in list order */
    size_t n_rows;
    combined_part *parts;
    size_t n_parts;
    size_t next_part; /* the next part a thread takes */
    size_t joined;    /* parts joined to the file so far */
    size_t window;    /* how far ahead of the join threads may work */
    bool abort;       /* a part failed or the join did: threads take no more parts */
    pthread_cond_t changed;
    cf_pdf_join *join;
    cf_atomic_file *file;
    cf_sha256 sha;
} combined_job;

static cf_status combined_sink(void *ctx, const void *data, size_t len)
{
    combined_job *cj = ctx;
    cf_sha256_update(&cj->sha, data, len);
    return cf_atomic_file_write(cj->file, data, len);
}

/* The rows in the combined job: the printed ones, or with --only-combined those ready to print
 * (and those printed into an earlier attempt's job that was not kept). */
static bool in_combined_job(const cf_batch_options *o, const cf_batch_row *row)
{
    return o->only_combined ? row->state == CF_BATCH_ROW_READY ||
                                  (row->state == CF_BATCH_ROW_PRINTED && !row->kept)
                            : row->state == CF_BATCH_ROW_PRINTED;
}

/* Lays out row i of the job again from its checked values with the document id it was given
 * (a new one, recorded, when it has none yet): in the first pass for its characters only, added
 * to sets; in the second in full. */
static cf_status combined_layout(combined_job *cj, size_t i, cf_codepoints *const *sets,
                                 cf_display_list **list)
{
    engine *e = cj->e;
    const cf_batch_options *o = e->o;
    cf_batch_row row;
    cf_record *record = NULL;
    *list = NULL;
    pthread_mutex_lock(&e->lock);
    cf_status st = cf_batch_records_get(e->rs, i, &row, &record, o->csv_path);
    pthread_mutex_unlock(&e->lock);
    cf_document_options options = {
        .paper = o->paper,
        .created = o->created,
        .sequence = (unsigned long)row.row,
        .document_id = row.document_id[0] != '\0' ? row.document_id : NULL,
        .characters_only = cj->scan,
        .unique_id = o->archive != NULL,
        .pad_to_even = !o->simplex,
        .form_sha256 = e->form_sha256,
        .layout_cache = e->layout_cache,
    };
    char id[CF_DOCUMENT_ID_SIZE];
    if (st == CF_OK)
        st = cf_document_layout(o->form, record, o->fonts, &options, id, list, e->diag);
    bool changed = false;
    if (st == CF_OK && cj->scan) {
        cf_display_list_codepoints(*list, sets);
        if (row.document_id[0] == '\0') {
            memcpy(row.document_id, id, sizeof id);
            changed = true;
        }
    }
    if (st == CF_OK && !cj->scan && o->only_combined) {
        row.state = CF_BATCH_ROW_PRINTED;
        row.pages = (uint32_t)(*list)->n_pages;
        changed = true;
    }
    if (changed) {
        pthread_mutex_lock(&e->lock);
        st = cf_batch_records_update(e->rs, i, &row);
        pthread_mutex_unlock(&e->lock);
    }
    cf_record_free(record);
    return st;
}

/* The first pass over part p: the characters of its rows added to sets. */
static cf_status combined_scan_part(combined_job *cj, size_t p, cf_codepoints *const *sets)
{
    size_t first = p * COMBINED_PART_PATIENTS;
    size_t n =
        cj->n_rows - first < COMBINED_PART_PATIENTS ? cj->n_rows - first : COMBINED_PART_PATIENTS;
    cf_status st = CF_OK;
    for (size_t k = 0; k < n && st == CF_OK; k++) {
        if (cj->e->o->stop != NULL && *cj->e->o->stop != 0)
            return CF_ERR_IO;
        cf_display_list *list = NULL;
        st = combined_layout(cj, cj->rows[first + k], sets, &list);
        cf_display_list_free(list);
    }
    return st;
}

/* The second pass over part p: its rows laid out and painted into one PDF with the job's
 * characters (the batch's fonts, and the job's characters beyond them in a second subset). */
static cf_status combined_make_part(combined_job *cj, size_t p, cf_glyph_cache *cache,
                                    unsigned char **pdf, size_t *len)
{
    engine *e = cj->e;
    size_t first = p * COMBINED_PART_PATIENTS;
    size_t n =
        cj->n_rows - first < COMBINED_PART_PATIENTS ? cj->n_rows - first : COMBINED_PART_PATIENTS;
    cf_render_options render = {
        .base = {e->font_base[0], e->font_base[1]},
        .glyph_cache = cache,
        .run_fonts = e->run_fonts,
        .body_streams = e->body_streams,
    };
    cf_pdf_writer *w = NULL;
    cf_status st = cf_pdf_writer_new_with(e->o->fonts, (const cf_codepoints *const *)cj->sets,
                                          &cj->info, &render, &w, e->diag);
    for (size_t k = 0; k < n && st == CF_OK; k++) {
        if (e->o->stop != NULL && *e->o->stop != 0) {
            st = CF_ERR_IO;
            break;
        }
        cf_display_list *list = NULL;
        st = combined_layout(cj, cj->rows[first + k], NULL, &list);
        /* Padding to an even page count is done by layout (pad_to_even), with the patient's
         * header on the padding page. */
        if (st == CF_OK)
            st = cf_pdf_writer_add(w, list, /*duplex*/ false);
        cf_display_list_free(list);
    }
    if (st == CF_OK)
        st = cf_pdf_writer_finish(w, pdf, len);
    else
        cf_pdf_writer_free(w);
    return st;
}

/* A thread of the first pass: its characters are merged into the job's at the end. */
static void *combined_scan_worker(void *arg)
{
    combined_job *cj = arg;
    engine *e = cj->e;
    cf_codepoints *sets[CF_FONT_STYLE_COUNT] = {cf_codepoints_new(), cf_codepoints_new()};
    cf_status st = sets[0] != NULL && sets[1] != NULL ? CF_OK : CF_ERR_NOMEM;
    pthread_mutex_lock(&e->lock);
    while (st == CF_OK && cj->scan_st == CF_OK && cj->next_part < cj->n_parts) {
        size_t p = cj->next_part++;
        pthread_mutex_unlock(&e->lock);
        st = combined_scan_part(cj, p, sets);
        pthread_mutex_lock(&e->lock);
    }
    if (st != CF_OK && cj->scan_st == CF_OK)
        cj->scan_st = st;
    for (int f = 0; f < CF_FONT_STYLE_COUNT && st == CF_OK; f++)
        for (uint32_t cp = CF_CODEPOINTS_START; cf_codepoints_next(sets[f], &cp);)
            cf_codepoints_add(cj->sets[f], cp);
    pthread_mutex_unlock(&e->lock);
    for (int f = 0; f < CF_FONT_STYLE_COUNT; f++)
        cf_codepoints_free(sets[f]);
    return NULL;
}

/* The first pass on o->jobs threads (on this one when none can be started). */
static cf_status combined_scan(combined_job *cj)
{
    engine *e = cj->e;
    long n_threads = e->o->jobs < 1 ? 1 : e->o->jobs > 64 ? 64 : e->o->jobs;
    pthread_t threads[64];
    long started = 0;
    cj->scan = true;
    cj->next_part = 0;
    for (long t = 1; t < n_threads; t++) {
        if (pthread_create(&threads[started], NULL, combined_scan_worker, cj) != 0)
            break;
        started++;
    }
    combined_scan_worker(cj);
    for (long t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    cj->scan = false;
    cj->next_part = 0;
    if (e->o->stop != NULL && *e->o->stop != 0)
        e->stopped = true;
    return cj->scan_st;
}

static void *combined_worker(void *arg)
{
    combined_job *cj = arg;
    engine *e = cj->e;
    cf_glyph_cache *cache = cf_glyph_cache_new(); /* NULL: slower, same bytes */
    pthread_mutex_lock(&e->lock);
    for (;;) {
        while (!cj->abort && cj->next_part < cj->n_parts &&
               cj->next_part >= cj->joined + cj->window)
            pthread_cond_wait(&cj->changed, &e->lock);
        if (cj->abort || cj->next_part >= cj->n_parts)
            break;
        size_t p = cj->next_part++;
        pthread_mutex_unlock(&e->lock);
        unsigned char *pdf = NULL;
        size_t len = 0;
        cf_status st = combined_make_part(cj, p, cache, &pdf, &len);
        pthread_mutex_lock(&e->lock);
        cj->parts[p] = (combined_part){.pdf = pdf, .len = len, .st = st, .done = true};
        if (st != CF_OK)
            cj->abort = true;
        pthread_cond_broadcast(&cj->changed);
    }
    pthread_mutex_unlock(&e->lock);
    cf_glyph_cache_free(cache);
    return NULL;
}

/* Makes the parts on o->jobs threads and joins them to the file in order on this one. */
static cf_status combined_run(combined_job *cj)
{
    engine *e = cj->e;
    long n_threads = e->o->jobs < 1 ? 1 : e->o->jobs > 64 ? 64 : e->o->jobs;
    cj->window = (size_t)n_threads * COMBINED_AHEAD;
    pthread_t threads[64];
    long started = 0;
    for (long t = 0; t < n_threads; t++) {
        if (pthread_create(&threads[started], NULL, combined_worker, cj) != 0)
            break;
        started++;
    }
    cf_status st = CF_OK;
    if (started == 0) {
        /* No thread could be started: the parts are made here, one after the other. */
        cj->window = 1;
        for (size_t p = 0; p < cj->n_parts && st == CF_OK; p++) {
            unsigned char *pdf = NULL;
            size_t len = 0;
            st = combined_make_part(cj, p, NULL, &pdf, &len);
            if (st == CF_OK)
                st = cf_pdf_join_add(cj->join, pdf, len, e->diag);
            cf_free(pdf);
        }
        return st;
    }
    pthread_mutex_lock(&e->lock);
    while (st == CF_OK && cj->joined < cj->n_parts) {
        combined_part *part = &cj->parts[cj->joined];
        if (!part->done) {
            pthread_cond_wait(&cj->changed, &e->lock);
            continue;
        }
        st = part->st;
        pthread_mutex_unlock(&e->lock);
        if (st == CF_OK)
            st = cf_pdf_join_add(cj->join, part->pdf, part->len, e->diag);
        pthread_mutex_lock(&e->lock);
        cf_free(part->pdf);
        part->pdf = NULL;
        cj->joined++;
        if (st != CF_OK)
            cj->abort = true;
        pthread_cond_broadcast(&cj->changed);
    }
    pthread_mutex_unlock(&e->lock);
    for (long t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    if (e->o->stop != NULL && *e->o->stop != 0)
        e->stopped = true;
    return st;
}

/* Writes every printed patient into one PDF, in list order, for one print job. */
static cf_status write_combined(engine *e)
{
    const cf_batch_options *o = e->o;
    size_t n = cf_batch_records_count(e->rs), in_job = 0, printable = 0;
    size_t *rows = cf_malloc((n ? n : 1) * sizeof *rows);
    if (rows == NULL)
        return CF_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        cf_batch_row row;
        if (cf_batch_records_get(e->rs, i, &row, NULL, NULL) != CF_OK)
            continue;
        if (in_combined_job(o, &row))
            rows[in_job++] = i;
        printable +=
            o->only_combined ? row.state == CF_BATCH_ROW_READY : row.state == CF_BATCH_ROW_PRINTED;
    }
    if (printable == 0) {
        cf_diag_error(e->diag, o->combined, 0, "no row could be printed, so it was not written");
        cf_free(rows);
        return CF_OK;
    }
    char subject[256];
    snprintf(subject, sizeof subject, "%s %s", o->form->id, o->form->version);
    combined_job cj = {
        .e = e,
        .info = {.title = o->form->title, .subject = subject, .created = o->created},
        .rows = rows,
        .n_rows = in_job,
        .n_parts = (in_job + COMBINED_PART_PATIENTS - 1) / COMBINED_PART_PATIENTS,
    };
    pthread_cond_init(&cj.changed, NULL);
    cf_sha256_init(&cj.sha);
    cf_status st = make_run_fonts(e);
    for (int f = 0; f < CF_FONT_STYLE_COUNT && st == CF_OK; f++)
        if ((cj.sets[f] = cf_codepoints_new()) == NULL)
            st = CF_ERR_NOMEM;
    if (st == CF_OK)
        st = combined_scan(&cj);
    if (st == CF_OK && (cj.parts = cf_calloc(cj.n_parts, sizeof *cj.parts)) == NULL)
        st = CF_ERR_NOMEM;
    if (st == CF_OK && (cj.join = cf_pdf_join_new(combined_sink, &cj)) == NULL)
        st = CF_ERR_NOMEM;
    if (st == CF_OK)
        st = cf_atomic_file_open(o->combined, o->force, &cj.file, e->diag);
    if (st == CF_OK)
        st = combined_run(&cj);
    if (st == CF_OK)
        st = cf_pdf_join_finish(cj.join, e->diag);
    for (size_t p = 0; cj.parts != NULL && p < cj.n_parts; p++)
        cf_free(cj.parts[p].pdf);
    cf_free(cj.parts);
    cf_pdf_join_free(cj.join);
    pthread_cond_destroy(&cj.changed);
    if (cj.file != NULL) {
        if (st == CF_OK)
            st = cf_atomic_file_commit(cj.file, e->diag);
        else
            cf_atomic_file_abort(cj.file);
    }
    if (e->stopped)
        cf_diag_error(e->diag, o->combined, 0, "interrupted; the print job was not written");
    if (o->only_combined) {
        /* Each row's pages are in the combined file, or (on failure) nowhere. */
        unsigned char digest[CF_SHA256_SIZE];
        char hex[CF_SHA256_HEX_SIZE];
        cf_sha256_final(&cj.sha, digest);
        cf_sha256_to_hex(digest, hex);
        for (size_t i = 0; i < n; i++) {
            cf_batch_row row;
            if (cf_batch_records_get(e->rs, i, &row, NULL, NULL) != CF_OK ||
                (row.state != CF_BATCH_ROW_PRINTED && row.state != CF_BATCH_ROW_READY))
                continue;
            if (st == CF_OK && row.state == CF_BATCH_ROW_PRINTED) {
                memcpy(row.sha256, hex, sizeof hex);
                cf_batch_records_update(e->rs, i, &row);
            } else {
                cf_batch_records_fail(e->rs, i, e->stopped ? CF_ERR_IO : st,
                                      e->stopped ? "interrupted" : "the print job was not written");
            }
        }
    }
    for (int f = 0; f < CF_FONT_STYLE_COUNT; f++)
        cf_codepoints_free(cj.sets[f]);
    cf_free(rows);
    return st;
}

/* Status with the larger exit code, so an I/O failure is not reported as bad data. */
static cf_status worse(cf_status a, cf_status b)
{
    return cf_status_exit_code(b) > cf_status_exit_code(a) ? b : a;
}

/* Streams one buffer of manifest text to the file when it is large enough. */
static cf_status spill(cf_buf *out, cf_atomic_file *file, bool all)
{
    if (out->error)
        return out->error;
    if (!all && out->len < ((size_t)1 << 16))
        return CF_OK;
    cf_status st = cf_atomic_file_write(file, out->data, out->len);
    cf_buf_reset(out);
    return st;
}

/* Writes DIR/manifest-source.csv: which list and form the manifest describes. */
static cf_status write_source(engine *e)
{
    const cf_batch_options *o = e->o;
    char form_ref[512], rows[32];
    snprintf(form_ref, sizeof form_ref, "%s@%s", o->form->id, o->form->version);
    snprintf(rows, sizeof rows, "%zu", cf_batch_records_count(e->rs));
    const char *head[] = {"list", "list_sha256", "form", "rows", "form_sha256"};
    const char *cells[] = {base_part(o->csv_path), e->list_sha256, form_ref, rows, e->form_sha256};
    cf_buf out;
    cf_buf_init(&out, 1 << 16);
    cf_csv_write_row(&out, head, 5);
    cf_csv_write_row(&out, cells, 5);
    char *path = out_path(e, CF_BATCH_MANIFEST_SOURCE);
    cf_status st = out.error;
    if (st == CF_OK)
        st = path != NULL
                 ? cf_file_write_atomic(path, out.data, out.len, o->force || o->resume, e->diag)
                 : CF_ERR_NOMEM;
    cf_free(path);
    cf_buf_cleanup(&out);
    return st;
}

/* Writes DIR/manifest.csv, streamed from the records, and counts the summary. */
static cf_status write_manifest(engine *e, cf_batch_summary *sum)
{
    const cf_batch_options *o = e->o;
    static const char *const head[] = {"row",         "status",   "file",       "document_id",
                                       "sha256",      "pages",    "message",    "patient_name",
                                       "hospital_no", "override", "form_sha256"};
    enum { N_OWN = sizeof head / sizeof head[0] };
    cf_atomic_file *file = NULL;
    cf_buf out, name;
    cf_buf_init(&out, (size_t)1 << 24);
    cf_buf_init(&name, 4096);
    char *path = out_path(e, CF_BATCH_MANIFEST);
    cf_status st = path != NULL ? cf_atomic_file_open(path, o->force || o->resume, &file, e->diag)
                                : CF_ERR_NOMEM;
    /* The manifest's own columns, then the list's extra columns as they were headed. */
    size_t n_cells = N_OWN + e->n_extras;
    const char **cells = cf_calloc(n_cells, sizeof *cells);
    if (cells == NULL && st == CF_OK)
        st = CF_ERR_NOMEM;
    if (st == CF_OK) {
        memcpy(cells, head, sizeof head);
        for (size_t j = 0; j < e->n_extras; j++)
            cells[N_OWN + j] = e->extras[j];
        cf_csv_write_row(&out, cells, n_cells);
    }
    size_t n = cf_batch_records_count(e->rs);
    for (size_t i = 0; i < n && st == CF_OK; i++) {
        cf_batch_row row;
        cf_record *record = NULL;
        st = cf_batch_records_get(e->rs, i, &row, &record, o->csv_path);
        if (st != CF_OK)
            break;
        if (row.state == CF_BATCH_ROW_READY && e->stopped)
            row.state = CF_BATCH_ROW_NOT_PRINTED;
        char number[32], pages[32];
        snprintf(number, sizeof number, "%ld", row.row);
        snprintf(pages, sizeof pages, "%u", row.pages);
        const char *status = "error", *file_name = "", *message = "", *docid = "", *sha = "",
                   *page_cell = "", *override = "", *form_sha = "";
        switch ((cf_batch_state)row.state) {
        case CF_BATCH_ROW_PRINTED:
        case CF_BATCH_ROW_READY: /* --check: would be printed */
            status = "ok";
            if (o->only_combined) {
                file_name = base_part(o->combined);
            } else if (row_name(e, record, &name, NULL) == CF_OK) {
                file_name = name.data;
            }
            override = cf_form_override_name(row.kept ? row.overrides : e->overrides);
            form_sha = !row.kept || e->earlier_form_sha256_same ? e->form_sha256 : "";
            if (row.state == CF_BATCH_ROW_READY) {
                message = "checked; not printed (--check)";
                sum->printed++;
            } else {
                docid = row.document_id;
                sha = row.sha256;
                page_cell = pages;
                message = row.kept ? "kept from the earlier run (--resume)" : "";
                sum->pages += row.pages;
                if (row.kept)
                    sum->kept++;
                else
                    sum->printed++;
            }
            break;
        case CF_BATCH_ROW_EMPTY:
            status = "skipped";
            message = "empty row";
            sum->empty++;
            break;
        case CF_BATCH_ROW_NOT_PRINTED:
            status = "not-printed";
            message = "interrupted";
            sum->not_printed++;
            break;
        case CF_BATCH_ROW_FAILED:
        default:
            message = cf_batch_records_message(e->rs, row.message);
            sum->failed++;
            sum->rows_status =
                worse(sum->rows_status, row.status != CF_OK ? (cf_status)row.status : CF_ERR_DATA);
            break;
        }
        const char *pn = record != NULL ? cf_record_get(record, "patient_name") : NULL;
        const char *hn = record != NULL ? cf_record_get(record, "hospital_no") : NULL;
        const char *own[N_OWN] = {number,  status, file_name, docid,    sha,     page_cell,
                                  message, pn,     hn,        override, form_sha};
        memcpy(cells, own, sizeof own);
        for (size_t j = 0; j < e->n_extras; j++)
            cells[N_OWN + j] = "";
        for (size_t k = 0; record != NULL && k < cf_record_size(record); k++) {
            if (!cf_record_is_extra(record, k))
                continue;
            for (size_t j = 0; j < e->n_extras; j++)
                if (strcmp(cf_record_key(record, k), e->extras[j]) == 0)
                    cells[N_OWN + j] = cf_record_value(record, k);
        }
        cf_csv_write_row(&out, cells, n_cells);
        cf_record_free(record);
        st = spill(&out, file, false);
    }
    sum->rows = n;
    if (st == CF_OK)
        st = spill(&out, file, true);
    if (file != NULL) {
        if (st == CF_OK)
            st = cf_atomic_file_commit(file, e->diag);
        else
            cf_atomic_file_abort(file);
    }
    cf_free(cells);
    cf_free(path);
    cf_buf_cleanup(&out);
    cf_buf_cleanup(&name);
    return st;
}

cf_status cf_batch_run(const cf_batch_options *o, cf_batch_summary *sum, cf_diag *diag)
{
    memset(sum, 0, sizeof *sum);
    engine e = {.o = o, .diag = diag};
    pthread_mutex_init(&e.lock, NULL);
    pthread_cond_init(&e.queue_changed, NULL);
    cf_buf_init(&e.template_buf, 4096);
    e.name_template = o->name_template;
    /* Without memory for it, every body is laid out afresh: slower, the same pages. */
    e.layout_cache = cf_layout_cache_enabled() ? cf_layout_cache_new() : NULL;
    cf_status st = CF_OK;
    /* The form's status first: a form that may not be issued today stops the run before the
     * list is read, and the overrides it needs are this run's, recorded on every row. */
    if (o->today != NULL)
        snprintf(e.today, sizeof e.today, "%s", o->today);
    else
        st = cf_form_today(e.today, diag);
    /* And, with an archive, its text: a form id@version the store registered with another
     * fingerprint refuses the whole run before the first row. */
    if (st == CF_OK)
        st = cf_form_fingerprint(o->form, e.form_sha256);
    if (st == CF_OK) {
        cf_issue_options status_check = {.allow = o->allow,
                                         .today = e.today,
                                         .archive = o->archive,
                                         .form_sha256 = e.form_sha256};
        st = cf_issue_check_form(o->form, &status_check, &e.overrides, diag);
    }
    if (st == CF_OK && e.name_template == NULL) {
        const char *keys[64];
        size_t n = o->form->n_label_fields < 64 ? o->form->n_label_fields : 64;
        for (size_t i = 0; i < n; i++)
            keys[i] = o->form->fields[i].key;
        st = cf_file_name_default(keys, n, &e.template_buf);
        e.name_template = e.template_buf.data;
    }
    if (st == CF_OK)
        st = cf_file_name_check_template(e.name_template, diag);
    add_input(&e, o->form_path, "form");
    add_input(&e, o->csv_path, "patient list");
    if (o->archive_dir != NULL) {
        char index[4096];
        snprintf(index, sizeof index, "%s/index.sqlite", o->archive_dir);
        add_input(&e, index, "archive index");
    }
    if (st == CF_OK)
        st = cf_batch_records_new(NULL, &e.rs, diag);
    if (st == CF_OK)
        st = read_list(&e);
    if (st == CF_OK) {
        size_t n = cf_batch_records_count(e.rs);
        cf_batch_row last;
        if (n > 0 && cf_batch_records_get(e.rs, n - 1, &last, NULL, NULL) == CF_OK)
            e.last_row = last.row;
        st = name_rows(&e);
    }
    if (st == CF_OK)
        st = cf_file_make_dir(o->out_dir, diag);
    cf_status late = CF_OK;
    if (st == CF_OK && !o->check_only) {
        if (!o->only_combined)
            late = print_rows(&e);
        if (o->stop != NULL && *o->stop != 0)
            e.stopped = true;
        if (late == CF_OK && o->combined != NULL && !e.stopped)
            late = write_combined(&e);
    }
    /* The manifest is written whatever happened after the checks: it is the record of what is
     * on disk. */
    if (st == CF_OK) {
        cf_status w = write_source(&e);
        if (w == CF_OK)
            w = write_manifest(&e, sum);
        st = w != CF_OK ? w : late;
    }
    if (e.stopped && o->stop != NULL)
        sum->stopped_by = (int)*o->stop;
    sum->encoding = e.encoding;
    sum->delimiter = e.delimiter;
    sum->overrides = e.overrides;
    for (int f = 0; f < CF_FONT_STYLE_COUNT; f++)
        cf_codepoints_free(e.font_base[f]);
    cf_body_streams_free(e.body_streams);
    cf_pdf_fonts_free(e.run_fonts);
    cf_layout_cache_free(e.layout_cache);
    cf_free(e.names.slots);
    cf_free(e.hospitals.slots);
    cf_batch_records_free(e.rs);
    for (size_t j = 0; j < e.n_extras; j++)
        cf_free(e.extras[j]);
    cf_free(e.extras);
    cf_buf_cleanup(&e.template_buf);
    pthread_cond_destroy(&e.queue_changed);
    pthread_mutex_destroy(&e.lock);
    return st;
}
