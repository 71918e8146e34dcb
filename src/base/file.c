#define _GNU_SOURCE /* sync_file_range */
#include "base/file.h"

#include "base/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK 65536

cf_status cf_file_read(const char *path, size_t limit, char **data, size_t *len, cf_diag *diag)
{
    *data = NULL;
    if (len)
        *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cf_diag_error(diag, path, 0, "cannot open: %s", strerror(errno));
        return errno == ENOENT || errno == EACCES || errno == ENOTDIR ? CF_ERR_NOINPUT : CF_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        cf_diag_error(diag, path, 0, "is a directory, not a file");
        return CF_ERR_NOINPUT;
    }
    cf_status status = CF_OK;
    size_t used = 0, cap = 0;
    char *buf = NULL;
    for (;;) {
        if (cap - used < CHUNK + 1) {
            size_t want = cap ? cap * 2 : CHUNK * 2;
            if (want > limit + CHUNK + 1)
                want = limit + CHUNK + 1;
            if (want <= cap) {
                status = CF_ERR_LIMIT;
                break;
            }
            char *grown = cf_realloc(buf, want);
            if (!grown) {
                status = CF_ERR_NOMEM;
                break;
            }
            buf = grown;
            cap = want;
        }
        ssize_t n = read(fd, buf + used, cap - used - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            cf_diag_error(diag, path, 0, "cannot read: %s", strerror(errno));
            status = CF_ERR_IO;
            break;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > limit) {
            status = CF_ERR_LIMIT;
            break;
        }
    }
    close(fd);
    if (status == CF_ERR_LIMIT)
        cf_diag_error(diag, path, 0, "file is larger than the limit of %zu bytes", limit);
    else if (status == CF_ERR_NOMEM)
        cf_diag_error(diag, path, 0, "out of memory while reading");
    if (status) {
        cf_free(buf);
        return status;
    }
    buf[used] = '\0';
    *data = buf;
    if (len)
        *len = used;
    return CF_OK;
}

struct cf_atomic_file {
    char *path;
    char *tmp_path;
    char *dir;
    int fd;
    bool force;
    bool sync_dir; /* fsync the directory at commit (false inside a run of files) */
    cf_status error;
    int saved_errno;
};

static atomic_size_t fail_after_bytes;
static atomic_size_t written_bytes;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static mode_t file_mode = 0644;
static atomic_bool private_files;

/* Reads the test hook from the environment and the process umask, once. */
static void read_env(void)
{
    const char *v = getenv("CONSENTFORM_FAIL_WRITE_AFTER");
    if (v && *v) {
        char *end;
        unsigned long long n = strtoull(v, &end, 10);
        if (*end == '\0')
            atomic_store(&fail_after_bytes, (size_t)n);
    }
    mode_t mask = umask(022);
    umask(mask);
    /* Never more open than rw-r--r--, whatever the umask (a umask of 000 gave 0666). */
    file_mode = 0644 & ~mask;
}

void cf_file_set_private(bool private_only)
{
    atomic_store(&private_files, private_only);
}

mode_t cf_file_mode(void)
{
    pthread_once(&env_once, read_env);
    return atomic_load(&private_files) ? (file_mode & 0600) : file_mode;
}

cf_status cf_file_make_dir(const char *path, cf_diag *diag)
{
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return CF_OK;
        cf_diag_error(diag, path, 0, "is not a folder");
        return CF_ERR_CANTCREAT;
    }
    /* mkdir applies the umask, so the folder is at most rwxr-xr-x (rwx------ when private). */
    mode_t mode = atomic_load(&private_files) ? 0700 : 0755;
    if (mkdir(path, mode) != 0) {
        cf_diag_error(diag, path, 0, "cannot create the folder: %s", strerror(errno));
        return CF_ERR_CANTCREAT;
    }
    return CF_OK;
}

/* CF_OK when nothing is at path or a regular file is there (replaceable with force); the
 * existing file's type otherwise. Symbolic links are never followed nor replaced. */
static cf_status check_replaceable(const char *path, bool force, cf_diag *diag)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return CF_OK;
    if (S_ISLNK(st.st_mode)) {
        cf_diag_error(diag, path, 0, "is a symbolic link; it is not written through or replaced");
        return CF_ERR_CANTCREAT;
    }
    if (!S_ISREG(st.st_mode)) {
        cf_diag_error(diag, path, 0,
                      "is not a regular file (a device, folder, pipe or socket); only regular "
                      "files are ever replaced");
        return CF_ERR_CANTCREAT;
    }
    if (!force) {
        cf_diag_error(diag, path, 0, "already exists; not overwritten (use --force to replace it)");
        return CF_ERR_EXISTS;
    }
    return CF_OK;
}

void cf_atomic_file_fail_after(size_t bytes)
{
    pthread_once(&env_once, read_env);
    atomic_store(&fail_after_bytes, bytes);
    atomic_store(&written_bytes, 0);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return cf_strdup(".");
    if (slash == path)
        return cf_strdup("/");
    return cf_strndup(path, (size_t)(slash - path));
}

cf_status cf_atomic_file_open(const char *path, bool force, cf_atomic_file **out, cf_diag *diag)
{
    pthread_once(&env_once, read_env);
    *out = NULL;
    cf_status replaceable = check_replaceable(path, force, diag);
    if (replaceable)
        return replaceable;
    cf_atomic_file *f = cf_calloc(1, sizeof *f);
    if (!f)
        return CF_ERR_NOMEM;
    f->fd = -1;
    f->force = force;
    f->sync_dir = true;
    f->path = cf_strdup(path);
    f->dir = dir_of(path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(f->dir ? f->dir : "") + strlen(base) + 32;
    f->tmp_path = cf_malloc(n);
    if (!f->path || !f->dir || !f->tmp_path) {
        cf_atomic_file_abort(f);
        return CF_ERR_NOMEM;
    }
    snprintf(f->tmp_path, n, "%s/.%s.XXXXXX", f->dir, base);
    f->fd = mkstemp(f->tmp_path);
    if (f->fd < 0) {
        int e = errno;
        cf_diag_error(diag, path, 0, "cannot create a file in %s: %s", f->dir, strerror(e));
        f->tmp_path[0] = '\0';
        cf_atomic_file_abort(f);
        return e == ENOENT || e == EACCES || e == EROFS || e == ENOTDIR || e == EPERM
                   ? CF_ERR_CANTCREAT
                   : CF_ERR_IO;
    }
    (void)fchmod(f->fd, cf_file_mode());
    *out = f;
    return CF_OK;
}

cf_status cf_atomic_file_write(cf_atomic_file *f, const void *data, size_t len)
{
    if (f->error)
        return f->error;
    const char *p = data;
    size_t limit = atomic_load(&fail_after_bytes);
    while (len > 0) {
        size_t chunk = len;
        if (limit) {
            size_t done = atomic_fetch_add(&written_bytes, chunk) + chunk;
            if (done > limit) {
                f->saved_errno = EIO;
                return f->error = CF_ERR_IO;
            }
        }
        ssize_t n = write(f->fd, p, chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            f->saved_errno = errno;
            return f->error = CF_ERR_IO;
        }
        p += n;
        len -= (size_t)n;
    }
    return CF_OK;
}

void cf_atomic_file_start_sync(cf_atomic_file *f)
{
#ifdef SYNC_FILE_RANGE_WRITE
    if (f != NULL && !f->error && f->fd >= 0)
        (void)sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#else
    (void)f;
#endif
}

void cf_atomic_file_abort(cf_atomic_file *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    if (f->tmp_path && f->tmp_path[0])
        unlink(f->tmp_path);
    cf_free(f->path);
    cf_free(f->tmp_path);
    cf_free(f->dir);
    cf_free(f);
}

cf_status cf_file_sync_dir(const char *dir, cf_diag *diag)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        /* Some filesystems cannot fsync a directory (EINVAL): nothing more can be done. */
        if (e == EINVAL)
            return CF_OK;
        cf_diag_error(diag, dir, 0, "cannot make the written files durable: %s", strerror(e));
        return CF_ERR_IO;
    }
    close(fd);
    return CF_OK;
}

cf_status cf_atomic_file_commit(cf_atomic_file *f, cf_diag *diag)
{
    if (!f->error && fsync(f->fd) != 0) {
        f->saved_errno = errno;
        f->error = CF_ERR_IO;
    }
    if (!f->error && close(f->fd) != 0) {
        f->saved_errno = errno;
        f->error = CF_ERR_IO;
    }
    f->fd = -1;
    if (f->error) {
        cf_diag_error(diag, f->path, 0, "cannot write: %s; no file was written",
                      strerror(f->saved_errno ? f->saved_errno : EIO));
        cf_status st = f->error;
        cf_atomic_file_abort(f);
        return st;
    }
    if (f->force) {
        /* Checked again just before: what appeared since the open must be a regular file too. */
        cf_status replaceable = check_replaceable(f->path, true, diag);
        if (replaceable) {
            cf_atomic_file_abort(f);
            return replaceable;
        }
        if (rename(f->tmp_path, f->path) != 0) {
            cf_diag_error(diag, f->path, 0, "cannot move the finished file into place: %s",
                          strerror(errno));
            cf_atomic_file_abort(f);
            return CF_ERR_CANTCREAT;
        }
    } else if (link(f->tmp_path, f->path) != 0) {
        int e = errno;
        if (e == EEXIST) {
            cf_diag_error(diag, f->path, 0,
                          "already exists; not overwritten (use --force to replace it)");
            cf_atomic_file_abort(f);
            return CF_ERR_EXISTS;
        }
        /* Filesystems without hard links: check, then rename. */
        struct stat st;
        if (lstat(f->path, &st) == 0 || rename(f->tmp_path, f->path) != 0) {
            cf_diag_error(diag, f->path, 0, "cannot move the finished file into place: %s",
                          strerror(e));
            cf_atomic_file_abort(f);
            return CF_ERR_CANTCREAT;
        }
    } else {
        unlink(f->tmp_path);
    }
    f->tmp_path[0] = '\0';
    /* The file is in place; a folder that cannot be synced does not undo that. */
    if (f->sync_dir)
        (void)cf_file_sync_dir(f->dir, NULL);
    cf_atomic_file_abort(f);
    return CF_OK;
}

cf_status cf_atomic_file_commit_in_run(cf_atomic_file *f, cf_diag *diag)
{
    f->sync_dir = false;
    return cf_atomic_file_commit(f, diag);
}

static cf_status write_atomic(const char *path, const void *data, size_t len, bool force,
                              bool sync_dir, cf_diag *diag)
{
    cf_atomic_file *f;
    cf_status st = cf_atomic_file_open(path, force, &f, diag);
    if (st)
        return st;
    f->sync_dir = sync_dir;
    cf_atomic_file_write(f, data, len);
    return cf_atomic_file_commit(f, diag);
}

cf_status cf_file_write_atomic(const char *path, const void *data, size_t len, bool force,
                               cf_diag *diag)
{
    return write_atomic(path, data, len, force, true, diag);
}

cf_status cf_file_write_atomic_in_run(const char *path, const void *data, size_t len, bool force,
                                      cf_diag *diag)
{
    return write_atomic(path, data, len, force, false, diag);
}
