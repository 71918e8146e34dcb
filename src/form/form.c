/* The form model's small helpers: frequency names, field lookup, freeing, and where forms and
 * the schema are found. */
#include "form/form.h"
#include "form/content_model.h"
#include "form/form_internal.h"

#include "base/alloc.h"
#include "base/arena.h"

#include "base/paths.h"
#include "base/suggest.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA_RELATIVE "schema/consent-form.rng"

/* The names are the content model's (content_model.c), in cf_frequency order. */
static const char *const *const frequency_names = cf_model_frequency_values;

const char *cf_frequency_name(cf_frequency frequency)
{
    if ((unsigned)frequency >= CF_FREQ_COUNT)
        return NULL;
    return frequency_names[frequency];
}

const char *cf_form_state_name(cf_form_state state)
{
    switch (state) {
    case CF_FORM_STATE_APPROVED:
        return "approved";
    case CF_FORM_STATE_RETIRED:
        return "retired";
    case CF_FORM_STATE_DRAFT:
    default:
        return "draft";
    }
}

bool cf_frequency_parse(const char *name, cf_frequency *out)
{
    for (int f = 0; name && f < CF_FREQ_COUNT; f++) {
        if (strcmp(name, frequency_names[f]) == 0) {
            if (out)
                *out = (cf_frequency)f;
            return true;
        }
    }
    return false;
}

bool cf_field_key_is_identifier(const char *key)
{
    static const char *const keys[] = {"hospital_no", "episode_no", "chart_no", "case_no"};
    for (size_t i = 0; key && i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return false;
}

const cf_field *cf_form_get_field(const cf_form *form, const char *key)
{
    for (size_t i = 0; form && key && i < form->n_fields; i++)
        if (form->fields[i].key && strcmp(form->fields[i].key, key) == 0)
            return &form->fields[i];
    return NULL;
}

/* True when id names a <ref id> of the form's references. */
static bool has_reference(const cf_form *form, const char *id)
{
    for (size_t s = 0; s < form->n_sections; s++)
        for (size_t b = 0; b < form->sections[s].n_blocks; b++) {
            const cf_block *block = &form->sections[s].blocks[b];
            if (block->kind != CF_BLOCK_REFERENCES || !block->u.list.ids)
                continue;
            for (size_t i = 0; i < block->u.list.n_items; i++)
                if (block->u.list.ids[i] && strcmp(block->u.list.ids[i], id) == 0)
                    return true;
        }
    return false;
}

bool cf_form_risk_is_sourced(const cf_form *form, const cf_risk *risk)
{
    if (risk->n_cites == 0)
        return false;
    for (size_t i = 0; i < risk->n_cites; i++)
        if (!has_reference(form, risk->cites[i]))
            return false;
    return true;
}

bool cf_form_band_is_sourced(const cf_form *form, cf_frequency band)
{
    size_t used = 0;
    for (size_t s = 0; form && s < form->n_sections; s++)
        for (size_t b = 0; b < form->sections[s].n_blocks; b++) {
            const cf_block *block = &form->sections[s].blocks[b];
            if (block->kind != CF_BLOCK_RISKS)
                continue;
            for (size_t i = 0; i < block->u.risks.n_risks; i++) {
                const cf_risk *risk = &block->u.risks.risks[i];
                if (risk->frequency != band)
                    continue;
                if (!cf_form_risk_is_sourced(form, risk))
                    return false;
                used++;
            }
        }
    return used > 0;
}

const char *cf_form_band_meaning(const cf_form *form, cf_frequency band)
{
    if (!form || (unsigned)band >= CF_FREQ_COUNT || !form->show_band_meaning ||
        !form->bands[band].meaning)
        return NULL;
    if (band != CF_FREQ_UNKNOWN && !cf_form_band_is_sourced(form, band))
        return NULL;
    return form->bands[band].meaning;
}

void cf_form_free(cf_form *form)
{
    /* The form, its internal part and everything they point to live in the arena. */
    if (form && form->internal)
        cf_arena_free(form->internal->arena);
}

static bool is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* $CONSENTFORM_FORMS, or NULL when unset or empty. */
static const char *env_forms_dir(void)
{
    const char *dir = getenv("CONSENTFORM_FORMS");
    return dir && *dir ? dir : NULL;
}

/* Adds dir to the list unless it is the same directory as one already there. */
static void add_dir(cf_forms_dir *dirs, size_t *n, const char *path, const char *origin)
{
    char real[PATH_MAX], other[PATH_MAX];
    bool resolved = realpath(path, real) != NULL;
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(dirs[i].path, path) == 0)
            return;
        if (resolved && realpath(dirs[i].path, other) != NULL && strcmp(real, other) == 0)
            return;
    }
    dirs[*n].path = path;
    dirs[*n].origin = origin;
    (*n)++;
}

size_t cf_form_search_dirs(const char *forms_dir, cf_forms_dir dirs[CF_FORMS_DIRS_MAX])
{
    static char installed[PATH_MAX], source[PATH_MAX];
    snprintf(installed, sizeof installed, "%s/forms", cf_paths_installed_dir());
    size_t n = 0;
    if (forms_dir && *forms_dir)
        add_dir(dirs, &n, forms_dir, "--forms-dir");
    if (env_forms_dir())
        add_dir(dirs, &n, env_forms_dir(), "$CONSENTFORM_FORMS");
    add_dir(dirs, &n, installed, "installed");
    /* Only a binary run from its build tree reads the source tree: an installed or copied one
     * never prints a developer's unreviewed forms. */
    if (cf_paths_source_dir()) {
        snprintf(source, sizeof source, "%s/forms", cf_paths_source_dir());
        add_dir(dirs, &n, source, "source tree");
    }
    return n;
}

const char *cf_form_default_dir(const char *forms_dir)
{
    cf_forms_dir dirs[CF_FORMS_DIRS_MAX];
    size_t n = cf_form_search_dirs(forms_dir, dirs);
    for (size_t i = 0; i < n; i++)
        if (i == 0 && forms_dir && *forms_dir)
            return dirs[i].path;
        else if (is_directory(dirs[i].path))
            return dirs[i].path;
    return NULL;
}

/* "lower-case letters, digits and '-'", not starting with '-' (it would read as an option). */
static bool looks_like_id(const char *s)
{
    if (!*s || *s == '-')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return false;
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* dir/name; NULL when out of memory. Caller frees with cf_free. */
static char *join(const char *dir, const char *name)
{
    size_t size = strlen(dir) + strlen(name) + 2;
    char *path = cf_malloc(size);
    if (path)
        snprintf(path, size, "%s/%s", dir, name);
    return path;
}

char *cf_form_resolve(const char *form, const char *forms_dir, cf_diag *diag)
{
    if (!form || !*form) {
        cf_diag_error(diag, NULL, 0, "no form given: name a form id or a path to a .xml file");
        return NULL;
    }
    if (strchr(form, '/') || ends_with(form, ".xml")) {
        char *copy = cf_strdup(form);
        if (!copy)
            cf_diag_error(diag, form, 0, "out of memory");
        return copy;
    }
    if (!looks_like_id(form)) {
        cf_diag_error(diag, NULL, 0,
                      "\"%s\" is neither a form id (lower-case letters, digits and \"-\") nor "
                      "a path to a .xml file",
                      form);
        return NULL;
    }
    cf_forms_dir dirs[CF_FORMS_DIRS_MAX];
    size_t n_dirs = cf_form_search_dirs(forms_dir, dirs);

    size_t name_size = strlen(form) + sizeof ".xml";
    char *name = cf_malloc(name_size);
    if (!name) {
        cf_diag_error(diag, form, 0, "out of memory");
        return NULL;
    }
    snprintf(name, name_size, "%s.xml", form);
    char *found = NULL;
    const char *found_origin = NULL;
    char looked[2048] = "";
    size_t used = 0;
    for (size_t i = 0; i < n_dirs; i++) {
        char *path = join(dirs[i].path, name);
        if (!path) {
            cf_diag_error(diag, form, 0, "out of memory");
            cf_free(found);
            found = NULL;
            break;
        }
        if (is_regular_file(path)) {
            if (!found) {
                found = path;
                found_origin = dirs[i].origin;
                continue;
            }
            /* The first copy wins, but never silently. */
            cf_diag_warning(diag, found, 0,
                            "form \"%s\" exists in more than one place: using this copy (%s), "
                            "not %s (%s)",
                            form, found_origin, path, dirs[i].origin);
        } else if (!found) {
            int w =
                snprintf(looked + used, sizeof looked - used, "%s%s", i ? ", " : "", dirs[i].path);
            if (w > 0 && (size_t)w < sizeof looked - used)
                used += (size_t)w;
        }
        cf_free(path);
    }
    if (!found) {
        char hint[CF_FORM_ID_SUGGESTION_MAX + 32] = "";
        char best[CF_FORM_ID_SUGGESTION_MAX];
        if (cf_form_suggest_id(form, forms_dir, best, sizeof best))
            snprintf(hint, sizeof hint, "; did you mean %s?", best);
        cf_diag_error(diag, NULL, 0, "form \"%s\" not found (looked for %s in %s)%s", form, name,
                      looked, hint);
    }
    cf_free(name);
    return found;
}

/* Calls visit(id, dir, ctx) for each "<id>.xml" in dir whose id looks like a form id. */
static void each_form_id(const char *dir, void (*visit)(const char *id, void *ctx), void *ctx)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char id[256];
        size_t len = strlen(e->d_name);
        if (len < 5 || len - 4 >= sizeof id || !ends_with(e->d_name, ".xml"))
            continue;
        memcpy(id, e->d_name, len - 4);
        id[len - 4] = '\0';
        if (looks_like_id(id))
            visit(id, ctx);
    }
    closedir(d);
}

typedef struct id_suggestion {
    cf_suggestion suggestion;
    char best[CF_FORM_ID_SUGGESTION_MAX]; /* the suggestion keeps a pointer to this copy */
} id_suggestion;

static void suggest_visit(const char *id, void *ctx)
{
    id_suggestion *s = ctx;
    size_t len = strlen(id);
    if (len >= sizeof s->best)
        return;
    const char *before = cf_suggestion_get_best(&s->suggestion);
    cf_suggestion_add(&s->suggestion, id);
    if (cf_suggestion_get_best(&s->suggestion) != before) {
        memcpy(s->best, id, len + 1);
        s->suggestion.best = s->best;
    }
}

bool cf_form_suggest_id(const char *typed, const char *forms_dir, char *out, size_t out_size)
{
    cf_forms_dir dirs[CF_FORMS_DIRS_MAX];
    size_t n = cf_form_search_dirs(forms_dir, dirs);
    id_suggestion s;
    cf_suggestion_init(&s.suggestion, typed);
    s.best[0] = '\0';
    for (size_t i = 0; i < n; i++)
        each_form_id(dirs[i].path, suggest_visit, &s);
    if (!cf_suggestion_get_best(&s.suggestion) || out_size == 0)
        return false;
    snprintf(out, out_size, "%s", s.best);
    return true;
}

static char schema_path[PATH_MAX];

static void find_schema(void)
{
    snprintf(schema_path, sizeof schema_path, "%s/forms/" SCHEMA_RELATIVE, cf_paths_data_dir());
}

const char *cf_form_schema_path(void)
{
    /* The schema belongs to the program, not to a forms folder: a folder of forms cannot
     * bring its own rules. */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, find_schema);
    return schema_path;
}
