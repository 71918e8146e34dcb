/* consentform list: the forms in the forms directory, one line each. */
#include "cli/cli.h"

#include "base/alloc.h"
#include "base/diag.h"
#include "form/form.h"

#include <dirent.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

const char cf_usage_list[] =
    "usage: consentform list [--forms-dir DIR]\n"
    "\n"
    "Lists every form that a form id can name: id, version, status, kind and title,\n"
    "under a line \"# DIR (where from)\" for each folder searched, in the order they are\n"
    "searched: DIR, then $CONSENTFORM_FORMS, then the installed forms. The first folder\n"
    "that has an id wins; a copy it hides is listed under the winner as \"shadows PATH\".\n"
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

/* True when name is among the count sorted names. */
static bool has_name(char **names, size_t count, const char *name)
{
    return count && name && bsearch(&name, names, count, sizeof *names, compare_names) != NULL;
}

/* True when an earlier directory than d has name (so the copy in d is not the one used). */
static bool shadowed(char **names[], const size_t counts[], size_t d, const char *name)
{
    for (size_t earlier = 0; earlier < d; earlier++)
        if (has_name(names[earlier], counts[earlier], name))
            return true;
    return false;
}

/* Prints the line of dir/name; EX_DATAERR when it does not load. */
static int print_form(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = cf_malloc(len);
    cf_diag *diag = cf_diag_new();
    cf_form *form = NULL;
    if (path && diag) {
        snprintf(path, len, "%s/%s", dir, name);
        cf_form_load(path, NULL, &form, diag);
    }
    int status = EX_OK;
    if (form) {
        printf("%-28s %-6s %-8s %-8s %s\n", form->id, form->version,
               cf_form_state_name(form->state),
               form->kind == CF_FORM_KIND_CONSENT ? "consent" : "leaflet", form->title);
    } else {
        size_t stem = strlen(name) - 4;
        printf("%-28.*s %-6s %-8s %-8s %s\n", (int)stem, name, "-", "invalid", "-",
               "(does not load: run consentform validate)");
        status = EX_DATAERR;
    }
    cf_form_free(form);
    cf_diag_free(diag);
    cf_free(path);
    return status;
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
    while ((c = cf_cli_getopt(argc, argv, "", options, NULL)) != -1) {
        if (c == 'd')
            forms_dir = optarg;
        else
            return cf_cli_usage_error(cf_usage_list, "list: unknown or incomplete option \"%s\"",
                                      argv[optind - 1]);
    }
    if (optind < argc)
        return cf_cli_usage_error(cf_usage_list, "list: unexpected argument \"%s\"", argv[optind]);

    cf_forms_dir dirs[CF_FORMS_DIRS_MAX];
    size_t n_dirs = cf_form_search_dirs(forms_dir, dirs);
    char **names[CF_FORMS_DIRS_MAX] = {NULL};
    size_t counts[CF_FORMS_DIRS_MAX] = {0};
    size_t total = 0;
    for (size_t d = 0; d < n_dirs; d++) {
        names[d] = xml_files(dirs[d].path, &counts[d]);
        total += counts[d];
    }
    int status = EX_OK;
    if (forms_dir && !names[0]) {
        fprintf(stderr, "consentform: %s: cannot read the forms directory, or it has no forms\n",
                forms_dir);
        status = EX_NOINPUT;
    } else if (total == 0) {
        fprintf(stderr, "consentform: no forms found (looked in");
        for (size_t d = 0; d < n_dirs; d++)
            fprintf(stderr, "%s %s", d ? "," : "", dirs[d].path);
        fprintf(stderr, "; give --forms-dir DIR or set CONSENTFORM_FORMS)\n");
        status = EX_NOINPUT;
    }
    for (size_t d = 0; d < n_dirs && status != EX_NOINPUT; d++) {
        if (counts[d] == 0)
            continue;
        printf("# %s (%s)\n", dirs[d].path, dirs[d].origin);
        for (size_t i = 0; i < counts[d]; i++) {
            if (shadowed(names, counts, d, names[d][i]))
                continue;
            if (print_form(dirs[d].path, names[d][i]) != EX_OK)
                status = EX_DATAERR;
            for (size_t later = d + 1; later < n_dirs; later++)
                if (has_name(names[later], counts[later], names[d][i]))
                    printf("    shadows %s/%s (%s)\n", dirs[later].path, names[d][i],
                           dirs[later].origin);
        }
    }
    for (size_t d = 0; d < n_dirs; d++) {
        for (size_t i = 0; i < counts[d]; i++)
            cf_free(names[d][i]);
        cf_free(names[d]);
    }
    return status;
}
