/* In-process render benchmark: loads FORM once, then lays out and renders it for N synthetic
 * patients on one thread, each document alone and then as a run (a batch's way: the form's
 * glyphs compressed once), and prints ms per document, documents per second and KB per PDF.
 * Not a test: bench/render.sh runs it and prints the figures. */
#include "base/alloc.h"
#include "base/diag.h"
#include "data/field_rules.h"
#include "data/record.h"
#include "form/form.h"
#include "layout/layout.h"
#include "render/document.h"
#include "render/render_pdf.h"
#include "text/font.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Lays out and renders form for n synthetic patients and prints the figures. */
static int run(const cf_form *form, const cf_fontset *fonts, long n,
               const cf_render_options *options, const char *label, cf_diag *diag)
{
    static const char *const names[] = {"陳大文", "李志堃", "張喆", "黃燊", "何淼", "CHAN Tai Man"};
    size_t bytes = 0, pages = 0;
    double t_layout = 0, t_pdf = 0;
    double t0 = now_ms();
    for (long i = 0; i < n; i++) {
        char hn[32], ep[32];
        snprintf(hn, sizeof hn, "HN%08ld(%ld)", 10000000 + i, i % 10);
        snprintf(ep, sizeof ep, "HE%07ld", 1000000 + i);
        cf_record *r = cf_record_new(NULL, 0);
        cf_record_set(r, "patient_name", names[i % 6]);
        cf_record_set(r, "hospital_no", hn);
        cf_record_set(r, "episode_no", ep);
        cf_layout_options lo = {
            .paper = CF_PAPER_A4, .document_id = "7K3QJ2M9XW4TB", .created = 1767225600};
        cf_display_list *list = NULL;
        unsigned char *pdf = NULL;
        size_t len = 0;
        double a = now_ms();
        if (cf_record_check(form, r, fonts, false, diag) != CF_OK ||
            cf_layout(form, r, fonts, &lo, &list, diag) != CF_OK)
            return 1;
        double b = now_ms();
        if (cf_render_pdf_with(list, options, &pdf, &len, diag) != CF_OK)
            return 1;
        t_layout += b - a;
        t_pdf += now_ms() - b;
        bytes += len;
        pages += list->n_pages;
        cf_free(pdf);
        cf_display_list_free(list);
        cf_record_free(r);
    }
    double t = now_ms() - t0;
    printf("  %s: %ld documents of %.1f pages in %.0f ms: %.2f ms per document (check + layout "
           "%.2f, PDF %.2f), %.0f documents/s, %.1f KB per PDF\n",
           label, n, n > 0 ? (double)pages / (double)n : 0.0, t, n > 0 ? t / (double)n : 0.0,
           n > 0 ? t_layout / (double)n : 0.0, n > 0 ? t_pdf / (double)n : 0.0,
           t > 0 ? (double)n * 1000.0 / t : 0.0, n > 0 ? (double)bytes / (double)n / 1024.0 : 0.0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_render FORM [N]\n");
        return 64;
    }
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 1000;
    cf_diag *diag = cf_diag_new();
    cf_diag_set_echo(diag, stderr);
    cf_form *form = NULL;
    const cf_fontset *fonts = NULL;
    char *path = cf_form_resolve(argv[1], NULL, diag);
    double t0 = now_ms();
    if (path == NULL || cf_form_load(path, NULL, &form, diag) != CF_OK ||
        cf_fontset_get(form->region, &fonts, diag) != CF_OK ||
        cf_document_preflight(form, fonts, diag) != CF_OK)
        return 65;
    double t_setup = now_ms() - t0;
    cf_codepoints *base[CF_FONT_STYLE_COUNT] = {cf_codepoints_new(), cf_codepoints_new()};
    t0 = now_ms();
    if (cf_document_font_base(form, fonts, CF_PAPER_A4, base, diag) != CF_OK)
        return 70;
    double t_base = now_ms() - t0;
    cf_glyph_cache *cache = cf_glyph_cache_new();
    cf_render_options run_options = {.base = {base[0], base[1]}, .glyph_cache = cache};
    printf("form %s: set-up (load form + fonts) %.1f ms; font base for a run %.1f ms\n", form->id,
           t_setup, t_base);
    /* Alone: what one `render` does for its document. In a run: what each document of a batch
     * costs, with the form's glyphs compressed once (cf_render_options). */
    for (int mode = 0; mode < 2; mode++) {
        if (run(form, fonts, n, mode ? &run_options : NULL, mode ? "in a run" : "alone", diag))
            return 70;
    }
    cf_glyph_cache_free(cache);
    cf_codepoints_free(base[0]);
    cf_codepoints_free(base[1]);
    cf_form_free(form);
    cf_free(path);
    cf_diag_free(diag);
    cf_fontset_release_all();
    return 0;
}
