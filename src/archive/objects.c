/* Content-addressed object files of an archive store (see objects.h). */
#include "archive/objects.h"

#include "base/alloc.h"
#include "base/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* The status for a failed write: a full or failing disk is an I/O error, anything else (read-only
 * file system, permissions) means the store cannot be written to. */
static cf_status write_status(int error)
{
    return error == ENOSPC || error == EDQUOT || error == EIO ? CF_ERR_IO : CF_ERR_CANTCREAT;
}

/* Fsyncs a folder so that a name just made in it survives a power cut. File systems that cannot
 * sync folders (EINVAL) are fine; a real failure is returned as an errno. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int e = fsync(fd) == 0 || errno == EINVAL || errno == EROFS ? 0 : errno;
    close(fd);
    return e;
}

bool cf_object_shared(const char *objects)
{
    struct stat st;
    return stat(objects, &st) == 0 && (st.st_mode & S_ISGID) != 0;
}

/* Makes folder dir with mode (as given, whatever the umask); EEXIST is no error. */
static int make_dir(const char *dir, mode_t mode)
{
    if (mkdir(dir, mode) != 0)
        return errno;
    return chmod(dir, mode) == 0 ? 0 : errno;
}

/* Writes data to a new temporary file from the template tmp (mkstemp), made mode and fsynced.
 * Returns 0, an errno (the file is then left for the caller to unlink), or ENOENT + 100000 when
 * no file could be made (errno says why). */
static int write_temporary(char *tmp, const unsigned char *data, size_t len, mode_t mode)
{
    int fd = mkstemp(tmp);
    if (fd < 0)
        return ENOENT + 100000;
    int e = 0;
    for (size_t done = 0; done < len && e == 0;) {
        ssize_t w = write(fd, data + done, len - done);
        if (w > 0)
            done += (size_t)w;
        else if (w == 0)
            e = EIO;
        else if (errno != EINTR)
            e = errno;
    }
    if (e == 0 && (fchmod(fd, mode) != 0 || fsync(fd) != 0))
        e = errno;
    if (close(fd) != 0 && e == 0)
        e = errno;
    return e;
}

bool cf_object_is_hash(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == CF_SHA256_HEX_SIZE - 1;
}

/* objects/ab and objects/ab/cdef... into the caller's buffers; false when too long. */
static bool object_paths(const char *objects, const char *hex, char sub[PATH_MAX],
                         char path[PATH_MAX])
{
    int a = snprintf(sub, PATH_MAX, "%s/%.2s", objects, hex);
    int b = snprintf(path, PATH_MAX, "%s/%.2s/%s", objects, hex, hex + 2);
    return a > 0 && a < PATH_MAX && b > 0 && b < PATH_MAX;
}

/* An object already in place is checked, not trusted: its bytes must hash to its name. One
 * that does not (a damaged disk, a hand edit) while the caller holds the genuine bytes is
 * repaired: the damaged file is kept under STORE/damaged/ (a hard link, so nothing is lost)
 * and the sound copy replaces it in one rename. Its folder is synced again in case the writer
 * that made it was cut off before. */
static cf_status existing_object(const char *objects, const char *sub, const char *hex,
                                 const char *path, const unsigned char *data, size_t len,
                                 bool *repaired, cf_diag *diag);

cf_status cf_object_write(const char *objects, const char *hex, const unsigned char *data,
                          size_t len, bool *repaired, cf_diag *diag)
{
    if (repaired != NULL)
        *repaired = false;
    char sub[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
    if (!cf_object_is_hash(hex) || !object_paths(objects, hex, sub, path) ||
        snprintf(tmp, sizeof tmp, "%s/.new-XXXXXX", sub) >= (int)sizeof tmp) {
        cf_diag_error(diag, objects, 0, "the store's path is too long");
        return CF_ERR_LIMIT;
    }
    struct stat st;
    if (lstat(path, &st) == 0)
        return existing_object(objects, sub, hex, path, data, len, repaired, diag);
    bool shared = cf_object_shared(objects);
    int made = make_dir(sub, shared ? 02770 : 0700);
    if (made == 0) {
        int e = sync_dir(objects);
        if (e != 0) {
            cf_diag_error(diag, objects, 0, "cannot write to the store: %s", strerror(e));
            return write_status(e);
        }
    } else if (made != EEXIST) {
        cf_diag_error(diag, sub, 0, "cannot write to the store: %s", strerror(made));
        return write_status(made);
    }
    int e = write_temporary(tmp, data, len, shared ? 0440 : 0400);
    if (e == ENOENT + 100000) {
        e = errno;
        cf_diag_error(diag, sub, 0, "cannot write to the store: %s", strerror(e));
        return write_status(e);
    }
    cf_status s = CF_OK;
    if (e != 0) {
        cf_diag_error(diag, sub, 0, "cannot write to the store: %s", strerror(e));
        s = write_status(e);
    } else if (link(tmp, path) != 0) {
        /* EEXIST: another thread or process stored the same bytes meanwhile. */
        e = errno;
        if (e == EEXIST && lstat(path, &st) == 0) {
            s = existing_object(objects, sub, hex, path, data, len, repaired, diag);
        } else {
            cf_diag_error(diag, sub, 0, "cannot write to the store: %s", strerror(e));
            s = write_status(e);
        }
    }
    unlink(tmp);
    if (s == CF_OK && e == 0 && (e = sync_dir(sub)) != 0) {
        cf_diag_error(diag, sub, 0, "cannot write to the store: %s", strerror(e));
        s = write_status(e);
    }
    return s;
}

static cf_status existing_object(const char *objects, const char *sub, const char *hex,
                                 const char *path, const unsigned char *data, size_t len,
                                 bool *repaired, cf_diag *diag)
{
    cf_object_report r;
    cf_object_check(objects, hex, &r);
    if (r.state == CF_OBJECT_SOUND) {
        (void)sync_dir(sub);
        return CF_OK;
    }
    if (r.state == CF_OBJECT_UNREADABLE) {
        cf_diag_error(diag, path, 0, "cannot be read to check it: %s", strerror(r.error));
        return CF_ERR_IO;
    }
    /* The caller's bytes are the genuine object only if they hash to its name. */
    char given[CF_SHA256_HEX_SIZE];
    cf_sha256_hex(data, len, given);
    if (strcmp(given, hex) != 0) {
        cf_diag_error(diag, path, 0, "is damaged, and the bytes given are not its content");
        return CF_ERR_DATA;
    }
    char damaged[PATH_MAX], keep[PATH_MAX], tmp[PATH_MAX];
    if (snprintf(damaged, sizeof damaged, "%s/../damaged", objects) >= (int)sizeof damaged ||
        snprintf(keep, sizeof keep, "%s/%s-%lld-%ld", damaged, hex, (long long)time(NULL),
                 (long)getpid()) >= (int)sizeof keep ||
        snprintf(tmp, sizeof tmp, "%s/.new-XXXXXX", sub) >= (int)sizeof tmp) {
        cf_diag_error(diag, objects, 0, "the store's path is too long");
        return CF_ERR_LIMIT;
    }
    int e = 0;
    int made = make_dir(damaged, cf_object_shared(objects) ? 02770 : 0700);
    if (made != 0 && made != EEXIST)
        e = made;
    /* A missing object has nothing to keep. */
    if (e == 0 && r.state == CF_OBJECT_CHANGED && link(path, keep) != 0)
        e = errno;
    if (e == 0)
        e = sync_dir(damaged);
    if (e != 0) {
        cf_diag_error(diag, damaged, 0, "cannot keep the damaged object %.2s/%s: %s", hex, hex + 2,
                      strerror(e));
        return write_status(e);
    }
    bool shared = cf_object_shared(objects);
    e = write_temporary(tmp, data, len, shared ? 0440 : 0400);
    if (e == ENOENT + 100000) {
        e = errno;
        cf_diag_error(diag, sub, 0, "cannot write to the store: %s", strerror(e));
        return write_status(e);
    }
    if (e == 0 && rename(tmp, path) != 0)
        e = errno;
    if (e != 0) {
        unlink(tmp);
        cf_diag_error(diag, sub, 0, "cannot repair object %.2s/%s: %s", hex, hex + 2, strerror(e));
        return write_status(e);
    }
    e = sync_dir(sub);
    if (e != 0) {
        cf_diag_error(diag, sub, 0, "cannot write to the store: %s", strerror(e));
        return write_status(e);
    }
    if (repaired != NULL)
        *repaired = true;
    return CF_OK;
}

cf_status cf_object_load(const char *objects, const char *hex, char **data, size_t *len,
                         cf_diag *diag)
{
    *data = NULL;
    *len = 0;
    char sub[PATH_MAX], path[PATH_MAX];
    if (!cf_object_is_hash(hex) || !object_paths(objects, hex, sub, path)) {
        cf_diag_error(diag, objects, 0, "the store's path is too long");
        return CF_ERR_LIMIT;
    }
    cf_status s = cf_file_read(path, (size_t)1 << 31, data, len, diag);
    if (s != CF_OK)
        return s;
    char actual[CF_SHA256_HEX_SIZE];
    cf_sha256_hex(*data, *len, actual);
    if (strcmp(actual, hex) != 0) {
        cf_diag_error(diag, path, 0,
                      "has changed since it was stored (its SHA-256 is now %s); run "
                      "`consentform archive verify`",
                      actual);
        cf_free(*data);
        *data = NULL;
        *len = 0;
        return CF_ERR_DATA;
    }
    return CF_OK;
}

void cf_object_check(const char *objects, const char *hex, cf_object_report *r)
{
    memset(r, 0, sizeof *r);
    char sub[PATH_MAX], path[PATH_MAX];
    if (!cf_object_is_hash(hex) || !object_paths(objects, hex, sub, path)) {
        r->state = CF_OBJECT_UNREADABLE;
        r->error = ENAMETOOLONG;
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r->state = errno == ENOENT ? CF_OBJECT_MISSING : CF_OBJECT_UNREADABLE;
        r->error = errno;
        return;
    }
    struct stat st;
    r->writable = fstat(fd, &st) == 0 && (st.st_mode & 0222) != 0;
    cf_sha256 h;
    cf_sha256_init(&h);
    unsigned char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r->state = CF_OBJECT_UNREADABLE;
            r->error = errno;
            close(fd);
            return;
        }
        cf_sha256_update(&h, buf, (size_t)n);
        r->size += n;
    }
    close(fd);
    unsigned char digest[CF_SHA256_SIZE];
    cf_sha256_final(&h, digest);
    cf_sha256_to_hex(digest, r->actual_hex);
    r->state = strcmp(r->actual_hex, hex) == 0 ? CF_OBJECT_SOUND : CF_OBJECT_CHANGED;
}

cf_status cf_object_scan_dir(const char *objects,
                             bool (*visit)(void *context, cf_object_entry kind,
                                           const char *relative_path, const char *hex),
                             void *context, cf_diag *diag)
{
    DIR *top = opendir(objects);
    if (top == NULL) {
        cf_diag_error(diag, objects, 0, "cannot be read: %s", strerror(errno));
        return CF_ERR_NOINPUT;
    }
    bool go_on = true;
    struct dirent *e;
    while (go_on && (e = readdir(top)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char rel[PATH_MAX], sub[PATH_MAX];
        snprintf(rel, sizeof rel, "objects/%s", e->d_name);
        bool two_hex = strlen(e->d_name) == 2 && strspn(e->d_name, "0123456789abcdef") == 2;
        DIR *d = NULL;
        if (two_hex && snprintf(sub, sizeof sub, "%s/%s", objects, e->d_name) < (int)sizeof sub)
            d = opendir(sub);
        if (d == NULL) {
            go_on = visit(context, CF_OBJECT_ENTRY_STRAY, rel, NULL);
            continue;
        }
        struct dirent *f;
        while (go_on && (f = readdir(d)) != NULL) {
            if (strcmp(f->d_name, ".") == 0 || strcmp(f->d_name, "..") == 0)
                continue;
            char hex[CF_SHA256_HEX_SIZE] = "";
            snprintf(rel, sizeof rel, "objects/%s/%s", e->d_name, f->d_name);
            if (strlen(f->d_name) == CF_SHA256_HEX_SIZE - 3) {
                memcpy(hex, e->d_name, 2);
                memcpy(hex + 2, f->d_name, CF_SHA256_HEX_SIZE - 2);
            }
            if (strncmp(f->d_name, ".new-", 5) == 0)
                go_on = visit(context, CF_OBJECT_ENTRY_LEFTOVER, rel, NULL);
            else if (hex[0] != '\0' && cf_object_is_hash(hex))
                go_on = visit(context, CF_OBJECT_ENTRY_OBJECT, rel, hex);
            else
                go_on = visit(context, CF_OBJECT_ENTRY_STRAY, rel, NULL);
        }
        closedir(d);
    }
    closedir(top);
    return CF_OK;
}
