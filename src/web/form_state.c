/* What a serve process makes once per form and keeps (see web_internal.h: cf_web_form_state),
 * and each pool thread's glyph cache. */
#include "base/alloc.h"
#include "render/document.h"
#include "web/web_internal.h"

#include <stdio.h>
#include <string.h>

/* Frees a state (also a half-made one). */
static void state_free(cf_web_form_state *fs)
{
    if (fs == NULL)
        return;
    cf_pdf_fonts_free(fs->run_fonts);
    for (int f = 0; f < CF_FONT_STYLE_COUNT; f++)
        cf_codepoints_free(fs->base[f]);
    cf_layout_cache_free(fs->layout_cache);
    cf_free(fs);
}

/* Makes the state of form with fonts: the characters every document of the form draws, the
 * fonts subset, checked and compressed from them (as a batch does), and an empty body cache;
 * each only when enabled. NULL when it cannot be made (the issue then goes the uncached way). */
static cf_web_form_state *state_new(const cf_form *form, const cf_fontset *fonts,
                                    const char *fingerprint)
{
    cf_web_form_state *fs = cf_calloc(1, sizeof *fs);
    if (fs == NULL)
        return NULL;
    snprintf(fs->form_id, sizeof fs->form_id, "%s", form->id);
    snprintf(fs->form_version, sizeof fs->form_version, "%s", form->version);
    snprintf(fs->fingerprint, sizeof fs->fingerprint, "%s", fingerprint);
    fs->fonts = fonts;
    cf_status st = CF_OK;
    if (cf_pdf_fonts_enabled()) {
        /* Messages of a failure here are not the request's: it is issued without them. */
        cf_diag *quiet = cf_diag_new();
        st = quiet != NULL ? CF_OK : CF_ERR_NOMEM;
        for (int f = 0; f < CF_FONT_STYLE_COUNT && st == CF_OK; f++)
            if ((fs->base[f] = cf_codepoints_new()) == NULL)
                st = CF_ERR_NOMEM;
        if (st == CF_OK)
            st = cf_document_font_base(form, fonts, CF_PAPER_A4, fs->base, quiet);
        if (st == CF_OK)
            st = cf_pdf_fonts_new(fonts, (const cf_codepoints *const *)fs->base, &fs->run_fonts,
                                  quiet);
        cf_diag_free(quiet);
    }
    if (st == CF_OK && cf_layout_cache_enabled() &&
        (fs->layout_cache = cf_layout_cache_new()) == NULL)
        st = CF_ERR_NOMEM;
    if (st != CF_OK) {
        state_free(fs);
        return NULL;
    }
    return fs;
}

const cf_web_form_state *cf_web_form_state_get(cf_web_server *s, const cf_form *form,
                                               const cf_fontset *fonts, const char *fingerprint)
{
    if (fingerprint == NULL || strlen(fingerprint) != CF_SHA256_HEX_SIZE - 1)
        return NULL;
    cf_web_form_state *found = NULL;
    pthread_mutex_lock(&s->states_lock);
    for (size_t i = 0; i < s->n_states && found == NULL; i++) {
        cf_web_form_state *fs = s->states[i];
        if (fs->fonts == fonts && strcmp(fs->form_id, form->id) == 0 &&
            strcmp(fs->form_version, form->version) == 0 &&
            strcmp(fs->fingerprint, fingerprint) == 0)
            found = fs;
    }
    /* Made under the lock: on a form's first use only, and a second thread asking for it
     * waits for it instead of making its own. A form text that changed under the same id and
     * version has another fingerprint, so it never meets the state of the old text. */
    if (found == NULL && s->n_states < CF_WEB_STATES_MAX &&
        strlen(form->id) < sizeof found->form_id &&
        strlen(form->version) < sizeof found->form_version &&
        (found = state_new(form, fonts, fingerprint)) != NULL)
        s->states[s->n_states++] = found;
    pthread_mutex_unlock(&s->states_lock);
    return found;
}

void cf_web_form_states_free(cf_web_server *s)
{
    for (size_t i = 0; i < s->n_states; i++) {
        cf_web_form_state *fs = s->states[i];
        /* What the body cache saved, for the log (no patient value in it). */
        if (fs->layout_cache != NULL) {
            size_t hits = 0, misses = 0;
            cf_layout_cache_stats(fs->layout_cache, &hits, &misses);
            fprintf(stderr, "consentform: %s %s: %zu bodies reused, %zu laid out\n", fs->form_id,
                    fs->form_version, hits, misses);
        }
        state_free(fs);
    }
    s->n_states = 0;
}

static void glyph_cache_free(void *cache)
{
    cf_glyph_cache_free(cache);
}

cf_status cf_web_glyph_caches_init(cf_web_server *s)
{
    return pthread_key_create(&s->glyph_cache_key, glyph_cache_free) == 0 ? CF_OK : CF_ERR_NOMEM;
}

cf_glyph_cache *cf_web_glyph_cache(cf_web_server *s)
{
    cf_glyph_cache *cache = pthread_getspecific(s->glyph_cache_key);
    if (cache == NULL && (cache = cf_glyph_cache_new()) != NULL &&
        pthread_setspecific(s->glyph_cache_key, cache) != 0) {
        cf_glyph_cache_free(cache);
        cache = NULL;
    }
    return cache; /* NULL: slower, the same bytes */
}
