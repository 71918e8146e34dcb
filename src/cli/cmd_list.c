/* consentform list: the forms in the forms directory, one line each. */
#include "cli/cli.h"

#include "base/alloc.h"
#include "base/diag.h"
#include "form/form.h"

#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

const char cf_usage_list[] =
    "usage: consentform list [--forms-dir DIR]\n"
    "\n"
    "Lists every form in the forms directory: id, version, status, kind and title.\n"
    "The directory is DIR, else $CONSENTFORM_FORMS, else the installed forms.\n"
    "A form that does not load is listed as invalid (run `consentform validate` on it).\n";

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .xml file names in dir, sorted; caller frees each and the array. */
static char **xml_files(const char *dir, size_t *count)
{
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || e->d_name[0] == '.' || strcmp(e->d_name + len - 4, ".xml") != 0)
            continue;
        if (n == cap) {
            char **grown = cf_grow_array(names, &cap, n + 1, sizeof *grown, 16);
            if (!grown)
                break;
            names = grown;
        }
        names[n] = cf_strdup(e->d_name);
        if (names[n])
            n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, compare_names);
    *count = n;
    return names;
}

int cf_cmd_list(int argc, char **argv)
{
    static const struct option options[] = {
        {"forms-dir", required_argument, NULL, 'd'},
        {NULL, 0, NULL, 0},
    };
    const char *forms_dir = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == 'd')
            forms_dir = optarg;
        else
            return cf_cli_usage_error(cf_usage_list, "list: unknown or incomplete option \"%s\"",
                                      argv[optind - 1]);
    }
    if (optind < argc)
        return cf_cli_usage_error(cf_usage_list, "list: unexpected argument \"%s\"", argv[optind]);

    const char *dir = cf_form_default_dir(forms_dir);
    if (!dir) {
        fprintf(stderr, "consentform: no forms directory found (give --forms-dir DIR or set "
                        "CONSENTFORM_FORMS)\n");
        return EX_NOINPUT;
    }
    size_t n;
    char **names = xml_files(dir, &n);
    if (!names) {
        fprintf(stderr, "consentform: %s: cannot read the forms directory, or it has no forms\n",
                dir);
        return EX_NOINPUT;
    }
    int status = EX_OK;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = cf_malloc(len);
        cf_diag *diag = cf_diag_new();
        cf_form *form = NULL;
        if (path && diag) {
            snprintf(path, len, "%s/%s", dir, names[i]);
            cf_form_load(path, NULL, &form, diag);
        }
        if (form) {
            printf("%-28s %-6s %-8s %-8s %s\n", form->id, form->version,
                   form->state == CF_FORM_STATE_APPROVED ? "approved" : "draft",
                   form->kind == CF_FORM_KIND_CONSENT ? "consent" : "leaflet", form->title);
        } else {
            size_t stem = strlen(names[i]) - 4;
            printf("%-28.*s %-6s %-8s %-8s %s\n", (int)stem, names[i], "-", "invalid", "-",
                   "(does not load: run consentform validate)");
            status = EX_DATAERR;
        }
        cf_form_free(form);
        cf_diag_free(diag);
        cf_free(path);
        cf_free(names[i]);
    }
    cf_free(names);
    return status;
}
