/* The form model's small helpers: frequency names, field lookup, freeing, and where forms and
 * the schema are found. */
#include "form/form.h"
#include "form/form_internal.h"

#include "base/alloc.h"
#include "base/arena.h"

#include "cf_config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA_RELATIVE "schema/consent-form.rng"
#define INSTALLED_FORMS CF_DATADIR "/forms"
#define SOURCE_FORMS CF_SOURCE_DIR "/forms"

static const char *const frequency_names[CF_FREQ_COUNT] = {
    [CF_FREQ_VERY_COMMON] = "very-common", [CF_FREQ_COMMON] = "common",
    [CF_FREQ_UNCOMMON] = "uncommon",       [CF_FREQ_RARE] = "rare",
    [CF_FREQ_VERY_RARE] = "very-rare",     [CF_FREQ_UNKNOWN] = "unknown",
};

const char *cf_frequency_name(cf_frequency frequency)
{
    if ((unsigned)frequency >= CF_FREQ_COUNT)
        return NULL;
    return frequency_names[frequency];
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

const char *cf_form_default_dir(const char *forms_dir)
{
    if (forms_dir && *forms_dir)
        return forms_dir;
    const char *env = env_forms_dir();
    if (env)
        return env;
    if (is_directory(INSTALLED_FORMS))
        return INSTALLED_FORMS;
    if (is_directory(SOURCE_FORMS))
        return SOURCE_FORMS;
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
    const char *dirs[4];
    size_t n_dirs = 0;
    if (forms_dir && *forms_dir)
        dirs[n_dirs++] = forms_dir;
    if (env_forms_dir())
        dirs[n_dirs++] = env_forms_dir();
    dirs[n_dirs++] = INSTALLED_FORMS;
    dirs[n_dirs++] = SOURCE_FORMS;

    size_t name_size = strlen(form) + sizeof ".xml";
    char *name = cf_malloc(name_size);
    if (!name) {
        cf_diag_error(diag, form, 0, "out of memory");
        return NULL;
    }
    snprintf(name, name_size, "%s.xml", form);
    char looked[2048] = "";
    size_t used = 0;
    for (size_t i = 0; i < n_dirs; i++) {
        char *path = join(dirs[i], name);
        if (!path) {
            cf_diag_error(diag, form, 0, "out of memory");
            break;
        }
        if (is_regular_file(path)) {
            cf_free(name);
            return path;
        }
        cf_free(path);
        int w = snprintf(looked + used, sizeof looked - used, "%s%s", i ? ", " : "", dirs[i]);
        if (w > 0 && (size_t)w < sizeof looked - used)
            used += (size_t)w;
    }
    cf_diag_error(diag, NULL, 0, "form \"%s\" not found (looked for %s in %s)", form, name, looked);
    cf_free(name);
    return NULL;
}

static pthread_once_t schema_once = PTHREAD_ONCE_INIT;
static char env_schema[4096]; /* $CONSENTFORM_FORMS/schema/consent-form.rng, or "" */

static void find_env_schema(void)
{
    const char *env = env_forms_dir();
    if (!env)
        return;
    int w = snprintf(env_schema, sizeof env_schema, "%s/%s", env, SCHEMA_RELATIVE);
    if (w < 0 || (size_t)w >= sizeof env_schema)
        env_schema[0] = '\0'; /* too long to be a real directory: not used */
}

const char *cf_form_schema_path(void)
{
    pthread_once(&schema_once, find_env_schema);
    if (env_schema[0] && is_regular_file(env_schema))
        return env_schema;
    if (is_regular_file(INSTALLED_FORMS "/" SCHEMA_RELATIVE))
        return INSTALLED_FORMS "/" SCHEMA_RELATIVE;
    return SOURCE_FORMS "/" SCHEMA_RELATIVE;
}
