/* Per-document font subsets for the PDF. HarfBuzz's subsetter keeps only the document's glyphs
 * (renumbered from 1, hinting and layout tables dropped, a minimal name table); then the cmap
 * is replaced by a compact format-4 table with only a few segments (plus a format-12 table
 * when the document has characters beyond U+FFFF), which libharu's own font
 * loader (HPDF_LoadTTFontFromFile) needs to be fast: it looks up every BMP code point with a
 * linear scan over the segments. Our PDF backend no longer goes through that loader (it names
 * glyphs through a CIDToGIDMap, and PDF readers do not read an embedded font's cmap), but the
 * subsets stay fonts that it loads quickly (test_subset_hpdf). The result is checked with HarfBuzz
 * before it is handed out: every requested character must map to a glyph with the same advance,
 * extents and outline as in the full font, and nothing else may be mapped. */
#include "text/font.h"

#include "base/alloc.h"
#include "text/font_internal.h"
#include "text/font_testing.h"

#include <hb-subset.h>

#include <stdio.h>
#include <string.h>

/* ---- big-endian helpers ---- */

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Sum of the big-endian 32-bit words of data (len a multiple of 4), as the sfnt checksum. */
static uint32_t checksum(const unsigned char *data, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 4 <= len; i += 4)
        sum += cf_get32(data + i);
    return sum;
}

static size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

/* ---- the compact cmap: format 4, and format 12 beyond the BMP ---- */

/* One mapped character of the subset. */
typedef struct mapping {
    uint32_t cp;
    uint16_t glyph;
} mapping;

/* A group of consecutive atoms (runs of code points whose glyph ids also run consecutively),
 * written as one cmap segment. */
typedef struct segment_group {
    size_t first_atom, last_atom; /* inclusive */
} segment_group;

/* A format-4 subtable's length is 16 bits. */
#define FORMAT4_MAX_BYTES 65535u

/* Two segments are merged when that adds at most this many glyph-id array entries. Measured
 * with libharu 2.3.0: one more segment costs HPDF_GetFont about 22 us (65,536 lookups, each
 * scanning the segments), one more array entry costs loading the font about 22 ns. */
#define SEGMENT_COST_IN_ENTRIES 1024u

/* Code points between atom g and atom g + 1 (plus one). */
static size_t gap_size(const mapping *map, const size_t *atom_start, size_t g)
{
    return (size_t)map[atom_start[g + 1]].cp - map[atom_start[g + 1] - 1].cp;
}

/* Sequential-map groups of a format-12 subtable for map[0..n): runs of consecutive code points
 * with consecutive glyph ids. */
static size_t format12_groups(const mapping *map, size_t n)
{
    size_t groups = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || map[i].cp != map[i - 1].cp + 1 || map[i].glyph != map[i - 1].glyph + 1)
            groups++;
    return groups;
}

/* Writes the format-12 subtable of map[0..n) at sub (16 + 12 * n_groups bytes). */
static void write_format12(unsigned char *sub, const mapping *map, size_t n, size_t n_groups)
{
    put16(sub + 0, 12);
    put16(sub + 2, 0);
    put32(sub + 4, (uint32_t)(16 + 12 * n_groups));
    put32(sub + 8, 0); /* language */
    put32(sub + 12, (uint32_t)n_groups);
    unsigned char *group = sub + 16 - 12;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || map[i].cp != map[i - 1].cp + 1 || map[i].glyph != map[i - 1].glyph + 1) {
            group += 12;
            put32(group, map[i].cp);
            put32(group + 8, map[i].glyph);
        }
        put32(group + 4, map[i].cp);
    }
}

/* Builds the cmap table for the mappings map[0..n_all) (sorted by code point, none U+FFFF): a
 * (0,3) and a (3,1) record sharing one format-4 subtable for the characters of the BMP, and,
 * only when some lie beyond it, a (3,10) record with a format-12 subtable of all of them (so a
 * document without such characters gets the same bytes as before). The format-4 segments are
 * chosen to be few: each run of consecutive code points with consecutive glyphs is an idDelta
 * segment at first, then neighbouring segments are merged, smallest gap first, into segments that
 * map through the glyph-id array (zeros for the characters in the gaps) while a merge is cheaper
 * than the segment it saves (SEGMENT_COST_IN_ENTRIES) and the subtable stays within its
 * 64 KiB limit. CF_ERR_LIMIT when no set of merges makes it fit (then the caller keeps
 * HarfBuzz's cmap). */
static cf_status build_cmap(const mapping *map, size_t n_all, unsigned char **out, size_t *out_len)
{
    cf_status st = CF_OK;
    size_t *atom_start = NULL;  /* index into map of each atom's first mapping */
    size_t *gap_order = NULL;   /* gaps between atoms, sorted by size */
    size_t *group_left = NULL;  /* for the atom at a group's right end: the group's left atom */
    size_t *group_right = NULL; /* for the atom at a group's left end: the group's right atom */
    segment_group *groups = NULL;
    unsigned char *table = NULL;
    *out = NULL;
    *out_len = 0;

    size_t n = 0; /* the BMP characters: the format-4 subtable's */
    while (n < n_all && map[n].cp < CF_BMP_SIZE)
        n++;
    size_t n_groups12 = n < n_all ? format12_groups(map, n_all) : 0;

    size_t n_atoms = 0;
    atom_start = cf_malloc((n + 1) * sizeof *atom_start);
    if (!atom_start) {
        st = CF_ERR_NOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        if (i == 0 || map[i].cp != map[i - 1].cp + 1 || map[i].glyph != map[i - 1].glyph + 1)
            atom_start[n_atoms++] = i;
    atom_start[n_atoms] = n;

    /* Bytes of the subtable: 16 fixed + 8 per segment (the 0xFFFF sentinel included) + 2 per
     * glyph-id array entry. An atom on its own costs no array entry. */
    size_t n_groups = n_atoms;
    size_t array_entries = 0;
    size_t sub_len = 16 + 8 * (n_groups + 1);

    if (n_atoms > 1) {
        size_t n_gaps = n_atoms - 1;
        gap_order = cf_malloc(n_gaps * sizeof *gap_order);
        group_left = cf_malloc(n_atoms * sizeof *group_left);
        group_right = cf_malloc(n_atoms * sizeof *group_right);
        if (!gap_order || !group_left || !group_right) {
            st = CF_ERR_NOMEM;
            goto cleanup;
        }
        for (size_t a = 0; a < n_atoms; a++)
            group_left[a] = group_right[a] = a;
        /* Gap g lies between atom g and atom g + 1; sort by size (then position) with a
         * simple bottom-up merge sort through a scratch copy. */
        for (size_t g = 0; g < n_gaps; g++)
            gap_order[g] = g;
        size_t *scratch = cf_malloc(n_gaps * sizeof *scratch);
        if (!scratch) {
            st = CF_ERR_NOMEM;
            goto cleanup;
        }
        for (size_t width = 1; width < n_gaps; width *= 2) {
            for (size_t lo = 0; lo < n_gaps; lo += 2 * width) {
                size_t mid = lo + width < n_gaps ? lo + width : n_gaps;
                size_t hi = lo + 2 * width < n_gaps ? lo + 2 * width : n_gaps;
                size_t a = lo, b = mid, k = lo;
                while (a < mid && b < hi)
                    scratch[k++] = gap_size(map, atom_start, gap_order[b]) <
                                           gap_size(map, atom_start, gap_order[a])
                                       ? gap_order[b++]
                                       : gap_order[a++];
                while (a < mid)
                    scratch[k++] = gap_order[a++];
                while (b < hi)
                    scratch[k++] = gap_order[b++];
            }
            memcpy(gap_order, scratch, n_gaps * sizeof *gap_order);
        }
        cf_free(scratch);

        for (size_t k = 0; k < n_gaps; k++) {
            size_t g = gap_order[k];
            size_t left_first = group_left[g], right_last = group_right[g + 1];
            /* Array entries a group needs: none for a single atom, its span otherwise. */
            size_t left_cost = left_first == g ? 0
                                               : (size_t)map[atom_start[g + 1] - 1].cp -
                                                     map[atom_start[left_first]].cp + 1;
            size_t right_cost = right_last == g + 1
                                    ? 0
                                    : (size_t)map[atom_start[right_last + 1] - 1].cp -
                                          map[atom_start[g + 1]].cp + 1;
            size_t merged_cost =
                (size_t)map[atom_start[right_last + 1] - 1].cp - map[atom_start[left_first]].cp + 1;
            size_t entries = array_entries - left_cost - right_cost + merged_cost;
            size_t merged_len = 16 + 8 * n_groups + 2 * entries; /* one segment fewer */
            bool worth_it = entries - array_entries <= SEGMENT_COST_IN_ENTRIES &&
                            merged_len <= FORMAT4_MAX_BYTES;
            bool needed = sub_len > FORMAT4_MAX_BYTES && merged_len < sub_len;
            if (!worth_it && !needed)
                continue;
            sub_len = merged_len;
            array_entries = entries;
            n_groups--;
            group_right[left_first] = right_last;
            group_left[right_last] = left_first;
        }
    }

    groups = cf_malloc((n_groups ? n_groups : 1) * sizeof *groups);
    if (!groups) {
        st = CF_ERR_NOMEM;
        goto cleanup;
    }
    size_t gi = 0;
    for (size_t a = 0; a < n_atoms; a = (group_right ? group_right[a] : a) + 1)
        groups[gi++] = (segment_group){a, group_right ? group_right[a] : a};
    n_groups = gi;

    size_t seg_count = n_groups + 1;
    if (sub_len != 16 + 8 * seg_count + 2 * array_entries) {
        st = CF_ERR_INTERNAL;
        goto cleanup;
    }
    if (sub_len > FORMAT4_MAX_BYTES) {
        st = CF_ERR_LIMIT;
        goto cleanup;
    }
    /* cmap header: version 0, two encoding records sharing the format-4 subtable, then the
     * format-12 record (records sorted by platform and encoding); the format-12 subtable
     * follows the format-4 one, 4-byte aligned. */
    size_t n_records = n_groups12 > 0 ? 3 : 2;
    size_t sub_offset = 4 + 8 * n_records;
    size_t sub12_offset = pad4(sub_offset + sub_len);
    size_t table_len = n_groups12 > 0 ? sub12_offset + 16 + 12 * n_groups12 : sub_offset + sub_len;
    table = cf_calloc(1, table_len);
    if (!table) {
        st = CF_ERR_NOMEM;
        goto cleanup;
    }
    put16(table + 0, 0);
    put16(table + 2, (unsigned)n_records);
    put16(table + 4, 0); /* Unicode platform */
    put16(table + 6, 3); /* Unicode BMP */
    put32(table + 8, (uint32_t)sub_offset);
    put16(table + 12, 3); /* Windows platform */
    put16(table + 14, 1); /* Unicode BMP */
    put32(table + 16, (uint32_t)sub_offset);
    if (n_groups12 > 0) {
        put16(table + 20, 3);  /* Windows platform */
        put16(table + 22, 10); /* Unicode full repertoire */
        put32(table + 24, (uint32_t)sub12_offset);
        write_format12(table + sub12_offset, map, n_all, n_groups12);
    }

    unsigned char *sub = table + sub_offset;
    unsigned search_range = 2, entry_selector = 0;
    while (search_range * 2 <= 2 * seg_count) {
        search_range *= 2;
        entry_selector++;
    }
    put16(sub + 0, 4);
    put16(sub + 2, (unsigned)sub_len);
    put16(sub + 4, 0); /* language */
    put16(sub + 6, (unsigned)(2 * seg_count));
    put16(sub + 8, search_range);
    put16(sub + 10, entry_selector);
    put16(sub + 12, (unsigned)(2 * seg_count - search_range));
    unsigned char *end_codes = sub + 14;
    unsigned char *start_codes = end_codes + 2 * seg_count + 2; /* after reservedPad */
    unsigned char *id_deltas = start_codes + 2 * seg_count;
    unsigned char *range_offsets = id_deltas + 2 * seg_count;
    unsigned char *glyph_ids = range_offsets + 2 * seg_count;
    size_t array_pos = 0;
    for (size_t s = 0; s < n_groups; s++) {
        size_t first = atom_start[groups[s].first_atom];
        size_t last = atom_start[groups[s].last_atom + 1] - 1;
        unsigned start = map[first].cp, end = map[last].cp;
        put16(end_codes + 2 * s, end);
        put16(start_codes + 2 * s, start);
        if (groups[s].first_atom == groups[s].last_atom) {
            put16(id_deltas + 2 * s, (map[first].glyph - start) & 0xFFFFu);
            put16(range_offsets + 2 * s, 0);
        } else {
            put16(id_deltas + 2 * s, 0);
            put16(range_offsets + 2 * s, (unsigned)(2 * (seg_count - s) + 2 * array_pos));
            for (size_t i = first; i <= last; i++)
                put16(glyph_ids + 2 * (array_pos + map[i].cp - start), map[i].glyph);
            array_pos += end - start + 1;
        }
    }
    /* The closing segment maps U+FFFF to glyph 0. */
    put16(end_codes + 2 * n_groups, 0xFFFF);
    put16(start_codes + 2 * n_groups, 0xFFFF);
    put16(id_deltas + 2 * n_groups, 1);
    put16(range_offsets + 2 * n_groups, 0);
    if (array_pos != array_entries) {
        st = CF_ERR_INTERNAL;
        goto cleanup;
    }

    *out = table;
    *out_len = table_len;
    table = NULL;

cleanup:
    cf_free(atom_start);
    cf_free(gap_order);
    cf_free(group_left);
    cf_free(group_right);
    cf_free(groups);
    cf_free(table);
    return st;
}

/* ---- rebuilding the sfnt with a new table ---- */

typedef struct sfnt_table {
    uint32_t tag;
    const unsigned char *data;
    size_t len;
} sfnt_table;

#define SFNT_MAX_TABLES 64

/* Writes an sfnt of the tables[0..n) (sfnt version taken from src): a table directory sorted
 * by tag, with binary-search fields, 4-byte aligned zero-padded tables, every table checksum
 * and head.checkSumAdjustment computed. Table data follow in tag order, except that the table
 * last_tag (when not 0) is written last; its offset goes to *last_offset. */
static cf_status sfnt_write(sfnt_table *tables, size_t n, const unsigned char *src,
                            uint32_t last_tag, unsigned char **out, size_t *out_len,
                            size_t *last_offset)
{
    *out = NULL;
    *out_len = 0;
    /* Directory entries sorted by tag (insertion sort; a font has a dozen tables). */
    for (size_t i = 1; i < n; i++) {
        sfnt_table t = tables[i];
        size_t j = i;
        while (j > 0 && tables[j - 1].tag > t.tag) {
            tables[j] = tables[j - 1];
            j--;
        }
        tables[j] = t;
    }

    size_t total = 12 + 16 * n;
    for (size_t i = 0; i < n; i++) {
        if (tables[i].len > ((size_t)1 << 30))
            return CF_ERR_INTERNAL;
        total += pad4(tables[i].len);
    }
    unsigned char *font = cf_calloc(1, total);
    if (!font)
        return CF_ERR_NOMEM;

    unsigned search_range = 16, entry_selector = 0;
    while (search_range * 2 <= 16 * n) {
        search_range *= 2;
        entry_selector++;
    }
    memcpy(font, src, 4); /* sfnt version */
    put16(font + 4, (unsigned)n);
    put16(font + 6, search_range);
    put16(font + 8, entry_selector);
    put16(font + 10, (unsigned)(16 * n - search_range));

    size_t offset = 12 + 16 * n;
    size_t head_offset = 0;
    bool have_head = false;
    for (size_t k = 0; k <= n; k++) {
        /* k = n: the table written last. */
        size_t i = k;
        if (k == n) {
            for (i = 0; i < n && (last_tag == 0 || tables[i].tag != last_tag); i++)
                continue;
            if (i == n)
                break;
            if (last_offset)
                *last_offset = offset;
        } else if (last_tag != 0 && tables[k].tag == last_tag) {
            continue;
        }
        unsigned char *rec = font + 12 + 16 * i;
        memcpy(font + offset, tables[i].data, tables[i].len);
        if (tables[i].tag == HB_TAG('h', 'e', 'a', 'd')) {
            if (tables[i].len < 54) {
                cf_free(font);
                return CF_ERR_INTERNAL;
            }
            head_offset = offset;
            have_head = true;
            put32(font + offset + 8, 0); /* checkSumAdjustment is computed last */
        }
        put32(rec, tables[i].tag);
        put32(rec + 4, checksum(font + offset, pad4(tables[i].len)));
        put32(rec + 8, (uint32_t)offset);
        put32(rec + 12, (uint32_t)tables[i].len);
        offset += pad4(tables[i].len);
    }
    if (!have_head) {
        cf_free(font);
        return CF_ERR_INTERNAL;
    }
    put32(font + head_offset + 8, 0xB1B0AFBAu - checksum(font, total));
    *out = font;
    *out_len = total;
    return CF_OK;
}

/* Rebuilds the font src with table tag replaced by (data, len): a new table directory (sorted
 * by tag, with binary-search fields), 4-byte aligned zero-padded tables, every table checksum
 * and head.checkSumAdjustment recomputed. *out is freed by the caller with cf_free. */
static cf_status sfnt_replace_table(const unsigned char *src, size_t src_len, uint32_t tag,
                                    const unsigned char *data, size_t len, unsigned char **out,
                                    size_t *out_len)
{
    sfnt_table tables[SFNT_MAX_TABLES];
    size_t n = 0;
    *out = NULL;
    *out_len = 0;
    if (src_len < 12)
        return CF_ERR_INTERNAL;
    size_t num_tables = cf_get16(src + 4);
    if (num_tables == 0 || num_tables >= SFNT_MAX_TABLES || 12 + 16 * num_tables > src_len)
        return CF_ERR_INTERNAL;
    bool replaced = false;
    for (size_t i = 0; i < num_tables; i++) {
        const unsigned char *rec = src + 12 + 16 * i;
        uint32_t t = cf_get32(rec), offset = cf_get32(rec + 8), length = cf_get32(rec + 12);
        if (offset > src_len || length > src_len - offset)
            return CF_ERR_INTERNAL;
        if (t == tag) {
            tables[n++] = (sfnt_table){tag, data, len};
            replaced = true;
        } else {
            tables[n++] = (sfnt_table){t, src + offset, length};
        }
    }
    if (!replaced)
        tables[n++] = (sfnt_table){tag, data, len};
    return sfnt_write(tables, n, src, 0, out, out_len, NULL);
}

/* ---- checking the result ---- */

/* A 64-bit FNV-1a-style hash over the drawing commands of a glyph, one 32-bit word (an
 * operator or a coordinate's bits) per step: equal outlines give equal hashes. */
typedef struct outline_hash {
    uint64_t h;
} outline_hash;

static void hash_command(outline_hash *oh, uint32_t op, const float *coords, size_t n)
{
    uint64_t h = (oh->h ^ op) * 0x100000001B3ull;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &coords[i], sizeof bits);
        h = (h ^ bits) * 0x100000001B3ull;
        h ^= h >> 32;
    }
    oh->h = h;
}

static void draw_move_to(hb_draw_funcs_t *funcs, void *data, hb_draw_state_t *state, float x,
                         float y, void *user)
{
    (void)funcs, (void)state, (void)user;
    float c[2] = {x, y};
    hash_command(data, 'M', c, 2);
}

static void draw_line_to(hb_draw_funcs_t *funcs, void *data, hb_draw_state_t *state, float x,
                         float y, void *user)
{
    (void)funcs, (void)state, (void)user;
    float c[2] = {x, y};
    hash_command(data, 'L', c, 2);
}

static void draw_quadratic_to(hb_draw_funcs_t *funcs, void *data, hb_draw_state_t *state, float cx,
                              float cy, float x, float y, void *user)
{
    (void)funcs, (void)state, (void)user;
    float c[4] = {cx, cy, x, y};
    hash_command(data, 'Q', c, 4);
}

static void draw_cubic_to(hb_draw_funcs_t *funcs, void *data, hb_draw_state_t *state, float c1x,
                          float c1y, float c2x, float c2y, float x, float y, void *user)
{
    (void)funcs, (void)state, (void)user;
    float c[6] = {c1x, c1y, c2x, c2y, x, y};
    hash_command(data, 'C', c, 6);
}

static void draw_close_path(hb_draw_funcs_t *funcs, void *data, hb_draw_state_t *state, void *user)
{
    (void)funcs, (void)state, (void)user;
    hash_command(data, 'Z', NULL, 0);
}

static uint64_t glyph_outline_hash(hb_font_t *font, hb_draw_funcs_t *funcs, unsigned glyph)
{
    outline_hash oh = {0xCBF29CE484222325ull};
    hb_font_get_glyph_shape(font, glyph, funcs, &oh);
    return oh.h;
}

/* The full font's outline hash of glyph, computed once per font and glyph. */
static uint64_t full_outline_hash(const cf_font *font, hb_draw_funcs_t *funcs, unsigned glyph)
{
    uint64_t h = atomic_load_explicit(&font->outline_hash[glyph], memory_order_relaxed);
    if (h == 0) {
        h = glyph_outline_hash(font->hb, funcs, glyph);
        atomic_store_explicit(&font->outline_hash[glyph], h, memory_order_relaxed);
    }
    return h;
}

static hb_draw_funcs_t *outline_hash_funcs(void)
{
    hb_draw_funcs_t *funcs = hb_draw_funcs_create();
    hb_draw_funcs_set_move_to_func(funcs, draw_move_to, NULL, NULL);
    hb_draw_funcs_set_line_to_func(funcs, draw_line_to, NULL, NULL);
    hb_draw_funcs_set_quadratic_to_func(funcs, draw_quadratic_to, NULL, NULL);
    hb_draw_funcs_set_cubic_to_func(funcs, draw_cubic_to, NULL, NULL);
    hb_draw_funcs_set_close_path_func(funcs, draw_close_path, NULL, NULL);
    hb_draw_funcs_make_immutable(funcs);
    return funcs;
}

/* A face's glyph records, read through its 'head', 'loca' and 'glyf' tables. */
typedef struct glyf_view {
    hb_blob_t *loca, *glyf;
    const unsigned char *l, *g;
    unsigned l_len, g_len;
    bool long_offsets;
} glyf_view;

static void glyf_view_open(hb_face_t *face, glyf_view *v)
{
    memset(v, 0, sizeof *v);
    hb_blob_t *head = hb_face_reference_table(face, HB_TAG('h', 'e', 'a', 'd'));
    unsigned head_len = 0;
    const unsigned char *h = (const unsigned char *)hb_blob_get_data(head, &head_len);
    if (h != NULL && head_len >= 54) {
        v->long_offsets = cf_get16(h + 50) != 0;
        v->loca = hb_face_reference_table(face, HB_TAG('l', 'o', 'c', 'a'));
        v->glyf = hb_face_reference_table(face, HB_TAG('g', 'l', 'y', 'f'));
        v->l = (const unsigned char *)hb_blob_get_data(v->loca, &v->l_len);
        v->g = (const unsigned char *)hb_blob_get_data(v->glyf, &v->g_len);
    }
    hb_blob_destroy(head);
}

static void glyf_view_close(glyf_view *v)
{
    hb_blob_destroy(v->loca);
    hb_blob_destroy(v->glyf);
}

/* The bytes of glyph's record; false when the tables do not give them. */
static bool glyph_record(const glyf_view *v, unsigned glyph, const unsigned char **p, size_t *len)
{
    if (v->l == NULL || v->g == NULL)
        return false;
    size_t start, end;
    if (v->long_offsets) {
        if (((size_t)glyph + 2) * 4 > v->l_len)
            return false;
        start = cf_get32(v->l + (size_t)glyph * 4);
        end = cf_get32(v->l + (size_t)glyph * 4 + 4);
    } else {
        if (((size_t)glyph + 2) * 2 > v->l_len)
            return false;
        start = (size_t)cf_get16(v->l + (size_t)glyph * 2) * 2;
        end = (size_t)cf_get16(v->l + (size_t)glyph * 2 + 2) * 2;
    }
    if (start > end || end > v->g_len)
        return false;
    *p = v->g + start;
    *len = end - start;
    return true;
}

/* True when the two glyphs are provably drawn alike without drawing them: byte-identical
 * records of a simple glyph (or both empty), which hold the whole outline (the fonts have no
 * variations). A composite glyph names other glyphs by id, which the subset renumbers. */
static bool same_simple_glyph(const glyf_view *a, unsigned ga, const glyf_view *b, unsigned gb)
{
    const unsigned char *pa, *pb;
    size_t la, lb;
    if (!glyph_record(a, ga, &pa, &la) || !glyph_record(b, gb, &pb, &lb))
        return false;
    /* Records may carry up to 3 bytes of alignment padding after the glyph. */
    if (la == 0 || lb == 0)
        return la == lb;
    if (la < 10 || lb < 10 || (int16_t)cf_get16(pa) < 0 || la > lb + 3 || lb > la + 3)
        return false;
    size_t n = la < lb ? la : lb;
    if (memcmp(pa, pb, n) != 0)
        return false;
    for (size_t i = n; i < la; i++)
        if (pa[i] != 0)
            return false;
    for (size_t i = n; i < lb; i++)
        if (pb[i] != 0)
            return false;
    return true;
}

/* Opens the subset (data, len) with HarfBuzz and checks it against the full font for every
 * code point of set. */
static cf_status verify_subset(const cf_font *font, const hb_set_t *set, const unsigned char *data,
                               size_t len, cf_diag *diag)
{
    cf_status st = CF_OK;
    hb_blob_t *blob =
        hb_blob_create((const char *)data, (unsigned)len, HB_MEMORY_MODE_READONLY, NULL, NULL);
    hb_face_t *face = hb_face_create(blob, 0);
    hb_font_t *sub = hb_font_create(face);
    hb_draw_funcs_t *funcs = outline_hash_funcs();
    hb_set_t *mapped = hb_set_create();
    hb_font_set_scale(sub, (int)font->upem, (int)font->upem);
    glyf_view sub_glyf, full_glyf;
    glyf_view_open(face, &sub_glyf);
    glyf_view_open(font->face, &full_glyf);

    hb_blob_t *glyf = hb_face_reference_table(face, HB_TAG('g', 'l', 'y', 'f'));
    bool has_glyf = hb_blob_get_length(glyf) > 0;
    hb_blob_destroy(glyf);
    if (!has_glyf || hb_face_get_upem(face) != font->upem || hb_face_get_glyph_count(face) < 1) {
        cf_diag_error(diag, font->path, 0, "the font subset made from this font is unreadable");
        st = CF_ERR_INTERNAL;
        goto cleanup;
    }

    size_t expected = 0;
    hb_codepoint_t cp = HB_SET_VALUE_INVALID;
    while (hb_set_next(set, &cp)) {
        unsigned full_glyph = cf_font_glyph(font, cp);
        hb_codepoint_t glyph = 0;
        bool found = hb_font_get_nominal_glyph(sub, cp, &glyph) && glyph != 0;
        if (full_glyph == 0) {
            if (found) {
                cf_diag_error(diag, font->path, 0,
                              "the font subset maps U+%04X, which the font lacks", (unsigned)cp);
                st = CF_ERR_INTERNAL;
                goto cleanup;
            }
            continue;
        }
        expected++;
        /* Equal outlines imply equal extents; the outline is the stronger check. */
        if (!found ||
            hb_font_get_glyph_h_advance(sub, glyph) !=
                (hb_position_t)cf_font_glyph_advance(font, full_glyph) ||
            (!same_simple_glyph(&sub_glyf, glyph, &full_glyf, full_glyph) &&
             glyph_outline_hash(sub, funcs, glyph) != full_outline_hash(font, funcs, full_glyph))) {
            cf_diag_error(diag, font->path, 0,
                          "the font subset does not draw U+%04X as the font does; refusing to "
                          "embed it",
                          (unsigned)cp);
            st = CF_ERR_INTERNAL;
            goto cleanup;
        }
    }
    hb_face_collect_unicodes(face, mapped);
    if (!hb_set_allocation_successful(mapped)) {
        st = CF_ERR_NOMEM;
        goto cleanup;
    }
    /* A code point can be listed by collect_unicodes yet map to glyph 0; count real ones. */
    size_t real = 0;
    cp = HB_SET_VALUE_INVALID;
    while (hb_set_next(mapped, &cp)) {
        hb_codepoint_t glyph = 0;
        if (hb_font_get_nominal_glyph(sub, cp, &glyph) && glyph != 0)
            real++;
    }
    if (real != expected) {
        cf_diag_error(diag, font->path, 0,
                      "the font subset maps %zu characters instead of %zu; refusing to embed it",
                      real, expected);
        st = CF_ERR_INTERNAL;
    }

cleanup:
    glyf_view_close(&sub_glyf);
    glyf_view_close(&full_glyf);
    hb_set_destroy(mapped);
    hb_draw_funcs_destroy(funcs);
    hb_font_destroy(sub);
    hb_face_destroy(face);
    hb_blob_destroy(blob);
    return st;
}

/* ---- glyphs of a base set first ---- */

/* Tables the reordering understands: it rewrites the ones that hold glyph ids (cmap, loca,
 * glyf, hmtx, post names) and copies the rest, which hold none. */
static bool reorder_keeps(uint32_t tag)
{
    static const uint32_t kept[] = {
        HB_TAG('h', 'e', 'a', 'd'), HB_TAG('h', 'h', 'e', 'a'), HB_TAG('m', 'a', 'x', 'p'),
        HB_TAG('n', 'a', 'm', 'e'), HB_TAG('O', 'S', '/', '2'), HB_TAG('g', 'a', 's', 'p'),
        HB_TAG('c', 'v', 't', ' '), HB_TAG('f', 'p', 'g', 'm'), HB_TAG('p', 'r', 'e', 'p'),
    };
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        if (kept[i] == tag)
            return true;
    return false;
}

typedef struct glyph_span {
    size_t start, len;
} glyph_span;

/* Rewrites the subset src (glyph ids old) so that its glyph records come in this order:
 * .notdef, the glyphs of the characters of base in code point order, then the rest in code
 * point order; the glyf table is written last in the file, each record padded to 4 bytes, with
 * long loca offsets, one full horizontal metric per glyph, a post table without glyph names
 * (format 3) and a compact cmap. map[0..n) is the subset's cmap (code point -> old glyph id),
 * and is rewritten to the new ids. Then the glyf table's first *base_len bytes depend only on
 * base, never on the other characters. CF_ERR_LIMIT when the subset cannot be reordered (a
 * composite glyph, an unknown table): the caller keeps the plain subset. */
static cf_status reorder_subset(const unsigned char *src, size_t src_len, mapping *map, size_t n,
                                const hb_set_t *base, unsigned char **out, size_t *out_len,
                                size_t *glyf_offset, size_t *base_len)
{
    cf_status st = CF_OK;
    sfnt_table tables[SFNT_MAX_TABLES];
    size_t n_tables = 0;
    const unsigned char *head = NULL, *hhea = NULL, *maxp = NULL, *post = NULL, *loca = NULL,
                        *glyf = NULL, *hmtx = NULL;
    size_t head_len = 0, hhea_len = 0, maxp_len = 0, post_len = 0, loca_len = 0, glyf_len = 0,
           hmtx_len = 0;
    uint16_t *new_of_old = NULL;
    uint16_t *old_of_new = NULL;
    glyph_span *spans = NULL;
    unsigned char *new_head = NULL, *new_hhea = NULL, *new_hmtx = NULL, *new_loca = NULL,
                  *new_glyf = NULL, *cmap = NULL, *font = NULL;
    unsigned char new_post[32];
    *out = NULL;
    *out_len = 0;

    if (src_len < 12)
        return CF_ERR_LIMIT;
    size_t num = cf_get16(src + 4);
    if (num == 0 || num >= SFNT_MAX_TABLES - 1 || 12 + 16 * num > src_len)
        return CF_ERR_LIMIT;
    for (size_t i = 0; i < num; i++) {
        const unsigned char *rec = src + 12 + 16 * i;
        uint32_t tag = cf_get32(rec), offset = cf_get32(rec + 8), length = cf_get32(rec + 12);
        if (offset > src_len || length > src_len - offset)
            return CF_ERR_LIMIT;
        const unsigned char *d = src + offset;
        /* The tables with glyph ids or their layout are read; the others copied as they are. */
        struct {
            uint32_t tag;
            const unsigned char **data;
            size_t *len;
        } const read[] = {
            {HB_TAG('h', 'e', 'a', 'd'), &head, &head_len},
            {HB_TAG('h', 'h', 'e', 'a'), &hhea, &hhea_len},
            {HB_TAG('m', 'a', 'x', 'p'), &maxp, &maxp_len},
            {HB_TAG('p', 'o', 's', 't'), &post, &post_len},
            {HB_TAG('l', 'o', 'c', 'a'), &loca, &loca_len},
            {HB_TAG('g', 'l', 'y', 'f'), &glyf, &glyf_len},
            {HB_TAG('h', 'm', 't', 'x'), &hmtx, &hmtx_len},
        };
        bool known = false;
        for (size_t r = 0; r < sizeof read / sizeof read[0]; r++)
            if (read[r].tag == tag) {
                *read[r].data = d;
                *read[r].len = length;
                known = true;
            }
        if (known || tag == HB_TAG('c', 'm', 'a', 'p'))
            continue; /* cmap: rebuilt */
        /* Room for the 8 tables written below. */
        if (!reorder_keeps(tag) || n_tables + 8 >= SFNT_MAX_TABLES)
            return CF_ERR_LIMIT;
        tables[n_tables++] = (sfnt_table){tag, d, length};
    }
    if (!head || head_len < 54 || !hhea || hhea_len < 36 || !maxp || maxp_len < 6 || !loca ||
        !glyf || !hmtx || (post && post_len < 32))
        return CF_ERR_LIMIT;
    size_t glyphs = cf_get16(maxp + 4);
    bool long_loca = cf_get16(head + 50) != 0;
    size_t n_hmetrics = cf_get16(hhea + 34);
    if (glyphs == 0 || n_hmetrics == 0 || n_hmetrics > glyphs ||
        loca_len < (glyphs + 1) * (long_loca ? 4 : 2) ||
        hmtx_len < n_hmetrics * 4 + (glyphs - n_hmetrics) * 2)
        return CF_ERR_LIMIT;

    new_of_old = cf_malloc(glyphs * sizeof *new_of_old);
    old_of_new = cf_malloc(glyphs * sizeof *old_of_new);
    spans = cf_malloc(glyphs * sizeof *spans);
    if (!new_of_old || !old_of_new || !spans) {
        st = CF_ERR_NOMEM;
        goto cleanup;
    }
    for (size_t g = 0; g < glyphs; g++) {
        size_t a = long_loca ? cf_get32(loca + g * 4) : (size_t)cf_get16(loca + g * 2) * 2;
        size_t b = long_loca ? cf_get32(loca + g * 4 + 4) : (size_t)cf_get16(loca + g * 2 + 2) * 2;
        if (a > b || b > glyf_len || (b > a && (b - a < 10 || (int16_t)cf_get16(glyf + a) < 0))) {
            st = CF_ERR_LIMIT; /* damaged, or a composite glyph (it names others by id) */
            goto cleanup;
        }
        spans[g] = (glyph_span){a, b - a};
        new_of_old[g] = UINT16_MAX;
    }

    /* The new order. */
    size_t placed = 0;
    new_of_old[0] = 0;
    old_of_new[placed++] = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            bool in_base = base != NULL && hb_set_has(base, map[i].cp);
            if (in_base != (pass == 0) || map[i].glyph >= glyphs)
                continue;
            if (new_of_old[map[i].glyph] == UINT16_MAX) {
                new_of_old[map[i].glyph] = (uint16_t)placed;
                old_of_new[placed++] = map[i].glyph;
            }
        }
        if (pass == 0) {
            *base_len = 0;
            for (size_t g = 0; g < placed; g++)
                *base_len += pad4(spans[old_of_new[g]].len);
        }
    }
    for (size_t g = 0; g < glyphs; g++)
        if (new_of_old[g] == UINT16_MAX) {
            new_of_old[g] = (uint16_t)placed;
            old_of_new[placed++] = (uint16_t)g;
        }
    for (size_t i = 0; i < n; i++)
        map[i].glyph = map[i].glyph < glyphs ? new_of_old[map[i].glyph] : 0;

    /* glyf, loca, hmtx in the new order. */
    size_t new_glyf_len = 0;
    for (size_t g = 0; g < glyphs; g++)
        new_glyf_len += pad4(spans[g].len);
    new_glyf = cf_calloc(1, new_glyf_len ? new_glyf_len : 1);
    new_loca = cf_malloc((glyphs + 1) * 4);
    new_hmtx = cf_malloc(glyphs * 4);
    new_head = cf_malloc(head_len);
    new_hhea = cf_malloc(hhea_len);
    if (!new_glyf || !new_loca || !new_hmtx || !new_head || !new_hhea) {
        st = CF_ERR_NOMEM;
        goto cleanup;
    }
    size_t at = 0;
    for (size_t g = 0; g < glyphs; g++) {
        size_t old = old_of_new[g];
        put32(new_loca + g * 4, (uint32_t)at);
        memcpy(new_glyf + at, glyf + spans[old].start, spans[old].len);
        at += pad4(spans[old].len);
        size_t adv_at = (old < n_hmetrics ? old : n_hmetrics - 1) * 4;
        const unsigned char *lsb =
            old < n_hmetrics ? hmtx + old * 4 + 2 : hmtx + n_hmetrics * 4 + (old - n_hmetrics) * 2;
        memcpy(new_hmtx + g * 4, hmtx + adv_at, 2);
        memcpy(new_hmtx + g * 4 + 2, lsb, 2);
    }
    put32(new_loca + glyphs * 4, (uint32_t)at);
    memcpy(new_head, head, head_len);
    put16(new_head + 50, 1);
    memcpy(new_hhea, hhea, hhea_len);
    put16(new_hhea + 34, (unsigned)glyphs);
    memset(new_post, 0, sizeof new_post);
    if (post)
        memcpy(new_post, post, 16); /* italic angle, underline, fixed pitch */
    put32(new_post, 0x00030000u);
    size_t cmap_len = 0;
    st = build_cmap(map, n, &cmap, &cmap_len);
    if (st)
        goto cleanup;

    tables[n_tables++] = (sfnt_table){HB_TAG('c', 'm', 'a', 'p'), cmap, cmap_len};
    tables[n_tables++] = (sfnt_table){HB_TAG('h', 'e', 'a', 'd'), new_head, head_len};
    tables[n_tables++] = (sfnt_table){HB_TAG('h', 'h', 'e', 'a'), new_hhea, hhea_len};
    tables[n_tables++] = (sfnt_table){HB_TAG('h', 'm', 't', 'x'), new_hmtx, glyphs * 4};
    tables[n_tables++] = (sfnt_table){HB_TAG('l', 'o', 'c', 'a'), new_loca, (glyphs + 1) * 4};
    tables[n_tables++] = (sfnt_table){HB_TAG('m', 'a', 'x', 'p'), maxp, maxp_len};
    tables[n_tables++] = (sfnt_table){HB_TAG('p', 'o', 's', 't'), new_post, sizeof new_post};
    tables[n_tables++] = (sfnt_table){HB_TAG('g', 'l', 'y', 'f'), new_glyf, new_glyf_len};
    st = sfnt_write(tables, n_tables, src, HB_TAG('g', 'l', 'y', 'f'), &font, out_len, glyf_offset);
    if (st == CF_OK) {
        *out = font;
        font = NULL;
    }

cleanup:
    cf_free(font);
    cf_free(cmap);
    cf_free(new_glyf);
    cf_free(new_loca);
    cf_free(new_hmtx);
    cf_free(new_head);
    cf_free(new_hhea);
    cf_free(spans);
    cf_free(old_of_new);
    cf_free(new_of_old);
    return st;
}

/* ---- the subsetter ---- */

/* Fills input for the code points of want that font has. */
static void configure_input(hb_subset_input_t *input, const cf_font *font, const hb_set_t *want)
{
    hb_set_t *unicodes = hb_subset_input_unicode_set(input);
    hb_codepoint_t cp = HB_SET_VALUE_INVALID;
    while (hb_set_next(want, &cp))
        if (cf_font_glyph(font, cp) != 0)
            hb_set_add(unicodes, cp);

    hb_subset_input_set_flags(input, HB_SUBSET_FLAGS_NO_HINTING | HB_SUBSET_FLAGS_NOTDEF_OUTLINE);

    /* Tables the PDF does not use: layout (we do not shape), vertical metrics, signatures. */
    static const hb_tag_t dropped[] = {
        HB_TAG('G', 'S', 'U', 'B'), HB_TAG('G', 'P', 'O', 'S'), HB_TAG('G', 'D', 'E', 'F'),
        HB_TAG('B', 'A', 'S', 'E'), HB_TAG('v', 'm', 't', 'x'), HB_TAG('v', 'h', 'e', 'a'),
        HB_TAG('V', 'O', 'R', 'G'), HB_TAG('D', 'S', 'I', 'G'), HB_TAG('m', 'e', 't', 'a'),
        HB_TAG('k', 'e', 'r', 'n'),
    };
    hb_set_t *drop = hb_subset_input_set(input, HB_SUBSET_SETS_DROP_TABLE_TAG);
    for (size_t i = 0; i < sizeof dropped / sizeof dropped[0]; i++)
        hb_set_add(drop, dropped[i]);

    /* A minimal name table: copyright, family, style (libharu needs it), PostScript name
     * (libharu names the font by it), licence and licence URL. */
    static const unsigned kept_names[] = {0, 1, 2, 6, 13, 14};
    hb_set_t *names = hb_subset_input_set(input, HB_SUBSET_SETS_NAME_ID);
    hb_set_clear(names);
    for (size_t i = 0; i < sizeof kept_names / sizeof kept_names[0]; i++)
        hb_set_add(names, kept_names[i]);
}

/* The subsetter: with ordered, the result is reordered (reorder_subset) around base when it
 * can be, and *layout says where its glyph records lie. */
static cf_status subset(const cf_font *font, const cf_codepoints *set, cf_subset_cmap cmap_kind,
                        bool ordered, const cf_codepoints *base, unsigned char **data, size_t *len,
                        cf_subset_layout *layout, cf_diag *diag)
{
    cf_status st = CF_OK;
    if (layout)
        *layout = (cf_subset_layout){0};
    hb_subset_input_t *input = NULL;
    hb_face_t *sub_face = NULL;
    hb_font_t *sub_font = NULL;
    hb_blob_t *sub_blob = NULL;
    mapping *map = NULL;
    unsigned char *cmap = NULL;
    unsigned char *result = NULL;
    size_t result_len = 0;
    *data = NULL;
    *len = 0;

    if (!hb_set_allocation_successful(set->set)) {
        cf_diag_error(diag, font->path, 0, "out of memory collecting the document's characters");
        st = CF_ERR_NOMEM;
        goto cleanup;
    }
    input = hb_subset_input_create_or_fail();
    if (!input) {
        cf_diag_error(diag, font->path, 0, "out of memory making a font subset");
        st = CF_ERR_NOMEM;
        goto cleanup;
    }
    configure_input(input, font, set->set);
    if (!hb_set_allocation_successful(hb_subset_input_unicode_set(input))) {
        cf_diag_error(diag, font->path, 0, "out of memory making a font subset");
        st = CF_ERR_NOMEM;
        goto cleanup;
    }
    sub_face = hb_subset_or_fail(font->face, input);
    if (!sub_face) {
        cf_diag_error(diag, font->path, 0, "HarfBuzz could not make a subset of this font");
        st = CF_ERR_INTERNAL;
        goto cleanup;
    }
    sub_blob = hb_face_reference_blob(sub_face);
    unsigned sub_len = 0;
    const unsigned char *sub_data = (const unsigned char *)hb_blob_get_data(sub_blob, &sub_len);
    if (!sub_data || sub_len < 12) {
        cf_diag_error(diag, font->path, 0, "HarfBuzz made an empty subset of this font");
        st = CF_ERR_INTERNAL;
        goto cleanup;
    }

    /* The subset's glyph of each kept character, in code point order. */
    hb_set_t *unicodes = hb_subset_input_unicode_set(input);
    size_t n = hb_set_get_population(unicodes), n_map = 0;
    map = cf_malloc((n ? n : 1) * sizeof *map);
    if (!map) {
        cf_diag_error(diag, font->path, 0, "out of memory making a font subset");
        st = CF_ERR_NOMEM;
        goto cleanup;
    }
    sub_font = hb_font_create(sub_face);
    hb_codepoint_t cp = HB_SET_VALUE_INVALID;
    while (hb_set_next(unicodes, &cp)) {
        hb_codepoint_t glyph = 0;
        if (!hb_font_get_nominal_glyph(sub_font, cp, &glyph) || glyph == 0 || glyph > 0xFFFF) {
            cf_diag_error(diag, font->path, 0, "the font subset lost U+%04X", (unsigned)cp);
            st = CF_ERR_INTERNAL;
            goto cleanup;
        }
        map[n_map++] = (mapping){(uint32_t)cp, (uint16_t)glyph};
    }

    size_t glyf_offset = 0, base_len = 0;
    st = CF_ERR_LIMIT;
    if (ordered) {
        /* On a copy of the map: a subset that cannot be reordered keeps its glyph ids. */
        mapping *copy = cf_malloc((n_map ? n_map : 1) * sizeof *copy);
        if (!copy) {
            cf_diag_error(diag, font->path, 0, "out of memory making a font subset");
            st = CF_ERR_NOMEM;
            goto cleanup;
        }
        memcpy(copy, map, n_map * sizeof *copy);
        st = reorder_subset(sub_data, sub_len, copy, n_map, base ? base->set : NULL, &result,
                            &result_len, &glyf_offset, &base_len);
        if (st == CF_OK) {
            cf_free(map);
            map = copy; /* the new glyph ids */
        } else {
            cf_free(copy);
        }
        if (st != CF_OK && st != CF_ERR_LIMIT) {
            cf_diag_error(diag, font->path, 0, "%s while ordering the font subset's glyphs",
                          cf_status_message(st));
            goto cleanup;
        }
    }
    size_t cmap_len = 0;
    if (st == CF_OK)
        ; /* reordered, with its own compact cmap */
    else if ((st = cmap_kind == CF_SUBSET_CMAP_COMPACT ? build_cmap(map, n_map, &cmap, &cmap_len)
                                                       : CF_ERR_LIMIT) == CF_OK) {
        st = sfnt_replace_table(sub_data, sub_len, HB_TAG('c', 'm', 'a', 'p'), cmap, cmap_len,
                                &result, &result_len);
    } else if (st == CF_ERR_LIMIT) {
        /* Too many scattered characters for a compact table: HarfBuzz's own cmap is correct,
         * only slower for libharu to read. */
        result = cf_malloc(sub_len);
        if (result) {
            memcpy(result, sub_data, sub_len);
            result_len = sub_len;
            st = CF_OK;
        } else {
            st = CF_ERR_NOMEM;
        }
    }
    if (st) {
        cf_diag_error(diag, font->path, 0, "%s while rebuilding the font subset's cmap",
                      cf_status_message(st));
        goto cleanup;
    }

    st = verify_subset(font, set->set, result, result_len, diag);
    if (st)
        goto cleanup;
    if (layout) {
        layout->cps = cf_malloc((n_map ? n_map : 1) * sizeof *layout->cps);
        layout->glyphs = cf_malloc((n_map ? n_map : 1) * sizeof *layout->glyphs);
        if (!layout->cps || !layout->glyphs) {
            cf_subset_layout_cleanup(layout);
            cf_diag_error(diag, font->path, 0, "out of memory making a font subset");
            st = CF_ERR_NOMEM;
            goto cleanup;
        }
        for (size_t i = 0; i < n_map; i++) {
            layout->cps[i] = map[i].cp;
            layout->glyphs[i] = map[i].glyph;
        }
        layout->n = n_map;
        layout->glyf_offset = base_len > 0 ? glyf_offset : result_len;
        layout->base_len = base_len;
    }
    *data = result;
    *len = result_len;
    result = NULL;

cleanup:
    cf_free(result);
    cf_free(cmap);
    cf_free(map);
    hb_font_destroy(sub_font);
    hb_blob_destroy(sub_blob);
    hb_face_destroy(sub_face);
    hb_subset_input_destroy(input);
    return st;
}

cf_status cf_font_subset(const cf_font *font, const cf_codepoints *set, unsigned char **data,
                         size_t *len, cf_diag *diag)
{
    return subset(font, set, CF_SUBSET_CMAP_COMPACT, false, NULL, data, len, NULL, diag);
}

cf_status cf_font_subset_with(const cf_font *font, const cf_codepoints *set,
                              cf_subset_cmap cmap_kind, unsigned char **data, size_t *len,
                              cf_diag *diag)
{
    return subset(font, set, cmap_kind, false, NULL, data, len, NULL, diag);
}

cf_status cf_font_subset_ordered(const cf_font *font, const cf_codepoints *set,
                                 const cf_codepoints *base, unsigned char **data, size_t *len,
                                 cf_subset_layout *layout, cf_diag *diag)
{
    return subset(font, set, CF_SUBSET_CMAP_COMPACT, true, base, data, len, layout, diag);
}

void cf_subset_layout_cleanup(cf_subset_layout *layout)
{
    if (layout == NULL)
        return;
    cf_free(layout->cps);
    cf_free(layout->glyphs);
    *layout = (cf_subset_layout){0};
}
