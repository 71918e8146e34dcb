/* What a filed scan is, from its first bytes (see cf_archive_sniff in archive.h). Only the
 * signatures are checked: the archive keeps the bytes as they are and never decodes them. */
#include "archive/archive.h"

#include <string.h>

const char *cf_archive_sniff(const unsigned char *data, size_t len)
{
    if (data == NULL)
        return NULL;
    if (len >= 5 && memcmp(data, "%PDF-", 5) == 0)
        return "application/pdf";
    if (len >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return "image/jpeg";
    if (len >= 4 && (memcmp(data, "II*\0", 4) == 0 || memcmp(data, "MM\0*", 4) == 0))
        return "image/tiff";
    return NULL;
}
