/* Glyph outlines as SVG path data, read with HarfBuzz 6's hb_font_get_glyph_shape (the call
 * that later versions rename hb_font_draw_glyph). */
#include "text/outline.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "text/font_internal.h"

#include <hb.h>

#include <math.h>
#include <stdbool.h>

/* An outline may not grow beyond this (a hostile font's glyph). */
#define OUTLINE_LIMIT ((size_t)4 << 20)

typedef struct path_sink {
    cf_buf d;
    cf_status status; /* first error; sticky */
    bool after_op;    /* the last thing written is an operator letter */
} path_sink;

/* Appends v rounded to a whole font unit (1/1000 em or finer: far below a printer dot at any
 * size a form uses), after a space unless it follows the operator letter. */
static void put_coord(path_sink *s, float v)
{
    if (s->status != CF_OK)
        return;
    double r = round((double)v);
    if (!(fabs(r) < 1e9))
        r = 0; /* NaN or absurd: never from a real glyph */
    cf_status st = cf_buf_printf(&s->d, s->after_op ? "%ld" : " %ld", (long)r);
    s->after_op = false;
    if (st != CF_OK)
        s->status = st;
}

static void put_op(path_sink *s, char op)
{
    if (s->status == CF_OK) {
        cf_status st = cf_buf_putc(&s->d, op);
        if (st != CF_OK)
            s->status = st;
        s->after_op = true;
    }
}

static void move_to(hb_draw_funcs_t *funcs, void *data, hb_draw_state_t *state, float x, float y,
                    void *user)
{
    (void)funcs, (void)state, (void)user;
    path_sink *s = data;
    put_op(s, 'M');
    put_coord(s, x);
    put_coord(s, y);
}

static void line_to(hb_draw_funcs_t *funcs, void *data, hb_draw_state_t *state, float x, float y,
                    void *user)
{
    (void)funcs, (void)state, (void)user;
    path_sink *s = data;
    put_op(s, 'L');
    put_coord(s, x);
    put_coord(s, y);
}

static void quadratic_to(hb_draw_funcs_t *funcs, void *data, hb_draw_state_t *state, float cx,
                         float cy, float x, float y, void *user)
{
    (void)funcs, (void)state, (void)user;
    path_sink *s = data;
    put_op(s, 'Q');
    put_coord(s, cx);
    put_coord(s, cy);
    put_coord(s, x);
    put_coord(s, y);
}

static void cubic_to(hb_draw_funcs_t *funcs, void *data, hb_draw_state_t *state, float c1x,
                     float c1y, float c2x, float c2y, float x, float y, void *user)
{
    (void)funcs, (void)state, (void)user;
    path_sink *s = data;
    put_op(s, 'C');
    put_coord(s, c1x);
    put_coord(s, c1y);
    put_coord(s, c2x);
    put_coord(s, c2y);
    put_coord(s, x);
    put_coord(s, y);
}

static void close_path(hb_draw_funcs_t *funcs, void *data, hb_draw_state_t *state, void *user)
{
    (void)funcs, (void)state, (void)user;
    put_op(data, 'Z');
}

unsigned cf_font_glyph_of(const cf_font *font, uint32_t cp)
{
    return cf_font_glyph(font, cp);
}

unsigned cf_font_glyph_total(const cf_font *font)
{
    return font->glyph_count;
}

cf_status cf_font_glyph_outline(const cf_font *font, unsigned glyph, char **d, size_t *len)
{
    *d = NULL;
    *len = 0;
    path_sink sink = {.status = CF_OK};
    cf_buf_init(&sink.d, OUTLINE_LIMIT);
    /* Draw functions are cheap to make; one per call keeps this free of shared state. */
    hb_draw_funcs_t *funcs = hb_draw_funcs_create();
    hb_draw_funcs_set_move_to_func(funcs, move_to, NULL, NULL);
    hb_draw_funcs_set_line_to_func(funcs, line_to, NULL, NULL);
    hb_draw_funcs_set_quadratic_to_func(funcs, quadratic_to, NULL, NULL);
    hb_draw_funcs_set_cubic_to_func(funcs, cubic_to, NULL, NULL);
    hb_draw_funcs_set_close_path_func(funcs, close_path, NULL, NULL);
    hb_draw_funcs_make_immutable(funcs);
    if (glyph < font->glyph_count)
        hb_font_get_glyph_shape(font->hb, glyph, funcs, &sink);
    hb_draw_funcs_destroy(funcs);
    if (sink.status != CF_OK) {
        cf_buf_cleanup(&sink.d);
        return sink.status;
    }
    *d = cf_buf_take(&sink.d, len);
    if (*d == NULL) /* an empty outline still yields a string the caller owns */
        *d = cf_calloc(1, 1);
    return *d != NULL ? CF_OK : CF_ERR_NOMEM;
}
