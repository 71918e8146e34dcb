/* JPEG page images (libjpeg-turbo): decoded straight to grey; errors return instead of exit. */
#include "scan/scan_internal.h"

#include <stdio.h>

#include <jpeglib.h>
#include <setjmp.h>

typedef struct jpeg_failure {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
} jpeg_failure;

static void on_error(j_common_ptr cinfo)
{
    jpeg_failure *failure = (jpeg_failure *)(void *)cinfo->err;
    longjmp(failure->jump, 1);
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

cf_status cf_scan_jpeg_decode(const unsigned char *data, size_t len, cf_scan_image *out)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_failure failure;
    /* volatile: kept across the longjmp of a decoding error */
    cf_scan_image *volatile image = out;
    cf_status st = CF_OK;
    out->pixels = NULL;
    cinfo.err = jpeg_std_error(&failure.mgr);
    failure.mgr.error_exit = on_error;
    failure.mgr.output_message = on_message;
    if (setjmp(failure.jump)) {
        jpeg_destroy_decompress(&cinfo);
        cf_scan_image_cleanup(image);
        return CF_ERR_DATA;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        return CF_ERR_DATA; /* no scanner writes CMYK pages */
    }
    cinfo.out_color_space = JCS_GRAYSCALE;
    cinfo.dct_method = JDCT_ISLOW;
    st = cf_scan_image_alloc(image, cinfo.image_width, cinfo.image_height);
    if (st != CF_OK) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    image->dpi = density(&cinfo);
    jpeg_start_decompress(&cinfo);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = image->pixels + (size_t)cinfo.output_scanline * image->width;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return CF_OK;
}
