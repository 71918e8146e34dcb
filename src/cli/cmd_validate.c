/* consentform validate: schema and content checks of one or more forms. */
#include "cli/cli.h"

#include "base/alloc.h"
#include "base/diag.h"
#include "form/form.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

const char cf_usage_validate[] =
    "usage: consentform validate FORM...\n"
    "\n"
    "Checks each FORM (a path, or a form id looked up like `render` does) against the\n"
    "schema and the content rules, and prints every problem as FILE:LINE: message.\n"
    "Exit status 0 when all are valid, 65 when any is not, 66 when one is not found.\n";

int cf_cmd_validate(int argc, char **argv)
{
    static const struct option options[] = {{NULL, 0, NULL, 0}};
    optind = 1;
    /* Forms are every argument; any option is a usage error ("--" ends options). */
    if (cf_cli_getopt(argc, argv, "", options, NULL) != -1)
        return cf_cli_usage_error(cf_usage_validate, "validate: unknown option \"%s\"",
                                  argv[optind - 1]);
    if (optind >= argc)
        return cf_cli_usage_error(cf_usage_validate, "validate: name at least one form");

    int status = EX_OK;
    for (int i = optind; i < argc; i++) {
        cf_diag *diag = cf_diag_new();
        if (!diag)
            return EX_SOFTWARE;
        cf_diag_set_echo(diag, stderr);
        char *path = cf_form_resolve(argv[i], NULL, diag);
        cf_status st = CF_ERR_NOINPUT;
        cf_form *form = NULL;
        if (path)
            st = cf_form_load(path, NULL, &form, diag);
        if (st == CF_OK)
            printf("%s: ok (%s %s, %s)\n", path, form->id, form->version,
                   cf_form_state_name(form->state));
        else if (status == EX_OK || st == CF_ERR_NOINPUT)
            status = cf_status_exit_code(st);
        cf_form_free(form);
        cf_free(path);
        cf_diag_free(diag);
    }
    return status;
}
