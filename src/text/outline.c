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
    char last_op;     /* the last operator letter written, 0 at the start */
    bool after_op;    /* the last thing written is an operator letter */
    long x, y;        /* the current point, rounded as written */
} path_sink;

/* Appends n, after a space unless it follows the operator letter or starts with '-' (both
 * separate numbers already). */
static void put_int(path_sink *s, long n)
{
    if (s->status != CF_OK)
        return;
    cf_status st = cf_buf_printf(&s->d, s->after_op || n < 0 ? "%ld" : " %ld", n);
    s->after_op = false;
    if (st != CF_OK)
        s->status = st;
}

/* v rounded to a whole font unit (1/1000 em or finer: far below a printer dot at any size a
 * form uses). */
static long whole(float v)
{
    double r = round((double)v);
    return fabs(r) < 1e9 ? (long)r : 0; /* NaN or absurd: never from a real glyph */
}

/* Appends the operator letter, left out when it repeats the last one (SVG then applies the
 * same command again), except for moves (a repeated move would mean a line). */
static void put_op(path_sink *s, char op)
{
    if (s->status != CF_OK || (op == s->last_op && op != 'M'))
        return;
    cf_status st = cf_buf_putc(&s->d, op);
    if (st != CF_OK)
        s->status = st;
    s->last_op = op;
    s->after_op = true;
}

/* Appends the point (x, y) relative to the current point (relative commands: their numbers
 * are short, and every glyph is drawn in the same few hundred units). */
static void put_relative(path_sink *s, float x, float y)
{
    put_int(s, whole(x) - s->x);
    put_int(s, whole(y) - s->y);
}

/* Ends a segment at (x, y): the new current point. */
static void end_segment(path_sink *s, float x, float y)
{
    put_relative(s, x, y);
    s->x = whole(x);
    s->y = whole(y);
}

/* Moves are absolute, so that a subpath never depends on where the last one closed. */
static void move_to(hb_draw_funcs_t *funcs, void *data, hb_draw_state_t *state, float x, float y,
                    void *user)
{
    (void)funcs, (void)state, (void)user;
    path_sink *s = data;
    put_op(s, 'M');
    s->x = 0;
    s->y = 0;
    end_segment(s, x, y);
}

static void line_to(hb_draw_funcs_t *funcs, void *data, hb_draw_state_t *state, float x, float y,
                    void *user)
{
    (void)funcs, (void)state, (void)user;
    path_sink *s = data;
    put_op(s, 'l');
    end_segment(s, x, y);
}

static void quadratic_to(hb_draw_funcs_t *funcs, void *data, hb_draw_state_t *state, float cx,
                         float cy, float x, float y, void *user)
{
    (void)funcs, (void)state, (void)user;
    path_sink *s = data;
    put_op(s, 'q');
    put_relative(s, cx, cy);
    end_segment(s, x, y);
}

static void cubic_to(hb_draw_funcs_t *funcs, void *data, hb_draw_state_t *state, float c1x,
                     float c1y, float c2x, float c2y, float x, float y, void *user)
{
    (void)funcs, (void)state, (void)user;
    path_sink *s = data;
    put_op(s, 'c');
    put_relative(s, c1x, c1y);
    put_relative(s, c2x, c2y);
    end_segment(s, x, y);
}

/* The current point goes back to the subpath's start; the next subpath starts with an
 * absolute move, so it need not be tracked. */
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
