/* Unit tests of the body cache (src/layout/layout_cache.c, issue 17 item 2): a varied list of
 * a few hundred rows over both shipped forms (everyday, long, HKSCS and Latin names, names that
 * share no character with the form; for the DPN consent every pattern of the ticked procedures
 * and sites, the side, the inline fields set, empty, long and in characters the form lacks;
 * blank forms; both papers; padding on and off), and a form in memory whose five-field label
 * box grows with long values, is laid out through one shared cache and afresh
 * without one, and the two display lists must be the same: the dumps byte for byte and every
 * item to a millionth of a point. The cache must be used (hits), a row whose body inputs are
 * new must miss, a row that repeats the row before but for the patient's identity must hit;
 * pages with the same shared_id must share their first n_shared items; and two threads laying
 * out the list through a second cache must get the same lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "base/diag.h"
#include "data/field_rules.h"
#include "data/record.h"
#include "form/form.h"
#include "layout/layout.h"
#include "test_util.h"
#include "text/font.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREATED 1767225600LL

/* ---- the varied list --------------------------------------------------------------------- */

/* Patient names: everyday, HKSCS beyond U+FFFF, none of whose characters the forms use, Latin,
 * long enough to shrink in the label box, long enough to take two lines there. */
static const char *const names[] = {
    "陳大文",
    "李𠝹明",
    "鑫燚犇",
    "龘麤彧",
    "歐陽𡃁𨋢",
    "CHAN Tai Man",
    "WONG Ah Keung \"Johnny\" 黃阿強",
    "MONTGOMERY-WORTHINGTON Christopher Alexander Bartholomew",
    "司徒𠵱𡁻𠱁",
    "張喆",
    "ZYGMUNTOWICZ Quentin",
    "Ng Yuk-kwan 吳玉坤",
    "歐陽鑫燚犇龘麤彧淼燊峯邨喆堃",
    "O'BRIEN Siobhan 𠝹",
    "CHAN Tai Man Peter Alexander Wong",
    "CHAN Tai Man Peter Alexander Wong Siu Ming Christopher Montgomery",
    "何家燊",
    "Zoë ÅNGSTRÖM-Müller",
};
#define N_NAMES (sizeof names / sizeof names[0])

/* The DPN consent's inline fields: unset (NULL), empty, short, long (wraps the paragraph
 * differently), characters no form text has. */
static const char *const diagnoses[] = {
    NULL,
    "",
    "糖尿病周邊神經病變",
    "第二型糖尿病合併雙側下肢疼痛性周邊神經病變（Painful diabetic peripheral neuropathy of "
    "both lower limbs, suspected tarsal tunnel entrapment on the left, worse at night）",
    "鑫燚犇𠝹 neuropathy",
};
static const char *const doctors[] = {
    NULL, "", "林醫師", "MONTGOMERY-WORTHINGTON Christopher Alexander 歐陽鑫燚", "龘麤彧",
};
static const char *const dates[] = {NULL, "", "2026-12-01", "2027-02-28"};
static const char *const fees[] = {
    NULL,       "", "3,000", "12,000（含 PRP 套組及超音波導引費用，分三次療程，每次 4,000 元）",
    "𠝹鑫 800",
};
static const char *const procedure_keys[] = {"d5w", "prp", "botox"};
static const char *const site_keys[] = {"tarsal_tunnel", "common_peroneal", "tibial_branches",
                                        "other"};
static const char *const sides[] = {NULL, "left", "right", "both"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

typedef struct row {
    int form;          /* 0 nerve-root-injection, 1 dpn-injection-consent */
    cf_record *record; /* NULL on a blank form */
    cf_layout_options options;
    char document_id[16];
    char desc[1024];     /* what the row is, for messages */
    char body_key[2048]; /* what the body depends on but the name (empty == unset) */
    char values[2048];   /* every value set, as given (an empty one too) */
    char full_key[8192]; /* body_key, values, the name and the padding: equal = the same body */
    cf_status status;    /* of the fresh layout */
    char *dump;          /* of the fresh layout; NULL when it failed */
    size_t dump_len;
} row;

typedef struct fixture {
    cf_form *forms[3];
    const cf_fontset *fonts[3];
    row *rows;
    size_t n_rows, cap_rows;
} fixture;

static cf_form *load(const char *rel)
{
    char path[4096];
    cf_diag *diag = cf_diag_new();
    cf_diag_set_echo(diag, stderr);
    cf_form *form = NULL;
    cf_status st = cf_form_load(test_source_path(path, sizeof path, rel), NULL, &form, diag);
    cf_diag_free(diag);
    assert_int_equal(st, CF_OK);
    return form;
}

#define P1                                                                                                                                       \
    "<p>"                                                                                                                                        \
    "關節腔注射是把藥物注射到關節內的治療，可減輕關節發炎引起的疼痛及腫脹，效果因人而異，一般可維" \
    "持數星期至數月，醫生會按你的情況決定是否需要再次注射。</p>"
#define P5 P1 P1 P1 P1 P1
#define P20 P5 P5 P5 P5

/* A form whose label box has five fields, so that long values make it taller and the body
 * start lower on the first page (the shipped forms' three fields always fit its minimum
 * height); a ticked procedure filters a note, a field is set inline, and the body takes two
 * pages. */
static const char tall_label_head[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<form id=\"tall-label\" version=\"1.0\" kind=\"leaflet\" xml:lang=\"zh-Hant-HK\">"
    "<meta><title>關節腔注射</title><status state=\"draft\"/></meta>"
    "<label caption=\"Patient's Label\">"
    "<label-field key=\"patient_name\" caption=\"Patient Name\" required=\"true\"/>"
    "<label-field key=\"hospital_no\" caption=\"Hospital No\" required=\"true\"/>"
    "<label-field key=\"episode_no\" caption=\"Episode No\"/>"
    "<label-field key=\"ward\" caption=\"Ward\"/>"
    "<label-field key=\"bed\" caption=\"Bed\"/></label>"
    "<fields><field key=\"procedures\" type=\"multi-choice\" caption=\"治療項目\">"
    "<option key=\"knee\">膝關節注射</option><option key=\"hip\">髖關節注射</option></field>"
    "<field key=\"doctor\" type=\"text\" caption=\"醫生\"/></fields>"
    "<body><section id=\"intro\" title=\"簡介\">"
    "<p>醫生 <field ref=\"doctor\"/> 會為你進行關節腔注射，一般需時約 15 分鐘。</p>"
    "<checkboxes field=\"procedures\"><prompt>治療項目：</prompt></checkboxes>"
    "<note kind=\"warning\" title=\"膝關節\" "
    "applies-to=\"knee\"><p>注射後兩天內避免長時間步行及上落樓梯，"
    "如膝部紅腫發熱請立即求診。</p></note>"
    "<note title=\"髖關節\" applies-to=\"hip\"><p>注射在 X "
    "光或超聲波導引下進行，完成後請休息三十分鐘。</p></note>";
static const char tall_label_para[] =
    "<p>關節腔注射是把藥物注射到關節內的治療，可減輕關節發炎引起的疼痛及腫脹，效果因人而異，"
    "一般可維持數星期至數月，醫生會按你的情況決定是否需要再次注射。</p>";
static const char tall_label_tail[] = "</section></body></form>";

static void append(char *dst, size_t size, const char *fmt, ...)
{
    size_t used = strlen(dst);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst + used, size - used, fmt, ap);
    va_end(ap);
}

static row *new_row(fixture *fx, int form, cf_paper paper, bool blank, bool pad)
{
    if (fx->n_rows == fx->cap_rows) {
        fx->cap_rows = fx->cap_rows ? fx->cap_rows * 2 : 256;
        fx->rows = realloc(fx->rows, fx->cap_rows * sizeof *fx->rows);
        assert_non_null(fx->rows);
    }
    row *r = &fx->rows[fx->n_rows];
    memset(r, 0, sizeof *r);
    r->form = form;
    snprintf(r->document_id, sizeof r->document_id, "7K3QJ%04zuXW4T", fx->n_rows);
    r->options = (cf_layout_options){.paper = paper,
                                     .blank = blank,
                                     .document_id = NULL, /* set once the rows stay put */
                                     .created = CREATED,
                                     .pad_to_even = pad};
    const char *paper_name = paper == CF_PAPER_A4 ? "a4" : "letter";
    snprintf(r->desc, sizeof r->desc, "row %zu: %s %s%s%s", fx->n_rows + 1,
             form == 0   ? "nerve-root-injection"
             : form == 1 ? "dpn-injection-consent"
                         : "tall-label",
             paper_name, blank ? " blank" : "", pad ? " pad-to-even" : "");
    snprintf(r->body_key, sizeof r->body_key, "%d|%s|%d", form, paper_name, blank);
    if (!blank) {
        r->record = cf_record_new("varied list", (long)fx->n_rows + 2);
        assert_non_null(r->record);
    }
    fx->n_rows++;
    return r;
}

/* Sets key to value (NULL: left unset) and notes it in the row's description and body key. */
static void set(row *r, const char *key, const char *value, bool body)
{
    if (value == NULL)
        return;
    assert_int_equal(cf_record_set(r->record, key, value), CF_OK);
    append(r->desc, sizeof r->desc, " %s=\"%s\"", key, value);
    append(r->values, sizeof r->values, "|%s=\"%s\"", key, value);
    if (body && value[0] != '\0')
        append(r->body_key, sizeof r->body_key, "|%s=%s", key, value);
}

/* The patient's identity: label fields that never change the label box's height (the same
 * number of characters on every row), different on every row. */
static void identity(fixture *fx, row *r)
{
    char hn[32], other[32];
    unsigned n = (unsigned)fx->n_rows;
    snprintf(hn, sizeof hn, "HN%08u(%u)", 30000000u + n * 7919u % 1000000u, n % 10u);
    assert_int_equal(cf_record_set(r->record, "hospital_no", hn), CF_OK);
    if (r->form != 1) {
        snprintf(other, sizeof other, "HE%07u", 2000000u + n);
        assert_int_equal(cf_record_set(r->record, "episode_no", other), CF_OK);
    } else {
        snprintf(other, sizeof other, "19%02u-%02u-%02u", 30u + n % 60u, 1u + n % 12u,
                 1u + n % 28u);
        assert_int_equal(cf_record_set(r->record, "birth_date", other), CF_OK);
    }
}

static void finish_row(row *r, const char *name)
{
    if (r->record != NULL) {
        assert_int_equal(cf_record_set(r->record, "patient_name", name), CF_OK);
        append(r->desc, sizeof r->desc, " patient_name=\"%s\"", name);
    }
}

static const char *join(const char *const *keys, size_t n, unsigned mask, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        if (mask & (1u << i))
            append(buf, size, "%s%s", buf[0] ? ";" : "", keys[i]);
    return buf;
}

static void dpn_values(row *r, unsigned i)
{
    char procs[64], sites[128];
    unsigned p = i % 8u, s = i / 8u % 16u;
    /* No procedure ticked and no site: sometimes unset, sometimes an empty column. */
    set(r, "procedures",
        p != 0 || i % 3u == 0 ? join(procedure_keys, 3, p, procs, sizeof procs) : NULL, true);
    set(r, "site", s != 0 || i % 5u == 0 ? join(site_keys, 4, s, sites, sizeof sites) : NULL, true);
    set(r, "side", sides[(i * 3u + i / 8u) % N(sides)], true);
    set(r, "diagnosis", diagnoses[i % N(diagnoses)], true);
    set(r, "doctor_name", doctors[(i / 2u) % N(doctors)], true);
    set(r, "procedure_date", dates[(i / 3u) % N(dates)], true);
    set(r, "fee", fees[(i / 5u) % N(fees)], true);
}

/* A copy of row src for another patient: the same name and values (those of DPN row i),
 * another identity. */
static void repeat_row(fixture *fx, size_t src, unsigned i, const char *name)
{
    row *s = &fx->rows[src];
    row *r = new_row(fx, s->form, s->options.paper, s->options.blank, s->options.pad_to_even);
    if (r->record != NULL) {
        identity(fx, r);
        if (r->form == 1)
            dpn_values(r, i);
    }
    finish_row(r, name);
    append(r->desc, sizeof r->desc, " (row %zu again, another patient)", src + 1);
}

static void make_rows(fixture *fx)
{
    /* The leaflet (max-pages 2: a name that takes two lines in the label box can change the
     * body size): every name on both papers, padding on and off, then on A4 again; every
     * third row of the first pass once more for another patient. */
    for (unsigned i = 0; i < 5 * N_NAMES; i++) { /* the fifth pass repeats the first */
        cf_paper paper = (i / N_NAMES) % 2 ? CF_PAPER_LETTER : CF_PAPER_A4;
        row *r = new_row(fx, 0, paper, false, (i / (2 * N_NAMES)) % 2 == 1);
        identity(fx, r);
        finish_row(r, names[i % N_NAMES]);
        if (i < N_NAMES && i % 3 == 0)
            repeat_row(fx, fx->n_rows - 1, i, names[i % N_NAMES]);
    }
    /* The DPN consent: every pattern of the procedures (3 options) and sites (4) ticked, each
     * with its own side, inline fields and name, on both papers, padded and not; every fourth
     * row once more for another patient. */
    for (unsigned i = 0; i < 128; i++) {
        row *r =
            new_row(fx, 1, (i / 16u) % 2 ? CF_PAPER_LETTER : CF_PAPER_A4, false, (i / 4u) % 2 == 1);
        identity(fx, r);
        dpn_values(r, i);
        const char *name = names[(i * 7u) % N_NAMES];
        finish_row(r, name);
        if (i % 4 == 3)
            repeat_row(fx, fx->n_rows - 1, i, name);
    }
    /* The same DPN values under names that make the label box (and the later pages' header)
     * of different heights, where the body starts lower: one line, shrunk, two lines, then
     * the first name again. */
    static const char *const label_names[] = {
        "陳大文",
        "CHAN Tai Man Peter Alexander Wong",
        "CHAN Tai Man Peter Alexander Wong Siu Ming Christopher Montgomery",
        "MONTGOMERY-WORTHINGTON Christopher Alexander Bartholomew",
        "陳大文",
    };
    static const unsigned configs[] = {0, 9, 62, 127};
    for (size_t c = 0; c < N(configs); c++)
        for (size_t k = 0; k < N(label_names); k++) {
            unsigned i = configs[c];
            row *r = new_row(fx, 1, (i / 16u) % 2 ? CF_PAPER_LETTER : CF_PAPER_A4, false,
                             (i / 4u) % 2 == 1);
            identity(fx, r);
            dpn_values(r, i);
            finish_row(r, label_names[k]);
        }
    /* The five-field label: for each procedure pattern, short values, then values on two
     * lines (a taller box, the body lower), then short ones again. */
    static const char *const wards[][3] = {
        {"7B", "12", "陳大文"},
        {"Orthopaedics and Traumatology Male Surgical Ward 7B North Block", "12", "陳大文"},
        {"Orthopaedics and Traumatology Male Surgical Ward 7B North Block",
         "Bed 12 by the window, next to the nurses' station of the north wing",
         "CHAN Tai Man Peter Alexander Wong Siu Ming Christopher Montgomery"},
        {"7C", "3", "李𠝹明"},
    };
    static const char *const patterns[] = {"knee", "hip", "knee;hip", ""};
    for (size_t pt = 0; pt < N(patterns); pt++)
        for (size_t k = 0; k < N(wards); k++) {
            row *r = new_row(fx, 2, CF_PAPER_A4, false, false);
            identity(fx, r);
            set(r, "ward", wards[k][0], false);
            set(r, "bed", wards[k][1], false);
            set(r, "procedures", patterns[pt], true);
            set(r, "doctor", pt % 2 ? "黃醫生" : NULL, true);
            finish_row(r, wards[k][2]);
        }
    /* Blank forms of both, on both papers, with and without padding, each twice. */
    for (int form = 0; form < 2; form++)
        for (unsigned k = 0; k < 8; k++) {
            row *r =
                new_row(fx, form, (k / 2u) % 2 ? CF_PAPER_LETTER : CF_PAPER_A4, true, k / 4u == 1);
            finish_row(r, "");
        }
    /* A name too long for the label box even on two lines: the same error both ways. */
    char huge[600] = "";
    for (int k = 0; k < 12; k++)
        strcat(huge, "Alexandria ");
    strcat(huge, "Wong");
    for (int form = 0; form < 2; form++) {
        row *r = new_row(fx, form, CF_PAPER_A4, false, false);
        identity(fx, r);
        finish_row(r, huge);
    }
}

/* ---- comparing ----------------------------------------------------------------------------- */

static void dump_of(const cf_display_list *list, char **dump, size_t *len)
{
    assert_int_equal(cf_display_list_dump(list, dump, len), CF_OK);
}

/* The first line where a and b differ: its number, and both lines (at most 300 bytes each). */
static void first_difference(const char *a, size_t alen, const char *b, size_t blen, char *out,
                             size_t size)
{
    size_t i = 0, line = 1, start = 0;
    while (i < alen && i < blen && a[i] == b[i]) {
        if (a[i] == '\n') {
            line++;
            start = i + 1;
        }
        i++;
    }
    const char *ea = memchr(a + start, '\n', alen - start),
               *eb = memchr(b + start, '\n', blen - start);
    int la = (int)((ea ? (size_t)(ea - a) : alen) - start),
        lb = (int)((eb ? (size_t)(eb - b) : blen) - start);
    snprintf(out, size, "line %zu:\n  cached: %.*s\n  fresh:  %.*s", line, la > 300 ? 300 : la,
             a + start, lb > 300 ? 300 : lb, b + start);
}

static bool near(double a, double b)
{
    return fabs(a - b) <= 1e-6;
}

/* Item for item, to a millionth of a point (the dump shows two decimals). Returns NULL when
 * the same, else what differs first (a static string). */
static const char *items_differ(const cf_display_list *a, const cf_display_list *b, size_t *page,
                                size_t *item)
{
    *page = *item = 0;
    if (!near(a->width, b->width) || !near(a->height, b->height) || a->n_pages != b->n_pages)
        return "page size or count";
    for (size_t p = 0; p < a->n_pages; p++) {
        *page = p + 1;
        if (a->pages[p].n_items != b->pages[p].n_items)
            return "number of items";
        for (size_t i = 0; i < a->pages[p].n_items; i++) {
            const cf_item *x = &a->pages[p].items[i], *y = &b->pages[p].items[i];
            *item = i + 1;
            if (x->kind != y->kind || !near(x->x, y->x) || !near(x->y, y->y))
                return "kind or position";
            switch (x->kind) {
            case CF_ITEM_TEXT:
                if (x->u.text.len != y->u.text.len ||
                    memcmp(x->u.text.utf8, y->u.text.utf8, x->u.text.len) != 0 ||
                    x->u.text.style != y->u.text.style || !near(x->u.text.size, y->u.text.size) ||
                    !near(x->u.text.char_spacing, y->u.text.char_spacing) ||
                    !near(x->u.text.gray, y->u.text.gray))
                    return "text";
                break;
            case CF_ITEM_LINE:
                if (!near(x->u.line.x2, y->u.line.x2) || !near(x->u.line.y2, y->u.line.y2) ||
                    !near(x->u.line.width, y->u.line.width) ||
                    !near(x->u.line.gray, y->u.line.gray) || x->u.line.dashed != y->u.line.dashed)
                    return "line";
                break;
            case CF_ITEM_RECT:
                if (!near(x->u.rect.w, y->u.rect.w) || !near(x->u.rect.h, y->u.rect.h) ||
                    !near(x->u.rect.stroke_width, y->u.rect.stroke_width) ||
                    !near(x->u.rect.fill_gray, y->u.rect.fill_gray))
                    return "rectangle";
                break;
            case CF_ITEM_MODULES:
                if (x->u.modules.count != y->u.modules.count ||
                    !near(x->u.modules.module, y->u.modules.module) ||
                    memcmp(x->u.modules.dark, y->u.modules.dark,
                           (size_t)x->u.modules.count * x->u.modules.count) != 0)
                    return "QR modules";
                break;
            }
        }
    }
    return NULL;
}

/* The dump lines of page p's first n items (page p of dump), as a pointer into dump and a
 * length; false when the dump has fewer. */
static bool page_prefix(const char *dump, size_t p, size_t n, const char **start, size_t *len)
{
    char head[32];
    snprintf(head, sizeof head, "\npage %zu\n", p + 1);
    const char *s = strstr(dump, head);
    if (s == NULL)
        return false;
    s += strlen(head);
    const char *e = s;
    for (size_t k = 0; k < n; k++) {
        const char *nl = strchr(e, '\n');
        if (nl == NULL || strncmp(e, "page ", 5) == 0)
            return false;
        e = nl + 1;
    }
    *start = s;
    *len = (size_t)(e - s);
    return true;
}

typedef struct shared_body {
    uint64_t id;
    char *items; /* dump lines of the first n_shared items */
    size_t len, n;
    size_t row, page;
} shared_body;

typedef struct shared_set {
    shared_body *v;
    size_t n, cap;
    size_t pages_shared; /* pages with a shared_id, over all rows */
} shared_set;

/* Pages with the same non-zero shared_id must begin with the same n_shared items. */
static bool check_shared(shared_set *set, const cf_display_list *list, const char *dump,
                         size_t row_ix, const char *desc)
{
    bool ok = true;
    for (size_t p = 0; p < list->n_pages; p++) {
        const cf_page *pg = &list->pages[p];
        if (pg->n_shared > pg->n_items) {
            print_error("%s: page %zu has n_shared %zu of %zu items\n", desc, p + 1, pg->n_shared,
                        pg->n_items);
            ok = false;
            continue;
        }
        if (pg->shared_id == 0)
            continue;
        set->pages_shared++;
        const char *s = NULL;
        size_t len = 0;
        if (!page_prefix(dump, p, pg->n_shared, &s, &len)) {
            print_error("%s: page %zu: the dump lacks its %zu shared items\n", desc, p + 1,
                        pg->n_shared);
            ok = false;
            continue;
        }
        shared_body *found = NULL;
        for (size_t k = 0; k < set->n; k++)
            if (set->v[k].id == pg->shared_id)
                found = &set->v[k];
        if (found == NULL) {
            if (set->n == set->cap) {
                set->cap = set->cap ? 2 * set->cap : 64;
                set->v = realloc(set->v, set->cap * sizeof *set->v);
                assert_non_null(set->v);
            }
            found = &set->v[set->n++];
            *found =
                (shared_body){pg->shared_id, malloc(len + 1), len, pg->n_shared, row_ix, p + 1};
            assert_non_null(found->items);
            memcpy(found->items, s, len);
            found->items[len] = '\0';
            continue;
        }
        if (found->n != pg->n_shared || found->len != len || memcmp(found->items, s, len) != 0) {
            char diff[1024];
            first_difference(s, len, found->items, found->len, diff, sizeof diff);
            print_error("%s: page %zu has shared_id %016llx like row %zu page %zu, but its %zu "
                        "shared items are not that page's %zu (%s; \"fresh\" is the earlier "
                        "page)\n",
                        desc, p + 1, (unsigned long long)pg->shared_id, found->row + 1, found->page,
                        pg->n_shared, found->n, diff);
            ok = false;
        }
    }
    return ok;
}

static void shared_set_free(shared_set *set)
{
    for (size_t k = 0; k < set->n; k++)
        free(set->v[k].items);
    free(set->v);
}

/* A number as the dump writes it (-12.34: always a dot, whatever the locale: strtod would
 * stop at the dot under a decimal-comma locale); *end gets where it stops. */
static double dump_number(const char *s, const char **end)
{
    double sign = 1, v = 0, scale = 1;
    if (*s == '-') {
        sign = -1;
        s++;
    }
    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (*s - '0');
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++) {
            scale /= 10;
            v += (*s - '0') * scale;
        }
    if (end != NULL)
        *end = s;
    return sign * v;
}

/* The size of the first regular text (the body: the furniture comes after it), 0 if none. */
static double body_size(const char *dump)
{
    const char *at = strstr(dump, "\ntext R");
    const char *size = at != NULL ? strstr(at, "size=") : NULL;
    return size != NULL ? dump_number(size + 5, NULL) : 0;
}

/* ---- the tests ------------------------------------------------------------------------------ */

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    *state = fx; /* teardown frees what setup made, also when it fails */
    fx->forms[0] = load("forms/nerve-root-injection.xml");
    fx->forms[1] = load("forms/dpn-injection-consent.xml");
    size_t cap = sizeof tall_label_head + 20 * sizeof tall_label_para + sizeof tall_label_tail;
    char *xml = malloc(cap);
    assert_non_null(xml);
    snprintf(xml, cap, "%s", tall_label_head);
    for (int k = 0; k < 20; k++)
        append(xml, cap, "%s", tall_label_para);
    append(xml, cap, "%s", tall_label_tail);
    cf_diag *load_diag = cf_diag_new();
    cf_diag_set_echo(load_diag, stderr);
    cf_status loaded =
        cf_form_load_memory(xml, strlen(xml), "tall-label.xml", NULL, &fx->forms[2], load_diag);
    cf_diag_free(load_diag);
    free(xml);
    assert_int_equal(loaded, CF_OK);
    for (int f = 0; f < 3; f++)
        assert_int_equal(cf_fontset_get(fx->forms[f]->region, &fx->fonts[f], NULL), CF_OK);
    make_rows(fx);
    for (size_t i = 0; i < fx->n_rows; i++)
        if (!fx->rows[i].options.blank)
            fx->rows[i].options.document_id = fx->rows[i].document_id;
    /* Every row as `render` and `batch` take it: checked (and normalised) first. The row too
     * long for the label passes the check and fails in the layout. */
    cf_diag *diag = cf_diag_new();
    cf_diag_set_echo(diag, stderr);
    for (size_t i = 0; i < fx->n_rows; i++) {
        row *r = &fx->rows[i];
        if (r->record == NULL)
            continue;
        cf_status st =
            cf_record_check(fx->forms[r->form], r->record, fx->fonts[r->form], false, diag);
        if (st != CF_OK)
            print_error("%s: cf_record_check says %d\n", r->desc, (int)st);
        assert_int_equal(st, CF_OK);
    }
    cf_diag_free(diag);
    /* The fresh layouts, the reference for everything below. */
    for (size_t i = 0; i < fx->n_rows; i++) {
        row *r = &fx->rows[i];
        cf_diag *d = cf_diag_new();
        cf_display_list *list = NULL;
        r->status =
            cf_layout(fx->forms[r->form], r->record, fx->fonts[r->form], &r->options, &list, d);
        if (list != NULL) {
            dump_of(list, &r->dump, &r->dump_len);
            cf_display_list_free(list);
        }
        cf_diag_free(d);
        /* The body size <layout max-pages> chose is a body input too: the keys get it from
         * the fresh layout. */
        if (r->dump != NULL)
            append(r->body_key, sizeof r->body_key, "|size=%.2f", body_size(r->dump));
        snprintf(r->full_key, sizeof r->full_key, "%s%s|name=%s|pad=%d", r->body_key, r->values,
                 r->record != NULL ? cf_record_get(r->record, "patient_name") : "",
                 r->options.pad_to_even);
    }
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    if (fx == NULL)
        return 0;
    for (size_t i = 0; i < fx->n_rows; i++) {
        cf_record_free(fx->rows[i].record);
        cf_free(fx->rows[i].dump);
    }
    free(fx->rows);
    cf_form_free(fx->forms[0]);
    cf_form_free(fx->forms[1]);
    cf_form_free(fx->forms[2]);
    free(fx);
    cf_fontset_release_all();
    return 0;
}

/* The y of page 1's first item (the body's first line: the furniture comes after it). */
static double first_y(const char *dump)
{
    const char *at = strstr(dump, "\npage 1\n");
    if (at == NULL)
        return 0;
    /* "KIND STYLE X Y ...": skip two words, then X, then read Y. */
    const char *p = at + 8;
    for (int w = 0; w < 2; w++) {
        p = strchr(p, ' ');
        if (p == NULL)
            return 0;
        p++;
    }
    dump_number(p, &p);
    if (*p != ' ')
        return 0;
    return dump_number(p + 1, NULL);
}

static bool seen(const fixture *fx, size_t before, const char *body_key)
{
    for (size_t k = 0; k < before; k++) {
        const row *o = &fx->rows[k];
        if (o->status == CF_OK && strcmp(o->body_key, body_key) == 0)
            return true;
    }
    return false;
}

/* Every row through one cache against its fresh layout; the cache's hits and misses. */
static void test_cached_equals_fresh(void **state)
{
    fixture *fx = *state;
    cf_layout_cache *cache = cf_layout_cache_new();
    assert_non_null(cache);
    shared_set shared = {0};
    size_t failures = 0, must_miss = 0, must_hit = 0, body_sizes = 0;
    size_t wrong_miss = 0, wrong_hit = 0, ok_rows = 0, blank_rows = 0, dpn_rows = 0;
    double sizes[8], tops[8];
    size_t body_tops = 0;
    for (size_t i = 0; i < fx->n_rows; i++) {
        row *r = &fx->rows[i];
        cf_layout_options o = r->options;
        o.cache = cache;
        size_t hits0, misses0, hits1, misses1;
        cf_layout_cache_stats(cache, &hits0, &misses0);
        cf_diag *d = cf_diag_new();
        cf_display_list *list = NULL;
        cf_status st = cf_layout(fx->forms[r->form], r->record, fx->fonts[r->form], &o, &list, d);
        cf_diag_free(d);
        cf_layout_cache_stats(cache, &hits1, &misses1);
        if (st != r->status || (list == NULL) != (r->dump == NULL)) {
            print_error("%s: the cached layout says %d, the fresh one %d\n", r->desc, (int)st,
                        (int)r->status);
            failures++;
            cf_display_list_free(list);
            continue;
        }
        if (list == NULL)
            continue;
        ok_rows++;
        blank_rows += r->options.blank;
        dpn_rows += r->form == 1 && !r->options.blank;
        size_t len = 0;
        char *dump = NULL;
        dump_of(list, &dump, &len);
        if (len != r->dump_len || memcmp(dump, r->dump, len) != 0) {
            char diff[1024];
            first_difference(dump, len, r->dump, r->dump_len, diff, sizeof diff);
            print_error("%s: the cached layout's dump differs from a fresh layout's at %s\n",
                        r->desc, diff);
            failures++;
        } else {
            cf_display_list *fresh = NULL;
            cf_diag *d2 = cf_diag_new();
            assert_int_equal(cf_layout(fx->forms[r->form], r->record, fx->fonts[r->form],
                                       &r->options, &fresh, d2),
                             CF_OK);
            cf_diag_free(d2);
            size_t page, item;
            const char *what = items_differ(list, fresh, &page, &item);
            if (what != NULL) {
                print_error("%s: the same dump, but page %zu item %zu differs in its %s by more "
                            "than 1e-6 pt\n",
                            r->desc, page, item, what);
                failures++;
            }
            cf_display_list_free(fresh);
        }
        if (!check_shared(&shared, list, dump, i, r->desc))
            failures++;
        /* The body sizes the leaflet was set at (<layout max-pages>), from its first text. */
        if (r->form == 2) {
            double y = first_y(dump);
            bool known = false;
            for (size_t k = 0; k < body_tops; k++)
                known = known || fabs(tops[k] - y) < 0.001;
            if (!known && body_tops < N(tops))
                tops[body_tops++] = y;
        }
        if (r->form == 0 && !r->options.blank) {
            double size = body_size(dump);
            bool known = false;
            for (size_t k = 0; k < body_sizes; k++)
                known = known || sizes[k] == size;
            if (!known && body_sizes < N(sizes))
                sizes[body_sizes++] = size;
        }
        cf_free(dump);
        cf_display_list_free(list);
        /* A row whose body inputs no earlier row had must lay its body out; a row that is the
         * row before but for the patient's identity must find its body (whatever the cache
         * keeps, nothing was stored in between to push it out). */
        if (!seen(fx, i, r->body_key)) {
            must_miss++;
            if (misses1 == misses0) {
                print_error("%s: new body inputs, but no cache miss\n", r->desc);
                wrong_miss++;
            }
        } else if (i > 0 && fx->rows[i - 1].status == CF_OK &&
                   strcmp(fx->rows[i - 1].full_key, r->full_key) == 0) {
            must_hit++;
            if (hits1 == hits0 || misses1 != misses0) {
                print_error("%s: the body of an earlier row, but %zu hit(s) and %zu miss(es)\n",
                            r->desc, hits1 - hits0, misses1 - misses0);
                wrong_hit++;
            }
        }
    }
    size_t hits, misses;
    cf_layout_cache_stats(cache, &hits, &misses);
    print_message("%zu rows (%zu laid out, %zu DPN, %zu blank); cache: %zu hits, %zu misses; "
                  "%zu rows must miss, %zu must hit; %zu pages shared under %zu ids; leaflet "
                  "body sizes:",
                  fx->n_rows, ok_rows, dpn_rows, blank_rows, hits, misses, must_miss, must_hit,
                  shared.pages_shared, shared.n);
    for (size_t k = 0; k < body_sizes; k++)
        print_message(" %.1f", sizes[k]);
    print_message("; tall label: the body starts at");
    for (size_t k = 0; k < body_tops; k++)
        print_message(" %.2f", tops[k]);
    print_message("\n");
    shared_set_free(&shared);
    cf_layout_cache_free(cache);

    /* The list is what it claims to be. */
    assert_true(ok_rows >= 200);
    assert_true(dpn_rows >= 128);
    assert_int_equal(blank_rows, 16);
    assert_true(must_miss >= 128 && must_hit >= 40);
    assert_true(body_sizes >= 2); /* long names take the leaflet's body a size down */
    assert_true(body_tops >= 2);  /* a taller label box starts the body lower */
    assert_int_equal(failures, 0);
    /* The cache is used, and asked the right way. */
    assert_true(hits >= must_hit);
    assert_true(misses >= must_miss);
    assert_int_equal(wrong_miss, 0);
    assert_int_equal(wrong_hit, 0);
}

typedef struct thread_job {
    fixture *fx;
    cf_layout_cache *cache;
    size_t first, step;
    size_t failures;
} thread_job;

static void *lay_rows(void *arg)
{
    thread_job *job = arg;
    fixture *fx = job->fx;
    for (size_t i = job->first; i < fx->n_rows; i += job->step) {
        row *r = &fx->rows[i];
        cf_layout_options o = r->options;
        o.cache = job->cache;
        cf_diag *d = cf_diag_new();
        cf_display_list *list = NULL;
        cf_status st = cf_layout(fx->forms[r->form], r->record, fx->fonts[r->form], &o, &list, d);
        cf_diag_free(d);
        char *dump = NULL;
        size_t len = 0;
        if (list != NULL && cf_display_list_dump(list, &dump, &len) != CF_OK)
            st = CF_ERR_NOMEM;
        if (st != r->status || (dump == NULL) != (r->dump == NULL) ||
            (dump != NULL && (len != r->dump_len || memcmp(dump, r->dump, len) != 0))) {
            fprintf(stderr,
                    "%s: laid out on thread %zu through the shared cache, it differs "
                    "from a fresh layout\n",
                    r->desc, job->first);
            job->failures++;
        }
        cf_free(dump);
        cf_display_list_free(list);
    }
    return NULL;
}

/* The list on two threads through one cache (as `batch --jobs 2` does): the same lists, rows
 * taken in an order where both threads need the same new bodies at once. */
static void test_two_threads_one_cache(void **state)
{
    fixture *fx = *state;
    cf_layout_cache *cache = cf_layout_cache_new();
    assert_non_null(cache);
    thread_job jobs[2] = {{fx, cache, 0, 2, 0}, {fx, cache, 1, 2, 0}};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, lay_rows, &jobs[1]), 0);
    lay_rows(&jobs[0]);
    assert_int_equal(pthread_join(t, NULL), 0);
    size_t hits, misses;
    cf_layout_cache_stats(cache, &hits, &misses);
    cf_layout_cache_free(cache);
    print_message("two threads: %zu hits, %zu misses\n", hits, misses);
    assert_int_equal(jobs[0].failures + jobs[1].failures, 0);
    assert_true(hits > 0);
}

int main(void)
{
    const struct CMUnitTest all[] = {
        cmocka_unit_test(test_cached_equals_fresh),
        cmocka_unit_test(test_two_threads_one_cache),
    };
    return cmocka_run_group_tests_name("layout cache", all, setup, teardown);
}
