/* consentform batch: parses the options, runs the batch engine (src/batch/) and prints what it
 * returns: messages, progress on a terminal, and the summary. */
#include "cli/cli.h"

#include "archive/archive.h"
#include "base/alloc.h"
#include "base/diag.h"
#include "base/file.h"
#include "batch/batch.h"
#include "data/csv.h"
#include "form/form.h"
#include "render/document.h"
#include "render/print.h"
#include "text/font.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

const char cf_usage_batch[] =
    "usage: consentform batch FORM --csv FILE --out-dir DIR [options]\n"
    "\n"
    "Prints FORM for every patient of a CSV list: one PDF per row in DIR, named by --name,\n"
    "and DIR/manifest.csv listing every row with its status. Every row and output path is\n"
    "checked before anything is written; rows with problems are reported by row number and\n"
    "skipped, every good row is printed, and the exit status is 65 when any row failed.\n"
    "\n"
    "A column feeds a field when its header is the field's key, caption or an alias the form\n"
    "declares (HN, Patient Name, 姓名 ...), ignoring case, width, spaces, '_', '-' and '.';\n"
    "--map settles the rest. Other columns (Ward, Bed ...) are kept for --name and copied\n"
    "into manifest.csv after its own columns.\n"
    "\n"
    "options:\n"
    "  --csv FILE            the list: UTF-8, UTF-16 with BOM (Excel's Unicode Text),\n"
    "                        Big5-HKSCS or Big5; comma, tab or semicolon separated\n"
    "  --out-dir DIR         where the PDFs and manifest.csv go (created if missing)\n"
    "  --encoding ENC        auto (default: UTF-16 by its BOM, UTF-8, or Big5-HKSCS when\n"
    "                        Hong Kong and Taiwan read the file alike), utf-8, utf-16,\n"
    "                        big5-hkscs (Hong Kong) or big5 (Taiwan cp950)\n"
    "  --delimiter C         , ; or tab (default: found in the header row, or Excel's sep=)\n"
    "  --name TEMPLATE       file name template (default: the form's label fields but the\n"
    "                        name, then {form}); any field key or column name, {form},\n"
    "                        {version}, {row} (zero-padded)\n"
    "  --map COLUMN=FIELD    the column COLUMN holds the field FIELD (repeatable)\n"
    "  --map-file FILE       COLUMN,FIELD rows kept for a site's exports (default:\n"
    "                        $CONSENTFORM_MAP); --map wins over it\n"
    "  --combined FILE.pdf   also all patients in one PDF, in list order, each padded to an\n"
    "                        even page count (此頁空白) so no sheet carries two patients\n"
    "  --simplex             with --combined: no padding (single-sided printers)\n"
    "  --only-combined       with --combined: write only the combined PDF\n"
    "  --print QUEUE         send the combined PDF to a CUPS queue, duplex, once it is written\n"
    "                        and archived (needs --combined)\n"
    "  --jobs N              rows rendered in parallel (default: number of processors)\n"
    "  --check               check and name every row and write the manifest; no PDF\n"
    "  --resume              continue from DIR/manifest.csv (after an interruption or\n"
    "                        --check): files there with the manifest's sha256 are kept\n"
    "  --paper a4|letter     paper size (default a4)\n"
    "  --archive STORE       also keep every PDF in the archive store STORE; a PDF gets its\n"
    "                        name only after its archive record is committed\n"
    "  --operator NAME       who issued them, for the archive (default: $USER)\n"
    "  --ward W              the ward the list is for, kept in each archive record (not\n"
    "                        printed; at most 32 characters); a ward column of the list\n"
    "                        (ward, 病房, 病區 ...) sets it row by row\n"
    "  --forms-dir DIR       look for form ids in DIR first\n"
    "  --allow-draft         print a draft form (for trial; pages say DRAFT)\n"
    "  --allow-expired       print a form whose review-by date has passed\n"
    "  --private             files 0600 and folders 0700 (default 0644 / 0755 at most)\n"
    "  -f, --force           replace regular files that already exist (never links or\n"
    "                        special files)\n"
    "\n"
    "A retired form, or one not yet effective, is never printed; a draft or expired one only\n"
    "with the option above, named in manifest.csv's override column and in each archive\n"
    "record. --patient-name, --hospital-no and --episode-no are render's: a batch takes\n"
    "every value from the list.\n"
    "\n"
    "On SIGINT or SIGTERM no new row is started, rows in flight are finished, the manifest\n"
    "is written (rows not reached: not-printed) and the exit status is 130 or 143.\n";

typedef struct batch {
    cf_batch_options o;
    const char *form_arg;
    const char *forms_dir; /* --forms-dir */
    const char *queue;     /* --print */
    bool private_files;
    cf_csv_mappings *mappings; /* --map, then --map-file / $CONSENTFORM_MAP */
    const char *map_file;
    char ward[CF_WARD_SIZE]; /* --ward, trimmed; "": none */
} batch;

/* batch's own options; the shared ones (--paper, --archive, --forms-dir ...) come from
 * cf_cli_issue_getopt, which refuses the identity options for a batch. */
static const struct option batch_options[] = {
    {"csv", required_argument, NULL, 'c'},
    {"out-dir", required_argument, NULL, 'o'},
    {"combined", required_argument, NULL, 'C'},
    {"only-combined", no_argument, NULL, 'O'},
    {"duplex", no_argument, NULL, 'D'},
    {"simplex", no_argument, NULL, 'S'},
    {"check", no_argument, NULL, 'K'},
    {"resume", no_argument, NULL, 'R'},
    {"jobs", required_argument, NULL, 'j'},
    {"encoding", required_argument, NULL, 'e'},
    {"name", required_argument, NULL, 'n'},
    {"map", required_argument, NULL, 'm'},
    {"map-file", required_argument, NULL, 'M'},
    {"delimiter", required_argument, NULL, 'd'},
    {NULL, 0, NULL, 0},
};

static int parse_options(batch *b, int argc, char **argv)
{
    cf_cli_issue_parser parser = {
        .command = "batch", .shortopts = "j:o:", .options = batch_options, .identity = false};
    cf_cli_issue_options shared = {.paper = CF_PAPER_A4};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = cf_cli_issue_getopt(&parser, argc, argv, &shared, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'c':
            b->o.csv_path = optarg;
            break;
        case 'o':
            b->o.out_dir = optarg;
            break;
        case 'C':
            b->o.combined = optarg;
            break;
        case 'O':
            b->o.only_combined = true;
            break;
        case 'D':
            /* Kept for compatibility: every combined job is padded now unless --simplex. */
            break;
        case 'S':
            b->o.simplex = true;
            break;
        case 'K':
            b->o.check_only = true;
            break;
        case 'R':
            b->o.resume = true;
            break;
        case 'n':
            b->o.name_template = optarg;
            break;
        case 'j':
            errno = 0;
            b->o.jobs = strtol(optarg, &end, 10);
            if (errno || *end || b->o.jobs < 1 || b->o.jobs > 64)
                return cf_cli_usage_error(cf_usage_batch,
                                          "batch: --jobs takes a number from 1 to 64");
            break;
        case 'e':
            if (!cf_csv_encoding_parse(optarg, &b->o.encoding))
                return cf_cli_usage_error(
                    cf_usage_batch, "batch: --encoding is auto, utf-8, utf-16, big5-hkscs or big5");
            break;
        case 'd':
            if (!cf_csv_delimiter_parse(optarg, &b->o.delimiter))
                return cf_cli_usage_error(cf_usage_batch, "batch: --delimiter is , ; tab or auto");
            break;
        case 'm':
            if (cf_csv_mappings_add(b->mappings, optarg, NULL) != CF_OK)
                return cf_cli_usage_error(cf_usage_batch,
                                          "batch: --map \"%s\" is written COLUMN=FIELD, e.g. "
                                          "--map \"HN=hospital_no\"",
                                          optarg);
            break;
        case 'M':
            b->map_file = optarg;
            break;
        default:
            return cf_cli_usage_error(cf_usage_batch, "batch: unknown or incomplete option \"%s\"",
                                      argv[optind - 1]);
        }
    }
    b->o.paper = shared.paper;
    b->o.archive_dir = shared.archive_dir;
    b->o.operator_name = shared.operator_name;
    memcpy(b->ward, shared.ward, sizeof b->ward);
    b->o.ward = b->ward[0] != '\0' ? b->ward : NULL;
    b->o.force = shared.force;
    b->o.allow = shared.allow;
    b->forms_dir = shared.forms_dir;
    b->private_files = shared.private_files;
    b->queue = shared.print_queue;
    if (optind >= argc)
        return cf_cli_usage_error(cf_usage_batch, "batch: name the form to print");
    b->form_arg = argv[optind];
    if (optind + 1 < argc)
        return cf_cli_usage_error(cf_usage_batch, "batch: unexpected argument \"%s\"",
                                  argv[optind + 1]);
    if (!b->o.csv_path)
        return cf_cli_usage_error(cf_usage_batch, "batch: --csv FILE is required");
    if (!b->o.out_dir)
        return cf_cli_usage_error(cf_usage_batch, "batch: --out-dir DIR is required");
    if (b->o.only_combined && b->o.archive_dir)
        return cf_cli_usage_error(cf_usage_batch, "batch: --archive keeps each patient's own PDF; "
                                                  "drop --only-combined");
    if (b->o.ward != NULL && !b->o.archive_dir && !b->o.check_only)
        return cf_cli_usage_error(cf_usage_batch,
                                  "batch: --ward is kept in each archive record, never printed; "
                                  "add --archive STORE (or drop --ward)");
    if (b->o.only_combined && !b->o.combined)
        return cf_cli_usage_error(cf_usage_batch, "batch: --only-combined goes with --combined");
    if (b->queue && !b->o.combined)
        return cf_cli_usage_error(cf_usage_batch,
                                  "batch: --print sends the combined job; add --combined FILE.pdf "
                                  "(and --only-combined when no per-patient PDFs are wanted)");
    if (b->queue && b->o.check_only)
        return cf_cli_usage_error(cf_usage_batch, "batch: --check writes no PDF to print; drop "
                                                  "--print");
    if (b->o.simplex && !b->o.combined)
        return cf_cli_usage_error(cf_usage_batch, "batch: --simplex goes with --combined");
    if (b->o.resume && b->o.force)
        return cf_cli_usage_error(cf_usage_batch, "batch: --resume keeps what is there; drop "
                                                  "--force");
    if (b->o.combined) {
        size_t len = strlen(b->o.combined);
        if (len < 5 || strcmp(b->o.combined + len - 4, ".pdf") != 0)
            return cf_cli_usage_error(cf_usage_batch, "batch: --combined must name a .pdf file");
    }
    return EX_OK;
}

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

typedef struct progress_state {
    struct timespec started;
} progress_state;

/* Seconds since started. */
static double elapsed(const struct timespec *started)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - started->tv_sec) + (double)(now.tv_nsec - started->tv_nsec) / 1e9;
}

static void show_progress(void *ctx, size_t done, size_t total)
{
    const progress_state *p = ctx;
    double t = elapsed(&p->started);
    double rate = t > 0 ? (double)done / t : 0;
    double left = rate > 0 ? (double)(total - done) / rate : 0;
    fprintf(stderr, "\rconsentform: %zu/%zu printed, %.0f/s, %.0f s left   ", done, total, rate,
            left);
}

int cf_cmd_batch(int argc, char **argv)
{
    batch b = {
        .o = {.encoding = CF_CSV_ENCODING_AUTO, .paper = CF_PAPER_A4},
    };
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    b.o.jobs = cpus > 0 ? (cpus < 64 ? cpus : 64) : 1;
    if (!(b.mappings = cf_csv_mappings_new()))
        return EX_SOFTWARE;
    int usage = parse_options(&b, argc, argv);
    if (usage != EX_OK) {
        cf_csv_mappings_free(b.mappings);
        return usage;
    }
    const char *site_map = getenv("CONSENTFORM_MAP");
    if (!b.map_file && site_map != NULL && *site_map != '\0')
        b.map_file = site_map;

    cf_diag *diag = cf_diag_new();
    if (diag == NULL)
        return EX_SOFTWARE;
    cf_diag_set_echo(diag, stderr);
    cf_file_set_private(b.private_files);
    progress_state progress;
    clock_gettime(CLOCK_MONOTONIC, &progress.started);
    if (isatty(STDERR_FILENO)) {
        b.o.progress = show_progress;
        b.o.progress_ctx = &progress;
    }
    b.o.created = cf_document_time();
    b.o.operator_name = cf_cli_operator(b.o.operator_name);
    b.o.stop = &stop_signal;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    cf_form *form = NULL;
    cf_archive *archive = NULL;
    char *form_path = cf_form_resolve(b.form_arg, b.forms_dir, diag);
    cf_status st = form_path != NULL ? CF_OK : CF_ERR_NOINPUT;
    if (st == CF_OK && b.map_file)
        st = cf_csv_mappings_load(b.mappings, b.map_file, diag);
    b.o.mappings = b.mappings;
    if (st == CF_OK)
        st = cf_form_load(form_path, NULL, &form, diag);
    if (st == CF_OK)
        st = cf_fontset_get(form->region, &b.o.fonts, diag);
    if (st == CF_OK)
        st = cf_document_preflight(form, b.o.fonts, diag);
    /* --check opens the store read-only: it must be one, but nothing is registered. */
    if (st == CF_OK && b.o.archive_dir != NULL)
        st = cf_archive_open(b.o.archive_dir, b.o.check_only, &archive, diag);
    cf_batch_summary sum = {0};
    if (st == CF_OK) {
        b.o.form = form;
        b.o.form_path = form_path;
        b.o.archive = archive;
        st = cf_batch_run(&b.o, &sum, diag);
    }
    if (b.o.progress != NULL && sum.printed > 0)
        fputc('\n', stderr);
    if (sum.rows > 0) {
        double t = elapsed(&progress.started);
        size_t done = sum.printed + sum.kept;
        fprintf(stderr,
                "consentform: %zu row%s: %zu %s (%zu pages), %zu kept, %zu failed, %zu empty, "
                "%zu not printed; %.1f s, %.1f forms/s; list read as %s, %s-separated%s\n",
                sum.rows, sum.rows == 1 ? "" : "s", sum.printed,
                b.o.check_only ? "would be printed" : "printed", sum.pages, sum.kept, sum.failed,
                sum.empty, sum.not_printed, t, t > 0 ? (double)done / t : 0.0,
                cf_csv_encoding_name(sum.encoding), cf_csv_delimiter_name(sum.delimiter),
                sum.failed > 0 || sum.not_printed > 0 ? "; see manifest.csv" : "");
        if (sum.overrides != 0)
            fprintf(stderr, "consentform: issued under override: %s (see manifest.csv)\n",
                    cf_form_override_name(sum.overrides));
        if (sum.not_printed > 0)
            fprintf(stderr,
                    "consentform: %zu row%s not printed (interrupted); continue with "
                    "--resume\n",
                    sum.not_printed, sum.not_printed == 1 ? "" : "s");
    }
    /* The combined job is printed once it is written and every row archived, good rows only
     * (failed rows are not in it); an interrupted batch is not printed. */
    if (st == CF_OK && b.queue != NULL && sum.stopped_by == 0 && stop_signal == 0 &&
        sum.printed + sum.kept > 0) {
        char title[128];
        snprintf(title, sizeof title, "%s combined job, %zu patient%s", form->id,
                 sum.printed + sum.kept, sum.printed + sum.kept == 1 ? "" : "s");
        cf_print_request request = {.queue = b.queue,
                                    .path = b.o.combined,
                                    .title = title,
                                    .paper = b.o.paper,
                                    .duplex = !b.o.simplex};
        int job = 0;
        st = cf_print_file(&request, &job, diag);
        if (st == CF_OK)
            fprintf(stderr, "consentform: sent %s to print queue %s as job %d\n", b.o.combined,
                    b.queue, job);
        /* Each archived document of the job records who sent it to which queue. */
        char **ids = NULL;
        size_t n_ids = 0;
        if (st == CF_OK && archive != NULL)
            st = cf_batch_manifest_ids(b.o.out_dir, &ids, &n_ids, diag);
        if (st == CF_OK && archive != NULL)
            st = cf_archive_sent_to_printer(archive, (const char *const *)ids, n_ids, b.queue, job,
                                            b.o.operator_name, diag);
        cf_batch_ids_free(ids, n_ids);
    }
    if (st == CF_OK)
        st = sum.rows_status;
    int code = cf_status_exit_code(st);
    if (sum.stopped_by != 0 || stop_signal != 0)
        code = 128 + (sum.stopped_by != 0 ? sum.stopped_by : (int)stop_signal);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    cf_archive_close(archive);
    cf_form_free(form);
    cf_free(form_path);
    cf_csv_mappings_free(b.mappings);
    cf_diag_free(diag);
    return code;
}
