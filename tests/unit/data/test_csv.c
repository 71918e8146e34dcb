/* Tests of the streaming CSV reader and the header map: the table of cases in tests/data/csv/
 * (each NAME.csv with its NAME.expect, run with many read sizes so that characters and line
 * ends fall across reads), then generated inputs too big for files: 100k columns, fields of
 * 1 MB, 10 MB and 32 MB, 100k rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "base/diag.h"
#include "data/csv.h"
#include "data_test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a list of text lines ---- */

typedef struct lines {
    char **items;
    size_t n, cap;
} lines;

static void lines_add(lines *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void lines_add(lines *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    s = malloc((size_t)n + 1);
    assert_non_null(s);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = realloc(l->items, l->cap * sizeof *l->items);
        assert_non_null(l->items);
    }
    l->items[l->n++] = s;
}

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* Appends s to out as it is. */
static void append_raw(char **out, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        *cap = (*cap + n + 1) * 2;
        *out = realloc(*out, *cap);
        assert_non_null(*out);
    }
    memcpy(*out + *len, s, n + 1);
    *len += n;
}

/* Appends s to out as the .expect files write a field: \n \r \t \\ \| and \xHH escaped. */
static void escape_field(char **out, size_t *len, size_t *cap, const char *s)
{
    for (; *s; s++) {
        char tmp[8];
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            snprintf(tmp, sizeof tmp, "\\n");
        else if (c == '\r')
            snprintf(tmp, sizeof tmp, "\\r");
        else if (c == '\t')
            snprintf(tmp, sizeof tmp, "\\t");
        else if (c == '\\')
            snprintf(tmp, sizeof tmp, "\\\\");
        else if (c == '|')
            snprintf(tmp, sizeof tmp, "\\|");
        else if (c < 0x20 || c == 0x7F)
            snprintf(tmp, sizeof tmp, "\\x%02X", c);
        else
            snprintf(tmp, sizeof tmp, "%c", c);
        append_raw(out, len, cap, tmp);
    }
}

/* ---- the table of cases ---- */

typedef struct csv_case {
    char name[256];
    char csv[4400];
    char expect[4400];
} csv_case;

typedef struct case_options {
    cf_csv_encoding encoding;
    cf_csv_limits limits;
    size_t read_sizes[16];
    size_t n_read_sizes;
    bool map;
    char map_args[8][128]; /* @map-arg COLUMN=FIELD: as --map */
    size_t n_map_args;
    char map_file[256]; /* @map-file NAME: a map file in tests/data/csv/ */
    char delimiter;     /* @delimiter: forced, 0 = sniffed */
    bool report;        /* @report: a last line "USED encoding delimiter" */
} case_options;

/* Moves the diagnostics added since *seen into out as "ERROR row N: ..." lines, checking that
 * each names the CSV file. */
static void drain_diag(const cf_diag *diag, size_t *seen, const char *file, lines *out)
{
    for (; *seen < cf_diag_size(diag); (*seen)++) {
        const cf_diag_entry *e = cf_diag_get(diag, *seen);
        assert_non_null(e->file);
        assert_string_equal(e->file, file);
        const char *kind = e->severity == CF_DIAG_ERROR ? "ERROR" : "WARNING";
        if (e->line > 0)
            lines_add(out, "%s row %ld: %s", kind, e->line, e->message);
        else
            lines_add(out, "%s: %s", kind, e->message);
    }
}

/* Reads the case's CSV with options and read size, describing every row and message in out. */
static void read_case(const csv_case *c, const case_options *opt, size_t read_size,
                      bool from_memory, lines *out)
{
    cf_diag *diag = cf_diag_new();
    assert_non_null(diag);
    cf_csv_limits limits = opt->limits;
    limits.read_size = read_size;
    cf_csv_reader *reader = NULL;
    char *data = NULL;
    cf_status st;
    if (from_memory) {
        size_t len = 0;
        data = data_test_read_file(c->csv, &len);
        assert_non_null(data);
        st = cf_csv_reader_open_memory(data, len, c->csv, opt->encoding, &limits, &reader, diag);
    } else {
        st = cf_csv_reader_open(c->csv, opt->encoding, &limits, &reader, diag);
    }
    assert_int_equal(st, CF_OK);
    assert_int_equal(cf_csv_reader_set_delimiter(reader, opt->delimiter), CF_OK);

    size_t seen = 0;
    cf_csv_map *map = NULL;
    for (;;) {
        const char *const *fields;
        size_t n;
        st = cf_csv_next_row(reader, &fields, &n);
        drain_diag(diag, &seen, c->csv, out);
        if (st != CF_OK) {
            assert_true(st == CF_ERR_DATA || st == CF_ERR_LIMIT);
            assert_true(cf_diag_error_count(diag) > 0);
            /* The error sticks, without a second message. */
            size_t before = cf_diag_size(diag);
            assert_int_equal(cf_csv_next_row(reader, &fields, &n), st);
            assert_null(fields);
            assert_int_equal(cf_diag_size(diag), before);
            break;
        }
        if (!fields) {
            assert_int_equal(n, 0);
            if (opt->report)
                lines_add(out, "USED %s %s", cf_csv_encoding_name(cf_csv_reader_encoding(reader)),
                          cf_csv_delimiter_name(cf_csv_reader_delimiter(reader)));
            break;
        }
        assert_true(n >= 1);
        long row = cf_csv_row_number(reader), line = cf_csv_line_number(reader);
        char *text = NULL;
        size_t len = 0, cap = 0;
        if (opt->map && !map) {
            cf_csv_mappings *mappings = cf_csv_mappings_new();
            assert_non_null(mappings);
            for (size_t k = 0; k < opt->n_map_args; k++)
                assert_int_equal(cf_csv_mappings_add(mappings, opt->map_args[k], diag), CF_OK);
            if (opt->map_file[0])
                assert_int_equal(cf_csv_mappings_load(mappings, opt->map_file, diag), CF_OK);
            st = cf_csv_map_build(&data_test_form, mappings, fields, n, cf_csv_reader_name(reader),
                                  row, &map, diag);
            cf_csv_mappings_free(mappings);
            drain_diag(diag, &seen, c->csv, out);
            if (st != CF_OK) {
                assert_int_equal(st, CF_ERR_DATA);
                assert_null(map);
                break;
            }
            assert_int_equal(cf_csv_map_columns(map), n);
            continue;
        }
        if (opt->map) {
            cf_record *record = NULL;
            st = cf_csv_row_record(map, fields, n, row, &record, diag);
            drain_diag(diag, &seen, c->csv, out);
            if (st != CF_OK) {
                assert_int_equal(st, CF_ERR_DATA);
                assert_null(record);
                continue;
            }
            assert_int_equal(cf_record_row(record), row);
            assert_string_equal(cf_record_source(record), c->csv);
            for (size_t i = 0; i < cf_record_size(record); i++) {
                if (i > 0)
                    append_raw(&text, &len, &cap, " | ");
                /* Extra columns (no field of the form) are marked with a '+'. */
                if (cf_record_is_extra(record, i))
                    append_raw(&text, &len, &cap, "+");
                escape_field(&text, &len, &cap, cf_record_key(record, i));
                append_raw(&text, &len, &cap, "=");
                escape_field(&text, &len, &cap, cf_record_value(record, i));
            }
            cf_record_free(record);
        } else {
            for (size_t i = 0; i < n; i++) {
                assert_non_null(fields[i]);
                if (i > 0)
                    append_raw(&text, &len, &cap, " | ");
                escape_field(&text, &len, &cap, fields[i]);
            }
        }
        if (line != row)
            lines_add(out, "%ld (line %ld): %s", row, line, text ? text : "");
        else
            lines_add(out, "%ld: %s", row, text ? text : "");
        free(text);
    }
    cf_csv_map_free(map);
    cf_csv_reader_close(reader);
    cf_diag_free(diag);
    free(data);
}

/* True when actual matches the expected line: exactly, or for "ERROR row N: phrase" /
 * "WARNING ...", the same kind and row and a message containing phrase. */
static bool line_matches(const char *expected, const char *actual)
{
    if (strncmp(expected, "ERROR", 5) != 0 && strncmp(expected, "WARNING", 7) != 0)
        return strcmp(expected, actual) == 0;
    const char *colon = strstr(expected, ": ");
    if (!colon && expected[strlen(expected) - 1] == ':')
        colon = expected + strlen(expected) - 1;
    if (!colon)
        return false;
    size_t head = (size_t)(colon - expected) + 1;
    if (strncmp(expected, actual, head) != 0)
        return false;
    const char *phrase = colon[1] ? colon + 2 : "";
    return strstr(actual + head, phrase) != NULL;
}

/* Parses the .expect file: options into opt, expected lines into out. */
static void parse_expect(const csv_case *c, case_options *opt, lines *out)
{
    size_t len = 0;
    char *text = data_test_read_file(c->expect, &len);
    if (!text)
        fail_msg("%s has no %s", c->csv, c->expect);
    memset(opt, 0, sizeof *opt);
    opt->encoding = CF_CSV_ENCODING_AUTO;
    cf_csv_limits_init(&opt->limits);
    static const size_t sizes[] = {1, 2, 3, 5, 7, 64, CF_CSV_DEFAULT_READ_SIZE};
    opt->n_read_sizes = sizeof sizes / sizeof sizes[0];
    memcpy(opt->read_sizes, sizes, sizeof sizes);

    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *value = strchr(line, ' ');
        if (line[0] == '@') {
            char *end = NULL;
            if (strcmp(line, "@map") == 0) {
                opt->map = true;
            } else if (value && strncmp(line, "@map-arg ", 9) == 0) {
                assert_true(opt->n_map_args < 8);
                snprintf(opt->map_args[opt->n_map_args++], sizeof opt->map_args[0], "%s",
                         value + 1);
            } else if (value && strncmp(line, "@map-file ", 10) == 0) {
                char *slash = strrchr(c->csv, '/');
                assert_non_null(slash);
                snprintf(opt->map_file, sizeof opt->map_file, "%.*s/%s", (int)(slash - c->csv),
                         c->csv, value + 1);
            } else if (strcmp(line, "@report") == 0) {
                opt->report = true;
            } else if (value && strncmp(line, "@delimiter ", 11) == 0) {
                assert_true(cf_csv_delimiter_parse(value + 1, &opt->delimiter));
            } else if (value && strncmp(line, "@encoding ", 10) == 0) {
                assert_true(cf_csv_encoding_parse(value + 1, &opt->encoding));
            } else if (value && strncmp(line, "@max-field ", 11) == 0) {
                opt->limits.max_field = strtoul(value + 1, &end, 10);
            } else if (value && strncmp(line, "@max-row ", 9) == 0) {
                opt->limits.max_row = strtoul(value + 1, &end, 10);
            } else if (value && strncmp(line, "@max-columns ", 13) == 0) {
                opt->limits.max_columns = strtoul(value + 1, &end, 10);
            } else if (value && strncmp(line, "@read-sizes ", 12) == 0) {
                opt->n_read_sizes = 0;
                for (char *p = value; *p && opt->n_read_sizes < 16;) {
                    opt->read_sizes[opt->n_read_sizes++] = strtoul(p, &end, 10);
                    assert_true(end != p);
                    p = end;
                }
            } else {
                fail_msg("%s: unknown option line: %s", c->expect, line);
            }
            continue;
        }
        lines_add(out, "%s", line);
    }
    free(text);
}

static void compare_lines(const csv_case *c, const lines *expected, const lines *actual,
                          size_t read_size, bool from_memory)
{
    size_t n = expected->n > actual->n ? expected->n : actual->n;
    for (size_t i = 0; i < n; i++) {
        const char *e = i < expected->n ? expected->items[i] : "(nothing)";
        const char *a = i < actual->n ? actual->items[i] : "(nothing)";
        if (i >= expected->n || i >= actual->n || !line_matches(e, a)) {
            for (size_t k = 0; k < actual->n; k++)
                fprintf(stderr, "  got: %s\n", actual->items[k]);
            fail_msg("%s (read size %zu%s), line %zu:\nexpected: %s\n     got: %s", c->name,
                     read_size, from_memory ? ", from memory" : "", i + 1, e, a);
        }
    }
}

static void test_case(void **state)
{
    const csv_case *c = *state;
    case_options opt;
    lines expected = {0};
    parse_expect(c, &opt, &expected);
    for (size_t i = 0; i < opt.n_read_sizes; i++) {
        for (int memory = 0; memory < 2; memory++) {
            lines actual = {0};
            read_case(c, &opt, opt.read_sizes[i], memory != 0, &actual);
            compare_lines(c, &expected, &actual, opt.read_sizes[i], memory != 0);
            lines_free(&actual);
        }
    }
    lines_free(&expected);
}

static int compare_cases(const void *a, const void *b)
{
    return strcmp(((const csv_case *)a)->name, ((const csv_case *)b)->name);
}

/* Finds tests/data/csv/NAME.csv files; every one must have a NAME.expect. */
static csv_case *find_cases(size_t *n_cases)
{
    char dir_path[4096];
    test_source_path(dir_path, sizeof dir_path, "tests/data/csv");
    DIR *dir = opendir(dir_path);
    if (!dir) {
        fprintf(stderr, "cannot open %s: %s\n", dir_path, strerror(errno));
        return NULL;
    }
    csv_case *cases = NULL;
    size_t n = 0, cap = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t len = strlen(entry->d_name);
        if (len <= 4 || strcmp(entry->d_name + len - 4, ".csv") != 0 || len - 4 >= 256)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            cases = realloc(cases, cap * sizeof *cases);
            if (!cases)
                abort();
        }
        csv_case *c = &cases[n++];
        memcpy(c->name, entry->d_name, len - 4);
        c->name[len - 4] = '\0';
        snprintf(c->csv, sizeof c->csv, "%s/%s.csv", dir_path, c->name);
        snprintf(c->expect, sizeof c->expect, "%s/%s.expect", dir_path, c->name);
    }
    closedir(dir);
    qsort(cases, n, sizeof *cases, compare_cases);
    *n_cases = n;
    return cases;
}

/* ---- generated inputs ---- */

/* A CSV "name,note\n<header>" + "x,<field of len bytes>\n" in memory; caller frees. */
static char *make_one_field(size_t len, bool quoted, size_t *total)
{
    const char *head = "name,note\nx,";
    size_t head_len = strlen(head);
    char *data = malloc(head_len + len + 4);
    assert_non_null(data);
    memcpy(data, head, head_len);
    size_t n = head_len;
    if (quoted)
        data[n++] = '"';
    memset(data + n, 'a', len);
    n += len;
    if (quoted)
        data[n++] = '"';
    data[n++] = '\n';
    *total = n;
    return data;
}

/* Reads the two rows of make_one_field's CSV with limits; returns the status of the second
 * row and checks the field's length when it is read. */
static cf_status read_one_field(size_t len, bool quoted, const cf_csv_limits *limits, cf_diag *diag)
{
    size_t total;
    char *data = make_one_field(len, quoted, &total);
    cf_csv_reader *reader = NULL;
    assert_int_equal(cf_csv_reader_open_memory(data, total, "big.csv", CF_CSV_ENCODING_AUTO, limits,
                                               &reader, diag),
                     CF_OK);
    const char *const *fields;
    size_t n;
    assert_int_equal(cf_csv_next_row(reader, &fields, &n), CF_OK);
    cf_status st = cf_csv_next_row(reader, &fields, &n);
    if (st == CF_OK) {
        assert_int_equal(n, 2);
        assert_int_equal(strlen(fields[1]), len);
        assert_int_equal(fields[1][0], 'a');
        assert_int_equal(fields[1][len - 1], 'a');
        assert_int_equal(cf_csv_next_row(reader, &fields, &n), CF_OK);
        assert_null(fields);
    }
    size_t cap = (limits ? limits->max_row : CF_CSV_DEFAULT_MAX_ROW) + 4096 +
                 2 * (limits ? limits->read_size : CF_CSV_DEFAULT_READ_SIZE);
    assert_true(cf_csv_reader_memory(reader) < cap);
    cf_csv_reader_close(reader);
    free(data);
    return st;
}

/* A 1 MB field: read under the default cap and under a cap of exactly 1,000,000 bytes; one
 * byte over a cap is CF_ERR_LIMIT naming the row and column. */
static void test_million_byte_field(void **state)
{
    (void)state;
    cf_diag *diag = cf_diag_new();
    cf_csv_limits limits;
    cf_csv_limits_init(&limits);
    for (int quoted = 0; quoted < 2; quoted++) {
        assert_int_equal(read_one_field(1000000, quoted, NULL, diag), CF_OK);
        assert_int_equal(read_one_field(CF_CSV_DEFAULT_MAX_FIELD, quoted, NULL, diag), CF_OK);
        assert_int_equal(cf_diag_size(diag), 0);
        assert_int_equal(read_one_field(CF_CSV_DEFAULT_MAX_FIELD + 1, quoted, NULL, diag),
                         CF_ERR_LIMIT);
        assert_true(cf_diag_contains(diag, "big.csv:2: column 2 (note): the field is longer "
                                           "than 1114112 bytes (the limit)"));
        cf_diag_clear(diag);

        limits.max_field = 1000000;
        assert_int_equal(read_one_field(1000000, quoted, &limits, diag), CF_OK);
        assert_int_equal(read_one_field(1000001, quoted, &limits, diag), CF_ERR_LIMIT);
        assert_true(cf_diag_contains(diag, "big.csv:2: column 2 (note): the field is longer "
                                           "than 1000000 bytes (the limit)"));
        cf_diag_clear(diag);
        limits.max_field = 999999;
        assert_int_equal(read_one_field(1000000, quoted, &limits, diag), CF_ERR_LIMIT);
        cf_diag_clear(diag);
    }
    cf_diag_free(diag);
}

/* Feeds a pipe from a thread: a header, then `rows` rows or one field of `field` bytes. */
typedef struct feeder {
    int fd;
    size_t rows;
    size_t field;
    bool big5;
} feeder;

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false; /* the reader stopped (EPIPE) */
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static void *feed(void *arg)
{
    feeder *f = arg;
    char buf[65536];
    bool ok = write_all(f->fd, "patient_name,hospital_no,episode_no,note\r\n", 42);
    if (f->field > 0) {
        ok = ok && write_all(f->fd, "x,y,z,\"", 7);
        memset(buf, 'q', sizeof buf);
        for (size_t left = f->field; ok && left > 0;) {
            size_t n = left < sizeof buf ? left : sizeof buf;
            ok = write_all(f->fd, buf, n);
            left -= n;
        }
        ok = ok && write_all(f->fd, "\"\r\n", 3);
    }
    /* 陳大文 in UTF-8 or in Big5-HKSCS. */
    const char *name =
        f->big5 ? "\xB3\xAF\xA4\x6A\xA4\xE5" : "\xE9\x99\xB3\xE5\xA4\xA7\xE6\x96\x87";
    size_t used = 0;
    for (size_t i = 0; ok && i < f->rows; i++) {
        int n = snprintf(buf + used, sizeof buf - used, "%s,HN%08zu(%zu),HE%07zu,\"a, b\"\r\n",
                         name, i, i % 10, i);
        used += (size_t)n;
        if (sizeof buf - used < 256 || i + 1 == f->rows) {
            ok = write_all(f->fd, buf, used);
            used = 0;
        }
    }
    close(f->fd);
    return NULL;
}

/* Peak resident memory of this process in KiB (VmHWM), or -1 when unknown. */
static long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

/* Resets the peak to the current resident memory (Linux: "5" into clear_refs). */
static bool reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

/* A 10 MB and a 32 MB field streamed through a pipe are refused at the cap, the reader holding
 * about the cap's worth of memory, never the field. */
static void test_huge_fields(void **state)
{
    (void)state;
    static const size_t sizes[] = {(size_t)10 << 20, (size_t)32 << 20};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        feeder f = {.fd = fds[1], .field = sizes[k]};
        pthread_t thread;
        bool measured = reset_peak_rss();
        long before = peak_rss_kib();
        assert_int_equal(pthread_create(&thread, NULL, feed, &f), 0);

        cf_diag *diag = cf_diag_new();
        cf_csv_reader *reader = NULL;
        assert_int_equal(
            cf_csv_reader_open_fd(fds[0], "pipe.csv", CF_CSV_ENCODING_AUTO, NULL, &reader, diag),
            CF_OK);
        const char *const *fields;
        size_t n;
        assert_int_equal(cf_csv_next_row(reader, &fields, &n), CF_OK);
        assert_int_equal(cf_csv_next_row(reader, &fields, &n), CF_ERR_LIMIT);
        assert_true(cf_diag_contains(diag, "pipe.csv:2: column 4 (note): the field is longer "
                                           "than 1114112 bytes (the limit)"));
        size_t held = cf_csv_reader_memory(reader);
        assert_true(held <= CF_CSV_DEFAULT_MAX_FIELD * 2 + CF_CSV_DEFAULT_READ_SIZE * 2);
        cf_csv_reader_close(reader);
        close(fds[0]);
        pthread_join(thread, NULL);
        long after = peak_rss_kib();
        if (measured && before > 0 && after > 0) {
            print_message("%zu MiB field: the reader held %zu bytes; peak RSS grew by %ld KiB\n",
                          sizes[k] >> 20, held, after - before);
            /* Generous, for sanitizers and valgrind, yet half the larger field. */
            assert_true(after - before < 16 * 1024);
        } else {
            print_message("peak RSS cannot be reset here: only the reader's count is checked\n");
        }
        cf_diag_free(diag);
    }
}

/* 100k rows through a pipe (UTF-8, then Big5-HKSCS): every row read, memory the same after
 * the last row as after the first few thousand (once the first chunk of text, kept to sniff the
 * delimiter from, is used up). */
static void run_many_rows(bool big5)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const size_t rows = 100000;
    feeder f = {.fd = fds[1], .rows = rows, .big5 = big5};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, feed, &f), 0);
    cf_diag *diag = cf_diag_new();
    cf_csv_reader *reader = NULL;
    assert_int_equal(cf_csv_reader_open_fd(fds[0], "rows.csv",
                                           big5 ? CF_CSV_ENCODING_BIG5_HKSCS : CF_CSV_ENCODING_AUTO,
                                           NULL, &reader, diag),
                     CF_OK);
    const char *const *fields;
    size_t n, count = 0, early = 0;
    for (;;) {
        assert_int_equal(cf_csv_next_row(reader, &fields, &n), CF_OK);
        if (!fields)
            break;
        assert_int_equal(n, 4);
        if (count > 0) {
            char expect[32];
            snprintf(expect, sizeof expect, "HE%07zu", count - 1);
            assert_string_equal(fields[0], "陳大文");
            assert_string_equal(fields[2], expect);
            assert_string_equal(fields[3], "a, b");
            assert_int_equal(cf_csv_row_number(reader), (long)count + 1);
        }
        count++;
        if (count == 5000)
            early = cf_csv_reader_memory(reader);
    }
    assert_int_equal(count, rows + 1);
    assert_int_equal(cf_csv_reader_memory(reader), early);
    assert_int_equal(cf_diag_size(diag), 0);
    cf_csv_reader_close(reader);
    close(fds[0]);
    pthread_join(thread, NULL);
    cf_diag_free(diag);
}

static void test_many_rows_utf8(void **state)
{
    (void)state;
    run_many_rows(false);
}

static void test_many_rows_big5(void **state)
{
    (void)state;
    run_many_rows(true);
}

/* A header of 100k columns stops at the column cap. */
static void test_hundred_thousand_columns(void **state)
{
    (void)state;
    const size_t columns = 100000;
    char *data = malloc(columns * 8 + 2);
    assert_non_null(data);
    size_t len = 0;
    for (size_t i = 0; i < columns; i++)
        len += (size_t)snprintf(data + len, 9, "%s%06zu", i ? "," : "", i);
    data[len++] = '\n';
    cf_diag *diag = cf_diag_new();
    cf_csv_reader *reader = NULL;
    assert_int_equal(
        cf_csv_reader_open_memory(data, len, "wide.csv", CF_CSV_ENCODING_AUTO, NULL, &reader, diag),
        CF_OK);
    const char *const *fields;
    size_t n;
    assert_int_equal(cf_csv_next_row(reader, &fields, &n), CF_ERR_LIMIT);
    assert_true(cf_diag_contains(diag, "wide.csv:1: the row has more than 256 columns"));
    assert_true(cf_csv_reader_memory(reader) < 256 * 1024);
    cf_csv_reader_close(reader);

    /* With the cap raised, all of them are read, and the header map copes. */
    cf_csv_limits limits;
    cf_csv_limits_init(&limits);
    limits.max_columns = columns;
    assert_int_equal(cf_csv_reader_open_memory(data, len, "wide.csv", CF_CSV_ENCODING_AUTO, &limits,
                                               &reader, diag),
                     CF_OK);
    assert_int_equal(cf_csv_next_row(reader, &fields, &n), CF_OK);
    assert_int_equal(n, columns);
    assert_string_equal(fields[columns - 1], "099999");
    cf_diag_clear(diag);
    cf_csv_map *map = NULL;
    assert_int_equal(cf_csv_header_map(&data_test_form, fields, n, "wide.csv", 1, &map, diag),
                     CF_ERR_DATA);
    assert_int_equal(cf_diag_error_count(diag), 3); /* the three label fields are missing */
    cf_csv_reader_close(reader);
    cf_diag_free(diag);
    free(data);
}

/* The sample lists: the Big5-HKSCS file reads exactly as the UTF-8 one (with its BOM). */
static void test_samples(void **state)
{
    (void)state;
    char utf8_path[4096], big5_path[4096];
    test_source_path(utf8_path, sizeof utf8_path, "samples/patients.csv");
    test_source_path(big5_path, sizeof big5_path, "samples/patients-big5hkscs.csv");
    if (access(utf8_path, R_OK) != 0 || access(big5_path, R_OK) != 0) {
        print_message("samples/patients*.csv not found: skipped\n");
        skip();
    }
    cf_diag *diag = cf_diag_new();
    cf_csv_reader *a = NULL, *b = NULL;
    assert_int_equal(cf_csv_reader_open(utf8_path, CF_CSV_ENCODING_AUTO, NULL, &a, diag), CF_OK);
    assert_int_equal(cf_csv_reader_open(big5_path, CF_CSV_ENCODING_BIG5_HKSCS, NULL, &b, diag),
                     CF_OK);
    assert_int_equal(cf_csv_reader_encoding(a), CF_CSV_ENCODING_UTF8);
    assert_int_equal(cf_csv_reader_encoding(b), CF_CSV_ENCODING_BIG5_HKSCS);
    size_t rows = 0;
    cf_csv_map *map = NULL;
    for (;;) {
        const char *const *fa, *const *fb;
        size_t na, nb;
        assert_int_equal(cf_csv_next_row(a, &fa, &na), CF_OK);
        assert_int_equal(cf_csv_next_row(b, &fb, &nb), CF_OK);
        assert_int_equal(na, nb);
        if (!fa)
            break;
        for (size_t i = 0; i < na; i++)
            assert_string_equal(fa[i], fb[i]);
        if (rows == 0) {
            assert_string_equal(fa[0], "patient_name");
            assert_int_equal(cf_csv_header_map(&data_test_form, fa, na, utf8_path, 1, &map, diag),
                             CF_OK);
        } else {
            cf_record *record = NULL;
            assert_int_equal(cf_csv_row_record(map, fa, na, cf_csv_row_number(a), &record, diag),
                             CF_OK);
            if (rows == 2)
                assert_string_equal(cf_record_get(record, "PATIENT_NAME"), "CHAN, Tai Man 陳大文");
            cf_record_free(record);
        }
        rows++;
    }
    assert_true(rows > 10);
    assert_int_equal(cf_diag_size(diag), 0);
    cf_csv_map_free(map);
    cf_csv_reader_close(a);
    cf_csv_reader_close(b);
    cf_diag_free(diag);
}

static void test_open_errors(void **state)
{
    (void)state;
    cf_diag *diag = cf_diag_new();
    cf_csv_reader *reader = NULL;
    assert_int_equal(
        cf_csv_reader_open("/nonexistent/patients.csv", CF_CSV_ENCODING_AUTO, NULL, &reader, diag),
        CF_ERR_NOINPUT);
    assert_null(reader);
    assert_true(cf_diag_contains(diag, "/nonexistent/patients.csv: cannot open the CSV file: No "
                                       "such file or directory"));
    char dir[4096];
    test_source_path(dir, sizeof dir, "tests/data/csv");
    assert_int_equal(cf_csv_reader_open(dir, CF_CSV_ENCODING_AUTO, NULL, &reader, diag),
                     CF_ERR_NOINPUT);
    assert_true(cf_diag_contains(diag, "is a directory, not a CSV file"));

    cf_csv_limits limits;
    cf_csv_limits_init(&limits);
    limits.read_size = 0;
    assert_int_equal(
        cf_csv_reader_open_memory("a\n", 2, "x.csv", CF_CSV_ENCODING_AUTO, &limits, &reader, diag),
        CF_ERR_INTERNAL);
    assert_null(reader);
    cf_csv_reader_close(NULL);
    cf_csv_map_free(NULL);
    cf_diag_free(diag);
}

static void test_encoding_names(void **state)
{
    (void)state;
    cf_csv_encoding e = CF_CSV_ENCODING_AUTO;
    assert_true(cf_csv_encoding_parse("big5-hkscs", &e));
    assert_int_equal(e, CF_CSV_ENCODING_BIG5_HKSCS);
    assert_true(cf_csv_encoding_parse("UTF-8", &e));
    assert_int_equal(e, CF_CSV_ENCODING_UTF8);
    assert_true(cf_csv_encoding_parse("Auto", &e));
    assert_int_equal(e, CF_CSV_ENCODING_AUTO);
    /* Issue 11.3: "big5" is Taiwan's cp950, no longer Big5-HKSCS. */
    assert_true(cf_csv_encoding_parse("big5", &e));
    assert_int_equal(e, CF_CSV_ENCODING_BIG5);
    assert_true(cf_csv_encoding_parse("BIG5HKSCS", &e));
    assert_int_equal(e, CF_CSV_ENCODING_BIG5_HKSCS);
    assert_true(cf_csv_encoding_parse("utf-16", &e));
    assert_int_equal(e, CF_CSV_ENCODING_UTF16);
    assert_string_equal(cf_csv_encoding_name(CF_CSV_ENCODING_BIG5), "big5");
    assert_false(cf_csv_encoding_parse("latin1", &e));
    assert_false(cf_csv_encoding_parse("", &e));
    assert_string_equal(cf_csv_encoding_name(CF_CSV_ENCODING_BIG5_HKSCS), "big5-hkscs");
    assert_string_equal(cf_csv_encoding_name(CF_CSV_ENCODING_UTF8), "utf-8");
    assert_string_equal(cf_csv_encoding_name(CF_CSV_ENCODING_AUTO), "auto");
}

/* Issue 12.3: the table of pairs that Big5-HKSCS and cp950 read differently, computed from the
 * two converters: about 4,900 pairs, among them the HKSCS lead bytes 0x87-0xA0 and 0xC6-0xC8
 * and cp950's user-defined 0xFA40 on. */
static void test_big5_ambiguous_pairs(void **state)
{
    (void)state;
    size_t n = cf_csv_big5_ambiguous_count();
    printf("pairs that Big5-HKSCS and cp950 read differently: %zu\n", n);
    assert_true(n >= 4000 && n <= 6000);
}

/* Issue 11.3: a mostly UTF-8 list with one stray byte gets the row, column and byte and
 * nothing else (no Big5 hint, which would print every name as mojibake). */
static void test_stray_byte_message(void **state)
{
    (void)state;
    static const char data[] = "patient_name,hospital_no\n陳大文,HN1\nAndr\xE9"
                               "a Chan,HN2\n";
    cf_diag *diag = cf_diag_new();
    cf_csv_reader *reader = NULL;
    assert_int_equal(cf_csv_reader_open_memory(data, sizeof data - 1, "list.csv",
                                               CF_CSV_ENCODING_AUTO, NULL, &reader, diag),
                     CF_OK);
    const char *const *fields;
    size_t n;
    assert_int_equal(cf_csv_next_row(reader, &fields, &n), CF_OK);
    assert_int_equal(cf_csv_next_row(reader, &fields, &n), CF_OK);
    assert_int_equal(cf_csv_next_row(reader, &fields, &n), CF_ERR_DATA);
    assert_int_equal(cf_diag_size(diag), 1);
    const cf_diag_entry *e = cf_diag_get(diag, 0);
    assert_int_equal(e->line, 3);
    assert_string_equal(e->message, "column 1 (patient_name): byte 0xE9 is not UTF-8");
    cf_csv_reader_close(reader);
    cf_diag_free(diag);
}

/* Encoding and delimiter names, and the delimiter can only be set before the first row. */
static void test_delimiter_names(void **state)
{
    (void)state;
    char d = 'x';
    assert_true(cf_csv_delimiter_parse("tab", &d));
    assert_int_equal(d, '\t');
    assert_true(cf_csv_delimiter_parse("\\t", &d));
    assert_int_equal(d, '\t');
    assert_true(cf_csv_delimiter_parse("\t", &d));
    assert_int_equal(d, '\t');
    assert_true(cf_csv_delimiter_parse(";", &d));
    assert_int_equal(d, ';');
    assert_true(cf_csv_delimiter_parse("Comma", &d));
    assert_int_equal(d, ',');
    assert_true(cf_csv_delimiter_parse("auto", &d));
    assert_int_equal(d, 0);
    assert_false(cf_csv_delimiter_parse("|", &d));
    assert_false(cf_csv_delimiter_parse("", &d));
    cf_diag *diag = cf_diag_new();
    cf_csv_reader *reader = NULL;
    assert_int_equal(
        cf_csv_reader_open_memory("a;b\n", 4, "x.csv", CF_CSV_ENCODING_AUTO, NULL, &reader, diag),
        CF_OK);
    assert_int_equal(cf_csv_reader_set_delimiter(reader, '|'), CF_ERR_INTERNAL);
    const char *const *fields;
    size_t n;
    assert_int_equal(cf_csv_next_row(reader, &fields, &n), CF_OK);
    assert_int_equal(n, 2);
    assert_int_equal(cf_csv_reader_delimiter(reader), ';');
    assert_int_equal(cf_csv_reader_set_delimiter(reader, ','), CF_ERR_INTERNAL);
    cf_csv_reader_close(reader);
    cf_diag_free(diag);
}

/* A list from a pipe cannot be scanned before it is read: a stray byte after UTF-8 text gets
 * the plain message; one in a file of ASCII and unknown bytes says that Big5 was not checked. */
static void test_pipe_stray_byte(void **state)
{
    (void)state;
    static const struct {
        const char *data, *message;
    } cases[] = {
        {"name\n陳大文\nJos\xE9\n", "column 1 (name): byte 0xE9 is not UTF-8"},
        {"name\nJos\xE9\n", "column 1 (name): byte 0xE9 is not UTF-8 (the list comes from a "
                            "pipe, so it could not be checked whether the whole list is Big5: "
                            "if it is, give --encoding big5-hkscs or --encoding big5)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        size_t len = strlen(cases[i].data);
        assert_int_equal(write(fds[1], cases[i].data, len), (ssize_t)len);
        close(fds[1]);
        cf_diag *diag = cf_diag_new();
        cf_csv_reader *reader = NULL;
        assert_int_equal(
            cf_csv_reader_open_fd(fds[0], "pipe", CF_CSV_ENCODING_AUTO, NULL, &reader, diag),
            CF_OK);
        const char *const *fields;
        size_t n;
        cf_status st;
        while ((st = cf_csv_next_row(reader, &fields, &n)) == CF_OK && fields)
            ;
        assert_int_equal(st, CF_ERR_DATA);
        assert_int_equal(cf_diag_size(diag), 1);
        assert_string_equal(cf_diag_get(diag, 0)->message, cases[i].message);
        cf_csv_reader_close(reader);
        close(fds[0]);
        cf_diag_free(diag);
    }
}

/* The reader does not close a descriptor it was given. */
static void test_fd_left_open(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_true(write_all(fds[1], "a,b\n1,2\n", 8));
    close(fds[1]);
    cf_csv_reader *reader = NULL;
    assert_int_equal(cf_csv_reader_open_fd(fds[0], "-", CF_CSV_ENCODING_UTF8, NULL, &reader, NULL),
                     CF_OK);
    const char *const *fields;
    size_t n;
    assert_int_equal(cf_csv_next_row(reader, &fields, &n), CF_OK);
    assert_int_equal(cf_csv_next_row(reader, &fields, &n), CF_OK);
    assert_string_equal(fields[1], "2");
    assert_int_equal(cf_csv_next_row(reader, &fields, &n), CF_OK);
    assert_null(fields);
    assert_int_equal(cf_csv_next_row(reader, &fields, &n), CF_OK); /* still the end */
    assert_null(fields);
    cf_csv_reader_close(reader);
    assert_int_not_equal(fcntl(fds[0], F_GETFD), -1);
    close(fds[0]);
}

/* Describes everything a reader gives for data read size bytes at a time: rows, fields, row
 * and line numbers, messages. Caller frees. */
static char *describe_reading(const char *data, size_t len, cf_csv_encoding encoding,
                              size_t read_size)
{
    cf_diag *diag = cf_diag_new();
    cf_csv_limits limits;
    cf_csv_limits_init(&limits);
    limits.read_size = read_size;
    limits.max_field = 40;
    limits.max_columns = 8;
    cf_csv_reader *reader = NULL;
    assert_int_equal(
        cf_csv_reader_open_memory(data, len, "r.csv", encoding, &limits, &reader, diag), CF_OK);
    char *out = NULL;
    size_t out_len = 0, cap = 0;
    char num[64];
    for (;;) {
        const char *const *fields;
        size_t n;
        cf_status st = cf_csv_next_row(reader, &fields, &n);
        snprintf(num, sizeof num, "[%d %ld %ld]", (int)st, cf_csv_row_number(reader),
                 cf_csv_line_number(reader));
        append_raw(&out, &out_len, &cap, num);
        if (st != CF_OK || !fields)
            break;
        for (size_t i = 0; i < n; i++) {
            append_raw(&out, &out_len, &cap, "|");
            escape_field(&out, &out_len, &cap, fields[i]);
        }
    }
    char text[4096];
    for (size_t i = 0; i < cf_diag_size(diag); i++) {
        cf_diag_format(cf_diag_get(diag, i), text, sizeof text);
        append_raw(&out, &out_len, &cap, "\n");
        append_raw(&out, &out_len, &cap, text);
    }
    cf_csv_reader_close(reader);
    cf_diag_free(diag);
    return out;
}

/* Random bytes made of CSV syntax, UTF-8 and Big5 pieces, NULs and junk: the reader never
 * crashes, and what it reads (rows, numbers, messages) never depends on the read size. */
static void test_read_size_never_matters(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "a",        "bc",       ",",    "\"",           "\"\"",         "\r",
        "\n",       "\r\n",     " ",    "\xE9\x99\xB3", "\xB3\xAF",     "\xA4\x40",
        "\x88\x62", "\x9B\xD0", "\xFF", "\xE9",         "\xF0\x9F\x98", "\xEF\xBB\xBF",
        "\xC0\xAF",
    };
    const size_t n_pieces = sizeof pieces / sizeof pieces[0];
    unsigned long seed = 12345;
    char data[256];
    for (int round = 0; round < 600; round++) {
        size_t len = 0;
        size_t count = (size_t)(round % 40) + 1;
        for (size_t k = 0; k < count; k++) {
            seed = seed * 6364136223846793005UL + 1442695040888963407UL;
            const char *piece = pieces[(seed >> 33) % n_pieces];
            size_t plen = strlen(piece);
            if (len + plen + 1 >= sizeof data)
                break;
            memcpy(data + len, piece, plen);
            len += plen;
        }
        if (round % 50 == 7)
            data[len++] = '\0'; /* a NUL byte now and then */
        for (int e = 0; e < 3; e++) {
            cf_csv_encoding encoding = e == 0   ? CF_CSV_ENCODING_AUTO
                                       : e == 1 ? CF_CSV_ENCODING_UTF8
                                                : CF_CSV_ENCODING_BIG5_HKSCS;
            char *whole = describe_reading(data, len, encoding, 4096);
            static const size_t sizes[] = {1, 2, 3, 5};
            for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
                char *bits = describe_reading(data, len, encoding, sizes[k]);
                if (strcmp(whole, bits) != 0)
                    fail_msg("round %d, encoding %d, read size %zu:\n%s\n---\n%s", round, e,
                             sizes[k], whole, bits);
                free(bits);
            }
            free(whole);
        }
    }
}

/* Map files and --map arguments: what is refused, with the file and row. */
static void test_mappings(void **state)
{
    (void)state;
    char dir[4096], path[4200];
    test_source_path(dir, sizeof dir, "tests/data/csv-maps");
    static const struct {
        const char *file;
        cf_status status;
        const char *message;
    } files[] = {
        {"three-cells.csv", CF_ERR_DATA,
         "three-cells.csv:2: a map file row holds two cells, the column name and the field key "
         "(e.g. HN,hospital_no); this row has 3"},
        {"twice.csv", CF_ERR_DATA, "twice.csv:3: column \"pid\" is mapped again (first at "},
        {"empty-field.csv", CF_ERR_DATA,
         "empty-field.csv:1: a map file row holds a column name and a field key, neither empty"},
        {"missing.csv", CF_ERR_NOINPUT, "missing.csv"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i].file);
        cf_diag *diag = cf_diag_new();
        cf_csv_mappings *m = cf_csv_mappings_new();
        assert_non_null(m);
        assert_int_equal(cf_csv_mappings_load(m, path, diag), files[i].status);
        if (!cf_diag_contains(diag, files[i].message))
            fail_msg("%s: no message \"%s\"", files[i].file, files[i].message);
        cf_csv_mappings_free(m);
        cf_diag_free(diag);
    }

    static const struct {
        const char *arg;
        cf_status status;
    } args[] = {
        {"HN=hospital_no", CF_OK}, {" Hosp No = hospital_no ", CF_OK},
        {"a=b=c", CF_OK}, /* the column is "a=b" */
        {"HN", CF_ERR_USAGE},      {"=hospital_no", CF_ERR_USAGE},
        {"HN=", CF_ERR_USAGE},     {" _ =hospital_no", CF_ERR_USAGE},
    };
    cf_csv_mappings *m = cf_csv_mappings_new();
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
        cf_diag *diag = cf_diag_new();
        if (cf_csv_mappings_add(m, args[i].arg, diag) != args[i].status)
            fail_msg("--map \"%s\": expected status %d", args[i].arg, (int)args[i].status);
        assert_int_equal(cf_diag_error_count(diag), args[i].status == CF_OK ? 0 : 1);
        cf_diag_free(diag);
    }
    assert_int_equal(cf_csv_mappings_size(m), 3);
    assert_int_equal(cf_csv_mappings_size(NULL), 0);
    cf_csv_mappings_free(m);
    cf_csv_mappings_free(NULL);
}

/* The map's view of the columns, for the manifest: names as written and the extras in order. */
static void test_map_extras(void **state)
{
    (void)state;
    /* " Bed\u00A0": a header cell is trimmed like every value (cf_utf8_space_prefix), so a
     * no-break space pasted from a spreadsheet does not reach the manifest's column name. */
    static const char *const header[] = {"Ward", " Bed\xC2\xA0", "HN", "Patient Name",
                                         "",     "Episode No"};
    cf_diag *diag = cf_diag_new();
    cf_csv_map *map = NULL;
    assert_int_equal(cf_csv_header_map(&data_test_form, header, 6, "w.csv", 1, &map, diag), CF_OK);
    assert_int_equal(cf_diag_error_count(diag), 0);
    assert_int_equal(cf_csv_map_n_extras(map), 2);
    assert_string_equal(cf_csv_map_get_extra(map, 0), "Ward");
    assert_string_equal(cf_csv_map_get_extra(map, 1), "Bed");
    assert_null(cf_csv_map_get_extra(map, 2));
    assert_int_equal(cf_csv_map_extra_column(map, 1), 1);
    assert_int_equal(cf_csv_map_extra_column(map, 2), (size_t)-1);
    assert_string_equal(cf_csv_map_get_key(map, 2), "hospital_no");
    assert_null(cf_csv_map_get_key(map, 0));
    assert_null(cf_csv_map_get_key(map, 4));
    assert_string_equal(cf_csv_map_get_name(map, 3), "Patient Name");
    cf_csv_map_free(map);
    cf_diag_free(diag);
}

/* The ward column (issue 15.5): found by its names after folding, or named by a mapping
 * COLUMN=ward; still an extra column; its cell, trimmed, is the record's ward; a cell that is
 * no ward fails its row naming file, row and column; two ward columns are an error. */
static void test_map_ward(void **state)
{
    (void)state;
    static const struct {
        const char *ward_header; /* the first column's name */
        const char *map;         /* a --map argument, or NULL */
        size_t column;           /* the ward's column, or SIZE_MAX */
    } cases[] = {
        {"Ward", NULL, 0},        {"WARD", NULL, 0},        {"ward", NULL, 0},
        {"病房", NULL, 0},        {"病房 Ward", NULL, 0},   {"病區", NULL, 0},
        {"Unit", NULL, SIZE_MAX}, {"Unit", "Unit=ward", 0}, {"Unit", "Unit=WARD", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *header[] = {cases[i].ward_header, "HN", "Patient Name", "Episode No"};
        cf_diag *diag = cf_diag_new();
        cf_csv_mappings *mappings = cf_csv_mappings_new();
        if (cases[i].map != NULL)
            assert_int_equal(cf_csv_mappings_add(mappings, cases[i].map, diag), CF_OK);
        cf_csv_map *map = NULL;
        assert_int_equal(
            cf_csv_map_build(&data_test_form, mappings, header, 4, "w.csv", 1, &map, diag), CF_OK);
        if (cf_csv_map_ward_column(map) != cases[i].column)
            fail_msg("case %zu (%s): ward column %zu", i, header[0], cf_csv_map_ward_column(map));
        assert_int_equal(cf_csv_map_n_extras(map), 1); /* the ward column is an extra too */
        const char *row[] = {" 5B\xe3\x80\x80", "HN1", "陳大文", "HE1"};
        cf_record *record = NULL;
        assert_int_equal(cf_csv_row_record(map, row, 4, 2, &record, diag), CF_OK);
        if (cases[i].column == 0)
            assert_string_equal(cf_record_ward(record), "5B");
        else
            assert_null(cf_record_ward(record));
        cf_record_free(record);
        /* An empty cell: no ward; a long one or a control character: the row fails. */
        const char *empty[] = {"", "HN1", "陳大文", "HE1"};
        assert_int_equal(cf_csv_row_record(map, empty, 4, 3, &record, diag), CF_OK);
        assert_null(cf_record_ward(record));
        cf_record_free(record);
        const char *bad[] = {"5\x01"
                             "B",
                             "HN1", "陳大文", "HE1"};
        cf_status want = cases[i].column == 0 ? CF_ERR_DATA : CF_OK;
        assert_int_equal(cf_csv_row_record(map, bad, 4, 4, &record, diag), want);
        cf_record_free(record);
        if (want != CF_OK) {
            char line[512];
            cf_diag_format(cf_diag_get(diag, cf_diag_size(diag) - 1), line, sizeof line);
            if (strstr(line, "w.csv:4:") == NULL ||
                strstr(line, "the ward cell (column 1, ") == NULL ||
                strstr(line, "holds a control character") == NULL)
                fail_msg("case %zu: %s", i, line);
        }
        cf_csv_map_free(map);
        cf_csv_mappings_free(mappings);
        cf_diag_free(diag);
    }
    /* Two columns that could both be the ward. */
    const char *two[] = {"Ward", "病房", "HN", "Patient Name", "Episode No"};
    cf_diag *diag = cf_diag_new();
    cf_csv_map *map = NULL;
    assert_int_equal(cf_csv_header_map(&data_test_form, two, 5, "w.csv", 1, &map, diag),
                     CF_ERR_DATA);
    char line[512];
    cf_diag_format(cf_diag_get(diag, 0), line, sizeof line);
    assert_non_null(strstr(line, "could both be the ward; say which one holds it with --map "
                                 "\"Ward=ward\""));
    cf_diag_free(diag);
}

/* Every allocation failing in turn: each call fails cleanly with CF_ERR_NOMEM (valgrind and
 * ASan check that nothing leaks) until there are enough allocations to succeed. */
static void test_allocation_failures(void **state)
{
    (void)state;
    static const char csv[] = "\xEF\xBB\xBFPatient Name,HN,episode_no,x,Ward\r\n"
                              "\"CHAN, Tai Man\",HN1,HE1,y,3A\r\n";
    bool succeeded = false;
    for (unsigned long fail_at = 1; fail_at < 400 && !succeeded; fail_at++) {
        cf_diag *diag = cf_diag_new();
        assert_non_null(diag);
        cf_alloc_fail_after(fail_at);
        cf_status st = CF_OK;
        cf_csv_reader *reader = NULL;
        cf_csv_map *map = NULL;
        cf_record *record = NULL;
        const char *const *fields;
        size_t n;
        cf_csv_mappings *mappings = cf_csv_mappings_new();
        if (!mappings)
            st = CF_ERR_NOMEM;
        if (st == CF_OK)
            st = cf_csv_mappings_add(mappings, "x=doctor_name", diag);
        for (int encoding = 0; encoding < 2 && st == CF_OK; encoding++) {
            cf_csv_encoding e = encoding ? CF_CSV_ENCODING_BIG5_HKSCS : CF_CSV_ENCODING_AUTO;
            const char *data = encoding ? "name\r\n\xB3\xAF\r\n" : csv;
            st = cf_csv_reader_open_memory(data, strlen(data), "a.csv", e, NULL, &reader, diag);
            if (st == CF_OK)
                st = cf_csv_next_row(reader, &fields, &n);
            if (st == CF_OK && encoding == 0)
                st = cf_csv_map_build(&data_test_form, mappings, fields, n, "a.csv", 1, &map, diag);
            if (st == CF_OK)
                st = cf_csv_next_row(reader, &fields, &n);
            if (st == CF_OK && encoding == 0)
                st = cf_csv_row_record(map, fields, n, 2, &record, diag);
            if (st == CF_OK && encoding == 0) {
                assert_string_equal(cf_record_get(record, "doctor_name"), "y");
                assert_string_equal(cf_record_get(record, "hospital_no"), "HN1");
                assert_true(cf_record_is_extra(record, 4));
            }
            if (st == CF_OK && encoding == 1)
                assert_string_equal(fields[0], "陳");
            cf_record_free(record);
            record = NULL;
            cf_csv_map_free(map);
            map = NULL;
            cf_csv_reader_close(reader);
            reader = NULL;
        }
        cf_csv_mappings_free(mappings);
        cf_alloc_fail_after(0);
        if (st == CF_OK)
            succeeded = true;
        else
            assert_int_equal(st, CF_ERR_NOMEM);
        cf_diag_free(diag);
    }
    assert_true(succeeded);
}

int main(void)
{
    /* A reader that stops early closes the pipe under its feeder thread. */
    signal(SIGPIPE, SIG_IGN);

    static const struct CMUnitTest fixed[] = {
        /* First, so that the peak memory it measures is not hidden by earlier tests. */
        cmocka_unit_test(test_huge_fields),
        cmocka_unit_test(test_encoding_names),
        cmocka_unit_test(test_delimiter_names),
        cmocka_unit_test(test_big5_ambiguous_pairs),
        cmocka_unit_test(test_stray_byte_message),
        cmocka_unit_test(test_pipe_stray_byte),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_fd_left_open),
        cmocka_unit_test(test_samples),
        cmocka_unit_test(test_million_byte_field),
        cmocka_unit_test(test_hundred_thousand_columns),
        cmocka_unit_test(test_many_rows_utf8),
        cmocka_unit_test(test_many_rows_big5),
        cmocka_unit_test(test_read_size_never_matters),
        cmocka_unit_test(test_mappings),
        cmocka_unit_test(test_map_extras),
        cmocka_unit_test(test_map_ward),
        cmocka_unit_test(test_allocation_failures),
    };
    int failed = cmocka_run_group_tests_name("csv", fixed, NULL, NULL);

    size_t n_cases = 0;
    csv_case *cases = find_cases(&n_cases);
    if (!cases || n_cases < 10) {
        fprintf(stderr, "the table of CSV cases (tests/data/csv) is missing\n");
        free(cases);
        return 1;
    }
    struct CMUnitTest *tests = calloc(n_cases, sizeof *tests);
    if (!tests)
        return 1;
    for (size_t i = 0; i < n_cases; i++) {
        tests[i].name = cases[i].name;
        tests[i].test_func = test_case;
        tests[i].initial_state = &cases[i];
    }
    failed += _cmocka_run_group_tests("csv-cases", tests, n_cases, NULL, NULL);
    free(tests);
    free(cases);
    return failed;
}
