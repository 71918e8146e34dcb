/* QR decoding with libzbar (QR symbology only). */
#include "scan/qr_decoders.h"

#include <zbar.h>

int cf_scan_zbar_find(const unsigned char *pixels, unsigned width, unsigned height,
                      cf_scan_qr_found found, void *ctx)
{
    zbar_image_scanner_t *scanner = zbar_image_scanner_create();
    zbar_image_t *image = zbar_image_create();
    int rc = -1;
    if (scanner == NULL || image == NULL)
        goto done;
    zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
    zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
    zbar_image_set_format(image, zbar_fourcc('Y', '8', '0', '0'));
    zbar_image_set_size(image, width, height);
    /* zbar only reads the pixels; its API takes them without const. */
    zbar_image_set_data(image, (void *)(unsigned long)pixels, (unsigned long)width * height, NULL);
    if (zbar_scan_image(scanner, image) < 0)
        goto done;
    rc = 0;
    for (const zbar_symbol_t *s = zbar_image_first_symbol(image); s != NULL;
         s = zbar_symbol_next(s)) {
        if (zbar_symbol_get_type(s) != ZBAR_QRCODE || zbar_symbol_get_loc_size(s) != 4)
            continue;
        /* zbar lists a QR's corners as printed top-left, bottom-left, bottom-right, top-right. */
        static const unsigned order[4] = {0, 3, 2, 1};
        double corners[8];
        for (unsigned i = 0; i < 4; i++) {
            corners[2 * i] = zbar_symbol_get_loc_x(s, order[i]);
            corners[2 * i + 1] = zbar_symbol_get_loc_y(s, order[i]);
        }
        if (found(ctx, zbar_symbol_get_data(s), zbar_symbol_get_data_length(s), corners))
            break;
    }
done:
    if (image != NULL)
        zbar_image_destroy(image);
    if (scanner != NULL)
        zbar_image_scanner_destroy(scanner);
    return rc;
}
