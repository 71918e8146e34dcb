/* Reading scans of signed forms: page images of scanner files, our QR code on each page, pages
 * grouped by document, and ink on the signature lines. The library the filing command calls;
 * it never prints and never writes to the archive.
 *
 *   cf_scan_source_open(path)            a scanner PDF, a multi-page TIFF, a PNG or a JPEG file
 *   cf_scan_source_read_page(i)          one page as an 8-bit grey image (0 = black)
 *   cf_scan_source_get_raw(i)            the page's own encoded image data, for filing unchanged
 *   cf_scan_qr_find(image)               our QR: its text, payload and corners in the image
 *   cf_scan_group(pages)                 documents with their pages in order, and every problem
 *   cf_scan_areas_get(form, list)        signature/date lines of an issued document (points)
 *   cf_scan_area_check(image, qr, area)  is there ink above the line? */
#ifndef CF_SCAN_H
#define CF_SCAN_H

#include "base/diag.h"
#include "base/status.h"
#include "form/form.h"
#include "layout/display_list.h"
#include "render/docid.h"

#include <stdbool.h>
#include <stddef.h>

/* ---- page images ---- */

/* An 8-bit grey page image, one byte per pixel, rows top to bottom, 0 = black, 255 = white. */
typedef struct cf_scan_image {
    unsigned char *pixels; /* owned; freed by cf_scan_image_cleanup */
    unsigned width, height;
    double dpi; /* resolution the file declares; 0 when it declares none */
} cf_scan_image;

void cf_scan_image_cleanup(cf_scan_image *image);

/* How a page's image data is encoded in its file. */
typedef enum cf_scan_encoding {
    CF_SCAN_ENC_JPEG,  /* a whole JPEG file (PDF /DCTDecode) */
    CF_SCAN_ENC_CCITT, /* CCITT fax data (PDF /CCITTFaxDecode, TIFF compression 3/4) */
    CF_SCAN_ENC_FLATE, /* zlib-compressed samples (PDF /FlateDecode, no predictor) */
    CF_SCAN_ENC_JBIG2, /* JBIG2 embedded stream (PDF /JBIG2Decode) */
    CF_SCAN_ENC_OTHER, /* anything else (PNG files, striped TIFFs): re-encode losslessly */
} cf_scan_encoding;

/* A page's image data as the scanner wrote it, for a signed copy that is not re-compressed. */
typedef struct cf_scan_raw {
    cf_scan_encoding encoding;
    const unsigned char *data; /* valid until the next call on the source or its free */
    size_t len;
    unsigned width, height;
    unsigned components;   /* 1 grey, 3 RGB, 4 CMYK */
    unsigned bits;         /* bits per component */
    int ccitt_k;           /* CCITT: K (< 0 = G4, 0 = G3 1-D, > 0 = G3 2-D) */
    bool ccitt_black_is_1; /* CCITT: the PDF /BlackIs1 that shows the page as scanned */
    bool invert;           /* the image is shown inverted (PDF /Decode [1 0]) */
    bool ccitt_byte_align; /* CCITT: EncodedByteAlign */
    const unsigned char *jbig2_globals; /* JBIG2: the /JBIG2Globals stream, or NULL */
    size_t jbig2_globals_len;
    double dpi; /* 0 when unknown */
} cf_scan_raw;

typedef struct cf_scan_source cf_scan_source;

/* Opens a scan file: PDF (each page's largest image XObject: JPEG, CCITT G3/G4, Flate, JBIG2),
 * TIFF (every directory is a page), PNG or JPEG. The kind is found from the file's bytes.
 * Errors name the file. Caller frees with cf_scan_source_free. */
cf_status cf_scan_source_open(const char *path, cf_scan_source **out, cf_diag *diag);
void cf_scan_source_free(cf_scan_source *source);
size_t cf_scan_source_get_pages(const cf_scan_source *source);
const char *cf_scan_source_get_path(const cf_scan_source *source);
/* Decodes page (0-based) into out (8-bit grey). A page that cannot be decoded is CF_ERR_DATA
 * with a message naming the file and page; the other pages stay readable. */
cf_status cf_scan_source_read_page(cf_scan_source *source, size_t page, cf_scan_image *out,
                                   cf_diag *diag);
/* The page's own encoded data (see cf_scan_raw); encoding CF_SCAN_ENC_OTHER when the file's
 * form cannot be copied into a PDF as it is. */
cf_status cf_scan_source_get_raw(cf_scan_source *source, size_t page, cf_scan_raw *out,
                                 cf_diag *diag);

/* ---- QR codes ---- */

/* What our QR code holds (src/layout/furniture.c): "DOCID/PAGE/PAGES/FORM@VERSION" on an issued
 * document, "BLANK/PAGE/PAGES/FORM@VERSION" on a blank form (render --blank: the same paper for
 * every patient, photocopied, never issued, so no document id). "BLANK" is never a document id
 * (5 characters, and L is not in the ids' alphabet): a blank form's page is never taken for a
 * document's. */
#define CF_SCAN_BLANK_ID "BLANK"
typedef struct cf_scan_payload {
    bool blank; /* a blank form's page: document_id is "", it belongs to no document */
    char document_id[CF_DOCUMENT_ID_SIZE];
    unsigned page;  /* 1-based */
    unsigned pages; /* pages of the document */
    char form_id[64];
    char version[32];
} cf_scan_payload;

/* Parses a QR text; CF_ERR_DATA when it is not ours, malformed, or the id's check character
 * does not match (a misread or a forged id is never taken for another document). */
cf_status cf_scan_payload_parse(const char *text, size_t len, cf_scan_payload *out);

typedef enum cf_scan_decoder {
    CF_SCAN_DECODER_ZBAR,  /* libzbar */
    CF_SCAN_DECODER_ZXING, /* zxing-cpp */
    CF_SCAN_DECODER_COUNT
} cf_scan_decoder;

/* Our QR found on a page image. */
typedef struct cf_scan_qr {
    cf_scan_payload payload;
    /* Corners of the symbol (outer corners of its modules, quiet zone excluded) in image pixels,
     * as printed: [0] top-left, [1] top-right, [2] bottom-right, [3] bottom-left. */
    double corners[4][2];
} cf_scan_qr;

/* Finds our QR code on image with decoder. CF_OK with *out filled; CF_ERR_DATA when there is
 * no readable QR of ours on the page (a normal outcome for a scan, not a failure of the stack);
 * CF_ERR_NOMEM / CF_ERR_INTERNAL when the decoder failed. */
cf_status cf_scan_qr_find(const cf_scan_image *image, cf_scan_decoder decoder, cf_scan_qr *out);
/* The decoder the filing command uses (chosen by measurement: README "Reading scans"). */
#define CF_SCAN_DECODER_DEFAULT CF_SCAN_DECODER_ZXING

/* ---- grouping ---- */

/* One page of the input, as the caller read it. */
typedef struct cf_scan_page {
    const char *source; /* file name; not copied, must outlive the report */
    size_t source_page; /* 1-based page in that file */
    bool decoded;       /* payload is valid */
    cf_scan_payload payload;
    unsigned char digest[32]; /* SHA-256 of the page's image data: tells a second identical
                                 copy of a scan from a different scan of the same page */
} cf_scan_page;

typedef enum cf_scan_problem_kind {
    CF_SCAN_UNDECODABLE,  /* no QR of ours could be read: page */
    CF_SCAN_MISSING_PAGE, /* document_id's page_no is not in the input */
    CF_SCAN_DUPLICATE,    /* a different scan of a page already seen: page (the later one) */
    CF_SCAN_INCONSISTENT, /* QR disagrees with the document's other pages (page count or
                             form@version): page */
    CF_SCAN_BLANK_FORM,   /* a page of a blank form (payload.blank): no document of its own, to
                             be assigned by hand: page, page_no from its QR */
    CF_SCAN_PROBLEM_COUNT
} cf_scan_problem_kind;

typedef struct cf_scan_problem {
    cf_scan_problem_kind kind;
    size_t page; /* index into the input pages; (size_t)-1 for CF_SCAN_MISSING_PAGE */
    char document_id[CF_DOCUMENT_ID_SIZE]; /* "" for CF_SCAN_UNDECODABLE */
    unsigned page_no; /* the document's page number concerned; 0 when unknown */
} cf_scan_problem;

/* One document seen in the input. */
typedef struct cf_scan_doc {
    char document_id[CF_DOCUMENT_ID_SIZE];
    unsigned pages;      /* from the first QR read for it */
    const char *form_id; /* points into that page's payload */
    const char *version;
    size_t *page_index; /* [pages]: input index of page n+1, or (size_t)-1 when missing */
    bool conflicting;   /* a different duplicate or an inconsistent page was seen */
    bool complete;      /* every page present, not conflicting */
} cf_scan_doc;

typedef struct cf_scan_report {
    cf_scan_doc *docs; /* in order of first appearance */
    size_t n_docs;
    cf_scan_problem *problems; /* in input order, then missing pages by document */
    size_t n_problems;
} cf_scan_report;

/* Reads page (0-based) of source, hashes its image and looks for our QR with decoder: page gets
 * the source's path (owned by source: keep the source open while page is used), the 1-based
 * page number, the digest, and decoded/payload; qr (may be NULL) gets the QR's corners; image
 * (may be NULL) keeps the page image for the signature check (caller cleans it up with
 * cf_scan_image_cleanup). A page without a readable QR is CF_OK with decoded false; a page that
 * cannot be decoded at all is CF_ERR_DATA (message in diag) with page still filled (decoded
 * false), so that it can go to the inbox; the other pages stay readable. */
cf_status cf_scan_page_read(cf_scan_source *source, size_t page, cf_scan_decoder decoder,
                            cf_scan_page *out, cf_scan_qr *qr, cf_scan_image *image, cf_diag *diag);

/* Groups n pages by document id, in page order, and lists every problem. An identical second
 * copy of a page (same digest) is not a problem and not used twice. A blank form's page
 * (payload.blank) joins no document: it is a CF_SCAN_BLANK_FORM problem, whatever its digest.
 * Caller frees *out with cf_scan_report_free. */
cf_status cf_scan_group(const cf_scan_page *pages, size_t n, cf_scan_report **out);
void cf_scan_report_free(cf_scan_report *report);
/* Short English name of a problem kind ("undecodable", "missing-page", ...). */
const char *cf_scan_problem_name(cf_scan_problem_kind kind);

/* ---- signature areas ---- */

typedef enum cf_sign_line {
    CF_SIGN_LINE_SIGNATURE,
    CF_SIGN_LINE_DATE,
    CF_SIGN_LINE_TIME,
} cf_sign_line;

/* The space above one printed signature, date or time line, in PDF points (origin bottom-left
 * of the page). */
typedef struct cf_sign_area {
    size_t page;         /* 0-based */
    cf_signer_role role; /* of the signature block */
    cf_sign_line line;
    size_t block;          /* index of the signature block in the form, in reading order */
    double x1, y1, x2, y2; /* x1 < x2, y1 < y2; y1 just above the rule */
} cf_sign_area;

/* Where the QR symbol sits on a page, in PDF points: bottom-left corner and side. */
typedef struct cf_sign_qr_place {
    double x, y, side;
} cf_sign_qr_place;

/* Reads, from the display list of form laid out for one document (with its document id), the
 * area above every signature, date and time line, and the QR square of every page. Read-only;
 * CF_ERR_DATA when the list does not show the lines the form declares. Caller frees *areas and
 * *qr (list->n_pages entries; side 0 on a page without QR) with cf_free. */
cf_status cf_scan_areas_get(const cf_form *form, const cf_display_list *list, cf_sign_area **areas,
                            size_t *n_areas, cf_sign_qr_place **qr);

/* Share of dark pixels (grey < 128) in area (which starts 4 pt above its printed rule), placed
 * on image by the page's QR (qr found on image, place its square on the page), then moved onto
 * the printed rule found near there (a corner off by one pixel turns the page by half a degree,
 * millimetres across an A4 page). */
double cf_scan_area_ink(const cf_scan_image *image, const cf_scan_qr *qr,
                        const cf_sign_qr_place *place, const cf_sign_area *area);
/* Ink share from which a line counts as signed. On the test set (tests/scan/make_scans.sh)
 * signed lines carry at least 2.1% and empty ones 0.0%, at 200 dpi grey and 300 dpi bilevel,
 * with either decoder's corners; 0.3% leaves room both ways (a pen line is 1.2 pt thick, a
 * speck of dust is not). */
#define CF_SCAN_INK_SIGNED 0.003
/* True when the line of area carries ink (cf_scan_area_ink >= CF_SCAN_INK_SIGNED). */
bool cf_scan_area_check(const cf_scan_image *image, const cf_scan_qr *qr,
                        const cf_sign_qr_place *place, const cf_sign_area *area);

#endif
