/* Helpers shared by the unit tests. */
#ifndef CF_TEST_UTIL_H
#define CF_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Path under the source tree (CF_SOURCE_DIR set by meson), in a static buffer per call site. */
static inline const char *test_source_path(char *buf, size_t size, const char *rel)
{
    const char *root = getenv("CF_SOURCE_DIR");
    snprintf(buf, size, "%s/%s", root ? root : ".", rel);
    return buf;
}

#endif
