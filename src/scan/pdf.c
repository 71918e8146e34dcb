/* Scanner PDFs (libqpdf's C API): a page's image is its largest image XObject, taken as the
 * scanner wrote it (JPEG, CCITT, JBIG2) or decoded by qpdf (Flate, with predictors). A scanner
 * writes one image per page; a page with vector content (an issued PDF printed to file) has
 * none and is reported as such. */
#include "scan/scan_internal.h"

#include "cf_config.h"

#include "base/alloc.h"

#include <qpdf/qpdf-c.h>
#include <stdlib.h>
#include <string.h>

typedef struct pdf_file {
    char *path;
    qpdf_data q;
    unsigned char *data;    /* stream data of the last page read (malloc'd by qpdf) */
    unsigned char *globals; /* its JBIG2 globals */
} pdf_file;

/* qpdf keeps an error until it is fetched; fetch it so that the next call starts clean. */
static bool failed(qpdf_data q)
{
    if (!qpdf_has_error(q))
        return false;
    qpdf_get_error(q);
    return true;
}

static void release_buffers(pdf_file *file)
{
    free(file->data); /* qpdf allocates these with malloc */
    free(file->globals);
    file->data = NULL;
    file->globals = NULL;
}

static void pdf_close(void *impl)
{
    pdf_file *file = impl;
    if (file == NULL)
        return;
    release_buffers(file);
    if (file->q != NULL)
        qpdf_cleanup(&file->q);
    cf_free(file->path);
    cf_free(file);
}

static long long int_key(qpdf_data q, qpdf_oh dict, const char *key, long long fallback)
{
    /* No dictionary (an image without /DecodeParms): asking it for a key would leave qpdf an
     * error that fails the next read of the file. */
    if (!qpdf_oh_is_dictionary(q, dict))
        return fallback;
    qpdf_oh v = qpdf_oh_get_key(q, dict, key);
    return qpdf_oh_is_integer(q, v) ? qpdf_oh_get_int_value(q, v) : fallback;
}

/* A single filter (a name or a one-element array) and its parameters; false for a chain. */
static bool single_filter(qpdf_data q, qpdf_oh dict, const char **filter, qpdf_oh *parms)
{
    qpdf_oh f = qpdf_oh_get_key(q, dict, "/Filter");
    qpdf_oh p = qpdf_oh_get_key(q, dict, "/DecodeParms");
    *filter = "";
    *parms = p;
    if (qpdf_oh_is_null(q, f))
        return true;
    if (qpdf_oh_is_array(q, f)) {
        if (qpdf_oh_get_array_n_items(q, f) != 1)
            return false;
        f = qpdf_oh_get_array_item(q, f, 0);
        if (qpdf_oh_is_array(q, p))
            *parms = qpdf_oh_get_array_item(q, p, 0);
    }
    if (!qpdf_oh_is_name(q, f))
        return false;
    *filter = qpdf_oh_get_name(q, f);
    return true;
}

/* Components of an image's colour space: 1, 3, 4, or 0 when we cannot read it as such. */
static unsigned components(qpdf_data q, qpdf_oh cs)
{
    if (qpdf_oh_is_name_and_equals(q, cs, "/DeviceGray") ||
        qpdf_oh_is_name_and_equals(q, cs, "/CalGray"))
        return 1;
    if (qpdf_oh_is_name_and_equals(q, cs, "/DeviceRGB"))
        return 3;
    if (qpdf_oh_is_name_and_equals(q, cs, "/DeviceCMYK"))
        return 4;
    if (qpdf_oh_is_array(q, cs) && qpdf_oh_get_array_n_items(q, cs) == 2 &&
        qpdf_oh_is_name_and_equals(q, qpdf_oh_get_array_item(q, cs, 0), "/ICCBased")) {
        long long n = int_key(q, qpdf_oh_get_dict(q, qpdf_oh_get_array_item(q, cs, 1)), "/N", 0);
        return n == 1 || n == 3 || n == 4 ? (unsigned)n : 0;
    }
    if (qpdf_oh_is_array(q, cs) && qpdf_oh_get_array_n_items(q, cs) >= 2 &&
        qpdf_oh_is_name_and_equals(q, qpdf_oh_get_array_item(q, cs, 0), "/CalRGB"))
        return 3;
    return 0;
}

/* The page's largest image XObject (Resources may be inherited from the page tree). */
static bool page_image(qpdf_data q, size_t page, qpdf_oh *image)
{
    qpdf_oh node = qpdf_get_page_n(q, page);
    qpdf_oh res = qpdf_oh_get_key(q, node, "/Resources");
    for (int depth = 0; !qpdf_oh_is_dictionary(q, res) && depth < 32; depth++) {
        node = qpdf_oh_get_key(q, node, "/Parent");
        if (!qpdf_oh_is_dictionary(q, node))
            break;
        res = qpdf_oh_get_key(q, node, "/Resources");
    }
    qpdf_oh xobjects = qpdf_oh_get_key(q, res, "/XObject");
    if (!qpdf_oh_is_dictionary(q, xobjects))
        return false;
    long long best = 0;
    qpdf_oh_begin_dict_key_iter(q, xobjects);
    while (qpdf_oh_dict_more_keys(q)) {
        qpdf_oh x = qpdf_oh_get_key(q, xobjects, qpdf_oh_dict_next_key(q));
        if (!qpdf_oh_is_stream(q, x))
            continue;
        qpdf_oh dict = qpdf_oh_get_dict(q, x);
        if (!qpdf_oh_is_name_and_equals(q, qpdf_oh_get_key(q, dict, "/Subtype"), "/Image"))
            continue;
        long long area = int_key(q, dict, "/Width", 0) * int_key(q, dict, "/Height", 0);
        if (area > best) {
            best = area;
            *image = x;
        }
    }
    return best > 0;
}

/* Reads page's image into raw; with decoded, Flate data comes back as samples (qpdf undoes
 * the filter and its predictor) and raw->encoding says FLATE for plain samples. */
static cf_status load_page(pdf_file *file, size_t page, bool decoded, cf_scan_raw *raw,
                           cf_diag *diag)
{
    qpdf_data q = file->q;
    qpdf_oh image = 0, parms = 0;
    const char *filter = "";
    cf_status st = CF_OK;
    release_buffers(file);
    memset(raw, 0, sizeof *raw);
    if (!page_image(q, page, &image)) {
        cf_diag_error(diag, file->path, 0,
                      "page %zu: no scanned image on the page (not a scan, or an unsigned "
                      "electronic copy)",
                      page + 1);
        st = CF_ERR_DATA;
        goto done;
    }
    qpdf_oh dict = qpdf_oh_get_dict(q, image);
    long long w = int_key(q, dict, "/Width", 0), h = int_key(q, dict, "/Height", 0);
    raw->width = w > 0 && w < 1000000 ? (unsigned)w : 0;
    raw->height = h > 0 && h < 1000000 ? (unsigned)h : 0;
    raw->bits = (unsigned)int_key(q, dict, "/BitsPerComponent", 1);
    qpdf_oh mask = qpdf_oh_get_key(q, dict, "/ImageMask");
    raw->components = qpdf_oh_is_bool(q, mask) && qpdf_oh_get_bool_value(q, mask)
                          ? 1
                          : components(q, qpdf_oh_get_key(q, dict, "/ColorSpace"));
    qpdf_oh decode = qpdf_oh_get_key(q, dict, "/Decode");
    if (qpdf_oh_is_array(q, decode) && qpdf_oh_get_array_n_items(q, decode) >= 2) {
        double d0 = qpdf_oh_get_numeric_value(q, qpdf_oh_get_array_item(q, decode, 0));
        double d1 = qpdf_oh_get_numeric_value(q, qpdf_oh_get_array_item(q, decode, 1));
        raw->invert = d0 > d1;
    }
    if (!single_filter(q, dict, &filter, &parms) || raw->width == 0 || raw->height == 0) {
        st = CF_ERR_DATA;
        goto done;
    }
    bool flate = strcmp(filter, "/FlateDecode") == 0 || filter[0] == '\0';
    QPDF_BOOL filtered = QPDF_FALSE;
    size_t len = 0;
    enum qpdf_stream_decode_level_e level = flate && decoded ? qpdf_dl_generalized : qpdf_dl_none;
    if (qpdf_oh_get_stream_data(q, image, level, &filtered, &file->data, &len) != QPDF_SUCCESS ||
        failed(q)) {
        st = CF_ERR_DATA;
        goto done;
    }
    raw->data = file->data;
    raw->len = len;
    raw->encoding = CF_SCAN_ENC_OTHER;
    if (strcmp(filter, "/DCTDecode") == 0) {
        raw->encoding = CF_SCAN_ENC_JPEG;
    } else if (strcmp(filter, "/CCITTFaxDecode") == 0) {
        raw->encoding = CF_SCAN_ENC_CCITT;
        raw->ccitt_k = (int)int_key(q, parms, "/K", 0);
        qpdf_oh b = qpdf_oh_get_key(q, parms, "/BlackIs1");
        raw->ccitt_black_is_1 = qpdf_oh_is_bool(q, b) && qpdf_oh_get_bool_value(q, b);
        b = qpdf_oh_get_key(q, parms, "/EncodedByteAlign");
        raw->ccitt_byte_align = qpdf_oh_is_bool(q, b) && qpdf_oh_get_bool_value(q, b);
        long long columns = int_key(q, parms, "/Columns", 1728);
        if (columns != (long long)raw->width)
            raw->encoding = CF_SCAN_ENC_OTHER; /* padded rows: not handled */
    } else if (strcmp(filter, "/JBIG2Decode") == 0) {
        raw->encoding = CF_SCAN_ENC_JBIG2;
        qpdf_oh g = qpdf_oh_get_key(q, parms, "/JBIG2Globals");
        if (qpdf_oh_is_stream(q, g)) {
            size_t glen = 0;
            if (qpdf_oh_get_stream_data(q, g, qpdf_dl_generalized, &filtered, &file->globals,
                                        &glen) != QPDF_SUCCESS ||
                failed(q)) {
                st = CF_ERR_DATA;
                goto done;
            }
            raw->jbig2_globals = file->globals;
            raw->jbig2_globals_len = glen;
        }
    } else if (flate && (decoded || int_key(q, parms, "/Predictor", 1) == 1)) {
        raw->encoding = CF_SCAN_ENC_FLATE;
    }
done:
    qpdf_oh_release_all(q);
    failed(q);
    if (st != CF_OK && st != CF_ERR_NOMEM && raw->width != 0)
        cf_diag_error(diag, file->path, 0, "page %zu: an image this reader cannot take (filter %s)",
                      page + 1, filter[0] != '\0' ? filter : "none");
    return st;
}

static cf_status pdf_raw(void *impl, size_t page, cf_scan_raw *raw, cf_diag *diag)
{
    return load_page(impl, page, /*decoded*/ false, raw, diag);
}

/* Samples (1 or 8 bits, 1 or 3 components) to grey. */
static cf_status samples_to_grey(const cf_scan_raw *raw, cf_scan_image *out)
{
    unsigned comps = raw->components != 0 ? raw->components : 1;
    if ((raw->bits != 1 && raw->bits != 8) || (comps != 1 && comps != 3) ||
        (raw->bits == 1 && comps != 1))
        return CF_ERR_DATA;
    size_t stride = ((size_t)raw->width * comps * raw->bits + 7) / 8;
    if (raw->len < stride * raw->height)
        return CF_ERR_DATA;
    cf_status st = cf_scan_image_alloc(out, raw->width, raw->height);
    if (st != CF_OK)
        return st;
    for (unsigned y = 0; y < raw->height; y++) {
        const unsigned char *s = raw->data + stride * y;
        unsigned char *row = out->pixels + (size_t)y * raw->width;
        for (unsigned x = 0; x < raw->width; x++) {
            if (raw->bits == 1)
                row[x] = (((unsigned)s[x >> 3] >> (7u - (x & 7u))) & 1u) ? 255 : 0;
            else if (comps == 1)
                row[x] = s[x];
            else
                row[x] =
                    (unsigned char)((s[3 * x] * 77u + s[3 * x + 1] * 150u + s[3 * x + 2] * 29u) >>
                                    8);
        }
    }
    return CF_OK;
}

static cf_status pdf_read(void *impl, size_t page, cf_scan_image *image, cf_diag *diag)
{
    pdf_file *file = impl;
    cf_scan_raw raw;
    cf_status st = load_page(file, page, /*decoded*/ true, &raw, diag);
    if (st != CF_OK)
        return st;
    bool invert = raw.invert;
    switch (raw.encoding) {
    case CF_SCAN_ENC_JPEG:
        st = cf_scan_jpeg_decode(raw.data, raw.len, image);
        break;
    case CF_SCAN_ENC_CCITT:
        /* Decoded black runs come out black; BlackIs1 shows them as 1 = white. */
        st = cf_scan_ccitt_decode(&raw, image);
        invert = invert != raw.ccitt_black_is_1;
        break;
    case CF_SCAN_ENC_JBIG2:
#if CF_HAVE_JBIG2
        st = cf_scan_jbig2_decode(&raw, image);
#else
        cf_diag_error(diag, file->path, 0,
                      "page %zu is a JBIG2 image, which this build does not read (jbig2dec is "
                      "AGPL; build with -Djbig2=enabled, or scan as JPEG or CCITT G4)",
                      page + 1);
        st = CF_ERR_DATA;
#endif
        break;
    case CF_SCAN_ENC_FLATE:
        st = samples_to_grey(&raw, image);
        break;
    case CF_SCAN_ENC_OTHER:
    default:
        st = CF_ERR_DATA;
        break;
    }
    if (st == CF_OK && invert)
        for (size_t i = 0; i < (size_t)image->width * image->height; i++)
            image->pixels[i] = (unsigned char)(255 - image->pixels[i]);
    release_buffers(file);
    if (st != CF_OK && st != CF_ERR_NOMEM)
        cf_diag_error(diag, file->path, 0, "page %zu: cannot decode the page image (%s)", page + 1,
                      cf_status_message(st));
    return st;
}

static const cf_scan_reader pdf_reader = {pdf_close, pdf_raw, pdf_read};

cf_status cf_scan_pdf_open(const char *path, const cf_scan_reader **reader, void **impl,
                           size_t *pages, cf_diag *diag)
{
    pdf_file *file = cf_calloc(1, sizeof *file);
    if (file == NULL || (file->path = cf_strdup(path)) == NULL) {
        cf_free(file);
        return CF_ERR_NOMEM;
    }
    file->q = qpdf_init();
    if (file->q == NULL) {
        pdf_close(file);
        return CF_ERR_NOMEM;
    }
    qpdf_silence_errors(file->q);
    qpdf_set_suppress_warnings(file->q, QPDF_TRUE);
    int n = -1;
    if ((qpdf_read(file->q, path, NULL) & QPDF_ERRORS) == 0)
        n = qpdf_get_num_pages(file->q);
    if (n < 0 || failed(file->q)) {
        failed(file->q);
        cf_diag_error(diag, path, 0, "not a readable PDF file");
        pdf_close(file);
        return CF_ERR_DATA;
    }
    *pages = (size_t)n;
    *reader = &pdf_reader;
    *impl = file;
    return CF_OK;
}
