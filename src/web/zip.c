/* ZIP files: local header + data per entry, then the central directory and its end record.
 * zip.h says what is written. */
#include "web/zip.h"

#include "base/alloc.h"
#include "base/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

typedef struct zip_entry {
    char *name;
    uint32_t crc, compressed, size, offset;
    uint16_t method, dos_time, dos_date;
} zip_entry;

struct cf_zip {
    FILE *file;
    char *path;
    zip_entry *entries;
    size_t n, cap;
    uint32_t offset;
    cf_status error;
};

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)((v >> (8 * i)) & 0xff);
}

static void zip_write(cf_zip *zip, const void *data, size_t len)
{
    if (zip->error != CF_OK || len == 0)
        return;
    if ((size_t)UINT32_MAX - zip->offset < len) {
        zip->error = CF_ERR_LIMIT;
        return;
    }
    if (fwrite(data, 1, len, zip->file) != len)
        zip->error = CF_ERR_IO;
    zip->offset += (uint32_t)len;
}

cf_status cf_zip_open(const char *path, cf_zip **out, cf_diag *diag)
{
    *out = NULL;
    cf_zip *zip = cf_calloc(1, sizeof *zip);
    if (zip == NULL || (zip->path = cf_strdup(path)) == NULL) {
        cf_free(zip);
        return CF_ERR_NOMEM;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || (zip->file = fdopen(fd, "wb")) == NULL) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        cf_diag_error(diag, path, 0, "cannot be created: %s", strerror(err));
        cf_free(zip->path);
        cf_free(zip);
        return err == EEXIST ? CF_ERR_EXISTS : CF_ERR_CANTCREAT;
    }
    *out = zip;
    return CF_OK;
}

static bool safe_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 0xffff || name[0] == '/' || strstr(name, "..") != NULL ||
        strchr(name, '\\') != NULL)
        return false;
    return true;
}

cf_status cf_zip_add(cf_zip *zip, const char *name, const void *data, size_t len, long long time,
                     cf_diag *diag)
{
    if (zip->error != CF_OK)
        return zip->error;
    if (!safe_name(name)) {
        cf_diag_error(diag, zip->path, 0, "entry name \"%s\" is not a plain relative name", name);
        return CF_ERR_DATA;
    }
    if (len > CF_ZIP_ENTRY_MAX || zip->n == CF_ZIP_ENTRIES_MAX) {
        cf_diag_error(diag, zip->path, 0, "too large for a ZIP without ZIP64");
        return zip->error = CF_ERR_LIMIT;
    }
    zip_entry *grown = cf_grow_array(zip->entries, &zip->cap, zip->n + 1, sizeof *grown, 16);
    if (grown == NULL)
        return zip->error = CF_ERR_NOMEM;
    zip->entries = grown;
    zip_entry *e = &zip->entries[zip->n];
    memset(e, 0, sizeof *e);
    e->name = cf_strdup(name);
    if (e->name == NULL)
        return zip->error = CF_ERR_NOMEM;
    zip->n++;

    /* Deflate (raw, no zlib header); keep it only when it is smaller. */
    uLong bound = compressBound((uLong)len);
    unsigned char *packed = cf_malloc(bound ? bound : 1);
    uLong packed_len = 0;
    if (packed != NULL) {
        z_stream z = {0};
        if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
            z.next_in = (Bytef *)(uintptr_t)data;
            z.avail_in = (uInt)len;
            z.next_out = packed;
            z.avail_out = (uInt)bound;
            if (deflate(&z, Z_FINISH) == Z_STREAM_END)
                packed_len = z.total_out;
            deflateEnd(&z);
        }
    }
    bool deflated = packed != NULL && packed_len > 0 && packed_len < len;
    e->method = deflated ? 8 : 0;
    e->size = (uint32_t)len;
    e->compressed = deflated ? (uint32_t)packed_len : (uint32_t)len;
    e->crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)len);
    e->offset = zip->offset;
    time_t t = (time_t)time;
    struct tm tm;
    localtime_r(&t, &tm);
    if (tm.tm_year < 80)
        tm = (struct tm){.tm_year = 80, .tm_mday = 1};
    e->dos_time = (uint16_t)((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
    e->dos_date = (uint16_t)(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);

    unsigned char h[30];
    put32(h, 0x04034b50);
    put16(h + 4, 20);     /* version needed: 2.0 */
    put16(h + 6, 0x0800); /* names are UTF-8 */
    put16(h + 8, e->method);
    put16(h + 10, e->dos_time);
    put16(h + 12, e->dos_date);
    put32(h + 14, e->crc);
    put32(h + 18, e->compressed);
    put32(h + 22, e->size);
    put16(h + 26, (uint16_t)strlen(name));
    put16(h + 28, 0);
    zip_write(zip, h, sizeof h);
    zip_write(zip, name, strlen(name));
    zip_write(zip, deflated ? (const void *)packed : data, deflated ? packed_len : len);
    cf_free(packed);
    if (zip->error != CF_OK)
        cf_diag_error(diag, zip->path, 0, "cannot be written: %s", cf_status_message(zip->error));
    return zip->error;
}

cf_status cf_zip_close(cf_zip *zip, cf_diag *diag)
{
    if (zip == NULL)
        return CF_OK;
    uint32_t start = zip->offset;
    for (size_t i = 0; i < zip->n; i++) {
        const zip_entry *e = &zip->entries[i];
        unsigned char h[46];
        put32(h, 0x02014b50);
        put16(h + 4, 0x0314); /* made by: Unix, 2.0 */
        put16(h + 6, 20);
        put16(h + 8, 0x0800);
        put16(h + 10, e->method);
        put16(h + 12, e->dos_time);
        put16(h + 14, e->dos_date);
        put32(h + 16, e->crc);
        put32(h + 20, e->compressed);
        put32(h + 24, e->size);
        put16(h + 28, (uint16_t)strlen(e->name));
        put16(h + 30, 0);
        put16(h + 32, 0);
        put16(h + 34, 0);
        put16(h + 36, 0);
        put32(h + 38, (uint32_t)0100644 << 16); /* a regular file, rw-r--r-- */
        put32(h + 42, e->offset);
        zip_write(zip, h, sizeof h);
        zip_write(zip, e->name, strlen(e->name));
    }
    unsigned char end[22];
    put32(end, 0x06054b50);
    put16(end + 4, 0);
    put16(end + 6, 0);
    put16(end + 8, (uint16_t)zip->n);
    put16(end + 10, (uint16_t)zip->n);
    put32(end + 12, zip->offset - start);
    put32(end + 16, start);
    put16(end + 20, 0);
    zip_write(zip, end, sizeof end);
    if (fflush(zip->file) != 0 && zip->error == CF_OK)
        zip->error = CF_ERR_IO;
    if (fclose(zip->file) != 0 && zip->error == CF_OK)
        zip->error = CF_ERR_IO;
    cf_status st = zip->error;
    if (st != CF_OK) {
        unlink(zip->path);
        cf_diag_error(diag, zip->path, 0, "not written: %s", cf_status_message(st));
    }
    for (size_t i = 0; i < zip->n; i++)
        cf_free(zip->entries[i].name);
    cf_free(zip->entries);
    cf_free(zip->path);
    cf_free(zip);
    return st;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

cf_status cf_zip_folder_pdfs(const char *dir, const char *zip_path, cf_diag *diag)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        cf_diag_error(diag, dir, 0, "cannot be read: %s", strerror(errno));
        return CF_ERR_NOINPUT;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    cf_status st = CF_OK;
    struct dirent *e;
    while (st == CF_OK && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        bool pdf = len > 4 && strcmp(e->d_name + len - 4, ".pdf") == 0;
        if (e->d_name[0] == '.' || (!pdf && strcmp(e->d_name, "manifest.csv") != 0))
            continue;
        char **grown = cf_grow_array(names, &cap, n + 1, sizeof *grown, 32);
        if (grown == NULL || (grown[n] = cf_strdup(e->d_name)) == NULL) {
            names = grown ? grown : names;
            st = CF_ERR_NOMEM;
            break;
        }
        names = grown;
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof *names, compare_names);
    cf_zip *zip = NULL;
    if (st == CF_OK)
        st = cf_zip_open(zip_path, &zip, diag);
    for (size_t i = 0; st == CF_OK && i < n; i++) {
        size_t plen = strlen(dir) + strlen(names[i]) + 2;
        char *path = cf_malloc(plen);
        char *data = NULL;
        size_t len = 0;
        struct stat sb;
        if (path == NULL) {
            st = CF_ERR_NOMEM;
            break;
        }
        snprintf(path, plen, "%s/%s", dir, names[i]);
        st = cf_file_read(path, CF_ZIP_ENTRY_MAX, &data, &len, diag);
        if (st == CF_OK)
            st = cf_zip_add(zip, names[i], data, len,
                            stat(path, &sb) == 0 ? (long long)sb.st_mtime : 0, diag);
        cf_free(data);
        cf_free(path);
    }
    if (zip != NULL) {
        if (st != CF_OK) {
            if (zip->error == CF_OK)
                zip->error = st;
        }
        cf_status closed = cf_zip_close(zip, diag);
        if (st == CF_OK)
            st = closed;
    }
    for (size_t i = 0; i < n; i++)
        cf_free(names[i]);
    cf_free(names);
    return st;
}
