/* consentform archive: init, add, file, inbox, assign, list, show, export, verify, void and
 * rebuild-index on an archive store. */
#include "cli/cli.h"

#include "archive/archive.h"
#include "base/alloc.h"
#include "base/date.h"
#include "data/field_rules.h"
#include "base/alloc.h"
#include "base/diag.h"
#include "base/file.h"
#include "render/docid.h"
#include "render/document.h"
#include "scan/file.h"
#include "scan/watch.h"

#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

const char cf_usage_archive[] =
    "usage: consentform archive init STORE [--group GROUP]\n"
    "       consentform archive add STORE --doc-id ID SCAN [--operator NAME]\n"
    "       consentform archive file STORE SCAN... [--doc-id ID] [--move] [--operator NAME]\n"
    "       consentform archive file STORE --watch DIR [--operator NAME]\n"
    "       consentform archive inbox STORE\n"
    "       consentform archive assign STORE ITEM --doc-id ID --page N [--operator NAME]\n"
    "                   [--unregistered --form ID --patient-name S --hospital-no S\n"
    "                    --episode-no S]\n"
    "       consentform archive list|find STORE [--patient-name PART] [--hospital-no HN]\n"
    "                   [--form ID] [--status issued|signed|signature-missing|void]\n"
    "                   [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--ward W] [--unsigned]\n"
    "                   [--utc]\n"
    "       consentform archive show STORE ID\n"
    "       consentform archive export STORE ID -o DIR [--force]\n"
    "       consentform archive verify STORE [--record] [--operator NAME]\n"
    "       consentform archive void STORE ID --reason TEXT [--operator NAME]\n"
    "       consentform archive rebuild-index STORE [--force]\n"
    "\n"
    "The archive keeps every issued PDF (render and batch with --archive STORE) and every\n"
    "signed copy filed back with `add` (PDF, PNG, JPEG or TIFF scans), named by their\n"
    "SHA-256, never overwritten or deleted. A second scan of a document is a new version (the\n"
    "same file again changes nothing). `list --unsigned` (--status signature-missing) shows the\n"
    "forms issued but not yet returned signed; times are local with their UTC offset (--utc\n"
    "for UTC), --from and --to are local dates, both included; --ward W lists the documents\n"
    "issued for ward W (render/batch --ward, a list's ward column); the WARD column shows —\n"
    "for a document issued without one. `show` prints a document's history: issues, signed\n"
    "copies, downloads (who fetched which file), voids. `verify` re-hashes every file,\n"
    "compares every index row with its record object and checks the chain of events, and\n"
    "exits 65 naming the document and patient of anything changed. A lost or empty\n"
    "index.sqlite is restored from a backup, or rebuilt from the objects with `rebuild-index`\n"
    "(the old index is kept beside it). `init --group GROUP` makes a store that the members of\n"
    "GROUP share (folders setgid 2770, index 0660, objects 0440); otherwise it is private.\n"
    "`file` reads the QR code on every page of scanner PDFs, TIFFs, PNG and JPEG files (a\n"
    "folder: every file in it), groups the pages by document and files each complete\n"
    "document as one signed copy, pages in order, checked for ink on its required signature\n"
    "lines (status signed or signature-missing). Every other page (no readable QR, pages\n"
    "missing, unknown document, a second different scan) goes to the inbox, listed by\n"
    "`inbox` and resolved by `assign`. Exit 0 when everything was filed, 65 when anything\n"
    "went to the inbox or could not be read. --move removes a scan file once every page of it\n"
    "is filed or in the inbox; --doc-id refuses scans whose QR codes name another document.\n"
    "`file --watch DIR` keeps filing what a scanner or copier drops into DIR (inotify, and the\n"
    "folder read every 3 s for network mounts): each file once its size has held still for\n"
    "2 s, as with --move, one line per file; names starting with '.' or '~' and *.tmp, *.part\n"
    "are left alone. SIGTERM or SIGINT stops it (exit 0).\n"
    "The operator is --operator, else $USER, else the account's name (never \"unknown\").\n"
    "Document ids may be typed in lower case and\n"
    "with hyphens.\n";

/* The operator recorded with a change. */
const char *cf_cli_operator(const char *given)
{
    if (given != NULL && given[0] != '\0')
        return given;
    const char *user = getenv("USER");
    if (user != NULL && user[0] != '\0')
        return user;
    /* No $USER (a service, a container): the account's name. The store refuses "unknown". */
    struct passwd *pw = getpwuid(geteuid());
    return pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != '\0' ? pw->pw_name : "unknown";
}

enum {
    OPT_DOC_ID = 256,
    OPT_OPERATOR,
    OPT_UNREGISTERED,
    OPT_FORM,
    OPT_PATIENT_NAME,
    OPT_HOSPITAL_NO,
    OPT_EPISODE_NO,
    OPT_UNSIGNED,
    OPT_RECORD,
    OPT_REASON,
    OPT_STATUS,
    OPT_FROM,
    OPT_TO,
    OPT_UTC,
    OPT_GROUP,
    OPT_MOVE,
    OPT_PAGE,
    OPT_WATCH,
    OPT_WARD,
};

typedef struct archive_args {
    const char *doc_id, *operator_name, *form, *patient_name, *hospital_no, *episode_no;
    const char *output, *reason, *status, *from, *to, *group;
    const char *page, *watch, *ward;
    bool unregistered, unsigned_only, record, force, utc, move;
    char **positional; /* into argv */
    int n_positional;
} archive_args;

static int parse(int argc, char **argv, archive_args *a)
{
    static const struct option options[] = {
        {"doc-id", required_argument, NULL, OPT_DOC_ID},
        {"operator", required_argument, NULL, OPT_OPERATOR},
        {"unregistered", no_argument, NULL, OPT_UNREGISTERED},
        {"form", required_argument, NULL, OPT_FORM},
        {"patient-name", required_argument, NULL, OPT_PATIENT_NAME},
        {"hospital-no", required_argument, NULL, OPT_HOSPITAL_NO},
        {"episode-no", required_argument, NULL, OPT_EPISODE_NO},
        {"unsigned", no_argument, NULL, OPT_UNSIGNED},
        {"record", no_argument, NULL, OPT_RECORD},
        {"reason", required_argument, NULL, OPT_REASON},
        {"status", required_argument, NULL, OPT_STATUS},
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"utc", no_argument, NULL, OPT_UTC},
        {"group", required_argument, NULL, OPT_GROUP},
        {"move", no_argument, NULL, OPT_MOVE},
        {"page", required_argument, NULL, OPT_PAGE},
        {"watch", required_argument, NULL, OPT_WATCH},
        {"ward", required_argument, NULL, OPT_WARD},
        {"output", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = cf_cli_getopt(argc, argv, "o:f", options, NULL)) != -1) {
        switch (c) {
        case OPT_DOC_ID:
            a->doc_id = optarg;
            break;
        case OPT_OPERATOR:
            a->operator_name = optarg;
            break;
        case OPT_UNREGISTERED:
            a->unregistered = true;
            break;
        case OPT_FORM:
            a->form = optarg;
            break;
        case OPT_PATIENT_NAME:
            a->patient_name = optarg;
            break;
        case OPT_HOSPITAL_NO:
            a->hospital_no = optarg;
            break;
        case OPT_EPISODE_NO:
            a->episode_no = optarg;
            break;
        case OPT_UNSIGNED:
            a->unsigned_only = true;
            break;
        case OPT_RECORD:
            a->record = true;
            break;
        case OPT_REASON:
            a->reason = optarg;
            break;
        case OPT_STATUS:
            a->status = optarg;
            break;
        case OPT_FROM:
            a->from = optarg;
            break;
        case OPT_TO:
            a->to = optarg;
            break;
        case OPT_UTC:
            a->utc = true;
            break;
        case OPT_GROUP:
            a->group = optarg;
            break;
        case OPT_MOVE:
            a->move = true;
            break;
        case OPT_PAGE:
            a->page = optarg;
            break;
        case OPT_WARD:
            a->ward = optarg;
            break;
        case OPT_WATCH:
            a->watch = optarg;
            break;
        case 'o':
            a->output = optarg;
            break;
        case 'f':
            a->force = true;
            break;
        default:
            return cf_cli_usage_error(cf_usage_archive,
                                      "archive: unknown option or missing value in \"%s\"",
                                      argv[optind - 1]);
        }
    }
    /* Only `file` takes any number of scans. */
    a->positional = argv + optind;
    a->n_positional = argc - optind;
    if (a->n_positional > 3 && strcmp(argv[0], "file") != 0)
        return cf_cli_usage_error(cf_usage_archive, "archive: unexpected argument \"%s\"",
                                  argv[optind + 3]);
    return EX_OK;
}

/* Accepts an id as a person types it; ids of this tool are normalised and checked. */
static bool document_id_arg(const char *typed, char out[CF_DOCUMENT_ID_SIZE], cf_diag *diag)
{
    if (typed != NULL && cf_docid_normalize(typed, out))
        return true;
    cf_diag_error(diag, NULL, 0,
                  "\"%s\" is not a document id (13 characters: digits and capital letters, the "
                  "last one a check character; look again at the form's footer)",
                  typed != NULL ? typed : "");
    return false;
}

/* Midnight at the start of a local date YYYY-MM-DD (plus days), or -1 when date is not one. */
static long long local_day(const char *date, int days)
{
    /* The one date validator (a real calendar date written YYYY-MM-DD), then its numbers. */
    if (date == NULL || !cf_date_is_valid(date))
        return -1;
    int y = (int)strtol(date, NULL, 10), m = (int)strtol(date + 5, NULL, 10),
        d = (int)strtol(date + 8, NULL, 10);
    if (y < 1970)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d + days, .tm_isdst = -1};
    time_t t = mktime(&tm);
    /* mktime turns 31 February into March: such a date is refused. */
    if (t == (time_t)-1 || (days == 0 && (tm.tm_mon != m - 1 || tm.tm_mday != d)))
        return -1;
    return (long long)t;
}

/* A time as the person at the terminal reads it: local with its UTC offset, or UTC. */
static void print_time(long long t, bool utc, char *out, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t < 0 || (utc ? gmtime_r(&tt, &tm) : localtime_r(&tt, &tm)) == NULL)
        snprintf(out, size, "-");
    else
        strftime(out, size, utc ? "%Y-%m-%d %H:%M UTC" : "%Y-%m-%d %H:%M %z", &tm);
}

/* The filter's state from --status (or --unsigned); false for a word that is not a state. */
static bool parse_state(const char *word, cf_archive_state *state)
{
    static const struct {
        const char *name;
        cf_archive_state state;
    } states[] = {{"issued", CF_ARCHIVE_STATE_ISSUED},
                  {"signed", CF_ARCHIVE_STATE_SIGNED},
                  {"signature-missing", CF_ARCHIVE_STATE_SIGNATURE_MISSING},
                  {"unsigned", CF_ARCHIVE_STATE_SIGNATURE_MISSING},
                  {"void", CF_ARCHIVE_STATE_VOID}};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        if (strcmp(states[i].name, word) == 0) {
            *state = states[i].state;
            return true;
        }
    }
    return false;
}

/* One row of `archive list`, under the header's columns. */
static void print_row(const cf_archive_row *r, bool utc)
{
    char form[420], when[48], status[40];
    if (r->form_version[0] != '\0')
        snprintf(form, sizeof form, "%s@%s", r->form_id, r->form_version);
    else
        snprintf(form, sizeof form, "%s", r->form_id);
    print_time(r->issued_at, utc, when, sizeof when);
    switch (cf_archive_row_state(r)) {
    case CF_ARCHIVE_STATE_VOID:
        snprintf(status, sizeof status, "void");
        break;
    case CF_ARCHIVE_STATE_SIGNED:
        snprintf(status, sizeof status, "signed(%d)", r->signed_copies);
        break;
    case CF_ARCHIVE_STATE_SIGNATURE_MISSING:
        snprintf(status, sizeof status, "signature-missing");
        break;
    default:
        snprintf(status, sizeof status, "issued");
        break;
    }
    printf("%-13s  %-28s  %-22s  %-17s  %-8s  %-14s  %s", r->id, form, when, status,
           r->ward[0] != '\0' ? r->ward : "—", r->hospital_no, r->patient_name);
    /* A copy filed without a required signature: what it lacks. */
    if (r->signature_missing && r->missing_reason != NULL && r->missing_reason[0] != '\0')
        printf("  [%s]", r->missing_reason);
    putchar('\n');
}

static const char *outcome_name(cf_scan_outcome o)
{
    switch (o) {
    case CF_SCAN_OUTCOME_SIGNED:
        return "signed";
    case CF_SCAN_OUTCOME_SIGNATURE_MISSING:
        return "signature-missing";
    case CF_SCAN_OUTCOME_INBOX:
        return "inbox";
    default:
        return "not-read";
    }
}

/* The rows of `archive file` and `archive assign`: one line per document filed, per page put
 * in the inbox and per file that could not be read, then a summary on stderr. */
static void print_filing(const cf_scan_file_result *r)
{
    size_t filed = 0, inbox = 0;
    for (size_t i = 0; i < r->count; i++) {
        const cf_scan_file_row *row = &r->rows[i];
        if (row->outcome == CF_SCAN_OUTCOME_INBOX) {
            inbox++;
            printf("inbox %s  %s page %u: %s\n", row->inbox_id, row->source, row->page,
                   row->reason);
        } else if (row->outcome == CF_SCAN_OUTCOME_FAILED) {
            printf("not-read  %s: %s\n", row->source, row->reason);
        } else {
            filed++;
            printf("%s %s  %u page%s, signed copy version %d%s%s%s\n", outcome_name(row->outcome),
                   row->document_id, row->pages, row->pages == 1 ? "" : "s", row->version,
                   row->already_filed ? " (filed before; nothing changed)" : "",
                   row->reason[0] != '\0' ? ": " : "", row->reason);
        }
    }
    fprintf(stderr, "consentform: %zu page%s read, %zu document%s filed, %zu page%s in the inbox",
            r->pages_read, r->pages_read == 1 ? "" : "s", filed, filed == 1 ? "" : "s", inbox,
            inbox == 1 ? "" : "s");
    if (r->moved > 0)
        fprintf(stderr, ", %zu file%s removed (--move)", r->moved, r->moved == 1 ? "" : "s");
    fputc('\n', stderr);
}

/* ---- archive file --watch ---- */

static volatile sig_atomic_t watch_stop;

static void on_stop_signal(int sig)
{
    watch_stop = sig;
}

typedef struct watch_ctx {
    cf_archive *archive;
    const char *operator_name;
    cf_diag *diag;
} watch_ctx;

/* One file the watcher found complete: filed as with --move, then one line for it. */
static cf_status file_one(const char *path, void *ctx)
{
    watch_ctx *w = ctx;
    cf_scan_file_result result = {0};
    cf_scan_file_options fo = {
        .move = true, .operator_name = w->operator_name, .decoder = CF_SCAN_DECODER_DEFAULT};
    cf_status st = cf_scan_file_paths(w->archive, &path, 1, &fo, &result, w->diag);
    size_t filed = 0, inbox = 0, failed = 0;
    char docs[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < result.count; i++) {
        const cf_scan_file_row *row = &result.rows[i];
        if (row->outcome == CF_SCAN_OUTCOME_INBOX) {
            inbox++;
        } else if (row->outcome == CF_SCAN_OUTCOME_FAILED) {
            failed++;
        } else {
            filed++;
            int n = snprintf(docs + used, sizeof docs - used, "%s%s %s", used > 0 ? ", " : "",
                             row->document_id, outcome_name(row->outcome));
            if (n > 0 && (size_t)n < sizeof docs - used)
                used += (size_t)n;
        }
    }
    struct stat gone;
    bool removed = lstat(path, &gone) != 0;
    printf("%s: %zu page%s read, %zu document%s filed%s%s%s, %zu page%s to the inbox%s; %s\n", path,
           result.pages_read, result.pages_read == 1 ? "" : "s", filed, filed == 1 ? "" : "s",
           used > 0 ? " (" : "", docs, used > 0 ? ")" : "", inbox, inbox == 1 ? "" : "s",
           failed > 0 ? ", not readable" : "", removed ? "removed" : "left in place");
    fflush(stdout);
    cf_scan_file_result_cleanup(&result);
    /* Its messages were printed as they came (echo): a watch that runs for months keeps none. */
    cf_diag_clear(w->diag);
    return st;
}

/* archive file STORE --watch DIR: files what lands in dir until SIGTERM or SIGINT. */
static cf_status watch_folder(cf_archive *archive, const char *dir, const char *operator_name,
                              cf_diag *diag)
{
    watch_ctx ctx = {archive, operator_name, diag};
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    watch_stop = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    fprintf(stderr, "consentform: watching %s (stop with SIGTERM or Ctrl-C)\n", dir);
    cf_status st = cf_scan_watch_run(dir, file_one, &ctx, &watch_stop, NULL, diag);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (st == CF_OK)
        fprintf(stderr, "consentform: stopped watching %s\n", dir);
    return st;
}

/* archive list / find: the store's rows as a table with a header row. */
static int list_documents(const char *store, const archive_args *a, cf_diag *diag)
{
    cf_archive_filter f = {.hospital_no = a->hospital_no,
                           .form_id = a->form,
                           .unsigned_only = a->unsigned_only,
                           .patient_name = a->patient_name};
    if (a->status != NULL && !parse_state(a->status, &f.state))
        return cf_cli_usage_error(cf_usage_archive,
                                  "archive list: --status is issued, signed, signature-missing "
                                  "or void, not \"%s\"",
                                  a->status);
    char ward[CF_WARD_SIZE];
    const char *why = NULL;
    if (a->ward != NULL && (cf_ward_clean(a->ward, ward, &why) != CF_OK || ward[0] == '\0'))
        return cf_cli_usage_error(cf_usage_archive, "archive list: --ward: the ward %s",
                                  why != NULL ? why : "is empty");
    f.ward = a->ward != NULL ? ward : NULL;
    if (a->from != NULL && (f.issued_from = local_day(a->from, 0)) < 0)
        return cf_cli_usage_error(cf_usage_archive,
                                  "archive list: --from wants a date as YYYY-MM-DD, not \"%s\"",
                                  a->from);
    if (a->to != NULL && (local_day(a->to, 0) < 0 || (f.issued_before = local_day(a->to, 1)) < 0))
        return cf_cli_usage_error(
            cf_usage_archive, "archive list: --to wants a date as YYYY-MM-DD, not \"%s\"", a->to);
    cf_archive *ar = NULL;
    cf_archive_rows rows = {0};
    cf_status st = cf_archive_open(store, true, &ar, diag);
    if (st == CF_OK)
        st = cf_archive_query(ar, &f, &rows, diag);
    if (st == CF_OK) {
        printf("%-13s  %-28s  %-22s  %-17s  %-8s  %-14s  %s\n", "DOCUMENT", "FORM", "ISSUED",
               "STATUS", "WARD", "HOSPITAL NO", "PATIENT");
        for (size_t i = 0; i < rows.count; i++)
            print_row(&rows.rows[i], a->utc);
        fprintf(stderr, "consentform: %zu document%s\n", rows.count, rows.count == 1 ? "" : "s");
    }
    cf_archive_rows_cleanup(&rows);
    cf_archive_close(ar);
    return cf_status_exit_code(st);
}

/* Replaces *value (when set) by its normalised identifier spelling, kept in buf. False when
 * the value is not UTF-8 or too long. */
static bool normalized(const char **value, char *buf, size_t size)
{
    char *n = NULL;
    if (*value == NULL)
        return true;
    if (cf_identifier_normalize(*value, &n) != CF_OK || strlen(n) >= size) {
        cf_free(n);
        return false;
    }
    memcpy(buf, n, strlen(n) + 1);
    cf_free(n);
    *value = buf;
    return true;
}

int cf_cmd_archive(int argc, char **argv)
{
    if (argc < 2)
        return cf_cli_usage_error(cf_usage_archive, "archive: name what to do (init, add, "
                                                    "file, inbox, assign, list, show, export, "
                                                    "verify, void, rebuild-index)");
    const char *sub = argv[1];
    archive_args a;
    int rc = parse(argc - 1, argv + 1, &a);
    if (rc != EX_OK)
        return rc;
    if (a.n_positional < 1)
        return cf_cli_usage_error(cf_usage_archive, "archive %s: name the STORE folder", sub);
    const char *store = a.positional[0];
    cf_diag *diag = cf_diag_new();
    if (diag == NULL)
        return EX_SOFTWARE;
    cf_diag_set_echo(diag, stderr);
    cf_status st = CF_OK;
    cf_archive *ar = NULL;
    char id[CF_DOCUMENT_ID_SIZE];
    const char *op = cf_cli_operator(a.operator_name);
    long long now = (long long)time(NULL); /* events record when they happened */
    /* Identifiers are searched and recorded in one spelling (NFKC, upper case, trimmed), the
     * one batch and render print: "ｈｎ１２３（４）" finds HN123(4). */
    char hospital_no[1024], episode_no[1024];
    if (!normalized(&a.hospital_no, hospital_no, sizeof hospital_no) ||
        !normalized(&a.episode_no, episode_no, sizeof episode_no)) {
        cf_diag_free(diag);
        return cf_cli_usage_error(cf_usage_archive,
                                  "archive: --hospital-no and --episode-no take UTF-8 text of at "
                                  "most 1023 bytes");
    }

    if (strcmp(sub, "init") == 0) {
        long gid = -1;
        if (a.group != NULL) {
            struct group *g = getgrnam(a.group);
            if (g == NULL) {
                cf_diag_free(diag);
                return cf_cli_usage_error(cf_usage_archive,
                                          "archive init: there is no group \"%s\" here", a.group);
            }
            gid = (long)g->gr_gid;
        }
        st = cf_archive_init_group(store, gid, diag);
        if (st == CF_OK)
            fprintf(stderr, "consentform: made an empty archive store in %s\n", store);
    } else if (strcmp(sub, "add") == 0) {
        if (a.n_positional != 2 || a.doc_id == NULL) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive,
                                      "archive add: give STORE, --doc-id ID and one SCAN file");
        }
        if (a.unregistered && (a.form == NULL || a.patient_name == NULL || a.hospital_no == NULL)) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive,
                                      "archive add --unregistered needs --form, --patient-name "
                                      "and --hospital-no (and --episode-no if known)");
        }
        if (!a.unregistered && (a.form != NULL || a.patient_name != NULL || a.hospital_no != NULL ||
                                a.episode_no != NULL)) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive,
                                      "archive add: --form and the label values are only used "
                                      "with --unregistered (a document issued from the store "
                                      "has them already)");
        }
        const char *scan = a.positional[1];
        char *data = NULL;
        size_t len = 0;
        if (!document_id_arg(a.doc_id, id, diag))
            st = CF_ERR_DATA;
        if (st == CF_OK) {
            st = cf_file_read(scan, CF_ARCHIVE_SCAN_MAX, &data, &len, diag);
            if (st == CF_ERR_LIMIT)
                cf_diag_error(diag, scan, 0,
                              "a scan may have at most %zu MB; scan it again at a lower "
                              "resolution",
                              CF_ARCHIVE_SCAN_MAX >> 20);
        }
        /* Checked here too, so that the message names the file. */
        if (st == CF_OK && cf_archive_sniff((const unsigned char *)data, len) == NULL) {
            cf_diag_error(diag, scan, 0, "is not a PDF, PNG, JPEG or TIFF file; nothing was filed");
            st = CF_ERR_DATA;
        }
        if (st == CF_OK)
            st = cf_archive_open(store, false, &ar, diag);
        if (st == CF_OK) {
            cf_archive_label labels[3];
            size_t n = 0;
            if (a.unregistered) {
                labels[n++] = (cf_archive_label){"patient_name", a.patient_name};
                labels[n++] = (cf_archive_label){"hospital_no", a.hospital_no};
                if (a.episode_no != NULL)
                    labels[n++] = (cf_archive_label){"episode_no", a.episode_no};
            }
            int version = 0;
            bool again = false;
            st = cf_archive_add_scan(ar, id, (const unsigned char *)data, len, now, op, a.form,
                                     a.unregistered ? labels : NULL, n, &version, &again, diag);
            if (st == CF_OK && again)
                printf("%s: %s was already filed as signed copy version %d; %s\n", id, scan,
                       version,
                       cf_diag_contains(diag, "has been repaired")
                           ? "its damaged stored copy was repaired from this file"
                           : "nothing changed");
            else if (st == CF_OK)
                printf("%s: signed copy version %d filed (%zu bytes)\n", id, version, len);
        }
        cf_free(data);
    } else if (strcmp(sub, "file") == 0 && a.watch != NULL) {
        if (a.n_positional != 1 || a.doc_id != NULL || a.move) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive,
                                      "archive file --watch: give STORE only (no SCAN, --doc-id "
                                      "or --move: every file dropped into %s is filed on its "
                                      "own QR codes and removed once committed)",
                                      a.watch);
        }
        st = cf_archive_open(store, false, &ar, diag);
        if (st == CF_OK)
            st = watch_folder(ar, a.watch, op, diag);
    } else if (strcmp(sub, "file") == 0) {
        if (a.n_positional < 2) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive,
                                      "archive file: give STORE and at least one SCAN");
        }
        if (a.doc_id != NULL && !document_id_arg(a.doc_id, id, diag))
            st = CF_ERR_DATA;
        if (st == CF_OK)
            st = cf_archive_open(store, false, &ar, diag);
        cf_scan_file_result result = {0};
        if (st == CF_OK) {
            cf_scan_file_options fo = {.document_id = a.doc_id != NULL ? id : NULL,
                                       .move = a.move,
                                       .operator_name = op,
                                       .decoder = CF_SCAN_DECODER_DEFAULT};
            st = cf_scan_file_paths(ar, (const char *const *)a.positional + 1,
                                    (size_t)a.n_positional - 1, &fo, &result, diag);
            print_filing(&result);
        }
        cf_scan_file_result_cleanup(&result);
    } else if (strcmp(sub, "inbox") == 0) {
        if (a.n_positional != 1) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive, "archive inbox: give STORE only");
        }
        cf_archive_inbox inbox = {0};
        st = cf_archive_open(store, true, &ar, diag);
        if (st == CF_OK)
            st = cf_archive_inbox_list(ar, &inbox, diag);
        if (st == CF_OK) {
            printf("%-12s  %-40s  %5s  %s\n", "ITEM", "SOURCE", "PAGE", "REASON");
            for (size_t i = 0; i < inbox.count; i++) {
                const cf_archive_inbox_item *it = &inbox.items[i];
                printf("%-12s  %-40s  %5u  %s", it->id, it->source, it->page, it->reason);
                if (it->assigned_id[0] != '\0')
                    printf(" [assigned to %s page %u]", it->assigned_id, it->assigned_page);
                putchar('\n');
            }
            fprintf(stderr, "consentform: %zu item%s in the inbox\n", inbox.count,
                    inbox.count == 1 ? "" : "s");
        }
        cf_archive_inbox_cleanup(&inbox);
    } else if (strcmp(sub, "assign") == 0) {
        char *end = NULL;
        unsigned long page = a.page != NULL ? strtoul(a.page, &end, 10) : 0;
        if (a.n_positional != 2 || a.doc_id == NULL || a.page == NULL || end == a.page ||
            *end != '\0' || page == 0 || page > 9999) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive,
                                      "archive assign: give STORE, the inbox ITEM, --doc-id ID "
                                      "and --page N (from 1)");
        }
        if (!document_id_arg(a.doc_id, id, diag))
            st = CF_ERR_DATA;
        if (st == CF_OK)
            st = cf_archive_open(store, false, &ar, diag);
        cf_scan_file_result result = {0};
        if (st == CF_OK)
            st = cf_scan_inbox_assign(ar, a.positional[1], id, (unsigned)page, op, &result, diag);
        if (st == CF_OK) {
            printf("%s: assigned to document %s page %lu\n", a.positional[1], id, page);
            print_filing(&result);
        }
        cf_scan_file_result_cleanup(&result);
    } else if (strcmp(sub, "list") == 0 || strcmp(sub, "find") == 0) {
        int code = list_documents(store, &a, diag);
        cf_diag_free(diag);
        return code;
    } else if (strcmp(sub, "show") == 0 || strcmp(sub, "export") == 0 || strcmp(sub, "void") == 0) {
        if (a.n_positional != 2) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive, "archive %s: give STORE and ID", sub);
        }
        if (strcmp(sub, "export") == 0 && a.output == NULL) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive, "archive export: say where with -o DIR");
        }
        if (strcmp(sub, "void") == 0 && a.reason == NULL) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive, "archive void: give --reason TEXT");
        }
        if (!document_id_arg(a.positional[1], id, diag))
            st = CF_ERR_DATA;
        if (st == CF_OK)
            st = cf_archive_open(store, strcmp(sub, "void") != 0, &ar, diag);
        if (st == CF_OK && strcmp(sub, "show") == 0)
            st = cf_archive_show(ar, id, stdout, diag);
        else if (st == CF_OK && strcmp(sub, "export") == 0)
            st = cf_archive_export(ar, id, a.output, a.force, diag);
        else if (st == CF_OK)
            st = cf_archive_void(ar, id, a.reason, now, op, diag);
    } else if (strcmp(sub, "verify") == 0) {
        st = cf_archive_open(store, !a.record, &ar, diag);
        size_t problems = 0;
        if (st == CF_OK)
            st = cf_archive_verify(ar, stdout, a.record, now, op, &problems, diag);
        if (st == CF_OK && problems > 0)
            st = CF_ERR_DATA;
    } else if (strcmp(sub, "rebuild-index") == 0) {
        if (a.n_positional != 1) {
            cf_diag_free(diag);
            return cf_cli_usage_error(cf_usage_archive, "archive rebuild-index: give STORE only");
        }
        size_t documents = 0, events = 0, problems = 0;
        st = cf_archive_rebuild_index(store, a.force, stdout, &documents, &events, &problems, diag);
        if (st == CF_OK && problems > 0)
            st = CF_ERR_DATA;
    } else {
        cf_diag_free(diag);
        return cf_cli_usage_error(cf_usage_archive, "archive: unknown action \"%s\"", sub);
    }
    cf_archive_close(ar);
    cf_diag_free(diag);
    return cf_status_exit_code(st);
}
