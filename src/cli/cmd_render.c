/* consentform render: one form for one patient (or blank) to a PDF file or stdout. */
#include "cli/cli.h"

#include "archive/archive.h"
#include "base/alloc.h"
#include "base/diag.h"
#include "base/file.h"
#include "data/field_rules.h"
#include "data/record.h"
#include "form/form.h"
#include "render/document.h"
#include "render/issue.h"
#include "render/print.h"
#include "render/render_svg.h"
#include "text/font.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

const char cf_usage_render[] =
    "usage: consentform render FORM -o OUT.pdf|- [options]\n"
    "       consentform render FORM --format svg -o DIR/|PREFIX [options]\n"
    "\n"
    "Renders FORM (a path, or a form id from --forms-dir, $CONSENTFORM_FORMS or the\n"
    "installed forms) with the patient's label filled in.\n"
    "\n"
    "  -o, --output FILE        where to write the PDF; - writes it to stdout\n"
    "      --patient-name S     label fields (required unless --blank)\n"
    "      --hospital-no S\n"
    "      --episode-no S\n"
    "      --set KEY=VALUE      any other field of the form (repeatable), also a label field\n"
    "                           without an option of its own (Taiwan: birth_date), e.g.\n"
    "                           --set birth_date=1950-03-02 --set side=left\n"
    "      --blank              leave the label box empty (for a gum label) and fields blank;\n"
    "                           no document id (the QR code says BLANK), never archived\n"
    "      --paper a4|letter    paper size (default a4)\n"
    "      --forms-dir DIR      look for form ids in DIR first\n"
    "  -f, --force              overwrite OUT if it exists\n"
    "      --archive STORE      also keep a copy of the PDF in the archive store STORE; the\n"
    "                           PDF reaches OUT (or stdout) only after its record is\n"
    "                           committed, and its document id is always unique\n"
    "      --private            write OUT readable by its owner only (0600)\n"
    "      --operator NAME      who issued it, for the archive (default: $USER)\n"
    "      --ward W             the ward it is issued for, kept in the archive record (not\n"
    "                           printed; at most 32 characters)\n"
    "      --allow-draft        issue a draft form (for trial; pages say DRAFT)\n"
    "      --allow-expired      issue a form whose review-by date has passed\n"
    "      --print QUEUE        send OUT, once written and archived, to a CUPS queue (duplex)\n"
    "      --format pdf|svg     svg: a preview, one file per page (-o DIR/ gives\n"
    "                           DIR/page-1.svg ...; -o PREFIX gives PREFIX-1.svg ...), text as\n"
    "                           outlines; never archived or printed\n"
    "\n"
    "A retired form, or one whose effective date is still to come, is never issued; a draft\n"
    "or an expired form only with the option above, recorded in the archive record\n"
    "(\"_override\") of the document.\n"
    "\n"
    "Every value is checked before anything is drawn: a character the font lacks, a line\n"
    "break in a label value or a malformed date is an error naming the field, and no file\n"
    "is written. Exit status: 0 ok, 64 usage, 65 invalid form or value, 66 form not found,\n"
    "73 output exists (without --force) or cannot be created, 74 I/O error.\n";

enum {
    OPT_SET = 256,
    OPT_BLANK,
    OPT_FORMAT,
};

/* render's own options; the shared ones (--paper, --archive, --force ...) and the identity
 * ones come from cf_cli_issue_getopt. */
static const struct option long_options[] = {
    {"output", required_argument, NULL, 'o'}, {"set", required_argument, NULL, OPT_SET},
    {"blank", no_argument, NULL, OPT_BLANK},  {"format", required_argument, NULL, OPT_FORMAT},
    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
};

/* Sets key to value unless the field was given before (keys match in any case); option is the
 * spelling that gave it ("--patient-name", "--set"), for the message. Returns a sysexits code. */
static int set_field(cf_record *record, cf_record *given_by, const char *key, const char *value,
                     const char *option)
{
    char spelling[160];
    if (strcmp(option, "--set") == 0)
        snprintf(spelling, sizeof spelling, "--set %s=", key);
    else
        snprintf(spelling, sizeof spelling, "--%s", option);
    const char *earlier = cf_record_get(given_by, key);
    if (earlier != NULL)
        return cf_cli_usage_error(cf_usage_render,
                                  "render: the field %s is given twice (%s, then %s); give each "
                                  "field once",
                                  key, earlier, spelling);
    if (cf_record_set(record, key, value) != CF_OK ||
        cf_record_set(given_by, key, spelling) != CF_OK)
        return EX_SOFTWARE;
    return EX_OK;
}

/* render --format svg: the document laid out as for the PDF, painted as SVG pages and written
 * to target's page files (cf_svg_page_path); nothing archived. */
static cf_status write_svg_preview(const cf_form *form, const cf_record *record,
                                   const cf_fontset *fonts, cf_paper paper, bool blank,
                                   const char *target, bool force, cf_diag *diag)
{
    cf_document_options options = {.paper = paper, .blank = blank, .created = cf_document_time()};
    char document_id[CF_DOCUMENT_ID_SIZE] = "";
    cf_display_list *list = NULL;
    cf_svg_pages pages = {0};
    cf_status st = cf_document_layout(form, record, fonts, &options, document_id, &list, diag);
    if (st == CF_OK)
        st = cf_render_svg(list, &pages, diag);
    if (st == CF_OK)
        st = cf_svg_pages_write(&pages, target, force, diag);
    if (st == CF_OK) {
        char *first = cf_svg_page_path(target, 0);
        fprintf(stderr, "consentform: wrote %zu SVG page%s: %s%s (document ID %s)\n", pages.n,
                pages.n == 1 ? "" : "s", first != NULL ? first : target, pages.n > 1 ? " ..." : "",
                document_id[0] != '\0' ? document_id : "none");
        cf_free(first);
    }
    cf_svg_pages_cleanup(&pages);
    cf_display_list_free(list);
    return st;
}

int cf_cmd_render(int argc, char **argv)
{
    const char *output = NULL;
    bool blank = false, any_value = false, svg = false;
    cf_cli_issue_options shared = {.paper = CF_PAPER_A4};
    cf_cli_issue_parser parser = {
        .command = "render", .shortopts = "o:h", .options = long_options, .identity = true};
    cf_record *record = cf_record_new(NULL, 0);
    /* For each field given, the option that gave it: a field given twice, by an option or by
     * --set in any case, is a usage error naming both. */
    cf_record *given_by = cf_record_new(NULL, 0);
    if (record == NULL || given_by == NULL) {
        cf_record_free(record);
        cf_record_free(given_by);
        return EX_SOFTWARE;
    }
    int status = EX_OK;
    optind = 1;
    int c, option_index = -1;
    while (status == EX_OK &&
           (c = cf_cli_issue_getopt(&parser, argc, argv, &shared, &option_index)) != -1) {
        const char *key = NULL;
        char *value = NULL;
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case 'h':
            fputs(cf_usage_render, stdout);
            cf_record_free(record);
            cf_record_free(given_by);
            return EX_OK;
        case CF_CLI_OPT_PATIENT_NAME:
            key = "patient_name";
            break;
        case CF_CLI_OPT_HOSPITAL_NO:
            key = "hospital_no";
            break;
        case CF_CLI_OPT_EPISODE_NO:
            key = "episode_no";
            break;
        case OPT_SET:
            value = strchr(optarg, '=');
            if (value == NULL || value == optarg) {
                status = cf_cli_usage_error(cf_usage_render,
                                            "render: --set takes KEY=VALUE, not \"%s\"", optarg);
                break;
            }
            *value = '\0';
            status = set_field(record, given_by, optarg, value + 1, "--set");
            *value = '=';
            any_value = true;
            break;
        case OPT_BLANK:
            blank = true;
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "svg") == 0 || strcmp(optarg, "pdf") == 0)
                svg = strcmp(optarg, "svg") == 0;
            else
                status = cf_cli_usage_error(cf_usage_render,
                                            "render: --format is pdf or svg, not \"%s\"", optarg);
            break;
        default:
            status = cf_cli_usage_error(cf_usage_render,
                                        "render: unknown option or missing value "
                                        "in \"%s\"",
                                        argv[optind - 1]);
            break;
        }
        if (key != NULL) {
            status = set_field(record, given_by, key, optarg, parser.table[option_index].name);
            any_value = true;
        }
    }
    cf_record_free(given_by);
    if (shared.private_files)
        cf_file_set_private(true);
    if (status != EX_OK) {
        cf_record_free(record);
        return status;
    }
    if (optind != argc - 1) {
        cf_record_free(record);
        return cf_cli_usage_error(cf_usage_render, optind >= argc
                                                       ? "render: name the form to render"
                                                       : "render: give exactly one form");
    }
    if (output == NULL) {
        cf_record_free(record);
        return cf_cli_usage_error(cf_usage_render,
                                  "render: say where to write the PDF with -o FILE (or -o -)");
    }
    if (blank && any_value) {
        cf_record_free(record);
        return cf_cli_usage_error(cf_usage_render, "render: --blank prints no patient values; "
                                                   "drop --patient-name, --hospital-no, "
                                                   "--episode-no and --set");
    }
    if (blank && shared.archive_dir != NULL) {
        cf_record_free(record);
        return cf_cli_usage_error(
            cf_usage_render, "render: --blank makes a form for a gum label, the same paper for "
                             "every patient: it has no document id and is never archived; "
                             "drop --archive (or --blank)");
    }
    if (shared.ward[0] != '\0' && shared.archive_dir == NULL) {
        cf_record_free(record);
        return cf_cli_usage_error(cf_usage_render,
                                  "render: --ward is kept in the archive record, never printed; "
                                  "add --archive STORE (or drop --ward)");
    }
    const char *queue = shared.print_queue;
    if (svg && (shared.archive_dir != NULL || queue != NULL || strcmp(output, "-") == 0)) {
        cf_record_free(record);
        return cf_cli_usage_error(cf_usage_render,
                                  "render: --format svg writes a preview to files (-o DIR/ or "
                                  "-o PREFIX); it is never archived or printed: drop %s",
                                  shared.archive_dir != NULL ? "--archive"
                                  : queue != NULL            ? "--print"
                                                             : "-o -");
    }
    if (queue != NULL && strcmp(output, "-") == 0) {
        cf_record_free(record);
        return cf_cli_usage_error(cf_usage_render,
                                  "render: --print sends the written file; give -o FILE, not -o -");
    }
    if (strcmp(output, "-") == 0 && isatty(STDOUT_FILENO)) {
        cf_record_free(record);
        return cf_cli_usage_error(cf_usage_render,
                                  "render: not writing a PDF to a terminal; redirect stdout");
    }

    cf_diag *diag = cf_diag_new();
    if (diag == NULL) {
        cf_record_free(record);
        return EX_SOFTWARE;
    }
    cf_diag_set_echo(diag, stderr);
    cf_form *form = NULL;
    const cf_fontset *fonts = NULL;
    cf_archive *archive = NULL;
    cf_status st = CF_ERR_NOINPUT;
    char *path = cf_form_resolve(argv[optind], shared.forms_dir, diag);
    if (path != NULL)
        st = cf_form_load(path, NULL, &form, diag);
    /* A missing or unwritable store stops the job before anything is printed. */
    /* A form that may not be issued today is refused before anything else is checked. */
    cf_issue_options options = {
        .document = {.paper = shared.paper, .blank = blank, .created = cf_document_time()},
        .operator_name = cf_cli_operator(shared.operator_name),
        .ward = shared.ward[0] != '\0' ? shared.ward : NULL,
        .path = strcmp(output, "-") == 0 ? NULL : output,
        .fd = STDOUT_FILENO,
        .force = shared.force,
        .allow = shared.allow,
    };
    if (st == CF_OK)
        st = cf_issue_check_form(form, &options, NULL, diag);
    if (st == CF_OK && shared.archive_dir != NULL)
        st = cf_archive_open(shared.archive_dir, false, &archive, diag);
    if (st == CF_OK)
        st = cf_fontset_get(form->region, &fonts, diag);
    if (st == CF_OK)
        st = cf_document_preflight(form, fonts, diag);
    if (st == CF_OK)
        st = cf_record_check(form, record, fonts, blank, diag);
    /* The output is never one of the inputs (the form itself, e.g. with --force). */
    struct stat out_st, in_st;
    if (st == CF_OK && strcmp(output, "-") != 0 && stat(output, &out_st) == 0 &&
        stat(path, &in_st) == 0 && out_st.st_dev == in_st.st_dev && out_st.st_ino == in_st.st_ino) {
        cf_diag_error(diag, output, 0, "is the form being rendered; not overwritten");
        st = CF_ERR_CANTCREAT;
    }
    cf_issue_result result = {0};
    if (st == CF_OK && svg) {
        st =
            write_svg_preview(form, record, fonts, shared.paper, blank, output, shared.force, diag);
    } else if (st == CF_OK) {
        options.archive = archive;
        st = cf_issue_document(form, record, fonts, &options, &result, diag);
    }
    if (st == CF_OK && !svg && strcmp(output, "-") != 0)
        fprintf(stderr, "consentform: wrote %s (%zu page%s, %s%s%s%s)\n", output, result.pages,
                result.pages == 1 ? "" : "s", blank ? "blank form, no document ID" : "document ID ",
                blank ? "" : result.document_id, result.overrides != 0 ? "; override: " : "",
                cf_form_override_name(result.overrides));
    if (st == CF_OK && queue != NULL) { /* never with svg (refused above) */
        /* The job name says which form and document, never whose. */
        char title[128];
        snprintf(title, sizeof title, "%s %s", form->id, blank ? "blank" : result.document_id);
        cf_print_request request = {
            .queue = queue, .path = output, .title = title, .paper = shared.paper, .duplex = true};
        int job = 0;
        st = cf_print_file(&request, &job, diag);
        if (st == CF_OK)
            fprintf(stderr, "consentform: sent %s to print queue %s as job %d\n", output, queue,
                    job);
        /* The store says who sent it to which queue (the job went out: a failure to record it
         * is reported, and the exit status says so). */
        const char *id = result.document_id;
        if (st == CF_OK && archive != NULL && result.archived)
            st = cf_archive_sent_to_printer(archive, &id, 1, queue, job, options.operator_name,
                                            diag);
    }
    status = cf_status_exit_code(st);
    cf_archive_close(archive);
    cf_form_free(form);
    cf_free(path);
    cf_record_free(record);
    cf_diag_free(diag);
    return status;
}
