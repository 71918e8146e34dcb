/* One page of a stack as the filing command needs it: image, digest, QR. */
#include "scan/scan.h"

#include "base/hash.h"

#include <string.h>

cf_status cf_scan_page_read(cf_scan_source *source, size_t page, cf_scan_decoder decoder,
                            cf_scan_page *out, cf_scan_qr *qr, cf_scan_image *image, cf_diag *diag)
{
    cf_scan_image own = {0};
    cf_scan_image *img = image != NULL ? image : &own;
    cf_scan_qr found = {0};
    memset(out, 0, sizeof *out);
    out->source = cf_scan_source_get_path(source);
    out->source_page = page + 1;
    cf_status st = cf_scan_source_read_page(source, page, img, diag);
    if (st != CF_OK)
        return st;
    /* The digest covers the size and the pixels: two scans of one sheet never match, the same
     * scan read twice always does. */
    cf_sha256 h;
    unsigned char size[8];
    for (int i = 0; i < 4; i++) {
        size[i] = (unsigned char)(img->width >> (8 * i));
        size[4 + i] = (unsigned char)(img->height >> (8 * i));
    }
    cf_sha256_init(&h);
    cf_sha256_update(&h, size, sizeof size);
    cf_sha256_update(&h, img->pixels, (size_t)img->width * img->height);
    cf_sha256_final(&h, out->digest);
    st = cf_scan_qr_find(img, decoder, &found);
    if (st == CF_OK) {
        out->decoded = true;
        out->payload = found.payload;
        if (qr != NULL)
            *qr = found;
    } else if (st == CF_ERR_DATA) {
        st = CF_OK; /* no QR of ours: the page goes to the inbox, the stack goes on */
    }
    if (image == NULL)
        cf_scan_image_cleanup(&own);
    return st;
}
