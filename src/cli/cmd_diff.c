/* consentform diff: what changed between two versions of a form, for the approving clinician. */
#include "cli/cli.h"

#include "base/alloc.h"
#include "base/diag.h"
#include "form/diff.h"
#include "form/form.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

const char cf_usage_diff[] =
    "usage: consentform diff OLD NEW [--format text|html]\n"
    "\n"
    "Compares two versions of a form (paths, or form ids looked up like `render` does)\n"
    "statement by statement, per section: what was added (+), removed (-) or changed (~,\n"
    "changed characters marked [-old-]{+new+}), risks that moved band (>), fields, label,\n"
    "declarations and signature blocks. Re-indenting, attribute order and comments do not\n"
    "count. --format html writes a page the committee can print (<del>/<ins>).\n"
    "Exit status (as diff(1)): 0 when the forms say the same, 1 when they do not; 64 usage,\n"
    "65 a form is not valid, 66 a form is not found.\n";

enum { OPT_FORMAT = 256 };

/* Loads FORM as the command line names it; NULL (message printed) on failure, *status set. */
static cf_form *load(const char *name, int *status)
{
    cf_diag *diag = cf_diag_new();
    if (diag == NULL) {
        *status = EX_SOFTWARE;
        return NULL;
    }
    cf_diag_set_echo(diag, stderr);
    cf_form *form = NULL;
    char *path = cf_form_resolve(name, NULL, diag);
    cf_status st = path != NULL ? cf_form_load(path, NULL, &form, diag) : CF_ERR_NOINPUT;
    if (st != CF_OK)
        *status = cf_status_exit_code(st);
    cf_free(path);
    cf_diag_free(diag);
    return form;
}

int cf_cmd_diff(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"format", required_argument, NULL, OPT_FORMAT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cf_diff_format format = CF_DIFF_TEXT;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = cf_cli_getopt(argc, argv, "h", long_options, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(cf_usage_diff, stdout);
            return EX_OK;
        case OPT_FORMAT:
            if (strcmp(optarg, "text") == 0)
                format = CF_DIFF_TEXT;
            else if (strcmp(optarg, "html") == 0)
                format = CF_DIFF_HTML;
            else
                return cf_cli_usage_error(cf_usage_diff,
                                          "diff: --format is text or html, not \"%s\"", optarg);
            break;
        default:
            return cf_cli_usage_error(
                cf_usage_diff, "diff: unknown option or missing value in \"%s\"", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return cf_cli_usage_error(cf_usage_diff, "diff: give the old and the new form");

    int status = EX_OK;
    cf_form *old_form = load(argv[optind], &status);
    cf_form *new_form = status == EX_OK ? load(argv[optind + 1], &status) : NULL;
    cf_form_diff *diff = NULL;
    char *text = NULL;
    size_t len = 0;
    if (status == EX_OK) {
        cf_status st = cf_form_diff_new(old_form, new_form, &diff);
        if (st == CF_OK)
            st = cf_form_diff_format(diff, old_form, new_form, format, &text, &len);
        if (st != CF_OK) {
            fprintf(stderr, "consentform: diff: %s\n", cf_status_message(st));
            status = cf_status_exit_code(st);
        }
    }
    if (status == EX_OK) {
        if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
            fprintf(stderr, "consentform: diff: cannot write the output\n");
            status = EX_IOERR;
        } else {
            status = diff->n_changes == 0 ? 0 : 1;
        }
    }
    cf_free(text);
    cf_form_diff_free(diff);
    cf_form_free(old_form);
    cf_form_free(new_form);
    return status;
}
