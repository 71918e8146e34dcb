/* consentform batch: one labelled PDF per CSV row (and optionally one combined PDF), every row
 * checked before anything is written, rows rendered in parallel, a manifest of every row. */
#include "cli/cli.h"

#include "archive/archive.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/file.h"
#include "base/hash.h"
#include "data/csv.h"
#include "data/field_rules.h"
#include "data/file_name.h"
#include "data/record.h"
#include "form/form.h"
#include "layout/layout.h"
#include "render/document.h"
#include "render/pdf_join.h"
#include "render/render_pdf.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

const char cf_usage_batch[] =
    "usage: consentform batch FORM --csv FILE --out-dir DIR [options]\n"
    "\n"
    "Prints FORM for every patient of a CSV list: one PDF per row in DIR, named by --name,\n"
    "and DIR/manifest.csv listing every row with its status. Every row is checked before\n"
    "anything is written; rows with problems are reported with their row number and skipped,\n"
    "every good row is printed, and the exit status is 65 when any row failed.\n"
    "\n"
    "The CSV needs a header row; columns are matched to the form's fields by name\n"
    "(patient_name, hospital_no, episode_no, and any field the form declares), ignoring case.\n"
    "\n"
    "options:\n"
    "  --csv FILE            the patient list (UTF-8, with or without BOM, or Big5-HKSCS)\n"
    "  --out-dir DIR         where the PDFs and manifest.csv go (created if missing)\n"
    "  --encoding ENC        auto (default: UTF-8 when the file is UTF-8), utf-8, big5-hkscs\n"
    "  --name TEMPLATE       file name template, default {hospital_no}_{episode_no}_{form}.pdf;\n"
    "                        placeholders: any field key, {form}, {version}, {row}\n"
    "  --combined FILE.pdf   also write all patients into one PDF, in CSV order, for one print\n"
    "                        job; each patient's pages are numbered on their own\n"
    "  --only-combined       with --combined: write only the combined PDF (the manifest\n"
    "                        names it for every row)\n"
    "  --duplex              with --combined: each patient starts on an odd page\n"
    "  --jobs N              rows rendered in parallel (default: number of processors)\n"
    "  --paper a4|letter     paper size (default a4)\n"
    "  --archive STORE       also keep every PDF in the archive store STORE\n"
    "  --operator NAME       who issued them, for the archive (default: $USER)\n"
    "  --force               replace files that already exist (otherwise nothing is written\n"
    "                        when any output file exists)\n";

/* What happened to one data row; indexed by row - 2 (row 1 is the header). */
typedef struct row_result {
    long row;
    bool ok;          /* passed every check (pass 1) */
    bool written;     /* PDF written (pass 2) */
    bool empty;       /* every cell empty (Excel's trailing ",,,"): skipped, not an error */
    cf_status status; /* first failure */
    char *file;       /* output file name (not path) */
    char *message;    /* first problem, for the manifest */
    char document_id[CF_DOCUMENT_ID_SIZE];
    char sha256[CF_SHA256_HEX_SIZE];
    size_t pages;
} row_result;

typedef struct batch {
    /* options */
    const char *form_arg, *csv_path, *out_dir, *combined, *name_template;
    cf_csv_encoding encoding;
    cf_paper paper;
    bool duplex, force;
    bool only_combined; /* --only-combined: no separate PDFs */
    long jobs;
    /* state */
    cf_form *form;
    const cf_fontset *fonts;
    cf_codepoints *font_base[CF_FONT_STYLE_COUNT]; /* cf_document_font_base, for render_row */
    const char *archive_dir, *operator_name;
    cf_archive *archive; /* --archive: every written PDF is registered */
    cf_diag *diag;
    row_result *rows;
    size_t n_rows, cap_rows;
    long long created;
    /* pass 2, shared between workers */
    pthread_mutex_t lock;
    cf_csv_reader *reader;
    cf_csv_map *map;
    size_t next_index;
    bool reader_failed;
    size_t done, failed;
    struct timespec started;
    bool progress;
} batch;

/* Seconds since started. */
static double elapsed(const batch *b)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - b->started.tv_sec) +
           (double)(now.tv_nsec - b->started.tv_nsec) / 1e9;
}

/* Records the first problem of a row (the manifest shows one message per row). */
static void row_fail(row_result *r, cf_status status, const cf_diag *diag, size_t diag_mark)
{
    r->ok = false;
    if (!r->status)
        r->status = status ? status : CF_ERR_INTERNAL;
    if (r->message)
        return;
    for (size_t i = diag_mark; i < cf_diag_size(diag); i++) {
        const cf_diag_entry *e = cf_diag_get(diag, i);
        if (e && e->severity == CF_DIAG_ERROR) {
            r->message = cf_strdup(e->message);
            return;
        }
    }
    r->message = cf_strdup(cf_status_message(r->status));
}

/* True when every cell is empty or only spaces: a spreadsheet's left-over row. */
static bool row_is_empty(const char *const *fields, size_t n_fields)
{
    for (size_t i = 0; i < n_fields; i++)
        for (const char *p = fields[i]; *p; p++)
            if (*p != ' ' && *p != '\t')
                return false;
    return true;
}

static row_result *add_row(batch *b, long row)
{
    if (b->n_rows == b->cap_rows) {
        row_result *grown = cf_grow_array(b->rows, &b->cap_rows, b->n_rows + 1, sizeof *grown, 64);
        if (!grown)
            return NULL;
        b->rows = grown;
    }
    row_result *r = &b->rows[b->n_rows++];
    memset(r, 0, sizeof *r);
    r->row = row;
    r->ok = true;
    return r;
}

/* FNV-1a, for the set of file names already taken. */
static size_t hash_name(const char *s)
{
    size_t h = (size_t)1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * (size_t)1099511628211ULL;
    return h;
}

typedef struct name_set {
    const char **slots;
    size_t cap, size;
} name_set;

/* Adds name (not copied) unless present; returns false when it was already there. */
static bool name_set_add(name_set *set, const char *name, bool *nomem)
{
    if (set->size * 2 >= set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 256;
        const char **slots = cf_calloc(cap, sizeof *slots);
        if (!slots) {
            *nomem = true;
            return true;
        }
        for (size_t i = 0; i < set->cap; i++) {
            if (!set->slots[i])
                continue;
            size_t j = hash_name(set->slots[i]) & (cap - 1);
            while (slots[j])
                j = (j + 1) & (cap - 1);
            slots[j] = set->slots[i];
        }
        cf_free(set->slots);
        set->slots = slots;
        set->cap = cap;
    }
    size_t j = hash_name(name) & (set->cap - 1);
    while (set->slots[j]) {
        if (strcmp(set->slots[j], name) == 0)
            return false;
        j = (j + 1) & (set->cap - 1);
    }
    set->slots[j] = name;
    set->size++;
    return true;
}

/* Path of name inside the output folder; caller frees. */
static char *out_path(const batch *b, const char *name)
{
    size_t n = strlen(b->out_dir) + strlen(name) + 2;
    char *path = cf_malloc(n);
    if (path)
        snprintf(path, n, "%s/%s", b->out_dir, name);
    return path;
}

/* Pass 1: reads every row, checks it, names its file; nothing is written. Returns CF_OK when
 * the CSV itself could be read to the end (rows may still have failed). */
static cf_status check_rows(batch *b)
{
    cf_csv_reader *reader = NULL;
    cf_csv_map *map = NULL;
    cf_record *record = NULL;
    name_set names = {0};
    cf_buf name;
    cf_buf_init(&name, 4096);
    cf_status st = cf_csv_reader_open(b->csv_path, b->encoding, NULL, &reader, b->diag);
    if (st)
        goto done;
    const char *const *fields;
    size_t n_fields;
    st = cf_csv_next_row(reader, &fields, &n_fields);
    if (st)
        goto done;
    if (!fields) {
        cf_diag_error(b->diag, b->csv_path, 1, "empty file: no header row");
        st = CF_ERR_DATA;
        goto done;
    }
    st = cf_csv_header_map(b->form, fields, n_fields, b->csv_path, cf_csv_row_number(reader), &map,
                           b->diag);
    if (st)
        goto done;
    for (;;) {
        st = cf_csv_next_row(reader, &fields, &n_fields);
        if (st || !fields)
            break;
        long row = cf_csv_row_number(reader);
        row_result *r = add_row(b, row);
        if (!r) {
            st = CF_ERR_NOMEM;
            break;
        }
        if (row_is_empty(fields, n_fields)) {
            r->empty = true;
            r->ok = false;
            continue;
        }
        size_t mark = cf_diag_size(b->diag);
        cf_status row_st = cf_csv_row_record(map, fields, n_fields, row, &record, b->diag);
        if (!row_st)
            row_st = cf_record_check(b->form, record, b->fonts, /*blank*/ false, b->diag);
        if (!row_st)
            row_st = cf_file_name_expand(b->name_template, record, b->form->id, b->form->version,
                                         &name, b->diag);
        if (!row_st) {
            r->file = cf_strdup(name.data);
            bool nomem = false;
            if (!r->file || !name_set_add(&names, r->file, &nomem) || nomem) {
                if (r->file && !nomem) {
                    cf_diag_error(b->diag, b->csv_path, row,
                                  "gives the file name %s, which an earlier row already gives; "
                                  "use --name with more fields to tell them apart",
                                  r->file);
                    row_st = CF_ERR_DATA;
                } else {
                    row_st = CF_ERR_NOMEM;
                }
            }
        }
        if (row_st)
            row_fail(r, row_st, b->diag, mark);
        cf_record_free(record);
        record = NULL;
        if (row_st == CF_ERR_NOMEM) {
            st = CF_ERR_NOMEM;
            break;
        }
    }
done:
    cf_free(names.slots);
    cf_buf_cleanup(&name);
    cf_csv_map_free(map);
    cf_csv_reader_close(reader);
    return st;
}

/* Refuses to start when any output already exists (unless --force): nothing is written then. */
static cf_status check_existing(batch *b)
{
    if (b->force)
        return CF_OK;
    size_t existing = 0;
    for (size_t i = 0; i < b->n_rows; i++) {
        if (!b->rows[i].ok || b->only_combined)
            continue;
        char *path = out_path(b, b->rows[i].file);
        if (!path)
            return CF_ERR_NOMEM;
        if (access(path, F_OK) == 0) {
            if (existing < 10)
                cf_diag_error(b->diag, path, 0, "already exists");
            existing++;
        }
        cf_free(path);
    }
    char *manifest = out_path(b, "manifest.csv");
    if (!manifest)
        return CF_ERR_NOMEM;
    if (access(manifest, F_OK) == 0) {
        cf_diag_error(b->diag, manifest, 0, "already exists");
        existing++;
    }
    cf_free(manifest);
    if (b->combined && access(b->combined, F_OK) == 0) {
        cf_diag_error(b->diag, b->combined, 0, "already exists");
        existing++;
    }
    if (existing) {
        cf_diag_error(b->diag, b->out_dir, 0,
                      "%zu output file%s already exist%s; nothing was written (use --force to "
                      "replace them, or another --out-dir)",
                      existing, existing == 1 ? "" : "s", existing == 1 ? "s" : "");
        return CF_ERR_EXISTS;
    }
    return CF_OK;
}

/* Takes the next good row for a worker: reads the CSV in step with the pass-1 results.
 * Returns the row's index and its record (caller frees), or false at the end. */
static bool next_job(batch *b, size_t *index, cf_record **record)
{
    bool found = false;
    pthread_mutex_lock(&b->lock);
    while (!found && !b->reader_failed && b->next_index < b->n_rows) {
        const char *const *fields;
        size_t n_fields;
        size_t i = b->next_index;
        cf_status st = cf_csv_next_row(b->reader, &fields, &n_fields);
        if (st || !fields || cf_csv_row_number(b->reader) != b->rows[i].row) {
            /* The file changed between the two passes. */
            cf_diag_error(b->diag, b->csv_path, b->rows[i].row,
                          "the file changed while it was being printed; stopped");
            b->reader_failed = true;
            break;
        }
        b->next_index++;
        if (!b->rows[i].ok)
            continue;
        if (cf_csv_row_record(b->map, fields, n_fields, b->rows[i].row, record, b->diag)) {
            row_fail(&b->rows[i], CF_ERR_NOMEM, b->diag, cf_diag_size(b->diag));
            continue;
        }
        *index = i;
        found = true;
    }
    pthread_mutex_unlock(&b->lock);
    return found;
}

static void show_progress(batch *b)
{
    size_t total = 0;
    for (size_t i = 0; i < b->n_rows; i++)
        total += b->rows[i].ok;
    double t = elapsed(b);
    double rate = t > 0 ? (double)b->done / t : 0;
    double left = rate > 0 ? (double)(total - b->done) / rate : 0;
    fprintf(stderr, "\rconsentform: %zu/%zu printed, %.0f/s, %.0f s left   ", b->done, total, rate,
            left);
}

/* Renders and writes one row; cache is the worker's own. */
static void render_row(batch *b, size_t index, cf_record *record, cf_glyph_cache *cache)
{
    row_result *r = &b->rows[index];
    size_t mark = cf_diag_size(b->diag);
    cf_document doc;
    cf_render_options render = {
        .base = {b->font_base[0], b->font_base[1]},
        .glyph_cache = cache,
    };
    cf_document_options options = {
        .paper = b->paper,
        .blank = false,
        .created = b->created,
        .sequence = (unsigned long)r->row,
        .render = &render,
    };
    cf_status st = cf_record_check(b->form, record, b->fonts, false, b->diag);
    if (!st)
        st = cf_document_render(b->form, record, b->fonts, &options, &doc, b->diag);
    if (!st) {
        char *path = out_path(b, r->file);
        /* The folder is fsynced once, after the last row (render_rows). */
        st = path ? cf_file_write_atomic_in_run(path, doc.pdf, doc.pdf_len, b->force, b->diag)
                  : CF_ERR_NOMEM;
        cf_free(path);
        if (!st && b->archive) {
            cf_archive_label labels[16];
            size_t n = 0;
            for (size_t i = 0; i < b->form->n_label_fields && n < 16; i++) {
                const char *v = cf_record_get(record, b->form->fields[i].key);
                if (v)
                    labels[n++] = (cf_archive_label){b->form->fields[i].key, v};
            }
            st = cf_archive_register_issued(b->archive, doc.document_id, b->form->id,
                                            b->form->version, labels, n, doc.pdf, doc.pdf_len,
                                            b->created, cf_cli_operator(b->operator_name), b->diag);
            if (st)
                cf_diag_error(b->diag, b->csv_path, r->row,
                              "the PDF was written but could not be archived");
        }
        if (!st) {
            r->written = true;
            r->pages = doc.pages;
            memcpy(r->document_id, doc.document_id, sizeof r->document_id);
            cf_sha256_hex(doc.pdf, doc.pdf_len, r->sha256);
        }
        cf_document_cleanup(&doc);
    }
    pthread_mutex_lock(&b->lock);
    if (st) {
        row_fail(r, st, b->diag, mark);
        b->failed++;
    } else {
        b->done++;
    }
    if (b->progress)
        show_progress(b);
    pthread_mutex_unlock(&b->lock);
}

static void *worker(void *arg)
{
    batch *b = arg;
    size_t index;
    cf_record *record;
    /* Without a cache (out of memory) rows are still printed, only slower. */
    cf_glyph_cache *cache = cf_glyph_cache_new();
    while (next_job(b, &index, &record)) {
        render_row(b, index, record, cache);
        cf_record_free(record);
    }
    cf_glyph_cache_free(cache);
    return NULL;
}

/* Pass 2: reads the CSV again and renders the good rows on b->jobs threads. */
static cf_status render_rows(batch *b)
{
    cf_status st = cf_csv_reader_open(b->csv_path, b->encoding, NULL, &b->reader, b->diag);
    const char *const *fields;
    size_t n_fields;
    if (!st)
        st = cf_csv_next_row(b->reader, &fields, &n_fields);
    if (!st && fields)
        st = cf_csv_header_map(b->form, fields, n_fields, b->csv_path, 1, &b->map, NULL);
    if (st)
        return st;
    long n_threads = b->jobs;
    if (n_threads > 64)
        n_threads = 64;
    pthread_t threads[64];
    long started = 0;
    for (long i = 1; i < n_threads; i++) {
        if (pthread_create(&threads[started], NULL, worker, b) != 0)
            break;
        started++;
    }
    worker(b);
    for (long i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (b->progress)
        fputc('\n', stderr);
    /* Each PDF's data were fsynced before it got its name; the names now, all at once. */
    if (b->done > 0) {
        cf_status st_sync = cf_file_sync_dir(b->out_dir, b->diag);
        if (st_sync)
            return st_sync;
    }
    return b->reader_failed ? CF_ERR_DATA : CF_OK;
}

/* Appends value to out as one CSV field (quoted when needed). */
static void csv_field(cf_buf *out, const char *value)
{
    if (!value)
        value = "";
    if (!strpbrk(value, ",\"\r\n")) {
        cf_buf_append_str(out, value);
        return;
    }
    cf_buf_putc(out, '"');
    for (const char *p = value; *p; p++) {
        if (*p == '"')
            cf_buf_putc(out, '"');
        cf_buf_putc(out, *p);
    }
    cf_buf_putc(out, '"');
}

/* Writes DIR/manifest.csv (row,status,file,document_id,sha256,pages,message), atomically. */
static cf_status write_manifest(batch *b)
{
    cf_buf out;
    cf_buf_init(&out, (size_t)1 << 30);
    cf_buf_append_str(&out, "row,status,file,document_id,sha256,pages,message\r\n");
    for (size_t i = 0; i < b->n_rows; i++) {
        const row_result *r = &b->rows[i];
        cf_buf_printf(&out, "%ld,%s,", r->row, r->written ? "ok" : r->empty ? "skipped" : "error");
        csv_field(&out, r->written ? r->file : "");
        cf_buf_putc(&out, ',');
        csv_field(&out, r->written ? r->document_id : "");
        cf_buf_putc(&out, ',');
        csv_field(&out, r->written ? r->sha256 : "");
        if (r->written)
            cf_buf_printf(&out, ",%zu,", r->pages);
        else
            cf_buf_append_str(&out, ",,");
        csv_field(&out, r->written ? "" : r->empty ? "empty row" : r->message);
        cf_buf_append_str(&out, "\r\n");
    }
    cf_status st = out.error;
    char *path = out_path(b, "manifest.csv");
    if (!st)
        st = path ? cf_file_write_atomic(path, out.data, out.len, b->force, b->diag) : CF_ERR_NOMEM;
    cf_free(path);
    cf_buf_cleanup(&out);
    return st;
}

/* The combined print job is made in parts of this many patients, each a PDF of its own that
 * is joined to the file as soon as it is done: memory stays that of one part, whatever the
 * number of patients. */
#define COMBINED_PART_PATIENTS 100

typedef struct combined_job {
    const cf_codepoints *const *sets;
    cf_doc_info info;
    cf_pdf_writer *writer; /* the part being made, or NULL */
    size_t in_part;        /* patients in it */
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

/* Finishes the part being made and joins it to the file. */
static cf_status combined_flush(batch *b, combined_job *cj)
{
    if (cj->writer == NULL)
        return CF_OK;
    unsigned char *pdf = NULL;
    size_t len = 0;
    cf_status st = cf_pdf_writer_finish(cj->writer, &pdf, &len);
    cj->writer = NULL;
    cj->in_part = 0;
    if (!st)
        st = cf_pdf_join_add(cj->join, pdf, len, b->diag);
    cf_free(pdf);
    return st;
}

/* Adds one patient's pages to the print job. */
static cf_status combined_add(batch *b, combined_job *cj, const cf_display_list *list)
{
    cf_status st = CF_OK;
    if (cj->writer == NULL) {
        st = cf_pdf_writer_new(b->fonts, cj->sets, &cj->info, &cj->writer, b->diag);
        if (st)
            return st;
        cf_pdf_writer_set_pages_before(cj->writer, cf_pdf_join_pages(cj->join));
    }
    st = cf_pdf_writer_add(cj->writer, list, b->duplex);
    if (!st && ++cj->in_part == COMBINED_PART_PATIENTS)
        st = combined_flush(b, cj);
    return st;
}

/* One pass over the CSV for the combined PDF: every row that was printed (or, with
 * --only-combined, that passed the checks) is laid out again, in CSV order, with the document
 * id it was given; the pass either collects the characters drawn (job NULL) or adds the
 * pages to the print job. Lists are freed at once, so memory does not grow with the number of
 * patients. */
static cf_status combined_pass(batch *b, cf_codepoints *const sets[CF_FONT_STYLE_COUNT],
                               combined_job *job)
{
    cf_csv_reader *reader = NULL;
    cf_csv_map *map = NULL;
    const char *const *fields;
    size_t n_fields;
    cf_status st = cf_csv_reader_open(b->csv_path, b->encoding, NULL, &reader, b->diag);
    if (!st)
        st = cf_csv_next_row(reader, &fields, &n_fields);
    if (!st && fields)
        st = cf_csv_header_map(b->form, fields, n_fields, b->csv_path, 1, &map, NULL);
    for (size_t i = 0; !st && i < b->n_rows; i++) {
        row_result *r = &b->rows[i];
        st = cf_csv_next_row(reader, &fields, &n_fields);
        if (st)
            break;
        if (!fields || cf_csv_row_number(reader) != r->row) {
            cf_diag_error(b->diag, b->csv_path, r->row,
                          "the file changed while it was being printed; stopped");
            st = CF_ERR_DATA;
            break;
        }
        if (!(b->only_combined ? r->ok : r->written))
            continue;
        cf_record *record = NULL;
        cf_display_list *list = NULL;
        cf_document_options options = {
            .paper = b->paper,
            .created = b->created,
            .sequence = (unsigned long)r->row,
            .document_id = r->document_id[0] ? r->document_id : NULL,
            .characters_only = job == NULL, /* the first pass collects characters */
        };
        st = cf_csv_row_record(map, fields, n_fields, r->row, &record, b->diag);
        if (!st)
            st = cf_record_check(b->form, record, b->fonts, false, b->diag);
        if (!st)
            st = cf_document_layout(b->form, record, b->fonts, &options, r->document_id, &list,
                                    b->diag);
        if (!st && !job)
            cf_display_list_codepoints(list, sets);
        if (!st && job) {
            st = combined_add(b, job, list);
            if (!st && b->only_combined) {
                r->pages = list->n_pages;
                r->written = true;
            }
        }
        cf_display_list_free(list);
        cf_record_free(record);
    }
    cf_csv_map_free(map);
    cf_csv_reader_close(reader);
    return st;
}

/* Writes every printed patient into one PDF, in CSV order, for one print job. */
static cf_status write_combined(batch *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n_rows; i++)
        n += b->only_combined ? b->rows[i].ok : b->rows[i].written;
    if (n == 0) {
        cf_diag_error(b->diag, b->combined, 0, "no row could be printed, so it was not written");
        return CF_ERR_DATA;
    }
    cf_codepoints *sets[CF_FONT_STYLE_COUNT] = {cf_codepoints_new(), cf_codepoints_new()};
    cf_status st = sets[0] && sets[1] ? CF_OK : CF_ERR_NOMEM;
    if (!st)
        st = combined_pass(b, sets, NULL);
    char subject[256];
    snprintf(subject, sizeof subject, "%s %s", b->form->id, b->form->version);
    combined_job cj = {
        .sets = (const cf_codepoints *const *)sets,
        .info = {.title = b->form->title, .subject = subject, .created = b->created},
    };
    cf_sha256_init(&cj.sha);
    if (!st && !(cj.join = cf_pdf_join_new(combined_sink, &cj)))
        st = CF_ERR_NOMEM;
    if (!st)
        st = cf_atomic_file_open(b->combined, b->force, &cj.file, b->diag);
    if (!st)
        st = combined_pass(b, sets, &cj);
    if (!st)
        st = combined_flush(b, &cj);
    if (!st)
        st = cf_pdf_join_finish(cj.join, b->diag);
    cf_pdf_writer_free(cj.writer);
    cf_pdf_join_free(cj.join);
    if (cj.file != NULL) {
        if (!st)
            st = cf_atomic_file_commit(cj.file, b->diag);
        else
            cf_atomic_file_abort(cj.file);
    }
    if (!st && b->only_combined) {
        /* Each row's pages are in the combined file: the manifest says so. */
        unsigned char digest[CF_SHA256_SIZE];
        char hex[CF_SHA256_HEX_SIZE];
        cf_sha256_final(&cj.sha, digest);
        cf_sha256_to_hex(digest, hex);
        const char *base = strrchr(b->combined, '/');
        base = base ? base + 1 : b->combined;
        for (size_t i = 0; i < b->n_rows; i++)
            if (b->rows[i].written) {
                cf_free(b->rows[i].file);
                b->rows[i].file = cf_strdup(base);
                memcpy(b->rows[i].sha256, hex, sizeof hex);
                if (!b->rows[i].file)
                    st = CF_ERR_NOMEM;
            }
    }
    for (int s = 0; s < CF_FONT_STYLE_COUNT; s++)
        cf_codepoints_free(sets[s]);
    return st;
}

/* Creates the output folder when it is missing (not its parents). */
static cf_status ensure_out_dir(batch *b)
{
    struct stat st;
    if (stat(b->out_dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return CF_OK;
        cf_diag_error(b->diag, b->out_dir, 0, "is not a folder");
        return CF_ERR_CANTCREAT;
    }
    if (mkdir(b->out_dir, 0777) != 0) {
        cf_diag_error(b->diag, b->out_dir, 0, "cannot create the output folder: %s",
                      strerror(errno));
        return CF_ERR_CANTCREAT;
    }
    return CF_OK;
}

static int parse_options(batch *b, int argc, char **argv)
{
    static const struct option options[] = {
        {"csv", required_argument, NULL, 'c'},
        {"out-dir", required_argument, NULL, 'o'},
        {"combined", required_argument, NULL, 'C'},
        {"only-combined", no_argument, NULL, 'O'},
        {"duplex", no_argument, NULL, 'D'},
        {"jobs", required_argument, NULL, 'j'},
        {"encoding", required_argument, NULL, 'e'},
        {"name", required_argument, NULL, 'n'},
        {"paper", required_argument, NULL, 'p'},
        {"archive", required_argument, NULL, 'A'},
        {"operator", required_argument, NULL, 'U'},
        {"force", no_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    opterr = 0;
    while ((c = cf_cli_getopt(argc, argv, "j:o:", options, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'c':
            b->csv_path = optarg;
            break;
        case 'o':
            b->out_dir = optarg;
            break;
        case 'C':
            b->combined = optarg;
            break;
        case 'O':
            b->only_combined = true;
            break;
        case 'D':
            b->duplex = true;
            break;
        case 'f':
            b->force = true;
            break;
        case 'n':
            b->name_template = optarg;
            break;
        case 'j':
            errno = 0;
            b->jobs = strtol(optarg, &end, 10);
            if (errno || *end || b->jobs < 1 || b->jobs > 64)
                return cf_cli_usage_error(cf_usage_batch,
                                          "batch: --jobs takes a number from 1 to 64");
            break;
        case 'e':
            if (!cf_csv_encoding_parse(optarg, &b->encoding))
                return cf_cli_usage_error(cf_usage_batch,
                                          "batch: --encoding is auto, utf-8 or big5-hkscs");
            break;
        case 'A':
            b->archive_dir = optarg;
            break;
        case 'U':
            b->operator_name = optarg;
            break;
        case 'p':
            if (strcmp(optarg, "a4") == 0 || strcmp(optarg, "A4") == 0)
                b->paper = CF_PAPER_A4;
            else if (strcmp(optarg, "letter") == 0)
                b->paper = CF_PAPER_LETTER;
            else
                return cf_cli_usage_error(cf_usage_batch, "batch: --paper is a4 or letter");
            break;
        default:
            return cf_cli_usage_error(cf_usage_batch, "batch: unknown or incomplete option \"%s\"",
                                      argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cf_cli_usage_error(cf_usage_batch, "batch: name the form to print");
    b->form_arg = argv[optind];
    if (optind + 1 < argc)
        return cf_cli_usage_error(cf_usage_batch, "batch: unexpected argument \"%s\"",
                                  argv[optind + 1]);
    if (!b->csv_path)
        return cf_cli_usage_error(cf_usage_batch, "batch: --csv FILE is required");
    if (!b->out_dir)
        return cf_cli_usage_error(cf_usage_batch, "batch: --out-dir DIR is required");
    if (b->only_combined && b->archive_dir)
        return cf_cli_usage_error(cf_usage_batch, "batch: --archive keeps each patient's own PDF; "
                                                  "drop --only-combined");
    if (b->only_combined && !b->combined)
        return cf_cli_usage_error(cf_usage_batch, "batch: --only-combined goes with --combined");
    if (b->duplex && !b->combined)
        return cf_cli_usage_error(cf_usage_batch, "batch: --duplex goes with --combined");
    if (b->combined) {
        size_t len = strlen(b->combined);
        if (len < 5 || strcmp(b->combined + len - 4, ".pdf") != 0)
            return cf_cli_usage_error(cf_usage_batch, "batch: --combined must name a .pdf file");
    }
    return EX_OK;
}

/* Status with the largest exit code wins, so an I/O failure is not reported as bad data. */
static cf_status worse(cf_status a, cf_status b)
{
    return cf_status_exit_code(b) > cf_status_exit_code(a) ? b : a;
}

int cf_cmd_batch(int argc, char **argv)
{
    batch b = {
        .name_template = CF_FILE_NAME_DEFAULT,
        .encoding = CF_CSV_ENCODING_AUTO,
        .paper = CF_PAPER_A4,
    };
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    b.jobs = cpus > 0 ? (cpus < 64 ? cpus : 64) : 1;
    int usage = parse_options(&b, argc, argv);
    if (usage != EX_OK)
        return usage;

    b.diag = cf_diag_new();
    if (!b.diag)
        return EX_SOFTWARE;
    cf_diag_set_echo(b.diag, stderr);
    pthread_mutex_init(&b.lock, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b.started);
    b.progress = isatty(STDERR_FILENO);
    b.created = cf_document_time();

    cf_status st = cf_file_name_check_template(b.name_template, b.diag);
    char *form_path = NULL;
    if (!st) {
        form_path = cf_form_resolve(b.form_arg, NULL, b.diag);
        st = form_path ? CF_OK : CF_ERR_NOINPUT;
    }
    if (!st)
        st = cf_form_load(form_path, NULL, &b.form, b.diag);
    if (!st)
        st = cf_fontset_get(b.form->region, &b.fonts, b.diag);
    if (!st)
        st = cf_document_preflight(b.form, b.fonts, b.diag);
    if (!st)
        st = check_rows(&b);
    size_t good = 0, patients = 0;
    for (size_t i = 0; i < b.n_rows; i++) {
        good += b.rows[i].ok;
        patients += !b.rows[i].empty;
    }
    if (!st && patients == 0) {
        cf_diag_error(b.diag, b.csv_path, 0, "has a header row but no patients");
        st = CF_ERR_DATA;
    }
    if (!st)
        st = check_existing(&b);
    if (!st && b.archive_dir)
        st = cf_archive_open(b.archive_dir, false, &b.archive, b.diag);
    if (!st)
        st = ensure_out_dir(&b);

    cf_status rows_st = CF_OK;
    if (!st && good && !b.only_combined) {
        for (int f = 0; f < CF_FONT_STYLE_COUNT && !st; f++)
            if (!(b.font_base[f] = cf_codepoints_new()))
                st = CF_ERR_NOMEM;
        if (!st)
            st = cf_document_font_base(b.form, b.fonts, b.paper, b.font_base, b.diag);
    }
    if (!st) {
        if (good && !b.only_combined)
            rows_st = render_rows(&b);
        cf_status c = CF_OK;
        if (b.combined && (b.only_combined ? good > 0 : b.done > 0))
            c = write_combined(&b);
        cf_status w = write_manifest(&b);
        st = w ? w : c;
    }

    size_t failed = 0, pages = 0, empty = 0;
    for (size_t i = 0; i < b.n_rows; i++) {
        if (b.rows[i].empty) {
            empty++;
        } else if (!b.rows[i].written) {
            failed++;
            rows_st = worse(rows_st, b.rows[i].status ? b.rows[i].status : CF_ERR_DATA);
        }
        pages += b.rows[i].pages;
    }
    if (b.n_rows && (st == CF_OK || st == CF_ERR_DATA)) {
        double t = elapsed(&b);
        fprintf(stderr,
                "consentform: %zu row%s: %zu printed (%zu pages), %zu failed, %zu empty; %.1f s, "
                "%.1f forms/s%s\n",
                b.n_rows, b.n_rows == 1 ? "" : "s", b.n_rows - failed - empty, pages, failed, empty,
                t, t > 0 ? (double)(b.n_rows - failed - empty) / t : 0.0,
                failed ? "; see manifest.csv" : "");
    }
    if (!st)
        st = rows_st;

    for (size_t i = 0; i < b.n_rows; i++) {
        cf_free(b.rows[i].file);
        cf_free(b.rows[i].message);
    }
    cf_free(b.rows);
    for (int f = 0; f < CF_FONT_STYLE_COUNT; f++)
        cf_codepoints_free(b.font_base[f]);
    cf_csv_map_free(b.map);
    cf_csv_reader_close(b.reader);
    cf_archive_close(b.archive);
    cf_form_free(b.form);
    cf_free(form_path);
    pthread_mutex_destroy(&b.lock);
    cf_diag_free(b.diag);
    return cf_status_exit_code(st);
}
