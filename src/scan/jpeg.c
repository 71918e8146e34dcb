/* JPEG images (libjpeg-turbo): decoded straight to grey; errors return instead of exit. The
 * one JPEG decoder of the program (a scan's page, and the archive's check of a filed JPEG). */
#include "scan/scan_internal.h"

#include <stdio.h>

#include <jpeglib.h>
#include <setjmp.h>
#include <string.h>

typedef struct jpeg_failure {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX]; /* the error, or the first corrupt-data warning */
} jpeg_failure;

static void on_error(j_common_ptr cinfo)
{
    jpeg_failure *failure = (jpeg_failure *)(void *)cinfo->err;
    failure->mgr.format_message(cinfo, failure->message);
    longjmp(failure->jump, 1);
}

/* Counts corrupt-data warnings (level -1) and keeps the first one's text; prints nothing. */
static void on_warning(j_common_ptr cinfo, int level)
{
    jpeg_failure *failure = (jpeg_failure *)(void *)cinfo->err;
    if (level < 0 && failure->mgr.num_warnings++ == 0)
        failure->mgr.format_message(cinfo, failure->message);
}

static void on_message(j_common_ptr cinfo)
{
    (void)cinfo; /* warnings of a damaged scan: the QR decides whether the page is usable */
}

static double density(const struct jpeg_decompress_struct *cinfo)
{
    if (cinfo->density_unit == 1)
        return cinfo->X_density;
    if (cinfo->density_unit == 2)
        return cinfo->X_density * 2.54;
    return 0;
}

cf_status cf_scan_jpeg_info(const unsigned char *data, size_t len, cf_scan_raw *raw)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_failure failure;
    cinfo.err = jpeg_std_error(&failure.mgr);
    failure.mgr.error_exit = on_error;
    failure.mgr.output_message = on_message;
    if (setjmp(failure.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return CF_ERR_DATA;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    raw->encoding = CF_SCAN_ENC_JPEG;
    raw->width = cinfo.image_width;
    raw->height = cinfo.image_height;
    raw->components = (unsigned)cinfo.num_components;
    raw->bits = 8;
    raw->dpi = density(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return CF_OK;
}

/* Decodes the whole picture: into sink->image as grey, or, checking only, a row at a time in
 * its own colours (a CMYK JPEG cannot be made grey, and is a sound JPEG all the same). */
cf_status cf_scan_jpeg_read(const unsigned char *data, size_t len, const cf_scan_sink *sink)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_failure failure;
    /* volatile: kept across the longjmp of a decoding error */
    cf_scan_image *volatile image = sink->image;
    cf_status st = CF_OK;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&failure, 0, sizeof failure);
    if (image != NULL)
        image->pixels = NULL;
    cinfo.err = jpeg_std_error(&failure.mgr);
    failure.mgr.error_exit = on_error;
    failure.mgr.emit_message = on_warning;
    if (setjmp(failure.jump)) {
        cf_scan_sink_why(sink, "it is not a JPEG image that decodes: %s", failure.message);
        jpeg_destroy_decompress(&cinfo);
        cf_scan_image_cleanup(image);
        return CF_ERR_DATA;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    if (image != NULL &&
        (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK)) {
        cf_scan_sink_why(sink, "it is a CMYK JPEG image, which no scanner writes");
        jpeg_destroy_decompress(&cinfo);
        return CF_ERR_DATA;
    }
    st = cf_scan_sink_start(sink, cinfo.image_width, cinfo.image_height);
    if (st != CF_OK) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    if (image != NULL) {
        cinfo.out_color_space = JCS_GRAYSCALE;
        cinfo.dct_method = JDCT_ISLOW;
        image->dpi = density(&cinfo);
    }
    jpeg_start_decompress(&cinfo);
    JSAMPARRAY scratch = image != NULL
                             ? NULL
                             : (*cinfo.mem->alloc_sarray)(
                                   (j_common_ptr)&cinfo, JPOOL_IMAGE,
                                   cinfo.output_width * (JDIMENSION)cinfo.output_components, 1);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = image != NULL ? image->pixels + (size_t)cinfo.output_scanline * image->width
                                     : scratch[0];
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    /* A corrupt-data warning leaves grey blocks: a scan's QR decides whether the page is still
     * usable; a filed image with them is refused. */
    if (sink->strict && failure.mgr.num_warnings > 0) {
        cf_scan_sink_why(sink, "its pixels cannot all be decoded: %s", failure.message);
        st = CF_ERR_DATA;
        cf_scan_image_cleanup(image);
    }
    jpeg_destroy_decompress(&cinfo);
    return st;
}

cf_status cf_scan_jpeg_decode(const unsigned char *data, size_t len, cf_scan_image *out)
{
    cf_scan_sink sink = {.image = out, .max_pixels = CF_SCAN_MAX_PIXELS};
    return cf_scan_jpeg_read(data, len, &sink);
}
